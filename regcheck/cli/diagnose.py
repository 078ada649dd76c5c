"""``regcheck diagnose LOGS``: which settings of the model explain an observed log, and what happened in between.

Exit codes: 0 explained and the explaining executions violate nothing; 1 explained with a
violation; 2 bad input; 3 no setting explains the log, but some searches stopped short (unknown, or a
bound of the model the log exceeds) or none was searched (every setting an invalid scenario); 5 every
setting searched was ruled out. An Exchange log is diagnosed case by case (``regcheck.cases``): its code is
the first of 5, 3, 1, 0 that some case has.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import click
from rich.markup import escape

from regcheck import diagnosis as diagnoses
from regcheck.cases import COLUMNS, Case, Cases, diagnose_cases, fix_words, summary_suite
from regcheck.cli import clock
from regcheck.cli.check import write_chart
from regcheck.cli.console import err, out, spinner
from regcheck.cli.exits import EXIT_OK, EXIT_UNEXPLAINED, EXIT_UNKNOWN, EXIT_VIOLATED
from regcheck.cli.inputs import DEFAULT_TIMEOUT, Choice, PathType, load_scenario
from regcheck.cli.schema import header, scenario_json
from regcheck.cli.tables import WordTable
from regcheck.core.result import Trace
from regcheck.diagnosis import Diagnosis, Group, stories
from regcheck.display import brief, printable, printable_path
from regcheck.errors import InvalidArgument
from regcheck.files import write_atomic
from regcheck.formats import itf
from regcheck.limits import check_timeout
from regcheck.model.logs.merge import DEFAULT_SKEW, check_skew
from regcheck.model.logs.read import FORMATS, exchange_identities, read_logs
from regcheck.model.logs.slices import selection_of
from regcheck.model.scenario import names_a_file
from regcheck.model.story import cause, rows
from regcheck.outputs import plan_outputs, staged


def exit_code(diagnosis: Diagnosis) -> int:
    if diagnosis.explained:
        return EXIT_VIOLATED if diagnosis.violated else EXIT_OK
    return EXIT_UNKNOWN if diagnosis.unknown or not diagnosis.ruled_out else EXIT_UNEXPLAINED


@click.command("diagnose")
@click.argument("logs", nargs=-1, required=True, type=PathType(path_type=Path))
@click.option("--scenario", "target", default="seed", show_default=True,
              help="The design the log comes from: a built-in scenario or a .toml file.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a switch of the scenario (repeatable).")
@click.option("--vary", multiple=True, metavar="KEY[=V1,V2]",
              help="A switch to vary (repeatable); default: every protocol variant the log does not fix.")
@click.option("--columns", default=None, metavar="FIELD=COLUMN,...",
              help="For a CSV log: which column holds which field, e.g. call=Operation,thread=Tid.")
@click.option("--format", "form", type=Choice(["jsonl", "csv", *FORMATS]), default=None,
              help="The log's format (default: an Exchange log by its #Log-type header; else csv for a .csv name "
                   "or with --columns, else jsonl). A folder is read as an Exchange log's rotated files.")
@click.option("--identities", "identities_file", type=PathType(dir_okay=False, path_type=Path), default=None,
              help="For an Exchange log: a CSV (spelling,identity) or TOML ([identities]) file binding spellings "
                   "the logs do not link, e.g. a SID to its user.")
@click.option("--process-account", default=None, metavar="NAME",
              help="For an Exchange log: the service account the process runs as; its spellings are the "
                   "scenario's process identity (default: LocalSystem, seen as DOMAIN\\HOST$).")
@click.option("--skew", default=DEFAULT_SKEW, show_default=True, type=float, metavar="SECONDS",
              help="For several LOGS: each keeps its own order; events of different logs are ordered only where their "
                   "times differ by more than this (their clocks may disagree by as much). An event without a time is "
                   "ordered only within its log.")
@click.option("--timeout", default=DEFAULT_TIMEOUT, show_default=True, type=float, help=clock.HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--trace-out", type=PathType(path_type=Path, file_okay=False), default=None,
              help="Write each explaining execution here as ITF JSON, with its sequence chart as SVG and PNG.")
@click.option("--junit", "junit_file", type=PathType(path_type=Path, dir_okay=False),
              help="Write a JUnit XML report: whether the log is explained, what it violates, what each fix does.")
@click.option("--dask", "dask", metavar="ADDRESS",
              help="Search the settings on the Dask scheduler at ADDRESS (tcp://host:8786) instead of local processes.")
@click.option("--association", default=None, metavar="GUID",
              help="For an Exchange log: diagnose this association only (default: each with a failure).")
@click.option("--user", default=None, metavar="NAME",
              help="For an Exchange log: diagnose the associations (or sessions) on which NAME appears.")
@click.option("--from", "start", default=None, metavar="TIME",
              help="For an Exchange log: leave out events before TIME (ISO 8601, e.g. 2013-11-04T09:12:01Z; UTC "
                   "unless it names a zone).")
@click.option("--to", "end", default=None, metavar="TIME", help="For an Exchange log: leave out events after TIME.")
def diagnose_command(logs: tuple[Path, ...], target: str, sets: tuple[str, ...], vary: tuple[str, ...],
                     columns: str | None, form: str | None, identities_file: Path | None, process_account: str | None,
                     skew: float, timeout: float, as_json: bool, trace_out: Path | None, junit_file: Path | None = None,
                     dask: str | None = None, association: str | None = None, user: str | None = None,
                     start: str | None = None, end: str | None = None) -> None:
    """Find every setting of the model's uncertain switches under which LOGS (each JSON Lines, CSV, or an Exchange
    server's log file or folder; several are one observation) are a behaviour of the scenario; tell the completed
    execution, what it violates, and which fixes rule the observed failure out. One Exchange log is read whole
    first, to find the associations with failures; each is diagnosed on its own slice, after a table of them all."""
    deadline = clock.start(check_timeout(timeout, "--timeout"))
    check_skew(skew)
    plan = plan_outputs([*(("the log", log) for log in logs),
                         ("the scenario file", Path(target) if names_a_file(target) else None)],
                        [("--junit", junit_file)], [("--trace-out", trace_out)])
    base = load_scenario(target, list(sets))
    selection = selection_of(association, user, start, end)
    identities = (exchange_identities(logs[0], form, columns, identities_file, process_account, base.process_identity)
                  if len(logs) == 1 else None)
    log = ", ".join(str(each) for each in logs)  # the logs, as the output names them
    found: Cases | None = None
    if identities is None:
        if selection.any:
            raise InvalidArgument("--association, --user, --from and --to select a slice of one Exchange log; JSON "
                                  "Lines, CSV and several logs are diagnosed whole")
        events, notes = read_logs(logs, form, columns, identities_file, process_account, base.process_identity, skew)
        click.get_current_context().with_resource(plan.locked())
        with spinner(not as_json) as report:
            diagnosed = [diagnoses.diagnose(events, base, vary, timeout=deadline.left() or 0.0, progress=report,
                                            dask=dask)]
    else:
        click.get_current_context().with_resource(plan.locked())
        with spinner(not as_json) as report:
            found = diagnose_cases(logs[0], form, identities, selection, base, vary, deadline, progress=report,
                                   dask=dask)
        diagnosed = [c.diagnosis for c in found.cases if c.diagnosis is not None and not c.same_as]
        notes = list(found.cases[0].notes) if len(found.cases) == 1 else []
    for warning in (w for d in diagnosed for w in d.warnings):
        err.print(warning, markup=False, highlight=False)
    titled = _titled(log, diagnosed, found)
    written: dict[int, list[tuple[Trace, Path]]] = {}
    if trace_out is not None:
        with staged(trace_out, whole=False) as stage:
            for index, (prefix, _, d) in enumerate(titled):
                for number, (scenario, trace) in enumerate(diagnoses.explanations(d), start=1):
                    name = f"{prefix}explanation-{number}"
                    itf.write(trace, stage / f"{name}.itf.json")
                    write_chart(stage / name, scenario, trace)
                    written.setdefault(index, []).append((trace, trace_out / f"{name}.itf.json"))
            plan.check_files("--trace-out", [trace_out / p.name for p in sorted(stage.iterdir())])
    if junit_file is not None:
        from regcheck import findings
        from regcheck.formats import junit

        suites = [summary_suite(printable_path(log), found)] if found is not None else []
        suites += [findings.diagnosis_suite(title, d, written.get(i, ())) for i, (_, title, d) in enumerate(titled)]
        write_atomic(junit_file, junit.document(suites))
    if as_json:
        named = {"log": log} if len(logs) == 1 else {"log": log, "logs": [str(each) for each in logs]}
        document: dict[str, object] = {**header(), **named, "base": scenario_json(base)}
        if len(diagnosed) == 1 and (found is None or len(found.cases) == 1):
            document.update(diagnoses.to_json(diagnosed[0]))
            if notes:
                document["reading"] = notes
        if found is not None:
            document["cases"] = found.to_json()
        out.print_json(json.dumps(document), highlight=False)
    elif found is None:
        _print(log, diagnosed[0], notes)
    else:
        _print_cases(log, found)
    raise click.exceptions.Exit(_exit_of(diagnosed, found))


def _titled(log: str, diagnosed: list[Diagnosis], found: Cases | None) -> list[tuple[str, str, Diagnosis]]:
    """Each diagnosis with the prefix of its files in ``--trace-out`` and its title in JUnit: as today for one
    diagnosis, else named by its case."""
    if found is None or len(found.cases) == 1:
        return [("", printable_path(log), d) for d in diagnosed]
    return [(f"case-{c.number}-", f"{printable_path(log)}, case {c.number} ({printable(c.tally.key.words())})",
             c.diagnosis) for c in found.cases if c.diagnosis is not None and not c.same_as]


def _exit_of(diagnosed: list[Diagnosis], found: Cases | None) -> int:
    """One diagnosis's code; over cases, the first of 5 (a case no setting explains), 3 (one not decided), 1 (one
    explained by a violation), 0 that some case has."""
    codes = {exit_code(d) for d in diagnosed}
    if found is not None and any(c.diagnosis is None for c in found.cases):
        codes.add(EXIT_UNKNOWN)
    return next(code for code in (EXIT_UNEXPLAINED, EXIT_UNKNOWN, EXIT_VIOLATED, EXIT_OK) if code in codes)


def _print_cases(log: str, found: Cases) -> None:
    """The summary table of the cases, then each case's diagnosis as ``diagnose`` prints one."""
    table = WordTable(title=found.heading(), title_justify="left", show_edge=False, pad_edge=False)
    for column in COLUMNS:
        table.add_column(column)
    for case in found.cases:
        table.add_row(*(printable(cell) for cell in case.row()))
    out.print(table)
    healthy = found.survey.healthy()
    if healthy and any(c.tally.failures for c in found.cases):
        out.print(f"{healthy} associations and sessions without failures are not diagnosed.")
    for case in found.cases:
        out.print()
        if len(found.cases) > 1:
            out.print(_case_heading(case, len(found.cases)), markup=False, highlight=False)
        if case.diagnosis is None:
            out.print(f"[yellow]Not decided:[/yellow] {escape(printable(case.reason))}")
            continue
        if case.same_as:
            out.print(f"The same events as case {case.same_as} but for the association's GUID, times and lines: "
                      f"case {case.same_as}'s diagnosis holds for it.", markup=False, highlight=False)
            continue
        _print(log, case.diagnosis, case.notes)


def _case_heading(case: Case, count: int) -> str:
    tally = case.tally
    span = f", {tally.first_time} to {tally.last_time}" if tally.first_time and tally.last_time else ""
    return printable(f"Case {case.number} of {count}: {tally.key.words()} ({tally.identity_words()}; "
                     f"{tally.failure_words()}; {tally.events} events, lines {tally.first_line} to "
                     f"{tally.last_line}{span})")


def _print(log: str, d: Diagnosis, notes: Sequence[str] = ()) -> None:
    settings, total = d.explaining, d.searched
    out.print(f"regcheck diagnose: {printable_path(log)}, {len(d.events)} events, scenario {d.base.name}",
              markup=False, highlight=False)
    for note in notes:
        out.print(printable(note), markup=False, highlight=False)
    out.print(conclusion(d), markup=False, highlight=False)
    if d.implied:
        out.print("The design the log implies:")
        for line in d.implied:
            out.print(f"  {line}", markup=False, highlight=False)
    if d.facts:
        out.print(f"Design facts from the log, as switches: {', '.join(d.facts)}", markup=False, highlight=False)
    varied = "; ".join(f"{k} ({', '.join(v)})" for k, v in d.varied)
    out.print(printable(f"Varied: {varied}: {total} settings, searched in {d.seconds:.1f} s"), markup=False,
              highlight=False)
    out.print()
    shown: list[Trace] = []
    if d.explained:
        common = [pair for pair in d.explained[0].description if all(pair in g.description for g in d.explained)]
        every = f", every one with {Group(tuple(common), ()).words()}" if common and len(d.explained) > 1 else ""
        told = stories(d)
        out.print(f"[bold]Explained[/bold] by {settings} of {total} settings{escape(every)}, in {len(told)} "
                  f"{'story' if len(told) == 1 else 'stories'} (a story's settings may overlap another's):"
                  if len(d.explained) > 1 else f"[bold]Explained[/bold] by {settings} of {total} settings:")
        for number, groups in enumerate(told, start=1):
            _print_story(number, groups, shown, common)
    elif not d.ruled_out:
        out.print("[bold]Not decided:[/bold] no setting was searched to its end, so none is ruled out.")
    else:
        out.print(f"[bold]No setting explains the log.[/bold] {escape(reach(d))}.")
        out.print(d.events[d.longest].describe() if d.longest < len(d.events) else "", markup=False, highlight=False)
    if d.ruled_out:
        out.print()
        out.print("[bold]Ruled out:[/bold]")
        for event, why, group in d.ruled_out:
            out.print(f"- {group.words()} ({len(group.outcomes)} settings): {d.events[event - 1].describe()}; {why}",
                      markup=False, highlight=False)
    if d.unknown:
        out.print()
        out.print(f"[yellow]Not decided[/yellow] for {len(d.unknown)} settings: {escape(brief(d.unknown[0].reason))}")
    if d.invalid:
        out.print(brief(f"Not valid scenarios: {len(d.invalid)} settings ({d.invalid[0].reason})"), markup=False,
                  highlight=False)


def conclusion(d: Diagnosis) -> str:
    """The one line a support engineer reads first: what explains the log, in the protocol's words, and what
    each fix does to it (over every explaining setting), or why nothing is concluded."""
    if not d.explained:
        if d.ruled_out and not d.unknown:
            where = f"event {d.longest + 1} is the first none can reach" if d.exact else \
                f"none reaches event {d.longest + 1} in order"
            return f"Conclusion: no setting explains the log; {where} (ruled out within the bounds below)."
        return f"Conclusion: not decided; {len(d.unknown) + len(d.invalid)} settings were not searched to their end."
    first = next((g for g in d.explained if g.violated), d.explained[0])
    representative = first.outcomes[0]
    assert representative.trace is not None
    what = (cause(representative.setting.scenario, representative.trace) if first.violated
            else "An execution in which no safety property is violated.")
    verdicts = "; ".join(f"{name} {'is not decided' if said == 'not decided' else said}"
                         for name, said in fix_words(d).items() if said not in ("not checked", "nothing to rule out"))
    return (f"Conclusion: explained by {d.explaining} of {d.searched} settings. {what}"
            + (f" {verdicts[0].upper()}{verdicts[1:]}." if verdicts else ""))


def reach(d: Diagnosis) -> str:
    """How far the log is explained when no setting explains it all: the longest prefix some setting explains,
    or, where a setting was ruled out thread by thread, the event none reaches."""
    if d.exact:
        return (f"The longest prefix some setting explains: events 1 to {d.longest}; event {d.longest + 1} is the "
                "first none can reach")
    return f"No setting reaches event {d.longest + 1} in order; each setting's event out of reach is below"


def _print_story(number: int, groups: list[Group], shown: list[Trace], common: list[tuple[str, tuple[str, ...]]]) -> None:
    """One story: the settings of its groups, the execution they share, what it violates, what each fix does."""
    group = groups[0]
    representative = group.outcomes[0]
    trace = representative.trace
    assert trace is not None
    out.print()
    described = []
    for part in groups:
        rest = Group(tuple(pair for pair in part.description if pair not in common), ())
        described.append("with " + rest.words() if common and rest.description else part.words())
    settings = len({o.setting.values for part in groups for o in part.outcomes})
    out.print(f"{number}. {'; or '.join(described)} ({settings} settings)", markup=False, highlight=False)
    same = next((i for i, t in enumerate(shown, start=1) if t.steps == trace.steps), None)
    if same is not None:
        out.print(f"   The same execution as story {same}.")
    else:
        shown.append(trace)
        out.print(f"   An execution of {len(trace)} steps (replayed on the reference simulator), e.g. under "
                  f"{representative.setting.words()}; observed steps carry their event's number, the others "
                  "are inferred:", markup=False, highlight=False)
        out.print(_table(representative.setting.scenario, trace))
        if group.violated:
            out.print(f"   [bold]Why:[/bold] {escape(cause(representative.setting.scenario, trace))}")
    if group.violated:
        out.print("   Violates: " + ", ".join(f"{p} (at step {s})" for p, s in group.violated), markup=False,
                  highlight=False)
    else:
        out.print("   Violates no safety property.")
    for fix in group.fixes:
        verdicts = ", ".join(f"{p} {v}" for p, v in fix.verdicts)
        word = "rules the observed failure out" if fix.rules_out else "does not rule it out"
        out.print(f"   {fix.fix}: {word} ({verdicts})", markup=False, highlight=False)


def _table(scenario: object, trace: Trace) -> WordTable:
    observed = {int(k): v for k, v in trace.meta.get("observed", {}).items()}
    table = WordTable(show_edge=False, pad_edge=False)
    for column in ("step", "event", "thread", "runs as", "call", "association", "registration cache", "result"):
        table.add_column(column)
    for row in rows(scenario, trace):  # type: ignore[arg-type]
        events = observed.get(row.step - 1)
        marker = ",".join(str(e) for e in events) if events else "(inferred)"
        table.add_row(str(row.step), marker, row.thread, row.identity, row.call, row.guid, row.cache or "-",
                      row.result, style="bold red" if row.failed else ("dim" if not events else None))
    return table
