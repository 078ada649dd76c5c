"""Replay a trace on the reference simulator: the independent check every counterexample passes.

A trace conforms when the simulator starts in its first state, accepts every step, reaches the
same state with the same labels after each one, and (if a property is given) the property is
false in the final state. The first step that does not conform is reported with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from model.scenario import Scenario
from model.simulator import Simulator, StepRefused
from regcheck.expr import Expr, Value, evaluate
from regcheck.result import Trace


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


def replay(scenario: Scenario, trace: Trace, formula: Expr | None = None) -> ReplayReport:
    """Replay ``trace`` on the simulator of ``scenario``; a property ``formula`` must be false at its end."""
    sim = Simulator(scenario)
    state = sim.initial_state()
    if set(trace.vars) != set(state):
        extra, missing = sorted(set(trace.vars) - set(state)), sorted(set(state) - set(trace.vars))
        return ReplayReport(False, 0, f"variables differ from the scenario's (extra {extra}, missing {missing})")
    diff = _differences(trace.states[0], state)
    if diff:
        return ReplayReport(False, 0, f"not the initial state: {diff}")
    for index, step in enumerate(trace.steps, start=1):
        try:
            state, labels = sim.step(state, step.action, dict(step.params))
        except StepRefused as exc:
            return ReplayReport(False, index, str(exc))
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
    if formula is not None and evaluate(formula, state):
        return ReplayReport(False, len(trace.steps), "the property holds in the final state")
    return ReplayReport(True)


def _differences(claimed: Mapping[str, Value], actual: Mapping[str, Value]) -> str:
    wrong = [(k, claimed[k], actual[k]) for k in sorted(actual) if claimed[k] != actual[k]]
    return ", ".join(f"{k} is {a!r} in the simulator, {c!r} in the trace" for k, c, a in wrong[:4])
