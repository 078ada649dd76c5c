"""Message sequence charts of traces, as networkx graphs (their Mermaid text: ``regcheck.formats.mermaid``).

The chart is a ``networkx.DiGraph`` of events. Each lifeline (a client thread, the gateway that
admits calls, the server) has a header node (``kind="lifeline"``) and a column of events; edges
are program order along a lifeline (``kind="order"``) and messages between lifelines
(``kind="request"`` or ``kind="response"``). Every event has a ``row``, its vertical position, so
that drawings and the Mermaid text read top to bottom in trace order. The violating step's nodes
and edges carry ``highlight=True``; ``emphasis`` names why a step stands out (``"violation"``,
``"cause"``, ``"loop"``). A lasso (a trace with ``loop``, for liveness) has no violating step: the
steps of its cycle are marked ``"loop"`` instead, and the graph's ``loop`` attribute is the first
of them (0 for a trace without a loop). A step whose thread is empty or ``-`` (an idle step, such
as the stutter that closes a lasso) draws nothing. All attributes are strings, integers or
booleans, so the graph exports to GraphML.

What a step looks like on the chart comes from a :class:`StepView` per step. By default the views
are read off the step labels (``thread``, ``message``, ``context``, ``association``, ``cache``,
``result``); a protocol model passes its own views to put its words on the chart (association
GUIDs, who a thread runs as, what the registration cache did). Nothing here knows the protocol.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from regcheck.core.result import Trace

__all__ = [
    "StepView",
    "alone",
    "default_views",
    "heads",
    "lifelines",
    "messages",
    "sequence_chart",
]


if TYPE_CHECKING:
    import networkx as nx

@dataclass(frozen=True)
class StepView:
    """How one step appears on the chart.

    ``gateway`` is what the gateway did with a call (``None``: the call does not pass a gateway,
    it goes straight to the server); ``admitted`` whether the call got through to the server;
    ``answers`` the client lifeline that a server move replies to (e.g. completing a parked wait).
    """

    thread: str
    """The acting lifeline; empty for an idle step that draws nothing."""
    message: str
    identity: str = ""
    carried: str = ""
    association: str = ""
    call: bool = False
    gateway: str | None = None
    admitted: bool = True
    result: str = ""
    failed: bool = False
    answers: str = ""


def default_views(trace: Trace, *, server_thread: str = "server") -> list[StepView]:
    """Views read off the step labels alone: a step with a cache event or an association is a call."""
    views = []
    for step in trace.steps:
        labels = step.labels
        cache = str(labels.get("cache", "-"))
        association = int(labels.get("association", 0) or 0)
        thread = str(labels.get("thread", step.label))
        thread = "" if thread == "-" else thread
        result = str(labels.get("result", ""))
        views.append(
            StepView(
                thread=thread,
                message=str(labels.get("message", step.action)),
                identity=str(labels.get("context", "")) if thread != server_thread else "",
                carried=str(labels.get("context", "")),
                association=str(association) if association else "",
                call=thread != server_thread and (cache != "-" or association != 0),
                gateway=cache if cache != "-" else None,
                admitted=result == "ok",
                result=result,
                failed=result not in ("", "ok"),
            )
        )
    return views


def sequence_chart(
    trace: Trace,
    views: Sequence[StepView] | None = None,
    *,
    gateway: str = "gateway",
    server: str = "server",
    server_thread: str = "server",
    emphasis: Mapping[int, str] | None = None,
    title: str = "",
    captions: Mapping[str, str] | None = None,
    note: str = "",
    threads: Sequence[str] = (),
) -> nx.DiGraph[str]:
    """The message sequence chart of ``trace`` (see the module docstring for its shape).

    ``emphasis`` maps 1-based step numbers to a word (``"cause"``, ...); the last step is the
    violation (for a lasso: the steps of its cycle are the loop) unless ``emphasis`` says otherwise. ``captions`` gives lifelines a second line;
    ``note`` is a closing sentence under the chart (e.g. why the property fails). Client
    lifelines come in the order of ``threads``, then in order of first appearance.
    """
    views = list(views) if views is not None else default_views(trace, server_thread=server_thread)
    if len(views) != len(trace.steps):
        raise ValueError(f"{len(views)} step views for a trace of {len(trace.steps)} steps")
    marks = dict(emphasis or {})
    if trace.loop is not None:
        for number in range(trace.loop + 1, len(trace.steps) + 1):
            marks.setdefault(number, "loop")
    elif trace.steps and len(trace.steps) not in marks:
        marks[len(trace.steps)] = "violation"
    violation = max((s for s, word in marks.items() if word == "violation"), default=0)
    builder = _Builder(title or str(trace.meta.get("property", "trace")), violation, dict(captions or {}))
    builder.graph.graph.update(note=note, loop=trace.loop + 1 if trace.loop is not None else 0)
    acting = [v.thread for v in views if v.thread not in ("", server_thread)]
    acting += [v.answers for v in views if v.answers]
    clients = [t for t in threads if t in acting] + [t for t in dict.fromkeys(acting) if t not in threads]
    for name in clients:
        builder.lifeline(name, "thread")
    if any(v.call and v.gateway is not None for v in views):
        builder.lifeline(gateway, "gateway")
    served = [v for v in views if v.thread == server_thread or (v.call and (v.admitted or v.gateway is None))]
    if served:
        builder.lifeline(server, "server")
    identity: dict[str, str] = {}
    for number, view in enumerate(views, start=1):
        builder.begin(number, marks.get(number, ""))
        if not view.thread:
            continue
        if view.thread == server_thread:
            at = builder.event(server, "server", view.message)
            if view.answers:
                text = f"{view.message}: {view.result}" if view.result not in ("", "ok") else view.message
                reply = builder.event(view.answers, "reply", text)
                builder.message(at, reply, "response", text, failed=view.failed)
            builder.next_row()
            continue
        if view.identity and identity.get(view.thread) != view.identity:
            identity[view.thread] = view.identity
            builder.event(view.thread, "identity", f"runs as {view.identity}")
            builder.next_row()
        if not view.call:
            text = view.message if view.result in ("", "ok") else f"{view.message}: {view.result}"
            builder.event(view.thread, "local", text)
            builder.next_row()
            continue
        request = view.message + (f" as {view.carried}" if view.carried else "")
        request += f" on {view.association}" if view.association else ""
        send = builder.event(view.thread, "send", view.message)
        if view.gateway is not None:
            replier = builder.event(gateway, "cache", view.gateway or "-", refused=not view.admitted)
            builder.message(send, replier, "request", request)
            if view.admitted:
                at = builder.event(server, "server", view.message)
                builder.message(replier, at, "request", view.message)
                replier = at
        else:
            replier = builder.event(server, "server", view.message)
            builder.message(send, replier, "request", request)
        builder.next_row()
        reply = builder.event(view.thread, "reply", view.result or "ok")
        builder.message(replier, reply, "response", view.result or "ok", failed=view.failed)
        builder.next_row()
    return builder.graph


def lifelines(chart: nx.DiGraph[str]) -> list[tuple[str, str]]:
    """The chart's lifelines, left to right: (name, kind) with kind ``thread``, ``gateway`` or ``server``."""
    return [(head["lifeline"], head["role"]) for head in heads(chart)]


def heads(chart: nx.DiGraph[str]) -> list[dict[str, Any]]:
    """The lifeline header nodes' attributes, left to right."""
    found = [data for _, data in chart.nodes(data=True) if data["kind"] == "lifeline"]
    return sorted(found, key=lambda data: data["column"])


def alone(chart: nx.DiGraph[str], node: str) -> bool:
    """Does ``node`` send and receive no message (a server's own move, such as a new event)?"""
    edges = [*chart.in_edges(node, data="kind"), *chart.out_edges(node, data="kind")]
    return all(kind == "order" for *_, kind in edges)


def messages(chart: nx.DiGraph[str]) -> list[tuple[str, str, str, str, int]]:
    """The messages in reading order: (from lifeline, to lifeline, kind, label, step)."""
    found = []
    for u, v, data in chart.edges(data=True):
        if data["kind"] in ("request", "response"):
            source, target = chart.nodes[u], chart.nodes[v]
            order = (source["row"], source["column"], target["column"])
            found.append((order, (source["lifeline"], target["lifeline"], data["kind"], data["label"], data["step"])))
    return [entry for _, entry in sorted(found)]


class _Builder:
    """Adds events row by row, and program-order edges as it goes."""

    def __init__(self, title: str, violation: int, captions: dict[str, str]) -> None:
        import networkx as nx

        self.graph: nx.DiGraph[str] = nx.DiGraph(title=title, violation=violation)
        self.captions = captions
        self.columns: dict[str, int] = {}
        self.last: dict[str, str] = {}
        self.row = 1
        self.step = 0
        self.emphasis = ""
        self.count = 0

    def lifeline(self, name: str, role: str) -> None:
        node = f"lifeline:{name}"
        self.columns[name] = len(self.columns)
        self.graph.add_node(
            node,
            kind="lifeline",
            role=role,
            lifeline=name,
            label=name,
            caption=self.captions.get(name, ""),
            row=0,
            column=self.columns[name],
            step=0,
            highlight=False,
            emphasis="",
        )
        self.last[name] = node

    def begin(self, step: int, emphasis: str) -> None:
        self.step, self.emphasis = step, emphasis

    def next_row(self) -> None:
        self.row += 1

    def event(self, lifeline: str, kind: str, label: str, *, refused: bool = False) -> str:
        """A new event on ``lifeline`` in the current row, after the lifeline's previous event."""
        self.count += 1
        node = f"e{self.count}"
        self.graph.add_node(
            node,
            kind=kind,
            lifeline=lifeline,
            label=label,
            row=self.row,
            column=self.columns[lifeline],
            step=self.step,
            refused=refused,
            highlight=self.emphasis == "violation",
            emphasis=self.emphasis,
        )
        self.graph.add_edge(self.last[lifeline], node, kind="order", label="", step=self.step, highlight=False)
        self.last[lifeline] = node
        return node

    def message(self, source: str, target: str, kind: str, label: str, *, failed: bool = False) -> None:
        self.graph.add_edge(
            source, target, kind=kind, label=label, step=self.step, failed=failed,
            highlight=self.emphasis == "violation", emphasis=self.emphasis,
        )


# --------------------------------------------------------------------------------------------
# Mermaid
