"""An execution of the system from a path the search found among orbits (``subsequence.search`` with a symmetry of
named blocks): each state of the path is its orbit's, the blocks of its free words sorted, so the path is taken back
through the permutations that sorted them.

If ``x = p(c)`` (block words moved by the permutation ``p``) and a step of action ``a`` leads from ``c`` to ``y``,
whose orbit's state is ``c' = r(y)``, then the step of ``p``'s image of ``a`` leads from ``x`` to ``p(y) = p(r⁻¹(c'))``
(the symmetry maps steps onto steps, labels renamed alike). So the execution is rebuilt step by step: the state
after each step is known, and the step taken is one from the real state to it whose fields match the observations the
path's step matched, with the names bound as the real execution binds them. Where no step does, the path is not
unfolded (None): the caller says so rather than show something else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from regcheck.core.compile import CompiledSystem, Packed
from regcheck.core.expr import Value

Bindings = frozenset[tuple[str, str, Value]]
Permutation = dict[int, int]  # block word -> the word its value moves to
Matcher = Callable[[int, int, Bindings, int, Packed], Bindings | None]


def unfold(compiled: CompiledSystem, free: Callable[[Bindings], Sequence[Sequence[int]]], start: Packed,
           path: Sequence[tuple[int, Packed, Bindings, int, int]], given: Bindings,
           matches: Matcher) -> tuple[tuple[int, Packed], ...] | None:
    """The execution from ``start`` whose states are those of ``path`` taken through its permutations: ``path`` is,
    per step of the orbits' path, the action, the state after it, the names bound after it and the observations
    matched before and after it; ``free(bound)`` gives per group the words of the blocks the names ``bound`` do not
    refer to; ``matches(before, after, real names bound, action, real state)`` gives the real names after a step
    of that action matches observations ``before``..``after`` (None where it does not)."""
    orbit = _sorting(start, free(given))  # the orbit's state of the start is r(start)
    current, placed = _moved(start, orbit), _inverse(orbit)  # placed = p, with x = p(c)
    real, bound, steps = start, given, []
    for action, after, names, before, matched in path:
        reached = dict(compiled.steps(current)).get(action)
        if reached is None:
            return None
        sort = _sorting(reached, free(names))
        if _moved(reached, sort) != after:
            return None
        target = _moved(reached, placed)
        chosen = None
        for index, successor in compiled.steps(real):
            if successor == target:
                chosen = matches(before, matched, bound, index, real)
                if chosen is not None:
                    steps.append((index, successor))
                    break
        if chosen is None:
            return None
        bound = chosen
        unsort = _inverse(sort)
        placed = {w: placed.get(unsort.get(w, w), unsort.get(w, w)) for w in {*placed, *unsort}}
        real, current = target, after
    return tuple(steps)


def _sorting(state: Packed, groups: Sequence[Sequence[int]]) -> Permutation:
    """The permutation ``r`` that sorts each of ``groups`` (ascending words, in their own places): ``r(state)`` is
    ``NamedBlocks.canonical``'s state."""
    moves: Permutation = {}
    for words in groups:
        order = sorted(range(len(words)), key=lambda r: state[words[r]])
        for rank, at in enumerate(order):
            if words[at] != words[rank]:
                moves[words[at]] = words[rank]
    return moves


def _moved(state: Packed, permutation: Mapping[int, int]) -> Packed:
    """``state`` with each word ``w`` of ``permutation`` moved to ``permutation[w]``."""
    if not permutation:
        return state
    words = list(state)
    for source, target in permutation.items():
        words[target] = state[source]
    return tuple(words)


def _inverse(permutation: Mapping[int, int]) -> Permutation:
    return {target: source for source, target in permutation.items()}


__all__ = ["unfold"]
