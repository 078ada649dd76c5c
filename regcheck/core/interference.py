"""Liveness for any number of identical processes: one process kept whole, the others as interference.

A per-process obligation ``[](trigger => <>goal)`` speaks of one process p (its local variables and
the shared ones); a shared one, of the shared variables alone. To decide it for every N >= 1 at
once, the N-process system is abstracted by keeping the shared state and p's local state, and
letting the other processes act as *interference*: at any time, any move of a process in any
local state of L (the thread-modular saturation, ``regcheck.core.abstraction.saturated``, which holds
every local state any process of any N reaches) may change the shared state. The abstract states
are pairs (shared, p's local), few and finite, so they are searched explicitly, as the explicit
engine searches the concrete graph (fair strongly connected components of the goal-false states
reached after the trigger).

Why it is sound (regcheck/model/SOUNDNESS.md, "Liveness for every number of workers", gives the argument
and its premises):

- Every concrete step is an abstract step: a move of p, a global action, or a move of another
  process, whose local state lies in L. So every concrete lasso maps to an abstract closed walk,
  and trigger and goal (over p and the shared state) are read off the abstract state exactly.
- Enabledness of p's actions and of global actions is exact (a guard reads the shared state and
  its own process's locals), so their weak fairness carries over as it is. The other processes'
  fairness is dropped: a weaker assumption admits more loops, never fewer.
- A concrete state with no enabled action repeats for ever; its image is a state where p and the
  global actions have none, which therefore gets a stutter step whatever the interference.

None found: the obligation holds for every N. One found may be spurious (interference may go on
for ever, where the real processes stop), so it refutes nothing: the caller looks for a concrete
lasso, and says ``unknown`` if there is none.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Hashable, Sequence

from regcheck.core.abstraction import is_global, saturated
from regcheck.core.compile import compile_expr, compile_system, fingerprint
from regcheck.core.engines.liveness import components
from regcheck.core.evidence import LassoFreedom
from regcheck.core.expr import Value
from regcheck.core.result import CheckResult, Progress, Verdict, outcome
from regcheck.core.system import Obligation, Property, TransitionSystem
from regcheck.deadline import OutOfTime
from regcheck.errors import InvalidModel

MAX_STATES = 1_000_000
"""Abstract states explored before the search gives up (unknown)."""
_CLOCK_EVERY = 64
_PROGRESS_EVERY_S = 0.5

Shared = tuple[Value, ...]
Node = tuple[Shared, int]
"""An abstract state: the shared values and the number of p's local state."""
Tag = tuple[Hashable, ...]
"""What an edge does: ("p", action) a move of p, ("g", action) a global action, ("o",) interference, ("s",) a stutter step."""
Move = tuple[int, Shared, int]
INTERFERENCE: Tag = ("o",)
STUTTER: Tag = ("s",)


class _Moves:
    """The template's steps from a (shared, local) pair, memoised: the only place the model is evaluated."""

    def __init__(self, template: TransitionSystem, local: Sequence[str], deadline: float | None = None) -> None:
        self.compiled = compile_system(template)
        names = template.names
        self.names = names
        self.local = tuple(local)
        self.local_at = [names.index(n) for n in self.local]
        self.shared_at = [i for i, n in enumerate(names) if n not in self.local]
        self.globals = frozenset(i for i, a in enumerate(template.actions) if is_global(a, self.local))
        self.local_states = list(saturated(template, self.local, deadline))
        self.locals = {ls: i for i, ls in enumerate(self.local_states)}
        self._memo: dict[Node, tuple[Move, ...]] = {}
        initial = self.compiled.layout.unpack(self.compiled.initial)
        self.initial: Node = (tuple(initial[i] for i in self.shared_at), self.locals[tuple(initial[i] for i in self.local_at)])

    def packed(self, node: Node) -> tuple[int, ...]:
        shared, ls = node
        values: dict[str, Value] = {self.names[i]: v for i, v in zip(self.shared_at, shared)}
        values.update(zip(self.local, self.local_states[ls]))
        return self.compiled.layout.pack(values)

    def of(self, node: Node) -> tuple[Move, ...]:
        """(action, shared after, local state after) for every action enabled with one process in ``node``."""
        found = self._memo.get(node)
        if found is None:
            unpack = self.compiled.layout.unpack
            moves = []
            for action, successor in self.compiled.steps(self.packed(node)):
                values = unpack(successor)
                landing = tuple(values[i] for i in self.local_at)
                if landing not in self.locals:  # saturation is closed under every move from a reachable shared state
                    raise InvalidModel(f"{self.compiled.system.actions[action].label} leaves the saturated local states")
                moves.append((action, tuple(values[i] for i in self.shared_at), self.locals[landing]))
            found = self._memo[node] = tuple(moves)
        return found


class _Graph:
    """The reachable abstract graph: nodes, labelled edges, and the fairness constraints enabled at each."""

    def __init__(self, moves: _Moves, fair: frozenset[int]) -> None:
        self.moves = moves
        self.fair = fair
        self.nodes: list[Node] = []
        self.index: dict[Node, int] = {}
        self.level: list[int] = []
        self.out: list[list[tuple[int, Tag]]] = []
        self.enabled: list[frozenset[Tag]] = []
        self._interference: dict[Shared, frozenset[Shared]] = {}

    def add(self, node: Node, level: int) -> int:
        found = self.index.get(node)
        if found is None:
            found = self.index[node] = len(self.nodes)
            self.nodes.append(node)
            self.level.append(level)
        return found

    def interference(self, shared: Shared) -> frozenset[Shared]:
        """The shared states one move of another process, in any saturated local state, leads to."""
        found = self._interference.get(shared)
        if found is None:
            moves = self.moves
            found = frozenset(after for ls in range(len(moves.local_states)) for action, after, _ in moves.of((shared, ls))
                              if action not in moves.globals)
            self._interference[shared] = found
        return found

    def expand(self, number: int) -> None:
        shared, p = self.nodes[number]
        moves = self.moves
        level = self.level[number] + 1
        edges: list[tuple[int, Tag]] = []
        enabled: set[Tag] = set()
        for action, after, landing in moves.of((shared, p)):
            tag: Tag = ("g" if action in moves.globals else "p", action)
            if action in self.fair:
                enabled.add(tag)
            edges.append((self.add((after, landing), level), tag))
        if not edges:  # the others may be stuck too: the state may repeat for ever
            edges.append((number, STUTTER))
        edges += [(self.add((after, p), level), INTERFERENCE) for after in sorted(self.interference(shared), key=repr)]
        self.out.append(edges)
        self.enabled.append(frozenset(enabled))


METHOD = "no fair loop that misses an obligation in the interference abstraction, for every N"
NAME = "interference"


def check(
    template: TransitionSystem,
    local: Sequence[str],
    props: Sequence[Property],
    *,
    max_states: int = MAX_STATES,
    timeout: float | None = None,
    progress: Progress | None = None,
) -> list[CheckResult]:
    """Each of ``props`` (liveness properties of ``template``, a system of one process whose variables are
    ``local``) for every number of such processes: ``proved`` if the abstraction has no fair loop that
    violates an obligation, else ``unknown`` with the reason (a loop found may be spurious). Properties
    with the same fairness share one abstract graph.

    The caller has checked the premises (regcheck/model/SOUNDNESS.md): the concrete systems are products of the
    template's process, and the concrete obligations are these, renamed for each process, or shared.
    """
    start = time.monotonic()
    deadline = None if timeout is None else start + timeout
    for prop in props:
        for obligation in prop.obligations:
            template.check_formula(obligation.trigger, f"property {prop.name}: trigger")
            template.check_formula(obligation.goal, f"property {prop.name}: goal")
    try:
        moves = _Moves(template, local, deadline)
    except OutOfTime as exc:
        return [outcome(prop, NAME, Verdict.UNKNOWN, None, start, note=str(exc)) for prop in props]
    graphs: dict[frozenset[int], _Graph | str] = {}
    results = []
    for prop in props:
        fair = frozenset(prop.fair_actions(template))
        if fair not in graphs:
            graphs[fair] = _explore(_Graph(moves, fair), max_states, deadline, progress)
        graph = graphs[fair]
        if isinstance(graph, str):
            results.append(outcome(prop, NAME, Verdict.UNKNOWN, None, start, note=graph))
            continue
        results.append(_decide(graph, prop, start))
    return results


def _explore(graph: _Graph, max_states: int, deadline: float | None, progress: Progress | None) -> _Graph | str:
    """The whole abstract graph from the initial state, or why the search gave up."""
    start = last_report = time.monotonic()
    graph.add(graph.moves.initial, 0)
    done = 0
    while done < len(graph.nodes):
        graph.expand(done)
        done += 1
        if done % _CLOCK_EVERY == 0:
            now = time.monotonic()
            if len(graph.nodes) > max_states:
                return f"the abstraction has more than {max_states:,} states"
            if deadline is not None and now > deadline:
                return f"the timeout stopped the search of the abstraction after {len(graph.nodes):,} states"
            if progress and now - last_report >= _PROGRESS_EVERY_S:
                progress(f"liveness for every N: {done} abstract states expanded, {len(graph.nodes) - done} queued "
                         f"({now - start:.1f} s)")
                last_report = now
    return graph


def _decide(graph: _Graph, prop: Property, start: float) -> CheckResult:
    """``prop`` on the complete abstract graph: proved, or unknown naming the obligation with a fair loop."""
    moves = graph.moves
    examined = 0
    for obligation in prop.obligations:
        found, seen = _fair_loop(graph, _after_trigger(graph, obligation))
        examined += seen
        if found:
            note = (f"{obligation.label or 'an obligation'}: the abstraction has a fair loop that never meets it, "
                    "which may be spurious (interference that never stops)")
            return outcome(prop, NAME, Verdict.UNKNOWN, None, start, note=note)
    evidence = LassoFreedom(
        states=len(graph.nodes),
        transitions=sum(len(edges) for edges in graph.out),
        diameter=max(graph.level),
        components_examined=examined,
        obligations=len(prop.obligations),
        fairness=f"weak, on the kept worker's {len(graph.fair)} fair actions and the global ones; "
                 "none assumed of the others",
        fingerprint=fingerprint(moves.compiled.layout, map(moves.packed, graph.nodes)),
        symmetry=f"interference from every one of the {len(moves.local_states)} local states a worker can reach",
        method=METHOD,
    )
    return outcome(prop, NAME, Verdict.PROVED, None, start, evidence=evidence)


def _after_trigger(graph: _Graph, obligation: Obligation) -> set[int]:
    """The goal-false states reached through goal-false states from one where the trigger holds and the goal does not."""
    moves = graph.moves
    layout = moves.compiled.layout
    trigger = compile_expr(obligation.trigger, layout)
    goal = compile_expr(obligation.goal, layout)
    reads = [(bool(trigger(packed)), bool(goal(packed))) for packed in map(moves.packed, graph.nodes)]
    region = {n for n, (triggered, met) in enumerate(reads) if triggered and not met}
    queue = deque(region)
    while queue:
        node = queue.popleft()
        for target, _ in graph.out[node]:
            if target not in region and not reads[target][1]:
                region.add(target)
                queue.append(target)
    return region


def _fair_loop(graph: _Graph, region: set[int]) -> tuple[bool, int]:
    """Is there a fair closed walk inside ``region``? Also: how many components were examined.

    Weak fairness asks for a state or an edge, so a maximal component is fair iff some loop in it is."""
    examined = 0
    for component in components(region, lambda node: [t for t, _ in graph.out[node] if t in region]):
        members = set(component)
        tags = {tag for u in component for t, tag in graph.out[u] if t in members}
        if not tags:
            continue
        examined += 1
        always = frozenset.intersection(*(graph.enabled[u] for u in component))
        if always <= tags:
            return True, examined
    return False, examined


__all__ = ["MAX_STATES", "METHOD", "NAME", "check"]
