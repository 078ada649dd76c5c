"""Counterexamples beyond the first: the ones that differ in their cause, and explanations.

What ``regcheck check --counterexamples N --explain``, the notebook's ``explore`` and ``explain``
and any report ask for, written once. Like ``regcheck.compose`` this is a composition module: it
knows the protocol model (the cause signature, the reference simulator, the shrinking by replay)
and its properties.

- :func:`distinct_causes`: up to N counterexamples to a safety property whose causes differ
  (``regcheck.core.engines.distinct``, blocking each cause found, and the causes that interchangeable
  workers make the same), optionally of a given shape; each is replayed on the reference
  simulator before it is kept, and one that does not replay is named in the note instead.
- :func:`explanation`: a counterexample shrunk by replay, with why each remaining step is needed.
- :func:`extras`: both, for one violated result, as ``check`` asks for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from regcheck.core.constraints import Constraint
from regcheck.core.engines.distinct import counterexamples
from regcheck.core.result import CheckResult, Trace
from regcheck.deadline import REASON, Deadline, OutOfTime
from regcheck.model.explain import CAUSE, Explanation, describe, same_cause
from regcheck.model.explain import explain as shrink
from regcheck.model.replay import replay
from regcheck.model.scenario import Scenario
from regcheck.model.system import build
from regcheck.properties import catalogue


@dataclass(frozen=True)
class Cause:
    """One counterexample of a distinct cause: its cause in words, the replayed trace, and its explanation."""

    description: str
    trace: Trace
    explanation: Explanation | None = None


@dataclass(frozen=True)
class Causes:
    """Counterexamples to one property that differ in their cause, shortest of each first."""

    property: str
    found: tuple[Cause, ...]
    complete: bool
    """True when no other cause (of the shape asked for) exists within ``depth`` steps."""
    depth: int
    """The deepest bound searched completely (-1 if none)."""
    note: str = ""

    def __len__(self) -> int:
        return len(self.found)


def explanation(scenario: Scenario, trace: Trace, name: str, deadline: Deadline | None = None) -> Explanation:
    """``trace`` (a counterexample to safety property ``name`` in ``scenario``) shrunk by replay, explained;
    :class:`regcheck.deadline.OutOfTime` once ``deadline`` passes first."""
    return shrink(scenario, trace, catalogue.instantiate(name, scenario).formula, deadline)


def distinct_causes(
    scenario: Scenario,
    name: str,
    limit: int,
    *,
    depth: int,
    timeout: float | None,
    where: Sequence[Constraint] = (),
    explain: bool = False,
) -> Causes:
    """Up to ``limit`` counterexamples to safety property ``name`` in ``scenario`` (a fixed number of
    workers) that differ in their cause, each of shape ``where`` and replayed; ``explain``: each explained.
    ``timeout`` bounds the search and the explanations together; one not finished in time says so in the note."""
    deadline = Deadline(timeout)
    prop = catalogue.instantiate(name, scenario)
    found = counterexamples(
        build(scenario), prop, CAUSE, depth=depth, limit=limit, timeout=deadline.left(), same=same_cause(scenario),
        where=where,
    )
    items, notes = [], [found.note] if found.note else []
    unexplained = 0
    for number, (trace, signature) in enumerate(zip(found.traces, found.signatures), start=1):
        report = replay(scenario, trace, name)
        if not report.ok:
            notes.append(f"internal error: cause {number} did not replay on the reference simulator ({report})")
            continue
        description = describe(signature)
        trace = trace.with_meta(replayed=True, cause=description)
        told = None
        if explain:
            try:
                told = explanation(scenario, trace, name, deadline)
            except OutOfTime:
                unexplained += 1
        items.append(Cause(description, trace, told))
    if unexplained:
        notes.append(f"{REASON}: {unexplained} of the causes found were not explained in time")
    return Causes(name, tuple(items), found.exhausted, found.depth, "; ".join(notes))


@dataclass(frozen=True)
class Extras:
    """What ``--counterexamples N`` and ``--explain`` add to one violated property's result."""

    requested: int
    """N, the number of distinct causes asked for (0: none)."""
    causes: Causes | None
    explanation: Explanation | None
    """The explanation of the result's own counterexample (None unless asked for, or not finished in time)."""
    note: str = ""
    """What was asked for but not finished, and why (the command's deadline)."""


def extras(
    scenario: Scenario, result: CheckResult, *, causes: int, explain: bool, depth: int, deadline: Deadline
) -> Extras:
    """Distinct causes (up to ``causes``) and explanations for one violated safety result in ``scenario``
    (the concrete scenario its counterexample runs in), within the command's ``deadline``."""
    assert result.trace is not None
    if deadline.expired():
        asked = " and ".join(w for w, on in (("distinct causes", causes), ("the explanation", explain)) if on)
        return Extras(causes, None, None, f"{REASON}: the command's time ran out before {asked} were sought")
    own, note = None, ""
    if explain:
        try:
            own = explanation(scenario, result.trace, result.property, deadline)
        except OutOfTime:
            note = f"{REASON}: the explanation was not finished in time"
    if not causes:
        return Extras(0, None, own, note)
    found = distinct_causes(scenario, result.property, causes, depth=depth, timeout=deadline.left(), explain=explain)
    return Extras(causes, found, own, note)


__all__ = ["Cause", "Causes", "Extras", "distinct_causes", "explanation", "extras"]
