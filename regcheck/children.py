"""Child processes that never outlive regcheck: they die with their parent and leave Ctrl-C to it.

Every process regcheck starts (the portfolio's forks, the process pools of ``sweep`` and
``report``) calls :func:`guard` first. On Linux the kernel then kills the child when its parent
dies, whatever signal killed the parent (even SIGKILL, where no handler can run); a pool that
is left by an exception or an interrupt kills its workers at once instead of waiting for them,
and a pool's worker whose work is done ends without freeing its objects one by one.
"""

from __future__ import annotations

import atexit
import ctypes
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Collection, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

_PR_SET_PDEATHSIG = 1


def guard(parent: int) -> None:
    """In a child of process ``parent``: ask the kernel for SIGKILL when the parent dies, ignore SIGINT
    (the parent handles an interrupt, and stops its children itself), and die of SIGTERM. A parent that
    died before the request was made leaves no one to wait for: the child ends at once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a fork must not inherit the command's handler: it just dies
    signal.set_wakeup_fd(-1)  # nor write its signals to the command's watcher (``smt.signals_cancel_queries``)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # a parent may fork with it blocked
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the parent's own clean-up still stops its children
        pass
    if os.getppid() != parent:
        os._exit(1)


def _worker(parent: int) -> None:
    """A pool worker's start: :func:`guard`, and an exit that does not free the worker's objects one by one (a
    diagnosis's caches of states take a second or more to free; the memory goes back with the process)."""
    guard(parent)
    atexit.register(_exit_at_once)


def _exit_at_once() -> None:
    """The last of a pool worker: its output flushed, it ends (its results went back to the parent before)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@contextmanager
def pool(workers: int, *, max_tasks_per_child: int | None = None) -> Iterator[ProcessPoolExecutor]:
    """A pool of fresh interpreters (``spawn``) whose workers are guarded, and killed if the block fails."""
    executor = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker,
        initargs=(os.getpid(),),
        max_tasks_per_child=max_tasks_per_child,
    )
    try:
        yield executor
    except BaseException:
        processes = list(getattr(executor, "_processes", {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.kill()
        raise
    executor.shutdown(wait=True)


def by(futures: Collection[Future[T]], wall: float | None) -> Iterator[Future[T]]:
    """Each of ``futures`` as it completes. Once ``wall`` (a ``time.time()`` reading; None: never) passes, the
    tasks not yet started are cancelled (they come out ``cancelled()``: the caller reports them unknown), and
    those running are waited for: they end by the same deadline themselves. A fresh interpreter is not started
    for work that could only say "timeout"."""
    pending = set(futures)
    try:
        for future in as_completed(futures, timeout=None if wall is None else max(wall - time.time(), 0.0)):
            pending.discard(future)
            yield future
    except TimeoutError:
        for future in pending:
            future.cancel()
        yield from as_completed(pending)
