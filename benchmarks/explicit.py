"""Explicit-state engine scaling: reachable states with and without symmetry reduction, and speed.

One row per number of workers: the states explored without reduction, the states with symmetry
reduction, the ratio of the two against the number of worker permutations (n!, the most any
reduction can give: the initial state is alone in its orbit, so the ratio stays below it), and the
seconds and states per second of each search. Every safety property is checked, so a scenario
whose properties all hold (the default, fix A) explores its whole reachable graph. Prints a table;
asserts nothing about time (machines are shared and noisy). Run:

    python benchmarks/explicit.py [--scenario NAME] [--workers 8] [--max-states 2000000] [--budget 240]
"""

from __future__ import annotations

import argparse
import math
import time

from regcheck.core.engines import Options, explicit
from regcheck.core.result import Verdict
from regcheck.core.system import Kind
from regcheck.model.scenario import load_builtin, with_overrides
from regcheck.model.system import build
from regcheck.properties.catalogue import NAMES, instantiate, spec


def search(scenario_name: str, workers: int, *, symmetry: bool, max_states: int) -> tuple[int, bool, float]:
    """States explored, whether the search was complete, and its seconds (compilation included)."""
    scenario = with_overrides(load_builtin(scenario_name), [f"workers={workers}"])
    props = [instantiate(name, scenario) for name in NAMES if spec(name).kind is Kind.SAFETY]
    system = build(scenario)
    start = time.perf_counter()
    results = explicit.check(system, props, Options(symmetry=symmetry, max_states=max_states))
    seconds = time.perf_counter() - start
    proved = [r for r in results if r.verdict is Verdict.PROVED]
    if proved:
        return proved[0].evidence["states"], True, seconds
    if any(r.verdict is Verdict.UNKNOWN for r in results):
        return max_states, False, seconds
    raise SystemExit(f"{scenario_name}: every property is violated, so no search is complete; pick another scenario")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="fix-run-as-user", help="built-in scenario (default: fix-run-as-user)")
    parser.add_argument("--workers", type=int, default=8, help="largest number of workers (default: 8)")
    parser.add_argument("--max-states", type=int, default=2_000_000, help="state limit of each search")
    parser.add_argument("--budget", type=float, default=240.0, help="stop adding workers after this many seconds")
    args = parser.parse_args()

    header = (
        f"{'workers':>7} {'states':>11} {'reduced':>9} {'ratio':>7} {'n!':>6} "
        f"{'seconds':>8} {'states/s':>9} {'red. s':>8} {'red. st/s':>9}"
    )
    print(f"explicit-state search of {args.scenario}, every safety property; state limit {args.max_states:,}")
    print(header)
    print("-" * len(header))
    began = time.perf_counter()
    full_capped = False
    for workers in range(1, args.workers + 1):
        if full_capped:
            full, full_s, full_rate = f">{args.max_states:,}", "-", "-"
            full_count = None
        else:
            count, complete, seconds = search(args.scenario, workers, symmetry=False, max_states=args.max_states)
            full_capped = not complete
            full_count = count if complete else None
            full = f"{count:,}" if complete else f">{count:,}"
            full_s, full_rate = f"{seconds:.2f}", f"{count / seconds:,.0f}"
        reduced, complete, seconds = search(args.scenario, workers, symmetry=True, max_states=args.max_states)
        ratio = f"{full_count / reduced:.1f}" if full_count and complete else "-"
        print(
            f"{workers:>7} {full:>11} {(f'{reduced:,}' if complete else f'>{reduced:,}'):>9} {ratio:>7} "
            f"{math.factorial(workers):>6} {full_s:>8} {full_rate:>9} {seconds:>8.2f} {reduced / seconds:>9,.0f}",
            flush=True,
        )
        if not complete or time.perf_counter() - began > args.budget:
            break


if __name__ == "__main__":
    main()
