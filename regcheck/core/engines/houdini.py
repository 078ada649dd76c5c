"""Houdini: the largest inductive conjunction of simple candidate facts, for fast safety proofs.

Many properties of the protocol model hold for a reason that one-variable facts say (in
``service-account`` every call carries the one identity ``svc``, so the registration never holds
anything else), yet PDR may take a minute to find it. Houdini guesses a fixed set of candidates
and keeps the largest subset that is inductive:

- for every variable of a finite domain and every value ``x`` of it, ``v != x``;
- for every variable of an unbounded integer domain (a counter of the counter abstraction),
  ``v = 0``;
- each safety property's formula.

First every candidate false in some initial state is dropped (a model of ``init /\\ ~(all of
them)``, and the ones it falsifies go, until none is left); then, while a step leads from a state
within the domains that satisfies every remaining candidate to one that falsifies some, those
false in the successor are dropped. What remains is inductive, and it is the largest inductive
subset: each dropped candidate is false in an initial state, or after a step from a state that
satisfies every remaining candidate, among which is every inductive subset (by induction over
the rounds), so no inductive subset contains it.

A property whose formula remains is ``proved``, with the conjunction of what remains as its
invariant, re-checked exactly as PDR's is (a fresh solver, then the reachable states). A property
whose formula is dropped is ``unknown``, never ``violated``: the state that refuted it need not be
reachable. Reads ``timeout``, ``progress`` and ``recheck``; ``depth`` is unused; liveness is
``unknown``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from regcheck.core.certificate import on_reachable_states, recheck_invariant, tidy
from regcheck.core.domains import check_domains
from regcheck.core.engines import Options
from regcheck.core.evidence import Certificate
from regcheck.core.expr import Expr, Value, and_, eq, evaluate, ne, render_state, var
from regcheck.core.result import CheckResult, Progress, Verdict, outcome
from regcheck.core.smt import SAT, TIMEOUT, UNSAT, Solver, Unrolling, any_of, negation
from regcheck.core.system import Kind, Property, TransitionSystem

NAME = "houdini"
NOT_IMPLIED = "no inductive conjunction of one-variable facts implies it; pdr may find a stronger invariant"
"""The note of a property whose formula Houdini dropped."""


class _Unknown(Exception):
    """A query was left open: the deadline ran out, or z3 answered unknown (the message says which)."""


def check(system: TransitionSystem, properties: Sequence[Property], options: Options) -> list[CheckResult]:
    """Prove the safety properties whose formulas survive in the largest inductive subset of the
    candidates; ``unknown`` for the others. Reads ``timeout``, ``progress`` and ``recheck``."""
    timeout, progress, recheck = options.timeout, options.progress, options.recheck
    start = time.monotonic()
    check_domains(system)
    deadline = None if timeout is None else start + timeout
    safety = [p for p in properties if p.kind is Kind.SAFETY]
    for prop in safety:
        system.check_formula(prop.formula, f"property {prop.name}")
    notes = {p.name: "houdini checks safety properties only" for p in properties if p.kind is not Kind.SAFETY}
    evidence: dict[str, Certificate] = {}
    if safety:
        try:
            survivors = _houdini(system, safety, start, deadline, progress)
        except _Unknown as exc:
            notes.update({p.name: str(exc) for p in safety})
        else:
            kept = set(survivors)
            proved = [p for p in safety if p.formula in kept]
            notes.update({p.name: NOT_IMPLIED for p in safety if p.formula not in kept})
            if proved:
                certificate, failure = _certify(system, proved, survivors, recheck)
                for prop in proved:
                    if certificate is None:
                        notes[prop.name] = failure
                    else:
                        evidence[prop.name] = certificate
    results = []
    for prop in properties:
        if prop.name in evidence:
            results.append(outcome(prop, NAME, Verdict.PROVED, None, start, evidence=evidence[prop.name]))
        else:
            results.append(outcome(prop, NAME, Verdict.UNKNOWN, None, start, note=notes[prop.name]))
    return results


def candidates(system: TransitionSystem, properties: Sequence[Property]) -> list[Expr]:
    """The candidate facts, in a fixed order: per variable ``v != x`` for each value of a finite
    domain, ``v = 0`` for an unbounded one; then each property's formula (each formula once)."""
    found: list[Expr] = []
    for v in system.variables:
        if v.domain.finite:
            found.extend(ne(var(v.name), x) for x in v.domain.values())
        else:
            found.append(eq(var(v.name), 0))
    found.extend(p.formula for p in properties)
    return list(dict.fromkeys(found))


def _houdini(
    system: TransitionSystem,
    properties: Sequence[Property],
    start: float,
    deadline: float | None,
    progress: Progress | None,
) -> list[Expr]:
    """The largest inductive subset of the candidates, in their order; it may stop early, once every
    property's formula is dropped (then what it returns is not inductive, and proves nothing)."""
    goals = {p.formula for p in properties}
    remaining = candidates(system, properties)
    u = Unrolling(system, formulas=tuple(remaining))
    finite = u.arith == "bv"
    # Each candidate is translated once, over the state before a step and the state after it.
    pre = {c: u.translate(c, 0) for c in remaining}
    post = {c: u.translate(c, 1) for c in remaining}
    # The initial states: drop what one of them falsifies, until they all satisfy what is left.
    initial = Solver(deadline, finite=finite)
    initial.add(u.init())
    rounds = 0
    while goals & set(remaining):
        rounds += 1
        if progress:
            progress(f"houdini: initial states, round {rounds}, {len(remaining)} candidates")
        answer = initial.check_under(any_of(*(negation(pre[c]) for c in remaining)))
        if answer == UNSAT:
            break
        if answer != SAT:
            raise _Unknown(_why_unknown(initial, "the initial states", rounds, start))
        (state,) = u.decode_states(initial.model(), 1)
        remaining = _true_in(remaining, state)
    # The steps: from a state satisfying every remaining candidate to one falsifying some.
    step = Solver(deadline, finite=finite)
    step.add(u.domains(0))
    step.add(u.transition(0))
    rounds = 0
    while goals & set(remaining):
        rounds += 1
        if progress:
            progress(f"houdini: step {rounds}, {len(remaining)} candidates")
        answer = step.check_under(*(pre[c] for c in remaining), any_of(*(negation(post[c]) for c in remaining)))
        if answer == UNSAT:
            break
        if answer != SAT:
            raise _Unknown(_why_unknown(step, "the steps", rounds, start))
        _, successor = u.decode_states(step.model(), 2)
        remaining = _true_in(remaining, successor)
    return remaining


def _true_in(formulas: list[Expr], state: Mapping[str, Value]) -> list[Expr]:
    """Those of ``formulas`` that ``state`` satisfies. The solver's state falsifies one of them: if
    the evaluator disagrees, the encodings do, and nothing is proved."""
    kept = [f for f in formulas if evaluate(f, state)]
    if len(kept) == len(formulas):
        raise _Unknown(
            f"internal error: houdini: z3's state {render_state(state)} falsifies a candidate, "
            "but the evaluator finds every one true there"
        )
    return kept


def _certify(
    system: TransitionSystem, proved: Sequence[Property], survivors: Sequence[Expr], recheck: str
) -> tuple[Certificate | None, str]:
    """The survivors' conjunction as a re-checked certificate for ``proved``; or None and the
    reason, an internal error (the survivors are inductive by construction)."""
    invariant = tidy(and_(*survivors), system.domains)
    failure = recheck_invariant(system, proved, invariant, solver=recheck)
    if failure:
        return None, f"internal error: houdini's invariant did not re-check ({failure})"
    certificate, failure = on_reachable_states(
        system,
        Certificate("inductive-invariant", invariant=invariant, rechecked_by=(recheck,), notes={"found_by": NAME}),
        invariant,
    )
    if failure:
        return None, f"internal error: houdini's invariant is wrong ({failure})"
    return certificate, ""


def _why_unknown(solver: Solver, what: str, rounds: int, start: float) -> str:
    """Why the query about ``what`` in round ``rounds`` was left open, in words."""
    reason = solver.reason_unknown()
    if reason == TIMEOUT:
        return f"houdini: timeout after {time.monotonic() - start:.1f} s, in round {rounds} on {what}"
    return f"houdini: z3 answered unknown in round {rounds} on {what} ({reason})"
