"""Tables for the terminal that break lines between words, never inside one, at any width.

rich narrows a table's widest columns until it fits, cutting words ("ImpersonateLogge/dOnUser").
:class:`WordTable` gives each column at least its longest word and shares the rest; where even the
longest words do not fit side by side, it prints each row as a record instead.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Column, Table
from rich.text import Text

UNBOUNDED = 1_000_000
"""A width no table reaches: its columns measured at it are their longest word and longest line, uncut."""


class WordTable(Table):
    """A table whose lines break between words, never inside one ("ImpersonateLoggedOnUser" stays whole).

    Each column is at least as wide as its longest word and the width left over goes to the columns whose
    text would wrap; where even the longest words do not fit side by side, each row is printed as a
    record, one "column: value" line per cell, wrapped between words. With ``fold_headers`` a header's words
    may be cut (a matrix whose headers are long names), its cells' never."""

    def __init__(self, *args: Any, fold_headers: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fold_headers = fold_headers

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        widest = options.max_width if self.width is None else min(self.width, options.max_width)
        unbounded = options.update_width(UNBOUNDED)
        ranges = [_measure(console, unbounded, column, whole_header=not self.fold_headers) for column in self.columns]
        frame = Measurement.get(console, unbounded, self).maximum - sum(r.maximum for r in ranges)
        room = widest - frame
        if sum(r.maximum for r in ranges) <= room or any(column.width is not None for column in self.columns):
            yield from super().__rich_console__(console, options)
        elif sum(r.minimum for r in ranges) <= room:
            yield from self._with_widths(console, options, _share(room, ranges))
        else:
            yield from self._records(console)

    def _with_widths(self, console: Console, options: ConsoleOptions, widths: list[int]) -> RenderResult:
        """The table drawn with these content widths, one per column."""
        for column, width in zip(self.columns, widths, strict=True):
            column.width = width
        try:
            lines = list(super().__rich_console__(console, options))
        finally:
            for column in self.columns:
                column.width = None
        yield from lines

    def _records(self, console: Console) -> RenderResult:
        """Each row as a record: its first cell as a heading, then one indented line per other cell that is not empty."""
        if self.title is not None:
            yield _text(console, self.title)
        for index, row in enumerate(self.rows):
            cells = [_text(console, list(column.cells)[index]) for column in self.columns]
            headers = [_text(console, column.header) for column in self.columns]
            record = Text(style=row.style or "")
            record.append_text(Text.assemble(headers[0], " ", cells[0]))
            for header, cell in zip(headers[1:], cells[1:], strict=True):
                if cell.plain:  # an empty cell says nothing in a record
                    record.append_text(Text.assemble("\n  ", header, ": ", cell))
            yield record


def _text(console: Console, cell: RenderableType) -> Text:
    """A cell as text, markup read as the table reads it."""
    if isinstance(cell, Text):
        return cell
    return console.render_str(cell) if isinstance(cell, str) else Text(str(cell))


def _measure(console: Console, options: ConsoleOptions, column: Column, *, whole_header: bool) -> Measurement:
    """A column's least width (its longest word, the header's too if it stays whole, and its ``min_width``) and
    its longest line, header included."""
    least = column.min_width or 0
    cells = [Measurement.get(console, options, cell) for cell in column.cells]
    header = Measurement.get(console, options, column.header)
    words = [m.minimum for m in cells] + ([header.minimum] if whole_header else [])
    return Measurement(max([least, *words]), max([least, header.maximum, *(m.maximum for m in cells)]))


def _share(room: int, ranges: list[Measurement]) -> list[int]:
    """Content widths: each column its longest word, then one more at a time to each column still short of
    its longest line, until the room is used."""
    widths = [r.minimum for r in ranges]
    left = room - sum(widths)
    while left > 0:
        short = [i for i, r in enumerate(ranges) if widths[i] < r.maximum]
        if not short:
            break
        for i in short[:left]:
            widths[i] += 1
        left -= min(left, len(short))
    return widths


__all__ = ["WordTable"]
