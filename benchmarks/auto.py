"""The default engine against the best single engine, on the same properties, as fresh `regcheck` processes.

For each case every engine runs on every property, in alternating rounds so that a noisy machine
loads them alike. The best single engine is the fastest whose verdicts equal auto's on every
property (bmc's `bounded` is not auto's `proved`; pdr's `unknown` is not a violation). Prints one
row per case: auto's median seconds, the best engine and its median, their ratio, and every
engine's median (`-` where its verdicts differ, `>T` where it ran out of time). Asserts nothing
about time. Run:

    python benchmarks/auto.py [--quick] [--rounds R] [--only TEXT]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

CASES = [
    # (scenario, --set assignments)
    ("seed", ()),
    ("seed", ("workers=2",)),
    ("seed", ("workers=3",)),
    ("fix-run-as-user", ()),
    ("fix-run-as-user", ("workers=2",)),
    ("fix-run-as-user", ("workers=3",)),
    ("fix-run-as-user", ("workers=8",)),
    ("fix-run-as-user", ("workers=6", "requests=3")),
    ("fix-no-notifications", ()),
    ("fix-no-notifications", ("workers=8",)),
]
QUICK = [CASES[0], CASES[3], CASES[6]]
ENGINES = ("auto", "explicit", "pdr", "bmc", "kinduction")


def run(scenario: str, sets: tuple[str, ...], engine: str, timeout: float) -> tuple[float, tuple[str, ...] | None]:
    """Seconds end to end and the verdicts in property order (None if the engine ran out of time)."""
    command = [sys.executable, "-m", "regcheck.cli", "check", scenario, "--engine", engine, "--json",
               "--timeout", f"{timeout:g}", *(a for s in sets for a in ("--set", s))]
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, check=False, timeout=timeout + 60)
    elapsed = time.perf_counter() - start
    if completed.returncode not in (0, 1, 3):
        raise SystemExit(f"{' '.join(command)} failed:\n{completed.stderr}")
    results = json.loads(completed.stdout)["results"]
    if any("timeout" in (r.get("note") or "") for r in results):
        return elapsed, None
    return elapsed, tuple(r["verdict"] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the seed, fix A and fix A with 8 workers only")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each engine per case (default 3)")
    parser.add_argument("--only", default="", help="the cases whose text contains this, e.g. 'workers=8'")
    args = parser.parse_args()
    header = (f"{'case':40} {'auto s':>7} {'best':>10} {'best s':>7} {'ratio':>6}  "
              + " ".join(f"{e:>10}" for e in ENGINES[1:]))
    print(header)
    print("-" * len(header))
    for scenario, sets in QUICK if args.quick else CASES:
        if args.only not in " ".join((scenario, *sets)):
            continue
        times: dict[str, list[float]] = {e: [] for e in ENGINES}
        verdicts: dict[str, tuple[str, ...] | None] = {}
        for _ in range(args.rounds):
            for engine in ENGINES:
                if engine in verdicts and verdicts[engine] != verdicts["auto"]:
                    continue  # another answer (or out of time) once is enough
                limit = 120.0 if engine == "auto" else max(30.0, 3 * statistics.median(times["auto"]))
                seconds, said = run(scenario, sets, engine, limit)
                times[engine].append(seconds)
                verdicts[engine] = said
        medians = {e: statistics.median(t) for e, t in times.items() if t}
        same = [e for e in ENGINES[1:] if verdicts.get(e) is not None and verdicts[e] == verdicts["auto"]]
        best = min(same, key=lambda e: medians[e]) if same else None
        cells = []
        for engine in ENGINES[1:]:
            if verdicts.get(engine) is None:
                cells.append(f">{max(times[engine]):.0f}" if times[engine] else "-")
            else:
                cells.append(f"{medians[engine]:.2f}" if engine in same else "-")
        case = " ".join((scenario, *sets))
        best_cell = (f"{best:>10} {medians[best]:>7.2f} {medians['auto'] / medians[best]:>6.2f}" if best
                     else f"{'none':>10} {'':>7} {'':>6}")
        print(f"{case:40} {medians['auto']:>7.2f} {best_cell}  " + " ".join(f"{c:>10}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
