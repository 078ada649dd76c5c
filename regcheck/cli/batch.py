"""``regcheck report`` and ``regcheck sweep``: many checks at once.

``report`` checks scenarios, each in a fresh process, and writes the design-review bundle
(``regcheck.report``); ``sweep`` checks every combination of switch values, on a process pool or
a Dask cluster (``regcheck.sweep``), and prints the verdict matrix with each property's smallest
failing configuration.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.text import Text

from regcheck import compose
from regcheck.cli import clock, schema
from regcheck.cli.console import err, out, spinner
from regcheck.cli.exits import EXIT_OK, EXIT_UNKNOWN
from regcheck.cli.inputs import (
    DEFAULT_DEPTH,
    DEFAULT_TIMEOUT,
    PathType,
    load_scenario,
    validate_settings,
)
from regcheck.cli.tables import WordTable
from regcheck.core.result import Verdict
from regcheck.display import printable, printable_path
from regcheck.files import write_atomic
from regcheck.limits import check_jobs, cores
from regcheck.model import scenario as scenarios
from regcheck.outputs import plan_outputs
from regcheck.properties import catalogue
from regcheck.sweep import Sweep

WRITING_SHARE, WRITING_MOST = 0.15, 5.0
"""The share of ``report --timeout`` (at most this many seconds) its diagnoses leave for writing the report."""


@click.command("report")
@click.argument("targets", nargs=-1, metavar="[SCENARIO|FILE.toml]...")
@click.option("--out", "-o", "out_dir", required=True, type=PathType(path_type=Path, file_okay=False),
              help="Folder for index.html, report.md, charts/, traces/ and sources/ (created if missing).")
@click.option("--property", "-p", "prop", multiple=True, help="Property to check (repeatable); default: all.")
@click.option("--engine", default="auto", show_default=True, help=f"Engine: {', '.join(compose.ENGINES)}.")
@click.option("--recheck", default="z3", show_default=True, help="Solver that re-checks certificates: z3 or cvc5.")
@click.option("--depth", default=DEFAULT_DEPTH, show_default=True, type=int, help="Bound on the number of steps.")
@click.option("--timeout", default=DEFAULT_TIMEOUT, show_default=True, type=float, help=clock.HELP)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a switch of every scenario.")
@click.option("--jobs", "-j", type=int, default=0,
              help="Scenarios checked at once, at most one per core (default: one per core).")
@click.option("--diagnose", "logs", multiple=True, type=PathType(dir_okay=False, path_type=Path), metavar="LOG",
              help="Also diagnose LOG (JSON Lines, or an Exchange log with its table of cases; repeatable) against "
                   "--diagnose-scenario, as `regcheck diagnose` does.")
@click.option("--diagnose-scenario", "diagnose_target", default="seed", show_default=True,
              help="The scenario the --diagnose logs come from.")
def report_command(
    targets: tuple[str, ...] = (),
    out_dir: Path = Path("report"),
    prop: tuple[str, ...] = (),
    engine: str = "auto",
    recheck: str = "z3",
    depth: int = DEFAULT_DEPTH,
    timeout: float = DEFAULT_TIMEOUT,
    sets: tuple[str, ...] = (),
    jobs: int = 0,
    logs: tuple[Path, ...] = (),
    diagnose_target: str = "seed",
) -> None:
    """Write design-review evidence for the SCENARIOs (default: every built-in one) into --out.

    A self-contained index.html (verdict matrix, each counterexample as story and chart, each
    proof's certificate, every scenario's switches, what was not checked, versions, fingerprints
    and the command that reproduces every row), the same as report.md, and each counterexample's
    chart and ITF trace; with --diagnose, a diagnosis of each log. Exits 0 once the report is
    written, whatever the verdicts.
    """
    from regcheck import report as reports

    validate_settings(engine, recheck, depth, timeout)
    check_jobs(jobs)
    deadline = clock.start(timeout)
    for name in prop:
        catalogue.spec(name)
    names = list(targets) or scenarios.builtin_names()
    chosen = [(target, load_scenario(target, list(sets))) for target in names]
    sources = [*names, diagnose_target] if logs else names
    plan = plan_outputs([*(("the scenario file", _file(t)) for t in sources), *(("the log", log) for log in logs)],
                        [], [("--out", out_dir)], whole=["--out"])
    click.get_current_context().with_resource(plan.locked())
    replacing = reports.earlier(out_dir)  # read under the lock: no other report is being written there
    settings = reports.Settings(engine=engine, depth=depth, timeout=timeout, recheck=recheck)
    with spinner(True) as status:
        evidence = reports.collect(
            chosen, list(prop), settings, overrides=list(sets), out=str(out_dir), jobs=jobs or None, progress=status,
            until=deadline.wall(),
        )
    if logs:
        from regcheck.cases import COLUMNS, diagnose_cases
        from regcheck.diagnosis import diagnose
        from regcheck.model.logs.read import exchange_identities
        from regcheck.model.logs.slices import Selection
        from regcheck.model.observations import read_log

        base = load_scenario(diagnose_target, [])
        deadline = deadline.sooner(WRITING_SHARE, WRITING_MOST)  # the report is written after the diagnoses
        diagnosed = []
        tables = []
        with spinner(True) as status:
            for log in logs:
                title = printable_path(log)
                identities = exchange_identities(log, None, None, None, None, base.process_identity)
                if identities is None:
                    diagnosed.append((title, diagnose(read_log(log), base, timeout=deadline.left() or 0.0,
                                                      progress=status)))
                    continue
                found = diagnose_cases(log, None, identities, Selection(), base, (), deadline, progress=status)
                tables.append(reports.CaseTable(title, found.heading(), COLUMNS,
                                                tuple(tuple(c.row()) for c in found.cases)))
                diagnosed += [(title if len(found.cases) == 1 else f"{title}, case {c.number} "
                               f"({c.tally.key.words()})", c.diagnosis) for c in found.cases
                              if c.diagnosis is not None and not c.same_as]
        evidence = reports.with_diagnoses(evidence, diagnosed, [str(log) for log in logs], diagnose_target, tables)
    written = reports.write(evidence, out_dir)
    for run in evidence.runs:
        counts: dict[str, int] = {}
        for result in run.results:
            counts[result.verdict.value] = counts.get(result.verdict.value, 0) + 1
        summary = ", ".join(f"{n} {v}" for v, n in counts.items())
        out.print(f"{run.scenario.name}: {summary}", markup=False)
    where = printable_path(out_dir)
    out.print(f"wrote {printable_path(written[0])} and {len(written) - 1} more file(s) in {where}", markup=False)
    if replacing:
        stale = len({p.relative_to(out_dir) for p in replacing} - {p.relative_to(out_dir) for p in written})
        out.print(f"replaced the earlier report in {where}, removing the {stale} of its file(s) not written again",
                  markup=False)


@click.command("sweep")
@click.argument("target", required=False)
@click.option("--vary", "vary", multiple=True, metavar="KEY[=V1,V2|=LOW..HIGH]",
              help="A switch and its values (repeatable; KEY alone: every value). Default: impersonate, "
                   "connect_flags=0,0x20, transport, association_scope, workers=1..4.")
@click.option("--property", "-p", "prop", multiple=True, help="Property to check (repeatable); default: all.")
@click.option("--engine", default="auto", show_default=True, help=f"Engine: {', '.join(compose.ENGINES)}.")
@click.option("--depth", default=DEFAULT_DEPTH, show_default=True, type=int, help="Bound on the number of steps.")
@click.option("--timeout", default=DEFAULT_TIMEOUT, show_default=True, type=float, help=clock.HELP)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a switch of the base scenario.")
@click.option("--jobs", "-j", type=int, default=0, help="Local processes, at most one per core (default: one per core).")
@click.option("--dask", "dask", metavar="ADDRESS", help="Run on the Dask scheduler at ADDRESS instead (tcp://host:8786).")
@click.option("--one-at-a-time", "one_at_a_time", is_flag=True,
              help="Vary one switch at a time from the base scenario instead of taking every combination.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: every configuration and its verdicts.")
@click.option("--junit", "junit_file", type=PathType(path_type=Path, dir_okay=False),
              help="Write a JUnit XML report: a suite per configuration, a case per property.")
def sweep_command(
    target: str | None = None,
    vary: tuple[str, ...] = (),
    prop: tuple[str, ...] = (),
    engine: str = "auto",
    depth: int = DEFAULT_DEPTH,
    timeout: float = DEFAULT_TIMEOUT,
    sets: tuple[str, ...] = (),
    jobs: int = 0,
    dask: str | None = None,
    one_at_a_time: bool = False,
    as_json: bool = False,
    junit_file: Path | None = None,
) -> None:
    """Check properties of TARGET (default: seed) in every combination of the --vary values.

    Prints the verdict matrix and, per property, the smallest failing configuration (fewest
    workers, requests and users, then fewest switches changed). Exits 0 when every verdict
    is decided or bounded, 3 when one is unknown; violations are findings, not failures.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from regcheck import sweep

    validate_settings(engine, "z3", depth, timeout)
    check_jobs(jobs)
    deadline = clock.start(timeout)
    plan_outputs([("the scenario file", _file(target))], [("--junit", junit_file)])
    base = load_scenario("seed" if target is None else target, list(sets))
    axes = sweep.axes_of(vary, base)
    if not vary and not as_json:
        for left_out in sweep.defaults_left_out(base):
            err.print(f"not varied: {left_out}", markup=False)
    count = len(sweep.configurations(base, axes, one_at_a_time=one_at_a_time))
    where = f"Dask at {dask}" if dask else f"{min(count, jobs or cores())} local process(es)"
    bar = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=err, transient=True, disable=as_json or not err.is_terminal)
    with bar:
        task = bar.add_task("sweep", total=count)
        result = sweep.run(
            base, axes, list(prop), engine=engine, depth=depth, timeout=deadline.left() or 0.0, jobs=jobs or None,
            dask=dask,
            one_at_a_time=one_at_a_time, progress=lambda done, total: bar.update(task, completed=done),
        )
    if junit_file is not None:
        from regcheck import findings
        from regcheck.formats import junit

        write_atomic(junit_file, junit.document(findings.sweep_suites(result, "seed" if target is None else target)))
    if as_json:
        sys.stdout.write(json.dumps(schema.sweep_document(result), indent=1) + "\n")
    else:
        _print_sweep(result)
        n = len(result.properties)
        err.print(f"{count} configurations x {n} propert{'y' if n == 1 else 'ies'} on {where} "
                  f"in {result.elapsed_s:.1f}s", markup=False)
    unknown = any(r["verdict"] == Verdict.UNKNOWN.value for o in result.outcomes for r in o.results)
    raise click.exceptions.Exit(EXIT_UNKNOWN if unknown else EXIT_OK)


def _file(target: str | None) -> Path | None:
    """The file a scenario argument names, if it names one (not a built-in scenario)."""
    return Path(target) if target is not None and scenarios.names_a_file(target) else None


def _print_sweep(result: Sweep) -> None:
    """The verdict matrix, then each property's smallest failing configuration."""
    out.print(f"sweep of [bold]{escape(result.base.name)}[/bold]: {len(result.outcomes)} configurations, "
              f"engine {result.engine}, depth {result.depth}")
    table = WordTable(show_edge=False, pad_edge=False, fold_headers=True)
    for axis in result.axes:
        table.add_column(axis.key, min_width=len(axis.key))  # a switch's name stays whole
    for name in result.properties:
        table.add_column(name, overflow="fold", min_width=len("violated 12"))  # headers wrap, verdicts do not
    colours = {"violated": "red", "proved": "green", "bounded": "green", "unknown": "yellow"}
    for row in result.matrix():
        cells = [Text(printable(cell)) for cell in row[: len(result.axes)]] + [
            Text(cell, style=colours[cell.split()[0]]) for cell in row[len(result.axes):]
        ]
        table.add_row(*cells)
    out.print(table)
    for name in result.properties:
        smallest = result.smallest_failing(name)
        counts = ", ".join(f"{n} {v}" for v, n in sorted(result.counts(name).items()))
        if smallest is None:
            out.print(f"{name}: no configuration fails ({counts})", markup=False, soft_wrap=True)
            continue
        steps = smallest.result(name)["steps"]
        out.print(
            f"{name}: smallest failing configuration: {' '.join(smallest.configuration.assignments())} "
            f"(violated in {steps} steps; {counts})",
            markup=False,
            soft_wrap=True,
        )


__all__ = ["report_command", "sweep_command"]
