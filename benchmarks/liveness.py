"""The explicit engine's liveness search on the symmetry-reduced graph against the unreduced one.

One row per scenario and number of workers: for each search (reduced: ``Options(symmetry=True)``,
the default; unreduced: ``symmetry=False``) the states of the liveness graph, the seconds of the
whole check (both liveness properties), the peak resident memory of the process, and the two
verdicts (notifications-delivered, worker-requests-succeed). Each search runs in a fresh process,
so that its peak memory (``resource.getrusage``) is its own. Workers 1 to 5 make one request
each; 6 workers make 3, as in ``regcheck check fix-run-as-user --set workers=6 --set requests=3``.
A search stopped by the state limit or the timeout is ``unknown``, with the states it reached.
Asserts nothing about time (machines are shared and noisy). Run:

    python benchmarks/liveness.py [--scenario NAME ...] [--workers 6] [--max-states 2000000] [--timeout 900]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import time

from regcheck.core.engines import Options, explicit
from regcheck.core.system import Kind
from regcheck.model.scenario import load_builtin, with_overrides
from regcheck.model.system import build
from regcheck.properties.catalogue import NAMES, instantiate, spec

LIVENESS = [name for name in NAMES if spec(name).kind is Kind.LIVENESS]
SCENARIOS = ("fix-run-as-user", "fix-no-notifications")
SHORT = {"proved": "P", "violated": "V", "unknown": "U", "bounded": "B"}


def requests(workers: int) -> int:
    return 3 if workers == 6 else 1


def one(name: str, workers: int, reduced: bool, max_states: int, timeout: float) -> dict[str, object]:
    """Check both liveness properties in this process; what the table shows of it."""
    scenario = with_overrides(load_builtin(name), [f"workers={workers}", f"requests={requests(workers)}"])
    props = [instantiate(n, scenario) for n in LIVENESS]
    lines: list[str] = []
    start = time.perf_counter()
    results = explicit.check(build(scenario), props, Options(symmetry=reduced, max_states=max_states, timeout=timeout,
                                                             progress=lines.append))
    seconds = time.perf_counter() - start
    found = [int(m.group(1).replace(",", "")) for line in lines if (m := re.search(r": ([\d,]+) states", line))]
    return {
        "states": found[-1] if found else None,
        "seconds": seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "verdicts": [r.verdict.value for r in results],
        "symmetry": [r.evidence["symmetry"] if r.evidence is not None else "" for r in results],
    }


def fresh(name: str, workers: int, reduced: bool, max_states: int, timeout: float) -> dict[str, object]:
    command = [sys.executable, __file__, "--one", name, str(workers), "reduced" if reduced else "unreduced",
               "--max-states", str(max_states), "--timeout", str(timeout)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def cells(run: dict[str, object], max_states: int) -> str:
    states = run["states"]
    verdicts = "/".join(SHORT[v] for v in run["verdicts"])  # type: ignore[attr-defined]
    shown = "-" if states is None else f"{states:,}"
    if "U" in verdicts and isinstance(states, int) and states >= max_states:
        shown = f">{states:,}"
    return f"{shown:>11} {run['seconds']:>8.1f} {run['peak_mb']:>7.0f} {verdicts:>5}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", nargs="+", default=list(SCENARIOS), help="built-in scenarios")
    parser.add_argument("--workers", type=int, default=6, help="largest number of workers (default: 6)")
    parser.add_argument("--max-states", type=int, default=2_000_000, help="state limit of each search")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per search (default: 900)")
    parser.add_argument("--one", nargs=3, metavar=("SCENARIO", "WORKERS", "HOW"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        name, workers, how = args.one
        print(json.dumps(one(name, int(workers), how == "reduced", args.max_states, args.timeout)))
        return
    print(f"liveness (notifications-delivered / worker-requests-succeed) on the explicit engine; "
          f"state limit {args.max_states:,}, timeout {args.timeout:.0f} s; P proved, V violated, U unknown")
    header = (f"{'scenario':22} {'w':>2} {'r':>2} | {'reduced':>11} {'s':>8} {'MB':>7} {'P/V':>5} | "
              f"{'unreduced':>11} {'s':>8} {'MB':>7} {'P/V':>5}")
    print(header)
    print("-" * len(header))
    for name in args.scenario:
        for workers in range(1, args.workers + 1):
            reduced = fresh(name, workers, True, args.max_states, args.timeout)
            unreduced = fresh(name, workers, False, args.max_states, args.timeout)
            print(f"{name:22} {workers:>2} {requests(workers):>2} | {cells(reduced, args.max_states)} | "
                  f"{cells(unreduced, args.max_states)}", flush=True)


if __name__ == "__main__":
    main()
