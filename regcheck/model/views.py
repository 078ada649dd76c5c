"""The registration protocol's words for the generic trace renderers (``regcheck.render``).

The renderers know threads, messages and a gateway in front of a server; this module tells them
that the gateway is the Exchange 2013 front end with its registration cache, what the cache did
at each step (register, hit, mismatch, evict), which association GUID a call used, and which
identity each thread runs as at that moment (a worker while impersonating runs as its current
job's user; a notification thread never impersonates, so it runs as the process identity), and
which session a step is for where its thread does not tell (shared per-user sessions, the
process's one notification thread).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from regcheck.core.expr import Value
from regcheck.core.result import Trace
from regcheck.model.scenario import Scenario
from regcheck.model.story import (
    RESULT_CODES,
    association_guids,
    cause,
    concrete,
    renewed_association,
    session_of,
    session_owner,
    with_session,
    worker_identity,
    worker_of,
)
from regcheck.render.chart import StepView, sequence_chart

if TYPE_CHECKING:
    import networkx as nx

SERVER = "mailbox server"
CALLS = frozenset(
    {"EcDoConnectEx", "EcDoAsyncConnectEx", "EcDoRpcExt2", "EcDoDisconnect", "EcDoAsyncWaitEx", "FetchNotifications",
     "Poll"}
)
"""Actions that send a call to the server side (and so go through admission)."""
FAILURES = ("MAPI_E_NETWORK_ERROR", "ecAccessDenied", "ecRejected")
ANSWERING = frozenset({"CompleteWait", "WaitTimeout"})
"""Server moves that complete the notification thread's parked EcDoAsyncWaitEx."""

_CACHE = {
    "registered": "registered {guid} to {identity}",
    "hit": "hit: {guid} is {owner}'s",
    "mismatch": "MISMATCH: {guid} is {owner}'s",
    "mismatch-evicted": "MISMATCH: {guid} is {owner}'s; evicted",
    "no-registration": "no registration for {guid}",
    "re-registered": "re-registered {guid} to {identity}",
}
_ADMITTING = ("registered", "hit", "re-registered")


def gateway_name(scenario: Scenario) -> str:
    """The lifeline that admits calls: the registration cache on rpc-http, the front end on MAPI/HTTP."""
    return "front end: registration cache" if scenario.transport == "rpc-http" else "front end"


def step_views(scenario: Scenario, trace: Trace) -> list[StepView]:
    """One chart view per step, in the protocol's words."""
    scenario = concrete(scenario, trace)
    guids = association_guids(scenario, trace)
    views = []
    for index, step in enumerate(trace.steps):
        before = trace.states[index]
        labels = step.labels
        thread = str(labels.get("thread", ""))
        if thread in ("", "-"):  # an idle step, such as the stutter that closes a lasso
            views.append(StepView(thread="", message=str(labels.get("message", step.action))))
            continue
        session = session_of(step)
        result = str(labels.get("result", ""))
        carried = str(labels.get("context", "-"))
        association = int(labels.get("association", 0) or 0)
        guid = guids[index].get(association, "") if association else ""
        message = str(labels.get("message", step.action))
        if step.action in ("Impersonate", "TakeJob"):
            message = f"{message}({carried})"
        if thread == "server":
            if step.action == "ServerEvent":  # always named: an event is for one session
                message = f"{message} (session {session})"
            views.append(
                StepView(
                    thread=thread,
                    message=with_session(scenario, step, message) if step.action != "ServerEvent" else message,
                    result=RESULT_CODES.get(result, result),
                    answers=notifier_thread(scenario, session) if step.action in ANSWERING else "",
                )
            )
            continue
        message = with_session(scenario, step, message)
        renewed = renewed_association(scenario, step)
        if step.action == "Reconnect" and renewed:
            message = f"{message} on a new association {guids[index + 1].get(renewed, '')}".rstrip()
        call = step.action in CALLS
        gateway, admitted = _gateway(scenario, step.action, labels, before, guid, carried, session, result)
        views.append(
            StepView(
                thread=thread,
                message=message,
                identity=_thread_identity(scenario, thread, before, worker_of(step)),
                carried=carried if call else "",
                association=guid,
                call=call,
                gateway=gateway if call else None,
                admitted=admitted,
                result=RESULT_CODES.get(result, result),
                failed=result in FAILURES,
            )
        )
    return views


def notifier_thread(scenario: Scenario, session: int) -> str:
    """The notification thread that services session ``session``: its own, or the process's one."""
    return "notifier" if scenario.notifier == "per-process" else f"notifier {session}"


def _thread_identity(scenario: Scenario, thread: str, before: Mapping[str, Value], w: int) -> str:
    """Who the thread runs as before the step: a worker's token, or the process identity."""
    if thread.startswith("worker"):
        return worker_identity(scenario, before, w)
    return scenario.process_identity


def _gateway(
    scenario: Scenario,
    action: str,
    labels: Mapping[str, Value],
    before: Mapping[str, Value],
    guid: str,
    carried: str,
    session: int,
    result: str,
) -> tuple[str | None, bool]:
    """What the front end did with a call for ``session``, and whether the call got through to the mailbox server."""
    if scenario.transport == "rpc-tcp":
        return None, True  # Exchange 2010: no front end, no registration cache
    if scenario.transport == "mapi-http":
        if action == "EcDoConnectEx":
            return "new session cookie", True
        owner = session_owner(scenario, before, session)
        admitted = result != "ecAccessDenied"
        if owner == "none":
            return f"owner check: session {session} is not logged on", admitted
        return f"owner check: session {session} is {owner}'s" + ("" if admitted else f", not {carried}'s"), admitted
    event = str(labels.get("cache", "-"))
    registered = before.get(f"reg[{labels.get('association', 0)}]", "-")
    text = _CACHE.get(event, event).format(guid=guid, identity=carried, owner=registered)
    return text, event in _ADMITTING


def _then(names: list[str]) -> str:
    """``alice, then bob``: names in order, a name repeated at once said once."""
    kept = [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n]
    return ", then ".join(kept)


def worker_caption(scenario: Scenario, trace: Trace, w: int) -> str:
    """What worker w is: whom it impersonates in each job (for "*" jobs: the users the trace takes), or what it runs as."""
    taken = [str(s.labels.get("context", "")) for s in trace.steps if s.action == "TakeJob" and worker_of(s) == w]
    if scenario.takes_any(w):
        if scenario.impersonates(w):
            return "takes any user's jobs" + (f"; impersonates {_then(taken)}" if taken else ", impersonating each")
        return f"runs as {scenario.process_identity}; takes any user's jobs" + (f": {_then(taken)}" if taken else "")
    jobs = list(scenario.jobs_of(w))
    if scenario.impersonates(w):
        return f"impersonates {_then(jobs)}"
    if len(set(jobs)) > 1:
        return f"runs as {scenario.process_identity}, for {_then(jobs)}"
    return f"runs as {scenario.process_identity}"


def captions(scenario: Scenario, trace: Trace) -> dict[str, str]:
    """A second line for each lifeline header: what the thread or server is."""
    scenario = concrete(scenario, trace)
    out = {SERVER: "Exchange 2013" if scenario.transport != "rpc-tcp" else "Exchange 2010"}
    for step in trace.steps:
        thread = str(step.labels.get("thread", ""))
        if thread.startswith("worker"):
            out[thread] = worker_caption(scenario, trace, worker_of(step))
        elif thread == "notifier":
            out[thread] = "MAPI notification thread of every session"
        elif thread.startswith("notifier"):
            out[thread] = "MAPI notification thread"
    out[gateway_name(scenario)] = {"rpc-http": "Outlook Anywhere, RPC over HTTP", "mapi-http": "MAPI over HTTP"}.get(
        scenario.transport, ""
    )
    return out


def chart(scenario: Scenario, trace: Trace, *, title: str = "") -> nx.DiGraph[str]:
    """The message sequence chart of a counterexample, with its first mismatch marked as the cause."""
    emphasis = {}
    for number, step in enumerate(trace.steps, start=1):
        if str(step.labels.get("cache", "")).startswith("mismatch"):
            emphasis[number] = "cause"
            break
    if trace.steps and trace.loop is None:
        emphasis[len(trace.steps)] = "violation"
    prop = trace.meta.get("property", "")
    heading = title or (f"{scenario.name}: {prop}" if prop else scenario.name) + f" ({len(trace)} steps)"
    paired = scenario.session_reuse != "per-user"  # notifier s is worker s's unless sessions are per user

    def order(thread: str) -> tuple[int, int, str]:
        return _thread_order(thread, paired=paired)

    return sequence_chart(
        trace,
        step_views(scenario, trace),
        gateway=gateway_name(scenario),
        server=SERVER,
        emphasis=emphasis,
        title=heading,
        captions=captions(scenario, trace),
        note=f"Why: {cause(scenario, trace)}" if trace.steps else "",
        threads=sorted({str(s.labels.get("thread", "")) for s in trace.steps}, key=order),
    )


def _thread_order(thread: str, *, paired: bool = True) -> tuple[int, int, str]:
    """worker 1, notifier 1, worker 2, notifier 2, ...: each worker beside the notification thread of its session;
    the process's one notification thread (``notifier``, no number) after every numbered thread. Unless ``paired``
    (per-user sessions, whose notifier s serves user s, not worker s): every worker first, then the notifiers."""
    kind, _, number = thread.partition(" ")
    index = int(number) if number.isdigit() else sys.maxsize
    rank = 0 if kind == "worker" else 1
    return (index, rank, thread) if paired else (rank, index, thread)
