"""Explicit-state model checking: breadth-first search of the reachable states.

The engine runs the same TransitionSystem as every other engine, compiled to Python functions
over packed states (``regcheck.compile``). States are visited in breadth-first order, so the
first state found that violates a property lies at the least distance from the initial state:
its path is a shortest counterexample. With symmetry reduction (on by default) one canonical
state stands for each orbit of interchangeable processes (``regcheck.symmetry``, which verifies
the model's declaration first); a counterexample found among canonical states is turned back
into a concrete execution of the real system before it is reported.

Verdicts (DESIGN.md section 5):

- ``violated``: a shortest counterexample, as a concrete trace.
- ``proved``: only when the whole reachable graph was explored and the property holds in every
  state; the evidence names the states, transitions, diameter and symmetry used, and the
  fingerprint of the state set (``regcheck.compile.fingerprint``: states one per orbit under
  symmetry).
- ``bounded``: only with ``max_depth``: every execution of at most that many steps was covered.
- ``unknown``: the state limit or the timeout stopped the search first (the note says how many
  steps were fully covered).

Liveness properties (weak fairness, obligations ``[](trigger => <>goal)``) are checked by
``regcheck.engines.liveness`` on the same compiled system: a fair strongly connected component of
goal-false states (or a deadlock) reachable from a trigger is ``violated`` with a lasso; none in
the whole graph is ``proved``. That search runs without symmetry reduction, whatever
``symmetry`` says: weak fairness is per action instance, and a reduced graph merges the
instances of interchangeable processes (see that module's docstring).

``depth`` is part of the common engine signature; this engine does not use it as a bound,
because a complete search is what makes ``proved`` possible. Pass ``max_depth`` for a bound.

NOTE(liveness): :func:`explore` keeps every transition, labelled with every action that takes
it. Under symmetry the labels are those of the canonical source state's actions, so weak
fairness cannot be read off a reduced ``graph``; ``regcheck.engines.liveness`` explores its own
unreduced graph with the enabled actions of every state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import networkx as nx

from regcheck.engines import liveness
from regcheck.compile import CompiledSystem, Packed, compile_all, compile_system, fingerprint
from regcheck.domains import check_domains
from regcheck.engines import DEFAULT_MAX_STATES, Options
from regcheck.result import Progress, outcome
from regcheck.errors import InvalidArgument
from regcheck.evidence import ExhaustiveSearch
from regcheck.expr import Value
from regcheck.result import CheckResult, Step, Trace, Verdict
from regcheck.symmetry import Reduction, reduction
from regcheck.system import Kind, Property, TransitionSystem

NAME = "explicit"
"""States kept before the search gives up with ``unknown`` (a few hundred bytes each)."""

_CLOCK_EVERY = 4096
"""New states between looks at the clock (timeout and progress)."""
_PROGRESS_EVERY_S = 0.5

Parents = dict[Packed, Packed | None]
"""Each visited (canonical) state -> the state it was first reached from (None for the root)."""


@dataclass
class _Search:
    """One breadth-first search, and how far it got."""

    compiled: CompiledSystem
    canonical: Callable[[Packed], Packed] | None
    max_states: int
    max_depth: int | None
    deadline: float | None
    progress: Progress | None
    parents: Parents = field(default_factory=dict)
    transitions: int = 0
    covered: int = 0  # every execution of at most this many steps has been examined
    diameter: int = 0  # the greatest distance of a visited state
    complete: bool = False  # the whole reachable graph was explored
    stopped: str = ""  # why the search ended early ("state limit", "timeout", "all violated", "depth")

    @property
    def root(self) -> Packed:
        initial = self.compiled.initial
        return self.canonical(initial) if self.canonical else initial

    def run(self, watch: _Watch) -> None:
        """Search from the initial state; ``watch`` checks every new state and may end the search."""
        start = last_report = time.monotonic()
        successors, canonical, parents = self.compiled.successors, self.canonical, self.parents
        root = self.root
        parents[root] = None
        frontier = [root]
        level = transitions = 0
        try:
            if not watch.holds(root) and watch.sees(root, 0):
                raise _Stop("all violated")
            while frontier:
                if self.max_depth is not None and level >= self.max_depth:
                    raise _Stop("depth")
                following: list[Packed] = []
                grow = following.append
                holds = watch.holds
                for state in frontier:
                    found = successors(state)
                    transitions += len(found)
                    for successor in found:
                        # Visited states are canonical: one found among them needs no canonicalising.
                        if successor in parents:
                            continue
                        if canonical:
                            successor = canonical(successor)
                            if successor in parents:
                                continue
                        parents[successor] = state
                        grow(successor)
                        if not holds(successor):
                            if watch.sees(successor, level + 1):
                                raise _Stop("all violated")
                            holds = watch.holds
                        count = len(parents)
                        if count >= self.max_states:
                            raise _Stop("state limit")
                        if count % _CLOCK_EVERY == 0:
                            now = time.monotonic()
                            if self.deadline is not None and now > self.deadline:
                                raise _Stop("timeout")
                            if self.progress and now - last_report > _PROGRESS_EVERY_S:
                                last_report = now
                                self.progress(_progress_line(count, level + 1, now - start))
                level += 1
                if following:
                    self.diameter = level
                frontier = following
            self.complete = True
        except _Stop as stop:
            self.stopped = stop.reason
        finally:
            # Mid-level, every state at distance <= level has been found and checked.
            self.covered = level
            self.transitions = transitions

    def steps(self, state: Packed) -> list[tuple[int, Packed]]:
        """The actions enabled in ``state`` with their successors, canonical under symmetry."""
        canonical = self.canonical
        found = self.compiled.steps(state)
        return [(i, canonical(s)) for i, s in found] if canonical else found

    def trace(self, target: Packed) -> Trace:
        """A shortest concrete execution of the system from its initial state to the orbit of ``target``.

        Walks the BFS parents from the root; each step takes the first action of the concrete
        state whose successor is (canonicalises to) the next visited state. Under symmetry one
        exists because canonical states are exact orbit representatives and the verified
        symmetry maps transitions to transitions (NOTE(symmetry-soundness) in regcheck.symmetry).
        """
        compiled, canonical = self.compiled, self.canonical
        chain: list[Packed] = []
        node: Packed | None = target
        while node is not None:
            chain.append(node)
            node = self.parents[node]
        chain.reverse()
        states = [compiled.initial]
        actions: list[int] = []
        for node in chain[1:]:
            step = next(
                ((i, s) for i, s in compiled.steps(states[-1]) if (canonical(s) if canonical else s) == node), None
            )
            if step is None:
                raise AssertionError(f"no concrete step into the orbit of {node}: the canonical form is not exact")
            actions.append(step[0])
            states.append(step[1])
        steps = []
        for index, state in zip(actions, states):
            action = compiled.system.actions[index]
            steps.append(Step(action.name, action.params, compiled.labels(index, state)))
        return Trace(vars=compiled.names, states=tuple(compiled.state(s) for s in states), steps=tuple(steps))


class _Stop(Exception):
    """Ends a search early; ``reason`` is kept as ``_Search.stopped``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _Watch:
    """The open safety properties, checked on every new state; the first violation of each is a shortest one.

    ``holds`` tells (fast) whether a state satisfies every open property; :meth:`sees` records
    the violations of a state that does not.
    """

    def __init__(self, compiled: CompiledSystem, properties: Sequence[Property]) -> None:
        self.compiled = compiled
        self.open = list(properties)
        self.violations: dict[str, tuple[Packed, int]] = {}
        self.holds = compile_all([p.formula for p in self.open], compiled.layout)

    def sees(self, state: Packed, distance: int) -> bool:
        """Record the properties ``state`` violates; True when none is left open."""
        still_open = []
        for prop in self.open:
            if self.compiled.predicate(prop.formula)(state):
                still_open.append(prop)
            else:
                self.violations[prop.name] = (state, distance)
        self.open = still_open
        self.holds = compile_all([p.formula for p in still_open], self.compiled.layout)
        return not still_open


def _result(prop: Property, verdict: Verdict, depth: int | None, start: float, **extra: object) -> CheckResult:
    return outcome(prop, NAME, verdict, depth, start, **extra)


def _evidence(search: _Search, reduced: Reduction) -> ExhaustiveSearch:
    """What a ``proved`` of a complete search rests on: the graph searched, and a fingerprint of its states."""
    return ExhaustiveSearch(
        states=len(search.parents),
        transitions=search.transitions,
        diameter=search.diameter,
        symmetry=reduced.description,
        fingerprint=fingerprint(search.compiled.layout, search.parents),
    )


def _progress_line(states: int, depth: int, seconds: float) -> str:
    rate = states / seconds if seconds > 0 else 0.0
    return f"explicit: {states:,} states, depth {depth}, {rate:,.0f} states/s"


def _prepare(
    system: TransitionSystem, properties: Sequence[Property], symmetry: bool, max_states: int, max_depth: int | None
) -> tuple[CompiledSystem, Reduction]:
    if max_states < 1:
        raise InvalidArgument(f"max_states: expected a positive number of states, got {max_states}")
    if max_depth is not None and max_depth < 0:
        raise InvalidArgument(f"max_depth: expected a number of steps, at least 0, got {max_depth}")
    check_domains(system)
    for prop in properties:
        system.check_formula(prop.formula, f"property {prop.name}")
    compiled = compile_system(system)
    if not symmetry:
        return compiled, Reduction(None, 1, "off (not requested)")
    return compiled, reduction(system, compiled.layout, [(p.name, p.formula) for p in properties])


def check(system: TransitionSystem, properties: Sequence[Property], options: Options) -> list[CheckResult]:
    """Check safety ``properties`` on every reachable state, and liveness ones on its fair loops
    (``depth`` is not a bound: see the module docstring). Reads ``timeout``, ``progress``,
    ``symmetry``, ``max_states`` and ``max_depth``."""
    timeout, progress, symmetry = options.timeout, options.progress, options.symmetry
    max_states, max_depth = options.max_states, options.max_depth
    start = time.monotonic()
    deadline = None if timeout is None else start + timeout
    safety = [p for p in properties if p.kind is Kind.SAFETY]
    compiled, reduced = _prepare(system, safety, symmetry and bool(safety), max_states, max_depth)
    results = _check_safety(compiled, reduced, safety, start, deadline, progress, max_states, max_depth)
    others = [p for p in properties if p.kind is not Kind.SAFETY]
    if others:
        found = liveness.check(
            compiled, others, engine=NAME, max_states=max_states, max_depth=max_depth, deadline=deadline,
            progress=progress,
        )
        results.update((r.property, r) for r in found)
    return [results[p.name] for p in properties]


def _check_safety(
    compiled: CompiledSystem,
    reduced: Reduction,
    safety: Sequence[Property],
    start: float,
    deadline: float | None,
    progress: Progress | None,
    max_states: int,
    max_depth: int | None,
) -> dict[str, CheckResult]:
    if not safety:
        return {}
    search = _Search(
        compiled,
        reduced.canonical,
        max_states=max_states,
        max_depth=max_depth,
        deadline=deadline,
        progress=progress,
    )
    watch = _Watch(compiled, safety)
    search.run(watch)
    if progress:
        progress(_progress_line(len(search.parents), search.covered, time.monotonic() - start))
    evidence = _evidence(search, reduced) if search.complete else None
    results = {}
    for prop in safety:
        if prop.name in watch.violations:
            state, distance = watch.violations[prop.name]
            trace = search.trace(state).with_meta(property=prop.name)
            results[prop.name] = _result(prop, Verdict.VIOLATED, distance, start, trace=trace)
        elif search.complete:
            results[prop.name] = _result(prop, Verdict.PROVED, search.diameter, start, evidence=evidence)
        elif search.stopped == "depth":
            results[prop.name] = _result(prop, Verdict.BOUNDED, search.covered, start)
        else:
            why = f"the state limit ({max_states:,})" if search.stopped == "state limit" else "the timeout"
            note = (
                f"{why} stopped the search after {len(search.parents):,} states; "
                f"no violation in any execution of at most {search.covered} steps"
            )
            results[prop.name] = _result(prop, Verdict.UNKNOWN, search.covered, start, note=note)
    return results


@dataclass(frozen=True)
class Reachable:
    """The reachable states of a system, unreduced, or as many as a limit let the search find.

    ``complete`` is False when the limit or the timeout stopped the search (``stopped`` says which).
    """

    compiled: CompiledSystem
    states: tuple[Packed, ...]
    complete: bool
    stopped: str


def reachable(system: TransitionSystem, *, max_states: int, timeout: float | None = None) -> Reachable:
    """Every reachable state of ``system``, without symmetry reduction, if there are at most ``max_states``."""
    compiled, _ = _prepare(system, (), False, max_states + 1, None)
    deadline = None if timeout is None else time.monotonic() + timeout
    search = _Search(compiled, None, max_states=max_states + 1, max_depth=None, deadline=deadline, progress=None)
    search.run(_Watch(compiled, ()))
    return Reachable(compiled, tuple(search.parents), search.complete, search.stopped)


StateTuple = tuple[Value, ...]
"""A state as the values of ``system.names``, in that order: the nodes of :attr:`Exploration.graph`."""


@dataclass(frozen=True)
class Exploration:
    """The explored reachable graph of a system: a stable interface for renderers and later checks.

    ``graph`` is a ``networkx.DiGraph`` whose nodes are state tuples (canonical ones under
    symmetry), each with attribute ``depth``, its BFS distance from ``initial``; an edge
    carries ``action``, the label of the first action found to take it, and ``actions``, every
    such label. ``complete`` is False when a limit stopped the search (``stopped`` says which);
    ``symmetry`` describes the reduction used.
    """

    system: TransitionSystem
    graph: nx.DiGraph[StateTuple]
    initial: StateTuple
    complete: bool
    stopped: str
    symmetry: str
    _search: _Search

    def state(self, node: StateTuple) -> dict[str, Value]:
        """A node as the ``{variable: value}`` mapping used by traces and properties."""
        return dict(zip(self.system.names, node))

    def trace(self, node: StateTuple) -> Trace:
        """A shortest concrete execution from the initial state to ``node`` (under symmetry, to its orbit)."""
        if node not in self.graph:
            raise nx.NodeNotFound(f"{node} is not in the explored graph")
        return self._search.trace(self._search.compiled.layout.pack(self.state(node)))


def explore(
    system: TransitionSystem,
    *,
    symmetry: bool = True,
    max_states: int = DEFAULT_MAX_STATES,
    max_depth: int | None = None,
    timeout: float | None = None,
    progress: Progress | None = None,
) -> Exploration:
    """Explore the reachable states of ``system`` breadth-first into a ``networkx.DiGraph``.

    Symmetry reduction (on by default) uses the system's declared, verified process groups.
    """
    start = time.monotonic()
    compiled, reduced = _prepare(system, (), symmetry, max_states, max_depth)
    search = _Search(
        compiled,
        reduced.canonical,
        max_states=max_states,
        max_depth=max_depth,
        deadline=None if timeout is None else start + timeout,
        progress=progress,
    )
    search.run(_Watch(compiled, ()))
    unpack, parents = compiled.layout.unpack, search.parents
    node = {packed: unpack(packed) for packed in parents}
    graph: nx.DiGraph[StateTuple] = nx.DiGraph()
    for packed, parent in parents.items():  # parents precede children: insertion order is BFS order
        graph.add_node(node[packed], depth=0 if parent is None else graph.nodes[node[parent]]["depth"] + 1)
    names = [action.label for action in system.actions]
    for packed in parents:
        labels: dict[Packed, list[str]] = {}
        for index, target in search.steps(packed):
            if target in parents:
                labels.setdefault(target, []).append(names[index])
        graph.add_edges_from(
            (node[packed], node[t], {"action": found[0], "actions": tuple(found)}) for t, found in labels.items()
        )
    return Exploration(
        system, graph, node[search.root], search.complete, search.stopped, reduced.description, search
    )


__all__ = ["DEFAULT_MAX_STATES", "NAME", "Exploration", "Reachable", "StateTuple", "check", "explore", "reachable"]
