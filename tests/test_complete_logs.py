"""A server log records in full what it logs (regcheck/model/SEMANTICS.md, "Server logs are complete for what they
record"): an explanation adds no unlogged registration within an RpcHttp log's span, which decides `on_mismatch`
from the log alone, and the independent check catches an explanation that hides one."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from regcheck.core.compile import compile_system
from regcheck.core.explore import random_run
from regcheck.core.subsequence import Renewal, first_impossible, search
from regcheck.diagnosis import (
    ONE_TO_ONE,
    RENEWS,
    _fields_of,
    _first_impossible,
    diagnose,
    model_names,
    observations_of,
    renewed_association,
)
from regcheck.model.logs.identities import Identities
from regcheck.model.logs.read import read_exchange
from regcheck.model.observations import log_of, parse_jsonl, read_log
from regcheck.model.observed import check
from regcheck.model.scenario import SYSTEM, load_builtin, with_overrides
from regcheck.model.system import build
from tests.clirun import run_json

GUID = "6b0b3e43-21af-5c76-acb6-72899c87ce80"
HEADER = ("#Software: Microsoft Exchange\n#Version: 15.00.1497.012\n#Log-type: RpcHttp Log\n"
          "#Fields: TimeStamp,ServerName,EventId,EventData\n")
USER, MACHINE = "CONTOSO\\alice", "CONTOSO\\EXSVC01$"
ADMITTED, REFUSED = "200.0.", "500.64.Connection Registration Failed:64"
VARY = ["on_mismatch", "registration"]


def _log(path: Path, requests: list[tuple[str, str]]) -> Path:
    """An RpcHttp log of ``RPC_OUT_DATA`` requests on one association, each (caller, status), a second apart."""
    rows = []
    for n, (who, status) in enumerate(requests, start=1):
        stamp, request = f"2013-11-04T09:12:{n:02d}.000Z", f"r{n}"
        rows += [f'{stamp},EXMBX01,RpcHttp,"S:Stage=BeginRequest;S:HttpVerb=RPC_OUT_DATA;S:RequestId={request}"\n',
                 f'{stamp},EXMBX01,RpcHttp,"S:Stage=PostAuthorizeRequest;S:HttpVerb=RPC_OUT_DATA;S:RequestId={request};'
                 f'S:RpcHttpUserName={who};S:AssociationGuid={GUID}"\n',
                 f'{stamp},EXMBX01,RpcHttp,"S:Stage=EndRequest;S:Status={status};S:RequestId={request}"\n']
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


def _explaining(path: Path) -> set[tuple[str, str]]:
    """The (on_mismatch, registration) settings that explain the log at ``path``, read and diagnosed whole."""
    events = read_exchange(path, None, Identities()).events
    result = diagnose(events, load_builtin("seed"), VARY, check_fixes=False, timeout=120)
    assert not result.unknown, [o.reason for o in result.unknown]
    return {(dict(o.setting.values)["on_mismatch"], dict(o.setting.values)["registration"])
            for g in result.explained for o in g.outcomes}


def test_a_refused_identity_admitted_next_is_eviction_and_one_refused_twice_is_fail_only(tmp_path: Path) -> None:
    # Refused, then admitted with nothing logged between: the refusal removed the user's entry.
    evicted = _log(tmp_path / "evict.LOG", [(USER, ADMITTED), (MACHINE, REFUSED), (MACHINE, ADMITTED)])
    assert _explaining(evicted) == {("evict", "every-miss")}
    # Refused twice in a row: the first refusal left the user's entry in place.
    kept = _log(tmp_path / "kept.LOG", [(USER, ADMITTED), (MACHINE, REFUSED), (MACHINE, REFUSED)])
    assert _explaining(kept) == {("fail-only", "first-request"), ("fail-only", "every-miss")}


def test_a_case_of_a_large_log_decides_it_too(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The same through `regcheck diagnose`, where the log's one association is a case and its slice is complete
    for that association."""
    log = _log(tmp_path / "kept.LOG", [(USER, ADMITTED), (MACHINE, REFUSED), (MACHINE, REFUSED)])
    code, doc = run_json(capsys, "diagnose", str(log), "--vary", VARY[0], "--vary", VARY[1])
    assert code == 1, doc
    (case,) = doc["cases"]["cases"]
    explained = case["diagnosis"]["explained"]
    settings = {tuple(sorted(s.items())) for group in explained for s in group["settings"]}
    assert settings == {(("on_mismatch", "fail-only"), ("registration", "first-request")),
                        (("on_mismatch", "fail-only"), ("registration", "every-miss"))}, explained


def test_the_independent_check_catches_an_explanation_that_hides_a_logged_registration(tmp_path: Path) -> None:
    events = read_exchange(_log(tmp_path / "evict.LOG", [(USER, ADMITTED), (MACHINE, REFUSED), (MACHINE, ADMITTED)]),
                           None, Identities()).events
    result = diagnose(events, load_builtin("seed"), VARY, check_fixes=False, timeout=120)
    outcome = result.explained[0].outcomes[0]
    assert outcome.trace is not None and outcome.found is not None
    scenario, at = outcome.setting.scenario, list(outcome.found.at)
    assert check(scenario, outcome.trace, events, at) is None
    # Without its refusal the log still matches the steps, but the refusal's step lies between its events.
    said = check(scenario, outcome.trace, [events[0], events[2]], [at[0], at[2]])
    assert said is not None and "mismatch-evicted" in said and "records, between its events" in said


def test_a_user_the_log_names_is_that_user_and_no_other(tmp_path: Path) -> None:
    """erin's association, diagnosed with the seed (whose one user is alice): the log's erin is the model's erin,
    served by the scenario's worker, never alice standing in for her; the check refuses a step run as another."""
    events = read_exchange(_log(tmp_path / "erin.LOG", [("CONTOSO\\erin", ADMITTED), (MACHINE, REFUSED)]),
                           None, Identities()).events
    result = diagnose(events, load_builtin("seed"), ["on_mismatch"], check_fixes=False, timeout=120)
    assert not result.unknown and result.explained
    for group in result.explained:
        for outcome in group.outcomes:
            assert outcome.trace is not None
            assert {s.labels["context"] for s in outcome.trace.steps} <= {"erin", SYSTEM, "-"}
    outcome = result.explained[0].outcomes[0]
    assert outcome.trace is not None and outcome.found is not None
    at = list(outcome.found.at)
    alice = [replace(e, identity="alice") if e.identity == "erin" else e for e in events]
    said = check(outcome.setting.scenario, outcome.trace, alice, at)
    assert said is not None and "identity 'alice' is the model's 'alice', but the step runs as 'erin'" in said


def _jsonl(path: Path, guids: tuple[str, str]) -> Path:
    """A worker's two jobs for alice, each connecting on ``guids``' association, with a log-off between."""
    lines = []
    for job, guid in enumerate(guids, start=1):
        lines += [{"call": "EcDoConnectEx", "thread": "T1", "as": "alice", "association": guid},
                  {"call": "EcDoRpcExt2", "thread": "T1", "as": "alice", "association": guid}]
        if job == 1:
            lines.append({"call": "EcDoDisconnect", "thread": "T1", "as": "alice", "association": guid})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.mark.parametrize(("scope", "same", "explained"), [
    ("session", True, False),  # the log-off closed the association: the next one has a new GUID
    ("session", False, True),
    ("process", True, True),  # one association for the process: the same GUID again
    ("process", False, False),  # ... and no step that replaces it: a second GUID is a second association
])
def test_a_guid_names_one_association_until_it_is_replaced(tmp_path: Path, scope: str, same: bool,
                                                           explained: bool) -> None:
    other = GUID if same else "0f0e0d0c-0b0a-4908-8706-050403020100"
    events = read_log(_jsonl(tmp_path / "two-jobs.jsonl", (GUID, other)))
    base = with_overrides(load_builtin("seed"), ["jobs=2", "session_reuse=per-job", f"association_scope={scope}",
                                                 "connect_flags=32"])
    result = diagnose(events, base, ["on_mismatch"], check_fixes=False, timeout=120)
    assert not result.unknown
    assert bool(result.explained) == explained, result.ruled_out


def test_the_check_refuses_two_guids_on_one_association_with_no_step_replacing_it(tmp_path: Path) -> None:
    events = read_log(_jsonl(tmp_path / "two-jobs.jsonl", (GUID, GUID)))
    base = with_overrides(load_builtin("seed"), ["jobs=2", "session_reuse=per-job", "association_scope=process",
                                                 "connect_flags=32"])
    outcome = diagnose(events, base, ["on_mismatch=evict"], check_fixes=False, timeout=120).explained[0].outcomes[0]
    assert outcome.trace is not None and outcome.found is not None
    at = list(outcome.found.at)
    assert check(outcome.setting.scenario, outcome.trace, events, at) is None
    other = "0f0e0d0c-0b0a-4908-8706-050403020100"
    second = [replace(e, association=other) if i >= 3 else e for i, e in enumerate(events)]
    said = check(outcome.setting.scenario, outcome.trace, second, at)
    assert said is not None and "would both be 1 with no step between them that replaced it (one to one)" in said


def test_guids_bind_one_to_one_even_where_threads_are_too_many_to_follow_together() -> None:
    # Five threads on the process's one association: their bindings to five workers grow past what
    # first_impossible follows at once (5 * 4 * 3 * 2 sets by the fourth line), so it follows each label alone.
    lines = [{"call": "EcDoConnectEx", "thread": f"T{t}", "as": "alice", "association": GUID} for t in range(1, 5)]
    lines.append({"call": "EcDoConnectEx", "thread": "T5", "as": "alice",
                  "association": "0f0e0d0c-0b0a-4908-8706-050403020100"})
    events = parse_jsonl("".join(json.dumps(line) + "\n" for line in lines))
    system_of = build(with_overrides(load_builtin("seed"), ["workers=5", "association_scope=process"]))
    observed = observations_of(events, system_of)
    given = frozenset({("context", "alice", "alice"), ("context", "SYSTEM", "SYSTEM")})
    assert first_impossible(system_of, observed, one_to_one=ONE_TO_ONE, given=given) == 4
    assert first_impossible(system_of, observed[:4], one_to_one=ONE_TO_ONE, given=given) is None
    functions = ONE_TO_ONE - {"association"}
    assert first_impossible(system_of, observed, one_to_one=functions, given=given) is None


def test_a_guid_another_took_the_association_from_names_nothing_after() -> None:
    # One association for the process, replaced after a network error: a second GUID on it means a step replaced it
    # between, so the first GUID names nothing after (the static check sees it without a search).
    other = "0f0e0d0c-0b0a-4908-8706-050403020100"
    lines = [{"call": "EcDoConnectEx", "thread": "T1", "as": "alice", "association": GUID},
             {"call": "EcDoConnectEx", "thread": "T2", "as": "alice", "association": other},
             {"call": "EcDoRpcExt2", "thread": "T1", "as": "alice", "association": GUID}]
    events = parse_jsonl("".join(json.dumps(line) + "\n" for line in lines))
    scenario = with_overrides(load_builtin("seed"), ["workers=2", "association_scope=process",
                                                     "after_network_error=reconnect-new"])
    system_of = build(scenario)
    observed = observations_of(events, system_of)
    given = frozenset({("context", "alice", "alice"), ("context", "SYSTEM", "SYSTEM")})
    functions = ONE_TO_ONE - {"association"}
    assert first_impossible(system_of, observed, one_to_one=functions, given=given) is None
    retiring = frozenset({"association"})
    assert first_impossible(system_of, observed, one_to_one=functions, given=given, retiring=retiring) == 2
    assert first_impossible(system_of, observed[:2], one_to_one=functions, given=given, retiring=retiring) is None
    # The search, which follows the steps that replace the association, agrees.
    compiled = compile_system(system_of)
    renewing = frozenset(i for i, a in enumerate(system_of.actions) if renewed_association(a, scenario))
    assert renewing  # the design has such steps: without them, a second GUID would be a second association
    found = search(compiled, observed, _fields_of(compiled, scenario), one_to_one=ONE_TO_ONE, given=given,
                   retire=Renewal(RENEWS, "association", renewing), max_nodes=400_000)
    assert found.complete and found.matched == 2


@pytest.mark.parametrize("scope", ["process", "session"])
def test_the_static_check_finds_no_event_of_a_real_run_impossible_where_guids_are_replaced(scope: str) -> None:
    # Random runs of designs whose association is replaced after a network error, a third of their lines hidden:
    # the GUIDs one to one among those in use rule out no line of a run the design made.
    replaced = 0
    for workers in (2, 3):
        scenario = with_overrides(load_builtin("seed"), [f"workers={workers}", f"association_scope={scope}",
                                                         "after_network_error=reconnect-new"])
        system_of = build(scenario)
        compiled = compile_system(system_of)
        renewed = tuple(renewed_association(a, scenario) for a in system_of.actions)
        for seed in range(12):
            rng = random.Random(seed)
            events = [e for e in log_of(scenario, random_run(compiled, rng, 80)) if rng.random() > 0.3]
            given = frozenset(("context", name, model) for name, model in model_names(events, scenario).items())
            assert _first_impossible(system_of, observations_of(events, system_of), renewed, given) is None, seed
            replaced += len({e.association for e in events if e.association is not None}) > 1
    assert replaced >= 12  # most runs replace an association: the rule is exercised
