"""Liveness to safety: a fair violating lasso of a system is a reachable bad state of a bigger one.

The translation of Biere, Artho and Schuppan (2002), for obligations ``[](trigger => <>goal)``
under weak fairness of action instances. The bigger system runs the original and may, once, in
a state where some obligation is *armed* (its trigger has held and its goal has not held since),
save a copy of the state and pick that obligation. From then on it records whether the goal held
(``clean``), and, for each fair action instance, whether the instance was taken or was disabled
in some state it left (``fair[j]``). A state equal to the saved one, reached after at least one
step, with the goal never met and every fair instance discharged, closes a lasso that violates
the obligation: the loop repeats for ever, and on it every instance enabled throughout is taken.
A state with no enabled action repeats for ever: an explicit ``Stutter`` step, enabled only
there, closes such a lasso. So the original has a fair violating lasso iff ``bad`` is reachable,
and an inductive invariant of the bigger system that excludes ``bad`` proves the liveness
property; it is re-checked like any other certificate (``regcheck.core.certificate``).
"""

from __future__ import annotations

from dataclasses import dataclass

from regcheck.core.expr import FALSE, TRUE, Const, Expr, and_, eq, evaluate, not_, or_, substitute, var
from regcheck.core.system import Action, Kind, Property, TransitionSystem, Variable, boolean, int_range
from regcheck.errors import InvalidArgument

SAVED = "l2s.saved"
CHOSEN = "l2s.obligation"
CLEAN = "l2s.clean"
MOVED = "l2s.moved"
STUTTER = "Stutter"
SAVE = "Save"


def copy(name: str) -> str:
    """The saved copy of variable ``name``."""
    return f"l2s.{name}"


def armed(index: int) -> str:
    """Obligation ``index`` (1-based) is armed: its trigger held and its goal has not held since."""
    return f"l2s.armed[{index}]"


def fair(index: int) -> str:
    """Fair action instance ``index`` (position in the system's actions) was taken or disabled on the loop."""
    return f"l2s.fair[{index}]"


@dataclass(frozen=True)
class Translation:
    """The safety system and property whose proof proves the liveness property (and the reverse)."""

    system: TransitionSystem
    property: Property
    fair: tuple[int, ...]  # indices of the original's fair action instances


def translate(system: TransitionSystem, prop: Property) -> Translation:
    """The liveness-to-safety translation of ``prop`` (a liveness property) over ``system``."""
    if prop.kind is Kind.SAFETY or not prop.obligations:
        raise InvalidArgument(f"{prop.name}: liveness to safety needs a liveness property with obligations")
    for name in system.domains:
        if name.startswith("l2s."):
            raise InvalidArgument(f"{system.name}: variable {name!r} clashes with the translation's names")
    obligations = prop.obligations
    fair_indices = tuple(prop.fair_actions(system))
    originals = [v.name for v in system.variables]

    variables = list(system.variables)
    variables += [Variable(copy(v.name), v.domain, f"saved {v.name}") for v in system.variables]
    variables += [
        Variable(SAVED, boolean(), "a state has been saved as the loop's start"),
        Variable(CHOSEN, int_range(0, len(obligations)), "the obligation the loop violates (0: none yet)"),
        Variable(CLEAN, boolean(), "the chosen obligation's goal has not held since the save"),
        Variable(MOVED, boolean(), "a step has been taken since the save"),
    ]
    variables += [Variable(armed(i), boolean(), f"obligation {o.label or i} is armed")
                  for i, o in enumerate(obligations, start=1)]
    variables += [Variable(fair(j), boolean(), f"{system.actions[j].label} taken or disabled on the loop")
                  for j in fair_indices]

    start = system.initial_state()  # a conjunction of assignments: one initial state
    initial: dict[str, Expr] = {n: Const(start[n]) for n in originals}
    initial.update({copy(n): Const(start[n]) for n in originals})
    initial.update({SAVED: FALSE, CHOSEN: Const(0), CLEAN: FALSE, MOVED: FALSE})
    initial.update({armed(i): Const(bool(evaluate(and_(o.trigger, not_(o.goal)), start)))
                    for i, o in enumerate(obligations, start=1)})
    initial.update({fair(j): FALSE for j in fair_indices})
    init = and_(*(eq(var(n), value) for n, value in initial.items()))

    def step(index: int | None, updates: tuple[tuple[str, Expr], ...]) -> dict[str, Expr]:
        """The bookkeeping of one step of the original (``index``: which action; None: the stutter)."""
        after = dict(updates)

        def next_value(expr: Expr) -> Expr:
            """``expr`` evaluated in the successor state, as an expression over the current one."""
            return substitute(expr, after)

        out: dict[str, Expr] = dict(updates)
        for i, o in enumerate(obligations, start=1):
            out[armed(i)] = and_(or_(var(armed(i)), next_value(o.trigger)), not_(next_value(o.goal)))
        goal_next = or_(*(and_(eq(var(CHOSEN), i), next_value(o.goal)) for i, o in enumerate(obligations, start=1)))
        out[CLEAN] = and_(var(CLEAN), not_(goal_next))
        out[MOVED] = var(SAVED)
        for j in fair_indices:
            taken = TRUE if index == j else FALSE
            out[fair(j)] = or_(var(fair(j)), taken, not_(system.actions[j].guard))
        return out

    actions: list[Action] = []
    for index, action in enumerate(system.actions):
        actions.append(Action(action.name, action.params, action.guard,
                              tuple(sorted(step(index, action.updates).items())), action.labels))
    nothing_enabled = not_(or_(*(a.guard for a in system.actions)))
    actions.append(Action(STUTTER, (), nothing_enabled, tuple(sorted(step(None, ()).items())),
                          tuple((k, Const(v)) for k, v in system.stutter)))
    for i, _ in enumerate(obligations, start=1):
        save: dict[str, Expr] = {SAVED: TRUE, CHOSEN: Const(i), CLEAN: TRUE, MOVED: FALSE}
        save.update({copy(n): var(n) for n in originals})
        save.update({fair(j): FALSE for j in fair_indices})
        actions.append(Action(SAVE, (("obligation", i),), and_(not_(var(SAVED)), var(armed(i))),
                              tuple(sorted(save.items()))))

    closed = and_(var(SAVED), var(MOVED), var(CLEAN), *(var(fair(j)) for j in fair_indices),
                  *(eq(var(n), var(copy(n))) for n in originals))
    translated = TransitionSystem(
        name=f"{system.name} (liveness to safety: {prop.name})",
        variables=tuple(variables),
        init=init,
        actions=tuple(actions),
        meta={**system.meta, "translation": "liveness to safety"},
    )
    safety = Property(prop.name, Kind.SAFETY, f"no fair lasso violates {prop.name}", prop.source, not_(closed))
    return Translation(translated, safety, fair_indices)


__all__ = ["Translation", "copy", "translate"]
