"""The independent check of a diagnosis: does a log match an execution, as SEMANTICS.md "Observations" says?

``regcheck diagnose`` finds an execution with a search over the compiled model. This module does not
trust it: it replays the execution on the reference simulator, computes from the simulator's own
states and labels the fields each step defines (SEMANTICS.md's table: on a thread-token call, the
identity it takes or leaves and the session of the job it serves), and checks that each event matches
its step, that the steps come in order, and that the log's names bind one to one (threads,
identities, SYSTEM to SYSTEM alone, associations between the steps that replace them) or as a function
(sessions). Over several logs, the steps
come in order within each log, and an event more than the skew after another log's event (by their times)
is at a later step. It shares no code with the search; it is to ``diagnose`` what replay is to ``check``.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from datetime import datetime

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
    several = any(e.log is not None for e in events)
    previous: dict[object, int] = {}  # per log, its last event so far (one log: the previous event)
    for i, (event, place) in enumerate(zip(events, at, strict=True)):
        where = f"event {event.number}"
        if not 0 <= place < len(steps):
            return f"{where}: step {place + 1} is not in the execution"
        source = event.log.index if several and event.log is not None else None
        last = previous.get(source)
        previous[source] = i
        if last is not None and place <= at[last]:
            shared = place == at[last] and event.server != events[last].server
            if not shared:
                return f"{where}: at step {place + 1}, not after event {events[last].number}'s step {at[last] + 1}"
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
            own = name.rsplit("\\", 1)[-1].split("@", 1)[0].lower()
            if key == "as" and own in scenario.identities and value != own:
                return f"{where}: identity {name!r} is the model's {own!r}, but the step runs as {value!r}"
            bound[(key, name)] = value
    renewed = _reused_guid(scenario, trace, [e if "association" in steps[p] else None for e, p in zip(events, at)],
                           at, bound)
    if renewed:
        return renewed
    missing = _unlogged(events, at, steps, bound)
    if missing:
        return missing
    return _across(events, at) if several else None


def _reused_guid(scenario: Scenario, trace: Trace, events: Sequence[Event | None], at: Sequence[int],
                 bound: Mapping[tuple[str, str], Value]) -> str:
    """An association GUID named on both sides of a step that replaced its association with a new one (a reconnect
    to a new association, a log-off that closes it: SEMANTICS.md, actions 7 and 9), or two GUIDs on one association
    with no such step between them; "" when there is neither. An event is None where its step leaves the association
    free."""
    renewals: dict[Value, list[int]] = {}
    for place, step in enumerate(trace.steps):
        params = dict(step.params)
        session = params.get("session", params.get("worker"))
        if scenario.transport == "mapi-http" or session is None:
            continue
        if (step.action == "Reconnect" and scenario.after_network_error == "reconnect-new") or (
                step.action == "EcDoDisconnect" and scenario.association_scope == "session"):
            renewals.setdefault(scenario.association_of(int(session)), []).append(place)
    first: dict[str, int] = {}  # per GUID, the steps of its first and last events
    last: dict[str, int] = {}
    for event, place in zip(events, at, strict=True):
        if event is not None and event.association is not None:
            first[event.association] = min(place, first.get(event.association, place))
            last[event.association] = max(place, last.get(event.association, place))
    for event, place in zip(events, at, strict=True):
        if event is None or event.association is None or ("association", event.association) not in bound:
            continue
        value = bound[("association", event.association)]
        for renewal in renewals.get(value, ()):
            if first[event.association] <= renewal < place:
                return (f"event {event.number} names association {event.association!r} after step {renewal + 1} "
                        "replaced it with a new one")
    sharing: dict[Value, list[str]] = {}  # per association, its GUIDs in the order of their first events
    for _, name in sorted((first[name], name) for (key, name) in bound if key == "association" and name in first):
        sharing.setdefault(bound[("association", name)], []).append(name)
    for value, names in sharing.items():  # no GUID spans a replacement (above): consecutive ones need one between
        for one, other in itertools.pairwise(names):
            if not any(last[one] <= renewal < first[other] for renewal in renewals.get(value, ())):
                return (f"association {one!r} and {other!r} would both be {value!r} with no step between them that "
                        "replaced it (one to one)")
    return ""


RECORDED = {
    "registrations": lambda fields: fields["cache"] in ("registered", "re-registered", "mismatch", "mismatch-evicted"),
    "connections": lambda fields: fields["message"] in ("EcDoConnectEx", "EcDoDisconnect", "Connect", "Disconnect")
    and fields["cache"] in ("-", "registered", "hit", "re-registered"),
}
"""What a server log records in full (SEMANTICS.md, "Server logs are complete for what they record"), read here
from the simulator's fields, apart from the search's own rules."""


def _unlogged(events: Sequence[Event], at: Sequence[int], steps: Sequence[Mapping[str, Value]],
              bound: Mapping[tuple[str, str], Value]) -> str:
    """A step of a kind a server log records, in its scope, between the steps of its first and its last event, that is
    none of its events ("" when there is none)."""
    logs: dict[object, list[int]] = {}
    for i, event in enumerate(events):
        if event.records is not None:
            logs.setdefault(event.log.index if event.log is not None else None, []).append(i)
    for mine in logs.values():
        first = events[mine[0]]
        assert first.records is not None
        scope: tuple[str, Value] | None = None
        if first.complete_for != "log":
            name = first.association if first.complete_for == "association" else first.session
            value = bound.get((first.complete_for, name)) if name is not None else None
            if value is None:
                continue  # nothing binds what the slice is complete for: it forbids nothing
            scope = (first.complete_for, value)
        places = {at[i] for i in mine}
        for place in range(min(places) + 1, max(places)):
            fields = steps[place]
            if place in places or not RECORDED[first.records](fields):
                continue
            if scope is None or fields.get(scope[0]) == scope[1]:
                return (f"step {place + 1} is a {fields['message']} the cache answers with {fields['cache']!r}, which "
                        f"the log of event {first.number} records, between its events, yet none of them is it")
    return ""


def _across(events: Sequence[Event], at: Sequence[int]) -> str | None:
    """Over several logs (SEMANTICS.md, "Observations"): every event comes from one of them; a step is at most one
    client call and one server event; and an event whose time is more than the skew after another log's event
    is at a later step. None when all hold, else the first that does not, in words."""
    if any(e.log is None for e in events):
        return "an event of several logs names no log"
    skew = events[0].log.skew if events[0].log is not None else 0.0
    at_step: dict[int, list[Event]] = {}
    for event, place in zip(events, at, strict=True):
        at_step.setdefault(place, []).append(event)
    for place, there in sorted(at_step.items()):
        if len(there) > 2 or (len(there) == 2 and there[0].server == there[1].server):
            return f"step {place + 1} is events {', '.join(str(e.number) for e in there)}: one call and its admission at most"
    # Per log, its timed events by time with the latest step among those up to each: an event's step must be
    # after the latest step of every other log's events more than the skew before it.
    timeline: dict[int, tuple[list[float], list[int]]] = {}
    for event, place in sorted(((e, p) for e, p in zip(events, at, strict=True) if e.time is not None),
                               key=lambda pair: _utc(pair[0])):
        assert event.log is not None
        moments, latest = timeline.setdefault(event.log.index, ([], []))
        moments.append(_utc(event))
        latest.append(max(place, latest[-1]) if latest else place)
    for event, place in zip(events, at, strict=True):
        if event.time is None or event.log is None:
            continue
        moment = _utc(event)
        for log, (moments, latest) in timeline.items():
            count = bisect_left(moments, moment - skew)
            if log != event.log.index and count and latest[count - 1] >= place:
                return (f"event {event.number} is at step {place + 1}, but an event of another log more than "
                        f"{skew:g} s before it is at step {latest[count - 1] + 1}")
    return None


def _utc(event: Event) -> float:
    """The event's time, in seconds since 1970 (the reading checked it is ISO 8601 with a UTC offset)."""
    assert event.time is not None
    return datetime.fromisoformat(event.time).timestamp()


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
