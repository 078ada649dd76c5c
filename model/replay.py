"""Replay a trace on the reference simulator: the independent check every counterexample passes.

A trace conforms when the simulator starts in its first state, accepts every step, reaches the
same state with the same labels after each one, and (if a property is given) violates it: a
safety property is false in the final state; a liveness counterexample is a lasso (its last
state is its ``loop`` state again) that is fair by the simulator's own account of which actions
are enabled, and on which some obligation is triggered and never met. A ``Stutter`` step is
accepted only where the simulator has no enabled action. The first step that does not conform
is reported with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from model.scenario import Scenario
from model.simulator import Simulator, StepRefused
from regcheck.expr import Expr, Value, evaluate
from regcheck.result import STUTTER, Trace, call_label
from regcheck.system import Kind, Property


@dataclass(frozen=True)
class ReplayReport:
    ok: bool
    step: int | None = None  # 1-based step that failed; 0 for the initial state
    reason: str = ""

    def __str__(self) -> str:
        if self.ok:
            return "the trace replays on the reference simulator"
        where = "the initial state" if self.step == 0 else f"step {self.step}"
        return f"{where}: {self.reason}"


def replay(scenario: Scenario, trace: Trace, prop: Property | Expr | None = None) -> ReplayReport:
    """Replay ``trace`` on the simulator of ``scenario``; if given, it must violate ``prop``
    (a property, or a safety formula that must be false at its end)."""
    sim = Simulator(scenario)
    state = sim.initial_state()
    if set(trace.vars) != set(state):
        extra, missing = sorted(set(trace.vars) - set(state)), sorted(set(state) - set(trace.vars))
        return ReplayReport(False, 0, f"variables differ from the scenario's (extra {extra}, missing {missing})")
    diff = _differences(trace.states[0], state)
    if diff:
        return ReplayReport(False, 0, f"not the initial state: {diff}")
    states = [state]
    for index, step in enumerate(trace.steps, start=1):
        if step.action == STUTTER:
            if sim.enabled(state):
                return ReplayReport(False, index, "a stutter step where actions are enabled")
            states.append(state)
            continue
        try:
            state, labels = sim.step(state, step.action, dict(step.params))
        except StepRefused as exc:
            return ReplayReport(False, index, str(exc))
        states.append(state)
        diff = _differences(trace.states[index], state)
        if diff:
            return ReplayReport(False, index, f"{step.label} leads elsewhere: {diff}")
        wrong = {k: (v, labels.get(k)) for k, v in step.labels.items() if labels.get(k) != v}
        if wrong:
            shown = ", ".join(f"{k} is {sim_v!r}, not {v!r}" for k, (v, sim_v) in sorted(wrong.items()))
            return ReplayReport(False, index, f"{step.label}: {shown}")
    if trace.loop is not None:
        diff = _differences(trace.states[trace.loop], state)
        if diff:
            return ReplayReport(False, len(trace.steps), f"the loop does not close on state {trace.loop}: {diff}")
    if isinstance(prop, Property) and prop.kind is Kind.LIVENESS:
        return _violates_liveness(sim, trace, states, prop)
    formula = prop.formula if isinstance(prop, Property) else prop
    if formula is not None and evaluate(formula, state):
        return ReplayReport(False, len(trace.steps), "the property holds in the final state")
    return ReplayReport(True)


def _violates_liveness(sim: Simulator, trace: Trace, states: list[dict[str, Value]], prop: Property) -> ReplayReport:
    """The lasso is fair under the property's weak fairness, and some obligation is never met."""
    end = len(trace.steps)
    if trace.loop is None:
        return ReplayReport(False, end, "a liveness counterexample must be a lasso (ITF 'loop')")
    loop = range(trace.loop, end)  # positions on the loop; step j leads from state j to j+1
    taken = {trace.steps[j].label for j in loop}
    for j in loop:
        for name, params in sim.enabled(states[j]):
            if name not in prop.fairness:
                continue
            label = call_label(name, tuple(params.items()))
            if label in taken:
                continue
            if all((name, params) in sim.enabled(states[m]) for m in loop):
                return ReplayReport(False, end, f"unfair loop: {label} is enabled throughout it and never taken")
    for obligation in prop.obligations:
        unmet_on_loop = not any(evaluate(obligation.goal, states[m]) for m in loop)
        for j in range(end):
            if evaluate(obligation.trigger, states[j]) and not any(
                evaluate(obligation.goal, states[m]) for m in range(j, end)
            ) and unmet_on_loop:
                return ReplayReport(True)
    return ReplayReport(False, end, "every obligation of the property is met on this lasso")


def _differences(claimed: Mapping[str, Value], actual: Mapping[str, Value]) -> str:
    wrong = [(k, claimed[k], actual[k]) for k in sorted(actual) if claimed[k] != actual[k]]
    return ", ".join(f"{k} is {a!r} in the simulator, {c!r} in the trace" for k, c, a in wrong[:4])
