"""Observation logs: what a client or server log says happened, read strictly, in the model's words.

A log is JSON Lines (one object per line) or CSV (a header row, and ``--columns`` naming which
column holds which field). Every event has a ``call``; ``thread``, ``as``, ``result``,
``association``, ``session`` and ``time`` are optional (regcheck/model/SEMANTICS.md, "Observations"). Logs
come from strangers: the file is read bounded, every line is checked, unknown fields and calls are
errors naming the line, and nothing in a log is ever executed or interpreted beyond these fields.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regcheck.core.result import Trace
from regcheck.display import did_you_mean, printable, printable_path, script_warning, shown
from regcheck.errors import InvalidArgument
from regcheck.files import read_text_limited
from regcheck.model.scenario import SYSTEM, Scenario
from regcheck.model.story import association_guids, current_user, worker_identity

MAX_LOG_BYTES = 4 * 1024 * 1024
MAX_EVENTS = 5_000
MAX_LINE = 8_192
MAX_TEXT = 255

FIELDS = ("call", "thread", "as", "result", "association", "session", "time")
"""The fields of an event, ``call`` first (the only one required)."""
CLIENT_CALLS = (
    "ImpersonateLoggedOnUser", "RevertToSelf", "EcDoConnectEx", "EcDoRpcExt2", "EcDoAsyncConnectEx",
    "EcDoAsyncWaitEx", "EcDoDisconnect", "Connect", "Execute", "NotificationWait", "Disconnect",
)
"""Client calls a log may name: the RPC methods, the thread-token calls and the MAPI/HTTP request types."""
REGISTRATION_FAILED = "Registration of the Association GUID failed"
REGISTRATION_ADMITTED = "Registration admitted"
SERVER_EVENTS = (REGISTRATION_FAILED, REGISTRATION_ADMITTED)
"""The server events: the cache refused a call (a mismatch), or admitted it (registered, a hit, re-registered)."""
ADMITTED = ("registered", "hit", "re-registered")
REGISTRATIONS = "registrations"
"""An RpcHttp or HttpProxy log records every registration the cache makes or refuses (SEMANTICS.md, "Server logs
are complete for what they record")."""
CONNECTIONS = "connections"
"""An RCA or MAPIMB log records every connect and disconnect that reaches the server."""
"""The cache events of a step that a ``Registration admitted`` event observes."""
MISMATCHED = ("mismatch", "mismatch-evicted")
"""The cache events of a step that a registration failure observes."""
MAPI_HTTP = ("Connect", "Execute", "NotificationWait", "Disconnect")
RPC_ONLY = ("EcDoConnectEx", "EcDoRpcExt2", "EcDoAsyncConnectEx", "EcDoAsyncWaitEx", "EcDoDisconnect")

OK = "ok"
CODES = {
    "MAPI_E_NETWORK_ERROR": 0x80040115,
    "ecAccessDenied": 0x80070005,
    "ecRejected": 0x000007EE,
    "NotificationPending": 0x00000001,
}
"""The codes the model's steps return, by name and value; any other well-formed code matches no step."""
SUCCEEDED = ("ok", "parked", "flags=0", "NotificationPending")
"""Step results that an observed ``ok`` matches: the call did not fail."""
SYSTEM_NAMES = ("system", "nt authority\\system", "localsystem", "local system")
_CODE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_CODE_HEX = re.compile(r"0[xX][0-9A-Fa-f]{1,8}")


@dataclass(frozen=True)
class Origin:
    """The log an event of several comes from (regcheck/model/SEMANTICS.md, "Observations", several logs):
    ``name`` as the user named it, ``index`` its place among the logs, and the ``skew`` (seconds) within which
    two logs' times order nothing."""

    name: str
    index: int
    skew: float


@dataclass(frozen=True)
class Event:
    """One line of a log, in canonical spelling: ``call`` as the model names it, ``identity`` with every
    spelling of the local system as ``SYSTEM``, ``result`` as ``ok``, a code's name, or its hex value."""

    number: int  # 1-based, in log order
    line: int  # the line of the file it came from
    call: str
    thread: str | None = None
    identity: str | None = None
    result: str | None = None
    association: str | None = None
    session: str | None = None
    time: str | None = None
    log: Origin | None = None  # the log it comes from, when several are read as one observation
    records: str | None = None  # what its log records in full within its span: REGISTRATIONS, CONNECTIONS or nothing
    complete_for: str = "log"  # for what: the whole "log", or a slice's own "association" or "session"

    @property
    def server(self) -> bool:
        """A server-side event (it may share the step of the client call beside it)."""
        return self.call in SERVER_EVENTS

    @property
    def cache_events(self) -> tuple[str, ...]:
        """The cache events of a step this server event observes (none for a client call)."""
        if self.call == REGISTRATION_FAILED:
            return MISMATCHED
        return ADMITTED if self.call == REGISTRATION_ADMITTED else ()

    def describe(self) -> str:
        """``event 7 (line 9): thread 4412 as alice EcDoRpcExt2 -> MAPI_E_NETWORK_ERROR``, printable."""
        where = f"line {self.line}" if self.log is None else f"{self.log.name}, line {self.line}"
        parts = [f"event {self.number} ({where}):"]
        if self.thread is not None:
            parts.append(f"thread {self.thread}")
        if self.identity is not None:
            parts.append(f"as {self.identity}")
        parts.append(self.call)
        if self.association is not None:
            parts.append(f"on {self.association}")
        if self.result is not None:
            parts.append(f"-> {self.result}")
        return printable(" ".join(parts))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"event": self.number, "line": self.line, "call": self.call}
        for key, value in (("thread", self.thread), ("as", self.identity), ("result", self.result),
                           ("association", self.association), ("session", self.session), ("time", self.time)):
            if value is not None:
                data[key] = value
        if self.log is not None:
            data["log"] = self.log.name
        return data


def read_log(path: Path, *, columns: Mapping[str, str] | None = None, form: str | None = None) -> list[Event]:
    """The events of the log at ``path``: CSV if ``form`` is ``csv`` or the name ends in ``.csv`` (or
    ``columns`` is given), else JSON Lines."""
    what = f"log {printable_path(path)}"
    text = read_text_limited(path, MAX_LOG_BYTES, what=what)
    form = form or ("csv" if columns is not None or path.suffix.lower() == ".csv" else "jsonl")
    if form == "csv":
        return parse_csv(text, columns or {}, what=what)
    if form == "jsonl":
        return parse_jsonl(text, what=what)
    raise InvalidArgument(f"--format: {shown(form)} is not a log format; use jsonl or csv")


def parse_columns(text: str) -> dict[str, str]:
    """``call=Operation,thread=Tid`` as {field: column}; every field known, each named once."""
    mapping: dict[str, str] = {}
    for part in text.split(","):
        key, sep, column = part.partition("=")
        key, column = key.strip(), column.strip()
        if not sep or not key or not column:
            raise InvalidArgument(f"--columns: {shown(part)} is not FIELD=COLUMN (e.g. call=Operation)")
        if key not in FIELDS:
            raise InvalidArgument(f"--columns: unknown field {shown(key)}; fields: {', '.join(FIELDS)}"
                                  f"{did_you_mean(key, FIELDS)}")
        if key in mapping:
            raise InvalidArgument(f"--columns: {key} is named twice")
        mapping[key] = column
    if "call" not in mapping:
        raise InvalidArgument("--columns must name the column of call (e.g. call=Operation)")
    return mapping


def parse_jsonl(text: str, *, what: str = "log") -> list[Event]:
    """Events from JSON Lines: one object per non-blank line, with known fields only."""
    events: list[Event] = []
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines: U+2028 may be inside a string
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        where = f"{what}, line {number}"
        if len(line) > MAX_LINE:
            raise InvalidArgument(f"{where}: longer than {MAX_LINE} characters")
        try:
            record = json.loads(line, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
        except (ValueError, RecursionError) as exc:
            why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise InvalidArgument(f"{where}: not JSON ({printable(why)})") from None
        if not isinstance(record, dict):
            raise InvalidArgument(f"{where}: expected a JSON object, got {_json_kind(record)}")
        events.append(_event(record, len(events) + 1, number, where))
        _check_count(events, what)
    return _nonempty(events, what)


def parse_csv(text: str, columns: Mapping[str, str], *, what: str = "log") -> list[Event]:
    """Events from CSV with a header row; ``columns`` maps fields to headers (default: the field names)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidArgument(f"{what}: empty; a CSV log starts with a header row") from None
    except csv.Error as exc:
        raise InvalidArgument(f"{what}, line 1: not CSV ({printable_path(exc)})") from None
    positions: dict[str, int] = {}
    for number, name in enumerate(header):
        folded = name.strip().lower()
        if folded in positions:
            first = header[positions[folded]]
            raise InvalidArgument(f"{what}, line 1: the columns {shown(first)} and {shown(name)} have one name "
                                  "(column names are compared without case); rename one")
        positions[folded] = number
    wanted = dict(columns) or {f: f for f in FIELDS if f in positions}
    index: dict[str, int] = {}
    for key, column in wanted.items():
        if column.strip().lower() not in positions:
            raise InvalidArgument(f"{what}: no column {shown(column)} (for {key}); {_header_words(header)}"
                                  f"{did_you_mean(column.strip(), header[:MAX_GUESSES])}")
        index[key] = positions[column.strip().lower()]
    if "call" not in index:
        raise InvalidArgument(f"{what}: no call column; name it with --columns call=COLUMN")
    events: list[Event] = []
    try:
        for row in reader:
            number = reader.line_num
            where = f"{what}, line {number}"
            if not any(cell.strip() for cell in row):
                continue
            if any(len(cell) > MAX_LINE for cell in row):
                raise InvalidArgument(f"{where}: a cell is longer than {MAX_LINE} characters")
            record = {key: row[i].strip() for key, i in index.items() if i < len(row) and row[i].strip()}
            events.append(_event(record, len(events) + 1, number, where))
            _check_count(events, what)
    except csv.Error as exc:
        raise InvalidArgument(f"{what}, line {reader.line_num}: not CSV ({printable_path(exc)})") from None
    return _nonempty(events, what)


HEADS = 12
"""Columns of a CSV header that a message names, at most; the others are counted."""
HEAD_CHARACTERS = 300
"""Characters of column names that a message holds, at most (a long name is cut before it is counted)."""
MAX_GUESSES = 1_000
"""Columns of a CSV header compared with a column name that is not there, for a "did you mean"."""


def _header_words(header: Sequence[str]) -> str:
    """``the header has 3 columns: 'a', 'b', 'c'``: the first names, each cut and made printable, as many as
    :data:`HEADS` and :data:`HEAD_CHARACTERS` allow; the others counted."""
    names: list[str] = []
    for name in header[:HEADS]:
        if names and sum(map(len, names)) + len(shown(name)) > HEAD_CHARACTERS:
            break
        names.append(shown(name))
    more = f" and {len(header) - len(names)} more" if len(header) > len(names) else ""
    return f"the header has {len(header)} column{'s' if len(header) != 1 else ''}: {', '.join(names)}{more}"


def _json_kind(value: object) -> str:
    """What a JSON value is, in JSON's words: ``null``, ``an array``, ``a string``, ``a number``, ``true``."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, list):
        return "an array"
    return "a string" if isinstance(value, str) else "a number"


def _event(record: Mapping[str, Any], number: int, line: int, where: str) -> Event:
    unknown = [k for k in record if k not in FIELDS]
    if unknown:
        raise InvalidArgument(f"{where}: unknown field {shown(unknown[0])}; fields: {', '.join(FIELDS)}"
                              f"{did_you_mean(str(unknown[0]), FIELDS)}")
    if "call" not in record:
        raise InvalidArgument(f"{where}: no call (every event names the call it logs)")
    texts = {key: _text(record[key], key, where) for key in FIELDS if key in record}
    return Event(number, line, _call(texts["call"], where), texts.get("thread"), _identity(texts.get("as")),
                 _result(texts.get("result"), where), texts.get("association"), texts.get("session"), texts.get("time"))


def _text(value: object, key: str, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        kind = "null" if value is None else type(value).__name__
        raise InvalidArgument(f"{where}: {key} must be text (or a whole number), not {kind}")
    text = str(value).strip()
    if not text or len(text) > MAX_TEXT:
        raise InvalidArgument(f"{where}: {key} must have 1 to {MAX_TEXT} characters")
    return text


def _call(text: str, where: str) -> str:
    for known in (*CLIENT_CALLS, *SERVER_EVENTS):
        if text.lower() == known.lower():
            return known
    raise InvalidArgument(
        f"{where}: unknown call {shown(text)}; calls: {', '.join(CLIENT_CALLS)}, or the server events "
        f"{REGISTRATION_FAILED!r}, {REGISTRATION_ADMITTED!r}{did_you_mean(text, (*CLIENT_CALLS, *SERVER_EVENTS))}"
    )


def _identity(text: str | None) -> str | None:
    if text is None:
        return None
    return SYSTEM if text.lower() in SYSTEM_NAMES else text


def _result(text: str | None, where: str) -> str | None:
    """``ok``, a known code's name (whatever the spelling or the hex value), or another code as given."""
    if text is None:
        return None
    lowered = text.lower()
    if lowered in ("ok", "s_ok", "success", "0", "0x0", "0x00000000"):
        return OK
    for name in CODES:
        if lowered == name.lower():
            return name
    if _CODE_HEX.fullmatch(text):
        value = int(text, 16)
        return next((name for name, code in CODES.items() if code == value), f"0x{value:08X}")
    if _CODE_NAME.fullmatch(text):
        return text
    raise InvalidArgument(f"{where}: result {shown(text)} is neither ok, a code's name nor a hex code")


def _no_duplicates(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for key, value in pairs:
        if key in record:
            raise ValueError(f"the field {key!r} appears twice")
        record[key] = value
    return record


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _check_count(events: list[Event], what: str) -> None:
    if len(events) > MAX_EVENTS:
        raise InvalidArgument(f"{what}: more than {MAX_EVENTS} events; cut the log to the failure")


def _nonempty(events: list[Event], what: str) -> list[Event]:
    if not events:
        raise InvalidArgument(f"{what}: no events")
    return events


NAMED = (("thread", "thread"), ("identity", "identity"), ("association", "association"), ("session", "session"))
"""The fields of an event that name something, with their words in a warning."""


def name_warnings(events: Sequence[Event]) -> list[str]:
    """A warning for each name in the log (thread, identity, association, session) that mixes scripts or
    holds invisible characters: ``аlice`` with a Cyrillic ``а`` is another identity than ``alice``, and
    binds to another name of the model, which changes the diagnosis."""
    warnings: list[str] = []
    seen: set[tuple[str, str]] = set()
    for event in events:
        for field, words in NAMED:
            value = getattr(event, field)
            if value is None or (field, value) in seen:
                continue
            seen.add((field, value))
            warning = script_warning(f"{words} of event {event.number} (line {event.line})", value)
            if warning is not None:
                warnings.append(warning)
    return warnings


def log_of(scenario: Scenario, trace: Trace, *, time: Callable[[int], str] | None = None,
           spell: Callable[[str], str] | None = None) -> list[Event]:
    """The full log of an execution, as a client and a server would write it: every client call a log
    may name, then a registration failure after each call the cache refused; a thread-token call names
    the identity it takes or leaves and its job's session (regcheck/model/SEMANTICS.md). Thread, identity,
    association and session names are spelled as a log spells them (``T1``, ``CONTOSO\\alice``, a GUID),
    not as the model does, so reading the log back has to bind them. ``time(step)`` gives each event its
    step's time (else none); ``spell`` the GUID of an association name ``gN`` (else :func:`guid`)."""
    spell = spell or guid
    guids = association_guids(scenario, trace)
    threads: dict[str, str] = {}
    events: list[Event] = []

    def add(**fields: Any) -> None:
        events.append(Event(len(events) + 1, len(events) + 1, **fields))

    for index, step in enumerate(trace.steps):
        labels = step.labels
        message = str(labels.get("message", step.action))
        if message not in CLIENT_CALLS:
            continue
        thread = threads.setdefault(str(labels.get("thread")), f"T{len(threads) + 1}")
        context = str(labels.get("context", "-"))
        identity = None if context == "-" else ("NT AUTHORITY\\SYSTEM" if context == SYSTEM else f"CONTOSO\\{context}")
        association = int(labels.get("association", 0))
        on = spell(guids[index][association]) if association in guids[index] else None
        result = str(labels.get("result", "ok"))
        params = dict(step.params)
        session = params.get("session", params.get("worker"))
        if step.action in ("Impersonate", "RevertToSelf"):  # the identity taken or left; the job's session
            w, before = int(params["worker"]), trace.states[index]
            user = current_user(scenario, before, w)
            context = user if step.action == "Impersonate" else worker_identity(scenario, before, w)
            identity = "NT AUTHORITY\\SYSTEM" if context == SYSTEM else f"CONTOSO\\{context}"
            per_user = scenario.session_reuse == "per-user" and user in scenario.users
            session = scenario.session_of_user(user) if per_user else w
        add(call=_call(message, "a trace"), thread=thread, identity=_identity(identity),
            result=OK if result in SUCCEEDED else result, association=on,
            session=None if session is None else f"S{session}", time=None if time is None else time(index))
        if labels.get("cache") in ("mismatch", "mismatch-evicted"):
            add(call=REGISTRATION_FAILED, association=on, time=None if time is None else time(index))
    return events


def guid(name: str) -> str:
    """A GUID for the renderer's association name ``gN`` (the same name, the same GUID)."""
    return f"{int(name[1:]):08x}-0000-4000-8000-000000000000"


def to_jsonl(events: Sequence[Event]) -> str:
    """``events`` as a JSON Lines log that :func:`parse_jsonl` reads back to the same events."""
    lines = []
    for event in events:
        record = {k: v for k, v in event.to_json().items() if k in FIELDS}
        lines.append(json.dumps(record, ensure_ascii=False))
    return "".join(line + "\n" for line in lines)
