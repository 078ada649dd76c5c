"""regcheck diagnose: the article's log is explained, with the notifier's wait inferred, and the fixes rule it
out; logs of random runs are always explained by the setting that made them; impossible logs are not, at the
right event."""

from __future__ import annotations

import io
import json
import random
from contextlib import redirect_stdout
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regcheck.cli import main
from regcheck.core.compile import compile_system
from regcheck.core.explore import random_run
from regcheck.core.result import Trace
from regcheck.diagnosis import diagnose, stories
from regcheck.model.observations import Event, log_of, parse_jsonl, to_jsonl
from regcheck.model.scenario import Scenario, load_builtin, with_overrides
from regcheck.model.system import build
from tests.clirun import run, run_json
from tests.strategies import scenarios

LOGS = Path(__file__).resolve().parent.parent / "examples" / "logs"
VARIED = ("on_mismatch", "registration")
"""Switches the random tests vary (each value of each): few, so each example searches 4 settings. Other
settings than the one that made a log may need a search of every reachable state to be ruled out, which
three workers can make too long for a test: those may end unknown, the one that made the log never."""


@pytest.fixture(scope="module")
def article() -> tuple[int, dict[str, Any]]:
    """The article's log through the CLI once, with every protocol variant varied (the default)."""
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        code = main(["diagnose", str(LOGS / "article-customer.jsonl"), "--json"])
    return code, json.loads(buffer.getvalue())


def test_the_article_log_is_explained_by_eviction_with_the_notifier_wait_inferred(article: Any) -> None:
    code, doc = article
    assert code == 1  # explained, by an execution that violates properties
    assert doc["design_facts"] == ["requests=2"]
    assert len(doc["explained"]) >= 1
    settings = [s for group in doc["explained"] for s in group["settings"]]
    for setting in settings:  # the article's reading of every variant the log can tell
        assert setting["on_mismatch"] == "evict" and setting["identity_tracking"] == "dynamic"
        assert setting["transport"] == "rpc-http" and setting["async_connect_by"] == "worker"
    first = doc["explained"][0]
    observed = first["execution"]["observed_at"]
    inferred = [step for step in range(first["execution"]["steps"]) if str(step) not in observed]
    assert inferred == [4]  # step 5, the notification thread's wait, is not in the log
    assert {v["property"] for v in first["violated"]} >= {"worker-never-gets-network-error", "no-registration-mismatch"}
    fixes = {f["fix"].split(" (")[0]: f for f in first["fixes"]}
    assert fixes["fix A"]["rules_out"] and fixes["fix B"]["rules_out"]
    assert fixes["fix A"]["verdicts"]["worker-never-gets-network-error"] == "proved"
    assert not fixes["one association per MAPI session"]["rules_out"]


def test_the_article_log_rules_out_variants_at_the_event_that_refutes_them(article: Any) -> None:
    _, doc = article
    ruled = {(r["event"], r["description"]): r["why"] for r in doc["ruled_out"]}
    fail_only = [(event, why) for (event, words), why in ruled.items() if "on_mismatch=fail-only" in words]
    assert fail_only and all(event == 5 for event, _ in fail_only)
    assert all("returns only ok, never MAPI_E_NETWORK_ERROR" in why for _, why in fail_only)
    notifier = [(event, why) for (event, words), why in ruled.items() if words == "async_connect_by=notifier"]
    assert notifier and notifier[0][0] == 3  # the worker, not the notifier, logs EcDoAsyncConnectEx
    def distinct(groups: list[dict[str, Any]]) -> set[tuple[tuple[str, str], ...]]:
        return {tuple(sorted(s.items())) for g in groups for s in g["settings"]}  # groups may overlap

    explained, refuted = distinct(doc["explained"]), distinct(doc["ruled_out"])
    assert len(explained) == 30 and not explained & refuted and len(explained | refuted) == 1152
    assert not doc["unknown"] and not doc["invalid"]


def test_the_events_before_an_impossible_one_are_searched_only_where_no_setting_explains_the_log() -> None:
    """An event no action can be rules a setting out at once; which prefix it explains is asked only when the
    diagnosis must say how far the log is explained, because no setting explains it all."""
    events = parse_jsonl((LOGS / "article-customer.jsonl").read_text())
    explained = diagnose(events, load_builtin("seed"), ["async_connect_by"], check_fixes=False)
    [(event, why, group)] = explained.ruled_out  # the notifier: the worker logs EcDoAsyncConnectEx
    [outcome] = group.outcomes
    assert explained.explained and event == 3 and "EcDoAsyncConnectEx that returns ok on that thread" in why
    assert outcome.prefix_unsearched and not outcome.first and outcome.found is not None and outcome.found.complete
    unexplained = diagnose(events, with_overrides(load_builtin("seed"), ["on_mismatch=fail-only"]), ["async_connect_by"],
                           check_fixes=False)
    assert not unexplained.explained and unexplained.exact and unexplained.longest == 4
    notifier = [o for e, _, g in unexplained.ruled_out for o in g.outcomes if e == 3]
    assert [(o.first, o.prefix_unsearched, o.found.matched if o.found else None) for o in notifier] == [(True, False, 2)]


def test_the_text_tells_the_inferred_step_and_the_fixes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "diagnose", str(LOGS / "article-customer.jsonl"), "--vary", "on_mismatch",
                         "--vary", "async_connect_by")
    assert code == 1 and err == ""
    assert "Explained by 1 of 4 settings" in out
    assert "(inferred) │ notifier 1 │ SYSTEM  │ EcDoAsyncWaitEx" in out
    assert "fix A (no impersonation" in out and "rules the observed failure out" in out
    assert "- on_mismatch=fail-only and async_connect_by=worker (1 settings): event 5 (line 5)" in out


def test_a_csv_log_with_its_columns_is_read_like_the_jsonl_one(capsys: pytest.CaptureFixture[str]) -> None:
    columns = "call=Operation,thread=Tid,as=User,result=Status,association=AssocGuid,time=Timestamp"
    code, doc = run_json(capsys, "diagnose", str(LOGS / "article-customer.csv"), "--columns", columns,
                         "--vary", "on_mismatch")
    assert code == 1
    assert [e["call"] for e in doc["events"]][-1] == "EcDoRpcExt2" and doc["events"][-1]["result"] == "MAPI_E_NETWORK_ERROR"
    assert [s["on_mismatch"] for g in doc["explained"] for s in g["settings"]] == ["evict"]


def test_notifications_off_explains_without_violation(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diagnose", str(LOGS / "notifications-off.jsonl"), "--set", "connect_flags=0x20",
                       "--vary", "on_mismatch")
    assert code == 0
    assert "Explained by 2 of 2 settings" in out and "Violates no safety property." in out


def test_a_log_no_setting_explains_names_the_first_event_none_can_reach(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diagnose", str(LOGS / "unexplained.jsonl"), "--vary", "on_mismatch",
                       "--vary", "after_network_error")
    assert code == 5
    assert "No setting explains the log. The longest prefix some setting explains: events 1 to 2" in out
    assert "event 3 (line 3): thread 4412 as CONTOSO\\alice EcDoConnectEx -> ok" in out


def test_a_swapped_pair_of_dependent_events_is_a_second_job() -> None:
    """Impersonation after the logon: the thread's lines say a second job starts there (a job starts by
    impersonating; regcheck/model/SEMANTICS.md, "Observations"), so the design read from the log has two jobs and
    explains it, where one job could not."""
    events = parse_jsonl((LOGS / "article-customer.jsonl").read_text())
    swapped = parse_jsonl(to_jsonl([events[1], events[0], *events[2:]]))
    result = diagnose(swapped, load_builtin("seed"), ["on_mismatch", "registration", "after_network_error"],
                      check_fixes=False)
    assert result.explained and "jobs=2" in result.facts
    one_job = diagnose(swapped, load_builtin("seed"), ["on_mismatch"], check_fixes=False)
    assert all(o.setting.scenario.jobs_of(1) == ("alice", "alice") for g in one_job.explained for o in g.outcomes)


# Logs of random runs ---------------------------------------------------------------------------------


def _walk(scenario: Scenario, seed: int, steps: int) -> Trace:
    """A random execution of ``scenario`` of at most ``steps`` steps."""
    return random_run(compile_system(build(scenario)), random.Random(seed), steps)


def _hidden(events: list[Event], rng: random.Random) -> list[Event]:
    """Some events left out and some fields dropped, as partial logs are; numbered again."""
    kept = [e for e in events if rng.random() > 0.3]
    dropped = []
    for e in kept:
        fields = {k: v for k, v in e.to_json().items() if k not in ("event", "line")}
        for key in ("thread", "as", "result", "association", "session"):
            if key in fields and rng.random() < 0.25:
                del fields[key]
        dropped.append(fields)
    return parse_jsonl("".join(json.dumps(d) + "\n" for d in dropped)) if dropped else []


def _generated(scenario: Scenario, seed: int, steps: int = 30) -> tuple[Scenario, dict[str, str], list[Event]]:
    trace = _walk(scenario, seed, steps)
    events = _hidden(log_of(scenario, trace), random.Random(seed))
    setting = {key: str(getattr(scenario, key)) for key in VARIED}
    return scenario, setting, events


# 15 examples: the generating design as the base; tests/test_diagnose_soundness.py draws 300 more, from the built-ins.
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios().filter(lambda s: int(s.workers) <= 2), seed=st.integers(0, 10_000))
def test_a_log_of_a_random_run_is_explained_by_the_setting_that_made_it(scenario: Scenario, seed: int) -> None:
    base, setting, events = _generated(scenario, seed)
    if not events:
        return
    result = diagnose(events, base, list(VARIED), check_fixes=False, timeout=60)
    explaining = [dict(o.setting.values) for g in result.explained for o in g.outcomes]
    undecided = [dict(o.setting.values) for o in result.unknown]  # the log's design family may be too large
    assert setting in explaining or setting in undecided, (setting, [e.describe() for e in events])
    assert all(setting not in [dict(o.setting.values) for o in g.outcomes] for _, _, g in result.ruled_out)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios().filter(lambda s: int(s.workers) <= 2), seed=st.integers(0, 10_000),
       where=st.floats(0, 0.999))
def test_a_result_the_model_cannot_give_is_unexplained_at_its_event(scenario: Scenario, seed: int, where: float) -> None:
    # Runs of at most 16 steps: refuting the other settings of a long log with retry loops can take a search of
    # 300,000 states each (52 s for one log of 38 events), which says nothing more about where it fails.
    base, setting, events = _generated(scenario, seed, 16)
    token = ("ImpersonateLoggedOnUser", "RevertToSelf")  # their result is free (regcheck/model/SEMANTICS.md, "Observations")
    clients = [i for i, e in enumerate(events) if not e.server and e.call not in token]
    if not clients:
        return
    index = clients[int(where * len(clients))]
    mutated = list(events)
    mutated[index] = Event(events[index].number, events[index].line, events[index].call, events[index].thread,
                           events[index].identity, "0x8004010F")  # MAPI_E_NOT_FOUND: no step returns it
    result = diagnose(mutated, base, list(VARIED), check_fixes=False, timeout=60)
    assert not result.explained
    if any(dict(o.setting.values) == setting for o in result.unknown):
        return  # the log's design family was too large to decide within the limits: nothing is claimed
    assert result.longest == index  # every event before it is explained, by the run that logged them
    assert result.ruled_out, [o.reason for o in result.unknown]
    assert max(event for event, _, _ in result.ruled_out) == index + 1  # other settings may fail sooner
    at = {event for event, _, group in result.ruled_out if setting in [dict(o.setting.values) for o in group.outcomes]}
    assert at == {index + 1}  # the setting that made the log fails exactly there (its groups may overlap)


def test_the_example_logs_and_generated_logs_meet_the_schema() -> None:
    """The schema file says what the reader accepts: the examples and every generated log meet it, and a
    line the reader refuses for an unknown field the schema refuses too."""
    from jsonschema import Draft202012Validator

    schema = json.loads((LOGS.parent.parent / "schemas" / "observation-log.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    lines = [line for path in sorted(LOGS.glob("*.jsonl")) for line in path.read_text().splitlines()]
    seed = load_builtin("seed")
    lines += to_jsonl(log_of(seed, _walk(seed, 7, 40))).splitlines()
    for line in lines:
        validator.validate(json.loads(line))
    assert not validator.is_valid({"call": "EcDoConnectEx", "user": "alice"})
    assert not validator.is_valid({"thread": "1"})


def test_the_report_can_include_a_diagnosis(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "report", "seed", "--out", str(tmp_path / "r"), "--diagnose",
                         str(LOGS / "unexplained.jsonl"))
    assert code == 0 and "Traceback" not in err
    page = (tmp_path / "r" / "index.html").read_text()
    markdown = (tmp_path / "r" / "report.md").read_text()
    for text in (page, markdown):
        assert "Diagnosis of" in text and "unexplained.jsonl" in text
        assert "No setting explains the log. The longest prefix some setting explains: events 1 to 2" in text
    assert '<span class="timing">' in page  # the search time, apart, so two reports of the same inputs compare


def test_each_explanation_is_written_as_a_trace_that_replays(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, doc = run_json(capsys, "diagnose", str(LOGS / "article-customer.jsonl"), "--vary", "on_mismatch",
                         "--trace-out", str(tmp_path))
    assert code == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["explanation-1.itf.json", "explanation-1.png",
                                                         "explanation-1.svg"]
    assert doc["explained"][0]["execution"]["trace"]["#meta"]["switches"]["requests"] == 2
    code, out, _ = run(capsys, "replay", str(tmp_path / "explanation-1.itf.json"))
    assert code == 0 and "conforms: all 6 steps replay on the reference simulator" in " ".join(out.split())


def test_the_first_lines_conclude_in_the_protocols_words(capsys: pytest.CaptureFixture[str]) -> None:
    """A support engineer reads the conclusion first: the conflict, how many settings explain it, what each fix does."""
    code, out, _ = run(capsys, "diagnose", str(LOGS / "article-customer.jsonl"), "--vary", "on_mismatch")
    assert code == 1
    conclusion = " ".join(out.split("The design the log implies")[0].split("\n", 1)[1].split())
    assert conclusion.startswith("Conclusion: explained by 1 of 2 settings. Step 5: notifier 1")
    assert '"Registration of the Association GUID failed"' in conclusion
    assert conclusion.endswith("Fix A rules it out; fix B rules it out; one association per MAPI session does not "
                               "rule it out.")
    code, out, _ = run(capsys, "diagnose", str(LOGS / "unexplained.jsonl"), "--vary", "on_mismatch")
    assert code == 5
    assert out.splitlines()[1].startswith("Conclusion: no setting explains the log; event 3 is the first none can reach")


def test_the_output_says_the_design_the_log_implies_and_tells_each_story_once(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Thread by thread, whom each serves and how; settings whose executions are the same are one story."""
    code, out, _ = run(capsys, "diagnose", str(LOGS / "article-customer.jsonl"), "--vary", "on_mismatch",
                       "--vary", "async_failure")
    assert code == 1
    implied = out.split("The design the log implies:\n")[1].split("Design facts")[0]
    assert implied == "  thread '4412': worker 1, serves alice, impersonates\n"
    result = diagnose(parse_jsonl((LOGS / "article-customer.jsonl").read_text()), load_builtin("seed"),
                      ["on_mismatch", "async_failure"], check_fixes=False)
    [group] = result.explained
    halves = [replace(group, description=(("async_failure", (v,)),), outcomes=tuple(
        o for o in group.outcomes if dict(o.setting.values)["async_failure"] == v)) for v in ("poll", "retry")]
    assert stories(replace(result, explained=tuple(halves))) == [halves]  # one execution: one story
    other = replace(halves[1], violated=())
    assert stories(replace(result, explained=(halves[0], other))) == [[halves[0]], [other]]


@pytest.mark.slow
def test_the_settings_are_searched_on_dask_with_the_same_answer(capsys: pytest.CaptureFixture[str]) -> None:
    import distributed

    argv = ["diagnose", str(LOGS / "article-customer.jsonl"), "--vary", "on_mismatch", "--vary", "registration",
            "--json"]
    code, local, _ = run(capsys, *argv)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        dask_code, on_dask, _ = run(capsys, *argv, "--dask", cluster.scheduler_address)
    assert (code, dask_code) == (1, 1)

    def answer(text: str) -> dict[str, Any]:
        document = json.loads(text)
        return {k: v for k, v in document.items() if k not in ("seconds", "regcheck", "generated")}

    assert answer(on_dask) == answer(local) and answer(local)["explained"]


def test_an_unreachable_dask_scheduler_is_one_line(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from regcheck import sweep

    monkeypatch.setattr(sweep, "DASK_CONNECT_TIMEOUT", 1.0)
    code, out, err = run(capsys, "diagnose", str(LOGS / "article-customer.jsonl"), "--vary", "on_mismatch",
                         "--dask", "tcp://127.0.0.1:9")
    assert code == 2 and err.count("\n") == 1 and "cannot reach a Dask scheduler at 'tcp://127.0.0.1:9'" in err
