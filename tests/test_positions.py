"""Positions: stepping on the reference simulator, and questions answered by the checker from a state.

``can_fail`` from a state agrees with a fresh check: on every state of every built-in's counterexample
before its violation the property can fail (with a continuation no longer than the rest of that
counterexample), and from the states of a scenario's paths a property the scenario proves never can.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from regcheck import compose
from regcheck.core.result import CheckResult, Kind, Trace, Verdict
from regcheck.errors import InvalidArgument
from regcheck.formats import itf
from regcheck.model import positions
from regcheck.model import scenario as scenarios
from regcheck.model.replay import replay
from regcheck.model.scenario import Scenario
from regcheck.model.system import build
from regcheck.notebook import Finding, position, shapes
from tests.clirun import flat, run

NETWORK_ERROR = "worker-never-gets-network-error"
BUILTINS = [n for n in scenarios.builtin_names() if not scenarios.load_builtin(n).parameterised]


def _walk(scenario: Scenario, steps: int, seed: int) -> Trace:
    """A path of up to ``steps`` steps chosen at random (seeded) among the enabled actions."""
    rng = random.Random(seed)
    here = positions.start(scenario)
    for _ in range(steps):
        enabled = here.enabled()
        if not enabled:
            break
        here = here.step(rng.choice(enabled).number)
    return here.path


def _agrees_from_every_state(name: str) -> None:
    scenario = scenarios.load_builtin(name)
    fresh = compose.run_checks(scenario, [], engine="explicit")
    paths = [r.trace for r in fresh if r.trace is not None] + [_walk(scenario, 10, seed) for seed in (1, 2)]
    proved = [r.property for r in fresh if r.verdict is Verdict.PROVED]
    for result in fresh:
        if result.verdict is not Verdict.VIOLATED or result.trace is None:
            continue
        trace = result.trace
        last = len(trace) if trace.loop is None else trace.loop  # a lasso fails from every state up to its loop
        for k in range(last + 1):
            here = positions.at(scenario, trace, k)
            (answer,) = compose.run_checks_from(scenario, here.path, [result.property], engine="explicit")
            assert answer.verdict is Verdict.VIOLATED, (name, result.property, k, answer.note)
            assert answer.trace is not None and answer.trace.meta["position"] == k
            assert answer.trace.states[: k + 1] == here.path.states
            assert replay(scenario, answer.trace, result.property).ok
            if trace.loop is None:  # the rest of the counterexample is a continuation: the answer is no longer
                assert len(answer.trace) - k <= len(trace) - k
            if k == 0:
                assert len(answer.trace) == len(trace)  # from the initial state: the fresh check's shortest
    for path in paths:
        for k in range(len(path) + 1):
            if any(step.action == "Stutter" for step in path.steps[:k]):
                break
            here = positions.at(scenario, path, k)
            for answer in compose.run_checks_from(scenario, here.path, proved, engine="explicit"):
                assert answer.verdict is Verdict.PROVED, (name, answer.property, k, answer.note)


def test_can_fail_agrees_with_a_fresh_check_on_the_seed() -> None:
    _agrees_from_every_state("seed")


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in BUILTINS if n != "seed"])
def test_can_fail_agrees_with_a_fresh_check_on_every_builtin(name: str) -> None:
    _agrees_from_every_state(name)


def test_a_proof_from_a_position_is_a_certificate_rechecked_from_that_state() -> None:
    scenario = scenarios.load_builtin("seed")
    here = positions.start(scenario).step("worker 1 Impersonate").step("worker 1 EcDoConnectEx")
    here = here.step("EcDoAsyncConnectEx").step("worker 1 EcDoRpcExt2")
    (answer,) = compose.run_checks_from(scenario, here.path, [NETWORK_ERROR], engine="pdr")
    assert answer.verdict is Verdict.PROVED and answer.evidence is not None
    (fresh,) = compose.run_checks(scenario, [NETWORK_ERROR], engine="pdr")
    assert fresh.verdict is Verdict.VIOLATED  # from the initial state it fails: the proof is of the state


def test_every_engine_answers_from_a_position() -> None:
    scenario = scenarios.load_builtin("seed")
    here = positions.start(scenario).step(1).step(1)
    for engine in ("auto", "bmc", "kinduction", "explicit", "pdr"):
        (answer,) = compose.run_checks_from(scenario, here.path, [NETWORK_ERROR], engine=engine, depth=6, timeout=60)
        assert answer.verdict is Verdict.VIOLATED, (engine, answer.note)
        assert answer.trace is not None and len(answer.trace) == 5


def test_step_takes_a_number_a_label_or_a_description() -> None:
    here = positions.start(scenarios.load_builtin("seed")).step("Impersonate(worker=1)").step(1)
    assert here.step("EcDoAsyncConnectEx(session=1)").path.steps[-1].label == "EcDoAsyncConnectEx(session=1)"
    waits = here.step("EcDoAsyncConnectEx").step("notifier 1 EcDoAsyncWaitEx")
    assert waits.path.steps[-1].labels["thread"] == "notifier 1"
    assert waits.index == 4 and waits.state["mismatch_seen"] is True


def test_step_refuses_a_disabled_action_with_what_is_enabled() -> None:
    here = positions.start(scenarios.load_builtin("seed"))
    with pytest.raises(InvalidArgument) as refused:
        here.step("notifier 1 EcDoAsyncWaitEx")
    assert "is not enabled here; enabled: 1. Impersonate(worker=1)" in str(refused.value)
    with pytest.raises(InvalidArgument, match="there is no action 7 here; enabled: 1."):
        here.step(7)
    with pytest.raises(InvalidArgument, match="expected a number"):
        here.step(True)


def test_a_description_that_matches_several_actions_lists_them() -> None:
    here = positions.start(scenarios.load_builtin("multi-user"))
    with pytest.raises(InvalidArgument) as refused:
        here.step("Impersonate")
    assert "matches 2 enabled actions: 1. Impersonate(worker=1); " in str(refused.value)
    assert here.step("worker 2 Impersonate").path.steps[-1].label == "Impersonate(worker=2)"


def test_enabled_actions_say_what_admission_would_do() -> None:
    here = positions.at(scenarios.load_builtin("seed"), _seed_counterexample(), 3)
    words = {c.label: c.words() for c in here.enabled()}
    assert "MISMATCH: g1 is alice's; evicted -> MAPI_E_NETWORK_ERROR" in words["EcDoAsyncWaitEx(session=1)"]
    assert words["EcDoRpcExt2(worker=1)"] == "worker 1 (as alice): EcDoRpcExt2 on g1; hit: g1 is alice's"
    tables = {t.title: t for t in here.tables()}
    assert tables["registration cache"].rows == (("g1", "alice", "alice", "-"),)
    assert tables["threads"].rows[0][:3] == ("worker 1", "alice", "working")


def _seed_counterexample() -> Trace:
    (result,) = compose.run_checks(scenarios.load_builtin("seed"), [NETWORK_ERROR], engine="explicit")
    assert result.trace is not None
    return result.trace


def test_a_position_refuses_a_trace_of_another_scenario_and_a_step_out_of_range() -> None:
    trace = _seed_counterexample()
    with pytest.raises(InvalidArgument, match="step 6 is out of range; the trace has steps 0 to 5"):
        positions.at(scenarios.load_builtin("seed"), trace, 6)
    with pytest.raises(InvalidArgument, match="not one of scenario 'mailbox-walker'"):
        positions.at(scenarios.load_builtin("mailbox-walker"), trace, 2)
    with pytest.raises(InvalidArgument, match="do not replay on the reference simulator of scenario fix-run-as-user"):
        positions.at(scenarios.load_builtin("fix-run-as-user"), trace, 2)


def test_a_state_outside_the_system_is_refused() -> None:
    system = build(scenarios.load_builtin("seed"))
    state = dict(positions.start(scenarios.load_builtin("seed")).state)
    with pytest.raises(InvalidArgument, match=r"done\[1\] is 99, outside 0"):
        compose.from_state(system, {**state, "done[1]": 99})
    with pytest.raises(InvalidArgument, match="missing"):
        compose.from_state(system, {k: v for k, v in state.items() if k != "done[1]"})


def test_can_reach_a_shape_from_a_position() -> None:
    here = Finding(scenarios.load_builtin("seed"), _violated()).at(3)
    found = here.can_reach(shapes.sends("notifier 1", "EcDoAsyncWaitEx"))
    assert found.can and found.trace is not None and len(found.trace) == 4
    assert not here.can_reach(shapes.sends("notifier 1", "EcDoConnectEx"), depth=4).can


def _violated() -> CheckResult:
    (result,) = compose.run_checks(scenarios.load_builtin("seed"), [NETWORK_ERROR], engine="explicit")
    return result


def test_the_worker_first_fork_of_the_article_case_is_proved_safe() -> None:
    finding = Finding(scenarios.load_builtin("seed"), _violated())
    fork = finding.fork(4, "worker 1 EcDoRpcExt2")
    assert fork.parted == ("EcDoAsyncWaitEx(session=1)", "EcDoRpcExt2(worker=1)")
    assert fork.fork.can is False and fork.fork.result.evidence is not None
    html = fork._repr_html_()
    assert "at step 4 the original takes" in html and "cannot fail from here (proved)" in html
    assert finding.fork(4, "ServerEvent").fork.can is True


def test_a_fork_saved_as_itf_replays_and_positions_again(tmp_path: Path) -> None:
    here = position("seed").step(1).step(1).step("EcDoAsyncConnectEx")
    answer = here.can_fail(NETWORK_ERROR)
    assert answer.can and answer.continuation == 2
    saved = tmp_path / "fork.itf.json"
    here.step(2).save(saved)
    back = itf.read(saved)
    assert replay(scenarios.load_builtin("seed"), back).ok
    assert positions.at(scenarios.load_builtin("seed"), back, 4).state == here.step(2).where.state


def test_show_at_prints_the_state_and_what_is_enabled(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    saved = tmp_path / "trace.itf.json"
    itf.write(compose.replayable(scenarios.load_builtin("seed"), _seed_counterexample()), saved)
    code, out, _ = run(capsys, "show", str(saved), "--at", "3")
    assert code == 0
    assert "State after step 3 of scenario seed:" in out
    assert "2. EcDoAsyncWaitEx(session=1): notifier 1 (as SYSTEM): EcDoAsyncWaitEx on g1; MISMATCH" in flat(out)
    code, out, err = run(capsys, "show", str(saved), "--at", "9")
    assert code == 2 and err.strip().count("\n") == 0 and "step 9 is out of range" in err


def test_check_from_a_state(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    saved = tmp_path / "trace.itf.json"
    itf.write(compose.replayable(scenarios.load_builtin("seed"), _seed_counterexample()), saved)
    code, out, _ = run(capsys, "check", "seed", "--from", str(saved), "--at", "3", "-p", NETWORK_ERROR,
                       "--engine", "explicit")
    assert code == 1
    assert "from the state after step 3 of" in flat(out)
    assert "the 3 to the state checked from, then a shortest continuation of 2" in flat(out)
    code, out, err = run(capsys, "check", "mailbox-walker", "--from", str(saved), "--at", "3")
    assert code == 2 and err.strip().count("\n") == 0 and "not one of scenario 'mailbox-walker'" in err
    code, out, err = run(capsys, "check", "seed", "--from", str(saved), "--at", "8")
    assert code == 2 and "step 8 is out of range" in err
    code, out, err = run(capsys, "check", "seed", "--from", str(saved))
    assert code == 2 and "--from TRACE and --at K go together" in err
    code, out, err = run(capsys, "check", "seed", "--from", str(saved), "--at", "1", "--all")
    assert code == 2 and "drop --all" in err


def test_kind_of_each_answer_is_the_property_kind() -> None:
    here = position("seed").step(1)
    assert here.can_fail("worker-requests-succeed").result.kind is Kind.LIVENESS
    assert here.can_fail(NETWORK_ERROR).result.kind is Kind.SAFETY


def test_the_widget_without_ipywidgets_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # as if it were not installed
    with pytest.raises(InvalidArgument, match=r"needs ipywidgets: pip install 'regcheck\[widgets\]'"):
        position("seed").widget()


def test_back_chart_and_the_errors_of_at_and_fork() -> None:
    here = position("seed").step(1).step(1).step(1)
    assert here.back().index == 2 and here.back(3).path.states == position("seed").path.states
    assert here.chart().trace == here.path
    with pytest.raises(InvalidArgument, match="no step has been taken yet"):
        position("seed").chart()
    finding = Finding(scenarios.load_builtin("seed"), _violated())
    with pytest.raises(InvalidArgument, match="fork: step 0 is out of range; the counterexample has steps 1 to 5"):
        finding.fork(0, 1)
    (proved,) = compose.run_checks(scenarios.load_builtin("fix-run-as-user"), [NETWORK_ERROR], engine="explicit")
    with pytest.raises(InvalidArgument, match="is proved: there is no counterexample to stand in"):
        Finding(scenarios.load_builtin("fix-run-as-user"), proved).at(1)
    with pytest.raises(InvalidArgument, match="unknown property"):
        here.can_fail("no-such-property")
