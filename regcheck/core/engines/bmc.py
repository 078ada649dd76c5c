"""Bounded model checking with z3: incremental unrolling, iterative deepening.

One solver holds the unrolling; at each depth k every still-open property is checked under a
push/pop frame (``not P`` at step k). Depths are tried in increasing order, so the first
counterexample found is a shortest one. No violation up to the depth gives ``bounded``, never
``proved``; a timeout or solver ``unknown`` gives ``unknown``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from regcheck.core.domains import check_domains
from regcheck.core.engines import Options
from regcheck.core.expr import or_
from regcheck.core.result import CheckResult, Progress, Verdict, outcome
from regcheck.core.smt import SAT, TIMEOUT, UNKNOWN, UNSAT, Lasso, Solver, Unrolling, all_of, any_of
from regcheck.core.system import Kind, Property, TransitionSystem

NAME = "bmc"


def check(system: TransitionSystem, properties: Sequence[Property], options: Options) -> list[CheckResult]:
    """Check safety ``properties`` on every execution of at most ``options.depth`` steps, and liveness
    properties on every fair lasso of at most that many steps (the closing step included).
    Reads ``depth``, ``timeout`` and ``progress``."""
    depth, timeout, progress = options.depth, options.timeout, options.progress
    start = time.monotonic()
    check_domains(system)
    results: dict[str, CheckResult] = {}
    for prop in properties:
        if prop.kind is Kind.LIVENESS:
            results[prop.name] = _lasso(system, prop, depth, None if timeout is None else start + timeout, progress)
        system.check_formula(prop.formula, f"property {prop.name}")
    open_props = [p for p in properties if p.name not in results]
    unrolling = Unrolling(system, formulas=[p.formula for p in open_props])
    solver = Solver(deadline=None if timeout is None else start + timeout, finite=unrolling.arith == "bv")
    solver.add(unrolling.init())
    reached = -1
    for k in range(depth + 1):
        if k > 0:
            solver.add(unrolling.transition(k - 1))
        if progress:
            progress(f"bmc: depth {k}/{depth}, {len(open_props)} properties open")
        if open_props and _none_violated_at(solver, unrolling, open_props, k):
            _strengthen(solver, unrolling, open_props, k)
            reached = k
            continue
        still_open = []
        for prop in open_props:
            answer = solver.check_under(unrolling.translate(~prop.formula, k))
            if answer == SAT:
                trace = unrolling.decode(solver.model(), k).with_meta(property=prop.name)
                results[prop.name] = _result(prop, Verdict.VIOLATED, k, start, trace=trace)
            elif answer == UNKNOWN:
                results[prop.name] = _result(prop, Verdict.UNKNOWN, k - 1, start, note=_why_unknown(solver, k, start))
            else:
                still_open.append(prop)
        open_props = still_open
        _strengthen(solver, unrolling, open_props, k)
        reached = k
        if not open_props:
            break
    for prop in open_props:
        results[prop.name] = _result(prop, Verdict.BOUNDED, reached, start)
    return [results[p.name] for p in properties]


def _lasso(
    system: TransitionSystem, prop: Property, depth: int, deadline: float | None, progress: Progress | None
) -> CheckResult:
    """The shortest fair lasso that violates a liveness property, or ``bounded`` if none up to depth."""
    start = time.monotonic()
    unrolling = Unrolling(system, formulas=[f for o in prop.obligations for f in (o.trigger, o.goal)])
    lasso = Lasso(unrolling)
    solver = Solver(deadline=deadline, finite=unrolling.arith == "bv")
    solver.add(unrolling.init())
    fair = prop.fair_actions(system)
    for k in range(depth):
        if progress:
            progress(f"bmc: lasso of {k + 1} steps for {prop.name}")
        if k > 0:
            solver.add(unrolling.transition(k - 1))
        violation = any_of(*(lasso.violates(k, o.trigger, o.goal) for o in prop.obligations))
        answer = solver.check_under(all_of(lasso.shape(k), lasso.fair(k, fair), violation))
        if answer == SAT:
            trace = lasso.decode(solver.model(), k).with_meta(property=prop.name)
            return _result(prop, Verdict.VIOLATED, k + 1, start, trace=trace)
        if answer == UNKNOWN:
            return _result(prop, Verdict.UNKNOWN, k, start, note=_why_unknown(solver, k + 1, start, "lasso length"))
    return _result(prop, Verdict.BOUNDED, depth, start, note="no fair lasso violates it within this many steps")


def _why_unknown(solver: Solver, k: int, start: float, what: str = "depth") -> str:
    """The true reason a query at ``k`` was left open: the timeout (after how long), or z3's own words."""
    reason = solver.reason_unknown()
    if reason == TIMEOUT:
        return f"bmc: timeout after {time.monotonic() - start:.1f} s at {what} {k}"
    return f"bmc: z3 answered unknown at {what} {k} ({reason})"


def _none_violated_at(solver: Solver, unrolling: Unrolling, props: Sequence[Property], k: int) -> bool:
    """One query for all open properties at depth k: the common case is that none fails there."""
    if len(props) == 1:
        return False
    return solver.check_under(unrolling.translate(or_(*(~p.formula for p in props)), k)) == UNSAT


def _strengthen(solver: Solver, unrolling: Unrolling, props: Sequence[Property], k: int) -> None:
    """Assert what was just shown: the open properties hold at step k on every path.

    Sound because no path violates them at k; it prunes the search at every greater depth.
    """
    for prop in props:
        solver.add(unrolling.translate(prop.formula, k))


def _result(prop: Property, verdict: Verdict, depth: int | None, start: float, **extra: object) -> CheckResult:
    return outcome(prop, NAME, verdict, depth, start, **extra)
