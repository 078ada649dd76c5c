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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from regcheck.display import printable_path
from regcheck.errors import InvalidArgument
from regcheck.model.logs import httpproxy, mapimb, rca, rpchttp
from regcheck.model.logs.exchange import LOG_TYPES, Budget, Row, files_of, kind_of, open_regular, rows
from regcheck.model.logs.identities import Identities, read_identities
from regcheck.model.observations import (
    MAX_EVENTS,
    MAX_LOG_BYTES,
    MAX_TEXT,
    REGISTRATION_FAILED,
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

    def notes(self) -> list[str]:
        """What the output says about the reading: files, rows observing nothing the model has, identities."""
        count = f"{self.files} {LOG_TYPES[self.kind]} file{'s' if self.files != 1 else ''}"
        others = f" ({self.others} other files left out)" if self.others else ""
        lines = [f"Read {count}{others}: {len(self.events)} events."]
        if self.skipped:
            said = ", ".join(f"{n} {what}" for what, n in sorted(self.skipped.items()))
            lines.append(f"Skipped, observing nothing the model has: {said}.")
        return lines + self.identities.words() + self._associations()

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
    reader = READERS[kind]

    def every_row() -> Iterator[Row]:
        for file in files:
            yield from rows(file, kind, budget)

    skipped: Counter[str] = Counter()
    events: list[Event] = []
    size = 0
    what = f"log {printable_path(path)}"
    for event in reader(every_row(), identities, skipped):
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
    if process_account is not None and not 0 < len(process_account.strip()) <= 255:
        raise InvalidArgument("--process-account must have 1 to 255 characters")
    account = process_account.strip() if process_account is not None else None
    return (read_identities(identities_file, account, process_identity) if identities_file is not None
            else Identities(process_account=account, process_identity=process_identity))


def read_events(log: Path, form: str | None, columns: str | None, identities_file: Path | None,
                process_account: str | None, process_identity: str) -> tuple[list[Event], list[str]]:
    """The events of ``log`` (an Exchange log, a folder of its files, or JSON Lines / CSV) and, for an Exchange
    log, what the output says about reading it: the one reading ``regcheck diagnose`` and the notebook share."""
    identities = exchange_identities(log, form, columns, identities_file, process_account, process_identity)
    if identities is None:
        return read_log(log, columns=parse_columns(columns) if columns is not None else None, form=form), []
    read = read_exchange(log, form, identities)
    return read.events, read.notes()
