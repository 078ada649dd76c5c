"""Run checkers side by side in separate processes, and keep every result they report.

Each runner gets the names of the properties still open and yields results as it decides them;
the child sends each one at once, so a fast proof is never held back by a slow search beside
it. The parent gathers results until every property is decided or the timeout passes, then
stops every runner. A runner that dies or raises is reported as a failure, never read as
silence; one that raises a :class:`RegcheckError` (bad input, an invalid model) re-raises it in
the parent. Processes are forked (on POSIX), so runners may be closures; results travel back
pickled. Children die with the parent, and leave interrupts to it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait

from regcheck import children
from regcheck.errors import RegcheckError
from regcheck.result import CheckResult, Verdict

Runner = Callable[[list[str]], Iterable[CheckResult]]
DECISIVE = (Verdict.VIOLATED, Verdict.PROVED)


@dataclass
class Gathered:
    """Every result the runners sent, in arrival order, and what became of each runner."""

    results: dict[str, list[CheckResult]] = field(default_factory=dict)
    arrived: dict[str, list[float]] = field(default_factory=dict)  # property -> seconds since the start, per result
    failures: dict[str, str] = field(default_factory=dict)  # runner -> why it produced nothing more
    unfinished: list[str] = field(default_factory=list)  # runners stopped at the timeout or when all was decided

    def add(self, result: CheckResult, at: float) -> None:
        self.results.setdefault(result.property, []).append(result)
        self.arrived.setdefault(result.property, []).append(at)

    def decisive(self, name: str) -> list[CheckResult]:
        return [r for r in self.results.get(name, []) if r.verdict in DECISIVE]


def run(
    names: Sequence[str],
    runners: Mapping[str, Runner],
    *,
    timeout: float | None,
    settled: Callable[[str, Gathered], bool] | None = None,
    on_result: Callable[[CheckResult, float], None] | None = None,
) -> Gathered:
    """Run ``runners`` on ``names`` concurrently until each name is settled (default: has a decisive
    result), every runner has finished, or ``timeout`` seconds pass; ``on_result`` is told of each
    result (with the seconds since the start) the moment it comes in."""
    settled = settled or (lambda name, gathered: bool(gathered.decisive(name)))
    context = multiprocessing.get_context("fork")
    start = time.monotonic()
    deadline = None if timeout is None else start + timeout
    pending: dict[Connection, multiprocessing.process.BaseProcess] = {}  # receiving end of a pipe -> its process
    started: list[multiprocessing.process.BaseProcess] = []  # every child, even one an interrupt caught half-started
    gathered = Gathered()
    try:
        for label, runner in runners.items():
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=_child, args=(runner, list(names), sender, os.getpid()), name=label,
                                      daemon=True)
            started.append(process)
            process.start()
            sender.close()
            pending[receiver] = process
        while pending and not all(settled(n, gathered) for n in names):
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            for ready in wait(list(pending), timeout=remaining):
                assert isinstance(ready, Connection)
                if not _receive(ready, pending[ready], gathered, start, on_result):
                    finished = pending.pop(ready)
                    finished.join()
                    if finished.exitcode != 0 and finished.name not in gathered.failures:
                        gathered.failures[finished.name] = _death(finished.exitcode)
    finally:
        gathered.unfinished = [p.name for p in pending.values()]
        for child in started:
            if child.pid is not None and child.exitcode is None:
                child.kill()
        for child in started:
            if child.pid is not None:
                child.join()
        for pipe in pending:
            pipe.close()
    return gathered


def _receive(receiver: Connection, process: multiprocessing.process.BaseProcess, gathered: Gathered,
             start: float, on_result: Callable[[CheckResult, float], None] | None) -> bool:
    """Take one message from a runner; False once it has nothing more to say."""
    try:
        kind, payload = receiver.recv()
    except (EOFError, OSError):
        return False
    if kind == "result":
        at = round(time.monotonic() - start, 4)
        gathered.add(payload, at)
        if on_result is not None:
            on_result(payload, at)
        return True
    if kind == "raise":
        raise payload
    if kind == "failure":
        gathered.failures[process.name] = payload
    return False


def _child(runner: Runner, names: list[str], sender: Connection, parent: int) -> None:
    """Run one runner in a forked process, sending each result as soon as it exists."""
    children.guard(parent)
    try:
        for result in runner(names):
            sender.send(("result", result))
        sender.send(("done", None))
    except RegcheckError as exc:
        sender.send(("raise", exc))
    except Exception as exc:  # noqa: BLE001 - a runner's fault is reported to the parent, not lost
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        sender.send(("failure", f"raised {type(exc).__name__}: {exc} ({frame.filename}:{frame.lineno})"))
    finally:
        sender.close()


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"died with signal {signal.Signals(-exitcode).name}"
    return f"exited with code {exitcode} before finishing"
