"""Symmetry in a search that binds names: the blocks no bound name refers to may be permuted, and a new name need
not be bound to a block the same as an earlier free one.

A verified swap of two blocks (:func:`regcheck.core.symmetry.block_swaps`) maps each action to one with the same
guard, updates and compared labels. The labels that carry names (a thread, a session, an association) are renamed
with it: where each is a constant, each of its values is carried by the actions of one block alone (the block
*owns* it) or is kept by every swap, and that is verified here, swap by swap. So the image of a triple (state,
names bound, observations matched) under a permutation of blocks is the triple with the names bound to the
images of their values, and both have the same futures, new names bound to images alike. A permutation of the
blocks that own no bound value keeps the names bound as they are, so a search may keep one state per such orbit
(:meth:`NamedBlocks.canonical`); and where a step binds new names to the values of one free block while an earlier
free block of its group is in the same state, the swap of the two maps that binding to the one with the earlier
block, which the search takes too (:meth:`NamedBlocks.mirrored`).

Nothing here knows the protocol: the caller says which labels are compared and which carry names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from regcheck.core.compile import Layout, Packed
from regcheck.core.expr import Const, Value
from regcheck.core.symmetry import action_key, block_swaps, mentioned
from regcheck.core.system import Action, TransitionSystem

Bound = frozenset[tuple[str, str, Value]]  # (label, name, value), as regcheck.core.subsequence binds them


@dataclass(frozen=True)
class NamedBlocks:
    """The words of each group's blocks (``groups``, groups of two or more), and the block that owns each value a
    name may be bound to, (label class, value) -> (group, block), ``classes`` giving each naming label's class."""

    groups: tuple[tuple[int, ...], ...]
    owner: Mapping[tuple[str, Value], tuple[int, int]]
    classes: Mapping[str, str]
    _free: dict[Bound, tuple[tuple[int, ...], ...]] = field(default_factory=dict, compare=False, repr=False)
    _sorts: dict[Bound, Callable[[Packed], Packed]] = field(default_factory=dict, compare=False, repr=False)

    def placed(self, layout: Layout) -> NamedBlocks | None:
        """The same symmetry in a system whose groups are these with their blocks shrunk alike
        (:func:`regcheck.core.hiding.hidden`), laid out by ``layout``; None where its groups are not these (a group
        hidden whole is swapped no more)."""
        groups = _words(layout)
        if [len(words) for words in groups] != [len(words) for words in self.groups]:
            return None
        return NamedBlocks(groups, self.owner, self.classes)

    def free(self, bound: Bound) -> tuple[tuple[int, ...], ...]:
        """Per group, the words of the blocks that own no value ``bound`` binds."""
        words = self._free.get(bound)
        if words is None:
            taken = {self.owner.get((self.classes.get(label, label), value)) for label, _, value in bound}
            words = tuple(tuple(w for j, w in enumerate(group) if (g, j) not in taken)
                          for g, group in enumerate(self.groups))
            if len(self._free) > 65_536:
                self._free.clear()
                self._sorts.clear()
            self._free[bound] = words
        return words

    def canonical(self, state: Packed, bound: Bound) -> Packed:
        """``state`` with the words of the free blocks of each group sorted: one state per orbit of their
        permutations, which keep ``bound``."""
        sort = self._sorts.get(bound)
        if sort is None:
            sort = self._sorts[bound] = _sorter([words for words in self.free(bound) if len(words) > 1])
        return sort(state)

    def mirrored(self, state: Packed, bound: Bound, binding: Bound) -> bool:
        """Whether ``binding`` (``bound`` and new names) binds its new names to values of one free block, with the
        free block before it in its group in the same state (``state`` canonical for ``bound``): the binding to
        that block is the image of this one."""
        owned = {self.owner[key] for label, _, value in binding - bound
                 if (key := (self.classes.get(label, label), value)) in self.owner}
        if len(owned) != 1:
            return False
        group, block = owned.pop()
        words = self.free(bound)[group]
        word = self.groups[group][block]
        if word not in words:
            return False
        at = words.index(word)
        return at > 0 and state[words[at - 1]] == state[word]


def named_blocks(system: TransitionSystem, layout: Layout, labels: Sequence[str], classes: Mapping[str, str],
                 deadline: float | None = None) -> NamedBlocks | None:
    """The :class:`NamedBlocks` of ``system``, whose steps a search compares on ``labels`` and whose labels in
    ``classes`` carry names (a class per label: labels of one class name the same things), once every swap of
    adjacent blocks is verified (``block_swaps``) to map the values each block owns to the other's, one to one,
    and to keep every other value; None where one does not, where a naming label is not a constant, or when
    ``deadline`` passed first."""
    swaps = block_swaps(system, labels, deadline)
    if swaps is None:
        return None
    home = {name: (g, j) for g, group in enumerate(system.symmetry) for j, block in enumerate(group.blocks)
            for name in block}
    carriers: dict[tuple[str, Value], set[tuple[int, int] | None]] = {}
    for action in system.actions:
        blocks = {home[name] for name in mentioned(action, labels) if name in home}
        at = next(iter(blocks)) if len(blocks) == 1 else None
        for value in _naming(action, classes).values():
            carriers.setdefault(value, set()).add(at)
        if any(key in classes and not isinstance(expr, Const) for key, expr in action.labels):
            return None
    owner = {value: home_of for value, at in carriers.items() if len(at) == 1 for home_of in at if home_of is not None}
    mentions = [mentioned(action, labels) for action in system.actions]
    keyed: dict[object, list[int]] = {}
    for index, action in enumerate(system.actions):
        keyed.setdefault(action_key(action, labels), []).append(index)
    for group, block, swap in swaps:
        renamed: dict[tuple[str, Value], tuple[str, Value]] = {}
        moved = swap.variables.keys()
        for action, used in zip(system.actions, mentions, strict=True):
            # An action that mentions neither block is its own image; another's is the one action of the swapped key
            # that mentions a block too.
            images = [action] if used.isdisjoint(moved) else [
                system.actions[i] for i in keyed.get(action_key(action, labels, swap), [])
                if not mentions[i].isdisjoint(moved)]
            if len(images) != 1:
                return None
            ours, theirs = _naming(action, classes), _naming(images[0], classes)
            if ours.keys() != theirs.keys():
                return None
            for label, value in ours.items():
                if renamed.setdefault(value, theirs[label]) != theirs[label]:
                    return None
        swapped = {(group, block): (group, block + 1), (group, block + 1): (group, block)}
        for value, image in renamed.items():
            at = owner.get(value)
            if (owner.get(image) != swapped[at]) if at in swapped else (image != value):
                return None
        if len(set(renamed.values())) != len(renamed):
            return None
    number = {g: i for i, g in enumerate(g for g, placed in enumerate(layout.groups) if placed.count > 1)}
    return NamedBlocks(_words(layout), {value: (number[g], j) for value, (g, j) in owner.items() if g in number},
                       dict(classes))


def _sorter(groups: Sequence[tuple[int, ...]]) -> Callable[[Packed], Packed]:
    """A function that sorts each of ``groups`` (ascending words) of a state among their own places."""
    if not groups:
        return lambda state: state
    if len(groups) == 1 and groups[0] == tuple(range(groups[0][0], groups[0][-1] + 1)):
        start, stop = groups[0][0], groups[0][-1] + 1

        def run(state: Packed) -> Packed:  # one run of adjacent words: a slice
            part = state[start:stop]
            ordered = tuple(sorted(part))
            return state if part == ordered else state[:start] + ordered + state[stop:]
        return run

    def scattered(state: Packed) -> Packed:
        changed: list[int] | None = None
        for words in groups:
            current = [state[w] for w in words]
            ordered = sorted(current)
            if current != ordered:
                changed = list(state) if changed is None else changed
                for w, v in zip(words, ordered, strict=True):
                    changed[w] = v
        return state if changed is None else tuple(changed)
    return scattered


def _words(layout: Layout) -> tuple[tuple[int, ...], ...]:
    """The words of each group's blocks, for the groups of two or more."""
    return tuple(tuple(placed.word + j for j in range(placed.count)) for placed in layout.groups if placed.count > 1)


def _naming(action: Action, classes: Mapping[str, str]) -> dict[str, tuple[str, Value]]:
    """The action's naming labels that are constants: label -> (class, value)."""
    return {key: (classes[key], expr.value) for key, expr in action.labels
            if key in classes and isinstance(expr, Const)}


__all__ = ["NamedBlocks", "named_blocks"]
