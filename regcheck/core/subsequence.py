"""Is a sequence of observations a subsequence of the steps of some execution? An explicit search.

Each observation says which actions it may be, which label values it needs, and which of its names
must be bound to the model's values (once, for the whole sequence: a log's thread id to a
``thread`` label, say). The search walks the triples (state, names bound, observations matched)
from the initial state, those with the most observations matched first. Matching the next
observation as soon as a step can, with the names already bound, loses no explanation (any later
step matching it could be swapped for this one); a step that would bind a new name is taken both
ways. A triple is dropped when the same state and names were reached with at least as many
observations matched: whatever completes the log from it completes it from that one too (the
observations left there are a suffix of those left here). An observation marked ``shares`` may match the step of its neighbour when one of
the two shares and the other does not (a server event and the client call it belongs to). Depth first, a way
that matched the next observations from a triple is tried first where the same state, names and next
observations come again (:class:`Stretch`): only the order changes.

Observations from several logs are a partial order (:class:`Order`): each log a chain, and some observations
of one log that must be matched before some of another. Then the search's position is a vector, one count
per chain; an observation may match once every observation that must precede it is matched; and a triple is
dropped when the same state and names were reached at a position at least as far in every chain
(whatever completes the log from it completes it from that one: each observation left there is left here,
and every observation that must precede it is matched there whenever here). A step may match any one
observation at the head of a chain, or two that share it (one ``shares``, one not: the head of a chain and
the next of its chain, or the heads of two chains); it matches none only where every match binds a new name
(matching the observation at once loses nothing otherwise, as above).

A chain may be *complete* (:class:`Complete`): it records every step of some kind within its span (from its first
observation matched to its last), so while its span is open a step of that kind that matches none of its observations
is not taken. Two things above change for such a chain: a triple dominates another only at the same count in it (from
further on, the steps that would match the observations passed over are forbidden), and a step that matches its first
observation, or matches one without being of the kind it records, is also taken unmatched (matching at once could
otherwise lose an explanation). A sequence with a complete rule is searched as a partial order of one chain.

A step may *renew* a value (:class:`Renewal`): after it, the names bound to that value are retired, and no later
observation naming them matches (the value stands for something new, which those names did not name).

Nothing here knows the protocol: the model says what an observation is (``regcheck/model/observations``).
"""

from __future__ import annotations

import functools
import heapq
import time
from bisect import bisect_right
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from regcheck.core.compile import CompiledSystem, Packed
from regcheck.core.expr import Const, Expr, Ite, Value
from regcheck.core.system import TransitionSystem
from regcheck.core.unfold import unfold

Bindings = frozenset[tuple[str, str, Value]]  # (label, name in the observations, model value)
Node = tuple[Packed, int, Bindings]
FieldsOf = Callable[[int, Packed], Mapping[str, Value]]


class Symmetric(Protocol):
    """A symmetry of the search's triples (:class:`regcheck.core.named_blocks.NamedBlocks`): one state per orbit of
    the permutations that keep the names bound, and the new bindings whose image the search takes instead."""

    def canonical(self, state: Packed, bound: Bindings) -> Packed:
        """The orbit's state, for triples with the names ``bound``."""

    def mirrored(self, state: Packed, bound: Bindings, binding: Bindings) -> bool:
        """Whether the step from ``state`` that binds ``binding`` (``bound`` and new names) need not be taken."""

    def free(self, bound: Bindings) -> tuple[tuple[int, ...], ...]:
        """Per group, the words of the blocks ``canonical`` sorts for triples with the names ``bound``."""


@dataclass(frozen=True)
class Observed:
    """What one observation asks of the step it is: one of ``actions``, each of ``fields`` (label,
    allowed values), and each of ``names`` (label, name) with the label's value bound to that name."""

    actions: frozenset[str]
    fields: tuple[tuple[str, frozenset[Value]], ...] = ()
    names: tuple[tuple[str, str], ...] = ()
    shares: bool = False


@dataclass(frozen=True)
class Found:
    """The outcome of a search: ``steps`` (action index and the state after it, from the initial state)
    and at which step each observation matched, when ``matched`` reached every observation; else the
    most observations any execution matched, and the states where they stood (at most ``WHERE``)."""

    matched: int
    complete: bool  # every pair was explored (so a shortfall is a fact, not a limit)
    steps: tuple[tuple[int, Packed], ...] = ()
    at: tuple[int, ...] = ()  # observation i matched at step at[i] (0-based)
    stuck: tuple[tuple[Packed, Bindings], ...] = ()
    explored: int = 0
    stopped: str = ""  # "state limit" or "timeout" when not complete
    waiting: int | None = None  # for a partial order: the observation the search stood before (not a prefix's end)


@dataclass(frozen=True)
class Order:
    """A partial order of the observations, numbered in one of its linear orders: ``chains`` (the observations
    of each log, in order) and, per observation, per chain, how many of that chain's observations must be
    matched at steps before its own (``need[i][c]``; 0 for its own chain)."""

    chains: tuple[tuple[int, ...], ...]
    need: tuple[tuple[int, ...], ...]

    @cached_property
    def chain_of(self) -> tuple[int, ...]:
        """The chain of each observation."""
        of = [0] * len(self.need)
        for c, chain in enumerate(self.chains):
            for i in chain:
                of[i] = c
        return tuple(of)

    def prefix(self, count: int) -> Order:
        """The order of the first ``count`` observations (a down-set: the numbering is a linear order)."""
        return Order(tuple(chain[:bisect_right(chain, count - 1)] for chain in self.chains), self.need[:count])


@dataclass(frozen=True)
class Complete:
    """Chain ``chain`` records every step of a kind within its span: a step whose labels take one of the ``kinds``
    values each, within its ``scope`` (each label's value the one bound to the name; while a name is unbound, no step
    is in scope: nothing is forbidden that the chain may not record)."""

    chain: int
    kinds: tuple[tuple[str, frozenset[Value]], ...]
    scope: tuple[tuple[str, str], ...] = ()

    def records(self, labels: Mapping[str, Value], bound: Bindings) -> bool:
        """Whether a step with ``labels`` is of a kind this chain records, with the names ``bound``."""
        if any(labels.get(label) not in allowed for label, allowed in self.kinds):
            return False
        for label, name in self.scope:
            value = next((v for lab, nm, v in bound if lab == label and nm == name), None)
            if value is None or labels.get(label) != value:
                return False
        return True


WHERE = 200
"""At most this many of the states where the search stood with the most observations matched are kept."""


def search(
    compiled: CompiledSystem,
    observed: Sequence[Observed],
    fields_of: FieldsOf,
    *,
    one_to_one: frozenset[str] = frozenset(),
    max_nodes: int = 500_000,
    deadline: float | None = None,
    given: Bindings = frozenset(),
    depth_first: bool = False,
    order: Order | None = None,
    complete: Sequence[Complete] = (),
    retire: Renewal | None = None,
    canonical: Callable[[Packed], Packed] | None = None,
    symmetric: Symmetric | None = None,
    bound_only: bool = False,
    start: Packed | None = None,
    lookahead: Ahead | None = None,
) -> Found:
    """Find an execution of which ``observed`` is a subsequence (see the module docstring).

    ``fields_of(i, s)`` gives the labels of action ``i`` in state ``s``; a label in ``one_to_one``
    binds names to values one to one (else as a function: two names may share a value). ``given`` are
    bindings fixed before the first observation (no other name may take their values, one to one). Among pairs
    with as many observations matched, the oldest is taken first (an execution found has the fewest unobserved steps
    between observations), or with ``depth_first`` the newest (found much sooner where it need not be shown), and
    a stretch that matched the same next observations from the same state and names before first (:class:`Stretch`;
    but for ``bound_only`` with ``retire``).
    ``order``: the observations are that partial order, not a sequence; ``complete``: the chains that record every
    step of a kind within their span (a sequence is one chain, 0); ``retire``: the steps that renew a value;
    ``canonical``: each state reached is taken as its orbit's representative (under a symmetry that keeps every label
    an observation compares and every value a name may bind: the caller's to verify), so that ``steps`` are of the
    quotient, to refute with, not to show. ``symmetric``: the same, with a symmetry whose blocks own the values names
    are bound to (:class:`Symmetric`): each state is its orbit's under the permutations
    of the blocks no bound name refers to, and no new name is bound to a block where an earlier free one is alike;
    the path found is unfolded into an execution of the system (``regcheck.core.unfold``; but for ``bound_only``).
    ``bound_only`` (a sequence): a triple is dropped as soon as an observation left names a name it retired, so a
    search that ends short says only that no execution matches the observation at ``matched`` in order (a dropped
    triple might have matched the ones before it), not that the ones before are matched. ``start``: the state
    searched from (a sequence; the initial state by default). ``lookahead`` (a sequence): the caller's look-ahead
    (:class:`Ahead`); a triple it finds no way on from is dropped, and a search that ends short says only what
    ``bound_only``'s does."""
    if complete and order is None:
        order = Order((tuple(range(len(observed))),), tuple((0,) for _ in observed))
    if order is not None:
        assert start is None and lookahead is None, "a partial order is searched from the initial state, without look-ahead"
        return _search_order(compiled, observed, order, fields_of, one_to_one, max_nodes, deadline, given,
                             depth_first, tuple(complete), retire, canonical, symmetric)
    candidates = candidates_of(compiled.system, observed)
    renewing = retire.actions if retire is not None else frozenset()
    n = len(observed)
    ahead = _named_ahead(observed) if bound_only and renewing else None  # else only the next observation's names
    beyond = 0  # bound_only: the most observations a dropped triple might match
    initial = compiled.initial if start is None else start
    initial = initial if symmetric is None else symmetric.canonical(initial, given)
    root: Node = (initial, 0, given)
    parent: dict[Node, tuple[Node, int, int] | None] = {root: None}  # node -> (previous, action, matched before)
    most: dict[tuple[Packed, Bindings], int] = {(initial, given): 0}  # the most matched per pair
    heap: list[tuple[int, int, Node, Node]] = [(0, 0, root, root)]  # ..., the node, where its count was first matched
    best, stuck = 0, [root]
    explored = pushed = 0
    every = 16 if lookahead is not None else 256  # triples between looks at the clock: a look-ahead's cost more each
    fixed = _constant_renewals(compiled.system, retire)
    retirements: dict[tuple[Bindings, Value], Bindings] = {}  # a log's few bindings are renewed again and again
    deaths: dict[tuple[Bindings, int], int] = {}  # per retiring binding and count matched: the observation it kills
    # Depth first, the way from where a count was first matched to a step matching the next observation, kept by that
    # state, its names and what the next observations ask; where the same are met again (a log that repeats itself),
    # that way is tried first (``Stretch``).
    stretches: dict[tuple[Packed, Bindings, int], Stretch] | None = {} if depth_first and ahead is None else None
    asks = _asks(observed) if stretches is not None else []
    via: dict[Node, Stretch] = {}  # the stretch each node reached by one stands at the end of

    def retiring(binding: Bindings, value: Value) -> Bindings:
        """``binding`` after a step that renews ``value`` (the same object where nothing is retired)."""
        if not value:
            return binding
        known = retirements.get((binding, value))
        if known is None:
            assert retire is not None
            known = retirements[(binding, value)] = _retire(binding, {(retire.names, value)})
        return binding if known == binding else known

    def offer(node: Node, entry: Node, index: int, matched: int, binding: Bindings, reached: Packed,
              stretch: Stretch | None = None) -> Found | None:
        """Take the triple a step (or ``stretch``) from ``node`` reaches, unless dropped: the search's outcome where
        it ends there."""
        nonlocal best, stuck, beyond, pushed
        if most.get((reached, binding), -1) >= matched:
            return None
        child = (reached, matched, binding)
        if matched > best:
            best, stuck = matched, []
        if matched == best and len(stuck) < WHERE:
            stuck.append(child)
        state, pos, bound = node
        if binding is not bound and index in renewing and matched < n:
            dead = deaths.get((binding, matched))
            if dead is None:
                named = observed[matched].names if ahead is None else ahead[matched]
                dead = deaths[(binding, matched)] = (
                    -1 if not _dead(binding, named) else _first_naming(binding, observed, matched))
            if dead >= 0:
                # An observation left (the next, but for bound_only) names a retired name: none matches it here.
                if ahead is not None:
                    beyond = max(beyond, dead)
                return None
        most[(reached, binding)] = matched
        if lookahead is not None and matched < n:
            blocked = lookahead.blocked(reached, matched, binding)
            if blocked is not None:  # no execution from here matches that observation in order
                beyond = max(beyond, blocked)
                return None
        if stretch is None:
            parent[child] = (node, index, pos)
        else:
            parent[child], via[child] = (node, REPLAYED, pos), stretch
        if matched > pos and stretches is not None and stretch is None:
            key = (entry[0], entry[2], asks[pos])
            if key not in stretches:
                stretches[key] = _stretch(parent, entry, child)
        if matched == n:
            if symmetric is None or bound_only:
                return _found(parent, via, child, n)
            return _found(parent, via, child, n, functools.partial(
                _unfolded, compiled, symmetric, compiled.initial if start is None else start, given,
                observed, fields_of, one_to_one, retire),
                functools.partial(_shortened, compiled, symmetric, renewing) if depth_first else None)
        if len(parent) > max_nodes:
            return _short(best, stuck, explored, "state limit")
        pushed += 1
        heapq.heappush(heap, (-matched, -pushed if depth_first else pushed, child, child if matched > pos else entry))
        return None
    while heap:
        _, _, node, entry = heapq.heappop(heap)
        state, pos, bound = node
        if most[(state, bound)] > pos:
            continue  # reached since with more matched
        explored += 1
        if explored % every == 0 and deadline is not None and time.monotonic() > deadline:
            return _short(best, stuck, explored, "timeout")
        if stretches is not None and node is entry and pos < n:
            stretch = stretches.get((state, bound, asks[pos]))
            if stretch is not None:  # tried first; the steps from here are taken all the same
                index, after, binding = stretch.steps[-1]
                outcome = offer(node, entry, index, pos + stretch.matches, binding, after, stretch)
                if outcome is not None:
                    return outcome
        unmatched: set[Packed] = set()  # the states reached by a step that matches nothing and renews nothing
        for index, successor in compiled.steps(state):
            if canonical is not None:
                successor = canonical(successor)
            wanted = pos < n and index in candidates[pos]
            if not wanted and index not in renewing:  # another such step to the same state: the same triple
                if successor in unmatched:
                    continue
                unmatched.add(successor)
            renews = fixed.get(index) if not wanted else None  # a step that renews a constant needs no labels
            labels = fields_of(index, state) if wanted or (index in renewing and renews is None) else {}
            options = _advance(observed, pos, bound, labels, one_to_one) if wanted else [(pos, bound)]
            if index in renewing:
                assert retire is not None
                value = renews if renews is not None else labels.get(retire.label, 0)
                options = [(matched, retiring(binding, value)) for matched, binding in options]
            for matched, binding in options:
                reached = _reached(symmetric, state, bound, binding, successor)
                if reached is not None:
                    outcome = offer(node, entry, index, matched, binding, reached)
                    if outcome is not None:
                        return outcome
    if beyond > best:
        return Found(beyond, True, explored=explored)
    return Found(best, True, stuck=tuple((s, b) for s, _, b in stuck), explored=explored)


REPLAYED = -1
"""The action of a node's link in the search's tree where a replayed stretch (:class:`Stretch`) reached it."""


@dataclass(frozen=True)
class Stretch:
    """The steps (action, state and names after) from where the depth-first search first matched a count of
    observations to the step that matched the next ``matches`` of them. Replayed from the same state and names where
    the next observations ask the same, it reaches the same triple at that count: the steps are the model's, each
    unmatched step's names follow from the names before it, and the matching step's from what the observations ask.
    Replaying changes only the order in which the search takes its triples."""

    steps: tuple[tuple[int, Packed, Bindings], ...]
    matches: int


def _stretch(parent: Mapping[Node, tuple[Node, int, int] | None], entry: Node, last: Node) -> Stretch:
    """The steps from ``entry`` to ``last`` in the search's tree (none of them replayed)."""
    steps: list[tuple[int, Packed, Bindings]] = []
    node = last
    while node is not entry:
        link = parent[node]
        assert link is not None, "the search's tree leads from each node back to where its count was first matched"
        previous, index, _ = link
        steps.append((index, node[0], node[2]))
        node = previous
    return Stretch(tuple(reversed(steps)), last[1] - entry[1])


def _asks(observed: Sequence[Observed]) -> list[int]:
    """For each count matched, what the next two observations ask (a step may match both), as a number: the same for
    observations alike wherever they stand."""
    kinds: dict[tuple[Observed, ...], int] = {}
    return [kinds.setdefault(tuple(observed[i:i + 2]), len(kinds)) for i in range(len(observed))]


class Ahead(Protocol):
    """A look-ahead of the search (:class:`regcheck.core.projection.Lookahead`): from a triple, an observation that no
    execution matches in order, by an over-approximation of the system from that state."""

    def blocked(self, state: Packed, matched: int, bound: Bindings) -> int | None:
        """An observation (at ``matched`` or later) that no execution from ``state`` with the names ``bound`` matches
        after those before it, or None where none is found."""


RETIRED: Value = -1
"""The value of a retired name: no label takes it, so an observation naming it matches no step."""


@dataclass(frozen=True)
class Renewal:
    """Steps that renew a value: of ``actions``, a step whose field ``label`` is not 0 renews that value of
    ``names`` (a label), retiring the names bound to it."""

    label: str
    names: str
    actions: frozenset[int]


def _constant_renewals(system: TransitionSystem, retire: Renewal | None) -> dict[int, Value]:
    """The renewing actions whose renewed value is a constant label of the system, with that value."""
    if retire is None:
        return {}
    fixed = {}
    for index in retire.actions:
        label = dict(system.actions[index].labels).get(retire.label)
        if isinstance(label, Const):
            fixed[index] = label.value
    return fixed


def _reached(symmetric: Symmetric | None, state: Packed, bound: Bindings, binding: Bindings,
             successor: Packed) -> Packed | None:
    """The state a step from ``state`` (names ``bound``) reaches with ``binding``: its orbit's under ``symmetric``, or
    None where the step binds new names whose image, the same names bound to an earlier block alike, is taken."""
    if symmetric is None:
        return successor
    if binding is not bound and symmetric.mirrored(state, bound, binding):
        return None
    return symmetric.canonical(successor, binding)


def _named_ahead(observed: Sequence[Observed]) -> list[frozenset[tuple[str, str]]]:
    """For each count of observations matched, the names the observations left name."""
    ahead = [frozenset[tuple[str, str]]()]
    for o in reversed(observed):
        ahead.append(ahead[-1] | frozenset(o.names))
    ahead.reverse()
    return ahead[:-1]


def _dead(bound: Bindings, names: Collection[tuple[str, str]]) -> bool:
    """Whether one of ``names`` is retired in ``bound``: an observation naming it matches no step."""
    return any(value == RETIRED and (label, name) in names for label, name, value in bound)


def _first_naming(bound: Bindings, observed: Sequence[Observed], start: int) -> int:
    """The first observation from ``start`` on that names a name ``bound`` retired."""
    retired = {(label, name) for label, name, value in bound if value == RETIRED}
    return next(i for i in range(start, len(observed)) if retired & set(observed[i].names))


def _retired(bound: Bindings, retire: Renewal | None, labels: Mapping[str, Value]) -> Bindings:
    """``bound`` after a step with ``labels``: the names bound to the value it renews, retired."""
    assert retire is not None
    renewed = labels.get(retire.label, 0)
    return _retire(bound, {(retire.names, renewed)}) if renewed else bound


def _taken(bound: Bindings, o: Observed, labels: Mapping[str, Value], retiring: frozenset[str]) -> Bindings:
    """``bound`` with the names in use retired whose value a new name of ``o`` takes for a ``retiring`` label."""
    return _retire(bound, {(label, labels[label]) for label, name in o.names if label in retiring and label in labels
                           and not any(lab == label and nm == name for lab, nm, _ in bound)})


def _retire(bound: Bindings, values: set[tuple[str, Value]]) -> Bindings:
    """``bound`` with every name bound to one of ``values`` (label, value) retired."""
    if not values or not any((label, value) in values for label, _, value in bound):
        return bound
    return frozenset((label, name, RETIRED if (label, value) in values else value) for label, name, value in bound)


def candidates_of(system: TransitionSystem, observed: Sequence[Observed]) -> list[frozenset[int]]:
    """For each observation, the actions it may be: of a wanted name, and with every label it asks
    for able to take one of the values it allows (as far as the label's expression tells)."""
    possible = _label_values(system)
    alike: dict[tuple[frozenset[str], tuple[tuple[str, frozenset[Value]], ...]], frozenset[int]] = {}
    for o in observed:  # a long log asks the same few things many times
        if (o.actions, o.fields) not in alike:
            alike[(o.actions, o.fields)] = frozenset(
                i for i, a in enumerate(system.actions)
                if a.name in o.actions and all(possible[i][k] & allowed for k, allowed in o.fields if k in possible[i]))
    return [alike[(o.actions, o.fields)] for o in observed]


def _label_values(system: TransitionSystem) -> list[dict[str, frozenset[Value]]]:
    """Per action, the values each label can take, for the labels whose expression says (constants and
    if-then-else trees of them); kept per system object (a look-ahead searches one unit thousands of times)."""
    kept = _LABEL_VALUES.get(id(system))
    if kept is not None and kept[0] is system:
        return kept[1]
    out = []
    for action in system.actions:
        known = {}
        for key, expr in action.labels:
            values = _values(expr)
            if values is not None:
                known[key] = values
        out.append(known)
    if len(_LABEL_VALUES) >= KEPT_SYSTEMS:
        _LABEL_VALUES.clear()
    _LABEL_VALUES[id(system)] = (system, out)
    return out


KEPT_SYSTEMS = 256
"""Systems whose label values ``_label_values`` keeps (each with the system, so that its id is not reused)."""
_LABEL_VALUES: dict[int, tuple[TransitionSystem, list[dict[str, frozenset[Value]]]]] = {}


def _values(expr: Expr) -> frozenset[Value] | None:
    if isinstance(expr, Const):
        return frozenset({expr.value})
    if isinstance(expr, Ite):
        then, other = _values(expr.then), _values(expr.other)
        return None if then is None or other is None else then | other
    return None


def _advance(observed: Sequence[Observed], pos: int, bound: Bindings, labels: Mapping[str, Value],
             one_to_one: frozenset[str]) -> list[tuple[int, Bindings]]:
    """Where one step can take the matching: the observation at ``pos`` matched (and its neighbour that
    shares the step), or, where matching binds a new name, also not matched."""
    options: list[tuple[int, Bindings]] = []
    first = binds(observed[pos], bound, labels, one_to_one)
    if first is None:
        return [(pos, bound)]
    binding, fresh = first
    matched = pos + 1
    if matched < len(observed) and observed[matched].shares != observed[pos].shares:
        second = binds(observed[matched], binding, labels, one_to_one)
        if second is not None:
            if second[1]:
                options.append((matched, binding))
            binding, matched, fresh = second[0], matched + 1, fresh or second[1]
    options.append((matched, binding))
    if fresh:
        options.append((pos, bound))
    return options


def binds(o: Observed, bound: Bindings, labels: Mapping[str, Value],
          one_to_one: frozenset[str]) -> tuple[Bindings, bool] | None:
    """The bindings after matching ``o`` on a step with ``labels`` (and whether a name was new); None if it does not match."""
    for label, allowed in o.fields:
        if labels.get(label) not in allowed:
            return None
    added: list[tuple[str, str, Value]] = []
    for label, name in o.names:
        value = labels.get(label)
        if value is None:
            return None
        known = [v for lab, nm, v in bound if lab == label and nm == name]
        if known:
            if known[0] != value:
                return None
            continue
        if label in one_to_one and any(lab == label and v == value for lab, _, v in (*bound, *added)):
            return None
        added.append((label, name, value))
    return (bound | frozenset(added), bool(added)) if added else (bound, False)


PathStep = tuple[int, Packed, Bindings, int, int]  # action, state after, names bound after, matched before and after


def _found(parent: Mapping[Node, tuple[Node, int, int] | None], via: Mapping[Node, Stretch], last: Node, n: int,
           unfolded: Callable[[Sequence[PathStep]], Sequence[tuple[int, Packed]] | None] | None = None,
           shorten: Callable[[list[PathStep], Node], list[PathStep]] | None = None) -> Found:
    """The path to ``last`` (through the stretches ``via`` says were replayed): its steps, or (``unfolded``, a search
    among orbits) the execution they stand for; ``shorten`` cuts the path's unmatched stretches first
    (``_shortened``)."""
    path: list[PathStep] = []
    node = last
    while (link := parent[node]) is not None:
        previous, index, before = link
        if index == REPLAYED:
            *unmatched, (index, _, _) = via[node].steps
            path.append((index, node[0], node[2], before, node[1]))
            path.extend((step, state, bound, before, before) for step, state, bound in reversed(unmatched))
        else:
            path.append((index, node[0], node[2], before, node[1]))
        node = previous
    path.reverse()
    if shorten is not None:
        path = shorten(path, node)
    steps = [(index, state) for index, state, _, _, _ in path]
    marks = [(before, after) for _, _, _, before, after in path]
    if unfolded is not None:
        real = unfolded(path)
        if real is None:
            raise AssertionError("internal error: a path among orbits is no execution of the system")
        steps = list(real)
    at = [0] * n
    for step, (before, after) in enumerate(marks):
        for i in range(before, after):
            at[i] = step
    return Found(n, True, tuple(steps), tuple(at), explored=len(parent))


SHORTCUT_NODES = 2_000
"""States the search for a shorter stretch of a depth-first path may visit before the stretch is kept as it is."""


def _shortened(compiled: CompiledSystem, symmetric: Symmetric, renewing: frozenset[int], path: list[PathStep],
               root: Node) -> list[PathStep]:
    """``path`` with each stretch of steps that match nothing (the same count matched and names bound throughout)
    replaced by a shortest one between its ends, among orbits, of steps that renew nothing, where a breadth-first
    search of ``SHORTCUT_NODES`` states finds one: a depth-first search's path wanders, and any stretch between the
    same two triples serves as well."""
    states = [root[0], *(state for _, state, _, _, _ in path)]
    kinds = [(root[1], root[2]), *((after, bound) for _, _, bound, _, after in path)]
    out: list[PathStep] = []
    k = 0
    while k < len(path):
        if kinds[k + 1] != kinds[k]:  # a step that matches or retires
            out.append(path[k])
            k += 1
            continue
        m = k
        while m + 1 < len(path) and kinds[m + 2] == kinds[k]:
            m += 1
        out += _shortest(compiled, symmetric, renewing, states[k], states[m + 1], kinds[k], path[k:m + 1])
        k = m + 1
    return out


def _shortest(compiled: CompiledSystem, symmetric: Symmetric, renewing: frozenset[int], start: Packed, end: Packed,
              kind: tuple[int, Bindings], stretch: list[PathStep]) -> list[PathStep]:
    """A shortest stretch from ``start`` to ``end``, or ``stretch`` where none is found soon or it is no longer."""
    if len(stretch) <= 1:
        return stretch
    matched, bound = kind
    parent: dict[Packed, tuple[Packed, int] | None] = {start: None}
    frontier = [start]
    while frontier and len(parent) < SHORTCUT_NODES:
        following = []
        for state in frontier:
            for index, successor in compiled.steps(state):
                if index in renewing:
                    continue
                reached = symmetric.canonical(successor, bound)
                if reached in parent:
                    continue
                parent[reached] = (state, index)
                if reached == end:
                    steps: list[PathStep] = []
                    at: Packed = end
                    while (link := parent[at]) is not None:
                        steps.append((link[1], at, bound, matched, matched))
                        at = link[0]
                    steps.reverse()
                    return steps if len(steps) < len(stretch) else stretch
                following.append(reached)
        frontier = following
    return stretch


def _unfolded(compiled: CompiledSystem, symmetric: Symmetric, start: Packed, given: Bindings,
              observed: Sequence[Observed], fields_of: FieldsOf, one_to_one: frozenset[str], retire: Renewal | None,
              path: Sequence[PathStep]) -> Sequence[tuple[int, Packed]] | None:
    """The execution a path among orbits stands for (``regcheck.core.unfold``), its steps matching the observations
    the path's did, with names bound as it goes."""
    def matches(before: int, after: int, bound: Bindings, index: int, state: Packed) -> Bindings | None:
        labels = fields_of(index, state)
        for o in observed[before:after]:
            if compiled.system.actions[index].name not in o.actions:
                return None
            bound_now = binds(o, bound, labels, one_to_one)
            if bound_now is None:
                return None
            bound = bound_now[0]
        return _retired(bound, retire, labels) if retire is not None and index in retire.actions else bound

    return unfold(compiled, symmetric.free, start, path, given, matches)


def _short(best: int, stuck: list[Node], explored: int, why: str) -> Found:
    return Found(best, False, stuck=tuple((s, b) for s, _, b in stuck), explored=explored, stopped=why)


Vector = tuple[int, ...]
OrderNode = tuple[Packed, Vector, Bindings]


def _search_order(compiled: CompiledSystem, observed: Sequence[Observed], order: Order, fields_of: FieldsOf,
                  one_to_one: frozenset[str], max_nodes: int, deadline: float | None, given: Bindings,
                  depth_first: bool, complete: tuple[Complete, ...] = (),
                  retire: Renewal | None = None, canonical: Callable[[Packed], Packed] | None = None,
                  symmetric: Symmetric | None = None) -> Found:
    """:func:`search` over a partial order (the module docstring): positions are vectors, one count per chain."""
    candidates = candidates_of(compiled.system, observed)
    n, chains, need = len(observed), order.chains, order.need
    exact = tuple(any(rule.chain == c for rule in complete) for c in range(len(chains)))
    recordable = [_recordable(compiled.system, rule) for rule in complete]
    renewing = retire.actions if retire is not None else frozenset()
    initial = compiled.initial if symmetric is None else symmetric.canonical(compiled.initial, given)
    start: OrderNode = (initial, tuple(0 for _ in chains), given)
    parent: dict[OrderNode, tuple[OrderNode, int, tuple[int, ...]] | None] = {start: None}
    frontier: dict[tuple[Packed, Bindings], list[Vector]] = {(initial, given): [start[1]]}
    heap: list[tuple[int, int, OrderNode]] = [(0, 0, start)]
    best, stuck = 0, [start]
    explored = pushed = 0
    while heap:
        _, _, node = heapq.heappop(heap)
        state, position, bound = node
        if position not in frontier[(state, bound)]:
            continue  # reached since at a position as far in every chain
        explored += 1
        if explored % 256 == 0 and deadline is not None and time.monotonic() > deadline:
            return _short_order(order, best, stuck, explored, "timeout")
        heads = [(chain[position[c]], c) for c, chain in enumerate(chains)
                 if position[c] < len(chain) and _ready(need[chain[position[c]]], position)]
        open_rules = [(rule, kinds) for rule, kinds in zip(complete, recordable, strict=True)
                      if 0 < position[rule.chain] < len(chains[rule.chain])]
        unmatched: set[Packed] = set()  # the states reached by a step that matches, renews and breaks nothing
        for index, successor in compiled.steps(state):
            if canonical is not None:
                successor = canonical(successor)
            wanted = [(i, c) for i, c in heads if index in candidates[i]]
            forbid = [rule for rule, kinds in open_rules if index in kinds]
            if not wanted and not forbid and index not in renewing:  # another such step to the same state: the same
                if successor in unmatched:                           # triple
                    continue
                unmatched.add(successor)
            labels = fields_of(index, state) if wanted or forbid or index in renewing else None
            options: list[tuple[Vector, Bindings, tuple[int, ...]]]
            if not wanted:
                options = [(position, bound, ())]
            else:
                assert labels is not None
                options = _advance_order(observed, order, wanted, position, bound, labels, one_to_one, candidates,
                                         index, complete)
            for after, binding, matched in options:
                if any(after[rule.chain] == position[rule.chain] and rule.records(labels or {}, bound)
                       for rule in forbid):
                    continue  # a step the complete log records, and none of its events
                if index in renewing:
                    binding = _retired(binding, retire, labels or {})
                reached = _reached(symmetric, state, bound, binding, successor)
                if reached is None:
                    continue
                kept = frontier.setdefault((reached, binding), [])
                if any(_covers(other, after, exact) for other in kept):
                    continue
                kept[:] = [other for other in kept if not _covers(after, other, exact)]
                kept.append(after)
                child = (reached, after, binding)
                parent[child] = (node, index, matched)
                total = sum(after)
                if total == n:
                    return _found_order(parent, child, n)
                if total > best:
                    best, stuck = total, []
                if total == best and len(stuck) < WHERE:
                    stuck.append(child)
                if len(parent) > max_nodes:
                    return _short_order(order, best, stuck, explored, "state limit")
                pushed += 1
                heapq.heappush(heap, (-total, -pushed if depth_first else pushed, child))
    return _short_order(order, best, stuck, explored, "")


def _recordable(system: TransitionSystem, rule: Complete) -> frozenset[int]:
    """The actions that may be of a kind ``rule`` records (as far as the labels' expressions tell)."""
    possible = _label_values(system)
    return frozenset(i for i in range(len(system.actions))
                     if all(possible[i][k] & allowed for k, allowed in rule.kinds if k in possible[i]))


def _covers(other: Vector, after: Vector, exact: Sequence[bool]) -> bool:
    """Whether a triple at ``other`` makes one at ``after`` (same state and names) needless: at least as far in every
    chain, and as far exactly in a complete one."""
    return all(a == b if same else a >= b for a, b, same in zip(other, after, exact, strict=True))


def _ready(needed: Sequence[int], position: Vector) -> bool:
    """Whether every observation that must precede one (``needed``, per chain) is matched at ``position``."""
    return all(p >= k for p, k in zip(position, needed, strict=True))


def _advance_order(observed: Sequence[Observed], order: Order, wanted: Sequence[tuple[int, int]], position: Vector,
                   bound: Bindings, labels: Mapping[str, Value], one_to_one: frozenset[str],
                   candidates: Sequence[frozenset[int]], step: int,
                   complete: Sequence[Complete] = ()) -> list[tuple[Vector, Bindings, tuple[int, ...]]]:
    """Where one step can take the matching from ``position``: each ready head ``wanted`` (observation, chain)
    that matches it, alone or with one partner that shares the step (the next of its chain, or the head of
    another chain, ready before the step, of whose ``candidates`` the step's action is); no match
    only where every match binds a new name, or a match is of a complete chain's first observation or of a step
    that chain does not record (not matching there may be what completes the log)."""
    options: list[tuple[Vector, Bindings, tuple[int, ...], bool]] = []
    chains = order.chains
    for i, c in wanted:
        first = binds(observed[i], bound, labels, one_to_one)
        if first is None:
            continue
        one = _bump(position, c)
        options.append((one, first[0], (i,), first[1]))
        partners = [(j, d) for j, d in wanted if d != c and not observed[i].shares]
        if position[c] + 1 < len(chains[c]):
            j = chains[c][position[c] + 1]
            if _ready(order.need[j], position) and step in candidates[j]:
                partners.append((j, c))
        for j, d in partners:
            if observed[j].shares == observed[i].shares:
                continue
            second = binds(observed[j], first[0], labels, one_to_one)
            if second is not None:
                options.append((_bump(one, d), second[0], (i, j), first[1] or second[1]))
    unforced = any(rule.chain == order.chain_of[i] and (position[rule.chain] == 0 or not rule.records(labels, bound))
                   for rule in complete for _, _, matched, _ in options for i in matched)
    if not options or unforced or all(fresh for *_, fresh in options):
        options.append((position, bound, (), False))
    options.sort(key=lambda option: -sum(option[0]))  # the furthest first: those it dominates are dropped
    return [(after, binding, matched) for after, binding, matched, _ in options]


def _bump(position: Vector, chain: int) -> Vector:
    return position[:chain] + (position[chain] + 1,) + position[chain + 1:]


def _found_order(parent: Mapping[OrderNode, tuple[OrderNode, int, tuple[int, ...]] | None], last: OrderNode,
                 n: int) -> Found:
    steps: list[tuple[int, Packed]] = []
    marks: list[tuple[int, ...]] = []
    node = last
    while (link := parent[node]) is not None:
        previous, index, matched = link
        steps.append((index, node[0]))
        marks.append(matched)
        node = previous
    steps.reverse()
    marks.reverse()
    at = [0] * n
    for step, matched in enumerate(marks):
        for i in matched:
            at[i] = step
    return Found(n, True, tuple(steps), tuple(at), explored=len(parent))


def _short_order(order: Order, best: int, stuck: list[OrderNode], explored: int, why: str) -> Found:
    """What a search over a partial order reached: the most observations matched, the first observation left at
    the first position that matched them, and the states that stood before it there."""
    def waiting(position: Vector) -> int:
        return min((chain[p] for chain, p in zip(order.chains, position, strict=True) if p < len(chain)), default=0)

    first = waiting(stuck[0][1]) if stuck else 0
    kept = tuple((s, b) for s, position, b in stuck if waiting(position) == first)
    return Found(best, not why, stuck=kept, explored=explored, stopped=why, waiting=first)


STATIC_SETS = 64
"""The most sets of bindings :func:`first_impossible` follows at once; past it, it follows each label's names alone."""


def first_impossible(system: TransitionSystem, observed: Sequence[Observed], *,
                     one_to_one: frozenset[str] = frozenset(), given: Bindings = frozenset(),
                     derived: frozenset[tuple[int, str]] = frozenset(),
                     retiring: frozenset[str] = frozenset()) -> int | None:
    """The first observation that no action can be, whatever the states, given the values the actions'
    labels can take and the names the observations before bind; None if there is none (or
    the bindings to follow grew too many). ``derived`` (action index, label): labels whose value the
    search's ``fields_of`` computes otherwise than the action's expression, so they are free here.
    ``retiring``: labels whose names are one to one while in use, a step that renews a value retiring the names
    bound to it (the search's ``Renewal``): a new name that takes the value of one in use retires that one,
    since such a step must lie between them.

    It over-approximates the search (states are ignored, non-constant labels are free, a shared
    step is not required), so no execution matches that observation in order: the search need only
    look at the observations before it. Where the sets of bindings grow past ``STATIC_SETS``, each
    label's names are followed alone (the others free), a coarser over-approximation of the same."""
    constant = [{k: next(iter(v)) for k, v in labels.items() if len(v) == 1 and (i, k) not in derived}
                for i, labels in enumerate(_label_values(system))]
    candidates = candidates_of(system, observed)
    grew, found = _impossible(constant, candidates, observed, one_to_one, retiring, given, None)
    if not grew:
        return found
    alone = [_impossible(constant, candidates, observed, one_to_one, retiring, given, label)
             for label in sorted({label for o in observed for label, _ in o.names})]
    return min((position for grew, position in alone if not grew and position is not None), default=None)


def _impossible(constant: Sequence[Mapping[str, Value]], candidates: Sequence[frozenset[int]],
                observed: Sequence[Observed], one_to_one: frozenset[str], retiring: frozenset[str], given: Bindings,
                only: str | None) -> tuple[bool, int | None]:
    """:func:`first_impossible`, following the names of every label (``only`` None) or of the label ``only``: whether
    the sets of bindings grew past ``STATIC_SETS`` (then nothing is decided), and the observation found."""
    possible: set[Bindings] = {given if only is None else frozenset(b for b in given if b[0] == only)}
    in_use = one_to_one | retiring  # one to one among the names in use (a retired name's value no label takes)
    asks: dict[tuple[frozenset[int], tuple[tuple[str, str], ...]], list[tuple[Observed, dict[str, Value]]]] = {}
    for position, o in enumerate(observed):
        names = o.names if only is None else tuple((k, n) for k, n in o.names if k == only)
        if (candidates[position], names) not in asks:  # the distinct (names, label values) its actions can be
            labelled = {}
            named = {label for label, _ in names}
            for index in candidates[position]:
                labels = {key: value for key, value in constant[index].items() if key in named}
                labelled[tuple(sorted(labels.items(), key=repr))] = (
                    Observed(o.actions, (), tuple((k, n) for k, n in names if k in labels)), labels)
            asks[(candidates[position], names)] = list(labelled.values())
        after: set[Bindings] = set()
        for bound in possible:
            for ask, labels in asks[(candidates[position], names)]:
                matched = binds(ask, _taken(bound, ask, labels, retiring) if retiring else bound, labels, in_use)
                if matched is not None:
                    after.add(matched[0])
        if not after:
            return False, position
        if len(after) > STATIC_SETS:
            return True, None
        possible = after
    return False, None
