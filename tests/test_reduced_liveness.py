"""Liveness on the symmetry-reduced graph: the same verdicts as the unreduced search, and lassos that replay.

The explicit engine searches fair loops on the quotient by symmetry (``regcheck.core.engines.liveness``,
NOTE(fair-quotient)); ``Options(symmetry=False)`` searches the unreduced graph. Both must give the same
verdict on every property, and the same (shortest) lasso length; every lasso found on the quotient is a
concrete execution that replays on the reference simulator with its own account of fairness.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regcheck.core.compile import compile_system
from regcheck.core.engines import Options, explicit, liveness
from regcheck.core.explore import StateGraph, explore
from regcheck.core.expr import TRUE, Const, Expr, and_, eq, ite, ne, not_, or_, var
from regcheck.core.result import CheckResult, Verdict
from regcheck.core.symmetry import SymmetryGroup, reduction
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
from regcheck.model.scenario import Scenario, builtin_names, load_builtin, with_overrides
from regcheck.model.system import build
from regcheck.properties.catalogue import instantiate
from tests.lassos import LIVENESS, fair_violating
from tests.strategies import resized, scenarios


def _both(system: TransitionSystem, props: list[Property], **limits: int) -> tuple[list[CheckResult], ...]:
    return (explicit.check(system, props, Options(**limits)),  # type: ignore[arg-type]
            explicit.check(system, props, Options(symmetry=False, **limits)))  # type: ignore[arg-type]


def _agree(reduced: CheckResult, unreduced: CheckResult) -> None:
    """The same verdict; for a violation, lassos of the same length (each a shortest one)."""
    assert reduced.verdict is unreduced.verdict, (reduced, unreduced)
    if reduced.verdict is Verdict.VIOLATED:
        assert reduced.trace is not None and unreduced.trace is not None
        assert len(reduced.trace) == len(unreduced.trace) == reduced.depth, (reduced.note, unreduced.note)
        assert ("a shortest fair lasso" in reduced.note) == ("a shortest fair lasso" in unreduced.note)


def _replays(scenario: Scenario, prop: Property, result: CheckResult) -> None:
    trace = result.trace
    assert trace is not None and trace.loop is not None and trace.states[-1] == trace.states[trace.loop]
    report = replay(scenario, trace, prop.name)
    assert report.ok, report


def _reduced(system: TransitionSystem) -> bool:
    """Does the system declare a symmetry the reduction uses?"""
    return reduction(system, compile_system(system).layout, []).canonical is not None


# --------------------------------------------------------------------------------------------
# The built-in scenarios with 2 and 3 workers

HEAVY = {"service-account", "session-cache", "re-register-on-miss"}  # 3 workers: several seconds unreduced
BUILTINS = [
    pytest.param(name, tuple(resized(load_builtin(name), workers)), marks=[pytest.mark.slow] if workers == 3 and name in HEAVY else [],
                 id=f"{name}-{workers}")
    for name in builtin_names() for workers in (2, 3)
]
NAMED = [  # named groups: users swapped with their workers, so value permutations are elements too
    pytest.param("multi-user", sets, id="multi-user-" + "-".join(sets))
    for sets in (
        ("workers=4", "worker_users=alice,bob,alice,bob"),
        ("workers=4", "worker_users=alice,bob,alice,bob", "impersonate=false", "process_identity=SYSTEM"),
        ("workers=3", "users=alice,bob,carol", "worker_users=alice,bob,carol"),
    )
]


@pytest.mark.parametrize(("name", "sets"), BUILTINS + NAMED)
def test_builtin_scenarios_agree(name: str, sets: tuple[str, ...]) -> None:
    scenario = with_overrides(load_builtin(name), list(sets))
    system = build(scenario)
    props = [instantiate(n, scenario) for n in LIVENESS]
    reduced, unreduced = _both(system, props)
    for prop, mine, theirs in zip(props, reduced, unreduced):
        _agree(mine, theirs)
        if mine.verdict is Verdict.VIOLATED:
            _replays(scenario, prop, mine)
        else:
            assert mine.verdict is Verdict.PROVED and mine.evidence is not None
            assert mine.evidence["symmetry"].startswith("on") == _reduced(system), mine.evidence["symmetry"]
            assert mine.evidence["states"] == _states(system, reduced=True)
            assert theirs.evidence is not None and theirs.evidence["symmetry"] == "off (not requested)"
            assert theirs.evidence["states"] == _states(system, reduced=False)


def _states(system: TransitionSystem, *, reduced: bool) -> int:
    """Reachable states, one per orbit if ``reduced`` (the safety search's reduction)."""
    compiled = compile_system(system)
    canonical = reduction(system, compiled.layout, []).canonical if reduced else None
    return len(explore(compiled, max_states=10**7, canonical=canonical).states)


# Reachable states of the reduced liveness graph, pinned: (workers, reduced states, transitions, unreduced states).
PINNED = [(3, 1140, 6650, 5832), (4, 5985, 46550, 104976)]


@pytest.mark.parametrize(("workers", "states", "transitions", "unreduced"), PINNED)
def test_pinned_reduced_liveness_graph(workers: int, states: int, transitions: int, unreduced: int) -> None:
    """fix-run-as-user proves both liveness properties on the quotient: one state per orbit of the unreduced graph."""
    scenario = with_overrides(load_builtin("fix-run-as-user"), [f"workers={workers}"])
    props = [instantiate(n, scenario) for n in LIVENESS]
    for result in explicit.check(build(scenario), props, Options()):
        assert result.verdict is Verdict.PROVED and result.evidence is not None
        assert (result.evidence["states"], result.evidence["transitions"]) == (states, transitions)
        assert result.evidence["symmetry"] == (
            f"on: groups of {workers} interchangeable processes (group order {6 if workers == 3 else 24})"
            + liveness.REDUCED
        )
    if workers == 3:
        for result in explicit.check(build(scenario), props, Options(symmetry=False)):
            assert result.verdict is Verdict.PROVED and result.evidence["states"] == unreduced


# --------------------------------------------------------------------------------------------
# Random scenarios over every switch


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_random_scenarios_agree(scenario: Scenario) -> None:
    system = build(scenario)
    props = [instantiate(n, scenario) for n in LIVENESS]
    reduced, unreduced = _both(system, props, max_states=100_000)
    for prop, mine, theirs in zip(props, reduced, unreduced):
        if Verdict.UNKNOWN in (mine.verdict, theirs.verdict):  # too large unreduced: nothing to compare
            assert theirs.verdict is Verdict.UNKNOWN
            continue
        _agree(mine, theirs)
        if mine.verdict is Verdict.VIOLATED:
            _replays(scenario, prop, mine)


# --------------------------------------------------------------------------------------------
# Random systems of interchangeable processes: the frames of the quotient at work


@st.composite
def symmetric_systems(draw: st.DrawFn) -> tuple[TransitionSystem, Property]:
    """2 or 3 processes with locals a[p] in 0..2 and b[p], a shared g in 0..1, and 1 to 3 action templates
    whose guards read the process's locals, g, and whether some other process has a given a, and which may
    also set the other processes' a (handing a role over); a liveness property with one obligation per
    process (or one over g only) and weak fairness on some templates."""
    count = draw(st.integers(2, 3))
    ps = range(1, count + 1)
    seed = draw(st.integers(0, 2**32 - 1))
    rnd = random.Random(seed)

    def atom(p: int) -> Expr:
        kind = rnd.randrange(6)
        if kind == 0:
            return eq(var(f"a[{p}]"), rnd.randrange(3))
        if kind == 1:
            return var(f"b[{p}]")
        if kind == 2:
            return not_(var(f"b[{p}]"))
        if kind == 3:
            return eq(var("g"), rnd.randrange(2))
        if kind == 4:
            k = rnd.randrange(3)
            return or_(*(eq(var(f"a[{q}]"), k) for q in ps if q != p))
        return ne(var(f"a[{p}]"), rnd.randrange(3))

    templates = []
    for t in range(rnd.randint(1, 3)):
        guard_atoms = [rnd.randrange(2**16) for _ in range(rnd.randint(1, 2))]
        conjunctive = rnd.random() < 0.7
        targets = [rnd.choice("ab"), *(["g"] if rnd.random() < 0.4 else [])]  # a local: instances differ
        values = {x: (rnd.randrange(2**16), rnd.randrange(3), rnd.randrange(3), rnd.random() < 0.5) for x in targets}
        others = (rnd.randrange(2**16), rnd.randrange(3)) if rnd.random() < 0.3 else None  # hand over to the others
        templates.append((f"T{t}", guard_atoms, conjunctive, values, others))

    def instantiate_atom(p: int, seed: int) -> Expr:
        state = rnd.getstate()
        rnd.seed(seed)
        got = atom(p)
        rnd.setstate(state)
        return got

    actions = []
    for name, guard_atoms, conjunctive, values, others in templates:
        for p in ps:
            parts = [instantiate_atom(p, s) for s in guard_atoms]
            guard = and_(*parts) if conjunctive else or_(*parts)
            updates: list[tuple[str, Expr]] = []
            for x, (cond, one, other, conditional) in values.items():
                target = "g" if x == "g" else f"{x}[{p}]"
                if x == "b":
                    value: Expr = not_(var(target)) if conditional else Const(one % 2 == 0)
                else:
                    high = 2 if x == "a" else 1
                    value = ite(instantiate_atom(p, cond), min(one, high), min(other, high)) if conditional \
                        else Const(min(one, high))
                updates.append((target, value))
            if others is not None:
                cond, constant = others
                updates += [(f"a[{q}]", ite(instantiate_atom(p, cond), constant, var(f"a[{q}]"))) for q in ps if q != p]
            actions.append(Action(name, (("p", p),), guard, tuple(updates)))
    variables = [v for p in ps for v in (Variable(f"a[{p}]", int_range(0, 2)), Variable(f"b[{p}]", boolean()))]
    variables.append(Variable("g", int_range(0, 1)))
    init = and_(*(and_(eq(var(f"a[{p}]"), 0), not_(var(f"b[{p}]"))) for p in ps), eq(var("g"), 0))
    system = TransitionSystem("symmetric", tuple(variables), init, tuple(actions),
                              symmetry=(ProcessGroup(tuple((f"a[{p}]", f"b[{p}]") for p in ps)),))
    trigger_seed, goal_seed, triggered = rnd.randrange(2**16), rnd.randrange(2**16), rnd.random() < 0.5
    if draw(st.booleans()):
        obligations = tuple(
            Obligation(instantiate_atom(p, trigger_seed) if triggered else TRUE,
                       instantiate_atom(p, goal_seed), f"process {p}") for p in ps
        )
    else:
        obligations = (Obligation(TRUE, eq(var("g"), 1), "g"),)
    fair = tuple(name for name, *_ in templates if draw(st.booleans()))
    return system, Property("drawn", Kind.LIVENESS, "drawn", "test", TRUE, obligations, fair)


def _taken(full: StateGraph, members: list[int]) -> list[int]:
    """The actions of the component's edges that stay inside it."""
    inside = set(members)
    return [a for n in members for a, t in full.edges[n] if t in inside]


def _covered(full: StateGraph, members: list[int], taken: list[int], fair: int) -> int:
    """The fair actions the component witnesses: disabled at one of its states, or taken on one of its edges."""
    covered = 0
    for n in members:
        covered |= fair & ~full.enabled[n]
    for a in taken:
        covered |= fair & 1 << a
    return covered


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(symmetric_systems())
def test_random_symmetric_systems_agree(drawn: tuple[TransitionSystem, Property]) -> None:
    system, prop = drawn
    (mine,), (theirs,) = _both(system, [prop])
    _agree(mine, theirs)
    if mine.verdict is Verdict.VIOLATED:
        assert mine.trace is not None and fair_violating(system, prop, mine.trace)
    else:
        assert mine.evidence is not None and mine.evidence["symmetry"].endswith(liveness.REDUCED)
    _fair_components_are_the_images_of_fair_concrete_ones(system, prop)


def _fair_components_are_the_images_of_fair_concrete_ones(system: TransitionSystem, prop: Property) -> None:
    """The premise of the reduced search, checked directly: a cyclic component of the quotient passes its
    fairness test iff a strongly connected component of the unreduced graph that maps into it is fair."""
    compiled = compile_system(system)
    group = SymmetryGroup(system, compiled.layout)
    quotient = liveness.Quotient(explore(compiled, max_states=10_000, frame=group.frame), group)
    full = explore(compiled, max_states=100_000, keep_edges=True)
    fair = sum(1 << i for i in prop.fair_actions(system))
    of = {node: index for index, members in enumerate(quotient.components()) for node in members}
    expected: set[int] = set()
    for members in liveness.components(range(len(full.states)), lambda n: [t for _, t in full.edges[n]]):
        taken = _taken(full, members)
        if not taken:
            continue
        images = {of[quotient.graph.index[group.canonical(full.states[n])]] for n in members}
        assert len(images) == 1
        if _covered(full, members, taken, fair) == fair:
            expected |= images
    candidates, _ = quotient.candidates(fair, liveness.Search())
    cyclic = {of[members[0]] for members in candidates if len(members) > 1 or quotient.graph.enabled[members[0]]}
    assert cyclic == expected

    # The same on the graph of pairs, for each orbit of obligations: the fair components of goal-false
    # pairs are exactly the images of the fair components of goal-false states for the orbit's first member.
    done: set[object] = set()
    for obligation in prop.obligations:
        orbit = group.orbit((obligation.trigger, obligation.goal))
        if any(key in done for key in orbit.keys):
            continue
        done.update(orbit.keys)
        pairs = liveness.Pairs(quotient, orbit)
        found = liveness.fair_pair_components(pairs, fair, candidates, liveness.Search())
        goal = compiled.predicate(orbit.members[0][1])
        unmet = {n for n, state in enumerate(full.states) if not goal(state)}
        images: set[frozenset[int]] = set()
        def within(n: int, unmet: set[int] = unmet) -> list[int]:
            return [t for _, t in full.edges[n] if t in unmet]

        for members in liveness.components(sorted(unmet), within):
            taken = _taken(full, members)
            if not taken and full.enabled[members[0]]:
                continue
            if _covered(full, members, taken, fair) == fair:
                image = set()
                for n in members:
                    kept, element = group.frame(full.states[n])
                    t = quotient.graph.index[kept]
                    member, _ = pairs.canonical(t, orbit.representation.images(element)[0])
                    image.add(t * pairs.m + member)
                images.add(frozenset(image))
        assert images == {frozenset(component) for component, _ in found}


# --------------------------------------------------------------------------------------------
# Why the permutations matter, and when the search falls back to the unreduced graph


def _cycler() -> TransitionSystem:
    """Two processes at s = 2. The first to Cycle (1 -> 2 -> 3 -> 1) owns the cycle for ever; the other may
    only Exit (s := 0), which stays enabled while it waits. A block is (mine, s), so the waiting process's
    word (s = 2, not mine) lies between the cycler's words: the quotient swaps the two as the cycler turns."""
    actions = []
    for p in (1, 2):
        s, mine = var(f"s[{p}]"), var(f"mine[{p}]")
        turn = ite(eq(s, 3), 1, ite(eq(s, 1), 2, 3))
        actions += [
            Action("Cycle", (("p", p),), and_(or_(mine, not_(var("busy"))), ne(s, 0)),
                   ((f"s[{p}]", turn), ("busy", TRUE), (f"mine[{p}]", TRUE))),
            Action("Exit", (("p", p),), and_(eq(s, 2), not_(mine)), ((f"s[{p}]", Const(0)),)),
        ]
    variables = tuple(v for p in (1, 2) for v in (Variable(f"mine[{p}]", boolean()), Variable(f"s[{p}]", int_range(0, 3))))
    init = and_(*(and_(eq(var(f"s[{p}]"), 2), not_(var(f"mine[{p}]"))) for p in (1, 2)), not_(var("busy")))
    return TransitionSystem("cycler", (*variables, Variable("busy", boolean())), init, tuple(actions),
                            symmetry=(ProcessGroup(tuple((f"mine[{p}]", f"s[{p}]") for p in (1, 2))),))


def _waits(goal: str) -> Property:
    """Every process eventually exits (``exit``) or exits or owns the cycle (``exit-or-own``); Exit is fair."""
    def met(p: int) -> Expr:
        done = eq(var(f"s[{p}]"), 0)
        return done if goal == "exit" else or_(done, var(f"mine[{p}]"))

    obligations = tuple(Obligation(TRUE, met(p), f"process {p}") for p in (1, 2))
    return Property(goal, Kind.LIVENESS, goal, "test", TRUE, obligations, ("Exit",))


def test_fairness_is_read_through_the_frames() -> None:
    """The component where one process cycles and the other waits has, in the quotient's own labels, a
    disabled Exit at both positions, yet its concrete lift keeps the waiting process's Exit enabled: unfair."""
    system = _cycler()
    (own,), (theirs,) = _both(system, [_waits("exit-or-own")])
    assert own.verdict is theirs.verdict is Verdict.PROVED
    assert own.evidence is not None and own.evidence["symmetry"].endswith(liveness.REDUCED)
    (own,), (theirs,) = _both(system, [_waits("exit")])  # the cycler never exits: a fair loop once the other has
    _agree(own, theirs)
    assert own.verdict is Verdict.VIOLATED and own.trace is not None
    assert fair_violating(system, _waits("exit"), own.trace)

    compiled = compile_system(system)
    group = SymmetryGroup(system, compiled.layout)
    quotient = liveness.Quotient(explore(compiled, max_states=100, frame=group.frame), group)
    graph, fair = quotient.graph, sum(1 << i for i in _waits("exit").fair_actions(system))
    candidates, _ = quotient.candidates(fair, liveness.Search())
    waiting = [members for members in quotient.components() if len(members) > 1
               and any(graph.compiled.state(graph.states[c])["s[1]"] == 2 for c in members)]
    assert len(waiting) == 1 and waiting[0] not in candidates
    (members,) = waiting
    blind = 0  # the quotient's labels read without their permutations
    for c in members:
        blind |= fair & ~graph.enabled[c]
        blind |= sum(fair & 1 << quotient.split(code)[0] for code, t in graph.edges[c] if t in members)
    assert blind == fair


def _relay() -> tuple[TransitionSystem, Property]:
    """Two processes at s = 2; Begin makes one 0 and the other 1. Act(p) at s[p] = 0 hands over (s[p] := 1,
    the other's := 0); at s[p] = 1 it ends everything (done). Alternating Acts never end: a fair loop."""
    actions = []
    for p, q in ((1, 2), (2, 1)):
        mine, other = var(f"s[{p}]"), var(f"s[{q}]")
        ahead = eq(mine, 0)
        actions += [
            Action("Begin", (("p", p),), and_(eq(mine, 2), eq(other, 2)),
                   ((f"s[{p}]", Const(0)), (f"s[{q}]", Const(1)))),
            Action("Act", (("p", p),), and_(ne(mine, 2), not_(var("done"))),
                   ((f"s[{p}]", ite(ahead, 1, mine)), (f"s[{q}]", ite(ahead, 0, other)),
                    ("done", ite(ahead, var("done"), TRUE)))),
        ]
    variables = (Variable("s[1]", int_range(0, 2)), Variable("s[2]", int_range(0, 2)), Variable("done", boolean()))
    init = and_(eq(var("s[1]"), 2), eq(var("s[2]"), 2), not_(var("done")))
    system = TransitionSystem("relay", variables, init, tuple(actions),
                              symmetry=(ProcessGroup((("s[1]",), ("s[2]",))),))
    return system, Property("ends", Kind.LIVENESS, "", "test", TRUE, (Obligation(TRUE, var("done"), "done"),), ("Act",))


def test_the_loop_group_closes_the_witnesses() -> None:
    """On the quotient the relay is one state with a self-loop, Act of the process at 0, whose successor is
    the same state with the processes swapped; the other Act is enabled there and leads out. Read in one
    frame only one Act is taken; the swap that closes the loop maps it to the other: a fair loop."""
    system, prop = _relay()
    (own,), (theirs,) = _both(system, [prop])
    _agree(own, theirs)
    assert own.verdict is Verdict.VIOLATED and own.trace is not None and fair_violating(system, prop, own.trace)
    assert {step.label for step in own.trace.steps[own.trace.loop or 0:]} == {"Act(p=1)", "Act(p=2)"}


def _toggles(*goals: str) -> tuple[TransitionSystem, Property]:
    actions = tuple(Action("Toggle", (("p", p),), TRUE, ((f"b[{p}]", not_(var(f"b[{p}]"))),)) for p in (1, 2))
    system = TransitionSystem(
        "toggles", (Variable("b[1]", boolean()), Variable("b[2]", boolean())),
        and_(not_(var("b[1]")), not_(var("b[2]"))), actions, symmetry=(ProcessGroup((("b[1]",), ("b[2]",))),),
    )
    obligations = tuple(Obligation(TRUE, var(g), g) for g in goals)
    return system, Property("set", Kind.LIVENESS, "", "test", TRUE, obligations, ())


def test_obligations_not_closed_under_the_symmetry_are_searched_unreduced() -> None:
    """One obligation for b[1] alone is not permuted among the property's obligations: the unreduced graph."""
    system, prop = _toggles("b[1]")
    (result,) = explicit.check(system, [prop], Options())
    assert result.verdict is Verdict.VIOLATED and result.trace is not None and fair_violating(system, prop, result.trace)
    system, closed = _toggles("b[1]", "b[2]")
    (other,) = explicit.check(system, [closed], Options())
    assert other.verdict is Verdict.VIOLATED and other.depth == result.depth
    assert other.trace is not None and fair_violating(system, closed, other.trace)
    assert other.note.split(" is never met")[0] in {"b[1]", "b[2]"}
    compiled = compile_system(system)
    group = SymmetryGroup(system, compiled.layout)
    assert liveness.symmetric_obligations(group, closed) and not liveness.symmetric_obligations(group, prop)


def test_proofs_say_which_graph_they_searched() -> None:
    system, _ = _toggles()
    always = Property("vacuous", Kind.LIVENESS, "", "test", TRUE, (Obligation(TRUE, TRUE, "t"),), ("Toggle",))
    (on,) = explicit.check(system, [always], Options())
    (off,) = explicit.check(system, [always], Options(symmetry=False))
    assert on.evidence is not None and off.evidence is not None
    assert on.evidence["symmetry"].startswith("on") and on.evidence["states"] == 3
    assert off.evidence["symmetry"] == "off (not requested)" and off.evidence["states"] == 4
    either = or_(var("b[1]"), not_(var("b[1]")))  # true, but not symmetric as written
    one_sided = Property("one", Kind.LIVENESS, "", "test", TRUE, (Obligation(TRUE, either, "t"),), ())
    (fallback,) = explicit.check(system, [one_sided], Options())
    assert fallback.verdict is Verdict.PROVED and fallback.evidence is not None
    assert fallback.evidence["symmetry"] == "off: the symmetry does not permute the obligations among themselves"
    assert fallback.evidence["states"] == 4


def test_greedy_loop_on_the_lift_when_over_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the budget of the shortest-loop search the lift's loop is greedy: still fair, still concrete,
    said to be not always a shortest."""
    monkeypatch.setattr(liveness, "EXACT_BUDGET", 0)
    system, _ = _toggles()
    both = Property("both", Kind.LIVENESS, "", "test", TRUE, (Obligation(TRUE, FALSE_GOAL, "x"),), ("Toggle",))
    (result,) = explicit.check(system, [both], Options())
    assert result.verdict is Verdict.VIOLATED and result.trace is not None
    assert fair_violating(system, both, result.trace) and "not always a shortest" in result.note
    assert result.note.startswith("x is never met")
    assert {step.label for step in result.trace.steps[result.trace.loop or 0:]} == {"Toggle(p=1)", "Toggle(p=2)"}
    scenario = with_overrides(load_builtin("seed"), ["workers=2"])
    props = [instantiate(n, scenario) for n in LIVENESS]
    for prop, found in zip(props, explicit.check(build(scenario), props, Options())):
        assert found.verdict is Verdict.VIOLATED and "not always a shortest" in found.note
        _replays(scenario, prop, found)


FALSE_GOAL = and_(*(and_(var(b), not_(var(b))) for b in ("b[1]", "b[2]")))  # never met, and symmetric


# --------------------------------------------------------------------------------------------
# The group's elements: frames, and their action on states and action instances

GROUPS = [
    ("fix-run-as-user", ("workers=3",)),
    ("multi-user", ("workers=4", "worker_users=alice,bob,alice,bob")),
    ("multi-user", ("workers=3", "users=alice,bob,carol", "worker_users=alice,bob,carol")),
    ("session-cache", ()),
]


@pytest.mark.parametrize(("name", "sets"), GROUPS)
def test_frames_map_states_to_their_representatives(name: str, sets: tuple[str, ...]) -> None:
    """``frame`` is ``canonical`` with the element reaching it; elements map transitions to transitions,
    with the image of the action instance (same name), and compose as permutations do."""
    system = build(with_overrides(load_builtin(name), list(sets)))
    compiled = compile_system(system)
    canonical = reduction(system, compiled.layout, []).canonical
    assert canonical is not None
    group = SymmetryGroup(system, compiled.layout)
    graph = explore(compiled, max_states=20_000)
    for state in graph.states:
        kept, element = group.frame(state)
        assert kept == canonical(state) == group.apply(element, state)
    actions, rnd = group.actions(), random.Random(7)
    elements = range(len(group._perms))
    for state in rnd.sample(graph.states, 100):
        for element in rnd.sample(elements, min(4, len(elements))):
            image, moved = actions.images(element), group.apply(element, state)
            assert dict(compiled.steps(moved)) == {image[a]: group.apply(element, t) for a, t in compiled.steps(state)}
            assert all(system.actions[image[a]].name == system.actions[a].name for a in range(len(image)))
            other = rnd.choice(elements)
            both = group.compose(element, other)
            assert group.apply(both, state) == group.apply(element, group.apply(other, state))
            assert actions.images(both) == tuple(image[x] for x in actions.images(other))
            assert group.apply(group.inverse(element), moved) == state
        fixed = canonical(state)
        assert all(group.apply(g, fixed) == fixed for g in group.stabilizer(fixed))
