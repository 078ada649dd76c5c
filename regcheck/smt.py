"""The z3 side of regcheck: expression translation, unrolling, the solver wrapper and the trace decoder.

NOTE(time): this module alone builds time-stamped names (``x@k``) and alone turns a z3 model into
a ``Trace``; engines go through :class:`Unrolling` and :class:`Solver` and never name z3 terms.
Every non-Boolean value is a small signed bit-vector: integers as themselves, enum members as
one code per member name across the whole system (so two enum expressions compare equal exactly
when their members do). Bit-vectors let z3's SAT-based finite-domain solver do the work, which
is an order of magnitude faster here than linear integer arithmetic.
"""

from __future__ import annotations

import time
from typing import Mapping

import z3

from regcheck.errors import InvalidModel
from regcheck.expr import Add, And, Const, Eq, Expr, Ite, Le, Not, Or, Value, Var
from regcheck.result import Step, Trace
from regcheck.system import TransitionSystem

SAT, UNSAT, UNKNOWN = "sat", "unsat", "unknown"


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

    def __init__(self, system: TransitionSystem) -> None:
        self.system = system
        members = sorted({m for v in system.variables if v.domain.kind == "enum" for m in v.domain.members})
        self.code: dict[str, int] = {m: i for i, m in enumerate(members)}
        self.member: dict[int, str] = {i: m for m, i in self.code.items()}
        bounds = [len(members) + 1, len(system.actions)]
        for v in system.variables:
            if v.domain.kind == "int":
                bounds += [abs(v.domain.low), abs(v.domain.high)]
        # Two spare bits: a sign bit, and headroom so that `x + 1` on a domain's top value cannot wrap.
        self.width = max(bounds).bit_length() + 2
        self._steps: list[dict[str, z3.ExprRef]] = []
        self._selectors: list[z3.BitVecRef] = []
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
                env[v.name] = z3.Bool(name) if v.domain.kind == "bool" else z3.BitVec(name, self.width)
            self._steps.append(env)
        return self._steps[k]

    def selector(self, k: int) -> z3.BitVecRef:
        while len(self._selectors) <= k:
            self._selectors.append(z3.BitVec(at_time("act", len(self._selectors)), self.width))
        return self._selectors[k]

    def translate(self, expr: Expr, k: int) -> z3.ExprRef:
        return self._translate(expr, self.state(k))

    def _translate(self, expr: Expr, env: Mapping[str, z3.ExprRef]) -> z3.ExprRef:
        match expr:
            case Const(value):
                if isinstance(value, bool):
                    return z3.BoolVal(value)
                if isinstance(value, int):
                    return z3.BitVecVal(value, self.width)
                # A member no variable declares gets a code no variable can hold.
                return z3.BitVecVal(self.code.get(value, len(self.code)), self.width)
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
            case Le(lhs, rhs):
                return self._translate(lhs, env) <= self._translate(rhs, env)  # signed comparison
        raise InvalidModel(f"cannot translate {expr!r}")

    def domains(self, k: int) -> z3.BoolRef:
        """Every variable of step ``k`` lies in its domain."""
        env = self.state(k)
        parts = []
        for v in self.system.variables:
            x = env[v.name]
            if v.domain.kind == "int":
                parts.append(z3.And(x >= v.domain.low, x <= v.domain.high))
            elif v.domain.kind == "enum":
                parts.append(z3.Or([x == self.code[m] for m in v.domain.members]))
        return z3.And(parts)

    def init(self) -> z3.BoolRef:
        return z3.And(self.domains(0), self.translate(self.system.init, 0))

    def transition(self, k: int) -> z3.BoolRef:
        """One interleaving step from k to k+1 (including the domains of step k+1)."""
        pre, post, act = self.state(k), self.state(k + 1), self.selector(k)
        actions = self.system.actions
        parts = [z3.ULT(act, len(actions))]
        parts.extend(z3.Implies(act == i, self._translate(a.guard, pre)) for i, a in enumerate(actions))
        for name in self.system.names:
            nxt: z3.ExprRef = pre[name]
            for index, value in reversed(self._updaters[name]):
                nxt = z3.If(act == index, self._translate(value, pre), nxt)
            parts.append(post[name] == nxt)
        parts.append(self.domains(k + 1))
        return z3.And(parts)

    def decode(self, model: z3.ModelRef, length: int) -> Trace:
        """The trace of ``length`` steps that ``model`` describes, with labels evaluated concretely."""
        states: list[dict[str, Value]] = []
        for k in range(length + 1):
            env = self.state(k)
            state: dict[str, Value] = {}
            for v in self.system.variables:
                raw = model.eval(env[v.name], model_completion=True)
                if v.domain.kind == "bool":
                    state[v.name] = z3.is_true(raw)
                elif v.domain.kind == "int":
                    state[v.name] = raw.as_signed_long()
                else:
                    state[v.name] = self.member[raw.as_long()]
            states.append(state)
        steps = []
        for k in range(length):
            index = model.eval(self.selector(k), model_completion=True).as_long()
            action = self.system.actions[index]
            steps.append(Step(action.name, action.params, self.system.labels_of(action, states[k])))
        return Trace(vars=self.system.names, states=tuple(states), steps=tuple(steps))


class Solver:
    """An incremental z3 solver with a deadline; answers are ``sat``, ``unsat`` or ``unknown``.

    Queries that should not stay asserted go through :meth:`check_under` (assumption literals)
    rather than push/pop, which would push z3 off its fast SAT-based finite-domain solver.
    """

    def __init__(self, deadline: float | None = None) -> None:
        self._solver = z3.SolverFor("QF_FD")
        self.deadline = deadline
        self._queries = 0

    def add(self, formula: z3.BoolRef) -> None:
        self._solver.add(formula)

    def check_under(self, formula: z3.BoolRef) -> str:
        """Is ``formula`` satisfiable together with the assertions? It is not kept asserted."""
        self._queries += 1
        guard = z3.Bool(f"query!{self._queries}")
        self._solver.add(z3.Implies(guard, formula))
        return self.check(guard)

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def check(self, *assumptions: z3.BoolRef) -> str:
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
        return UNKNOWN

    def reason_unknown(self) -> str:
        return self._solver.reason_unknown()

    def model(self) -> z3.ModelRef:
        return self._solver.model()
