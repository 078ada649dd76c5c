"""Tests of the reference simulator alone (model/simulator.py) against SEMANTICS.md.

The simulator is the oracle every counterexample is replayed on, so these tests pin real outcomes:
the article's seed path label by label, the fixes that must never fail a worker (explored
exhaustively), the variants, the refusals, and a random-walk property over every switch.
"""

from __future__ import annotations

import copy
import dataclasses
from collections import deque

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.scenario import CHOICES, SYSTEM, Scenario, load_builtin
from model.simulator import Simulator, State, StepRefused

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
# Property: random walks in random scenarios

PCS = {"start", "connected", "working", "finished", "failed", "denied"}
NOTIFIES = {"off", "idle", "waiting", "fetch", "polling", "stopped"}
CACHE_EVENTS = {"-", "registered", "hit", "mismatch", "mismatch-evicted", "no-registration", "re-registered"}
RESULTS = {"ok", "parked", "NotificationPending", "flags=0", "MAPI_E_NETWORK_ERROR", "ecRejected", "ecAccessDenied"}
MESSAGES = {
    "ImpersonateLoggedOnUser", "EcDoConnectEx", "EcDoAsyncConnectEx", "EcDoRpcExt2", "RevertToSelf",
    "Reconnect", "EcDoAsyncWaitEx", "ServerEvent", "CompleteWait", "WaitTimeout",
    "Connect", "Execute", "NotificationWait",
}
ALL_ACTIONS = [
    ("Impersonate", "worker"), ("EcDoConnectEx", "worker"), ("EcDoAsyncConnectEx", "session"),
    ("EcDoRpcExt2", "worker"), ("RevertToSelf", "worker"), ("Reconnect", "worker"),
    ("EcDoAsyncWaitEx", "session"), ("FetchNotifications", "session"), ("Poll", "session"),
    ("ServerEvent", "session"), ("CompleteWait", "session"), ("WaitTimeout", "session"),
]


def expected_domains(sc: Scenario) -> dict[str, set]:
    """The table of SEMANTICS.md, written out again: variable name -> allowed values."""
    ids = set(sc.identities)
    async_ = not sc.connect_flags & 0x20
    rpc = sc.transport in ("rpc-http", "rpc-tcp")
    assocs = 0 if not rpc else (1 if sc.association_scope == "process" else sc.workers)
    dom: dict[str, set] = {}
    for w in range(1, sc.workers + 1):
        dom[f"imp[{w}]"] = {True, False}
        dom[f"pc[{w}]"] = PCS
        dom[f"done[{w}]"] = set(range(sc.requests + 1))
        dom[f"pending[{w}]"] = {True, False}
        if async_:
            dom[f"notify[{w}]"] = NOTIFIES
            dom[f"parked[{w}]"] = {True, False}
    for a in range(1, assocs + 1):
        if sc.transport == "rpc-http":
            dom[f"reg[{a}]"] = {"none", "evicted"} | ids
            dom[f"admitted[{a}]"] = {"none"} | ids
        if sc.identity_tracking == "static":
            dom[f"bound[{a}]"] = {"none"} | ids
    if sc.transport == "rpc-http":
        dom["mismatch_seen"] = {True, False}
    return dom


@st.composite
def scenarios(draw) -> Scenario:
    workers = draw(st.integers(1, 3))
    users = draw(st.sampled_from([("alice",), ("alice", "bob")]))
    worker_users = draw(
        st.one_of(st.just(()), st.lists(st.sampled_from(users), min_size=workers, max_size=workers).map(tuple))
    )
    return Scenario(
        workers=workers,
        requests=draw(st.integers(1, 2)),
        users=users,
        worker_users=worker_users,
        impersonate=draw(st.booleans()),
        process_identity=draw(st.sampled_from((SYSTEM, *users))),
        connect_flags=draw(st.sampled_from([0, 0x20, 0x21])),
        server_async=draw(st.booleans()),
        **{key: draw(st.sampled_from(values)) for key, values in CHOICES.items()},
    )


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
    state = sim.initial_state()
    check_state(state, domains)
    for _ in range(data.draw(st.integers(0, 40), label="length")):
        enabled = sim.enabled(state)
        # enabled is exactly the set of action instances that step accepts
        for name, param in ALL_ACTIONS:
            for w in range(1, scenario.workers + 1):
                try:
                    sim.step(state, name, {param: w})
                except StepRefused:
                    assert (name, {param: w}) not in enabled
                else:
                    assert (name, {param: w}) in enabled
        if not enabled:
            break
        name, params = data.draw(st.sampled_from(enabled), label="action")
        previous, snapshot = state, copy.deepcopy(state)
        state, labels = sim.step(previous, name, params)
        assert previous == snapshot  # step never mutates its input
        check_state(state, domains)
        assert set(labels) == {"thread", "message", "context", "association", "cache", "result"}
        w = next(iter(params.values()))
        assert labels["thread"] in {f"worker {w}", f"notifier {w}", "server"}
        assert labels["message"] in MESSAGES
        assert labels["context"] in {"-", *scenario.identities}
        assert labels["cache"] in CACHE_EVENTS and labels["result"] in RESULTS
        assert isinstance(labels["association"], int) and not isinstance(labels["association"], bool)
        assert 0 <= labels["association"] <= scenario.association_count
        if scenario.transport != "rpc-http":
            assert labels["cache"] == "-"
        if scenario.transport == "mapi-http":
            assert labels["association"] == 0
