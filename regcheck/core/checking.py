"""Vet an engine's answers: every counterexample is replayed before it is reported.

The replay function is injected by the caller (the composition root passes the protocol's
reference simulator), so this module stays free of any one model. A counterexample that does not
replay is a bug in an engine or in the model: it is reported as ``unknown`` with the reason,
never shown as a violation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from regcheck.core.result import CheckResult, Trace, Verdict

REPLAY_FAILED = "did not replay on the reference simulator"
"""What the note of a result whose counterexample failed replay says (``crosscheck`` counts these)."""

Replayer = Callable[[Trace, str], str | None]
"""(trace, property name) -> None when the trace replays and violates the property, else the reason."""


def vet(results: Sequence[CheckResult], replay: Replayer) -> list[CheckResult]:
    vetted = []
    for result in results:
        if result.verdict is Verdict.VIOLATED and not (result.trace and result.trace.meta.get("replayed")):
            if result.trace is None:
                raise AssertionError(f"{result.engine} reported a violation of {result.property} without a trace")
            reason = replay(result.trace, result.property)
            if reason is None:
                result = replace(result, trace=result.trace.with_meta(replayed=True))
            else:
                result = replace(
                    result,
                    verdict=Verdict.UNKNOWN,
                    note=f"internal error: the counterexample {REPLAY_FAILED} ({reason})",
                )
        vetted.append(result)
    return vetted
