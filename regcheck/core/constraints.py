"""Trace constraints: the shape a wanted counterexample must have ("the notifier registers first").

A constraint speaks of a counterexample's steps through their *fields* (``"action"`` or a step
label, each with the values it may take; see ``regcheck.core.causes``): some step matches, no step
matches, the first step of one kind also matches more fields, or a step of one kind comes before
any of another. Each constraint is data with two readings that must agree: :meth:`holds` checks
a decoded trace, :meth:`encode` states the same over an unrolling of ``k`` steps for z3, where
engines pass it as an assumption (``regcheck.core.engines.distinct``). Nothing here knows a protocol:
the model names the labels and values (``regcheck/model/shapes.py``).

A counterexample is read up to and including its violating step, so a constraint is about what
happens before the property first fails, never after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from regcheck.core.causes import Field, Moment, Signature, mark_fields, matches
from regcheck.core.result import Trace
from regcheck.core.smt import Unrolling, all_of, any_of, negation

if TYPE_CHECKING:  # for annotations only: the z3 side stays in regcheck.core.smt
    import z3

Fields = tuple[Field, ...]


def _words(fields: Fields) -> str:
    return " and ".join(f"{key} {'/'.join(map(str, values))}" for key, values in fields)


@dataclass(frozen=True)
class Happens:
    """Some step matches ``fields``."""

    fields: Fields

    def holds(self, trace: Trace) -> bool:
        return any(matches(step, self.fields) for step in trace.steps)

    def encode(self, u: Unrolling, k: int) -> z3.BoolRef:
        return any_of(*(u.step_matches(i, self.fields) for i in range(k)))

    def describe(self) -> str:
        return f"a step with {_words(self.fields)}"


@dataclass(frozen=True)
class Never:
    """No step matches ``fields``."""

    fields: Fields

    def holds(self, trace: Trace) -> bool:
        return not any(matches(step, self.fields) for step in trace.steps)

    def encode(self, u: Unrolling, k: int) -> z3.BoolRef:
        return all_of(*(negation(u.step_matches(i, self.fields)) for i in range(k)))

    def describe(self) -> str:
        return f"no step with {_words(self.fields)}"


@dataclass(frozen=True)
class First:
    """A step matches ``among``, and the first such step also matches ``then``."""

    among: Fields
    then: Fields

    def holds(self, trace: Trace) -> bool:
        first = next((step for step in trace.steps if matches(step, self.among)), None)
        return first is not None and matches(first, self.then)

    def encode(self, u: Unrolling, k: int) -> z3.BoolRef:
        wanted = (*self.among, *self.then)
        return any_of(
            *(
                all_of(*(negation(u.step_matches(j, self.among)) for j in range(i)), u.step_matches(i, wanted))
                for i in range(k)
            )
        )

    def describe(self) -> str:
        return f"the first step with {_words(self.among)} has {_words(self.then)}"


@dataclass(frozen=True)
class Before:
    """A step matches ``earlier``, and no step before it matches ``later``."""

    earlier: Fields
    later: Fields

    def holds(self, trace: Trace) -> bool:
        for step in trace.steps:
            if matches(step, self.earlier):
                return True
            if matches(step, self.later):
                return False
        return False

    def encode(self, u: Unrolling, k: int) -> z3.BoolRef:
        return any_of(
            *(
                all_of(*(negation(u.step_matches(j, self.later)) for j in range(i)), u.step_matches(i, self.earlier))
                for i in range(k)
            )
        )

    def describe(self) -> str:
        return f"a step with {_words(self.earlier)} before any with {_words(self.later)}"


Constraint = Union[Happens, Never, First, Before]


def all_hold(constraints: Sequence[Constraint], trace: Trace) -> bool:
    """Does ``trace`` satisfy every constraint?"""
    return all(c.holds(trace) for c in constraints)


def describe(constraints: Sequence[Constraint]) -> str:
    """The constraints in words, joined by ``and``."""
    return "; and ".join(c.describe() for c in constraints)


def has_signature(u: Unrolling, k: int, moments: Sequence[Moment], signature: Signature) -> z3.ExprRef:
    """The path of ``k`` steps has ``signature`` (what ``regcheck.core.causes.signature`` computes)."""
    parts = []
    for moment, mark in zip(moments, signature, strict=True):
        if not moment.among:  # the last step
            if k == 0 or mark is None:
                parts.append(all_of() if k == 0 and mark is None else any_of())
            else:
                parts.append(u.step_matches(k - 1, mark_fields(moment, mark)))
            continue
        earlier = [negation(u.step_matches(i, moment.among)) for i in range(k)]
        if mark is None:
            parts.append(all_of(*earlier))
        else:
            fields = mark_fields(moment, mark)
            parts.append(any_of(*(all_of(*earlier[:i], u.step_matches(i, fields)) for i in range(k))))
    return all_of(*parts)


def lacks_signatures(u: Unrolling, k: int, moments: Sequence[Moment], signatures: Sequence[Signature]) -> z3.ExprRef:
    """The path of ``k`` steps has none of ``signatures``: how found causes are blocked."""
    return all_of(*(negation(has_signature(u, k, moments, s)) for s in signatures))
