"""Proof certificates and their independent re-check.

A ``proved`` verdict carries a certificate: an inductive invariant (from PDR) or the k of a
k-induction proof. Before it is reported, the certificate is re-checked from scratch by a fresh
solver instance (z3, or cvc5 as a second, independent solver): for an invariant, that the initial
states satisfy it, that every action preserves it, and that it implies the property.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from regcheck.expr import And, Expr, Value, and_, evaluate, in_, not_, render, var, variables
from regcheck.smt import SAT, UNSAT, Unrolling, all_of, any_differs, independent_check, negation
from regcheck.system import Domain, Property, TransitionSystem


@dataclass(frozen=True)
class Certificate:
    """Why a property holds: an inductive invariant, or k for a k-induction proof."""

    kind: str  # "inductive-invariant" or "k-induction"
    invariant: Expr | None = None
    k: int | None = None
    rechecked_by: tuple[str, ...] = ()
    notes: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "rechecked_by": list(self.rechecked_by)}
        if self.invariant is not None:
            data["invariant"] = render(self.invariant)
        if self.k is not None:
            data["k"] = self.k
        data.update(self.notes)
        return data

    def describe(self) -> str:
        if self.kind == "k-induction":
            return f"{self.k}-inductive"
        assert self.invariant is not None
        if "counter_invariant" in self.notes:  # the instantiated form is long; its counter form says the same
            return f"inductive invariant, in counter form: {self.notes['counter_invariant']}"
        return f"inductive invariant: {render(self.invariant)}"


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
    u = Unrolling(system)
    inv0, inv1 = u.translate(invariant, 0), u.translate(invariant, 1)
    goal = u.translate(and_(*(p.formula for p in props)), 0)
    conditions = [
        ("the initial states do not all satisfy it", all_of(u.init(), negation(inv0))),
        ("it does not imply the property", all_of(u.domains(0), inv0, negation(goal))),
        ("an action does not preserve it", all_of(u.domains(0), inv0, u.transition(0), negation(inv1))),
    ]
    for reason, formula in conditions:
        answer = independent_check(formula, solver, timeout)
        if answer == SAT:
            return f"{solver}: {reason}"
        if answer != UNSAT:
            return f"{solver} could not decide whether {reason.replace('does not', 'fails to')}"
    return None


def base_case(u: Unrolling, prop: Property, k: int) -> object:
    """Satisfiable iff some execution of at most k-1 steps reaches a state violating ``prop``."""
    parts = [u.init()] + [u.transition(i) for i in range(k - 1)]
    parts.append(negation(all_of(*(u.translate(prop.formula, i) for i in range(k)))))
    return all_of(*parts)


def step_case(u: Unrolling, prop: Property, k: int) -> object:
    """Satisfiable iff k distinct consecutive states satisfy ``prop`` and the next one does not."""
    parts = [u.domains(0)] + [u.transition(i) for i in range(k)]
    parts += [u.translate(prop.formula, i) for i in range(k)]
    parts.append(negation(u.translate(prop.formula, k)))
    parts += [any_differs(u.state(i), u.state(j)) for j in range(k + 1) for i in range(j)]
    return all_of(*parts)


def recheck_kinduction(
    system: TransitionSystem, prop: Property, k: int, *, solver: str = "z3", timeout: float | None = None
) -> str | None:
    """None if no execution of fewer than k steps violates ``prop`` and ``prop`` is k-inductive
    (over simple paths); else which half fails."""
    u = Unrolling(system)
    for reason, formula in (
        (f"a violation within {k - 1} steps exists", base_case(u, prop, k)),
        (f"the property is not {k}-inductive", step_case(u, prop, k)),
    ):
        answer = independent_check(formula, solver, timeout)
        if answer == SAT:
            return f"{solver}: {reason}"
        if answer != UNSAT:
            return f"{solver} could not decide the {k}-induction certificate"
    return None
