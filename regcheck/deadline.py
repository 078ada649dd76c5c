"""One deadline for a whole command: made when the command starts, asked by each stage for the time left.

``--timeout T`` bounds a command, not each of its stages: every stage (a check, the distinct causes,
an explanation, a diagnosis's settings, a sweep's configurations) gets :meth:`Deadline.left`, and a
stage that finds no time left reports ``unknown`` with :data:`REASON` instead of starting. The
command then ends within T plus :data:`GRACE_S` (what is left of the work after the deadline:
stopping the engines, writing the results); :func:`backstop` ends the process there, should a stage
not look at the clock in time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

GRACE_S = 5.0
"""Seconds a command may run past its ``--timeout``: the stated grace (``--help`` and the docs say "T + 5 s")."""
REASON = "timeout"
"""The reason a stage that the deadline stopped, or never let start, gives with its ``unknown``."""


class OutOfTime(Exception):
    """A stage that cannot give a partial answer (an explanation, which must be 1-minimal) ran out of time."""


class Deadline:
    """A moment on the monotonic clock by which a command must be done (``None``: no limit)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.at = None if seconds is None else time.monotonic() + seconds

    def left(self) -> float | None:
        """Seconds until the deadline (0 once it has passed), or None without a limit."""
        return None if self.at is None else max(self.at - time.monotonic(), 0.0)

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return self.at is not None and time.monotonic() >= self.at

    def within(self, seconds: float | None) -> float | None:
        """``seconds``, or the time left if that is less: a stage's own limit cut to the command's."""
        left = self.left()
        if left is None:
            return seconds
        return left if seconds is None else min(seconds, left)

    def sooner(self, share: float, most: float) -> Deadline:
        """A deadline ``share`` of this one's seconds earlier (at most ``most`` seconds): a stage's, leaving the rest
        of the command its time (a report's diagnosis leaves the report's writing some)."""
        sooner = Deadline(None)
        if self.at is not None and self.seconds is not None:
            cut = min(share * self.seconds, most)
            sooner.seconds, sooner.at = self.seconds - cut, self.at - cut
        return sooner

    def wall(self) -> float | None:
        """The deadline on the wall clock (``time.time()``), for work done in other processes or machines."""
        left = self.left()
        return None if left is None else time.time() + left

    def check(self, what: str) -> None:
        """Raise :class:`OutOfTime` naming ``what`` once the deadline has passed."""
        if self.expired():
            raise OutOfTime(f"{REASON}: {what} was not finished within {self.seconds:g} s")


def time_left(wall: float | None, seconds: float) -> float:
    """``seconds``, cut to what is left before ``wall`` (a :meth:`Deadline.wall` reading; None: no cut):
    the timeout of a stage that runs in another process, which cannot share the command's monotonic clock."""
    return seconds if wall is None else min(seconds, max(wall - time.time(), 0.0))


def backstop(deadline: Deadline, expire: Callable[[], None], grace: float = GRACE_S) -> Callable[[], None]:
    """Call ``expire`` (which ends the process) ``grace`` seconds after ``deadline``, unless the returned
    function is called first: the limit holds even where a stage does not look at the clock in time."""
    left = deadline.left()
    if left is None:
        return lambda: None
    timer = threading.Timer(left + grace, expire)
    timer.daemon = True
    timer.start()
    return timer.cancel


__all__ = ["GRACE_S", "REASON", "Deadline", "OutOfTime", "backstop", "time_left"]
