"""The exception hierarchy: one root, builtin-compatible subclasses.

A property violation is a result, never an exception; these are for bad input and internal faults.
"""

from __future__ import annotations


class RegcheckError(Exception):
    """Root of every error regcheck raises on purpose."""


class InvalidArgument(RegcheckError, ValueError):
    """A user-supplied value (scenario, switch, property name, file) is not acceptable."""


class InvalidModel(RegcheckError, TypeError):
    """A transition system or expression is malformed (a bug in the model, not in the input)."""


class TraceFormatError(InvalidArgument):
    """A trace file does not follow the Informal Trace Format or does not fit the system."""


class EngineDisagreement(RegcheckError):
    """Two engines reached contradictory decisive verdicts on one property: a bug, never a verdict."""
