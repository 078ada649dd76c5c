"""Thread-by-thread refutation (`regcheck/core/projection.py`): it never refutes a log the model wrote, and it
refutes the logs whose impossibility is a thread's own (regcheck/model/SOUNDNESS.md, "Diagnosis")."""

from __future__ import annotations

import json
import random
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regcheck import diagnosis
from regcheck.core.compile import compile_system
from regcheck.core.explore import random_run
from regcheck.core.expr import Ite, Var
from regcheck.core.projection import HAVOC, Units, refute, thread_of, units
from regcheck.diagnosis import GIVEN, ONE_TO_ONE, diagnose, observed_of
from regcheck.model.observations import Event, log_of, parse_jsonl
from regcheck.model.scenario import Scenario, load_builtin, with_overrides
from regcheck.model.system import build
from tests.strategies import scenarios


def _refuted(scenario: Scenario, events: list[Event]) -> int | None:
    """The event (0-based) the thread-by-thread check says no execution reaches, or None."""
    system = build(scenario)
    compiled = compile_system(system)
    parts = diagnosis._units(compiled.system, scenario, object())
    observed = [observed_of(e, compiled.system) for e in events]
    # As the diagnosis binds them: associations one to one only where no step replaces one (units ignore those steps).
    one_to_one = diagnosis._stateless([diagnosis.renewed_association(a, scenario) for a in system.actions])
    found = refute(parts, observed, one_to_one=one_to_one, given=GIVEN, max_nodes=200_000, deadline=None)
    return None if found is None else found.event


def _hidden(events: list[Event], rng: random.Random) -> list[Event]:
    kept = [e.to_json() for e in events if rng.random() > 0.3]
    for fields in kept:
        fields.pop("event", None)
        fields.pop("line", None)
        for key in ("thread", "as", "result", "association", "session"):
            if key in fields and rng.random() < 0.25:
                del fields[key]
    return parse_jsonl("".join(json.dumps(d) + "\n" for d in kept)) if kept else []


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(), seed=st.integers(0, 10_000), hide=st.booleans())
def test_a_log_of_a_run_is_never_refuted_thread_by_thread(scenario: Scenario, seed: int, hide: bool) -> None:
    """Every unit of every design lets each log thread of the design's own runs through, hidden events or not."""
    trace = random_run(compile_system(build(scenario)), random.Random(seed), 40)
    events = log_of(scenario, trace)
    if hide:
        events = _hidden(events, random.Random(seed))
    assert _refuted(scenario, events) is None


def test_units_are_a_session_each_beside_the_association_they_share() -> None:
    system = build(with_overrides(load_builtin("seed"), ["workers=3"]))
    parts = units(system, frozenset({"reg[1]", "admitted[1]", "mismatch_seen"}), frozenset({"server"}))
    threads = sorted(sorted(str(thread_of(system.actions[i])) for i in unit) for unit in parts)
    assert [sorted(set(t)) for t in threads] == [["notifier 1", "server", "worker 1"],
                                                 ["notifier 2", "server", "worker 2"],
                                                 ["notifier 3", "server", "worker 3"]]


def test_a_units_system_havocs_only_what_another_unit_writes() -> None:
    scenario = with_overrides(load_builtin("seed"), ["workers=2", "association_scope=session"])
    system = build(scenario)
    parts = Units(system, frozenset({"reg[1]", "admitted[1]", "reg[2]", "admitted[2]", "mismatch_seen"}),
                  frozenset({"server"}))
    unit = parts.of_thread("worker 1")
    assert unit is not None
    own = parts.compiled(unit).system
    assert not [a for a in own.actions if a.name == HAVOC]  # its association is its own: nothing to havoc
    assert "mismatch_seen" not in own.names  # no guard or label reads it
    assert "reg[1]" in own.names and "reg[2]" not in own.names
    assert "admitted[1]" not in own.names  # only the properties read it


def test_a_thread_that_calls_after_its_network_error_is_ruled_out_thread_by_thread() -> None:
    """Four workers on one association, bob's beside alice's: under after_network_error=fail a worker makes no
    call after a network error, whatever the other threads do, so the log of a reconnecting design is ruled
    out at the worker's second EcDoConnectEx; the whole search would have to visit every interleaving first."""
    design = with_overrides(load_builtin("seed"), ["workers=4", "requests=2", "connect_flags=0x20", "users=alice,bob",
                                                   "worker_users=bob,alice,alice,alice",
                                                   "after_network_error=reconnect-same"])
    events = log_of(design, random_run(compile_system(build(design)), random.Random(0), 40))[:18]
    assert [(e.thread, e.call, e.result) for e in events[13:18:4]] == [
        ("T2", "EcDoConnectEx", "MAPI_E_NETWORK_ERROR"), ("T2", "EcDoConnectEx", "MAPI_E_NETWORK_ERROR")]
    assert _refuted(with_overrides(design, ["after_network_error=fail"]), events) == 17
    assert _refuted(design, events) is None
    result = diagnose(events, design, ["after_network_error=fail,reconnect-same"], check_fixes=False)
    assert [dict(o.setting.values) for g in result.explained for o in g.outcomes] == [
        {"after_network_error": "reconnect-same"}]
    [(event, why, group)] = result.ruled_out
    assert event == 18 and dict(group.description) == {"after_network_error": ("fail",)}
    assert why.startswith("thread 'T2' cannot make it after its own earlier lines")


def test_nothing_is_refuted_where_a_thread_is_named_by_an_expression() -> None:
    """Which model threads a log thread may be is read off constant thread labels; with one that is not, the same
    log the thread-by-thread check refutes above is refuted by none."""
    design = with_overrides(load_builtin("seed"), ["workers=4", "requests=2", "connect_flags=0x20", "users=alice,bob",
                                                   "worker_users=bob,alice,alice,alice",
                                                   "after_network_error=reconnect-same"])
    events = log_of(design, random_run(compile_system(build(design)), random.Random(0), 40))[:18]
    failing = with_overrides(design, ["after_network_error=fail"])
    system = build(failing)
    first = system.actions[0]
    thread = dict(first.labels)["thread"]
    veiled = replace(first, labels=tuple((k, Ite(Var("imp[1]"), thread, thread) if k == "thread" else v)
                                         for k, v in first.labels))
    system = replace(system, actions=(veiled, *system.actions[1:]))
    compiled = compile_system(system)
    parts = Units(system, frozenset({"reg[1]", "admitted[1]", "mismatch_seen"}), frozenset({"server"}))
    observed = [observed_of(e, compiled.system) for e in events]
    assert _refuted(failing, events) == 17
    assert refute(parts, observed, one_to_one=ONE_TO_ONE, given=GIVEN, max_nodes=200_000, deadline=None) is None
