"""Engines: one module each, one signature.

``check(system, properties, *, depth, timeout, progress) -> list[CheckResult]``, one result per
property, in the order given. Engines never import the protocol model.
"""

from __future__ import annotations

from typing import Callable, Protocol, Sequence

from regcheck.result import CheckResult
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


def get(name: str) -> Engine:
    """The engine registered under ``name``."""
    from regcheck.engines import bmc

    registry: dict[str, Engine] = {"bmc": bmc.check}
    return registry[name]


NAMES = ("bmc",)
