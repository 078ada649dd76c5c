"""Compile a TransitionSystem into Python functions over packed states, for the explicit-state engine.

Why: walking ``regcheck.core.expr`` trees with :func:`regcheck.core.expr.evaluate` costs a dict lookup and
a pattern match per node, far too slow for hundreds of thousands of states. Here a state is a
short tuple of small integers (*words*), each holding the *codes* of a few variables in bit
fields (a :class:`Layout`), and each guard, update, label and predicate is translated once into
Python source over those codes and compiled. Every block of interchangeable processes
(``TransitionSystem.symmetry``) is one word of its own, so ``regcheck.core.symmetry`` canonicalises a
state by sorting a slice of integers; the other variables share words of at most
:data:`WORD_BITS` bits, which keeps every word a single-digit (fast) Python int.

Codes: ``False``/``True`` are 0/1, an integer ``v`` in ``low..high`` is ``v - low``, an enum
member is its index in the domain. Inside generated code a boolean may be 0/1 rather than
``False``/``True`` (Python treats them alike); every value handed out (:func:`compile_expr`,
labels, :meth:`Layout.unpack`) has its exact type.

NOTE(codegen-safety): the generated source is built from our own expression tree only. Variable
names never appear in it (variable i is the local ``r{i}``, its code), every constant and
lookup table of the model is bound in the function's namespace under a generated name, and the
only literals are integers the layout computed (word indices, shifts, masks, codes). No text
from a scenario or any other input is ever compiled.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property, lru_cache
from types import CodeType

from regcheck.core.expr import Add, And, Const, Eq, Expr, Ite, Le, Mul, Not, Or, Value, Var
from regcheck.core.system import Action, Domain, TransitionSystem
from regcheck.errors import InvalidModel

Packed = tuple[int, ...]
"""A state: the words of its :class:`Layout`."""

Successors = Callable[[Packed], list[Packed]]
"""The successors of a state, one per enabled action, in the order of ``system.actions``."""

Steps = Callable[[Packed], list[tuple[int, Packed]]]
"""The ``(action index, successor)`` pairs of a state, in the order of ``system.actions``."""

WORD_BITS = 30
"""Variables outside symmetry blocks share words of at most this many bits (CPython's int digit)."""


def _width(name: str, domain: Domain) -> int:
    if domain.kind == "bool":
        return 1
    if domain.kind == "int":
        if domain.high is None:
            raise InvalidModel(f"{name} ranges over {domain.describe()}: explicit-state search needs finite domains")
        return max(1, (domain.high - domain.low).bit_length())
    return max(1, (len(domain.members) - 1).bit_length())


def encode(domain: Domain, value: Value) -> int:
    """The code of ``value`` in ``domain``; InvalidModel if it lies outside."""
    if not domain.contains(value):
        raise InvalidModel(f"{value!r} is outside the domain {domain.describe()}")
    if domain.kind == "bool":
        return int(value)
    if domain.kind == "int":
        return int(value) - domain.low
    return domain.members.index(str(value))


def decode(domain: Domain, code: int) -> Value:
    """The value whose code in ``domain`` is ``code``."""
    if domain.kind == "bool":
        return bool(code)
    if domain.kind == "int":
        return domain.low + code
    return domain.members[code]


@dataclass(frozen=True)
class Field:
    """Where one variable's code lives: ``width`` bits from bit ``offset`` of word ``word``."""

    name: str
    domain: Domain
    word: int
    offset: int
    width: int

    @property
    def mask(self) -> int:
        return (1 << self.width) - 1


@dataclass(frozen=True)
class Group:
    """Where one symmetry group lives: its ``count`` blocks are words ``word`` .. ``word + count - 1``."""

    word: int
    count: int


@dataclass(frozen=True)
class Layout:
    """The words of packed states: one per block of each symmetry group, in declaration order,
    then the other variables, packed into words of at most WORD_BITS bits."""

    names: tuple[str, ...]  # the system's variable order, used by unpack()
    fields: Mapping[str, Field]
    groups: tuple[Group, ...]  # one per entry of system.symmetry
    words: int

    @staticmethod
    def of(system: TransitionSystem) -> Layout:
        domains = system.domains
        fields: dict[str, Field] = {}
        groups = []
        word = 0
        for group in system.symmetry:
            groups.append(Group(word, len(group.blocks)))
            for block in group.blocks:
                offset = 0
                for name in block:
                    fields[name] = Field(name, domains[name], word, offset, _width(name, domains[name]))
                    offset += fields[name].width
                word += 1
        shared, offset = -1, 0  # the word being filled with variables outside the groups
        for name in system.names:
            if name in fields:
                continue
            width = _width(name, domains[name])
            if shared < 0 or offset + width > WORD_BITS:
                shared, offset, word = word, 0, word + 1
            fields[name] = Field(name, domains[name], shared, offset, width)
            offset += width
        return Layout(system.names, fields, tuple(groups), word)

    def pack(self, state: Mapping[str, Value]) -> Packed:
        words = [0] * self.words
        for name, f in self.fields.items():
            words[f.word] |= encode(f.domain, state[name]) << f.offset
        return tuple(words)

    @cached_property
    def _readers(self) -> tuple[tuple[int, int, int, tuple[Value, ...]], ...]:
        """Per variable of ``names``: word, offset, mask and the value of every code."""
        fields = (self.fields[n] for n in self.names)
        return tuple((f.word, f.offset, f.mask, tuple(f.domain.values())) for f in fields)

    def unpack(self, packed: Packed) -> tuple[Value, ...]:
        """The values of ``names``, in that order."""
        return tuple(values[(packed[word] >> offset) & mask] for word, offset, mask, values in self._readers)

    def state(self, packed: Packed) -> dict[str, Value]:
        return dict(zip(self.names, self.unpack(packed)))

    @cached_property
    def _spans(self) -> tuple[int, ...]:
        """The bits each word uses."""
        spans = [0] * self.words
        for f in self.fields.values():
            spans[f.word] = max(spans[f.word], f.offset + f.width)
        return tuple(spans)

    @property
    def bits(self) -> int:
        """The bits of :meth:`key`."""
        return sum(self._spans)

    @cached_property
    def key(self) -> Callable[[Packed], int]:
        """A packed state as one integer, its words side by side: sorting these is fast.

        Compiled, like the successor functions; the source holds only word indices and shifts."""
        shifts = [sum(self._spans[k + 1:]) for k in range(self.words)]
        body = " | ".join(f"(s[{k}] << {shift})" for k, shift in enumerate(shifts)) or "0"
        namespace: dict[str, object] = {}
        exec(compile(f"def key(s):\n    return {body}", "<regcheck.core.compile key>", "exec"), namespace)  # noqa: S102
        return namespace["key"]  # type: ignore[return-value]


def fingerprint(layout: Layout, states: Iterable[Packed]) -> str:
    """``sha256:`` and the SHA-256 of the sorted states, each as :meth:`Layout.key`: equal for equal state sets."""
    size = max(1, (layout.bits + 7) // 8)
    keys = sorted(map(layout.key, states))
    return "sha256:" + hashlib.sha256(b"".join(key.to_bytes(size, "big") for key in keys)).hexdigest()


def sort_of(expr: Expr, domains: Mapping[str, Domain]) -> str:
    """``"bool"``, ``"int"`` or ``"enum"``, for a well-typed expression."""
    match expr:
        case Const(value):
            return "bool" if isinstance(value, bool) else "int" if isinstance(value, int) else "enum"
        case Var(name):
            return domains[name].kind
        case Not() | And() | Or() | Eq() | Le():
            return "bool"
        case Ite(_, then, _):
            return sort_of(then, domains)
        case Add() | Mul():
            return "int"
    raise InvalidModel(f"not an expression: {expr!r}")


class _Source:
    """Translates expressions to Python source over the codes ``r{i}`` of the state ``s``."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.index = {name: i for i, name in enumerate(layout.names)}
        self.namespace: dict[str, object] = {}
        self.bound: dict[tuple[type, Value | tuple[str, ...]], str] = {}
        self.read: set[str] = set()
        self.temps: dict[Expr, str] = {}
        self.encoders: dict[str, str] = {}

    def bind(self, value: Value | tuple[str, ...]) -> str:
        """A generated name for a constant or table of the model in the functions' namespace."""
        key = (type(value), value)
        if key not in self.bound:
            self.bound[key] = f"k{len(self.bound)}"
            self.namespace[self.bound[key]] = value
        return self.bound[key]

    def code(self, name: str) -> str:
        if name not in self.index:
            raise InvalidModel(f"variable {name!r} is not in the state")
        self.read.add(name)
        return f"r{self.index[name]}"

    def unpack(self) -> list[str]:
        """Statements binding the code of every variable read so far."""
        lines = [f"    {''.join(f'w{k}, ' for k in range(self.layout.words))}= s"] if self.layout.words else []
        for name in sorted(self.read, key=self.index.__getitem__):
            f = self.layout.fields[name]
            shifted = f"(w{f.word} >> {f.offset})" if f.offset else f"w{f.word}"
            lines.append(f"    r{self.index[name]} = {shifted} & {f.mask}")
        return lines

    def value(self, expr: Expr) -> str:
        """Source for the value of ``expr`` (a boolean may come out as 0/1)."""
        if expr in self.temps:
            return self.temps[expr]
        match expr:
            case Const(value):
                return self.bind(value)
            case Var(name):
                code = self.code(name)
                domain = self.layout.fields[name].domain
                if domain.kind == "bool" or (domain.kind == "int" and domain.low == 0):
                    return code
                if domain.kind == "int":
                    return f"({code} + {self.bind(domain.low)})"
                return f"{self.bind(domain.members)}[{code}]"
            case Not(arg):
                return f"(not {self.value(arg)})"
            case And(args):
                return "(" + " and ".join(self.value(a) for a in args) + ")"
            case Or(args):
                return "(" + " or ".join(self.value(a) for a in args) + ")"
            case Eq(lhs, rhs):
                return self.equal(lhs, rhs)
            case Ite(cond, then, other):
                return f"({self.value(then)} if {self.value(cond)} else {self.value(other)})"
            case Add(lhs, rhs):
                return f"({self.value(lhs)} + {self.value(rhs)})"
            case Mul(lhs, rhs):
                return f"({self.value(lhs)} * {self.value(rhs)})"
            case Le(lhs, rhs):
                return f"({self.value(lhs)} <= {self.value(rhs)})"
        raise InvalidModel(f"not an expression: {expr!r}")

    def equal(self, lhs: Expr, rhs: Expr) -> str:
        """Equality, on codes where both sides share a coding (the common case: a variable and a constant)."""
        if isinstance(lhs, Const) and isinstance(rhs, Var):
            lhs, rhs = rhs, lhs
        if isinstance(lhs, Var) and lhs.name in self.layout.fields:
            domain = self.layout.fields[lhs.name].domain
            if isinstance(rhs, Const):
                if not domain.contains(rhs.value):
                    return "False"
                return f"({self.code(lhs.name)} == {encode(domain, rhs.value)})"
            other = self.layout.fields.get(rhs.name) if isinstance(rhs, Var) else None
            if other is not None and other.domain == domain:
                return f"({self.code(lhs.name)} == {self.code(other.name)})"
        return f"({self.value(lhs)} == {self.value(rhs)})"

    def shifted(self, expr: Expr, target: Field) -> str:
        """Source for the code of ``expr`` in ``target``'s domain, already shifted to its offset."""
        at = f" << {target.offset}" if target.offset else ""
        if expr not in self.temps:
            match expr:
                case Const(value):
                    return str(encode(target.domain, value) << target.offset)
                case Var(name) if name in self.layout.fields and self.layout.fields[name].domain == target.domain:
                    return f"({self.code(name)}{at})"
                case Ite(cond, then, other):
                    return f"({self.shifted(then, target)} if {self.value(cond)} else {self.shifted(other, target)})"
        if target.domain.kind == "bool":
            return f"({1 << target.offset} if {self.value(expr)} else 0)"
        if target.name not in self.encoders:
            self.encoders[target.name] = f"e{len(self.encoders)}"
            self.namespace[self.encoders[target.name]] = _encoder(target)
        return f"({self.encoders[target.name]}({self.value(expr)}){at})"

    def hoist(self, exprs: Iterable[Expr], indent: str) -> list[str]:
        """Bind each boolean sub-expression occurring more than once in ``exprs`` to a temporary.

        Sound because expressions are total and have no effects, so evaluating one eagerly
        cannot change a result. Returns the assignments; later translations use the temporaries.
        """
        self.temps = {}
        counts: dict[Expr, int] = {}
        order: list[Expr] = []

        def visit(e: Expr) -> None:
            if isinstance(e, (Var, Const)):
                return
            counts[e] = counts.get(e, 0) + 1
            if counts[e] == 1:
                for f in fields(e):  # type: ignore[arg-type]  # every Expr node is a dataclass
                    child = getattr(e, f.name)
                    for c in child if isinstance(child, tuple) else (child,):
                        visit(c)
                order.append(e)  # after its children: temporaries are defined before use

        for e in exprs:
            visit(e)
        domains = {name: f.domain for name, f in self.layout.fields.items()}
        lines = []
        for e in order:
            if counts[e] > 1 and sort_of(e, domains) == "bool":
                line = f"{indent}t{len(self.temps)} = {self.value(e)}"
                self.temps[e] = f"t{len(self.temps)}"
                lines.append(line)
        return lines

    def define(self, name: str, header: str, body: list[str]) -> Callable[..., object]:
        """Compile ``def name(s):`` with the unpacking of every variable ``body`` reads."""
        source = "\n".join([header, *self.unpack(), *body])
        exec(_code(source, name), self.namespace)  # noqa: S102 (see NOTE)
        return self.namespace[name]  # type: ignore[return-value]


@lru_cache(maxsize=4_096)
def _code(source: str, name: str) -> CodeType:
    """The code of a generated source, kept for the run: the designs of a diagnosis or a sweep share most of theirs (a
    code object is immutable; the constants it names are bound in each function's own namespace)."""
    return compile(source, f"<regcheck.core.compile {name}>", "exec")


def _encoder(target: Field) -> Callable[[Value], int]:
    """The code of a value computed at run time; a value outside the domain is a bug in the model."""
    domain = target.domain

    def outside(value: Value) -> int:
        raise InvalidModel(f"{target.name} would become {value!r}, outside its domain {domain.describe()}")

    if domain.kind == "int":
        low, high = domain.low, domain.high
        return lambda value: value - low if low <= value <= high else outside(value)  # type: ignore[operator]
    codes = {value: encode(domain, value) for value in domain.values()}
    return lambda value: codes[value] if value in codes else outside(value)


def _exact(source: _Source, expr: Expr) -> str:
    """The value of ``expr`` with its exact type (booleans as ``bool``)."""
    domains = {name: f.domain for name, f in source.layout.fields.items()}
    text = source.value(expr)
    return f"bool({text})" if sort_of(expr, domains) == "bool" else text


def compile_expr(expr: Expr, layout: Layout) -> Callable[[Packed], Value]:
    """A function computing ``expr`` on a packed state; equals :func:`regcheck.core.expr.evaluate` on the unpacked one."""
    source = _Source(layout)
    body = f"    return {_exact(source, expr)}"
    return source.define("value", "def value(s):", [body])  # type: ignore[return-value]


def compile_all(formulas: Sequence[Expr], layout: Layout) -> Callable[[Packed], bool]:
    """One function telling whether every formula holds in a packed state (the fast path of a check)."""
    source = _Source(layout)
    body = " and ".join(source.value(f) for f in formulas) or "True"
    return source.define("holds", "def holds(s):", [f"    return bool({body})"])  # type: ignore[return-value]


@dataclass(frozen=True)
class CompiledSystem:
    """The concrete semantics of one TransitionSystem as compiled functions over packed states.

    ``successors`` fires every enabled action (updates evaluated in the state before the step);
    ``steps`` does the same and tells which action led where (the search's hot path does without);
    ``labels(i, s)`` gives action ``i``'s rendering labels in state ``s``.
    """

    system: TransitionSystem
    layout: Layout
    initial: Packed
    successors_of: Callable[[], Successors] = field(repr=False, compare=False)
    steps: Steps
    _labels: dict[int, tuple[tuple[str, ...], Callable[[Packed], tuple[Value, ...]]]] = field(default_factory=dict)

    @cached_property
    def successors(self) -> Successors:
        """Compiled on first use: a search that asks which action led where never needs it."""
        return self.successors_of()

    @property
    def names(self) -> tuple[str, ...]:
        return self.system.names

    def state(self, packed: Packed) -> dict[str, Value]:
        """A packed state as the ``{name: value}`` mapping the rest of regcheck uses."""
        return self.layout.state(packed)

    def labels(self, index: int, packed: Packed) -> dict[str, Value]:
        """Labels are only needed for counterexamples, so each action's are compiled on first use."""
        made = self._labels.get(index)
        if made is None:
            action = self.system.actions[index]
            source = _Source(self.layout)
            values = "".join(f"{_exact(source, value)}, " for _, value in action.labels)
            compiled: Callable[[Packed], tuple[Value, ...]] = source.define(  # type: ignore[assignment]
                "labels", "def labels(s):", [f"    return ({values})"])
            made = self._labels[index] = (tuple(key for key, _ in action.labels), compiled)
        keys, values_of = made
        return dict(zip(keys, values_of(packed)))

    def predicate(self, formula: Expr) -> Callable[[Packed], bool]:
        """``formula`` (a property or any predicate over the system's variables) on packed states."""
        self.system.check_formula(formula, "the predicate")
        return compile_expr(formula, self.layout)  # type: ignore[return-value]


def _words(source: _Source, action: Action) -> list[str]:
    """Source for each word of the successor under ``action``: words it does not update are copied."""
    layout = source.layout
    used = [0] * layout.words
    for f in layout.fields.values():
        used[f.word] |= f.mask << f.offset
    cleared = [0] * layout.words
    constant = [0] * layout.words
    parts: list[list[str]] = [[] for _ in range(layout.words)]
    for target, value in action.updates:
        f = layout.fields[target]
        cleared[f.word] |= f.mask << f.offset
        if isinstance(value, Const):
            constant[f.word] |= encode(f.domain, value.value) << f.offset
        else:
            parts[f.word].append(source.shifted(value, f))
    words = []
    for k in range(layout.words):
        if not cleared[k]:
            words.append(f"w{k}")
            continue
        kept = used[k] & ~cleared[k]
        pieces = [f"(w{k} & {kept})"] * bool(kept) + [str(constant[k])] * bool(constant[k]) + parts[k]
        words.append(" | ".join(pieces) or "0")
    return words


def compile_system(system: TransitionSystem) -> CompiledSystem:
    """Compile the guards, updates and labels of ``system`` (see the module docstring)."""
    layout = Layout.of(system)
    source = _Source(layout)
    blocks = []
    for i, action in enumerate(system.actions):
        lines = [f"    if {source.value(action.guard)}:"]
        lines += source.hoist((value for _, value in action.updates), "        ")
        blocks.append((i, lines, f"({''.join(w + ', ' for w in _words(source, action))})"))
        source.temps = {}
    def body(add: Callable[[int, str], str]) -> list[str]:
        return [
            "    out = []",
            "    add = out.append",
            *(line for i, lines, new in blocks for line in [*lines, f"        add({add(i, new)})"]),
            "    return out",
        ]

    def successors() -> Successors:
        return source.define("successors", "def successors(s):", body(lambda i, new: new))  # type: ignore[return-value]

    steps = source.define("steps", "def steps(s):", body(lambda i, new: f"({i}, {new})"))
    initial = layout.pack(system.initial_state())
    return CompiledSystem(system, layout, initial, successors, steps)  # type: ignore[arg-type]


__all__ = [
    "CompiledSystem",
    "Field",
    "Group",
    "Layout",
    "Packed",
    "Steps",
    "Successors",
    "WORD_BITS",
    "compile_all",
    "compile_expr",
    "compile_system",
    "decode",
    "encode",
    "fingerprint",
    "sort_of",
]
