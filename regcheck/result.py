"""Verdicts, traces and check results: one set of types for every engine and every renderer."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Mapping

from regcheck.expr import Value


class Verdict(str, Enum):
    """What a check established. ``bounded`` is never a proof; ``unknown`` is never a pass."""

    VIOLATED = "violated"  # a counterexample exists, and it replayed on the reference simulator
    PROVED = "proved"  # holds in every reachable state, with a re-checked certificate
    BOUNDED = "bounded"  # no violation in any execution of at most `depth` steps
    UNKNOWN = "unknown"  # timeout, solver unknown, or the engine cannot decide


STUTTER = "Stutter"
"""The closing step of a lasso whose last state has no enabled action: that state repeats for ever."""


def call_label(name: str, params: tuple[tuple[str, int], ...]) -> str:
    """How an action instance is written everywhere: ``EcDoRpcExt2(worker=1)``."""
    return f"{name}({', '.join(f'{k}={v}' for k, v in params)})"


@dataclass(frozen=True)
class Step:
    """The action taken between two states, with its rendering labels (thread, message, ...)."""

    action: str
    params: tuple[tuple[str, int], ...]
    labels: Mapping[str, Value] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return call_label(self.action, self.params)


@dataclass(frozen=True)
class Trace:
    """``states[0] --steps[0]--> states[1] ... --> states[-1]``; ``loop`` marks a lasso's loop start.

    Shaped like Apalache/Quint's Informal Trace Format (ITF): ``vars`` are the state variables,
    each state maps every one of them to a value.
    """

    vars: tuple[str, ...]
    states: tuple[Mapping[str, Value], ...]
    steps: tuple[Step, ...]
    loop: int | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.steps) != max(len(self.states) - 1, 0):
            raise ValueError(f"a trace of {len(self.states)} states needs {len(self.states) - 1} steps")

    def __len__(self) -> int:
        """The number of steps (a trace of one state has length 0)."""
        return len(self.steps)

    def with_meta(self, **meta: Any) -> Trace:
        return replace(self, meta={**self.meta, **meta})


@dataclass(frozen=True)
class CheckResult:
    """The outcome of checking one property of one system with one engine."""

    property: str
    kind: str
    verdict: Verdict
    engine: str
    depth: int | None
    time_s: float
    trace: Trace | None = None
    evidence: Any = None
    note: str = ""
