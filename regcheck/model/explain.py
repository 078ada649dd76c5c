"""Why a counterexample fails: the steps that matter, its cause in the protocol's words, and its signature.

Shrinking replays candidate traces on the reference simulator (``regcheck/model/simulator.py``), never on
the engine that found them: a candidate drops one thread's steps or one step, is re-simulated
from the initial state (so its states and labels are the simulator's own), is cut at its first
violation, and is kept if the property still fails. The result is 1-minimal: dropping any single
remaining step makes some later step impossible or the property hold, and :func:`explain` says
which, for every step.

The cause signature (:data:`CAUSE`) is what tells two counterexamples apart for
``regcheck check --counterexamples N``: which thread registered the association first, which
call first met a mismatch, and the violating call itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from regcheck.core.causes import Moment, Signature
from regcheck.core.expr import Expr, Value, evaluate
from regcheck.core.result import Step, Trace
from regcheck.deadline import Deadline
from regcheck.model.scenario import Scenario
from regcheck.model.simulator import Simulator, State, StepRefused
from regcheck.model.story import cause

CAUSE: tuple[Moment, ...] = (
    Moment("registered first", ("thread", "message", "context"), (("cache", ("registered",)),)),
    Moment("first mismatch", ("thread", "action", "context", "cache"), (("cache", ("mismatch", "mismatch-evicted")),)),
    Moment("violating call", ("thread", "action", "cache", "result")),
)
"""The moments whose labels make up a counterexample's cause (see ``regcheck.core.causes``)."""

CACHE_EVENTS = {
    "registered": "registered",
    "hit": "cache hit",
    "mismatch": "mismatch",
    "mismatch-evicted": "mismatch, registration evicted",
    "no-registration": "no registration",
    "re-registered": "re-registered",
}

Call = tuple[str, dict[str, int]]
_THREAD = re.compile(r"(worker|notifier) ([0-9]+)")
_WORKER_THREAD = re.compile(r"(worker) ([0-9]+)")


@dataclass(frozen=True)
class Need:
    """Why one step of a shrunk trace cannot be dropped."""

    step: int
    label: str
    reason: str


@dataclass(frozen=True)
class Explanation:
    """A counterexample shrunk by replay, with the reason each remaining step is needed and the cause."""

    original: Trace
    shrunk: Trace
    dropped_threads: tuple[str, ...]
    needs: tuple[Need, ...]
    cause: str


def describe(signature: Signature) -> str:
    """A cause signature (over :data:`CAUSE`) in a sentence."""
    first, mismatch, last = (dict(mark) if mark is not None else None for mark in signature)
    parts = []
    if first is not None:
        parts.append(f"{first['thread']} registered first ({first['message']} as {first['context']})")
    if mismatch is not None:
        event = CACHE_EVENTS.get(str(mismatch["cache"]), str(mismatch["cache"]))
        parts.append(f"{mismatch['thread']}'s {mismatch['action']} as {mismatch['context']} met a {event}")
    if last is not None:
        event = CACHE_EVENTS.get(str(last["cache"]), "")
        how = f" ({event})" if event else ""
        parts.append(f"{last['thread']}'s {last['action']}{how} ended it: {last['result']}")
    return "; ".join(parts) or "the initial state violates the property"


def same_cause(scenario: Scenario) -> Callable[[Signature], list[Signature]]:
    """The signatures that tell the same story as a given one, with interchangeable workers renamed.

    Workers with the same jobs (``jobs_of``) that impersonate alike are interchangeable (the model
    treats them alike), so "worker 2 registered, notifier 2 met the mismatch, worker 2 failed" is the
    same cause as the same with worker 1; "worker 1 registered, notifier 2 met the mismatch" is not.
    A notification thread is renamed with its worker only where session w is worker w's: per-user
    sessions belong to users, and the per-process notifier (``notifier``) to every session.
    """
    groups: dict[tuple[tuple[str, ...], bool], list[int]] = {}
    workers = scenario.workers if isinstance(scenario.workers, int) else 0  # "any": no fixed workers to rename
    for w in range(1, workers + 1):
        groups.setdefault((scenario.jobs_of(w), scenario.impersonates(w)), []).append(w)
    group_of = {w: group for group in groups.values() for w in group}
    pattern = _WORKER_THREAD if scenario.session_reuse == "per-user" else _THREAD

    def variants(signature: Signature) -> list[Signature]:
        used = sorted({w for mark in signature if mark for key, v in mark if key == "thread" for w in _worker(v, pattern)})
        maps: list[dict[int, int]] = [{}]
        for w in used:
            maps = [{**m, w: image} for m in maps for image in group_of[w] if image not in m.values()]
        return [_rename(signature, m, pattern) for m in maps]

    return variants


def _worker(thread: Value, pattern: re.Pattern[str] = _THREAD) -> tuple[int, ...]:
    """The worker number of a thread name that ``pattern`` renames (a worker's, or its session's notifier's)."""
    match = pattern.fullmatch(str(thread))
    return (int(match.group(2)),) if match else ()


def _rename(signature: Signature, renaming: dict[int, int], pattern: re.Pattern[str] = _THREAD) -> Signature:
    def thread(value: Value) -> Value:
        match = pattern.fullmatch(str(value))
        return f"{match.group(1)} {renaming[int(match.group(2))]}" if match else value

    return tuple(
        None if mark is None else tuple((key, thread(v) if key == "thread" else v) for key, v in mark)
        for mark in signature
    )


def simulate(scenario: Scenario, calls: Sequence[Call], names: Sequence[str]) -> Trace | tuple[int, str]:
    """The trace the simulator makes of ``calls`` from the initial state, or (1-based step, reason) of a refusal."""
    sim = Simulator(scenario)
    state = sim.initial_state()
    states, steps = [state], []
    for index, (action, params) in enumerate(calls, start=1):
        try:
            state, labels = sim.step(state, action, params)
        except StepRefused as exc:
            return index, str(exc)
        states.append(state)
        steps.append(Step(action, tuple(params.items()), labels))
    return Trace(
        vars=tuple(names),
        states=tuple({n: s[n] for n in names} for s in states),
        steps=tuple(steps),
    )


def first_violation(trace: Trace, formula: Expr) -> int | None:
    """The index of the first state in which ``formula`` is false, if any."""
    return next((i for i, state in enumerate(trace.states) if not evaluate(formula, state)), None)


def explain(scenario: Scenario, trace: Trace, formula: Expr, deadline: Deadline | None = None) -> Explanation:
    """Shrink a counterexample to ``formula`` by replay and say why each remaining step is needed; raise
    :class:`regcheck.deadline.OutOfTime` once ``deadline`` passes (a shrinking cut short is not 1-minimal)."""
    names = trace.vars
    calls = _calls(trace)
    shrunk = _attempt(scenario, calls, names, formula)
    if shrunk is None:
        raise ValueError("the trace does not replay to a violation on the reference simulator")
    dropped: list[str] = []
    changed = True
    while changed:  # drop whole threads first: the big cuts
        changed = False
        for thread in dict.fromkeys(str(s.labels.get("thread", "")) for s in shrunk.steps):
            _on_time(deadline)
            candidate = [c for c, s in zip(_calls(shrunk), shrunk.steps) if s.labels.get("thread") != thread]
            smaller = _attempt(scenario, candidate, names, formula)
            if smaller is not None:
                shrunk, changed = smaller, True
                dropped.append(thread)
                break
    run = _Run.of(scenario, _calls(shrunk), formula)
    size = max(len(run.calls) // 2, 1)
    while True:  # then runs of steps, halved in turn down to single steps, until none can go
        index = 0
        while index < len(run.calls):
            _on_time(deadline)
            if not run.drop(index, size):
                index += size
        if size == 1:
            break
        size //= 2
    shrunk = run.trace(names).with_meta(**trace.meta, shrunk_from=len(trace))
    return Explanation(trace, shrunk, tuple(dropped), _needs(run, shrunk, deadline), cause(scenario, shrunk))


def _on_time(deadline: Deadline | None) -> None:
    if deadline is not None:
        deadline.check("the explanation (shrinking by replay)")


def _calls(trace: Trace) -> list[Call]:
    return [(step.action, dict(step.params)) for step in trace.steps]


def _attempt(scenario: Scenario, calls: Sequence[Call], names: Sequence[str], formula: Expr) -> Trace | None:
    """The simulated trace of ``calls``, cut at its first violation; None if refused or never violating."""
    trace = simulate(scenario, calls, names)
    if not isinstance(trace, Trace):
        return None
    end = first_violation(trace, formula)
    if end is None:
        return None
    return Trace(vars=trace.vars, states=trace.states[: end + 1], steps=trace.steps[:end])


@dataclass
class _Run:
    """A violating run on the simulator, kept with every state, so that dropping step ``i`` replays only the
    steps after it (the states before it are unchanged): shrinking costs the steps each drop replays, mostly
    few (a dropped step usually makes the next one of its thread impossible), not the whole trace each time."""

    sim: Simulator
    formula: Expr
    calls: list[Call]
    states: list[State]  # states[i] is the state before calls[i]; the last one violates the formula
    steps: list[Step]

    @classmethod
    def of(cls, scenario: Scenario, calls: list[Call], formula: Expr) -> _Run:
        sim = Simulator(scenario)
        state = sim.initial_state()
        states, steps = [state], []
        for action, params in calls:
            state, labels = sim.step(state, action, params)
            states.append(state)
            steps.append(Step(action, tuple(params.items()), labels))
        return cls(sim, formula, list(calls), states, steps)

    def resume(self, index: int, calls: Sequence[Call]) -> tuple[list[State], list[Step]] | tuple[int, str]:
        """``calls`` from the state before step ``index``, cut at the first violation: their states and steps,
        or (1-based step of the whole run, reason) of a refusal; a run that never violates ends at its last."""
        state, states, steps = self.states[index], [], []
        for offset, (action, params) in enumerate(calls):
            try:
                state, labels = self.sim.step(state, action, params)
            except StepRefused as exc:
                return index + offset + 1, str(exc)
            states.append(state)
            steps.append(Step(action, tuple(params.items()), labels))
            if not evaluate(self.formula, state):
                break
        return states, steps

    def drop(self, index: int, size: int = 1) -> bool:
        """Drop ``size`` steps from ``index`` if the rest still replays to a violation; whether they were."""
        after = self.resume(index, self.calls[index + size:])
        if not isinstance(after[0], list) or not after[0] or evaluate(self.formula, after[0][-1]):
            return False
        states, steps = after
        assert isinstance(steps, list)
        self.calls = self.calls[:index] + self.calls[index + size: index + size + len(steps)]
        self.states = self.states[: index + 1] + states
        self.steps = self.steps[:index] + steps
        return True

    def trace(self, names: Sequence[str]) -> Trace:
        return Trace(vars=tuple(names), states=tuple({n: s[n] for n in names} for s in self.states),
                     steps=tuple(self.steps))


def _needs(run: _Run, trace: Trace, deadline: Deadline | None) -> tuple[Need, ...]:
    needs = []
    for index, step in enumerate(trace.steps):
        _on_time(deadline)
        outcome = run.resume(index, run.calls[index + 1:])
        if isinstance(outcome[0], list):
            reason = "without it, the property holds"
        else:
            later, why = outcome
            assert isinstance(later, int) and isinstance(why, str)  # later: 0-based in the trace, 1-based without it
            label = trace.steps[later].label
            what = why if why.startswith(label) else f"{label} cannot happen: {why}"
            reason = f"without it, step {later + 1} {what}"
        needs.append(Need(index + 1, step.label, reason))
    return tuple(needs)
