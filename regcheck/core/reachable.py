"""How far a log can be matched, the names it binds as it goes aside: a refutation over the whole state space.

A log is a subsequence of some execution only if it is one with its names free: each observation matched by a
step with its actions and fields, and the names bound before the first observation (``given``), but any thread,
session or association for the names the log binds as it goes. With those names free, the names bound never
change, so the search's triples are (state, observations matched), and a state is kept once, with the most
matched: the search is one exploration of the design's states, each taken again only when it is reached with more
matched. Its states may be one per orbit where a symmetry keeps every label an observation compares
(:func:`regcheck.core.symmetry.block_canonical`): a step and its image match the same observations. A complete
search that matches fewer than all observations rules the log out: no execution matches the next one in order,
whatever the names stand for. It decides logs whose interleavings with the names bound are too many to search.

Nothing here knows the protocol: the caller says what an observation is and which fields each step defines.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from regcheck.core.compile import CompiledSystem, Layout, Packed, compile_expr
from regcheck.core.expr import Const, Value, and_, eq, in_
from regcheck.core.subsequence import Bindings, FieldsOf, Found, Observed, Order, candidates_of, search
from regcheck.core.system import TransitionSystem


def unnamed(observed: Sequence[Observed], given: Bindings) -> list[Observed]:
    """``observed`` with only the names ``given`` binds (the others free)."""
    known = {(label, name) for label, name, _ in given}
    return [Observed(o.actions, o.fields, tuple(n for n in o.names if n in known), o.shares) for o in observed]


def longest_unnamed(
    compiled: CompiledSystem,
    observed: Sequence[Observed],
    fields_of: FieldsOf,
    *,
    labelled: TransitionSystem,
    given: Bindings,
    one_to_one: frozenset[str],
    canonical: Callable[[Packed], Packed] | None,
    max_nodes: int,
    deadline: float | None,
    order: Order | None = None,
) -> Found:
    """How many of ``observed`` (a partial ``order`` of them, or a sequence) some execution matches with the names
    ``given`` alone bound (see the module docstring), as a :class:`Found` without steps (they would be of the
    quotient where ``canonical`` is given: never to be shown). The fields of a step are ``fields_of``'s, and the
    labels of ``labelled``'s actions (the compiled system's, with every field among their labels) as expressions."""
    loose = unnamed(observed, given)
    if order is not None:
        found = search(compiled, loose, fields_of, one_to_one=one_to_one, max_nodes=max_nodes, deadline=deadline,
                       given=given, order=order, canonical=canonical)
        return replace(found, steps=(), at=(), stuck=())
    return _longest(compiled, loose, _Matches(compiled.layout, labelled, given), canonical, max_nodes, deadline)


class _Matches:
    """Whether a step matches an observation, with the names ``given`` alone bound, as compiled predicates over the
    state: the step's fields are the labels of ``labelled``'s action (the same actions as the compiled system's,
    labelled with every field a step defines), each compared as :func:`regcheck.core.subsequence.binds` does."""

    def __init__(self, layout: Layout, labelled: TransitionSystem, given: Bindings) -> None:
        self.layout, self.labelled = layout, labelled
        self.given = {(label, name): value for label, name, value in given}
        self.compiled: dict[tuple[Observed, int], Callable[[Packed], Value]] = {}

    def __call__(self, o: Observed, index: int, state: Packed) -> bool:
        test = self.compiled.get((o, index))
        if test is None:
            test = self.compiled[(o, index)] = self._compile(o, index)
        return bool(test(state))

    def _compile(self, o: Observed, index: int) -> Callable[[Packed], Value]:
        labels = dict(self.labelled.actions[index].labels)
        if any(label not in labels for label, _ in (*o.fields, *o.names)):
            return lambda state: False
        formula = and_(*(in_(labels[label], allowed) for label, allowed in o.fields),
                       *(eq(labels[label], self.given[(label, name)]) for label, name in o.names))
        if isinstance(formula, Const):
            return lambda state: formula.value
        return compile_expr(formula, self.layout)


def _longest(compiled: CompiledSystem, observed: Sequence[Observed], matches: _Matches,
             canonical: Callable[[Packed], Packed] | None, max_nodes: int, deadline: float | None) -> Found:
    """:func:`longest_unnamed` of a sequence: each state kept with the most observations matched, the most matched
    taken first; a step matches the next observation whenever it can (no name is new), with its neighbour where the
    two share the step."""
    candidates = candidates_of(compiled.system, observed)
    n = len(observed)
    start = compiled.initial if canonical is None else canonical(compiled.initial)
    most: dict[Packed, int] = {start: 0}
    heap: list[tuple[int, int, Packed]] = [(0, 0, start)]
    best = explored = pushed = 0
    while heap:
        negative, _, state = heapq.heappop(heap)
        position = -negative
        if most[state] > position:
            continue  # reached since with more matched
        explored += 1
        if explored % 256 == 0 and deadline is not None and time.monotonic() > deadline:
            return Found(best, False, explored=explored, stopped="timeout")
        for index, successor in compiled.steps(state):
            if canonical is not None:
                successor = canonical(successor)
            matched = position
            if position < n and index in candidates[position] and matches(observed[position], index, state):
                matched += 1
                if matched < n and observed[matched].shares != observed[position].shares and \
                        index in candidates[matched] and matches(observed[matched], index, state):
                    matched += 1
            if most.get(successor, -1) >= matched:
                continue
            most[successor] = matched
            if matched == n:
                return Found(n, True, explored=explored)
            best = max(best, matched)
            if len(most) > max_nodes:
                return Found(best, False, explored=explored, stopped="state limit")
            pushed += 1
            heapq.heappush(heap, (-matched, pushed, successor))
    return Found(best, True, explored=explored)
