"""Read an Exchange log, or a folder of its rotated files, into the events ``regcheck diagnose`` matches.

The reader is chosen from the ``#Log-type:`` header (or forced); the limits on what is diagnosed (4 MiB,
5,000 events) apply to the events the rows map to, not to the files, which are streamed
(regcheck/model/logs/exchange.py bounds them).
"""

from __future__ import annotations

import json
import os
import stat
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from regcheck.display import printable_path
from regcheck.errors import InvalidArgument
from regcheck.model.logs import httpproxy, mapimb, rca, rpchttp
from regcheck.model.logs.exchange import LOG_TYPES, Budget, Row, files_of, kind_of, open_regular, rows
from regcheck.model.logs.identities import Identities, read_identities
from regcheck.model.logs.merge import DEFAULT_SKEW, check_skew, merge
from regcheck.model.observations import (
    CONNECTIONS,
    MAX_EVENTS,
    MAX_LOG_BYTES,
    MAX_TEXT,
    REGISTRATION_FAILED,
    REGISTRATIONS,
    Event,
    parse_columns,
    read_log,
)

Reader = Callable[[Iterator[Row], Identities, Counter[str]], Iterator[Event]]
READERS: dict[str, Reader] = {
    "rca": rca.events,
    "mapimb": mapimb.events,
    "rpchttp": rpchttp.events,
    "httpproxy": httpproxy.events,
}
"""Each format's reader."""
RECORDS = {"rca": CONNECTIONS, "mapimb": CONNECTIONS, "rpchttp": REGISTRATIONS, "httpproxy": REGISTRATIONS}
"""What each format records in full within its span (regcheck/model/SEMANTICS.md, "Server logs are complete")."""


def read_rows(kind: str, rows_of: Iterator[Row], identities: Identities, skipped: Counter[str]) -> Iterator[Event]:
    """The events of a ``kind`` log's rows, each marked with what its log records in full."""
    for event in READERS[kind](rows_of, identities, skipped):
        yield replace(event, records=RECORDS[kind])
FORMATS = tuple(LOG_TYPES)
SHOWN = 8
"""Associations the output names, at most; the others are counted."""


@dataclass(frozen=True)
class ExchangeLog:
    """The events of one Exchange log (file or folder), with what reading it left out and bound."""

    events: list[Event]
    kind: str
    files: int
    others: int
    skipped: Counter[str]
    identities: Identities

    def notes(self, identities: bool = True) -> list[str]:
        """What the output says about the reading: files, rows observing nothing the model has, identities (unless
        told not to: several logs share theirs, said once)."""
        count = f"{self.files} {LOG_TYPES[self.kind]} file{'s' if self.files != 1 else ''}"
        others = f" ({self.others} other files left out)" if self.others else ""
        lines = [f"Read {count}{others}: {len(self.events)} events."]
        if self.skipped:
            said = ", ".join(f"{n} {what}" for what, n in sorted(self.skipped.items()))
            lines.append(f"Skipped, observing nothing the model has: {said}.")
        return lines + (self.identities.words() if identities else []) + self._associations()

    def _associations(self) -> list[str]:
        """One line naming each association (the first :data:`SHOWN`), its identities and its failures."""
        seen: dict[str, tuple[list[str], Counter[str]]] = {}
        for event in self.events:
            if event.association is None:
                continue
            names, counts = seen.setdefault(event.association, ([], Counter()))
            if event.identity is not None and event.identity not in names:
                names.append(event.identity)
            counts["failed" if event.call == REGISTRATION_FAILED else "other"] += 1
        said = [f"{guid} ({', '.join(names) or 'no identity named'}; {counts['failed']} registration failures)"
                for guid, (names, counts) in list(seen.items())[:SHOWN]]
        more = f" and {len(seen) - SHOWN} more" if len(seen) > SHOWN else ""
        return [f"Associations: {'; '.join(said)}{more}"] if said else []


def is_exchange(path: Path) -> bool:
    """Whether ``path`` is a folder or a regular file that starts with an Exchange log's header (anything else
    is left to the JSON Lines and CSV reader, which names what it is)."""
    try:
        mode = path.lstat().st_mode
    except OSError:
        return False
    if stat.S_ISDIR(mode):
        return True
    if not stat.S_ISREG(mode):
        return False
    with os.fdopen(open_regular(path, f"log {printable_path(path)}"), "rb") as handle:
        if not handle.read(4).removeprefix(b"\xef\xbb\xbf").startswith(b"#"):
            return False
    return kind_of(path, Budget()) is not None


def read_exchange(path: Path, kind: str | None, identities: Identities) -> ExchangeLog:
    """The events of the Exchange log at ``path`` (a file, or a folder of rotated files)."""
    budget = Budget()
    kind, files, others = files_of(path, kind, budget)

    def every_row() -> Iterator[Row]:
        for file in files:
            yield from rows(file, kind, budget)

    skipped: Counter[str] = Counter()
    events: list[Event] = []
    size = 0
    what = f"log {printable_path(path)}"
    for event in read_rows(kind, every_row(), identities, skipped):
        for value in (event.identity, event.association, event.session, event.time, event.result):
            if value is not None and len(value) > MAX_TEXT:
                raise InvalidArgument(f"{what}, line {event.line}: a value longer than {MAX_TEXT} characters")
        events.append(replace(event, number=len(events) + 1))
        size += len(json.dumps(event.to_json()))
        if len(events) > MAX_EVENTS or size > MAX_LOG_BYTES:
            raise InvalidArgument(f"{what}: more than {MAX_EVENTS:,} events (or {MAX_LOG_BYTES:,} bytes of them) "
                                  "observe the model; cut the log to the failure")
    if not events:
        said = ", ".join(f"{n} {w}" for w, n in sorted(skipped.items())) or "no rows"
        raise InvalidArgument(f"{what}: no events the model observes ({said})")
    return ExchangeLog(events, kind, len(files), others, skipped, identities)


def exchange_identities(log: Path, form: str | None, columns: str | None, identities_file: Path | None,
                        process_account: str | None, process_identity: str) -> Identities | None:
    """How an Exchange log's spellings will bind (``--identities``, ``--process-account``), or None when ``log``
    is JSON Lines or CSV (which names its identities itself; those options are then refused)."""
    exchange = form in FORMATS or (form is None and columns is None and is_exchange(log))
    if not exchange:
        if identities_file is not None or process_account is not None:
            raise InvalidArgument("--identities and --process-account are for Exchange's logs; this log names "
                                  "its identities itself")
        if log.is_dir():
            raise InvalidArgument(f"log {printable_path(log)} is a folder; a folder is read as an Exchange log's files")
        return None
    if columns is not None:
        raise InvalidArgument("--columns is for a CSV log; an Exchange log names its columns in #Fields:")
    return _identities(identities_file, process_account, process_identity)


def read_events(log: Path, form: str | None, columns: str | None, identities_file: Path | None,
                process_account: str | None, process_identity: str) -> tuple[list[Event], list[str]]:
    """The events of ``log`` (an Exchange log, a folder of its files, or JSON Lines / CSV) and, for an Exchange
    log, what the output says about reading it: the one reading ``regcheck diagnose`` and the notebook share."""
    identities = exchange_identities(log, form, columns, identities_file, process_account, process_identity)
    if identities is None:
        return read_log(log, columns=parse_columns(columns) if columns is not None else None, form=form), []
    read = read_exchange(log, form, identities)
    return read.events, read.notes()


def _identities(identities_file: Path | None, process_account: str | None, process_identity: str) -> Identities:
    """How the spellings of Exchange's logs bind: ``--identities``, ``--process-account``, the process identity."""
    if process_account is not None and not 0 < len(process_account.strip()) <= 255:
        raise InvalidArgument("--process-account must have 1 to 255 characters")
    account = process_account.strip() if process_account is not None else None
    return (read_identities(identities_file, account, process_identity) if identities_file is not None
            else Identities(process_account=account, process_identity=process_identity))


MAX_LOGS = 64
"""Logs one diagnosis reads together, at most."""


def read_logs(logs: Sequence[Path], form: str | None, columns: str | None, identities_file: Path | None,
              process_account: str | None, process_identity: str,
              skew: float = DEFAULT_SKEW) -> tuple[list[Event], list[str]]:
    """The events of several logs as one observation (``merge``), and what the output says about reading them:
    one log is :func:`read_events`; each of several is read as that one would be (``form`` for every one; an
    Exchange log is told by its header, and ``columns`` is for the others), and where any is Exchange's, every spelling of an identity, the client logs' too, binds through one
    set of identities (so ``CONTOSO\\alice`` in the service's log is the ``alice`` of the server's)."""
    check_skew(skew)
    if not logs:
        raise InvalidArgument("no log given: name one or more log files or folders")
    if len(logs) == 1:
        return read_events(logs[0], form, columns, identities_file, process_account, process_identity)
    if len(logs) > MAX_LOGS:
        raise InvalidArgument(f"{len(logs)} logs; at most {MAX_LOGS} are read together")
    _distinct(logs)
    exchange = [form in FORMATS or (form is None and is_exchange(log)) for log in logs]  # --columns: for the others
    if not any(exchange):
        if identities_file is not None or process_account is not None:
            raise InvalidArgument("--identities and --process-account are for Exchange's logs; these logs name "
                                  "their identities themselves")
        identities = None
    else:
        identities = _identities(identities_file, process_account, process_identity)
    parts: list[tuple[str, list[Event]]] = []
    notes: list[str] = []
    for log, theirs in zip(logs, exchange, strict=True):
        name = printable_path(log)
        if theirs:
            assert identities is not None
            read = read_exchange(log, form, identities)
            parts.append((name, read.events))
            notes += [f"{name}: {line}" for line in read.notes(identities=False)]
            continue
        if log.is_dir():
            raise InvalidArgument(f"log {name} is a folder; a folder is read as an Exchange log's files")
        events = read_log(log, columns=parse_columns(columns) if columns is not None else None, form=form)
        if identities is not None:  # bound as the server's logs bind them
            events = [replace(e, identity=None if e.identity is None else identities.resolve(e.identity))
                      for e in events]
        parts.append((name, events))
        notes.append(f"{name}: read {len(events)} events.")
    merged = merge(parts, skew)
    untimed = [name for name, events in parts if all(e.time is None for e in events)]
    said = (f"; {', '.join(untimed)} {'has' if len(untimed) == 1 else 'have'} no times, so "
            f"{'it is' if len(untimed) == 1 else 'they are'} ordered only within {'itself' if len(untimed) == 1 else 'themselves'}"
            if untimed else "")
    notes.append(f"Read {len(logs)} logs as one observation of {len(merged)} events: each in its own order; across "
                 f"logs, ordered only where their times differ by more than {skew:g} s{said}.")
    return merged, notes + (identities.words() if identities is not None else [])


def _distinct(logs: Sequence[Path]) -> None:
    """One clear line when a log is named twice (by any path) or lies inside a folder also named."""
    seen: list[tuple[Path, Path]] = []
    for log in logs:
        try:
            real = log.resolve(strict=True)
        except (OSError, RuntimeError):
            raise InvalidArgument(f"log {printable_path(log)}: no such file or folder") from None
        for given, other in seen:
            first, second = printable_path(given), printable_path(log)
            if real == other or os.path.samefile(real, other):
                raise InvalidArgument(f"{first} and {second} name the same log: name each log once")
            if other.is_dir() and real.is_relative_to(other):
                raise InvalidArgument(f"log {second} is inside the folder {first}, which reads the files in it: "
                                      "name each log once")
            if real.is_dir() and other.is_relative_to(real):
                raise InvalidArgument(f"the folder {second} holds the log {first}, and reads the files in it: "
                                      "name each log once")
        seen.append((log, real))
