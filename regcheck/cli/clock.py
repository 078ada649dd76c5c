"""The one deadline of a command, made from its ``--timeout`` when it starts, and the backstop behind it.

Each stage of the command asks the deadline for the time left (``regcheck.deadline``); should one
still run ``GRACE_S - 1`` seconds after it, the backstop prints one line and ends the process with
the exit code of an unknown verdict, its engines' processes with it (they die with their parent:
``regcheck.children``), so that ``--timeout T`` ends every command within T + ``GRACE_S``.
"""

from __future__ import annotations

import os

import click

from regcheck.cli.exits import EXIT_UNKNOWN
from regcheck.deadline import GRACE_S, REASON, Deadline, backstop

MARGIN_S = 1.5
"""The backstop fires this long before the grace ends: time for the process and its children to exit."""
HELP = (f"Seconds T for the whole command: what is not decided by then is unknown (timeout); it ends within "
        f"T + {GRACE_S:g} s.")
"""The ``--timeout`` help of every command that it bounds."""


def start(timeout: float) -> Deadline:
    """The command's deadline, ``timeout`` seconds from now, with its backstop armed until the command ends."""
    deadline = Deadline(timeout)
    cancel = backstop(deadline, lambda: _expire(timeout), grace=GRACE_S - MARGIN_S)
    context = click.get_current_context(silent=True)
    if context is not None:
        context.call_on_close(cancel)
    return deadline


def _expire(timeout: float) -> None:
    """End the process: the command ran past its deadline and its grace. Written with one system call, so
    that no lock the main thread may hold (a console's) can delay it."""
    line = (f"error: {REASON}: the command did not finish within --timeout {timeout:g} s and its {GRACE_S:g} s "
            "grace; its verdicts are unknown\n")
    os.write(2, line.encode())
    os._exit(EXIT_UNKNOWN)


__all__ = ["HELP", "start"]
