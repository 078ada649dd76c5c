"""A checker of violating fair lassos written from the definitions, shared by the liveness tests."""

from __future__ import annotations

from regcheck.core.expr import evaluate
from regcheck.core.result import STUTTER, Trace
from regcheck.core.system import Kind, Property, TransitionSystem
from regcheck.properties.catalogue import CATALOGUE

LIVENESS = [p.name for p in CATALOGUE if p.kind is Kind.LIVENESS]
"""The catalogue's liveness properties, by name."""


def fair_violating(system: TransitionSystem, prop: Property, trace: Trace) -> bool:
    """The trace is a lasso of ``system``, weakly fair for ``prop``, on which an obligation is never met."""
    states = [dict(s) for s in trace.states]
    assert states[0] == system.initial_state()
    for index, step in enumerate(trace.steps):
        if step.action == STUTTER:
            assert not list(system.enabled(states[index])) and states[index + 1] == states[index]
            continue
        action = system.action(step.label)
        assert evaluate(action.guard, states[index]) and system.apply(action, states[index]) == states[index + 1]
    assert trace.loop is not None and states[-1] == states[trace.loop]
    loop = range(trace.loop, len(trace.steps))
    taken = {trace.steps[j].label for j in loop}
    for action in system.actions:
        if action.name in prop.fairness and action.label not in taken:
            if all(evaluate(action.guard, states[j]) for j in loop):
                return False
    return any(
        not any(evaluate(o.goal, states[m]) for m in loop)
        and any(evaluate(o.trigger, states[j]) and not any(evaluate(o.goal, states[m]) for m in range(j, len(states)))
                for j in range(len(states)))
        for o in prop.obligations
    )
