"""Explicit-state model checking: breadth-first search of the reachable states.

The engine runs the same TransitionSystem as every other engine, compiled to Python functions
over packed states (``regcheck.core.compile``). States are visited in breadth-first order, so the
first state found that violates a property lies at the least distance from the initial state:
its path is a shortest counterexample. With symmetry reduction (on by default) one canonical
state stands for each orbit of interchangeable processes (``regcheck.core.symmetry``, which verifies
the model's declaration first); a counterexample found among canonical states is turned back
into a concrete execution of the real system before it is reported.

Verdicts (``regcheck.core.result.Verdict``):

- ``violated``: a shortest counterexample, as a concrete trace.
- ``proved``: only when the whole reachable graph was explored and the property holds in every
  state; the evidence names the states, transitions, diameter and symmetry used, and the
  fingerprint of the state set (``regcheck.core.compile.fingerprint``: states one per orbit under
  symmetry).
- ``bounded``: only with ``max_depth``: every execution of at most that many steps was covered.
- ``unknown``: the state limit or the timeout stopped the search first (the note says how many
  steps were fully covered).

Liveness properties (weak fairness, obligations ``[](trigger => <>goal)``) are checked by
``regcheck.core.engines.liveness`` on the same compiled system: a fair strongly connected component of
goal-false states (or a deadlock) reachable from a trigger is ``violated`` with a lasso; none in
the whole graph is ``proved``. With ``symmetry`` on, that search runs on the reduced graph too,
each edge keeping the permutation that maps its concrete successor to the state kept, so that
fairness per action instance and obligations per worker are read through the permutations
(NOTE(fair-quotient) in that module); with ``symmetry`` off, on the unreduced graph.

``depth`` is part of the common engine signature; this engine does not use it as a bound,
because a complete search is what makes ``proved`` possible. Pass ``max_depth`` for a bound.

NOTE(liveness): :func:`explore` keeps every transition, labelled with every action that takes
it. Under symmetry the labels are those of the canonical source state's actions, so weak
fairness cannot be read off a reduced ``graph`` as it stands; ``regcheck.core.engines.liveness``
explores its own graph, with the enabled actions of every state and, under symmetry, the
permutation on every edge.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from regcheck.core.compile import CompiledSystem, compile_all, compile_system, fingerprint
from regcheck.core.domains import check_domains
from regcheck.core.engines import DEFAULT_MAX_STATES, Options, liveness
from regcheck.core.evidence import ExhaustiveSearch
from regcheck.core.explore import StateGraph
from regcheck.core.explore import explore as explore_graph
from regcheck.core.expr import Value
from regcheck.core.result import CheckResult, Progress, Trace, Verdict, outcome
from regcheck.core.symmetry import Reduction, SymmetryGroup, reduction
from regcheck.core.system import Kind, Property, TransitionSystem
from regcheck.errors import InvalidArgument

if TYPE_CHECKING:
    import networkx as nx

NAME = "explicit"

class _Watch:
    """The open safety properties, checked on every new state; the first violation of each is a shortest one.

    ``holds`` tells (fast) whether a state satisfies every open property; a state that does not
    has its violations recorded, and the search ends once no property is left open.
    """

    def __init__(self, compiled: CompiledSystem, properties: Sequence[Property]) -> None:
        self.compiled = compiled
        self.open = list(properties)
        self.violations: dict[str, int] = {}  # property -> the state id of its first violation
        self.holds = compile_all([p.formula for p in self.open], compiled.layout)

    def sees(self, graph: StateGraph, node: int) -> bool:
        """Record the properties state ``node`` violates; True when none is left open."""
        state = graph.states[node]
        still_open = []
        for prop in self.open:
            if self.compiled.predicate(prop.formula)(state):
                still_open.append(prop)
            else:
                self.violations[prop.name] = node
        self.open = still_open
        self.holds = compile_all([p.formula for p in still_open], self.compiled.layout)
        return not still_open


def _result(prop: Property, verdict: Verdict, depth: int | None, start: float, **extra: object) -> CheckResult:
    return outcome(prop, NAME, verdict, depth, start, **extra)


def _evidence(search: StateGraph, reduced: Reduction) -> ExhaustiveSearch:
    """What a ``proved`` of a complete search rests on: the graph searched, and a fingerprint of its states."""
    return ExhaustiveSearch(
        states=len(search.states),
        transitions=search.transitions,
        diameter=search.diameter,
        symmetry=reduced.description,
        fingerprint=fingerprint(search.compiled.layout, search.states),
    )


def _prepare(
    system: TransitionSystem, properties: Sequence[Property], symmetry: bool, max_states: int, max_depth: int | None,
    deadline: float | None = None,
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
    return compiled, reduction(system, compiled.layout, [(p.name, p.formula) for p in properties], deadline)


def check(system: TransitionSystem, properties: Sequence[Property], options: Options) -> list[CheckResult]:
    """Check safety ``properties`` on every reachable state, and liveness ones on its fair loops
    (``depth`` is not a bound: see the module docstring). Reads ``timeout``, ``progress``,
    ``symmetry``, ``max_states`` and ``max_depth``."""
    timeout, progress, symmetry = options.timeout, options.progress, options.symmetry
    max_states, max_depth = options.max_states, options.max_depth
    start = time.monotonic()
    deadline = None if timeout is None else start + timeout
    safety = [p for p in properties if p.kind is Kind.SAFETY]
    compiled, reduced = _prepare(system, safety, symmetry and bool(safety), max_states, max_depth, deadline)
    results = _check_safety(compiled, reduced, safety, start, deadline, progress, max_states, max_depth)
    others = [p for p in properties if p.kind is not Kind.SAFETY]
    if others:
        group, description = None, "off (not requested)"
        if symmetry:
            live = reduction(system, compiled.layout, [(p.name, p.formula) for p in others], deadline)
            description = live.description
            if live.canonical is not None:
                group = SymmetryGroup(system, compiled.layout)
        found = liveness.check(
            compiled, others, engine=NAME, max_states=max_states, max_depth=max_depth, deadline=deadline,
            progress=progress, group=group, symmetry=description,
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
    watch = _Watch(compiled, safety)
    search = explore_graph(compiled, canonical=reduced.canonical, max_states=max_states, max_depth=max_depth,
                           deadline=deadline, progress=progress, watch=watch)
    evidence = _evidence(search, reduced) if search.complete else None
    results = {}
    for prop in safety:
        if prop.name in watch.violations:
            node = watch.violations[prop.name]
            trace = search.trace(node).with_meta(property=prop.name)
            results[prop.name] = _result(prop, Verdict.VIOLATED, search.depth[node], start, trace=trace)
        elif search.complete:
            results[prop.name] = _result(prop, Verdict.PROVED, search.diameter, start, evidence=evidence)
        elif search.stopped == "depth":
            results[prop.name] = _result(prop, Verdict.BOUNDED, search.covered, start)
        else:
            why = f"the state limit ({max_states:,})" if search.stopped == "state limit" else "the timeout"
            note = (
                f"{why} stopped the search after {len(search.states):,} states; "
                f"no violation in any execution of at most {search.covered} steps"
            )
            results[prop.name] = _result(prop, Verdict.UNKNOWN, search.covered, start, note=note)
    return results


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
    _search: StateGraph

    def state(self, node: StateTuple) -> dict[str, Value]:
        """A node as the ``{variable: value}`` mapping used by traces and properties."""
        return dict(zip(self.system.names, node))

    def trace(self, node: StateTuple) -> Trace:
        """A shortest concrete execution from the initial state to ``node`` (under symmetry, to its orbit)."""
        if node not in self.graph:
            import networkx as nx

            raise nx.NodeNotFound(f"{node} is not in the explored graph")
        search = self._search
        return search.trace(search.index[search.compiled.layout.pack(self.state(node))])


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
    search = explore_graph(compiled, canonical=reduced.canonical, max_states=max_states, max_depth=max_depth,
                           deadline=None if timeout is None else start + timeout, progress=progress, keep_edges=True)
    unpack = compiled.layout.unpack
    node = [unpack(packed) for packed in search.states]
    import networkx as nx

    graph: nx.DiGraph[StateTuple] = nx.DiGraph()
    graph.add_nodes_from((state, {"depth": depth}) for state, depth in zip(node, search.depth))
    names = [action.label for action in system.actions]
    for source, out in enumerate(search.edges):
        labels: dict[int, list[str]] = {}
        for action, target in out:
            labels.setdefault(target, []).append(names[action])
        graph.add_edges_from(
            (node[source], node[t], {"action": found[0], "actions": tuple(found)}) for t, found in labels.items()
        )
    return Exploration(system, graph, node[0], search.complete, search.stopped, reduced.description, search)


__all__ = ["DEFAULT_MAX_STATES", "NAME", "Exploration", "StateTuple", "check", "explore"]
