"""Liveness on the explicit state graph: fair loops on which an obligation is never met.

A liveness property (``regcheck.system.Property``) fails when some fair infinite execution
violates one of its obligations ``[](trigger => <>goal)``: the trigger holds at some point and
the goal never holds from then on. Fair means weak fairness for every instance of the
property's fair actions: an instance enabled at every state of the loop is taken on it. The
executions that matter are lassos (states 0..k, then a step from k back to ``loop``), exactly
as ``regcheck.smt.Lasso`` encodes them for BMC; a state with no enabled action repeats for ever
(a ``Stutter`` step), which is fair because every action is disabled there.

Method, for each obligation (the standard fair-SCC check, e.g. Emerson and Lei):

1. Explore the reachable graph, recording every ``(action, successor)`` of each expanded state
   and the set of actions enabled there (:func:`explore`).
2. ``R``: the states where the goal is false that can be reached through goal-false states from
   a state where the trigger holds and the goal does not. A multi-source shortest-path search
   seeded with each such state's BFS distance gives, for every state of ``R``, the shortest
   prefix that triggers the obligation and reaches it without meeting the goal.
3. The strongly connected components of the subgraph induced by ``R`` (Tarjan). A component
   is a candidate when it has an edge inside it (a single state needs a self-loop) or is one
   state with no enabled action (a deadlock). It is fair when every fair action instance is
   disabled at one of its states or taken by one of its edges. Weak fairness asks only for "a
   state or an edge" and is therefore monotone in the loop's states and edges: a maximal
   component is fair iff some loop inside it is, so no refinement into sub-components (needed
   for strong fairness) is required.
4. The lasso: for each fair component and each entry state in it, the shortest closed walk
   through the entry inside the component that visits a witness for every fair action (a state
   where it is disabled, or an edge taking it) is found by breadth-first search over (state,
   witnesses seen) pairs; with the shortest prefix to the entry this is a shortest violating
   fair lasso, the one BMC's lasso search finds. Where that search would exceed
   :data:`EXACT_BUDGET` pairs, a greedy walk (nearest missing witness, then back) is used, and
   the result's note says the lasso is short but not necessarily shortest.

Symmetry: this module explores without symmetry reduction. Weak fairness speaks of action
instances (``EcDoRpcExt2(worker=1)``), and a reduced graph merges the instances of
interchangeable processes, so "taken on the loop" and "disabled on the loop" would have to be
mapped through the permutation that closes each loop. Running unreduced is the simple, sound
choice; the cost is the reduction factor, which is small for the scenarios a liveness check is
run on (one or two workers).

Verdicts: ``violated`` with a lasso (``Trace.loop`` set) whenever a fair violating component
lies among the fully expanded states, even if a limit stopped the search (the enabled sets of
expanded states are exact, so such a loop exists in the real system); ``proved`` only when the
whole reachable graph was explored and no obligation has a fair violating component; else
``unknown``. With ``max_depth`` a search that found nothing is ``unknown`` too: a depth bound
on states says nothing about the length of lassos.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from regcheck.compile import CompiledSystem, fingerprint
from regcheck.evidence import LassoFreedom
from regcheck.explore import Edge, StateGraph, explore
from regcheck.result import STUTTER, CheckResult, Progress, Step, Trace, Verdict, outcome
from regcheck.system import Obligation, Property

EXACT_BUDGET = 500_000
"""(state, witnesses) pairs the shortest-loop searches may visit for one property before falling back to greedy."""

_INFINITY = float("inf")
_CLOCK_EVERY = 2048
"""Components examined between looks at the clock."""


@dataclass(frozen=True)
class Lasso:
    """A violating fair lasso over state ids: ``prefix`` from the root to ``loop_start``, then ``cycle`` back to it.

    ``cycle`` is empty for a deadlock (the lasso closes with a stutter step).
    """

    prefix: tuple[Edge, ...]
    cycle: tuple[Edge, ...]
    obligation: Obligation
    shortest: bool

    def __len__(self) -> int:
        return len(self.prefix) + max(len(self.cycle), 1)


@dataclass
class Search:
    """What the search for one property examined (the evidence of a proof)."""

    components: int = 0  # strongly connected components of goal-false states examined
    budget: int = field(default_factory=lambda: EXACT_BUDGET)  # read when a search starts
    greedy: bool = False  # the budget ran out: some loop was found greedily, so none is known to be shortest
    deadline: float | None = None  # past it, the search raises TimeUp

    def on_time(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TimeUp


class TimeUp(Exception):
    """The deadline passed during a fair-loop search."""


def find_lasso(graph: StateGraph, prop: Property, search: Search | None = None) -> Lasso | None:
    """A shortest fair lasso violating an obligation of ``prop`` among the expanded states, or None."""
    search = search if search is not None else Search()
    fair = 0
    for index in prop.fair_actions(graph.compiled.system):
        fair |= 1 << index
    best: Lasso | None = None
    for obligation in prop.obligations:
        search.on_time()
        found = _violation(graph, obligation, fair, search, _INFINITY if best is None else len(best))
        if found is not None and (best is None or len(found) < len(best)):
            best = found
    if best is not None and search.greedy:
        best = replace(best, shortest=False)
    return best


def _violation(graph: StateGraph, obligation: Obligation, fair: int, search: Search, bound: float) -> Lasso | None:
    """The shortest fair lasso on which ``obligation`` is never met, if one is shorter than ``bound``."""
    compiled, n = graph.compiled, graph.expanded
    goal, trigger = compiled.predicate(obligation.goal), compiled.predicate(obligation.trigger)
    states, edges, enabled, depth = graph.states, graph.edges, graph.enabled, graph.depth
    unmet = [not goal(states[i]) for i in range(n)]
    triggered = [unmet[i] and bool(trigger(states[i])) for i in range(n)]

    # R: goal-false states reached from a triggered state through goal-false states, each with the
    # shortest such prefix: a breadth-first search whose sources join it at their own BFS depth
    # (state ids are in BFS order, so the sources come sorted by depth).
    sources = [i for i in range(n) if triggered[i]]
    prefix: dict[int, int] = {}
    via: dict[int, Edge | None] = {}
    frontier: list[int] = []
    level, joined = 0, 0
    while frontier or joined < len(sources):
        if not frontier:
            level = depth[sources[joined]]
        while joined < len(sources) and depth[sources[joined]] == level:
            source = sources[joined]
            joined += 1
            if source not in prefix:
                prefix[source] = level
                via[source] = None
                frontier.append(source)
        following = []
        for node in frontier:
            for action, target in edges[node]:
                if target < n and unmet[target] and target not in prefix:
                    prefix[target] = level + 1
                    via[target] = (action, node)
                    following.append(target)
        frontier = following
        level += 1

    member = bytearray(len(states))
    for node in prefix:
        member[node] = 1
    best: tuple[int, Callable[[], Lasso]] | None = None
    for members in components(prefix, lambda node: [t for _, t in edges[node] if member[t]]):
        search.components += 1
        if search.components % _CLOCK_EVERY == 0:
            search.on_time()
        if len(members) == 1:
            (node,) = members
            inside = [(node, action, target) for action, target in edges[node] if target == node]
            if not inside and enabled[node]:
                continue  # one state, no self-loop, not a deadlock: no infinite execution stays here
            component = {node}
        else:
            component = set(members)
            inside = [(node, action, target) for node in members for action, target in edges[node]
                      if target in component]
        covered = 0
        for node in component:
            covered |= fair & ~enabled[node]
        for _, action, _ in inside:
            covered |= fair & (1 << action)
        if covered != fair:
            continue  # some fair action is enabled throughout and never taken: no fair loop here
        if not inside:  # a deadlock: it stutters for ever
            (node,) = component
            length = prefix[node] + 1
            if best is None or length < best[0]:
                best = (length, _deadlock(graph, node, via, obligation))
            continue
        found = _loop(graph, component, fair, triggered, prefix, search, min(bound, best[0] if best else bound))
        if found is not None and (best is None or found[0] < best[0]):
            length, entry, cycle, through_trigger, exact = found
            best = (length, _cyclic(graph, entry, cycle, through_trigger, via, obligation, exact))
    if best is None or best[0] >= bound:
        return None
    return best[1]()


def components(nodes: Iterable[int], successors: Callable[[int], list[int]]) -> list[list[int]]:
    """The strongly connected components of the graph on ``nodes`` (Tarjan's algorithm, iterative).

    ``successors`` must name nodes of the graph only. Components come in reverse topological
    order. Written out rather than taken from networkx, whose graph objects cost five to eight
    times as much on these graphs (``benchmarks/components.py``: 0.44 s against 3.32 s on the
    105k states of fix A with 4 workers).
    """
    number: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    found: list[list[int]] = []
    for root in nodes:
        if root in number:
            continue
        number[root] = low[root] = len(number)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(successors(root)))]
        while work:
            node, pending = work[-1]
            for target in pending:
                if target not in number:
                    number[target] = low[target] = len(number)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(successors(target))))
                    break
                if target in on_stack and number[target] < low[node]:
                    low[node] = number[target]
            else:
                work.pop()
                if work and low[node] < low[work[-1][0]]:
                    low[work[-1][0]] = low[node]
                if low[node] == number[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    found.append(component)
    return found


def _deadlock(graph: StateGraph, node: int, via: dict[int, Edge | None], obligation: Obligation) -> Callable[[], Lasso]:
    return lambda: Lasso(tuple(_prefix(graph, node, via)), (), obligation, True)


def _cyclic(
    graph: StateGraph,
    entry: int,
    cycle: list[Edge],
    through_trigger: bool,
    via: dict[int, Edge | None],
    obligation: Obligation,
    exact: bool,
) -> Callable[[], Lasso]:
    # A loop that passes a triggered state may be reached by any shortest path; else the prefix
    # must pass a triggered state and stay goal-false from there.
    def build() -> Lasso:
        prefix = graph.path_to(entry) if through_trigger else _prefix(graph, entry, via)
        return Lasso(tuple(prefix), tuple(cycle), obligation, exact)

    return build


def _prefix(graph: StateGraph, node: int, via: dict[int, Edge | None]) -> list[Edge]:
    """Root -> a triggered state (BFS tree) -> ``node`` through goal-false states."""
    tail: list[Edge] = []
    link = via[node]
    while link is not None:
        tail.append((link[0], node))
        node = link[1]
        link = via[node]
    tail.reverse()
    return graph.path_to(node) + tail


def _loop(
    graph: StateGraph,
    component: set[int],
    fair: int,
    triggered: list[bool],
    prefix: dict[int, int],
    search: Search,
    bound: float,
) -> tuple[int, int, list[Edge], bool, bool] | None:
    """The shortest lasso through ``component``: (length, entry, cycle, cycle passes a triggered state, exact)."""
    depth = graph.depth
    best: tuple[int, int, list[Edge], bool, bool] | None = None
    entries = sorted(component, key=lambda e: (min(prefix[e], depth[e]), e))
    for entry in entries:
        limit = min(bound, best[0] if best else bound)
        if min(prefix[entry], depth[entry]) + 1 >= limit:
            break  # sorted by the least prefix: no later entry can do better
        slack = prefix[entry] - depth[entry]
        walks = _shortest_walks(graph, component, entry, fair, triggered, search, limit - depth[entry] - 1, slack)
        if walks is None:  # over budget: a greedy loop from the entry with the shortest prefix
            search.greedy = True
            cycle = _greedy_walk(graph, component, entry, fair)
            through = any(triggered[t] for _, t in cycle)
            length = (depth[entry] if through else prefix[entry]) + len(cycle)
            if best is None or length < best[0]:
                best = (length, entry, cycle, through, False)
            break
        plain, through_trigger = walks
        for walk, through, start in ((plain, False, prefix[entry]), (through_trigger, True, depth[entry])):
            if walk is not None and (best is None or start + len(walk) < best[0]):
                best = (start + len(walk), entry, walk, through, True)
    if best is not None and best[0] >= bound:
        return None
    return best


def _shortest_walks(
    graph: StateGraph,
    component: set[int],
    entry: int,
    fair: int,
    triggered: list[bool],
    search: Search,
    limit: float,
    slack: int,
) -> tuple[list[Edge] | None, list[Edge] | None] | None:
    """Shortest closed walks from ``entry`` inside ``component`` that witness every fair action.

    Returns (shortest, shortest that also passes a triggered state); either may be None when no
    such walk has at most ``limit`` steps, or (for the second) none is shorter than the first by
    more than ``slack``, the prefix it saves. None when the search would exceed the budget.
    Breadth-first over (state, witnesses seen), a witness being a state where a fair action is
    disabled or an edge that takes one; one extra bit records passing a triggered state.
    """
    edges, enabled = graph.edges, graph.enabled
    need = fair & enabled[entry]  # the others are disabled at the entry: witnessed there
    mark = 1 << len(graph.compiled.system.actions)  # "passed a triggered state"

    def seen_at(node: int) -> int:
        return (need & ~enabled[node]) | (mark if triggered[node] else 0)

    start = (entry, seen_at(entry))
    parents: dict[tuple[int, int], tuple[tuple[int, int], int] | None] = {start: None}
    frontier = [start]
    plain: list[Edge] | None = None
    passing: list[Edge] | None = None
    steps = 0
    while frontier and passing is None and steps < limit:
        if plain is not None:  # a walk through a triggered state helps only if its shorter prefix pays for it
            limit = min(limit, len(plain) + slack - 1)
            if steps >= limit:
                break
        steps += 1
        following = []
        for pair in frontier:
            node, seen = pair
            for action, target in edges[node]:
                if target not in component:
                    continue
                now = seen | (need & (1 << action)) | seen_at(target)
                successor = (target, now)
                if target == entry and now & need == need:
                    walk = _walk(parents, pair, action, target)
                    if plain is None:
                        plain = walk
                    if now & mark and passing is None:
                        passing = walk
                if successor in parents:
                    continue
                parents[successor] = (pair, action)
                following.append(successor)
        search.budget -= len(following)
        if search.budget < 0:
            return None
        search.on_time()
        frontier = following
    return plain, passing


def _walk(parents: dict[tuple[int, int], tuple[tuple[int, int], int] | None], last: tuple[int, int], action: int,
          target: int) -> list[Edge]:
    walk = [(action, target)]
    link = parents[last]
    node = last
    while link is not None:
        walk.append((link[1], node[0]))
        node = link[0]
        link = parents[node]
    walk.reverse()
    return walk


def _greedy_walk(graph: StateGraph, component: set[int], entry: int, fair: int) -> list[Edge]:
    """A closed walk from ``entry`` inside ``component`` witnessing every fair action: nearest missing witness first."""
    edges, enabled = graph.edges, graph.enabled
    missing = fair & enabled[entry]
    walk: list[Edge] = []
    node = entry
    while True:
        def wanted(action: int, target: int, missing: int = missing) -> bool:
            """A witness still missing, or (none missing) the way back to the entry."""
            if missing:
                return bool(missing & ((1 << action) | ~enabled[target]))
            return target == entry
        path = _nearest(edges, component, node, wanted)
        for action, target in path:
            missing &= ~((1 << action) | (fair & ~enabled[target]))
        walk += path
        node = walk[-1][1]
        if not missing and node == entry:
            return walk


def _nearest(
    edges: list[tuple[Edge, ...]], component: set[int], start: int, wanted: Callable[[int, int], bool]
) -> list[Edge]:
    """The shortest path (at least one step) from ``start`` inside ``component`` whose last edge is ``wanted``."""
    parents: dict[int, tuple[int, int]] = {}
    queue = deque([start])
    seen = {start}
    while queue:
        node = queue.popleft()
        for action, target in edges[node]:
            if target not in component:
                continue
            if wanted(action, target):
                path = [(action, target)]
                while node != start:
                    back, step = parents[node]
                    path.append((step, node))
                    node = back
                path.reverse()
                return path
            if target not in seen:
                seen.add(target)
                parents[target] = (node, action)
                queue.append(target)
    raise AssertionError("a fair component has a witness for every fair action")  # pragma: no cover


def trace(graph: StateGraph, lasso: Lasso) -> Trace:
    """The lasso as a concrete ``Trace`` with its labels; ``loop`` is the index of its loop state."""
    compiled = graph.compiled
    actions = compiled.system.actions
    ids = [0] + [state for _, state in lasso.prefix]
    steps = []
    for (action, _), before in zip(lasso.prefix + lasso.cycle, ids + [s for _, s in lasso.cycle]):
        a = actions[action]
        steps.append(Step(a.name, a.params, compiled.labels(action, graph.states[before])))
    loop = len(lasso.prefix)
    if lasso.cycle:
        ids += [state for _, state in lasso.cycle]
    else:
        steps.append(Step(STUTTER, (), dict(graph.compiled.system.stutter)))
        ids.append(ids[-1])
    return Trace(
        vars=compiled.names, states=tuple(compiled.state(graph.states[i]) for i in ids), steps=tuple(steps), loop=loop
    )


def check(
    compiled: CompiledSystem,
    properties: Sequence[Property],
    *,
    engine: str,
    max_states: int,
    max_depth: int | None,
    deadline: float | None,
    progress: Progress | None,
) -> list[CheckResult]:
    """Check liveness ``properties`` on the unreduced reachable graph (see the module docstring)."""
    start = time.monotonic()
    for prop in properties:
        for obligation in prop.obligations:
            compiled.system.check_formula(obligation.trigger, f"property {prop.name}: trigger")
            compiled.system.check_formula(obligation.goal, f"property {prop.name}: goal")
    graph = explore(compiled, max_states=max_states, max_depth=max_depth, deadline=deadline, progress=progress,
                    keep_edges=True, what="explicit (liveness)")
    results = []
    for prop in properties:
        search = Search(deadline=deadline)
        try:
            lasso = find_lasso(graph, prop, search)
        except TimeUp:
            note = f"the timeout stopped the search for fair loops, after {len(graph.states):,} states"
            results.append(outcome(prop, engine, Verdict.UNKNOWN, None, start, note=note))
            continue
        if lasso is not None:
            shape = (
                f"a prefix of {len(lasso.prefix)} steps, then a loop of {len(lasso.cycle)} steps"
                if lasso.cycle
                else f"{len(lasso.prefix)} steps to a state with no enabled action, which repeats for ever"
            )
            shortest = lasso.shortest and graph.complete
            how = "a shortest fair lasso" if shortest else "a fair lasso, not always a shortest"
            note = f"{lasso.obligation.label or 'an obligation'} is never met: {how}, {shape}"
            found = trace(graph, lasso).with_meta(property=prop.name)
            results.append(outcome(prop, engine, Verdict.VIOLATED, len(found), start, trace=found, note=note))
        elif graph.complete:
            fair = bin(_fair_mask(compiled, prop)).count("1")
            evidence = LassoFreedom(
                states=len(graph.states),
                transitions=graph.transitions,
                diameter=graph.diameter,
                components_examined=search.components,
                obligations=len(prop.obligations),
                fairness=f"weak, on {fair} action instances of {', '.join(prop.fairness)}",
                fingerprint=fingerprint(compiled.layout, graph.states),
            )
            results.append(outcome(prop, engine, Verdict.PROVED, graph.diameter, start, evidence=evidence))
        else:
            why = {
                "state limit": f"the state limit ({max_states:,})",
                "depth": f"the depth bound ({max_depth})",
            }.get(graph.stopped, "the timeout")
            note = (
                f"{why} stopped the search after {len(graph.states):,} states; no fair loop violates it "
                f"among the {graph.expanded:,} states fully expanded"
            )
            results.append(outcome(prop, engine, Verdict.UNKNOWN, None, start, note=note))
    return results


def _fair_mask(compiled: CompiledSystem, prop: Property) -> int:
    mask = 0
    for index in prop.fair_actions(compiled.system):
        mask |= 1 << index
    return mask


__all__ = ["EXACT_BUDGET", "Lasso", "Search", "check", "components", "find_lasso", "trace"]
