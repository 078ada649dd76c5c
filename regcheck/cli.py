"""The ``regcheck`` command: the composition root, and the only module that knows model/ and properties/.

Exit codes: 0 nothing violated (with ``--all``: every verdict as the scenarios expect); 1 a
counterexample was found (with ``--all``: a verdict differs from its expectation); 2 bad input or
usage; 3 a verdict is unknown; 4 an internal error (two engines contradict each other); 141
standard output was closed before regcheck finished writing (``regcheck check | head``), as a shell
reports a command killed by SIGPIPE, and without a message.

Text from scenario and trace files is printed literally (never as rich markup), with control
characters made visible (``regcheck.display``).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import platform
import re
import signal
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

import regcheck
from model import scenario as scenarios
from model.replay import replay
from model.scenario import Scenario
from model.explain import Explanation
from model.story import cause, rows
from model.system import build
from properties import catalogue
from regcheck import compose, counterexamples, crosscheck
from regcheck.errors import EngineDisagreement, InvalidArgument, RegcheckError
from regcheck.certificate import Certificate
from regcheck.result import CheckResult, Trace, Verdict, scope_words
from regcheck.expr import Expr
from regcheck.system import Kind, Property
from regcheck.display import brief, printable, shown
from regcheck.files import output_folder, write_atomic
from regcheck.limits import check_timeout
from regcheck.sweep import Sweep
from regcheck.trace import itf

EXIT_OK, EXIT_VIOLATED, EXIT_USAGE, EXIT_UNKNOWN, EXIT_INTERNAL = 0, 1, 2, 3, 4
EXIT_BROKEN_PIPE = 128 + 13
"""Standard output closed early: what a shell reports for a command that SIGPIPE ended."""
DEFAULT_DEPTH = 12
DEFAULT_TIMEOUT = 120.0
MAX_DEPTH = 500
MAX_CAUSES = 20

class _Console(Console):
    """A console that leaves a closed pipe to :func:`main` (rich's own exits 1, the code of a violation)."""

    def on_broken_pipe(self) -> None:
        """Stop writing, and let the closed pipe end the run."""
        self.quiet = True
        raise BrokenPipeError


out = _Console(highlight=False)
if not out.is_terminal:
    out = _Console(highlight=False, width=140)
err = _Console(stderr=True, highlight=False, soft_wrap=True)


class _OutputClosed(Exception):
    """Standard output was closed before the command finished writing."""


class _Group(click.Group):
    """The command group; it keeps a closed pipe from click, which would end the run with exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a closed pipe becomes :class:`_OutputClosed`, which click does not catch."""
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise _OutputClosed from None


@click.group(cls=_Group, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(regcheck.__version__, prog_name="regcheck")
@click.pass_context
def app(ctx: click.Context) -> None:
    """Model checker for the Exchange 2013 Outlook Anywhere registration protocol.

    With no command, checks the built-in seed scenario (the article's case).
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(check)


class _PathType(click.Path):
    """A path option or argument that refuses the empty string (which ``pathlib`` reads as ``.``)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The path, or a usage error for the empty string."""
        if isinstance(value, str) and not value:
            self.fail("expected a path, got an empty string", param, ctx)
        return super().convert(value, param, ctx)


def _scenario(target: str, overrides: list[str]) -> Scenario:
    """The scenario ``target`` names (built-in or file), with ``--set`` overrides and checked expectations."""
    return scenarios.with_overrides(_expectations_known(scenarios.load(target), target), overrides)


def _expectations_known(scenario: Scenario, origin: str) -> Scenario:
    """``scenario``, once every property its ``[expected]`` table names is known (model/ cannot know them)."""
    for name in scenario.expected:
        if name not in catalogue.NAMES:
            raise InvalidArgument(
                f"{origin}: [expected] names unknown property {shown(name)}; "
                f"properties: {', '.join(catalogue.NAMES)}"
            )
    return scenario


def run_checks(
    scenario: Scenario,
    names: list[str],
    *,
    engine: str,
    depth: int,
    timeout: float,
    recheck: str = "z3",
    progress: bool = False,
) -> list[CheckResult]:
    """Check ``scenario`` (see ``regcheck.compose``), with a spinner on a terminal."""
    with _progress(progress) as report:
        return compose.run_checks(
            scenario, names, engine=engine, depth=depth, timeout=timeout, recheck=recheck, progress=report
        )


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
    """Whether a verdict meets an expectation: "holds" wants a proof, "bounded" accepts a bound."""
    return scenarios.meets(verdict.value, expected)


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
    """The verdict in words, with its bound and, for a parameterised check, the worker counts it covers."""
    scope = scope_words(result)
    if result.verdict is Verdict.BOUNDED:
        return f"bounded (no violation in {result.depth} steps{', ' + scope if scope else ''})"
    if result.verdict is Verdict.VIOLATED:
        return f"violated ({result.depth} steps{', ' + scope if scope else ''})"
    if result.verdict is Verdict.UNKNOWN:
        return "unknown" + (f": {result.note}" if result.note else "")
    return "proved" + (f" ({scope})" if scope else "")


def _summary(results: list[CheckResult]) -> str:
    """How many results are proofs and how many only bounds: the line a reviewer reads first."""
    counts = {v: sum(r.verdict is v for r in results) for v in Verdict}
    parts = [f"{counts[Verdict.PROVED]} proved"]
    if counts[Verdict.BOUNDED]:
        parts.append(f"{counts[Verdict.BOUNDED]} only bounded (no proof)")
    if counts[Verdict.VIOLATED]:
        parts.append(f"{counts[Verdict.VIOLATED]} violated")
    if counts[Verdict.UNKNOWN]:
        parts.append(f"{counts[Verdict.UNKNOWN]} unknown")
    return f"{len(results)} properties: " + ", ".join(parts)


def _style(result: CheckResult, expected: str | None) -> str:
    met = _met(result.verdict, expected)
    if result.verdict is Verdict.UNKNOWN:
        return "yellow"
    if met is False:
        return "bold red"
    return "red" if result.verdict is Verdict.VIOLATED else "green"


def _result_json(scenario: Scenario, result: CheckResult, extra: counterexamples.Extras | None = None) -> dict[str, Any]:
    data = {
        "property": result.property,
        "kind": result.kind.value,
        "verdict": result.verdict.value,
        "depth": result.depth,
        "engine": result.engine,
        "expected": scenario.expected.get(result.property),
        "time_s": result.time_s,
        "scope": None if result.scope is None else {"workers": result.scope.to_json()},
        "trace": itf.to_itf(result.trace) if result.trace is not None else None,
        "evidence": result.evidence.to_json() if result.evidence is not None else None,
        "note": result.note or None,
    }
    if extra is not None and extra.explanation is not None:
        data["explanation"] = _explanation_json(extra.explanation)
    if extra is not None and extra.causes is not None:
        found = extra.causes
        data["causes"] = {
            "complete": found.complete,
            "depth": found.depth,
            "note": found.note or None,
            "counterexamples": [
                {
                    "cause": c.description,
                    "steps": len(c.trace),
                    "trace": itf.to_itf(c.trace),
                    "explanation": _explanation_json(c.explanation) if c.explanation is not None else None,
                }
                for c in found.found
            ],
        }
    return data


def _explanation_json(explanation: Explanation) -> dict[str, Any]:
    return {
        "steps": len(explanation.shrunk),
        "original_steps": len(explanation.original),
        "dropped_threads": list(explanation.dropped_threads),
        "needs": [{"step": n.step, "action": n.label, "reason": n.reason} for n in explanation.needs],
        "cause": explanation.cause,
        "trace": itf.to_itf(explanation.shrunk),
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


def _story_table(scenario: Scenario, trace: Trace) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    for column in ("step", "thread", "runs as", "call", "association", "registration cache", "result"):
        table.add_column(column, overflow="fold")
    for row in rows(scenario, trace):
        style = "bold red" if row.failed else None
        table.add_row(
            str(row.step), row.thread, row.identity, row.call, row.guid, row.cache or "-", row.result, style=style
        )
    return table


def _print_story(scenario: Scenario, result: CheckResult, others: list[CheckResult]) -> None:
    trace = result.trace
    assert trace is not None
    out.print()
    out.print(
        f"[bold]Counterexample[/bold] to {result.property} ({len(trace)} steps, shortest; "
        "replayed on the reference simulator):"
    )
    out.print(_story_table(scenario, trace))
    out.print(f"[bold]Why:[/bold] {escape(cause(scenario, trace))}")
    for other in others:
        out.print(
            f"Also violated: {other.property} ({len(other.trace or ())} steps); "
            f"see it with --property {other.property}"
        )


@app.command()
@click.argument("target", required=False)
@click.option("--property", "-p", "prop", multiple=True, help="Property to check (repeatable); default: all.")
@click.option(
    "--engine",
    default="auto",
    show_default=True,
    help=f"Engine: {', '.join(compose.ENGINES)} (auto: BMC and a PDR proof side by side).",
)
@click.option(
    "--recheck",
    default="z3",
    show_default=True,
    help="Solver that re-checks every proof certificate: z3 (a fresh instance) or cvc5.",
)
@click.option("--depth", default=DEFAULT_DEPTH, show_default=True, type=int, help="Bound on the number of steps.")
@click.option(
    "--timeout", default=DEFAULT_TIMEOUT, show_default=True, type=float, help="Seconds before giving up (unknown)."
)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a switch (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (DESIGN.md section 6).")
@click.option(
    "--trace-out",
    type=_PathType(path_type=Path),
    help="Write every counterexample here as ITF JSON, with its sequence chart as SVG and PNG.",
)
@click.option("--all", "all_", is_flag=True, help="Check every built-in scenario against its expected verdicts.")
@click.option(
    "--counterexamples",
    "causes",
    default=0,
    type=int,
    metavar="N",
    help="Up to N counterexamples per violated property that differ in their cause (not in step order).",
)
@click.option("--explain", is_flag=True, help="Shrink each counterexample by replay; say which steps matter and why.")
@click.option(
    "--cross-check",
    "cross",
    metavar="ENGINE",
    help="Run ENGINE too; exit 1 if it disagrees (another verdict, or a counterexample of another length).",
)
def check(
    target: Optional[str] = None,
    prop: tuple[str, ...] = (),
    engine: str = "auto",
    recheck: str = "z3",
    depth: int = DEFAULT_DEPTH,
    timeout: float = DEFAULT_TIMEOUT,
    sets: tuple[str, ...] = (),
    as_json: bool = False,
    trace_out: Optional[Path] = None,
    all_: bool = False,
    causes: int = 0,
    explain: bool = False,
    cross: Optional[str] = None,
) -> None:
    """Check the properties of TARGET (a built-in scenario or a .toml file; default: seed).

    Every counterexample is replayed on the reference simulator before it is shown.
    """
    names = list(prop)
    _validate_settings(engine, recheck, depth, timeout)
    if not 0 <= causes <= MAX_CAUSES:
        raise InvalidArgument(
            f"--counterexamples: expected a whole number from 0 to {MAX_CAUSES}, got {shown(causes)}"
        )
    if cross is not None and cross not in compose.ENGINES:
        raise InvalidArgument(f"--cross-check: unknown engine {shown(cross)}; engines: {', '.join(compose.ENGINES)}")
    for name in names:
        catalogue.spec(name)
    if all_:
        if target is not None or sets:
            raise InvalidArgument("--all checks the built-in scenarios as they are; drop the scenario and --set")
        chosen = [scenarios.load_builtin(name) for name in scenarios.builtin_names()]
    else:
        chosen = [_scenario("seed" if target is None else target, list(sets))]
    if trace_out is not None:
        output_folder(trace_out, option="--trace-out")
    runs: list[tuple[Scenario, list[CheckResult]]] = []
    extras: dict[tuple[str, str], counterexamples.Extras] = {}
    disagreements: list[tuple[Scenario, str]] = []
    skipped: list[tuple[Scenario, str]] = []
    decided = 0
    for scenario in chosen:
        results = run_checks(
            scenario, names, engine=engine, depth=depth, timeout=timeout, recheck=recheck, progress=not as_json
        )
        runs.append((scenario, results))
        if cross is not None:
            others = run_checks(
                scenario, names, engine=cross, depth=depth, timeout=timeout, recheck=recheck, progress=not as_json
            )
            disagreements += [(scenario, d) for d in crosscheck.disagreements(results, others)]
            skipped += [(scenario, d) for d in crosscheck.not_compared(results, others)]
            decided += sum(Verdict.UNKNOWN not in (a.verdict, b.verdict) for a, b in zip(results, others))
        for result in results:
            if result.verdict is Verdict.VIOLATED and result.kind is Kind.SAFETY and (causes or explain):
                extras[scenario.name, result.property] = counterexamples.extras(
                    compose.scenario_of(scenario, result.trace),
                    result,
                    causes=causes,
                    explain=explain,
                    depth=depth,
                    timeout=timeout,
                )
        if trace_out is not None:
            _write_traces(trace_out, scenario, results, extras)
    flat = [(s, r) for s, results in runs for r in results]
    if as_json:
        document = _header()
        if all_:
            document["runs"] = [
                {
                    "scenario": _scenario_json(s),
                    "results": [_result_json(s, r, extras.get((s.name, r.property))) for r in results],
                }
                for s, results in runs
            ]
        else:
            scenario, results = runs[0]
            document["scenario"] = _scenario_json(scenario)
            document["results"] = [_result_json(scenario, r, extras.get((scenario.name, r.property))) for r in results]
        if cross is not None:
            document["cross_check"] = {
                "engine": cross,
                "disagreements": [{"scenario": s.name, "message": d} for s, d in disagreements],
                "not_compared": [{"scenario": s.name, "what": d} for s, d in skipped],
            }
        sys.stdout.write(json.dumps(document, indent=1) + "\n")
    elif all_:
        _print_matrix(runs)
    else:
        _print_run(*runs[0], engine=engine, depth=depth)
        scenario, results = runs[0]
        for result in results:
            if (scenario.name, result.property) in extras:
                told = result is next(r for r in results if r.verdict is Verdict.VIOLATED)
                _print_extras(scenario, result, extras[scenario.name, result.property], depth=depth, told=told)
    if cross is not None and not as_json and not disagreements:
        out.print(f"cross-check with {cross}: the engines agree on every property both decided ({decided} of {len(flat)})")
    if cross is not None and not as_json and skipped:
        out.print("not compared: " + "; ".join(f"{s.name}: {d}" if all_ else d for s, d in skipped), markup=False)
    for scenario, message in disagreements:
        err.print(f"error: {scenario.name}: {message}" if all_ else f"error: {message}", markup=False)
    if disagreements:
        raise click.exceptions.Exit(EXIT_VIOLATED)
    raise click.exceptions.Exit(_exit_code(flat, against_expectations=all_))


def _write_traces(
    folder: Path, scenario: Scenario, results: list[CheckResult], extras: dict[tuple[str, str], counterexamples.Extras]
) -> None:
    """Each counterexample as ITF JSON plus its sequence chart (SVG, PNG); distinct causes as ``.cause-K``."""
    stem = _file_stem(scenario.name)
    for result in results:
        if result.trace is None:
            continue
        found = [(f"{stem}.{result.property}", result.trace)]
        extra = extras.get((scenario.name, result.property))
        if extra is not None and extra.causes is not None:
            found += [
                (f"{stem}.{result.property}.cause-{k}", c.trace) for k, c in enumerate(extra.causes.found, start=1)
            ]
        for name, trace in found:
            concrete = compose.scenario_of(scenario, trace)
            trace = trace.with_meta(scenario=scenario.name, switches=concrete.switches())
            itf.write(trace, folder / f"{name}.itf.json")
            _write_chart(folder / name, concrete, trace)


def _write_chart(stem: Path, scenario: Scenario, trace: Trace) -> None:
    """The trace's sequence chart next to it, as ``stem.svg`` and ``stem.png``."""
    from model import views
    from regcheck.trace import draw

    figure = draw.chart_figure(views.chart(scenario, trace))
    for fmt in draw.FORMATS:
        write_atomic(stem.with_name(f"{stem.name}.{fmt}"), draw.render(figure, fmt))


# --------------------------------------------------------------------------------------------
# Distinct causes and explanations (check --counterexamples N, --explain)


def _print_extras(scenario: Scenario, result: CheckResult, extra: counterexamples.Extras, *, depth: int, told: bool) -> None:
    """Print the distinct causes (with their explanations), or else the explanation of the verdict's counterexample.

    ``told``: the verdict's counterexample was just told as a story, so its table and cause need no repeat.
    """
    found = extra.causes
    if found is None:
        if extra.explanation is not None:
            _print_explanation(scenario, extra.explanation, f"the counterexample to {result.property}", told=told)
        return
    count = len(found)
    out.print()
    if found.complete:
        how_many = f"{count} distinct cause{'s' if count != 1 else ''} within {depth} steps"
        if count < extra.requested:
            how_many += f" (you asked for {extra.requested}; no other cause exists)"
    else:
        how_many = f"the first {count} distinct causes (more may exist)"
    out.print(f"[bold]Counterexamples to {result.property}[/bold] that differ in their cause: {how_many}")
    if found.note:
        out.print(found.note, style="yellow", markup=False)
    for number, item in enumerate(found.found, start=1):
        out.print()
        out.print(f"[bold]Cause {number}[/bold] ({len(item.trace)} steps): {escape(item.description)}")
        out.print(_story_table(scenario, item.trace))
        if item.explanation is not None:
            _print_explanation(scenario, item.explanation, f"cause {number}", told=True)


def _print_explanation(scenario: Scenario, explanation: Explanation, what: str, *, told: bool) -> None:
    """The shrunk trace (unless it is the one just shown), why each of its steps is needed, and its cause."""
    before, after = len(explanation.original), len(explanation.shrunk)
    out.print()
    summary = f"shrunk by replay on the reference simulator from {before} to {after} steps"
    if explanation.dropped_threads:
        summary += f", dropping every step of {', '.join(explanation.dropped_threads)}"
    out.print(f"[bold]Explanation[/bold] of {what}: {summary}; each remaining step is needed:")
    shown = told and after == before
    if not shown:
        out.print(_story_table(scenario, explanation.shrunk))
    for need in explanation.needs:
        out.print(f"  step {need.step} {need.label}: {need.reason}", markup=False)
    if not shown:
        out.print(f"[bold]Why:[/bold] {escape(explanation.cause)}")


def _file_stem(name: str) -> str:
    """A scenario name made safe as a file name inside the output folder (no separators, no dot-files)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).lstrip(".")
    return stem or "scenario"


def _print_run(scenario: Scenario, results: list[CheckResult], *, engine: str, depth: int) -> None:
    out.print(
        Text.assemble(
            f"regcheck {regcheck.__version__}: scenario ",
            (scenario.name, "bold"),
            f", engine {engine}, depth {depth}",
        )
    )
    if scenario.description:
        out.print(Text(scenario.description, style="dim"))
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
    out.print(_summary(results))
    _print_certificates(results)
    violated = [r for r in results if r.verdict is Verdict.VIOLATED]
    if violated:
        _print_story(scenario, violated[0], violated[1:])


def _print_certificates(results: list[CheckResult]) -> None:
    """Each proof's certificate once (properties proved together share one), in the model's names;
    proofs by exhaustive search (no certificate) say what was searched."""
    for result in results:
        evidence = result.evidence
        if result.verdict is Verdict.PROVED and evidence is not None and not isinstance(evidence, Certificate):
            out.print()
            out.print(f"[bold]Proved[/bold] {result.property} by {escape(evidence.describe())}", soft_wrap=True)
    shown: dict[str, tuple[Certificate, list[str]]] = {}
    for result in results:
        if result.verdict is Verdict.PROVED and isinstance(result.evidence, Certificate):
            shown.setdefault(result.evidence.describe(), (result.evidence, []))[1].append(result.property)
    for text, (certificate, props) in shown.items():
        out.print()
        out.print(f"[bold]Proved[/bold] {', '.join(props)}: {escape(text)}", soft_wrap=True)
        notes = certificate.notes
        if notes.get("parameterised"):
            out.print(f"  for every number of workers ({escape(str(notes['abstraction']))})")
        elif "instantiated_for_workers" in notes:
            out.print(f"  via the {escape(str(notes['abstraction']))}, instantiated for "
                      f"{notes['instantiated_for_workers']} workers")
        out.print(f"  certificate re-checked by {certificate.rechecks()}", style="dim")


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


# --------------------------------------------------------------------------------------------
# show and replay: a trace file on its own


SHOW_FORMATS = ("text", "mermaid", "svg", "png", "dot", "graphml")
VIEWS = ("chart", "states")
MAX_GRAPH_STATES = 20_000
"""Explored states above which the state graph's neighbourhood comes from the system's own semantics."""
MAX_DRAWN_STEPS = 500
"""Steps above which ``show`` refuses to draw SVG or PNG: a drawing's time and memory grow with its steps."""


def _load_trace(path: Path, target: Optional[str], sets: list[str]) -> tuple[Trace, Scenario | None]:
    """A trace file and its scenario: ``--scenario`` if given, else the one recorded in its ``#meta.switches``."""
    trace = itf.read(path)
    if target is not None:
        return trace, _concrete(path, trace, _scenario(target, sets))
    switches = trace.meta.get("switches")
    if switches is None:
        if sets:
            raise InvalidArgument(f"{path}: the trace does not record its scenario; --set needs --scenario NAME|FILE")
        return trace, None
    if not isinstance(switches, dict):
        raise InvalidArgument(f"{path}: '#meta.switches' must be an object of scenario switches")
    origin = f"{path} #meta.switches"
    recorded = _expectations_known(scenarios.from_mapping(switches, origin=origin), origin)
    return trace, _concrete(path, trace, scenarios.with_overrides(recorded, sets))


def _concrete(path: Path, trace: Trace, scenario: Scenario) -> Scenario:
    """``scenario`` with the trace's number of workers, if it is a workers=any one: a trace is concrete."""
    if not scenario.parameterised:
        return scenario
    workers = trace.meta.get("workers")
    if not isinstance(workers, int) or isinstance(workers, bool) or not 1 <= workers <= scenarios.MAX_WORKERS:
        raise InvalidArgument(
            f"{path}: for a workers=any scenario, the trace must record its number of workers "
            f"(#meta.workers, 1 to {scenarios.MAX_WORKERS}), got {shown(workers)}"
        )
    return scenario.with_workers(workers)


def _trace_property(path: Path, trace: Trace, scenario: Scenario, name: Optional[str]) -> Property | None:
    """The property the trace claims to violate: ``--property``, else its ``#meta.property``, if any."""
    name = name or trace.meta.get("property")
    if name is None:
        return None
    if not isinstance(name, str):
        raise InvalidArgument(f"{path}: '#meta.property' must be a property name, got {shown(name)}")
    return catalogue.instantiate(name, scenario)


def _claim(prop: Property | None) -> Property | Expr | None:
    """What a replay checks: a liveness property as a property (a fair lasso), a safety one as its formula."""
    return None if prop is None else (prop if prop.kind is not Kind.SAFETY else prop.formula)


def _replayed(
    path: Path, trace: Trace, scenario: Scenario, prop: Property | None, *, explain: bool
) -> tuple[Scenario | None, Property | None]:
    """The scenario and property to read ``trace`` by, if it replays on the reference simulator; else a warning
    (or, for ``--explain``, an error) and none: a trace that does not replay is shown as written."""
    reason = _off_domain(trace, scenario)
    if reason is None:
        report = replay(scenario, trace, _claim(prop))
        if report.ok:
            return scenario, prop
        reason = str(report)
    what = f"{path} does not replay on the reference simulator of scenario {scenario.name}"
    if explain:
        raise InvalidArgument(f"--explain: {what}: {reason}")
    err.print(brief(f"warning: {what}: {reason}; shown as written, without its scenario's reading"), markup=False)
    return None, None


def _off_domain(trace: Trace, scenario: Scenario) -> str | None:
    """Where ``trace`` gives a variable of its scenario a value of another type or range (``true`` for a counter)."""
    domains = build(scenario).domains
    for index, state in enumerate(trace.states):
        for name, value in state.items():
            if name in domains and not domains[name].contains(value):
                return f"state {index}: {name} is {shown(value)}, outside its domain {domains[name].describe()}"
    return None


def _emit(data: str | bytes, output: Optional[Path]) -> None:
    """Write to ``output`` atomically, or to standard output (binary only when it is not a terminal)."""
    if isinstance(data, str):
        data = printable(data)
    if output is not None:
        write_atomic(output, data)
    elif isinstance(data, str):
        sys.stdout.write(data)
    elif sys.stdout.isatty():
        raise InvalidArgument("PNG is binary: give -o FILE, or redirect standard output to a file")
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)


def _state_graph(trace: Trace, scenario: Scenario | None, prop: Property | None) -> Any:
    """The counterexample's path and the states one step off it (the explicit engine's graph when it is there)."""
    from regcheck.expr import evaluate
    from regcheck.trace import states

    if scenario is None:
        return states.state_graph(trace)
    system = build(scenario)
    successors = states.system_successors(system)
    if importlib.util.find_spec("regcheck.engines.explicit") is not None:
        explicit = importlib.import_module("regcheck.engines.explicit")
        if hasattr(explicit, "explore"):
            explored = explicit.explore(system, symmetry=False, max_states=MAX_GRAPH_STATES)
            if explored.complete:
                successors = states.graph_successors(explored.graph, system.names)
    bad = (lambda state: not evaluate(prop.formula, state)) if prop is not None else None
    title = f"{scenario.name}: {prop.name}" if prop is not None else scenario.name
    return states.state_graph(trace, successors=successors, bad=bad, title=f"{title} ({len(trace)} steps)")


@app.command()
@click.argument("trace_file", metavar="TRACE", type=_PathType(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(SHOW_FORMATS), default="text", show_default=True)
@click.option(
    "--view",
    type=click.Choice(VIEWS),
    help="chart: the message sequence chart; states: the state graph around the trace. "
    "Default: chart for mermaid, svg and png; states for dot and graphml.",
)
@click.option("--diff/--full", default=True, help="text: only what changed at each step (default), or every state.")
@click.option("-o", "--output", type=_PathType(path_type=Path, dir_okay=False), help="Write to FILE (atomically).")
@click.option("--scenario", "target", metavar="NAME|FILE", help="The trace's scenario (default: the one it records).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a switch of that scenario.")
@click.option("--explain", is_flag=True, help="text: shrink the trace by replay; say which steps matter and why.")
def show(
    trace_file: Path,
    fmt: str = "text",
    view: Optional[str] = None,
    diff: bool = True,
    output: Optional[Path] = None,
    target: Optional[str] = None,
    sets: tuple[str, ...] = (),
    explain: bool = False,
) -> None:
    """Show the trace in TRACE (an .itf.json file): as text, a sequence chart, or the state graph around it."""
    from model import views
    from regcheck.trace import chart as charts
    from regcheck.trace import draw, states

    trace, scenario = _load_trace(trace_file, target, list(sets))
    prop = _trace_property(trace_file, trace, scenario, None) if scenario is not None else None
    view = view or ("states" if fmt in ("dot", "graphml") else "chart")
    _check_show(trace_file, trace, scenario, prop, fmt=fmt, view=view, explain=explain)
    if scenario is not None:
        scenario, prop = _replayed(trace_file, trace, scenario, prop, explain=explain)
    if fmt == "text":
        _emit(_trace_text(trace_file, trace, scenario, prop, full=not diff, explain=explain), output)
        return
    if view == "chart":
        graph = views.chart(scenario, trace) if scenario is not None else charts.sequence_chart(trace)
    else:
        graph = _state_graph(trace, scenario, prop)
    if fmt == "mermaid":
        _emit(charts.to_mermaid(graph), output)
    elif fmt == "dot":
        _emit(states.to_dot(graph), output)
    elif fmt == "graphml":
        _emit(states.to_graphml(graph), output)
    else:
        figure = draw.chart_figure(graph) if view == "chart" else draw.states_figure(graph)
        _emit(draw.render(figure, fmt), output)


def _check_show(
    path: Path, trace: Trace, scenario: Scenario | None, prop: Property | None, *, fmt: str, view: str, explain: bool
) -> None:
    """Refuse what ``show`` cannot do: a mermaid state graph, an explanation without a safety claim, a huge drawing."""
    from regcheck.trace import draw

    if fmt == "mermaid" and view != "chart":
        raise InvalidArgument("--format mermaid draws the sequence chart; drop --view states")
    if explain and (fmt != "text" or scenario is None or prop is None):
        raise InvalidArgument("--explain needs --format text and a trace that records its scenario and property")
    if explain and prop is not None and prop.kind is not Kind.SAFETY:
        raise InvalidArgument(
            f"--explain shrinks counterexamples to safety properties; {prop.name} is a liveness property "
            "(its counterexample is a lasso, told as it is without --explain)"
        )
    if fmt in draw.FORMATS and len(trace) > MAX_DRAWN_STEPS:
        raise InvalidArgument(
            f"{path}: {len(trace)} steps are too many to draw (the limit is {MAX_DRAWN_STEPS}); "
            "show it as text: --format text, with --full for every state"
        )


def _trace_text(
    path: Path, trace: Trace, scenario: Scenario | None, prop: Property | None, *, full: bool, explain: bool
) -> str:
    """The step table of a trace, with association GUIDs, why it fails, and (``explain``) the steps that matter."""
    from model.story import association_guids
    from regcheck.trace import text

    head = f"{path}: {len(trace)} steps"
    if scenario is None:
        return head + " (labels as written)\n" + text.step_table(trace, full=full)
    guids = association_guids(scenario, trace)
    names = [
        guids[i].get(int(s.labels.get("association", 0) or 0), "-") if s.labels.get("association") else "-"
        for i, s in enumerate(trace.steps)
    ]
    head += f", scenario {scenario.name}" + (f", property {prop.name}" if prop is not None else "")
    lines = [head, text.step_table(trace, full=full, associations=names).rstrip("\n")]
    if prop is not None and trace.steps:
        lines.append(f"Why: {cause(scenario, trace)}")
    if explain and prop is not None:
        found = counterexamples.explanation(scenario, trace, prop.name)
        lines.append(
            f"Explanation: shrunk by replay on the reference simulator from {len(trace)} to {len(found.shrunk)} steps"
            + (f", dropping every step of {', '.join(found.dropped_threads)}" if found.dropped_threads else "")
            + "; each remaining step is needed:"
        )
        lines += [f"  step {n.step} {n.label}: {n.reason}" for n in found.needs]
        lines.append(f"Cause: {found.cause}")
    return "\n".join(lines) + "\n"


@app.command("replay")
@click.argument("trace_file", metavar="TRACE", type=_PathType(path_type=Path, dir_okay=False))
@click.option("--scenario", "target", metavar="NAME|FILE", help="The trace's scenario (default: the one it records).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a switch of that scenario.")
@click.option(
    "--property", "-p", "prop_name", help="The property the trace must violate (default: the one it records)."
)
def replay_trace(
    trace_file: Path, target: Optional[str] = None, sets: tuple[str, ...] = (), prop_name: Optional[str] = None
) -> None:
    """Replay the trace in TRACE on the reference simulator; exit 1, naming the step, if it does not conform."""
    trace, scenario = _load_trace(trace_file, target, list(sets))
    where = printable(str(trace_file))
    if scenario is None:
        raise InvalidArgument(
            f"{where}: the trace does not record its scenario (#meta.switches); give --scenario NAME|FILE"
        )
    prop = _trace_property(trace_file, trace, scenario, prop_name)
    report = replay(scenario, trace, _claim(prop))
    if not report.ok:
        out.print(brief(f"{where}: does not conform: {report}"), markup=False)
        raise click.exceptions.Exit(EXIT_VIOLATED)
    claim = ""
    if prop is not None and prop.kind is Kind.SAFETY:
        claim = f"; {prop.name} is violated in its final state"
    elif prop is not None and trace.loop is not None:
        claim = f"; {prop.name} is violated: from step {trace.loop + 1} on, the run repeats for ever without it"
    out.print(
        f"{where}: conforms: all {len(trace)} steps replay on the reference simulator "
        f"of scenario {scenario.name}{claim}",
        markup=False,
    )


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


# --------------------------------------------------------------------------------------------
# report and sweep: many checks at once


def _validate_settings(engine: str, recheck: str, depth: int, timeout: float) -> None:
    """The checks ``check`` makes of its engine options, for the commands that run many checks."""
    if engine not in compose.ENGINES:
        raise InvalidArgument(f"--engine: unknown engine {shown(engine)}; engines: {', '.join(compose.ENGINES)}")
    if recheck not in compose.RECHECK_SOLVERS:
        raise InvalidArgument(
            f"--recheck: unknown solver {shown(recheck)}; choose {' or '.join(compose.RECHECK_SOLVERS)}"
        )
    if not 0 <= depth <= MAX_DEPTH:
        raise InvalidArgument(f"--depth: expected a whole number from 0 to {MAX_DEPTH}, got {shown(depth)}")
    check_timeout(timeout, "--timeout")


@app.command("report")
@click.argument("targets", nargs=-1, metavar="[SCENARIO|FILE.toml]...")
@click.option("--out", "-o", "out_dir", required=True, type=_PathType(path_type=Path, file_okay=False),
              help="Folder for index.html, report.md, charts/ and traces/ (created if missing).")
@click.option("--property", "-p", "prop", multiple=True, help="Property to check (repeatable); default: all.")
@click.option("--engine", default="auto", show_default=True, help=f"Engine: {', '.join(compose.ENGINES)}.")
@click.option("--recheck", default="z3", show_default=True, help="Solver that re-checks certificates: z3 or cvc5.")
@click.option("--depth", default=DEFAULT_DEPTH, show_default=True, type=int, help="Bound on the number of steps.")
@click.option("--timeout", default=DEFAULT_TIMEOUT, show_default=True, type=float,
              help="Seconds per scenario before giving up (unknown).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a switch of every scenario.")
@click.option("--jobs", "-j", type=int, default=0, help="Scenarios checked at once (default: one per core).")
def report(
    targets: tuple[str, ...] = (),
    out_dir: Path = Path("report"),
    prop: tuple[str, ...] = (),
    engine: str = "auto",
    recheck: str = "z3",
    depth: int = DEFAULT_DEPTH,
    timeout: float = DEFAULT_TIMEOUT,
    sets: tuple[str, ...] = (),
    jobs: int = 0,
) -> None:
    """Write design-review evidence for the SCENARIOs (default: every built-in one) into --out.

    A self-contained index.html (verdict matrix, each counterexample as story and chart, each
    proof's certificate, every scenario's switches, what was not checked, versions, fingerprints
    and the command that reproduces every row), the same as report.md, and each counterexample's
    chart and ITF trace. Exits 0 once the report is written, whatever the verdicts.
    """
    from regcheck import report as reports

    _validate_settings(engine, recheck, depth, timeout)
    if jobs < 0:
        raise InvalidArgument(f"--jobs: expected a whole number of processes (0: one per core), got {shown(jobs)}")
    for name in prop:
        catalogue.spec(name)
    names = list(targets) or scenarios.builtin_names()
    chosen = [(target, _scenario(target, list(sets))) for target in names]
    replacing = reports.earlier(out_dir)
    settings = reports.Settings(engine=engine, depth=depth, timeout=timeout, recheck=recheck)
    with _progress(True) as status:
        evidence = reports.collect(
            chosen, list(prop), settings, overrides=list(sets), out=str(out_dir), jobs=jobs or None, progress=status
        )
    written = reports.write(evidence, out_dir, replacing=replacing)
    for run in evidence.runs:
        counts: dict[str, int] = {}
        for result in run.results:
            counts[result.verdict.value] = counts.get(result.verdict.value, 0) + 1
        summary = ", ".join(f"{n} {v}" for v, n in counts.items())
        out.print(f"{run.scenario.name}: {summary}", markup=False)
    where = printable(str(out_dir))
    out.print(f"wrote {printable(str(written[0]))} and {len(written) - 1} more file(s) in {where}", markup=False)
    if replacing:
        stale = len(set(replacing) - set(written))
        out.print(f"replaced the earlier report in {where}, removing the {stale} of its file(s) not written again",
                  markup=False)


@app.command("sweep")
@click.argument("target", required=False)
@click.option("--vary", "vary", multiple=True, metavar="KEY[=V1,V2|=LOW..HIGH]",
              help="A switch and its values (repeatable; KEY alone: every value). Default: impersonate, "
                   "connect_flags=0,0x20, transport, association_scope, workers=1..4.")
@click.option("--property", "-p", "prop", multiple=True, help="Property to check (repeatable); default: all.")
@click.option("--engine", default="auto", show_default=True, help=f"Engine: {', '.join(compose.ENGINES)}.")
@click.option("--depth", default=DEFAULT_DEPTH, show_default=True, type=int, help="Bound on the number of steps.")
@click.option("--timeout", default=DEFAULT_TIMEOUT, show_default=True, type=float,
              help="Seconds per configuration before giving up (unknown).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a switch of the base scenario.")
@click.option("--jobs", "-j", type=int, default=0, help="Local processes (default: one per core).")
@click.option("--dask", "dask", metavar="ADDRESS", help="Run on the Dask scheduler at ADDRESS instead (tcp://host:8786).")
@click.option("--one-at-a-time", "one_at_a_time", is_flag=True,
              help="Vary one switch at a time from the base scenario instead of taking every combination.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: every configuration and its verdicts.")
def sweep_command(
    target: Optional[str] = None,
    vary: tuple[str, ...] = (),
    prop: tuple[str, ...] = (),
    engine: str = "auto",
    depth: int = DEFAULT_DEPTH,
    timeout: float = DEFAULT_TIMEOUT,
    sets: tuple[str, ...] = (),
    jobs: int = 0,
    dask: Optional[str] = None,
    one_at_a_time: bool = False,
    as_json: bool = False,
) -> None:
    """Check properties of TARGET (default: seed) in every combination of the --vary values.

    Prints the verdict matrix and, per property, the smallest failing configuration (fewest
    workers, requests and users, then fewest switches changed). Exits 0 when every verdict
    is decided or bounded, 3 when one is unknown; violations are findings, not failures.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from regcheck import sweep

    _validate_settings(engine, "z3", depth, timeout)
    if jobs < 0:
        raise InvalidArgument(f"--jobs: expected a whole number of processes (0: one per core), got {shown(jobs)}")
    base = _scenario("seed" if target is None else target, list(sets))
    axes = sweep.axes_of(vary)
    count = len(sweep.configurations(base, axes, one_at_a_time=one_at_a_time))
    where = f"Dask at {dask}" if dask else f"{min(count, jobs or sweep.cores())} local process(es)"
    bar = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=err, transient=True, disable=as_json or not err.is_terminal)
    with bar:
        task = bar.add_task("sweep", total=count)
        result = sweep.run(
            base, axes, list(prop), engine=engine, depth=depth, timeout=timeout, jobs=jobs or None, dask=dask,
            one_at_a_time=one_at_a_time, progress=lambda done, total: bar.update(task, completed=done),
        )
    if as_json:
        document = _header()
        document.update(_sweep_json(result))
        sys.stdout.write(json.dumps(document, indent=1) + "\n")
    else:
        _print_sweep(result)
        n = len(result.properties)
        err.print(f"{count} configurations x {n} propert{'y' if n == 1 else 'ies'} on {where} "
                  f"in {result.elapsed_s:.1f}s", markup=False)
    unknown = any(r["verdict"] == Verdict.UNKNOWN.value for o in result.outcomes for r in o.results)
    raise click.exceptions.Exit(EXIT_UNKNOWN if unknown else EXIT_OK)


def _print_sweep(result: Sweep) -> None:
    """The verdict matrix, then each property's smallest failing configuration."""
    out.print(f"sweep of [bold]{escape(result.base.name)}[/bold]: {len(result.outcomes)} configurations, "
              f"engine {result.engine}, depth {result.depth}")
    table = Table(show_edge=False, pad_edge=False)
    for axis in result.axes:
        table.add_column(axis.key)
    for name in result.properties:
        table.add_column(name, overflow="fold", min_width=len("violated 12"))  # headers wrap, verdicts do not
    colours = {"violated": "red", "proved": "green", "bounded": "green", "unknown": "yellow"}
    for row in result.matrix():
        cells = row[: len(result.axes)] + [
            f"[{colours[cell.split()[0]]}]{cell}[/]" for cell in row[len(result.axes):]
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


def _sweep_json(result: Sweep) -> dict[str, Any]:
    smallest = {name: result.smallest_failing(name) for name in result.properties}
    return {
        "base": _scenario_json(result.base),
        "axes": {axis.key: list(axis.values) for axis in result.axes},
        "engine": result.engine,
        "depth": result.depth,
        "configurations": [
            {"set": o.configuration.assignments(), "results": list(o.results)} for o in result.outcomes
        ],
        "smallest_failing": {
            name: (outcome.configuration.assignments() if outcome is not None else None)
            for name, outcome in smallest.items()
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point: bad input becomes one line on stderr and exit 2, never a traceback; standard output
    closed early (``regcheck check | head``) ends the run quietly with exit 141."""
    try:
        code = _run(argv)
        sys.stdout.flush()
    except (_OutputClosed, BrokenPipeError):
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    return code


def _run(argv: list[str] | None) -> int:
    """Run the command line; each error regcheck expects becomes one line on stderr and its exit code."""
    try:
        code = app.main(args=argv, prog_name="regcheck", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        return _error(exc.format_message())
    except (click.Abort, KeyboardInterrupt):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the goodbye
        err.print("interrupted", markup=False)
        return 130
    except EngineDisagreement as exc:
        err.print(f"error: {exc}", markup=False)
        return EXIT_INTERNAL
    except RegcheckError as exc:
        return _error(str(exc))
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        return _error(f"cannot write{where}: {exc.strerror or exc}")
    return code if isinstance(code, int) else EXIT_OK


def _error(message: str) -> int:
    """Print ``message`` as the one line of an error (printable, overlong values cut); the bad-input exit code."""
    err.print(brief(f"error: {message}"), markup=False)
    return EXIT_USAGE


def _discard_stdout() -> None:
    """Point standard output at /dev/null, so that the interpreter's last flush cannot fail on the closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
