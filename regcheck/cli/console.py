"""The consoles every command prints to, and the spinner that shows an engine's progress.

``out`` is standard output (140 columns wide when it is not a terminal, so that piped output does
not depend on the terminal it came from); ``err`` is standard error. A closed pipe on either is
left to :func:`regcheck.cli.main`, which ends the run with exit 141, never rich's exit 1 (the code
of a violation).

Text from scenario and trace files is printed literally (``markup=False``, or escaped), with control
characters made visible (``regcheck.display``).
"""

from __future__ import annotations

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


out = _Console(highlight=False)
if not out.is_terminal:
    out = _Console(highlight=False, width=140)
err = _Console(stderr=True, highlight=False, soft_wrap=True)


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
