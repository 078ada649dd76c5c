"""Liveness on the explicit state graph: fair loops on which an obligation is never met.

A liveness property (``regcheck.core.system.Property``) fails when some fair infinite execution
violates one of its obligations ``[](trigger => <>goal)``: the trigger holds at some point and
the goal never holds from then on. Fair means weak fairness for every instance of the
property's fair actions: an instance enabled at every state of the loop is taken on it. The
executions that matter are lassos (states 0..k, then a step from k back to ``loop``), exactly
as ``regcheck.core.smt.Lasso`` encodes them for BMC; a state with no enabled action repeats for ever
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

Symmetry (NOTE(fair-quotient)): with a verified symmetry group (``check(group=...)``, which the
explicit engine passes when ``Options.symmetry`` is on and the system declares interchangeable
processes) the search runs on the quotient, one canonical state per orbit, after Emerson and
Sistla's annotated quotient structure. Weak fairness speaks of action instances
(``EcDoRpcExt2(worker=1)``) and an obligation of one worker or session, so neither can be read
off canonical states as they stand; what makes the quotient exact is the *frame*:

- Every edge of the reduced graph (``explore(frame=...)``) keeps the group element that maps
  its concrete successor to the state kept (``regcheck.core.symmetry.SymmetryGroup``). Along a path
  the elements compose into the frame of the concrete execution the path stands for: the
  element mapping its concrete state to the canonical one. An action ``b`` taken at a canonical
  state in frame ``f`` is the concrete instance ``f^-1(b)``, a disabled one likewise.
- Obligations are searched per orbit: one member of each orbit of obligations under the group
  (the catalogue's are one per worker or per session, a single orbit for identical workers), on
  the graph of *pairs* (state, member of the orbit), each pair canonical under the elements that
  fix its state (``Pairs``). A violation of one member maps to a violation of every other, of
  the same length, so one member per orbit decides the property. This needs the obligations to
  be closed under the group (:func:`symmetric_obligations`); a property whose are not is
  searched on the unreduced graph, and says so in its evidence.
- A component of the pair graph (or of the reduced graph: a quick test of every obligation at
  once, :meth:`Quotient.candidates`) is fair iff the concrete component over it is. A spanning
  tree gives each node a frame; each other edge closes a cycle whose concrete path ends in a
  permuted state, and these elements generate the group H of the concrete component's own
  symmetries. The concrete component witnesses the H-closure of the witnesses read through the
  frames (:func:`_covers`): weak fairness holds iff that covers every fair instance. Deadlocks
  need nothing (every action is disabled).
- A fair component found so is searched for a loop on its concrete lift (``Pairs.lift``):
  concrete states whose pair lies in the component, from the state of one of its pairs, which
  is the concrete strongly connected component itself. The shortest closed walk that witnesses
  every fair instance (as above) is found there; the prefix is the shortest path of pairs,
  read back through its frames into a concrete path from the initial state, whose last frame
  names the obligation violated and maps the loop onto it. The lasso returned is concrete
  (``Concrete``); it closes concretely, and is replayed like every counterexample. Distances on
  the pair graph are the concrete ones (one pair per orbit), so a lasso said to be shortest is
  as short as the unreduced search's.

The argument, its premises and its tests are in regcheck/model/SOUNDNESS.md ("Liveness on the reduced
graph"). Without a group, or where the group's action on the action instances is not a
bijection of named instances (:class:`regcheck.core.symmetry.Asymmetric`), the search runs unreduced.

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
from collections.abc import Callable, Container, Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

from regcheck.core.compile import CompiledSystem, Packed, fingerprint
from regcheck.core.evidence import UNREDUCED, LassoFreedom
from regcheck.core.explore import Edge, StateGraph, explore
from regcheck.core.result import STUTTER, CheckResult, Progress, Step, Trace, Verdict, outcome
from regcheck.core.symmetry import Asymmetric, Orbit, Representation, SymmetryGroup, normal
from regcheck.core.system import Obligation, Property

EXACT_BUDGET = 500_000
"""(state, witnesses) pairs the shortest-loop searches may visit for one property before falling back to greedy."""

_INFINITY = float("inf")
_CLOCK_EVERY = 64
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
    prefix, via = seeded_search(
        sources, depth.__getitem__,
        lambda node: (((action, node), target) for action, target in edges[node] if target < n and unmet[target]),
    )

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


Link = TypeVar("Link")


def seeded_search(
    sources: Sequence[int],
    level_of: Callable[[int], int],
    successors: Callable[[int], Iterable[tuple[Link, int]]],
    tick: Callable[[], None] | None = None,
) -> tuple[dict[int, int], dict[int, Link | None]]:
    """Breadth-first search from ``sources`` (sorted by ``level_of``), each joining at its own level, along
    the ``(link, target)`` pairs ``successors`` allows: for every node reached, the least level it is
    reached at and the link it arrives by (None for a source). ``tick`` is called once per level."""
    prefix: dict[int, int] = {}
    via: dict[int, Link | None] = {}
    frontier: list[int] = []
    level, joined = 0, 0
    while frontier or joined < len(sources):
        if tick is not None:
            tick()
        if not frontier:
            level = level_of(sources[joined])
        while joined < len(sources) and level_of(sources[joined]) == level:
            source = sources[joined]
            joined += 1
            if source not in prefix:
                prefix[source] = level
                via[source] = None
                frontier.append(source)
        following = []
        for node in frontier:
            for link, target in successors(node):
                if target not in prefix:
                    prefix[target] = level + 1
                    via[target] = link
                    following.append(target)
        frontier = following
        level += 1
    return prefix, via


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
        walks = shortest_walks(graph.edges, graph.enabled, component, entry, fair, triggered,
                                len(graph.compiled.system.actions), search, limit - depth[entry] - 1, slack)
        if walks is None:  # over budget: a greedy loop from the entry with the shortest prefix
            search.greedy = True
            cycle = greedy_walk(graph.edges, graph.enabled, component, entry, fair)
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


def shortest_walks(
    edges: Sequence[Sequence[Edge]],
    enabled: Sequence[int],
    component: Container[int],
    entry: int,
    fair: int,
    triggered: Sequence[bool],
    actions: int,
    search: Search,
    limit: float,
    slack: int,
) -> tuple[list[Edge] | None, list[Edge] | None] | None:
    """Shortest closed walks from ``entry`` inside ``component`` that witness every fair action.

    Returns (shortest, shortest that also passes a triggered state); either may be None when no
    such walk has at most ``limit`` steps, or (for the second) none is shorter than the first by
    more than ``slack``, the prefix it saves. None when the search would exceed the budget.
    Breadth-first over (state, witnesses seen), a witness being a state where a fair action is
    disabled or an edge that takes one; one extra bit records passing a triggered state
    (``actions`` is the number of actions, so that bit is above theirs).
    """
    need = fair & enabled[entry]  # the others are disabled at the entry: witnessed there
    mark = 1 << actions  # "passed a triggered state"

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


def greedy_walk(
    edges: Sequence[Sequence[Edge]], enabled: Sequence[int], component: Container[int], entry: int, fair: int
) -> list[Edge]:
    """A closed walk from ``entry`` inside ``component`` witnessing every fair action: nearest missing witness first."""
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
    edges: Sequence[Sequence[Edge]], component: Container[int], start: int, wanted: Callable[[int, int], bool]
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


# --------------------------------------------------------------------------------------------
# The search on the symmetry-reduced graph (NOTE(fair-quotient) in the module docstring)


@dataclass(frozen=True)
class Concrete:
    """A violating fair lasso as an execution of the system: step ``i`` takes ``actions[i]`` (-1: a
    stutter step) from ``states[i]`` to ``states[i + 1]``, and the last state is ``states[loop]`` again."""

    states: tuple[Packed, ...]
    actions: tuple[int, ...]
    loop: int
    obligation: Obligation
    shortest: bool

    def __len__(self) -> int:
        return len(self.actions)

    @property
    def cycle(self) -> int:
        """Steps of the loop; 0 for a state with no enabled action, which stutters."""
        return 0 if self.actions[-1] < 0 else len(self.actions) - self.loop


class Quotient:
    """The reduced graph with frames (each edge names the group element that maps its successor to the
    state kept) and what the searches of one check share: its components, and which may hold a fair loop."""

    def __init__(self, graph: StateGraph, group: SymmetryGroup) -> None:
        self.graph, self.group = graph, group
        self.actions = group.actions()
        self._components: list[list[int]] | None = None
        self._component_of: list[int] = []
        self._candidates: dict[int, tuple[list[list[int]], int]] = {}
        orbit = self.actions.orbits()
        self._orbit_masks: dict[int, int] = {}
        for action, first in enumerate(orbit):
            self._orbit_masks[first] = self._orbit_masks.get(first, 0) | 1 << action
        self._orbit_of = [self._orbit_masks[first] for first in orbit]

    def split(self, code: int) -> tuple[int, int]:
        """An edge's ``(action, element)``."""
        stride = self.graph.stride
        return (code, 0) if code < stride else (code % stride, code // stride)

    def components(self) -> list[list[int]]:
        """The strongly connected components of the expanded states."""
        if self._components is None:
            graph, n = self.graph, self.graph.expanded
            edges = graph.edges
            self._components = components(range(n), lambda node: [t for _, t in edges[node] if t < n])
            self._component_of = [0] * n
            for index, members in enumerate(self._components):
                for node in members:
                    self._component_of[node] = index
        return self._components

    def _closure(self, mask: int) -> int:
        """The union of the orbits of the action instances in ``mask``."""
        out = 0
        while mask:
            low = mask & -mask
            orbit = self._orbit_of[low.bit_length() - 1]
            out |= orbit
            mask &= ~orbit
        return out

    def candidates(self, fair: int, search: Search) -> tuple[list[list[int]], int]:
        """The components that may hold a fair loop: every state with no enabled action, and each cyclic
        component whose concrete lift witnesses every fair instance; with how many were examined."""
        if fair in self._candidates:
            return self._candidates[fair]
        graph, n = self.graph, self.graph.expanded
        edges, enabled, split = graph.edges, graph.enabled, self.split
        found: list[list[int]] = []
        examined = 0
        every = self.components()
        of = self._component_of
        for index, members in enumerate(every):
            if index % _CLOCK_EVERY == 0:
                search.on_time()
            if len(members) == 1:
                (node,) = members
                if not enabled[node]:
                    found.append(members)
                    continue
                if not any(t == node for _, t in edges[node]):
                    continue
            examined += 1
            seen = 0  # a quick test first: every fair orbit witnessed somewhere, in any frame
            for node in members:
                seen |= fair & ~enabled[node]
                for code, t in edges[node]:
                    if t < n and of[t] == index:
                        seen |= fair & (1 << split(code)[0])
            if self._closure(seen) & fair != fair:
                continue

            def inner(node: int, index: int = index) -> list[tuple[int, int, int]]:
                return [(t, *split(code)) for code, t in edges[node] if t < n and of[t] == index]

            if _covers(members, inner, enabled.__getitem__, fair, self.group, self.actions):
                found.append(members)
        self._candidates[fair] = (found, examined)
        return found, examined


def _covers(
    members: Sequence[int],
    inner: Callable[[int], Sequence[tuple[int, int, int]]],
    enabled: Callable[[int], int],
    fair: int,
    group: SymmetryGroup,
    actions: Representation,
) -> bool:
    """Does the concrete lift of this component of a reduced graph witness every fair action instance?

    ``inner(node)`` lists the edges inside the component as ``(target, action, element)``. A spanning
    tree from ``members[0]`` gives each node a frame: the element mapping the concrete state the tree
    path reaches to the node. Every other edge closes a cycle whose concrete path ends in a permuted
    state; the elements so found generate the group H of the concrete lift's symmetries. The lift
    witnesses exactly the H-closure of the witnesses of the nodes and edges read back through their
    frames (NOTE(fair-quotient)).
    """
    frames = {members[0]: 0}
    order = [members[0]]
    generators: set[int] = set()
    witnessed: dict[int, int] = {}  # frame -> witnesses read in it
    compose, inverse = group.compose, group.inverse
    for node in order:  # grows: breadth-first over the component
        frame = frames[node]
        seen = fair & ~enabled(node)
        for target, action, element in inner(node):
            seen |= fair & (1 << action)
            reached = compose(element, frame)
            known = frames.get(target)
            if known is None:
                frames[target] = reached
                order.append(target)
            elif known != reached:
                generators.add(compose(inverse(known), reached))
        witnessed[frame] = witnessed.get(frame, 0) | seen
    covered = 0
    for frame, seen in witnessed.items():
        covered |= actions.mask(inverse(frame), seen)
    grown = True
    while grown and covered != fair:
        grown = False
        for element in generators:
            image = actions.mask(element, covered)
            if image & ~covered:
                covered |= image
                grown = True
    return covered == fair


@dataclass
class _Lift:
    """The concrete component over a fair component of pairs, explored from the concrete pair its first
    node stands for: states, the pair each stands for (``nodes``) and the element mapping it there."""

    states: list[Packed]
    nodes: list[int]
    frames: list[int]
    edges: list[tuple[Edge, ...]]
    enabled: list[int]
    triggered: list[bool]
    first: dict[int, int]  # pair -> a concrete state of the lift standing for it


class Pairs:
    """The reduced graph of (state, obligation) pairs for one orbit of obligations.

    Pair ``c * m + k`` is state c of the reduced graph with member k of the orbit (``m`` members),
    k the least of its images under the elements that fix c: one pair per orbit of concrete
    (state, obligation) pairs, so distances here are the concrete ones.
    """

    def __init__(self, quotient: Quotient, orbit: Orbit) -> None:
        self.q, self.orbit = quotient, orbit
        self.m = len(orbit.members)
        compiled = quotient.graph.compiled
        self.trigger = [compiled.predicate(trigger) for trigger, _ in orbit.members]
        self.goal = [compiled.predicate(goal) for _, goal in orbit.members]
        self.images = orbit.representation.images
        self._unmet: dict[int, int] = {}
        self._stabilizers: dict[int, tuple[int, ...]] = {}
        self._least: dict[tuple[tuple[int, ...], int], tuple[int, int]] = {}

    def unmet(self, c: int) -> int:
        """The members whose goal is false in state c, as a bit mask."""
        got = self._unmet.get(c)
        if got is None:
            state = self.q.graph.states[c]
            got = self._unmet[c] = sum(1 << k for k, goal in enumerate(self.goal) if not goal(state))
        return got

    def canonical(self, c: int, k: int) -> tuple[int, int]:
        """The pair of state c with member k: ``(least member, element of the stabiliser of c reaching it)``."""
        if self.m == 1:
            return 0, 0
        generators = self._stabilizers.get(c)
        if generators is None:
            generators = self._stabilizers[c] = self.q.group.stabilizer(self.q.graph.states[c])
        if not generators:
            return k, 0
        key = (generators, k)
        got = self._least.get(key)
        if got is None:
            reached = {k: 0}
            queue = [k]
            for x in queue:
                for g in generators:
                    y = self.images(g)[x]
                    if y not in reached:
                        reached[y] = self.q.group.compose(g, reached[x])
                        queue.append(y)
            least = min(reached)
            got = self._least[key] = (least, reached[least])
        return got

    def nodes(self, c: int) -> list[int]:
        """The pairs of state c whose goal is false."""
        unmet, m = self.unmet(c), self.m
        return [c * m + k for k in range(m) if unmet >> k & 1 and self.canonical(c, k)[0] == k]

    def triggered(self, node: int) -> bool:
        c, k = divmod(node, self.m)
        return bool(self.trigger[k](self.q.graph.states[c]))

    def out(self, node: int) -> list[tuple[int, int, int]]:
        """The edges of a pair: ``(target pair, action, element)``, over expanded states."""
        q, m = self.q, self.m
        graph, compose, split = q.graph, q.group.compose, q.split
        c, k = divmod(node, m)
        found = []
        for code, t in graph.edges[c]:
            if t >= graph.expanded:
                continue
            action, element = split(code)
            moved, h = self.canonical(t, self.images(element)[k] if element else k)
            found.append((t * m + moved, action, compose(h, element)))
        return found

    def unmet_pair(self, node: int) -> bool:
        c, k = divmod(node, self.m)
        return bool(self.unmet(c) >> k & 1)

    def prefixes(self, search: Search) -> tuple[dict[int, int], dict[int, tuple[int, int, int] | None]]:
        """For each goal-false pair reached from a triggered one through goal-false pairs, the length of the
        shortest such prefix, and the edge it arrives by (multi-source BFS, as ``_violation`` does)."""
        graph, m = self.q.graph, self.m
        depth = graph.depth
        sources = []
        for c in range(graph.expanded):
            if self.unmet(c):
                sources += [node for node in self.nodes(c) if self.triggered(node)]
        return seeded_search(
            sources, lambda node: depth[node // m],
            lambda node: (((node, action, element), target) for target, action, element in self.out(node)
                          if self.unmet_pair(target)),
            search.on_time,
        )

    def lift(self, component: set[int], root: int, search: Search) -> _Lift:
        """The concrete component over ``component`` (a fair component of pairs), from the pair ``root``
        itself: a concrete state stands in it when the pair of it and the root's member lies in it."""
        q, m = self.q, self.m
        graph, group, steps = q.graph, q.group, q.graph.compiled.steps
        c0, k0 = divmod(root, m)
        lift = _Lift([graph.states[c0]], [root], [0], [], [], [self.triggered(root)], {root: 0})
        index = {graph.states[c0]: 0}
        for local, state in enumerate(lift.states):  # grows as it goes
            if local % _CLOCK_EVERY == 0:
                search.on_time()
            out: list[Edge] = []
            mask = 0
            for action, successor in steps(state):
                mask |= 1 << action
                target = index.get(successor)
                if target is None:
                    kept, element = group.frame(successor)
                    t = graph.index.get(kept)
                    if t is None or t >= graph.expanded:
                        continue
                    moved, h = self.canonical(t, self.images(element)[k0] if element else k0)
                    node = t * m + moved
                    if node not in component:
                        continue
                    target = index[successor] = len(lift.states)
                    lift.states.append(successor)
                    lift.nodes.append(node)
                    lift.frames.append(group.compose(h, element))
                    lift.triggered.append(self.triggered(node))
                    lift.first.setdefault(node, target)
                out.append((action, target))
            lift.edges.append(tuple(out))
            lift.enabled.append(mask)
        return lift


def _step(compiled: CompiledSystem, state: Packed, action: int) -> Packed:
    for index, successor in compiled.steps(state):
        if index == action:
            return successor
    raise AssertionError(f"{compiled.system.actions[action].label} is not enabled where the lift takes it")


class _Found:
    """A fair violating component of pairs and its best lasso so far, built on demand."""

    def __init__(self, length: int, build: Callable[[], Concrete]) -> None:
        self.length, self.build = length, build


def reduced_lasso(quotient: Quotient, prop: Property, search: Search | None = None) -> Concrete | None:
    """A violating fair lasso of ``prop`` found on the reduced graph, as a concrete execution, or None.

    Each orbit of obligations is searched once, from one member (the others' lassos are its images).
    Shortest, as :func:`find_lasso`'s, unless the budget ran out (``Concrete.shortest``).
    """
    search = search if search is not None else Search()
    fair = _fair_mask(quotient.graph.compiled, prop)
    candidates, examined = quotient.candidates(fair, search)
    search.components += examined
    named = _by_key(prop)
    best: _Found | None = None
    done: set[Hashable] = set()
    for obligation in prop.obligations:
        search.on_time()
        if _key(obligation) in done:
            continue
        orbit = quotient.group.orbit((obligation.trigger, obligation.goal))
        done.update(orbit.keys)
        found = _reduced_violation(Pairs(quotient, orbit), named, fair, candidates, search,
                                   _INFINITY if best is None else best.length)
        if found is not None and (best is None or found.length < best.length):
            best = found
    if best is None:
        return None
    lasso = best.build()
    return replace(lasso, shortest=False) if search.greedy else lasso


def _key(obligation: Obligation) -> Hashable:
    return (normal(obligation.trigger), normal(obligation.goal))


def _by_key(prop: Property) -> dict[Hashable, Obligation]:
    named: dict[Hashable, Obligation] = {}
    for obligation in prop.obligations:
        named.setdefault(_key(obligation), obligation)
    return named


def symmetric_obligations(group: SymmetryGroup, prop: Property) -> bool:
    """Is the set of ``prop``'s obligations closed under the group (each orbit made of its obligations)?"""
    named = _by_key(prop)
    return all(key in named for o in prop.obligations for key in group.orbit((o.trigger, o.goal)).keys)


def _reduced_violation(
    pairs: Pairs,
    named: dict[Hashable, Obligation],
    fair: int,
    candidates: list[list[int]],
    search: Search,
    bound: float,
) -> _Found | None:
    """The shortest fair lasso on which a member of the orbit is never met, if shorter than ``bound``."""
    fair_components = fair_pair_components(pairs, fair, candidates, search)
    if not fair_components:
        return None
    prefix, via = pairs.prefixes(search)
    best: _Found | None = None
    for component, deadlock in fair_components:
        if component[0] not in prefix:
            continue  # not reached from a trigger through goal-false states
        if deadlock:
            (node,) = component
            if best is None or prefix[node] + 1 < best.length:
                best = _Found(prefix[node] + 1, _build(pairs, named, node, None, via))
            continue
        limit = min(bound, best.length if best else bound)
        found = _reduced_loop(pairs, set(component), component, fair, prefix, search, limit)
        if found is not None and (best is None or found[0] < best.length):
            length, entry, lift, walk, through, exact = found
            best = _Found(length, _build(pairs, named, entry, (lift, walk, through, exact), via))
    if best is None or best.length >= bound:
        return None
    return best


def fair_pair_components(
    pairs: Pairs, fair: int, candidates: list[list[int]], search: Search
) -> list[tuple[list[int], bool]]:
    """The fair strongly connected components of goal-false pairs, each with whether it is a deadlock, inside
    the ``candidates`` of :meth:`Quotient.candidates` (a component of pairs lies inside one of the reduced
    graph). Reached from a trigger or not: :meth:`Pairs.prefixes` tells."""
    q, m = pairs.q, pairs.m
    group, actions, enabled = q.group, q.actions, q.graph.enabled
    found: list[tuple[list[int], bool]] = []
    for members in candidates:
        if len(members) == 1 and not enabled[members[0]]:  # a deadlock
            found += [([node], True) for node in pairs.nodes(members[0])]
            continue
        inside = set(members)
        nodes = [node for c in members for node in pairs.nodes(c)]
        memo: dict[int, list[tuple[int, int, int]]] = {}

        def inner(
            node: int, memo: dict[int, list[tuple[int, int, int]]] = memo, inside: set[int] = inside
        ) -> list[tuple[int, int, int]]:
            got = memo.get(node)
            if got is None:
                got = memo[node] = [edge for edge in pairs.out(node)
                                    if edge[0] // m in inside and pairs.unmet_pair(edge[0])]
            return got

        for component in components(nodes, lambda node: [t for t, _, _ in inner(node)]):
            search.components += 1
            if search.components % _CLOCK_EVERY == 0:
                search.on_time()
            if len(component) == 1 and not any(t == component[0] for t, _, _ in inner(component[0])):
                continue
            within = set(component)

            def edges(node: int, within: set[int] = within) -> list[tuple[int, int, int]]:
                """The edges inside the component: its fairness is its own, not its neighbours'."""
                return [edge for edge in inner(node) if edge[0] in within]

            if _covers(component, edges, lambda node: enabled[node // m], fair, group, actions):
                found.append((component, False))
    return found


def _reduced_loop(
    pairs: Pairs,
    component: set[int],
    members: list[int],
    fair: int,
    prefix: dict[int, int],
    search: Search,
    bound: float,
) -> tuple[int, int, _Lift, list[Edge], bool, bool] | None:
    """As :func:`_loop`, on the concrete lift of a fair component of pairs: (length, entry pair, lift,
    closed walk of the lift from the entry's state there, the walk passes a triggered state, exact)."""
    m, depth = pairs.m, pairs.q.graph.depth
    actions = len(pairs.q.graph.compiled.system.actions)
    entries = sorted(members, key=lambda e: (min(prefix[e], depth[e // m]), e))
    if min(prefix[entries[0]], depth[entries[0] // m]) + 1 >= bound:
        return None
    lift = pairs.lift(component, entries[0], search)
    every = range(len(lift.states))
    best: tuple[int, int, _Lift, list[Edge], bool, bool] | None = None
    for entry in entries:
        start, shallow = prefix[entry], depth[entry // m]
        limit = min(bound, best[0] if best else bound)
        if min(start, shallow) + 1 >= limit:
            break
        local = lift.first[entry]
        walks = shortest_walks(lift.edges, lift.enabled, every, local, fair, lift.triggered, actions, search,
                                limit - shallow - 1, start - shallow)
        if walks is None:
            search.greedy = True
            cycle = greedy_walk(lift.edges, lift.enabled, every, local, fair)
            through = any(lift.triggered[t] for _, t in cycle)
            length = (shallow if through else start) + len(cycle)
            if best is None or length < best[0]:
                best = (length, entry, lift, cycle, through, False)
            break
        plain, through_trigger = walks
        for walk, through, begin in ((plain, False, start), (through_trigger, True, shallow)):
            if walk is not None and (best is None or begin + len(walk) < best[0]):
                best = (begin + len(walk), entry, lift, walk, through, True)
    if best is not None and best[0] >= bound:
        return None
    return best


def _build(
    pairs: Pairs,
    named: dict[Hashable, Obligation],
    entry: int,
    loop: tuple[_Lift, list[Edge], bool, bool] | None,
    via: dict[int, tuple[int, int, int] | None],
) -> Callable[[], Concrete]:
    """The concrete lasso (NOTE(fair-quotient), concretisation): the prefix's reduced edges are read back
    through the frame they reach, which names the obligation violated; the lift's loop is mapped to it."""

    def build() -> Concrete:
        q, m = pairs.q, pairs.m
        graph, group, actions = q.graph, q.group, q.actions
        compiled = graph.compiled
        through = loop is not None and loop[2]
        chain: list[tuple[int, int]] = []  # (action, element) of the goal-false part, from its source
        node = entry
        if not through:
            link = via[node]
            while link is not None:
                node, action, element = link
                chain.append((action, element))
                link = via[node]
            chain.reverse()
        c, k = divmod(node, m)  # where the chain starts: a triggered pair, or the loop's entry
        states, steps = [compiled.initial], []
        frame = graph.root_frame
        for code, target in graph.path_to(c):
            action, element = q.split(code)
            steps.append(actions.images(group.inverse(frame))[action])
            states.append(_step(compiled, states[-1], steps[-1]))
            frame = group.compose(element, frame)
            if group.apply(frame, states[-1]) != graph.states[target]:
                raise AssertionError("a frame does not map the concrete state to the state kept")
        member = pairs.images(group.inverse(frame))[k]  # the obligation the concrete lasso violates
        for action, element in chain:
            steps.append(actions.images(group.inverse(frame))[action])
            states.append(_step(compiled, states[-1], steps[-1]))
            frame = group.compose(element, frame)
        start = len(steps)
        if loop is None:
            steps.append(-1)
            states.append(states[-1])
        else:
            lift, walk, _, exact = loop
            moved = actions.images(group.compose(group.inverse(frame), lift.frames[lift.first[entry]]))
            for action, _ in walk:
                steps.append(moved[action])
                states.append(_step(compiled, states[-1], steps[-1]))
            if states[-1] != states[start]:
                raise AssertionError("the lifted loop does not close on its concrete state")
        obligation = named[_member_key(pairs.orbit, member)]
        return Concrete(tuple(states), tuple(steps), start, obligation, loop is None or loop[3])

    return build


def _member_key(orbit: Orbit, member: int) -> Hashable:
    trigger, goal = orbit.members[member]
    return (normal(trigger), normal(goal))


def trace(graph: StateGraph, lasso: Lasso) -> Trace:
    """The lasso as a concrete ``Trace`` with its labels; ``loop`` is the index of its loop state."""
    return concrete_trace(graph.compiled, _concrete(graph, lasso))


def concrete_trace(compiled: CompiledSystem, lasso: Concrete) -> Trace:
    """A concrete lasso as a ``Trace`` with its labels; ``loop`` is the index of its loop state."""
    actions = compiled.system.actions
    steps = []
    for action, before in zip(lasso.actions, lasso.states):
        if action < 0:
            steps.append(Step(STUTTER, (), dict(compiled.system.stutter)))
        else:
            a = actions[action]
            steps.append(Step(a.name, a.params, compiled.labels(action, before)))
    return Trace(vars=compiled.names, states=tuple(compiled.state(s) for s in lasso.states), steps=tuple(steps),
                 loop=lasso.loop)


REDUCED = "; fair loops searched on the quotient, through the permutation on each edge"
"""Added to the reduction's description in the evidence of a proof on the reduced graph."""


def check(
    compiled: CompiledSystem,
    properties: Sequence[Property],
    *,
    engine: str,
    max_states: int,
    max_depth: int | None,
    deadline: float | None,
    progress: Progress | None,
    group: SymmetryGroup | None = None,
    symmetry: str = UNREDUCED,
) -> list[CheckResult]:
    """Check liveness ``properties`` for fair violating lassos (see the module docstring).

    With ``group`` (the verified symmetry of a reduction that keeps every property's formula;
    ``symmetry`` describes it) the search runs on the reduced graph, for every property whose
    obligations the group permutes among themselves; the others, and all of them when the group
    does not act on the action instances as the search needs, run on the unreduced graph, and their
    evidence says why. Without ``group``, unreduced throughout, described by ``symmetry``.
    """
    start = time.monotonic()
    for prop in properties:
        for obligation in prop.obligations:
            compiled.system.check_formula(obligation.trigger, f"property {prop.name}: trigger")
            compiled.system.check_formula(obligation.goal, f"property {prop.name}: goal")
    if group is not None:
        try:
            group.actions()
        except Asymmetric as exc:
            group, symmetry = None, f"off: {exc}"
    how: dict[str, tuple[SymmetryGroup | None, str]] = {}  # property -> the group its search uses, and in words
    for prop in properties:
        if group is None:
            how[prop.name] = None, symmetry
        elif symmetric_obligations(group, prop):
            how[prop.name] = group, symmetry + REDUCED
        else:
            how[prop.name] = None, "off: the symmetry does not permute the obligations among themselves"
    graphs: dict[bool, StateGraph] = {}
    quotient: Quotient | None = None
    results = []
    for prop in properties:
        used, described = how[prop.name]
        reduced = used is not None
        if reduced not in graphs:
            graphs[reduced] = explore(
                compiled, max_states=max_states, max_depth=max_depth, deadline=deadline, progress=progress,
                keep_edges=True, what="explicit (liveness, reduced)" if reduced else "explicit (liveness)",
                frame=None if used is None else used.frame,
            )
        graph = graphs[reduced]
        search = Search(deadline=deadline)
        try:
            if used is not None:
                quotient = quotient if quotient is not None else Quotient(graph, used)
                found = reduced_lasso(quotient, prop, search)
            else:
                lasso = find_lasso(graph, prop, search)
                found = None if lasso is None else _concrete(graph, lasso)
        except TimeUp:
            note = f"the timeout stopped the search for fair loops, after {len(graph.states):,} states"
            results.append(outcome(prop, engine, Verdict.UNKNOWN, None, start, note=note))
            continue
        if found is not None:
            shape = (
                f"a prefix of {found.loop} steps, then a loop of {found.cycle} steps"
                if found.cycle
                else f"{found.loop} steps to a state with no enabled action, which repeats for ever"
            )
            shortest = found.shortest and graph.complete
            kind = "a shortest fair lasso" if shortest else "a fair lasso, not always a shortest"
            note = f"{found.obligation.label or 'an obligation'} is never met: {kind}, {shape}"
            shown = concrete_trace(compiled, found).with_meta(property=prop.name)
            results.append(outcome(prop, engine, Verdict.VIOLATED, len(shown), start, trace=shown, note=note))
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
                symmetry=described,
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


def _concrete(graph: StateGraph, lasso: Lasso) -> Concrete:
    """A lasso of the unreduced graph as a concrete one."""
    states = [graph.states[0]] + [graph.states[state] for _, state in lasso.prefix + lasso.cycle]
    actions = [action for action, _ in lasso.prefix + lasso.cycle]
    if not lasso.cycle:
        states.append(states[-1])
        actions.append(-1)
    return Concrete(tuple(states), tuple(actions), len(lasso.prefix), lasso.obligation, lasso.shortest)


def _fair_mask(compiled: CompiledSystem, prop: Property) -> int:
    mask = 0
    for index in prop.fair_actions(compiled.system):
        mask |= 1 << index
    return mask


__all__ = [
    "EXACT_BUDGET",
    "REDUCED",
    "Concrete",
    "Lasso",
    "Pairs",
    "Quotient",
    "Search",
    "check",
    "components",
    "concrete_trace",
    "fair_pair_components",
    "find_lasso",
    "greedy_walk",
    "reduced_lasso",
    "shortest_walks",
    "symmetric_obligations",
    "trace",
]
