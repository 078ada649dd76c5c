"""regcheck's pytest plugin: every scenario TOML with an ``[expected]`` table is a test file, one item per property.

``pytest designs/`` collects ``designs/my-service.toml::worker-never-gets-network-error`` and the
like; each item checks its one property (``regcheck.compose``, every counterexample replayed) and
passes when the verdict meets the expectation, as ``regcheck check --all`` judges it. A failure
prints the verdict, the counterexample as a story, and where its ITF trace and sequence chart were
written. Options: ``--regcheck-engine``, ``--regcheck-depth``, ``--regcheck-timeout`` and
``--regcheck-out``. Installed with regcheck (the ``pytest11`` entry point ``regcheck``); ``-p
no:regcheck`` turns it off. Nothing heavy is imported until a scenario file is collected, so the
plugin costs other test runs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from model.scenario import Scenario
    from regcheck.result import CheckResult

_EXPECTED_TABLE = re.compile(rb"^\s*\[\s*expected\s*\]", re.MULTILINE)
_SNIFF_BYTES = 64 * 1024 + 1
"""How much of a ``.toml`` file is read to see whether it is a scenario with expectations."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("regcheck", "regcheck: scenario TOML files with [expected] as tests")
    group.addoption("--regcheck-engine", default=None, metavar="ENGINE",
                    help="Engine for the scenario items (default: auto).")
    group.addoption("--regcheck-depth", default=None, type=int, metavar="N",
                    help="Bound on the steps of the scenario items (default: regcheck check's).")
    group.addoption("--regcheck-timeout", default=None, type=float, metavar="SECONDS",
                    help="Seconds per scenario item before its verdict is unknown (default: regcheck check's).")
    group.addoption("--regcheck-out", default=None, metavar="DIR",
                    help="Where a failing item's trace and chart go (default: regcheck-out in the rootdir).")


def pytest_configure(config: pytest.Config) -> None:
    """Refuse a bad engine, depth or timeout before any item runs (the checks of ``regcheck check``)."""
    given = [config.getoption(f"regcheck_{key}") for key in ("engine", "depth", "timeout")]
    if all(value is None for value in given):
        return
    from regcheck.errors import RegcheckError

    try:
        _settings(config)
    except RegcheckError as exc:
        raise pytest.UsageError(f"regcheck: {exc}") from None


_SETTINGS = pytest.StashKey[tuple[str, int, float]]()


def _settings(config: pytest.Config) -> tuple[str, int, float]:
    """The engine, depth and timeout the options give (``regcheck check``'s defaults), validated once."""
    if _SETTINGS not in config.stash:
        from regcheck.cli.inputs import DEFAULT_DEPTH, DEFAULT_TIMEOUT, validate_settings

        engine, depth, timeout = (config.getoption(f"regcheck_{key}") for key in ("engine", "depth", "timeout"))
        engine, depth = engine or "auto", DEFAULT_DEPTH if depth is None else depth
        timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        validate_settings(engine, "z3", depth, timeout)
        config.stash[_SETTINGS] = (engine, depth, timeout)
    return config.stash[_SETTINGS]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ScenarioFile | None:
    """A ``.toml`` file whose text has an ``[expected]`` table; any other file is left to other plugins."""
    if file_path.suffix != ".toml" or not file_path.is_file():
        return None
    try:
        with file_path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return None
    if not _EXPECTED_TABLE.search(head):
        return None
    found: ScenarioFile = ScenarioFile.from_parent(parent, path=file_path)
    return found


class ScenarioFile(pytest.File):
    """A scenario TOML file: its items are the properties its ``[expected]`` table names, in that order."""

    def collect(self) -> Iterator[PropertyItem]:
        from model import scenario as scenarios
        from regcheck.cli.inputs import load_scenario
        from regcheck.errors import RegcheckError

        try:
            scenario = load_scenario(str(self.path), [])
        except RegcheckError as exc:
            raise self.CollectError(f"{self.path}: {exc}") from None
        text = scenarios.read_source(self.path)
        for name, expected in scenario.expected.items():
            line = scenarios.key_line(text, name, "expected")
            yield PropertyItem.from_parent(self, name=name, scenario=scenario, expected=expected, line=line)


class ExpectationMissed(Exception):
    """The verdict does not meet the expectation; the message is what the failure prints."""


class PropertyItem(pytest.Item):
    """One property of one scenario file, checked and judged against its expectation."""

    def __init__(self, *, scenario: Scenario, expected: str, line: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.expected = expected
        self.line = line

    def runtest(self) -> None:
        from model import scenario as scenarios
        from regcheck import compose
        from regcheck.result import verdict_text

        engine, depth, timeout = _settings(self.config)
        result = compose.run_checks(self.scenario, [self.name], engine=engine, depth=depth, timeout=timeout)[0]
        self.user_properties += [("verdict", verdict_text(result)), ("engine", result.engine),
                                 ("expected", self.expected)]
        if scenarios.meets(result.verdict.value, self.expected) is not True:
            raise ExpectationMissed(self._failure(result))

    def _failure(self, result: CheckResult) -> str:
        from regcheck import compose, findings
        from regcheck.cli.check import write_chart
        from regcheck.outputs import file_stem
        from regcheck.result import verdict_text
        from regcheck.trace import itf

        lines = [f"{self.name}: expected {self.expected}, got {verdict_text(result)}"]
        if result.trace is not None:
            concrete = compose.scenario_of(self.scenario, result.trace)
            lines += ["", "Counterexample (replayed on the reference simulator):",
                      findings.story_text(concrete, result.trace)]
            folder = self._out_folder()
            stem = folder / f"{file_stem(self.scenario.name)}.{self.name}"
            trace = compose.replayable(self.scenario, result.trace)
            itf.write(trace, stem.with_name(stem.name + ".itf.json"))
            write_chart(stem, concrete, trace)
            lines += ["", f"trace: {stem}.itf.json", f"chart: {stem}.svg"]
        return "\n".join(lines)

    def _out_folder(self) -> Path:
        given = self.config.getoption("regcheck_out")
        return (self.config.invocation_params.dir / given).resolve() if given else self.config.rootpath / "regcheck-out"

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """The story of a missed expectation; any other error as pytest tells it."""
        if isinstance(excinfo.value, ExpectationMissed):
            return str(excinfo.value)
        from regcheck.errors import RegcheckError

        if isinstance(excinfo.value, RegcheckError):
            return f"regcheck: {excinfo.value}"
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, (self.line - 1 if self.line else None), f"{self.scenario.name}: {self.name}"


__all__ = ["PropertyItem", "ScenarioFile"]
