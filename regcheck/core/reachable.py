"""How far a log can be matched, the names it binds as it goes aside: a refutation over the whole state space.

A log is a subsequence of some execution only if it is one with its names free: each observation matched by a
step with its actions and fields, and the names bound before the first observation (``given``), but any thread,
session or association for the names the log binds as it goes. With those names free, the names bound never
change, so the search's triples are (state, observations matched), and a state is kept once, with the most
matched: the search is one exploration of the design's states, each taken again only when it is reached with more
matched. Its states may be one per orbit where a symmetry keeps every label an observation compares
(:func:`regcheck.core.symmetry.block_canonical`): a step and its image match the same observations. A complete
search that matches fewer than all observations rules the log out: no execution matches the next one in order,
whatever the names stand for. It decides logs whose interleavings with the names bound are too many to search.

Nothing here knows the protocol: the caller says what an observation is and which fields each step defines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from regcheck.core.compile import CompiledSystem, Packed
from regcheck.core.subsequence import Bindings, FieldsOf, Found, Observed, Order, search


def unnamed(observed: Sequence[Observed], given: Bindings) -> list[Observed]:
    """``observed`` with only the names ``given`` binds (the others free)."""
    known = {(label, name) for label, name, _ in given}
    return [Observed(o.actions, o.fields, tuple(n for n in o.names if n in known), o.shares) for o in observed]


def longest_unnamed(
    compiled: CompiledSystem,
    observed: Sequence[Observed],
    fields_of: FieldsOf,
    *,
    given: Bindings,
    one_to_one: frozenset[str],
    canonical: Callable[[Packed], Packed] | None,
    max_nodes: int,
    deadline: float | None,
    order: Order | None = None,
) -> Found:
    """The search of ``observed`` (a partial ``order`` of them, or a sequence) with the names ``given`` alone bound
    (see the module docstring); its ``steps`` are of the quotient where ``canonical`` is given, never to be shown."""
    return search(compiled, unnamed(observed, given), fields_of, one_to_one=one_to_one, max_nodes=max_nodes,
                  deadline=deadline, given=given, order=order, canonical=canonical)
