"""Whether some fair continuation of a state meets every obligation of a liveness property.

The question ``must_fail`` asks from a position: the system starts in that state, and obligations
``[](trigger => <>goal)`` may already be *pending* there (triggered on the path to it, not met
since). A fair infinite continuation meets every obligation iff it is a lasso whose loop, for each
obligation, passes a goal state or leaves the obligation never pending on it (so the stem met every
trigger before the loop, and the loop triggers none without its goal).

Method: the reachable graph (``regcheck.core.explore``, every edge kept) times one bit per obligation,
"pending" (set by a state where the trigger holds and the goal does not, cleared by a goal state;
initially the position's pending set). On this product the engine's strongly connected components
(``regcheck.core.engines.liveness.components``) are refined as Emerson and Lei's generalised check
does: in a component, an obligation with no goal state anywhere in it can be satisfied by a loop
only where it is not pending, so the nodes where it is are removed and the rest split again. A
component with nothing left to remove satisfies every obligation on the walk through all of it;
it is a witness when it is fair as the liveness engine reads weak fairness (each fair action
instance disabled at one of its states or taken by one of its edges; monotone, so the largest
component decides) and holds an infinite execution (an edge inside it, or a state with no enabled
action, which stutters). The lasso: the shortest product path to the component, then the engine's
shortest closed walk (``liveness.shortest_walks``) through it that witnesses every fair action and
a goal state of every obligation pending somewhere in it (goals read as pseudo-actions, "disabled"
where the goal holds).

No witness in the complete product is the proof that every fair continuation fails; it is
re-checked by ``regcheck.model.continuations`` on the reference simulator, which shares nothing
with this search. A limit that stops the exploration leaves the answer unknown unless a witness was
found among the fully expanded states (whose enabled sets and edges are exact).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from regcheck.core.compile import CompiledSystem, Packed
from regcheck.core.engines.liveness import Search, TimeUp, components, greedy_walk, shortest_walks
from regcheck.core.explore import Edge, explore
from regcheck.core.result import STUTTER, Step, Trace
from regcheck.core.system import Property

_CLOCK_EVERY = 256
"""Product nodes between looks at the clock."""


@dataclass(frozen=True)
class Continuation:
    """The answer: ``trace`` a fair lasso from the state that meets every obligation (``loop`` set), or None;
    ``complete`` when the whole product was searched (then no trace means every fair continuation fails)."""

    trace: Trace | None
    complete: bool
    states: int
    """Reachable states of the system from the position (explored)."""
    nodes: int
    """Nodes of the product with the pending bits."""
    components: int
    """Strongly connected components examined, refinements included."""
    note: str = ""


def satisfying(
    compiled: CompiledSystem,
    prop: Property,
    pending: frozenset[int],
    *,
    max_states: int,
    deadline: float | None,
) -> Continuation:
    """A fair lasso from ``compiled``'s initial state meeting every obligation of ``prop`` (by index in
    ``prop.obligations``, those of ``pending`` pending at the start), or why none was found (module docstring)."""
    for obligation in prop.obligations:
        compiled.system.check_formula(obligation.trigger, f"property {prop.name}: trigger")
        compiled.system.check_formula(obligation.goal, f"property {prop.name}: goal")
    if any(not 0 <= i < len(prop.obligations) for i in pending):
        raise ValueError(f"pending obligations {sorted(pending)} outside the {len(prop.obligations)} of {prop.name}")
    graph = explore(compiled, max_states=max_states, deadline=deadline, keep_edges=True,
                    what="explicit (fair continuation)")
    states, n = graph.states, graph.expanded
    goals = [compiled.predicate(o.goal) for o in prop.obligations]
    triggers = [compiled.predicate(o.trigger) for o in prop.obligations]
    met = [sum(1 << i for i, g in enumerate(goals) if g(states[x])) for x in range(n)]
    armed = [sum(1 << i for i, t in enumerate(triggers) if t(states[x])) & ~met[x] for x in range(n)]
    fair = 0
    for index in prop.fair_actions(compiled.system):
        fair |= 1 << index
    search = Search(deadline=deadline)
    why = {"state limit": f"the state limit ({max_states:,})", "timeout": "the timeout"}.get(graph.stopped, "")

    # The product: node = (state, pending bits), numbered in BFS order; only expanded states are entered.
    start = sum(1 << i for i in pending)
    start = (start | armed[0]) & ~met[0] if n else start
    node_of: dict[tuple[int, int], int] = {}
    keys: list[tuple[int, int]] = []
    parent: list[tuple[int, int]] = []  # (previous node, action); (-1, -1) for the root
    edges: list[list[Edge]] = []
    if n:
        node_of[(0, start)] = 0
        keys.append((0, start))
        parent.append((-1, -1))
    try:
        head = 0
        while head < len(keys):
            if head % _CLOCK_EVERY == 0:
                search.on_time()
            if len(keys) > max_states:
                why = f"the state limit ({max_states:,}) on the product with the pending obligations"
                break
            x, bits = keys[head]
            out: list[Edge] = []
            for action, y in graph.edges[x]:
                if y >= n:
                    continue  # not expanded: its edges are unknown, so it takes part in no loop
                key = (y, (bits | armed[y]) & ~met[y])
                node = node_of.get(key)
                if node is None:
                    node = node_of[key] = len(keys)
                    keys.append(key)
                    parent.append((head, action))
                out.append((action, node))
            edges.append(out)
            head += 1
        edges += [[] for _ in range(len(keys) - len(edges))]
        found = _witness(keys, edges, graph.enabled, met, fair, search)
    except TimeUp:
        found, why = None, "the timeout"
    complete = graph.complete and not why
    if found is None:
        note = "" if complete else f"{why} stopped the search after {len(states):,} states and {len(keys):,} product nodes"
        return Continuation(None, complete, len(states), len(keys), search.components, note)
    entry, cycle = found
    stem: list[tuple[int, int]] = []  # (action, node)
    node = entry
    while parent[node][0] >= 0:
        back, action = parent[node]
        stem.append((action, node))
        node = back
    stem.reverse()
    walk = [(a, keys[m][0]) for a, m in stem + cycle]
    trace = _trace(compiled, [states[keys[0][0]]] + [states[x] for _, x in walk], [a for a, _ in walk], len(stem))
    return Continuation(trace, complete, len(states), len(keys), search.components)


def _witness(
    keys: Sequence[tuple[int, int]],
    edges: Sequence[Sequence[Edge]],
    enabled: Sequence[int],
    met: Sequence[int],
    fair: int,
    search: Search,
) -> tuple[int, list[Edge]] | None:
    """The entry node nearest the root of a fair component that meets every obligation, and a loop through it
    (``[(-1, entry)]`` for a state with no enabled action, which stutters); None when no component does."""
    actions = max((fair.bit_length(), *(e.bit_length() for e in enabled)), default=0)
    best: tuple[int, list[int], int] | None = None  # (entry, component, goals needed)
    work = [components(range(len(keys)), lambda node: [t for _, t in edges[node]])]
    while work:
        for members in work.pop():
            search.components += 1
            if search.components % 64 == 0:
                search.on_time()
            inside = set(members)
            reached = 0
            for node in members:
                reached |= met[keys[node][0]]
            stuck = [node for node in members if keys[node][1] & ~reached]
            if stuck:  # pending for ever on any loop through these nodes: refine without them
                rest = inside.difference(stuck)
                if rest:
                    work.append(components(sorted(rest), _within(edges, rest)))
                continue
            loops = [(a, t) for node in members for a, t in edges[node] if t in inside]
            if not loops and (len(members) > 1 or enabled[keys[members[0]][0]]):
                continue  # no infinite execution stays here
            covered = 0
            for node in members:
                covered |= fair & ~enabled[keys[node][0]]
            for a, _ in loops:
                covered |= fair & (1 << a)
            if covered != fair:
                continue  # a fair action enabled throughout and never taken
            entry = min(members)  # BFS order: the nearest to the root
            if best is None or entry < best[0]:
                needed = 0
                for node in members:
                    needed |= keys[node][1]
                best = (entry, members, needed)
    if best is None:
        return None
    entry, members, needed = best
    if not enabled[keys[entry][0]]:
        return entry, [(-1, entry)]
    # Goals as pseudo-actions above the real ones: "disabled" where the goal holds, so a walk that
    # witnesses every one passes a goal state of each obligation pending in the component.
    goal_bits = needed << actions
    pseudo = [enabled[keys[node][0]] | (goal_bits & ~(met[keys[node][0]] << actions)) for node in range(len(keys))]
    inside = set(members)
    want = fair | goal_bits
    walks = shortest_walks(edges, pseudo, inside, entry, want, [False] * len(keys), actions + needed.bit_length(),
                           search, float("inf"), 0)
    if walks is None or walks[0] is None:
        return entry, greedy_walk(edges, pseudo, inside, entry, want)
    return entry, walks[0]


def _within(edges: Sequence[Sequence[Edge]], nodes: set[int]) -> Callable[[int], list[int]]:
    """The successors of a node among ``nodes``."""
    return lambda node: [t for _, t in edges[node] if t in nodes]


def _trace(compiled: CompiledSystem, states: list[Packed], actions: list[int], loop: int) -> Trace:
    """The lasso as a ``Trace`` with its labels (a stutter step where ``actions`` has -1)."""
    system = compiled.system
    steps = []
    for action, before in zip(actions, states):
        if action < 0:
            steps.append(Step(STUTTER, (), dict(system.stutter)))
        else:
            steps.append(Step(system.actions[action].name, system.actions[action].params,
                              compiled.labels(action, before)))
    return Trace(vars=compiled.names, states=tuple(compiled.state(s) for s in states), steps=tuple(steps), loop=loop)


__all__ = ["Continuation", "satisfying"]
