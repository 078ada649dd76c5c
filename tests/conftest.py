"""Test selection: slow tests run in CI (``CI`` set) or when ``-m`` asks for them; a local run
without ``-m`` leaves them out and says how many, so the everyday loop stays fast. Under
pytest-xdist (``-n``) the workers select, and tell the controller how many they left out.

Piped output honours ``COLUMNS``, which a terminal, or pytest-xdist for its workers (80), may set: the
tests print at the piped width of 140 whatever ran them (tests/test_widths.py sets widths itself)."""

from __future__ import annotations

import os

import pytest

os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CI") or config.getoption("markexpr"):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]
        config.stash[_LEFT_OUT] = len(slow)


_LEFT_OUT = pytest.StashKey[int]()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On an xdist worker: hand the controller the number of slow tests left out."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["slow_left_out"] = session.config.stash.get(_LEFT_OUT, 0)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """On the xdist controller: every worker collects every test, so each reports the same number."""
    config: pytest.Config = node.config  # type: ignore[attr-defined]
    left_out = getattr(node, "workeroutput", {}).get("slow_left_out", 0)
    config.stash[_LEFT_OUT] = max(config.stash.get(_LEFT_OUT, 0), left_out)


def pytest_report_header(config: pytest.Config) -> str:
    return "slow tests run only with CI set or -m (e.g. -m 'slow or not slow')"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    left_out = config.stash.get(_LEFT_OUT, 0)
    if left_out:
        terminalreporter.write_line(f"{left_out} slow tests left out (set CI=1 or pass -m to run them)")
