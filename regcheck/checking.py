"""Run an engine and vet its answers: every counterexample is replayed before it is reported.

The replay function is injected by the caller (the CLI passes the protocol's reference
simulator), so this module stays free of any one model. A counterexample that does not replay is
a bug in an engine or in the model: it is reported as ``unknown`` with the reason, never shown.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

from regcheck import engines
from regcheck.engines import Progress
from regcheck.result import CheckResult, Trace, Verdict
from regcheck.system import Property, TransitionSystem

Replayer = Callable[[Trace, Property], str | None]
"""Returns None when the trace replays and violates the property, else the reason it does not."""


def verify(
    system: TransitionSystem,
    properties: Sequence[Property],
    *,
    engine: str,
    depth: int,
    timeout: float | None,
    replay: Replayer,
    progress: Progress | None = None,
) -> list[CheckResult]:
    results = engines.get(engine)(system, properties, depth=depth, timeout=timeout, progress=progress)
    by_name = {p.name: p for p in properties}
    vetted = []
    for result in results:
        if result.verdict is Verdict.VIOLATED:
            if result.trace is None:
                raise AssertionError(f"{engine} reported a violation of {result.property} without a trace")
            reason = replay(result.trace, by_name[result.property])
            if reason is None:
                result = replace(result, trace=result.trace.with_meta(replayed=True))
            else:
                result = replace(
                    result,
                    verdict=Verdict.UNKNOWN,
                    note=f"internal error: the counterexample did not replay on the reference simulator ({reason})",
                )
        vetted.append(result)
    return vetted
