"""regcheck against SPIN on the same models: verdicts, states and seconds, over worker counts.

For each scenario and number of workers N: regcheck as a fresh process with its default engine
(``regcheck check SCENARIO --set workers=N --json``), and SPIN's whole pipeline on the Promela
model that ``regcheck export`` writes for the same system (``regcheck.formats.spin``: ``spin -a``, a
``-DSAFETY`` compile for the asserts, a ``-DNFAIR`` compile for the ``ltl`` blocks, ``pan -E``
until every violated assert is found, ``pan -a -f`` per liveness property). Prints one table:

- verdicts, one letter per property in catalogue order (H holds, V violated, B bounded, ? unknown);
- ``agree``: yes when SPIN and regcheck decided every property alike, NO when a decided verdict
  differs, ``-`` when one of them left some property open;
- states: regcheck's explicit searches where one proved something (safety states are one per
  orbit of interchangeable workers; liveness states are unreduced), SPIN's "states stored" of
  its largest safety search and its largest liveness search (the product with the claim and
  the fairness copies of ``-f``), ``>N`` where that search was cut short (the time limit
  interrupts pan, which then reports what it stored);
- seconds end to end for each (SPIN's: every spin, gcc and pan run, not the export), the part of
  SPIN's in its searches alone (``pan s``: the rest is ``spin -a`` and gcc), and the ratio of the
  two ends to end.

A SPIN search that a smaller N could not finish (time, memory or depth) is not run for larger N
of that scenario (its verdict is ``?``, marked ``*``); ``--no-skip`` runs it anyway. Asserts
nothing about time. Needs ``spin`` and ``gcc`` on PATH. Run:

    python benchmarks/spin.py [--quick] [--timeout S] [--memory MB]
    python benchmarks/spin.py --scenario fix-run-as-user --workers 6 --set requests=3
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

from fresh import check

from regcheck.formats import promela, spin
from regcheck.model import scenario as scenarios
from regcheck.model.system import build
from regcheck.properties import catalogue

SCENARIOS = ("seed", "fix-run-as-user", "fix-no-notifications")
LETTERS = {"holds": "H", "proved": "H", "violated": "V", "bounded": "B", "unknown": "?"}


def regcheck_run(scenario: str, workers: int, timeout: float, overrides: list[str]) -> tuple[float, dict[str, str], str]:
    """Seconds, verdicts and states of ``regcheck check`` in a fresh process."""
    sets = [arg for item in overrides for arg in ("--set", item)]
    seconds, results = check(scenario, "--set", f"workers={workers}", *sets, "--timeout", str(timeout))
    verdicts = {r["property"]: r["verdict"] for r in results}
    return seconds, verdicts, _states(results)


def _states(results: list[dict[str, Any]]) -> str:
    """regcheck's explicit states: safety (one per orbit) / liveness (unreduced), where a search proved something."""
    def most(kind: str) -> str:
        found = [r["evidence"]["states"] for r in results
                 if r["kind"] == kind and r["evidence"] and "states" in r["evidence"]]
        return str(max(found)) if found else "-"

    return f"{most('safety')}/{most('liveness')}"


def spin_run(scenario: str, workers: int, limits: spin.Limits, skip: set[str], overrides: list[str]) -> spin.Outcome:
    """SPIN's pipeline on the exported model of ``scenario`` with ``workers`` workers."""
    loaded = scenarios.with_overrides(scenarios.load(scenario), [f"workers={workers}", *overrides])
    properties = [catalogue.instantiate(name, loaded) for name in catalogue.NAMES]
    model = promela.translate(build(loaded), properties, title=loaded.name)
    with tempfile.TemporaryDirectory(prefix="regcheck-spin-") as folder:
        return spin.check(model, Path(folder), limits, skip=skip)


def _letters(verdicts: dict[str, str], marked: Collection[str] = ()) -> str:
    """One letter per property, in catalogue order; ``*`` after each one in ``marked``."""
    return "".join(LETTERS.get(verdicts.get(n, "unknown"), "?") + ("*" if n in marked else "") for n in catalogue.NAMES)


def _agree(ours: dict[str, str], theirs: dict[str, str]) -> str:
    pairs = [(LETTERS[ours[n]], LETTERS[theirs[n]]) for n in catalogue.NAMES]
    if any(a in "HV" and b in "HV" and a != b for a, b in pairs):
        return "NO"
    return "yes" if all(a == b and a in "HV" for a, b in pairs) else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="workers 1 to 3 only")
    parser.add_argument("--scenario", action="append", help="a scenario to run (repeatable; default: the seed and both fixes)")
    parser.add_argument("--workers", help="the worker counts, e.g. 6 or 1,2,4 (default 1 to 8)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a switch for both tools (repeatable), e.g. requests=3")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds for regcheck's check and for each SPIN search (default 300)")
    parser.add_argument("--memory", type=int, default=8192, help="SPIN's -DMEMLIM in MB (default 8192)")
    parser.add_argument("--depth", type=int, default=2_000_000, help="SPIN's -m (default 2000000)")
    parser.add_argument("--collapse", action="store_true", help="compile pan with -DCOLLAPSE (state compression)")
    parser.add_argument("--no-skip", action="store_true", help="run every SPIN search, even one a smaller N could not finish")
    args = parser.parse_args()
    if spin.missing():
        raise SystemExit(f"{' and '.join(spin.missing())} not on PATH: install SPIN (Debian: apt-get install spin) and gcc")
    limits = spin.Limits(depth=args.depth, memory_mb=args.memory, hash_bits=26 if args.memory >= 2048 else 22,
                         timeout=args.timeout, collapse=args.collapse)
    counts = [int(n) for n in args.workers.split(",")] if args.workers else range(1, 4) if args.quick else range(1, 9)
    print("properties, in the order of the verdict letters: " + ", ".join(catalogue.NAMES))
    print("H holds, V violated, B bounded, ? unknown (* not searched: a smaller N could not finish it)")
    if args.set:
        print("both tools with " + ", ".join(args.set))
    header = (f"{'scenario':21} {'N':>2} {'regcheck':>8} {'spin':>13} {'agree':>5} {'regcheck states':>16} "
              f"{'spin states':>20} {'regcheck s':>10} {'spin s':>8} {'pan s':>8} {'spin/rc':>7}")
    print(header)
    print("-" * len(header), flush=True)
    for scenario in args.scenario or SCENARIOS:
        cut: set[str] = set()
        for workers in counts:
            rc_seconds, ours, rc_states = regcheck_run(scenario, workers, args.timeout, args.set)
            skip = set() if args.no_skip else set(cut)
            outcome = spin_run(scenario, workers, limits, skip, args.set)
            theirs = outcome.verdicts
            cut |= {n for n, v in theirs.items() if v == spin.UNKNOWN}
            states = f"{outcome.states_text('safety')}/{outcome.states_text('liveness')}"
            print(
                f"{scenario:21} {workers:>2} {_letters(ours):>8} {_letters(theirs, skip):>13} "
                f"{_agree(ours, theirs):>5} {rc_states:>16} {states:>20} {rc_seconds:>10.2f} "
                f"{outcome.seconds:>8.2f} {sum(x.seconds for x in outcome.searches):>8.2f} "
                f"{outcome.seconds / rc_seconds:>7.1f}",
                flush=True,
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
