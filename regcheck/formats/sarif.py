"""SARIF 2.1.0, the format code-scanning views read: one run of one tool, its rules, and its results.

A result sits at a place in a file (a line of a scenario) and may carry a code flow: the steps of
a counterexample as one thread flow, each step with its message and its state (thread, identity,
call, result), so that a code-scanning view shows the interleaving step by step. Locations are
URIs relative to ``%SRCROOT%`` where the file lies under the folder given as the source root, else
absolute ``file:`` URIs. This module knows no protocol: callers name the rules, places and steps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
VERSION = "2.1.0"
LEVELS = ("error", "warning", "note", "none")
SOURCE_ROOT = "%SRCROOT%"


@dataclass(frozen=True)
class Rule:
    """What a result can be about: one property, with its one-line and full descriptions."""

    id: str
    short: str
    full: str = ""
    help_uri: str = ""


@dataclass(frozen=True)
class Place:
    """A line of a file (1-based; 0: the file as a whole)."""

    path: Path
    line: int = 0


@dataclass(frozen=True)
class Step:
    """One step of a code flow: where it is told, what it says, and the state it names."""

    place: Place
    message: str
    state: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Result:
    """One finding: its rule, its level, its message, where it is, its steps, and related places."""

    rule: str
    message: str
    place: Place
    level: str = "error"
    steps: tuple[Step, ...] = ()
    related: tuple[tuple[Place, str], ...] = ()
    properties: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"a SARIF level is one of {', '.join(LEVELS)}, not {self.level!r}")


def document(
    *,
    tool: str,
    version: str,
    rules: Sequence[Rule],
    results: Sequence[Result],
    root: Path,
    invocation: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The SARIF log of one run: ``rules`` (in order) and ``results``, places relative to ``root``."""
    index = {rule.id: n for n, rule in enumerate(rules)}
    unknown = [r.rule for r in results if r.rule not in index]
    if unknown:
        raise ValueError(f"result for rule {unknown[0]!r}, which is not among the run's rules")
    root = root.resolve()
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": tool,
            "version": version,
            "semanticVersion": version,
            "rules": [_rule(rule) for rule in rules],
        }},
        "originalUriBaseIds": {SOURCE_ROOT: {"uri": root.as_uri() + "/"}},
        "results": [_result(result, index[result.rule], root) for result in results],
        "columnKind": "unicodeCodePoints",
    }
    if invocation is not None:
        run["invocations"] = [dict(invocation)]
    return {"$schema": SCHEMA, "version": VERSION, "runs": [run]}


def _rule(rule: Rule) -> dict[str, Any]:
    found: dict[str, Any] = {"id": rule.id, "name": rule.id, "shortDescription": {"text": rule.short}}
    if rule.full:
        found["fullDescription"] = {"text": rule.full}
    if rule.help_uri:
        found["helpUri"] = rule.help_uri
    return found


def _result(result: Result, rule_index: int, root: Path) -> dict[str, Any]:
    found: dict[str, Any] = {
        "ruleId": result.rule,
        "ruleIndex": rule_index,
        "level": result.level,
        "message": {"text": result.message},
        "locations": [_location(result.place, root)],
    }
    if result.steps:
        found["codeFlows"] = [{"threadFlows": [{"locations": [
            {
                "location": {**_location(step.place, root), "message": {"text": step.message}},
                "state": {key: {"text": value} for key, value in step.state.items()},
                "executionOrder": number,
                "nestingLevel": 0,
            }
            for number, step in enumerate(result.steps, start=1)
        ]}]}]
    if result.related:
        found["relatedLocations"] = [
            {"id": number, **_location(place, root), "message": {"text": text}}
            for number, (place, text) in enumerate(result.related)
        ]
    if result.properties:
        found["properties"] = dict(result.properties)
    return found


def _location(place: Place, root: Path) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": artifact(place.path, root)}
    if place.line > 0:
        physical["region"] = {"startLine": place.line}
    return {"physicalLocation": physical}


def artifact(path: Path, root: Path) -> dict[str, str]:
    """Where ``path`` is: relative to ``%SRCROOT%`` when it lies under ``root``, else an absolute ``file:`` URI."""
    absolute = path.resolve()
    try:
        relative = absolute.relative_to(root)
    except ValueError:
        return {"uri": absolute.as_uri()}
    return {"uri": quote(relative.as_posix()), "uriBaseId": SOURCE_ROOT}


__all__ = ["LEVELS", "SCHEMA", "SOURCE_ROOT", "VERSION", "Place", "Result", "Rule", "Step", "artifact", "document"]
