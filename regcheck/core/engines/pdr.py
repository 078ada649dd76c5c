"""PDR/IC3 through z3's Spacer: the system as constrained Horn clauses (liveness through its
liveness-to-safety translation).

One relation ``Inv`` over the state variables; one clause for the initial states, one per action
(``Inv(s) /\\ action(s, s') -> Inv(s')``), one for the query (``Inv(s) /\\ ~P(s) -> Err``).
``unsat`` means the property holds in every reachable state: Spacer's inductive invariant is
turned into an expression in the model's names and re-checked by a fresh solver (and, where the
reachable states are few enough to enumerate, evaluated on each of them) before the verdict is
``proved``. ``sat`` means a violation: Spacer names the actions along it, and BMC to
that length returns a shortest counterexample (which the caller replays).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from regcheck.core.certificate import on_reachable_states, recheck_invariant, tidy
from regcheck.core.domains import check_domains
from regcheck.core.engines import Options, bmc
from regcheck.core.evidence import Certificate
from regcheck.core.expr import and_
from regcheck.core.lasso_safety import translate
from regcheck.core.result import CheckResult, Progress, Verdict, outcome
from regcheck.core.smt import HornProblem
from regcheck.core.system import Kind, Property, TransitionSystem

NAME = "pdr"
LASSO_DEPTH = 12
"""Steps of the BMC lasso search that looks for a short violation of a liveness property first."""


def check(system: TransitionSystem, properties: Sequence[Property], options: Options) -> list[CheckResult]:
    """Prove or refute each property, a liveness one through its liveness-to-safety translation (PDR
    is unbounded: ``depth`` is unused). Reads ``timeout``, ``progress`` and ``recheck``."""
    timeout, progress, recheck = options.timeout, options.progress, options.recheck
    start = time.monotonic()
    check_domains(system)
    deadline = None if timeout is None else start + timeout
    joint = _prove_jointly(system, properties, deadline, recheck, progress)
    if joint is not None:
        return joint
    results = []
    for prop in properties:
        if progress:
            progress(f"pdr: {prop.name}")
        results.append(_check_one(system, prop, deadline, recheck))
    return results


def _prove_jointly(
    system: TransitionSystem,
    properties: Sequence[Property],
    deadline: float | None,
    recheck: str,
    progress: Progress | None,
) -> list[CheckResult] | None:
    """One Spacer query for all properties at once; their invariants usually share most lemmas.

    If the conjunction is proved, its invariant is a certificate for each property (re-checked
    for each); otherwise None, and the properties are checked one by one.
    """
    safety = [p for p in properties if p.kind is Kind.SAFETY]
    if len(safety) < 2:
        return None
    if progress:
        progress(f"pdr: {len(safety)} properties together")
    both = Property("all", Kind.SAFETY, "all properties", "", and_(*(p.formula for p in safety)))
    joint = _check_one(system, both, deadline, recheck)
    if joint.verdict is not Verdict.PROVED or not isinstance(joint.evidence, Certificate):
        return None
    assert joint.evidence.invariant is not None
    if recheck_invariant(system, safety, joint.evidence.invariant, solver=recheck) is not None:
        return None
    proved = {p.name: replace(joint, property=p.name, time_s=round(joint.time_s / len(safety), 4)) for p in safety}
    return [proved.get(p.name) or _check_one(system, p, deadline, recheck) for p in properties]


def _check_one(system: TransitionSystem, prop: Property, deadline: float | None, recheck: str) -> CheckResult:
    start = time.monotonic()

    def result(verdict: Verdict, depth: int | None = None, **extra: object) -> CheckResult:
        return outcome(prop, NAME, verdict, depth, start, **extra)

    if prop.kind is not Kind.SAFETY:
        return _check_liveness(system, prop, deadline, recheck, start)
    system.check_formula(prop.formula, f"property {prop.name}")
    remaining = None if deadline is None else deadline - time.monotonic()
    if remaining is not None and remaining <= 0:
        return result(Verdict.UNKNOWN, note="pdr: timeout before this property was started")
    horn = HornProblem(system)
    answer = horn.query(prop.formula, timeout=remaining)
    if answer.status == "unknown":
        timed_out = deadline is not None and time.monotonic() >= deadline - 0.05
        if timed_out or answer.reason in ("timeout", "canceled"):
            return result(Verdict.UNKNOWN, note=f"pdr: timeout after {time.monotonic() - start:.1f} s")
        return result(Verdict.UNKNOWN, note=f"pdr: Spacer answered unknown ({answer.reason or 'no reason given'})")
    if answer.status == "sat":
        length = len(answer.actions)
        (shortest,) = bmc.check(system, [prop], Options(depth=length, timeout=None if deadline is None else max(
            deadline - time.monotonic(), 1.0)))
        if shortest.verdict is not Verdict.VIOLATED:
            return result(Verdict.UNKNOWN, note=f"Spacer found a {length}-step violation that BMC could not confirm")
        return result(Verdict.VIOLATED, shortest.depth, trace=shortest.trace)
    assert answer.invariant is not None
    invariant = tidy(answer.invariant, system.domains)
    failure = recheck_invariant(system, prop, invariant, solver=recheck)
    if failure:
        # Spacer's cover may leave the property implicit; the conjunction is re-checked in full.
        invariant = and_(invariant, prop.formula)
        failure = recheck_invariant(system, prop, invariant, solver=recheck)
    if failure:
        return result(Verdict.UNKNOWN, note=f"internal error: Spacer's invariant did not re-check ({failure})")
    certificate, failure = on_reachable_states(
        system, Certificate("inductive-invariant", invariant=invariant, rechecked_by=(recheck,)), invariant
    )
    if failure:
        return result(Verdict.UNKNOWN, note=f"internal error: Spacer's invariant is wrong ({failure})")
    return result(Verdict.PROVED, evidence=certificate)


def _check_liveness(system: TransitionSystem, prop: Property, deadline: float | None, recheck: str,
                    start: float) -> CheckResult:
    """A liveness property through its liveness-to-safety translation (``regcheck.core.lasso_safety``).

    A short violation is looked for first by BMC's lasso search (``LASSO_DEPTH`` steps), which
    finds it far sooner than Spacer. A proof is the translated system's inductive invariant,
    re-checked there like any other; a reachable bad state means a fair violating lasso exists,
    and BMC's lasso search to that length returns a shortest one of the original system.
    """
    remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
    (short,) = bmc.check(system, [prop], Options(depth=LASSO_DEPTH, timeout=remaining))
    if short.verdict is Verdict.VIOLATED:
        return outcome(prop, NAME, Verdict.VIOLATED, short.depth, start, trace=short.trace)
    translation = translate(system, prop)
    found = _check_one(translation.system, translation.property, deadline, recheck)
    if found.verdict is Verdict.PROVED and isinstance(found.evidence, Certificate):
        notes = {**found.evidence.notes, "translation": "liveness to safety (Biere, Artho, Schuppan 2002)",
                 "system": translation.system.name}
        return outcome(prop, NAME, Verdict.PROVED, None, start, evidence=replace(found.evidence, notes=notes))
    if found.verdict is Verdict.VIOLATED and found.trace is not None:
        remaining = None if deadline is None else max(deadline - time.monotonic(), 1.0)
        (lasso,) = bmc.check(system, [prop], Options(depth=len(found.trace), timeout=remaining))
        if lasso.verdict is Verdict.VIOLATED:
            return outcome(prop, NAME, Verdict.VIOLATED, lasso.depth, start, trace=lasso.trace)
        return outcome(prop, NAME, Verdict.UNKNOWN, None, start,
                       note=f"the translation reached a fair violating loop in {len(found.trace)} steps that "
                            "BMC's lasso search could not confirm")
    return outcome(prop, NAME, Verdict.UNKNOWN, None, start, note=f"{found.note} (liveness to safety)")
