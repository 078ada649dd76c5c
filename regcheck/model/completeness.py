"""What a server log records in full, as rules for the search (regcheck/model/SEMANTICS.md, "Server logs are complete
for what they record"): per log of an observation, the kinds of step it records and the association or session a
case's slice is complete for."""

from __future__ import annotations

from collections.abc import Sequence

from regcheck.core.subsequence import Complete, Order
from regcheck.model.observations import CONNECTIONS, REGISTRATIONS, Event

KINDS = {
    REGISTRATIONS: (("cache", frozenset({"registered", "re-registered", "mismatch", "mismatch-evicted"})),),
    CONNECTIONS: (("message", frozenset({"EcDoConnectEx", "EcDoDisconnect", "Connect", "Disconnect"})),
                  ("cache", frozenset({"-", "registered", "hit", "re-registered"}))),
}
"""The steps each kind of server log records: every registration made or refused (a ``hit`` need not open a channel
request, and a ``no-registration`` failure is none the log tells apart); every connect and disconnect that reached
the server (past the cache, or with none)."""


def rules(events: Sequence[Event], order: Order | None) -> tuple[Complete, ...]:
    """One rule per log among ``events`` that records some kind of step in full (``order``: several logs, each a chain;
    None: one log, one chain)."""
    chains = order.chains if order is not None else (tuple(range(len(events))),)
    found = []
    for c, chain in enumerate(chains):
        if not chain or events[chain[0]].records is None:
            continue
        first = events[chain[0]]
        assert first.records is not None
        scope: tuple[tuple[str, str], ...] = ()
        if first.complete_for != "log":
            name = first.association if first.complete_for == "association" else first.session
            if name is None:  # a slice's events all name what it is complete for: nothing to scope by, no rule
                continue
            scope = ((first.complete_for, name),)
        found.append(Complete(c, KINDS[first.records], scope))
    return tuple(found)


WORDS = {REGISTRATIONS: "registration the cache makes or refuses", CONNECTIONS: "connect and disconnect"}


def words(events: Sequence[Event], complete: Sequence[Complete]) -> str:
    """What a refutation under ``complete`` rests on beyond the events themselves, as the end of its reason ("" when
    no log of ``events`` records anything in full)."""
    kinds = sorted({WORDS[e.records] for e in events if e.records is not None}) if complete else []
    if not kinds:
        return ""
    return f" (the server's log records every {' and every '.join(kinds)} between its first and last events, " \
           "so none is added there)"


__all__ = ["KINDS", "rules", "words"]
