"""`regcheck diagnose` makes no false claim: each log here is a behaviour of the model (or, for SYSTEM, is not),
and the answer is "explained", or "not decided" naming the bound, never a false "ruled out" or "explained"
(regcheck/model/SEMANTICS.md "Observations", regcheck/model/SOUNDNESS.md "Diagnosis")."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from regcheck.core.compile import compile_system
from regcheck.core.explore import random_run
from regcheck.diagnosis import WORKER_ONLY, Diagnosis, diagnose
from regcheck.errors import InvalidArgument
from regcheck.model.observations import Event, log_of, parse_jsonl
from regcheck.model.observed import check
from regcheck.model.scenario import ANY_USER, CHOICES, Scenario, builtin_names, load_builtin, with_overrides
from regcheck.model.system import build
from tests.clirun import run

GUID = "6f1c2a0e-91d4-4c3b-8a57-0d2e9b7f4c11"


def _log(*lines: dict[str, Any]) -> list[Event]:
    return parse_jsonl("".join(json.dumps(line) + "\n" for line in lines))


def _job(thread: str, user: str, *, calls: int = 1, result: str | None = "ok", **extra: str) -> list[dict[str, Any]]:
    """One worker job as a log writes it: impersonate, log on, ``calls`` requests."""
    said = {"thread": thread, "as": user, **extra}
    done = {} if result is None else {"result": result}
    return [{"call": "ImpersonateLoggedOnUser", **said}, {"call": "EcDoConnectEx", **said, **done},
            *({"call": "EcDoRpcExt2", **said, **done} for _ in range(calls))]


def _explained(result: Diagnosis) -> bool:
    return bool(result.explained) and not result.ruled_out and not result.unknown


def test_as_and_an_association_on_every_line_bind_no_placeholder() -> None:
    events = _log({"call": "ImpersonateLoggedOnUser", "thread": "7", "as": "CONTOSO\\alice", "association": GUID},
                  {"call": "EcDoConnectEx", "thread": "7", "as": "CONTOSO\\alice", "association": GUID, "result": "ok"},
                  {"call": "EcDoRpcExt2", "thread": "7", "as": "CONTOSO\\alice", "association": GUID, "result": "ok"},
                  {"call": "RevertToSelf", "thread": "7", "as": "CONTOSO\\alice", "association": GUID})
    result = diagnose(events, load_builtin("seed"), ["on_mismatch"], check_fixes=False)
    assert _explained(result), [why for _, why, _ in result.ruled_out]


def test_more_requests_than_the_model_bounds_are_not_decided_naming_the_bound(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    events = _log(*_job("7", "CONTOSO\\alice", calls=9))
    result = diagnose(events, load_builtin("seed"), ["on_mismatch"], check_fixes=False)
    assert not result.explained and not result.ruled_out
    assert result.unknown and all("requests" in o.reason and "8" in o.reason for o in result.unknown)
    log = tmp_path / "nine.jsonl"
    log.write_text("".join(json.dumps(line) + "\n" for line in _job("7", "CONTOSO\\alice", calls=9)))
    code, out, _ = run(capsys, "diagnose", str(log), "--vary", "on_mismatch")
    assert code == 3 and "requests" in out


@pytest.mark.parametrize("scenario", ["thread-pool", "mailbox-walker"])
def test_a_thread_per_log_thread_whatever_the_scenario_has(scenario: str) -> None:
    users = load_builtin(scenario).users
    lines = [line for n in range(3) for line in _job(f"T{n}", f"CONTOSO\\{users[n % len(users)]}", result=None)]
    result = diagnose(_log(*lines), load_builtin(scenario), ["association_scope"], check_fixes=False)
    explaining = {o.setting.values for g in result.explained for o in g.outcomes}
    assert explaining == {(("association_scope", "session"),)}  # each user's calls on their own association
    # One association for all: each thread's second job may be anyone's, unlogged (the base's workers take two), so
    # refuting it searches more states than one setting may; it is ruled out or not decided, naming the limit.
    assert all("state limit" in o.reason for o in result.unknown), [o.reason for o in result.unknown]
    assert "workers=3" in result.facts


def test_each_thread_serves_the_users_its_lines_name() -> None:
    lines = [line for n, user in enumerate(["alice", "alice", "alice", "bob"])
             for line in _job(f"T{n}", f"CONTOSO\\{user}", result=None)]
    result = diagnose(_log(*lines), load_builtin("seed"), ["association_scope=session"], check_fixes=False)
    assert _explained(result), [why for _, why, _ in result.ruled_out]


def test_a_service_thread_beside_an_impersonating_one() -> None:
    lines = [*_job("T1", "CONTOSO\\alice"), {"call": "EcDoConnectEx", "thread": "T2", "as": "SYSTEM"}]
    result = diagnose(_log(*lines), load_builtin("seed"), ["on_mismatch"], check_fixes=False)
    assert _explained(result), [why for _, why, _ in result.ruled_out]
    assert "worker_impersonates=true,false" in result.facts


def test_a_thread_token_call_names_the_session_of_the_job_it_serves() -> None:
    base = with_overrides(load_builtin("seed"), ["users=alice,bob", "worker_users=bob", "session_reuse=per-user"])
    result = diagnose(_log(*_job("T1", "CONTOSO\\bob", session="SB")), base, ["on_mismatch"], check_fixes=False)
    assert _explained(result), [why for _, why, _ in result.ruled_out]


def test_nothing_searched_is_not_ruled_out(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    events = _job("T1", "CONTOSO\\alice", result=None)
    result = diagnose(_log(*events), load_builtin("mixed-threads"), ["impersonate"], check_fixes=False)
    assert not result.explained and not result.ruled_out and result.invalid
    log = tmp_path / "one.jsonl"
    log.write_text("".join(json.dumps(line) + "\n" for line in events))
    code, out, _ = run(capsys, "diagnose", str(log), "--scenario", "mixed-threads", "--vary", "impersonate")
    assert code == 3 and "No setting explains" not in out


def test_a_user_and_system_are_never_both_the_models_system() -> None:
    events = _log({"call": "EcDoConnectEx", "thread": "T1", "as": "CONTOSO\\alice", "result": "ecAccessDenied"},
                  {"call": "EcDoConnectEx", "thread": "T2", "as": "NT AUTHORITY\\SYSTEM", "result": "ecAccessDenied"})
    result = diagnose(events, with_overrides(load_builtin("seed"), ["impersonate=false"]), ["on_mismatch"],
                      check_fixes=False)
    assert not result.explained and result.ruled_out  # two denied SYSTEM calls; the log says one was alice's


def test_the_independent_check_refuses_what_the_log_does_not_say() -> None:
    events = _log(*_job("T1", "CONTOSO\\alice"))
    result = diagnose(events, load_builtin("seed"), ["on_mismatch=evict"], check_fixes=False)
    outcome = result.explained[0].outcomes[0]
    assert outcome.trace is not None and outcome.found is not None
    scenario, trace, at = outcome.setting.scenario, outcome.trace, list(outcome.found.at)
    assert check(scenario, trace, events, at) is None
    system = _log(*_job("T1", "SYSTEM"))
    assert "one to one" in (check(scenario, trace, system, at) or "") or "bound" in (check(scenario, trace, system, at) or "")
    failed = _log(*_job("T1", "CONTOSO\\alice", result="MAPI_E_NETWORK_ERROR"))
    assert "returns" in (check(scenario, trace, failed, at) or "")
    assert "not after" in (check(scenario, trace, events, [at[0], at[0], *at[2:]]) or "")
    two = _log(*_job("T1", "CONTOSO\\alice")[:2], {**_job("T2", "CONTOSO\\alice")[2]})
    assert "thread" in (check(scenario, trace, two, at) or "")


# The generating setting is never ruled out ---------------------------------------------------------------------

PROTOCOL = ("transport", "on_mismatch", "registration", "identity_tracking", "association_scope",
            "after_network_error", "async_failure", "async_connect_by", "session_reuse", "notifier")
"""The switches diagnose varies: the property diagnoses with the generating design's value of each."""


@st.composite
def designs(draw: st.DrawFn) -> tuple[Scenario, Scenario]:
    """A built-in (the base) and a design drawn from it: 1-4 workers, 1-3 jobs, 1-3 users, "*" workers, mixed
    impersonation, each session_reuse, association_scope, notifier and after_network_error (whether a step replaces
    the association)."""
    base = load_builtin(draw(st.sampled_from(builtin_names())))
    workers = draw(st.integers(1, 4))
    users = ("alice", "bob", "carol")[: draw(st.integers(1, 3))]
    jobs = draw(st.integers(1, 3))
    entries = draw(st.lists(st.sampled_from((*users, ANY_USER)), min_size=workers, max_size=workers))
    flags = draw(st.lists(st.booleans(), min_size=workers, max_size=workers))
    overrides = [f"workers={workers}", f"users={','.join(users)}", f"jobs={jobs}",
                 f"worker_users={','.join(entries)}", f"worker_impersonates={','.join(str(f).lower() for f in flags)}",
                 f"session_reuse={draw(st.sampled_from(CHOICES['session_reuse']))}",
                 f"association_scope={draw(st.sampled_from(CHOICES['association_scope']))}",
                 f"notifier={draw(st.sampled_from(CHOICES['notifier']))}",
                 f"after_network_error={draw(st.sampled_from(CHOICES['after_network_error']))}"]
    try:
        design = with_overrides(base, overrides)
        build(design)
    except (InvalidArgument, ValueError):
        assume(False)
    return base, design


def _real_log(events: list[Event], rng: random.Random) -> list[Event]:
    """Events hidden at random, and each field a real log carries kept or dropped at random (the thread id,
    which every real log line carries, is kept: the design is read from the log's threads)."""
    lines = []
    for event in events:
        if rng.random() < 0.3:
            continue
        fields = {k: v for k, v in event.to_json().items() if k not in ("event", "line")}
        for key in ("as", "result", "association", "session"):
            if key in fields and rng.random() < 0.3:
                del fields[key]
        lines.append(fields)
    return _log(*lines) if lines else []


def _never_ruled_out(pair: tuple[Scenario, Scenario], seed: int) -> None:
    base, design = pair
    rng = random.Random(seed)
    trace = random_run(compile_system(build(design)), rng, 14)
    full = log_of(design, trace)
    events = _real_log(full, rng)
    threads = {e.thread for e in events}
    if not events or any(e.thread not in threads for e in full if e.call in WORKER_ONLY):
        return  # a worker no line names: beyond the family's bound (no worker beyond the log's and the base's)
    vary = [f"{k}={getattr(design, k)}" for k in PROTOCOL]
    result = diagnose(events, base, vary, check_fixes=False, timeout=4)
    assert not result.ruled_out, (design, [e.describe() for e in events], [why for _, why, _ in result.ruled_out])


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(pair=designs(), seed=st.integers(0, 10_000))
def test_the_setting_that_made_a_log_is_never_ruled_out(pair: tuple[Scenario, Scenario], seed: int) -> None:
    _never_ruled_out(pair, seed)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(pair=designs(), seed=st.integers(0, 10_000))
def test_the_setting_that_made_a_log_is_never_ruled_out_many(pair: tuple[Scenario, Scenario], seed: int) -> None:
    _never_ruled_out(pair, seed)


def test_a_notification_call_in_the_log_turns_notifications_on_in_the_design() -> None:
    """thread-pool's base sets CONNECT_NO_NOTIFICATIONS; a log whose thread parks a wait says the design did not."""
    events = _log(*_job("7", "CONTOSO\\alice"), {"call": "EcDoAsyncConnectEx", "thread": "7", "as": "CONTOSO\\alice",
                                                  "result": "ok"},
                  {"call": "EcDoAsyncWaitEx", "thread": "9", "as": "SYSTEM"})
    result = diagnose(events, load_builtin("thread-pool"), ["on_mismatch"], check_fixes=False)
    assert "connect_flags=0x0" in result.facts
    assert _explained(result), [why for _, why, _ in result.ruled_out]
