"""Verdicts, traces and check results: one set of types for every engine and every renderer."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Protocol

from regcheck.core.evidence import Evidence
from regcheck.core.expr import Value

Progress = Callable[[str], None]
"""Where an engine reports what it is doing, one line at a time (a spinner, a log, or nothing)."""


class Kind(str, Enum):
    """What a property claims: a safety invariant, or a liveness obligation under weak fairness."""

    SAFETY = "safety"
    LIVENESS = "liveness"


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
class Scope:
    """Which instances of a system with N processes a verdict speaks of: some N (``counts``), or
    every N >= 1 (``counts`` is None). ``parameterised`` marks a check of the claim "for every N",
    whose counterexample is found at some N (a witness)."""

    counts: tuple[int, ...] | None
    parameterised: bool = False

    @classmethod
    def fixed(cls, *counts: int) -> Scope:
        return cls(tuple(sorted(set(counts))))

    @classmethod
    def every(cls) -> Scope:
        return cls(None, parameterised=True)

    @classmethod
    def witness(cls, count: int) -> Scope:
        return cls((count,), parameterised=True)

    def describe(self, what: str = "processes") -> str:
        if self.counts is None:
            return f"every number of {what}"
        return f"{what} = {', '.join(map(str, self.counts))}"

    def to_json(self) -> str | list[int]:
        return "every N >= 1" if self.counts is None else list(self.counts)


def scope_words(result: CheckResult, what: str = "workers") -> str:
    """What a parameterised verdict covers, in words ("" for a check of one fixed system)."""
    if result.scope is None or not result.scope.parameterised:
        return ""
    if result.scope.counts is None:
        return f"for every number of {what}"
    counts = result.scope.counts
    return f"already with {', '.join(map(str, counts))} {what.removesuffix('s') if counts == (1,) else what}"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of checking one property of one system with one engine."""

    property: str
    kind: Kind
    verdict: Verdict
    engine: str
    depth: int | None
    time_s: float
    trace: Trace | None = None
    evidence: Evidence | None = None  # only for ``proved``: why it holds (``regcheck.core.evidence``)
    note: str = ""
    scope: Scope | None = None  # None: the one system checked, with no parameter


def verdict_text(result: CheckResult) -> str:
    """The verdict in words, with its bound and, for a parameterised check, the worker counts it covers."""
    scope = scope_words(result)
    if result.verdict is Verdict.BOUNDED:
        return f"bounded (no violation in {result.depth} steps{', ' + scope if scope else ''})"
    if result.verdict is Verdict.VIOLATED:
        return f"violated ({result.depth} steps{', ' + scope if scope else ''})"
    if result.verdict is Verdict.UNKNOWN:
        return "unknown" + (f": {result.note}" if result.note else "")
    return "proved" + (f" ({scope})" if scope else "")


class Checked(Protocol):
    """What :func:`outcome` reads of a property (``regcheck.core.system.Property``): its name and kind."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> Kind: ...


def outcome(
    prop: Checked, engine: str, verdict: Verdict, depth: int | None, start: float, **extra: Any
) -> CheckResult:
    """The result of checking ``prop``, timed from ``start`` (a ``time.monotonic()`` reading)."""
    return CheckResult(
        property=prop.name,
        kind=prop.kind,
        verdict=verdict,
        engine=engine,
        depth=depth,
        time_s=round(time.monotonic() - start, 4),
        **extra,
    )
