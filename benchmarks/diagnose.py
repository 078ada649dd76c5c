"""How `regcheck diagnose` scales with the log, over the full default product of protocol variants.

Each case is a random run of a design, logged as a worker and a server would log it
(`model.observations.log_of`), diagnosed from the *built-in* base (not the generating design) with every
modelled protocol variant varied (the default): the first N events, for several N. One row per log:
events, threads, settings, how many are explained, ruled out and not decided, the seconds and the
milliseconds per event. Asserts nothing about time. Run:

    python benchmarks/diagnose.py [--cases seed4,pool8,seed2] [--timeout 120] [--seed 3] [--lengths 600,300]

The cases: ``seed4``, the seed with 4 workers and 4 requests (100 to 600 events); ``pool8``, a pool of
8 threads taking jobs for 3 users, 3 jobs each, one association per session, notifications on so that
the run is long enough (300 events, the notification threads' included); ``seed2``,
two workers that reconnect after a failure (25 to 200 events).
"""

from __future__ import annotations

import argparse
import random
import time

from regcheck import diagnosis
from regcheck.core.compile import compile_system
from regcheck.core.explore import random_run
from regcheck.model.observations import Event, log_of
from regcheck.model.scenario import load_builtin, with_overrides
from regcheck.model.system import build

CASES: dict[str, tuple[str, list[str], tuple[int, ...]]] = {
    "seed4": ("seed", ["workers=4", "requests=4"], (100, 200, 400, 600)),
    "pool8": ("thread-pool", ["workers=8", "jobs=3", "users=alice,bob,carol", "association_scope=session",
                              "requests=8", "connect_flags=0"], (300,)),
    "seed2": ("seed", ["workers=2", "requests=8", "after_network_error=reconnect-same"], (25, 50, 100, 200)),
}


def logged(base: str, design: list[str], seed: int, steps: int = 5000) -> list[Event]:
    """The log of a random execution of the design, of at most ``steps`` steps."""
    scenario = with_overrides(load_builtin(base), design)
    return log_of(scenario, random_run(compile_system(build(scenario)), random.Random(seed), steps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--lengths", default="", help="only logs of these lengths (comma-separated), e.g. 600,300")
    args = parser.parse_args()
    header = (f"{'case':<6} {'events':>6} {'threads':>7} {'settings':>8} {'explain':>7} {'ruled':>6} {'undecided':>9} "
              f"{'seconds':>8} {'ms/event':>8}")
    print(header)
    print("-" * len(header))
    for case in args.cases.split(","):
        base, design, lengths = CASES[case]
        events = logged(base, design, args.seed)
        for n in lengths:
            if args.lengths and str(n) not in args.lengths.split(","):
                continue
            if n > len(events):
                break
            log = events[:n]
            start = time.perf_counter()
            found = diagnosis.diagnose(log, load_builtin(base), check_fixes=False, timeout=args.timeout)
            seconds = time.perf_counter() - start
            ruled = len({o.setting.values for _, _, group in found.ruled_out for o in group.outcomes})
            threads = len({e.thread for e in log if e.thread is not None})
            print(f"{case:<6} {n:>6} {threads:>7} {found.searched:>8} {found.explaining:>7} {ruled:>6} "
                  f"{len(found.unknown) + len(found.invalid):>9} {seconds:>8.1f} {1000 * seconds / n:>8.1f}",
                  flush=True)


if __name__ == "__main__":
    main()
