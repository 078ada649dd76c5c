"""``regcheck show`` and ``regcheck replay``: a trace file on its own.

``show`` tells a counterexample as a step table (what changed at each step, or every state), draws
its sequence chart (Mermaid, SVG, PNG) or the state graph around it (DOT, GraphML, SVG, PNG), and
with ``--explain`` shrinks it by replay; ``replay`` runs it on the reference simulator and names the
first step that does not conform. A trace written by ``check`` records its scenario; ``--scenario``
and ``--set`` override it. A trace that does not replay is shown as written, after a warning.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.text import Text

from regcheck import counterexamples
from regcheck.cli import clock
from regcheck.cli.console import err, out
from regcheck.cli.exits import EXIT_VIOLATED
from regcheck.cli.inputs import DEFAULT_TIMEOUT, Choice, PathType, expectations_known, load_scenario
from regcheck.cli.tables import WordTable
from regcheck.core.result import Kind, Trace
from regcheck.core.system import Property
from regcheck.deadline import Deadline
from regcheck.display import brief, printable, printable_path, shown
from regcheck.errors import InvalidArgument
from regcheck.files import write_atomic
from regcheck.formats import itf
from regcheck.limits import check_timeout
from regcheck.model import scenario as scenarios
from regcheck.model.replay import replay
from regcheck.model.scenario import Scenario
from regcheck.model.story import cause
from regcheck.model.system import build
from regcheck.outputs import plan_outputs
from regcheck.properties import catalogue

SHOW_FORMATS = ("text", "mermaid", "svg", "png", "dot", "graphml")
VIEWS = ("chart", "states")
MAX_GRAPH_STATES = 20_000
"""Explored states above which the state graph's neighbourhood comes from the system's own semantics."""
MAX_DRAWN_STEPS = 500
"""Steps above which ``show`` refuses to draw SVG or PNG: a drawing's time and memory grow with its steps."""


def _load_trace(path: Path, target: str | None, sets: list[str]) -> tuple[Trace, Scenario | None]:
    """A trace file and its scenario: ``--scenario`` if given, else the one recorded in its ``#meta.switches``."""
    trace = itf.read(path)
    if target is not None:
        return trace, _concrete(path, trace, load_scenario(target, sets))
    switches = trace.meta.get("switches")
    if switches is None:
        if sets:
            raise InvalidArgument(f"{printable_path(path)}: the trace does not record its scenario; --set needs --scenario NAME|FILE")
        return trace, None
    if not isinstance(switches, dict):
        raise InvalidArgument(f"{printable_path(path)}: '#meta.switches' must be an object of scenario switches")
    origin = f"{printable_path(path)} #meta.switches"
    recorded = expectations_known(scenarios.from_mapping(switches, origin=origin), origin)
    return trace, _concrete(path, trace, scenarios.with_overrides(recorded, sets))


def _concrete(path: Path, trace: Trace, scenario: Scenario) -> Scenario:
    """``scenario`` with the trace's number of workers, if it is a workers=any one: a trace is concrete."""
    if not scenario.parameterised:
        return scenario
    workers = trace.meta.get("workers")
    if not isinstance(workers, int) or isinstance(workers, bool) or not 1 <= workers <= scenarios.MAX_WORKERS:
        raise InvalidArgument(
            f"{printable_path(path)}: for a workers=any scenario, the trace must record its number of workers "
            f"(#meta.workers, 1 to {scenarios.MAX_WORKERS}), got {shown(workers)}"
        )
    return scenario.with_workers(workers)


def _trace_property(path: Path, trace: Trace, scenario: Scenario, name: str | None) -> Property | None:
    """The property the trace claims to violate: ``--property``, else its ``#meta.property``, if any."""
    name = name or trace.meta.get("property")
    if name is None:
        return None
    if not isinstance(name, str):
        raise InvalidArgument(f"{printable_path(path)}: '#meta.property' must be a property name, got {shown(name)}")
    return catalogue.instantiate(name, scenario)


def _replayed(
    path: Path, trace: Trace, scenario: Scenario, prop: Property | None, *, explain: bool
) -> tuple[Scenario | None, Property | None]:
    """The scenario and property to read ``trace`` by, if it replays on the reference simulator; else a warning
    (or, for ``--explain``, an error) and none: a trace that does not replay is shown as written."""
    reason = _off_domain(trace, scenario)
    if reason is None:
        report = replay(scenario, trace, None if prop is None else prop.name)
        if report.ok:
            return scenario, prop
        reason = str(report)
    what = f"{printable_path(path)} does not replay on the reference simulator of scenario {scenario.name}"
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


def _emit(data: str | bytes, output: Path | None) -> None:
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
    """The counterexample's path and the states one step off it (from the explicit engine's graph
    when the whole state space is small enough to explore, else from the system's own steps)."""
    from regcheck.core.engines import explicit
    from regcheck.core.expr import evaluate
    from regcheck.render import states

    if scenario is None:
        return states.state_graph(trace)
    system = build(scenario)
    successors = states.system_successors(system)
    explored = explicit.explore(system, symmetry=False, max_states=MAX_GRAPH_STATES)
    if explored.complete:
        successors = states.graph_successors(explored.graph, system.names)
    bad = (lambda state: not evaluate(prop.formula, state)) if prop is not None else None
    title = f"{scenario.name}: {prop.name}" if prop is not None else scenario.name
    return states.state_graph(trace, successors=successors, bad=bad, title=f"{title} ({len(trace)} steps)")


@click.command("show")
@click.argument("trace_file", metavar="TRACE", type=PathType(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=Choice(SHOW_FORMATS), default="text", show_default=True)
@click.option(
    "--view",
    type=Choice(VIEWS),
    help="chart: the message sequence chart; states: the state graph around the trace. "
    "Default: chart for mermaid, svg and png; states for dot and graphml.",
)
@click.option("--diff/--full", default=True, help="text: only what changed at each step (default), or every state.")
@click.option("-o", "--output", type=PathType(path_type=Path, dir_okay=False), help="Write to FILE (atomically).")
@click.option("--scenario", "target", metavar="NAME|FILE", help="The trace's scenario (default: the one it records).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a switch of that scenario.")
@click.option("--explain", is_flag=True, help="text: shrink the trace by replay; say which steps matter and why.")
@click.option("--timeout", default=DEFAULT_TIMEOUT, show_default=True, type=float, help=clock.HELP)
@click.option("--at", "at_step", type=int, metavar="K",
              help="text: the state after step K (0: the initial state) and the actions enabled there.")
def show_command(
    trace_file: Path,
    fmt: str = "text",
    view: str | None = None,
    diff: bool = True,
    output: Path | None = None,
    target: str | None = None,
    sets: tuple[str, ...] = (),
    explain: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    at_step: int | None = None,
) -> None:
    """Show the trace in TRACE (an .itf.json file): as text, a sequence chart, or the state graph around it;
    with --at K, the state after step K and the actions enabled there."""
    from regcheck.formats import mermaid
    from regcheck.model import views
    from regcheck.render import chart as charts
    from regcheck.render import draw, states

    deadline = clock.start(check_timeout(timeout, "--timeout"))
    scenario_file = Path(target) if target and scenarios.names_a_file(target) else None
    plan_outputs([("the trace", trace_file), ("the scenario file", scenario_file)], [("--output", output)])
    trace, scenario = _load_trace(trace_file, target, list(sets))
    if at_step is not None:
        _emit(_position_text(trace_file, trace, scenario, at_step, fmt=fmt, explain=explain) + "\n", output)
        return
    prop = _trace_property(trace_file, trace, scenario, None) if scenario is not None else None
    view = view or ("states" if fmt in ("dot", "graphml") else "chart")
    _check_show(trace_file, trace, scenario, prop, fmt=fmt, view=view, explain=explain)
    if scenario is not None:
        scenario, prop = _replayed(trace_file, trace, scenario, prop, explain=explain)
    if fmt == "text" and output is None and diff and out.is_terminal:
        _print_trace(trace_file, trace, scenario, prop, explain=explain, deadline=deadline)
        return
    if fmt == "text":
        _emit(_trace_text(trace_file, trace, scenario, prop, full=not diff, explain=explain, deadline=deadline),
              output)
        return
    if view == "chart":
        graph = views.chart(scenario, trace) if scenario is not None else charts.sequence_chart(trace)
    else:
        graph = _state_graph(trace, scenario, prop)
    if fmt == "mermaid":
        _emit(mermaid.to_mermaid(graph), output)
    elif fmt == "dot":
        _emit(states.to_dot(graph), output)
    elif fmt == "graphml":
        _emit(states.to_graphml(graph), output)
    else:
        figure = draw.chart_figure(graph) if view == "chart" else draw.states_figure(graph)
        _emit(draw.render(figure, fmt), output)


def _position_text(path: Path, trace: Trace, scenario: Scenario | None, k: int, *, fmt: str, explain: bool) -> str:
    """The state after step ``k`` of ``trace`` and its enabled actions, in the protocol's words."""
    from regcheck.model import positions

    if fmt != "text" or explain:
        raise InvalidArgument("--at prints a state and its enabled actions as text; drop --format and --explain")
    if scenario is None:
        raise InvalidArgument(f"{printable_path(path)}: the trace does not record its scenario (#meta.switches); "
                              "--at needs --scenario NAME|FILE")
    return positions.text(positions.at(scenario, trace, k))


def _check_show(
    path: Path, trace: Trace, scenario: Scenario | None, prop: Property | None, *, fmt: str, view: str, explain: bool
) -> None:
    """Refuse what ``show`` cannot do: a mermaid state graph, an explanation without a safety claim, a huge drawing."""
    from regcheck.render import draw

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
            f"{printable_path(path)}: {len(trace)} steps are too many to draw (the limit is {MAX_DRAWN_STEPS}); "
            "show it as text: --format text, with --full for every state"
        )


def _trace_text(
    path: Path, trace: Trace, scenario: Scenario | None, prop: Property | None, *, full: bool, explain: bool,
    deadline: Deadline | None = None,
) -> str:
    """The step table of a trace, with association GUIDs, why it fails, and (``explain``) the steps that matter."""
    from regcheck.render import text

    head, names, tail = _trace_story(path, trace, scenario, prop, explain=explain, deadline=deadline)
    return "\n".join([head, text.step_table(trace, full=full, associations=names).rstrip("\n"), *tail]) + "\n"


def _print_trace(
    path: Path, trace: Trace, scenario: Scenario | None, prop: Property | None, *, explain: bool,
    deadline: Deadline | None = None,
) -> None:
    """The step table on a terminal: a :class:`WordTable` that breaks lines between words at any width."""
    head, names, tail = _trace_story(path, trace, scenario, prop, explain=explain, deadline=deadline)
    out.print(Text(printable(head)))
    out.print(step_word_table(trace, names))
    if trace.loop is not None:
        out.print(f"loop: back to state {trace.loop}", markup=False)
    for line in tail:
        out.print(Text(printable(line)))


def step_word_table(trace: Trace, names: list[str] | None) -> WordTable:
    """The step table of ``show`` (what changed at each step) as a table for the terminal."""
    from regcheck.render import text

    table = WordTable(show_edge=False, pad_edge=False)
    for column in (*text.COLUMNS, "changed"):
        table.add_column(column)
    rows = [("0", "(initial state)", *[""] * (len(text.COLUMNS) - 2), text.initial_state(trace))]
    rows += [(*row, text.changed_words(changed)) for row, changed in zip(text.step_rows(trace, names), text.changes(trace))]
    for row in rows:
        table.add_row(*(Text(printable(cell)) for cell in row))  # a trace's labels come from its file
    return table


def _trace_story(
    path: Path, trace: Trace, scenario: Scenario | None, prop: Property | None, *, explain: bool,
    deadline: Deadline | None,
) -> tuple[str, list[str] | None, list[str]]:
    """The line above a trace's step table, each step's association GUID (None: the trace's own labels), and the
    lines below it: why it fails and (``explain``) the steps that matter."""
    from regcheck.model.story import association_guids

    head = f"{printable_path(path)}: {len(trace)} steps"
    if scenario is None:
        return head + " (labels as written)", None, []
    guids = association_guids(scenario, trace)
    names = [
        guids[i].get(int(s.labels.get("association", 0) or 0), "-") if s.labels.get("association") else "-"
        for i, s in enumerate(trace.steps)
    ]
    head += f", scenario {scenario.name}" + (f", property {prop.name}" if prop is not None else "")
    lines = []
    if prop is not None and trace.steps:
        lines.append(f"Why: {cause(scenario, trace)}")
    if explain and prop is not None:
        found = counterexamples.explanation(scenario, trace, prop.name, deadline)
        lines.append(
            f"Explanation: shrunk by replay on the reference simulator from {len(trace)} to {len(found.shrunk)} steps"
            + (f", dropping every step of {', '.join(found.dropped_threads)}" if found.dropped_threads else "")
            + "; each remaining step is needed:"
        )
        lines += [f"  step {n.step} {n.label}: {n.reason}" for n in found.needs]
        lines.append(f"Cause: {found.cause}")
    return head, names, lines


@click.command("replay")
@click.argument("trace_file", metavar="TRACE", type=PathType(path_type=Path, dir_okay=False))
@click.option("--scenario", "target", metavar="NAME|FILE", help="The trace's scenario (default: the one it records).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a switch of that scenario.")
@click.option(
    "--property", "-p", "prop_name", help="The property the trace must violate (default: the one it records)."
)
def replay_command(
    trace_file: Path, target: str | None = None, sets: tuple[str, ...] = (), prop_name: str | None = None
) -> None:
    """Replay the trace in TRACE on the reference simulator; exit 1, naming the step, if it does not conform."""
    trace, scenario = _load_trace(trace_file, target, list(sets))
    where = printable_path(trace_file)
    if scenario is None:
        raise InvalidArgument(
            f"{where}: the trace does not record its scenario (#meta.switches); give --scenario NAME|FILE"
        )
    prop = _trace_property(trace_file, trace, scenario, prop_name)
    report = replay(scenario, trace, None if prop is None else prop.name)
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


__all__ = ["replay_command", "show_command"]
