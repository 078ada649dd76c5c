"""Tiny transition systems with known answers, shared by the engine tests (one true, one false property each)."""

from __future__ import annotations

from dataclasses import dataclass

from regcheck.core.expr import FALSE, TRUE, Const, Expr, add, and_, eq, ite, le, ne, not_, var
from regcheck.core.system import Action, Kind, Property, TransitionSystem, Variable, boolean, enum, int_range


@dataclass(frozen=True)
class Example:
    system: TransitionSystem
    holds: Property
    fails: Property
    shortest: int  # length of the shortest counterexample to `fails`


def _prop(name: str, formula: Expr) -> Property:
    return Property(name, Kind.SAFETY, name, "test catalogue", formula)


def counter() -> Example:
    """x counts 0..3 and wraps; x never reaches 5 (true), x never reaches 3 (false after 3 steps)."""
    x = var("x")
    system = TransitionSystem(
        "counter",
        (Variable("x", int_range(0, 5)),),
        eq(x, 0),
        (Action("Tick", (), le(x, 3), (("x", ite(eq(x, 3), 0, add(x, 1))),)),),
    )
    return Example(system, _prop("never-5", ne(x, 5)), _prop("never-3", ne(x, 3)), 3)


def mutex() -> Example:
    """Two processes and a lock: mutual exclusion holds; 'process 2 never enters' fails after 1 step."""
    actions = []
    for i in (1, 2):
        pc = var(f"pc[{i}]")
        enter = ((f"pc[{i}]", Const("critical")), ("lock", TRUE))
        leave = ((f"pc[{i}]", Const("idle")), ("lock", FALSE))
        actions.append(Action("Enter", (("p", i),), and_(eq(pc, "idle"), not_(var("lock"))), enter))
        actions.append(Action("Leave", (("p", i),), eq(pc, "critical"), leave))
    system = TransitionSystem(
        "mutex",
        (Variable("pc[1]", enum("idle", "critical")), Variable("pc[2]", enum("idle", "critical")),
         Variable("lock", boolean())),
        and_(eq(var("pc[1]"), "idle"), eq(var("pc[2]"), "idle"), not_(var("lock"))),
        tuple(actions),
    )
    both = and_(eq(var("pc[1]"), "critical"), eq(var("pc[2]"), "critical"))
    return Example(system, _prop("mutual-exclusion", not_(both)), _prop("two-never-enters", ne(var("pc[2]"), "critical")), 1)


def long_chain() -> Example:
    """x cycles 0..3; an unreachable chain 10 -> 11 -> ... -> 40 ends in the bad value 40.

    ``x != 40`` holds but is k-inductive only for k >= 31 (the chain is a simple path of P-states).
    """
    x = var("x")
    tick = Action("Tick", (), le(x, 3), (("x", ite(eq(x, 3), 0, add(x, 1))),))
    climb = Action("Climb", (), and_(le(10, x), le(x, 39)), (("x", add(x, 1)),))
    system = TransitionSystem("long-chain", (Variable("x", int_range(0, 40)),), eq(x, 0), (tick, climb))
    return Example(system, _prop("never-40", ne(x, 40)), _prop("never-2", ne(x, 2)), 2)


EXAMPLES = {"counter": counter, "mutex": mutex, "long-chain": long_chain}
