"""Cause signatures: what makes two counterexamples tell different stories, not two orders of one.

A signature picks a few *moments* out of a trace (for example the first step whose ``cache``
label is ``registered``, the first mismatch, and the violating last step) and records, for each,
the fields that identify it (thread, message, ...). Two counterexamples with the same signature
tell the same story with the steps interleaved differently; enumerating counterexamples while
blocking every signature found so far yields ones that differ in at least one moment.

Moments are data, not code, so that the z3 side can encode exactly what :func:`signature`
computes here (``regcheck.core.constraints.has_signature``). A field is ``"action"`` (the action's
name) or the name of a step label. This module knows no protocol: the model says which moments
and fields make up a cause.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from regcheck.core.expr import FALSE, Const, Expr, Ite, Value, Var, and_, in_, ite, lift
from regcheck.core.result import Step, Trace
from regcheck.core.system import Domain

Field = tuple[str, tuple[Value, ...]]
"""A step field (``"action"`` or a label name) and the values it may take."""

Mark = tuple[tuple[str, Value], ...] | None
"""What identifies one moment of a trace: ``(field, value)`` pairs, or None if no step is that moment."""

Signature = tuple[Mark, ...]
"""One mark per moment, in the order of the moments."""


@dataclass(frozen=True)
class Moment:
    """One ingredient of a cause: a step picked out of a trace, and the fields that identify it.

    ``among`` selects the first step whose fields each take one of the listed values; empty
    ``among`` means the trace's last step (for a safety counterexample, the violating step).
    """

    name: str
    keys: tuple[str, ...]
    among: tuple[Field, ...] = ()

    def pick(self, trace: Trace) -> Step | None:
        """The step this moment picks out of ``trace``, or None."""
        if not self.among:
            return trace.steps[-1] if trace.steps else None
        return next((step for step in trace.steps if matches(step, self.among)), None)


def field_value(step: Step, key: str) -> Value | None:
    """The value of field ``key`` at ``step``: its action's name, or one of its labels (None if absent)."""
    return step.action if key == "action" else step.labels.get(key)


def matches(step: Step, fields: Sequence[Field]) -> bool:
    """Does every field of ``step`` take one of its listed values?"""
    return all(field_value(step, key) in values for key, values in fields)


def signature(trace: Trace, moments: Sequence[Moment]) -> Signature:
    """The trace's mark at each moment."""
    marks: list[Mark] = []
    for moment in moments:
        step = moment.pick(trace)
        if step is None:
            marks.append(None)
            continue
        values = tuple((key, field_value(step, key)) for key in moment.keys)
        missing = [key for key, value in values if value is None]
        if missing:
            raise ValueError(f"{moment.name}: step {step.label} has no field {missing[0]!r}")
        marks.append(values)  # type: ignore[arg-type]
    return tuple(marks)


def mark_fields(moment: Moment, mark: Mark) -> tuple[Field, ...]:
    """The fields a step must match to be ``moment`` with ``mark``: the moment's selector plus the mark."""
    assert mark is not None
    return (*moment.among, *((key, (value,)) for key, value in mark))


def takes(expr: Expr, values: Collection[Value], domains: Mapping[str, Domain]) -> Expr:
    """A predicate over the state: ``expr`` evaluates to one of ``values``.

    Label expressions are mostly constants under if-then-else; the comparison is pushed down to
    the leaves and decided there where it can be, so that label words (``"worker 1"``) never need
    an encoding of their own. A variable leaf compares only against the values its domain has.
    """
    match expr:
        case Const(value):
            return lift(value in values)
        case Ite(cond, then, other):
            return ite(cond, takes(then, values, domains), takes(other, values, domains))
        case Var(name):
            domain = domains[name]
            return in_(expr, [v for v in values if domain.contains(v)])
    numbers = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    return in_(expr, numbers) if numbers else FALSE


def fields_predicate(
    action_name: str, labels: Mapping[str, Expr], fields: Sequence[Field], domains: Mapping[str, Domain]
) -> Expr:
    """The state predicate under which an action (by name and label expressions) matches ``fields``."""
    parts: list[Expr] = []
    for key, values in fields:
        if key == "action":
            parts.append(lift(action_name in values))
        elif key in labels:
            parts.append(takes(labels[key], values, domains))
        else:
            return FALSE
    return and_(*parts)


__all__ = [
    "Field",
    "Mark",
    "Moment",
    "Signature",
    "field_value",
    "fields_predicate",
    "mark_fields",
    "matches",
    "signature",
    "takes",
]
