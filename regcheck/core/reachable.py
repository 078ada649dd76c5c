"""How far a log can be matched, the names it binds as it goes aside: a refutation over the whole state space.

A log is a subsequence of some execution only if it is one with its names free: each observation matched by a
step with its actions and fields, and the names bound before the first observation (``given``), but any thread,
session or association for the names the log binds as it goes. With those names free, the names bound never
change, so what matters of a path is how many observations it matched on reaching its last state: the design's
state graph is explored once, and each state's most matched is carried along the edges to a fixed point (a state's
edges taken again only when it is reached with more matched, which a cycle of the graph may do). Its states may be
one per orbit where a symmetry keeps every label an observation compares
(:func:`regcheck.core.symmetry.block_canonical`): a step and its image match the same observations. A complete
search that matches fewer than all observations rules the log out: no execution matches the next one in order,
whatever the names stand for. It decides logs whose interleavings with the names bound are too many to search.

Nothing here knows the protocol: the caller says what an observation is and which fields each step defines.
"""

from __future__ import annotations

import heapq
import time
from array import array
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
    """:func:`longest_unnamed` of a sequence: each state expanded once, the most matched first (a log some execution
    matches in full is found along the way), its edges kept (:class:`_Graph`); then the most matched on reaching each
    state is carried along the edges to a fixed point (:func:`_carry`)."""
    n = len(observed)
    candidates = candidates_of(compiled.system, observed)

    def advance(position: int, index: int, state: Packed) -> int:
        """Observations matched after action ``index`` from ``state`` with ``position`` matched, the action one the
        next observation may be (``index in candidates[position]``: the callers ask first): a step matches the next
        observation whenever it can (no name is new: matching early never matches less), with its neighbour where the
        two share the step."""
        if matches(observed[position], index, state):
            position += 1
            if position < n and observed[position].shares != observed[position - 1].shares and \
                    index in candidates[position] and matches(observed[position], index, state):
                position += 1
        return position

    graph = _Graph()
    states, ids, most, first = graph.states, graph.ids, graph.most, graph.first
    add_action, add_target = graph.actions.append, graph.targets.append
    graph.add(compiled.initial if canonical is None else canonical(compiled.initial), 0)
    heap: list[tuple[int, int, int]] = [(0, 0, 0)]
    risen: list[int] = []  # states reached with more matched after they were expanded
    pushed = expanded = 0
    while heap:
        _, _, v = heapq.heappop(heap)
        if first[v] >= 0:
            continue  # expanded already, with at least as many matched
        expanded += 1
        if expanded % 256 == 0 and deadline is not None and time.monotonic() > deadline:
            return Found(max(most), False, explored=len(states), stopped="timeout")
        position, state = most[v], states[v]
        may = candidates[position] if position < n else frozenset()  # the actions that may match the next one
        first[v] = len(graph.targets)
        orbit: dict[Packed, Packed] = {}  # each successor's orbit, once: several steps often reach one state
        for index, successor in compiled.steps(state):
            if canonical is not None:
                known = orbit.get(successor)
                successor = orbit[successor] = canonical(successor) if known is None else known
            w = ids.get(successor)
            if w is None:
                if len(states) >= max_nodes:
                    return Found(max(most), False, explored=len(states), stopped="state limit")
                w = graph.add(successor, -1)
            add_action(index)
            add_target(w)
            matched = advance(position, index, state) if index in may else position
            if matched > most[w]:
                most[w] = matched
                if matched == n:
                    return Found(n, True, explored=len(states))
                if first[w] < 0:
                    pushed += 1
                    heapq.heappush(heap, (-matched, pushed, w))
                else:
                    risen.append(w)
        graph.last[v] = len(graph.targets)
    return _carry(graph, risen, advance, candidates, n, deadline)


class _Graph:
    """The states explored, one number each (0: the initial state), with the most observations matched on reaching
    each so far, and each expanded state's edges: ``actions[first[v]:last[v]]`` (the action taken) and
    ``targets[first[v]:last[v]]`` (the state it leads to). Not :func:`regcheck.core.explore.explore`'s graph: that
    one is breadth first, where here the most matched is expanded first (a log matched in full ends the search),
    and it keeps a tuple per edge, where a design's million states and several million edges fit only in flat
    integer arrays."""

    def __init__(self) -> None:
        self.states: list[Packed] = []
        self.ids: dict[Packed, int] = {}
        self.most = array("i")
        self.first = array("q")  # -1: not expanded
        self.last = array("q")
        self.actions = array("i")
        self.targets = array("i")

    def add(self, state: Packed, matched: int) -> int:
        v = self.ids[state] = len(self.states)
        self.states.append(state)
        self.most.append(matched)
        self.first.append(-1)
        self.last.append(-1)
        return v

    def reverse_postorder(self) -> array[int]:
        """Each state's rank in the reverse postorder of a depth-first walk from the initial state: along every edge
        that closes no cycle, the rank grows (the order in which a forward data-flow problem converges fastest)."""
        count, first, last, targets = len(self.states), self.first, self.last, self.targets
        rank = array("i", [0]) * count
        seen = bytearray(count)
        seen[0] = 1
        stack = [(0, first[0])]
        finished = count
        while stack:
            v, edge = stack[-1]
            end = last[v]
            while edge < end and seen[targets[edge]]:
                edge += 1
            if edge >= end:
                stack.pop()
                finished -= 1
                rank[v] = finished
                continue
            stack[-1] = (v, edge + 1)
            w = targets[edge]
            seen[w] = 1
            stack.append((w, first[w]))
        return rank


def _carry(graph: _Graph, risen: Sequence[int], advance: Callable[[int, int, Packed], int],
           candidates: Sequence[frozenset[int]], n: int, deadline: float | None) -> Found:
    """The most observations some path matches, once every state is expanded: the states that were reached with more
    matched after their expansion pass it on along their edges, to a fixed point, states taken in reverse postorder
    (so that along edges that close no cycle, a state is taken once its predecessors are done)."""
    rank = graph.reverse_postorder()
    states, most, first, last, actions, targets = (graph.states, graph.most, graph.first, graph.last, graph.actions,
                                                   graph.targets)
    queued = bytearray(len(states))
    heap = []
    for v in risen:
        if not queued[v]:
            queued[v] = 1
            heap.append((rank[v], v))
    heapq.heapify(heap)
    taken = 0
    while heap:
        _, v = heapq.heappop(heap)
        queued[v] = 0
        taken += 1
        if taken % 256 == 0 and deadline is not None and time.monotonic() > deadline:
            return Found(max(most), False, explored=len(states), stopped="timeout")
        position, state = most[v], states[v]
        may = candidates[position] if position < n else frozenset()
        for edge in range(first[v], last[v]):
            index = actions[edge]
            matched = advance(position, index, state) if index in may else position
            w = targets[edge]
            if matched > most[w]:
                most[w] = matched
                if matched == n:
                    return Found(n, True, explored=len(states))
                if not queued[w]:
                    queued[w] = 1
                    heapq.heappush(heap, (rank[w], w))
    return Found(max(most), True, explored=len(states))
