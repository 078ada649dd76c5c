"""Why a ``proved`` verdict holds: a small, closed set of evidence types.

Every proof carries one of them as ``CheckResult.evidence`` (the other verdicts carry none):

- :class:`Certificate`: an inductive invariant (PDR) or the k of a k-induction proof, re-checked
  by a fresh solver (``regcheck.core.certificate``) before the verdict is given;
- :class:`ExhaustiveSearch`: a safety property held in every state of a complete explicit-state
  search of the reachable graph;
- :class:`LassoFreedom`: a liveness property, because no fair loop (and no deadlock) of the complete
  reachable graph fails to meet an obligation.

Each is frozen and says itself two ways: :meth:`describe`, one line for a person, and
:meth:`to_json`, the object written under ``evidence`` in ``--json`` output (its keys are part of
that contract). Renderers read evidence through these two methods only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Union

from regcheck.core.expr import Expr, render

SEARCH = "explicit-state search of every reachable state"
LASSO_SEARCH = "explicit-state search for fair loops that never meet an obligation (fair SCCs)"
UNREDUCED = "off: liveness checked on the unreduced graph"


REACHABLE_LABEL = "reachable-states("
"""How ``rechecked_by`` records the evaluation on the reachable states: ``reachable-states(N)``."""


@dataclass(frozen=True)
class Certificate:
    """Why a property holds: an inductive invariant, or k for a k-induction proof."""

    kind: str  # "inductive-invariant" or "k-induction"
    invariant: Expr | None = None
    k: int | None = None
    rechecked_by: tuple[str, ...] = ()
    notes: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "rechecked_by": list(self.rechecked_by)}
        if self.invariant is not None:
            data["invariant"] = render(self.invariant)
        if self.k is not None:
            data["k"] = self.k
        data.update(self.notes)
        return data

    def rechecks(self) -> str:
        """Who re-checked it, in words: ``a fresh z3 instance and an evaluation on each of 388 reachable states``."""
        words = [
            f"an evaluation on each of {by[len(REACHABLE_LABEL):-1]} reachable states" if by.startswith(REACHABLE_LABEL)
            else f"a fresh {by} instance"
            for by in self.rechecked_by
        ]
        return " and ".join(words)

    def summary(self) -> str:
        """The certificate's size, for a terminal: ``inductive invariant, in counter form: 97 conjuncts,
        6,160 characters``; :meth:`describe` says it in full."""
        text = self.describe()
        head, _, formula = text.partition(": ")
        if not formula:
            return text
        count = conjuncts(formula)
        return f"{head}: {count} conjunct{'s' if count != 1 else ''}, {len(formula):,} characters"

    def describe(self) -> str:
        if self.kind == "k-induction":
            return f"{self.k}-inductive"
        assert self.invariant is not None
        if "invariant_is" in self.notes:  # the reachable states themselves: too long to show, said in words
            return f"inductive invariant: {self.notes['invariant_is']}"
        if "counter_invariant" in self.notes:  # the instantiated form is long; its counter form says the same
            return f"inductive invariant, in counter form: {self.notes['counter_invariant']}"
        return f"inductive invariant: {render(self.invariant)}"


def conjuncts(formula: str) -> int:
    """How many conjuncts a rendered formula has at its top level (``a /\\ (b \\/ c)`` has 2)."""
    depth, count = 0, 1
    for index, char in enumerate(formula):
        if char in "({[":
            depth += 1
        elif char in ")}]":
            depth -= 1
        elif depth == 0 and formula.startswith(" /\\ ", index):
            count += 1
    return count


class _Search:
    """What the two proofs by exhaustion share: their JSON form is their fields, in ``KEYS`` order."""

    KEYS: ClassVar[tuple[str, ...]]

    def to_json(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.KEYS}

    def __getitem__(self, key: str) -> Any:
        """One field of the JSON form: ``evidence["states"]``."""
        return self.to_json()[key]


@dataclass(frozen=True)
class ExhaustiveSearch(_Search):
    """A safety proof by exhaustion: every reachable state was visited, and none violates the property.

    ``diameter`` is the greatest distance of a state from the initial ones; ``symmetry`` says how
    states were reduced (one per orbit of interchangeable processes, or not at all); ``fingerprint``
    identifies the set of states searched (``regcheck.core.compile.fingerprint``).
    """

    states: int
    transitions: int
    diameter: int
    symmetry: str
    fingerprint: str
    method: str = SEARCH

    def describe(self) -> str:
        """``exhaustive search: 388 states, 1204 transitions``."""
        return f"exhaustive search: {self.states} states, {self.transitions} transitions"

    KEYS: ClassVar[tuple[str, ...]] = ("method", "states", "transitions", "diameter", "symmetry", "fingerprint")


@dataclass(frozen=True)
class LassoFreedom(_Search):
    """A liveness proof by exhaustion: the whole reachable graph holds no fair lasso that violates it.

    ``components_examined`` counts the strongly connected components of goal-false states that
    were searched for a fair loop; ``fairness`` says which action instances weak fairness covers.
    """

    states: int
    transitions: int
    diameter: int
    components_examined: int
    obligations: int
    fairness: str
    fingerprint: str
    symmetry: str = UNREDUCED
    method: str = LASSO_SEARCH

    def describe(self) -> str:
        """``exhaustive search: 388 states, 1204 transitions; weak, on 6 action instances of ...``."""
        if self.method != LASSO_SEARCH:  # a search of an abstraction, which says what it is
            return f"{self.method}: {self.states} abstract states, {self.transitions} transitions; {self.fairness}"
        return f"exhaustive search: {self.states} states, {self.transitions} transitions; {self.fairness}"

    KEYS: ClassVar[tuple[str, ...]] = (
        "method", "states", "transitions", "diameter", "components_examined", "obligations", "fairness", "symmetry",
        "fingerprint",
    )


Evidence = Union[Certificate, ExhaustiveSearch, LassoFreedom]
"""What a proof rests on; ``CheckResult.evidence`` is one of these, or None for any other verdict."""


__all__ = ["REACHABLE_LABEL", "Certificate", "Evidence", "ExhaustiveSearch", "LassoFreedom", "conjuncts"]
