"""How far a log can be matched, the names it binds as it goes aside: a refutation over the whole state space.

A log is a subsequence of some execution only if it is one with its names free: each observation matched by a
step with its actions and fields, and the names bound before the first observation (``given``), but any thread,
session or association for the names the log binds as it goes. With those names free, the names bound never
change, so what matters of a path is how many observations it matched on reaching its last state: the design's
state graph is explored once, and each state's most matched is carried along the edges to a fixed point (a state's
edges taken again only when it is reached with more matched, which a cycle of the graph may do). Its states may be one per orbit where a symmetry keeps every label an observation compares
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
from dataclasses import dataclass, replace

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
    """:func:`longest_unnamed` of a sequence: the state graph explored once (:class:`_Graph`), then the most
    observations matched on reaching each state carried along its edges (:func:`_carry`)."""
    graph = _Graph.explore(compiled, canonical, max_nodes, deadline)
    if graph.stopped:
        return Found(0, False, explored=graph.count, stopped=graph.stopped)
    return _carry(graph, observed, candidates_of(compiled.system, observed), matches, deadline)


@dataclass
class _Graph:
    """A state graph in arrays: state ``v``'s edges are ``actions[offsets[v]:offsets[v + 1]]`` (the action taken)
    and ``targets[...]`` (the state it leads to); state 0 is the initial state. Arrays, not a networkx graph: a
    design has up to a million states and several million edges, which only flat integer arrays hold at that size."""

    states: list[Packed]
    offsets: array[int]
    actions: array[int]
    targets: array[int]
    stopped: str = ""  # "state limit" or "timeout": the graph is only part of the reachable one

    @property
    def count(self) -> int:
        return len(self.states)

    @classmethod
    def explore(cls, compiled: CompiledSystem, canonical: Callable[[Packed], Packed] | None, max_nodes: int,
                deadline: float | None) -> _Graph:
        """The states reachable from the initial one (one per orbit where ``canonical`` is given), breadth first."""
        start = compiled.initial if canonical is None else canonical(compiled.initial)
        ids = {start: 0}
        graph = cls([start], array("q", [0]), array("i"), array("i"))
        states, actions, targets = graph.states, graph.actions, graph.targets
        v = 0
        while v < len(states):
            if v % 256 == 0 and deadline is not None and time.monotonic() > deadline:
                graph.stopped = "timeout"
                return graph
            for index, successor in compiled.steps(states[v]):
                if canonical is not None:
                    successor = canonical(successor)
                target = ids.get(successor)
                if target is None:
                    target = ids[successor] = len(states)
                    states.append(successor)
                    if len(states) > max_nodes:
                        graph.stopped = "state limit"
                        return graph
                actions.append(index)
                targets.append(target)
            graph.offsets.append(len(targets))
            v += 1
        return graph

    def reverse_postorder(self) -> array[int]:
        """Each state's rank in the reverse postorder of a depth-first walk from the initial state: along every edge
        that closes no cycle, the rank grows (the order a forward data-flow problem converges fastest in)."""
        count, offsets, targets = self.count, self.offsets, self.targets
        rank = array("i", [-1]) * count
        seen = bytearray(count)
        seen[0] = 1
        stack = [(0, offsets[0])]
        finished = count
        while stack:
            v, edge = stack[-1]
            end = offsets[v + 1]
            while edge < end and seen[targets[edge]]:
                edge += 1
            if edge == end:
                stack.pop()
                finished -= 1
                rank[v] = finished
                continue
            stack[-1] = (v, edge + 1)
            w = targets[edge]
            seen[w] = 1
            stack.append((w, offsets[w]))
        return rank


def _carry(graph: _Graph, observed: Sequence[Observed], candidates: Sequence[frozenset[int]], matches: _Matches,
           deadline: float | None) -> Found:
    """The most observations some path matches on reaching each state, to a fixed point: a state's edges are taken
    again only when it is reached with more matched, states in reverse postorder (so an acyclic graph takes each
    edge once). A step matches the next observation whenever it can (no name is new: matching early never matches
    less), with its neighbour where the two share the step."""
    n = len(observed)
    rank = graph.reverse_postorder()
    states, offsets, actions, targets = graph.states, graph.offsets, graph.actions, graph.targets
    most = array("i", [-1]) * graph.count
    most[0] = 0
    queued = bytearray(graph.count)
    queued[0] = 1
    heap = [(rank[0], 0)]
    best = taken = 0
    while heap:
        _, v = heapq.heappop(heap)
        queued[v] = 0
        taken += 1
        if taken % 256 == 0 and deadline is not None and time.monotonic() > deadline:
            return Found(best, False, explored=graph.count, stopped="timeout")
        position, state = most[v], states[v]
        advanced = position + 1
        for edge in range(offsets[v], offsets[v + 1]):
            index = actions[edge]
            matched = position
            if position < n and index in candidates[position] and matches(observed[position], index, state):
                matched = advanced
                if matched < n and observed[matched].shares != observed[position].shares and \
                        index in candidates[matched] and matches(observed[matched], index, state):
                    matched += 1
            w = targets[edge]
            if most[w] >= matched:
                continue
            most[w] = matched
            if matched == n:
                return Found(n, True, explored=graph.count)
            best = max(best, matched)
            if not queued[w]:
                queued[w] = 1
                heapq.heappush(heap, (rank[w], w))
    return Found(best, True, explored=graph.count)
