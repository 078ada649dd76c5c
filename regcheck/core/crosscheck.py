"""Engines that check each other: do two engines' results for the same properties agree?

Two results agree when they put the property in the same decided class, violated or not, and
two violations have counterexamples of the same length (every engine reports a shortest one).
A violation of length L and a ``bounded`` result of depth d agree when L > d: the bound did not
reach the counterexample. ``unknown`` decides nothing, so it never disagrees, and such a pair is
listed as not compared; but a counterexample that failed replay on the reference simulator
(reported as ``unknown``) is a disagreement with the simulator, whatever the other engine says.
"""

from __future__ import annotations

from collections.abc import Sequence

from regcheck.core.checking import REPLAY_FAILED
from regcheck.core.result import CheckResult, Verdict


def describe(result: CheckResult) -> str:
    """The verdict in words, with the length or bound it rests on."""
    if result.verdict is Verdict.VIOLATED:
        return f"violated ({len(result.trace or ())} steps)"
    if result.verdict is Verdict.BOUNDED:
        return f"bounded (no violation in {result.depth} steps)"
    return str(result.verdict.value)


def disagreement(first: CheckResult, second: CheckResult) -> str | None:
    """None when the two results for one property agree; else a sentence naming the property and both verdicts."""
    if first.property != second.property:
        raise ValueError(f"results for different properties: {first.property} and {second.property}")
    for result in (first, second):
        if result.verdict is Verdict.UNKNOWN and REPLAY_FAILED in result.note:
            why = result.note.split(REPLAY_FAILED, 1)[1]
            return f"{result.engine}'s counterexample to {result.property} {REPLAY_FAILED}{why}"
    if Verdict.UNKNOWN in (first.verdict, second.verdict):
        return None
    agree = True
    violated = [r for r in (first, second) if r.verdict is Verdict.VIOLATED]
    if len(violated) == 2:
        agree = len(first.trace or ()) == len(second.trace or ())
    elif violated:
        (bad,) = violated
        other = second if bad is first else first
        agree = other.verdict is Verdict.BOUNDED and other.depth is not None and len(bad.trace or ()) > other.depth
    if agree:
        return None
    return (
        f"engines disagree on {first.property}: {first.engine} says {describe(first)}, "
        f"{second.engine} says {describe(second)}"
    )


def disagreements(first: Sequence[CheckResult], second: Sequence[CheckResult]) -> list[str]:
    """Every disagreement between two engines' results for the same properties, in property order."""
    by_name = {r.property: r for r in second}
    found = []
    for result in first:
        if result.property not in by_name:
            raise ValueError(f"the second engine has no result for {result.property}")
        problem = disagreement(result, by_name[result.property])
        if problem is not None:
            found.append(problem)
    return found


def not_compared(first: Sequence[CheckResult], second: Sequence[CheckResult]) -> list[str]:
    """The properties that one of the two engines left unknown, each with the engine that did."""
    by_name = {r.property: r for r in second}
    return [
        f"{a.property} ({', '.join(r.engine for r in (a, by_name[a.property]) if r.verdict is Verdict.UNKNOWN)} unknown)"
        for a in first
        if a.property in by_name and Verdict.UNKNOWN in (a.verdict, by_name[a.property].verdict)
        and disagreement(a, by_name[a.property]) is None
    ]


__all__ = ["describe", "disagreement", "disagreements", "not_compared"]
