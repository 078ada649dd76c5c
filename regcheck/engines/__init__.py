"""Engines: one module each, one signature.

``check(system, properties, *, depth, timeout, progress) -> list[CheckResult]``, one result per
property, in the order given. Engines never import the protocol model.
"""

from __future__ import annotations

import importlib
import time
from typing import Any, Callable, Protocol, Sequence

from regcheck.result import CheckResult, Verdict
from regcheck.system import Property, TransitionSystem

Progress = Callable[[str], None]


class Engine(Protocol):
    def __call__(
        self,
        system: TransitionSystem,
        properties: Sequence[Property],
        *,
        depth: int,
        timeout: float | None,
        progress: Progress | None = None,
    ) -> list[CheckResult]: ...


def outcome(
    prop: Property, engine: str, verdict: Verdict, depth: int | None, start: float, **extra: Any
) -> CheckResult:
    """The result of checking ``prop``, timed from ``start`` (a ``time.monotonic()`` reading)."""
    return CheckResult(
        property=prop.name,
        kind=prop.kind.value,
        verdict=verdict,
        engine=engine,
        depth=depth,
        time_s=round(time.monotonic() - start, 4),
        **extra,
    )


_MODULES: dict[str, str] = {
    "bmc": "regcheck.engines.bmc",
    "explicit": "regcheck.engines.explicit",
    "kinduction": "regcheck.engines.kinduction",
    "pdr": "regcheck.engines.pdr",
}
"""Engine name -> module exposing ``check``; modules load on first use, to keep start-up fast."""

NAMES: tuple[str, ...] = tuple(_MODULES)


def get(name: str) -> Engine:
    """The engine registered under ``name``."""
    return importlib.import_module(_MODULES[name]).check  # type: ignore[no-any-return]
