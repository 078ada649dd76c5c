"""Several logs as one observation: the article's case as the service's own log beside the server's RpcHttp log
is explained; a run written as a client log and a server log on clocks that differ by less than the skew is
explained by the setting that made it; logs whose times put the server's events where no execution has them
are ruled out; an explanation that breaks the cross-log order is caught by the independent check; a log
without times is ordered only within itself; and bad input across several logs is one line and exit 2."""

from __future__ import annotations

import json
import random
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regcheck import notebook
from regcheck.core.compile import compile_system
from regcheck.core.explore import random_run
from regcheck.diagnosis import diagnose
from regcheck.model.logs import rpchttp
from regcheck.model.logs.merge import merge, order_of
from regcheck.model.logs.read import read_logs
from regcheck.model.logs.writing import guid_of, time_of
from regcheck.model.observations import Event, log_of, to_jsonl
from regcheck.model.observed import check
from regcheck.model.scenario import Scenario, load_builtin, with_overrides
from regcheck.model.system import build
from tests.clirun import flat, run
from tests.strategies import scenarios

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "logs" / "exchange"
SERVICE, SERVER = EXAMPLES / "article-service.jsonl", EXAMPLES / "article-RpcHttp.LOG"
FAST = ("--set", "transport=rpc-http", "--vary", "on_mismatch")


def test_the_article_case_as_the_service_log_and_the_rpchttp_log_is_explained(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "diagnose", str(SERVICE), str(SERVER), *FAST)
    assert code == 1, out + err  # explained, by an execution that violates properties
    out = flat(out)
    assert "Read 2 logs as one observation of 9 events: each in its own order; across logs, ordered only where " \
           "their times differ by more than 2 s." in out
    assert "CONTOSO\\alice is alice; CONTOSO\\EXSVC01$ is SYSTEM" in out
    assert "Explained by 2 of 2 settings" in out
    assert "Fix A rules it out; fix B rules it out" in out


def test_a_csv_log_named_by_columns_beside_an_exchange_log(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """--columns names the CSV log's columns; the Exchange log beside it is still told by its header."""
    records = [json.loads(line) for line in SERVICE.read_text(encoding="utf-8").splitlines()]
    rows = ["Time,Tid,User,Operation,Status,Guid"] + [
        ",".join((r["time"], r["thread"], r["as"], r["call"], r["result"], r.get("association", ""))) for r in records]
    service = tmp_path / "service.csv"
    service.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "diagnose", str(service), str(SERVER), *FAST, "--columns",
                         "time=Time,thread=Tid,as=User,call=Operation,result=Status,association=Guid")
    assert code == 1, out + err
    assert "Read 2 logs as one observation of 9 events" in flat(out)


def _shifted(path: Path, seconds: float, folder: Path) -> Path:
    """The JSON Lines log at ``path`` with every time ``seconds`` later."""
    from datetime import datetime, timedelta

    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        moment = datetime.fromisoformat(record["time"]) + timedelta(seconds=seconds)
        record["time"] = moment.isoformat().replace("+00:00", "Z")
        lines.append(json.dumps(record))
    shifted = folder / f"service{seconds:+g}.jsonl"
    shifted.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return shifted


@pytest.mark.parametrize("seconds, event", [(10, 5), (-10, 6)])
def test_logs_whose_times_order_the_server_where_no_execution_has_it_are_not_explained(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, seconds: float, event: int) -> None:
    """The service's clock 10 s ahead puts every server event before its impersonation (no call is admitted as alice
    before it); 10 s behind puts them after its last call (no call is left to be admitted)."""
    code, out, _ = run(capsys, "diagnose", str(_shifted(SERVICE, seconds, tmp_path)), str(SERVER), *FAST)
    assert code == 5, out
    assert f"none reaches event {event} in order" in flat(out)
    code, out, _ = run(capsys, "diagnose", str(_shifted(SERVICE, seconds, tmp_path)), str(SERVER), *FAST,
                       "--skew", "11")
    assert code == 1, out  # within a wider skew the clocks order nothing across the logs


def test_a_log_without_times_is_ordered_only_within_itself(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    lines = [json.loads(line) for line in SERVICE.read_text(encoding="utf-8").splitlines()]
    timeless = tmp_path / "service.jsonl"
    timeless.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "time"}) + "\n" for r in lines),
                        encoding="utf-8")
    events, _ = read_logs([timeless, SERVER], None, None, None, None, "SYSTEM")
    order = order_of(events)
    assert order is not None
    assert all(k == 0 for row in order.need for k in row)  # no event of either log needs one of the other
    code, out, _ = run(capsys, "diagnose", str(timeless), str(SERVER), *FAST)
    assert code == 1, out
    assert f"{timeless} has no times, so it is ordered only within itself" in flat(out)


def test_the_independent_check_catches_an_explanation_that_breaks_the_cross_log_order() -> None:
    events, _ = read_logs([SERVICE, SERVER], None, None, None, None, "SYSTEM")
    result = diagnose(events, with_overrides(load_builtin("seed"), ["transport=rpc-http"]), ["on_mismatch"],
                      check_fixes=False, timeout=60)
    outcome = result.explained[0].outcomes[0]
    assert outcome.trace is not None and outcome.found is not None
    scenario, at = outcome.setting.scenario, list(outcome.found.at)
    assert check(scenario, outcome.trace, events, at) is None
    # The server's first admission said to come 5 s after the wait failed: a later step than the one it is at.
    first = next(i for i, e in enumerate(events) if e.log is not None and e.log.index == 1)
    late = [replace(e, time="2013-11-04T09:12:07.000Z") if i == first else e for i, e in enumerate(events)]
    said = check(scenario, outcome.trace, late, at)
    assert said is not None and "more than 2 s before it is at step" in said


# About 40 runs, each written as the service's log (its clock off by less than the skew) and the server's RpcHttp log.
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=scenarios().filter(lambda s: int(s.workers) <= 2), seed=st.integers(0, 10_000),
       clock=st.floats(-0.099, 0.099))
def test_a_run_written_as_a_client_log_and_a_server_log_is_explained_by_its_setting(drawn: Scenario, seed: int,
                                                                                    clock: float) -> None:
    scenario = with_overrides(drawn, ["transport=rpc-http"])
    trace = random_run(compile_system(build(scenario)), random.Random(seed), 14)
    client = [e for e in log_of(scenario, trace, time=lambda step: time_of(step, clock=clock), spell=guid_of)
              if not e.server]
    setting = {key: str(getattr(scenario, key)) for key in ("on_mismatch", "registration")}
    with tempfile.TemporaryDirectory() as folder:
        server = Path(folder) / "RpcHttp.LOG"
        server.write_text(rpchttp.write(scenario, trace), encoding="utf-8")
        service = Path(folder) / "service.jsonl"
        service.write_text(to_jsonl(client) if client else "", encoding="utf-8")
        if not client or "RPC_OUT_DATA" not in server.read_text(encoding="utf-8"):
            return  # a run with no call on one side: nothing to merge
        try:
            events, _ = read_logs([service, server], None, None, None, None, scenario.process_identity, 0.1)
        except Exception as exc:  # a server log whose requests observe nothing the model has
            assert "no events the model observes" in str(exc), exc
            return
    assert order_of(events) is not None
    result = diagnose(events, scenario, [f"{k}={v}" for k, v in setting.items()], check_fixes=False, timeout=60)
    explaining = [dict(o.setting.values) for g in result.explained for o in g.outcomes]
    undecided = [dict(o.setting.values) for o in result.unknown]
    assert setting in explaining or setting in undecided, (to_jsonl(events), clock)


@pytest.mark.parametrize("case", ["twice", "folder and file", "bad second", "no offset", "backwards", "skew"])
def test_bad_input_across_several_logs_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                             case: str) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "RpcHttp_1.LOG").write_bytes(SERVER.read_bytes())
    good = tmp_path / "service.jsonl"
    good.write_bytes(SERVICE.read_bytes())
    bad = tmp_path / "bad.jsonl"
    extra: tuple[str, ...] = ()
    if case == "twice":
        logs = [good, SERVER, tmp_path / ".." / tmp_path.name / "service.jsonl"]
    elif case == "folder and file":
        logs = [good, folder, folder / "RpcHttp_1.LOG"]
    elif case == "bad second":
        bad.write_text('{"call": "EcDoConnectEx"}\n{"call": \n', encoding="utf-8")
        logs = [good, bad]
    elif case == "no offset":
        bad.write_text('{"call": "EcDoConnectEx", "time": "2013-11-04T09:12:01"}\n', encoding="utf-8")
        logs = [bad, SERVER]
    elif case == "backwards":  # the service's clock runs back 30 s within its own log
        records = [json.loads(line) for line in SERVICE.read_text(encoding="utf-8").splitlines()]
        records[0]["time"] = "2013-11-04T09:12:31.000Z"  # after the third log's events, which come after its others
        bad.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        logs = [bad, SERVER, _shifted(SERVICE, 20, tmp_path)]
    else:
        logs, extra = [good, SERVER], ("--skew", "-1")
    code, out, err = run(capsys, "diagnose", *map(str, logs), *extra, *FAST)
    assert code == 2, out + err
    assert out == "" and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    words = {"twice": "name the same log", "folder and file": "is inside the folder", "bad second": "bad.jsonl, line 2",
             "no offset": "has no UTC offset", "backwards": "the times contradict the order of the lines",
             "skew": "--skew must be a number of seconds"}
    assert words[case] in err


def test_merge_numbers_the_events_in_a_linear_order_of_the_partial_order() -> None:
    def event(line: int, time: str | None) -> Event:
        return Event(0, line, "EcDoRpcExt2", time=time)

    a = [event(1, "2013-11-04T09:00:05Z"), event(2, "2013-11-04T09:00:00Z"), event(3, "2013-11-04T09:00:30Z")]
    b = [event(1, "2013-11-04T09:00:01Z"), event(2, "2013-11-04T09:00:20Z")]
    merged = merge([("a", a), ("b", b)], 2.0)
    # a's first (09:00:05) is more than 2 s after b's first (09:00:01), so after it; b's second (09:00:20) after a's
    # second (09:00:00), and so after a's first too, which a's own order puts before it.
    assert [(e.log.name if e.log else "", e.line) for e in merged] == [("b", 1), ("a", 1), ("a", 2), ("b", 2), ("a", 3)]
    order = order_of(merged)
    assert order is not None
    assert order.chains == ((1, 2, 4), (0, 3))
    assert order.need == ((0, 0), (0, 1), (0, 0), (2, 0), (0, 2))


def test_the_notebook_diagnoses_several_logs() -> None:
    view = notebook.diagnose([SERVICE, str(SERVER)], transport="rpc-http", vary=["on_mismatch"], timeout=60)
    assert view.diagnosis.explained
    assert any("Read 2 logs as one observation" in line for line in view.reading)
