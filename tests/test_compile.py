"""Compiled evaluation (regcheck/core/compile.py) must equal the reference evaluator, value for value and type for type."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regcheck.core.compile import Layout, compile_expr, compile_system
from regcheck.core.expr import Add, And, Const, Eq, Expr, Ite, Le, Mul, Not, Or, Var, add, evaluate, var
from regcheck.core.system import Action, ProcessGroup, TransitionSystem, Variable, boolean, enum, int_range
from regcheck.errors import InvalidModel
from regcheck.model.scenario import Scenario
from regcheck.model.system import build
from tests.strategies import scenarios

ODD = "x') or True or ('"
"""An enum member that would be code if it were ever spelled into generated source."""

VARIABLES = (
    Variable("b1", boolean()),
    Variable("b2", boolean()),
    Variable("i1", int_range(0, 3)),
    Variable("i2", int_range(-2, 2)),
    Variable("e1", enum("a", "b", ODD)),
    Variable("e2", enum("a", "b", ODD)),
    Variable("e3", enum("b", "c", "d", "e", "f")),
)
SYSTEM_UNDER_TEST = TransitionSystem(
    "expressions",
    VARIABLES,
    Eq(Var("b1"), Const(False)),
    (),
    symmetry=(ProcessGroup((("e1",), ("e2",))),),  # e1 and e2 get words of their own
)
LAYOUT = Layout.of(SYSTEM_UNDER_TEST)


def _vars(kind: str) -> st.SearchStrategy[Expr]:
    return st.sampled_from([Var(v.name) for v in VARIABLES if v.domain.kind == kind])


LEAVES = {
    "bool": st.one_of(_vars("bool"), st.builds(Const, st.booleans())),
    "int": st.one_of(_vars("int"), st.builds(Const, st.integers(-3, 5))),
    "enum": st.one_of(_vars("enum"), st.builds(Const, st.sampled_from(["a", "b", "c", "z", ODD]))),
}
NODES = {
    "bool": ["not", "and", "or", "eq-bool", "eq-int", "eq-enum", "le", "ite"],
    "int": ["add", "mul", "ite"],
    "enum": ["ite"],
}


@st.composite
def expressions(draw: st.DrawFn, sort: str, depth: int = 3) -> Expr:
    """A well-typed random expression of ``sort`` over VARIABLES, at most ``depth`` nodes deep."""
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        return draw(LEAVES[sort])
    node = draw(st.sampled_from(NODES[sort]))

    def sub(of: str) -> Expr:
        return draw(expressions(of, depth - 1))

    if node == "ite":
        return Ite(sub("bool"), sub(sort), sub(sort))
    if node == "not":
        return Not(sub("bool"))
    if node in ("and", "or"):
        args = tuple(sub("bool") for _ in range(draw(st.integers(2, 3))))
        return And(args) if node == "and" else Or(args)
    if node.startswith("eq-"):
        of = node[3:]
        return Eq(sub(of), sub(of))
    if node == "le":
        return Le(sub("int"), sub("int"))
    return (Add if node == "add" else Mul)(sub("int"), sub("int"))


STATES = st.fixed_dictionaries({v.name: st.sampled_from(v.domain.values()) for v in VARIABLES})


@settings(max_examples=400, deadline=None)
@given(expr=st.sampled_from(("bool", "int", "enum")).flatmap(expressions), state=STATES)
def test_compiled_expression_equals_evaluate(expr: Expr, state: dict) -> None:
    expected = evaluate(expr, state)
    got = compile_expr(expr, LAYOUT)(LAYOUT.pack(state))
    assert got == expected and type(got) is type(expected), (expr, state)


@given(state=STATES)
def test_pack_unpack_round_trip(state: dict) -> None:
    assert LAYOUT.state(LAYOUT.pack(state)) == state
    assert all(0 <= word < 2**30 for word in LAYOUT.pack(state))


@settings(max_examples=100, deadline=None)
@given(scenario=scenarios(), data=st.data())
def test_compiled_system_equals_the_reference_semantics(scenario: Scenario, data: st.DataObject) -> None:
    """On any state (reachable or not): the same enabled actions, successors and labels."""
    system = build(scenario)
    compiled = compile_system(system)
    state = data.draw(st.fixed_dictionaries({v.name: st.sampled_from(v.domain.values()) for v in system.variables}))
    packed = compiled.layout.pack(state)
    assert compiled.state(compiled.initial) == system.initial_state()
    expected = [(system.actions.index(a), system.apply(a, state)) for a in system.enabled(state)]
    steps = compiled.steps(packed)
    assert [(i, compiled.state(s)) for i, s in steps] == expected
    assert compiled.successors(packed) == [s for _, s in steps]
    for index, _ in steps:
        labels = compiled.labels(index, packed)
        reference = system.labels_of(system.actions[index], state)
        assert labels == reference and all(type(labels[k]) is type(reference[k]) for k in reference)


def test_an_update_that_leaves_its_domain_is_a_model_error() -> None:
    x = var("x")
    tick = Action("Tick", (), Const(True), (("x", add(x, 1)),))
    system = TransitionSystem("overflow", (Variable("x", int_range(0, 2)),), Eq(x, Const(0)), (tick,))
    compiled = compile_system(system)
    state = compiled.initial
    for _ in range(2):
        (state,) = compiled.successors(state)
    with pytest.raises(InvalidModel, match="x would become 3"):
        compiled.successors(state)


def test_infinite_domains_are_refused() -> None:
    from regcheck.core.system import naturals

    system = TransitionSystem("counter", (Variable("n", naturals()),), Eq(var("n"), Const(0)), ())
    with pytest.raises(InvalidModel, match="finite domains"):
        compile_system(system)
