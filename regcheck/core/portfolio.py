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
import queue
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait

from regcheck import children
from regcheck.core import smt
from regcheck.core.result import CheckResult, Verdict
from regcheck.errors import RegcheckError

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


class Portfolio:
    """Runners in forked processes, started at any time and gathered together; leaving the ``with``
    block stops every child still running. Arrival times count from the portfolio's creation."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("fork")
        self._start = time.monotonic()
        self._pending: dict[Connection, multiprocessing.process.BaseProcess] = {}  # pipe -> its process
        self._started: list[multiprocessing.process.BaseProcess] = []  # every child, even one half-started
        self.gathered = Gathered()

    def __enter__(self) -> Portfolio:
        return self

    def __exit__(self, *exc: object) -> None:
        self.gathered.unfinished = [p.name for p in self._pending.values()]
        for child in self._started:
            if child.pid is not None and child.exitcode is None:
                child.kill()
        for child in self._started:
            if child.pid is not None:
                child.join()
        for pipe in self._pending:
            pipe.close()
        self._pending.clear()

    def elapsed(self) -> float:
        return time.monotonic() - self._start

    def stop(self, label: str) -> None:
        """Take what the runner ``label`` has sent so far, then kill it (what it sent is kept)."""
        for pipe, process in list(self._pending.items()):
            if process.name == label:
                while pipe.poll() and _receive(pipe, process, self.gathered, self._start, None):
                    pass
                process.kill()
                process.join()
                pipe.close()
                del self._pending[pipe]

    def start(self, label: str, runner: Runner, names: Sequence[str]) -> None:
        """Fork a child that runs ``runner`` on ``names`` and sends each result as it is decided."""
        receiver, sender = self._context.Pipe(duplex=False)
        process = self._context.Process(target=_child, args=(runner, list(names), sender, os.getpid()), name=label,
                                        daemon=True)
        self._started.append(process)
        # Ctrl-C is held back while forking: the child starts with it blocked (its guard ignores it, then
        # unblocks), and the parent receives one that came meanwhile as soon as the child is started.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        sender.close()
        self._pending[receiver] = process

    def gather(
        self,
        names: Sequence[str],
        *,
        timeout: float | None,
        settled: Callable[[str, Gathered], bool] | None = None,
        on_result: Callable[[CheckResult, float], None] | None = None,
    ) -> Gathered:
        """Take results until each of ``names`` is settled (default: has a decisive result), every runner
        has finished, or ``timeout`` seconds pass; ``on_result`` is told of each as it comes in."""
        settled = settled or (lambda name, gathered: bool(gathered.decisive(name)))
        gathered = self.gathered
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._pending and not all(settled(n, gathered) for n in names):
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            self._take(remaining, on_result)
        gathered.unfinished = [p.name for p in self._pending.values()]
        return gathered

    def poll(self, on_result: Callable[[CheckResult, float], None] | None = None) -> Gathered:
        """Take every message the runners have already sent, without waiting."""
        while self._pending and wait(list(self._pending), timeout=0):
            self._take(0, on_result)
        return self.gathered

    def _take(self, timeout: float | None, on_result: Callable[[CheckResult, float], None] | None) -> None:
        """Wait up to ``timeout`` seconds for messages, and take one from each runner that sent one."""
        for ready in wait(list(self._pending), timeout=timeout):
            assert isinstance(ready, Connection)
            if not _receive(ready, self._pending[ready], self.gathered, self._start, on_result):
                finished = self._pending.pop(ready)
                finished.join()
                ready.close()
                if finished.exitcode != 0 and finished.name not in self.gathered.failures:
                    self.gathered.failures[finished.name] = _death(finished.exitcode)


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
    with Portfolio() as pool:
        for label, runner in runners.items():
            pool.start(label, runner, names)
        pool.gather(names, timeout=timeout, settled=settled, on_result=on_result)
    return pool.gathered


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
    """Run one runner in a forked process, sending each result as soon as it exists.

    A courier thread writes to the pipe, so the runner never waits for the parent to read: a result
    larger than the pipe's buffer (a certificate of many workers) would otherwise hold the runner
    until the parent's next look, which a quick pass beside it makes only at its progress reports."""
    children.guard(parent)
    smt.ignore_interrupts()
    outbox: queue.SimpleQueue[tuple[str, object] | None] = queue.SimpleQueue()
    courier = threading.Thread(target=_deliver, args=(outbox, sender), daemon=True)
    courier.start()
    try:
        for result in runner(names):
            outbox.put(("result", result))
        outbox.put(("done", None))
    except RegcheckError as exc:
        outbox.put(("raise", exc))
    except Exception as exc:  # noqa: BLE001 - a runner's fault is reported to the parent, not lost
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        outbox.put(("failure", f"raised {type(exc).__name__}: {exc} ({frame.filename}:{frame.lineno})"))
    finally:
        outbox.put(None)
        courier.join()
        sender.close()


def _deliver(outbox: queue.SimpleQueue[tuple[str, object] | None], sender: Connection) -> None:
    """Send what the runner put in ``outbox``, in order, until it puts None."""
    while (message := outbox.get()) is not None:
        try:
            sender.send(message)
        except OSError:  # the parent is gone; the guard ends this process
            return


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"died with signal {signal.Signals(-exitcode).name}"
    return f"exited with code {exitcode} before finishing"
