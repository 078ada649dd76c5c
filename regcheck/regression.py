"""Counterexamples kept as regression tests: ``regcheck check --emit-tests DIR`` and the check those tests run.

For each counterexample, :func:`emit` writes its ITF trace and a pytest file that needs only
regcheck. The test calls :func:`assert_counterexample`: it rebuilds the scenario from the switches
the trace records, replays the trace on the reference simulator, and asserts that the property is
violated at the same step as when the test was written (a safety property first fails in the last
state; a liveness counterexample is still a fair lasso that never meets an obligation). When the
model changes so that the trace no longer replays, the test fails with the step, the reason, and
what to do.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence
from pathlib import Path

import regcheck
from regcheck import compose
from regcheck.core.expr import evaluate
from regcheck.core.result import CheckResult, Kind, Trace, Verdict
from regcheck.display import shown
from regcheck.errors import RegcheckError
from regcheck.files import write_atomic
from regcheck.formats import itf
from regcheck.model import scenario as scenarios
from regcheck.model.scenario import Scenario
from regcheck.outputs import shortened
from regcheck.properties import catalogue


class CounterexampleLost(AssertionError):
    """The recorded counterexample is no longer one: the model changed, or the trace did."""


def first_violation(scenario: Scenario, trace: Trace, name: str) -> int | None:
    """The first state (0-based) of ``trace`` in which safety property ``name`` is false, or None."""
    formula = catalogue.instantiate(name, scenario).formula
    return next((i for i, state in enumerate(trace.states) if not evaluate(formula, state)), None)


def recorded(scenario: Scenario, result: CheckResult, target: str) -> Trace:
    """The counterexample of ``result`` with what its test needs: the scenario's switches, the property, and
    where it is violated."""
    trace = result.trace
    assert trace is not None and result.verdict is Verdict.VIOLATED
    concrete = compose.scenario_of(scenario, trace)
    at = first_violation(concrete, trace, result.property) if result.kind is Kind.SAFETY else trace.loop
    return compose.replayable(scenario, trace).with_meta(property=result.property, target=target, violated_at=at,
                                                         regcheck=regcheck.__version__)


def _named(runs: Sequence[tuple[str, Scenario, Sequence[CheckResult]]]
           ) -> list[tuple[str, str, Scenario, CheckResult]]:
    """Each counterexample of ``runs`` with the name its files take (unique, a Python identifier) and its target."""
    taken: set[str] = set()
    return [(_unique(_identifier(f"{shortened(scenario.name)}_{r.property}"), taken), target, scenario, r)
            for target, scenario, results in runs for r in results
            if r.verdict is Verdict.VIOLATED and r.trace is not None]


def planned(folder: Path, runs: Sequence[tuple[str, Scenario, Sequence[CheckResult]]]) -> list[Path]:
    """Every file :func:`emit` would write into ``folder`` for ``runs``: its traces and its tests."""
    return [folder / f"{prefix}{name}{suffix}" for name, *_ in _named(runs)
            for prefix, suffix in (("", ".itf.json"), ("test_", ".py"))]


def emit(folder: Path, runs: Sequence[tuple[str, Scenario, Sequence[CheckResult]]]) -> list[Path]:
    """Write, for each counterexample of ``runs`` (target, scenario, results), its ITF trace and its test file
    into ``folder``; return the test files."""
    written: list[Path] = []
    for name, target, scenario, result in _named(runs):
        trace_file, test_file = folder / f"{name}.itf.json", folder / f"test_{name}.py"
        trace = recorded(scenario, result, target)
        itf.write(trace, trace_file)
        write_atomic(test_file, _test_source(name, trace_file.name, scenario, result, trace, target))
        written.append(test_file)
    return written


def _identifier(text: str) -> str:
    """``text`` as a Python identifier: letters, digits and underscores, not starting with a digit."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_").lower() or "counterexample"
    return f"_{name}" if name[0].isdigit() or keyword.iskeyword(name) else name


def _unique(name: str, taken: set[str]) -> str:
    found, number = name, 2
    while found in taken:
        found, number = f"{name}_{number}", number + 1
    taken.add(found)
    return found


def _test_source(name: str, trace_name: str, scenario: Scenario, result: CheckResult, trace: Trace,
                 target: str) -> str:
    what = (f"violated at step {trace.meta['violated_at']}" if result.kind is Kind.SAFETY
            else f"violated by a lasso whose loop starts at step {trace.loop}")
    return f'''"""Regression test written by `regcheck check --emit-tests` (regcheck {regcheck.__version__}).

Scenario {_doc(scenario.name)} ({_doc(target)}), property {result.property}: a counterexample of
{len(trace)} steps, {what}. The test replays it on regcheck's reference simulator and
fails if it no longer does. It needs only regcheck.
"""

from pathlib import Path

from regcheck.regression import assert_counterexample

TRACE = Path(__file__).with_name({trace_name!r})


def test_{name}() -> None:
    assert_counterexample(TRACE)
'''


def _doc(text: str) -> str:
    """User text made safe inside a generated docstring (no quotes or backslashes that would end it)."""
    return shown(text).replace("\\", "\\\\").replace('"""', "'''")


def assert_counterexample(path: Path) -> None:
    """Replay the counterexample in ``path``; raise :class:`CounterexampleLost`, saying what to do, if it is
    no longer a counterexample to its property at the step it records."""
    __tracebackhide__ = True
    try:
        trace = itf.read(path)
        scenario, name = _scenario_and_property(trace)
        prop = catalogue.instantiate(name, scenario)
    except RegcheckError as exc:
        raise CounterexampleLost(f"{path}: cannot be read as a recorded counterexample: {exc}") from None
    at = trace.meta.get("violated_at")
    failure = compose.replay_failure(scenario, trace, name)
    problem = "" if failure is None else f"it no longer replays on the reference simulator: {failure}"
    if not problem and prop.kind is Kind.SAFETY:
        now = first_violation(scenario, trace, name)
        if now != at:
            problem = f"{name} is now first violated at step {now}, not at step {at}"
    if problem:
        raise CounterexampleLost(_lost_message(path, trace, scenario, name, problem))


def _scenario_and_property(trace: Trace) -> tuple[Scenario, str]:
    switches, name = trace.meta.get("switches"), trace.meta.get("property")
    if not isinstance(switches, dict) or not isinstance(name, str):
        raise RegcheckError("its '#meta' records no scenario switches or no property")
    if not isinstance(trace.meta.get("violated_at"), int):
        raise RegcheckError("its '#meta' records no step of violation (violated_at)")
    base = scenarios.from_mapping(switches, origin="#meta.switches")
    return base, name


def _lost_message(path: Path, trace: Trace, scenario: Scenario, name: str, problem: str) -> str:
    target = str(trace.meta.get("target", scenario.name))
    written_by = trace.meta.get("regcheck", "?")
    return (
        f"the counterexample to {name} in scenario {shown(scenario.name)} ({path.name}) is no longer one: {problem}.\n"
        f"The model's semantics changed since regcheck {shown(written_by)} wrote this test "
        f"(regcheck {regcheck.__version__} runs it now).\n"
        f"- If the change is intended, check the design again and write the tests anew: "
        f"regcheck check {shown(target)} --emit-tests {shown(str(path.parent))}\n"
        f"- If this counterexample is gone for good, delete {path.name} and its test.\n"
        f"- Else the change broke the model: `regcheck replay {path}` shows the step."
    )


__all__ = ["CounterexampleLost", "assert_counterexample", "emit", "first_violation", "planned", "recorded"]
