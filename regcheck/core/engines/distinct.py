"""Distinct counterexamples: up to N that differ in their cause, not N orders of one story.

Bounded model checking with blocking. Depths are tried in increasing order; at each depth the
solver is asked for a path whose *first* violation is at its last step and whose cause signature
(``regcheck.core.causes``) is none of those found so far. Each answer is decoded, its signature
computed and blocked, and the same depth asked again, until it has no new cause; then the next
depth. So the first counterexample of each cause is a shortest one for that cause, and when
fewer than N come back the search has shown that no other cause exists within the depth.

This is not an engine of the registry (it answers a different question than ``check``); the
caller replays every trace it returns before showing it, as for any counterexample.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from regcheck.core.causes import Moment, Signature, signature
from regcheck.core.constraints import Constraint, all_hold, describe, lacks_signatures
from regcheck.core.domains import check_domains
from regcheck.core.result import Trace
from regcheck.core.smt import SAT, UNKNOWN, Solver, Unrolling, all_of
from regcheck.core.system import Kind, Property, TransitionSystem
from regcheck.errors import InvalidArgument


@dataclass(frozen=True)
class Enumeration:
    """Counterexamples to one property, one per distinct cause, in the order found (shortest first)."""

    property: str
    traces: tuple[Trace, ...]
    signatures: tuple[Signature, ...]
    depth: int
    """The deepest bound searched completely (-1 if none)."""
    exhausted: bool
    """True when every cause within ``depth`` steps is in ``traces`` (fewer than the limit exist)."""
    note: str = ""


def counterexamples(
    system: TransitionSystem,
    prop: Property,
    moments: Sequence[Moment],
    *,
    depth: int,
    limit: int,
    timeout: float | None = None,
    same: Callable[[Signature], Iterable[Signature]] | None = None,
    where: Sequence[Constraint] = (),
) -> Enumeration:
    """Up to ``limit`` counterexamples to safety property ``prop`` with pairwise different signatures.

    ``same`` lists the signatures that count as the same cause as a given one (itself included),
    for instance the same story told by interchangeable workers; all of them are blocked.
    ``where`` constrains the counterexamples' shape (``regcheck.core.constraints``): each is passed to
    the solver as an assumption at every depth, so "none within the depth" then means none of
    that shape.
    """
    if prop.kind is not Kind.SAFETY:
        raise InvalidArgument(f"{prop.name}: distinct counterexamples are enumerated for safety properties only")
    if limit < 1:
        raise InvalidArgument(f"expected at least 1 counterexample, got {limit}")
    check_domains(system)
    system.check_formula(prop.formula, f"property {prop.name}")
    start = time.monotonic()
    unrolling = Unrolling(system, formulas=(prop.formula,))
    solver = Solver(deadline=None if timeout is None else start + timeout)
    solver.add(unrolling.init())
    traces: list[Trace] = []
    found: list[Signature] = []
    blocked: list[Signature] = []
    for k in range(depth + 1):
        if k > 0:
            solver.add(unrolling.transition(k - 1))
            solver.add(unrolling.translate(prop.formula, k - 1))  # the first violation is at step k
        violated = all_of(unrolling.translate(~prop.formula, k), *(c.encode(unrolling, k) for c in where))
        blocks = [lacks_signatures(unrolling, k, moments, blocked)]  # encoded once per depth, then grown
        while True:
            answer = solver.check_under(violated, *blocks)
            if answer == UNKNOWN:
                note = f"stopped at depth {k}: the solver answered unknown ({solver.reason_unknown()})"
                return Enumeration(prop.name, tuple(traces), tuple(found), k - 1, False, note)
            if answer != SAT:
                break
            trace = unrolling.decode(solver.model(), k).with_meta(property=prop.name)
            cause = signature(trace, moments)
            if cause in blocked:
                raise AssertionError(f"the solver returned a blocked cause again: {cause}")
            if not all_hold(where, trace):
                raise AssertionError(f"the solver returned a trace not of the shape asked for: {describe(where)}")
            traces.append(trace)
            found.append(cause)
            fresh = list(dict.fromkeys([cause, *(same(cause) if same is not None else ())]))
            blocked += fresh
            blocks.append(lacks_signatures(unrolling, k, moments, fresh))
            if len(traces) == limit:
                return Enumeration(prop.name, tuple(traces), tuple(found), k - 1, False)
    return Enumeration(prop.name, tuple(traces), tuple(found), depth, True)


@dataclass(frozen=True)
class Shaped:
    """A shortest path of a given shape, or none within ``depth`` steps (every shorter one searched)."""

    trace: Trace | None
    depth: int
    """The deepest bound searched completely (-1 if none)."""
    note: str = ""


def shortest_of_shape(system: TransitionSystem, where: Sequence[Constraint], *, depth: int,
                      timeout: float | None = None) -> Shaped:
    """A shortest path from ``system``'s initial state whose steps have every shape of ``where`` (BMC with
    the shapes as assumptions, depth by depth), or none of at most ``depth`` steps."""
    if not where:
        raise InvalidArgument("a shape needs at least one constraint (shapes.sends, shapes.registers_first, ...)")
    check_domains(system)
    start = time.monotonic()
    unrolling = Unrolling(system)
    solver = Solver(deadline=None if timeout is None else start + timeout)
    solver.add(unrolling.init())
    for k in range(depth + 1):
        if k > 0:
            solver.add(unrolling.transition(k - 1))
        answer = solver.check_under(all_of(*(c.encode(unrolling, k) for c in where)))
        if answer == UNKNOWN:
            return Shaped(None, k - 1, f"stopped at depth {k}: the solver answered unknown ({solver.reason_unknown()})")
        if answer == SAT:
            trace = unrolling.decode(solver.model(), k)
            if not all_hold(where, trace):
                raise AssertionError(f"the solver returned a trace not of the shape asked for: {describe(where)}")
            return Shaped(trace, k - 1)
    return Shaped(None, depth)
