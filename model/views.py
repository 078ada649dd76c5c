"""The registration protocol's words for the generic trace renderers (``regcheck.trace``).

The renderers know threads, messages and a gateway in front of a server; this module tells them
that the gateway is the Exchange 2013 front end with its registration cache, what the cache did
at each step (register, hit, mismatch, evict), which association GUID a call used, and which
identity each thread runs as at that moment (a worker while impersonating runs as its user; the
notification thread never impersonates, so it runs as the process identity).
"""

from __future__ import annotations

from collections.abc import Mapping

import networkx as nx

from model.scenario import Scenario
from model.story import RESULT_CODES, association_guids, cause
from regcheck.expr import Value
from regcheck.result import Trace
from regcheck.trace.chart import StepView, sequence_chart

SERVER = "mailbox server"
CALLS = frozenset(
    {"EcDoConnectEx", "EcDoAsyncConnectEx", "EcDoRpcExt2", "EcDoAsyncWaitEx", "FetchNotifications", "Poll"}
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
    guids = association_guids(scenario, trace)
    views = []
    for index, step in enumerate(trace.steps):
        before = trace.states[index]
        labels = step.labels
        thread = str(labels.get("thread", ""))
        if thread in ("", "-"):  # an idle step, such as the stutter that closes a lasso
            views.append(StepView(thread="", message=str(labels.get("message", step.action))))
            continue
        session = dict(step.params).get("worker", dict(step.params).get("session", 0))
        result = str(labels.get("result", ""))
        carried = str(labels.get("context", "-"))
        association = int(labels.get("association", 0) or 0)
        guid = guids[index].get(association, "") if association else ""
        message = str(labels.get("message", step.action))
        if step.action == "Impersonate":
            message = f"{message}({scenario.user_of(session)})"
        elif step.action == "Reconnect" and scenario.after_network_error == "reconnect-new":
            a = scenario.association_of(session)
            message = f"Reconnect on a new association {guids[index + 1].get(a, '')}".rstrip()
        if thread == "server":
            views.append(
                StepView(
                    thread=thread,
                    message=f"{message} (session {session})" if step.action == "ServerEvent" else message,
                    result=RESULT_CODES.get(result, result),
                    answers=f"notifier {session}" if step.action in ANSWERING else "",
                )
            )
            continue
        call = step.action in CALLS
        gateway, admitted = _gateway(scenario, step.action, labels, before, guid, carried, session, result)
        views.append(
            StepView(
                thread=thread,
                message=message,
                identity=_thread_identity(scenario, thread, before, session),
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


def _thread_identity(scenario: Scenario, thread: str, before: Mapping[str, Value], w: int) -> str:
    """Who the thread runs as before the step: a worker's token, or the process identity."""
    if thread.startswith("worker") and before.get(f"imp[{w}]"):
        return scenario.user_of(w)
    return scenario.process_identity


def _gateway(
    scenario: Scenario,
    action: str,
    labels: Mapping[str, Value],
    before: Mapping[str, Value],
    guid: str,
    carried: str,
    w: int,
    result: str,
) -> tuple[str | None, bool]:
    """What the front end did with a call, and whether the call got through to the mailbox server."""
    if scenario.transport == "rpc-tcp":
        return None, True  # Exchange 2010: no front end, no registration cache
    if scenario.transport == "mapi-http":
        if action == "EcDoConnectEx":
            return "new session cookie", True
        owner = scenario.user_of(w) if scenario.impersonate else scenario.process_identity
        admitted = result != "ecAccessDenied"
        return f"owner check: session {w} is {owner}'s" + ("" if admitted else f", not {carried}'s"), admitted
    event = str(labels.get("cache", "-"))
    registered = before.get(f"reg[{labels.get('association', 0)}]", "-")
    text = _CACHE.get(event, event).format(guid=guid, identity=carried, owner=registered)
    return text, event in _ADMITTING


def captions(scenario: Scenario, trace: Trace) -> dict[str, str]:
    """A second line for each lifeline header: what the thread or server is."""
    out = {SERVER: "Exchange 2013" if scenario.transport != "rpc-tcp" else "Exchange 2010"}
    for step in trace.steps:
        thread = str(step.labels.get("thread", ""))
        w = dict(step.params).get("worker", dict(step.params).get("session", 0))
        if thread.startswith("worker"):
            out[thread] = f"impersonates {scenario.user_of(w)}" if scenario.impersonate else "application thread"
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
    return sequence_chart(
        trace,
        step_views(scenario, trace),
        gateway=gateway_name(scenario),
        server=SERVER,
        emphasis=emphasis,
        title=heading,
        captions=captions(scenario, trace),
        note=f"Why: {cause(scenario, trace)}" if trace.steps else "",
        threads=sorted({str(s.labels.get("thread", "")) for s in trace.steps}, key=_thread_order),
    )


def _thread_order(thread: str) -> tuple[int, int, str]:
    """worker 1, notifier 1, worker 2, notifier 2, ...: each worker beside the notification thread of its session."""
    kind, _, number = thread.partition(" ")
    return (int(number) if number.isdigit() else 0, 0 if kind == "worker" else 1, thread)
