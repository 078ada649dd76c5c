"""A sequence chart (``regcheck.render.chart``) as Mermaid ``sequenceDiagram`` text, which GitHub and most
Markdown tools render: emphasised steps in coloured bands, identity changes, cache events and local actions
as notes, failed responses as ``--x`` arrows."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from regcheck.render.chart import alone, heads, lifelines

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["mermaid_text", "to_mermaid"]

_UNSAFE = re.compile(r"[#;%\n\r<>]")
_ENTITIES = {"#": "#35;", ";": "#59;", "%": "#37;", "<": "#lt;", ">": "#gt;", "\n": " ", "\r": " "}
_BANDS = {"violation": "rgb(255, 210, 210)", "cause": "rgb(255, 236, 200)", "loop": "rgb(214, 230, 250)"}


def mermaid_text(text: str) -> str:
    """Text made safe for a Mermaid message or note: characters the grammar reserves become entity codes."""
    return _UNSAFE.sub(lambda m: _ENTITIES[m.group()], text).strip() or "-"


def to_mermaid(chart: nx.DiGraph[str]) -> str:
    """The chart as Mermaid ``sequenceDiagram`` text (renders in GitHub and most Markdown tools).

    Emphasised steps are wrapped in coloured ``rect`` blocks; identity changes, cache events and
    local actions are notes on their lifeline; failed responses use the ``--x`` arrow.
    """
    columns = lifelines(chart)
    ids = {name: f"P{index}" for index, (name, _) in enumerate(columns, start=1)}
    lines = ["sequenceDiagram"]
    for head in heads(chart):
        alias = head["label"] + (f" ({head['caption']})" if head["caption"] else "")
        lines.append(f"    participant {ids[head['lifeline']]} as {mermaid_text(alias)}")
    by_row: dict[int, list[str]] = {}
    for node, data in chart.nodes(data=True):
        if data["kind"] != "lifeline":
            by_row.setdefault(data["row"], []).append(node)
    open_band = 0
    for row in sorted(by_row):
        nodes = sorted(by_row[row], key=lambda n: chart.nodes[n]["column"])
        step, word = chart.nodes[nodes[0]]["step"], chart.nodes[nodes[0]]["emphasis"]
        if open_band and open_band != step:
            lines.append("    end")
            open_band = 0
        if word in _BANDS and not open_band:
            lines.append(f"    rect {_BANDS[word]}")
            lines.append(f"    Note left of {ids[columns[0][0]]}: step {step}: {word}")
            open_band = step
        for node in nodes:
            data = chart.nodes[node]
            who = ids[data["lifeline"]]
            if data["kind"] in ("identity", "cache", "local") or (data["kind"] == "server" and alone(chart, node)):
                lines.append(f"    Note over {who}: {mermaid_text(_note(data))}")
            for _, target, edge in chart.out_edges(node, data=True):
                if edge["kind"] == "order":
                    continue
                arrow = "->>" if edge["kind"] == "request" else ("--x" if edge["failed"] else "-->>")
                numbered = edge["kind"] == "request" and data["kind"] == "send"
                text = f"{step}. {edge['label']}" if numbered else edge["label"]
                lines.append(f"    {who}{arrow}{ids[chart.nodes[target]['lifeline']]}: {mermaid_text(text)}")
    if open_band:
        lines.append("    end")
    if chart.graph.get("loop") and ids:
        span = ids[columns[0][0]] + ("," + ids[columns[-1][0]] if len(columns) > 1 else "")
        lines.append(f"    Note over {span}: from step {chart.graph['loop']} on, the run repeats for ever")
    if chart.graph.get("note") and ids:
        span = ids[columns[0][0]] + ("," + ids[columns[-1][0]] if len(columns) > 1 else "")
        lines.append(f"    Note over {span}: {mermaid_text(chart.graph['note'])}")
    return "\n".join(lines) + "\n"


def _note(data: Mapping[str, object]) -> str:
    text = str(data["label"])
    if data["kind"] in ("local", "server"):
        return f"{data['step']}. {text}"
    return text
