"""``must_fail`` from a position: every fair continuation fails a liveness property, or one does not.

It agrees with a fresh liveness check from the same state, counting the obligations pending there: on every
state of the built-ins' liveness counterexamples (and the initial state of those that prove the property), a
proof means the check from there finds a violation unless an obligation pending there was triggered earlier
(the check counts only those triggered from there on), and a proof from there, with no such obligation, means
a fair continuation meets every obligation; every such continuation replays on the reference simulator with a
fair loop and every obligation met, and the simulator's own search (``model.continuations``) agrees with each
answer either way.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regcheck import compose
from regcheck.core.engines import continuation
from regcheck.core.result import STUTTER, Verdict
from regcheck.errors import EngineDisagreement, InvalidArgument
from regcheck.model import positions
from regcheck.model import scenario as scenarios
from regcheck.model.continuations import no_fair_satisfying
from regcheck.model.replay import satisfies
from regcheck.model.scenario import Scenario
from regcheck.notebook import position

LIVENESS = ("worker-requests-succeed", "notifications-delivered")
QUICK = ("seed", "mixed-threads", "thread-pool", "fix-no-notifications", "exchange-2010")
"""Built-ins whose every liveness counterexample state takes well under a second in all."""
HEAVY = ("multi-user", "mailbox-walker", "re-register-on-miss", "session-cache", "service-account", "fix-run-as-user")


def _agrees(scenario: Scenario, here: positions.Position, name: str, simulator: bool = True) -> None:
    """must_fail at ``here`` against a fresh check from there and (``simulator``) the simulator's own search, which
    must_fail runs itself before it says "must fail"."""
    fate = compose.must_fail_from(scenario, here.path, name)
    (fresh,) = compose.run_checks_from(scenario, here.path, [name], engine="explicit")
    where = (scenario.name, name, here.index, fate.note)
    triggered_here = all(since == here.index for _, since in fate.pending)  # the fresh check counts these too
    assert fate.must is not None, where
    if simulator:
        recheck = no_fair_satisfying(scenario, here.path, name, max_states=compose.MUST_FAIL_STATES, deadline=None)
        assert recheck.confirmed is fate.must and recheck.loop is not fate.must, where
    if fate.must:
        assert fresh.verdict is Verdict.VIOLATED or not triggered_here, where
        assert fate.trace is None
    else:
        assert fate.trace is not None and fate.trace.loop is not None and fate.trace.loop >= here.index
        assert fate.trace.states[: here.index + 1] == here.path.states
        assert fate.trace.meta["position"] == here.index
        assert satisfies(scenario, fate.trace, name).ok, where
    if fresh.verdict is Verdict.PROVED and triggered_here:
        assert fate.must is False, where  # weak fairness is machine-closed: some fair continuation exists


def _every_state(name: str, simulator: bool = True) -> None:
    scenario = scenarios.load_builtin(name)
    for result in compose.run_checks(scenario, list(LIVENESS), engine="explicit"):
        trace = result.trace
        if trace is None:
            assert result.verdict is Verdict.PROVED
            _agrees(scenario, positions.start(scenario), result.property, simulator)
            continue
        for k in range(len(trace) + 1):
            if any(step.action == STUTTER for step in trace.steps[:k]):
                break
            _agrees(scenario, positions.at(scenario, trace, k), result.property, simulator)


@pytest.mark.parametrize("name", QUICK)
def test_must_fail_agrees_with_a_fresh_check_on_every_state_of_a_counterexample(name: str) -> None:
    _every_state(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", HEAVY)
def test_must_fail_agrees_on_every_state_of_the_other_built_ins(name: str) -> None:
    _every_state(name, simulator=False)  # thousands of states: the simulator's search only where must_fail runs it


@settings(max_examples=30, deadline=None)
@given(scenario=st.sampled_from(("seed", "thread-pool", "mixed-threads")), prop=st.sampled_from(LIVENESS),
       choices=st.lists(st.integers(min_value=0, max_value=20), max_size=9))
def test_must_fail_from_random_positions_agrees_with_the_simulator(scenario: str, prop: str,
                                                                    choices: list[int]) -> None:
    chosen = scenarios.load_builtin(scenario)
    here = positions.start(chosen)
    for choice in choices:
        enabled = here.enabled()
        if not enabled:
            break
        here = here.step(enabled[choice % len(enabled)].number)
    _agrees(chosen, here, prop)


def test_the_notebook_names_what_must_fail_covers() -> None:
    seed = position("seed")
    free = seed.must_fail("worker-requests-succeed")
    assert free.lost is False and free.trace is not None
    assert "need not fail: a fair continuation of 7 step(s), ending in a loop of 1" in free.words()
    assert "worker 1, pending since state 0" in free.words()
    assert "its loop is fair" in free._repr_html_()
    after = seed.step("worker 1 Impersonate").step("worker 1 EcDoConnectEx").step("EcDoAsyncConnectEx")
    failed = after.step("notifier 1 EcDoAsyncWaitEx").step("worker 1 EcDoRpcExt2")
    lost = failed.must_fail("worker-requests-succeed")
    assert lost.lost is True and lost.trace is None
    assert lost.words() == ("must fail: every fair continuation fails it (worker 1, pending since state 0), proved "
                            "for the 1 states reachable from here")
    assert "re-checked on the reference simulator" in lost._repr_html_()
    event = seed.step(1).step(1).step("ServerEvent")
    assert event.must_fail("notifications-delivered").lost is True  # the seed never delivers a notification
    assert seed.must_fail("notifications-delivered").lost is False  # no event need ever come: ServerEvent is not fair
    with pytest.raises(InvalidArgument, match="is a safety property"):
        seed.must_fail("worker-never-gets-network-error")
    with pytest.raises(InvalidArgument, match="timeout"):
        seed.must_fail("worker-requests-succeed", timeout=-1)


def test_a_limit_leaves_must_fail_unknown_with_its_reason() -> None:
    path = positions.start(scenarios.load_builtin("session-cache")).path
    fate = compose.must_fail_from(scenarios.load_builtin("session-cache"), path, "worker-requests-succeed",
                                  max_states=50)
    assert fate.must is None and fate.trace is None
    assert fate.note.startswith("the state limit (50)")
    with pytest.raises(InvalidArgument, match="fixed number of workers"):
        compose.must_fail_from(scenarios.with_overrides(scenarios.load_builtin("seed"), ["workers=any"]), path, "worker-requests-succeed")


def test_a_proof_the_simulator_contradicts_is_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    seed = scenarios.load_builtin("seed")
    path = positions.start(seed).path

    def blind(*args: object, **kwargs: object) -> continuation.Continuation:
        return continuation.Continuation(None, True, 1, 1, 0)

    monkeypatch.setattr(continuation, "satisfying", blind)
    with pytest.raises(EngineDisagreement, match="the simulator finds a fair loop"):
        compose.must_fail_from(seed, path, "worker-requests-succeed")


def test_a_continuation_that_does_not_replay_as_satisfying_decides_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    seed = scenarios.load_builtin("seed")
    path = positions.start(seed).path
    real = continuation.satisfying

    def unfair(*args: object, **kwargs: object) -> continuation.Continuation:
        found = real(*args, **kwargs)  # type: ignore[arg-type]
        assert found.trace is not None
        return dataclasses.replace(found, trace=dataclasses.replace(found.trace, loop=0))

    monkeypatch.setattr(continuation, "satisfying", unfair)
    fate = compose.must_fail_from(seed, path, "worker-requests-succeed")
    assert fate.must is None and fate.trace is None
    assert fate.note.startswith("internal error: the fair continuation does not replay")


def test_replay_tells_a_satisfying_lasso_from_a_violating_or_unfair_one() -> None:
    seed = scenarios.load_builtin("seed")
    (violated,) = compose.run_checks(seed, ["worker-requests-succeed"], engine="explicit")
    assert violated.trace is not None
    report = satisfies(seed, violated.trace, "worker-requests-succeed")
    assert not report.ok and "worker 1, triggered in state 0, is never met" in report.reason
    met = compose.must_fail_from(seed, positions.start(seed).path, "worker-requests-succeed").trace
    assert met is not None and met.loop is not None and satisfies(seed, met, "worker-requests-succeed").ok
    assert not satisfies(seed, dataclasses.replace(met, loop=None), "worker-requests-succeed").ok
    with pytest.raises(ValueError, match="no liveness property"):
        satisfies(seed, met, "worker-never-gets-network-error")
