"""Run checkers side by side in separate processes and keep the first decisive verdict per property.

Decisive means ``violated`` or ``proved``. Each runner gets the names of the properties still
open and returns one result per name; the parent merges as results arrive and stops every
runner once each property is decided or the timeout passes. Processes are forked (on POSIX),
so runners may be closures; their results travel back pickled.
"""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.connection import Connection, wait
from typing import Callable, Mapping, Sequence

from regcheck.result import CheckResult, Verdict

Runner = Callable[[list[str]], list[CheckResult]]
DECISIVE = (Verdict.VIOLATED, Verdict.PROVED)


def run(names: Sequence[str], runners: Mapping[str, Runner], *, timeout: float | None) -> dict[str, CheckResult]:
    """The best result per property name from ``runners``, run concurrently."""
    context = multiprocessing.get_context("fork")
    deadline = None if timeout is None else time.monotonic() + timeout
    pending: dict[Connection, multiprocessing.process.BaseProcess] = {}
    for label, runner in runners.items():
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(target=_child, args=(runner, list(names), sender), name=label, daemon=True)
        process.start()
        sender.close()
        pending[receiver] = process
    best: dict[str, CheckResult] = {}
    try:
        while pending and not all(_decisive(best.get(n)) for n in names):
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            for receiver in wait(list(pending), timeout=remaining):
                process = pending.pop(receiver)
                try:
                    results = receiver.recv()
                except EOFError:
                    results = []
                process.join()
                for result in results:
                    best[result.property] = _better(best.get(result.property), result)
    finally:
        for process in pending.values():
            process.terminate()
            process.join()
    return best


def _child(runner: Runner, names: list[str], sender: Connection) -> None:
    try:
        sender.send(runner(names))
    finally:
        sender.close()


def _decisive(result: CheckResult | None) -> bool:
    return result is not None and result.verdict in DECISIVE


def _better(current: CheckResult | None, new: CheckResult) -> CheckResult:
    """Decisive beats bounded beats unknown; between two violations the shorter trace wins."""
    if current is None:
        return new
    rank = {Verdict.VIOLATED: 2, Verdict.PROVED: 2, Verdict.BOUNDED: 1, Verdict.UNKNOWN: 0}
    if rank[new.verdict] != rank[current.verdict]:
        return new if rank[new.verdict] > rank[current.verdict] else current
    if new.verdict is Verdict.VIOLATED and current.verdict is Verdict.VIOLATED:
        return new if (new.depth or 0) < (current.depth or 0) else current
    if new.verdict is Verdict.BOUNDED and current.verdict is Verdict.BOUNDED:
        return new if (new.depth or 0) > (current.depth or 0) else current
    return current
