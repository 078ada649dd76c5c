"""Proof times of the safety properties for both fixes over worker counts, as fresh `regcheck` processes.

Prints a table: scenario, workers (1, 2, 4, 8, 16, any), engine, verdict (all properties), seconds
end to end. Asserts nothing about time. Run:

    python benchmarks/proofs.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from properties.catalogue import CATALOGUE
from regcheck.system import Kind

SCENARIOS = ("fix-run-as-user", "fix-no-notifications")
SAFETY = [p.name for p in CATALOGUE if p.kind is Kind.SAFETY]


def run(scenario: str, workers: str, engine: str) -> tuple[float, str]:
    command = [sys.executable, "-m", "regcheck.cli", "check", scenario, "--json", "--engine", engine,
               "--set", f"workers={workers}", "--timeout", "300"]
    for name in SAFETY:
        command += ["--property", name]
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if completed.returncode not in (0, 1, 3):
        raise SystemExit(f"{' '.join(command)} failed:\n{completed.stderr}")
    verdicts = sorted({r["verdict"] for r in json.loads(completed.stdout)["results"]})
    return elapsed, "/".join(verdicts)


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
