"""Traces as plain-text step tables: by default only what changed at each step, or every state in full.

One row per step, with the step's labels (thread, message, the security context carried, the
association, the cache event, the result) and the variables the step changed, ``name: old -> new``.
With ``full=True`` every state follows its step, all variables, changed ones marked ``*``.
Association names (GUIDs) are a protocol's words, so they come in as a parameter, one per step.
"""

from __future__ import annotations

from collections.abc import Sequence

from regcheck.core.expr import Value
from regcheck.core.result import Trace
from regcheck.render.states import show_value

__all__ = ["changed_words", "changes", "initial_state", "step_rows", "step_table"]

COLUMNS = ("step", "thread", "action", "message", "as", "assoc", "cache", "result")


def changes(trace: Trace) -> list[list[tuple[str, Value, Value]]]:
    """For each step, the variables it changed: (name, before, after), in the trace's variable order."""
    return [
        [(n, before[n], after[n]) for n in trace.vars if before[n] != after[n]]
        for before, after in zip(trace.states, trace.states[1:])
    ]


def step_table(trace: Trace, *, full: bool = False, associations: Sequence[str] | None = None) -> str:
    """The trace as a text table; ``associations`` names each step's association (default: its number)."""
    rows = step_rows(trace, associations)
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS)]
    out = [_cells(COLUMNS, widths) + ("" if full else "  changed")]
    out.append(_cells(("0", "(initial state)"), widths[:1] + [0]))
    if full:
        out += _state_lines(trace, 0, set(), widths[0])
    else:
        out.append(" " * (widths[0] + 2) + initial_state(trace))
    for index, (row, changed) in enumerate(zip(rows, changes(trace)), start=1):
        if full:
            out.append(_cells(row, widths))
            out += _state_lines(trace, index, {n for n, _, _ in changed}, widths[0])
        else:
            out.append(f"{_cells(row, widths)}  {changed_words(changed)}")
    if trace.loop is not None:
        out.append(f"loop: back to state {trace.loop}")
    return "\n".join(line.rstrip() for line in out) + "\n"


def initial_state(trace: Trace) -> str:
    """The initial state, every variable: ``name=value, ...``."""
    return ", ".join(f"{n}={show_value(trace.states[0][n])}" for n in trace.vars)


def changed_words(changed: Sequence[tuple[str, Value, Value]]) -> str:
    """What one step changed: ``name: old -> new, ...``, or ``(no change)``."""
    return ", ".join(f"{n}: {show_value(a)} -> {show_value(b)}" for n, a, b in changed) or "(no change)"


def step_rows(trace: Trace, associations: Sequence[str] | None = None) -> list[tuple[str, ...]]:
    """One row of :data:`COLUMNS` per step; ``associations`` names each step's association (default: its number)."""
    if associations is not None and len(associations) != len(trace.steps):
        raise ValueError(f"{len(associations)} association names for {len(trace.steps)} steps")
    rows: list[tuple[str, ...]] = []
    for index, step in enumerate(trace.steps):
        labels = step.labels
        number = int(labels.get("association", 0) or 0)
        assoc = associations[index] if associations is not None else (str(number) if number else "")
        rows.append(
            (
                str(index + 1),
                str(labels.get("thread", "")),
                step.label,
                str(labels.get("message", step.action)),
                _dash(labels.get("context")),
                assoc or "-",
                _dash(labels.get("cache")),
                _dash(labels.get("result")),
            )
        )
    return rows


def _cells(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths))


def _dash(value: Value | None) -> str:
    return "-" if value is None or value == "" else str(value)


def _state_lines(trace: Trace, index: int, changed: set[str], indent: int) -> list[str]:
    state = trace.states[index]
    return [f"{' ' * (indent + 2)}{'*' if n in changed else ' '} {n} = {show_value(state[n])}" for n in trace.vars]
