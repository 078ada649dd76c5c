"""Every update stays in its variable's domain: proved once per system, before any engine relies on it.

Why: the z3 encodings put every step's state in the domains (``Unrolling.transition`` and the
Horn rules of ``HornProblem`` constrain the next state to them), so an update such as
``x := x + 1`` at the top of ``0..1`` would silently disable its action there, and k-induction or
PDR would prove a property of a smaller system than the one the explicit engine runs (which
rejects it when it reaches that state). Here z3 shows, per action, that ``domains(state) /\\
guard`` implies that every update's value lies in its variable's domain (for an unbounded
counter: at or above its lower bound), whether or not the state is reachable; then those
constraints cut nothing away. Every engine calls :func:`check_domains` first, so all of them
reject such a model alike.
"""

from __future__ import annotations

from regcheck.core.expr import evaluate, render_state
from regcheck.core.smt import find_escape
from regcheck.core.system import TransitionSystem, per_system
from regcheck.errors import InvalidModel

TIMEOUT_S = 60.0
"""How long z3 may take to decide the check (it takes milliseconds on the protocol models)."""


def check_domains(system: TransitionSystem) -> None:
    """Raise InvalidModel, naming the action, the variable and a state, if an enabled action can
    take a variable out of its domain; the answer is computed once per system."""
    problem = _escape(system)
    if problem is not None:
        raise InvalidModel(problem)


@per_system
def _escape(system: TransitionSystem) -> str | None:
    """Why the system is invalid, in words; None when every update stays in its domain."""
    escape = find_escape(system, timeout=TIMEOUT_S)
    if escape is None:
        return None
    action = system.actions[escape.action]
    value = evaluate(dict(action.updates)[escape.variable], escape.state)
    domain = system.domains[escape.variable].describe()
    return (
        f"{action.label} sets {escape.variable} to {value!r}, outside its domain {domain}, "
        f"in the state {render_state(escape.state)}"
    )


__all__ = ["TIMEOUT_S", "check_domains"]
