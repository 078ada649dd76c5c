"""The consoles every command prints to, and the spinner that shows an engine's progress.

``out`` is standard output (when it is not a terminal, ``COLUMNS`` wide if that is set, else 140, so
that piped output does not depend on the terminal it came from); ``err`` is standard error. A closed
pipe on either is left to :func:`regcheck.cli.main`, which ends the run with exit 141, never rich's
exit 1 (the code of a violation). Tables are :class:`regcheck.cli.tables.WordTable`.

Text from scenario and trace files is printed literally (``markup=False``, or escaped), with control
characters made visible (``regcheck.display``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console


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


__all__ = ["err", "out", "spinner"]
