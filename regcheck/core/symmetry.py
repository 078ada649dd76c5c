"""Symmetry reduction: verify a system's declared interchangeable processes, and canonicalise states.

A model declares groups of interchangeable processes (``TransitionSystem.symmetry``, see
:class:`regcheck.core.system.ProcessGroup`). Permuting the blocks of a group, and swapping two groups
named by values together with those values, maps states to states; two states related so lie in
one *orbit*. The explicit engine keeps one canonical state per orbit.

NOTE(symmetry-soundness): reduction is sound only if every such permutation maps executions to
executions and leaves each checked property's truth unchanged. Both are verified here, on the
generators of the group (adjacent block transpositions and adjacent group swaps), as a
syntactic sufficient condition: the renamed initial predicate, the renamed set of actions
(guard and updates; labels do not matter) and the renamed property are the same as the
originals, up to the order of conjuncts, disjuncts and the sides of an equality. A declaration
that fails is a bug in the model (:class:`InvalidModel`); a property that fails only turns
reduction off for that run.

The canonical state is exact (one per orbit): sort the blocks within every group, after each of
the value permutations, and take the least. Exactness is what lets a path of canonical states be
turned back into a concrete execution (:func:`regcheck.core.engines.explicit` relies on it).
:class:`SymmetryGroup` gives, with the canonical state, the group element that reaches it, and how
elements act on states, action instances and formulas: the liveness search on the reduced graph
reads weak fairness and per-process obligations through them (NOTE(frames)).
"""

from __future__ import annotations

import functools
import itertools
import math
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields

from regcheck.core.compile import Layout, Packed
from regcheck.core.expr import And, Const, Eq, Expr, Or, Var
from regcheck.core.expr import variables as variables_of
from regcheck.core.system import Action, ProcessGroup, TransitionSystem
from regcheck.errors import InvalidModel

MAX_VALUE_PERMUTATIONS = 24
"""Swapping named groups costs one candidate state per value permutation; beyond this many the
engine uses block permutations only (still exact: those groups are then simply not swapped)."""


@dataclass(frozen=True)
class Renaming:
    """One generator: a permutation of variables together with a permutation of enum values."""

    variables: Mapping[str, str]
    values: Mapping[str, str]
    what: str

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.variables.items())), tuple(sorted(self.values.items())), self.what))

    def expr(self, expr: Expr) -> Expr:
        """``expr`` with its variables and (string) constants renamed."""
        match expr:
            case Var(name):
                return Var(self.variables.get(name, name))
            case Const(value):
                return Const(self.values.get(value, value)) if isinstance(value, str) else expr
            case And(args) | Or(args):
                return type(expr)(tuple(self.expr(a) for a in args))
        # Every other node (Not, Eq, Ite, arithmetic) has only sub-expressions as fields.
        return type(expr)(*(self.expr(getattr(expr, f.name)) for f in fields(expr)))  # type: ignore[arg-type]


def normal(expr: Expr) -> Hashable:
    """A key equal for expressions that differ only in the order of conjuncts, disjuncts, or sides of ``=``."""
    match expr:
        case Const(value):
            return ("const", type(value).__name__, value)
        case Var(name):
            return ("var", name)
        case And(args) | Or(args):
            return (type(expr).__name__, frozenset(normal(a) for a in args))
        case Eq(lhs, rhs):
            return ("Eq", frozenset((normal(lhs), normal(rhs))))
    return (type(expr).__name__, *(normal(getattr(expr, f.name)) for f in fields(expr)))  # type: ignore[arg-type]


def _action_key(action: Action, renaming: Renaming | None = None) -> Hashable:
    """What an action does (guard and updates), optionally after a renaming; labels are left out."""
    if renaming is None:
        return normal(action.guard), frozenset((t, normal(v)) for t, v in action.updates)
    return (
        normal(renaming.expr(action.guard)),
        frozenset((renaming.variables.get(t, t), normal(renaming.expr(v))) for t, v in action.updates),
    )


def _swap(a: Sequence[str], b: Sequence[str]) -> dict[str, str]:
    return {**dict(zip(a, b)), **dict(zip(b, a))}


def _shape(system: TransitionSystem, group: ProcessGroup) -> Hashable:
    domains = system.domains
    return len(group.blocks), tuple(domains[name] for name in group.blocks[0]) if group.blocks else ()


def _classes(system: TransitionSystem) -> list[list[ProcessGroup]]:
    """Named groups of one shape, which may be swapped with one another (classes of two or more)."""
    by_shape: dict[Hashable, list[ProcessGroup]] = {}
    for group in system.symmetry:
        if group.value is not None and group.blocks:
            by_shape.setdefault(_shape(system, group), []).append(group)
    return [groups for groups in by_shape.values() if len(groups) > 1]


def generators(system: TransitionSystem) -> Iterator[Renaming]:
    """Renamings that generate the declared symmetry group."""
    for group in system.symmetry:
        for first, second in itertools.pairwise(group.blocks):
            yield Renaming(_swap(first, second), {}, f"swapping the processes of {first[0]} and {second[0]}")
    for groups in _classes(system):
        for one, other in itertools.pairwise(groups):
            assert one.value is not None and other.value is not None
            variables: dict[str, str] = {}
            for a, b in zip(one.blocks, other.blocks):
                variables.update(_swap(a, b))
            yield Renaming(variables, _swap([one.value], [other.value]), f"swapping {one.value} and {other.value}")


def verify(system: TransitionSystem, deadline: float | None = None) -> bool:
    """Raise InvalidModel unless every generator maps the initial states and the actions onto themselves;
    False if ``deadline`` (``time.monotonic()``) passed first (nothing verified: no reduction may be used)."""
    actions = {_action_key(a) for a in system.actions}
    for renaming in generators(system):
        if deadline is not None and time.monotonic() >= deadline:
            return False
        for value, other in renaming.values.items():
            for variable in system.variables:
                members = variable.domain.members
                if (value in members) != (other in members):
                    raise InvalidModel(f"symmetry: {renaming.what}, but {variable.name} can hold only one of them")
        if normal(renaming.expr(system.init)) != normal(system.init):
            raise InvalidModel(f"symmetry: {renaming.what} changes the initial states")
        for action in system.actions:
            if _action_key(action, renaming) not in actions:
                raise InvalidModel(f"symmetry: {renaming.what} maps {action.label} to no action of the system")
    return True


def invariant(system: TransitionSystem, formula: Expr) -> bool:
    """Is ``formula`` unchanged by every generator (so true or false alike on a whole orbit)?"""
    key = normal(formula)
    return all(normal(r.expr(formula)) == key for r in generators(system))


@dataclass(frozen=True)
class Reduction:
    """How states are reduced: ``canonical`` maps a packed state to its orbit's representative.

    ``order`` is the size of the symmetry group used (an upper bound on the reduction factor);
    ``canonical`` is None when no reduction applies, and ``description`` says why.
    """

    canonical: Callable[[Packed], Packed] | None
    order: int
    description: str


def reduction(system: TransitionSystem, layout: Layout, properties: Sequence[tuple[str, Expr]],
              deadline: float | None = None) -> Reduction:
    """The reduction for checking ``properties`` (name, formula) on ``system``, verified first (by ``deadline``,
    a ``time.monotonic()`` reading: a verification the deadline cuts short leaves the reduction off)."""
    if not any(len(g.blocks) > 1 for g in system.symmetry) and not _classes(system):
        return Reduction(None, 1, "off: the system declares no interchangeable processes")
    if not verify(system, deadline):
        return Reduction(None, 1, "off: the timeout came before the symmetry was verified")
    for name, formula in properties:
        if not invariant(system, formula):
            return Reduction(None, 1, f"off: property {name} is not symmetric in the interchangeable processes")
    permutations = _value_permutations(system)
    sizes = sorted((len(g.blocks) for g in system.symmetry if len(g.blocks) > 1), reverse=True)
    if not sizes and len(permutations) == 1:
        return Reduction(None, 1, f"off: more than {MAX_VALUE_PERMUTATIONS} value permutations, and nothing else")
    order = math.prod(math.factorial(size) for size in sizes) * len(permutations)
    parts = [f"groups of {', '.join(map(str, sizes))} interchangeable processes"] if sizes else []
    if len(permutations) > 1:
        named = [g.value for groups in _classes(system) for g in groups]
        parts.append(f"values {', '.join(str(v) for v in named)} interchangeable")
    elif _classes(system):
        parts.append(f"named groups not swapped (more than {MAX_VALUE_PERMUTATIONS} value permutations)")
    return Reduction(_canonicaliser(layout, permutations), order, f"on: {'; '.join(parts)} (group order {order})")


def block_canonical(system: TransitionSystem, layout: Layout, labels: Sequence[str],
                    deadline: float | None = None) -> Callable[[Packed], Packed] | None:
    """The canonical state under the permutations of each group's blocks alone (named groups never swapped, so no
    value is renamed), where each swap of two blocks is verified to map the initial states onto themselves and each
    action to one with the same guard, updates and values of ``labels`` (so the steps of an orbit's states carry
    those labels alike); None otherwise, or when ``deadline`` passed first."""
    if block_swaps(system, labels, deadline) is None:
        return None
    return _canonicaliser(layout, [({}, {})])


def block_swaps(system: TransitionSystem, labels: Sequence[str],
                deadline: float | None = None) -> list[tuple[int, int, Renaming]] | None:
    """The swaps of adjacent blocks (group, first block, renaming) that generate the permutations of each group's
    blocks, each verified to map the initial states onto themselves and each action to one with the same guard,
    updates and values of ``labels``; None where one does not, where no group has two blocks, or when ``deadline``
    passed first."""
    if not any(len(g.blocks) > 1 for g in system.symmetry):
        return None
    actions = {action_key(a, labels) for a in system.actions}
    # A swap renames variables alone (no value), so an action that mentions neither block is its own image.
    mentions = [mentioned(a, labels) for a in system.actions]
    swaps = []
    for index, group in enumerate(system.symmetry):
        for j, (first, second) in enumerate(itertools.pairwise(group.blocks)):  # generate the permutations sorted
            if deadline is not None and time.monotonic() >= deadline:
                return None
            swap = Renaming(_swap(first, second), {}, f"swapping the processes of {first[0]} and {second[0]}")
            moved = swap.variables.keys()
            if normal(swap.expr(system.init)) != normal(system.init) or any(
                    action_key(a, labels, swap) not in actions for a, used in zip(system.actions, mentions)
                    if not used.isdisjoint(moved)):
                return None
            swaps.append((index, j, swap))
    return swaps


def action_key(action: Action, labels: Sequence[str], renaming: Renaming | None = None) -> Hashable:
    """What an action does (guard and updates) and the values of its ``labels``, optionally after a renaming."""
    return _action_key_kept(action, tuple(labels), renaming)


@functools.lru_cache(maxsize=200_000)
def _action_key_kept(action: Action, labels: tuple[str, ...], renaming: Renaming | None) -> Hashable:
    """``action_key``, kept for the run: the designs of one diagnosis share most of their actions, and each is
    verified again. Actions equal as values share a key (``Const(0) == Const(False)``: a type-checked system's
    variables fix which)."""
    named = dict(action.labels)
    rename = (lambda e: e) if renaming is None else renaming.expr
    return _action_key(action, renaming), tuple(
        None if named.get(label) is None else normal(rename(named[label])) for label in labels)


def mentioned(action: Action, labels: Sequence[str]) -> set[str]:
    """The variables an action's guard, updates and ``labels`` mention."""
    return variables_of(action.guard).union(*(variables_of(v) | {t} for t, v in action.updates),
                                            *(variables_of(e) for key, e in action.labels if key in labels))


def _value_permutations(system: TransitionSystem) -> list[tuple[dict[str, str], dict[str, str]]]:
    """Every swap of named groups within their classes, identity first, as (variable map, value map)."""
    classes = _classes(system)
    if math.prod(math.factorial(len(groups)) for groups in classes) > MAX_VALUE_PERMUTATIONS:
        classes = []
    result = []
    for choice in itertools.product(*(itertools.permutations(range(len(gs))) for gs in classes)):
        variables: dict[str, str] = {}
        values: dict[str, str] = {}
        for groups, image in zip(classes, choice):
            for source, target in zip(groups, (groups[i] for i in image)):
                assert source.value is not None and target.value is not None
                values[source.value] = target.value
                for a, b in zip(source.blocks, target.blocks):
                    variables.update(zip(a, b))
        result.append((variables, values))
    return result


def _canonicaliser(
    layout: Layout, permutations: list[tuple[dict[str, str], dict[str, str]]]
) -> Callable[[Packed], Packed]:
    return _generated(layout, permutations)["canonical"]  # type: ignore[return-value]


def _generated(layout: Layout, permutations: list[tuple[dict[str, str], dict[str, str]]]) -> dict[str, object]:
    """Generated code (NOTE(codegen-safety) in regcheck.core.compile): tables are bound, never spelled.

    Each block of a group is one word of the packed state (``Layout``), so sorting the blocks
    of a group is sorting a slice of small integers. The namespace holds ``canonical`` and, for
    each value permutation k after the identity, ``permute{k}``.
    """
    namespace: dict[str, object] = {}
    pieces, word = [], 0
    for group in layout.groups:
        if group.count < 2:
            continue
        if group.word > word:
            pieces.append(f"*s[{word}:{group.word}]")
        pieces.append(f"*sorted(s[{group.word}:{group.word + group.count}])")
        word = group.word + group.count
    pieces.append(f"*s[{word}:]")
    code = ["def sort(s):", f"    return ({', '.join(pieces)},)"]
    candidates = ["sort(s)"]
    for k, (variables, values) in enumerate(permutations[1:], start=1):
        words: list[list[str]] = [[] for _ in range(layout.words)]
        for i, (name, field) in enumerate(layout.fields.items()):
            target = layout.fields[variables.get(name, name)]
            read = f"((s[{field.word}] >> {field.offset}) & {field.mask})"
            members = field.domain.members
            if set(values) & set(members):
                namespace[f"m{k}_{i}"] = tuple(members.index(values.get(m, m)) for m in members)
                read = f"m{k}_{i}[{read}]"
            words[target.word].append(f"({read} << {target.offset})")
        code += [f"def permute{k}(s):", f"    return ({''.join(' | '.join(w or ['0']) + ', ' for w in words)})"]
        candidates.append(f"sort(permute{k}(s))")
    if len(candidates) == 1:
        code += ["canonical = sort"]
    else:
        code += ["def canonical(s):", f"    return min({', '.join(candidates)})"]
    exec(compile("\n".join(code), "<regcheck.core.symmetry canonical>", "exec"), namespace)  # noqa: S102
    return namespace


Perm = tuple[int, ...]
"""A group element as a permutation of the words of a packed state: word ``i`` moves to word ``p[i]``
(block words move within their group, or to the same place of a swapped group; other words stay)."""


class Asymmetric(Exception):
    """The group does not act on action instances or formulas as a fair-loop search needs; the message says why."""


class SymmetryGroup:
    """The group a reduction quotients by, element by element (NOTE(frames)).

    Elements are numbered as they are met (:meth:`intern`); 0 is the identity. :meth:`frame`
    gives a state's canonical representative, as ``reduction`` does, together with the element
    that maps the state to it. Every element acts on packed states (:meth:`apply`), on the
    system's action instances (:meth:`actions`) and on an orbit of formulas (:meth:`orbit`).

    NOTE(frames): the action on action instances and on formulas is computed, not searched: each
    element is decomposed into generators (a swap of two adjacent blocks of a group, or one of the
    value permutations that swap named groups), the generators' images are found by renaming
    (the action whose guard and updates are the renamed ones, of the same name; the formula in
    normal form), and an element's image is the composition of its generators' images. The
    images of the generators are unique (:class:`Asymmetric` otherwise), and renamings compose
    as the permutations do, so the result is a homomorphism: ``actions(compose(a, b))`` is
    ``actions(a)`` after ``actions(b)``. Whatever decomposition is used, the image of an
    element is the same: the renaming it stands for, applied to the guard and updates.
    """

    def __init__(self, system: TransitionSystem, layout: Layout) -> None:
        self.system, self.layout = system, layout
        permutations = _value_permutations(system)
        namespace = _generated(layout, permutations)
        self.canonical: Callable[[Packed], Packed] = namespace["canonical"]  # type: ignore[assignment]
        self._permute: list[Callable[[Packed], Packed]] = [
            namespace[f"permute{k}"] for k in range(1, len(permutations))  # type: ignore[misc]
        ]
        self._permute.insert(0, lambda s: s)
        words = layout.words
        self._block_vars: dict[int, tuple[str, ...]] = {}
        self._group_of: dict[int, int] = {}
        for index, (declared, placed) in enumerate(zip(system.symmetry, layout.groups)):
            for j, block in enumerate(declared.blocks):
                self._block_vars[placed.word + j] = block
                self._group_of[placed.word + j] = index
        self._sorted = tuple((g.word, g.count) for g in layout.groups if g.count >= 2)
        field_word = {name: f.word for name, f in layout.fields.items()}
        self._value_words: list[Perm] = []
        self._renamings: list[Renaming] = []
        for variables, values in permutations:
            self._value_words.append(tuple(
                field_word[variables.get(self._block_vars[i][0], self._block_vars[i][0])] if i in self._block_vars
                else i for i in range(words)
            ))
            self._renamings.append(Renaming(variables, values, "swapping named groups"))
        self._value_of = {self._signature(v): k for k, v in enumerate(self._value_words)}
        self._perms: list[Perm] = []
        self._ids: dict[Perm, int] = {}
        self.intern(tuple(range(words)))
        self._frame_ids: dict[tuple[int, ...], int] = {}
        self._composed: dict[tuple[int, int], int] = {}
        self._inverses: dict[int, int] = {0: 0}
        self._swaps = {  # adjacent blocks i, i + 1 of a group with at least two
            i: self.intern(tuple(i + 1 if j == i else i if j == i + 1 else j for j in range(words)))
            for word, count in self._sorted for i in range(word, word + count - 1)
        }
        self._values = [self.intern(v) for v in self._value_words]
        self.frame = self._frame_function()
        self._actions: Representation | None = None

    # Elements ---------------------------------------------------------------------------------

    def intern(self, perm: Perm) -> int:
        """The number of an element."""
        pid = self._ids.get(perm)
        if pid is None:
            pid = self._ids[perm] = len(self._perms)
            self._perms.append(perm)
        return pid

    def perm(self, pid: int) -> Perm:
        return self._perms[pid]

    def compose(self, a: int, b: int) -> int:
        """``a`` after ``b``."""
        if not a:
            return b
        if not b:
            return a
        got = self._composed.get((a, b))
        if got is None:
            pa, pb = self._perms[a], self._perms[b]
            got = self._composed[(a, b)] = self.intern(tuple(pa[j] for j in pb))
        return got

    def inverse(self, a: int) -> int:
        got = self._inverses.get(a)
        if got is None:
            p = self._perms[a]
            inverse = [0] * len(p)
            for i, j in enumerate(p):
                inverse[j] = i
            got = self._inverses[a] = self.intern(tuple(inverse))
            self._inverses[got] = a
        return got

    def _signature(self, perm: Perm) -> tuple[int, ...]:
        """Where each group goes (the named groups an element swaps)."""
        return tuple(self._group_of.get(perm[g.word], -1) for g in self.layout.groups if g.count)

    def _value_index(self, perm: Perm) -> int:
        return self._value_of[self._signature(perm)]

    def apply(self, pid: int, state: Packed) -> Packed:
        """The image of ``state`` under element ``pid`` (values renamed with the groups they name)."""
        perm = self._perms[pid]
        k = self._value_index(perm)
        moved, renamed = self._value_words[k], self._permute[k](state)
        out = [0] * len(state)
        for i, j in enumerate(perm):
            out[j] = renamed[moved[i]]
        return tuple(out)

    # Canonical states with the element that reaches them ---------------------------------------

    def _frame_function(self) -> Callable[[Packed], tuple[Packed, int]]:
        """``frame(s)``: ``(canonical(s), element mapping s to it)``, generated like the canonicaliser.

        The candidates are those of ``canonical`` (sort the blocks of every group, after each value
        permutation) and the least wins, the first among equals; the element is keyed by the value
        permutation and the sorting orders, and interned on first sight.
        """
        namespace: dict[str, object] = {"ids": self._frame_ids, "intern": self._intern_frame}
        lines = ["def frame(s):"]
        pieces, orders, word = [], [], 0
        for g, (start, count) in enumerate(self._sorted):
            namespace[f"R{g}"] = range(count)
            if start > word:
                pieces.append(f"*x[{word}:{start}]")
            pieces.append(f"*[b{g}[i] for i in o{g}]")
            orders.append(f"*o{g}")
            word = start + count
        pieces.append(f"*x[{word}:]")
        def candidate(k: int) -> list[str]:
            out = ["    x = s" if k == 0 else f"    x = permute{k}(s)"]
            for g, (start, count) in enumerate(self._sorted):
                out += [f"    b{g} = x[{start}:{start + count}]", f"    o{g} = sorted(R{g}, key=b{g}.__getitem__)"]
            out.append(f"    c = ({', '.join(pieces)},)")
            return out
        for k in range(len(self._value_words)):
            if k:
                namespace[f"permute{k}"] = self._permute[k]
            lines += candidate(k)
            key = f"({', '.join([str(k), *orders])},)"
            if k == 0:
                lines += ["    best = c", f"    key = {key}"]
            else:
                lines += ["    if c < best:", "        best = c", f"        key = {key}"]
        lines += ["    pid = ids.get(key)", "    if pid is None:", "        pid = intern(key)", "    return best, pid"]
        exec(compile("\n".join(lines), "<regcheck.core.symmetry frame>", "exec"), namespace)  # noqa: S102
        return namespace["frame"]  # type: ignore[return-value]

    def _intern_frame(self, key: tuple[int, ...]) -> int:
        """The element of a frame key: value permutation ``key[0]``, then each sorted group's order."""
        moved = self._value_words[key[0]]
        destination: dict[int, int] = {}
        at = 1
        for start, count in self._sorted:
            for j, source in enumerate(key[at:at + count]):
                destination[start + source] = start + j
            at += count
        pid = self._frame_ids[key] = self.intern(tuple(destination.get(moved[i], moved[i]) for i in range(len(moved))))
        return pid

    def stabilizer(self, canonical: Packed) -> tuple[int, ...]:
        """Generators of the elements that map the canonical state ``canonical`` to itself.

        A sorted group's equal neighbours may swap; and for each value permutation whose sorted
        image of ``canonical`` is ``canonical`` again, the element doing that.
        """
        found = [self._swaps[i] for start, count in self._sorted for i in range(start, start + count - 1)
                 if canonical[i] == canonical[i + 1]]
        for k in range(1, len(self._value_words)):
            renamed = self._permute[k](canonical)
            key: list[int] = [k]
            image = list(renamed)
            for start, count in self._sorted:
                block = renamed[start:start + count]
                order = sorted(range(count), key=block.__getitem__)
                key += order
                image[start:start + count] = [block[i] for i in order]
            if tuple(image) == canonical:
                known = self._frame_ids.get(tuple(key))
                found.append(self._intern_frame(tuple(key)) if known is None else known)
        return tuple(found)

    # How elements act on action instances and formulas -------------------------------------------

    def _generators(self) -> list[tuple[int, Renaming]]:
        out = [(pid, Renaming(_swap(self._block_vars[i], self._block_vars[i + 1]), {}, "swapping two blocks"))
               for i, pid in self._swaps.items()]
        out += [(pid, self._renamings[k]) for k, pid in enumerate(self._values) if k]
        return out

    def _decompose(self, pid: int) -> tuple[int, int]:
        """``(rest, generator)`` with ``pid`` = ``rest`` after ``generator``; ``rest`` is nearer the identity."""
        perm = self._perms[pid]
        k = self._value_index(perm)
        if k:  # perm = q after the value permutation, q keeping every group in place
            moved = self._value_words[k]
            rest = [0] * len(perm)
            for i, j in enumerate(perm):
                rest[moved[i]] = j
            return self.intern(tuple(rest)), self._values[k]
        for start, count in self._sorted:
            for i in range(start, start + count - 1):
                if perm[i] > perm[i + 1]:
                    rest = list(perm)
                    rest[i], rest[i + 1] = rest[i + 1], rest[i]
                    return self.intern(tuple(rest)), self._swaps[i]
        raise AssertionError(f"element {perm} is the identity but not numbered 0")  # pragma: no cover

    def representation(self, size: int, image: Callable[[Renaming], tuple[int, ...]]) -> Representation:
        """How elements permute ``size`` things, given how each generator's renaming does."""
        return Representation(self, size, {pid: image(renaming) for pid, renaming in self._generators()})

    def actions(self) -> Representation:
        """How elements permute the system's action instances (indices into ``system.actions``)."""
        if self._actions is None:
            actions = self.system.actions
            index: dict[Hashable, int] = {}
            for i, action in enumerate(actions):
                key = (action.name, _action_key(action))
                if key in index:
                    raise Asymmetric(f"{actions[index[key]].label} and {action.label} do the same")
                index[key] = i

            def image(renaming: Renaming) -> tuple[int, ...]:
                out = []
                for action in actions:
                    found = index.get((action.name, _action_key(action, renaming)))
                    if found is None:
                        raise Asymmetric(f"{renaming.what} maps {action.label} to no action of that name")
                    out.append(found)
                return tuple(out)

            self._actions = self.representation(len(actions), image)
        return self._actions

    def orbit(self, formulas: tuple[Expr, ...]) -> Orbit:
        """The orbit of a tuple of formulas (e.g. an obligation's trigger and goal) and how elements permute it."""
        def key(members: tuple[Expr, ...]) -> Hashable:
            return tuple(normal(f) for f in members)

        members = [formulas]
        keys = {key(formulas): 0}
        generators = [renaming for _, renaming in self._generators()]
        for member in members:  # grows as it goes: a breadth-first closure under the generators
            for renaming in generators:
                image = tuple(renaming.expr(f) for f in member)
                if key(image) not in keys:
                    keys[key(image)] = len(members)
                    members.append(image)

        def permuted(renaming: Renaming) -> tuple[int, ...]:
            return tuple(keys[key(tuple(renaming.expr(f) for f in member))] for member in members)

        return Orbit(tuple(members), keys, self.representation(len(members), permuted))


class Representation:
    """How the elements of a group permute a finite set ``0 .. size - 1``: ``images(pid)[x]`` is the image of x."""

    def __init__(self, group: SymmetryGroup, size: int, generators: Mapping[int, tuple[int, ...]]) -> None:
        self._group = group
        self._generators = tuple(generators.values())
        self._memo: dict[int, tuple[int, ...]] = {0: tuple(range(size)), **generators}

    def orbits(self) -> tuple[int, ...]:
        """The orbit of each member under the whole group, named by its least member."""
        parent = list(range(len(self._memo[0])))

        def root(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for images in self._generators:
            for x, y in enumerate(images):
                a, b = root(x), root(y)
                if a != b:
                    parent[max(a, b)] = min(a, b)
        return tuple(root(x) for x in range(len(parent)))

    def images(self, pid: int) -> tuple[int, ...]:
        got = self._memo.get(pid)
        if got is None:
            rest, generator = self._group._decompose(pid)
            first, then = self._memo[generator], self.images(rest)
            got = self._memo[pid] = tuple(then[x] for x in first)
        return got

    def mask(self, pid: int, bits: int) -> int:
        """The image of a set given as a bit mask."""
        if not pid or not bits:
            return bits
        images = self.images(pid)
        out = 0
        while bits:
            low = bits & -bits
            out |= 1 << images[low.bit_length() - 1]
            bits ^= low
        return out


@dataclass(frozen=True)
class Orbit:
    """The images of a tuple of formulas under a group: ``members[0]`` is the tuple itself."""

    members: tuple[tuple[Expr, ...], ...]
    keys: Mapping[Hashable, int]  # normal forms of the members -> their index
    representation: Representation


__all__ = [
    "MAX_VALUE_PERMUTATIONS",
    "Asymmetric",
    "Orbit",
    "Perm",
    "Representation",
    "SymmetryGroup",
    "Reduction",
    "Renaming",
    "generators",
    "invariant",
    "normal",
    "reduction",
    "verify",
]
