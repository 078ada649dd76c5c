"""Limits on what a user may ask of a check, validated once for the CLI and the notebook API alike.

The timeout, the depth, the engine and solver names and the number of processes: each is checked
here, strictly typed (``depth="3"`` and ``depth=True`` are refused, not coerced), so that
``regcheck check --depth -3`` and the notebook's ``check(depth=-3)`` give the same one-line error.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from regcheck.display import did_you_mean, shown
from regcheck.errors import InvalidArgument

MAX_TIMEOUT = 1e6
"""Seconds (about 11.6 days): more than any check needs, and within what every wait of regcheck can take
(a poll of the engines' processes takes at most 2**31 milliseconds; z3's timeout, 2**32)."""
MAX_CAUSES = 20
"""The most counterexamples of distinct causes one property may ask for (each is a search of its own)."""
MAX_DEPTH = 500
"""The deepest bound a check may ask for: BMC's unrolling grows with it (memory) as explicit search does not."""


def check_timeout(seconds: object, name: str = "timeout") -> float:
    """``seconds`` if it is a usable timeout: a finite number above 0 and at most :data:`MAX_TIMEOUT`."""
    if not (isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and math.isfinite(seconds)
            and 0 < seconds <= MAX_TIMEOUT):
        raise InvalidArgument(
            f"{name}: expected a positive number of seconds, at most {MAX_TIMEOUT:.0f}, got {shown(seconds)}"
        )
    return float(seconds)


def check_whole(value: object, name: str, low: int, high: int) -> int:
    """``value`` if it is a whole number (not a bool, not a string) from ``low`` to ``high``."""
    if not (isinstance(value, int) and not isinstance(value, bool) and low <= value <= high):
        raise InvalidArgument(f"{name}: expected a whole number from {low} to {high}, got {shown(value)}")
    return value


def check_depth(depth: object, name: str = "depth") -> int:
    """``depth`` if it is a usable bound on steps: a whole number from 0 to :data:`MAX_DEPTH`."""
    return check_whole(depth, name, 0, MAX_DEPTH)


def check_choice(value: object, choices: Sequence[str], name: str, what: str) -> str:
    """``value`` if it is one of ``choices`` (a ``what``: "engine", "solver"), else one line naming them."""
    if not isinstance(value, str) or value not in choices:
        hint = did_you_mean(value, choices) if isinstance(value, str) else ""
        raise InvalidArgument(f"{name}: unknown {what} {shown(value)}; choose one of {', '.join(choices)}{hint}")
    return value


def check_settings(engine: object, recheck: object, depth: object, timeout: object, *, engines: Sequence[str],
                   solvers: Sequence[str], prefix: str = "--") -> None:
    """The checks every front end makes of its engine settings (``prefix``: ``--`` for options, empty for
    the notebook's keyword arguments)."""
    check_choice(engine, engines, f"{prefix}engine", "engine")
    check_choice(recheck, solvers, f"{prefix}recheck", "solver")
    check_depth(depth, f"{prefix}depth")
    check_timeout(timeout, f"{prefix}timeout")


def cores() -> int:
    """The cores this process may run on (fewer than the machine's when it is confined)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def check_jobs(jobs: object, name: str = "--jobs") -> int | None:
    """``jobs`` processes, at most one per core (:func:`cores`); 0 means one per core (None is returned).
    More processes than cores only share them, each with its own interpreter's memory."""
    most = cores()
    if not (isinstance(jobs, int) and not isinstance(jobs, bool) and 0 <= jobs <= most):
        raise InvalidArgument(f"{name}: expected a whole number of processes from 0 (one per core) to {most} (the "
                              f"cores regcheck may use here), got {shown(jobs)}")
    return jobs or None


__all__ = ["MAX_CAUSES", "MAX_DEPTH", "MAX_TIMEOUT", "check_choice", "check_depth", "check_jobs", "check_settings",
           "check_timeout", "check_whole", "cores"]
