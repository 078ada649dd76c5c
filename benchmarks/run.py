"""Scaling table for BMC: the seed's counterexample and both fixes' bounds, as fresh `regcheck` processes.

"all" means the five safety properties (liveness has its own lasso search and is not part of this table).

Prints a table; asserts nothing about time (machines are shared and noisy). Run:

    python benchmarks/run.py [--quick]
"""

from __future__ import annotations

import argparse

from fresh import SAFETY, check, properties

CASES = [
    # (scenario, property or None for all, depth)
    ("seed", "worker-never-gets-network-error", 12),
    ("seed", None, 12),
    ("fix-run-as-user", None, 20),
    ("fix-no-notifications", None, 20),
]


def run(scenario: str, prop: str | None, depth: int, workers: int) -> tuple[float, str, int | None]:
    """Seconds end to end (a fresh process, as a user runs it), the overall verdict and the depth reached."""
    seconds, results = check(scenario, "--engine", "bmc", "--depth", str(depth), "--set", f"workers={workers}",
                             "--timeout", "600", *properties([prop] if prop else SAFETY))
    verdicts = {r["verdict"] for r in results}
    verdict = "violated" if "violated" in verdicts else "unknown" if "unknown" in verdicts else "bounded"
    depth_reached = min((r["depth"] for r in results if r["verdict"] == verdict), default=None)
    return seconds, verdict, depth_reached


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="workers 1 and 2 only")
    args = parser.parse_args()
    worker_counts = (1, 2) if args.quick else (1, 2, 4, 8)
    header = f"{'scenario':22} {'properties':33} {'workers':>7} {'depth':>6} {'verdict':>9} {'seconds':>8}"
    print(header)
    print("-" * len(header))
    for scenario, prop, depth in CASES:
        for workers in worker_counts:
            seconds, verdict, reached = run(scenario, prop, depth, workers)
            print(f"{scenario:22} {prop or 'all safety':33} {workers:>7} {str(reached):>6} {verdict:>9} {seconds:>8.2f}")


if __name__ == "__main__":
    main()
