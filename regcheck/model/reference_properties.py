"""Replay's own definition of every property, written from SEMANTICS.md ("Properties") and each one's prose.

The engines check the formulas ``regcheck/properties/catalogue.py`` builds from ``regcheck/model/system.py``; replay must not
trust them, so each property is defined again here as plain Python over the simulator's states (ITF
variable -> value) and the simulator's ``Design``. The catalogue stays the index: the same names and kinds
(``tests/test_replay_independence.py`` holds the two lists together and mutates the formulas to show that
replay does not follow them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from regcheck.model.reference_design import Design
from regcheck.model.scenario import ANY_USER

Value = bool | int | str
State = Mapping[str, Value]

NOT_FAIR = ("ServerEvent",)
"""Liveness is judged under weak fairness on every client and server action but these (new events may stop)."""


def _current_user(d: Design, state: State, w: int) -> str:
    """``cu(w)``: a ``*`` worker's ``user[w]``; else the entry of its jobs at ``job[w]`` (1 without ``job[w]``)."""
    jobs = d.jobs_of(w)
    job = state[f"job[{w}]"] if len(jobs) > 1 else 1
    assert isinstance(job, int) and not isinstance(job, bool), f"job[{w}] holds {job!r}"
    entry = jobs[job - 1]
    return str(state[f"user[{w}]"]) if entry == ANY_USER else entry


def _session(d: Design, state: State, w: int) -> int | None:
    """``session(w)``: w, or under per-user sessions the session of its current user (None: no user yet)."""
    if d.session_reuse != "per-user":
        return w
    user = _current_user(d, state, w)
    return d.session_of_user(user) if user in d.users else None


# Safety: the bad condition, in words, or None when the state is good.


def _network_error(d: Design, state: State) -> str | None:
    failed = [w for w in d.worker_ids if state[f"pc[{w}]"] == "failed"]
    return f"pc[{failed[0]}] = failed" if failed else None


def _mismatch(d: Design, state: State) -> str | None:
    return "mismatch_seen" if state.get("mismatch_seen") is True else None


def _evicted_in_use(d: Design, state: State) -> str | None:
    if d.transport != "rpc-http":
        return None
    for a in d.association_ids:
        if state[f"reg[{a}]"] != "evicted":
            continue
        for w in d.worker_ids:
            session = _session(d, state, w)
            if state[f"pc[{w}]"] in ("connected", "working") and session is not None \
                    and d.association_of(session) == a:
                return f"reg[{a}] = evicted while worker {w} is {state[f'pc[{w}]']} on it"
    return None


def _registration_not_admitted(d: Design, state: State) -> str | None:
    if d.transport != "rpc-http":
        return None
    for a in d.association_ids:
        reg = state[f"reg[{a}]"]
        if reg in d.identities and state[f"admitted[{a}]"] != reg:
            return f"reg[{a}] = {reg} but admitted[{a}] = {state[f'admitted[{a}]']}"
    return None


def _parked_without_waiting(d: Design, state: State) -> str | None:
    if not d.notifications:
        return None
    for s in d.session_ids:
        if state[f"parked[{s}]"] is True and state[f"notify[{s}]"] != "waiting":
            return f"parked[{s}] while notify[{s}] = {state[f'notify[{s}]']}"
    return None


SAFETY: dict[str, Callable[[Design, State], str | None]] = {
    "worker-never-gets-network-error": _network_error,
    "no-registration-mismatch": _mismatch,
    "registration-in-use-never-evicted": _evicted_in_use,
    "registration-matches-admitted-calls": _registration_not_admitted,
    "one-parked-wait-per-session": _parked_without_waiting,
}
"""Each safety property of SEMANTICS.md: what a state that violates it shows."""


# Liveness: obligations "trigger leads to goal".


@dataclass(frozen=True)
class Duty:
    """One obligation: whenever ``trigger`` holds, ``goal`` must hold then or later."""

    who: str
    trigger: Callable[[State], bool]
    goal: Callable[[State], bool]


def _delivered(d: Design) -> tuple[Duty, ...]:
    def pending(s: int) -> Callable[[State], bool]:
        return lambda state: state[f"pending[{s}]"] is True

    def delivered(s: int) -> Callable[[State], bool]:
        return lambda state: state[f"pending[{s}]"] is False

    return tuple(Duty(f"session {s}", pending(s), delivered(s)) for s in d.session_ids)


def _requests_done(d: Design) -> tuple[Duty, ...]:
    def done(w: int) -> Callable[[State], bool]:
        jobs = len(d.jobs_of(w))

        def goal(state: State) -> bool:
            on_last = jobs == 1 or state[f"job[{w}]"] == jobs
            return on_last and state[f"done[{w}]"] == d.requests

        return goal

    return tuple(Duty(f"worker {w}", lambda state: True, done(w)) for w in d.worker_ids)


LIVENESS: dict[str, Callable[[Design], tuple[Duty, ...]]] = {
    "notifications-delivered": _delivered,
    "worker-requests-succeed": _requests_done,
}
"""Each liveness property of SEMANTICS.md as its obligations."""

NAMES = (*SAFETY, *LIVENESS)
