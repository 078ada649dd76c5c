"""Drawings of sequence charts and state graphs, as SVG or PNG bytes (matplotlib, Agg).

matplotlib is imported inside the functions: it takes most of a second to load, and
``regcheck check`` must start fast when no drawing is asked for. Figures are drawn on matplotlib's
non-interactive Agg canvas directly (no pyplot, no global backend switch), and SVG keeps its text
as ``<text>`` elements so that the labels can be searched and tested. Output is deterministic: no
date in the metadata, fixed element ids.
"""

from __future__ import annotations

import textwrap
from io import BytesIO
from typing import TYPE_CHECKING, Any

from regcheck.render.chart import alone

if TYPE_CHECKING:
    import networkx as nx
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FORMATS = ("svg", "png")

COLUMN = 3.1  # inches between lifelines
ROW = 0.5  # inches between rows of events
MARGIN = 0.9  # inches left of the first lifeline, for step numbers
FONT = 8.5
CAPTION = 32  # characters of a lifeline's caption per line: a header box stays narrower than a column
ROLE_COLOURS = {"thread": "#dbe9f6", "gateway": "#fde2c8", "server": "#e6e6e6"}
BANDS = {"violation": ("#ffd2d2", "violation"), "cause": ("#ffecc8", "cause"), "loop": ("#d6e6fa", "repeats")}
RED = "#c00000"

__all__ = ["FORMATS", "chart_figure", "states_figure", "render"]


def render(figure: Figure, fmt: str) -> bytes:
    """The figure as ``svg`` or ``png`` bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"cannot draw to {fmt!r}; formats: {', '.join(FORMATS)}")
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "regcheck"}):
        metadata = {"Date": None} if fmt == "svg" else {"Software": "regcheck"}
        figure.savefig(buffer, format=fmt, dpi=120, metadata=metadata)
    return buffer.getvalue()


def _y(row: int) -> float:
    return 0.1 - row * ROW


def chart_figure(chart: nx.DiGraph[str]) -> Figure:
    """Draw a sequence chart (``regcheck.render.chart``): lifelines, events, messages, emphasised steps."""
    from matplotlib.figure import Figure

    heads = sorted((d for _, d in chart.nodes(data=True) if d["kind"] == "lifeline"), key=lambda d: d["column"])
    rows = max((d["row"] for _, d in chart.nodes(data=True)), default=0)
    width = MARGIN + COLUMN * max(len(heads), 1) + 0.2
    note = textwrap.wrap(chart.graph.get("note", ""), width=int(width * 13))
    foot = 0.2 * len(note) + (0.2 if note else 0.0)
    height = ROW * (rows + 1) + 1.3 + 0.2 + foot
    figure = Figure(figsize=(width, height))
    ax = figure.add_axes((0, 0, 1, 1))
    left = -MARGIN - COLUMN / 2
    ax.set_xlim(left, COLUMN * (len(heads) - 0.5) + 0.2)
    ax.set_ylim(_y(rows + 1) - 0.2 - foot, 1.3)
    if note:
        ax.text(left + 0.15, _y(rows + 1) - 0.15, "\n".join(note), fontsize=FONT + 0.5, va="top", linespacing=1.4)
    ax.axis("off")
    ax.text(
        left + 0.15, 1.1, chart.graph.get("title", ""), fontsize=FONT + 3, fontweight="bold",
        va="top",
    )
    _bands(ax, chart)
    bottom = _y(rows + 1)
    for head in heads:
        x = head["column"] * COLUMN
        ax.plot([x, x], [0.3, bottom], linestyle=(0, (4, 3)), color="#888888", linewidth=0.8, zorder=1)
        caption = "\n".join(textwrap.wrap(head["caption"], CAPTION))  # a long caption on lines of its own
        text = head["label"] + (f"\n{caption}" if caption else "")
        ax.text(
            x, 0.45, text, ha="center", va="center", fontsize=FONT + 1, fontweight="bold", zorder=4,
            bbox={"boxstyle": "round,pad=0.4", "facecolor": ROLE_COLOURS.get(head["role"], "white"),
                  "edgecolor": "#555555"},
        )
    boxes = {
        node: _event(ax, data)
        for node, data in chart.nodes(data=True)
        if data["kind"] in ("identity", "cache", "local") or (data["kind"] == "server" and alone(chart, node))
    }
    for u, v, data in chart.edges(data=True):
        if data["kind"] != "order":
            _arrow(ax, chart, u, v, data, boxes)
    return figure


def _bands(ax: Axes, chart: nx.DiGraph[str]) -> None:
    """Shade each emphasised step's rows, and number every step in the left margin."""
    spans: dict[int, list[int]] = {}
    words: dict[int, str] = {}
    for _, data in chart.nodes(data=True):
        if data["kind"] != "lifeline":
            spans.setdefault(data["step"], []).append(data["row"])
            words[data["step"]] = data["emphasis"]
    left = -MARGIN - COLUMN / 2
    for step, rows in sorted(spans.items()):
        top, low = _y(min(rows)) + ROW / 2, _y(max(rows)) - ROW / 2
        word = words[step]
        if word in BANDS:
            colour, text = BANDS[word]
            ax.axhspan(low, top, color=colour, zorder=0)
            ax.text(left + 0.15, (top + low) / 2 - 0.16, text, fontsize=FONT, color=RED, fontweight="bold", va="center")
        ax.text(left + 0.15, (top + low) / 2 + 0.05, f"step {step}", fontsize=FONT, color="#444444", va="center")


def _event(ax: Axes, data: dict[str, Any]) -> Any:
    """Draw one event's box on its lifeline: who the thread runs as, a cache event, a local action."""
    kind = data["kind"]
    x, y = data["column"] * COLUMN, _y(data["row"])
    style = {"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": "#666666"}
    weight, colour = "normal", "black"
    if kind == "identity":
        style.update(facecolor="#fff4b8", edgecolor="#b59b00")
    elif kind == "cache":
        refused = data.get("refused", False)
        style.update(facecolor="#f8c8c8" if refused else "#d9f0d9", edgecolor=RED if refused else "#3c8d3c")
        weight = "bold" if refused else "normal"
        colour = RED if refused else "black"
    elif kind == "server":
        style.update(facecolor="#eeeeee")
    font: dict[str, Any] = {"fontsize": FONT, "fontweight": weight, "color": colour}
    return ax.text(x, y, data["label"], ha="center", va="center", zorder=5, bbox=style, **font)


def _arrow(ax: Axes, chart: nx.DiGraph[str], u: str, v: str, data: dict[str, Any], boxes: dict[str, Any]) -> None:
    source, target = chart.nodes[u], chart.nodes[v]
    y = _y(target["row"])
    x0, x1 = source["column"] * COLUMN, target["column"] * COLUMN
    failed, hot = data.get("failed", False), data.get("highlight", False)
    colour = RED if failed or hot else "#1f3b5a"
    box_a = boxes.get(u)
    box_b = boxes.get(v)
    ax.annotate(
        "", xy=(x1, y), xytext=(x0, y), zorder=3,
        arrowprops={
            "arrowstyle": "-|>", "color": colour, "linewidth": 2.0 if hot else 1.2,
            "linestyle": "solid" if data["kind"] == "request" else (0, (5, 3)),
            "patchA": box_a.get_bbox_patch() if box_a is not None and target["row"] == source["row"] else None,
            "patchB": box_b.get_bbox_patch() if box_b is not None else None,
            "shrinkA": 2, "shrinkB": 2, "mutation_scale": 12,
        },
    )
    label = data["label"]
    if data["kind"] == "request" and source["kind"] == "send":
        label = f"{data['step']}. {label}"
    ax.text(
        (x0 + x1) / 2, y + 0.14, label, ha="center", va="bottom", fontsize=FONT, zorder=4,
        color=RED if failed else "black", fontweight="bold" if failed or hot else "normal",
        bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.75},
    )


def states_figure(graph: nx.DiGraph[str]) -> Figure:
    """Draw a state graph (``regcheck.render.states``): the path left to right, each state's alternatives below it."""
    from matplotlib.figure import Figure

    position, spacing = _states_layout(graph)
    xs = [p[0] for p in position.values()]
    ys = [p[1] for p in position.values()]
    figure = Figure(figsize=(max(xs) - min(xs) + spacing + 0.6, max(ys) - min(ys) + 2.6))
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(min(xs) - spacing / 2 - 0.2, max(xs) + spacing / 2 + 0.4)
    ax.set_ylim(min(ys) - 0.9, max(ys) + 1.7)
    ax.axis("off")
    title = graph.graph.get("title", "")
    ax.text(min(xs) - spacing / 2, max(ys) + 1.5, title, fontsize=FONT + 3, fontweight="bold", va="top")
    boxes = {}
    for node, data in graph.nodes(data=True):
        bad, on_path = data["bad"], data["path"]
        face = "#f8c8c8" if bad else ("#dbe9f6" if on_path else "white")
        heading = node + (f"  (after step {data['index']})" if on_path and data["index"] else "")
        boxes[node] = ax.text(
            *position[node], f"{heading}\n{data['label']}", ha="center", va="center", fontsize=FONT - 1, zorder=4,
            color=RED if bad else "black",
            bbox={"boxstyle": "round,pad=0.35", "facecolor": face, "edgecolor": RED if bad else "#555555",
                  "linewidth": 2.0 if on_path else 0.8},
        )
    loops: dict[str, list[str]] = {}
    for u, v, data in graph.edges(data=True):
        if u == v:
            loops.setdefault(u, []).append(data["label"])
            continue
        hot, on_path = data["highlight"], data["path"]
        colour = RED if hot else ("#1f3b5a" if on_path else "#8a8a8a")
        consecutive = on_path or graph.nodes[v]["path"] is False
        ax.annotate(
            "", xy=position[v], xytext=position[u], zorder=3,
            arrowprops={"arrowstyle": "-|>", "color": colour, "linewidth": 2.0 if on_path else 0.9,
                        "patchA": boxes[u].get_bbox_patch(), "patchB": boxes[v].get_bbox_patch(),
                        "connectionstyle": "arc3,rad=0.0" if consecutive else "arc3,rad=-0.3",
                        "shrinkA": 2, "shrinkB": 2},
        )
        (x0, y0), (x1, y1) = position[u], position[v]
        ax.text(
            (x0 + x1) / 2, (y0 + y1) / 2 + (0.12 if on_path else 0.0), data["label"].replace("(", "\n("),
            ha="center", va="bottom" if on_path else "center", fontsize=FONT - 1.5, color=colour, zorder=5,
            fontweight="bold" if hot else "normal",
            bbox={"boxstyle": "square,pad=0.05", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
        )
    for node, labels in loops.items():
        x, y = position[node]
        ax.text(x, y + 0.62, "loops: " + ", ".join(labels), ha="center", va="bottom", fontsize=FONT - 1.5,
                color="#8a8a8a", zorder=5)
    return figure


def _states_layout(graph: nx.DiGraph[str]) -> tuple[dict[str, tuple[float, float]], float]:
    """Path states on a line, in order; each other state in a row below the path state it was first reached from."""
    path = [n for _, n in sorted((d["index"], n) for n, d in graph.nodes(data=True) if d["path"])]
    children: dict[str, list[str]] = {n: [] for n in path}
    placed = set(path)
    for node in path:
        for _, child in graph.out_edges(node):
            if child not in placed:
                children[node].append(child)
                placed.add(child)
    widest = max((len(c) for c in children.values()), default=0)
    gap = 1.8
    spacing = max(2.9, gap * widest + 0.3)
    position = {node: (index * spacing, 0.0) for index, node in enumerate(path)}
    for node, kids in children.items():
        for j, kid in enumerate(kids):
            position[kid] = (position[node][0] + (j - (len(kids) - 1) / 2) * gap, -1.7)
    for node in graph.nodes:
        position.setdefault(node, (0.0, -3.2))
    return position, spacing
