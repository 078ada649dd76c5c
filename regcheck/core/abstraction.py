"""Counter abstraction: one proof for any number of identical processes.

Given a template system with one process (its *local* variables) and shared variables, the
counter system keeps the shared variables and, for each local state a process can be in, a
counter of processes in that state (an unbounded natural). Initially every one of N >= 1
processes is in the initial local state, N unconstrained. A move of the template's action ``a``
from local state ``i`` to ``j`` needs a process in ``i`` and the guard of ``a`` with the local
variables fixed to ``i``; it updates the shared variables as ``a`` does and moves one process
from ``i`` to ``j``. For processes that are interchangeable (none of them is named by the
shared state or by another process), this system and the N-process system simulate each other,
so an invariant of the counter system holds for every N.

The local states L are computed first by thread-modular saturation: starting from the initial
shared and local states, every action of a process in a known local state, under every known
shared state, adds its successor local and shared states, until nothing changes. Every
configuration any N can reach has its shared state and all its local states in the result. A
move that would leave L (possible only from a shared state that no N can reach) sets the flag
``escaped``, and every lifted property includes ``~escaped``: the proof must show that no
process ever leaves L, so restricting the counters to L loses nothing.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

from regcheck.core.expr import (
    TRUE,
    Const,
    Expr,
    Value,
    add,
    and_,
    eq,
    implies,
    ite,
    le,
    not_,
    or_,
    render,
    substitute,
    var,
    variables,
)
from regcheck.core.smt import UNKNOWN, UNSAT, Unrolling, all_of, independent_check, negation
from regcheck.core.symmetry import normal
from regcheck.core.system import Action, Obligation, TransitionSystem, Variable, boolean, naturals
from regcheck.deadline import REASON, OutOfTime
from regcheck.errors import InvalidArgument, InvalidModel

MAX_LOCAL_STATES = 5_000
ESCAPED = "escaped"
GLOBAL = -1
"""The "local state" of a move that involves no process: a global action (see :func:`is_global`)."""

LocalState = tuple[Value, ...]


@dataclass(frozen=True)
class CounterAbstraction:
    """The counter system of a template, and the maps between it and concrete N-process systems."""

    system: TransitionSystem
    local: tuple[str, ...]
    local_states: tuple[LocalState, ...]
    counters: tuple[str, ...]
    moves: Mapping[str, tuple[str, int, int]]  # counter action label -> (template action, from, to)

    def lift(self, formula: Expr) -> Expr:
        """A per-process property (over the template's local and shared variables) for all processes."""
        parts = [not_(var(ESCAPED))]
        for ls, counter in zip(self.local_states, self.counters):
            instance = substitute(formula, self._fix(ls))
            parts.append(implies(le(1, var(counter)), instance))
        return and_(*parts)

    def instantiate(self, formula: Expr, processes: Sequence[Sequence[str]]) -> Expr:
        """A counter-system formula as a formula over a concrete system of ``len(processes)`` processes.

        ``processes[p]`` names process p's local variables, in the order of ``self.local``. Each
        counter becomes the number of processes in its local state; the result also states that
        every process is in a known local state, which keeps it inductive for the concrete system.
        """
        counts = {
            counter: _sum(
                [
                    _indicator(and_(*(eq(var(name), value) for name, value in zip(names, ls))))
                    for names in processes
                ]
            )
            for ls, counter in zip(self.local_states, self.counters)
        }
        known = and_(
            *(
                or_(*(and_(*(eq(var(name), value) for name, value in zip(names, ls))) for ls in self.local_states))
                for names in processes
            )
        )
        return and_(known, substitute(formula, {**counts, ESCAPED: Const(False)}))

    def concretise(self, actions: Sequence[str]) -> tuple[int, list[tuple[str, int]]]:
        """The fewest processes that run the counter actions ``actions``, and who runs each step.

        Returns N and, per step, the template action and the (0-based) process that takes it.
        """
        for n in range(1, len(actions) + 2):
            positions = [0] * n
            schedule: list[tuple[str, int]] = []
            for label in actions:
                template_action, source, target = self.moves[label]
                if source == GLOBAL:
                    schedule.append((template_action, GLOBAL))
                    continue
                try:
                    process = positions.index(source)
                except ValueError:
                    break
                positions[process] = target
                schedule.append((template_action, process))
            else:
                return n, schedule
        raise InvalidModel("the counter trace cannot be run by any number of processes")

    def _fix(self, ls: LocalState) -> dict[str, Expr]:
        return {name: Const(value) for name, value in zip(self.local, ls)}


def counter_abstraction(template: TransitionSystem, local: Sequence[str],
                        deadline: float | None = None) -> CounterAbstraction:
    """Build the counter system of ``template`` whose process owns the variables ``local`` (by ``deadline``,
    a ``time.monotonic()`` reading, else :class:`OutOfTime`)."""
    local = tuple(local)
    domains = template.domains
    unknown = [name for name in local if name not in domains]
    if unknown:
        raise InvalidModel(f"local variable {unknown[0]!r} is not a variable of {template.name}")
    shared = tuple(n for n in template.names if n not in local)
    for action in template.actions:
        for target, _ in action.updates:
            if target not in domains:
                raise InvalidModel(f"{action.label} updates unknown {target!r}")
    initial = template.initial_state()
    local_states = saturated(template, local, deadline)
    counters = tuple(_counter_name(local, ls) for ls in local_states)
    index = {ls: i for i, ls in enumerate(local_states)}

    variables = [v for v in template.variables if v.name in shared]
    variables += [Variable(c, naturals(), f"processes in local state {c}") for c in counters]
    variables.append(Variable(ESCAPED, boolean(), "a process left the known local states"))
    init_parts = [eq(var(n), initial[n]) for n in shared] + [not_(var(ESCAPED))]
    init_parts.append(le(1, var(counters[0])))
    init_parts += [eq(var(c), 0) for c in counters[1:]]

    actions: list[Action] = []
    moves: dict[str, tuple[str, int, int]] = {}
    for action in template.actions:
        if is_global(action, local):  # moves no process: kept as it is, once
            actions.append(action)
            moves[action.label] = (action.label, GLOBAL, GLOBAL)
            continue
        updates = dict(action.updates)
        for i, ls in enumerate(local_states):
            fixed = {name: Const(value) for name, value in zip(local, ls)}
            guard = substitute(action.guard, fixed)
            if guard == Const(False):
                continue
            shared_updates = {n: substitute(e, fixed) for n, e in updates.items() if n in shared}
            local_updates = [substitute(updates[n], fixed) if n in updates else Const(v) for n, v in zip(local, ls)]
            landings = []
            for j, landing in enumerate(local_states):
                lands = and_(*(eq(expr, value) for expr, value in zip(local_updates, landing)))
                landings.append(lands)
                move_guard = and_(le(1, var(counters[i])), guard, lands)
                if move_guard == Const(False):
                    continue
                new: dict[str, Expr] = dict(shared_updates)
                if i != j:
                    new[counters[i]] = add(var(counters[i]), -1)
                    new[counters[j]] = add(var(counters[j]), 1)
                counter_action = Action(
                    action.name,
                    (("from", i), ("to", j)),
                    move_guard,
                    tuple(sorted(new.items())),
                    tuple((key, substitute(value, fixed)) for key, value in action.labels),
                )
                actions.append(counter_action)
                moves[counter_action.label] = (action.label, index[ls], index[landing])
            escape_guard = and_(le(1, var(counters[i])), guard, not_(or_(*landings)))
            if escape_guard != Const(False):
                actions.append(Action(f"{action.name}!escape", (("from", i),), escape_guard, ((ESCAPED, TRUE),)))
    system = TransitionSystem(
        name=f"{template.name} (counter abstraction)",
        variables=tuple(variables),
        init=and_(*init_parts),
        actions=tuple(actions),
        meta={**template.meta, "abstraction": "counter"},
    )
    return CounterAbstraction(system, local, local_states, counters, moves)


def is_global(action: Action, local: Sequence[str]) -> bool:
    """An action that neither reads nor writes a local variable (in its guard, updates or labels): a step
    of the shared state alone (such as a server event on a session every process shares)."""
    used = variables(action.guard) | {t for t, _ in action.updates}
    for _, expr in (*action.updates, *action.labels):
        used |= variables(expr)
    return not used & set(local)


def saturated(template: TransitionSystem, local: Sequence[str],
              deadline: float | None = None) -> tuple[LocalState, ...]:
    """Thread-modular saturation: the local states reachable when any known local state may meet any
    known shared state, with the initial local state first. Every local state any process of any N
    reaches is among them (see the module docstring). :class:`OutOfTime` once ``deadline``
    (``time.monotonic()``) passes: a saturation cut short would miss local states."""
    local = tuple(local)
    shared = tuple(n for n in template.names if n not in local)
    initial = template.initial_state()
    start = tuple(initial[n] for n in local)
    locals_seen: dict[LocalState, None] = {start: None}
    shared_seen: dict[tuple[Value, ...], None] = {tuple(initial[n] for n in shared): None}
    changed = True
    while changed:
        changed = False
        for ls in list(locals_seen):
            if deadline is not None and time.monotonic() >= deadline:
                raise OutOfTime(f"{REASON}: the counter abstraction's local states were not all found in time")
            for g in list(shared_seen):
                state = {**dict(zip(shared, g)), **dict(zip(local, ls))}
                for action in template.enabled(state):
                    successor = template.apply(action, state)
                    new_local = tuple(successor[n] for n in local)
                    new_shared = tuple(successor[n] for n in shared)
                    if new_local not in locals_seen:
                        if len(locals_seen) >= MAX_LOCAL_STATES:
                            raise InvalidArgument(f"more than {MAX_LOCAL_STATES} local states: too large to abstract")
                        locals_seen[new_local] = None
                        changed = True
                    if new_shared not in shared_seen:
                        shared_seen[new_shared] = None
                        changed = True
    return tuple(locals_seen)


def _counter_name(local: tuple[str, ...], ls: LocalState) -> str:
    """``#(pc=working, done=1, ...)``: the number of processes in that local state."""
    parts = []
    for name, value in zip(local, ls):
        base = name.split("[", 1)[0]
        parts.append(f"{base}={str(value).lower() if isinstance(value, bool) else value}")
    return f"#({', '.join(parts)})"


def _indicator(condition: Expr) -> Expr:
    return ite(condition, 1, 0)


def _sum(terms: list[Expr]) -> Expr:
    total: Expr = Const(0)
    for term in terms:
        total = add(total, term)
    return total


def verify_product(template: TransitionSystem, local: Sequence[str], concrete: TransitionSystem,
                   processes: Sequence[Sequence[str]]) -> None:
    """Raise InvalidModel unless ``concrete`` is the interleaved product of ``len(processes)`` copies
    of ``template``'s process (whose variables are ``local``) around the template's shared state.

    This is the premise of the counter abstraction, checked rather than assumed: the variables
    are the shared ones plus one renamed copy of ``local`` per process, with the template's
    domains; the initial predicate is the conjunction of the renamed template's; and the actions
    are, one for one, the template's actions renamed for each process (guard and updates
    equivalent over the domains, by z3 where they differ in form). So every concrete step moves
    one process and the shared state exactly as a template step does, which is a counter-system move.
    A global action of the template (:func:`is_global`) must appear once, unrenamed: it moves no process.
    """
    local = tuple(local)
    shared = tuple(n for n in template.names if n not in local)
    copies = [dict(zip(local, names)) for names in processes]
    if any(len(names) != len(local) for names in processes):
        raise InvalidModel(f"product check: every process needs {len(local)} local variables")
    expected = {n: template.domains[n] for n in shared}
    for renaming in copies:
        expected.update({renaming[n]: template.domains[n] for n in local})
    if dict(concrete.domains) != expected:
        extra = sorted(set(concrete.domains).symmetric_difference(expected)) or sorted(
            n for n in expected if concrete.domains.get(n) != expected[n])
        raise InvalidModel(f"product check: {concrete.name} differs from {len(copies)} copies of the template "
                           f"in the variables {', '.join(extra[:4])}")
    unrolling = Unrolling(concrete)

    def equivalent(a: Expr, b: Expr, under: Expr = TRUE) -> bool:
        if normal(a) == normal(b):
            return True
        return _valid(unrolling, implies(under, eq(a, b)))

    def rename(expr: Expr, renaming: Mapping[str, str]) -> Expr:
        return substitute(expr, {old: var(new) for old, new in renaming.items()})

    product_init = and_(*(rename(template.init, r) for r in copies))
    if not equivalent(concrete.init, product_init):
        raise InvalidModel(f"product check: the initial states of {concrete.name} are not {len(copies)} copies "
                           "of the template's")
    unmatched = list(concrete.actions)

    def take(action: Action, guard: Expr, updates: Mapping[str, Expr]) -> Action | None:
        match = next((c for c in unmatched if c.name == action.name and equivalent(c.guard, guard)
                      and _same_updates(c, updates, guard, equivalent)), None)
        if match is not None:
            unmatched.remove(match)
        return match

    for action in template.actions:
        if is_global(action, local) and take(action, action.guard, dict(action.updates)) is None:
            raise InvalidModel(f"product check: global {action.label} of the template is not in {concrete.name}")
    for index, renaming in enumerate(copies, start=1):
        for action in template.actions:
            if is_global(action, local):
                continue
            guard = rename(action.guard, renaming)
            updates = {renaming.get(t, t): rename(v, renaming) for t, v in action.updates}
            if take(action, guard, updates) is None:
                raise InvalidModel(f"product check: {action.label} of the template has no counterpart for process "
                                   f"{index} in {concrete.name}")
    if unmatched:
        raise InvalidModel(f"product check: {unmatched[0].label} of {concrete.name} is not a step of one process "
                           "of the template")


def verify_per_process(template_formula: Expr, local: Sequence[str], concrete_formula: Expr,
                       concrete: TransitionSystem, processes: Sequence[Sequence[str]]) -> bool:
    """Is ``concrete_formula`` the conjunction, over the processes, of ``template_formula`` renamed for
    each (over ``concrete``'s domains)? That is what makes a property safe to lift with :meth:`lift`."""
    conjunction = and_(*(substitute(template_formula, {old: var(new) for old, new in zip(local, names)})
                         for names in processes))
    return normal(conjunction) == normal(concrete_formula) or _valid(Unrolling(concrete), eq(conjunction,
                                                                                             concrete_formula))


def verify_obligations(template: Sequence[Obligation], local: Sequence[str], concrete: Sequence[Obligation],
                       processes: Sequence[Sequence[str]]) -> str | None:
    """Why ``concrete`` is not the template's obligations, each that reads a local variable renamed for every
    process and each that reads only shared ones kept once (None if it is): the premise of deciding a
    liveness property for every number of processes from one process beside the others."""
    local_names = set(local)
    expected: Counter[tuple[Hashable, Hashable]] = Counter()
    for obligation in template:
        read = variables(obligation.trigger) | variables(obligation.goal)
        renamings = [dict(zip(local, names)) for names in processes] if read & local_names else [{}]
        for renaming in renamings:
            mapping = {old: var(new) for old, new in renaming.items()}
            expected[(normal(substitute(obligation.trigger, mapping)), normal(substitute(obligation.goal, mapping)))] += 1
    found = Counter((normal(o.trigger), normal(o.goal)) for o in concrete)
    if found == expected:
        return None
    extra = [o for o in concrete if (normal(o.trigger), normal(o.goal)) not in expected]
    if extra:
        return (f"with {len(processes)} processes, the obligation that {render(extra[0].goal)} is not one of "
                "the template's")
    return f"with {len(processes)} processes, {(expected - found).total()} of the template's obligations are missing"


def _valid(unrolling: Unrolling, formula: Expr) -> bool:
    """Does ``formula`` hold in every state of the unrolled system's domains (a fresh z3 solver)?"""
    counterexample = all_of(unrolling.domains(0), negation(unrolling.translate(formula, 0)))
    answer = independent_check(counterexample, "z3")
    if answer == UNKNOWN:
        raise InvalidModel(f"premise check: z3 could not decide whether {render(formula)} holds")
    return answer == UNSAT


def _same_updates(action: Action, updates: Mapping[str, Expr], guard: Expr,
                  equivalent: Callable[[Expr, Expr, Expr], bool]) -> bool:
    """Do ``action``'s updates equal ``updates`` wherever ``guard`` holds (a missing update keeps the value)?"""
    mine = dict(action.updates)
    return all(equivalent(mine.get(t, var(t)), updates.get(t, var(t)), guard) for t in set(mine) | set(updates))


__all__ = ["CounterAbstraction", "counter_abstraction", "is_global", "saturated", "verify_obligations", "verify_per_process",
           "verify_product"]
