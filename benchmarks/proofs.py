"""Proof times of the safety properties for both fixes over worker counts, as fresh `regcheck` processes.

Prints a table: scenario, workers (1, 2, 4, 8, 16, any), engine, verdict (all properties), seconds
end to end. Asserts nothing about time. Run:

    python benchmarks/proofs.py [--quick]
"""

from __future__ import annotations

import argparse

from fresh import SAFETY, check, properties

SCENARIOS = ("fix-run-as-user", "fix-no-notifications")


def run(scenario: str, workers: str, engine: str) -> tuple[float, str]:
    seconds, results = check(scenario, "--engine", engine, "--set", f"workers={workers}", "--timeout", "300",
                             *properties(SAFETY))
    return seconds, "/".join(sorted({r["verdict"] for r in results}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="workers 1, 2 and any only")
    args = parser.parse_args()
    counts = ("1", "2", "any") if args.quick else ("1", "2", "4", "8", "16", "any")
    header = f"{'scenario':22} {'workers':>7} {'engine':>6} {'verdict':>9} {'seconds':>8}"
    print(header)
    print("-" * len(header))
    for scenario in SCENARIOS:
        for workers in counts:
            for engine in ("auto", "pdr"):
                seconds, verdict = run(scenario, workers, engine)
                print(f"{scenario:22} {workers:>7} {engine:>6} {verdict:>9} {seconds:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
