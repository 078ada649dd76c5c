"""The ``regcheck`` command: the composition root, and the only module that knows model/ and properties/.

Exit codes: 0 nothing violated (with ``--all``: every verdict as the scenarios expect); 1 a
counterexample was found (with ``--all``: a verdict differs from its expectation); 2 bad input or
usage; 3 a verdict is unknown.
"""

from __future__ import annotations

import json
import platform
import re
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

import click
from rich.console import Console
from rich.table import Table

import regcheck
from model import scenario as scenarios
from model.replay import replay
from model.scenario import Scenario
from model.story import cause, rows
from model.system import build
from properties import catalogue
from regcheck import engines
from regcheck.checking import verify
from regcheck.errors import InvalidArgument, RegcheckError
from regcheck.result import CheckResult, Verdict
from regcheck.system import Property
from regcheck.trace import itf

EXIT_OK, EXIT_VIOLATED, EXIT_USAGE, EXIT_UNKNOWN = 0, 1, 2, 3
DEFAULT_DEPTH = 12
DEFAULT_TIMEOUT = 120.0
MAX_DEPTH = 500

out = Console(highlight=False)
if not out.is_terminal:
    out = Console(highlight=False, width=140)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(regcheck.__version__, prog_name="regcheck")
@click.pass_context
def app(ctx: click.Context) -> None:
    """Model checker for the Exchange 2013 Outlook Anywhere registration protocol.

    With no command, checks the built-in seed scenario (the article's case).
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(check)


def _scenario(target: str, overrides: list[str]) -> Scenario:
    return scenarios.with_overrides(scenarios.load(target), overrides)


def _properties(names: list[str], scenario: Scenario) -> list[Property]:
    chosen = names or list(catalogue.NAMES)
    return [catalogue.instantiate(name, scenario) for name in dict.fromkeys(chosen)]


def run_checks(
    scenario: Scenario, names: list[str], *, engine: str, depth: int, timeout: float, progress: bool = False
) -> list[CheckResult]:
    """Check ``scenario`` with every counterexample replayed on the reference simulator."""
    system = build(scenario)
    props = _properties(names, scenario)

    def replayer(trace: Any, prop: Property) -> str | None:
        report = replay(scenario, trace, prop.formula)
        return None if report.ok else str(report)

    with _progress(progress) as report:
        return verify(system, props, engine=engine, depth=depth, timeout=timeout, replay=replayer, progress=report)


class _Status:
    def __init__(self) -> None:
        self.status = err.status("checking ...")

    def __call__(self, message: str) -> None:
        self.status.update(message)


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    """A spinner with the engine's progress on stderr, when stderr is a terminal."""
    if not (enabled and err.is_terminal):
        yield None
        return
    status = _Status()
    with status.status:
        yield status


def _met(verdict: Verdict, expected: str | None) -> bool | None:
    if expected is None:
        return None
    if verdict is Verdict.UNKNOWN:
        return False
    return (verdict is Verdict.VIOLATED) == (expected == "violated")


def _exit_code(results: list[tuple[Scenario, CheckResult]], *, against_expectations: bool) -> int:
    if against_expectations:
        if any(_met(r.verdict, s.expected.get(r.property)) is False and r.verdict is not Verdict.UNKNOWN
               for s, r in results):
            return EXIT_VIOLATED
        if any(r.verdict is Verdict.VIOLATED and r.property not in s.expected for s, r in results):
            return EXIT_VIOLATED
    elif any(r.verdict is Verdict.VIOLATED for _, r in results):
        return EXIT_VIOLATED
    if any(r.verdict is Verdict.UNKNOWN for _, r in results):
        return EXIT_UNKNOWN
    return EXIT_OK


def _verdict_text(result: CheckResult) -> str:
    if result.verdict is Verdict.BOUNDED:
        return f"bounded (no violation in {result.depth} steps)"
    if result.verdict is Verdict.VIOLATED:
        return f"violated ({result.depth} steps)"
    if result.verdict is Verdict.UNKNOWN:
        return "unknown" + (f": {result.note}" if result.note else "")
    return result.verdict.value


def _style(result: CheckResult, expected: str | None) -> str:
    met = _met(result.verdict, expected)
    if result.verdict is Verdict.UNKNOWN:
        return "yellow"
    if met is False:
        return "bold red"
    return "red" if result.verdict is Verdict.VIOLATED else "green"


def _result_json(scenario: Scenario, result: CheckResult) -> dict[str, Any]:
    return {
        "property": result.property,
        "kind": result.kind,
        "verdict": result.verdict.value,
        "depth": result.depth,
        "engine": result.engine,
        "expected": scenario.expected.get(result.property),
        "time_s": result.time_s,
        "trace": itf.to_itf(result.trace) if result.trace is not None else None,
        "evidence": result.evidence.to_json() if hasattr(result.evidence, "to_json") else result.evidence,
        "note": result.note or None,
    }


def _scenario_json(scenario: Scenario) -> dict[str, Any]:
    return {"name": scenario.name, "description": scenario.description, **scenario.switches()}


def _header() -> dict[str, Any]:
    return {
        "version": 1,
        "tool": {"name": "regcheck", "version": regcheck.__version__},
        "z3": _z3_version(),
        "python": platform.python_version(),
    }


def _z3_version() -> str:
    from regcheck.smt import z3_version

    return z3_version()


def _print_story(scenario: Scenario, result: CheckResult, others: list[CheckResult]) -> None:
    trace = result.trace
    assert trace is not None
    out.print()
    out.print(
        f"[bold]Counterexample[/bold] to {result.property} ({len(trace)} steps, shortest; "
        "replayed on the reference simulator):"
    )
    table = Table(show_edge=False, pad_edge=False)
    for column in ("step", "thread", "runs as", "call", "association", "registration cache", "result"):
        table.add_column(column, overflow="fold")
    for row in rows(scenario, trace):
        style = "bold red" if row.failed else None
        table.add_row(
            str(row.step), row.thread, row.identity, row.call, row.guid, row.cache or "-", row.result, style=style
        )
    out.print(table)
    out.print(f"[bold]Why:[/bold] {cause(scenario, trace)}")
    for other in others:
        out.print(
            f"Also violated: {other.property} ({len(other.trace or ())} steps); "
            f"see it with --property {other.property}"
        )


@app.command()
@click.argument("target", required=False)
@click.option("--property", "-p", "prop", multiple=True, help="Property to check (repeatable); default: all.")
@click.option("--engine", default="bmc", show_default=True, help=f"Engine: {', '.join(engines.NAMES)}.")
@click.option("--depth", default=DEFAULT_DEPTH, show_default=True, type=int, help="Bound on the number of steps.")
@click.option(
    "--timeout", default=DEFAULT_TIMEOUT, show_default=True, type=float, help="Seconds before giving up (unknown)."
)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a switch (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (DESIGN.md section 6).")
@click.option("--trace-out", type=click.Path(path_type=Path), help="Write every counterexample as ITF JSON here.")
@click.option("--all", "all_", is_flag=True, help="Check every built-in scenario against its expected verdicts.")
def check(
    target: Optional[str] = None,
    prop: tuple[str, ...] = (),
    engine: str = "bmc",
    depth: int = DEFAULT_DEPTH,
    timeout: float = DEFAULT_TIMEOUT,
    sets: tuple[str, ...] = (),
    as_json: bool = False,
    trace_out: Optional[Path] = None,
    all_: bool = False,
) -> None:
    """Check the properties of TARGET (a built-in scenario or a .toml file; default: seed).

    Every counterexample is replayed on the reference simulator before it is shown.
    """
    names = list(prop)
    if engine not in engines.NAMES:
        raise InvalidArgument(f"--engine: unknown engine {engine!r}; engines: {', '.join(engines.NAMES)}")
    if not 0 <= depth <= MAX_DEPTH:
        raise InvalidArgument(f"--depth: expected a whole number from 0 to {MAX_DEPTH}, got {depth}")
    if not timeout > 0:
        raise InvalidArgument(f"--timeout: expected a positive number of seconds, got {timeout}")
    for name in names:
        catalogue.spec(name)
    if all_:
        if target is not None or sets:
            raise InvalidArgument("--all checks the built-in scenarios as they are; drop the scenario and --set")
        chosen = [scenarios.load_builtin(name) for name in scenarios.builtin_names()]
    else:
        chosen = [_scenario(target or "seed", list(sets))]
    runs: list[tuple[Scenario, list[CheckResult]]] = []
    for scenario in chosen:
        results = run_checks(scenario, names, engine=engine, depth=depth, timeout=timeout, progress=not as_json)
        runs.append((scenario, results))
        if trace_out is not None:
            _write_traces(trace_out, scenario, results)
    flat = [(s, r) for s, results in runs for r in results]
    if as_json:
        document = _header()
        if all_:
            document["runs"] = [
                {"scenario": _scenario_json(s), "results": [_result_json(s, r) for r in results]} for s, results in runs
            ]
        else:
            scenario, results = runs[0]
            document["scenario"] = _scenario_json(scenario)
            document["results"] = [_result_json(scenario, r) for r in results]
        sys.stdout.write(json.dumps(document, indent=1) + "\n")
    elif all_:
        _print_matrix(runs)
    else:
        _print_run(*runs[0], engine=engine, depth=depth)
    raise click.exceptions.Exit(_exit_code(flat, against_expectations=all_))


def _write_traces(folder: Path, scenario: Scenario, results: list[CheckResult]) -> None:
    for result in results:
        if result.trace is not None:
            trace = result.trace.with_meta(scenario=scenario.name, switches=scenario.switches())
            itf.write(trace, folder / f"{_file_stem(scenario.name)}.{result.property}.itf.json")


def _file_stem(name: str) -> str:
    """A scenario name made safe as a file name inside the output folder (no separators, no dot-files)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).lstrip(".")
    return stem or "scenario"


def _print_run(scenario: Scenario, results: list[CheckResult], *, engine: str, depth: int) -> None:
    out.print(
        f"regcheck {regcheck.__version__}: scenario [bold]{scenario.name}[/bold], engine {engine}, depth {depth}"
    )
    if scenario.description:
        out.print(scenario.description, style="dim")
    table = Table(show_edge=False, pad_edge=False)
    for column in ("property", "verdict", "expected", "time"):
        table.add_column(column)
    for result in results:
        expected = scenario.expected.get(result.property)
        table.add_row(
            result.property,
            _verdict_text(result),
            expected or "-",
            f"{result.time_s:.2f}s",
            style=_style(result, expected),
        )
    out.print(table)
    violated = [r for r in results if r.verdict is Verdict.VIOLATED]
    if violated:
        _print_story(scenario, violated[0], violated[1:])


def _print_matrix(runs: list[tuple[Scenario, list[CheckResult]]]) -> None:
    table = Table(title="built-in scenarios against their expected verdicts", show_edge=False, pad_edge=False)
    for column in ("scenario", "property", "verdict", "expected", "as expected"):
        table.add_column(column)
    for scenario, results in runs:
        for index, result in enumerate(results):
            expected = scenario.expected.get(result.property)
            met = _met(result.verdict, expected)
            table.add_row(
                scenario.name if index == 0 else "",
                result.property,
                _verdict_text(result),
                expected or "-",
                "-" if met is None else ("yes" if met else "NO"),
                style=_style(result, expected),
                end_section=index == len(results) - 1,
            )
    out.print(table)


@app.command("scenarios")
def list_scenarios() -> None:
    """List the built-in scenarios and what each expects."""
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("scenario")
    table.add_column("description", overflow="fold")
    for name in scenarios.builtin_names():
        table.add_row(name, scenarios.load_builtin(name).description)
    out.print(table)


@app.command("properties")
def list_properties() -> None:
    """List the properties with their kind, meaning and source."""
    table = Table(show_edge=False, pad_edge=False)
    for column in ("property", "kind", "description", "source"):
        table.add_column(column, overflow="fold")
    for spec in catalogue.CATALOGUE:
        table.add_row(spec.name, spec.kind.value, spec.description, spec.source)
    out.print(table)


def main(argv: list[str] | None = None) -> int:
    """Entry point: bad input becomes one line on stderr and exit 2, never a traceback."""
    try:
        code = app.main(args=argv, prog_name="regcheck", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        err.print(f"error: {exc.format_message()}", markup=False)
        return EXIT_USAGE
    except click.Abort:
        err.print("interrupted", markup=False)
        return 130
    except RegcheckError as exc:
        err.print(f"error: {exc}", markup=False)
        return EXIT_USAGE
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        err.print(f"error: cannot write{where}: {exc.strerror or exc}", markup=False)
        return EXIT_USAGE
    return code if isinstance(code, int) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
