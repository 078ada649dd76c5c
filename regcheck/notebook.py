"""regcheck in Jupyter: one import for checking, exploring, showing and explaining counterexamples.

>>> from regcheck.notebook import check, explore, show, explain, what_if, sweep, scenario, shapes, diagnose, position

- :func:`check` runs the same checks as ``regcheck check`` (every counterexample replayed on the
  reference simulator) and returns a :class:`Run`, which displays as a verdict table with the
  first counterexample told as a story and drawn as a sequence chart; ``run["property"]`` is one
  :class:`Finding`.
- :func:`what_if` re-checks a run with a switch changed and shows which verdicts moved.
- :func:`explore` finds counterexamples that differ in their cause, optionally of a given shape
  (``where=[shapes.registers_first("notifier 1")]``): the shape goes to z3 as an assumption, so
  an empty answer means that no counterexample of that shape exists within the depth.
- :func:`show` draws a counterexample's chart with its step table; :func:`explain` shrinks it by
  replay and says why each remaining step is needed.
- :func:`sweep` checks over combinations of switch values (or one at a time) on every core.
- :func:`diagnose` finds the settings of the model that explain an observed log (``regcheck diagnose``).
- :func:`position` (or ``finding.at(k)``) is a :class:`Position`: a state with the path that reached it, its
  enabled actions, ``step``, and the questions ``can_fail``, ``can_reach`` and ``must_fail`` answered by the
  checker from that state; ``finding.fork(k, choice)`` compares a counterexample with its fork at step k.

Every object displays itself (``_repr_html_``) through the report's HTML fragments
(``regcheck.report.html``), so a notebook and a design-review page say the same things the same
way. Like ``regcheck.cli`` this is a composition module: it knows the model and its properties; the
distinct causes and explanations it shows come from ``regcheck.counterexamples``, as the CLI's do.
"""

from __future__ import annotations

import builtins
import datetime
import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Union

from regcheck import compose
from regcheck.core.constraints import Constraint
from regcheck.core.constraints import describe as describe_shape
from regcheck.core.result import CheckResult, Kind, Trace, Verdict, verdict_text
from regcheck.counterexamples import distinct_causes, explanation
from regcheck.diagnosis import Diagnosis
from regcheck.diagnosis import diagnose as run_diagnosis
from regcheck.display import printable_path, shown
from regcheck.errors import InvalidArgument
from regcheck.formats import itf
from regcheck.limits import MAX_CAUSES, check_depth, check_jobs, check_settings, check_timeout, check_whole
from regcheck.model import positions, shapes
from regcheck.model import scenario as scenarios
from regcheck.model.explain import Explanation
from regcheck.model.logs.merge import DEFAULT_SKEW, check_skew
from regcheck.model.logs.read import FORMATS, read_logs
from regcheck.model.observations import parse_jsonl
from regcheck.model.scenario import Scenario
from regcheck.model.story import cause as story_cause
from regcheck.properties import catalogue
from regcheck.report.html import (
    chart_bytes,
    evidence_html,
    inline_svg,
    story_html,
    switches_html,
    verdict_cell,
    verdict_words,
    why,
)
from regcheck.sweep import DESIGNS, Axis, DesignTable, Sweep, axes_of, parse_axis
from regcheck.sweep import design_table as run_design_table
from regcheck.sweep import run as run_sweep

__all__ = [
    "Answer",
    "Chart",
    "Comparison",
    "Counterexample",
    "DiagnosisView",
    "Exploration",
    "Finding",
    "ForkComparison",
    "Loss",
    "Position",
    "Reach",
    "Run",
    "ScenarioView",
    "SweepView",
    "check",
    "describe",
    "design_table",
    "diagnose",
    "explain",
    "explore",
    "position",
    "scenario",
    "shapes",
    "show",
    "sweep",
    "what_if",
]

STYLE = (
    "<style>.regcheck table{border-collapse:collapse;margin:.4em 0}"
    ".regcheck th,.regcheck td{border:1px solid #d5d8de;padding:.2em .5em;text-align:left}"
    ".regcheck .v-violated{background:#fbd5d5}.regcheck .v-proved{background:#d3efd6}"
    ".regcheck .v-bounded{background:#fff1c7}.regcheck .v-unknown{background:#e3e3e3}"
    ".regcheck .failed td{color:#b00000;font-weight:600}.regcheck .changed{font-weight:700}"
    ".regcheck .detail{display:block;font-size:.8em}.regcheck .chart svg{max-width:100%;height:auto}</style>"
)
_charts = itertools.count(1)

Target = Union[str, Path, Scenario, "ScenarioView"]
"""What names a scenario: a built-in name, a TOML path, a Scenario, or a :class:`ScenarioView`."""


def _words(what: str, values: object) -> list[str]:
    """Names given as one string or a sequence of strings (``vary="on_mismatch"`` is one switch, not 11)."""
    if isinstance(values, str):
        return [values]
    if not isinstance(values, Sequence) or not all(isinstance(v, str) for v in values):
        raise InvalidArgument(f"{what}: expected text or a list of texts, got {_kind(values)}")
    return list(values)


def _html(body: str) -> str:
    return f'{STYLE}<div class="regcheck">{body}</div>'


def _kind(value: object) -> str:
    """A value of the wrong type as a message names it: its type and its value, shown."""
    return f"{type(value).__name__} {shown(value)}"


def _setting(key: str, value: object) -> str:
    """A Python value as ``--set`` writes it: ``worker_users=[["alice", "bob"]]`` is ``alice+bob``; a value of
    another type than a switch takes (true or false, a whole number, a word, lists and tables of them) is an error."""
    def plain(v: object) -> object:
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict) and all(isinstance(k, str) for k in v):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, (bool, int, float, str)):  # a number of the wrong kind is the switch's own error
            return v
        raise InvalidArgument(f"{key}: expected true or false, a whole number, a word, or a list or table of them; "
                              f"got {_kind(v)}")

    return scenarios.as_text(key, plain(value))


def _resolve(target: Target, switches: dict[str, object]) -> Scenario:
    """A scenario from a built-in name, a TOML path (a ``Path`` is always a file), a Scenario or a view, with
    ``switches`` changed."""
    if isinstance(target, ScenarioView):
        base = target.scenario
    elif isinstance(target, Scenario):
        base = target
    elif isinstance(target, Path):
        base = scenarios.load_file(target)
    elif isinstance(target, str):
        base = scenarios.load(target)
    else:
        raise InvalidArgument("scenario: expected a built-in scenario's name, a path to a .toml file, a Scenario or "
                              f"a ScenarioView; got {_kind(target)}")
    return scenarios.with_overrides(base, [f"{key}={_setting(key, value)}" for key, value in switches.items()])


# --------------------------------------------------------------------------------------------
# Scenarios


@dataclass(frozen=True, repr=False)
class ScenarioView:
    """A scenario that displays its switches (values that differ from the defaults in bold)."""

    scenario: Scenario

    def __repr__(self) -> str:
        return f"<scenario {self.scenario.name}>"

    def _repr_html_(self) -> str:
        s = self.scenario
        return _html(f"<h4>Scenario {escape(s.name)}</h4><p>{escape(s.description)}</p>{switches_html(s)}")


def describe(toml: str, name: str = "my-design") -> ScenarioView:
    """A design written as TOML text (the switches of a scenario file), checked as strictly as a file."""
    return ScenarioView(scenarios.parse(toml, origin=f"design {name}", default_name=name))


def scenario(target: Target = "seed", **switches: object) -> ScenarioView:
    """A built-in scenario (or a TOML file), with ``switches`` changed: ``scenario("seed", workers=2)``."""
    return ScenarioView(_resolve(target, switches))


# --------------------------------------------------------------------------------------------
# Charts and findings


@dataclass(frozen=True, repr=False)
class Chart:
    """A counterexample's sequence chart and step table, in the protocol's words."""

    scenario: Scenario
    trace: Trace

    def __repr__(self) -> str:
        return f"<chart of {len(self.trace)} steps in {self.scenario.name}>"

    def svg(self) -> bytes:
        """The chart as an SVG document."""
        return chart_bytes(self.scenario, self.trace)

    def mermaid(self) -> str:
        """The chart as Mermaid ``sequenceDiagram`` text."""
        from regcheck.formats.mermaid import to_mermaid
        from regcheck.model import views

        return to_mermaid(views.chart(self.scenario, self.trace))

    def body(self) -> str:
        """The step table and the chart, as HTML without the notebook's style block."""
        return story_html(self.scenario, self.trace) + inline_svg(self.svg(), prefix=f"rc{next(_charts)}")

    def _repr_html_(self) -> str:
        return _html(self.body())


@dataclass(frozen=True, repr=False)
class Finding:
    """One property's verdict on one scenario: its counterexample, its certificate, or its bound."""

    scenario: Scenario
    result: CheckResult

    def __repr__(self) -> str:
        return f"<{self.result.property} on {self.scenario.name}: {verdict_words(self.result)}>"

    @property
    def verdict(self) -> str:
        """``violated``, ``proved``, ``bounded`` or ``unknown``."""
        return self.result.verdict.value

    @property
    def trace(self) -> Trace | None:
        return self.result.trace

    @property
    def steps(self) -> int | None:
        """The counterexample's number of steps (None without one)."""
        return len(self.result.trace) if self.result.trace is not None else None

    @property
    def concrete(self) -> Scenario:
        """The scenario the counterexample runs in (a workers=any counterexample names its workers)."""
        return compose.scenario_of(self.scenario, self.result.trace)

    def why(self) -> str:
        """Why the counterexample violates the property, in one sentence."""
        if self.result.trace is None:
            raise InvalidArgument(f"{self.property} is {self.verdict}: there is no counterexample to explain")
        return why(self.concrete, self.result)

    def chart(self) -> Chart:
        if self.result.trace is None:
            raise InvalidArgument(f"{self.property} is {self.verdict}: there is no counterexample to draw")
        return Chart(self.concrete, self.result.trace)

    def at(self, k: int) -> Position:
        """The state after step ``k`` of the counterexample (0: its initial state), as a :class:`Position`."""
        if self.result.trace is None:
            raise InvalidArgument(f"{self.property} is {self.verdict}: there is no counterexample to stand in")
        return _position_at(self.concrete, self.result.trace, k)

    def fork(self, k: int, choice: int | str, *, engine: str = "auto", depth: int = 12,
             timeout: float = 60.0) -> ForkComparison:
        """Step ``k`` of the counterexample replaced by ``choice`` (``at(k - 1).step(choice)``), then whether the
        property can still fail from there: the original and the fork side by side."""
        if self.result.trace is None:
            raise InvalidArgument(f"{self.property} is {self.verdict}: there is no counterexample to fork")
        return _fork(self, k, choice, engine, depth, timeout)

    def _repr_html_(self) -> str:
        return _html(self.body())

    def body(self) -> str:
        """The verdict and its evidence, as HTML without the notebook's style block."""
        r = self.result
        head = f"<h4><code>{escape(r.property)}</code>: {escape(verdict_words(r))}</h4>"
        body = f"<p>{escape(catalogue.spec(r.property).description)} <i>Engine {escape(r.engine)}.</i></p>"
        if r.note:
            body += f"<p>{escape(r.note)}</p>"
        if r.verdict is Verdict.VIOLATED and r.trace is not None:
            chart = self.chart()
            body += f"<p><b>Why:</b> {escape(self.why())}</p>" + chart.body()
        elif r.verdict is Verdict.PROVED:
            body += evidence_html(r.evidence)
        elif r.verdict is Verdict.BOUNDED:
            body += f"<p>No violation in any execution of at most {r.depth} steps (not a proof).</p>"
        return head + body

    # Last in the class body: once defined, ``property`` names this attribute here, not the builtin.
    @property
    def property(self) -> str:
        """The property's name."""
        return self.result.property


# --------------------------------------------------------------------------------------------
# Runs and what-if


@dataclass(frozen=True, repr=False)
class Run:
    """The verdicts of one scenario; ``run[name]`` is one :class:`Finding`."""

    scenario: Scenario
    results: tuple[CheckResult, ...]
    engine: str
    depth: int
    timeout: float

    def __repr__(self) -> str:
        verdicts = ", ".join(f"{n}: {v}" for n, v in self.verdicts.items())
        return f"<run of {self.scenario.name}: {verdicts}>"

    def __getitem__(self, name: str) -> Finding:
        for result in self.results:
            if result.property == name:
                return Finding(self.scenario, result)
        raise KeyError(f"{name!r} was not checked; checked: {', '.join(self.verdicts)}")

    def __iter__(self) -> Iterator[Finding]:
        return (Finding(self.scenario, r) for r in self.results)

    @property
    def verdicts(self) -> dict[str, str]:
        """Property name -> verdict word."""
        return {r.property: r.verdict.value for r in self.results}

    def what_if(self, **switches: object) -> Comparison:
        """Re-check the same properties with ``switches`` changed, e.g. ``run.what_if(transport="rpc-tcp")``."""
        return what_if(self, **switches)

    def _repr_html_(self) -> str:
        s = self.scenario
        rows = "".join(
            f"<tr><td><code>{escape(r.property)}</code></td>{verdict_cell(r, s.expected.get(r.property))}"
            f"<td>{escape(s.expected.get(r.property, '-'))}</td><td>{r.time_s:.2f} s</td></tr>"
            for r in self.results
        )
        parts = [
            f"<h4>Scenario {escape(s.name)}: engine {escape(self.engine)}, depth {self.depth}</h4>",
            f"<p>{escape(s.description)}</p>" if s.description else "",
            f"<table><tr><th>property</th><th>verdict</th><th>expected</th><th>time</th></tr>{rows}</table>",
        ]
        violated = [r for r in self.results if r.verdict is Verdict.VIOLATED]
        if violated:
            parts.append(Finding(s, violated[0]).body())
            if len(violated) > 1:
                others = ", ".join(f'run["{r.property}"]' for r in violated[1:])
                parts.append(f"<p>Also violated; show them with {escape(others)}.</p>")
        return _html("".join(parts))


def _settings(engine: object, depth: object, timeout: object) -> None:
    """The checks ``regcheck check`` makes of the same settings (``regcheck.limits``), named as keywords."""
    check_settings(engine, "z3", depth, timeout, engines=compose.ENGINES, solvers=compose.RECHECK_SOLVERS, prefix="")


def check(
    target: Target = "seed",
    *properties: str,
    engine: str = "auto",
    depth: int = 12,
    timeout: float = 120.0,
    **switches: object,
) -> Run:
    """Check ``properties`` (all, if none) of a scenario with ``switches`` changed, as ``regcheck check`` does.

    ``check("seed", "worker-never-gets-network-error", workers=2, engine="bmc", depth=10)``
    """
    _settings(engine, depth, timeout)
    chosen = _resolve(target, switches)
    results = compose.run_checks(chosen, _words("properties", properties), engine=engine, depth=depth, timeout=timeout)
    return Run(chosen, tuple(results), engine, depth, timeout)


@dataclass(frozen=True, repr=False)
class Comparison:
    """Two runs of the same properties, before and after changing switches."""

    before: Run
    after: Run
    changes: dict[str, object] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<what if {self.changes} in {self.before.scenario.name}: changed {self.changed}>"

    @property
    def changed(self) -> list[str]:
        """The properties whose verdict differs between the two runs."""
        after = self.after.verdicts
        return [name for name, verdict in self.before.verdicts.items() if after.get(name) != verdict]

    def _repr_html_(self) -> str:
        what = ", ".join(f"{k} = {_setting(k, v)}" for k, v in self.changes.items())
        rows = []
        for result in self.before.results:
            other = next(r for r in self.after.results if r.property == result.property)
            mark = ' class="changed"' if other.verdict is not result.verdict else ""
            rows.append(f"<tr{mark}><td><code>{escape(result.property)}</code></td>{verdict_cell(result)}"
                        f"{verdict_cell(other)}</tr>")
        table = ("<table><tr><th>property</th><th>before</th><th>after</th></tr>" + "".join(rows) + "</table>")
        summary = f"{len(self.changed)} verdict(s) changed" if self.changed else "no verdict changed"
        return _html(f"<h4>What if {escape(what)} in {escape(self.before.scenario.name)}?</h4>"
                     f"<p>{summary}.</p>{table}")


def what_if(run: Run, **switches: object) -> Comparison:
    """Re-check ``run``'s properties with ``switches`` changed (same engine, depth and timeout)."""
    if not isinstance(run, Run):
        raise InvalidArgument(f"what_if: expected the Run that check() returned, got {_kind(run)}")
    if not switches:
        raise InvalidArgument("what_if: name the switch to change, e.g. what_if(run, transport='rpc-tcp')")
    names = [r.property for r in run.results]
    after = check(run.scenario, *names, engine=run.engine, depth=run.depth, timeout=run.timeout, **switches)
    return Comparison(run, after, dict(switches))


# --------------------------------------------------------------------------------------------
# Sweeps


@dataclass(frozen=True, repr=False)
class SweepView:
    """A sweep's verdict matrix, and per property its smallest failing configuration."""

    result: Sweep

    def __repr__(self) -> str:
        return f"<sweep of {self.result.base.name}: {len(self.result.outcomes)} configurations>"

    def failing(self, name: str) -> list[dict[str, str]]:
        """The configurations (axis -> value) that violate ``name``, smallest first."""
        return [dict(o.configuration.values) for o in self.result.failing(name)]

    def holds_everywhere(self, name: str) -> bool:
        """True when every configuration proved ``name``: a bound is not "holds"."""
        return all(o.result(name)["verdict"] == "proved" for o in self.result.outcomes)

    def bounded_everywhere(self, name: str) -> bool:
        """True when no configuration violates ``name`` and every one proved or bounded it."""
        return all(o.result(name)["verdict"] in ("proved", "bounded") for o in self.result.outcomes)

    def _repr_html_(self) -> str:
        r = self.result
        head = "".join(f"<th>{escape(a.key)}</th>" for a in r.axes)
        head += "".join(f"<th><code>{escape(n)}</code></th>" for n in r.properties)
        rows = []
        for outcome, cells in zip(r.outcomes, r.matrix()):
            values = "".join(f"<td>{escape(v)}</td>" for v in cells[: len(r.axes)])
            verdicts = "".join(
                f'<td class="v-{escape(outcome.result(n)["verdict"])}">{escape(word)}</td>'
                for n, word in zip(r.properties, cells[len(r.axes):])
            )
            rows.append(f"<tr>{values}{verdicts}</tr>")
        notes = []
        for name in r.properties:
            smallest = r.smallest_failing(name)
            where = " ".join(smallest.configuration.assignments()) if smallest else "none fails"
            notes.append(f"<li><code>{escape(name)}</code>: smallest failing configuration: {escape(where)}</li>")
        return _html(
            f"<h4>Sweep of {escape(r.base.name)}: {len(r.outcomes)} configurations, engine {escape(r.engine)}</h4>"
            f"<table><tr>{head}</tr>{''.join(rows)}</table><ul>{''.join(notes)}</ul>"
        )


def sweep(
    target: Target = "seed",
    *properties: str,
    vary: Sequence[str | Axis] = (),
    one_at_a_time: bool = False,
    engine: str = "auto",
    depth: int = 12,
    timeout: float = 120.0,
    jobs: int | None = None,
    **switches: object,
) -> SweepView:
    """``regcheck sweep`` from a notebook: ``vary`` as ``--vary`` takes it (``"workers=1..3"``) or as Axis values."""
    if isinstance(vary, str):
        vary = [vary]
    wrong = [a for a in vary if not isinstance(a, (Axis, str))]
    if wrong:
        raise InvalidArgument(f"vary: expected switches as --vary takes them (\"workers=1..3\") or Axis values, "
                              f"got {_kind(wrong[0])}")
    _settings(engine, depth, timeout)
    jobs = check_jobs(0 if jobs is None else jobs, "jobs")
    chosen = _resolve(target, switches)
    axes = [a if isinstance(a, Axis) else parse_axis(a) for a in vary] or list(axes_of((), chosen))
    result = run_sweep(
        chosen, axes, list(properties), engine=engine, depth=depth, timeout=timeout, jobs=jobs,
        one_at_a_time=one_at_a_time,
    )
    return SweepView(result)


# --------------------------------------------------------------------------------------------
# Exploring counterexamples


@dataclass(frozen=True, repr=False)
class Counterexample:
    """One counterexample of an exploration, with its cause in words; replayed on the reference simulator."""

    scenario: Scenario
    property: str
    trace: Trace
    cause: str

    def __repr__(self) -> str:
        return f"<counterexample to {self.property}, {len(self.trace)} steps: {self.cause}>"

    @builtins.property  # the field ``property`` shadows the builtin in this class body
    def steps(self) -> int:
        return len(self.trace)

    def chart(self) -> Chart:
        return Chart(self.scenario, self.trace)

    def at(self, k: int) -> Position:
        """The state after step ``k`` of the counterexample (0: its initial state), as a :class:`Position`."""
        return _position_at(self.scenario, self.trace, k)

    def fork(self, k: int, choice: int | str, *, engine: str = "auto", depth: int = 12,
             timeout: float = 60.0) -> ForkComparison:
        """Step ``k`` replaced by ``choice``, then whether the property can still fail from there."""
        result = CheckResult(self.property, Kind.SAFETY, Verdict.VIOLATED, "explore", len(self.trace), 0.0, self.trace)
        return _fork(Finding(self.scenario, result), k, choice, engine, depth, timeout)

    def body(self) -> str:
        """The cause, the step table and the chart, as HTML without the notebook's style block."""
        return f"<h4>{self.steps} steps: {escape(self.cause)}</h4>" + self.chart().body()

    def _repr_html_(self) -> str:
        return _html(self.body())


@dataclass(frozen=True, repr=False)
class Exploration:
    """Counterexamples that differ in their cause, shortest of each first."""

    scenario: Scenario
    property: str
    counterexamples: tuple[Counterexample, ...]
    complete: bool
    """True when no other cause (of the shape asked for) exists within ``depth`` steps."""
    depth: int
    shape: str = ""
    note: str = ""

    def __repr__(self) -> str:
        return f"<{len(self.counterexamples)} counterexample(s) to {self.property} in {self.scenario.name}>"

    def __len__(self) -> int:
        return len(self.counterexamples)

    def __getitem__(self, index: int) -> Counterexample:
        return self.counterexamples[index]

    def __iter__(self) -> Iterator[Counterexample]:
        return iter(self.counterexamples)

    @builtins.property  # the field ``property`` shadows the builtin in this class body
    def causes(self) -> list[str]:
        return [c.cause for c in self.counterexamples]

    def _repr_html_(self) -> str:
        shape = f" of the shape: {escape(self.shape)}" if self.shape else ""
        if not self.counterexamples:
            return _html(f"<p>No counterexample to <code>{escape(self.property)}</code>{shape} within "
                         f"{self.depth} steps" + (" (the search covered every one)." if self.complete else ".")
                         + (f" {escape(self.note)}" if self.note else "") + "</p>")
        count = len(self.counterexamples)
        more = "no other cause exists within the depth" if self.complete else "more may exist"
        head = (f"<p>{count} counterexample(s) to <code>{escape(self.property)}</code>{shape} that differ in "
                f"their cause ({more}).</p>")
        return _html(head + "".join(c.body() for c in self.counterexamples))


def explore(
    target: Target,
    prop: str,
    n: int = 3,
    *,
    where: Sequence[Constraint] = (),
    depth: int = 12,
    timeout: float = 120.0,
    **switches: object,
) -> Exploration:
    """Up to ``n`` counterexamples to safety property ``prop`` that differ in their cause, each of shape ``where``.

    ``explore("multi-user", "worker-never-gets-network-error", where=[shapes.registers_first("worker 2")])``
    """
    check_whole(n, "n", 1, MAX_CAUSES)
    check_depth(depth)
    check_timeout(timeout)
    chosen = _resolve(target, switches)
    if chosen.parameterised:
        raise InvalidArgument("explore needs a fixed number of workers; set workers=N")
    found = distinct_causes(chosen, prop, n, depth=depth, timeout=timeout, where=where)
    items = tuple(Counterexample(chosen, prop, c.trace, c.description) for c in found.found)
    return Exploration(chosen, prop, items, found.complete, found.depth, describe_shape(where), found.note)


# --------------------------------------------------------------------------------------------
# Showing and explaining one counterexample


def _counterexample(x: Finding | Counterexample | Trace | str | Path, target: Target | None
                    ) -> tuple[Scenario, Trace, str]:
    """The scenario, trace and property name of anything that holds a counterexample (a trace file too)."""
    if isinstance(x, (str, Path)):
        x = itf.read(x)
    if isinstance(x, Finding):
        if x.trace is None:
            raise InvalidArgument(f"{x.property} is {x.verdict}: there is no counterexample")
        return x.concrete, x.trace, x.property
    if isinstance(x, Counterexample):
        return x.scenario, x.trace, x.property
    if not isinstance(x, Trace):
        raise InvalidArgument(f"expected a Finding, a Counterexample, a Trace or a trace file, got {_kind(x)}")
    if target is not None:
        chosen = _resolve(target, {})
    elif "switches" in x.meta:
        chosen = scenarios.from_mapping(x.meta["switches"], origin="the trace's #meta.switches")
    else:
        raise InvalidArgument("this trace does not record its scenario; pass scenario=NAME")
    return compose.scenario_of(chosen, x), x, str(x.meta.get("property", ""))


def show(x: Finding | Counterexample | Trace | str | Path, scenario: Target | None = None) -> Chart:
    """The sequence chart and step table of a counterexample (a trace needs its scenario, unless it records one)."""
    chosen, trace, _ = _counterexample(x, scenario)
    return Chart(chosen, trace)


@dataclass(frozen=True, repr=False)
class ExplanationView:
    """A counterexample shrunk by replay, with why each remaining step is needed."""

    scenario: Scenario
    explanation: Explanation

    def __repr__(self) -> str:
        return f"<explanation: {self.explanation.cause}>"

    def _repr_html_(self) -> str:
        e = self.explanation
        dropped = f", dropping every step of {', '.join(e.dropped_threads)}" if e.dropped_threads else ""
        needs = "".join(f"<li>step {n.step} {escape(n.label)}: {escape(n.reason)}</li>" for n in e.needs)
        return _html(
            f"<p>Shrunk by replay on the reference simulator from {len(e.original)} to {len(e.shrunk)} "
            f"steps{escape(dropped)}; each remaining step is needed:</p><ul>{needs}</ul>"
            f"<p><b>Cause:</b> {escape(e.cause)}</p>" + story_html(self.scenario, e.shrunk)
        )


def explain(x: Finding | Counterexample | Trace | str | Path, scenario: Target | None = None) -> ExplanationView:
    """Shrink a safety counterexample by replay and say why each remaining step matters."""
    chosen, trace, name = _counterexample(x, scenario)
    if not name:
        raise InvalidArgument("explain needs the property the trace violates (a Finding, or a trace that records it)")
    catalogue.spec(name)  # an unknown name is an error that lists the known ones
    if trace.loop is not None:
        raise InvalidArgument(f"{name} is a liveness property: its counterexample is a lasso, which is not shrunk")
    return ExplanationView(chosen, explanation(chosen, trace, name))


# --------------------------------------------------------------------------------------------
# Positions: stepping, forking, and questions answered from a state


def _table_html(table: positions.Table) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    rows = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>" for row in table.rows)
    return f"<p><b>{escape(table.title)}</b></p><table><tr>{head}</tr>{rows}</table>"


def _choices_html(choices: Sequence[positions.Choice]) -> str:
    if not choices:
        return "<p>No action is enabled: this state repeats for ever.</p>"
    rows = "".join(f"<tr><td>{c.number}</td><td><code>{escape(c.label)}</code></td><td>{escape(c.words())}</td></tr>"
                   for c in choices)
    return f"<p><b>enabled actions</b></p><table><tr><th>#</th><th>action</th><th>what it does</th></tr>{rows}</table>"


@dataclass(frozen=True, repr=False)
class Answer:
    """The checker's answer to "can ``property`` fail from this position?": a continuation that violates it
    (shown as the whole path, replayed on the reference simulator), or a proof from this state, or neither."""

    position: Position
    result: CheckResult

    def __repr__(self) -> str:
        return f"<from step {self.position.index}: {self.property} {self.words()}>"

    @builtins.property
    def property(self) -> str:
        return self.result.property

    @builtins.property
    def can(self) -> bool | None:
        """True: a continuation violates the property; False: proved from here; None: undecided."""
        if self.result.verdict is Verdict.VIOLATED:
            return True
        if self.result.verdict is Verdict.PROVED:
            return False
        return None

    @builtins.property
    def trace(self) -> Trace | None:
        """The whole path (the path to the position, then the continuation), or None."""
        return self.result.trace

    @builtins.property
    def continuation(self) -> int | None:
        """The number of steps after the position (None without a counterexample)."""
        return None if self.result.trace is None else len(self.result.trace) - self.position.index

    def words(self) -> str:
        if self.can is True:
            return f"can fail: a continuation of {self.continuation} step(s) violates it"
        if self.can is False:
            return "cannot fail from here (proved)"
        return verdict_text(self.result)

    def finding(self) -> Finding:
        """The answer as a :class:`Finding` of the scenario (its counterexample is the whole path)."""
        return Finding(self.position.scenario, self.result)

    def body(self) -> str:
        head = (f"<h4>From the state after step {self.position.index}: <code>{escape(self.property)}</code> "
                f"{escape(self.words())}</h4>")
        if self.can is True and self.result.trace is not None:
            trace = self.result.trace
            told = f"<p><b>Why:</b> {escape(why(self.position.scenario, self.result))}</p>"
            return head + told + Chart(self.position.scenario, trace).body()
        if self.can is False:
            return head + evidence_html(self.result.evidence)
        return head + (f"<p>{escape(self.result.note)}</p>" if self.result.note else "")

    def _repr_html_(self) -> str:
        return _html(self.body())


@dataclass(frozen=True, repr=False)
class Reach:
    """Whether a continuation of the position has a shape (``shapes.*``): the shortest one, or none within the
    depth (a bound, not a proof)."""

    position: Position
    shape: str
    trace: Trace | None
    depth: int
    note: str = ""

    def __repr__(self) -> str:
        found = f"yes, in {len(self.trace) - self.position.index} step(s)" if self.trace is not None else "not found"
        return f"<from step {self.position.index}, {self.shape}: {found}>"

    @builtins.property
    def can(self) -> bool:
        return self.trace is not None

    def _repr_html_(self) -> str:
        head = f"<h4>From the state after step {self.position.index}: {escape(self.shape)}?</h4>"
        if self.trace is None:
            return _html(head + f"<p>No continuation of at most {self.depth} steps has that shape (not a proof)."
                         + (f" {escape(self.note)}" if self.note else "") + "</p>")
        steps = len(self.trace) - self.position.index
        return _html(head + f"<p>Yes: a continuation of {steps} step(s), replayed on the reference simulator.</p>"
                     + Chart(self.position.scenario, self.trace).body())


@dataclass(frozen=True, repr=False)
class Loss:
    """Whether every fair continuation of a position fails a liveness property, counting the obligations pending
    there (triggered on the path, not met since): a proof, or a fair continuation that meets every obligation."""

    position: Position
    fate: compose.Fate

    def __repr__(self) -> str:
        return f"<from step {self.position.index}: {self.property} {self.words()}>"

    @builtins.property
    def property(self) -> str:
        return self.fate.property

    @builtins.property
    def lost(self) -> bool | None:
        """True: every fair continuation fails (proved); False: a fair continuation meets every obligation
        (:attr:`trace`); None: undecided (:meth:`words` says why)."""
        return self.fate.must

    @builtins.property
    def trace(self) -> Trace | None:
        """The path so far, then a fair lasso that meets every obligation (``trace.loop``), or None."""
        return self.fate.trace

    def words(self) -> str:
        pending = "; ".join(f"{label}, pending since state {since}" for label, since in self.fate.pending)
        pending = f" ({pending})" if pending else ""
        if self.lost is True:
            return (f"must fail: every fair continuation fails it{pending}, proved for the {self.fate.states:,} "
                    f"states reachable from here")
        if self.lost is False and self.trace is not None:
            steps = len(self.trace) - self.position.index
            assert self.trace.loop is not None
            loop = len(self.trace) - self.trace.loop
            return (f"need not fail: a fair continuation of {steps} step(s), ending in a loop of {loop}, meets every "
                    f"obligation{pending}")
        return f"undecided: {self.fate.note}"

    def _repr_html_(self) -> str:
        parts = [f"<h4>From the state after step {self.position.index}: <code>{escape(self.property)}</code> "
                 f"{escape(self.words())}</h4>"]
        if self.lost is True:
            parts.append(f"<p>{escape(self.fate.note)}.</p>")
        elif self.trace is not None:
            parts.append("<p>Replayed on the reference simulator: its loop is fair, and every trigger, those pending "
                         "here included, is followed by its goal.</p>" + story_html(self.position.scenario, self.trace))
        return _html("".join(parts))


@dataclass(frozen=True, repr=False)
class Position:
    """A state of a scenario and the path of steps that reached it, with the questions the checker answers
    from it; it displays each thread's identity and job, the sessions, the registration cache and the
    enabled actions, and the chart of the path so far."""

    where: positions.Position

    def __repr__(self) -> str:
        return (f"<position after step {self.index} of {self.scenario.name}: "
                f"{len(self.where.enabled())} action(s) enabled>")

    @builtins.property
    def scenario(self) -> Scenario:
        return self.where.scenario

    @builtins.property
    def index(self) -> int:
        """The number of steps taken to reach this state."""
        return self.where.index

    @builtins.property
    def state(self) -> dict[str, object]:
        return dict(self.where.state)

    @builtins.property
    def path(self) -> Trace:
        """The path so far as a trace (saved with :meth:`save`, shown with :func:`show`)."""
        return self.where.path

    def enabled(self) -> list[positions.Choice]:
        """The enabled actions in the protocol's words (``choice.number``, ``choice.label``, ``choice.words()``)."""
        return self.where.enabled()

    def step(self, choice: int | str) -> Position:
        """Take an enabled action: its number, its call label, or a description (``"notifier 1 EcDoAsyncWaitEx"``)."""
        return Position(self.where.step(choice))

    def back(self, steps: int = 1) -> Position:
        """The position ``steps`` steps earlier on the same path."""
        check_whole(steps, "steps", 0, self.index)
        return _position_at(self.scenario, self.path, self.index - steps)

    def save(self, path: str | Path) -> None:
        """The path so far as an ITF trace that records its scenario (``regcheck show``, ``regcheck replay``)."""
        itf.write(compose.replayable(self.scenario, self.path), path)

    def chart(self) -> Chart:
        if not self.index:
            raise InvalidArgument("no step has been taken yet: there is no chart to draw")
        return Chart(self.scenario, self.path)

    def can_fail(self, prop: str, *, engine: str = "auto", depth: int = 12, timeout: float = 60.0) -> Answer:
        """The shortest continuation from here that violates ``prop``, or a proof that none exists from this state."""
        _settings(engine, depth, timeout)
        (result,) = compose.run_checks_from(self.scenario, self.path, [_name(prop)], engine=engine, depth=depth,
                                            timeout=timeout)
        return Answer(self, result)

    def can_reach(self, *shape: Constraint, depth: int = 12, timeout: float = 60.0) -> Reach:
        """The shortest continuation from here with every shape of ``shape`` (``shapes.sends("notifier 1")``)."""
        check_depth(depth)
        check_timeout(timeout)
        if not shape:
            raise InvalidArgument("can_reach: give a shape, e.g. shapes.sends('notifier 1', 'EcDoAsyncWaitEx')")
        trace, searched, note = compose.reach_from(self.scenario, self.path, shape, depth=depth, timeout=timeout)
        return Reach(self, describe_shape(shape), trace, searched, note)

    def must_fail(self, prop: str, *, timeout: float = 60.0) -> Loss:
        """For a liveness property: whether every fair continuation from here fails it (the obligations pending
        here included), proved and re-checked on the reference simulator, or a fair continuation that does not."""
        check_timeout(timeout)
        return Loss(self, compose.must_fail_from(self.scenario, self.path, _name(prop), timeout=timeout))

    def widget(self, prop: str | None = None) -> object:
        """An interactive view (``pip install 'regcheck[widgets]'``): the state and the chart so far, a button per
        enabled action, back and forward, and "can it fail from here?" for ``prop`` or another chosen property."""
        from regcheck.widget import explorer

        return explorer(self, prop)

    def _repr_html_(self) -> str:
        head = f"<h4>State after step {self.index} of scenario {escape(self.scenario.name)}</h4>"
        tables = "".join(_table_html(t) for t in self.where.tables())
        chart = self.chart().body() if self.index else ""
        return _html(head + tables + _choices_html(self.enabled()) + chart)


def _name(prop: object) -> str:
    if not isinstance(prop, str):
        raise InvalidArgument(f"expected a property's name, got {_kind(prop)}")
    catalogue.spec(prop)  # an unknown name is an error that lists the known ones
    return prop


def _position_at(chosen: Scenario, trace: Trace, k: int) -> Position:
    return Position(positions.at(chosen, trace, k))


def position(target: Target = "seed", **switches: object) -> Position:
    """The initial state of a scenario (with ``switches`` changed), as a :class:`Position` to step from."""
    return Position(positions.start(_resolve(target, switches)))


@dataclass(frozen=True, repr=False)
class ForkComparison:
    """A counterexample and its fork at step ``k`` (another action taken there), side by side: the chart of each,
    where they part, and what each does to the registration."""

    original: Finding
    k: int
    fork: Answer

    def __repr__(self) -> str:
        return f"<fork of {self.original.property} at step {self.k}: {self.fork.words()}>"

    @builtins.property
    def parted(self) -> tuple[str, str]:
        """The call label of step k in the original and in the fork."""
        original = self.original.trace
        assert original is not None
        return original.steps[self.k - 1].label, self.fork.position.path.steps[self.k - 1].label

    def _registration(self, trace: Trace) -> str:
        table = positions.tables(self.original.concrete, trace)
        cache = [t for t in table if t.title == "registration cache"]
        return _table_html(cache[0]) if cache else "<p>No registration cache on this transport.</p>"

    def _repr_html_(self) -> str:
        original = self.original.trace
        assert original is not None
        before, after = self.parted
        scenario = self.original.concrete
        left = (f"<h4>original: {escape(verdict_words(self.original.result))}</h4>"
                f"<p>{escape(story_cause(scenario, original))}</p>" + self._registration(original)
                + Chart(scenario, original).body())
        trace = self.fork.trace if self.fork.trace is not None else self.fork.position.path
        told = story_cause(scenario, trace) if self.fork.can else "From the fork on, the property cannot fail."
        right = (f"<h4>fork: {escape(self.fork.words())}</h4><p>{escape(told)}</p>" + self._registration(trace)
                 + (Chart(scenario, trace).body() if len(trace) else self.fork.body()))
        if self.fork.can is False:
            right += evidence_html(self.fork.result.evidence)
        head = (f"<h4>Fork of <code>{escape(self.original.property)}</code> at step {self.k}</h4>"
                f"<p>Steps 1 to {self.k - 1} are shared; at step {self.k} the original takes "
                f"<code>{escape(before)}</code>, the fork <code>{escape(after)}</code>.</p>")
        cell = 'style="vertical-align:top;width:50%"'
        return _html(head + f"<table><tr><td {cell}>{left}</td><td {cell}>{right}</td></tr></table>")


def _fork(original: Finding, k: int, choice: int | str, engine: str, depth: int, timeout: float) -> ForkComparison:
    """``original``'s counterexample forked at step ``k`` by ``choice``, and whether its property can still fail."""
    trace = original.trace
    assert trace is not None
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(trace):
        raise InvalidArgument(f"fork: step {shown(k)} is out of range; the counterexample has steps 1 to {len(trace)}")
    forked = _position_at(original.concrete, trace, k - 1).step(choice)
    return ForkComparison(original, k, forked.can_fail(original.property, engine=engine, depth=depth, timeout=timeout))


@dataclass(frozen=True, repr=False)
class DesignTableView:
    """Which designs are safe under which fixes, displayed as a table (unsafe cells marked)."""

    table: DesignTable

    def __repr__(self) -> str:
        return f"<design table: {len(self.table.rows)} designs, {len(self.table.columns)} columns>"

    @property
    def columns(self) -> tuple[tuple[str, str], ...]:
        return self.table.columns

    @property
    def rows(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return self.table.rows

    def markdown(self) -> str:
        return self.table.markdown()

    def _repr_html_(self) -> str:
        css = {"safe": "v-proved", "unsafe": "v-violated", "undecided": "v-unknown"}
        head = "".join(f"<th>{escape(fix)}<br><code>{escape(where)}</code></th>" for fix, where in self.columns)
        rows = "".join(
            f"<tr><td><code>{escape(design)}</code></td>"
            + "".join(f'<td class="{css.get(word, "")}">{escape(word)}</td>' for word in cells) + "</tr>"
            for design, cells in self.rows
        )
        return _html(f"<h4>Which designs are safe under which fix</h4><table><tr><th>design</th>{head}</tr>"
                     f"{rows}</table>")


def design_table(designs: Sequence[str] = DESIGNS, *, engine: str = "explicit") -> DesignTableView:
    """Each built-in design under each fix, over the association scope: safe, unsafe or undecided."""
    return DesignTableView(run_design_table(designs, engine=engine))


# --------------------------------------------------------------------------------------------
# Diagnosing a log


@dataclass(frozen=True, repr=False)
class DiagnosisView:
    """What ``regcheck diagnose`` finds for a log: the settings that explain it, each with its completed
    execution, what that violates and what each fix does; the settings ruled out and why."""

    title: str
    diagnosis: Diagnosis
    reading: tuple[str, ...] = ()  # for an Exchange log: rows skipped, identities bound, associations seen

    def __repr__(self) -> str:
        d = self.diagnosis
        if d.explained:
            return f"<diagnosis of {self.title}: explained by {d.explaining} setting(s), {len(d.ruled_out)} group(s) ruled out>"
        if not d.exact:
            return f"<diagnosis of {self.title}: not explained; no setting reaches event {d.longest + 1}>"
        return f"<diagnosis of {self.title}: not explained; events 1 to {d.longest} are>"

    @property
    def explained(self) -> bool:
        return bool(self.diagnosis.explained)

    def settings(self) -> list[dict[str, str]]:
        """Every setting of the varied switches that explains the log."""
        seen = dict.fromkeys(o.setting.values for g in self.diagnosis.explained for o in g.outcomes)
        return [dict(values) for values in seen]

    def _repr_html_(self) -> str:
        from regcheck.report.diagnosis import diagnosis_html

        notes = "".join(f"<p>{escape(note)}</p>" for note in self.reading)
        return _html(notes + diagnosis_html(self.title, self.diagnosis))


def diagnose(log: str | Path | Sequence[str | Path] | Sequence[dict[str, object]], scenario: Target = "seed", *,
             vary: Sequence[str] | str = (), columns: str | None = None, timeout: float = 120.0,
             log_format: str | None = None, identities: str | Path | None = None, process_account: str | None = None,
             skew: float = DEFAULT_SKEW, **switches: object) -> DiagnosisView:
    """Diagnose ``log`` (a path to a JSON Lines or CSV file, to an Exchange log or a folder of its files; a list of
    such paths, read as one observation; or the events as dictionaries, a ``datetime`` standing for its ISO 8601
    text) against ``scenario`` with ``switches`` changed, as ``regcheck diagnose`` does (``log_format``,
    ``identities``, ``process_account`` and ``skew`` are its ``--format``, ``--identities``,
    ``--process-account`` and ``--skew``)."""
    check_timeout(timeout)
    check_skew(skew, "skew")
    for name, given, what in (("columns", columns, "FIELD=COLUMN,... as text"), ("log_format", log_format, "text"),
                              ("process_account", process_account, "text")):
        if given is not None and not isinstance(given, str):
            raise InvalidArgument(f"{name}: expected {what}, got {_kind(given)}")
    if identities is not None and not isinstance(identities, (str, Path)):
        raise InvalidArgument(f"identities: expected a path to a CSV or TOML file, got {_kind(identities)}")
    if log_format is not None and log_format not in ("jsonl", "csv", *FORMATS):
        raise InvalidArgument(f"log_format: {shown(log_format)} is not one of jsonl, csv, {', '.join(FORMATS)}")
    chosen = _resolve(scenario, dict(switches))
    reading: list[str] = []
    logs = [log] if isinstance(log, (str, Path)) else list(log) if isinstance(log, Sequence) else []
    paths = [Path(each) for each in logs if isinstance(each, (str, Path))]
    if paths and len(paths) == len(logs):  # a log, or several as one observation
        events, reading = read_logs(paths, log_format, columns,
                                    None if identities is None else Path(identities), process_account,
                                    chosen.process_identity, skew)
        title = ", ".join(printable_path(each) for each in paths)
    elif isinstance(log, Sequence):
        events = parse_jsonl("".join(_event_line(number, record) for number, record in enumerate(log, start=1)),
                             what="the events")
        title = f"{len(events)} events"
    else:
        raise InvalidArgument(f"log: expected a path to a log, or the events as a list of dictionaries; got {_kind(log)}")
    varied = _words("vary", vary)
    return DiagnosisView(title, run_diagnosis(events, chosen, varied, timeout=timeout), tuple(reading))


def _event_line(number: int, record: object) -> str:
    """One event given as a dictionary, as a line of JSON Lines: a ``datetime`` (or date, or time) is its ISO
    8601 text; any value JSON cannot hold is an error naming the event."""
    if not isinstance(record, Mapping):
        raise InvalidArgument(f"the events, event {number}: expected a dictionary of fields, got {_kind(record)}")

    def value(v: object) -> object:
        if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
            return v.isoformat()
        raise InvalidArgument(f"the events, event {number}: {_kind(v)} is not a value of a log (text, a whole "
                              "number, or a datetime)")

    return json.dumps(dict(record), default=value) + "\n"
