"""The state graph around a counterexample: its path, and the states one step off it.

A whole reachable-state graph is unreadable past a few dozen states; what a reader needs is the
counterexample's path and the choices that were open at each of its states. The graph here holds
the path's states (``path=True``, in order, ``index`` 0..n) and, when a successor function is
given, every successor of a path state (``path=False``): the alternatives the run did not take,
marked ``bad=True`` where they already violate the property. Successors come from the explicit
engine's graph when there is one, or from the transition system's concrete semantics
(:func:`system_successors`), which is what that engine explores too.

Node labels say what changed against the node's predecessor on the path (or, off the path, its
parent), so that each box is short; the full state is in the ``state`` attribute. Exported as DOT
(written here, no Graphviz needed) and GraphML (networkx); attributes are strings, integers and
booleans only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from io import BytesIO
from typing import TYPE_CHECKING

from regcheck.core.expr import Value
from regcheck.core.result import Trace
from regcheck.core.system import TransitionSystem

State = Mapping[str, Value]
Successors = Callable[[State], Iterable[tuple[str, State]]]
"""A state's successors: (action label, next state) pairs."""

if TYPE_CHECKING:
    import networkx as nx

_DOT_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOT_KEYWORDS = frozenset({"node", "edge", "graph", "digraph", "subgraph", "strict"})

__all__ = [
    "State",
    "Successors",
    "graph_successors",
    "show_value",
    "state_graph",
    "system_successors",
    "to_dot",
    "to_graphml",
]


def show_value(value: Value) -> str:
    """A value as ITF and TLA+ write it: ``true``/``false`` for booleans."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def system_successors(system: TransitionSystem) -> Successors:
    """Successors by the system's own concrete semantics (guard, then update), as the explicit engine explores."""

    def successors(state: State) -> Iterable[tuple[str, State]]:
        for action in system.enabled(state):
            yield action.label, system.apply(action, state)

    return successors


def graph_successors(graph: nx.DiGraph[tuple[Value, ...]], names: Sequence[str]) -> Successors:
    """Successors read off an explored graph whose nodes are state tuples (in ``names`` order)
    and whose edges list their action labels in ``actions``, as the explicit engine's ``explore`` gives."""

    def successors(state: State) -> Iterable[tuple[str, State]]:
        node = tuple(state[n] for n in names)
        if node not in graph:
            return
        for target, data in graph[node].items():
            for label in data.get("actions", (data.get("action", ""),)):
                yield label, dict(zip(names, target))

    return successors


def state_graph(
    trace: Trace,
    *,
    successors: Successors | None = None,
    bad: Callable[[State], bool] | None = None,
    max_nodes: int = 80,
    title: str = "",
) -> nx.DiGraph[str]:
    """The counterexample's path and (with ``successors``) its one-step neighbourhood, at most ``max_nodes`` states."""
    names = trace.vars
    import networkx as nx

    graph: nx.DiGraph[str] = nx.DiGraph(
        title=title or str(trace.meta.get("property", "trace")), truncated=False, steps=len(trace)
    )
    ids: dict[tuple[Value, ...], str] = {}

    def key(state: State) -> tuple[Value, ...]:
        return tuple(state[n] for n in names)

    def add(state: State, *, parent: State | None, on_path: bool, index: int) -> str:
        k = key(state)
        if k in ids:
            node = ids[k]
            if on_path and not graph.nodes[node]["path"]:
                graph.nodes[node].update(path=True, index=index)
            return node
        node = f"s{len(ids)}"
        ids[k] = node
        graph.add_node(
            node,
            label=_changes(parent, state, names) if parent is not None else "initial state",
            state=", ".join(f"{n}={show_value(state[n])}" for n in names),
            path=on_path,
            index=index if on_path else -1,
            bad=bool(bad(state)) if bad is not None else False,
        )
        return node

    last = len(trace.steps)
    previous = add(trace.states[0], parent=None, on_path=True, index=0)
    for number, step in enumerate(trace.steps, start=1):
        node = add(trace.states[number], parent=trace.states[number - 1], on_path=True, index=number)
        _edge(graph, previous, node, step.label, path=True, step=number, highlight=number == last)
        previous = node
    if trace.loop is not None:
        _edge(graph, previous, ids[key(trace.states[trace.loop])], "loop", path=True, step=0, highlight=False)
    if successors is not None:
        for state in trace.states:
            source = ids[key(state)]
            for label, nxt in successors(state):
                if key(nxt) not in ids and len(ids) >= max_nodes:
                    graph.graph["truncated"] = True
                    continue
                target = add(nxt, parent=state, on_path=False, index=-1)
                if not graph.has_edge(source, target):
                    _edge(graph, source, target, label, path=False, step=0, highlight=False)
                elif label not in graph.edges[source, target]["label"].split(" | "):
                    graph.edges[source, target]["label"] += f" | {label}"
    return graph


def _edge(graph: nx.DiGraph[str], u: str, v: str, label: str, *, path: bool, step: int, highlight: bool) -> None:
    graph.add_edge(u, v, label=label, path=path, step=step, highlight=highlight)


def _changes(before: State, after: State, names: tuple[str, ...]) -> str:
    changed = [f"{n}={show_value(after[n])}" for n in names if before[n] != after[n]]
    return "\n".join(changed) if changed else "(no change)"


# --------------------------------------------------------------------------------------------
# DOT and GraphML


def _quote(text: object) -> str:
    """A DOT quoted string: quotes and backslashes escaped, newlines as DOT's ``\\n``."""
    value = show_value(text) if isinstance(text, (bool, int, str)) else str(text)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attributes(data: Mapping[str, object], style: Mapping[str, str]) -> str:
    items = {**data, **style}
    return ", ".join(f"{_key(k)}={_quote(v)}" for k, v in items.items())


def _key(name: str) -> str:
    """An attribute name: bare when it is a plain DOT identifier (not a keyword), else quoted."""
    return name if _DOT_ID.fullmatch(name) and name.lower() not in _DOT_KEYWORDS else _quote(name)


def to_dot(graph: nx.DiGraph[str]) -> str:
    """A DOT ``digraph`` of ``graph`` with its attributes, styled so that Graphviz shows the path and the violation.

    Path states and edges are bold, violating states red, the violating step's edge red.
    """
    lines = [f"digraph {_quote(graph.graph.get('title', 'graph'))} {{"]
    lines.append('  graph [rankdir="LR", fontname="Helvetica"];')
    lines.append('  node [shape="box", style="rounded,filled", fillcolor="white", fontname="Helvetica"];')
    lines.append('  edge [fontname="Helvetica", fontsize="10"];')
    for node, data in graph.nodes(data=True):
        style: dict[str, str] = {}
        if data.get("bad"):
            style.update(fillcolor="#f8c8c8", color="#c00000")
        elif data.get("path"):
            style.update(fillcolor="#dbe9f6")
        if data.get("path"):
            style["penwidth"] = "2"
        lines.append(f"  {_quote(node)} [{_attributes(data, style)}];")
    for u, v, data in graph.edges(data=True):
        style = {}
        if data.get("path"):
            style["penwidth"] = "2"
        if data.get("highlight"):
            style.update(color="#c00000", fontcolor="#c00000")
        lines.append(f"  {_quote(u)} -> {_quote(v)} [{_attributes(data, style)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_graphml(graph: nx.DiGraph[str]) -> bytes:
    """GraphML of ``graph`` (networkx's writer), as bytes ready for an atomic write."""
    buffer = BytesIO()
    import networkx as nx

    nx.write_graphml(graph, buffer)
    return buffer.getvalue()
