"""The file shape every Exchange log shares: ``#`` header lines, CSV rows named by ``#Fields:``, rotation.

Exchange's logs come from strangers and are large, so a file is streamed one physical line at a time
(each at most :data:`MAX_LINE` bytes, a record at most :data:`MAX_RECORD`), every row is checked against
the ``#Fields:`` line in force, and all files read together hold at most :data:`MAX_TOTAL_BYTES`.
A bad byte, line or row is one :class:`~regcheck.errors.InvalidArgument` naming the file and line.
"""

from __future__ import annotations

import csv
import os
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from regcheck.display import printable, printable_path, shown
from regcheck.errors import InvalidArgument

MAX_LINE = 64 * 1024
"""Bytes of one physical line, at most (an RCA ``failures`` value holds at most 1,500 characters)."""
MAX_RECORD = 256 * 1024
"""Characters of one row, at most, across the line breaks of its quoted values."""
MAX_TOTAL_BYTES = 1024**3
"""Bytes of all the log files one command reads, at most (1 GiB: about a hundred rotated files)."""
MAX_COLUMNS = 256
"""Columns a ``#Fields:`` line may name (HttpProxy logs have about 71)."""
MAX_FILES = 10_000
"""Files a folder of rotated logs may hold."""
HEADERS = ("Software", "Version", "Log-type", "Date", "Fields")
"""The header lines an Exchange log may have, each ``#Name: value``."""
LOG_TYPES = {
    "rca": "RCA Protocol Logs",
    "mapimb": "MAPI Mailbox Protocol Logs",
    "rpchttp": "RpcHttp Log",
    "httpproxy": "HttpProxy Logs",
}
"""Each reader's format name and the ``#Log-type:`` its files have."""
_HEADER = re.compile(r"#([A-Za-z-]{1,32}):\s?(.*)")


@dataclass
class Budget:
    """The bytes all files of one command have read, against :data:`MAX_TOTAL_BYTES`."""

    read: int = 0
    limit: int = MAX_TOTAL_BYTES

    def take(self, count: int, where: str) -> None:
        self.read += count
        if self.read > self.limit:
            raise InvalidArgument(f"{where}: the logs hold more than {self.limit:,} bytes; give fewer files")


@dataclass(frozen=True)
class Row:
    """One CSV row of an Exchange log: its values by column name (compared without case)."""

    file: str  # printable
    line: int  # the line the row starts on
    values: Mapping[str, str] = field(repr=False)

    @property
    def where(self) -> str:
        return f"log {self.file}, line {self.line}"

    def get(self, column: str) -> str:
        """The row's value in ``column`` (stripped), or "" when the ``#Fields:`` line has no such column."""
        return self.values.get(column.lower(), "").strip()


def open_regular(path: Path, what: str) -> int:
    """A read-only descriptor of the regular file at ``path``; a symlink, FIFO, device or folder is refused."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError as exc:
        raise InvalidArgument(f"{what}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InvalidArgument(f"{what} is not a regular file; give a regular file")
    return fd


def lines(path: Path, budget: Budget) -> Iterator[tuple[int, str]]:
    """The physical lines of ``path`` with their numbers, decoded strictly, without their line ends; a
    byte-order mark is allowed as the file's first character only."""
    what = f"log {printable_path(path)}"
    with os.fdopen(open_regular(path, what), "rb") as handle:
        number = 0
        while True:
            try:
                raw = handle.readline(MAX_LINE + 1)
            except OSError as exc:
                raise InvalidArgument(f"{what}: {exc.strerror or exc}") from None
            if not raw:
                return
            number += 1
            where = f"{what}, line {number}"
            budget.take(len(raw), where)
            if len(raw) > MAX_LINE:
                raise InvalidArgument(f"{where}: longer than {MAX_LINE:,} bytes")
            if b"\0" in raw:
                raise InvalidArgument(f"{where}: a NUL byte; this is not a text log")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidArgument(f"{where}: not UTF-8 (byte {exc.start + 1} of the line)") from None
            if number == 1:
                text = text.removeprefix("\ufeff")
            if "\ufeff" in text:
                raise InvalidArgument(f"{where}: a byte-order mark inside the file (two files joined?)")
            yield number, text.removesuffix("\n").removesuffix("\r")


def header_of(path: Path, budget: Budget) -> dict[str, str]:
    """The header lines at the top of ``path`` (``{"Log-type": ...}``), empty when it has none."""
    found: dict[str, str] = {}
    for _, text in lines(path, budget):
        match = _HEADER.fullmatch(text)
        if match is None or len(found) >= len(HEADERS):
            break
        found.setdefault(match.group(1), match.group(2).strip())
    return found


def kind_of(path: Path, budget: Budget) -> str | None:
    """The reader for ``path`` by its ``#Log-type:`` header, or None when it has no Exchange header."""
    log_type = header_of(path, budget).get("Log-type")
    if log_type is None:
        return None
    for kind, name in LOG_TYPES.items():
        if log_type.lower() == name.lower():
            return kind
    raise InvalidArgument(f"log {printable_path(path)}: #Log-type {shown(log_type)} is none regcheck reads; "
                          f"it reads {', '.join(repr(n) for n in LOG_TYPES.values())}")


def files_of(path: Path, kind: str | None, budget: Budget) -> tuple[str, list[Path], int]:
    """The reader and the files to read for ``path``: the file itself, or a folder's files of one log type
    (``kind``, else the type of its first file by name) in time order (their ``#Date:``, then their names);
    with the count of the folder's files of other types, which are left out."""
    if not path.is_dir() or path.is_symlink():
        found = kind_of(path, budget)
        if kind is None and found is None:
            raise InvalidArgument(f"log {printable_path(path)}: no #Log-type header; give --format")
        if kind is not None and found is not None and found != kind:
            raise InvalidArgument(f"log {printable_path(path)} is a {LOG_TYPES[found]!r} file, not {LOG_TYPES[kind]!r}")
        return kind or str(found), [path], 0
    entries: list[Path] = []
    with os.scandir(path) as scan:
        for entry in scan:
            if len(entries) >= MAX_FILES:
                raise InvalidArgument(f"folder {printable_path(path)}: more than {MAX_FILES:,} files")
            if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
                what = "a symlink" if entry.is_symlink() else "not a regular file"
                raise InvalidArgument(f"folder {printable_path(path)}: {shown(entry.name)} is {what}; "
                                      "a folder of logs holds regular files only")
            entries.append(Path(entry.path))
    dated: list[tuple[str, str, Path]] = []
    others = 0
    for file in sorted(entries):
        header = header_of(file, budget)
        found = kind_of(file, budget) if "Log-type" in header else None
        kind = kind or found
        if found is None or found != kind:
            others += 1
            continue
        dated.append((header.get("Date", ""), file.name, file))
    if not dated:
        raise InvalidArgument(f"folder {printable_path(path)}: no Exchange log of a type regcheck reads")
    return str(kind), [file for _, _, file in sorted(dated)], others


def rows(path: Path, log_type: str, budget: Budget) -> Iterator[Row]:
    """The rows of ``path`` by the ``#Fields:`` line in force (a header block may come again after a
    restart); a header line naming another log type, or a row that does not fit its columns, is an error."""
    what = f"log {printable_path(path)}"
    fields: tuple[str, ...] | None = None
    pending: list[str] = []
    start = 0
    size = 0
    for number, text in lines(path, budget):
        where = f"{what}, line {number}"
        if not pending:
            if text.startswith("#"):
                fields = _header_line(text, where, log_type, fields)
                continue
            if not text.strip():
                continue
            start, size = number, 0
        pending.append(text + "\n")
        size += len(text) + 1
        if size > MAX_RECORD:
            raise InvalidArgument(f"{what}, line {start}: a row longer than {MAX_RECORD:,} characters "
                                  "(an unterminated quote?)")
        if sum(part.count('"') for part in pending) % 2:
            continue  # a quoted value goes on past this line
        yield _row(pending, fields, f"{what}, line {start}", printable_path(path), start)
        pending = []
    if pending:
        raise InvalidArgument(f"{what}, line {start}: a quote that never closes")


def _header_line(text: str, where: str, log_type: str, fields: tuple[str, ...] | None) -> tuple[str, ...] | None:
    match = _HEADER.fullmatch(text)
    if match is None or match.group(1) not in HEADERS:
        raise InvalidArgument(f"{where}: {shown(text[:80])} is no header line of an Exchange log "
                              f"({', '.join('#' + h for h in HEADERS)})")
    name, value = match.group(1), match.group(2).strip()
    if name == "Log-type" and value.lower() != LOG_TYPES[log_type].lower():
        raise InvalidArgument(f"{where}: #Log-type {shown(value)} in a {LOG_TYPES[log_type]!r} log")
    if name != "Fields":
        return fields
    names = tuple(part.strip() for part in value.split(","))
    if len(names) > MAX_COLUMNS or not all(names):
        raise InvalidArgument(f"{where}: #Fields: must name 1 to {MAX_COLUMNS} columns, none empty")
    folded = [n.lower() for n in names]
    twice = next((n for n in names if folded.count(n.lower()) > 1), None)
    if twice is not None:
        raise InvalidArgument(f"{where}: #Fields: names the column {shown(twice)} twice")
    return names


def _row(physical: list[str], fields: tuple[str, ...] | None, where: str, file: str, line: int) -> Row:
    if fields is None:
        raise InvalidArgument(f"{where}: a row before any #Fields: line")
    try:
        records = list(csv.reader(physical, strict=True))
    except csv.Error as exc:
        raise InvalidArgument(f"{where}: not CSV ({printable(str(exc))})") from None
    if len(records) != 1:
        raise InvalidArgument(f"{where}: not one CSV row")
    cells = records[0]
    if len(cells) != len(fields):
        raise InvalidArgument(f"{where}: {len(cells)} values, but #Fields: names {len(fields)} columns")
    return Row(file, line, {name.lower(): cell for name, cell in zip(fields, cells, strict=True)})


def need(columns: tuple[str, ...], row: Row) -> None:
    """Refuse a row of a log whose ``#Fields:`` lacks one of ``columns``, naming the first missing one."""
    missing = [c for c in columns if c.lower() not in row.values]
    if missing:
        raise InvalidArgument(f"{row.where}: the #Fields: line has no column {shown(missing[0])}; "
                              f"this log type needs {', '.join(columns)}")
