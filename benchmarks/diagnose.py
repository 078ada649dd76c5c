"""How `regcheck diagnose` scales with the length of the log, over the full variant product.

A random run of a two-worker design that reconnects after a failure is logged as a worker and a
server would log it (`model.observations.log_of`); the first N events of that log are diagnosed with
every modelled protocol variant varied (the default), for N = 25, 50, 100 and 200. Prints one row per
length: settings searched, settings explaining, the seconds, and the seconds per event. Asserts
nothing about time. Run:

    python benchmarks/diagnose.py [--seed S] [--lengths 25,50,100,200]
"""

from __future__ import annotations

import argparse
import random
import time

from regcheck import diagnosis
from regcheck.core.compile import compile_system
from regcheck.core.explore import random_run
from regcheck.core.result import Trace
from regcheck.model.observations import log_of
from regcheck.model.scenario import load_builtin, with_overrides
from regcheck.model.system import build

DESIGN = ["workers=2", "requests=8", "after_network_error=reconnect-same"]


def walk(seed: int, steps: int) -> Trace:
    """A random execution of the design, of at most ``steps`` steps."""
    scenario = with_overrides(load_builtin("seed"), DESIGN)
    return random_run(compile_system(build(scenario)), random.Random(seed), steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--lengths", default="25,50,100,200")
    args = parser.parse_args()
    lengths = [int(n) for n in args.lengths.split(",")]
    scenario = with_overrides(load_builtin("seed"), DESIGN)
    events = log_of(scenario, walk(args.seed, 2000))
    print(f"log: {len(events)} events of a random run of seed with {' '.join(DESIGN)}")
    header = f"{'events':>6} {'settings':>8} {'explain':>7} {'unknown':>7} {'seconds':>8} {'ms/event':>8}"
    print(header)
    print("-" * len(header))
    for n in lengths:
        if n > len(events):
            break
        diagnosis._COMPILED.clear()  # the pool's processes are fresh for each row; so is this one's cache
        start = time.perf_counter()
        found = diagnosis.diagnose(events[:n], load_builtin("seed"), check_fixes=False)
        seconds = time.perf_counter() - start
        print(f"{n:>6} {found.searched:>8} {found.explaining:>7} {len(found.unknown):>7} {seconds:>8.2f} {1000 * seconds / n:>8.1f}",
              flush=True)


if __name__ == "__main__":
    main()
