"""Engines: one module each, one signature.

``check(system, properties, options) -> list[CheckResult]``: one result per property, in the
order given. :class:`Options` says everything an engine may be told; each engine reads the
fields it understands and says in its docstring which. Engines never import the protocol model.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from regcheck.core.result import CheckResult, Progress
from regcheck.core.system import Property, TransitionSystem

DEFAULT_MAX_STATES = 2_000_000
"""The explicit engine's default limit on explored states, before it gives up with ``unknown``
(a few hundred bytes each)."""


@dataclass(frozen=True)
class Options:
    """What a check may be told: the bound, the time, where progress goes, and per-engine limits."""

    depth: int = 12  # bmc: the bound on steps; kinduction: the limit on k; pdr, houdini, explicit: unused
    timeout: float | None = None  # seconds, for the whole call
    progress: Progress | None = None
    recheck: str = "z3"  # pdr, houdini, kinduction: the solver that re-checks a certificate (z3 or cvc5)
    max_states: int = DEFAULT_MAX_STATES  # explicit: explored states before it gives up (unknown)
    max_depth: int | None = None  # explicit: a bound on steps (then bounded, not proved)
    symmetry: bool = True  # explicit: keep one state per orbit of interchangeable processes


class Engine(Protocol):
    def __call__(self, system: TransitionSystem, properties: Sequence[Property], options: Options) -> list[CheckResult]:
        ...


_MODULES: dict[str, str] = {
    "bmc": "regcheck.core.engines.bmc",
    "explicit": "regcheck.core.engines.explicit",
    "houdini": "regcheck.core.engines.houdini",
    "kinduction": "regcheck.core.engines.kinduction",
    "pdr": "regcheck.core.engines.pdr",
}
"""Engine name -> module exposing ``check``; modules load on first use, to keep start-up fast."""

NAMES: tuple[str, ...] = tuple(_MODULES)


def get(name: str) -> Engine:
    """The engine registered under ``name``."""
    return importlib.import_module(_MODULES[name]).check  # type: ignore[no-any-return]
