"""Replay a trace on the reference simulator: the independent check every counterexample passes.

A trace conforms when the simulator starts in its first state, accepts every step, reaches the
same state with the same labels after each one, and (if a property is named) violates it by
replay's own definition of that property (``model.reference_properties``), never by the formula
the engines checked: a safety property's bad condition holds in the final state; a liveness
counterexample is a lasso (its last state is its ``loop`` state again) that is fair by the
simulator's own account of which actions are enabled (weak fairness on every action but
ServerEvent), and on which some obligation is triggered and never met. A ``Stutter`` step is
accepted only where the simulator has no enabled action. The first step that does not conform
is reported with the reason. A ``workers = "any"`` scenario is replayed with the number of
workers its counterexample names (``#meta.workers``), made concrete by the simulator itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from regcheck.core.result import STUTTER, Trace
from regcheck.display import shown
from regcheck.model import reference_properties as reference
from regcheck.model.scenario import ANY, Scenario
from regcheck.model.simulator import Simulator, StepRefused

Value = bool | int | str


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


def replay(scenario: Scenario, trace: Trace, prop: str | None = None) -> ReplayReport:
    """Replay ``trace`` on the simulator of ``scenario``; if a property is named, the trace must violate it."""
    if prop is not None and prop not in reference.NAMES:
        raise ValueError(f"replay has no definition of property {prop!r}; it knows {', '.join(reference.NAMES)}")
    workers = trace.meta.get("workers") if scenario.workers == ANY else None
    if scenario.workers == ANY and (isinstance(workers, bool) or not isinstance(workers, int)):
        got = shown(workers)
        return ReplayReport(False, 0, f"a workers=any counterexample must name its number of workers, got {got}")
    try:
        sim = Simulator(scenario, workers)
    except ValueError as exc:
        return ReplayReport(False, 0, str(exc))
    stepped = _run(sim, trace)
    if isinstance(stepped, ReplayReport):
        return stepped
    states, taken = stepped.states, stepped.taken
    state = states[-1]
    if prop is None:
        return ReplayReport(True)
    if prop in reference.LIVENESS:
        return _violates_liveness(sim, trace.loop, states, taken, prop)
    if reference.SAFETY[prop](sim.design, state) is None:
        return ReplayReport(False, len(trace.steps), f"{prop} holds in the final state")
    return ReplayReport(True)


@dataclass(frozen=True)
class _Stepped:
    """A trace stepped on the simulator: its states and the steps taken (``Stutter`` with no parameters)."""

    states: list[dict[str, Value]]
    taken: list[tuple[str, dict[str, int]]]


def _run(sim: Simulator, trace: Trace) -> ReplayReport | _Stepped:
    """Step ``trace`` on ``sim``: the first step that does not conform (or a loop that does not close), else the
    simulator's states and the steps taken."""
    state = sim.initial_state()
    states = [state]
    taken: list[tuple[str, dict[str, int]]] = []
    if set(trace.vars) != set(state):
        extra, missing = sorted(set(trace.vars) - set(state)), sorted(set(state) - set(trace.vars))
        return ReplayReport(False, 0, f"variables differ from the scenario's (extra {extra}, missing {missing})")
    diff = _differences(trace.states[0], state)
    if diff:
        return ReplayReport(False, 0, f"not the initial state: {diff}")
    for index, step in enumerate(trace.steps, start=1):
        if step.action == STUTTER:
            if sim.enabled(state):
                return ReplayReport(False, index, "a stutter step where actions are enabled")
            states.append(state)
            taken.append((STUTTER, {}))
            continue
        params = dict(step.params)
        try:
            state, labels = sim.step(state, step.action, params)
        except StepRefused as exc:
            return ReplayReport(False, index, str(exc))
        states.append(state)
        taken.append((step.action, params))
        diff = _differences(trace.states[index], state)
        if diff:
            return ReplayReport(False, index, f"{step.label} leads elsewhere: {diff}")
        wrong = {k: (v, labels.get(k)) for k, v in step.labels.items() if labels.get(k) != v}
        if wrong:
            told = ", ".join(f"{k} is {sim_v!r}, not {v!r}" for k, (v, sim_v) in sorted(wrong.items()))
            return ReplayReport(False, index, f"{step.label}: {told}")
    if trace.loop is not None:
        diff = _differences(trace.states[trace.loop], state)
        if diff:
            return ReplayReport(False, len(trace.steps), f"the loop does not close on state {trace.loop}: {diff}")
    return _Stepped(states, taken)


def _violates_liveness(
    sim: Simulator, loop: int | None, states: list[dict[str, Value]], taken: list[tuple[str, dict[str, int]]],
    prop: str,
) -> ReplayReport:
    """The lasso is weakly fair by the simulator's account, and some obligation of ``prop`` is never met.

    Positions 0..end-1 are the lasso's states (state ``end`` is state ``loop`` again); the infinite run
    visits ``loop``..end-1 for ever, so an obligation triggered at j is met iff its goal holds at some
    position in min(j, loop)..end-1."""
    end = len(taken)
    unfair = _unfair(sim, loop, states, taken)
    if unfair is not None:
        return unfair
    assert loop is not None
    for duty in reference.LIVENESS[prop](sim.design):
        for j in range(end):
            if duty.trigger(states[j]) and not any(duty.goal(states[k]) for k in range(min(j, loop), end)):
                return ReplayReport(True)
    return ReplayReport(False, end, f"every obligation of {prop} is met on this lasso")


def _unfair(
    sim: Simulator, loop: int | None, states: list[dict[str, Value]], taken: list[tuple[str, dict[str, int]]]
) -> ReplayReport | None:
    """Why the lasso (its loop from ``loop`` to the last step) is not weakly fair by the simulator's account."""
    end = len(taken)
    if loop is None:
        return ReplayReport(False, end, "a liveness counterexample must be a lasso (ITF 'loop')")
    cycle = range(loop, end)
    if not cycle:
        return ReplayReport(False, end, "the lasso's loop has no step")
    for name, params in sim.enabled(states[loop]):
        if name in reference.NOT_FAIR or (name, params) in (taken[j] for j in cycle):
            continue
        if all((name, params) in sim.enabled(states[j]) for j in cycle):
            call = f"{name}({', '.join(f'{k}={v}' for k, v in params.items())})"
            return ReplayReport(False, end, f"unfair loop: {call} is enabled throughout it and never taken")
    return None


def satisfies(scenario: Scenario, trace: Trace, prop: str) -> ReplayReport:
    """``trace`` replays on the simulator of ``scenario`` (a fixed number of workers), is a lasso that is weakly
    fair by the simulator's account, and meets every obligation of liveness property ``prop`` by replay's own
    definition of it: a fair continuation on which the property holds."""
    if prop not in reference.LIVENESS:
        raise ValueError(f"replay has no liveness property {prop!r}; it knows {', '.join(reference.LIVENESS)}")
    try:
        sim = Simulator(scenario)
    except ValueError as exc:
        return ReplayReport(False, 0, str(exc))
    stepped = _run(sim, trace)
    if isinstance(stepped, ReplayReport):
        return stepped
    states, taken = stepped.states, stepped.taken
    unfair = _unfair(sim, trace.loop, states, taken)
    if unfair is not None:
        return unfair
    loop, end = trace.loop, len(taken)
    assert loop is not None
    for duty in reference.LIVENESS[prop](sim.design):
        for j in range(end):
            if duty.trigger(states[j]) and not any(duty.goal(states[k]) for k in range(min(j, loop), end)):
                return ReplayReport(False, j, f"{prop}: {duty.who}, triggered in state {j}, is never met")
    return ReplayReport(True)


def _differences(claimed: Mapping[str, Value], actual: Mapping[str, Value]) -> str:
    wrong = [(k, claimed[k], actual[k]) for k in sorted(actual) if claimed[k] != actual[k]]
    return ", ".join(f"{k} is {a!r} in the simulator, {c!r} in the trace" for k, c, a in wrong[:4])
