"""Refute a log thread by thread: one unit of the system kept exact, every variable others write havoc'd.

The system's actions are cut into *units*: actions of one thread are one unit, and two actions that
read or write a common variable outside ``shared`` are one unit (union-find); steps of the
``environment`` (a server's own events) share a thread label but are no thread, and a variable that
steers no step (a history flag for the properties, read by its own update alone) joins nothing and
is dropped. A unit's system
keeps its actions and the variables they touch; each ``shared`` variable that an action outside
the unit writes is also *havoc'd*: an unobserved step may set it to any value of its domain at any
time. Every execution
of the whole system, cut to one unit's steps with havoc steps put where other units wrote a shared
variable, is an execution of the unit's system with the same labels (a unit's other variables are
written by its own actions alone). So when the lines of one log thread, bound to a model thread,
are no subsequence of any execution of that thread's unit, no execution of the whole system has the
log as a subsequence with that binding (regcheck/model/SOUNDNESS.md, "Diagnosis").

Nothing here knows the protocol: the caller names the shared variables and the observations.
"""

from __future__ import annotations

import functools
import time
from bisect import bisect_left
from collections.abc import Hashable, MutableMapping, Sequence
from dataclasses import dataclass
from operator import and_ as bits_and

import networkx as nx

from regcheck.core.compile import CompiledSystem, Layout, Packed, compile_system
from regcheck.core.expr import Const, Expr, Ite, Value, and_, eq, not_, var, variables
from regcheck.core.subsequence import Bindings, Found, Observed, Order, search
from regcheck.core.symmetry import Renaming
from regcheck.core.system import Action, TransitionSystem, Variable

HAVOC = "havoc"
"""The name of the actions that set a shared variable (never observed)."""


def thread_of(action: Action) -> Value | None:
    """The action's constant ``thread`` label, if it has one."""
    label = dict(action.labels).get("thread")
    return label.value if isinstance(label, Const) else None


def _reads(action: Action) -> set[str]:
    names = set(variables(action.guard))
    for _, value in (*action.updates, *action.labels):
        names |= variables(value)
    return names | {target for target, _ in action.updates}


def _written(system: TransitionSystem) -> dict[str, set[int]]:
    """Per variable, the actions that write it."""
    writers: dict[str, set[int]] = {}
    for index, action in enumerate(system.actions):
        for target, _ in action.updates:
            writers.setdefault(target, set()).add(index)
    return writers


def _read(system: TransitionSystem) -> set[str]:
    """The variables that steer some step: read by a guard or a label (observed fields are labels), or by the
    update of such a variable (a history flag only its own update reads steers nothing)."""
    names: set[str] = set()
    for action in system.actions:
        names |= set(variables(action.guard))
        for _, value in action.labels:
            names |= variables(value)
    grown = True
    while grown:
        grown = False
        for action in system.actions:
            for target, value in action.updates:
                if target in names and not variables(value) <= names:
                    names |= variables(value)
                    grown = True
    return names


def units(system: TransitionSystem, shared: frozenset[str], environment: frozenset[Value] = frozenset(),
          read: set[str] | None = None) -> list[frozenset[int]]:
    """The actions (indices) cut into units (see the module docstring). A variable nothing reads joins no
    actions. ``read``: the system's ``_read``, when the caller has it."""
    read = _read(system) if read is None else read
    parent = list(range(len(system.actions)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[object, int] = {}
    for index, action in enumerate(system.actions):
        touched = _reads(action) & read
        keys: list[object] = [("var", n) for n in touched if n not in shared]
        thread = thread_of(action)
        if thread is not None and thread not in environment:
            keys.append(("thread", thread))
        for key in keys:
            if key in first:
                parent[find(index)] = find(first[key])
            else:
                first[key] = index
    groups: dict[int, set[int]] = {}
    for index in range(len(system.actions)):
        groups.setdefault(find(index), set()).add(index)
    return [frozenset(g) for g in groups.values()]


def unit_system(system: TransitionSystem, unit: frozenset[int], shared: frozenset[str],
                read: set[str] | None = None) -> TransitionSystem:
    """The unit's actions over the variables they touch and something reads, with a havoc action per value
    of each shared variable that an action outside the unit writes (``read`` as for :func:`units`)."""
    read = _read(system) if read is None else read
    writers = _written(system)
    touched: set[str] = set()
    for i in sorted(unit):
        touched |= _reads(system.actions[i])
    kept = tuple(v for v in system.variables if v.name in touched & read)
    names = {v.name for v in kept}
    actions = [Action(a.name, a.params, a.guard, tuple((t, e) for t, e in a.updates if t in names), a.labels)
               for a in (system.actions[i] for i in sorted(unit))]
    initial = system.initial_state()
    havoc = [
        Action(HAVOC, (("variable", k), ("value", j)), not_(eq(var(v.name), value)), ((v.name, Const(value)),))
        for k, v in enumerate(kept) if v.name in shared and writers.get(v.name, set()) - unit
        for j, value in enumerate(v.domain.values())
    ]
    init = and_(*(eq(var(v.name), initial[v.name]) for v in kept))
    return TransitionSystem(f"{system.name}, one unit", tuple(Variable(v.name, v.domain) for v in kept), init,
                            (*actions, *havoc), dict(system.meta), stutter=system.stutter)


RENAMED = ("thread", "session", "association")
"""Labels whose values are names only: a log binds its own names to them, so units alike but for these values
(and the names of their variables) match a log thread's lines alike (see :func:`shape`)."""


def shape(system: TransitionSystem, thread: Value) -> Hashable | None:
    """The unit system up to the names of its variables (by position) and a one-to-one renaming of the values of
    the ``RENAMED`` labels (by first appearance, ``thread`` first): two units of one shape, each with its thread
    bound to the same log thread, match the same lines as far, since the renaming maps the executions of one onto
    those of the other, labels renamed, and bindings through the renaming alike. None (no shape is claimed) when
    such a label reads a variable, whose values the renaming would not follow."""
    renaming = Renaming({v.name: f"v{i}" for i, v in enumerate(system.variables)}, {}, "positions")
    values: dict[tuple[str, Value], int] = {("thread", thread): 0}

    def renamed(key: str, expr: Expr) -> Expr | None:
        if isinstance(expr, Const):
            return Const(f"#{values.setdefault((key, expr.value), len(values))}")
        if isinstance(expr, Ite):
            then, other = renamed(key, expr.then), renamed(key, expr.other)
            return None if then is None or other is None else Ite(renaming.expr(expr.cond), then, other)
        return None

    actions = []
    for action in system.actions:
        labels = []
        for key, expr in action.labels:
            label = renamed(key, expr) if key in RENAMED else renaming.expr(expr)
            if label is None:
                return None
            labels.append((key, label))
        actions.append((action.name, renaming.expr(action.guard),
                        tuple((renaming.variables[t], renaming.expr(e)) for t, e in action.updates), tuple(labels)))
    return (tuple(v.domain for v in system.variables), renaming.expr(system.init), tuple(actions), system.stutter)


def lines_by_thread(observed: Sequence[Observed]) -> dict[str, list[int]]:
    """Per log thread, the positions of the observations that are its own lines (not a server event sharing a step)."""
    threads: dict[str, list[int]] = {}
    for position, o in enumerate(observed):
        name = dict(o.names).get("thread")
        if name is not None and not o.shares:
            threads.setdefault(name, []).append(position)
    return threads


@dataclass(frozen=True)
class Refutation:
    """A log thread's line that no execution reaches, whatever model thread the log thread is: ``event``
    (0-based, in the whole log) is the latest line any binding fails at; ``found`` per model thread tried."""

    thread: str
    event: int
    found: tuple[tuple[Value, Found, CompiledSystem], ...]


def _actions_of(system: TransitionSystem, environment: frozenset[Value]) -> dict[Value, set[str]] | None:
    """Per model thread (not the environment's), the names of its actions; None where an action's thread is not a
    constant (a thread named by an expression: which model threads a log thread may be is then not known)."""
    actions_of: dict[Value, set[str]] = {}
    for action in system.actions:
        thread = thread_of(action)
        if thread is None:
            return None
        if thread not in environment:
            actions_of.setdefault(thread, set()).add(action.name)
    return actions_of


SHAPED_FROM = 2_000
"""States a unit's search may visit before its :func:`shape` is worth computing, to share the rest of the search with
units of the same shape (in ``refute``'s memo)."""


class Units:
    """The units of one system, each compiled once, for refuting many log threads."""

    def __init__(self, system: TransitionSystem, shared: frozenset[str],
                 environment: frozenset[Value] = frozenset()) -> None:
        self.system = system
        self.shared = shared
        self.environment = environment
        self._read = _read(system)
        self._units = units(system, shared, environment, self._read)
        self._compiled: dict[frozenset[int], CompiledSystem] = {}
        self._systems: dict[frozenset[int], TransitionSystem] = {}
        self._shapes: dict[tuple[frozenset[int], Value], Hashable | None] = {}
        self.actions_of = _actions_of(system, environment)

    def threads_for(self, lines: Sequence[Observed]) -> tuple[Value, ...] | None:
        """The model threads a log thread with these lines may be, in order: each has, for each line, an action the
        line may be; None where that is not known (``actions_of``)."""
        if self.actions_of is None:
            return None
        return tuple(sorted((t for t, acts in self.actions_of.items() if all(line.actions & acts for line in lines)),
                            key=str))

    def of_thread(self, thread: Value) -> frozenset[int] | None:
        """The unit that holds the model thread's actions."""
        return next((u for u in self._units if any(thread_of(self.system.actions[i]) == thread for i in u)), None)

    def unit_system(self, unit: frozenset[int]) -> TransitionSystem:
        """The unit's system (``unit_system``), built on first use."""
        if unit not in self._systems:
            self._systems[unit] = unit_system(self.system, unit, self.shared, self._read)
        return self._systems[unit]

    def shape(self, unit: frozenset[int], thread: Value) -> Hashable | None:
        """The :func:`shape` of the unit with ``thread`` bound, computed on first use."""
        if (unit, thread) not in self._shapes:
            self._shapes[(unit, thread)] = shape(self.unit_system(unit), thread)
        return self._shapes[(unit, thread)]

    def compiled(self, unit: frozenset[int]) -> CompiledSystem:
        """The unit's system, compiled on first use."""
        if unit not in self._compiled:
            self._compiled[unit] = compile_system(self.unit_system(unit))
        return self._compiled[unit]


def refute(
    parts: Units,
    observed: Sequence[Observed],
    *,
    one_to_one: frozenset[str],
    given: Bindings,
    max_nodes: int,
    deadline: float | None,
    memo: MutableMapping[Hashable, tuple[Found, CompiledSystem]] | None = None,
    order: Order | None = None,
) -> Refutation | None:
    """The log thread whose lines no unit of any model thread it may be can match in order (see the module
    docstring) at the earliest line, or None. A step's fields are its labels: the caller puts there every field
    its lines read. Each search that stops on a limit refutes nothing, and nothing is refuted where an action's
    thread is not a constant (the model threads a log thread may be would not be known).
    A unit whose search ``SHAPED_FROM`` states do not decide, of the :func:`shape` of one searched before, for the same
    lines and bindings, has its outcome
    (kept in ``memo`` across calls when given); the shapes are compared only where no line asks a
    ``RENAMED`` label for given values and the given bindings name none of them. Over a partial ``order``, only
    a thread whose lines are all of one chain is tried (their order is known)."""
    memo = {} if memo is None else memo
    renames = not any(key in RENAMED for o in observed for key, _ in o.fields) and \
        not any(label in RENAMED for label, _, _ in given)
    threads = lines_by_thread(observed)
    if parts.actions_of is None:  # which model threads a log thread may be is not known
        return None
    earliest: Refutation | None = None
    for name, positions in sorted(threads.items(), key=lambda item: item[1][0]):
        if earliest is not None and positions[0] >= earliest.event:
            break  # a thread refutes at one of its lines: none from here on refutes sooner
        if order is not None and len({order.chain_of[p] for p in positions}) > 1:
            continue
        lines = [observed[p] for p in positions]
        found: list[tuple[Value, Found, CompiledSystem]] = []
        latest = -1
        for thread in parts.threads_for(lines) or ():
            unit = parts.of_thread(thread)
            if unit is None or (deadline is not None and time.monotonic() > deadline):
                return earliest if unit is not None else None
            compiled = parts.compiled(unit)
            unit_search = functools.partial(search, compiled, lines, compiled.labels, one_to_one=one_to_one,
                                            deadline=deadline, given=given | {("thread", name, thread)},
                                            depth_first=True)
            # A short search first: one it decides costs less than the shape that would share it.
            result = unit_search(max_nodes=min(max_nodes, SHAPED_FROM))
            if not result.complete and max_nodes > SHAPED_FROM:
                shaped = parts.shape(unit, thread) if renames else None
                key = None if shaped is None else (shaped, tuple(lines), given, one_to_one, max_nodes)
                if key is not None and key in memo:
                    result, compiled = memo[key]
                else:
                    result = unit_search(max_nodes=max_nodes)
                    if key is not None and result.complete:
                        memo[key] = (result, compiled)
            if not result.complete or result.matched == len(lines):
                break
            found.append((thread, result, compiled))
            latest = max(latest, positions[result.matched])
            if earliest is not None and latest >= earliest.event:
                break  # refuted, if at all, no sooner than the thread refuted already
        else:
            if found and (earliest is None or latest < earliest.event):
                earliest = Refutation(name, latest, tuple(found))
    return earliest


AHEAD_LINES = 4
"""How many of a thread's next lines :class:`Lookahead` asks of its unit: enough to see a thread that has spent what
its next calls need, few enough that each question is small."""
AHEAD_FIRSTS = 16
"""How soon (in events) the first line of a log thread bound to no model thread yet must come for :class:`Lookahead`
to ask whether some model thread left can make its lines: those starting soon each need one of their own."""
AHEAD_NODES = 2_000
"""States one question of :class:`Lookahead` may visit before it answers nothing."""
AHEAD_KEPT = 200_000
"""Answers :class:`Lookahead` keeps before it forgets them all (and as many of what it asks per bindings)."""


_Question = tuple[tuple[CompiledSystem, tuple[int, ...], tuple[int, ...]], Hashable, Sequence[int], Bindings]
"""What :class:`Lookahead` asks of one unit from a triple (``Lookahead._question``)."""
_Free = tuple[tuple[int, tuple[tuple[Value, _Question | None], ...]], ...]
"""Of each log thread bound to no model thread that ``Lookahead.blocked`` asks: its first line, and each model thread
it may be that no log thread is bound to, with what asking that thread's unit takes (None: it has no unit)."""
_Plan = tuple[tuple[_Question, ...], _Free]
"""What :class:`Lookahead` asks from a triple, per bindings and count matched (``Lookahead._plan``)."""


class Lookahead:
    """The search's look-ahead by units: from a triple, each log thread bound to a model thread must still make its
    next lines (``AHEAD_LINES``) in its unit, from the unit's part of the triple's state. A unit admits, from any state
    of the whole system cut to it, every execution from there cut to it (the module docstring's argument, from that
    state instead of the initial one), so where the unit's search of those lines is complete and ends short, no
    execution from the triple matches the line it stopped at in order. The names the lines bind are the triple's;
    names it has not bound are free in the unit (which only admits more). Answers are kept per unit state (its
    variables no havoc sets), what the lines ask and the bindings of the names they name."""

    def __init__(self, parts: Units, layout: Layout, observed: Sequence[Observed], *, one_to_one: frozenset[str],
                 given: Bindings, deadline: float | None = None) -> None:
        self.parts, self.layout, self.observed = parts, layout, observed
        self.one_to_one, self.given, self.deadline = one_to_one, given, deadline
        self.lines = lines_by_thread(observed)
        self._asked: dict[tuple[str, int], tuple[int, frozenset[tuple[str, str]]]] = {}
        self._contents: dict[tuple[Observed, ...], int] = {}
        self._units: dict[Value, tuple[CompiledSystem, tuple[int, ...], tuple[int, ...]] | None] = {}
        self._plans: dict[tuple[Bindings, int], _Plan] = {}
        self._answers: dict[Hashable, int | None] = {}
        self._firsts = sorted((positions[0], name) for name, positions in self.lines.items())
        self._candidates: dict[str, tuple[Value, ...] | None] = {}  # per log thread, the model threads it may be
        self._matchings: dict[tuple[frozenset[Value], ...], bool] = {}

    def blocked(self, state: Packed, matched: int, bound: Bindings) -> int | None:
        """The first line (an observation) some log thread's unit cannot make after its lines before, from ``state``;
        None where each can make its next lines (or a search stopped at its limit). A bound log thread is asked of its
        model thread's unit. Each unbound one whose first line comes within ``AHEAD_FIRSTS`` events is asked of the
        unit of each model thread it may be that no log thread is bound to: the thread binding is one to one, so each
        needs a model thread of its own that can make its lines (``_assigned``)."""
        plan = self._plans.get((bound, matched))
        if plan is None:
            if len(self._plans) > AHEAD_KEPT:
                self._plans.clear()
            plan = self._plans[(bound, matched)] = self._plan(bound, matched)
        bound_ones, free = plan
        for question in bound_ones:
            answer = self._answer(question, state)
            if answer is not None:
                return answer
        if not free:
            return None
        able: list[frozenset[Value]] = []
        latest = 0  # the greatest of the threads' last lines
        for first, threads in free:
            can: set[Value] = set()
            last = first  # the thread's first line, or the latest a unit stopped at for it
            for thread, asking in threads:
                answer = None if asking is None else self._answer(asking, state)
                if answer is None:
                    can.add(thread)
                else:
                    last = max(last, answer)
            if not can:
                return last
            able.append(frozenset(can))
            latest = max(latest, last)
        return None if self._assigned(tuple(able)) else latest

    def _assigned(self, able: tuple[frozenset[Value], ...]) -> bool:
        """Whether each unbound log thread asked can be a model thread of its own among those ``able`` says can make
        its lines (a matching of the bipartite graph covers them all); kept."""
        known = self._matchings.get(able)
        if known is None:
            if len(self._matchings) > AHEAD_KEPT:
                self._matchings.clear()
            graph: nx.Graph[object] = nx.Graph()
            graph.add_nodes_from(range(len(able)))
            graph.add_edges_from((i, ("model", t)) for i, threads in enumerate(able) for t in threads)
            matching = nx.bipartite.hopcroft_karp_matching(graph, top_nodes=range(len(able)))
            known = self._matchings[able] = all(i in matching for i in range(len(able)))
        return known

    def _plan(self, bound: Bindings, matched: int) -> _Plan:
        """What ``blocked`` asks with these names bound and this many observations matched: of each bound log thread
        with lines left, its lines from the first left; of each unbound log thread whose first line comes within
        ``AHEAD_FIRSTS`` events, its first lines, of each model thread it may be that no log thread is bound to (a log
        thread for which those are not known is not asked)."""
        threads = sorted((name, thread) for label, name, thread in bound if label == "thread")
        asked = []
        for name, thread in threads:
            positions = self.lines.get(name, [])
            first = bisect_left(positions, matched)  # the thread's first line left
            if first < len(positions):
                asked.append(self._question(thread, name, first, bound))
        named = {name for name, _ in threads}
        taken = {thread for _, thread in threads}
        free = []
        for first, name in self._firsts[bisect_left(self._firsts, (matched, "")):]:
            if first >= matched + AHEAD_FIRSTS:
                break
            if name in named:
                continue
            if name not in self._candidates:
                self._candidates[name] = self.parts.threads_for([self.observed[p] for p in self.lines[name]])
            candidates = self._candidates[name]
            if candidates is not None:
                free.append((first, tuple((t, self._question(t, name, 0, bound)) for t in candidates
                                          if t not in taken)))
        return tuple(q for q in asked if q is not None), tuple(free)

    def _question(self, thread: Value, name: str, first: int, bound: Bindings) -> _Question | None:
        """What asking the model thread's unit for the log thread's lines from its ``first`` left takes: the unit, its
        words and masks, what the lines ask, the bindings of the names they name (with ``name`` bound to ``thread``),
        and where they stand; None where the thread has no unit (it answers nothing)."""
        unit = self._unit(thread)
        if unit is None:
            return None
        lines, named = self._lines(name, first)
        kept = frozenset(b for b in bound | {("thread", name, thread)} if (b[0], b[1]) in named)
        return unit, (thread, lines, kept), self.lines[name][first:first + AHEAD_LINES], kept

    def _answer(self, question: _Question, state: Packed) -> int | None:
        """Whether the unit, from ``state``, makes the question's lines: the line it stops at, or None. Kept by the
        unit's part of the state and what the lines ask, not where they stand, so that the lines a thread repeats (a
        notification thread's polls) are asked once."""
        (compiled, words, masks), asks, positions, kept = question
        key = (asks, tuple(map(bits_and, map(state.__getitem__, words), masks)))
        try:
            stop = self._answers[key]
        except KeyError:
            if len(self._answers) > AHEAD_KEPT:
                self._answers.clear()
            stop = self._answers[key] = self._ask(compiled, state, [self.observed[p] for p in positions], kept)
        return None if stop is None else positions[stop]

    def _ask(self, compiled: CompiledSystem, state: Packed, lines: Sequence[Observed], kept: Bindings) -> int | None:
        """How many of ``lines`` the unit's search from ``state`` matched, where it is complete and short."""
        values = self.layout.state(state)
        start = compiled.layout.pack({name: values[name] for name in compiled.names})
        found = search(compiled, lines, compiled.labels, one_to_one=self.one_to_one, given=self.given | kept,
                       max_nodes=AHEAD_NODES, deadline=self.deadline, depth_first=True, start=start)
        return found.matched if found.complete and found.matched < len(lines) else None

    def _lines(self, name: str, first: int) -> tuple[int, frozenset[tuple[str, str]]]:
        """What the thread's lines from its ``first`` left ask (a number, the same for lines alike wherever they stand),
        and the names they name."""
        asked = self._asked.get((name, first))
        if asked is None:
            lines = tuple(self.observed[p] for p in self.lines[name][first:first + AHEAD_LINES])
            asked = self._asked[(name, first)] = (self._contents.setdefault(lines, len(self._contents)),
                                                  frozenset(n for line in lines for n in line.names))
        return asked

    def _unit(self, thread: Value) -> tuple[CompiledSystem, tuple[int, ...], tuple[int, ...]] | None:
        """The model thread's unit, compiled, and the whole system's words that hold its variables no havoc sets,
        with the bits of each that do (None where the thread has no unit)."""
        if thread not in self._units:
            unit = self.parts.of_thread(thread)
            if unit is None:
                self._units[thread] = None
            else:
                compiled = self.parts.compiled(unit)
                havocked = {target for a in compiled.system.actions if a.name == HAVOC for target, _ in a.updates}
                masks: dict[int, int] = {}
                for name in compiled.names:
                    if name not in havocked:
                        where = self.layout.fields[name]
                        masks[where.word] = masks.get(where.word, 0) | (((1 << where.width) - 1) << where.offset)
                self._units[thread] = (compiled, tuple(sorted(masks)), tuple(masks[w] for w in sorted(masks)))
        return self._units[thread]


__all__ = ["AHEAD_LINES", "HAVOC", "RENAMED", "Lookahead", "Refutation", "Units", "lines_by_thread", "refute", "shape",
           "thread_of", "unit_system", "units"]
