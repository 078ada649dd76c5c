"""Find the cases in a large Exchange log: a first pass over every file tallies, per association (or session,
where a format names no association), its identities, events and failures; a second pass keeps the slice of
one case, within the in-memory limits of what is diagnosed.

The files are streamed as ``regcheck.model.logs.read`` streams them (bounded by ``exchange.MAX_TOTAL_BYTES``);
what a pass keeps is bounded on its own: :data:`MAX_KEYS` tallies of at most :data:`MAX_NAMES` identities each,
and each slice at most ``MAX_EVENTS`` events (``MAX_LOG_BYTES`` of them). What a slice means for the verdict
is in regcheck/model/SEMANTICS.md, "Cases and slices of a server log".
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from regcheck.deadline import Deadline
from regcheck.display import printable_path, shown
from regcheck.errors import InvalidArgument
from regcheck.model.logs.exchange import Budget, Row, files_of, rows
from regcheck.model.logs.identities import Identities
from regcheck.model.logs.read import ExchangeLog, read_rows
from regcheck.model.logs.rpchttp import GUID
from regcheck.model.observations import MAX_EVENTS, MAX_LOG_BYTES, MAX_TEXT, REGISTRATION_FAILED, Event

MAX_KEYS = 100_000
"""Associations and sessions one first pass tallies, at most."""
MAX_NAMES = 64
"""Identities a tally keeps for one association, at most; the others are counted."""
CHECK_EVERY = 1_000
"""Events between two looks at the clock (and two progress reports)."""
NETWORK_ERROR = "MAPI_E_NETWORK_ERROR"
IDENTITY_MISMATCH = "ecAccessDenied"
"""The MAPI over HTTP face of the registration conflict (ContextNotFound), as the readers spell it."""
WHOLE = "*"
"""The name of the one case of a log (or span) where no association has a failure: all of it."""
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,7})?)?)?"
                   r"(?:Z|[+-][0-9]{2}:[0-9]{2})?")


@dataclass(frozen=True)
class Key:
    """What a case is: an association GUID, else a session id, else the events that name neither."""

    kind: str  # "association", "session" or "log"
    name: str

    def words(self) -> str:
        if self.kind != "log":
            return f"{self.kind} {self.name}"
        return "the whole log" if self.name == WHOLE else "the events with no association or session"


def key_of(event: Event) -> Key:
    """The case ``event`` belongs to."""
    if event.association is not None:
        return Key("association", event.association)
    if event.session is not None:
        return Key("session", event.session)
    return Key("log", "")


@dataclass
class Tally:
    """One association's (or session's) part of the log: who it names, how many events and failures, where."""

    key: Key
    identities: list[str] = field(default_factory=list)  # as bound, in order of first appearance
    more_identities: int = 0
    free: int = 0  # events whose identity no log value tells (an unmapped SID, no caller named)
    events: int = 0
    registration_failures: int = 0
    network_errors: int = 0
    mismatches: int = 0  # MAPI over HTTP: ContextNotFound
    first_line: int = 0  # the line of its first event (of its file, in a folder of rotated files)
    last_line: int = 0
    last_seen: int = 0  # the place of its last event among all the events of the pass (a folder's files' lines repeat)
    first_time: str | None = None
    last_time: str | None = None

    @property
    def failures(self) -> int:
        return self.registration_failures + self.network_errors + self.mismatches

    def add(self, event: Event, seen: int) -> None:
        self.events += 1
        if event.identity is None:
            self.free += 1
        elif event.identity not in self.identities:
            if len(self.identities) < MAX_NAMES:
                self.identities.append(event.identity)
            else:
                self.more_identities += 1
        self.registration_failures += event.call == REGISTRATION_FAILED
        self.network_errors += event.result == NETWORK_ERROR
        self.mismatches += event.result == IDENTITY_MISMATCH
        self.first_line = self.first_line or event.line
        self.last_line = event.line
        self.last_seen = seen
        self.first_time = self.first_time or event.time
        self.last_time = event.time or self.last_time

    def failure_words(self) -> str:
        """``2 registration failures, 1 MAPI_E_NETWORK_ERROR``, or ``none``."""
        parts = [f"{n} {what}" for n, what in ((self.registration_failures, "registration failures"),
                                               (self.network_errors, NETWORK_ERROR),
                                               (self.mismatches, "ContextNotFound (ecAccessDenied)")) if n]
        return ", ".join(parts) or "none"

    def identity_words(self) -> str:
        names = ", ".join(self.identities) or "no identity named"
        more = f" and {self.more_identities} more" if self.more_identities else ""
        free = f" (+{self.free} events naming no identity)" if self.free else ""
        return names + more + free

    def to_json(self) -> dict[str, object]:
        return {"kind": self.key.kind, "name": self.key.name, "identities": self.identities,
                "more_identities": self.more_identities, "events_naming_no_identity": self.free,
                "events": self.events, "registration_failures": self.registration_failures,
                "network_errors": self.network_errors, "context_not_found": self.mismatches,
                "first": self.first_line, "last": self.last_line, "from": self.first_time, "to": self.last_time}


def parse_time(text: str, option: str) -> datetime:
    """An ISO 8601 time (``2013-11-04T09:12:01.073Z``; a date alone is its midnight; no zone is UTC), strictly."""
    text = text.strip()
    if not _TIME.fullmatch(text):
        raise InvalidArgument(f"{option}: {shown(text[:80])} is not a time like 2013-11-04T09:12:01Z "
                              "(ISO 8601, UTC unless it names a zone)")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidArgument(f"{option}: {shown(text[:80])} is not a time ({exc})") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Selection:
    """The slice a user chose by hand: one association, the associations a user appears on, a time span."""

    association: str | None = None
    user: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.association, self.user, self.start, self.end))

    def words(self) -> str:
        parts = [f"association {self.association}" if self.association else "",
                 f"user {self.user}" if self.user else "",
                 f"from {self.start.isoformat()}" if self.start else "", f"to {self.end.isoformat()}" if self.end else ""]
        return ", ".join(p for p in parts if p) or "the whole log"

    def in_span(self, event: Event, where: str) -> bool:
        """Whether ``event`` is within ``--from``/``--to``; with either given, an event must have a time."""
        if self.start is None and self.end is None:
            return True
        if event.time is None:
            raise InvalidArgument(f"{where}: no time, so --from/--to cannot place it")
        moment = parse_time(event.time, where)
        return (self.start is None or moment >= self.start) and (self.end is None or moment <= self.end)


def selection_of(association: str | None, user: str | None, start: str | None, end: str | None) -> Selection:
    """``--association``, ``--user``, ``--from`` and ``--to``, checked."""
    if association is not None and user is not None:
        raise InvalidArgument("give --association or --user, not both: an association names its own users")
    if association is not None and not GUID.fullmatch(association.strip().strip("{}")):
        raise InvalidArgument(f"--association: {shown(association[:80])} is not a GUID "
                              "(like 6b0b3e43-21af-5c76-acb6-72899c87ce80)")
    if user is not None and not 0 < len(user.strip()) <= MAX_TEXT:
        raise InvalidArgument(f"--user must have 1 to {MAX_TEXT} characters")
    chosen = Selection(association.strip().strip("{}").lower() if association is not None else None,
                       user.strip() if user is not None else None,
                       parse_time(start, "--from") if start is not None else None,
                       parse_time(end, "--to") if end is not None else None)
    if chosen.start is not None and chosen.end is not None and chosen.start > chosen.end:
        raise InvalidArgument("--from is after --to; the span would hold nothing")
    return chosen


@dataclass
class Survey:
    """The first pass over a whole log: every association's tally, in order of first appearance."""

    path: Path
    kind: str
    files: int
    others: int
    skipped: Counter[str]
    identities: Identities
    selection: Selection
    tallies: dict[Key, Tally]
    events: int  # in the selection's time span
    outside: int  # events before --from or after --to

    def cases(self) -> list[Tally]:
        """The tallies to diagnose: those with failures, within the selection (``--association`` names its own
        even without one); with no such tally, the whole span as one case."""
        chosen = list(self.tallies.values())
        if self.selection.association is not None:
            key = Key("association", self.selection.association)
            if key not in self.tallies:
                raise InvalidArgument(f"--association {self.selection.association}: no event of the log "
                                      f"{'within --from/--to ' if self.outside else ''}names it")
            return [self.tallies[key]]
        if self.selection.user is not None:
            user = self.user()
            chosen = [t for t in chosen if user in t.identities]
            if not chosen:
                raise InvalidArgument(f"--user {shown(self.selection.user)}: no association or session of the log "
                                      f"names {shown(user)}")
        failing = [t for t in chosen if t.failures]
        if failing:
            return failing
        if not self.selection.user and self.events:
            whole = Tally(Key("log", WHOLE), first_line=chosen[0].first_line, first_time=chosen[0].first_time)
            for tally in chosen:
                whole.events += tally.events
                whole.free += tally.free
                for name in tally.identities:
                    if name in whole.identities:
                        continue
                    if len(whole.identities) < MAX_NAMES:
                        whole.identities.append(name)
                    else:
                        whole.more_identities += 1
            last = max(chosen, key=lambda t: t.last_seen)
            whole.last_line, whole.last_time = last.last_line, last.last_time
            return [whole]
        return chosen

    def user(self) -> str:
        """The identity ``--user`` names, bound as the log's spellings are (on a copy: it adds nothing to them)."""
        assert self.selection.user is not None
        bound = copy.deepcopy(self.identities).resolve(self.selection.user)
        if bound is None:
            raise InvalidArgument(f"--user {shown(self.selection.user)} is a SID no --identities file names")
        return bound

    def notes(self, events: Sequence[Event]) -> list[str]:
        """What the output says about reading the log, for the slice ``events``."""
        return ExchangeLog(list(events), self.kind, self.files, self.others, self.skipped, self.identities).notes()

    def healthy(self) -> int:
        """Associations and sessions with no failure."""
        return sum(1 for t in self.tallies.values() if not t.failures)


def _events(path: Path, kind: str | None, identities: Identities,
            skipped: Counter[str]) -> tuple[str, int, int, Iterator[Event]]:
    """The reader's events of every file of ``path``, streamed, each value checked as ``read_exchange`` checks it."""
    budget = Budget()
    kind, files, others = files_of(path, kind, budget)
    what = f"log {printable_path(path)}"

    def every_row() -> Iterator[Row]:
        for file in files:
            yield from rows(file, kind, budget)

    def checked() -> Iterator[Event]:
        for event in read_rows(kind, every_row(), identities, skipped):
            for value in (event.identity, event.association, event.session, event.time, event.result):
                if value is not None and len(value) > MAX_TEXT:
                    raise InvalidArgument(f"{what}, line {event.line}: a value longer than {MAX_TEXT} characters")
            yield event

    return kind, len(files), others, checked()


def survey(path: Path, kind: str | None, identities: Identities, selection: Selection,
           progress: Callable[[str], None] | None = None, deadline: Deadline | None = None) -> Survey:
    """The first pass: every event of the log, streamed and tallied by association (or session). It has no
    partial answer (a case it has not reached yet would be dropped): past ``deadline``, ``OutOfTime``."""
    skipped: Counter[str] = Counter()
    kind, files, others, events = _events(path, kind, identities, skipped)
    what = f"log {printable_path(path)}"
    tallies: dict[Key, Tally] = {}
    count = outside = 0
    for event in events:
        where = f"{what}, line {event.line}"
        if not selection.in_span(event, where):
            outside += 1
            continue
        count += 1
        if count % CHECK_EVERY == 0:
            if deadline is not None:
                deadline.check("the first pass over the log")
            if progress is not None:
                progress(f"diagnose (finding the cases): {count:,} events read")
        key = key_of(event)
        tally = tallies.get(key)
        if tally is None:
            if len(tallies) >= MAX_KEYS:
                raise InvalidArgument(f"{where}: more than {MAX_KEYS:,} associations and sessions; "
                                      "select a time span with --from/--to")
            tally = tallies[key] = Tally(key)
        tally.add(event, count)
    if not tallies:
        said = ", ".join(f"{n} {w}" for w, n in sorted(skipped.items())) or "no rows"
        span = f" within {selection.words()} ({outside} outside it)" if outside else ""
        raise InvalidArgument(f"{what}: no events the model observes{span} ({said})")
    return Survey(path, kind, files, others, skipped, identities, selection, tallies, count, outside)


def _marked(event: Event, key: Key | None) -> Event:
    """``event`` of a slice, marked with what the slice is complete for (SEMANTICS.md, "Cases and slices"): the whole
    log (``key`` None, or the whole log's case), its case's own association or session, or nothing (the events that
    name neither)."""
    if key is None or key == Key("log", WHOLE):
        return event
    if key.kind == "log":
        return replace(event, records=None)
    return replace(event, complete_for=key.kind)


Slice = list[Event] | str
"""A case's events, numbered from 1, or why they are too many to diagnose."""


def slices(found: Survey, cases: Sequence[Tally], deadline: Deadline | None = None) -> list[Slice]:
    """The second pass: each case's events within the span, read again from the files (the first pass keeps no
    events), each slice within the in-memory limits of what is diagnosed; a slice past them says so. Past
    ``deadline``, ``OutOfTime``, as for the first pass."""
    wanted = {t.key: i for i, t in enumerate(cases)}
    whole = any(t.key == Key("log", WHOLE) for t in cases)
    kept: list[list[Event]] = [[] for _ in cases]
    sizes = [0] * len(cases)
    over: dict[int, str] = {}
    skipped: Counter[str] = Counter()
    identities = copy.deepcopy(found.identities)  # bound again in the same order: the same identities
    _, _, _, events = _events(found.path, found.kind, identities, skipped)
    what = f"log {printable_path(found.path)}"
    for count, event in enumerate(events, start=1):
        if deadline is not None and count % CHECK_EVERY == 0:
            deadline.check("the second pass over the log")
        if not found.selection.in_span(event, f"{what}, line {event.line}"):
            continue
        index = 0 if whole else wanted.get(key_of(event))
        if index is None or index in over:
            continue
        part = kept[index]
        part.append(_marked(replace(event, number=len(part) + 1), None if whole else cases[index].key))
        sizes[index] += len(json.dumps(event.to_json()))
        if len(part) > MAX_EVENTS or sizes[index] > MAX_LOG_BYTES:
            over[index] = (f"more than {MAX_EVENTS:,} events (or {MAX_LOG_BYTES:,} bytes of them) in this case, more "
                           "than one diagnosis holds; select a shorter span with --from/--to")
            kept[index] = []
    return [over.get(i, part) for i, part in enumerate(kept)]


__all__ = ["Key", "Selection", "Survey", "Tally", "parse_time", "selection_of", "slices", "survey"]
