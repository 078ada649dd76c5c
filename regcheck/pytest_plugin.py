"""regcheck's pytest plugin: every regcheck scenario TOML is a test file, one item per property of its ``[expected]``.

A ``.toml`` file is a regcheck scenario when it carries a top-level ``[regcheck]`` table (empty: a
marker), when its path, relative to the rootdir, matches a glob of the ``regcheck_scenarios`` ini
option, or when it is named on pytest's command line; no other TOML file is collected, whatever
tables it has. ``pytest designs/`` collects
``designs/my-service.toml::worker-never-gets-network-error`` and the like; each item checks its one
property (``regcheck.compose``, every counterexample replayed) and passes when the verdict meets the
expectation, as ``regcheck check --all`` judges it. A failure prints the verdict, the counterexample as
a story, and where its ITF trace and sequence chart were written. A scenario file that is not valid is
one failed item of that file, and the rest of the run goes on. Options: ``--regcheck-engine``,
``--regcheck-depth``, ``--regcheck-timeout`` and ``--regcheck-out``. Installed with regcheck (the
``pytest11`` entry point ``regcheck``); ``-p no:regcheck`` turns it off. Nothing heavy is imported
until a scenario file is collected, so the plugin costs other test runs nothing.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from regcheck.core.result import CheckResult
    from regcheck.model.scenario import Scenario

_MARKER = re.compile(rb"^[ \t]*\[[ \t]*regcheck[ \t]*\][ \t]*(?:#[^\n]*)?\r?$", re.MULTILINE)
"""The ``[regcheck]`` table header that marks a TOML file as a regcheck scenario."""
_SNIFF_BYTES = 64 * 1024 + 1
"""How much of a ``.toml`` file is read to see whether it is marked (a scenario file is at most 64 KiB)."""
_GLOBS = "regcheck_scenarios"
"""The ini option: globs of scenario files, relative to the rootdir, collected without the marker."""


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
    parser.addini(_GLOBS, type="linelist", default=[],
                  help="Globs (relative to the rootdir) of regcheck scenario files to collect without a [regcheck] "
                       "table, e.g. designs/*.toml.")


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
    """A ``.toml`` file that is a regcheck scenario (see the module's docstring); any other is left alone."""
    if file_path.suffix != ".toml" or not file_path.is_file():
        return None
    named = parent.session.isinitpath(file_path) or _named_by_glob(file_path, parent.config)
    if not named and not _marked(file_path):
        return None
    found: ScenarioFile = ScenarioFile.from_parent(parent, path=file_path)
    return found


def _named_by_glob(path: Path, config: pytest.Config) -> bool:
    """Whether ``path``, relative to the rootdir, matches a glob of the ``regcheck_scenarios`` ini option
    (``designs/*.toml``: the ``.toml`` files directly in ``designs/``)."""
    globs: list[str] = config.getini(_GLOBS)
    if not globs:
        return False
    try:
        relative = path.resolve().relative_to(config.rootpath.resolve())
    except ValueError:
        return False
    # PurePath.match reads a relative glob from the right: as many parts as the glob has anchor it at the rootdir.
    return any(len(relative.parts) == len(Path(glob).parts) and relative.match(glob) for glob in globs)


def _marked(path: Path) -> bool:
    """Whether the file at ``path`` has a top-level ``[regcheck]`` table; one that looks marked but is not TOML
    counts as marked, so that its error is reported (a ``[regcheck]`` line inside a string does not count)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return False
    if _MARKER.search(head) is None:
        return False
    try:
        return "regcheck" in tomllib.loads(head.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError, ValueError):
        return True


class ScenarioFile(pytest.File):
    """A scenario TOML file: its items are the properties its ``[expected]`` table names, in that order; a file
    that is not a valid scenario has one item, which fails with the reason."""

    def collect(self) -> Iterator[pytest.Item]:
        from regcheck.cli.inputs import load_scenario
        from regcheck.errors import RegcheckError
        from regcheck.model import scenario as scenarios

        try:
            scenario = load_scenario(str(self.path), [])
        except RegcheckError as exc:
            yield InvalidScenario.from_parent(self, name="scenario", reason=str(exc))
            return
        text = scenarios.read_source(self.path)
        for name, expected in scenario.expected.items():
            line = scenarios.key_line(text, name, "expected")
            yield PropertyItem.from_parent(self, name=name, scenario=scenario, expected=expected, line=line)


class InvalidScenario(pytest.Item):
    """The one item of a scenario file that regcheck cannot read: it fails with the reason, and only it."""

    def __init__(self, *, reason: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reason = reason

    def runtest(self) -> None:
        from regcheck.errors import InvalidArgument

        raise InvalidArgument(self.reason)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """The reason, in one line: no traceback of regcheck's own."""
        return f"regcheck: {self.path}: not a valid scenario: {excinfo.value}"

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.path.name}: not a valid scenario"


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
        from regcheck import compose
        from regcheck.core.result import verdict_text
        from regcheck.model import scenario as scenarios

        engine, depth, timeout = _settings(self.config)
        result = compose.run_checks(self.scenario, [self.name], engine=engine, depth=depth, timeout=timeout)[0]
        self.user_properties += [("verdict", verdict_text(result)), ("engine", result.engine),
                                 ("expected", self.expected)]
        if scenarios.meets(result.verdict.value, self.expected) is not True:
            raise ExpectationMissed(self._failure(result))

    def _failure(self, result: CheckResult) -> str:
        from regcheck import compose, findings
        from regcheck.cli.check import write_chart
        from regcheck.core.result import verdict_text
        from regcheck.formats import itf
        from regcheck.outputs import file_stem

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


__all__ = ["InvalidScenario", "PropertyItem", "ScenarioFile"]
