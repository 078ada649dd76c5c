"""Observation logs (regcheck/model/observations.py) and the error paths of ``regcheck diagnose``.

Logs come from strangers: every bad line is an :class:`InvalidArgument` naming its line, files are
read bounded and only if regular, and the CLI turns each error into one line on stderr with exit 2,
user text printed literally (no markup, control characters made visible). Nothing here searches a
model: every CLI case fails before the search starts, so the whole file runs in a few seconds.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regcheck.display import shown
from regcheck.errors import InvalidArgument
from regcheck.model import observations
from regcheck.model.observations import (
    CLIENT_CALLS,
    FIELDS,
    MAX_LINE,
    MAX_TEXT,
    OK,
    REGISTRATION_ADMITTED,
    REGISTRATION_FAILED,
    SERVER_EVENTS,
    Event,
    name_warnings,
    parse_columns,
    parse_csv,
    parse_jsonl,
    read_log,
    to_jsonl,
)
from regcheck.model.scenario import SYSTEM
from tests.clirun import run

CALL_LIST = ", ".join(CLIENT_CALLS)
FIELD_LIST = ", ".join(FIELDS)
GOOD = '{"call": "Connect"}'
"""A valid line, put before a bad one so that the error has to name a line other than the first."""


def jsonl_error(text: str) -> str:
    """The message of the error that parsing ``text`` as JSON Lines raises."""
    with pytest.raises(InvalidArgument) as info:
        parse_jsonl(text)
    return str(info.value)


def csv_error(text: str, columns: dict[str, str] | None = None) -> str:
    """The message of the error that parsing ``text`` as CSV raises."""
    with pytest.raises(InvalidArgument) as info:
        parse_csv(text, columns or {})
    return str(info.value)


def fields(event: Event) -> tuple[str | None, ...]:
    """Every field of an event but its number and line."""
    return (event.call, event.thread, event.identity, event.result, event.association, event.session, event.time)


@pytest.fixture
def no_hang() -> Iterator[None]:
    """Fail, instead of hanging the run, if the test blocks for more than 5 seconds (a FIFO opened blocking)."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError("blocked for 5 s: a read that should have been refused")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, 5)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------------------------
# JSON Lines: valid logs


FULL = (
    '{"call": "EcDoConnectEx", "thread": "T1", "as": "CONTOSO\\\\alice", "result": "ok", '
    '"association": "00000001-0000-4000-8000-000000000000", "session": "S1", "time": "2024-05-01T10:00:00Z"}\n'
    '{"call": "EcDoRpcExt2", "thread": "T1", "result": "MAPI_E_NETWORK_ERROR"}\n'
    '{"call": "Registration of the Association GUID failed", "association": "00000001-0000-4000-8000-000000000000"}\n'
)


def test_valid_lines_round_trip() -> None:
    events = parse_jsonl(FULL)
    assert [fields(e) for e in events] == [
        ("EcDoConnectEx", "T1", "CONTOSO\\alice", OK, "00000001-0000-4000-8000-000000000000", "S1",
         "2024-05-01T10:00:00Z"),
        ("EcDoRpcExt2", "T1", None, "MAPI_E_NETWORK_ERROR", None, None, None),
        (REGISTRATION_FAILED, None, None, None, "00000001-0000-4000-8000-000000000000", None, None),
    ]
    assert [e.server for e in events] == [False, False, True]
    written = to_jsonl(events)
    assert parse_jsonl(written) == events
    assert written == FULL  # canonical events are written back as they were read
    assert all(line.startswith("{") for line in written.splitlines())
    assert json.loads(written.splitlines()[1]) == {"call": "EcDoRpcExt2", "thread": "T1",
                                                   "result": "MAPI_E_NETWORK_ERROR"}


def test_describe_and_to_json() -> None:
    text = "\n" + GOOD + "\n\n" + '{"call": "ecdorpcext2", "thread": 4412, "as": "alice", "result": "0x80040115"}\n'
    event = parse_jsonl(text)[1]
    assert event.describe() == "event 2 (line 4): thread 4412 as alice EcDoRpcExt2 -> MAPI_E_NETWORK_ERROR"
    assert event.to_json() == {"event": 2, "line": 4, "call": "EcDoRpcExt2", "thread": "4412", "as": "alice",
                               "result": "MAPI_E_NETWORK_ERROR"}


@pytest.mark.parametrize("given_call, canonical", [
    ("connect", "Connect"),
    ("CONNECT", "Connect"),
    ("ecdorpcext2", "EcDoRpcExt2"),
    ("ECDOASYNCWAITEX", "EcDoAsyncWaitEx"),
    ("impersonateloggedonuser", "ImpersonateLoggedOnUser"),
    ("  RevertToSelf  ", "RevertToSelf"),
    ("registration of the association guid failed", REGISTRATION_FAILED),
])
def test_call_names_are_case_insensitive(given_call: str, canonical: str) -> None:
    [event] = parse_jsonl(json.dumps({"call": given_call}))
    assert event.call == canonical


@pytest.mark.parametrize("identity, canonical", [
    ("NT AUTHORITY\\SYSTEM", SYSTEM),
    ("nt authority\\system", SYSTEM),
    ("LocalSystem", SYSTEM),
    ("Local System", SYSTEM),
    ("system", SYSTEM),
    ("SYSTEM", SYSTEM),
    ("CONTOSO\\alice", "CONTOSO\\alice"),
    ("alice", "alice"),
    ("NT AUTHORITY\\NETWORK SERVICE", "NT AUTHORITY\\NETWORK SERVICE"),
])
def test_identities_of_the_local_system_become_system(identity: str, canonical: str) -> None:
    [event] = parse_jsonl(json.dumps({"call": "Connect", "as": identity}))
    assert event.identity == canonical


@pytest.mark.parametrize("result, canonical", [
    ("0x80040115", "MAPI_E_NETWORK_ERROR"),
    (" 0x80040115 ", "MAPI_E_NETWORK_ERROR"),
    ("mapi_e_network_error", "MAPI_E_NETWORK_ERROR"),
    ("0x80070005", "ecAccessDenied"),
    ("ECACCESSDENIED", "ecAccessDenied"),
    ("0x7ee", "ecRejected"),
    ("0x00000001", "NotificationPending"),
    ("0x0", OK),
    ("0x00000000", OK),
    ("0", OK),
    (0, OK),
    ("S_OK", OK),
    ("s_ok", OK),
    ("Success", OK),
    ("OK", OK),
    ("0x8004010F", "0x8004010F"),
    ("0x8004010f", "0x8004010F"),
    ("0x5", "0x00000005"),
    ("ecNotFound", "ecNotFound"),
])
def test_results_in_canonical_spelling(result: object, canonical: str) -> None:
    [event] = parse_jsonl(json.dumps({"call": "EcDoRpcExt2", "result": result}))
    assert event.result == canonical


def test_whole_numbers_become_text_and_text_is_stripped() -> None:
    [event] = parse_jsonl('{"call": "Execute", "thread": 4412, "session": 7, "time": "  10:00  "}')
    assert (event.thread, event.session, event.time) == ("4412", "7", "10:00")


def test_blank_lines_are_skipped_and_events_numbered_in_order() -> None:
    text = "\n   \n" + GOOD + "\r\n\t\n" + '{"call": "Execute"}' + "\n\n\n" + '{"call": "Disconnect"}'
    events = parse_jsonl(text)
    assert [(e.number, e.line, e.call) for e in events] == [(1, 3, "Connect"), (2, 5, "Execute"),
                                                           (3, 8, "Disconnect")]


def test_text_of_the_largest_size_and_a_line_of_the_largest_length_are_read() -> None:
    [event] = parse_jsonl(json.dumps({"call": "Connect", "thread": "t" * MAX_TEXT}))
    assert event.thread == "t" * MAX_TEXT
    line = GOOD[:-1] + " " * (MAX_LINE - len(GOOD)) + "}"
    assert len(line) == MAX_LINE
    assert [e.call for e in parse_jsonl(line)] == ["Connect"]


def test_what_names_the_log() -> None:
    with pytest.raises(InvalidArgument, match=r"^log client\.jsonl, line 1: unknown call 'x'"):
        parse_jsonl('{"call": "x"}', what="log client.jsonl")


# --------------------------------------------------------------------------------------------
# JSON Lines: bad lines, each an error naming its line


BAD_LINES = {
    "not JSON": ('{"call": ', "not JSON (Expecting value: line 1 column 10 (char 9))"),
    "trailing garbage": (GOOD + " x", "not JSON (Extra data"),
    "an array": ('["Connect"]', "expected a JSON object, got an array"),
    "a string": ('"Connect"', "expected a JSON object, got a string"),
    "a number": ("17", "expected a JSON object, got a number"),
    "null": ("null", "expected a JSON object, got null"),
    "false": ("false", "expected a JSON object, got false"),
    "duplicate key": ('{"call": "Connect", "call": "Execute"}', "not JSON (the field 'call' appears twice)"),
    "unknown field": ('{"call": "Connect", "user": "alice"}', f"unknown field 'user'; fields: {FIELD_LIST}"),
    "a field's case": ('{"Call": "Connect"}', f"unknown field 'Call'; fields: {FIELD_LIST}"),
    "missing call": ('{"thread": "T1"}', "no call (every event names the call it logs)"),
    "empty object": ("{}", "no call (every event names the call it logs)"),
    "unknown call": ('{"call": "EcDoFrobnicate"}',
                     f"unknown call 'EcDoFrobnicate'; calls: {CALL_LIST}, or the server events '{REGISTRATION_FAILED}', '{REGISTRATION_ADMITTED}'"),
    "a number as call": ('{"call": 5}', "unknown call '5'"),
    "result with a space": ('{"call": "Connect", "result": "foo bar"}',
                            "result 'foo bar' is neither ok, a code's name nor a hex code"),
    "result of 9 hex digits": ('{"call": "Connect", "result": "0x123456789"}',
                               "result '0x123456789' is neither ok, a code's name nor a hex code"),
    "negative result": ('{"call": "Connect", "result": -1}', "result '-1' is neither ok, a code's name nor a hex code"),
    "a list": ('{"call": "Connect", "thread": ["T1"]}', "thread must be text (or a whole number), not list"),
    "an object": ('{"call": "Connect", "as": {"user": "alice"}}', "as must be text (or a whole number), not dict"),
    "a bool": ('{"call": "Connect", "session": true}', "session must be text (or a whole number), not bool"),
    "a float": ('{"call": "Connect", "thread": 1.5}', "thread must be text (or a whole number), not float"),
    "a null": ('{"call": "Connect", "time": null}', "time must be text (or a whole number), not null"),
    "a list as call": ('{"call": ["Connect"]}', "call must be text (or a whole number), not list"),
    "empty text": ('{"call": "Connect", "thread": ""}', f"thread must have 1 to {MAX_TEXT} characters"),
    "blank text": ('{"call": "Connect", "association": "   "}', f"association must have 1 to {MAX_TEXT} characters"),
    "empty call": ('{"call": ""}', f"call must have 1 to {MAX_TEXT} characters"),
    "text too long": (json.dumps({"call": "Connect", "thread": "t" * (MAX_TEXT + 1)}),
                      f"thread must have 1 to {MAX_TEXT} characters"),
    "number too long": ('{"call": "Connect", "thread": ' + "9" * (MAX_TEXT + 1) + "}",
                        f"thread must have 1 to {MAX_TEXT} characters"),
    "NaN": ('{"call": "Connect", "thread": NaN}', "not JSON (NaN is not JSON)"),
    "Infinity": ('{"call": "Connect", "thread": Infinity}', "not JSON (Infinity is not JSON)"),
    "-Infinity": ('{"call": "Connect", "thread": -Infinity}', "not JSON (-Infinity is not JSON)"),
    "raw control character": ('{"call": "Con\x01nect"}', "not JSON (Invalid control character"),
    "line too long": ("x" * (MAX_LINE + 1), f"longer than {MAX_LINE} characters"),
    "valid JSON, too long": (GOOD[:-1] + " " * (MAX_LINE - len(GOOD) + 1) + "}", f"longer than {MAX_LINE} characters"),
}


@pytest.mark.parametrize("line, message", list(BAD_LINES.values()), ids=list(BAD_LINES))
def test_bad_line_names_its_line(line: str, message: str) -> None:
    error = jsonl_error(GOOD + "\n\n" + line + "\n" + GOOD + "\n")
    assert error.startswith(f"log, line 3: {message}"), error


def test_the_first_bad_line_is_the_one_named() -> None:
    assert jsonl_error(GOOD + '\n{"call": "a"}\n{"call": "b"}\n').startswith("log, line 2: unknown call 'a'")


def test_too_many_events(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(observations, "MAX_EVENTS", 3)
    assert len(parse_jsonl((GOOD + "\n") * 3)) == 3
    assert jsonl_error((GOOD + "\n") * 4) == "log: more than 3 events; cut the log to the failure"
    assert csv_error("call\n" + "Connect\n" * 4) == "log: more than 3 events; cut the log to the failure"


@pytest.mark.parametrize("text", ["", "\n", "  \n\t\n\r\n"], ids=["empty", "newline", "blank lines"])
def test_a_log_without_events(text: str) -> None:
    assert jsonl_error(text) == "log: no events"


def test_nested_json_is_an_ordinary_error() -> None:
    # Only nesting the decoder can handle: "[" * 4000 + "]" * 4000 fits in MAX_LINE but raises
    # RecursionError out of json.loads, which parse_jsonl does not turn into InvalidArgument.
    assert jsonl_error("[" * 100 + "]" * 100) == "log, line 1: expected a JSON object, got an array"
    assert jsonl_error('{"call": ' * 100 + "1" + "}" * 100).startswith("log, line 1: call must be text")


# --------------------------------------------------------------------------------------------
# CSV


def test_csv_with_the_default_column_names() -> None:
    text = (
        "call,thread,as,result,association,session,time\n"
        "EcDoConnectEx,T1,NT AUTHORITY\\SYSTEM,0x0,g-1,S1,10:00\n"
        "\n"
        " , \n"
        "ecdorpcext2,T1,,0x80040115,,,\n"
    )
    events = parse_csv(text, {})
    assert [(e.number, e.line) for e in events] == [(1, 2), (2, 5)]
    assert [fields(e) for e in events] == [
        ("EcDoConnectEx", "T1", SYSTEM, OK, "g-1", "S1", "10:00"),
        ("EcDoRpcExt2", "T1", None, "MAPI_E_NETWORK_ERROR", None, None, None),  # empty cells are absent
    ]


def test_csv_with_some_default_columns_and_short_rows() -> None:
    events = parse_csv("CALL,Result,ignored\nconnect,S_OK,whatever\nExecute\n", {})
    assert [fields(e) for e in events] == [("Connect", None, None, OK, None, None, None),
                                           ("Execute", None, None, None, None, None, None)]


def test_csv_with_mapped_columns() -> None:
    mapping = parse_columns("call=Operation,thread=Tid,as=User,result=Status")
    assert mapping == {"call": "Operation", "thread": "Tid", "as": "User", "result": "Status"}
    text = (
        "Time,Operation,Tid,User,Status,Detail,call\n"
        "10:00,EcDoConnectEx,4412,LocalSystem,0x80040115,first try,Disconnect\n"
        '10:01,EcDoRpcExt2,4412,"CONTOSO\\alice",0x8004010F,"a, b",Disconnect\n'
    )
    events = parse_csv(text, mapping)
    assert [fields(e) for e in events] == [
        ("EcDoConnectEx", "4412", SYSTEM, "MAPI_E_NETWORK_ERROR", None, None, None),
        ("EcDoRpcExt2", "4412", "CONTOSO\\alice", "0x8004010F", None, None, None),
    ]  # Time, Detail and the unmapped "call" column are ignored


def test_csv_headers_are_case_insensitive() -> None:
    events = parse_csv(" OPERATION ,tid\nconnect,7\n", parse_columns(" call = operation , thread = TID "))
    assert [fields(e) for e in events] == [("Connect", "7", None, None, None, None, None)]


def test_csv_lines_count_quoted_line_breaks() -> None:
    text = 'call,time\nConnect,"10:00\n10:01"\nbogus,1\n'
    assert csv_error(text).startswith("log, line 4: unknown call 'bogus'")
    events = parse_csv('call,time\nConnect,"10:00\n10:01"\nExecute,1\n', {})
    assert [(e.number, e.line, e.time) for e in events] == [(1, 3, "10:00\n10:01"), (2, 4, "1")]


@pytest.mark.parametrize("text, message", [
    ("call", "--columns: 'call' is not FIELD=COLUMN (e.g. call=Operation)"),
    ("call=", "--columns: 'call=' is not FIELD=COLUMN (e.g. call=Operation)"),
    ("=Operation", "--columns: '=Operation' is not FIELD=COLUMN (e.g. call=Operation)"),
    ("", "--columns: '' is not FIELD=COLUMN (e.g. call=Operation)"),
    ("call=Operation,", "--columns: '' is not FIELD=COLUMN (e.g. call=Operation)"),
    ("call=Operation,user=User", f"--columns: unknown field 'user'; fields: {FIELD_LIST}"),
    ("call=Operation,thraed=Tid", f"--columns: unknown field 'thraed'; fields: {FIELD_LIST}; did you mean 'thread'?"),
    ("call=Operation,thread=Tid,call=Op", "--columns: call is named twice"),
    ("thread=Tid,as=User", "--columns must name the column of call (e.g. call=Operation)"),
    ("call=a\x1bb,x\x1by=1", "--columns: unknown field " + shown("x\x1by") + "; fields: " + FIELD_LIST),
])
def test_parse_columns_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_columns(text)
    assert str(info.value) == message


def test_a_mapped_column_missing_from_the_header() -> None:
    error = csv_error("Operation,Tid\nConnect,1\n", parse_columns("call=Operation,as=User"))
    assert error == "log: no column 'User' (for as); the header has 2 columns: 'Operation', 'Tid'"


def test_a_missing_column_offers_the_closest_one() -> None:
    error = csv_error("Operation,Tid\nConnect,1\n", parse_columns("call=Operatoin"))
    assert error == "log: no column 'Operatoin' (for call); the header has 2 columns: 'Operation', 'Tid'; " \
                    "did you mean 'Operation'?"


def test_a_wide_header_is_echoed_cut() -> None:
    header = ",".join(["x" * 10_000, *(f"c{i}" for i in range(100_000))])
    error = csv_error(header + "\n1\n", parse_columns("call=Operation"))
    assert error.startswith("log: no column 'Operation' (for call); the header has 100001 columns: 'xxx")
    assert error.endswith("'c10' and 99989 more")
    assert "(10002 characters)" in error and len(error) < 600


def test_a_header_of_long_names_with_spaces_is_echoed_cut() -> None:
    header = ",".join(f"{i} " + "ab " * 40_000 for i in range(20))  # words too short for brief() to cut
    error = csv_error(header + "\n1\n", parse_columns("call=Operation"))
    assert error.startswith("log: no column 'Operation' (for call); the header has 20 columns: '0 ab ab")
    assert error.endswith("(120004 characters) and 17 more") and len(error) < 600


@pytest.mark.parametrize("header", ["call,Call", "Call,thread, call "])
def test_a_column_named_twice_whatever_its_case_is_refused(header: str) -> None:
    first, second = [h for h in header.split(",") if h.strip().lower() == "call"]
    assert csv_error(header + "\nConnect,1\n") == (
        f"log, line 1: the columns {first!r} and {second!r} have one name (column names are compared without "
        "case); rename one"
    )


def test_no_call_column() -> None:
    assert csv_error("thread,result\n1,ok\n") == "log: no call column; name it with --columns call=COLUMN"


@pytest.mark.parametrize("text, message", [
    ("", "log: empty; a CSV log starts with a header row"),
    ("call\n", "log: no events"),
    ("call\n\n , \n", "log: no events"),
    ('call,thread\nConnect,1\n"Execute,2\n', "log, line 3: not CSV (unexpected end of data)"),
    ('call,thread\nConnect,1\nExecute,"2"x\n', "log, line 3: not CSV (',' expected after '\"')"),
    ('"call,thread\n', "log, line 1: not CSV (unexpected end of data)"),
    ("call\nConnect\nfoo\n", f"log, line 3: unknown call 'foo'; calls: {CALL_LIST}"),
    ("call,result\nConnect,foo bar\n", "log, line 2: result 'foo bar' is neither ok, a code's name nor a hex code"),
    ("call,thread\nConnect," + "t" * (MAX_TEXT + 1) + "\n", f"log, line 2: thread must have 1 to {MAX_TEXT} characters"),
    ("call,thread\nConnect," + "t" * (MAX_LINE + 1) + "\n", f"log, line 2: a cell is longer than {MAX_LINE} characters"),
], ids=["empty", "header only", "blank rows only", "unterminated quote", "junk after a quote",
        "unterminated header", "unknown call", "bad result", "text too long", "cell too long"])
def test_bad_csv(text: str, message: str) -> None:
    assert csv_error(text).startswith(message)


# --------------------------------------------------------------------------------------------
# Files


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["log.csv", "LOG.CSV"])
def test_a_csv_name_picks_csv(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, "call,thread\nConnect,1\n")
    assert [fields(e) for e in read_log(path)] == [("Connect", "1", None, None, None, None, None)]


def test_other_names_are_json_lines(tmp_path: Path) -> None:
    for name in ("log.jsonl", "log.txt", "log"):
        path = write(tmp_path, name, GOOD + "\n")
        assert [e.call for e in read_log(path)] == ["Connect"]
    path = write(tmp_path, "log.txt", "call,thread\nConnect,1\n")
    with pytest.raises(InvalidArgument, match=r"^log .*log\.txt, line 1: not JSON"):
        read_log(path)


def test_form_and_columns_choose_csv(tmp_path: Path) -> None:
    path = write(tmp_path, "log.txt", "Operation\nConnect\n")
    assert [e.call for e in read_log(path, columns={"call": "Operation"})] == ["Connect"]
    assert csv_error("Operation\nConnect\n") == "log: no call column; name it with --columns call=COLUMN"
    path = write(tmp_path, "log.data", "call\nExecute\n")
    assert [e.call for e in read_log(path, form="csv")] == ["Execute"]
    path = write(tmp_path, "log.csv", GOOD + "\n")
    assert [e.call for e in read_log(path, form="jsonl")] == ["Connect"]
    with pytest.raises(InvalidArgument) as info:
        read_log(path, form="xml")
    assert str(info.value) == "--format: 'xml' is not a log format; use jsonl or csv"


def test_a_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    jsonl = tmp_path / "log.jsonl"
    jsonl.write_bytes(b"\xef\xbb\xbf" + GOOD.encode() + b"\n")
    assert [e.call for e in read_log(jsonl)] == ["Connect"]
    csv = tmp_path / "log.csv"
    csv.write_bytes(b"\xef\xbb\xbfcall\r\nExecute\r\n")
    assert [e.call for e in read_log(csv)] == ["Execute"]


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(GOOD.encode() + b'\n{"call": "\xff"}\n')
    with pytest.raises(InvalidArgument) as info:
        read_log(path)
    assert str(info.value) == f"log {path}: not UTF-8 (byte {len(GOOD) + 11})"


def test_a_fifo_is_refused_without_blocking(tmp_path: Path, no_hang: None) -> None:
    fifo = tmp_path / "log.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(InvalidArgument) as info:
        read_log(fifo)
    assert str(info.value) == f"log {fifo} is a FIFO; give a regular file"
    link = tmp_path / "link.csv"
    link.symlink_to(fifo)
    with pytest.raises(InvalidArgument) as info:
        read_log(link)
    assert str(info.value) == f"log {link} is a FIFO; give a regular file"


def test_a_device_is_refused(no_hang: None) -> None:
    with pytest.raises(InvalidArgument) as info:
        read_log(Path("/dev/zero"))
    assert str(info.value) == "log /dev/zero is a character device; give a regular file"


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument) as info:
        read_log(tmp_path / "absent.jsonl")
    assert str(info.value) == f"log {tmp_path / 'absent.jsonl'}: No such file or directory"


def test_a_file_over_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(observations, "MAX_LOG_BYTES", 64)
    path = tmp_path / "log.jsonl"
    path.write_text("\n" * (64 - len(GOOD)) + GOOD, encoding="utf-8")
    assert [e.line for e in read_log(path)] == [64 - len(GOOD) + 1]
    path.write_text("\n" * (65 - len(GOOD)) + GOOD, encoding="utf-8")
    with pytest.raises(InvalidArgument) as info:
        read_log(path)
    assert str(info.value) == f"log {path} is 65 bytes; the limit is 64"


# --------------------------------------------------------------------------------------------
# The CLI: every bad log is one line on stderr and exit 2


def diagnose_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The one error line of ``regcheck diagnose ARGV``, which must exit 2 and print nothing on stdout."""
    code, out, err = run(capsys, "diagnose", *argv)
    assert "Traceback" not in out + err
    assert code == 2, err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


BAD_LOGS = {
    "not JSON": ("log.jsonl", GOOD + "\n{\n", "line 2: not JSON"),
    "array": ("log.jsonl", '["Connect"]\n', "line 1: expected a JSON object, got an array"),
    "null": ("log.jsonl", GOOD + "\nnull\n", "line 2: expected a JSON object, got null"),
    "CSV columns call,Call": ("log.csv", "call,Call\nConnect,x\n", "line 1: the columns 'call' and 'Call' have one name"),
    "unknown field": ("log.jsonl", '{"call": "Connect", "pid": 4}\n', "line 1: unknown field 'pid'"),
    "unknown call": ("log.jsonl", GOOD + '\n{"call": "Frobnicate"}\n', "line 2: unknown call 'Frobnicate'"),
    "bad result": ("log.jsonl", '{"call": "Connect", "result": "foo bar"}\n', "line 1: result 'foo bar' is neither"),
    "NaN": ("log.jsonl", '{"call": "Connect", "thread": NaN}\n', "line 1: not JSON (NaN is not JSON)"),
    "no events": ("log.jsonl", "\n\n", "no events"),
    "line too long": ("log.jsonl", "x" * (MAX_LINE + 1), f"line 1: longer than {MAX_LINE} characters"),
    "bad CSV": ("log.csv", 'call\n"Connect\n', "line 2: not CSV (unexpected end of data)"),
    "no call column": ("log.csv", "Operation\nConnect\n", "no call column; name it with --columns call=COLUMN"),
}


@pytest.mark.parametrize("name, text, message", list(BAD_LOGS.values()), ids=list(BAD_LOGS))
def test_cli_bad_log(capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, text: str, message: str) -> None:
    path = write(tmp_path, name, text)
    line = diagnose_error(capsys, str(path))
    assert line.startswith(f"error: log {path}"), line
    assert message in line, line


@pytest.mark.parametrize("as_json", [False, True])
def test_cli_bad_log_with_json_prints_no_document(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                  as_json: bool) -> None:
    path = write(tmp_path, "log.jsonl", '{"thread": 1}\n')
    line = diagnose_error(capsys, str(path), *(["--json"] if as_json else []))
    assert line == f"error: log {path}, line 1: no call (every event names the call it logs)"


def test_cli_prints_markup_in_a_log_literally(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, "log.jsonl", '{"call": "[bold]x[/bold]"}\n')
    line = diagnose_error(capsys, str(path))
    assert line.startswith(f"error: log {path}, line 1: unknown call '[bold]x[/bold]'; calls: "), line


@pytest.mark.parametrize("name, text", [
    ("log.jsonl", '{"call": "a\\u001b]8;;http://x\\u0007b"}\n'),
    ("log.csv", "call\na\x1b]8;;http://x\x07b\n"),
], ids=["JSON escape", "raw in CSV"])
def test_cli_shows_control_characters_visibly(capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str,
                                              text: str) -> None:
    path = write(tmp_path, name, text)
    line = diagnose_error(capsys, str(path))
    call = "a\x1b]8;;http://x\x07b"
    assert "\x1b" not in line and "\x07" not in line
    assert f"unknown call {shown(call)}" in line, line  # as every error echoes a value: repr, made printable
    assert "\\x1b]8;;http://x\\" in line and "\\x07b'" in line


def test_cli_shows_bidirectional_controls_visibly(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, "log.jsonl", '{"call": "Connect", "result": "ab\\u202ecd"}\n')
    line = diagnose_error(capsys, str(path))
    assert "\u202e" not in line
    assert "result " + shown("ab\u202ecd") + " is neither ok, a code's name nor a hex code" in line, line
    assert "\\u202ecd'" in line


def test_cli_control_characters_in_the_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, "a\x1bb.jsonl", "\n")
    line = diagnose_error(capsys, str(path))
    assert "\x1b" not in line
    assert line == f"error: log {tmp_path}/a\\x1bb.jsonl: no events"


@pytest.mark.parametrize("columns, message", [
    ("call", "error: --columns: 'call' is not FIELD=COLUMN (e.g. call=Operation)"),
    ("call=Operation,pid=Pid", f"error: --columns: unknown field 'pid'; fields: {FIELD_LIST}"),
    ("call=Operation,call=Op", "error: --columns: call is named twice"),
    ("thread=Tid", "error: --columns must name the column of call (e.g. call=Operation)"),
])
def test_cli_bad_columns(capsys: pytest.CaptureFixture[str], tmp_path: Path, columns: str, message: str) -> None:
    path = write(tmp_path, "log.csv", "Operation,Tid\nConnect,1\n")
    assert diagnose_error(capsys, str(path), "--columns", columns) == message


def test_cli_columns_naming_a_missing_column(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, "log.txt", "Operation,Tid\nConnect,1\n")
    line = diagnose_error(capsys, str(path), "--columns", "call=Operation,as=User")
    assert line == f"error: log {path}: no column 'User' (for as); the header has 2 columns: 'Operation', 'Tid'"


def test_cli_unknown_vary_key(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, "log.jsonl", GOOD + "\n")
    line = diagnose_error(capsys, str(path), "--vary", "nosuchkey")
    assert line.startswith("error: --vary 'nosuchkey': not a switch diagnose can vary; switches: transport, ")
    assert "transport" in line and "impersonate" in line


def test_cli_csv_format_on_json_lines(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, "log.jsonl", GOOD + "\n" + '{"call": "Execute", "thread": "T1"}\n')
    line = diagnose_error(capsys, str(path), "--format", "csv")
    assert line == f"error: log {path}: no call column; name it with --columns call=COLUMN"


def test_cli_unknown_format(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, "log.jsonl", GOOD + "\n")
    line = diagnose_error(capsys, str(path), "--format", "xml")
    assert "Invalid value for '--format'" in line and "'xml'" in line, line


def test_cli_refuses_a_folder_a_fifo_and_a_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                       no_hang: None) -> None:
    line = diagnose_error(capsys, str(tmp_path))
    assert line == f"error: folder {tmp_path}: no Exchange log of a type regcheck reads"  # a folder is Exchange's
    fifo = tmp_path / "log.jsonl"
    os.mkfifo(fifo)
    assert diagnose_error(capsys, str(fifo)) == f"error: log {fifo} is a FIFO; give a regular file"
    absent = tmp_path / "absent.jsonl"
    assert diagnose_error(capsys, str(absent)) == f"error: log {absent}: No such file or directory"


def test_cli_a_log_over_the_limit(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(observations, "MAX_LOG_BYTES", 64)
    path = write(tmp_path, "log.jsonl", (GOOD + "\n") * 4)
    assert diagnose_error(capsys, str(path)) == f"error: log {path} is {4 * (len(GOOD) + 1)} bytes; the limit is 64"


def test_cli_not_utf8(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(b"call\nConn\xe9ct\n")
    assert diagnose_error(capsys, str(path)) == f"error: log {path}: not UTF-8 (byte 9)"


# --------------------------------------------------------------------------------------------
# Property: what to_jsonl writes, parse_jsonl reads back


THREADS = st.sampled_from(["1", "T1", "T2", "4412", "worker 1"])
IDENTITIES = st.sampled_from([SYSTEM, "alice", "CONTOSO\\bob", "NT AUTHORITY\\NETWORK SERVICE"])
RESULTS = st.sampled_from([OK, "MAPI_E_NETWORK_ERROR", "ecAccessDenied", "ecRejected", "NotificationPending",
                           "0x8004010F", "0x00000005", "ecNotFound"])
TEXTS = st.sampled_from(["00000001-0000-4000-8000-000000000000", "S1", "g 2", "2024-05-01T10:00:00Z", "é ü"])
EVENT_FIELDS = st.fixed_dictionaries(
    {"call": st.sampled_from((*CLIENT_CALLS, *SERVER_EVENTS))},
    optional={"thread": THREADS, "identity": IDENTITIES, "result": RESULTS, "association": TEXTS,
              "session": TEXTS, "time": TEXTS},
)


@settings(max_examples=50, deadline=None)
@given(st.lists(EVENT_FIELDS, min_size=1, max_size=12))
def test_to_jsonl_then_parse_jsonl_gives_the_events_back(drawn: list[dict[str, Any]]) -> None:
    events = [Event(number, number, **values) for number, values in enumerate(drawn, start=1)]
    text = to_jsonl(events)
    assert len(text.splitlines()) == len(events)
    back = parse_jsonl(text)
    assert [fields(e) for e in back] == [fields(e) for e in events]
    assert back == events  # numbered 1, 2, ... on lines 1, 2, ...
    assert to_jsonl(back) == text


def test_deeply_nested_json_is_bad_input_not_a_crash() -> None:
    with pytest.raises(InvalidArgument, match=r"^log, line 1: not JSON \(nested too deeply\)$"):
        parse_jsonl("[" * 4000 + "]" * 4000)


def test_line_separators_inside_strings_survive_the_round_trip() -> None:
    events = [Event(1, 1, "Connect", thread="a\u2028b\x0cc\x85d")]
    assert parse_jsonl(to_jsonl(events)) == events


def test_a_form_feed_is_not_a_line_break() -> None:
    """Lines are counted as editors count them: a form feed on a line of its own is a blank line."""
    events = parse_jsonl('{"call":"Connect"}\n\x0c\x0b\n{"call":"Execute"}')
    assert [e.line for e in events] == [1, 3]


def test_a_folder_is_refused_by_the_reader_itself(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="is a folder; give a regular file"):
        read_log(tmp_path)


def test_a_capital_hex_prefix_is_a_hex_code() -> None:
    (event,) = parse_jsonl('{"call": "EcDoRpcExt2", "result": "0X80040115"}')
    assert event.result == "MAPI_E_NETWORK_ERROR"


@pytest.mark.parametrize(("vary", "message"), [
    ("nosuch=a,b", "error: --vary 'nosuch': not a switch diagnose can vary"),
    ("transport=bogus", "error: --vary transport: 'bogus' is not one of rpc-http, rpc-tcp, mapi-http"),
    ("transport=", "error: --vary transport=: give at least one value, e.g. transport=rpc-http"),
])
def test_cli_vary_values_are_checked(capsys: pytest.CaptureFixture[str], tmp_path: Path, vary: str, message: str) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text('{"call": "EcDoConnectEx"}\n')
    code, out, err = run(capsys, "diagnose", str(log), "--vary", vary)
    assert code == 2 and out == "" and err.startswith(message), err


# --------------------------------------------------------------------------------------------
# Names that look like other names


def test_names_that_mix_scripts_or_hide_characters_are_warned_of() -> None:
    events = parse_jsonl(
        '{"call": "Connect", "thread": "T1\\u200b", "as": "CONTOSO\\\\\\u0430lice"}\n'
        '{"call": "Execute", "thread": "T1\\u200b", "as": "CONTOSO\\\\alice", "session": "S\\u00a01"}\n'
    )
    assert name_warnings(events) == [
        "warning: thread of event 1 (line 1) 'T1\\u200b' holds invisible characters, so it is not the name it "
        "looks like",
        "warning: identity of event 1 (line 1) 'CONTOSO\\\\аlice' mixes scripts (Latin, Cyrillic): 'а' is U+0430 "
        "CYRILLIC SMALL LETTER A, so it is not the name it looks like",
        "warning: session of event 2 (line 2) 'S\\xa01' holds invisible characters, so it is not the name it "
        "looks like",
    ]


def test_names_in_one_script_are_not_warned_of() -> None:
    events = parse_jsonl('{"call": "Connect", "thread": "Поток 7", "as": "CONTOSO\\\\alice", "session": "会話ひとつ"}\n')
    assert name_warnings(events) == []


@pytest.mark.parametrize("line, closest", [
    ('{"Call": "Connect"}', "unknown field 'Call'; fields: " + FIELD_LIST + "; did you mean 'call'?"),
    ('{"call": "EcDoRpcExt"}', "; did you mean 'EcDoRpcExt2'?"),
    ('{"call": "NotificationWiat"}', "; did you mean 'NotificationWait'?"),
])
def test_an_unknown_field_or_call_offers_the_closest(line: str, closest: str) -> None:
    assert jsonl_error(line).endswith(closest)
