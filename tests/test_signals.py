"""Ctrl-C and SIGTERM reach a `regcheck` command while z3 solves in its own process
(`regcheck.core.smt.signals_cancel_queries`): the query under way is cancelled at once, and Python's handler acts
as it returns. z3's own Ctrl-C handler took SIGINT and ended the query "canceled" without a word, and nothing cut a
query short for SIGTERM: under load, an interrupt was read as a timeout, or waited for the query's end."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

import pytest
import z3

from regcheck.core import smt


class _Stopped(Exception):
    """What this test's SIGTERM handler raises (the command's raises its own)."""


def _hard_query() -> z3.Solver:
    """Twelve pigeons in eleven holes, with a minute to spare: z3 takes far longer than the test waits."""
    holes = 11
    sits = [[z3.Bool(f"p{p}h{h}") for h in range(holes)] for p in range(holes + 1)]
    solver = z3.Solver()
    solver.set("timeout", 60_000)
    for pigeon in sits:
        solver.add(z3.Or(pigeon))
    for h in range(holes):
        for p in range(holes + 1):
            for q in range(p + 1, holes + 1):
                solver.add(z3.Or(z3.Not(sits[p][h]), z3.Not(sits[q][h])))
    return solver


@pytest.fixture
def on_sigterm() -> Iterator[None]:
    def stop(signum: int, frame: FrameType | None) -> None:
        raise _Stopped

    previous = signal.signal(signal.SIGTERM, stop)
    yield
    signal.signal(signal.SIGTERM, previous)


@pytest.mark.parametrize("sig, raised", [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, _Stopped)])
def test_a_signal_cancels_the_query_under_way_and_its_handler_acts(
        sig: signal.Signals, raised: type[BaseException], on_sigterm: None) -> None:
    with smt.signals_cancel_queries():
        solver = _hard_query()
        threading.Timer(0.5, os.kill, (os.getpid(), sig)).start()
        with pytest.raises(raised):
            solver.check()
    # Interrupted by the watcher (z3's own handler says "canceled"), not at the query's minute.
    assert solver.reason_unknown() == "interrupted"


def test_a_signal_while_no_query_runs_cancels_none_to_come() -> None:
    # Ctrl-C between queries: Python's handler acts, and the next queries, in the command or after it, answer; z3
    # takes Ctrl-C itself again after the command.
    taking = z3.get_param("ctrl_c")  # type: ignore[attr-defined]  # z3.z3 defines it; the stubs miss it
    with smt.signals_cancel_queries():
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            threading.Event().wait(5)
        inside = z3.Solver()
        inside.add(z3.Int("x") > 2)
        assert inside.check() == z3.sat
    after = z3.Solver()
    after.add(z3.Int("x") > 2)
    assert after.check() == z3.sat
    assert z3.get_param("ctrl_c") == taking  # type: ignore[attr-defined]
