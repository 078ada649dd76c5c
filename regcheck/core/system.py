"""TransitionSystem: finite-domain variables, an initial predicate and named, guarded actions.

One frozen description is built per scenario and handed to every engine; engines read it and
never change it. Interleaving semantics: each step fires exactly one enabled action, whose
updates are evaluated in the state before the step; variables it does not update keep their value.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from regcheck.core.expr import (
    Add,
    And,
    Const,
    Eq,
    Expr,
    Ite,
    Le,
    Mul,
    Not,
    Or,
    State,
    Value,
    Var,
    evaluate,
    render,
)
from regcheck.core.result import Kind, call_label
from regcheck.errors import InvalidModel


@dataclass(frozen=True)
class Domain:
    """The finite set of values a variable ranges over: ``bool``, an ``int`` range, or an enum."""

    kind: str
    low: int = 0
    high: int | None = 0  # None: unbounded above (counters of a parameterised system)
    members: tuple[str, ...] = ()

    @property
    def finite(self) -> bool:
        return self.kind != "int" or self.high is not None

    def contains(self, value: Value) -> bool:
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "int":
            return (
                isinstance(value, int)
                and not isinstance(value, bool)
                and self.low <= value
                and (self.high is None or value <= self.high)
            )
        return isinstance(value, str) and value in self.members

    def includes(self, other: Domain) -> bool:
        """Every value of ``other`` is a value of this domain."""
        if self.kind != other.kind:
            return False
        if self.kind == "int":
            above = self.high is None or (other.high is not None and other.high <= self.high)
            return self.low <= other.low and above
        return set(other.members) <= set(self.members)

    def values(self) -> tuple[Value, ...]:
        if self.kind == "bool":
            return (False, True)
        if self.kind == "int":
            if self.high is None:
                raise InvalidModel(f"the domain {self.describe()} is infinite")
            return tuple(range(self.low, self.high + 1))
        return self.members

    def describe(self) -> str:
        if self.kind == "bool":
            return "bool"
        if self.kind == "int":
            return f"{self.low}.." + ("" if self.high is None else str(self.high))
        return "{" + ", ".join(self.members) + "}"


def boolean() -> Domain:
    return Domain("bool")


def int_range(low: int, high: int) -> Domain:
    if low > high:
        raise InvalidModel(f"empty integer range {low}..{high}")
    return Domain("int", low=low, high=high)


def naturals() -> Domain:
    """The unbounded domain 0, 1, 2, ...: only engines over integer arithmetic accept it."""
    return Domain("int", low=0, high=None)


def enum(*members: str) -> Domain:
    if not members or len(set(members)) != len(members):
        raise InvalidModel(f"an enum needs distinct members, got {members!r}")
    return Domain("enum", members=tuple(members))


@dataclass(frozen=True)
class Variable:
    name: str
    domain: Domain
    description: str = ""


@dataclass(frozen=True)
class Action:
    """One parameterised action instance, e.g. ``EcDoRpcExt2(worker=1)``.

    ``labels`` are rendering hints (thread, message, security context, result, ...) evaluated in
    the state before the step; they do not change the semantics.
    """

    name: str
    params: tuple[tuple[str, int], ...]
    guard: Expr
    updates: tuple[tuple[str, Expr], ...]
    labels: tuple[tuple[str, Expr], ...] = ()

    @functools.cached_property
    def label(self) -> str:
        """How the instance is written (``call_label``), made once: the checks of a system name it often."""
        return call_label(self.name, self.params)


@dataclass(frozen=True)
class ProcessGroup:
    """Interchangeable processes that a model declares, so that engines may reduce by symmetry.

    ``blocks`` holds one tuple of variable names per process, position i having the same role
    (and domain) in every block: permuting the blocks maps executions to executions. ``value``,
    when set, is the enum value naming the group (e.g. the user its processes impersonate); two
    such groups of one shape may be swapped together with their values. A declaration is a
    claim: ``regcheck.core.symmetry`` verifies it against the actions before any engine relies on it.
    """

    blocks: tuple[tuple[str, ...], ...]
    value: str | None = None


@dataclass(frozen=True)
class Obligation:
    """``[](trigger => <>goal)``: whenever ``trigger`` holds, ``goal`` holds then or later."""

    trigger: Expr
    goal: Expr
    label: str = ""


@dataclass(frozen=True)
class Property:
    """A named property of one system.

    Safety: ``formula`` holds in every reachable state. Liveness: every fair infinite execution
    meets each of ``obligations``, where fair means weak fairness for every instance of the
    actions named in ``fairness`` (an instance enabled for ever from some point is taken
    infinitely often). A state with no enabled action repeats for ever (stuttering).
    """

    name: str
    kind: Kind
    description: str
    source: str
    formula: Expr
    obligations: tuple[Obligation, ...] = ()
    fairness: tuple[str, ...] = ()

    def fair_actions(self, system: TransitionSystem) -> list[int]:
        """Indices of the system's actions under weak fairness for this property."""
        return [i for i, a in enumerate(system.actions) if a.name in self.fairness]


@dataclass(frozen=True)
class TransitionSystem:
    """A validated, immutable transition system; see the module docstring for its semantics."""

    name: str
    variables: tuple[Variable, ...]
    init: Expr
    actions: tuple[Action, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)
    symmetry: tuple[ProcessGroup, ...] = ()
    stutter: tuple[tuple[str, Value], ...] = ()
    """The labels of the step that closes a lasso ending in a state with no enabled action (the
    model says how such a step is drawn; the core knows no label names)."""

    def __post_init__(self) -> None:
        names = [v.name for v in self.variables]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise InvalidModel(f"variable {dup!r} is declared twice")
        self._check_symmetry()
        labels = [a.label for a in self.actions]
        if len(set(labels)) != len(labels):
            dup = next(n for n in labels if labels.count(n) > 1)
            raise InvalidModel(f"action {dup} is declared twice")
        checker = _TypeChecker(self.domains)
        checker.expect(self.init, "bool", "the initial predicate")
        for action in self.actions:
            checker.expect(action.guard, "bool", f"the guard of {action.label}")
            targets = [t for t, _ in action.updates]
            if len(set(targets)) != len(targets):
                raise InvalidModel(f"{action.label} updates a variable twice")
            for target, value in action.updates:
                if target not in self.domains:
                    raise InvalidModel(f"{action.label} updates unknown variable {target!r}")
                checker.assignable(value, self.domains[target], f"{action.label}: {target}")
            for key, value in action.labels:
                checker.infer(value, f"label {key!r} of {action.label}")

    def _check_symmetry(self) -> None:
        """The declared process groups are well formed: known, disjoint, block shapes alike."""
        domains = self.domains
        placed: set[str] = set()
        for group in self.symmetry:
            shape = [domains.get(name) for name in group.blocks[0]] if group.blocks else []
            for block in group.blocks:
                for name in block:
                    if name not in domains:
                        raise InvalidModel(f"symmetry: unknown variable {name!r}")
                    if name in placed:
                        raise InvalidModel(f"symmetry: variable {name!r} is in two blocks")
                    placed.add(name)
                if [domains[name] for name in block] != shape:
                    raise InvalidModel(f"symmetry: block {block} differs in shape from {group.blocks[0]}")

    @functools.cached_property
    def domains(self) -> dict[str, Domain]:
        """Each variable's domain (kept: read in every engine's inner loops; never to be changed)."""
        return {v.name: v.domain for v in self.variables}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)

    def action(self, label: str) -> Action:
        for action in self.actions:
            if action.label == label:
                return action
        raise KeyError(label)

    def updates_to_prove(self) -> list[tuple[int, str]]:
        """(action index, variable) of every update whose value may leave the variable's domain.

        The type checker has put every constant an update can yield in its domain, so an update
        whose every value (through ``Ite``) is such a constant or a variable of an included domain
        cannot leave it; the others (arithmetic, variables of wider domains) need the proof of
        ``regcheck.core.domains``.
        """
        domains = self.domains
        return [
            (index, target)
            for index, action in enumerate(self.actions)
            for target, value in action.updates
            if not _stays_in(value, domains[target], domains)
        ]

    def check_formula(self, formula: Expr, what: str) -> None:
        """Raise InvalidModel unless ``formula`` is a well-typed predicate over this system's variables."""
        _TypeChecker(self.domains).expect(formula, "bool", what)

    # Concrete semantics, shared by replay and the explicit-state engine.

    def initial_state(self) -> dict[str, Value]:
        """The single initial state, when ``init`` fixes every variable to a constant."""
        values: dict[str, Value] = {}
        conjuncts = self.init.args if isinstance(self.init, And) else (self.init,)
        for c in conjuncts:
            if isinstance(c, Eq) and isinstance(c.lhs, Var) and isinstance(c.rhs, Const):
                values[c.lhs.name] = c.rhs.value
            elif isinstance(c, Var):
                values[c.name] = True
            elif isinstance(c, Not) and isinstance(c.arg, Var):
                values[c.arg.name] = False
            else:
                raise InvalidModel(f"initial predicate is not a conjunction of assignments: {render(c)}")
        missing = set(self.names) - set(values)
        if missing:
            raise InvalidModel(f"initial predicate leaves {sorted(missing)} unconstrained")
        return {name: values[name] for name in self.names}

    def enabled(self, state: State) -> Iterator[Action]:
        return (a for a in self.actions if evaluate(a.guard, state))

    def apply(self, action: Action, state: State) -> dict[str, Value]:
        """The successor of ``state`` under ``action`` (whose guard the caller has checked)."""
        successor = dict(state)
        for target, value in action.updates:
            successor[target] = evaluate(value, state)
        return successor

    def labels_of(self, action: Action, state: State) -> dict[str, Value]:
        return {key: evaluate(value, state) for key, value in action.labels}


class _TypeChecker:
    """Infers the sort ("bool", "int" or "enum") of expressions and rejects ill-typed ones."""

    def __init__(self, domains: Mapping[str, Domain]) -> None:
        self.domains = domains
        # A model shares subexpressions: each node is inferred once. Keyed by identity (the node kept alive beside
        # its sort), not by equality: Const(0) equals Const(False), of another sort.
        self.sorts: dict[int, tuple[Expr, str]] = {}

    def expect(self, expr: Expr, sort: str, what: str) -> None:
        got = self.infer(expr, what)
        if got != sort:
            raise InvalidModel(f"{what} should be {sort}, but {render(expr)} is {got}")

    def assignable(self, expr: Expr, domain: Domain, what: str) -> None:
        self.expect(expr, domain.kind, what)
        for leaf in _leaves(expr):
            if isinstance(leaf, Const) and not domain.contains(leaf.value):
                raise InvalidModel(f"{what} can be {leaf.value!r}, outside its domain {domain.describe()}")

    def infer(self, expr: Expr, what: str) -> str:
        known = self.sorts.get(id(expr))
        if known is None:
            known = self.sorts[id(expr)] = (expr, self._infer(expr, what))
        return known[1]

    def _infer(self, expr: Expr, what: str) -> str:
        # Tested class by class, the commonest first: a model's every node passes here.
        if isinstance(expr, Var):
            if expr.name not in self.domains:
                raise InvalidModel(f"{what} reads unknown variable {expr.name!r}")
            return self.domains[expr.name].kind
        if isinstance(expr, Const):
            value = expr.value
            return "bool" if isinstance(value, bool) else "int" if isinstance(value, int) else "enum"
        if isinstance(expr, (And, Or)):
            for a in expr.args:
                self.expect(a, "bool", what)
            return "bool"
        if isinstance(expr, Eq):
            left, right = self.infer(expr.lhs, what), self.infer(expr.rhs, what)
            if left != right:
                raise InvalidModel(f"{what} compares {left} with {right}: {render(expr)}")
            return "bool"
        if isinstance(expr, Ite):
            self.expect(expr.cond, "bool", what)
            left, right = self.infer(expr.then, what), self.infer(expr.other, what)
            if left != right:
                raise InvalidModel(f"{what} has branches of sorts {left} and {right}: {render(expr)}")
            return left
        if isinstance(expr, Not):
            self.expect(expr.arg, "bool", what)
            return "bool"
        if isinstance(expr, (Add, Mul, Le)):
            self.expect(expr.lhs, "int", what)
            self.expect(expr.rhs, "int", what)
            return "bool" if isinstance(expr, Le) else "int"
        raise InvalidModel(f"{what} is not an expression: {expr!r}")


def _stays_in(value: Expr, domain: Domain, domains: Mapping[str, Domain]) -> bool:
    """``value`` (a well-typed update) lies in ``domain`` whatever the state: see ``updates_to_prove``."""
    if domain.kind == "bool":
        return True
    return all(
        isinstance(leaf, Const) or (isinstance(leaf, Var) and domain.includes(domains[leaf.name]))
        for leaf in _leaves(value)
    )


def _leaves(expr: Expr) -> Iterator[Expr]:
    """The value-producing leaves of an expression (through ``Ite`` branches)."""
    if isinstance(expr, Ite):
        yield from _leaves(expr.then)
        yield from _leaves(expr.other)
    else:
        yield expr


_T = TypeVar("_T")
_MEMO: dict[tuple[int, str], Any] = {}


def per_system(function: Callable[[TransitionSystem], _T]) -> Callable[[TransitionSystem], _T]:
    """``function`` computed once per system object (systems are immutable) and forgotten with it.

    The answer must not refer to the system, or the system would never be collected."""

    @functools.wraps(function)
    def once(system: TransitionSystem) -> _T:
        key = (id(system), f"{function.__module__}.{function.__qualname__}")
        if key not in _MEMO:
            _MEMO[key] = function(system)
            weakref.finalize(system, _MEMO.pop, key, None)
        return _MEMO[key]  # type: ignore[no-any-return]

    return once


__all__ = [
    "Action",
    "Domain",
    "Kind",
    "ProcessGroup",
    "Property",
    "TransitionSystem",
    "Variable",
    "boolean",
    "enum",
    "int_range",
    "naturals",
    "per_system",
]
