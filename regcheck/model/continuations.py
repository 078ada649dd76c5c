"""The re-check of "every fair continuation fails": on the reference simulator, sharing nothing with the search.

``regcheck.core.engines.continuation`` searches the compiled system for a fair lasso from a position
that meets every obligation of a liveness property; finding none is a proof that every fair
continuation fails. Before that proof is shown this module asks the same question again with its
own pieces: the reference simulator's states and enabled actions (weak fairness on every action
but ``ServerEvent``, ``reference_properties.NOT_FAIR``), the property's own duties
(``reference_properties.LIVENESS``), the pending obligations read off the path by those duties, and
networkx's strongly connected components. A component of the product (state, pending duties) is
a fair satisfying loop when every duty with no goal state in it is pending nowhere in it (else
those nodes are removed and the rest split again), it holds an infinite execution, and every fair
action instance enabled at all of its states is taken by one of its edges.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

from regcheck.core.result import Trace
from regcheck.model import reference_properties as reference
from regcheck.model.scenario import Scenario
from regcheck.model.simulator import Simulator

Value = bool | int | str
Node = tuple[Hashable, frozenset[int]]
Instance = tuple[str, tuple[tuple[str, int], ...]]


def pending_on(duties: Sequence[reference.Duty], states: Sequence[Mapping[str, Value]]) -> frozenset[int]:
    """The duties (by index) triggered on ``states`` and not met since, after the last of them."""
    pending: set[int] = set()
    for state in states:
        pending = _after(duties, pending, state)
    return frozenset(pending)


def _after(duties: Sequence[reference.Duty], pending: set[int] | frozenset[int], state: Mapping[str, Value]) -> set[int]:
    return {i for i, duty in enumerate(duties)
            if (i in pending or duty.trigger(dict(state))) and not duty.goal(dict(state))}


@dataclass(frozen=True)
class Recheck:
    """The simulator's answer: ``confirmed`` (no fair satisfying loop), or not, with ``loop`` when it found one
    (a contradiction of the search) and ``why`` in words."""

    confirmed: bool
    loop: bool = False
    why: str = ""


def no_fair_satisfying(scenario: Scenario, path: Trace, prop: str, *, max_states: int,
                       deadline: float | None) -> Recheck:
    """Whether the simulator confirms that no fair continuation of ``path``'s last state meets every obligation of
    liveness property ``prop`` (the module docstring)."""
    import networkx as nx

    sim = Simulator(scenario)
    duties = reference.LIVENESS[prop](sim.design)
    first = dict(path.states[-1])
    root: Node = (_key(first), frozenset(pending_on(duties, path.states)))
    state_of: dict[Hashable, dict[str, Value]] = {root[0]: first}
    graph: nx.MultiDiGraph[Node] = nx.MultiDiGraph()
    graph.add_node(root)
    enabled: dict[Hashable, frozenset[Instance]] = {}
    frontier = [root]
    while frontier:
        following: list[Node] = []
        for node in frontier:
            if graph.number_of_nodes() > max_states:
                return Recheck(False, why=f"the simulator's re-check stopped at its limit of {max_states:,} states")
            if deadline is not None and time.monotonic() > deadline:
                return Recheck(False, why="the timeout stopped the simulator's re-check")
            key, pending = node
            state = state_of[key]
            moves = sim.enabled(state)
            enabled[key] = frozenset((name, _frozen(params)) for name, params in moves)
            for name, params in moves:
                after, _ = sim.step(state, name, params)
                target: Node = (_key(after), frozenset(_after(duties, pending, after)))
                state_of.setdefault(target[0], after)
                if target not in graph:
                    graph.add_node(target)
                    following.append(target)
                graph.add_edge(node, target, instance=(name, _frozen(params)))
        frontier = following
    work = [set(c) for c in nx.strongly_connected_components(graph)]
    while work:
        members = work.pop()
        met = {i for i, duty in enumerate(duties) if any(duty.goal(state_of[key]) for key, _ in members)}
        stuck = {node for node in members if node[1] - met}
        if stuck:
            work += [set(c) for c in nx.strongly_connected_components(graph.subgraph(members - stuck))]
            continue
        inside = [data["instance"] for _, _, data in graph.subgraph(members).edges(data=True)]
        (one,) = members if len(members) == 1 else (None,)
        if not inside and (one is None or enabled[one[0]]):
            continue
        always = frozenset.intersection(*(enabled[key] for key, _ in members))
        if all(name in reference.NOT_FAIR or (name, params) in inside for name, params in always):
            return Recheck(False, True, f"the simulator finds a fair loop of {len(members)} state(s) on which every "
                           "obligation is met")
    return Recheck(True)


def _key(state: Mapping[str, Value]) -> Hashable:
    return tuple(sorted(state.items()))


def _frozen(params: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(params.items()))


__all__ = ["Recheck", "no_fair_satisfying", "pending_on"]
