"""Several logs as one observation: each log's events in its own order, and across logs an order only where
their times differ by more than the skew (regcheck/model/SEMANTICS.md, "Observations", several logs).

The events are numbered in one linear order of that partial order (by time where the order leaves a
choice); :func:`order_of` gives the partial order itself to the search. Times are ISO 8601 with a UTC
offset (``Z`` or ``+hh:mm``); an event without a time is ordered only within its own log.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from functools import lru_cache

from regcheck.core.subsequence import Order
from regcheck.display import shown
from regcheck.errors import InvalidArgument
from regcheck.model.observations import MAX_EVENTS, Event, Origin

DEFAULT_SKEW = 2.0
"""Seconds within which two logs' times order nothing (their clocks may differ by this much)."""
MAX_SKEW = 86_400.0


def check_skew(skew: float, what: str = "--skew") -> float:
    """``skew`` as seconds, or one clear line: a finite number from 0 to a day."""
    if isinstance(skew, bool) or not isinstance(skew, (int, float)) or not math.isfinite(skew) \
            or not 0 <= skew <= MAX_SKEW:
        raise InvalidArgument(f"{what} must be a number of seconds from 0 to {MAX_SKEW:,.0f}, not {shown(str(skew))}")
    return float(skew)


def seconds(event: Event) -> float | None:
    """The event's time as seconds since 1970 (UTC), None when it has none; one clear line when it is no ISO 8601
    time with a UTC offset."""
    if event.time is None:
        return None
    where = f"{event.log.name if event.log else 'log'}, line {event.line}"
    try:
        moment = datetime.fromisoformat(event.time)
    except ValueError:
        raise InvalidArgument(f"{where}: time {shown(event.time)} is not an ISO 8601 time "
                              "(e.g. 2013-11-04T09:12:01.114Z); several logs are ordered by their times") from None
    if moment.utcoffset() is None:
        raise InvalidArgument(f"{where}: time {shown(event.time)} has no UTC offset; several logs' times are "
                              "compared in UTC, so write it with Z or +hh:mm")
    return moment.timestamp()


def merge(logs: Sequence[tuple[str, Sequence[Event]]], skew: float) -> list[Event]:
    """The events of ``logs`` (name, events in order) as one observation, numbered in a linear order of the
    partial order; one clear line when their times contradict their order (no linear order exists) or they
    hold more events than one diagnosis takes."""
    skew = check_skew(skew)
    tagged = [[replace(e, log=Origin(name, index, skew)) for e in events] for index, (name, events) in enumerate(logs)]
    total = sum(map(len, tagged))
    if total > MAX_EVENTS:
        raise InvalidArgument(f"the logs hold {total:,} events together; at most {MAX_EVENTS:,} are diagnosed at once, "
                              "so cut them to the failure")
    flat = [e for events in tagged for e in events]
    order = _order([[seconds(e) for e in events] for events in tagged], skew)
    keys = []  # a time per event for choosing among the ready ones: its own, else the last before it in its log
    for events in tagged:
        last = -math.inf
        for e in events:
            moment = seconds(e)
            last = moment if moment is not None else last
            keys.append(last)
    position = [0] * len(tagged)
    numbered: list[Event] = []
    while len(numbered) < total:
        ready = [(keys[chain[position[c]]], c) for c, chain in enumerate(order.chains)
                 if position[c] < len(chain) and all(p >= k for p, k in zip(position, order.need[chain[position[c]]],
                                                                               strict=True))]
        if not ready:
            raise InvalidArgument(_contradiction(order, position, flat, skew))
        _, c = min(ready)
        numbered.append(replace(flat[order.chains[c][position[c]]], number=len(numbered) + 1))
        position[c] += 1
    return numbered


def _contradiction(order: Order, position: Sequence[int], flat: Sequence[Event], skew: float) -> str:
    """The line saying which two events' times contradict their logs' order."""
    c = next(c for c, chain in enumerate(order.chains) if position[c] < len(chain))
    event = flat[order.chains[c][position[c]]]
    d, k = next((d, k) for d, k in enumerate(order.need[order.chains[c][position[c]]]) if position[d] < k)
    earlier = flat[order.chains[d][k - 1]]
    return (f"{_where(event)} comes after {_where(earlier)} by their times, but each log's own order puts an event "
            f"after it before that one: the times contradict the order of the lines (a clock went back by more than "
            f"the skew, {skew:g} s)")


def _where(event: Event) -> str:
    return f"{event.log.name if event.log else 'the log'}, line {event.line}"


def _order(times: Sequence[Sequence[float | None]], skew: float) -> Order:
    """The partial order of logs whose events have ``times`` (None: none): each log a chain; an event needs every
    event of another log whose time is more than ``skew`` before its own, and so every event before that one."""
    chains: list[tuple[int, ...]] = []
    start = 0
    for log in times:
        chains.append(tuple(range(start, start + len(log))))
        start += len(log)
    # Per log: its timed events by time, with the furthest place in the log among those up to each.
    sorted_times: list[list[float]] = []
    furthest: list[list[int]] = []
    for log in times:
        timed = sorted((t, rank) for rank, t in enumerate(log) if t is not None)
        sorted_times.append([t for t, _ in timed])
        reach, most = [], -1
        for _, rank in timed:
            most = max(most, rank)
            reach.append(most)
        furthest.append(reach)
    need: list[tuple[int, ...]] = []
    for c, log in enumerate(times):
        for t in log:
            row = []
            for d in range(len(times)):
                count = bisect_left(sorted_times[d], t - skew) if t is not None and d != c else 0
                # strictly more than the skew before: t_other < t - skew
                row.append(furthest[d][count - 1] + 1 if count else 0)
            need.append(tuple(row))
    return Order(tuple(chains), tuple(need))


def order_of(events: Sequence[Event]) -> Order | None:
    """The partial order of ``events`` read from several logs (numbered by :func:`merge`); None for one log's, at
    no cost (the first event tells: every event of several logs names its log)."""
    if not events or events[0].log is None:
        return None
    return _order_of(tuple(events))


@lru_cache(maxsize=8)
def _order_of(events: tuple[Event, ...]) -> Order | None:
    logs = sorted({e.log.index for e in events if e.log is not None})
    if len(logs) < 2:
        return None
    skew = next(e.log.skew for e in events if e.log is not None)
    by_log: dict[int, list[tuple[int, float | None]]] = {index: [] for index in logs}
    for number, e in enumerate(events):
        assert e.log is not None, "an observation of several logs has every event's log"
        by_log[e.log.index].append((number, seconds(e)))
    positions = {number: p for p, number in enumerate(n for index in logs for n, _ in by_log[index])}
    base = _order([[t for _, t in by_log[index]] for index in logs], skew)
    # _order numbers the events log after log; the observation numbers them in its linear order.
    chains = tuple(tuple(n for n, _ in by_log[index]) for index in logs)
    need = tuple(base.need[positions[number]] for number in range(len(events)))
    return Order(chains, need)


__all__ = ["DEFAULT_SKEW", "check_skew", "merge", "order_of", "seconds"]
