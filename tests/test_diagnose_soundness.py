"""`regcheck diagnose` makes no false claim: each log here is a behaviour of the model (or, for SYSTEM, is not),
and the answer is "explained", or "not decided" naming the bound, never a false "ruled out" or "explained"
(model/SEMANTICS.md "Observations", model/SOUNDNESS.md "Diagnosis")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from model.observations import Event, parse_jsonl
from model.observed import check
from model.scenario import load_builtin, with_overrides
from regcheck.diagnosis import Diagnosis, diagnose
from tests.clirun import run

GUID = "6f1c2a0e-91d4-4c3b-8a57-0d2e9b7f4c11"


def _log(*lines: dict[str, Any]) -> list[Event]:
    return parse_jsonl("".join(json.dumps(line) + "\n" for line in lines))


def _job(thread: str, user: str, *, calls: int = 1, result: str | None = "ok", **extra: str) -> list[dict[str, Any]]:
    """One worker job as a log writes it: impersonate, log on, ``calls`` requests."""
    said = {"thread": thread, "as": user, **extra}
    done = {} if result is None else {"result": result}
    return [{"call": "ImpersonateLoggedOnUser", **said}, {"call": "EcDoConnectEx", **said, **done},
            *({"call": "EcDoRpcExt2", **said, **done} for _ in range(calls))]


def _explained(result: Diagnosis) -> bool:
    return bool(result.explained) and not result.ruled_out and not result.unknown


def test_as_and_an_association_on_every_line_bind_no_placeholder() -> None:
    events = _log({"call": "ImpersonateLoggedOnUser", "thread": "7", "as": "CONTOSO\\alice", "association": GUID},
                  {"call": "EcDoConnectEx", "thread": "7", "as": "CONTOSO\\alice", "association": GUID, "result": "ok"},
                  {"call": "EcDoRpcExt2", "thread": "7", "as": "CONTOSO\\alice", "association": GUID, "result": "ok"},
                  {"call": "RevertToSelf", "thread": "7", "as": "CONTOSO\\alice", "association": GUID})
    result = diagnose(events, load_builtin("seed"), ["on_mismatch"], check_fixes=False)
    assert _explained(result), [why for _, why, _ in result.ruled_out]


def test_more_requests_than_the_model_bounds_are_not_decided_naming_the_bound(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    events = _log(*_job("7", "CONTOSO\\alice", calls=9))
    result = diagnose(events, load_builtin("seed"), ["on_mismatch"], check_fixes=False)
    assert not result.explained and not result.ruled_out
    assert result.unknown and all("requests" in o.reason and "8" in o.reason for o in result.unknown)
    log = tmp_path / "nine.jsonl"
    log.write_text("".join(json.dumps(line) + "\n" for line in _job("7", "CONTOSO\\alice", calls=9)))
    code, out, _ = run(capsys, "diagnose", str(log), "--vary", "on_mismatch")
    assert code == 3 and "requests" in out


@pytest.mark.parametrize("scenario", ["thread-pool", "mailbox-walker"])
def test_a_thread_per_log_thread_whatever_the_scenario_has(scenario: str) -> None:
    users = load_builtin(scenario).users
    lines = [line for n in range(3) for line in _job(f"T{n}", f"CONTOSO\\{users[n % len(users)]}", result=None)]
    result = diagnose(_log(*lines), load_builtin(scenario), ["association_scope"], check_fixes=False)
    assert result.explained and not result.unknown, [o.reason for o in result.unknown]
    explaining = {o.setting.values for g in result.explained for o in g.outcomes}
    assert (("association_scope", "session"),) in explaining  # each user's calls on their own association
    assert "workers=3" in result.facts


def test_each_thread_serves_the_users_its_lines_name() -> None:
    lines = [line for n, user in enumerate(["alice", "alice", "alice", "bob"])
             for line in _job(f"T{n}", f"CONTOSO\\{user}", result=None)]
    result = diagnose(_log(*lines), load_builtin("seed"), ["association_scope=session"], check_fixes=False)
    assert _explained(result), [why for _, why, _ in result.ruled_out]


def test_a_service_thread_beside_an_impersonating_one() -> None:
    lines = [*_job("T1", "CONTOSO\\alice"), {"call": "EcDoConnectEx", "thread": "T2", "as": "SYSTEM"}]
    result = diagnose(_log(*lines), load_builtin("seed"), ["on_mismatch"], check_fixes=False)
    assert _explained(result), [why for _, why, _ in result.ruled_out]
    assert "worker_impersonates=true,false" in result.facts


def test_a_thread_token_call_names_the_session_of_the_job_it_serves() -> None:
    base = with_overrides(load_builtin("seed"), ["users=alice,bob", "worker_users=bob", "session_reuse=per-user"])
    result = diagnose(_log(*_job("T1", "CONTOSO\\bob", session="SB")), base, ["on_mismatch"], check_fixes=False)
    assert _explained(result), [why for _, why, _ in result.ruled_out]


def test_nothing_searched_is_not_ruled_out(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    events = _job("T1", "CONTOSO\\alice", result=None)
    result = diagnose(_log(*events), load_builtin("mixed-threads"), ["impersonate"], check_fixes=False)
    assert not result.explained and not result.ruled_out and result.invalid
    log = tmp_path / "one.jsonl"
    log.write_text("".join(json.dumps(line) + "\n" for line in events))
    code, out, _ = run(capsys, "diagnose", str(log), "--scenario", "mixed-threads", "--vary", "impersonate")
    assert code == 3 and "No setting explains" not in out


def test_a_user_and_system_are_never_both_the_models_system() -> None:
    events = _log({"call": "EcDoConnectEx", "thread": "T1", "as": "CONTOSO\\alice", "result": "ecAccessDenied"},
                  {"call": "EcDoConnectEx", "thread": "T2", "as": "NT AUTHORITY\\SYSTEM", "result": "ecAccessDenied"})
    result = diagnose(events, with_overrides(load_builtin("seed"), ["impersonate=false"]), ["on_mismatch"],
                      check_fixes=False)
    assert not result.explained and result.ruled_out  # two denied SYSTEM calls; the log says one was alice's


def test_the_independent_check_refuses_what_the_log_does_not_say() -> None:
    events = _log(*_job("T1", "CONTOSO\\alice"))
    result = diagnose(events, load_builtin("seed"), ["on_mismatch=evict"], check_fixes=False)
    outcome = result.explained[0].outcomes[0]
    assert outcome.trace is not None and outcome.found is not None
    scenario, trace, at = outcome.setting.scenario, outcome.trace, list(outcome.found.at)
    assert check(scenario, trace, events, at) is None
    system = _log(*_job("T1", "SYSTEM"))
    assert "one to one" in (check(scenario, trace, system, at) or "") or "bound" in (check(scenario, trace, system, at) or "")
    failed = _log(*_job("T1", "CONTOSO\\alice", result="MAPI_E_NETWORK_ERROR"))
    assert "returns" in (check(scenario, trace, failed, at) or "")
    assert "not after" in (check(scenario, trace, events, [at[0], at[0], *at[2:]]) or "")
    two = _log(*_job("T1", "CONTOSO\\alice")[:2], {**_job("T2", "CONTOSO\\alice")[2]})
    assert "thread" in (check(scenario, trace, two, at) or "")
