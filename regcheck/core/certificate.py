"""Proof certificates and their independent re-check.

A ``proved`` verdict carries a certificate: an inductive invariant (from PDR) or the k of a
k-induction proof. Before it is reported, the certificate is re-checked from scratch by a fresh
solver instance (z3, or cvc5 as a second, independent solver): for an invariant, that the initial
states satisfy it, that every action preserves it, and that it implies the property.

NOTE(domains): a step of the unrolling puts the next state in the variables' domains, which
would hide an action whose update leaves one. So the re-check does not take the engines' word
(``regcheck.core.domains``) that none does: it first asks its own solver that no enabled action takes
a variable out of its domain (from a state satisfying the invariant, for an invariant; from any
state, for k-induction). Only then are the other conditions asked, over steps whose domain
constraint on the next state has been shown to cut nothing away.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import z3

from regcheck.core.compile import Layout, Packed, compile_expr, compile_system
from regcheck.core.evidence import REACHABLE_LABEL, Certificate
from regcheck.core.explore import explore
from regcheck.core.expr import And, Expr, Value, and_, eq, evaluate, in_, not_, or_, render_state, var, variables
from regcheck.core.smt import SAT, UNSAT, Unrolling, all_of, any_differs, any_of, independent_check, negation
from regcheck.core.system import Domain, Property, TransitionSystem, per_system

REACHABLE_STATES = 50_000
"""At most this many reachable states are enumerated to evaluate a certificate on each of them."""
REACHABLE_SECONDS = 2.0
"""Nor for longer than this (the state limit is reached sooner, on one core of this size of machine)."""
REACHABLE_SET_STATES = 100
"""Up to this many reachable states, their disjunction itself may serve as a certificate (its re-check
takes a fraction of a second; a larger one is left to PDR, whose invariants are also shorter)."""


def tidy(invariant: Expr, domains: Mapping[str, Domain]) -> Expr:
    """A readable equivalent (over the variables' domains) of a conjunction of clauses.

    Clauses about one finite variable become one membership per variable (tautologies vanish,
    several clauses on the same variable intersect); clauses over several variables stay as they are.
    """
    clauses = invariant.args if isinstance(invariant, And) else (invariant,)
    allowed: dict[str, set[Value]] = {}
    rest: list[Expr] = []
    for clause in clauses:
        names = variables(clause)
        if len(names) == 1 and domains[next(iter(names))].finite:
            (name,) = names
            values = {v for v in domains[name].values() if evaluate(clause, {name: v})}
            allowed[name] = allowed.get(name, values) & values
        else:
            rest.append(clause)
    parts: list[Expr] = []
    for name, values in allowed.items():
        domain = domains[name].values()
        if len(values) == len(domain):
            continue
        ordered = [v for v in domain if v in values]
        if domains[name].kind == "bool" and len(ordered) == 1:
            parts.append(var(name) if ordered[0] else not_(var(name)))
        else:
            parts.append(in_(var(name), ordered))
    return and_(*parts, *rest)


def recheck_invariant(
    system: TransitionSystem,
    prop: Property | Sequence[Property],
    invariant: Expr,
    *,
    solver: str = "z3",
    timeout: float | None = None,
) -> str | None:
    """None if ``invariant`` is inductive and implies ``prop`` (each of them, if several); else which
    condition fails, in words. Several properties share one check of inductiveness."""
    system.check_formula(invariant, "the certificate")
    props = [prop] if isinstance(prop, Property) else list(prop)
    u = Unrolling(system, formulas=(invariant, *(p.formula for p in props)))
    inv0, inv1 = u.translate(invariant, 0), u.translate(invariant, 1)
    goal = u.translate(and_(*(p.formula for p in props)), 0)
    conditions = [
        ("the initial states do not all satisfy it", all_of(u.init(), negation(inv0))),
        ("it does not imply the property", all_of(u.domains(0), inv0, negation(goal))),
        ("an action takes a state satisfying it out of a variable's domain",
         all_of(u.domains(0), inv0, _leaves_a_domain(u))),
        ("an action does not preserve it", all_of(u.domains(0), inv0, u.transition(0), negation(inv1))),
    ]
    for reason, formula in conditions:
        answer = independent_check(formula, solver, timeout)
        if answer == SAT:
            return f"{solver}: {reason}"
        if answer != UNSAT:
            return f"{solver} could not decide whether {reason.replace('does not', 'fails to')}"
    return None


def of_reachable_states(
    system: TransitionSystem, props: Sequence[Property], *, solver: str = "z3"
) -> tuple[Certificate | None, str]:
    """The reachable states as the invariant of ``props``, when there are at most ``REACHABLE_SET_STATES``.

    The states come from the compiled explicit-state semantics; the re-check (a fresh ``solver``, on
    the symbolic encoding) shows that they include the initial states, are closed under every action
    and satisfy each property, so the two encodings confirm each other. Returns (None, "") where the
    states are too many or cannot be enumerated, and (None, why) when the re-check fails: then the
    encodings disagree, an internal error."""
    if not all(v.domain.finite for v in system.variables):
        return None, ""
    compiled = compile_system(system)
    graph = explore(compiled, max_states=REACHABLE_SET_STATES + 1)
    if not graph.complete:
        return None, ""
    states = [compiled.layout.state(packed) for packed in graph.states]
    invariant = or_(*(and_(*(eq(var(name), value) for name, value in state.items())) for state in states))
    failure = recheck_invariant(system, props, invariant, solver=solver)
    if failure:
        return None, f"internal error: the {len(states)} reachable states are not an inductive invariant ({failure})"
    holds = compile_expr(invariant, compiled.layout)  # the disjunction, built right: true in each state
    if not all(holds(packed) for packed in graph.states):
        return None, "internal error: the disjunction of the reachable states is false in one of them"
    words = f"the {len(states)} reachable states of an explicit-state search, one disjunct each"
    return Certificate("inductive-invariant", invariant=invariant,
                       rechecked_by=(solver, f"{REACHABLE_LABEL}{len(states)})"),
                       notes={"found_by": "explicit", "invariant_is": words}), ""


def _leaves_a_domain(u: Unrolling) -> z3.ExprRef:
    """Satisfiable iff some action enabled at step 0 takes a variable out of its domain."""
    return any_of(*(condition for _, _, condition in u.escapes(0)))


def base_case(u: Unrolling, prop: Property, k: int) -> z3.ExprRef:
    """Satisfiable iff some execution of at most k-1 steps reaches a state violating ``prop``."""
    parts: list[z3.ExprRef] = [u.init()] + [u.transition(i) for i in range(k - 1)]
    parts.append(negation(all_of(*(u.translate(prop.formula, i) for i in range(k)))))
    return all_of(*parts)


def step_case(u: Unrolling, prop: Property, k: int) -> z3.ExprRef:
    """Satisfiable iff k distinct consecutive states satisfy ``prop`` and the next one does not."""
    parts: list[z3.ExprRef] = [u.domains(0)] + [u.transition(i) for i in range(k)]
    parts += [u.translate(prop.formula, i) for i in range(k)]
    parts.append(negation(u.translate(prop.formula, k)))
    parts += [any_differs(u.state(i), u.state(j)) for j in range(k + 1) for i in range(j)]
    return all_of(*parts)


def recheck_kinduction(
    system: TransitionSystem, prop: Property, k: int, *, solver: str = "z3", timeout: float | None = None
) -> str | None:
    """None if no action leaves a variable's domain, no execution of fewer than k steps violates
    ``prop`` and ``prop`` is k-inductive (over simple paths); else which condition fails."""
    u = Unrolling(system, formulas=(prop.formula,))
    for reason, formula in (
        ("an action takes a variable out of its domain", all_of(u.domains(0), _leaves_a_domain(u))),
        (f"a violation within {k - 1} steps exists", base_case(u, prop, k)),
        (f"the property is not {k}-inductive", step_case(u, prop, k)),
    ):
        answer = independent_check(formula, solver, timeout)
        if answer == SAT:
            return f"{solver}: {reason}"
        if answer != UNSAT:
            return f"{solver} could not decide the {k}-induction certificate"
    return None


def on_reachable_states(system: TransitionSystem, certificate: Certificate, formula: Expr) -> tuple[Certificate, str]:
    """``formula`` (the certificate's invariant, or the k-inductive property) on every reachable state.

    A second encoding, free of z3: the states come from the compiled explicit-state semantics
    and the formula is evaluated on each. Returns the certificate, with ``reachable-states(N)``
    added to ``rechecked_by`` when all N states satisfy it, or with a note saying why they were
    not enumerated; and a reachable state where the formula is false, in words ("" if none),
    which makes the proof an internal error.
    """
    found = _reachable(system)
    if found is None or not found.complete:
        why = "a domain is unbounded" if found is None else _too_many(found.stopped)
        return replace(certificate, notes={**certificate.notes, "reachable_states": f"not enumerated: {why}"}), ""
    system.check_formula(formula, "the certificate")
    holds = compile_expr(formula, found.layout)
    for state in found.states:
        if not holds(state):
            return certificate, f"it is false in the reachable state {render_state(found.layout.state(state))}"
    label = f"{REACHABLE_LABEL}{len(found.states)})"
    return replace(certificate, rechecked_by=(*certificate.rechecked_by, label)), ""


def _too_many(stopped: str) -> str:
    """Why an enumeration that stopped short (``Reachable.stopped``) did, in words."""
    if stopped == "state limit":
        return f"more than {REACHABLE_STATES:,} states"
    return f"more than {REACHABLE_SECONDS:g} s to enumerate"


@per_system
def _reachable(system: TransitionSystem) -> Reachable | None:
    """The reachable states, enumerated once (as many as the limits allow); None if a domain is unbounded.

    Kept until the system is collected; ``Reachable`` holds no reference to it, which would keep it alive."""
    if not all(v.domain.finite for v in system.variables):
        return None
    compiled = compile_system(system)
    graph = explore(compiled, max_states=REACHABLE_STATES + 1, deadline=time.monotonic() + REACHABLE_SECONDS)
    return Reachable(compiled.layout, tuple(graph.states), graph.complete, graph.stopped)


@dataclass(frozen=True)
class Reachable:
    """The reachable states of a system, unreduced, packed by ``layout``; ``complete`` is False when
    the limit or the timeout stopped the enumeration (``stopped`` says which)."""

    layout: Layout
    states: tuple[Packed, ...]
    complete: bool
    stopped: str
