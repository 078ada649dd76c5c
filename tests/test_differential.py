"""Differential testing: on random small systems, bmc, kinduction, pdr, houdini and explicit never disagree.

Each drawn system has 1..3 variables (bool, small int ranges that may be negative, enums whose
members overlap), a random initial state, 1..4 actions with random guards and updates (some of
which leave their variable's domain), and a random safety property. An independent oracle over
``regcheck.core.expr.evaluate`` (no engine code) says whether the model is invalid (an enabled action
takes a variable out of its domain, from some state within every domain) and, if it is valid,
how far the nearest violating state is. Then: an invalid model is rejected by every engine with
InvalidModel; a valid one gets no two contradictory verdicts (``proved`` against ``violated``),
every counterexample is a shortest one and replays on the system, and an engine's decided
verdict agrees with the oracle.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Mapping

from hypothesis import event, given, settings
from hypothesis import strategies as st

from regcheck.core.crosscheck import disagreement
from regcheck.core.engines import Options, bmc, explicit, houdini, kinduction, pdr
from regcheck.core.expr import (
    Const,
    Expr,
    State,
    Value,
    add,
    and_,
    eq,
    evaluate,
    ite,
    le,
    mul,
    ne,
    not_,
    or_,
    var,
)
from regcheck.core.result import CheckResult, Trace, Verdict
from regcheck.core.system import Action, Domain, Kind, Property, TransitionSystem, Variable, boolean, enum, int_range
from regcheck.errors import InvalidModel

DEPTH = 6
"""The bound of bmc and the limit on k of kinduction."""
MEMBERS = ("a", "b", "c", "d")
"""Enum members: domains draw from the first three, so that "d" is in none of them."""

Engine = Callable[[TransitionSystem, Property], CheckResult]
ENGINES: dict[str, Engine] = {
    "bmc": lambda system, prop: bmc.check(system, [prop], Options(depth=DEPTH))[0],
    "kinduction": lambda system, prop: kinduction.check(system, [prop], Options(depth=DEPTH))[0],
    "pdr": lambda system, prop: pdr.check(system, [prop], Options(timeout=5))[0],  # Spacer may time out on x * y
    "explicit": lambda system, prop: explicit.check(system, [prop], Options())[0],
    "houdini": lambda system, prop: houdini.check(system, [prop], Options(timeout=5))[0],  # proved or unknown only
}


@st.composite
def domains(draw: st.DrawFn) -> Domain:
    """A bool, an int range of 1..4 values within -3..5, or an enum of 1..3 members."""
    kind = draw(st.sampled_from(("bool", "int", "enum")))
    if kind == "bool":
        return boolean()
    if kind == "int":
        low = draw(st.integers(-3, 2))
        return int_range(low, low + draw(st.integers(0, 3)))
    return enum(*draw(st.lists(st.sampled_from(MEMBERS[:3]), min_size=1, max_size=3, unique=True)))


def _of_kind(variables: Mapping[str, Domain], kind: str) -> list[str]:
    return [name for name, domain in variables.items() if domain.kind == kind]


def _leaf(draw: st.DrawFn, kind: str, variables: Mapping[str, Domain]) -> Expr:
    """A constant or a variable of sort ``kind``."""
    names = _of_kind(variables, kind)
    if names and not draw(st.booleans()):  # Hypothesis favours False: variables come first
        return var(draw(st.sampled_from(names)))
    if kind == "bool":
        return Const(draw(st.booleans()))
    if kind == "int":
        return Const(draw(st.integers(-3, 4)))
    return Const(draw(st.sampled_from(MEMBERS)))


def expression(draw: st.DrawFn, kind: str, variables: Mapping[str, Domain], depth: int) -> Expr:
    """A random well-typed expression of sort ``kind`` with at most ``depth`` levels of operators."""
    if depth == 0 or draw(st.integers(0, 3)) == 3:  # Hypothesis favours 0: operators come first
        return _leaf(draw, kind, variables)

    def sub(k: str) -> Expr:
        return expression(draw, k, variables, depth - 1)

    if kind == "int":
        choice = draw(st.sampled_from(("mul", "add", "scale", "mul", "ite")))
        if choice == "add":
            return add(sub("int"), sub("int"))
        if choice == "scale":
            return mul(sub("int"), Const(draw(st.sampled_from((-1, 2)))))
        if choice == "mul":
            return mul(sub("int"), sub("int"))
        return ite(sub("bool"), sub("int"), sub("int"))
    if kind == "enum":
        return ite(sub("bool"), sub("enum"), sub("enum"))
    choice = draw(st.sampled_from(("le", "not", "and", "or", "eq", "le", "ite")))
    if choice == "not":
        return not_(sub("bool"))
    if choice in ("and", "or"):
        return (and_ if choice == "and" else or_)(sub("bool"), sub("bool"))
    if choice == "eq":
        sort = draw(st.sampled_from(("bool", "int", "enum")))
        return eq(sub(sort), sub(sort))
    if choice == "le":
        return le(sub("int"), sub("int"))
    return ite(sub("bool"), sub("bool"), sub("bool"))


def update(draw: st.DrawFn, domain: Domain, variables: Mapping[str, Domain], depth: int) -> Expr:
    """A new value for a variable of ``domain``: its constants lie in it, other values may leave it."""
    if domain.kind == "bool":
        return expression(draw, "bool", variables, depth)
    choices = ("count", "step", "ite", "constant", "variable") if depth else ("constant", "variable")
    choice = draw(st.sampled_from(choices))
    names = _of_kind(variables, domain.kind)
    if choice == "constant" or not names:
        return Const(draw(st.sampled_from(domain.values())))
    if choice == "variable" or domain.kind == "enum" and choice in ("count", "step"):
        return var(draw(st.sampled_from(names)))
    if choice == "count":  # one up, round to the bottom at the top (in the domain if the counter's is in it)
        assert domain.high is not None
        counter = var(draw(st.sampled_from(names)))
        return ite(le(counter, domain.high - 1), add(counter, 1), Const(domain.low))
    if choice == "step":
        return add(var(draw(st.sampled_from(names))), expression(draw, "int", variables, depth - 1))
    cond = expression(draw, "bool", variables, depth - 1)
    return ite(cond, update(draw, domain, variables, depth - 1), update(draw, domain, variables, depth - 1))


@st.composite
def systems(draw: st.DrawFn) -> tuple[TransitionSystem, dict[str, Value], Property]:
    """A random small system, its initial state, and a safety property of it."""
    variables = {f"v[{i}]": draw(domains()) for i in range(draw(st.integers(1, 4)))}
    initial = {name: draw(st.sampled_from(domain.values())) for name, domain in variables.items()}
    actions = []
    for index in range(draw(st.integers(1, 4))):
        targets = draw(st.lists(st.sampled_from(sorted(variables)), min_size=1, max_size=len(variables), unique=True))
        guard = expression(draw, "bool", variables, 2)
        updates = tuple((t, update(draw, variables[t], variables, 2)) for t in targets)
        actions.append(Action(f"A{index}", (), guard, updates))
    system = TransitionSystem(
        "random",
        tuple(Variable(name, domain) for name, domain in variables.items()),
        and_(*(eq(var(name), value) for name, value in initial.items())),
        tuple(actions),
    )
    formula = expression(draw, "bool", variables, 2) if draw(st.integers(0, 2)) == 2 else Const(True)
    if isinstance(formula, Const):
        formula = _never(draw, variables, initial)
    return system, initial, Property("random", Kind.SAFETY, "a random property", "test", formula)


def _never(draw: st.DrawFn, variables: Mapping[str, Domain], initial: Mapping[str, Value]) -> Expr:
    """"These values are never reached together", for values other than the initial ones when the
    first variable allows it: such violations, if any, lie beyond the initial state."""
    chosen = draw(st.lists(st.sampled_from(sorted(variables)), min_size=1, unique=True))
    values = [draw(st.sampled_from(variables[n].values())) for n in chosen]
    others = [v for v in variables[chosen[0]].values() if v != initial[chosen[0]]]
    if others:
        values[0] = draw(st.sampled_from(others))
    return not_(and_(*(eq(var(n), v) for n, v in zip(chosen, values))))


def _successor(action: Action, state: State) -> dict[str, Value]:
    """The state after ``action`` (updates evaluated in the state before the step)."""
    return {**state, **{target: evaluate(value, state) for target, value in action.updates}}


def leaves_a_domain(system: TransitionSystem) -> bool:
    """Some action, enabled in some state within every domain, takes a variable out of its domain."""
    domains = system.domains
    for values in itertools.product(*(v.domain.values() for v in system.variables)):
        state = dict(zip(system.names, values))
        for action in system.actions:
            if evaluate(action.guard, state) and any(
                not domains[target].contains(value) for target, value in _successor(action, state).items()
            ):
                return True
    return False


def nearest_violation(system: TransitionSystem, initial: State, formula: Expr) -> int | None:
    """The distance of the nearest reachable state violating ``formula`` (breadth-first), or None."""
    key = tuple(sorted(initial.items()))
    distance = {key: 0}
    queue = deque([dict(initial)])
    while queue:
        state = queue.popleft()
        here = distance[tuple(sorted(state.items()))]
        if not evaluate(formula, state):
            return here
        for action in system.actions:
            if evaluate(action.guard, state):
                successor = _successor(action, state)
                key = tuple(sorted(successor.items()))
                if key not in distance:
                    distance[key] = here + 1
                    queue.append(successor)
    return None


def replay_problem(system: TransitionSystem, initial: State, formula: Expr, trace: Trace) -> str | None:
    """Why ``trace`` is not an execution of ``system`` ending in a state violating ``formula``; None if it is."""
    if dict(trace.states[0]) != dict(initial):
        return f"it starts in {dict(trace.states[0])}, not in the initial state"
    for index, step in enumerate(trace.steps):
        action = system.action(step.label)
        before, after = trace.states[index], trace.states[index + 1]
        if not evaluate(action.guard, before):
            return f"step {index + 1}, {step.label}, is not enabled"
        if dict(after) != _successor(action, before):
            return f"step {index + 1}, {step.label}, does not lead to {dict(after)}"
    if evaluate(formula, trace.states[-1]):
        return "its last state satisfies the property"
    return None


def disagreements(
    system: TransitionSystem, initial: State, prop: Property, results: Mapping[str, CheckResult]
) -> list[str]:
    """Every way the engines' results contradict each other, the oracle, or the system itself."""
    found = [
        problem
        for a, b in itertools.combinations(sorted(results), 2)
        if (problem := disagreement(results[a], results[b])) is not None
    ]
    nearest = nearest_violation(system, initial, prop.formula)
    for name, result in results.items():
        if "internal error" in result.note:
            found.append(f"{name}: {result.note}")
        if result.verdict is Verdict.VIOLATED:
            assert result.trace is not None
            if nearest is None or len(result.trace) != nearest:
                found.append(f"{name}: a {len(result.trace)}-step counterexample, the nearest violation is {nearest}")
            problem = replay_problem(system, initial, prop.formula, result.trace)
            if problem:
                found.append(f"{name}: the counterexample does not replay: {problem}")
        elif result.verdict is Verdict.PROVED and nearest is not None:
            found.append(f"{name}: proved, but a violation is {nearest} steps away")
        elif result.verdict is Verdict.BOUNDED and nearest is not None and nearest <= (result.depth or 0):
            found.append(f"{name}: bounded to {result.depth} steps, but a violation is {nearest} steps away")
    for name in ("explicit", "bmc"):  # these two always decide small systems
        if results[name].verdict is Verdict.UNKNOWN:
            found.append(f"{name}: unknown ({results[name].note})")
    return found


def _rejections(system: TransitionSystem, prop: Property) -> list[str]:
    """The engines that do not reject an invalid model with InvalidModel."""
    accepted = []
    for name, run in ENGINES.items():
        try:
            result = run(system, prop)
        except InvalidModel:
            continue
        accepted.append(f"{name} accepted an update out of its domain and said {result.verdict.value}")
    return accepted


@settings(max_examples=300, deadline=None)
@given(systems())
def test_engines_never_disagree(drawn: tuple[TransitionSystem, dict[str, Value], Property]) -> None:
    system, initial, prop = drawn
    if leaves_a_domain(system):
        event("invalid model: rejected by every engine")
        assert _rejections(system, prop) == []
        return
    results = {name: run(system, prop) for name, run in ENGINES.items()}
    event(f"valid model: explicit says {results['explicit'].verdict.value}")
    for name in ("kinduction", "pdr", "houdini"):
        event(f"{name} says {results[name].verdict.value}")
    assert results["houdini"].verdict in (Verdict.PROVED, Verdict.UNKNOWN)  # a dropped candidate is no counterexample
    assert disagreements(system, initial, prop, results) == []


def test_the_oracle_on_a_known_system() -> None:
    """The oracle itself: a counter that leaves 0..1 is invalid; kept in range, its violation is 1 step away."""
    x = var("x")
    leaving = TransitionSystem(
        "t", (Variable("x", int_range(0, 1)),), eq(x, 0), (Action("A", (), Const(True), (("x", add(x, 1)),)),)
    )
    assert leaves_a_domain(leaving)
    staying = TransitionSystem(
        "t", (Variable("x", int_range(0, 1)),), eq(x, 0), (Action("A", (), le(x, 0), (("x", add(x, 1)),)),)
    )
    assert not leaves_a_domain(staying)
    assert nearest_violation(staying, {"x": 0}, ne(x, 1)) == 1
    assert nearest_violation(staying, {"x": 0}, ne(x, 2)) is None
    assert _rejections(leaving, Property("p", Kind.SAFETY, "", "", ne(x, 1))) == []
