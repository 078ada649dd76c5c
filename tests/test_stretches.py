"""The depth-first search of `regcheck.core.subsequence` tries first, where the same state, names and next observations
come again, the stretch of steps that matched them before (`Stretch`): a log that repeats itself costs a few triples
per line, and only the order of the triples changes, never what the search finds or rules out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regcheck.core import subsequence
from regcheck.core.compile import compile_system
from regcheck.core.expr import Const, add, and_, eq, ite, le, var
from regcheck.core.subsequence import Found, Observed, search
from regcheck.core.system import Action, TransitionSystem, Variable, int_range

X, Y = var("x"), var("y")
SYSTEM = TransitionSystem(
    "repeats",
    (Variable("x", int_range(0, 4)), Variable("y", int_range(0, 3))),
    and_(eq(X, 0), eq(Y, 0)),
    (
        Action("Prepare", (), le(X, 3), (("x", add(X, 1)),), (("message", Const("prepare")),)),
        Action("Fire", (), eq(X, 4), (("x", Const(0)),), (("message", Const("fire")),)),
        Action("Spin", (), le(Y, 3), (("y", ite(eq(Y, 3), 0, add(Y, 1))),), (("message", Const("spin")),)),
        Action("Reset", (), eq(Y, 3), (("x", Const(0)),), (("message", Const("reset")),)),
    ),
)
"""``Fire`` needs four unlogged ``Prepare`` steps before it; ``Spin`` wanders on its own, and ``Reset`` undoes the
preparation where it has come round to 3."""
COMPILED = compile_system(SYSTEM)
FIRE, RESET = Observed(frozenset({"Fire"})), Observed(frozenset({"Reset"}))
NEVER = Observed(frozenset({"Prepare"}), (("message", frozenset({"fire"})),))
"""A Prepare step that says "fire": none does, so a log with it is ruled out there, after every triple is taken."""


def _search(observed: list[Observed], *, replay: bool, monkeypatch: pytest.MonkeyPatch) -> Found:
    """The depth-first search of ``observed``; without ``replay``, no two places in the log ask alike, so no stretch
    is met again."""
    with monkeypatch.context() as patched:
        if not replay:
            patched.setattr(subsequence, "_asks", lambda observed: list(range(len(observed))))
        return search(COMPILED, observed, COMPILED.labels, depth_first=True, max_nodes=1_000_000)


def test_a_log_that_repeats_itself_costs_a_few_triples_per_line(monkeypatch: pytest.MonkeyPatch) -> None:
    log = [FIRE] * 200
    replayed = _search(log, replay=True, monkeypatch=monkeypatch)
    searched = _search(log, replay=False, monkeypatch=monkeypatch)
    assert replayed.matched == searched.matched == len(log)
    assert replayed.explored < 10 * len(log) < searched.explored
    # The steps found are the system's, with each Fire where the log has it.
    state = COMPILED.initial
    for index, after in replayed.steps:
        assert dict(COMPILED.steps(state))[index] == after
        state = after
    assert [SYSTEM.actions[replayed.steps[at][0]].name for at in replayed.at] == ["Fire"] * len(log)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([FIRE, FIRE, RESET, NEVER]), min_size=1, max_size=30))
def test_replaying_stretches_changes_nothing_the_search_finds(log: list[Observed]) -> None:
    # Found, or ruled out at the same line: the same with the stretches replayed as without.
    with pytest.MonkeyPatch.context() as monkeypatch:
        replayed = _search(log, replay=True, monkeypatch=monkeypatch)
        searched = _search(log, replay=False, monkeypatch=monkeypatch)
    assert replayed.complete and searched.complete
    assert replayed.matched == searched.matched
