"""Liveness for every number of workers (regcheck.core.interference): its verdicts against the explicit engine's
at fixed N, its counterexamples for the fewest workers, and its premises refused where they fail."""

from __future__ import annotations

import dataclasses
from functools import partial

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regcheck import compose
from regcheck.core import engines, interference
from regcheck.core.engines import Options
from regcheck.core.evidence import LassoFreedom
from regcheck.core.expr import and_, var
from regcheck.core.result import Verdict
from regcheck.core.system import Obligation
from regcheck.errors import InvalidArgument
from regcheck.model import parameterised
from regcheck.model.scenario import Scenario, builtin_names, load_builtin, with_overrides
from regcheck.model.system import build
from regcheck.properties import catalogue
from tests.lassos import LIVENESS, fair_violating
from tests.strategies import scenarios

SYMMETRIC = [n for n in builtin_names() if parameterised.symmetric(load_builtin(n))]


def _every_n(scenario: Scenario, name: str) -> Verdict:
    (result,) = parameterised.liveness(scenario, [partial(catalogue.instantiate, name)], timeout=60)
    return result.verdict


def _explicit(scenario: Scenario, name: str, workers: int, max_states: int = 2_000_000) -> Verdict:
    concrete = scenario.with_workers(workers)
    (result,) = engines.get("explicit")(build(concrete), [catalogue.instantiate(name, concrete)],
                                        Options(max_states=max_states))
    return result.verdict


@pytest.mark.slow
@pytest.mark.parametrize("name", SYMMETRIC)
def test_every_built_in_agrees_with_the_explicit_engine_for_one_to_four_workers(name: str) -> None:
    """A proof for every N holds at each N of 1..4 (the explicit engine); where the abstraction finds no
    proof, some N of 1..4 shows a real violation (the built-ins have no spurious loop)."""
    scenario = load_builtin(name)
    theirs: dict[str, list[Verdict]] = {prop: [] for prop in LIVENESS}
    for workers in (1, 2, 3, 4):
        concrete = scenario.with_workers(workers)
        props = [catalogue.instantiate(prop, concrete) for prop in LIVENESS]
        for result in engines.get("explicit")(build(concrete), props, Options()):
            theirs[result.property].append(result.verdict)
    for prop in LIVENESS:
        if _every_n(scenario, prop) is Verdict.PROVED:
            assert set(theirs[prop]) == {Verdict.PROVED}, (prop, theirs[prop])
        else:
            assert Verdict.VIOLATED in theirs[prop], (prop, theirs[prop])


def test_the_fixes_are_live_for_every_number_of_workers() -> None:
    for name in ("fix-run-as-user", "service-account"):
        for prop in LIVENESS:
            scenario = with_overrides(load_builtin(name), ["workers=any"])
            (result,) = compose.run_checks(scenario, [prop], timeout=60)
            assert result.verdict is Verdict.PROVED, (name, prop, result.note)
            assert result.scope is not None and result.scope.counts is None
            assert isinstance(result.evidence, LassoFreedom) and result.evidence.method == interference.METHOD


def test_fix_b_loses_notifications_already_with_one_worker() -> None:
    scenario = with_overrides(load_builtin("fix-no-notifications"), ["workers=any"])
    delivered, done = compose.run_checks(scenario, LIVENESS, timeout=60)
    assert done.verdict is Verdict.PROVED
    assert delivered.verdict is Verdict.VIOLATED and delivered.scope is not None and delivered.scope.counts == (1,)
    trace = delivered.trace
    assert trace is not None and trace.meta["workers"] == 1 and trace.meta["replayed"] is True
    concrete = scenario.with_workers(1)
    assert fair_violating(build(concrete), catalogue.instantiate("notifications-delivered", concrete), trace)


def test_a_violation_that_needs_two_workers_is_found_with_two() -> None:
    """mailbox-walker delivers every notification with one worker, and loses one with two: the proof for
    every N must fail, and the lasso shown is the explicit engine's shortest at N = 2."""
    scenario = load_builtin("mailbox-walker")
    assert _explicit(scenario, "notifications-delivered", 1) is Verdict.PROVED
    (result,) = compose.run_checks(with_overrides(scenario, ["workers=any"]), ["notifications-delivered"], timeout=60)
    assert result.verdict is Verdict.VIOLATED and result.trace is not None and result.trace.meta["workers"] == 2
    two = scenario.with_workers(2)
    (shortest,) = engines.get("explicit")(build(two), [catalogue.instantiate("notifications-delivered", two)],
                                          Options())
    assert shortest.trace is not None and len(result.trace) == len(shortest.trace)
    assert fair_violating(build(two), catalogue.instantiate("notifications-delivered", two), result.trace)


def test_an_open_abstraction_with_no_lasso_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    """Were the abstraction to find a loop and no concrete N of 1..3 a lasso, the verdict is unknown, never a
    proof, and it says what was searched."""
    real = interference.check

    def open_check(*args: object, **kwargs: object) -> object:
        results = real(*args, **kwargs)  # type: ignore[arg-type]
        return [dataclasses.replace(r, verdict=Verdict.UNKNOWN, evidence=None, note="a loop (test)") for r in results]

    monkeypatch.setattr(interference, "check", open_check)
    scenario = with_overrides(load_builtin("fix-run-as-user"), ["workers=any"])
    (result,) = compose.run_checks(scenario, ["worker-requests-succeed"], timeout=60)
    assert result.verdict is Verdict.UNKNOWN
    assert "a loop (test)" in result.note and "no fair violating lasso with 1 to 3 worker(s)" in result.note


def test_a_fixed_number_of_identical_workers_is_proved_through_every_n() -> None:
    scenario = with_overrides(load_builtin("fix-run-as-user"), ["workers=6", "requests=3"])
    results = compose.run_checks(scenario, LIVENESS, engine="pdr", timeout=60)
    for result in results:
        assert result.verdict is Verdict.PROVED and isinstance(result.evidence, LassoFreedom)
        assert result.scope is not None and result.scope.counts == (6,)


def test_obligations_over_two_workers_are_refused() -> None:
    """The premise: each obligation speaks of one worker (renamed for every worker) or of shared state only."""
    def both_done(s: Scenario) -> object:
        prop = catalogue.instantiate("worker-requests-succeed", s)
        goal = and_(*(var(f"done[{w}]") for w in s.worker_ids)) if s.workers != 1 else var("done[1]")
        return dataclasses.replace(prop, obligations=(Obligation(prop.obligations[0].trigger, goal, "all"),))

    scenario = with_overrides(load_builtin("fix-run-as-user"), ["workers=any"])
    with pytest.raises(InvalidArgument, match="not a per-worker liveness property: with 2 processes"):
        parameterised.liveness(scenario, [both_done], timeout=60)  # type: ignore[list-item]


def test_different_workers_are_refused() -> None:
    scenario = load_builtin("multi-user")
    with pytest.raises(InvalidArgument, match="identical workers"):
        parameterised.liveness(scenario, [partial(catalogue.instantiate, "worker-requests-succeed")], timeout=60)


def _identical(scenario: Scenario) -> Scenario:
    """The scenario for every number of workers, each like its first (so the workers are interchangeable)."""
    first = scenario.worker_users[:1] or scenario.users[:1]
    return dataclasses.replace(scenario, workers="any", worker_users=first,
                               worker_impersonates=scenario.worker_impersonates[:1])


@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios().map(_identical), st.sampled_from(LIVENESS))
def test_random_designs_agree_with_the_explicit_engine(scenario: Scenario, prop: str) -> None:
    """Over random designs of identical workers: a proof for every N is never contradicted by the explicit
    engine at N = 1..3 (a search too large for the budget decides nothing); where there is no proof, the
    workers=any check shows a fair lasso for the fewest workers, as short as the explicit engine's there."""
    if _every_n(scenario, prop) is Verdict.PROVED:
        for workers in (1, 2, 3):
            assert _explicit(scenario, prop, workers, max_states=50_000) in (Verdict.PROVED, Verdict.UNKNOWN)
        return
    (result,) = compose.run_checks(scenario, [prop], timeout=60)
    assert result.verdict in (Verdict.VIOLATED, Verdict.UNKNOWN)
    if result.verdict is Verdict.VIOLATED:
        assert result.trace is not None
        workers = result.trace.meta["workers"]
        concrete = scenario.with_workers(workers)
        assert fair_violating(build(concrete), catalogue.instantiate(prop, concrete), result.trace)
        for fewer in range(1, workers):
            assert _explicit(scenario, prop, fewer) is Verdict.PROVED
