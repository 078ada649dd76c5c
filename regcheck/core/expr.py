"""Expressions over finite-domain state: the one language in which guards, updates and properties are written.

Every engine reads these trees: the concrete evaluator below serves replay and the explicit
engine; ``regcheck.core.smt`` translates them to z3. Values are ``bool``, ``int`` or ``str`` (an enum
member). Equality on ``Expr`` stays structural (the nodes are frozen dataclasses), so
comparisons in the language are built with :func:`eq` and :func:`ne`, not ``==``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Union

from regcheck.errors import InvalidModel

Value = Union[bool, int, str]
State = Mapping[str, Value]


class Expr:
    """Base of the expression nodes; ``&``, ``|`` and ``~`` build conjunction, disjunction, negation.

    A node's hash is computed once and kept (``_hash``, not a field: never pickled, so a process with
    another hash seed computes its own); models hash deep trees often (compilation, symmetry, designs)."""

    __slots__ = ("_hash",)
    _hash: int

    def __and__(self, other: Expr) -> Expr:
        return and_(self, other)

    def __or__(self, other: Expr) -> Expr:
        return or_(self, other)

    def __invert__(self) -> Expr:
        return not_(self)


@dataclass(frozen=True, slots=True)
class Const(Expr):
    value: Value


@dataclass(frozen=True, slots=True)
class Var(Expr):
    name: str


@dataclass(frozen=True, slots=True)
class Not(Expr):
    arg: Expr


@dataclass(frozen=True, slots=True)
class And(Expr):
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or(Expr):
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Eq(Expr):
    lhs: Expr
    rhs: Expr


@dataclass(frozen=True, slots=True)
class Ite(Expr):
    cond: Expr
    then: Expr
    other: Expr


@dataclass(frozen=True, slots=True)
class Add(Expr):
    lhs: Expr
    rhs: Expr


@dataclass(frozen=True, slots=True)
class Mul(Expr):
    lhs: Expr
    rhs: Expr


@dataclass(frozen=True, slots=True)
class Le(Expr):
    lhs: Expr
    rhs: Expr


def _kept_hash(self: Expr) -> int:
    """The node's hash, as the dataclass's (its class and fields), computed on first use."""
    try:
        return self._hash
    except AttributeError:
        kept = hash((type(self), *(getattr(self, name) for name in self.__dataclass_fields__)))  # type: ignore[attr-defined]
        object.__setattr__(self, "_hash", kept)
        return kept


for _node in (Const, Var, Not, And, Or, Eq, Ite, Add, Mul, Le):
    _node.__hash__ = _kept_hash  # type: ignore[method-assign, assignment]

TRUE = Const(True)
FALSE = Const(False)

Operand = Union[Expr, Value]


def lift(x: Operand) -> Expr:
    """An operand as an expression: Python values become constants."""
    return x if isinstance(x, Expr) else Const(x)


def var(name: str) -> Var:
    return Var(name)


def not_(x: Operand) -> Expr:
    x = lift(x)
    if isinstance(x, Const):
        return Const(not x.value)
    if isinstance(x, Not):
        return x.arg
    return Not(x)


def and_(*xs: Operand) -> Expr:
    """Conjunction, flattened and with constants folded."""
    args: list[Expr] = []
    for x in map(lift, xs):
        if x == TRUE:
            continue
        if x == FALSE:
            return FALSE
        args.extend(x.args if isinstance(x, And) else (x,))
    if not args:
        return TRUE
    return args[0] if len(args) == 1 else And(tuple(args))


def or_(*xs: Operand) -> Expr:
    """Disjunction, flattened and with constants folded."""
    args: list[Expr] = []
    for x in map(lift, xs):
        if x == FALSE:
            continue
        if x == TRUE:
            return TRUE
        args.extend(x.args if isinstance(x, Or) else (x,))
    if not args:
        return FALSE
    return args[0] if len(args) == 1 else Or(tuple(args))


def implies(a: Operand, b: Operand) -> Expr:
    return or_(not_(a), b)


def eq(a: Operand, b: Operand) -> Expr:
    a, b = lift(a), lift(b)
    if isinstance(a, Const) and isinstance(b, Const):
        return Const(a.value == b.value)
    return Eq(a, b)


def ne(a: Operand, b: Operand) -> Expr:
    return not_(eq(a, b))


def in_(a: Operand, values: Iterable[Value]) -> Expr:
    """``a`` is one of ``values``."""
    return or_(*(eq(a, v) for v in values))


def ite(cond: Operand, then: Operand, other: Operand) -> Expr:
    cond, then, other = lift(cond), lift(then), lift(other)
    if isinstance(cond, Const):
        return then if cond.value else other
    if then == other:
        return then
    return Ite(cond, then, other)


def case(*branches: tuple[Operand, Operand], default: Operand) -> Expr:
    """The value of the first branch whose condition holds, else ``default`` (nested ``ite``)."""
    result = lift(default)
    for cond, value in reversed(branches):
        result = ite(cond, value, result)
    return result


def add(a: Operand, b: Operand) -> Expr:
    a, b = lift(a), lift(b)
    if isinstance(a, Const) and isinstance(b, Const):
        return Const(int(a.value) + int(b.value))
    return Add(a, b)


def mul(a: Operand, b: Operand) -> Expr:
    a, b = lift(a), lift(b)
    if isinstance(a, Const) and isinstance(b, Const):
        return Const(int(a.value) * int(b.value))
    return Mul(a, b)


def le(a: Operand, b: Operand) -> Expr:
    a, b = lift(a), lift(b)
    if isinstance(a, Const) and isinstance(b, Const):
        return Const(int(a.value) <= int(b.value))
    return Le(a, b)


def lt(a: Operand, b: Operand) -> Expr:
    return not_(le(b, a))


def evaluate(expr: Expr, state: State) -> Value:
    """The value of ``expr`` in a concrete state (a mapping from variable name to value)."""
    match expr:
        case Const(value):
            return value
        case Var(name):
            try:
                return state[name]
            except KeyError:
                raise InvalidModel(f"variable {name!r} is not in the state") from None
        case Not(arg):
            return not evaluate(arg, state)
        case And(args):
            return all(evaluate(a, state) for a in args)
        case Or(args):
            return any(evaluate(a, state) for a in args)
        case Eq(lhs, rhs):
            return evaluate(lhs, state) == evaluate(rhs, state)
        case Ite(cond, then, other):
            return evaluate(then, state) if evaluate(cond, state) else evaluate(other, state)
        case Add(lhs, rhs):
            return int(evaluate(lhs, state)) + int(evaluate(rhs, state))
        case Mul(lhs, rhs):
            return int(evaluate(lhs, state)) * int(evaluate(rhs, state))
        case Le(lhs, rhs):
            return int(evaluate(lhs, state)) <= int(evaluate(rhs, state))
    raise InvalidModel(f"not an expression: {expr!r}")


def substitute(expr: Expr, mapping: Mapping[str, Expr]) -> Expr:
    """``expr`` with variables replaced, re-simplified (constants fold away)."""
    match expr:
        case Const():
            return expr
        case Var(name):
            return mapping.get(name, expr)
        case Not(arg):
            return not_(substitute(arg, mapping))
        case And(args):
            return and_(*(substitute(a, mapping) for a in args))
        case Or(args):
            return or_(*(substitute(a, mapping) for a in args))
        case Eq(lhs, rhs):
            return eq(substitute(lhs, mapping), substitute(rhs, mapping))
        case Ite(cond, then, other):
            return ite(substitute(cond, mapping), substitute(then, mapping), substitute(other, mapping))
        case Add(lhs, rhs):
            return add(substitute(lhs, mapping), substitute(rhs, mapping))
        case Mul(lhs, rhs):
            return mul(substitute(lhs, mapping), substitute(rhs, mapping))
        case Le(lhs, rhs):
            return le(substitute(lhs, mapping), substitute(rhs, mapping))
    raise InvalidModel(f"not an expression: {expr!r}")


def variables(expr: Expr) -> set[str]:
    """Names of the state variables ``expr`` reads."""
    match expr:
        case Var(name):
            return {name}
        case Const():
            return set()
        case Not(arg):
            return variables(arg)
        case And(args) | Or(args):
            return set().union(*(variables(a) for a in args))
        case Eq(lhs, rhs) | Add(lhs, rhs) | Mul(lhs, rhs) | Le(lhs, rhs):
            return variables(lhs) | variables(rhs)
        case Ite(cond, then, other):
            return variables(cond) | variables(then) | variables(other)
    raise InvalidModel(f"not an expression: {expr!r}")


def render(expr: Expr) -> str:
    """A readable, TLA+-like rendering for certificates and error messages."""
    match expr:
        case Const(value):
            return str(value).upper() if isinstance(value, bool) else str(value)
        case Var(name):
            return name
        case Not(Eq(lhs, rhs)):
            return f"{render(lhs)} != {render(rhs)}"
        case Not(arg):
            return f"~({render(arg)})"
        case Or(args) if _is_membership(args):
            first = args[0]
            assert isinstance(first, Eq)
            members = ", ".join(render(a.rhs) for a in args if isinstance(a, Eq))
            return f"{render(first.lhs)} \\in {{{members}}}"
        case And(args):
            return " /\\ ".join(f"({render(a)})" if isinstance(a, Or) else render(a) for a in args)
        case Or(args):
            return " \\/ ".join(f"({render(a)})" if isinstance(a, And) else render(a) for a in args)
        case Eq(lhs, rhs):
            return f"{render(lhs)} = {render(rhs)}"
        case Ite(cond, then, other):
            return f"IF {render(cond)} THEN {render(then)} ELSE {render(other)}"
        case Add(lhs, rhs):
            return f"{render(lhs)} + {render(rhs)}"
        case Mul(lhs, rhs):
            return f"{render(lhs)} * {render(rhs)}"
        case Le(lhs, rhs):
            return f"{render(lhs)} <= {render(rhs)}"
    raise InvalidModel(f"not an expression: {expr!r}")


def render_state(state: State) -> str:
    """A state as ``x=1, c=red, b=True``, for messages that name one."""
    return ", ".join(f"{name}={value}" for name, value in state.items())


def _is_membership(args: tuple[Expr, ...]) -> bool:
    """``x = a \\/ x = b \\/ ...`` over one variable and constants, rendered as set membership."""
    return (
        len(args) > 1
        and all(isinstance(a, Eq) and isinstance(a.rhs, Const) for a in args)
        and len({a.lhs for a in args if isinstance(a, Eq)}) == 1
    )
