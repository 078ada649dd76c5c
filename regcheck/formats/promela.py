"""A TransitionSystem and its properties as a Promela model, for the SPIN model checker.

The translation is generic: it reads the variables, the initial state, the actions and the
properties that every engine reads, and knows nothing of the protocol. :func:`translate` returns
the model's text with what a driver needs to run SPIN on it (:class:`PromelaModel`).

The model, and why it means what the system means:

- **Values.** A ``bool`` is a ``bit``; an integer range the smallest of ``byte``, ``short`` and
  ``int`` that holds it; an enum member a small integer, the same for a member of one name in
  every enum (so that comparing two enum variables compares their members), named by a
  ``#define``. Updates stay in their domains (:func:`regcheck.core.domains.check_domains`, checked
  first), so no store truncates.
- **Steps.** One ``proctype`` per fair action instance, each ``do :: d_step { guard -> updates }
  od``: one indivisible transition, enabled exactly when the guard holds, so the interleaving of
  processes is the interleaving of actions. The updates are simultaneous: an update whose target
  another update reads is computed into a ``hidden`` scratch variable (no part of the state)
  before any target is written. The do-loops are ``end`` states: a state with no enabled action
  is a valid end, which regcheck reads as stuttering for ever, so SPIN reports no deadlock.
- **Fairness.** SPIN's weak fairness (``pan -f``) is per process: a process enabled at every
  state of a cycle must run on it, a process disabled at some state of it is served. With one
  action instance per process, that is exactly regcheck's weak fairness per action instance. The
  instances the liveness properties leave unfair (``Property.fairness``; ServerEvent in the
  protocol) share one process, ``env``, one option each, plus an option that changes nothing and
  is enabled whenever some fair instance is. Sound and complete for the LTL checked here: a fair
  SPIN cycle without its skips is a fair regcheck cycle with the same states (a cycle of skips
  alone stays in one state where a fair process is enabled and never runs, so it is unfair);
  and a fair regcheck cycle either takes an unfair instance (``env`` runs) or only fair ones,
  each enabled at its source, where a skip may be put in. ``env`` itself is then never the
  reason a cycle is unfair, and its instances may be enabled for ever without being taken. The
  skip adds no state (it is a self-loop), and a deadlock is no state where it is enabled.
- **Safety.** Each safety property is an ``assert`` of its formula after every step and in the
  initial state (``init`` checks it, then starts every process in one atomic step), so it is
  checked on every reachable state. Each ``assert`` has a line of its own, which SPIN's replay of
  a trail names; a driver that has found a property violated may turn its line into a ``skip``
  (:meth:`PromelaModel.unchecked`) and look further.
- **Liveness.** Each liveness property is one ``ltl`` block, the conjunction of its obligations
  ``[] (trigger -> <> goal)``. A state with no enabled action repeats for ever in SPIN too (its
  stutter extension of finite runs), with every process disabled and so fair: a deadlock after
  a trigger, with the goal false, violates the obligation there as it does in regcheck.

Every name in the text is generated: variables are ``v_``, processes ``a_``, enum members ``E_``,
properties ``p_``, each from the original with any other character than a letter, a digit or
``_`` replaced, and made unique; the originals appear only in comments, made safe. No text from a
scenario can end a comment, a line or a name.

Run it (:data:`USAGE` is the same in the model's header)::

    spin -a model.pml
    gcc -O2 -DSAFETY -DNOCLAIM -o pan pan.c && ./pan -E          # every safety property
    gcc -O2 -DNOREDUCE -DNFAIR=K -o pan pan.c && ./pan -a -f -E -A -N p_NAME  # one liveness property
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from regcheck.core.domains import check_domains
from regcheck.core.expr import (
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
    and_,
    not_,
    or_,
    variables,
)
from regcheck.core.system import Action, Domain, Kind, Property, TransitionSystem
from regcheck.errors import InvalidModel

MAX_PROCESSES = 255
"""SPIN keeps the number of processes in a byte: ``init``, ``env`` and the action instances must fit."""

USAGE = (
    "spin -a model.pml",
    "gcc -O2 -DSAFETY -DNOCLAIM -o pan pan.c && ./pan -E               (safety: the asserts)",
    "gcc -O2 -DNOREDUCE -DNFAIR={nfair} -o pan pan.c && ./pan -a -f -E -A -N NAME   (liveness: one ltl block)",
)
"""How to run SPIN on the model; ``{nfair}`` is :attr:`PromelaModel.nfair`."""

_IDENT = re.compile(r"[^A-Za-z0-9_]")
_COMMENT_SAFE = re.compile(r"[^A-Za-z0-9 _.,:;=+()\[\]{}<>!&|'#-]")
"""What a comment may hold of a stranger's text: no ``*/``, no backslash (a continued line), no ``?`` (trigraphs)."""


@dataclass(frozen=True)
class SafetyCheck:
    """One safety property's ``assert``: its name and the line it is on, alone."""

    property: str
    line: int


@dataclass(frozen=True)
class LivenessCheck:
    """One liveness property's ``ltl`` block, and the fairness it was built for."""

    property: str
    ltl: str
    fairness: tuple[str, ...]


@dataclass(frozen=True)
class PromelaModel:
    """The Promela text of a system and what a driver needs to know to run SPIN on it."""

    text: str
    safety: tuple[SafetyCheck, ...]
    liveness: tuple[LivenessCheck, ...]
    processes: tuple[str, ...]
    """The process types, one per fair action instance, then ``env`` when there is one."""
    unfair: tuple[str, ...]
    """The labels of the action instances that ``env`` runs (not under weak fairness)."""
    variables: int

    @property
    def nfair(self) -> int:
        """The ``-DNFAIR`` that ``pan -f`` needs for these processes, ``init`` and the claim."""
        return _nfair(len(self.processes))

    def failed_assertion(self, line: int) -> str | None:
        """The safety property whose ``assert`` is on ``line`` (SPIN's replay of a trail names it)."""
        return next((c.property for c in self.safety if c.line == line), None)

    def unchecked(self, names: Iterable[str]) -> str:
        """The text with the ``assert`` of each property in ``names`` made a ``skip`` (the lines stay put)."""
        drop = {c.line for c in self.safety if c.property in set(names)}
        lines = self.text.split("\n")
        for line in drop:
            lines[line - 1] = "  skip;  /* unchecked */"
        return "\n".join(lines)


def translate(system: TransitionSystem, properties: Sequence[Property], *, title: str = "") -> PromelaModel:
    """The Promela model of ``system`` with ``properties``; InvalidModel if SPIN cannot express it.

    ``title`` heads the model as a comment (made safe). The liveness properties must share one
    fairness set (they become ``ltl`` blocks of one model); check the others separately.
    """
    check_domains(system)
    return _Writer(system, properties, title).model()


def _nfair(processes: int) -> int:
    """``-DNFAIR``: pan's fairness counters take NFAIR bytes and serve fewer than ``4 * NFAIR - 1`` processes."""
    return (processes + 4) // 4 + 1


def _comment(text: str) -> str:
    """``text`` as the inside of a one-line comment: nothing that ends it, continues it or is a trigraph."""
    return _COMMENT_SAFE.sub("_", " ".join(text.split()))[:200]


class _Names:
    """Unique Promela (and C preprocessor) identifiers, each made from an original name and a prefix."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def make(self, prefix: str, original: str) -> str:
        stem = prefix + _IDENT.sub("_", original)[:60]
        name, n = stem, 1
        while name in self.used:
            n += 1
            name = f"{stem}_{n}"
        self.used.add(name)
        return name


def _type_of(domain: Domain, codes: int) -> str:
    """The smallest Promela type that holds every value of ``domain``."""
    if domain.kind == "bool":
        return "bit"
    if domain.kind == "enum":
        return "byte" if codes <= 256 else "short"
    if domain.high is None:
        raise InvalidModel(f"the domain {domain.describe()} is infinite: SPIN needs finite domains")
    if 0 <= domain.low and domain.high <= 255:
        return "byte"
    if -(2**15) <= domain.low and domain.high < 2**15:
        return "short"
    if -(2**31) <= domain.low and domain.high < 2**31:
        return "int"
    raise InvalidModel(f"the domain {domain.describe()} does not fit SPIN's int")


def _strings(expr: Expr) -> Iterator[str]:
    """The enum constants ``expr`` mentions."""
    match expr:
        case Const(value):
            if isinstance(value, str):
                yield value
        case Var():
            pass
        case Not(arg):
            yield from _strings(arg)
        case And(args) | Or(args):
            for a in args:
                yield from _strings(a)
        case Eq(lhs, rhs) | Add(lhs, rhs) | Mul(lhs, rhs) | Le(lhs, rhs):
            yield from _strings(lhs)
            yield from _strings(rhs)
        case Ite(cond, then, other):
            yield from _strings(cond)
            yield from _strings(then)
            yield from _strings(other)
        case _:
            raise InvalidModel(f"not an expression: {expr!r}")


def _cases(expr: Expr) -> list[tuple[Expr, Expr]]:
    """``expr`` (a value) as (condition, value without ``Ite`` at its top) pairs whose conditions partition the states."""
    match expr:
        case Ite(cond, then, other):
            c = _no_ite(cond)
            return [(and_(c, a), v) for a, v in _cases(then)] + [(and_(not_(c), b), v) for b, v in _cases(other)]
        case Add(lhs, rhs) | Mul(lhs, rhs):
            node = Add if isinstance(expr, Add) else Mul
            return [(and_(a, b), node(u, v)) for a, u in _cases(lhs) for b, v in _cases(rhs)]
        case Const() | Var():
            return [(TRUE, expr)]
    return [(TRUE, _no_ite(expr))]


def _no_ite(expr: Expr) -> Expr:
    """A boolean ``expr`` without ``Ite`` (which SPIN's ``ltl`` syntax cannot hold: its ``->`` is implication)."""
    match expr:
        case Const() | Var():
            return expr
        case Not(arg):
            return not_(_no_ite(arg))
        case And(args):
            return and_(*map(_no_ite, args))
        case Or(args):
            return or_(*map(_no_ite, args))
        case Ite(cond, then, other):
            c = _no_ite(cond)
            return or_(and_(c, _no_ite(then)), and_(not_(c), _no_ite(other)))
        case Eq(lhs, rhs) | Le(lhs, rhs):
            node = Eq if isinstance(expr, Eq) else Le
            return or_(*(and_(a, b, node(u, v)) for a, u in _cases(lhs) for b, v in _cases(rhs)))
    raise InvalidModel(f"not a boolean expression: {expr!r}")


class _Writer:
    def __init__(self, system: TransitionSystem, properties: Sequence[Property], title: str) -> None:
        self.system = system
        self.properties = list(properties)
        self.title = title
        self.names = _Names()
        self.lines: list[str] = []
        self.safety = [p for p in self.properties if p.kind is Kind.SAFETY]
        self.liveness = [p for p in self.properties if p.kind is not Kind.SAFETY]
        fairness = {tuple(sorted(set(p.fairness))) for p in self.liveness}
        if len(fairness) > 1:
            raise InvalidModel(
                "the liveness properties " + ", ".join(p.name for p in self.liveness)
                + " ask for different fairness; export them one model each"
            )
        self.fairness = set(next(iter(fairness))) if fairness else None
        for p in self.properties:
            system.check_formula(p.formula, f"property {p.name}")
            for o in p.obligations:
                system.check_formula(o.trigger, f"a trigger of {p.name}")
                system.check_formula(o.goal, f"a goal of {p.name}")
        self.codes = self._codes()
        self.var = {v.name: self.names.make("v_", v.name) for v in system.variables}

    # Values --------------------------------------------------------------------------------------

    def _codes(self) -> dict[str, str]:
        """Every enum constant of the system, in order of first appearance, to its ``#define`` name."""
        seen: dict[str, None] = {}
        for v in self.system.variables:
            if v.domain.kind == "enum":
                seen.update(dict.fromkeys(v.domain.members))
        exprs: list[Expr] = [self.system.init]
        for a in self.system.actions:
            exprs += [a.guard, *(e for _, e in a.updates)]
        for p in self.properties:
            exprs += [p.formula, *(e for o in p.obligations for e in (o.trigger, o.goal))]
        for e in exprs:
            seen.update(dict.fromkeys(_strings(e)))
        return {member: self.names.make("E_", member) for member in seen}

    def expr(self, e: Expr) -> str:
        """``e`` in Promela's expression syntax, fully parenthesised."""
        match e:
            case Const(value):
                if isinstance(value, bool):
                    return "true" if value else "false"
                if isinstance(value, int):
                    return str(value) if value >= 0 else f"({value})"
                return self.codes[value]
            case Var(name):
                return self.var[name]
            case Not(arg):
                return f"!{self.expr(arg)}"
            case And(args):
                return "(" + " && ".join(map(self.expr, args)) + ")" if args else "true"
            case Or(args):
                return "(" + " || ".join(map(self.expr, args)) + ")" if args else "false"
            case Eq(lhs, rhs):
                return f"({self.expr(lhs)} == {self.expr(rhs)})"
            case Ite(cond, then, other):
                return f"({self.expr(cond)} -> {self.expr(then)} : {self.expr(other)})"
            case Add(lhs, rhs):
                return f"({self.expr(lhs)} + {self.expr(rhs)})"
            case Mul(lhs, rhs):
                return f"({self.expr(lhs)} * {self.expr(rhs)})"
            case Le(lhs, rhs):
                return f"({self.expr(lhs)} <= {self.expr(rhs)})"
        raise InvalidModel(f"not an expression: {e!r}")

    def value(self, v: Value) -> str:
        return self.expr(Const(v))

    # Text ----------------------------------------------------------------------------------------

    def emit(self, *lines: str) -> None:
        self.lines.extend(lines)

    def model(self) -> PromelaModel:
        system = self.system
        fair = [a for a in system.actions if self.fairness is None or a.name in self.fairness]
        unfair = [a for a in system.actions if self.fairness is not None and a.name not in self.fairness]
        procs = [self.names.make("a_", a.label) for a in fair]
        env = self.names.make("env", "") if unfair else None
        if len(procs) + (env is not None) + 1 > MAX_PROCESSES:
            raise InvalidModel(f"{len(system.actions)} action instances: SPIN runs at most {MAX_PROCESSES} processes")
        guards = {id(a): self.names.make("G_", a.label) for a in system.actions}
        ltls = {p.name: self.names.make("p_", p.name) for p in self.liveness}
        self.header(_nfair(len(procs) + (env is not None)), unfair)
        self.emit("/* Enum members: one code each, the same in every enum. */")
        for code, (member, name) in enumerate(self.codes.items()):
            self.emit(f"#define {name} {code}  /* {_comment(member)} */")
        self.emit("")
        self.declarations()
        temps = max((len(self.scratch(a)) for a in system.actions), default=0)
        if temps:
            self.emit("/* Scratch for simultaneous updates: written and read within one d_step, no part of the state. */")
            self.emit(*(f"hidden int t_{i};" for i in range(temps)))
            self.emit("")
        self.emit("/* Guards. */")
        for a in system.actions:
            self.emit(f"#define {guards[id(a)]} {self.expr(a.guard)}  /* {_comment(a.label)} */")
        self.emit("")
        checks = self.safety_inline()
        for a, proc in zip(fair, procs):
            self.emit(f"/* {_comment(a.label)} */", f"proctype {proc}() {{", "end:", "  do")
            self.step(a, guards[id(a)])
            self.emit("  od", "}", "")
        if env is not None:
            self.emit("/* The action instances under no fairness, and a skip while some fair one is enabled. */",
                      f"proctype {env}() {{", "end:", "  do")
            for a in unfair:
                self.emit(f"  /* {_comment(a.label)} */")
                self.step(a, guards[id(a)])
            any_fair = " || ".join(guards[id(a)] for a in fair) or "false"
            self.emit(f"  :: d_step {{ ({any_fair}) -> skip }}", "  od", "}", "")
        self.emit("init {", "  atomic {", "    safety();")
        self.emit(*(f"    run {p}();" for p in [*procs, *([env] if env else [])]))
        self.emit("  }", "}", "")
        for p in self.liveness:
            self.emit(f"/* {_comment(p.name)}: {_comment(p.description)} */")
            parts = [
                f"[] ({self.expr(_no_ite(o.trigger))} -> <> {self.expr(_no_ite(o.goal))})" for o in p.obligations
            ]
            self.emit(f"ltl {ltls[p.name]} {{ " + (" && ".join(parts) or "[] true") + " }")
        text = "\n".join(self.lines) + "\n"
        return PromelaModel(
            text=text,
            safety=tuple(SafetyCheck(p.name, checks[p.name]) for p in self.safety),
            liveness=tuple(
                LivenessCheck(p.name, ltls[p.name], tuple(sorted(self.fairness or ()))) for p in self.liveness
            ),
            processes=tuple([*procs, *([env] if env else [])]),
            unfair=tuple(a.label for a in unfair),
            variables=len(system.variables),
        )

    def header(self, nfair: int, unfair: Iterable[Action]) -> None:
        title = self.title or self.system.name
        self.emit(f"/* Promela model of {_comment(title)}: {len(self.system.variables)} variables, "
                  f"{len(self.system.actions)} action instances. */")
        self.emit("/* Generated by regcheck from the transition system every engine checks. Run: */")
        for line in USAGE:
            self.emit(f"/*   {line.format(nfair=nfair)} */")
        names = sorted({a.name for a in unfair})
        if names:
            self.emit(f"/* Not under weak fairness (run by env): {_comment(', '.join(names))}. */")
        self.emit("")

    def declarations(self) -> None:
        state = self.system.initial_state()
        self.emit("/* State. */")
        for v in self.system.variables:
            kind = _type_of(v.domain, len(self.codes))
            described = f"{v.name} in {v.domain.describe()}" + (f": {v.description}" if v.description else "")
            self.emit(f"{kind} {self.var[v.name]} = {self.value(state[v.name])};  /* {_comment(described)} */")
        self.emit("")

    def safety_inline(self) -> dict[str, int]:
        """The inline that asserts every safety property; the line of each property's ``assert``."""
        lines: dict[str, int] = {}
        self.emit("/* Every safety property, after each step and in the initial state: one assert a line. */",
                  "inline safety() {")
        for p in self.safety:
            self.emit(f"  /* {_comment(p.name)} */", f"  assert({self.expr(p.formula)});")
            lines[p.name] = len(self.lines)
        self.emit("  skip", "}", "")
        return lines

    def scratch(self, action: Action) -> list[str]:
        """The targets of ``action`` that another of its updates reads: they go through scratch."""
        targets = [t for t, _ in action.updates]
        return [
            t for t in targets if any(t in variables(e) for other, e in action.updates if other != t)
        ]

    def step(self, action: Action, guard: str) -> None:
        """``action`` as one option of a do-loop: a d_step of its guard, simultaneous updates, the asserts."""
        via = {t: f"t_{i}" for i, t in enumerate(self.scratch(action))}
        body = [f"{name} = {self.expr(e)}" for t, e in action.updates if t in via for name in [via[t]]]
        body += [f"{self.var[t]} = {self.expr(e)}" for t, e in action.updates if t not in via]
        body += [f"{self.var[t]} = {via[t]}" for t, _ in action.updates if t in via]
        self.emit(f"  :: d_step {{ {guard} ->")
        self.emit(*(f"       {line};" for line in body))
        self.emit("       safety() }")


__all__ = ["MAX_PROCESSES", "USAGE", "LivenessCheck", "PromelaModel", "SafetyCheck", "translate"]
