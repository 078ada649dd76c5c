"""Exchange's own logs: the article's case read from the RpcHttp, HttpProxy, RCA and MAPI over HTTP logs is
explained by the registration conflict, a healthy service's log violates nothing, the readers follow
``#Fields:`` and bind each user's spellings, and a random execution written in each format and read back
is never ruled out for the setting that made it."""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regcheck.core.compile import compile_system
from regcheck.core.explore import random_run
from regcheck.core.result import Trace
from regcheck.diagnosis import diagnose
from regcheck.errors import InvalidArgument
from regcheck.model.logs import httpproxy, mapimb, rca, rpchttp
from regcheck.model.logs.identities import Identities, read_identities
from regcheck.model.logs.read import read_exchange
from regcheck.model.observations import REGISTRATION_ADMITTED, REGISTRATION_FAILED
from regcheck.model.scenario import SYSTEM, Scenario
from regcheck.model.system import build
from tests.clirun import flat, run
from tests.strategies import scenarios

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "logs" / "exchange"
GUID = "6b0b3e43-21af-5c76-acb6-72899c87ce80"
FAST = ("--vary", "on_mismatch")
"""One switch varied: the examples' verdicts, without the whole family's search (tens of seconds)."""


def test_the_article_case_in_the_rpchttp_log_names_the_association_the_two_identities_and_the_fixes(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diagnose", str(EXAMPLES / "article-RpcHttp.LOG"), "--set", "transport=rpc-http", *FAST)
    assert code == 1, out  # explained, by an execution that violates properties
    out = flat(out)
    assert f"Associations: {GUID} (alice, SYSTEM; 1 registration failures)" in out
    assert "CONTOSO\\alice is alice" in out
    assert "CONTOSO\\EXSVC01$ is SYSTEM (the process identity under LocalSystem)" in out
    assert "registered to alice: \"Registration of the Association GUID failed\"" in out
    assert "Fix A rules it out; fix B rules it out" in out
    assert "Skipped, observing nothing the model has: 1 RPC_IN_DATA requests." in out


@pytest.mark.parametrize("name, sets, codes", [
    ("article-HttpProxy.LOG", ("--set", "transport=rpc-http"), (1,)),
    ("article-RCA.LOG", ("--set", "transport=rpc-http"), (0, 1)),
    ("article-MAPIMB.LOG", ("--set", "transport=mapi-http"), (0, 1)),
    ("healthy-RpcHttp.LOG", ("--set", "connect_flags=32", "--set", "requests=2", "--set", "jobs=2"), (0,)),
])
def test_each_example_is_explained(capsys: pytest.CaptureFixture[str], name: str, sets: tuple[str, ...],
                                   codes: tuple[int, ...]) -> None:
    code, out, _ = run(capsys, "diagnose", str(EXAMPLES / name), *sets, *FAST)
    assert code in codes, out
    out = flat(out)
    assert "Explained" in out
    if name.startswith("healthy"):
        assert "An execution in which no safety property is violated" in out


def test_the_rca_example_keeps_the_callers_sid_unless_an_identities_file_names_it(tmp_path: Path) -> None:
    """The Connect row names the caller's SID and the mailbox it opens: the same person only when a user opens
    their own mailbox, which the row does not say, so the SID stays itself until --identities binds it."""
    identities = Identities()
    read = read_exchange(EXAMPLES / "article-RCA.LOG", None, identities)
    assert [(e.call, e.identity, e.association, e.result) for e in read.events] == [("EcDoConnectEx", None, GUID, "ok")]
    assert read.skipped == {"OwnerLogon rows": 1}
    [sid] = identities.unknown
    assert identities.words()[-1].startswith(f"SIDs linked to no name, their rows' identity left free: {sid}")
    (tmp_path / "map.csv").write_text(f"spelling,identity\n{sid},alice\n", encoding="utf-8")
    named = read_exchange(EXAMPLES / "article-RCA.LOG", None, read_identities(tmp_path / "map.csv", None, SYSTEM))
    assert [e.identity for e in named.events] == ["alice"]


def test_the_mapimb_example_reads_context_not_found_as_the_identity_mismatch() -> None:
    events = read_exchange(EXAMPLES / "article-MAPIMB.LOG", None, Identities()).events
    assert [(e.call, e.result) for e in events] == [("Connect", "ok"), ("Execute", "ok"),
                                                    ("NotificationWait", "ecAccessDenied")]


RPCHTTP_HEADER = "#Software: Microsoft Exchange\n#Version: 15.00.1497.012\n#Log-type: RpcHttp Log\n"


def _rpchttp_row(time: str, request: str, stage: str, extra: str = "") -> str:
    return f'{time},EXMBX01,RpcHttp,"S:Stage={stage};S:RequestId={request}{extra}"\n'


def test_rpchttp_requests_are_placed_where_they_begin_and_decided_by_their_end(tmp_path: Path) -> None:
    out = ";S:HttpVerb=RPC_OUT_DATA;S:AssociationGuid=" + GUID
    log = tmp_path / "RpcHttp_1.LOG"
    log.write_text(RPCHTTP_HEADER + "#Fields: TimeStamp,ServerName,EventId,EventData\n"
                   + _rpchttp_row("t1", "r1", "BeginRequest", out)
                   + _rpchttp_row("t2", "r2", "BeginRequest", out + ";S:RpcHttpUserName=CONTOSO\\HOST1$")
                   + _rpchttp_row("t3", "r2", "EndRequest", ";S:Status=500.64.Connection Registration Failed:64 (x)")
                   + _rpchttp_row("t4", "r1", "PostAuthorizeRequest", ";S:RpcHttpUserName=alice@contoso.com")
                   + _rpchttp_row("t5", "r1", "EndRequest", ";S:Status=200.0.")
                   + _rpchttp_row("t6", "r3", "BeginRequest", out)
                   + _rpchttp_row("t7", "r3", "EndRequest", ";S:Status=401.1.Unauthorized")
                   + _rpchttp_row("t8", "r4", "BeginRequest", out), encoding="utf-8")
    read = read_exchange(log, None, Identities())
    assert [(e.call, e.identity, e.time) for e in read.events] == [
        (REGISTRATION_ADMITTED, "alice", "t1"), (REGISTRATION_FAILED, SYSTEM, "t2")]
    assert read.skipped == {"RPC_OUT_DATA requests ending 401.1": 1, "requests that never ended": 1}


RCA_2010 = ("date-time,session-id,seq-number,client-name,organization-info,client-software,client-software-version,"
            "client-mode,client-ip,server-ip,protocol,application-id,operation,rpc-status,processing-time,"
            "operation-specific,failures")


def test_rca_columns_come_from_each_fields_line_and_values_may_span_lines(tmp_path: Path) -> None:
    dn = "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=bob"
    later = "operation,session-id,date-time,client-name,rpc-status,operation-specific,failures"
    log = tmp_path / "RCA_20131104-1.LOG"
    log.write_bytes(("\ufeff#Software: Microsoft Exchange\n#Log-type: RCA Protocol Logs\n#Fields: " + RCA_2010 + "\n"
                     f"2013-11-04T09:00:00.000Z,7,0,{dn},,svc.exe,14.0,Classic,10.0.0.1,10.0.0.2,ncacn_ip_tcp,,"
                     "Connect,0,3,\"SID=S-1-5-21-1-2-3-1107, Flags=None\",\n"
                     "#Software: Microsoft Exchange\n#Log-type: RCA Protocol Logs\n#Fields: " + later + "\n"
                     "Disconnect,7,2013-11-04T09:01:00.000Z,,\"1010 (rpc::LoginPerm)\",,\"RpcDispatch: [LoginPermException]\n"
                     "a message, on two lines\"\nNetworkRundown,7,2013-11-04T09:02:00.000Z,,0,,\n").encode())
    read = read_exchange(log, None, Identities())
    assert [(e.call, e.identity, e.session, e.result, e.line) for e in read.events] == [
        ("EcDoConnectEx", None, "7", "ok", 4), ("EcDoDisconnect", None, "7", "0x000003F2", 8)]  # the SID is nobody's
    assert read.skipped == {"NetworkRundown rows": 1}


def test_a_folder_is_read_in_the_time_order_of_its_files(tmp_path: Path) -> None:
    fields = "#Fields: DateTime,Method,AuthenticatedUser,HttpStatus\n"
    for name, date, user in (("HttpProxy_a.LOG", "2013-11-04T10:00:00.000Z", "bob"),
                             ("HttpProxy_b.LOG", "2013-11-04T09:00:00.000Z", "alice")):
        (tmp_path / name).write_text(f"#Log-type: HttpProxy Logs\n#Date: {date}\n{fields}{date},RPC_OUT_DATA,"
                                     f"CONTOSO\\{user},200\n{date},RPC_IN_DATA,CONTOSO\\{user},200\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a log\n", encoding="utf-8")
    read = read_exchange(tmp_path, None, Identities())
    assert [e.identity for e in read.events] == ["alice", "bob"]
    assert (read.files, read.others, read.skipped) == (2, 1, {"RPC_IN_DATA requests": 2})


@pytest.mark.parametrize("name, text", [
    ("map.csv", "spelling,identity\nS-1-5-21-1-2-3-1107,CONTOSO\\carol\nCONTOSO\\SVC-SYNC,SYSTEM\n"),
    ("map.toml", '[identities]\n"S-1-5-21-1-2-3-1107" = "carol"\n"CONTOSO\\\\SVC-SYNC" = "NT AUTHORITY\\\\SYSTEM"\n'),
])
def test_an_identities_file_binds_what_the_logs_do_not_link(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    identities = read_identities(tmp_path / name, None, SYSTEM)
    assert identities.resolve("s-1-5-21-1-2-3-1107") == "carol"
    assert identities.resolve("CONTOSO\\svc-sync") == SYSTEM
    assert identities.resolve("S-1-5-21-1-2-3-1999") is None  # whose it is no log says: the row's identity is free
    assert identities.words()[-1].startswith("SIDs linked to no name, their rows' identity left free: S-1-5-21-1-2-3-1999")


def test_a_named_process_account_is_the_process_identity_and_a_second_computer_is_not() -> None:
    identities = Identities(process_account="svc-sync", process_identity="svc")
    assert [identities.resolve(s) for s in ("CONTOSO\\svc-sync", "svc-sync@contoso.com", "CONTOSO\\HOST1$",
                                            "CONTOSO\\HOST2$", "S-1-5-18")] == [
        "svc", "svc", SYSTEM, "CONTOSO\\HOST2$", SYSTEM]


def test_the_cli_says_which_sids_no_name_binds(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Two SIDs open alice's mailbox: neither is taken for its owner, and the output lists both."""
    text = (EXAMPLES / "article-RCA.LOG").read_text(encoding="utf-8")
    connect = next(line for line in text.splitlines() if ",Connect," in line)
    other = connect.replace("682003330-1105", "682003330-1188").replace("T09:12:01.073Z", "T09:12:01.080Z")
    log = tmp_path / "RCA_1.LOG"
    log.write_text(text + other + "\r\n", encoding="utf-8")
    code, out, err = run(capsys, "diagnose", str(log), *FAST)
    assert code in (0, 1, 3, 5), out + err
    assert ("SIDs linked to no name, their rows' identity left free: S-1-5-21-1004336348-1177238915-682003330-1105, "
            "S-1-5-21-1004336348-1177238915-682003330-1188") in flat(out)


def _walk(scenario: Scenario, seed: int, steps: int) -> Trace:
    return random_run(compile_system(build(scenario)), random.Random(seed), steps)


WRITERS: dict[str, tuple[Callable[[Scenario, Trace], str], tuple[str, ...]]] = {
    "rpchttp": (rpchttp.write, ("rpc-http",)),
    "httpproxy": (httpproxy.write, ("rpc-http",)),
    "rca": (rca.write, ("rpc-http", "rpc-tcp")),
    "mapimb": (mapimb.write, ("mapi-http",)),
}
"""Each format's writer and the transports whose calls it logs."""
VARIED = ("on_mismatch", "registration")


# About 100 runs, each written in every format that logs its transport, read back and diagnosed.
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios().filter(lambda s: int(s.workers) <= 2), seed=st.integers(0, 10_000))
def test_a_run_written_as_exchange_logs_is_never_ruled_out_for_the_setting_that_made_it(scenario: Scenario,
                                                                                        seed: int) -> None:
    trace = _walk(scenario, seed, 16)
    setting = {key: str(getattr(scenario, key)) for key in VARIED}
    with tempfile.TemporaryDirectory() as folder:
        for form, (write, transports) in WRITERS.items():
            if scenario.transport not in transports:
                continue
            path = Path(folder) / f"{form}.LOG"
            path.write_text(write(scenario, trace), encoding="utf-8")
            try:
                events = read_exchange(path, None, Identities(process_identity=scenario.process_identity)).events
            except InvalidArgument as exc:
                assert "no events the model observes" in str(exc)
                continue
            result = diagnose(events, scenario, list(VARIED), check_fixes=False, timeout=60)
            explaining = [dict(o.setting.values) for g in result.explained for o in g.outcomes]
            undecided = [dict(o.setting.values) for o in result.unknown]
            assert setting in explaining or setting in undecided, (form, path.read_text())


def test_a_10_mb_log_is_streamed_not_held(tmp_path: Path) -> None:
    """35,000 rows, of which the model observes one: reading holds the events, not the rows."""
    import tracemalloc

    filler = _rpchttp_row("t", "r{}", "EndRequest", ";S:HttpVerb=RPC_IN_DATA;S:Status=200.0.;S:ClientIp=10.0.4.21;"
                          "S:UriQueryString=?EXMBX01.contoso.com:6001;S:ServerTarget=EXMBX01.contoso.com;S:Pad=" + "x" * 120)
    log = tmp_path / "RpcHttp_big.LOG"
    with log.open("w", encoding="utf-8") as handle:
        handle.write(RPCHTTP_HEADER + "#Fields: TimeStamp,ServerName,EventId,EventData\n")
        handle.write(_rpchttp_row("t0", "first", "EndRequest", ";S:HttpVerb=RPC_OUT_DATA;S:Status=200.0.;"
                                  "S:RpcHttpUserName=CONTOSO\\alice"))
        for number in range(35_000):
            handle.write(filler.replace("r{}", f"r{number}"))
    assert log.stat().st_size > 10_000_000
    tracemalloc.start()
    try:
        read = read_exchange(log, None, Identities())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [e.identity for e in read.events] == ["alice"]
    assert read.skipped == {"RPC_IN_DATA requests": 35_000}
    assert peak < 2_000_000, f"{peak:,} bytes at the peak"
