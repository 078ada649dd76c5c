"""k-induction with simple-path constraints, over the same unrolling as BMC.

For k = 1, 2, ... up to the limit: the base case asks for a violation within k-1 steps from an
initial state (that is BMC, so a counterexample found here is a shortest one); the step case
asks for k consecutive distinct states satisfying the property followed by one that does not. If
the step case is unsatisfiable after the base case was, the property is ``proved`` with k as its
certificate, re-checked by a fresh solver and, where the reachable states are few enough to
enumerate, by evaluating the property on each of them. Reaching the limit gives ``unknown``,
never ``proved``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from regcheck.core.certificate import on_reachable_states, recheck_kinduction
from regcheck.core.domains import check_domains
from regcheck.core.engines import Options
from regcheck.core.evidence import Certificate
from regcheck.core.result import CheckResult, Progress, Verdict, outcome
from regcheck.core.smt import SAT, TIMEOUT, UNKNOWN, Solver, Unrolling, any_differs, negation
from regcheck.core.system import Kind, Property, TransitionSystem

NAME = "kinduction"


def check(system: TransitionSystem, properties: Sequence[Property], options: Options) -> list[CheckResult]:
    """Try k = 1..max(depth, 1): ``depth`` is the limit on k. Reads ``depth``, ``timeout``,
    ``progress`` and ``recheck``."""
    depth, timeout, progress, recheck = options.depth, options.timeout, options.progress, options.recheck
    start = time.monotonic()
    check_domains(system)
    deadline = None if timeout is None else start + timeout
    return [_check_one(system, prop, max(depth, 1), deadline, start, progress, recheck) for prop in properties]


def _check_one(
    system: TransitionSystem,
    prop: Property,
    limit: int,
    deadline: float | None,
    start: float,
    progress: Progress | None,
    recheck: str,
) -> CheckResult:
    def result(verdict: Verdict, depth: int | None, **extra: object) -> CheckResult:
        return outcome(prop, NAME, verdict, depth, start, **extra)

    if prop.kind is not Kind.SAFETY:
        return result(Verdict.UNKNOWN, None, note="k-induction checks safety properties only")
    system.check_formula(prop.formula, f"property {prop.name}")
    base_u, step_u = Unrolling(system, formulas=(prop.formula,)), Unrolling(system, formulas=(prop.formula,))
    finite = base_u.arith == "bv"
    base, step = Solver(deadline, finite=finite), Solver(deadline, finite=finite)
    base.add(base_u.init())
    step.add(step_u.domains(0))
    for k in range(1, limit + 1):
        if progress:
            progress(f"k-induction: {prop.name}, k = {k}/{limit}")
        # Base: a violation at step k-1 (steps before it were refuted in earlier rounds).
        if k > 1:
            base.add(base_u.transition(k - 2))
        answer = base.check_under(negation(base_u.translate(prop.formula, k - 1)))
        if answer == SAT:
            trace = base_u.decode(base.model(), k - 1).with_meta(property=prop.name)
            return result(Verdict.VIOLATED, k - 1, trace=trace)
        if answer == UNKNOWN:
            return result(Verdict.UNKNOWN, k - 2, note=_why_unknown(base, "base", k, start))
        base.add(base_u.translate(prop.formula, k - 1))
        # Step: k distinct states satisfying the property, then one that does not.
        step.add(step_u.transition(k - 1))
        step.add(step_u.translate(prop.formula, k - 1))
        for i in range(k):
            step.add(any_differs(step_u.state(i), step_u.state(k)))
        answer = step.check_under(negation(step_u.translate(prop.formula, k)))
        if answer == UNKNOWN:
            return result(Verdict.UNKNOWN, k - 1, note=_why_unknown(step, "step", k, start))
        if answer == SAT:
            continue
        failure = recheck_kinduction(system, prop, k, solver=recheck)
        if failure:
            return result(Verdict.UNKNOWN, k - 1, note=f"internal error: the {k}-induction proof did not re-check ({failure})")
        certificate, failure = on_reachable_states(
            system, Certificate("k-induction", k=k, rechecked_by=(recheck,)), prop.formula
        )
        if failure:
            return result(Verdict.UNKNOWN, k - 1, note=f"internal error: the {k}-induction proof is wrong ({failure})")
        return result(Verdict.PROVED, None, evidence=certificate)
    return result(
        Verdict.UNKNOWN,
        limit - 1,
        note=f"not k-inductive for any k <= {limit}; no violation within {limit - 1} steps",
    )


def _why_unknown(solver: Solver, case: str, k: int, start: float) -> str:
    """The true reason the base or step case at ``k`` was left open."""
    reason = solver.reason_unknown()
    if reason == TIMEOUT:
        return f"k-induction: timeout after {time.monotonic() - start:.1f} s in the {case} case at k = {k}"
    return f"k-induction: z3 answered unknown in the {case} case at k = {k} ({reason})"
