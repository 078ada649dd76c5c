"""Limits on what a user may ask of a check, validated once for the CLI and the notebook API alike."""

from __future__ import annotations

import math

from regcheck.display import shown
from regcheck.errors import InvalidArgument

MAX_TIMEOUT = 1e6
"""Seconds (about 11.6 days): more than any check needs, and within what every wait of regcheck can take
(a poll of the engines' processes takes at most 2**31 milliseconds; z3's timeout, 2**32)."""


def check_timeout(seconds: float, name: str = "timeout") -> float:
    """``seconds`` if it is a usable timeout: a finite number above 0 and at most :data:`MAX_TIMEOUT`."""
    if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and 0 < seconds <= MAX_TIMEOUT):
        raise InvalidArgument(
            f"{name}: expected a positive number of seconds, at most {MAX_TIMEOUT:.0f}, got {shown(seconds)}"
        )
    return float(seconds)
