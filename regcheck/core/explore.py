"""The one breadth-first explorer of a compiled system, and the state graph it builds.

States are numbered in the order they are found; the tree of first discoveries (``parent``)
gives a shortest path to each. With a symmetry reduction (``canonical``) every state kept is its
orbit's canonical representative, and :meth:`StateGraph.trace` turns a path of representatives
back into a concrete execution. With a ``frame`` function instead
(``regcheck.core.symmetry.SymmetryGroup.frame``) each edge also keeps the group element that maps its
concrete successor to the state kept, which the liveness search needs to read fairness and
obligations through (NOTE(fair-quotient) in ``regcheck.core.engines.liveness``). The explicit engine's
safety search (which watches each new state), its liveness search (which keeps every edge and
enabled set), the ``Exploration`` that renderers draw, and the reachable states a certificate is
evaluated on all come from here.

The search stops once it has found ``max_states`` states (or more: a limit of N tells apart "at
most N - 1 states" from "more"), when the watcher asks
it to, or before expanding a state at ``max_depth`` or past the deadline. The first
``expanded`` states have been expanded whole (their ``edges`` are complete), and every state at
distance at most ``covered`` has been found and shown to the watcher.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from regcheck.core.compile import CompiledSystem, Packed
from regcheck.core.result import Progress, Step, Trace

Edge = tuple[int, int]
"""``(action index, target state id)``; in a graph with frames, ``(action code, target state id)``."""

Frame = Callable[[Packed], tuple[Packed, int]]
"""A state's canonical representative and the number of the group element that maps it there
(``regcheck.core.symmetry.SymmetryGroup.frame``)."""


class Watcher(Protocol):
    """What watches a search: ``holds`` is a fast test of a new state (True: nothing to see, and
    it may change after a look); ``sees`` looks at a state ``holds`` rejected, by id, and says
    whether the search should end ("watched")."""

    holds: Callable[[Packed], bool]

    def sees(self, graph: StateGraph, node: int) -> bool: ...


_CLOCK_EVERY = 64
"""Expanded states between looks at the clock (timeout and progress): few, as one state of many workers
can take a millisecond to expand, and a look takes well under a microsecond."""
_PROGRESS_EVERY_S = 0.1
"""Seconds between progress reports: often, because a portfolio stops its quick pass on one once the
proofs beside it have decided everything, so a long period is time lost (regcheck/model/SOUNDNESS.md)."""


@dataclass
class StateGraph:
    """The explored graph: states in BFS order; the first ``expanded`` of them have been expanded.

    ``parent[i]`` is the id of state ``i``'s parent in the BFS tree (-1 for the root) and
    ``via[i]`` the action taking the parent to it (``via`` stays empty where edges are not kept). Plain int lists,
    not tuples: millions of small tuples would keep the garbage collector busy.
    With ``edges`` kept, ``edges[i]`` lists every ``(action, target)`` of an expanded state and
    ``enabled[i]`` the bit set of the actions enabled there.
    """

    compiled: CompiledSystem
    canonical: Callable[[Packed], Packed] | None = None
    states: list[Packed] = field(default_factory=list)
    index: dict[Packed, int] = field(default_factory=dict)
    parent: list[int] = field(default_factory=list)
    via: list[int] = field(default_factory=list)
    depth: list[int] = field(default_factory=list)
    edges: list[tuple[Edge, ...]] = field(default_factory=list)
    enabled: list[int] = field(default_factory=list)
    expanded: int = 0
    transitions: int = 0
    covered: int = 0
    complete: bool = False
    stopped: str = ""  # "state limit", "depth", "timeout" or "watched" when not complete
    stride: int = 0  # with frames: an edge's code is action + stride * element (``_framed_expander``)
    root_frame: int = 0  # with frames: the element mapping the initial state to state 0

    @property
    def diameter(self) -> int:
        return self.depth[-1] if self.depth else 0

    def path_to(self, node: int) -> list[Edge]:
        """The BFS-tree path from the root to ``node``, as ``(action, state)`` steps."""
        path: list[Edge] = []
        via = self.via
        while self.parent[node] >= 0:
            path.append((via[node] if via else -1, node))
            node = self.parent[node]
        path.reverse()
        return path

    def trace(self, node: int) -> Trace:
        """A shortest concrete execution from the initial state to ``node`` (under symmetry, to its orbit).

        Each step takes the first action of the concrete state whose successor is (canonicalises
        to) the next state of the path. Under symmetry one exists because canonical states are
        exact orbit representatives and the verified symmetry maps transitions to transitions
        (NOTE(symmetry-soundness) in regcheck.core.symmetry).
        """
        compiled, canonical = self.compiled, self.canonical
        states = [compiled.initial]
        actions: list[int] = []
        for _, target in self.path_to(node):
            wanted = self.states[target]
            step = next(
                ((i, s) for i, s in compiled.steps(states[-1]) if (canonical(s) if canonical else s) == wanted), None
            )
            if step is None:
                raise AssertionError(f"no concrete step into the orbit of {wanted}: the canonical form is not exact")
            actions.append(step[0])
            states.append(step[1])
        steps = []
        for index, state in zip(actions, states):
            action = compiled.system.actions[index]
            steps.append(Step(action.name, action.params, compiled.labels(index, state)))
        return Trace(vars=compiled.names, states=tuple(compiled.state(s) for s in states), steps=tuple(steps))


def explore(
    compiled: CompiledSystem,
    *,
    max_states: int,
    canonical: Callable[[Packed], Packed] | None = None,
    max_depth: int | None = None,
    deadline: float | None = None,
    progress: Progress | None = None,
    keep_edges: bool = False,
    watch: Watcher | None = None,
    what: str = "explicit",
    frame: Frame | None = None,
) -> StateGraph:
    """Breadth-first search from the initial state (see the module docstring); ``what`` names the
    search in progress lines. With ``frame`` (which replaces ``canonical``, keeps every edge and
    takes no watcher) each edge also names the group element of its successor (``StateGraph.stride``)."""
    if frame is not None:
        if canonical is not None or watch is not None:
            raise ValueError("explore: frame replaces canonical and takes no watcher")
        keep_edges = True
        canonical = lambda state: frame(state)[0]  # noqa: E731
    graph = StateGraph(compiled, canonical)
    root = canonical(compiled.initial) if canonical else compiled.initial
    if frame is not None:
        root, graph.root_frame = frame(compiled.initial)
        graph.stride = len(compiled.system.actions)
    graph.states.append(root)
    graph.index[root] = 0
    graph.parent.append(-1)
    if keep_edges:
        graph.via.append(-1)
    graph.depth.append(0)
    started = time.monotonic()
    try:
        if watch is not None and not watch.holds(root) and watch.sees(graph, 0):
            graph.stopped = "watched"
        else:
            if frame is not None:
                expand = _framed_expander(graph, max_states, frame)
            else:
                expand = (_edges_expander if keep_edges else _successor_expander)(graph, max_states, watch)
            graph.stopped = _breadth_first(graph, expand, max_depth, deadline, progress, what, started)
            graph.complete = not graph.stopped
        return graph
    finally:
        graph.covered = graph.diameter if graph.complete else graph.depth[min(graph.expanded, len(graph.depth) - 1)]
        if progress:
            progress(_progress_line(what, len(graph.states), graph.covered, time.monotonic() - started))


Expander = Callable[[int, int], str]
"""Expands state ``current`` at depth ``level``; returns why the search must stop ("" to go on)."""


def _breadth_first(
    graph: StateGraph,
    expand: Expander,
    max_depth: int | None,
    deadline: float | None,
    progress: Progress | None,
    what: str,
    started: float,
) -> str:
    """Expand the states in the order they were found, watching the depth bound and the clock."""
    states, depth = graph.states, graph.depth
    last_report = started
    current = 0
    try:
        while current < len(states):
            level = depth[current]
            if max_depth is not None and level >= max_depth:
                return "depth"
            if current % _CLOCK_EVERY == 0 and current:
                now = time.monotonic()
                if deadline is not None and now > deadline:
                    return "timeout"
                if progress and now - last_report > _PROGRESS_EVERY_S:
                    last_report = now
                    progress(_progress_line(what, len(states), level, now - started))
            stop = expand(current, level)
            if stop:
                return stop
            current += 1
        return ""
    finally:
        graph.expanded = current


def _successor_expander(graph: StateGraph, max_states: int, watch: Watcher | None) -> Expander:
    """Successors only: the hot loop of a safety search, which keeps no edges."""
    states, index, parent, depth = graph.states, graph.index, graph.parent, graph.depth
    successors, canonical = graph.compiled.successors, graph.canonical
    holds = watch.holds if watch is not None else None

    def expand(current: int, level: int) -> str:
        nonlocal holds
        found = successors(states[current])
        graph.transitions += len(found)
        for successor in found:
            if successor in index:
                continue
            if canonical is not None:
                successor = canonical(successor)
                if successor in index:
                    continue
            target = len(states)
            index[successor] = target
            states.append(successor)
            parent.append(current)
            depth.append(level + 1)
            if holds is not None and not holds(successor):
                assert watch is not None
                if watch.sees(graph, target):
                    return "watched"
                holds = watch.holds
            if target + 1 >= max_states:
                return "state limit"
        return ""

    return expand


def _edges_expander(graph: StateGraph, max_states: int, watch: Watcher | None) -> Expander:
    """Every edge and enabled set kept (for fair loops and drawings); the state counts as expanded
    only once all its edges are in."""
    states, index, parent, via, depth = graph.states, graph.index, graph.parent, graph.via, graph.depth
    steps, canonical, edges, enabled = graph.compiled.steps, graph.canonical, graph.edges, graph.enabled
    holds = watch.holds if watch is not None else None

    def expand(current: int, level: int) -> str:
        nonlocal holds
        found = steps(states[current])
        graph.transitions += len(found)
        out: list[Edge] = []
        mask = 0
        for action, successor in found:
            if canonical is not None and successor not in index:
                successor = canonical(successor)
            target = index.get(successor)
            if target is None:
                target = len(states)
                index[successor] = target
                states.append(successor)
                parent.append(current)
                via.append(action)
                depth.append(level + 1)
                if holds is not None and not holds(successor):
                    assert watch is not None
                    if watch.sees(graph, target):
                        return "watched"
                    holds = watch.holds
                if target + 1 >= max_states:
                    return "state limit"
            mask |= 1 << action
            out.append((action, target))
        edges.append(tuple(out))
        enabled.append(mask)
        return ""

    return expand


def _framed_expander(graph: StateGraph, max_states: int, frame: Frame) -> Expander:
    """Every edge and enabled set kept, each edge also naming the element of the symmetry group that
    maps the successor to the state kept (NOTE(frames) in regcheck.core.symmetry): its code is
    ``action + stride * element``, plain ``action`` when the successor is kept as it is."""
    states, index, parent, via, depth = graph.states, graph.index, graph.parent, graph.via, graph.depth
    steps, edges, enabled, stride = graph.compiled.steps, graph.edges, graph.enabled, graph.stride
    codes: dict[int, int] = {}  # one int object per code, not one per edge

    def expand(current: int, level: int) -> str:
        found = steps(states[current])
        graph.transitions += len(found)
        out: list[Edge] = []
        mask = 0
        for action, successor in found:
            target = index.get(successor)
            code = action
            if target is None:
                successor, element = frame(successor)
                if element:
                    code = action + stride * element
                    code = codes.setdefault(code, code)
                target = index.get(successor)
                if target is None:
                    target = len(states)
                    index[successor] = target
                    states.append(successor)
                    parent.append(current)
                    via.append(code)
                    depth.append(level + 1)
                    if target + 1 >= max_states:
                        return "state limit"
            mask |= 1 << action
            out.append((code, target))
        edges.append(tuple(out))
        enabled.append(mask)
        return ""

    return expand


def _progress_line(what: str, states: int, depth: int, seconds: float) -> str:
    rate = states / seconds if seconds > 0 else 0.0
    return f"{what}: {states:,} states, depth {depth}, {rate:,.0f} states/s"


def random_run(compiled: CompiledSystem, rng: random.Random, steps: int) -> Trace:
    """An execution of at most ``steps`` steps from the initial state, each step one of the enabled moves
    drawn by ``rng`` (it ends early in a state with none): the runs that generated logs are made of."""
    state, states, taken = compiled.initial, [compiled.initial], []
    for _ in range(steps):
        moves = compiled.steps(state)
        if not moves:
            break
        index, after = rng.choice(moves)
        action = compiled.system.actions[index]
        taken.append(Step(action.name, action.params, compiled.labels(index, state)))
        state = after
        states.append(after)
    return Trace(vars=compiled.names, states=tuple(compiled.state(s) for s in states), steps=tuple(taken))
