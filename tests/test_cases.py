"""The cases of an Exchange log: the first pass finds exactly the associations with a registration failure and
their identities; each is diagnosed on its own slice, after a summary table, in text, JSON and JUnit; the
slices chosen by hand; bad choices end with one line and exit 2; a case not diagnosed says so."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from regcheck.cases import diagnose_cases
from regcheck.deadline import Deadline
from regcheck.errors import InvalidArgument
from regcheck.model.logs import slices as slicing
from regcheck.model.logs.identities import Identities
from regcheck.model.logs.slices import Selection, parse_time, selection_of, slices, survey
from regcheck.model.observations import REGISTRATION_ADMITTED, REGISTRATION_FAILED
from regcheck.model.scenario import SYSTEM, load_builtin
from tests.clirun import flat, run, run_json
from tests.test_ci_reports import valid_junit

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "logs" / "exchange"
EXAMPLE_GUID = "6b0b3e43-21af-5c76-acb6-72899c87ce80"
PARTS = (  # the example each association's requests come from, its GUID, and its user
    ("article-RpcHttp.LOG", "aaaaaaaa-0000-4000-8000-000000000001", "alice"),
    ("healthy-RpcHttp.LOG", "bbbbbbbb-0000-4000-8000-000000000002", "bob"),
    ("article-RpcHttp.LOG", "cccccccc-0000-4000-8000-000000000003", "carol"),
    ("healthy-RpcHttp.LOG", "dddddddd-0000-4000-8000-000000000004", "dave"),
)
START = datetime(2013, 11, 4, 9, 0, tzinfo=UTC)
FAST = ("--vary", "on_mismatch", "--set", "transport=rpc-http")
"""One switch varied: each case's verdict in about a second."""


def _requests(name: str, guid: str, user: str, part: int) -> list[list[str]]:
    """The example's requests (three rows each) on ``guid`` for ``user``, with request ids of their own."""
    rows = [line for line in (EXAMPLES / name).read_text(encoding="utf-8-sig").splitlines() if not line.startswith("#")]
    rows = [row.replace(EXAMPLE_GUID, guid).replace("CONTOSO\\alice", f"CONTOSO\\{user}")
            .replace("S:RequestId=a3c5", f"S:RequestId={part:04x}") for row in rows]
    return [rows[i:i + 3] for i in range(0, len(rows), 3)]


def _log(tmp_path: Path, parts: tuple[tuple[str, str, str], ...] = PARTS) -> tuple[Path, list[str]]:
    """The parts' requests interleaved one by one, a second apart; with each request's time, in order."""
    queues = [_requests(name, guid, user, number) for number, (name, guid, user) in enumerate(parts, start=1)]
    text = ["\ufeff#Software: Microsoft Exchange Server", "#Version: 15.00.1497.012", "#Log-type: RpcHttp Log",
            "#Fields: TimeStamp,ServerName,EventId,EventData"]
    times: list[str] = []
    while any(queues):
        for queue in queues:
            if queue:
                stamp = (START + timedelta(seconds=len(times))).strftime("%Y-%m-%dT%H:%M:%S.000Z")
                times.append(stamp)
                text += [stamp + row[row.index(","):] for row in queue.pop(0)]
    path = tmp_path / "RpcHttp_2013110409-1.LOG"
    path.write_text("\r\n".join(text) + "\r\n", encoding="utf-8")
    return path, times


def test_the_first_pass_finds_exactly_the_associations_with_conflicts_and_their_identities(tmp_path: Path) -> None:
    log, _ = _log(tmp_path)
    found = survey(log, None, Identities(), Selection())
    assert len(found.tallies) == 4 and found.healthy() == 2
    cases = found.cases()
    assert [(t.key.name, t.identities, t.registration_failures, t.events) for t in cases] == [
        (PARTS[0][1], ["alice", SYSTEM], 1, 4), (PARTS[2][1], ["carol", SYSTEM], 1, 4)]
    parts = slices(found, cases)
    for tally, part in zip(cases, parts, strict=True):
        assert not isinstance(part, str)
        assert [e.number for e in part] == [1, 2, 3, 4]
        assert {e.association for e in part} == {tally.key.name}
        assert [e.call for e in part] == [REGISTRATION_ADMITTED] * 3 + [REGISTRATION_FAILED]


def test_each_case_is_diagnosed_on_its_slice_after_the_summary_table(capsys: pytest.CaptureFixture[str],
                                                                      tmp_path: Path) -> None:
    log, _ = _log(tmp_path)
    code, out, _ = run(capsys, "diagnose", str(log), *FAST)
    assert code == 1, out  # explained by executions that violate the registration properties
    table, _, details = out.partition("Case 1 of 2:")
    assert table.startswith("Cases: 2 of 4 associations and sessions have registration failures")
    assert PARTS[0][1] in table and PARTS[2][1] in table and PARTS[1][1] not in table
    assert "2 associations and sessions without failures are not diagnosed." in table
    assert flat(details).count("Fix A rules it out; fix B rules it out") == 2
    assert f"Case 2 of 2: association {PARTS[2][1]} (carol, SYSTEM; 1 registration failures" in flat(details)


def test_a_log_with_one_case_prints_the_table_then_what_it_printed_before(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diagnose", str(EXAMPLES / "article-RpcHttp.LOG"), *FAST)
    assert code == 1
    table, _, rest = out.partition("regcheck diagnose: ")
    assert table.startswith("Cases: 1 of 1 association or session has registration failures")
    assert EXAMPLE_GUID in table and "Registration of" in table
    assert not any(line.startswith(("Read ", "Identities", "Conclusion")) for line in table.splitlines())
    assert ", 4 events, scenario seed" in rest.splitlines()[0] and "Case 1 of" not in rest
    assert "Conclusion: explained by" in rest


def test_json_and_junit_hold_the_table_and_each_case(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    log, _ = _log(tmp_path)
    report = tmp_path / "diagnose.xml"
    code, doc = run_json(capsys, "diagnose", str(log), *FAST, "--junit", str(report))
    assert code == 1
    cases = doc["cases"]
    assert cases["associations"] == 4 and cases["without_failures"] == 2
    assert cases["columns"][:4] == ["association", "identities", "failures", "explained by"]
    assert [row[0] for row in cases["table"]] == [PARTS[0][1], PARTS[2][1]]
    assert [row[5:] for row in cases["table"]] == [["rules it out", "rules it out", "does not rule it out"]] * 2
    for case in cases["cases"]:
        assert case["identities"][1] == SYSTEM and case["registration_failures"] == 1
        assert case["diagnosis"]["explained"] and case["fixes"]["fix A"] == "rules it out"
        assert "Registration of the Association GUID failed" in case["cause"]
    assert "explained" not in doc  # two cases: no one diagnosis at the top
    valid_junit(report)  # against the JUnit schema
    suites = ET.parse(report).getroot().findall("testsuite")
    summary = suites[0]
    assert summary.get("name", "").endswith(": cases")
    names = [c.get("name") for c in summary.findall("testcase")]
    assert names == [f"case 1: association {PARTS[0][1]}", f"case 2: association {PARTS[2][1]}"]
    assert all(c.find("failure") is not None for c in summary.findall("testcase"))
    assert len(suites) == 3 and "case 2 (association" in (suites[2].get("name") or "")


def test_one_case_keeps_the_json_of_one_diagnosis(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(capsys, "diagnose", str(EXAMPLES / "article-RpcHttp.LOG"), *FAST)
    assert code == 1 and doc["explained"] and doc["reading"][0].startswith("Read 1 RpcHttp Log file")
    assert [row[0] for row in doc["cases"]["table"]] == [EXAMPLE_GUID]


def test_slices_chosen_by_hand(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    log, times = _log(tmp_path)
    healthy = ("--set", "connect_flags=32", "--set", "requests=2", "--set", "jobs=2")  # as its example is diagnosed
    code, doc = run_json(capsys, "diagnose", str(log), *FAST, *healthy, "--association", PARTS[1][1].upper())
    assert code == 0 and [row[0] for row in doc["cases"]["table"]] == [PARTS[1][1]]  # healthy, chosen by hand
    assert doc["cases"]["cases"][0]["fixes"]["fix A"] == "nothing to rule out"
    code, doc = run_json(capsys, "diagnose", str(log), *FAST, "--user", "carol@contoso.com")
    assert code == 1 and [row[0] for row in doc["cases"]["table"]] == [PARTS[2][1]]
    # the requests go round the four associations, five each; the last three seconds hold bob's last admission,
    # carol's failure and dave's last admission
    code, doc = run_json(capsys, "diagnose", str(log), *FAST, "--from", times[-3], "--to", times[-1])
    assert [row[0] for row in doc["cases"]["table"]] == [PARTS[2][1]]
    assert doc["cases"]["events"] == 3 and doc["cases"]["outside_span"] == 13
    assert doc["cases"]["cases"][0]["events"] == 1 and doc["cases"]["cases"][0]["identities"] == [SYSTEM]


def test_a_span_with_no_failure_is_diagnosed_whole(tmp_path: Path) -> None:
    log, times = _log(tmp_path)
    found = survey(log, None, Identities(), selection_of(None, None, times[4], times[5]))  # alice's, bob's second
    [case] = found.cases()
    assert case.key.words() == "the whole log" and case.identities == ["alice", "bob"]
    [part] = slices(found, [case])
    assert not isinstance(part, str) and [e.identity for e in part] == ["alice", "bob"]


@pytest.mark.parametrize("options, said", [
    (("--from", "yesterday"), "--from: 'yesterday' is not a time like 2013-11-04T09:12:01Z"),
    (("--to", "2013-13-04T09:00:00Z"), "--to: '2013-13-04T09:00:00Z' is not a time"),
    (("--from", "2013-11-05", "--to", "2013-11-04"), "--from is after --to"),
    (("--association", "6b0b3e43"), "--association: '6b0b3e43' is not a GUID"),
    (("--association", "eeeeeeee-0000-4000-8000-000000000005"), "no event of the log names it"),
    (("--user", "mallory"), "--user 'mallory': no association or session of the log names 'mallory'"),
    (("--user", ""), "--user must have 1 to 255 characters"),
    (("--user", "alice", "--association", PARTS[0][1]), "give --association or --user, not both"),
    (("--user", "mal\x1b[31mlory"), "--user 'mal\\x1b[31mlory': no association or session"),
    (("--from", "2013-11-04\u202eT09:00"), "--from: '2013-11-04\\u202eT09:00' is not a time"),
])
def test_bad_slices_end_with_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                 options: tuple[str, ...], said: str) -> None:
    log, _ = _log(tmp_path)
    code, out, err = run(capsys, "diagnose", str(log), *FAST, *options)
    assert code == 2, out + err
    assert said in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "\x1b" not in err and "\u202e" not in err  # a stranger's text is shown, never obeyed


def test_a_slice_of_a_json_lines_log_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    log = EXAMPLES.parent / "article-customer.jsonl"
    code, _, err = run(capsys, "diagnose", str(log), "--user", "alice")
    assert code == 2 and "JSON Lines, CSV and several logs are diagnosed whole" in err


def test_an_event_with_no_time_cannot_be_placed_in_a_span(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    log, _ = _log(tmp_path)
    text = log.read_bytes().decode("utf-8").split("\r\n")
    text[16] = text[16][text[16].index(","):]  # the first row of alice's first RPC_OUT_DATA loses its time
    log.write_text("\r\n".join(text), encoding="utf-8")
    code, _, err = run(capsys, "diagnose", str(log), "--from", "2013-11-04")
    assert code == 2 and "line 17: no time, so --from/--to cannot place it" in err


def test_times_are_read_strictly() -> None:
    assert parse_time("2013-11-04T09:12:01.073Z", "t") == datetime(2013, 11, 4, 9, 12, 1, 73000, tzinfo=UTC)
    assert parse_time("2013-11-04 09:12", "t") == datetime(2013, 11, 4, 9, 12, tzinfo=UTC)  # no zone: UTC
    assert parse_time("2013-11-04T10:12:01+01:00", "t") == datetime(2013, 11, 4, 9, 12, 1, tzinfo=UTC)
    assert parse_time("2013-11-04", "t") == datetime(2013, 11, 4, tzinfo=UTC)
    for bad in ("2013-11-04T09:12:01.073Zjunk", "1383556321", "2013-11-04T25:00", "04/11/2013"):
        with pytest.raises(InvalidArgument):
            parse_time(bad, "t")


def test_a_case_past_the_limits_or_the_deadline_is_not_decided_and_never_dropped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    log, _ = _log(tmp_path)
    found = diagnose_cases(log, None, Identities(), Selection(), load_builtin("seed"), ["on_mismatch"], Deadline(0))
    assert [c.explained_by() for c in found.cases] == [
        "not decided: timeout: the command's time ran out before this case was diagnosed"] * 2
    monkeypatch.setattr(slicing, "MAX_EVENTS", 3)
    code, out, _ = run(capsys, "diagnose", str(log), *FAST)
    assert code == 3
    assert flat(out).count("Not decided: more than 3 events") == 2
    assert PARTS[2][1] in out


def test_the_report_holds_the_table_of_an_exchange_logs_cases(capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path) -> None:
    log, _ = _log(tmp_path)
    code, _, err = run(capsys, "report", "seed", "-p", "no-registration-mismatch", "--engine", "bmc", "--depth", "4",
                       "--diagnose", str(log), "--out", str(tmp_path / "r"), "--timeout", "20")
    assert code == 0 and "Traceback" not in err
    page = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    markdown = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    for text in (page, markdown):
        assert "Cases of" in text and "2 of 4 associations and sessions have registration failures" in text
        assert PARTS[0][1] in text and PARTS[2][1] in text and PARTS[1][1] not in text
    assert f"| {PARTS[0][1]} | alice, SYSTEM | 1 registration failures |" in markdown


def test_a_case_of_the_same_shape_as_an_earlier_one_has_its_diagnosis(capsys: pytest.CaptureFixture[str],
                                                                       tmp_path: Path) -> None:
    """Two associations of one user with the same story: the second is not searched again, and says so."""
    log, _ = _log(tmp_path, (PARTS[0], PARTS[1], (PARTS[2][0], PARTS[2][1], "alice")))
    code, doc = run_json(capsys, "diagnose", str(log), *FAST)
    assert code == 1
    first, second = doc["cases"]["cases"]
    assert "diagnosis" in first and second["same_as"] == 1 and "diagnosis" not in second
    assert second["explained_by"] == first["explained_by"] + " (as case 1)" and second["fixes"] == first["fixes"]
    code, out, _ = run(capsys, "diagnose", str(log), *FAST)
    assert code == 1
    assert "The same events as case 1 but for the association's GUID, times and lines" in flat(out)
    assert flat(out).count("Conclusion:") == 1


def test_the_first_pass_keeps_to_the_timeout(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The first pass has no partial answer (a case not reached would be dropped): past --timeout, one line, exit 3."""
    log = tmp_path / "RpcHttp_1.LOG"
    rows = "".join(f"2013-11-04T09:00:00.000Z,EXMBX01,RpcHttp,S:Stage=EndRequest;S:RequestId=r{n};"
                   f"S:HttpVerb=RPC_OUT_DATA;S:Status=200.0.;S:RpcHttpUserName=CONTOSO\\alice;"
                   f"S:AssociationGuid={PARTS[0][1]}\n" for n in range(2_500))
    log.write_text("#Log-type: RpcHttp Log\n#Fields: TimeStamp,ServerName,EventId,EventData\n" + rows, encoding="utf-8")
    code, _, err = run(capsys, "diagnose", str(log), "--timeout", "0.01")
    assert code == 3 and err.strip() == "error: timeout: the first pass over the log was not finished within 0.01 s"
