"""What the commands read besides their own options: scenarios, paths, and the engine settings.

One place validates each of them, so that ``check``, ``show``, ``replay``, ``report`` and ``sweep``
refuse the same bad value with the same one-line message.
"""

from __future__ import annotations

from typing import Any

import click

from regcheck import compose
from regcheck.display import did_you_mean, shown
from regcheck.errors import InvalidArgument
from regcheck.limits import MAX_CAUSES, MAX_DEPTH, check_settings
from regcheck.model import scenario as scenarios
from regcheck.model.scenario import Scenario
from regcheck.properties import catalogue

DEFAULT_DEPTH = 12
DEFAULT_TIMEOUT = 120.0


class PathType(click.Path):
    """A path option or argument that refuses the empty string (which ``pathlib`` reads as ``.``)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The path, or a usage error for the empty string."""
        if isinstance(value, str) and not value:
            self.fail("expected a path, got an empty string", param, ctx)
        return super().convert(value, param, ctx)


class Choice(click.Choice):  # type: ignore[type-arg]
    """An option that takes one of a few words; a wrong one is echoed escaped, with the closest word."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The word, or a usage error that lists the words and offers the closest."""
        if value in self.choices:
            return value
        words = [str(c) for c in self.choices]
        self.fail(f"{shown(value)} is not one of {', '.join(words)}{did_you_mean(str(value), words)}", param, ctx)


def load_scenario(target: str, overrides: list[str]) -> Scenario:
    """The scenario ``target`` names (built-in or file), with ``--set`` overrides and checked expectations."""
    return scenarios.with_overrides(expectations_known(scenarios.load(target), target), overrides)


def expectations_known(scenario: Scenario, origin: str) -> Scenario:
    """``scenario``, once every property its ``[expected]`` table names is known (regcheck/model/ cannot know them)."""
    for name in scenario.expected:
        if name not in catalogue.NAMES:
            raise InvalidArgument(
                f"{origin}: [expected] names unknown property {shown(name)}; "
                f"properties: {', '.join(catalogue.NAMES)}"
            )
    return scenario


def validate_settings(engine: str, recheck: str, depth: int, timeout: float) -> None:
    """The checks ``check`` makes of its engine options (``regcheck.limits``, shared with the notebook)."""
    check_settings(engine, recheck, depth, timeout, engines=compose.ENGINES, solvers=compose.RECHECK_SOLVERS)


__all__ = [
    "Choice",
    "DEFAULT_DEPTH",
    "DEFAULT_TIMEOUT",
    "MAX_CAUSES",
    "MAX_DEPTH",
    "PathType",
    "expectations_known",
    "load_scenario",
    "validate_settings",
]
