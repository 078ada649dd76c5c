"""The z3 side of regcheck: expression translation, unrolling, the solver wrapper and the trace decoder.

NOTE(time): this module alone builds time-stamped names (``x@k``) and alone turns a z3 model into
a ``Trace`` or a z3 formula back into an expression; engines go through :class:`Unrolling` and
:class:`Solver` and never name z3 terms.

Enum members are encoded as one integer code per member name across the whole system (so two
enum expressions compare equal exactly when their members do). Two arithmetic encodings:
``bv`` (default) makes every non-Boolean value a small signed bit-vector, so that z3's SAT-based
finite-domain solver does the work (an order of magnitude faster for BMC here than integer
arithmetic), wide enough for every value that the system's expressions and the formulas to be
checked compute, so that none wraps; ``int`` uses mathematical integers, for Spacer's Horn
solving and for systems with unbounded counters.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import z3

from regcheck.core.causes import Field, fields_predicate
from regcheck.core.expr import (
    FALSE,
    TRUE,
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
    Value,
    Var,
    add,
    and_,
    eq,
    in_,
    le,
    mul,
    not_,
    or_,
    render,
)
from regcheck.core.result import STUTTER, Step, Trace
from regcheck.core.system import Domain, TransitionSystem
from regcheck.errors import InvalidModel

SAT, UNSAT, UNKNOWN = "sat", "unsat", "unknown"


TIMEOUT = "timeout"
"""The reason an unknown answer gives when the time allowed ran out."""


def at_time(name: str, k: int) -> str:
    """The z3 name of variable ``name`` at step ``k``."""
    return f"{name}@{k}"


def z3_version() -> str:
    return z3.get_version_string()


class Unrolling:
    """Copies of a system's variables per step, and the formulas that tie the steps together.

    The transition from step k to k+1 uses an action selector ``act@k`` (one integer per step):
    each variable's next value is an if-then-else over the actions that update it, and the
    selected action's guard must hold. This keeps the formula linear in the size of the updates.
    """

    def __init__(self, system: TransitionSystem, *, arith: str = "auto", formulas: Sequence[Expr] = ()) -> None:
        if arith not in ("auto", "bv", "int"):
            raise InvalidModel(f"unknown arithmetic encoding {arith!r}")
        unbounded = [v.name for v in system.variables if not v.domain.finite]
        if arith == "auto":
            arith = "int" if unbounded else "bv"
        if arith == "bv" and unbounded:
            raise InvalidModel(f"{unbounded[0]} is unbounded; only the integer encoding can represent it")
        self.system = system
        self.arith = arith
        # Every enum member a variable can hold or an expression mentions gets its own code.
        members = sorted(
            {m for v in system.variables if v.domain.kind == "enum" for m in v.domain.members}
            | _string_constants(system)
        )
        self.code: dict[str, int] = {m: i for i, m in enumerate(members)}
        self.member: dict[int, str] = {i: m for m, i in self.code.items()}
        # Bit-vectors wide enough for every value that the system's expressions and ``formulas``
        # (the properties to be translated) compute in states within the domains, so that no
        # operation wraps; and for as many enum codes again, for constants only properties mention.
        self._largest = {v.name: _largest(v.domain) for v in system.variables}
        sizes = [2 * len(members) + 2, len(system.actions), *self._largest.values()]
        sizes += [_magnitude(e, self._largest) for e in (*_expressions(system), *formulas)]
        # Two spare bits: a sign bit, and room for those enum codes.
        self.width = max(sizes).bit_length() + 2
        self._steps: list[dict[str, z3.ExprRef]] = []
        self._selectors: list[z3.ExprRef] = []
        self._first_step: z3.BoolRef | None = None
        self._matches: dict[tuple[int, tuple[Field, ...]], z3.BoolRef] = {}
        self._updaters: dict[str, list[tuple[int, Expr]]] = {name: [] for name in system.names}
        for index, action in enumerate(system.actions):
            for target, value in action.updates:
                self._updaters[target].append((index, value))

    def state(self, k: int) -> dict[str, z3.ExprRef]:
        """The z3 constants of step ``k``, declared on first use."""
        while len(self._steps) <= k:
            step = len(self._steps)
            env: dict[str, z3.ExprRef] = {}
            for v in self.system.variables:
                name = at_time(v.name, step)
                env[v.name] = z3.Bool(name) if v.domain.kind == "bool" else self._number(name)
            self._steps.append(env)
        return self._steps[k]

    def _number(self, name: str) -> z3.ExprRef:
        return z3.BitVec(name, self.width) if self.arith == "bv" else z3.Int(name)

    def _value(self, value: int) -> z3.ExprRef:
        return z3.BitVecVal(value, self.width) if self.arith == "bv" else z3.IntVal(value)

    def _code_of(self, member: str) -> int:
        """The code of an enum member; one first seen in a property gets a fresh code no variable holds."""
        if member not in self.code:
            if self.arith == "bv" and len(self.code) + 1 >= 2 ** (self.width - 2):
                raise InvalidModel(f"too many enum constants to encode {member!r}")
            self.code[member] = len(self.code)
            self.member[self.code[member]] = member
        return self.code[member]

    def selector(self, k: int) -> z3.ExprRef:
        while len(self._selectors) <= k:
            self._selectors.append(self._number(at_time("act", len(self._selectors))))
        return self._selectors[k]

    def translate(self, expr: Expr, k: int) -> z3.ExprRef:
        """``expr`` over step ``k``'s variables; InvalidModel if its values may not fit the bit-vectors."""
        if self.arith == "bv" and _magnitude(expr, self._largest) >= 2 ** (self.width - 1):
            raise InvalidModel(
                f"{render(expr)} can exceed the {self.width}-bit encoding of {self.system.name}: "
                "the unrolling must be built with it among its formulas"
            )
        return self._translate(expr, self.state(k))

    def _translate(self, expr: Expr, env: Mapping[str, z3.ExprRef]) -> z3.ExprRef:
        match expr:
            case Const(value):
                if isinstance(value, bool):
                    return z3.BoolVal(value)
                if isinstance(value, int):
                    return self._value(value)
                return self._value(self._code_of(value))
            case Var(name):
                return env[name]
            case Not(arg):
                return z3.Not(self._translate(arg, env))
            case And(args):
                return z3.And([self._translate(a, env) for a in args])
            case Or(args):
                return z3.Or([self._translate(a, env) for a in args])
            case Eq(lhs, rhs):
                return self._translate(lhs, env) == self._translate(rhs, env)
            case Ite(cond, then, other):
                return z3.If(self._translate(cond, env), self._translate(then, env), self._translate(other, env))
            case Add(lhs, rhs):
                return self._translate(lhs, env) + self._translate(rhs, env)
            case Mul(lhs, rhs):
                return self._translate(lhs, env) * self._translate(rhs, env)
            case Le(lhs, rhs):
                return self._translate(lhs, env) <= self._translate(rhs, env)  # signed comparison
        raise InvalidModel(f"cannot translate {expr!r}")

    def within(self, domain: Domain, term: z3.ExprRef) -> z3.BoolRef:
        """``term`` lies in ``domain`` (an unbounded counter: at or above its lower bound)."""
        if domain.kind == "int":
            return z3.And(term >= domain.low, *([term <= domain.high] if domain.high is not None else []))
        if domain.kind == "enum":
            return z3.Or([term == self.code[m] for m in domain.members])
        return z3.BoolVal(True)

    def domains(self, k: int) -> z3.BoolRef:
        """Every variable of step ``k`` lies in its domain."""
        env = self.state(k)
        return z3.And([self.within(v.domain, env[v.name]) for v in self.system.variables])

    def escapes(self, k: int) -> list[tuple[int, str, z3.BoolRef]]:
        """Per update that may leave its variable's domain (``TransitionSystem.updates_to_prove``):
        the action's index, the variable, and the condition that at step k the action is enabled
        and the update's value lies outside the domain."""
        pre, domains = self.state(k), self.system.domains
        found = []
        for index, target in self.system.updates_to_prove():
            action = self.system.actions[index]
            value = self._translate(dict(action.updates)[target], pre)
            outside = z3.Not(self.within(domains[target], value))
            found.append((index, target, z3.And(self._translate(action.guard, pre), outside)))
        return found

    def init(self) -> z3.BoolRef:
        return z3.And(self.domains(0), self.translate(self.system.init, 0))

    def transition(self, k: int) -> z3.ExprRef:
        """One interleaving step from k to k+1 (including the domains of step k+1).

        Built once, for step 0, and shifted to step k by substitution (much cheaper than
        translating every guard and update again)."""
        if self._first_step is None:
            self._first_step = self._build_transition(0)
        if k == 0:
            return self._first_step
        pairs = [(self.selector(0), self.selector(k))]
        for name in self.system.names:
            pairs.append((self.state(0)[name], self.state(k)[name]))
            pairs.append((self.state(1)[name], self.state(k + 1)[name]))
        return z3.substitute(self._first_step, *pairs)

    def _build_transition(self, k: int) -> z3.BoolRef:
        pre, post, act = self.state(k), self.state(k + 1), self.selector(k)
        actions = self.system.actions
        parts = [z3.ULT(act, len(actions)) if self.arith == "bv" else z3.And(act >= 0, act < len(actions))]
        parts.extend(z3.Implies(act == i, self._translate(a.guard, pre)) for i, a in enumerate(actions))
        for name in self.system.names:
            nxt: z3.ExprRef = pre[name]
            for index, value in reversed(self._updaters[name]):
                nxt = z3.If(act == index, self._translate(value, pre), nxt)
            parts.append(post[name] == nxt)
        parts.append(self.domains(k + 1))
        return z3.And(parts)

    def action_relation(self, index: int, k: int) -> z3.BoolRef:
        """Action ``index`` fires from step k to k+1: its guard, its updates, every other variable kept."""
        action = self.system.actions[index]
        pre, post = self.state(k), self.state(k + 1)
        updates = dict(action.updates)
        parts = [self._translate(action.guard, pre)]
        for name in self.system.names:
            parts.append(post[name] == (self._translate(updates[name], pre) if name in updates else pre[name]))
        return z3.And(parts)

    def to_expr(self, formula: z3.ExprRef, k: int = 0) -> Expr:
        """A z3 formula over step ``k``'s variables as an expression in the model's own names.

        Used for certificates (e.g. Spacer's inductive invariant): atoms over enum variables are
        rewritten as set membership (``reg[1] \\in {none, alice}``), never left as integer codes.
        """
        names = {env.get_id(): name for name, env in self.state(k).items()}
        return _Decoder(self, names).formula(formula)

    def decode(self, model: z3.ModelRef, length: int) -> Trace:
        """The trace of ``length`` steps that ``model`` describes, with labels evaluated concretely."""
        states = self.decode_states(model, length + 1)
        return Trace(vars=self.system.names, states=states, steps=self.decode_steps(model, states, length))

    def decode_states(self, model: z3.ModelRef, count: int) -> tuple[dict[str, Value], ...]:
        """The first ``count`` states ``model`` describes."""
        states: list[dict[str, Value]] = []
        for k in range(count):
            env = self.state(k)
            state: dict[str, Value] = {}
            for v in self.system.variables:
                raw = model.eval(env[v.name], model_completion=True)
                if v.domain.kind == "bool":
                    state[v.name] = z3.is_true(raw)
                elif v.domain.kind == "int":
                    state[v.name] = raw.as_signed_long() if self.arith == "bv" else raw.as_long()
                else:
                    state[v.name] = self.member[raw.as_long()]
            states.append(state)
        return tuple(states)

    def decode_steps(self, model: z3.ModelRef, states: Sequence[Mapping[str, Value]], count: int) -> tuple[Step, ...]:
        """The actions of the first ``count`` steps, labelled in the states before them."""
        steps = []
        for k in range(count):
            index = model.eval(self.selector(k), model_completion=True).as_long()
            action = self.system.actions[index]
            steps.append(Step(action.name, action.params, self.system.labels_of(action, states[k])))
        return tuple(steps)

    def step_matches(self, k: int, fields: Sequence[Field]) -> z3.BoolRef:
        """Step k (from state k to k+1) takes an action whose name and labels take the listed values."""
        key = (k, tuple(fields))
        if key not in self._matches:
            domains = self.system.domains
            options = []
            for index, action in enumerate(self.system.actions):
                condition = fields_predicate(action.name, dict(action.labels), fields, domains)
                if condition != Const(False):
                    options.append(z3.And(self.selector(k) == index, self.translate(condition, k)))
            self._matches[key] = z3.Or(options) if options else z3.BoolVal(False)
        return self._matches[key]


class Lasso:
    """Lasso-shaped executions over an unrolling: states 0..k, then a closing step from k back to l.

    The closing step is an action of the system, or a stutter when no action is enabled at k.
    ``loop@i`` selects l. Fairness and obligations are stated over the loop's positions.
    """

    def __init__(self, unrolling: Unrolling) -> None:
        self.u = unrolling
        self._obligations = 0

    def loop(self, i: int, k: int) -> z3.BoolRef:
        return z3.Bool(f"loop@{i}/{k}")

    def stutter(self, k: int) -> z3.BoolRef:
        return z3.Bool(f"stutter/{k}")

    def in_loop(self, j: int, k: int) -> z3.BoolRef:
        """Position j (0 <= j <= k) is on the loop: the loop starts at or before it (see ``shape``)."""
        return z3.Bool(f"inloop@{j}/{k}")

    def shape(self, k: int) -> z3.BoolRef:
        """States 0..k (their transitions asserted elsewhere) closed into a loop by step k."""
        u = self.u
        last, closing = u.state(k), u.state(k + 1)
        choose = [self.loop(i, k) for i in range(k + 1)]
        exactly_one = z3.And(z3.Or(choose), *[z3.Not(z3.And(a, b)) for n, a in enumerate(choose) for b in choose[n + 1:]])
        back = z3.And([z3.Implies(self.loop(i, k), _same(closing, u.state(i))) for i in range(k + 1)])
        nothing_enabled = z3.And([z3.Not(u._translate(a.guard, last)) for a in u.system.actions])
        stutter = z3.And(nothing_enabled, _same(closing, last), self.loop(k, k))
        close = z3.If(self.stutter(k), stutter, u.transition(k))
        # in_loop(j) = loop(0) \/ ... \/ loop(j), defined step by step to keep the formula linear.
        chain = [self.in_loop(0, k) == self.loop(0, k)]
        chain += [self.in_loop(j, k) == z3.Or(self.in_loop(j - 1, k), self.loop(j, k)) for j in range(1, k + 1)]
        return z3.And(exactly_one, back, close, *chain)

    def fair(self, k: int, actions: Sequence[int]) -> z3.BoolRef:
        """Weak fairness on the loop: each action is taken on it, or disabled somewhere on it."""
        u = self.u
        parts = []
        for index in actions:
            guard = u.system.actions[index].guard
            taken = [
                z3.And(self.in_loop(j, k), u.selector(j) == u._value(index), *( [z3.Not(self.stutter(k))] if j == k else []))
                for j in range(k + 1)
            ]
            disabled = [z3.And(self.in_loop(j, k), z3.Not(u.translate(guard, j))) for j in range(k + 1)]
            parts.append(z3.Or(taken + disabled))
        return z3.And(parts) if parts else z3.BoolVal(True)

    def violates(self, k: int, trigger: Expr, goal: Expr) -> z3.BoolRef:
        """``[](trigger => <>goal)`` fails on the lasso: trigger at some j, goal never from j on."""
        u = self.u
        self._obligations += 1
        tag = self._obligations
        never_in_loop = z3.And([z3.Implies(self.in_loop(m, k), z3.Not(u.translate(goal, m))) for m in range(k + 1)])
        # unmet(j): goal fails at every position from j to k (defined backwards, linearly).
        unmet = [z3.Bool(f"unmet{tag}@{j}/{k}") for j in range(k + 1)]
        chain = [unmet[k] == z3.Not(u.translate(goal, k))]
        chain += [unmet[j] == z3.And(z3.Not(u.translate(goal, j)), unmet[j + 1]) for j in range(k)]
        options = [z3.And(u.translate(trigger, j), unmet[j]) for j in range(k + 1)]
        return z3.And(never_in_loop, z3.Or(options), *chain)

    def decode(self, model: z3.ModelRef, k: int) -> Trace:
        stutters = z3.is_true(model.eval(self.stutter(k), model_completion=True))
        loop = next(i for i in range(k + 1) if z3.is_true(model.eval(self.loop(i, k), model_completion=True)))
        if not stutters:
            trace = self.u.decode(model, k + 1)
            return Trace(vars=trace.vars, states=trace.states, steps=trace.steps, loop=loop)
        states = self.u.decode_states(model, k + 2)
        steps = (*self.u.decode_steps(model, states, k), Step(STUTTER, (), dict(self.u.system.stutter)))
        return Trace(vars=self.u.system.names, states=states, steps=steps, loop=loop)


def _same(a: Mapping[str, z3.ExprRef], b: Mapping[str, z3.ExprRef]) -> z3.BoolRef:
    return z3.And([a[name] == b[name] for name in a])


class _Decoder:
    """Turns a quantifier-free z3 formula over one step's variables back into an ``Expr``."""

    MAX_ENUMERATION = 512

    def __init__(self, unrolling: Unrolling, names: Mapping[int, str]) -> None:
        self.u = unrolling
        self.names = names
        self.domains = unrolling.system.domains

    def formula(self, f: z3.ExprRef) -> Expr:
        if z3.is_true(f):
            return TRUE
        if z3.is_false(f):
            return FALSE
        if z3.is_and(f):
            return and_(*(self.formula(c) for c in f.children()))
        if z3.is_or(f):
            return or_(*(self.formula(c) for c in f.children()))
        if z3.is_not(f):
            return not_(self.formula(f.arg(0)))
        if z3.is_implies(f):
            return or_(not_(self.formula(f.arg(0))), self.formula(f.arg(1)))
        if z3.is_const(f) and f.get_id() in self.names:
            return Var(self.names[f.get_id()])
        if z3.is_eq(f) and z3.is_bool(f.arg(0)):
            a, b = self.formula(f.arg(0)), self.formula(f.arg(1))
            return or_(and_(a, b), and_(not_(a), not_(b)))
        if z3.is_app_of(f, z3.Z3_OP_ITE) and z3.is_bool(f):
            c = self.formula(f.arg(0))
            return or_(and_(c, self.formula(f.arg(1))), and_(not_(c), self.formula(f.arg(2))))
        return self.atom(f)

    def atom(self, f: z3.ExprRef) -> Expr:
        """An arithmetic comparison: enumerated over its finite variables, kept linear over counters."""
        used = sorted({self.names[c.get_id()] for c in _constants(f) if c.get_id() in self.names})
        finite = [n for n in used if self.domains[n].finite]
        if finite and len(finite) == len(used) and math.prod(len(self.domains[n].values()) for n in used) <= (
            self.MAX_ENUMERATION
        ):
            return self.enumerate(f, used)
        if any(self.domains[n].kind == "enum" for n in used):
            raise InvalidModel(f"cannot express {f} in the model's names")
        return self.linear(f)

    def enumerate(self, f: z3.ExprRef, used: list[str]) -> Expr:
        consts = [z3_const for z3_const in _constants(f) if z3_const.get_id() in self.names]
        by_name = {self.names[c.get_id()]: c for c in consts}
        rows: list[dict[str, Value]] = [{}]
        for name in used:
            rows = [{**row, name: v} for row in rows for v in self.domains[name].values()]
        satisfying = []
        for row in rows:
            subst = [(by_name[n], self._literal(n, v)) for n, v in row.items()]
            if z3.is_true(z3.simplify(z3.substitute(f, *subst))):
                satisfying.append(row)
        if len(used) == 1:
            (name,) = used
            values = [row[name] for row in satisfying]
            if len(values) == len(self.domains[name].values()):
                return TRUE
            if self.domains[name].kind == "bool":
                return or_(*(Var(name) if v else not_(Var(name)) for v in values))
            return in_(Var(name), values)
        return or_(*(and_(*(eq(Var(n), v) for n, v in row.items())) for row in satisfying))

    def _literal(self, name: str, value: Value) -> z3.ExprRef:
        if isinstance(value, bool):
            return z3.BoolVal(value)
        if isinstance(value, str):
            return self.u._value(self.u.code[value])
        return self.u._value(value)

    def linear(self, f: z3.ExprRef) -> Expr:
        kind = f.decl().kind()
        a, b = (self.term(f.arg(0)), self.term(f.arg(1))) if f.num_args() == 2 else (None, None)
        if a is None or b is None:
            raise InvalidModel(f"cannot express {f} in the model's names")
        if kind == z3.Z3_OP_LE:
            return le(a, b)
        if kind == z3.Z3_OP_GE:
            return le(b, a)
        if kind == z3.Z3_OP_LT:
            return not_(le(b, a))
        if kind == z3.Z3_OP_GT:
            return not_(le(a, b))
        if kind == z3.Z3_OP_EQ:
            return eq(a, b)
        raise InvalidModel(f"cannot express {f} in the model's names")

    def term(self, t: z3.ExprRef) -> Expr:
        if z3.is_int_value(t):
            return Const(t.as_long())
        if z3.is_const(t) and t.get_id() in self.names:
            return Var(self.names[t.get_id()])
        if z3.is_add(t):
            result = self.term(t.arg(0))
            for child in t.children()[1:]:
                result = add(result, self.term(child))
            return result
        if z3.is_mul(t):
            result = self.term(t.arg(0))
            for child in t.children()[1:]:
                result = mul(result, self.term(child))
            return result
        if z3.is_sub(t):
            return add(self.term(t.arg(0)), mul(-1, self.term(t.arg(1))))
        if z3.is_app_of(t, z3.Z3_OP_UMINUS):
            return mul(-1, self.term(t.arg(0)))
        raise InvalidModel(f"cannot express {t} in the model's names")


def _expressions(system: TransitionSystem) -> list[Expr]:
    """The initial predicate and every guard, update and label of ``system``."""
    found = [system.init]
    for action in system.actions:
        found.append(action.guard)
        found.extend(value for _, value in action.updates)
        found.extend(value for _, value in action.labels)
    return found


def _largest(domain: Domain) -> int:
    """The greatest absolute value of an integer domain (its lower bound's, if unbounded); 1 for the others."""
    if domain.kind != "int":
        return 1
    return max(abs(domain.low), abs(domain.high if domain.high is not None else domain.low))


def _magnitude(expr: Expr, largest: Mapping[str, int]) -> int:
    """A bound on the absolute value of ``expr`` and of each of its sub-expressions, in states where
    each variable's absolute value is at most ``largest`` of it (enum codes are bounded apart)."""
    match expr:
        case Const(value):
            return abs(value) if isinstance(value, int) else 1
        case Var(name):
            return largest[name]
        case Add(lhs, rhs):
            return _magnitude(lhs, largest) + _magnitude(rhs, largest)
        case Mul(lhs, rhs):
            a, b = _magnitude(lhs, largest), _magnitude(rhs, largest)
            return max(a * b, a, b)
        case Not(arg):
            return _magnitude(arg, largest)
        case And(args) | Or(args):
            return max(_magnitude(a, largest) for a in args)
        case Eq(lhs, rhs) | Le(lhs, rhs):
            return max(_magnitude(lhs, largest), _magnitude(rhs, largest))
        case Ite(cond, then, other):
            return max(_magnitude(cond, largest), _magnitude(then, largest), _magnitude(other, largest))
    raise InvalidModel(f"not an expression: {expr!r}")


def _string_constants(system: TransitionSystem) -> set[str]:
    found: set[str] = set()
    stack: list[Expr] = _expressions(system)
    while stack:
        expr = stack.pop()
        match expr:
            case Const(value) if isinstance(value, str):
                found.add(value)
            case Not(arg):
                stack.append(arg)
            case And(args) | Or(args):
                stack.extend(args)
            case Eq(lhs, rhs) | Add(lhs, rhs) | Mul(lhs, rhs) | Le(lhs, rhs):
                stack.extend((lhs, rhs))
            case Ite(cond, then, other):
                stack.extend((cond, then, other))
    return found


def _constants(f: z3.ExprRef) -> list[z3.ExprRef]:
    seen: dict[int, z3.ExprRef] = {}
    stack = [f]
    while stack:
        t = stack.pop()
        if z3.is_const(t) and t.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            seen[t.get_id()] = t
        else:
            stack.extend(t.children())
    return list(seen.values())


@dataclass(frozen=True)
class HornAnswer:
    status: str  # "sat" (violated), "unsat" (holds), "unknown"
    invariant: Expr | None = None
    actions: tuple[str, ...] = ()
    reason: str = ""


class HornProblem:
    """A system as constrained Horn clauses for Spacer (z3's PDR/IC3 engine), in integer arithmetic."""

    def __init__(self, system: TransitionSystem) -> None:
        self.system = system
        self.u = Unrolling(system, arith="int")

    def query(self, formula: Expr, *, timeout: float | None = None) -> HornAnswer:
        """Does ``formula`` hold in every reachable state? With the invariant or the actions along a violation."""
        u = self.u
        pre, post = u.state(0), u.state(1)
        fp = z3.Fixedpoint()
        fp.set(engine="spacer")
        # Keep the clauses as written, so that the invariant speaks of the model's own variables.
        fp.set("xform.slice", False)
        fp.set("xform.inline_linear", False)
        fp.set("xform.inline_eager", False)
        # And keep the derivation of a violation whole: the subsumption checker can drop the rules
        # of the actions from it (with one Boolean variable, nothing but the query is left).
        fp.set("xform.subsumption_checker", False)
        if timeout is not None:
            fp.set("timeout", max(1, int(timeout * 1000)))
        inv = z3.Function("Inv", *(x.sort() for x in pre.values()), z3.BoolSort())
        err = z3.Function("Err", z3.BoolSort())
        fp.register_relation(inv, err)
        fp.declare_var(*pre.values(), *post.values())
        inv_pre, inv_post = inv(*pre.values()), inv(*post.values())
        fp.rule(inv_pre, [u.domains(0), u.translate(self.system.init, 0)], name="init")
        for index in range(len(self.system.actions)):
            fp.rule(inv_post, [inv_pre, u.action_relation(index, 0), u.domains(1)], name=f"a{index}")
        fp.rule(err(), [inv_pre, z3.Not(u.translate(formula, 0))], name="violation")
        started = time.monotonic()
        try:
            answer = fp.query(err())
        except z3.Z3Exception as exc:  # Spacer reports a timeout as a cancelled query
            reason = str(exc.value.decode() if isinstance(exc.value, bytes) else exc)
            _interrupted(reason, None if timeout is None else timeout - (time.monotonic() - started))
            return HornAnswer("unknown", reason=reason)
        if answer == z3.unsat:
            cover = fp.get_cover_delta(-1, inv)
            invariant = u.to_expr(z3.substitute_vars(cover, *pre.values()), 0)
            return HornAnswer("unsat", invariant=invariant)
        if answer == z3.sat:
            # Rule names come last-rule-first: the query, the actions backwards, then "init".
            names = [n for n in reversed(fp.get_rule_names_along_trace()) if n[:1] == "a" and n[1:].isdigit()]
            actions = tuple(self.system.actions[int(n[1:])].label for n in names)
            return HornAnswer("sat", actions=actions)
        return HornAnswer("unknown", reason=fp.reason_unknown())


@dataclass(frozen=True)
class Escape:
    """An action that, enabled in a state within every domain, takes ``variable`` out of its domain."""

    action: int
    variable: str
    state: dict[str, Value]


def find_escape(system: TransitionSystem, *, timeout: float) -> Escape | None:
    """An update leaving its variable's domain, with a state it happens in; None if there is none.

    Decided in integer arithmetic, so that no bit-vector can wrap; InvalidModel if z3 cannot
    decide within ``timeout`` seconds.
    """
    u = Unrolling(system, arith="int")
    escapes = u.escapes(0)
    if not escapes:
        return None
    solver = Solver(time.monotonic() + timeout, finite=False)
    solver.add(u.domains(0))
    answer = solver.check_under(z3.Or([condition for _, _, condition in escapes]))
    if answer == UNSAT:
        return None
    if answer == UNKNOWN:
        raise InvalidModel(
            f"z3 could not decide within {timeout:g} s whether every update of {system.name} stays in its "
            f"variable's domain ({solver.reason_unknown()})"
        )
    model = solver.model()
    index, variable = next((i, v) for i, v, c in escapes if z3.is_true(model.eval(c, model_completion=True)))
    return Escape(index, variable, u.decode_states(model, 1)[0])


class Solver:
    """An incremental z3 solver with a deadline; answers are ``sat``, ``unsat`` or ``unknown``.

    Queries that should not stay asserted go through :meth:`check_under` (assumption literals)
    rather than push/pop, which would push z3 off its fast SAT-based finite-domain solver.
    """

    def __init__(self, deadline: float | None = None, *, finite: bool = True) -> None:
        # QF_FD: z3's SAT-based solver for bit-vectors and Booleans; integers need the general one.
        self._solver = z3.SolverFor("QF_FD") if finite else z3.Solver()
        self.deadline = deadline
        self._queries = 0

    def add(self, formula: z3.ExprRef) -> None:
        self._solver.add(formula)

    def check_under(self, *formulas: z3.ExprRef) -> str:
        """Are ``formulas`` satisfiable together with the assertions? They are not kept asserted."""
        self._queries += 1
        guard = z3.Bool(f"query!{self._queries}")
        self._solver.add(z3.Implies(guard, z3.And(*formulas)))
        return self.check(guard)

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def check(self, *assumptions: z3.ExprRef) -> str:
        remaining = self.remaining()
        if remaining is not None:
            if remaining <= 0:
                return UNKNOWN
            self._solver.set("timeout", max(1, int(remaining * 1000)))
        answer = self._solver.check(*assumptions)
        if answer == z3.sat:
            return SAT
        if answer == z3.unsat:
            return UNSAT
        _interrupted(self._solver.reason_unknown(), self.remaining())
        return UNKNOWN

    def reason_unknown(self) -> str:
        """Why the last check answered unknown: ``timeout`` when the deadline ran out, else z3's words."""
        reason = self._solver.reason_unknown()
        remaining = self.remaining()
        if reason in ("timeout", "canceled") or (remaining is not None and remaining <= 0):
            return TIMEOUT
        return reason or "no reason given"

    def model(self) -> z3.ModelRef:
        return self._solver.model()


def all_of(*formulas: z3.ExprRef) -> z3.BoolRef:
    return z3.And(*formulas)


def any_of(*formulas: z3.ExprRef) -> z3.BoolRef:
    return z3.Or(*formulas)


def negation(formula: z3.ExprRef) -> z3.BoolRef:
    return z3.Not(formula)


def any_differs(a: Mapping[str, z3.ExprRef], b: Mapping[str, z3.ExprRef]) -> z3.BoolRef:
    """Two steps' states differ in some variable (simple-path constraints)."""
    return z3.Or([a[name] != b[name] for name in a])


def _interrupted(reason: str, remaining: float | None) -> None:
    """Raise KeyboardInterrupt where z3 was cancelled with time to spare: z3 takes Ctrl-C itself while it
    solves (in the parent; children ignore it), and ends the query "canceled" rather than letting it through."""
    if "cancel" in reason and (remaining is None or remaining > _CANCEL_MARGIN_S):
        raise KeyboardInterrupt


_CANCEL_MARGIN_S = 0.25
"""A query cancelled with less time than this left ran out of time; with more, it was interrupted."""


@contextmanager
def signals_cancel_queries() -> Iterator[None]:
    """In a command's main thread: Ctrl-C and SIGTERM cancel the z3 query under way at once, and Python's own
    handlers (KeyboardInterrupt, the command's SIGTERM handler) act as soon as it returns. z3's own Ctrl-C handler
    is off: it would take SIGINT from Python and end the query "canceled", read as an interrupt only with time to
    spare (``_interrupted``), and nothing cut a query short for SIGTERM. A thread reads the signals Python's C
    handler writes to its wake-up descriptor as they come, and interrupts z3's context."""
    taking = z3.get_param("ctrl_c")  # type: ignore[attr-defined]  # z3.z3 defines these; the stubs miss them
    z3.set_param("ctrl_c", False)  # type: ignore[attr-defined]
    read, write = os.pipe()
    os.set_blocking(write, False)
    previous = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    watcher = threading.Thread(target=_cancel_on_signals, args=(read,), name="regcheck-signals", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous)
        os.write(write, bytes([_STOP]))
        watcher.join()
        os.close(read)
        os.close(write)
        z3.set_param("ctrl_c", taking)  # type: ignore[attr-defined]


_STOP = 0
"""The byte that ends :func:`_cancel_on_signals` (no signal has number 0)."""


def _cancel_on_signals(read: int) -> None:
    """Interrupt z3's context at each SIGINT or SIGTERM written to ``read``, until :data:`_STOP`."""
    while True:
        numbers = os.read(read, 64)
        if not numbers or _STOP in numbers:
            return
        if signal.SIGINT in numbers or signal.SIGTERM in numbers:
            z3.main_ctx().interrupt()  # type: ignore[attr-defined]  # as above


def ignore_interrupts() -> None:
    """For a child process, which leaves Ctrl-C to its parent: z3 must not take it either, or a check under
    way would end ``unknown`` (canceled) and be read as an answer."""
    z3.set_param("ctrl_c", False)  # type: ignore[attr-defined]  # z3.z3 defines it; the stubs miss it


def independent_check(formula: z3.ExprRef, solver: str, timeout: float | None = None) -> str:
    """Satisfiability of ``formula`` in a fresh solver: ``z3``, or ``cvc5`` (fed SMT-LIB 2 text).

    Certificates are re-checked here, never in the solver instance that produced them.
    """
    if solver == "z3":
        fresh = z3.Solver()
        if timeout is not None:
            fresh.set("timeout", max(1, int(timeout * 1000)))
        fresh.add(formula)
        started = time.monotonic()
        answer = fresh.check()
        if answer == z3.unknown:
            _interrupted(fresh.reason_unknown(), None if timeout is None else timeout - (time.monotonic() - started))
        return SAT if answer == z3.sat else UNSAT if answer == z3.unsat else UNKNOWN
    if solver == "cvc5":
        return _cvc5_check(formula, timeout)
    raise InvalidModel(f"unknown solver {solver!r}; choose z3 or cvc5")


def _cvc5_check(formula: z3.ExprRef, timeout: float | None) -> str:
    import cvc5

    script = z3.Solver()
    script.add(formula)
    terms = cvc5.TermManager()
    solver = cvc5.Solver(terms)
    solver.setLogic("ALL")
    if timeout is not None:
        solver.setOption("tlimit-per", str(max(1, int(timeout * 1000))))
    parser = cvc5.InputParser(solver)
    parser.setStringInput(cvc5.InputLanguage.SMT_LIB_2_6, script.to_smt2(), "certificate")
    symbols = parser.getSymbolManager()
    answers = []
    while True:
        command = parser.nextCommand()
        if command.isNull():
            break
        answer = command.invoke(solver, symbols)
        if answer.strip():
            answers.append(answer.strip())
    return {"sat": SAT, "unsat": UNSAT}.get(answers[-1] if answers else "", UNKNOWN)
