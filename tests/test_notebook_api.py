"""Tests of the notebook API (regcheck/notebook.py) and of trace constraints (regcheck/core/constraints.py).

Constraints have two readings, a check of a decoded trace and a z3 encoding passed as an
assumption; the enumerator asserts that every trace it returns passes the check, so each search
below also tests that the readings agree. Searches use BMC to small depths.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

import pytest

from regcheck import compose
from regcheck.core.constraints import Before, Constraint, First, Happens, Never, all_hold
from regcheck.core.engines.distinct import Enumeration, counterexamples
from regcheck.errors import InvalidArgument
from regcheck.formats import itf
from regcheck.model import shapes
from regcheck.model.explain import CAUSE, same_cause
from regcheck.model.scenario import load_builtin, with_overrides
from regcheck.model.system import build
from regcheck.notebook import Comparison, check, diagnose, explain, explore, scenario, show, sweep, what_if
from regcheck.properties import catalogue

PROP = "worker-never-gets-network-error"


def search(
    name: str, where: list[Constraint], *, sets: tuple[str, ...] = (), limit: int = 3, depth: int = 10
) -> Enumeration:
    chosen = with_overrides(load_builtin(name), list(sets))
    prop = catalogue.instantiate(PROP, chosen)
    return counterexamples(build(chosen), prop, CAUSE, depth=depth, limit=limit, same=same_cause(chosen), where=where)


def test_readings_of_a_trace() -> None:
    trace = check("seed", PROP, engine="bmc", depth=6)[PROP].trace
    assert trace is not None
    assert shapes.registers_first("worker 1").holds(trace)
    assert not shapes.registers_first("notifier 1").holds(trace)
    assert shapes.first_mismatch_by("notifier 1").holds(trace)
    assert Happens(shapes.step("notifier 1", "EcDoAsyncWaitEx")).holds(trace)
    assert Never(shapes.step("server")).holds(trace)
    assert Before(shapes.step(cache="registered"), shapes.step(cache="mismatch-evicted")).holds(trace)
    assert not Before(shapes.step(cache="mismatch-evicted"), shapes.step(cache="registered")).holds(trace)
    assert not First(shapes.step(cache="re-registered"), shapes.step("worker 1")).holds(trace)  # no such step
    with pytest.raises(ValueError):
        shapes.step()


def test_an_impossible_shape_has_no_counterexample_within_the_depth() -> None:
    # The worker's EcDoConnectEx always comes first: the notification thread never registers first.
    found = search("seed", [shapes.registers_first("notifier 1")])
    assert (found.traces, found.exhausted, found.depth) == ((), True, 10)


def test_a_shape_selects_the_counterexamples_that_have_it() -> None:
    found = search("multi-user", [shapes.registers_first("worker 2")])
    assert found.traces and found.exhausted
    for trace in found.traces:
        assert next(s for s in trace.steps if s.labels["cache"] == "registered").labels["thread"] == "worker 2"
    # With one request the worker is done before any eviction, unless the notifier's wait comes first;
    # with two requests, a worker call before the wait can still be followed by a failing one.
    early = [shapes.sends_before(("worker 1", "EcDoRpcExt2"), ("notifier 1", "EcDoAsyncWaitEx"))]
    assert search("seed", early).traces == ()
    twice = search("seed", early, sets=("requests=2",))
    assert twice.traces and all(all_hold(early, t) for t in twice.traces)


def test_check_what_if_show_and_explain_display_richly() -> None:
    run = check("seed", PROP, "no-registration-mismatch", engine="bmc", depth=6)
    assert run.verdicts == {PROP: "violated", "no-registration-mismatch": "violated"}
    page = run._repr_html_()
    assert "<svg" in page and "MAPI_E_NETWORK_ERROR (0x80040115)" in page
    assert "run[&quot;no-registration-mismatch&quot;]" in page
    finding = run[PROP]
    assert finding.steps == 5 and "notifier 1" in finding.why()
    assert "<svg" in show(finding)._repr_html_() and show(finding).mermaid().startswith("sequenceDiagram")
    explained = explain(finding)._repr_html_()
    assert "each remaining step is needed" in explained
    comparison = what_if(run, transport="rpc-tcp")
    assert isinstance(comparison, Comparison)
    assert comparison.after.verdicts == {PROP: "bounded", "no-registration-mismatch": "bounded"}
    assert comparison.changed == [PROP, "no-registration-mismatch"]
    assert "What if transport = rpc-tcp in seed?" in comparison._repr_html_()
    assert '<tr class="changed"><td><code>workers</code>' in scenario("seed", workers=2)._repr_html_()
    with pytest.raises(KeyError):
        run["notifications-delivered"]
    with pytest.raises(InvalidArgument):
        what_if(run)


def test_explore_with_a_shape() -> None:
    found = explore("multi-user", PROP, 3, where=[shapes.registers_first("worker 2")], depth=8)
    assert len(found) >= 1 and found.complete
    assert all("worker 2 registered first" in cause for cause in found.causes)
    assert "registered has thread worker 2" in found._repr_html_()
    none = explore("seed", PROP, where=[shapes.registers_first("notifier 1")], depth=8)
    assert len(none) == 0 and "No counterexample" in none._repr_html_()
    with pytest.raises(InvalidArgument):
        explore("seed", "notifications-delivered")  # liveness: lassos are not enumerated by cause


# --------------------------------------------------------------------------------------------
# Ordinary inputs of another type: accepted as what they mean, or one clear InvalidArgument


def test_a_path_is_a_scenario_file(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text('name = "mine"\nworkers = 2\n', encoding="utf-8")
    run = check(tmp_path / "s.toml", PROP, engine="bmc", depth=6)
    assert run.scenario.name == "mine" and run.scenario.workers == 2
    assert run.verdicts == {PROP: "violated"}
    assert scenario(tmp_path / "s.toml").scenario.name == "mine"


def test_a_trace_file_can_be_shown(tmp_path: Path) -> None:
    trace = check("seed", PROP, engine="bmc", depth=6)[PROP].trace
    assert trace is not None
    itf.write(compose.replayable(load_builtin("seed"), trace), tmp_path / "t.itf.json")
    assert "<svg" in show(tmp_path / "t.itf.json")._repr_html_()


NOT_A_SCENARIO = "scenario: expected a built-in scenario's name, a path to a .toml file, a Scenario or a ScenarioView; "


@pytest.mark.parametrize("call, message", [
    (lambda: check(3), NOT_A_SCENARIO + "got int 3"),
    (lambda: check(None), NOT_A_SCENARIO + "got NoneType None"),
    (lambda: check("seed", 5), "properties: expected text or a list of texts, got tuple (5,)"),
    (lambda: check("seed", workers=2.5), "workers: expected a whole number in ASCII digits (e.g. 2 or 0x20), got '2.5'"),
    (lambda: check("seed", workers=None), "workers: expected true or false, a whole number, a word, or a list or "
                                          "table of them; got NoneType None"),
    (lambda: check("seed", users={"alice"}), "users: expected true or false, a whole number, a word, or a list or "
                                             "table of them; got set {'alice'}"),
    (lambda: what_if("run", transport="rpc-tcp"), "what_if: expected the Run that check() returned, got str 'run'"),
    (lambda: show(17), "expected a Finding, a Counterexample, a Trace or a trace file, got int 17"),
    (lambda: sweep("seed", vary=[3]), 'vary: expected switches as --vary takes them ("workers=1..3") or Axis values, '
                                      "got int 3"),
    (lambda: diagnose(17), "log: expected a path to a log, or the events as a list of dictionaries; got int 17"),
    (lambda: diagnose(["Connect", {"call": "Connect"}]), "the events, event 1: expected a dictionary of fields, got str 'Connect'"),
    (lambda: diagnose([{"call": "Connect", "thread": object}]),
     "the events, event 1: type <class 'object'> is not a value of a log (text, a whole number, or a datetime)"),
    (lambda: diagnose([{"call": "Connect"}], vary=[1]), "vary: expected text or a list of texts, got list [1]"),
    (lambda: diagnose([{"call": "Connect"}], columns=["call=Op"]),
     "columns: expected FIELD=COLUMN,... as text, got list ['call=Op']"),
], ids=["int", "None", "property", "float switch", "None switch", "set switch", "what_if", "show", "sweep vary", "log", "event",
        "event value", "diagnose vary", "columns"])
def test_a_value_of_another_type_is_one_clear_error(call: Callable[[], object], message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        call()
    assert str(info.value) == message


def test_a_datetime_in_an_event_is_its_time() -> None:
    when = datetime.datetime(2013, 11, 4, 9, 12, 1, 114000, tzinfo=datetime.UTC)
    events = [{"time": when, "thread": "4412", "as": "CONTOSO\\alice", "call": "EcDoConnectEx", "result": "ok"}]
    view = diagnose(events, vary="on_mismatch")
    assert view.diagnosis.events[0].time == "2013-11-04T09:12:01.114000+00:00"
    assert view.explained


@pytest.mark.parametrize(
    "settings, words",
    [
        ({"depth": -3}, ["depth", "0 to 500", "-3"]),
        ({"depth": "3"}, ["depth", "'3'"]),
        ({"depth": True}, ["depth", "True"]),
        ({"depth": 100_000}, ["depth", "100000"]),
        ({"timeout": 0}, ["timeout", "positive"]),
        ({"timeout": float("inf")}, ["timeout", "inf"]),
        ({"timeout": "5"}, ["timeout", "'5'"]),
        ({"engine": "bcm"}, ["engine", "'bcm'", "did you mean 'bmc'"]),
    ],
)
def test_the_notebook_refuses_what_the_command_line_refuses(settings: dict[str, object], words: list[str]) -> None:
    """The notebook's settings are checked by the CLI's own code (regcheck.limits), before any work."""
    with pytest.raises(InvalidArgument) as refused:
        check("seed", PROP, **settings)  # type: ignore[arg-type]
    for word in words:
        assert word in str(refused.value)


def test_explore_and_sweep_check_their_counts_too() -> None:
    with pytest.raises(InvalidArgument, match="n: expected a whole number from 1 to 20"):
        explore("seed", PROP, 1000)
    with pytest.raises(InvalidArgument, match=r"jobs: .* \(the cores"):
        from regcheck.notebook import sweep

        sweep("seed", PROP, vary=["workers=1..2"], jobs=10_000)


def test_the_notebook_diagnoses_an_exchange_log_as_the_command_does() -> None:
    """The article's case from the server's own RpcHttp log: read the same way, explained, the identities said."""
    log = Path(__file__).resolve().parent.parent / "examples" / "logs" / "exchange" / "article-RpcHttp.LOG"
    view = diagnose(log, "seed", vary="on_mismatch")
    assert view.explained and view.diagnosis.explained[0].violated
    assert any("CONTOSO\\EXSVC01$ is SYSTEM" in note for note in view.reading)
    assert "CONTOSO\\EXSVC01$ is SYSTEM" in view._repr_html_()
    with pytest.raises(InvalidArgument, match="log_format: 'evtx' is not one of jsonl, csv, rca"):
        diagnose(log, "seed", vary="on_mismatch", log_format="evtx")
