"""The independent check of a diagnosis: does a log match an execution, as SEMANTICS.md "Observations" says?

``regcheck diagnose`` finds an execution with a search over the compiled model. This module does not
trust it: it replays the execution on the reference simulator, computes from the simulator's own
states and labels the fields each step defines (SEMANTICS.md's table: on a thread-token call, the
identity it takes or leaves and the session of the job it serves), and checks that each event matches
its step, that the steps come in order, and that the log's names bind one to one (threads,
identities, SYSTEM to SYSTEM alone) or as functions (associations, sessions). It shares no code with
the search; it is to ``diagnose`` what replay is to ``check``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from regcheck.core.result import Trace
from regcheck.model.observations import OK, SUCCEEDED, Event
from regcheck.model.reference_design import Design
from regcheck.model.scenario import ANY_USER, SYSTEM, Scenario
from regcheck.model.simulator import Simulator, StepRefused

Value = bool | int | str
TOKEN_CALLS = ("ImpersonateLoggedOnUser", "RevertToSelf")
ONE_TO_ONE = ("thread", "as")


def _current_user(design: Design, state: Mapping[str, Value], w: int) -> str:
    """cu(w) in ``state``, read from the simulator's design: the user of worker w's current job."""
    jobs = design.jobs_of(w)
    job = int(state.get(f"job[{w}]", 1))
    entry = jobs[job - 1]
    return str(state[f"user[{w}]"]) if entry == ANY_USER else entry


def step_fields(design: Design, before: Mapping[str, Value], name: str, params: Mapping[str, int],
                labels: Mapping[str, Value]) -> dict[str, Value]:
    """The fields one step defines (SEMANTICS.md, "Observations"), from the simulator's state before it and its
    labels; a field the step leaves free is absent."""
    fields: dict[str, Value] = {"thread": labels["thread"], "message": labels["message"], "cache": labels["cache"]}
    if name in ("Impersonate", "RevertToSelf"):
        w = params["worker"]
        user = _current_user(design, before, w)
        taken = name == "Impersonate" or bool(before[f"imp[{w}]"])
        fields["as"] = user if taken else design.process_identity
        per_user = design.session_reuse == "per-user" and user in design.users
        fields["session"] = design.session_of_user(user) if per_user else w
        return fields
    fields["as"] = labels["context"]
    fields["result"] = labels["result"]
    if labels["association"] != 0:
        fields["association"] = labels["association"]
    session = params.get("session", params.get("worker"))
    if session is not None:
        fields["session"] = session
    return fields


def check(scenario: Scenario, trace: Trace, events: Sequence[Event], at: Sequence[int]) -> str | None:
    """None when ``events`` match ``trace`` with event i at step ``at[i]`` (0-based); else the first
    disagreement, in words."""
    if len(at) != len(events):
        return f"{len(events)} events but {len(at)} places"
    sim = Simulator(scenario)
    state = sim.initial_state()
    steps: list[dict[str, Value]] = []
    for number, step in enumerate(trace.steps, start=1):
        params = dict(step.params)
        try:
            after, labels = sim.step(state, step.action, params)
        except StepRefused as exc:
            return f"step {number} does not replay: {exc}"
        steps.append(step_fields(sim.design, state, step.action, params, labels))
        state = after
    bound: dict[tuple[str, str], Value] = {("as", SYSTEM): SYSTEM}
    for i, (event, place) in enumerate(zip(events, at, strict=True)):
        where = f"event {event.number}"
        if not 0 <= place < len(steps):
            return f"{where}: step {place + 1} is not in the execution"
        if i and place <= at[i - 1]:
            shared = place == at[i - 1] and event.server != events[i - 1].server
            if not shared:
                return f"{where}: at step {place + 1}, not after event {events[i - 1].number}'s step {at[i - 1] + 1}"
        fields = steps[place]
        wrong = _mismatch(event, fields)
        if wrong:
            return f"{where} at step {place + 1}: {wrong}"
        for key, name in (("thread", event.thread), ("as", event.identity), ("association", event.association),
                          ("session", event.session)):
            if name is None or key not in fields:
                continue
            value = fields[key]
            if (key, name) in bound:
                if bound[(key, name)] != value:
                    return f"{where}: {key} {name!r} is bound to {bound[(key, name)]!r}, but the step has {value!r}"
                continue
            taken = [n for (k, n), v in bound.items() if k == key and v == value]
            if key in ONE_TO_ONE and taken:
                return f"{where}: {key} {name!r} and {taken[0]!r} would both be {value!r} (one to one)"
            bound[(key, name)] = value
    return None


def _mismatch(event: Event, fields: Mapping[str, Value]) -> str:
    """Why the step's fields do not give ``event`` ("" when they do)."""
    if event.server:
        wanted = event.cache_events
        return "" if fields["cache"] in wanted else f"the cache says {fields['cache']!r}, not {' or '.join(wanted)}"
    if fields["message"] != event.call:
        return f"the step is {fields['message']!r}, not {event.call}"
    if event.result is None or event.call in TOKEN_CALLS:
        return ""
    result = fields.get("result")
    if event.result == OK:
        return "" if result in SUCCEEDED else f"the step returns {result!r}, not ok"
    return "" if result == event.result else f"the step returns {result!r}, not {event.result}"
