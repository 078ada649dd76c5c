"""Liveness in the explicit-state engine: fair loops, lassos that replay, and agreement with BMC's lasso search."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regcheck.core.engines import Options, bmc, explicit, liveness
from regcheck.core.evidence import LassoFreedom
from regcheck.core.expr import FALSE, TRUE, Const, Expr, add, and_, eq, ite, le, not_, var
from regcheck.core.result import STUTTER, CheckResult, Trace, Verdict, call_label
from regcheck.core.system import (
    Action,
    Kind,
    Obligation,
    ProcessGroup,
    Property,
    TransitionSystem,
    Variable,
    boolean,
    int_range,
)
from regcheck.model.replay import replay
from regcheck.model.scenario import CHOICES, SYSTEM, Scenario, builtin_names, load_builtin, with_overrides
from regcheck.model.system import build
from regcheck.properties.catalogue import instantiate
from tests.lassos import LIVENESS, fair_violating

STUTTER_LABELS = {"thread": "-", "message": "Stutter", "context": "-", "association": 0, "cache": "-", "result": "-"}


def _check(name: str, *sets: str) -> tuple[Scenario, list[Property], list[CheckResult]]:
    scenario = with_overrides(load_builtin(name), list(sets))
    props = [instantiate(n, scenario) for n in LIVENESS]
    return scenario, props, explicit.check(build(scenario), props, Options())


def _assert_lasso(scenario: Scenario, prop: Property, result: CheckResult) -> Trace:
    trace = result.trace
    assert trace is not None and trace.loop is not None, result
    assert 0 <= trace.loop < len(trace.states) - 1
    assert trace.states[-1] == trace.states[trace.loop]
    assert result.depth == len(trace)
    report = replay(scenario, trace, prop.name)
    assert report.ok, report
    return trace


@pytest.mark.parametrize("name", builtin_names())
def test_builtin_expectations(name: str) -> None:
    """Every built-in scenario's expectation for both liveness properties; every lasso replays."""
    scenario, props, results = _check(name)
    for prop, result in zip(props, results):
        assert result.engine == "explicit" and result.kind == "liveness"
        if scenario.expected[prop.name] == "violated":
            assert result.verdict is Verdict.VIOLATED, result
            _assert_lasso(scenario, prop, result)
        else:
            assert result.verdict is Verdict.PROVED and result.trace is None, result
            evidence = result.evidence
            assert isinstance(evidence, LassoFreedom)
            reduced = evidence.symmetry.startswith("on")  # on the reduced graph where the model declares symmetry
            assert reduced == any(len(g.blocks) > 1 for g in build(scenario).symmetry), evidence.symmetry
            searched = explicit.explore(build(scenario), symmetry=reduced)
            assert evidence.states == searched.graph.number_of_nodes() and evidence.components_examined >= 1
            assert evidence.diameter == max(d for _, d in searched.graph.nodes(data="depth"))


def test_fix_no_notifications_never_delivers() -> None:
    """Fix B's caveat: a raised notification waits for ever once the worker is done (a deadlock stutters)."""
    scenario, props, (delivered, succeed) = _check("fix-no-notifications")
    trace = _assert_lasso(scenario, props[0], delivered)
    assert trace.steps[-1].action == STUTTER and dict(trace.steps[-1].labels) == STUTTER_LABELS
    assert trace.loop == len(trace) - 1 and trace.states[-1]["pending[1]"] is True
    assert "shortest" in delivered.note and "session 1" in delivered.note
    assert succeed.verdict is Verdict.PROVED


def test_fix_run_as_user_proves_both() -> None:
    _, _, results = _check("fix-run-as-user")
    for result in results:
        assert result.verdict is Verdict.PROVED, result
        evidence = result.evidence
        unreduced = explicit.explore(build(load_builtin("fix-run-as-user")), symmetry=False)
        assert evidence["states"] == unreduced.graph.order()
        assert evidence["components_examined"] > 0 and "weak" in evidence["fairness"]
        assert evidence["symmetry"].startswith("off")


def test_re_register_on_miss_loops_on_the_notifier() -> None:
    """V3: the worker fails for good while the notifier polls under SYSTEM for ever: a loop, not a deadlock."""
    scenario, props, (_, succeed) = _check("re-register-on-miss")
    trace = _assert_lasso(scenario, props[1], succeed)
    assert all(step.action != STUTTER for step in trace.steps)
    assert trace.states[-1]["pc[1]"] == "failed"


# Small scenarios on which explicit and BMC must agree: a violation of the same (shortest) length,
# or none within BMC_DEPTH.
AGREEMENT = [
    ("seed", ()),
    ("seed", ("workers=2",)),
    ("seed", ("after_network_error=reconnect-same",)),
    ("seed", ("registration=every-miss",)),
    ("seed", ("transport=mapi-http",)),
    ("fix-no-notifications", ()),
    ("fix-run-as-user", ()),
]
BMC_DEPTH = 8


@pytest.mark.parametrize(("name", "sets"), AGREEMENT)
def test_agrees_with_bmc(name: str, sets: tuple[str, ...]) -> None:
    scenario, props, results = _check(name, *sets)
    system = build(scenario)
    for prop, result in zip(props, results):
        if result.verdict is Verdict.VIOLATED:
            _assert_lasso(scenario, prop, result)
            (other,) = bmc.check(system, [prop], Options(depth=len(result.trace or ())))
            assert other.verdict is Verdict.VIOLATED and other.depth == result.depth, (prop.name, other)
        else:
            assert result.verdict is Verdict.PROVED
            (other,) = bmc.check(system, [prop], Options(depth=BMC_DEPTH))
            assert other.verdict is Verdict.BOUNDED, (prop.name, other)


# --------------------------------------------------------------------------------------------
# Tiny systems with known answers, checked by a lasso checker written here from the definitions.


def _live(name: str, goal: Expr, fairness: tuple[str, ...], trigger: Expr = TRUE) -> Property:
    return Property(name, Kind.LIVENESS, name, "test", TRUE, (Obligation(trigger, goal, "goal"),), fairness)


def _spin() -> TransitionSystem:
    """x starts false; Set makes it true; Spin changes nothing (a self-loop, always enabled)."""
    x = var("x")
    return TransitionSystem(
        "spin",
        (Variable("x", boolean()),),
        not_(x),
        (Action("Set", (), not_(x), (("x", TRUE),)), Action("Spin", (), TRUE, ())),
    )


def _flip() -> TransitionSystem:
    """y flips for ever; Set (x := true) is enabled only while y holds: weak fairness does not force it."""
    x, y = var("x"), var("y")
    return TransitionSystem(
        "flip",
        (Variable("x", boolean()), Variable("y", boolean())),
        and_(not_(x), not_(y)),
        (Action("Flip", (), TRUE, (("y", not_(y)),)), Action("Set", (), and_(y, not_(x)), (("x", TRUE),))),
    )


def _stop() -> TransitionSystem:
    """x counts 0 -> 1 and stops there: a deadlock before x reaches 2."""
    x = var("x")
    return TransitionSystem(
        "stop", (Variable("x", int_range(0, 2)),), eq(x, 0), (Action("Step", (), le(x, 0), (("x", add(x, 1)),)),)
    )


def _ring() -> TransitionSystem:
    """p goes 0 -> 1, then 1 -> 2 -> 1 for ever: a trigger at p = 2 lies only on the loop."""
    p = var("p")
    return TransitionSystem(
        "ring",
        (Variable("p", int_range(0, 2)),),
        eq(p, 0),
        (
            Action("Start", (), eq(p, 0), (("p", Const(1)),)),
            Action("Cycle", (), le(1, p), (("p", ite(eq(p, 1), 2, 1)),)),
        ),
    )


def _toggles(symmetric: bool = False) -> TransitionSystem:
    """Two bits toggled by Toggle(p=1), Toggle(p=2); x is never set. A fair loop must toggle both."""
    actions = tuple(
        Action("Toggle", (("p", p),), TRUE, ((f"b[{p}]", not_(var(f"b[{p}]"))),)) for p in (1, 2)
    )
    return TransitionSystem(
        "toggles",
        (Variable("b[1]", boolean()), Variable("b[2]", boolean()), Variable("x", boolean())),
        and_(not_(var("b[1]")), not_(var("b[2]")), not_(var("x"))),
        actions,
        symmetry=(ProcessGroup((("b[1]",), ("b[2]",))),) if symmetric else (),
    )


def _symmetric_toggles() -> TransitionSystem:
    """The same, declaring the two bits interchangeable: the loop on the reduced graph closes only through
    the swap, and its lift must still toggle both bits."""
    return _toggles(symmetric=True)


TINY = [
    # system, property, expected verdict, length of the shortest violating lasso (0 if none)
    (_spin, _live("set-fair", var("x"), ("Set",)), Verdict.PROVED, 0),
    (_spin, _live("nothing-fair", var("x"), ()), Verdict.VIOLATED, 1),
    (_spin, _live("spin-fair", var("x"), ("Spin",)), Verdict.VIOLATED, 1),
    (_flip, _live("weak-only", var("x"), ("Flip", "Set")), Verdict.VIOLATED, 2),
    (_flip, _live("flip-only", var("x"), ("Flip",)), Verdict.VIOLATED, 2),
    (_stop, _live("reaches-2", eq(var("x"), 2), ("Step",)), Verdict.VIOLATED, 2),
    (_stop, _live("reaches-1", eq(var("x"), 1), ("Step",)), Verdict.PROVED, 0),
    (_stop, _live("triggered-at-1", FALSE, ("Step",), trigger=eq(var("x"), 1)), Verdict.VIOLATED, 2),
    (_ring, _live("on-loop", eq(var("p"), 0), ("Start", "Cycle"), trigger=eq(var("p"), 2)), Verdict.VIOLATED, 3),
    (_ring, _live("back-to-0", eq(var("p"), 0), ("Start", "Cycle"), trigger=eq(var("p"), 0)), Verdict.PROVED, 0),
    (_toggles, _live("both-toggle", var("x"), ("Toggle",)), Verdict.VIOLATED, 4),
    (_symmetric_toggles, _live("both-toggle", var("x"), ("Toggle",)), Verdict.VIOLATED, 4),
    (_toggles, _live("b1-eventually", var("b[1]"), ("Toggle",)), Verdict.PROVED, 0),
    (_toggles, _live("b1-unfair", var("b[1]"), ()), Verdict.VIOLATED, 2),
]


TINY_IDS = [f"{make.__name__}-{prop.name}" for make, prop, *_ in TINY]


@pytest.mark.parametrize(("make", "prop", "verdict", "shortest"), TINY, ids=TINY_IDS)
def test_tiny_systems(make, prop: Property, verdict: Verdict, shortest: int) -> None:  # type: ignore[no-untyped-def]
    system = make()
    for symmetry in (True, False):
        (result,) = explicit.check(system, [prop], Options(symmetry=symmetry))
        assert result.verdict is verdict, result
        (other,) = bmc.check(system, [prop], Options(depth=6))
        if verdict is Verdict.VIOLATED:
            assert result.trace is not None and fair_violating(system, prop, result.trace)
            assert len(result.trace) == shortest == other.depth, (result.trace, other)
        else:
            assert other.verdict is Verdict.BOUNDED


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 10).flatmap(lambda n: st.tuples(st.just(n), st.lists(st.tuples(st.integers(0, n - 1),
                                                                                     st.integers(0, n - 1))))))
def test_components_are_networkx_components(graph: tuple[int, list[tuple[int, int]]]) -> None:
    nodes, arcs = graph
    successors: dict[int, list[int]] = {node: [] for node in range(nodes)}
    for source, target in arcs:
        successors[source].append(target)
    reference = nx.DiGraph(arcs)
    reference.add_nodes_from(range(nodes))
    found = liveness.components(range(nodes), successors.__getitem__)
    assert sorted(map(sorted, found)) == sorted(map(sorted, nx.strongly_connected_components(reference)))


def test_greedy_loop_when_over_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the budget of the shortest-loop search, a greedy loop: still fair, said to be not always a shortest."""
    monkeypatch.setattr(liveness, "EXACT_BUDGET", 0)
    system, prop = _toggles(), _live("both-toggle", var("x"), ("Toggle",))
    (result,) = explicit.check(system, [prop], Options())
    assert result.verdict is Verdict.VIOLATED and result.trace is not None
    assert fair_violating(system, prop, result.trace) and "not always a shortest" in result.note
    scenario = load_builtin("re-register-on-miss")
    prop = instantiate("worker-requests-succeed", scenario)
    (result,) = explicit.check(build(scenario), [prop], Options())
    assert result.verdict is Verdict.VIOLATED
    _assert_lasso(scenario, prop, result)


def test_limits_give_unknown_or_a_sound_violation() -> None:
    scenario = load_builtin("fix-run-as-user")
    props = [instantiate(n, scenario) for n in LIVENESS]
    for result in explicit.check(build(scenario), props, Options(max_states=5)):
        assert result.verdict is Verdict.UNKNOWN and "state limit" in result.note
    for result in explicit.check(build(scenario), props, Options(max_depth=3)):
        assert result.verdict is Verdict.UNKNOWN and "depth bound" in result.note
    for result in explicit.check(build(scenario), props, Options(timeout=0.0)):
        assert result.verdict is Verdict.UNKNOWN
    # A violation among the states expanded before the limit is a real one, and replays.
    scenario = load_builtin("seed")
    props = [instantiate(n, scenario) for n in LIVENESS]
    for prop, result in zip(props, explicit.check(build(scenario), props, Options(max_states=12))):
        assert result.verdict in (Verdict.VIOLATED, Verdict.UNKNOWN)
        if result.verdict is Verdict.VIOLATED:
            _assert_lasso(scenario, prop, result)


def test_safety_and_liveness_together() -> None:
    """One call checks both kinds, each under symmetry reduction; order is kept."""
    scenario = load_builtin("multi-user")
    names = ["worker-requests-succeed", "worker-never-gets-network-error", "notifications-delivered"]
    props = [instantiate(n, scenario) for n in names]
    results = explicit.check(build(scenario), props, Options())
    assert [r.property for r in results] == names
    assert all(r.verdict is Verdict.VIOLATED for r in results)
    assert results[1].trace is not None and results[1].trace.loop is None


# --------------------------------------------------------------------------------------------
# Random small scenarios


@st.composite
def small_scenarios(draw: st.DrawFn) -> Scenario:
    workers = draw(st.sampled_from((1, 1, 1, 2)))
    users = ("alice", "bob")[: draw(st.integers(1, 2))]
    choices = {key: draw(st.sampled_from(values)) for key, values in CHOICES.items()}
    return Scenario(
        workers=workers,
        requests=1,
        users=users,
        worker_users=tuple(draw(st.sampled_from(users)) for _ in range(workers)),
        impersonate=draw(st.sampled_from((True, True, False))),
        process_identity=draw(st.sampled_from((SYSTEM, SYSTEM, *users))),
        connect_flags=draw(st.sampled_from((0, 0, 0x20))),
        server_async=draw(st.booleans()),
        **choices,
    )


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios(), st.sampled_from(LIVENESS))
def test_random_scenarios(scenario: Scenario, confirm: str) -> None:
    """Every explicit lasso replays on the simulator; where explicit proves ``confirm``, BMC finds no lasso
    within BMC_DEPTH steps (one property per example keeps the test fast; the draw covers both)."""
    system = build(scenario)
    props = [instantiate(n, scenario) for n in LIVENESS]
    for prop, result in zip(props, explicit.check(system, props, Options())):
        if result.verdict is Verdict.VIOLATED:
            _assert_lasso(scenario, prop, result)
            continue
        assert result.verdict is Verdict.PROVED, result
        if prop.name == confirm:
            (other,) = bmc.check(system, [prop], Options(depth=BMC_DEPTH))
            assert other.verdict is Verdict.BOUNDED, (scenario, other)


def test_labels_name_the_actions() -> None:
    """Steps carry the action instances' names, as in every other trace of the engine."""
    scenario, props, (delivered, _) = _check("seed")
    assert delivered.trace is not None
    labels = {call_label(a.name, a.params) for a in build(scenario).actions}
    assert all(step.label in labels or step.action == STUTTER for step in delivered.trace.steps)
