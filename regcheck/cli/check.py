"""``regcheck check``: the verdicts of one scenario (or, with ``--all``, of every built-in one).

Prints the verdict table, the proofs' certificates, and the first counterexample told as a story
(``--counterexamples`` and ``--explain`` add distinct causes and explanations, composed by
``regcheck.counterexamples``); or, with ``--json``, one document (``regcheck.cli.schema``).
``--trace-out`` writes each counterexample as ITF with its sequence chart; ``--cross-check`` runs a
second engine and reports where the two disagree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.text import Text

import regcheck
from regcheck import compose, counterexamples, findings, regression
from regcheck.cli import clock, schema
from regcheck.cli.console import err, out, spinner
from regcheck.cli.exits import EXIT_OK, EXIT_UNKNOWN, EXIT_VIOLATED
from regcheck.cli.inputs import (
    DEFAULT_DEPTH,
    DEFAULT_TIMEOUT,
    MAX_CAUSES,
    PathType,
    load_scenario,
    validate_settings,
)
from regcheck.cli.tables import WordTable
from regcheck.core import crosscheck
from regcheck.core.evidence import Certificate
from regcheck.core.result import CheckResult, Kind, Trace, Verdict, verdict_text
from regcheck.display import did_you_mean, printable, printable_path, shown
from regcheck.errors import InvalidArgument
from regcheck.files import write_atomic
from regcheck.formats import itf, junit
from regcheck.model import scenario as scenarios
from regcheck.model.design import design_of
from regcheck.model.explain import Explanation
from regcheck.model.scenario import Scenario
from regcheck.model.story import cause, rows
from regcheck.outputs import file_stem, plan_outputs, staged
from regcheck.properties import catalogue

IMPLICIT_TRACES = "the traces folder of --junit and --sarif"
"""How messages name ``traces/`` beside the JUnit or SARIF file, where traces go without ``--trace-out``."""


def run_checks(
    scenario: Scenario,
    names: list[str],
    *,
    engine: str,
    depth: int,
    timeout: float | None,
    recheck: str = "z3",
    progress: bool = False,
) -> list[CheckResult]:
    """Check ``scenario`` (see ``regcheck.compose``), with a spinner on a terminal."""
    with spinner(progress) as report:
        return compose.run_checks(
            scenario, names, engine=engine, depth=depth, timeout=timeout, recheck=recheck, progress=report
        )


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


@click.command("check")
@click.argument("target", required=False)
@click.option("--property", "-p", "prop", multiple=True, help="Property to check (repeatable); default: all.")
@click.option(
    "--engine",
    default="auto",
    show_default=True,
    help=f"Engine: {', '.join(compose.ENGINES)} (auto: BMC and a proof, Houdini then PDR, side by side).",
)
@click.option(
    "--recheck",
    default="z3",
    show_default=True,
    help="Solver that re-checks every proof certificate: z3 (a fresh instance) or cvc5.",
)
@click.option("--depth", default=DEFAULT_DEPTH, show_default=True, type=int, help="Bound on the number of steps.")
@click.option("--timeout", default=DEFAULT_TIMEOUT, show_default=True, type=float, help=clock.HELP)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a switch (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (its format is versioned by its schema field).")
@click.option(
    "--trace-out",
    type=PathType(path_type=Path),
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
@click.option("--show-certificate", "whole_certificates", is_flag=True,
              help="Print each proof's certificate in full (a long one is otherwise summarised; --json has it whole).")
@click.option("--junit", "junit_file", type=PathType(path_type=Path, dir_okay=False),
              help="Write a JUnit XML report: a suite per scenario, a case per property.")
@click.option("--sarif", "sarif_file", type=PathType(path_type=Path, dir_okay=False),
              help="Write a SARIF 2.1.0 log: a result per violated property, with its steps as a code flow.")
@click.option("--emit-tests", "emit_dir", type=PathType(path_type=Path, file_okay=False),
              help="Write each counterexample and a pytest file that replays it into this folder (regression tests).")
@click.option(
    "--cross-check",
    "cross",
    metavar="ENGINE",
    help="Run ENGINE too; exit 1 if it disagrees (another verdict, or a counterexample of another length).",
)
@click.option("--from", "from_trace", type=PathType(path_type=Path, dir_okay=False), metavar="TRACE",
              help="Check from a state of TRACE (an .itf.json file of this scenario) instead of the initial state.")
@click.option("--at", "at_step", type=int, metavar="K",
              help="With --from: the state after step K of TRACE (0: its initial state).")
def check_command(
    target: str | None = None,
    prop: tuple[str, ...] = (),
    engine: str = "auto",
    recheck: str = "z3",
    depth: int = DEFAULT_DEPTH,
    timeout: float = DEFAULT_TIMEOUT,
    sets: tuple[str, ...] = (),
    as_json: bool = False,
    trace_out: Path | None = None,
    all_: bool = False,
    causes: int = 0,
    explain: bool = False,
    cross: str | None = None,
    junit_file: Path | None = None,
    sarif_file: Path | None = None,
    emit_dir: Path | None = None,
    whole_certificates: bool = False,
    from_trace: Path | None = None,
    at_step: int | None = None,
) -> None:
    """Check the properties of TARGET (a built-in scenario or a .toml file; default: seed).

    Every counterexample is replayed on the reference simulator before it is shown. With --from TRACE --at K,
    the properties are checked from the state after step K of TRACE, and each counterexample is that path
    followed by its continuation.
    """
    names = list(prop)
    _check_position_options(from_trace, at_step, all_=all_, cross=cross, causes=causes, explain=explain,
                            reports=(junit_file, sarif_file, emit_dir))
    validate_settings(engine, recheck, depth, timeout)
    deadline = clock.start(timeout)
    if not 0 <= causes <= MAX_CAUSES:
        raise InvalidArgument(
            f"--counterexamples: expected a whole number from 0 to {MAX_CAUSES}, got {shown(causes)}"
        )
    if cross is not None and cross not in compose.ENGINES:
        raise InvalidArgument(f"--cross-check: unknown engine {shown(cross)}; engines: {', '.join(compose.ENGINES)}"
                              f"{did_you_mean(cross, compose.ENGINES)}")
    for name in names:
        catalogue.spec(name)
    if all_:
        if target is not None or sets:
            raise InvalidArgument("--all checks the built-in scenarios as they are; drop the scenario and --set")
        targets = scenarios.builtin_names()
        chosen = [scenarios.load_builtin(name) for name in targets]
    else:
        targets = ["seed" if target is None else target]
        chosen = [load_scenario(targets[0], list(sets))]
    sources = [findings.source_of(t, s) for t, s in zip(targets, chosen)]
    report_file = junit_file if junit_file is not None else sarif_file
    implicit = report_file.parent / "traces" if trace_out is None and report_file is not None else None
    plan = plan_outputs(
        [*[("the scenario file", source) for source in sources], ("the trace of --from", from_trace)],
        [("--junit", junit_file), ("--sarif", sarif_file)],
        [("--trace-out", trace_out), ("--emit-tests", emit_dir), (IMPLICIT_TRACES, implicit)],
    )
    click.get_current_context().with_resource(plan.locked())
    trace_dir = trace_out if trace_out is not None else implicit
    written: dict[tuple[str, str], Path] = {}
    runs: list[tuple[Scenario, list[CheckResult]]] = []
    extras: dict[tuple[str, str], counterexamples.Extras] = {}
    disagreements: list[tuple[Scenario, str]] = []
    skipped: list[tuple[Scenario, str]] = []
    decided = 0
    position = None
    if from_trace is not None and at_step is not None:
        from regcheck.model import positions  # its words draw on the chart's: loaded only for --from

        position = positions.at(chosen[0], itf.read(from_trace), at_step)
    for scenario in chosen:
        if position is not None:
            with spinner(not as_json) as report:
                results = compose.run_checks_from(scenario, position.path, names, engine=engine, depth=depth,
                                                  timeout=deadline.left(), recheck=recheck, progress=report)
        else:
            results = run_checks(
                scenario, names, engine=engine, depth=depth, timeout=deadline.left(), recheck=recheck,
                progress=not as_json,
            )
        runs.append((scenario, results))
        if cross is not None:
            others = run_checks(
                scenario, names, engine=cross, depth=depth, timeout=deadline.left(), recheck=recheck,
                progress=not as_json,
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
                    deadline=deadline,
                )
    targeted = [(t, s, results) for t, (s, results) in zip(targets, runs)]
    if emit_dir is not None:  # every file the tests need can be written, before anything is
        plan.check_files("--emit-tests", regression.planned(emit_dir, targeted))
    if trace_dir is not None:
        option = "--trace-out" if trace_out is not None else IMPLICIT_TRACES
        with staged(trace_dir, whole=False) as stage:
            for scenario, results in runs:
                found = _write_traces(stage, scenario, results, extras, charts=trace_out is not None)
                written.update({key: trace_dir / path.relative_to(stage) for key, path in found.items()})
            plan.check_files(option, [trace_dir / p.relative_to(stage) for p in sorted(stage.iterdir())])
    if junit_file is not None or sarif_file is not None or emit_dir is not None:
        _write_ci_files(targeted, sources, written, against=all_, junit_file=junit_file, sarif_file=sarif_file,
                        emit_dir=emit_dir)
    flat = [(s, r) for s, results in runs for r in results]
    if as_json:
        document = schema.check_document(
            runs, extras, every=all_, cross=cross, disagreements=disagreements, not_compared=skipped
        )
        sys.stdout.write(json.dumps(document, indent=1) + "\n")
    elif all_:
        _print_matrix(runs)
    else:
        where = None if from_trace is None else f"from the state after step {at_step} of {printable_path(from_trace)}"
        _print_run(*runs[0], target=targets[0], sets=sets, engine=engine, depth=depth,
                   whole_certificates=whole_certificates, where=where)
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


def _check_position_options(from_trace: Path | None, at_step: int | None, *, all_: bool, cross: str | None,
                            causes: int, explain: bool, reports: tuple[Path | None, ...]) -> None:
    """``--from TRACE`` and ``--at K`` come together, for one scenario, without what needs a whole check."""
    if (from_trace is None) != (at_step is None):
        raise InvalidArgument("--from TRACE and --at K go together: the state after step K of TRACE")
    if from_trace is None:
        return
    if all_:
        raise InvalidArgument("--from checks one scenario from a state of a trace; drop --all")
    refused = [name for name, given in (("--cross-check", cross is not None), ("--counterexamples", causes > 0),
                                        ("--explain", explain), ("--junit, --sarif or --emit-tests",
                                                                 any(r is not None for r in reports))) if given]
    if refused:
        raise InvalidArgument(f"--from: {refused[0]} is not available when checking from a state")


def _write_ci_files(
    targeted: list[tuple[str, Scenario, list[CheckResult]]],
    sources: list[Path | None],
    traces: dict[tuple[str, str], Path],
    *,
    against: bool,
    junit_file: Path | None,
    sarif_file: Path | None,
    emit_dir: Path | None,
) -> None:
    """The JUnit report, the SARIF log and the regression tests of a check, as asked for."""
    checked = [
        findings.Checked(s, tuple(results), source, {p: path for (name, p), path in traces.items() if name == s.name})
        for (_, s, results), source in zip(targeted, sources)
    ]
    if junit_file is not None:
        write_atomic(junit_file, junit.document(findings.check_suites(checked, against_expectations=against)))
    if sarif_file is not None:
        document = findings.sarif_document(checked, root=Path.cwd(), against_expectations=against,
                                           command=["regcheck", *sys.argv[1:]])
        write_atomic(sarif_file, json.dumps(document, indent=1) + "\n")
    if emit_dir is not None:
        with staged(emit_dir, whole=False) as stage:
            tests = regression.emit(stage, targeted)
        if tests:
            err.print(f"wrote {len(tests)} regression test(s) to {printable_path(emit_dir)}; run them with "
                      f"pytest {printable_path(emit_dir)}", markup=False)


def _write_traces(
    folder: Path,
    scenario: Scenario,
    results: list[CheckResult],
    extras: dict[tuple[str, str], counterexamples.Extras],
    *,
    charts: bool = True,
) -> dict[tuple[str, str], Path]:
    """Each counterexample as ITF JSON plus (``charts``) its sequence chart (SVG, PNG); distinct causes as
    ``.cause-K``. Returns where each verdict's own counterexample went, by (scenario, property)."""
    stem = file_stem(scenario.name)
    written: dict[tuple[str, str], Path] = {}
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
            trace = compose.replayable(scenario, trace)
            itf.write(trace, folder / f"{name}.itf.json")
            written.setdefault((scenario.name, result.property), folder / f"{name}.itf.json")
            if charts:
                write_chart(folder / name, concrete, trace)
    return written


def write_chart(stem: Path, scenario: Scenario, trace: Trace) -> None:
    """The trace's sequence chart next to it, as ``stem.svg`` and ``stem.png``."""
    from regcheck.model import views
    from regcheck.render import draw

    figure = draw.chart_figure(views.chart(scenario, trace))
    for fmt in draw.FORMATS:
        write_atomic(stem.with_name(f"{stem.name}.{fmt}"), draw.render(figure, fmt))


def _print_run(scenario: Scenario, results: list[CheckResult], *, target: str, sets: tuple[str, ...], engine: str,
               depth: int, whole_certificates: bool = False, where: str | None = None) -> None:
    origin = f"file {printable_path(target)}" if scenarios.names_a_file(target) else "built-in"
    if sets:
        origin += ", with " + " ".join(f"--set {printable(s)}" for s in sets)
    out.print(
        Text.assemble(
            f"regcheck {regcheck.__version__}: scenario ",
            (scenario.name, "bold"),
            f" ({origin}), engine {engine}, depth {depth}",
        )
    )
    if where is not None:
        out.print(Text(f"{where}: each verdict speaks of the executions from that state; each counterexample is "
                       "the path to it, then its continuation"))
    if scenario.description:
        out.print(Text(printable(scenario.description), style="dim"))
    out.print(Text("design: " + "\n        ".join(design_of(scenario).lines())))
    table = WordTable(show_edge=False, pad_edge=False)
    for column in ("property", "verdict", "expected", "time"):
        table.add_column(column)
    for result in results:
        expected = scenario.expected.get(result.property)
        table.add_row(
            result.property,
            verdict_text(result),
            expected or "-",
            f"{result.time_s:.2f}s",
            style=_style(result, expected),
        )
    out.print(table)
    out.print(_summary(results))
    _print_certificates(results, whole=whole_certificates)
    violated = [r for r in results if r.verdict is Verdict.VIOLATED]
    if violated:
        _print_story(scenario, violated[0], violated[1:])


CERTIFICATE_SHOWN = 200
"""Characters from which a certificate is summarised on the terminal (its size), unless ``--show-certificate``."""


def _print_certificates(results: list[CheckResult], *, whole: bool = False) -> None:
    """Each proof's certificate once (properties proved together share one), in the model's names, in full
    if it is short or ``whole``, else its size; proofs by exhaustive search (no certificate) say what was
    searched."""
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
        if whole or len(text) < CERTIFICATE_SHOWN:
            out.print(f"[bold]Proved[/bold] {', '.join(props)}: {escape(text)}", soft_wrap=True)
        else:
            out.print(f"[bold]Proved[/bold] {', '.join(props)}: {escape(certificate.summary())}; "
                      "print it with --show-certificate (--json has it too)", soft_wrap=True)
        notes = certificate.notes
        if notes.get("parameterised"):
            out.print(f"  for every number of workers ({escape(str(notes['abstraction']))})")
        elif "instantiated_for_workers" in notes:
            out.print(f"  via the {escape(str(notes['abstraction']))}, instantiated for "
                      f"{notes['instantiated_for_workers']} workers")
        out.print(f"  certificate re-checked by {certificate.rechecks()}", style="dim")


def _print_matrix(runs: list[tuple[Scenario, list[CheckResult]]]) -> None:
    table = WordTable(title="built-in scenarios against their expected verdicts", show_edge=False, pad_edge=False)
    for column in ("scenario", "property", "verdict", "expected", "as expected"):
        table.add_column(column)
    for scenario, results in runs:
        for index, result in enumerate(results):
            expected = scenario.expected.get(result.property)
            met = _met(result.verdict, expected)
            table.add_row(
                scenario.name if index == 0 else "",
                result.property,
                verdict_text(result),
                expected or "-",
                "-" if met is None else ("yes" if met else "NO"),
                style=_style(result, expected),
                end_section=index == len(results) - 1,
            )
    out.print(table)


def _story_table(scenario: Scenario, trace: Trace) -> WordTable:
    table = WordTable(show_edge=False, pad_edge=False)
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
    at = trace.meta.get("position")
    length = (f"{len(trace)} steps: the {at} to the state checked from, then a shortest continuation of "
              f"{len(trace) - at}" if isinstance(at, int) else f"{len(trace)} steps, shortest")
    out.print(f"[bold]Counterexample[/bold] to {result.property} ({length}; replayed on the reference simulator):")
    out.print(_story_table(scenario, trace))
    out.print(f"[bold]Why:[/bold] {escape(cause(scenario, trace))}")
    for other in others:
        out.print(
            f"Also violated: {other.property} ({len(other.trace or ())} steps); "
            f"see it with --property {other.property}"
        )


def _print_extras(scenario: Scenario, result: CheckResult, extra: counterexamples.Extras, *, depth: int, told: bool) -> None:
    """Print the distinct causes (with their explanations), or else the explanation of the verdict's counterexample.

    ``told``: the verdict's counterexample was just told as a story, so its table and cause need no repeat.
    """
    if extra.note:
        out.print()
        out.print(f"{result.property}: {extra.note}", style="yellow", markup=False)
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


__all__ = ["check_command", "run_checks", "write_chart"]
