"""The ``--json`` documents of ``regcheck check`` and ``regcheck sweep``: a versioned contract.

Every document opens with :func:`header`: ``version`` (:data:`SCHEMA_VERSION`), ``tool``, ``z3``
and ``python``. ``check`` adds ``scenario`` (every switch resolved) and ``results``, one object per
property (:func:`result_json`), or with ``--all`` ``runs``, one ``{scenario, results}`` per
scenario; ``--cross-check`` adds ``cross_check``. A result's ``trace`` is ITF (the Informal Trace
Format of Apalache and Quint), its ``evidence`` the proof's own JSON form
(``regcheck.core.evidence``), ``causes`` and ``explanation`` what ``--counterexamples`` and
``--explain`` found. docs/verdicts.md, section JSON, names every key; a change to any of them that a
reader could notice raises :data:`SCHEMA_VERSION`.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping, Sequence
from typing import Any

import regcheck
from regcheck.core.result import CheckResult
from regcheck.counterexamples import Extras
from regcheck.formats import itf
from regcheck.model.design import design_of
from regcheck.model.explain import Explanation
from regcheck.model.scenario import Scenario
from regcheck.sweep import Sweep

SCHEMA_VERSION = 1
"""The version of the ``--json`` documents, written as their ``version``."""


def header() -> dict[str, Any]:
    """What every document opens with: the schema version, and the versions of the tool, z3 and Python."""
    return {
        "version": SCHEMA_VERSION,
        "tool": {"name": "regcheck", "version": regcheck.__version__},
        "z3": z3_version(),
        "python": platform.python_version(),
    }


def z3_version() -> str:
    """z3's version (imported only when a document is written)."""
    from regcheck.core.smt import z3_version as version

    return version()


def scenario_json(scenario: Scenario) -> dict[str, Any]:
    """The scenario's name, description, every switch resolved, and the design they make, worker by worker."""
    return {"name": scenario.name, "description": scenario.description, **scenario.switches(),
            "design": design_of(scenario).as_json()}


def result_json(scenario: Scenario, result: CheckResult, extra: Extras | None = None) -> dict[str, Any]:
    """One property's result; ``extra``: what ``--counterexamples`` and ``--explain`` found for it."""
    data = {
        "property": result.property,
        "kind": result.kind.value,
        "verdict": result.verdict.value,
        "depth": result.depth,
        "engine": result.engine,
        "expected": scenario.expected.get(result.property),
        "time_s": result.time_s,
        "scope": None if result.scope is None else {"workers": result.scope.to_json()},
        "trace": itf.to_itf(result.trace) if result.trace is not None else None,
        "evidence": result.evidence.to_json() if result.evidence is not None else None,
        "note": result.note or None,
    }
    if extra is not None and extra.explanation is not None:
        data["explanation"] = explanation_json(extra.explanation)
    if extra is not None and extra.note:
        data["extras_note"] = extra.note  # what --counterexamples or --explain could not finish, and why
    if extra is not None and extra.causes is not None:
        found = extra.causes
        data["causes"] = {
            "complete": found.complete,
            "depth": found.depth,
            "note": found.note or None,
            "counterexamples": [
                {
                    "cause": c.description,
                    "steps": len(c.trace),
                    "trace": itf.to_itf(c.trace),
                    "explanation": explanation_json(c.explanation) if c.explanation is not None else None,
                }
                for c in found.found
            ],
        }
    return data


def explanation_json(explanation: Explanation) -> dict[str, Any]:
    """A counterexample shrunk by replay: its steps, why each is needed, its cause and the shrunk trace."""
    return {
        "steps": len(explanation.shrunk),
        "original_steps": len(explanation.original),
        "dropped_threads": list(explanation.dropped_threads),
        "needs": [{"step": n.step, "action": n.label, "reason": n.reason} for n in explanation.needs],
        "cause": explanation.cause,
        "trace": itf.to_itf(explanation.shrunk),
    }


def check_document(
    runs: Sequence[tuple[Scenario, Sequence[CheckResult]]],
    extras: Mapping[tuple[str, str], Extras],
    *,
    every: bool,
    cross: str | None = None,
    disagreements: Sequence[tuple[Scenario, str]] = (),
    not_compared: Sequence[tuple[Scenario, str]] = (),
) -> dict[str, Any]:
    """The document of ``regcheck check``: one scenario's results, or (``every``: ``--all``) every run's.

    ``extras`` is keyed by (scenario name, property); ``cross`` names the ``--cross-check`` engine,
    with what it disagreed on and what it could not compare.
    """
    document = header()

    def results(scenario: Scenario, found: Sequence[CheckResult]) -> list[dict[str, Any]]:
        return [result_json(scenario, r, extras.get((scenario.name, r.property))) for r in found]

    if every:
        document["runs"] = [{"scenario": scenario_json(s), "results": results(s, found)} for s, found in runs]
    else:
        scenario, found = runs[0]
        document["scenario"] = scenario_json(scenario)
        document["results"] = results(scenario, found)
    if cross is not None:
        document["cross_check"] = {
            "engine": cross,
            "disagreements": [{"scenario": s.name, "message": d} for s, d in disagreements],
            "not_compared": [{"scenario": s.name, "what": d} for s, d in not_compared],
        }
    return document


def sweep_document(result: Sweep) -> dict[str, Any]:
    """The document of ``regcheck sweep``: every configuration's verdicts, and each property's smallest failure."""
    smallest = {name: result.smallest_failing(name) for name in result.properties}
    document = header()
    document.update({
        "base": scenario_json(result.base),
        "axes": {axis.key: list(axis.values) for axis in result.axes},
        "engine": result.engine,
        "depth": result.depth,
        "configurations": [
            {"set": o.configuration.assignments(), "results": list(o.results)} for o in result.outcomes
        ],
        "smallest_failing": {
            name: (outcome.configuration.assignments() if outcome is not None else None)
            for name, outcome in smallest.items()
        },
    })
    return document


__all__ = [
    "SCHEMA_VERSION",
    "check_document",
    "explanation_json",
    "header",
    "result_json",
    "scenario_json",
    "sweep_document",
    "z3_version",
]
