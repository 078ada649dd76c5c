"""A system with some variables hidden: an over-approximation whose every step may read them as any value.

Each action becomes one action per valuation of the hidden variables it reads (its guard, updates and labels with
those values put in), with its updates of hidden variables dropped; those that then update and label alike are one,
enabled where any of them is. Any execution of the system is an execution of
the hidden one with the same labels: at each step, take the variant of the valuation the state holds. So a log that
no execution of the hidden system matches is matched by none of the system's, and the hidden system, whose states
forget what it hides, may be searched where the system's states are too many.

Hiding the same variables of every block of a symmetry group (the same positions in each block) commutes with
swapping blocks, so the group's blocks, shrunk alike, are declared again: a symmetry of the system is one of the
hidden system, with the same values renamed (a group hidden whole is declared no more).
"""

from __future__ import annotations

import itertools
from collections.abc import Collection
from functools import lru_cache

from regcheck.core.expr import FALSE, Const, Expr, Value, and_, eq, or_, substitute, var, variables
from regcheck.core.system import Action, ProcessGroup, TransitionSystem

VARIANT = "variant"
"""The parameter that tells apart the variants of one action instance (the first keeps the instance's own name)."""


def hidden(system: TransitionSystem, names: Collection[str]) -> TransitionSystem:
    """``system`` with the variables ``names`` hidden (see the module docstring). Raises ValueError where ``names``
    hides different positions in two blocks of one symmetry group; a group whose blocks it hides whole is dropped."""
    names = frozenset(names)
    for group in system.symmetry:
        if len({frozenset(i for i, name in enumerate(block) if name in names) for block in group.blocks}) > 1:
            raise ValueError(f"hiding {sorted(names)} breaks the symmetry of {group.blocks[0]}")
    domains = {v.name: v.domain.values() for v in system.variables}
    actions: list[Action] = []
    for action in system.actions:
        read = set(variables(action.guard)).union(*(variables(e) for _, e in (*action.updates, *action.labels)))
        free = tuple((name, domains[name]) for name in sorted(read & names))
        actions.extend(_variants(action, frozenset(t for t, _ in action.updates if t in names), free))
    initial = system.initial_state()
    kept = tuple(v for v in system.variables if v.name not in names)
    shrunk = (ProcessGroup(tuple(tuple(n for n in block if n not in names) for block in group.blocks), group.value)
              for group in system.symmetry)
    symmetry = tuple(group for group in shrunk if all(group.blocks))
    return TransitionSystem(f"{system.name}, {', '.join(sorted(names))} hidden", kept,
                            and_(*(eq(var(v.name), initial[v.name]) for v in kept)), tuple(actions),
                            dict(system.meta), symmetry, system.stutter)


@lru_cache(maxsize=100_000)
def _variants(action: Action, hides: frozenset[str],
              free: tuple[tuple[str, tuple[Value, ...]], ...]) -> tuple[Action, ...]:
    """The variants of ``action`` (see the module docstring): one per valuation of the hidden variables it reads
    (``free``, with their domains), its updates of ``hides`` dropped. Kept for the run: the designs of one diagnosis
    share most of their actions."""
    # Variants that update and label alike are one, enabled where any of them is.
    guards: dict[tuple[tuple[tuple[str, Expr], ...], tuple[tuple[str, Expr], ...]], list[Expr]] = {}
    for values in itertools.product(*(domain for _, domain in free)):
        put = {name: Const(value) for (name, _), value in zip(free, values, strict=True)}
        guard = substitute(action.guard, put)
        if guard != FALSE:
            effect = (tuple((t, substitute(e, put)) for t, e in action.updates if t not in hides),
                      tuple((k, substitute(e, put)) for k, e in action.labels))
            guards.setdefault(effect, []).append(guard)
    return tuple(Action(action.name, action.params if not count else (*action.params, (VARIANT, count)),
                        or_(*dict.fromkeys(alike)), updates, labels)
                 for count, ((updates, labels), alike) in enumerate(guards.items()))


__all__ = ["VARIANT", "hidden"]
