"""Verdicts as CI findings: JUnit cases and SARIF results, told in the protocol's words.

A composition root beside ``cli``: it turns checked scenarios (and sweeps and diagnoses) into the
neutral cases of ``regcheck.formats.junit`` and results of ``regcheck.formats.sarif``, with each counterexample's
story (``model.story``). A SARIF result sits at the line of the scenario's TOML file that holds the
switch the counterexample depends on: the first switch, of those a design sets, under whose every
other value the counterexample no longer replays on the reference simulator (a dependence checked
by replay, not guessed). docs/ci.md says how each verdict maps.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import regcheck
from regcheck import compose
from regcheck.core.result import CheckResult, Trace, Verdict, verdict_text
from regcheck.errors import InvalidArgument, RegcheckError
from regcheck.formats import junit, sarif
from regcheck.model import scenario as scenarios
from regcheck.model.design import design_of
from regcheck.model.scenario import Scenario
from regcheck.model.story import cause, rows
from regcheck.properties import catalogue
from regcheck.sweep import Sweep, verdict_word

if TYPE_CHECKING:
    from regcheck.diagnosis import Diagnosis

DEPENDENCE_ORDER = (
    "impersonate", "worker_impersonates", "connect_flags", "session_reuse", "notifier", "association_scope",
    "transport", "on_mismatch", "registration", "identity_tracking", "async_connect_by", "async_failure",
    "after_network_error", "server_async",
)
"""The switches a counterexample's dependence is tried on, the client design's first: each has other
values that keep the model's variables, so a trace that no longer replays shows a dependence."""


@dataclass(frozen=True)
class Checked:
    """One scenario's results, with where its TOML lies and where each counterexample's ITF trace was written."""

    scenario: Scenario
    results: tuple[CheckResult, ...]
    source: Path | None = None
    traces: Mapping[str, Path] | None = None

    def trace_path(self, prop: str) -> Path | None:
        return None if self.traces is None else self.traces.get(prop)


def source_of(target: str | None, scenario: Scenario) -> Path | None:
    """The TOML file a scenario was read from: the file named on the command line, or the built-in's."""
    if target is not None and scenarios.names_a_file(target):
        return Path(target)
    if scenario.name in scenarios.builtin_names():
        return scenarios.builtin_path(scenario.name)
    return None


def story_text(scenario: Scenario, trace: Trace) -> str:
    """The counterexample as plain text: one aligned line per step, then why it fails."""
    table = [("step", "thread", "runs as", "call", "association", "registration cache", "result")]
    table += [(str(r.step), r.thread, r.identity, r.call, r.guid, r.cache or "-", r.result or "-")
              for r in rows(scenario, trace)]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in table]
    return "\n".join(lines) + "\n\nWhy: " + cause(scenario, trace)


def replays(scenario: Scenario, trace: Trace, prop: str) -> bool:
    """Whether ``trace`` is a counterexample to property ``prop`` on ``scenario``'s reference simulator."""
    try:
        return compose.replay_failure(scenario, trace, prop) is None
    except RegcheckError:
        return False


def depends_on(scenario: Scenario, trace: Trace, prop: str) -> list[str]:
    """The switches of :data:`DEPENDENCE_ORDER` under whose every other value ``trace`` no longer
    replays as a counterexample to ``prop``: what the counterexample depends on."""
    return [key for key in DEPENDENCE_ORDER
            if _other_values(scenario, key) and not any(replays(c, trace, prop) for c in _variants(scenario, key))]


def _variants(scenario: Scenario, key: str) -> list[Scenario]:
    """``scenario`` with each other value of switch ``key`` that makes a valid scenario."""
    found = []
    for value in _other_values(scenario, key):
        try:
            found.append(scenarios.with_overrides(scenario, [f"{key}={value}"]))
        except InvalidArgument:
            continue
    return found


def _other_values(scenario: Scenario, key: str) -> list[str]:
    if key in scenarios.CHOICES:
        return [v for v in scenarios.CHOICES[key] if v != getattr(scenario, key)]
    if key == "connect_flags":
        return [hex(scenario.connect_flags ^ scenarios.CONNECT_NO_NOTIFICATIONS)]
    if key == "impersonate":
        return [] if scenario.worker_impersonates else [str(not scenario.impersonate).lower()]
    if key == "worker_impersonates":
        flags = scenario.worker_impersonates
        return [",".join(str(not f).lower() for f in flags)] if flags else []
    if key == "server_async":
        return [str(not scenario.server_async).lower()]
    return []


def _switch_words(scenario: Scenario, key: str) -> str:
    return f"{key} = {scenarios.as_text(key, scenario.switches()[key])}"


# JUnit ----------------------------------------------------------------------------------------------


def check_suites(checked: Sequence[Checked], *, against_expectations: bool) -> list[junit.Suite]:
    """One suite per scenario, one case per property (docs/ci.md says how each verdict maps)."""
    return [
        junit.Suite(
            name=c.scenario.name,
            cases=tuple(_check_case(c, r, against_expectations=against_expectations) for r in c.results),
            properties=(*((k, scenarios.as_text(k, v)) for k, v in c.scenario.switches().items()),
                        *((f"design.{n}", line) for n, line in enumerate(design_of(c.scenario).lines()))),
            file=str(c.source) if c.source is not None else "",
        )
        for c in checked
    ]


def _check_case(checked: Checked, result: CheckResult, *, against_expectations: bool) -> junit.Case:
    scenario = checked.scenario
    expected = scenario.expected.get(result.property)
    case = junit.Case(name=result.property, classname=f"regcheck.{scenario.name}", time_s=result.time_s,
                      output=f"{verdict_text(result)}; engine {result.engine}" + (
                          f"; expected {expected}" if expected else ""))
    if result.verdict is Verdict.UNKNOWN:
        return replace(case, outcome="error", kind="unknown", message=verdict_text(result))
    if result.verdict is Verdict.VIOLATED and result.trace is not None:
        concrete = compose.scenario_of(scenario, result.trace)
        told = story_text(concrete, result.trace)
        where = checked.trace_path(result.property)
        body = told + (f"\n\ntrace: {where}\nreplay: regcheck replay {shlex.quote(str(where))}" if where else "")
        if against_expectations and expected == "violated":
            return replace(case, output=f"{case.output}\n\n{body}")
        return replace(case, outcome="failure", kind="violated", body=body,
                       message=f"{result.property} is violated in {len(result.trace)} steps: {cause(concrete, result.trace)}")
    if result.verdict is Verdict.BOUNDED and expected == "holds":
        return replace(case, outcome="skipped", message=f"expected a proof; only {verdict_text(result)}")
    if against_expectations and scenarios.meets(result.verdict.value, expected) is False:
        return replace(case, outcome="failure", kind="unexpected",
                       message=f"expected {expected}, got {verdict_text(result)}")
    return case


def sweep_suites(result: Sweep, target: str) -> list[junit.Suite]:
    """One suite per configuration of a sweep of ``target``, one case per property."""
    suites = []
    base = result.base
    for outcome in result.outcomes:
        assignments = outcome.configuration.assignments()
        name = f"{base.name} " + " ".join(assignments) if assignments else base.name
        cases = []
        for found in outcome.results:
            prop, verdict = found["property"], found["verdict"]
            words = _sweep_words(found)
            case = junit.Case(name=prop, classname=f"regcheck.sweep.{base.name}", time_s=found["time_s"], output=words)
            rerun = " ".join(["regcheck check", shlex.quote(target), *(f"--set {shlex.quote(a)}" for a in assignments),
                              "--property", prop])
            if verdict == Verdict.VIOLATED.value:
                story = found.get("cause") or ""
                case = replace(case, outcome="failure", kind="violated", body=f"reproduce: {rerun}",
                               message=f"{prop} is violated in {found['steps']} steps" + (f": {story}" if story else ""))
            elif verdict == Verdict.UNKNOWN.value:
                case = replace(case, outcome="error", kind="unknown", message=words, body=f"reproduce: {rerun}")
            cases.append(case)
        suites.append(junit.Suite(name=name, cases=tuple(cases), properties=tuple(
            (k, v) for k, v in outcome.configuration.values)))
    return suites


def _sweep_words(found: Mapping[str, Any]) -> str:
    """A sweep's verdict as its matrix cell says it (``violated 5``, ``bounded 12``), with an unknown's reason."""
    return verdict_word(found) + (f": {found['note']}" if found.get("note") else "")


def diagnosis_suite(log: str, d: Diagnosis, traces: Sequence[tuple[Trace, Path]] = ()) -> junit.Suite:
    """A diagnosis as one suite: whether the log is explained, what each
    explaining group of settings violates, and whether each fix rules the observed failure out. ``traces``: the
    explaining executions as written (``--trace-out``), each with its file."""
    classname = "regcheck.diagnose"
    seconds = d.seconds
    if d.explained:
        head = junit.Case("log is explained", classname, time_s=seconds,
                          output=f"explained by {d.explaining} of {d.searched} settings")
    elif d.unknown:
        head = junit.Case("log is explained", classname, "error", kind="unknown", time_s=seconds,
                          message=f"not decided for {len(d.unknown)} settings: {d.unknown[0].reason}")
    else:
        event = d.events[d.longest].describe() if d.longest < len(d.events) else ""
        head = junit.Case("log is explained", classname, "failure", kind="unexplained", time_s=seconds,
                          message=f"no setting explains the log: event {d.longest + 1} is the first none can reach",
                          body=event)
    cases = [head]
    for number, group in enumerate(d.explained, start=1):
        representative = group.outcomes[0]
        trace = representative.trace
        for prop, step in group.violated:
            story = story_text(representative.setting.scenario, trace) if trace is not None else ""
            files = [path for written, path in traces if trace is not None and written.steps == trace.steps]
            where = f"\n\ntrace: {files[0]}" if files else ""
            cases.append(junit.Case(
                f"group {number}: {prop}", classname, "failure", kind="violated",
                message=f"under {group.words()}, the explaining execution violates {prop} at step {step}",
                body=story + where))
        for fix in group.fixes:
            verdicts = ", ".join(f"{p} {v}" for p, v in fix.verdicts)
            case = junit.Case(f"group {number}: {fix.fix}", classname, output=verdicts)
            if not fix.rules_out:
                case = replace(case, outcome="failure", kind="fix-insufficient",
                               message=f"{fix.fix} does not rule the observed failure out ({verdicts})")
            cases.append(case)
    return junit.Suite(name=f"diagnose {log}", cases=tuple(cases), file=log)


# SARIF ----------------------------------------------------------------------------------------------


def sarif_document(checked: Sequence[Checked], *, root: Path, against_expectations: bool,
                   command: Sequence[str] = ()) -> dict[str, Any]:
    """One SARIF run: a rule per property checked, a result per violated property, each with its code flow."""
    names = [n for n in catalogue.NAMES if any(r.property == n for c in checked for r in c.results)]
    rules = [_rule(name) for name in names]
    results = []
    for c in checked:
        violated = [r for r in c.results if r.verdict is Verdict.VIOLATED and r.trace is not None]
        text = scenarios.read_source(c.source) if violated and c.source is not None else ""
        results += [_sarif_result(c, r, text, against_expectations=against_expectations) for r in violated]
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if command:
        invocation["commandLine"] = " ".join(shlex.quote(part) for part in command)
    return sarif.document(tool="regcheck", version=regcheck.__version__, rules=rules, results=results, root=root,
                          invocation=invocation)


def _rule(name: str) -> sarif.Rule:
    spec = catalogue.spec(name)
    return sarif.Rule(id=name, short=spec.description.split(" (")[0].rstrip(".") + ".",
                      full=f"{spec.description} Source: {spec.source}")


def _sarif_result(checked: Checked, result: CheckResult, text: str, *, against_expectations: bool) -> sarif.Result:
    """The result of one violation; ``text``: the scenario's TOML, where its switches' lines are read."""
    trace = result.trace
    assert trace is not None
    scenario = checked.scenario
    concrete = compose.scenario_of(scenario, trace)
    path = checked.source if checked.source is not None else Path(f"{scenario.name}.toml")
    keys = depends_on(concrete, trace, result.property)
    placed = [(k, scenarios.key_line(text, k)) for k in keys]
    written = [(k, line) for k, line in placed if line > 0]
    key, line = written[0] if written else (keys[0] if keys else "", 0)
    where = sarif.Place(path, line)
    depends = ""
    if key:
        depends = f" The counterexample depends on {_switch_words(concrete, key)}" + (
            f" (line {line})" if line else " (the default)") + ": under any other value it does not replay."
    message = (f"{result.property} is violated in {len(trace)} steps in scenario {scenario.name}: "
               f"{cause(concrete, trace)}{depends}")
    steps = tuple(
        sarif.Step(where, f"step {r.step}: {r.thread} as {r.identity}: {r.call} -> {r.result or 'ok'}",
                   {"thread": r.thread, "identity": r.identity, "call": r.call, "association": r.guid,
                    "cache": r.cache or "-", "result": r.result or "-"})
        for r in rows(concrete, trace)
    )
    related = [(sarif.Place(path, n), f"the counterexample also depends on {_switch_words(concrete, k)}")
               for k, n in written[1:]]
    trace_path = checked.trace_path(result.property)
    if trace_path is not None:
        related.append((sarif.Place(trace_path), "the counterexample as an ITF trace (regcheck replay, regcheck show)"))
    expected = scenario.expected.get(result.property) == "violated"
    return sarif.Result(
        rule=result.property, message=message, place=where, steps=steps, related=tuple(related),
        level="note" if against_expectations and expected else "error",
        properties={"scenario": scenario.name, "design": design_of(scenario).as_json(), "steps": len(trace),
                    "engine": result.engine,
                    "expected": scenario.expected.get(result.property, ""), "dependsOn": keys},
    )


__all__ = [
    "DEPENDENCE_ORDER", "Checked", "check_suites", "depends_on", "diagnosis_suite", "replays",
    "sarif_document", "source_of", "story_text", "sweep_suites",
]
