"""The checker core: expressions, the type checker, transition-system semantics."""

from __future__ import annotations

import pytest

from regcheck.core.expr import Const, add, and_, case, eq, evaluate, in_, ite, lt, ne, not_, or_, render, var
from regcheck.core.system import Action, TransitionSystem, Variable, boolean, enum, int_range
from regcheck.errors import InvalidModel
from tests.catalogue import counter, mutex


def test_constant_folding_and_flattening() -> None:
    x = var("x")
    assert and_(True, x) == x
    assert and_(False, x) == Const(False)
    assert or_(True, x) == Const(True)
    assert and_(and_(x, var("y")), var("z")).args == (x, var("y"), var("z"))  # type: ignore[attr-defined]
    assert not_(not_(x)) == x
    assert ite(True, 1, 2) == Const(1)
    assert eq(1, 1) == Const(True)


def test_evaluate() -> None:
    state = {"x": 2, "c": "red", "b": True}
    assert evaluate(add(var("x"), 1), state) == 3
    assert evaluate(lt(var("x"), 3), state) is True
    assert evaluate(in_(var("c"), ("red", "blue")), state) is True
    assert evaluate(case((var("b"), "yes"), default="no"), state) == "yes"
    assert evaluate(ne(var("c"), "red") | var("b"), state) is True


def test_render_reads_like_tla() -> None:
    assert render(and_(eq(var("reg[1]"), "alice"), ne(var("pc[1]"), "failed"))) == "reg[1] = alice /\\ pc[1] != failed"


def test_initial_state_and_successors() -> None:
    example = counter()
    state = example.system.initial_state()
    assert state == {"x": 0}
    (tick,) = example.system.enabled(state)
    assert example.system.apply(tick, state) == {"x": 1}
    assert example.system.apply(tick, {"x": 3}) == {"x": 0}


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: TransitionSystem("t", (Variable("x", boolean()),) * 2, Const(True), ()), "declared twice"),
        (lambda: TransitionSystem("t", (Variable("x", boolean()),), eq(var("x"), 1), ()), "compares bool with int"),
        (lambda: TransitionSystem("t", (Variable("x", boolean()),), var("y"), ()), "unknown variable 'y'"),
        (
            lambda: TransitionSystem(
                "t", (Variable("c", enum("a", "b")),), eq(var("c"), "a"), (Action("A", (), Const(True), (("c", Const("z")),)),)
            ),
            "outside its domain",
        ),
        (
            lambda: TransitionSystem(
                "t", (Variable("x", int_range(0, 1)),), eq(var("x"), 0), (Action("A", (), var("x"), ()),)
            ),
            r"guard of A\(\) should be bool",
        ),
    ],
)
def test_malformed_systems_are_rejected(build, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidModel, match=message):
        build()


def test_catalogue_answers_by_exhaustive_search() -> None:
    """The catalogue's stated answers, checked without any solver."""
    for example in (counter(), mutex()):
        system = example.system
        frontier, depth_of = [system.initial_state()], {}
        key = lambda s: tuple(sorted(s.items()))  # noqa: E731
        depth_of[key(frontier[0])] = 0
        shortest = None
        while frontier:
            state = frontier.pop(0)
            if not evaluate(example.fails.formula, state) and shortest is None:
                shortest = depth_of[key(state)]
            assert evaluate(example.holds.formula, state)
            for action in system.enabled(state):
                nxt = system.apply(action, state)
                if key(nxt) not in depth_of:
                    depth_of[key(nxt)] = depth_of[key(state)] + 1
                    frontier.append(nxt)
        assert shortest == example.shortest
