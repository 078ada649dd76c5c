"""Which observations no reachable step can be: a refutation over the whole state space, the order of the log aside.

A log is a subsequence of some execution only if each of its observations is some reachable step. This explores
every reachable state once (one per orbit where the system's verified symmetry keeps the labels compared: see
:func:`regcheck.core.symmetry.block_canonical`) and asks of each observation whether a step enabled in one of
them matches it: its actions and fields, and the names already bound before the first observation (``given``);
the names the log binds as it goes are left free. No such step for an observation, with the states all explored,
means no execution matches it at any place, so none has the log as a subsequence. It needs no order of the log,
so it decides logs whose interleavings are too many to search, at the cost of one exploration of the design.

Nothing here knows the protocol: the caller says what an observation is and which fields each step defines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from regcheck.core.compile import CompiledSystem, Packed
from regcheck.core.explore import explore
from regcheck.core.subsequence import Bindings, FieldsOf, Observed, binds, candidates_of


def first_never(
    compiled: CompiledSystem,
    observed: Sequence[Observed],
    fields_of: FieldsOf,
    *,
    given: Bindings,
    one_to_one: frozenset[str],
    canonical: Callable[[Packed], Packed] | None,
    max_states: int,
    deadline: float | None,
) -> int | None:
    """The first of ``observed`` that no step enabled in a reachable state matches (its names bound only as
    ``given``); None if each is matched by some step, or the exploration stopped at ``max_states`` or ``deadline``.
    ``canonical`` maps a state to its orbit's representative, under a symmetry that keeps every label an
    observation compares (the caller's to verify), or is None."""
    known = {(label, name) for label, name, _ in given}
    kinds: dict[Observed, int] = {}  # each distinct question, with the first observation that asks it
    for i, o in enumerate(observed):
        kinds.setdefault(Observed(o.actions, o.fields, tuple(n for n in o.names if n in known)), i)
    asks = list(kinds)
    actions = candidates_of(compiled.system, asks)
    graph = explore(compiled, max_states=max_states, canonical=canonical, deadline=deadline, what="reachable steps")
    if not graph.complete:
        return None
    open_ = set(range(len(asks)))
    for state in graph.states:
        for index, _ in compiled.steps(state):
            wanted = [k for k in open_ if index in actions[k]]
            if not wanted:
                continue
            labels = fields_of(index, state)
            open_.difference_update(k for k in wanted if binds(asks[k], given, labels, one_to_one) is not None)
            if not open_:
                return None
    return min(kinds[asks[k]] for k in open_)
