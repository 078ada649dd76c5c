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

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from regcheck.core.compile import CompiledSystem, compile_system
from regcheck.core.expr import Const, Value, and_, eq, not_, var, variables
from regcheck.core.subsequence import Bindings, FieldsOf, Found, Observed, Order, search
from regcheck.core.system import Action, TransitionSystem, Variable

HAVOC = "havoc"
"""The name of the actions that set a shared variable (never observed)."""


def thread_of(action: Action) -> Value | None:
    """The action's constant ``thread`` label, if it has one."""
    label = dict(action.labels).get("thread")
    return label.value if isinstance(label, Const) else None


def _reads(action: Action, extra: frozenset[str]) -> set[str]:
    names = set(variables(action.guard)) | set(extra)
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


def _read(system: TransitionSystem, extra: Mapping[int, frozenset[str]]) -> set[str]:
    """The variables that steer some step: read by a guard, a label or an observed field, or by the update of
    such a variable (a history flag only its own update reads steers nothing)."""
    names: set[str] = set()
    for index, action in enumerate(system.actions):
        names |= set(variables(action.guard)) | set(extra.get(index, frozenset()))
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


def units(system: TransitionSystem, shared: frozenset[str], extra: Mapping[int, frozenset[str]],
          environment: frozenset[Value] = frozenset()) -> list[frozenset[int]]:
    """The actions (indices) cut into units (see the module docstring); ``extra`` adds variables an
    action's observed fields read beyond its expressions. A variable nothing reads joins no actions."""
    read = _read(system, extra)
    parent = list(range(len(system.actions)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[object, int] = {}
    for index, action in enumerate(system.actions):
        touched = _reads(action, extra.get(index, frozenset())) & read
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
                extra: Mapping[int, frozenset[str]]) -> TransitionSystem:
    """The unit's actions over the variables they touch and something reads, with a havoc action per value
    of each shared variable that an action outside the unit writes."""
    read = _read(system, extra)
    writers = _written(system)
    touched: set[str] = set()
    for i in sorted(unit):
        touched |= _reads(system.actions[i], extra.get(i, frozenset()))
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


@dataclass(frozen=True)
class Refutation:
    """A log thread's line that no execution reaches, whatever model thread the log thread is: ``event``
    (0-based, in the whole log) is the latest line any binding fails at; ``found`` per model thread tried."""

    thread: str
    event: int
    found: tuple[tuple[Value, Found, CompiledSystem], ...]


class Units:
    """The units of one system, each compiled once, for refuting many log threads."""

    def __init__(self, system: TransitionSystem, shared: frozenset[str], extra: Mapping[int, frozenset[str]],
                 environment: frozenset[Value] = frozenset()) -> None:
        self.system = system
        self.shared = shared
        self.extra = extra
        self.environment = environment
        self._units = units(system, shared, extra, environment)
        self._compiled: dict[frozenset[int], CompiledSystem] = {}

    def of_thread(self, thread: Value) -> frozenset[int] | None:
        """The unit that holds the model thread's actions."""
        return next((u for u in self._units if any(thread_of(self.system.actions[i]) == thread for i in u)), None)

    def compiled(self, unit: frozenset[int]) -> CompiledSystem:
        """The unit's system (``unit_system``), compiled on first use."""
        if unit not in self._compiled:
            self._compiled[unit] = compile_system(unit_system(self.system, unit, self.shared, self.extra))
        return self._compiled[unit]


def refute(
    parts: Units,
    observed: Sequence[Observed],
    fields_of: Callable[[CompiledSystem], FieldsOf],
    *,
    one_to_one: frozenset[str],
    given: Bindings,
    max_nodes: int,
    deadline: float | None,
    order: Order | None = None,
) -> Refutation | None:
    """The first log thread whose lines no unit of any model thread it may be can match in order (see the
    module docstring), or None. Each search that stops on a limit refutes nothing, and nothing is refuted
    where an action's thread is not a constant (the model threads a log thread may be would not be known).
    Over a partial ``order``, only a thread whose lines are all of one chain is tried (their order is known)."""
    threads: dict[str, list[int]] = {}
    for position, o in enumerate(observed):
        name = dict(o.names).get("thread")
        if name is not None and not o.shares:
            threads.setdefault(name, []).append(position)
    names_of: dict[Value, set[str]] = {}
    for action in parts.system.actions:
        thread = thread_of(action)
        if thread is None:  # a thread named by an expression: which actions a log thread may be is not known
            return None
        if thread not in parts.environment:
            names_of.setdefault(thread, set()).add(action.name)
    for name, positions in sorted(threads.items(), key=lambda item: item[1][0]):
        if order is not None and len({order.chain_of[p] for p in positions}) > 1:
            continue
        lines = [observed[p] for p in positions]
        found: list[tuple[Value, Found, CompiledSystem]] = []
        latest = -1
        # A model thread the log thread may be has, for each of its lines, an action the line may be.
        for thread in sorted((t for t, acts in names_of.items() if all(line.actions & acts for line in lines)),
                             key=str):
            unit = parts.of_thread(thread)
            if unit is None or (deadline is not None and time.monotonic() > deadline):
                return None
            compiled = parts.compiled(unit)
            result = search(compiled, lines, fields_of(compiled), one_to_one=one_to_one, max_nodes=max_nodes,
                            deadline=deadline, given=given | {("thread", name, thread)})
            if not result.complete or result.matched == len(lines):
                break
            found.append((thread, result, compiled))
            latest = max(latest, positions[result.matched])
        else:
            if found:
                return Refutation(name, latest, tuple(found))
    return None


__all__ = ["HAVOC", "Refutation", "Units", "refute", "thread_of", "unit_system", "units"]
