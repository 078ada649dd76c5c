"""The exit codes of every ``regcheck`` command.

0 nothing violated (with ``check --all``: every verdict as the scenarios expect); 1 a
counterexample was found (with ``--all``: a verdict differs from its expectation; with
``--cross-check``: the engines disagree; for ``replay``: the trace does not conform; for
``diagnose``: the log is explained by an execution that violates a property); 2 bad input or usage;
3 a verdict is unknown; 4 an internal error (two engines contradict each other); 5 (``diagnose``)
no setting of the model explains the log; 130
interrupted (Ctrl-C or SIGTERM); 141 standard output was closed before regcheck finished writing (``regcheck check |
head``), as a shell reports a command killed by SIGPIPE, and without a message.
"""

from __future__ import annotations

EXIT_OK, EXIT_VIOLATED, EXIT_USAGE, EXIT_UNKNOWN, EXIT_INTERNAL = 0, 1, 2, 3, 4
EXIT_UNEXPLAINED = 5
"""``diagnose``: no setting of the varied switches makes the log a behaviour of the model."""
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 128 + 13
"""Standard output closed early: what a shell reports for a command that SIGPIPE ended."""

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_UNEXPLAINED",
    "EXIT_UNKNOWN",
    "EXIT_USAGE",
    "EXIT_VIOLATED",
]
