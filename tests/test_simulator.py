"""Tests of the reference simulator alone (regcheck/model/simulator.py) against SEMANTICS.md.

The simulator is the oracle every counterexample is replayed on, so these tests pin real outcomes:
the article's seed path label by label, the fixes that must never fail a worker (explored
exhaustively), the variants, the refusals, the client designs (jobs, session reuse, mailbox rights,
mixed threads, the notification thread's shape), and a random-walk property over every switch.
"""

from __future__ import annotations

import copy
import dataclasses
from collections import deque

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regcheck.model.scenario import SYSTEM, Scenario, load_builtin
from regcheck.model.simulator import Simulator, State, StepRefused
from tests.strategies import scenarios

# --------------------------------------------------------------------------------------------
# Helpers


def run(sim: Simulator, *steps: tuple[str, dict[str, int]]) -> tuple[State, list[dict]]:
    """Replay ``steps`` from the initial state; return the last state and every step's labels."""
    state = sim.initial_state()
    labels = []
    for name, params in steps:
        state, lab = sim.step(state, name, params)
        labels.append(lab)
    return state, labels


def run_from(sim: Simulator, state: State, *steps: tuple[str, dict[str, int]]) -> tuple[State, list[dict]]:
    """Like ``run``, from ``state``."""
    labels = []
    for name, params in steps:
        state, lab = sim.step(state, name, params)
        labels.append(lab)
    return state, labels


def reachable(sim: Simulator) -> list[State]:
    """Every reachable state, by breadth-first search over ``enabled``/``step``."""
    def key(s: State) -> tuple:
        return tuple(sorted(s.items()))

    init = sim.initial_state()
    seen = {key(init)}
    states = [init]
    queue = deque([init])
    while queue:
        state = queue.popleft()
        for name, params in sim.enabled(state):
            nxt, _ = sim.step(state, name, params)
            k = key(nxt)
            if k not in seen:
                seen.add(k)
                states.append(nxt)
                queue.append(nxt)
    return states


def any_failed(states: list[State]) -> bool:
    return any(v == "failed" for s in states for k, v in s.items() if k.startswith("pc["))


W1 = {"worker": 1}
S1 = {"session": 1}
SEED_PATH = [
    ("Impersonate", W1),
    ("EcDoConnectEx", W1),
    ("EcDoAsyncConnectEx", S1),
    ("EcDoAsyncWaitEx", S1),
    ("EcDoRpcExt2", W1),
]


# --------------------------------------------------------------------------------------------
# The article's seed


def test_seed_initial_state_has_exactly_the_table_variables():
    sim = Simulator(load_builtin("seed"))
    assert sim.initial_state() == {
        "imp[1]": False,
        "pc[1]": "start",
        "done[1]": 0,
        "pending[1]": False,
        "notify[1]": "off",
        "parked[1]": False,
        "reg[1]": "none",
        "admitted[1]": "none",
        "mismatch_seen": False,
    }


def test_seed_path_reproduces_the_article():
    sim = Simulator(load_builtin("seed"))
    state = sim.initial_state()

    assert sim.enabled(state) == [("Impersonate", W1)]
    state, lab = sim.step(state, "Impersonate", W1)
    assert lab == {
        "thread": "worker 1", "message": "ImpersonateLoggedOnUser", "context": "alice",
        "association": 0, "cache": "-", "result": "ok",
    }
    assert state["imp[1]"] is True

    state, lab = sim.step(state, "EcDoConnectEx", W1)
    assert lab == {
        "thread": "worker 1", "message": "EcDoConnectEx", "context": "alice",
        "association": 1, "cache": "registered", "result": "ok",
    }
    assert state["pc[1]"] == "connected"
    assert state["reg[1]"] == "alice" and state["admitted[1]"] == "alice"

    state, lab = sim.step(state, "EcDoAsyncConnectEx", S1)
    assert lab == {
        "thread": "worker 1", "message": "EcDoAsyncConnectEx", "context": "alice",
        "association": 1, "cache": "hit", "result": "ok",
    }
    assert state["pc[1]"] == "working" and state["notify[1]"] == "idle"

    state, lab = sim.step(state, "EcDoAsyncWaitEx", S1)
    assert lab == {
        "thread": "notifier 1", "message": "EcDoAsyncWaitEx", "context": SYSTEM,
        "association": 1, "cache": "mismatch-evicted", "result": "MAPI_E_NETWORK_ERROR",
    }
    assert state["notify[1]"] == "polling"
    assert state["mismatch_seen"] is True
    assert state["reg[1]"] == "evicted"
    assert state["admitted[1]"] == "alice"
    assert state["parked[1]"] is False

    state, lab = sim.step(state, "EcDoRpcExt2", W1)
    assert lab == {
        "thread": "worker 1", "message": "EcDoRpcExt2", "context": "alice",
        "association": 1, "cache": "no-registration", "result": "MAPI_E_NETWORK_ERROR",
    }
    assert state["pc[1]"] == "failed"
    assert state["done[1]"] == 0
    # after_network_error = fail: nothing more for the worker; the notifier keeps polling in vain.
    assert ("Reconnect", W1) not in sim.enabled(state)
    state, lab = sim.step(state, "Poll", S1)
    assert lab["message"] == "EcDoRpcExt2" and lab["thread"] == "notifier 1"
    assert lab["cache"] == "no-registration" and lab["result"] == "MAPI_E_NETWORK_ERROR"
    assert state["notify[1]"] == "polling"


def test_seed_enabled_order_follows_the_numbering():
    sim = Simulator(load_builtin("seed"))
    state, _ = run(sim, *SEED_PATH[:3])
    assert sim.enabled(state) == [
        ("EcDoRpcExt2", W1),
        ("EcDoAsyncWaitEx", S1),
        ("ServerEvent", S1),
    ]


def test_seed_reaches_failure_exhaustively():
    assert any_failed(reachable(Simulator(load_builtin("seed"))))


# --------------------------------------------------------------------------------------------
# The fixes never fail a worker; Exchange 2010 has no cache


@pytest.mark.parametrize("name", ["fix-run-as-user", "fix-no-notifications"])
@pytest.mark.parametrize("workers", [1, 2])
def test_fixes_never_reach_failed(name, workers):
    scenario = dataclasses.replace(load_builtin(name), workers=workers)
    states = reachable(Simulator(scenario))
    assert len(states) > 1
    assert not any_failed(states)
    assert not any(s["mismatch_seen"] for s in states)
    # every worker can still finish its work
    assert any(all(s[f"pc[{w}]"] == "finished" for w in range(1, workers + 1)) for s in states)


def test_fix_no_notifications_has_no_notifier():
    sim = Simulator(load_builtin("fix-no-notifications"))
    assert "notify[1]" not in sim.initial_state() and "parked[1]" not in sim.initial_state()
    with pytest.raises(StepRefused, match="notifications are off"):
        sim.step(sim.initial_state(), "EcDoAsyncWaitEx", S1)


@pytest.mark.parametrize("workers", [1, 2])
def test_exchange_2010_has_no_cache_and_never_fails(workers):
    scenario = dataclasses.replace(load_builtin("exchange-2010"), workers=workers)
    sim = Simulator(scenario)
    init = sim.initial_state()
    assert not any(k.startswith(("reg[", "admitted[")) for k in init) and "mismatch_seen" not in init
    states = reachable(sim)
    assert not any_failed(states)
    state, labels = run(sim, *SEED_PATH)
    assert [lab["cache"] for lab in labels] == ["-"] * 5
    assert labels[3]["context"] == SYSTEM and labels[3]["result"] == "parked"
    assert labels[3]["association"] == 1  # an RPC transport still has an association
    assert state["pc[1]"] == "working" and state["done[1]"] == 1


def property_verdicts(sc: Scenario, states: list[State]) -> dict[str, str]:
    """The five safety properties of SEMANTICS.md, evaluated over a set of reachable states."""
    workers = range(1, sc.workers + 1)
    assocs = range(1, sc.association_count + 1)
    in_use = ("connected", "working")
    holds = {
        "worker-never-gets-network-error": all(s[f"pc[{w}]"] != "failed" for s in states for w in workers),
        "no-registration-mismatch": not any(s.get("mismatch_seen", False) for s in states),
        "registration-in-use-never-evicted": not any(
            s.get(f"reg[{a}]") == "evicted"
            and any(sc.association_of(w) == a and s[f"pc[{w}]"] in in_use for w in workers)
            for s in states
            for a in assocs
        ),
        "registration-matches-admitted-calls": all(
            s.get(f"reg[{a}]", "none") in ("none", "evicted") or s[f"admitted[{a}]"] == s[f"reg[{a}]"]
            for s in states
            for a in assocs
        ),
        "one-parked-wait-per-session": all(
            not s.get(f"parked[{w}]", False) or s[f"notify[{w}]"] == "waiting" for s in states for w in workers
        ),
    }
    return {name: "holds" if ok else "violated" for name, ok in holds.items()}


@pytest.mark.parametrize(
    "name", ["seed", "exchange-2010", "fix-no-notifications", "fix-run-as-user", "multi-user", "re-register-on-miss"]
)
def test_builtin_expectations_match_exhaustive_exploration(name):
    """The safety expectations (state predicates), by exhaustive exploration of the simulator."""
    scenario = load_builtin(name)
    verdicts = property_verdicts(scenario, reachable(Simulator(scenario)))
    safety = {k: v for k, v in scenario.expected.items() if k in verdicts}
    assert verdicts == safety and len(safety) == 5


# --------------------------------------------------------------------------------------------
# Variants


def test_multi_user_second_logon_mismatches():
    sim = Simulator(load_builtin("multi-user"))
    W2 = {"worker": 2}
    state, labels = run(
        sim, ("Impersonate", W1), ("EcDoConnectEx", W1), ("Impersonate", W2), ("EcDoConnectEx", W2)
    )
    assert labels[1]["cache"] == "registered" and labels[1]["context"] == "alice"
    assert state["pc[1]"] == "working"  # notifications off: no async connect owed
    assert labels[3]["context"] == "bob"
    assert labels[3]["association"] == 1
    assert labels[3]["cache"] == "mismatch-evicted"
    assert labels[3]["result"] == "MAPI_E_NETWORK_ERROR"
    assert state["pc[2]"] == "failed"
    assert state["reg[1]"] == "evicted" and state["mismatch_seen"] is True
    # worker 1 is collateral damage: its own next call finds no registration
    state, lab = sim.step(state, "EcDoRpcExt2", W1)
    assert lab["cache"] == "no-registration" and state["pc[1]"] == "failed"


def test_multi_user_with_session_associations_never_mismatches():
    scenario = dataclasses.replace(load_builtin("multi-user"), association_scope="session")
    sim = Simulator(scenario)
    assert {k for k in sim.initial_state() if k.startswith("reg[")} == {"reg[1]", "reg[2]"}
    states = reachable(sim)
    assert not any_failed(states) and not any(s["mismatch_seen"] for s in states)


def test_re_register_on_miss_re_registers():
    sim = Simulator(load_builtin("re-register-on-miss"))
    state, labels = run(sim, *SEED_PATH)
    assert labels[3]["cache"] == "mismatch-evicted"
    assert labels[4]["cache"] == "re-registered" and labels[4]["result"] == "ok"
    assert state["reg[1]"] == "alice" and state["admitted[1]"] == "alice"
    assert state["done[1]"] == 1 and state["pc[1]"] == "working"
    # the notifier's poll now evicts again: the failures alternate
    state, lab = sim.step(state, "Poll", S1)
    assert lab["context"] == SYSTEM and lab["cache"] == "mismatch-evicted"
    assert state["reg[1]"] == "evicted"


def test_fail_only_keeps_the_registration():
    sim = Simulator(dataclasses.replace(load_builtin("seed"), on_mismatch="fail-only"))
    state, labels = run(sim, *SEED_PATH)
    assert labels[3]["cache"] == "mismatch" and labels[3]["result"] == "MAPI_E_NETWORK_ERROR"
    assert labels[4]["cache"] == "hit" and state["done[1]"] == 1
    assert state["reg[1]"] == "alice" and state["mismatch_seen"] is True


def test_static_identity_tracking_carries_alice_and_never_mismatches():
    scenario = dataclasses.replace(load_builtin("seed"), identity_tracking="static")
    sim = Simulator(scenario)
    assert sim.initial_state()["bound[1]"] == "none"
    state, labels = run(sim, *SEED_PATH[:4])
    assert state["bound[1]"] == "alice"
    assert labels[3]["thread"] == "notifier 1"
    assert labels[3]["context"] == "alice" and labels[3]["cache"] == "hit"
    assert labels[3]["result"] == "parked" and state["parked[1]"] is True
    states = reachable(sim)
    assert not any(s["mismatch_seen"] for s in states) and not any_failed(states)


def test_reconnect_new_resets_the_registration():
    scenario = dataclasses.replace(load_builtin("seed"), after_network_error="reconnect-new")
    sim = Simulator(scenario)
    state, _ = run(sim, *SEED_PATH)
    assert ("Reconnect", W1) in sim.enabled(state)
    state, lab = sim.step(state, "Reconnect", W1)
    assert lab == {
        "thread": "worker 1", "message": "Reconnect", "context": "-",
        "association": 0, "cache": "-", "result": "ok",
    }
    assert state["reg[1]"] == "none" and state["admitted[1]"] == "none"
    assert state["pc[1]"] == "start" and state["notify[1]"] == "off" and state["parked[1]"] is False
    assert state["mismatch_seen"] is True  # history is not undone
    state, lab = sim.step(state, "EcDoConnectEx", W1)  # still impersonating: imp[1] is kept
    assert lab["cache"] == "registered" and lab["context"] == "alice"


def test_reconnect_same_keeps_the_eviction():
    scenario = dataclasses.replace(load_builtin("seed"), after_network_error="reconnect-same")
    sim = Simulator(scenario)
    state, _ = run(sim, *SEED_PATH, ("Reconnect", W1))
    assert state["reg[1]"] == "evicted"
    state, lab = sim.step(state, "EcDoConnectEx", W1)
    assert lab["cache"] == "no-registration" and state["pc[1]"] == "failed"


def test_mapi_http_notifier_gets_access_denied():
    scenario = dataclasses.replace(load_builtin("seed"), transport="mapi-http")
    sim = Simulator(scenario)
    init = sim.initial_state()
    assert not any(k.startswith(("reg[", "admitted[", "bound[")) for k in init)
    assert "mismatch_seen" not in init
    state, labels = run(sim, ("Impersonate", W1), ("EcDoConnectEx", W1))
    assert labels[1]["message"] == "Connect" and labels[1]["association"] == 0
    assert state["pc[1]"] == "working" and state["notify[1]"] == "idle"
    assert ("EcDoAsyncConnectEx", S1) not in sim.enabled(state)
    state, lab = sim.step(state, "EcDoAsyncWaitEx", S1)
    assert lab == {
        "thread": "notifier 1", "message": "NotificationWait", "context": SYSTEM,
        "association": 0, "cache": "-", "result": "ecAccessDenied",
    }
    assert state["notify[1]"] == "polling"
    state, lab = sim.step(state, "Poll", S1)
    assert lab["message"] == "Execute" and lab["result"] == "ecAccessDenied"
    state, lab = sim.step(state, "EcDoRpcExt2", W1)
    assert lab["message"] == "Execute" and lab["result"] == "ok" and state["done[1]"] == 1
    assert not any_failed(reachable(sim))


def test_notifier_async_connect_and_give_up():
    scenario = dataclasses.replace(load_builtin("seed"), async_connect_by="notifier", async_failure="give-up")
    sim = Simulator(scenario)
    state, _ = run(sim, ("Impersonate", W1), ("EcDoConnectEx", W1))
    assert state["pc[1]"] == "working" and state["notify[1]"] == "off"
    assert sim.enabled(state) == [("EcDoRpcExt2", W1), ("EcDoAsyncConnectEx", S1), ("ServerEvent", S1)]
    state, lab = sim.step(state, "EcDoAsyncConnectEx", S1)
    assert lab["thread"] == "notifier 1" and lab["context"] == SYSTEM
    assert lab["cache"] == "mismatch-evicted" and state["notify[1]"] == "stopped"


def test_server_async_off_falls_back_to_polling():
    sim = Simulator(dataclasses.replace(load_builtin("seed"), server_async=False))
    state, labels = run(sim, *SEED_PATH[:3])
    assert labels[2]["result"] == "ecRejected" and state["notify[1]"] == "polling"
    assert state["pc[1]"] == "working"


def test_parked_wait_completes_or_times_out():
    sim = Simulator(load_builtin("exchange-2010"))
    state, labels = run(sim, *SEED_PATH[:4])
    assert state["parked[1]"] and state["notify[1]"] == "waiting"
    timed_out, lab = sim.step(state, "WaitTimeout", S1)
    assert lab["result"] == "flags=0" and timed_out["notify[1]"] == "idle" and not timed_out["parked[1]"]
    state, _ = sim.step(state, "ServerEvent", S1)
    with pytest.raises(StepRefused, match="undelivered notification"):
        sim.step(state, "WaitTimeout", S1)
    state, lab = sim.step(state, "CompleteWait", S1)
    assert lab == {
        "thread": "server", "message": "CompleteWait", "context": "-",
        "association": 0, "cache": "-", "result": "NotificationPending",
    }
    state, lab = sim.step(state, "FetchNotifications", S1)
    assert lab["message"] == "EcDoRpcExt2" and lab["thread"] == "notifier 1"
    assert state["pending[1]"] is False and state["notify[1]"] == "idle"


def test_system_logon_is_denied():
    sim = Simulator(dataclasses.replace(load_builtin("seed"), impersonate=False))
    state, labels = run(sim, ("EcDoConnectEx", W1))
    assert labels[0]["context"] == SYSTEM and labels[0]["cache"] == "registered"
    assert labels[0]["result"] == "ecAccessDenied" and state["pc[1]"] == "denied"
    assert sim.enabled(state) == []


# --------------------------------------------------------------------------------------------
# Refusals and purity


def test_refuses_a_disabled_action_with_the_reason():
    sim = Simulator(load_builtin("seed"))
    state, _ = run(sim, *SEED_PATH)
    with pytest.raises(StepRefused) as exc:
        sim.step(state, "EcDoRpcExt2", W1)
    assert str(exc.value) == "EcDoRpcExt2(worker=1) is not enabled: worker 1 is failed, not working"
    with pytest.raises(StepRefused, match=r"EcDoConnectEx\(worker=1\) is not enabled: .*not impersonated"):
        sim.step(sim.initial_state(), "EcDoConnectEx", W1)


def test_refuses_an_unknown_action_and_bad_parameters():
    sim = Simulator(load_builtin("seed"))
    init = sim.initial_state()
    with pytest.raises(StepRefused, match="unknown action 'EcDoDisconnect'"):
        sim.step(init, "EcDoDisconnect", W1)
    with pytest.raises(StepRefused, match="out of range"):
        sim.step(init, "Impersonate", {"worker": 2})
    with pytest.raises(StepRefused, match="takes one parameter worker"):
        sim.step(init, "Impersonate", S1)
    with pytest.raises(StepRefused, match="takes one parameter session"):
        sim.step(init, "EcDoAsyncWaitEx", W1)


def test_step_never_mutates_its_input():
    sim = Simulator(load_builtin("re-register-on-miss"))
    state = sim.initial_state()
    for name, params in [*SEED_PATH, ("Poll", S1), ("ServerEvent", S1)]:
        before = copy.deepcopy(state)
        nxt, _ = sim.step(state, name, params)
        assert state == before
        assert nxt is not state
        state = nxt


def test_rejects_a_state_of_another_scenario():
    seed = Simulator(load_builtin("seed"))
    other = Simulator(load_builtin("exchange-2010"))
    with pytest.raises(ValueError, match="not a state of scenario"):
        seed.step(other.initial_state(), "Impersonate", W1)


# --------------------------------------------------------------------------------------------
# Client designs: jobs, session reuse, mailbox rights, mixed threads, the notification thread

W2 = {"worker": 2}
TWO_JOBS = Scenario(users=("alice", "bob"), worker_users=(("alice", "bob"),), connect_flags=0x20)


def ws(worker: int, session: int) -> dict[str, int]:
    """The parameters of a worker action that uses a session under per-user sessions."""
    return {"worker": worker, "session": session}


def test_two_jobs_per_job_sessions_bob_meets_alices_registration():
    sim = Simulator(TWO_JOBS)
    assert sim.initial_state() == {
        "imp[1]": False, "pc[1]": "start", "done[1]": 0, "job[1]": 1, "owner[1]": "none",
        "pending[1]": False, "reg[1]": "none", "admitted[1]": "none", "mismatch_seen": False,
    }
    state, labels = run(sim, ("Impersonate", W1), ("EcDoConnectEx", W1), ("EcDoRpcExt2", W1))
    assert [lab["context"] for lab in labels] == ["alice"] * 3
    assert labels[1]["cache"] == "registered" and labels[2]["cache"] == "hit"
    assert state["owner[1]"] == "alice" and state["pc[1]"] == "working" and state["done[1]"] == 1
    with pytest.raises(StepRefused, match="still logged on: EcDoDisconnect first"):
        sim.step(state, "RevertToSelf", W1)
    state, lab = sim.step(state, "EcDoDisconnect", W1)
    assert lab == {
        "thread": "worker 1", "message": "EcDoDisconnect", "context": "alice",
        "association": 1, "cache": "hit", "result": "ok",
    }
    assert state["owner[1]"] == "none" and state["pc[1]"] == "working"
    assert state["reg[1]"] == "alice"  # association_scope = process: the association outlives the session
    state, lab = sim.step(state, "RevertToSelf", W1)
    assert lab["message"] == "RevertToSelf" and lab["context"] == "-"
    assert state["job[1]"] == 2 and state["pc[1]"] == "start" and state["done[1]"] == 0 and not state["imp[1]"]
    state, lab = sim.step(state, "Impersonate", W1)
    assert lab["context"] == "bob"
    assert sim.enabled(state) == [("EcDoConnectEx", W1)]
    state, lab = sim.step(state, "EcDoConnectEx", W1)
    assert lab == {
        "thread": "worker 1", "message": "EcDoConnectEx", "context": "bob",
        "association": 1, "cache": "mismatch-evicted", "result": "MAPI_E_NETWORK_ERROR",
    }
    assert state["pc[1]"] == "failed" and state["owner[1]"] == "none"
    assert state["reg[1]"] == "evicted" and state["admitted[1]"] == "alice" and state["mismatch_seen"] is True
    assert sim.enabled(state) == []


def test_two_jobs_per_worker_session_bobs_request_meets_alices_registration():
    sim = Simulator(dataclasses.replace(TWO_JOBS, session_reuse="per-worker"))
    with pytest.raises(StepRefused, match="unknown action 'EcDoDisconnect'.*per-job"):
        sim.step(sim.initial_state(), "EcDoDisconnect", W1)
    state, _ = run(
        sim, ("Impersonate", W1), ("EcDoConnectEx", W1), ("EcDoRpcExt2", W1), ("RevertToSelf", W1),
        ("Impersonate", W1),
    )
    assert state["job[1]"] == 2 and state["owner[1]"] == "alice"  # alice's session stays logged on
    with pytest.raises(StepRefused, match=r"EcDoConnectEx\(worker=1\) is not enabled: .*already logged on"):
        sim.step(state, "EcDoConnectEx", W1)
    assert sim.enabled(state) == [("UseSession", W1), ("ServerEvent", S1)]
    state, lab = sim.step(state, "UseSession", W1)
    assert lab == {
        "thread": "worker 1", "message": "UseSession", "context": "-",
        "association": 0, "cache": "-", "result": "ok",
    }
    state, lab = sim.step(state, "EcDoRpcExt2", W1)
    assert lab == {
        "thread": "worker 1", "message": "EcDoRpcExt2", "context": "bob",
        "association": 1, "cache": "mismatch-evicted", "result": "MAPI_E_NETWORK_ERROR",
    }
    assert state["pc[1]"] == "failed" and state["owner[1]"] == "none"  # the session is dead
    assert state["reg[1]"] == "evicted" and state["done[1]"] == 0


def test_disconnect_closes_a_session_association():
    sim = Simulator(dataclasses.replace(TWO_JOBS, association_scope="session", identity_tracking="static"))
    state, labels = run(sim, ("Impersonate", W1), ("EcDoConnectEx", W1), ("EcDoRpcExt2", W1), ("EcDoDisconnect", W1))
    assert labels[3]["context"] == "alice" and labels[3]["cache"] == "hit" and labels[3]["result"] == "ok"
    assert state["reg[1]"] == state["admitted[1]"] == state["bound[1]"] == "none"  # the association closed
    state, labels = run_from(
        sim, state, ("RevertToSelf", W1), ("Impersonate", W1), ("EcDoConnectEx", W1), ("EcDoRpcExt2", W1)
    )
    assert labels[2]["context"] == "bob" and labels[2]["cache"] == "registered"  # a new association
    assert state["bound[1]"] == "bob" and state["owner[1]"] == "bob"
    assert state["pc[1]"] == "working" and state["done[1]"] == 1
    with pytest.raises(StepRefused, match=r"worker 1 is on its last job \(2 of 2\)"):
        sim.step(state, "EcDoDisconnect", W1)
    state, _ = sim.step(state, "RevertToSelf", W1)
    assert state["pc[1]"] == "finished" and state["owner[1]"] == "bob"  # the last session stays logged on
    assert not any_failed(reachable(sim))


def test_mapi_http_logs_off_with_disconnect():
    sim = Simulator(dataclasses.replace(TWO_JOBS, transport="mapi-http"))
    state, labels = run(sim, ("Impersonate", W1), ("EcDoConnectEx", W1), ("EcDoRpcExt2", W1), ("EcDoDisconnect", W1))
    assert [lab["message"] for lab in labels[1:]] == ["Connect", "Execute", "Disconnect"]
    assert labels[3]["context"] == "alice" and labels[3]["association"] == 0 and labels[3]["result"] == "ok"
    state, labels = run_from(sim, state, ("RevertToSelf", W1), ("Impersonate", W1), ("EcDoConnectEx", W1),
                             ("EcDoRpcExt2", W1))
    assert labels[3]["context"] == "bob" and labels[3]["result"] == "ok"  # bob's own session: no mismatch
    assert state["owner[1]"] == "bob" and state["done[1]"] == 1


def test_per_user_session_shared_by_two_workers():
    sim = Simulator(Scenario(workers=2, users=("alice",), session_reuse="per-user"))
    init = sim.initial_state()
    assert {k for k in init if k.endswith("[1]")} == {
        "imp[1]", "pc[1]", "done[1]", "owner[1]", "pending[1]", "notify[1]", "parked[1]", "reg[1]", "admitted[1]",
    }
    assert "owner[2]" not in init and "pending[2]" not in init  # one session per user
    state, labels = run(
        sim, ("Impersonate", W1), ("EcDoConnectEx", ws(1, 1)), ("EcDoAsyncConnectEx", ws(1, 1)), ("Impersonate", W2),
    )
    assert labels[1]["cache"] == "registered" and labels[2]["cache"] == "hit" and labels[2]["thread"] == "worker 1"
    assert state["owner[1]"] == "alice" and state["notify[1]"] == "idle"
    with pytest.raises(StepRefused, match=r"EcDoConnectEx\(worker=2, session=1\) is not enabled: .*already logged on"):
        sim.step(state, "EcDoConnectEx", ws(2, 1))
    assert sim.enabled(state) == [
        ("EcDoRpcExt2", ws(1, 1)), ("EcDoAsyncWaitEx", S1), ("ServerEvent", S1), ("UseSession", ws(2, 1)),
    ]
    state, lab = sim.step(state, "UseSession", ws(2, 1))
    assert lab["thread"] == "worker 2" and lab["message"] == "UseSession" and lab["cache"] == "-"
    assert state["pc[2]"] == "working" and state["notify[1]"] == "idle"  # no second async connect
    state, lab = sim.step(state, "EcDoRpcExt2", ws(2, 1))
    assert lab["context"] == "alice" and lab["cache"] == "hit" and state["done[2]"] == 1
    # The shared session's notification thread evicts the registration; both workers then fail.
    state, lab = sim.step(state, "EcDoAsyncWaitEx", S1)
    assert lab["thread"] == "notifier 1" and lab["context"] == SYSTEM and lab["cache"] == "mismatch-evicted"
    state, lab = sim.step(state, "EcDoRpcExt2", ws(1, 1))
    assert lab["cache"] == "no-registration" and state["pc[1]"] == "failed" and state["owner[1]"] == "none"
    with pytest.raises(StepRefused, match="session 1 is not open"):
        sim.step(state, "ServerEvent", S1)


def test_reconnect_keeps_the_notification_state_of_a_session_that_is_open():
    sim = Simulator(
        Scenario(
            workers=3, users=("alice",), session_reuse="per-user", worker_impersonates=(True, False, True),
            on_mismatch="fail-only", after_network_error="reconnect-same",
        )
    )
    state, labels = run(
        sim,
        ("Impersonate", W1), ("EcDoConnectEx", ws(1, 1)), ("EcDoAsyncConnectEx", ws(1, 1)),
        ("UseSession", ws(2, 1)),  # worker 2 does not impersonate: ready at once, no rights checked
        ("ServerEvent", S1),
        ("EcDoRpcExt2", ws(2, 1)),
    )
    assert labels[5]["context"] == SYSTEM and labels[5]["cache"] == "mismatch"
    assert state["pc[2]"] == "failed" and state["owner[1]"] == "none" and state["pending[1]"] is True
    # Reconnect on a session that is not open resets its notification state ...
    closed, _ = sim.step(state, "Reconnect", ws(2, 1))
    assert closed["pending[1]"] is False and closed["notify[1]"] == "off" and closed["pc[2]"] == "start"
    # ... but not once worker 3 has logged it on again.
    state, labels = run_from(
        sim, state, ("Impersonate", {"worker": 3}), ("EcDoConnectEx", ws(3, 1)), ("EcDoAsyncConnectEx", ws(3, 1)),
        ("ServerEvent", S1), ("Reconnect", ws(2, 1)),
    )
    assert labels[1]["cache"] == "hit" and state["owner[1]"] == "alice"
    assert state["pc[2]"] == "start" and state["pending[1]"] is True and state["notify[1]"] == "idle"
    assert ("UseSession", ws(2, 1)) in sim.enabled(state)


def test_any_worker_takes_a_job():
    sim = Simulator(Scenario(users=("alice", "bob"), worker_users=("*",), jobs=2, connect_flags=0x20))
    init = sim.initial_state()
    assert init["user[1]"] == "none" and init["job[1]"] == 1 and init["owner[1]"] == "none"
    take = [("TakeJob", {"worker": 1, "user": 1}), ("TakeJob", {"worker": 1, "user": 2})]
    assert sim.enabled(init) == take
    with pytest.raises(StepRefused, match=r"Impersonate\(worker=1\) is not enabled: worker 1 has no user yet"):
        sim.step(init, "Impersonate", W1)
    state, lab = sim.step(init, "TakeJob", {"worker": 1, "user": 2})
    assert lab == {
        "thread": "worker 1", "message": "TakeJob", "context": "bob",
        "association": 0, "cache": "-", "result": "ok",
    }
    assert state["user[1]"] == "bob"
    with pytest.raises(StepRefused, match="already taken a job for bob"):
        sim.step(state, "TakeJob", {"worker": 1, "user": 1})
    state, labels = run_from(
        sim, state, ("Impersonate", W1), ("EcDoConnectEx", W1), ("EcDoRpcExt2", W1), ("EcDoDisconnect", W1),
        ("RevertToSelf", W1),
    )
    assert labels[0]["context"] == "bob" and labels[1]["context"] == "bob" and labels[1]["cache"] == "registered"
    assert state["user[1]"] == "none" and state["job[1]"] == 2 and state["pc[1]"] == "start"
    assert sim.enabled(state) == take  # the next job is any user's again
    state, labels = run_from(
        sim, state, ("TakeJob", {"worker": 1, "user": 2}), ("Impersonate", W1), ("EcDoConnectEx", W1)
    )
    assert labels[2]["cache"] == "hit" and state["owner[1]"] == "bob"


def test_any_workers_share_per_user_sessions():
    sim = Simulator(
        Scenario(workers=2, users=("alice", "bob"), worker_users=("*", "bob"), session_reuse="per-user",
                 connect_flags=0x20, association_scope="session")
    )
    init = sim.initial_state()
    assert "user[1]" in init and "user[2]" not in init and "job[1]" not in init
    assert sim.enabled(init) == [("TakeJob", {"worker": 1, "user": 1}), ("TakeJob", {"worker": 1, "user": 2}),
                                 ("Impersonate", W2)]
    state, _ = run(sim, ("Impersonate", W2), ("EcDoConnectEx", ws(2, 2)), ("TakeJob", {"worker": 1, "user": 2}),
                   ("Impersonate", W1))
    assert state["owner[2]"] == "bob" and state["reg[2]"] == "bob" and state["reg[1]"] == "none"
    with pytest.raises(StepRefused, match="session 1 is alice's, and worker 1's current user is bob"):
        sim.step(state, "UseSession", ws(1, 1))
    state, labels = run_from(sim, state, ("UseSession", ws(1, 2)), ("EcDoRpcExt2", ws(1, 2)))
    assert labels[1]["association"] == 2 and labels[1]["cache"] == "hit" and state["done[1]"] == 1


def test_service_account_mailbox_rights_at_logon():
    design = Scenario(
        workers=2, users=("alice", "bob"), worker_users=("alice", "bob"), impersonate=False,
        mailbox_access={"svc": ("alice",)}, process_identity="svc", connect_flags=0x20,
    )
    sim = Simulator(design)
    state, labels = run(sim, ("EcDoConnectEx", W1), ("EcDoConnectEx", W2))
    assert labels[0]["context"] == "svc" and labels[0]["cache"] == "registered" and labels[0]["result"] == "ok"
    assert state["pc[1]"] == "working" and state["reg[1]"] == "svc"
    assert labels[1]["context"] == "svc" and labels[1]["cache"] == "hit"
    assert labels[1]["result"] == "ecAccessDenied" and state["pc[2]"] == "denied"  # no rights on bob's mailbox
    state, lab = sim.step(state, "EcDoRpcExt2", W1)
    assert lab["context"] == "svc" and lab["result"] == "ok"
    assert not any_failed(reachable(sim))
    # LocalSystem, named but not given rights, is denied; given rights, it logs on.
    system = Simulator(dataclasses.replace(design, process_identity=SYSTEM))
    state, (lab,) = run(system, ("EcDoConnectEx", W1))
    assert lab["context"] == SYSTEM and lab["result"] == "ecAccessDenied" and state["pc[1]"] == "denied"
    granted = Simulator(dataclasses.replace(design, process_identity=SYSTEM, mailbox_access={SYSTEM: ("alice",)}))
    state, (lab,) = run(granted, ("EcDoConnectEx", W1))
    assert lab["context"] == SYSTEM and lab["result"] == "ok" and state["pc[1]"] == "working"


def test_mixed_threads_on_mapi_http():
    sim = Simulator(
        Scenario(workers=2, users=("alice", "bob"), worker_users=("alice", "bob"), worker_impersonates=(True, False),
                 process_identity="bob", transport="mapi-http", connect_flags=0x20)
    )
    with pytest.raises(StepRefused, match=r"worker 2 does not impersonate \(worker_impersonates\[2\] = false\)"):
        sim.step(sim.initial_state(), "Impersonate", W2)
    state, labels = run(sim, ("Impersonate", W1), ("EcDoConnectEx", W1), ("EcDoConnectEx", W2),
                        ("EcDoRpcExt2", W1), ("EcDoRpcExt2", W2))
    assert [lab["context"] for lab in labels[1:]] == ["alice", "bob", "alice", "bob"]
    assert [lab["result"] for lab in labels] == ["ok"] * 5  # each session's owner is its worker's identity
    assert labels[1]["message"] == "Connect" and labels[3]["message"] == "Execute"


def test_per_process_notifier_thread_label():
    sim = Simulator(dataclasses.replace(load_builtin("seed"), workers=2, notifier="per-process"))
    state, labels = run(sim, *SEED_PATH)
    assert labels[3]["thread"] == "notifier" and labels[3]["cache"] == "mismatch-evicted"
    assert labels[2]["thread"] == "worker 1"  # the worker's own async connect stays on the worker
    state, lab = sim.step(state, "Poll", S1)
    assert lab["thread"] == "notifier"
    notifier = Simulator(dataclasses.replace(load_builtin("exchange-2010"), workers=2, notifier="per-process",
                                             async_connect_by="notifier"))
    state, labels = run(notifier, ("Impersonate", W2), ("EcDoConnectEx", W2), ("EcDoAsyncConnectEx", {"session": 2}),
                        ("EcDoAsyncWaitEx", {"session": 2}))
    assert [lab["thread"] for lab in labels] == ["worker 2", "worker 2", "notifier", "notifier"]
    assert state["parked[2]"] is True and state["parked[1]"] is False  # each session keeps its own state


def test_refuses_bad_parameters_of_the_new_actions():
    any_worker = Simulator(Scenario(workers=2, users=("alice", "bob"), worker_users=("*", ("alice", "bob")),
                                    session_reuse="per-user", connect_flags=0x20))
    init = any_worker.initial_state()
    with pytest.raises(StepRefused) as exc:
        any_worker.step(init, "TakeJob", W1)
    assert str(exc.value) == "TakeJob takes parameters worker=1..2, user=1..2, got {'worker': 1}"
    with pytest.raises(StepRefused, match=r"TakeJob takes parameters worker=1..2, user=1..2, got user=3: out of range"):
        any_worker.step(init, "TakeJob", {"worker": 1, "user": 3})
    with pytest.raises(StepRefused, match=r'TakeJob\(worker=2, user=1\) is not an action.*worker 2 takes no "\*" jobs'):
        any_worker.step(init, "TakeJob", {"worker": 2, "user": 1})
    with pytest.raises(StepRefused, match=r"EcDoRpcExt2 takes parameters worker=1..2, session=1..2, got \{'worker': 1"):
        any_worker.step(init, "EcDoRpcExt2", W1)
    with pytest.raises(StepRefused, match=r"got session=True: out of range"):
        any_worker.step(init, "UseSession", {"worker": 1, "session": True})
    with pytest.raises(StepRefused, match="Impersonate takes one parameter worker=1..2"):
        any_worker.step(init, "Impersonate", ws(1, 1))
    with pytest.raises(StepRefused, match="unknown action 'EcDoDisconnect'"):
        any_worker.step(init, "EcDoDisconnect", W1)  # per-user sessions are never logged off
    state, _ = any_worker.step(init, "TakeJob", {"worker": 1, "user": 1})
    with pytest.raises(StepRefused, match=r"EcDoConnectEx\(worker=1, session=2\) is not enabled: session 2 is bob's"):
        any_worker.step(state, "EcDoConnectEx", ws(1, 2))

    one_user = Simulator(Scenario(workers=2, users=("alice", "bob"), worker_users=("alice", ("alice", "bob")),
                                  session_reuse="per-user"))
    with pytest.raises(StepRefused, match=r"UseSession\(worker=1, session=2\) is not an action of scenario 'custom': "
                                          r"session 2 is bob's, and worker 1 serves only alice"):
        one_user.step(one_user.initial_state(), "UseSession", ws(1, 2))

    mixed = Simulator(Scenario(workers=2, users=("alice", "bob"), worker_users=("alice", ("alice", "bob"))))
    with pytest.raises(StepRefused, match=r"EcDoDisconnect\(worker=1\) is not enabled: worker 1 has one job"):
        mixed.step(mixed.initial_state(), "EcDoDisconnect", W1)
    seed = Simulator(load_builtin("seed"))
    with pytest.raises(StepRefused, match="unknown action 'UseSession'.*not tracked"):
        seed.step(seed.initial_state(), "UseSession", W1)
    with pytest.raises(StepRefused, match="unknown action 'TakeJob'.*no worker takes"):
        seed.step(seed.initial_state(), "TakeJob", {"worker": 1, "user": 1})


# --------------------------------------------------------------------------------------------
# Property: random walks in random scenarios

PCS = {"start", "connected", "working", "finished", "failed", "denied"}
NOTIFIES = {"off", "idle", "waiting", "fetch", "polling", "stopped"}
CACHE_EVENTS = {"-", "registered", "hit", "mismatch", "mismatch-evicted", "no-registration", "re-registered"}
RESULTS = {"ok", "parked", "NotificationPending", "flags=0", "MAPI_E_NETWORK_ERROR", "ecRejected", "ecAccessDenied"}
MESSAGES = {
    "TakeJob", "ImpersonateLoggedOnUser", "EcDoConnectEx", "UseSession", "EcDoAsyncConnectEx", "EcDoRpcExt2",
    "EcDoDisconnect", "RevertToSelf", "Reconnect", "EcDoAsyncWaitEx", "ServerEvent", "CompleteWait", "WaitTimeout",
    "Connect", "Execute", "NotificationWait", "Disconnect",
}
SESSION_ACTIONS = [
    "EcDoAsyncWaitEx", "FetchNotifications", "Poll", "ServerEvent", "CompleteWait", "WaitTimeout",
]


def tracked(sc: Scenario) -> bool:
    """SEMANTICS.md's tracked designs, written out again."""
    return sc.session_reuse == "per-user" or any(
        len(sc.jobs_of(w)) > 1 or "*" in sc.jobs_of(w) for w in range(1, sc.workers + 1)
    )


def sessions(sc: Scenario) -> range:
    return range(1, (len(sc.users) if sc.session_reuse == "per-user" else sc.workers) + 1)


def expected_domains(sc: Scenario) -> dict[str, set]:
    """The table of SEMANTICS.md, written out again: variable name -> allowed values."""
    ids = set(sc.identities)
    async_ = not sc.connect_flags & 0x20
    rpc = sc.transport in ("rpc-http", "rpc-tcp")
    assocs = 0 if not rpc else (1 if sc.association_scope == "process" else len(sessions(sc)))
    dom: dict[str, set] = {}
    for w in range(1, sc.workers + 1):
        dom[f"imp[{w}]"] = {True, False}
        dom[f"pc[{w}]"] = PCS
        dom[f"done[{w}]"] = set(range(sc.requests + 1))
        if len(sc.jobs_of(w)) > 1:
            dom[f"job[{w}]"] = set(range(1, len(sc.jobs_of(w)) + 1))
        if "*" in sc.jobs_of(w):
            dom[f"user[{w}]"] = {"none", *sc.users}
    for s in sessions(sc):
        if tracked(sc):
            dom[f"owner[{s}]"] = {"none"} | ids
        dom[f"pending[{s}]"] = {True, False}
        if async_:
            dom[f"notify[{s}]"] = NOTIFIES
            dom[f"parked[{s}]"] = {True, False}
    for a in range(1, assocs + 1):
        if sc.transport == "rpc-http":
            dom[f"reg[{a}]"] = {"none", "evicted"} | ids
            dom[f"admitted[{a}]"] = {"none"} | ids
        if sc.identity_tracking == "static":
            dom[f"bound[{a}]"] = {"none"} | ids
    if sc.transport == "rpc-http":
        dom["mismatch_seen"] = {True, False}
    return dom


def candidate_calls(sc: Scenario) -> list[tuple[str, dict[str, int]]]:
    """Every in-range call of every action name, shaped as SEMANTICS.md's parameter rules say."""
    workers, users = range(1, sc.workers + 1), range(1, len(sc.users) + 1)
    per_user = sc.session_reuse == "per-user"
    by_worker = [{"worker": w} for w in workers]
    with_session = [{"worker": w, "session": s} for w in workers for s in sessions(sc)] if per_user else by_worker
    calls = [("TakeJob", {"worker": w, "user": i}) for w in workers for i in users]
    calls += [(name, p) for name in ("Impersonate", "EcDoDisconnect", "RevertToSelf") for p in by_worker]
    calls += [(name, p) for name in ("EcDoConnectEx", "UseSession", "EcDoRpcExt2", "Reconnect") for p in with_session]
    if sc.async_connect_by == "worker" and per_user:
        calls += [("EcDoAsyncConnectEx", p) for p in with_session]
    else:  # the worker's, named by its session s = w; or the notifier's
        calls += [("EcDoAsyncConnectEx", {"session": s}) for s in sessions(sc)]
    calls += [(name, {"session": s}) for name in SESSION_ACTIONS for s in sessions(sc)]
    return calls


def check_state(state: State, domains: dict[str, set]) -> None:
    assert set(state) == set(domains)
    for name, value in state.items():
        assert value in domains[name], (name, value)
        # bool and int are distinct in ITF: no True where 1 is meant, or the reverse
        assert isinstance(value, bool) == all(isinstance(v, bool) for v in domains[name]), (name, value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(), data=st.data())
def test_random_walks_stay_in_the_domains(scenario, data):
    sim = Simulator(scenario)
    domains = expected_domains(scenario)
    candidates = candidate_calls(scenario)
    notifier = {f"notifier {s}" for s in sessions(scenario)} if scenario.notifier == "per-session" else {"notifier"}
    state = sim.initial_state()
    check_state(state, domains)
    for _ in range(data.draw(st.integers(0, 40), label="length")):
        enabled = sim.enabled(state)
        # enabled is exactly the set of action instances that step accepts, all of them well shaped
        assert all(call in candidates for call in enabled), enabled
        for name, params in candidates:
            try:
                sim.step(state, name, params)
            except StepRefused:
                assert (name, params) not in enabled
            else:
                assert (name, params) in enabled
        if not enabled:
            break
        name, params = data.draw(st.sampled_from(enabled), label="action")
        previous, snapshot = state, copy.deepcopy(state)
        state, labels = sim.step(previous, name, params)
        assert previous == snapshot  # step never mutates its input
        check_state(state, domains)
        assert set(labels) == {"thread", "message", "context", "association", "cache", "result"}
        if "worker" in params:
            assert labels["thread"] == f"worker {params['worker']}"
        else:
            assert labels["thread"] in {f"worker {params['session']}", "server", *notifier}
        assert labels["message"] in MESSAGES
        assert labels["context"] in {"-", *scenario.identities}
        assert labels["cache"] in CACHE_EVENTS and labels["result"] in RESULTS
        assert isinstance(labels["association"], int) and not isinstance(labels["association"], bool)
        assert 0 <= labels["association"] <= scenario.association_count
        if scenario.transport != "rpc-http":
            assert labels["cache"] == "-"
        if scenario.transport == "mapi-http":
            assert labels["association"] == 0


# --------------------------------------------------------------------------------------------
# The simulator's own reading of a design, and workers = "any"


def test_a_workers_any_design_is_simulated_with_the_count_it_is_given():
    pool = load_builtin("thread-pool")
    any_pool = dataclasses.replace(pool, workers="any", worker_users=("*",), worker_impersonates=(True,))
    assert Simulator(any_pool, 2).initial_state() == Simulator(pool).initial_state()
    assert len([k for k in Simulator(any_pool, 3).initial_state() if k.startswith("pc[")]) == 3
    with pytest.raises(ValueError, match="fixed number of workers"):
        Simulator(any_pool)
    with pytest.raises(ValueError, match="has 2 workers, not 3"):
        Simulator(pool, 3)
    with pytest.raises(ValueError, match="from 1 to 16"):
        Simulator(any_pool, 17)


def test_replay_of_a_workers_any_counterexample_needs_its_count():
    from regcheck.core.result import Trace
    from regcheck.model.replay import replay

    any_seed = dataclasses.replace(load_builtin("seed"), workers="any")
    state = Simulator(any_seed, 1).initial_state()
    trace = Trace(vars=tuple(state), states=(state,), steps=())
    assert replay(any_seed, trace.with_meta(workers=1)).ok
    for bad in (None, "1\x1b", True, 0, 99, 10**5000):
        report = replay(any_seed, trace if bad is None else trace.with_meta(workers=bad))
        assert not report.ok and report.step == 0, bad
        assert "\x1b" not in str(report) and len(str(report)) < 300
    with pytest.raises(ValueError, match="no definition of property 'nonsense'"):
        replay(any_seed, trace.with_meta(workers=1), "nonsense")
    report = replay(any_seed, trace.with_meta(workers=1), "worker-never-gets-network-error")
    assert str(report) == "the initial state: worker-never-gets-network-error holds in the final state"
