"""The consoles every command prints to, and the spinner that shows an engine's progress.

``out`` is standard output (when it is not a terminal, ``COLUMNS`` wide if that is set, else 140, so
that piped output does not depend on the terminal it came from); ``err`` is standard error. Tables
are :class:`WordTable`: at any width they break lines between words, never inside one. A closed pipe on either is
left to :func:`regcheck.cli.main`, which ends the run with exit 141, never rich's exit 1 (the code
of a violation).

Text from scenario and trace files is printed literally (``markup=False``, or escaped), with control
characters made visible (``regcheck.display``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Column, Table
from rich.text import Text


class _Console(Console):
    """A console that leaves a closed pipe to :func:`regcheck.cli.main` (rich's own exits 1, a violation's code)."""

    def on_broken_pipe(self) -> None:
        """Stop writing, and let the closed pipe end the run."""
        self.quiet = True
        raise BrokenPipeError


PIPED_WIDTH = 140
"""Columns of output that is not a terminal's, unless ``COLUMNS`` gives a usable width."""


def _usable(text: str | None, least: int) -> int | None:
    """A width or height given in the environment, if it is ASCII digits from ``least`` to 10,000."""
    if text is None or not (text.isascii() and text.isdigit()) or not least <= int(text) <= 10_000:
        return None
    return int(text)


ENVIRON = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
"""The environment the consoles read: ``COLUMNS`` and ``LINES`` only when usable (rich takes ``²`` for digits
and fails on it, and ``0`` for a width)."""
ENVIRON.update({k: os.environ[k] for k, least in (("COLUMNS", 20), ("LINES", 1))
                if _usable(os.environ.get(k), least) is not None})

out = _Console(highlight=False, _environ=ENVIRON)
if not out.is_terminal:
    out = _Console(highlight=False, width=_usable(ENVIRON.get("COLUMNS"), 20) or PIPED_WIDTH, _environ=ENVIRON)
err = _Console(stderr=True, highlight=False, soft_wrap=True, _environ=ENVIRON)


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


class _Status:
    """The spinner's line: each progress report replaces the last."""

    def __init__(self) -> None:
        self.status = err.status("checking ...")

    def __call__(self, message: str) -> None:
        self.status.update(message)


@contextmanager
def spinner(enabled: bool) -> Iterator[Any]:
    """A spinner with the engine's progress on stderr, when stderr is a terminal."""
    if not (enabled and err.is_terminal):
        yield None
        return
    status = _Status()
    with status.status:
        yield status


__all__ = ["WordTable", "err", "out", "spinner"]
