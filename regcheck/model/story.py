"""A counterexample told in the protocol's words: threads, identities, sessions, association GUIDs, the cache.

Association GUIDs are not part of the model's state; they are named here by walking the trace:
association a starts as ``g<a>``, and gets the next fresh name whenever a step replaces it by a
new one: a Reconnect under ``reconnect-new``, or an EcDoDisconnect when associations are per
session (SEMANTICS.md, "Deliberate simplifications").

Who a worker runs as, and which session a step is for, are read off the step and the state before
it (:func:`worker_identity`, :func:`session_of`): the chart views (``model.views``) and the
explanations use the same helpers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from regcheck.core.expr import Value, evaluate
from regcheck.core.result import STUTTER, Step, Trace
from regcheck.model import system
from regcheck.model.scenario import Scenario

RESULT_CODES = {
    "MAPI_E_NETWORK_ERROR": "MAPI_E_NETWORK_ERROR (0x80040115)",
    "ecRejected": "ecRejected (0x000007EE)",
    "ecAccessDenied": "ecAccessDenied (0x80070005)",
    "NotificationPending": "NotificationPending (0x00000001)",
}

CACHE_WORDS = {
    "registered": "registered to {identity}",
    "hit": "hit ({identity})",
    "mismatch": "MISMATCH: registered to {owner}",
    "mismatch-evicted": "MISMATCH: registered to {owner}; evicted",
    "no-registration": "no registration (evicted)",
    "re-registered": "re-registered to {identity}",
}
MISMATCH_TEXT = "Registration of the Association GUID failed"
REGISTERING = ("registered", "re-registered")

_WORKER = re.compile(r"worker ([0-9]+)")


@dataclass(frozen=True)
class StoryRow:
    step: int
    thread: str
    identity: str
    call: str
    guid: str
    cache: str
    result: str
    failed: bool


def concrete(scenario: Scenario, trace: Trace) -> Scenario:
    """The scenario with the number of workers the trace shows (a workers=any counterexample names it)."""
    if scenario.parameterised:
        return scenario.with_workers(int(trace.meta.get("workers", 1)))
    return scenario


# Who and which session -------------------------------------------------------------------------


def current_user(scenario: Scenario, state: Mapping[str, Value], w: int) -> str:
    """cu(w) in ``state``: the user of worker w's current job (``none`` for a "*" worker before TakeJob).

    Read from the state as the model defines it (``model.system.current_user``): ``user[w]`` for a
    worker that takes any user's jobs, the entry of ``jobs_of(w)`` at ``job[w]`` for one with several
    jobs, else its one user.
    """
    return str(evaluate(system.current_user(scenario, w), state))


def worker_identity(scenario: Scenario, state: Mapping[str, Value], w: int) -> str:
    """Who worker w runs as in ``state``: its current user while impersonating, else the process identity."""
    return current_user(scenario, state, w) if state.get(system.imp(w)) else scenario.process_identity


def session_owner(scenario: Scenario, state: Mapping[str, Value], s: int) -> str:
    """Who session s is logged on for, as MAPI/HTTP's owner check sees it (``none``: not logged on).

    Tracked designs keep it in ``owner[s]``; in a classic one, session s is worker s's, for its one
    user if it impersonates, else for the process identity.
    """
    if scenario.tracks_sessions:
        return str(state.get(system.owner(s), "none"))
    return current_user(scenario, state, s) if scenario.impersonates(s) else scenario.process_identity


def worker_of(step: Step) -> int:
    """The worker whose thread takes ``step`` (0 for a notification thread's or the server's)."""
    match = _WORKER.fullmatch(str(step.labels.get("thread", "")))
    if match:
        return int(match.group(1))
    return int(dict(step.params).get("worker", 0))


def session_of(step: Step) -> int:
    """The session ``step`` is for: its ``session`` parameter (a notifier's or the server's action, a
    worker's under per-user sessions, a worker's EcDoAsyncConnectEx), else worker w's own session w."""
    params = dict(step.params)
    return int(params.get("session", params.get("worker", 0)))


def shown_session(scenario: Scenario, step: Step) -> int:
    """The session to name beside a step because its thread does not tell it (0: it does).

    A worker's session is its own unless sessions are per user; the per-process notifier and the
    server serve every session.
    """
    params = dict(step.params)
    if "session" not in params:
        return 0
    thread = str(step.labels.get("thread", ""))
    if thread.startswith("worker"):
        return params["session"] if scenario.session_reuse == "per-user" else 0
    if thread in ("notifier", "server") and len(scenario.session_ids) > 1:
        return params["session"]
    return 0


def with_session(scenario: Scenario, step: Step, message: str) -> str:
    """``message`` with the session it is for, where the thread does not tell it: ``EcDoConnectEx (session 2)``."""
    if step.action == "UseSession":
        return f"{message}(session {session_of(step)})"
    shown = shown_session(scenario, step)
    return f"{message} (session {shown})" if shown else message


# Association GUIDs ------------------------------------------------------------------------------


def renewed_association(scenario: Scenario, step: Step) -> int:
    """The association that ``step`` replaces by a new one, with a new GUID (0: none)."""
    if scenario.transport == "mapi-http":
        return 0
    if step.action == "Reconnect" and scenario.after_network_error == "reconnect-new":
        return scenario.association_of(session_of(step))
    if step.action == "EcDoDisconnect" and scenario.association_scope == "session":
        return scenario.association_of(session_of(step))
    return 0


def association_guids(scenario: Scenario, trace: Trace) -> list[dict[int, str]]:
    """For each state, the GUID name of each association."""
    scenario = concrete(scenario, trace)
    current = {a: f"g{a}" for a in range(1, scenario.association_count + 1)}
    fresh = scenario.association_count + 1
    names = [dict(current)]
    for step in trace.steps:
        renewed = renewed_association(scenario, step)
        if renewed in current:
            current[renewed] = f"g{fresh}"
            fresh += 1
        names.append(dict(current))
    return names


# The story table --------------------------------------------------------------------------------


def rows(scenario: Scenario, trace: Trace) -> list[StoryRow]:
    """One row per step, in the vocabulary a support engineer reads in an Exchange log."""
    scenario = concrete(scenario, trace)
    guids = association_guids(scenario, trace)
    out = []
    for index, step in enumerate(trace.steps):
        labels = step.labels
        before = trace.states[index]
        association = int(labels.get("association", 0))
        guid = guids[index].get(association, "-") if association else "-"
        identity = str(labels.get("context", "-"))
        call = str(labels.get("message", step.action))
        if step.action in ("TakeJob", "UseSession"):  # the context of TakeJob is the job's user, not the thread's
            identity = worker_identity(scenario, before, worker_of(step))
            call = f"{call}({labels.get('context', '-')})" if step.action == "TakeJob" else call
        call = with_session(scenario, step, call)
        cache = str(labels.get("cache", "-"))
        owner = before.get(f"reg[{association}]", "-")
        words = CACHE_WORDS.get(cache, "" if cache == "-" else cache)
        result = str(labels.get("result", ""))
        out.append(
            StoryRow(
                step=index + 1,
                thread=str(labels.get("thread", "")),
                identity=identity,
                call=call,
                guid=guid,
                cache=words.format(guid=guid, identity=identity, owner=owner),
                result=RESULT_CODES.get(result, result),
                failed=result in ("MAPI_E_NETWORK_ERROR", "ecAccessDenied", "ecRejected"),
            )
        )
    return out


def cause(scenario: Scenario, trace: Trace) -> str:
    """The step that broke the registration, if any; for a lasso, also what repeats for ever."""
    sentence = _first_cause(concrete(scenario, trace), trace)
    if trace.loop is None:
        return sentence
    last = len(trace.steps)
    if trace.steps and trace.steps[-1].action == STUTTER:
        repeat = f"From step {last}, no thread can act any more: the state after step {trace.loop} stays for ever"
    else:
        repeat = f"Step {last} repeats for ever" if trace.loop + 1 == last else (
            f"Steps {trace.loop + 1} to {last} repeat for ever"
        )
    final = trace.states[-1]
    pending = sorted(k for k, v in final.items() if k.startswith("pending[") and v is True)
    waiting = f"; the notification of session {pending[0][8:-1]} is never delivered" if pending else ""
    if sentence.startswith("The property fails"):
        return f"{repeat}{waiting}."
    return f"{sentence} {repeat}{waiting}."


def _first_cause(scenario: Scenario, trace: Trace) -> str:
    story = rows(scenario, trace)
    for row in story:
        if row.cache.startswith("MISMATCH"):
            who = row.thread
            if who.startswith("notifier"):
                who += " (MAPI's notification thread, which does not carry the impersonation)"
            owner = row.cache.split("registered to ")[1].split(";")[0]
            evicted = "evicted" in row.cache
            later = [r for r in story[row.step:] if r.failed and r.thread.startswith("worker")]
            consequence = ""
            if evicted and later:
                consequence = f"; {later[0].thread}'s {later[0].call} at step {later[0].step} then failed"
                consequence += " with no registration" if later[0].cache.startswith("no registration") else ""
            return (
                f"Step {row.step}: {who}, running as {row.identity}, sent {row.call} on association {row.guid}, "
                f"registered to {owner}{_registered_by(story, row)}: \"{MISMATCH_TEXT}\". The front end failed "
                f"the call with MAPI_E_NETWORK_ERROR" + (" and evicted the registration" if evicted else "")
                + consequence + "."
            )
    failed = [row for row in story if row.failed]
    if failed:
        row = failed[0]
        return f"Step {row.step}: {row.thread}'s {row.call} failed with {row.result}{_denial(scenario, trace, row)}."
    return "The property fails in the final state."


def _registered_by(story: list[StoryRow], mismatch: StoryRow) -> str:
    """Where the registration a mismatch meets comes from, when the story is not plain: the same thread's
    earlier job registered it, or it outlived the EcDoDisconnect of the session that registered it."""
    before = story[: mismatch.step - 1]
    made = [r for r in before if r.guid == mismatch.guid and any(r.cache.startswith(w) for w in REGISTERING)]
    if not made:
        return ""
    origin = made[-1]
    own = origin.thread == mismatch.thread and origin.thread.startswith("worker")
    said = f" by its own earlier job at step {origin.step}" if own else ""
    ended = [
        r for r in before[origin.step:] if r.thread == origin.thread and r.guid == mismatch.guid and r.call == "EcDoDisconnect"
    ]
    if ended:
        said += f" (the association outlived that session's EcDoDisconnect at step {ended[0].step})"
    return said


def _denial(scenario: Scenario, trace: Trace, row: StoryRow) -> str:
    """Why a call was denied access (ecAccessDenied): no mailbox rights at logon, or MAPI/HTTP's owner check."""
    if row.result != RESULT_CODES["ecAccessDenied"]:
        return ""
    step = trace.steps[row.step - 1]
    before = trace.states[row.step - 1]
    if step.action == "EcDoConnectEx":
        user = current_user(scenario, before, worker_of(step))
        return f": {row.identity} has no rights to {user}'s mailbox"
    s = session_of(step)
    owner = session_owner(scenario, before, s)
    if owner == "none":
        return f": session {s} is not logged on"
    return f": session {s} is {owner}'s, not {row.identity}'s"
