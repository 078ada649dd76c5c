"""Houdini against PDR on the safety properties, as fresh `regcheck` processes, side by side.

Prints a table: scenario and settings, then per engine the seconds end to end and how many of
the safety properties it proved (the rest are unknown for houdini; pdr may also find violations).
Asserts nothing about time. Run:

    python benchmarks/houdini.py [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
from collections import Counter

from fresh import SAFETY, check, properties

DESIGNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("service-account", ()),
    ("service-account", ("workers=4",)),
    ("service-account", ("workers=4", "worker_users=*,*,*,*")),
    ("fix-run-as-user", ()),
    ("fix-no-notifications", ()),
    ("seed", ()),
    ("fix-run-as-user", ("workers=any",)),
    ("fix-no-notifications", ("workers=any",)),
)
ENGINES = ("houdini", "pdr")


def run(scenario: str, sets: tuple[str, ...], engine: str, timeout: float) -> tuple[float, str]:
    arguments = [argument for text in sets for argument in ("--set", text)]
    seconds, results = check(scenario, "--engine", engine, *arguments, "--timeout", str(timeout), *properties(SAFETY))
    counts = Counter(r["verdict"] for r in results)
    return seconds, " ".join(f"{counts[v]} {v}" for v in ("proved", "violated", "unknown") if counts[v])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per check (default 300)")
    args = parser.parse_args()
    header = f"{'design':58} " + " ".join(f"{e:>8} {'verdicts':24}" for e in ENGINES)
    print(header)
    print("-" * len(header))
    for scenario, sets in DESIGNS:
        cells = []
        for engine in ENGINES:
            seconds, verdicts = run(scenario, sets, engine, args.timeout)
            cells.append(f"{seconds:>7.2f}s {verdicts:24}")
        design = scenario + "".join(f" --set {s}" for s in sets)
        print(f"{design:58} " + " ".join(cells), flush=True)


if __name__ == "__main__":
    main()
