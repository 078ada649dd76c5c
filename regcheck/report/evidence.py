"""What a design-review report states: the runs, the settings, the versions and the fingerprints.

:func:`collect` checks each scenario once (through ``regcheck.compose``, so every counterexample
is replayed on the reference simulator) and keeps everything a reviewer needs to trust or redo a
row: the command that reproduces it, the tool, z3 and Python versions, a fingerprint of the
model's source and one of each scenario's resolved switches. Renderers (``html``, ``markdown``)
only read an :class:`Evidence`; nothing here formats a page.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import regcheck
import regcheck.model
import regcheck.properties
from regcheck import children, compose
from regcheck.core.result import CheckResult, Progress, Verdict
from regcheck.deadline import time_left
from regcheck.diagnosis import Diagnosis
from regcheck.limits import cores
from regcheck.model.scenario import Scenario
from regcheck.properties import catalogue

MODEL_SOURCES = ("*.py", "*.md", "*.toml")
"""The files whose bytes make up the model fingerprint: the protocol model, its scenarios and properties."""


@dataclass(frozen=True)
class Settings:
    """How every scenario of a report was checked."""

    engine: str
    depth: int
    timeout: float
    recheck: str = "z3"

    def options(self) -> list[str]:
        """The command-line options that select these settings."""
        options = ["--engine", self.engine, "--depth", str(self.depth), "--timeout", f"{self.timeout:g}"]
        return options + (["--recheck", self.recheck] if self.recheck != "z3" else [])


@dataclass(frozen=True)
class Run:
    """One scenario as the user named it (built-in name or file, plus ``--set`` overrides) and its results."""

    target: str
    overrides: tuple[str, ...]
    scenario: Scenario
    results: tuple[CheckResult, ...]
    fingerprint: str
    """sha256 of the scenario's resolved switches (canonical JSON)."""

    def command(self, settings: Settings, prop: str | None = None) -> str:
        """The ``regcheck check`` command that reproduces this run (one property's row, if ``prop``)."""
        argv = ["regcheck", "check", self.target]
        argv += ["--property", prop] if prop is not None else []
        argv += settings.options()
        for assignment in self.overrides:
            argv += ["--set", assignment]
        return shlex.join(argv)


@dataclass(frozen=True)
class Evidence:
    """Everything a report shows, in the order it was asked for."""

    runs: tuple[Run, ...]
    properties: tuple[str, ...]
    requested: tuple[str, ...]
    """The properties named with ``--property`` (empty: all of them)."""
    settings: Settings
    versions: dict[str, str]
    model_fingerprint: str
    command: str
    elapsed_s: float
    diagnoses: tuple[tuple[str, Diagnosis], ...] = ()
    """Logs diagnosed for the report (``report --diagnose``): the log's name and what diagnose found."""
    case_tables: tuple[CaseTable, ...] = ()
    """The summary tables of the Exchange logs among them, one per log, above their cases' diagnoses."""


@dataclass(frozen=True)
class CaseTable:
    """The cases of one Exchange log as ``regcheck diagnose`` lists them (``regcheck.cases``): the line above
    the table, its columns and one row per case."""

    title: str
    heading: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def versions() -> dict[str, str]:
    """The tool, z3 and Python versions that produced a result."""
    from regcheck.core.smt import z3_version

    return {"regcheck": regcheck.__version__, "z3": z3_version(), "python": platform.python_version()}


def model_fingerprint() -> str:
    """sha256 over the source of the protocol model and its properties (paths and bytes, in a fixed order)."""
    digest = hashlib.sha256()
    for package in (regcheck.model, regcheck.properties):
        root = Path(next(iter(package.__path__))).resolve()
        files = sorted({p for pattern in MODEL_SOURCES for p in root.rglob(pattern) if "__pycache__" not in p.parts})
        for path in files:
            digest.update(f"{package.__name__}/{path.relative_to(root).as_posix()}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def scenario_fingerprint(scenario: Scenario) -> str:
    """sha256 of the scenario's resolved switches: two scenarios with the same fingerprint are checked alike."""
    return hashlib.sha256(json.dumps(scenario.switches(), sort_keys=True).encode()).hexdigest()


def report_command(targets: Sequence[str], out: str, requested: Sequence[str], settings: Settings,
                   overrides: Sequence[str]) -> str:
    """The ``regcheck report`` command that regenerates the whole report."""
    argv = ["regcheck", "report", *targets, "--out", out]
    for name in requested:
        argv += ["--property", name]
    argv += settings.options()
    for assignment in overrides:
        argv += ["--set", assignment]
    return shlex.join(argv)


def with_diagnoses(evidence: Evidence, diagnoses: Sequence[tuple[str, Diagnosis]], logs: Sequence[str],
                   scenario: str, tables: Sequence[CaseTable] = ()) -> Evidence:
    """The evidence with the diagnoses of ``logs`` (as the user named them) against ``scenario``, the case
    tables of those that are Exchange logs, and a regenerate command that asks for them again."""
    argv = [a for log in logs for a in ("--diagnose", log)] + ["--diagnose-scenario", scenario]
    return replace(evidence, diagnoses=tuple(diagnoses), case_tables=tuple(tables),
                   command=f"{evidence.command} {shlex.join(argv)}")


def check_scenario(scenario: Scenario, requested: Sequence[str], settings: Settings,
                   until: float | None = None) -> tuple[CheckResult, ...]:
    """One scenario's checks, as a report runs them: in a worker process of its own (see ``collect``), by the
    report's deadline ``until`` (wall clock)."""
    results = compose.run_checks(
        scenario,
        list(requested),
        engine=settings.engine,
        depth=settings.depth,
        timeout=time_left(until, settings.timeout),
        recheck=settings.recheck,
    )
    return tuple(results)


def first_counterexample(scenario: Scenario, prop: str, depth: int, timeout: float,
                         until: float | None = None) -> CheckResult:
    """The counterexample of ``depth`` steps that BMC finds first for ``prop``, replayed (see ``collect``)."""
    return compose.run_checks(scenario, [prop], engine="bmc", depth=depth, timeout=time_left(until, timeout))[0]


def _canonical(result: CheckResult, found: CheckResult) -> CheckResult:
    """``result`` showing ``found``'s counterexample, when that is a replayed one of the same length."""
    if result.trace is None or found.verdict is not Verdict.VIOLATED or found.trace is None:
        return result
    if len(found.trace) != len(result.trace):
        return result
    return replace(result, trace=found.trace.with_meta(**result.trace.meta))


def collect(
    targets: Sequence[tuple[str, Scenario]],
    requested: Sequence[str],
    settings: Settings,
    *,
    overrides: Sequence[str] = (),
    out: str = "report",
    jobs: int | None = None,
    progress: Progress | None = None,
    until: float | None = None,
) -> Evidence:
    """Check every ``(target, scenario)`` pair, ``jobs`` scenarios at a time (default: one per core).

    NOTE(determinism): which of several shortest counterexamples a check shows depends on
    timing (``auto`` keeps the first decisive answer of engines racing each other) and on z3's
    history (it numbers terms in one context per process). So that the same inputs give the
    same report, each scenario is checked in a fresh interpreter (``spawn``, one task per
    process), and each counterexample shown is then the one BMC finds first at the same length,
    each found in a fresh interpreter of its own: it depends on the scenario, the property and
    the length alone. The verdict and its length are the check's; only the interleaving shown
    is chosen this way, and it is replayed like every counterexample. ``until`` (wall clock) is the
    command's deadline: a scenario started late gets what is left, one started after it is ``unknown``.
    """
    start = time.monotonic()
    names = tuple(dict.fromkeys(requested)) or catalogue.NAMES
    workers = max(1, min(len(targets), jobs or cores()))
    with children.pool(workers, max_tasks_per_child=1) as pool:
        futures = [pool.submit(check_scenario, scenario, list(requested), settings, until) for _, scenario in targets]
        if progress is not None:
            progress(f"checking {len(targets)} scenario(s), {workers} at a time")
        for done, _ in enumerate(children.by(futures, until), start=1):
            if progress is not None:
                progress(f"{done} of {len(targets)} scenario(s) checked")
        why = "the report's time ran out before this scenario was checked"
        outcomes = [compose.timed_out(names, why) if future.cancelled() else list(future.result())
                    for future in futures]
        late = until is not None and time.time() >= until  # no time to find the counterexamples again
        retold = {} if late else {
            (i, j): pool.submit(
                first_counterexample, compose.scenario_of(scenario, r.trace), r.property, len(r.trace), settings.timeout,
                until,
            )
            for i, (_, scenario) in enumerate(targets)
            for j, r in enumerate(outcomes[i])
            if r.verdict is Verdict.VIOLATED and r.trace is not None
        }
        if progress is not None and retold:
            progress(f"finding the first of each of {len(retold)} counterexample(s)")
        for (i, j), future in retold.items():
            outcomes[i][j] = _canonical(outcomes[i][j], future.result())
    runs = tuple(
        Run(target, tuple(overrides), scenario, tuple(results), scenario_fingerprint(scenario))
        for (target, scenario), results in zip(targets, outcomes)
    )
    checked = tuple(dict.fromkeys(r.property for run in runs for r in run.results))
    return Evidence(
        runs=runs,
        properties=checked or names,
        requested=tuple(dict.fromkeys(requested)),
        settings=settings,
        versions=versions(),
        model_fingerprint=model_fingerprint(),
        command=report_command([t for t, _ in targets], out, list(dict.fromkeys(requested)), settings, overrides),
        elapsed_s=round(time.monotonic() - start, 2),
    )
