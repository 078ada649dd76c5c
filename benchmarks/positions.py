"""Questions from a position: the seconds each takes on every built-in scenario of a fixed number of workers.

For each built-in, three positions: the initial state, the middle and the last state before the violation of
its first violated safety property's counterexample (for a scenario that violates none, a seeded random path of
six steps). From each, every question the notebook asks, with the default engine (auto): the enabled actions,
``can_fail`` of a safety and of a liveness property, ``can_reach`` of a shape, and ``must_fail``. Prints one row
per position and question, and the slowest; asserts nothing about time (machines are shared and noisy). Run:

    python benchmarks/positions.py [--scenario NAME]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from regcheck.core.result import Trace, Verdict
from regcheck.model import positions
from regcheck.model.scenario import builtin_names, load_builtin
from regcheck.notebook import Position, check, shapes

SAFETY = "worker-never-gets-network-error"
LIVENESS = "worker-requests-succeed"


def places(name: str) -> list[tuple[str, Position]]:
    """The positions to ask from: the initial state, and two states of a counterexample (or a random path)."""
    scenario = load_builtin(name)
    run = check(scenario, engine="explicit")
    violated = [r for r in run.results if r.verdict is Verdict.VIOLATED and r.trace is not None and r.trace.loop is None]
    if violated:
        trace = violated[0].trace
        assert trace is not None
        label = violated[0].property
    else:
        trace, label = walk(name), "a random path"
    last = len(trace) - 1 if violated else len(trace)
    chosen = sorted({0, last // 2, last})
    return [(f"{label} @ {k}", Position(positions.at(scenario, trace, k))) for k in chosen]


def walk(name: str) -> Trace:
    rng = random.Random(7)
    here = positions.start(load_builtin(name))
    for _ in range(6):
        enabled = here.enabled()
        if not enabled:
            break
        here = here.step(rng.choice(enabled).number)
    return here.path


def questions(here: Position) -> list[tuple[str, Callable[[], object]]]:
    return [
        ("enabled", lambda: f"{len(here.enabled())} actions"),
        (f"can_fail {SAFETY}", lambda: here.can_fail(SAFETY).words()),
        (f"can_fail {LIVENESS}", lambda: here.can_fail(LIVENESS).words()),
        ("can_reach worker 1 EcDoRpcExt2",
         lambda: "yes" if here.can_reach(shapes.sends("worker 1", "EcDoRpcExt2")).can else "not within 12 steps"),
        (f"must_fail {LIVENESS}", lambda: here.must_fail(LIVENESS).words()),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append", help="a built-in scenario (repeatable; default: every one)")
    args = parser.parse_args()
    names = args.scenario or [n for n in builtin_names() if not load_builtin(n).parameterised]
    print(f"{'scenario':22} {'position':42} {'question':46} {'seconds':>7}  answer")
    slowest = (0.0, "")
    for name in names:
        for where, here in places(name):
            for question, ask in questions(here):
                start = time.perf_counter()
                answer = str(ask())
                seconds = time.perf_counter() - start
                slowest = max(slowest, (seconds, f"{name}, {where}, {question}"))
                print(f"{name:22} {where:42} {question:46} {seconds:7.2f}  {answer[:70]}")
    print(f"slowest: {slowest[0]:.2f} s ({slowest[1]})")


if __name__ == "__main__":
    main()
