"""Explanations and distinct causes: shrinking by replay (regcheck/model/explain.py), cause signatures
(regcheck/core/causes.py), their z3 encoding (regcheck/core/smt.py) and the enumeration (regcheck/core/engines/distinct.py)."""

from __future__ import annotations

import itertools

import pytest

from regcheck.core.causes import Moment, signature
from regcheck.core.constraints import has_signature, lacks_signatures
from regcheck.core.engines import Options, bmc
from regcheck.core.engines.distinct import counterexamples
from regcheck.core.result import Trace
from regcheck.core.smt import SAT, UNSAT, Solver, Unrolling
from regcheck.core.system import Kind, Property
from regcheck.deadline import Deadline, OutOfTime
from regcheck.errors import InvalidArgument
from regcheck.model.explain import CAUSE, describe, explain, first_violation, same_cause, simulate
from regcheck.model.replay import replay
from regcheck.model.scenario import Scenario, load_builtin, with_overrides
from regcheck.model.system import build
from regcheck.properties.catalogue import instantiate

PROPERTY = "worker-never-gets-network-error"
SHORTEST = [
    ("Impersonate", {"worker": 1}),
    ("EcDoConnectEx", {"worker": 1}),
    ("EcDoAsyncConnectEx", {"session": 1}),
    ("EcDoAsyncWaitEx", {"session": 1}),
    ("EcDoRpcExt2", {"worker": 1}),
]


def _trace(scenario: Scenario, calls: list[tuple[str, dict[str, int]]]) -> Trace:
    trace = simulate(scenario, calls, build(scenario).names)
    assert isinstance(trace, Trace), trace
    return trace


def _calls(trace: Trace) -> list[tuple[str, dict[str, int]]]:
    return [(s.action, dict(s.params)) for s in trace.steps]


# --------------------------------------------------------------------------------------------
# Shrinking


def test_shrinks_a_padded_counterexample_to_the_steps_that_matter() -> None:
    seed = load_builtin("seed")
    formula = instantiate(PROPERTY, seed).formula
    padded = [
        SHORTEST[0],
        SHORTEST[1],
        ("ServerEvent", {"session": 1}),
        SHORTEST[2],
        SHORTEST[3],
        ("Poll", {"session": 1}),  # the notifier falls back to polling, and fails again: a detour
        SHORTEST[4],
    ]
    trace = _trace(seed, padded)
    assert first_violation(trace, formula) == len(padded)
    found = explain(seed, trace, formula)
    assert _calls(found.shrunk) == SHORTEST
    assert len(found.shrunk) <= len(trace)
    assert replay(seed, found.shrunk, PROPERTY).ok, "the shrunk trace replays and still violates"
    assert found.dropped_threads == ("server",)
    assert [n.step for n in found.needs] == [1, 2, 3, 4, 5]
    assert found.needs[0].reason == (
        "without it, step 2 EcDoConnectEx(worker=1) is not enabled: worker 1 has not impersonated alice yet"
    )
    assert found.needs[3].reason == "without it, the property holds"
    assert found.cause.startswith("Step 4: notifier 1")
    assert "running as SYSTEM" in found.cause and "evicted the registration" in found.cause
    assert found.shrunk.meta["shrunk_from"] == len(trace)


def test_drops_a_thread_that_plays_no_part() -> None:
    two = with_overrides(load_builtin("seed"), ["workers=2"])
    formula = instantiate(PROPERTY, two).formula
    noise = [("Impersonate", {"worker": 2}), ("EcDoConnectEx", {"worker": 2})]
    trace = _trace(two, [SHORTEST[0], noise[0], SHORTEST[1], noise[1], *SHORTEST[2:]])
    found = explain(two, trace, formula)
    assert "worker 2" in found.dropped_threads
    assert _calls(found.shrunk) == SHORTEST
    assert replay(two, found.shrunk, PROPERTY).ok


def test_a_shortest_counterexample_does_not_shrink() -> None:
    seed = load_builtin("seed")
    prop = instantiate(PROPERTY, seed)
    (result,) = bmc.check(build(seed), [prop], Options(depth=8))
    assert result.trace is not None
    found = explain(seed, result.trace, prop.formula)
    assert len(found.shrunk) == len(result.trace) == 5
    assert found.dropped_threads == ()


def test_explain_needs_a_violating_trace() -> None:
    seed = load_builtin("seed")
    with pytest.raises(ValueError, match="does not replay to a violation"):
        explain(seed, _trace(seed, SHORTEST[:2]), instantiate(PROPERTY, seed).formula)


def test_simulate_reports_the_refused_step() -> None:
    seed = load_builtin("seed")
    assert simulate(seed, [SHORTEST[1]], build(seed).names) == (
        1,
        "EcDoConnectEx(worker=1) is not enabled: worker 1 has not impersonated alice yet",
    )


# --------------------------------------------------------------------------------------------
# Signatures, and their z3 encoding


def test_signature_of_the_seed() -> None:
    seed = load_builtin("seed")
    sig = signature(_trace(seed, SHORTEST), CAUSE)
    assert sig == (
        (("thread", "worker 1"), ("message", "EcDoConnectEx"), ("context", "alice")),
        (("thread", "notifier 1"), ("action", "EcDoAsyncWaitEx"), ("context", "SYSTEM"), ("cache", "mismatch-evicted")),
        (
            ("thread", "worker 1"),
            ("action", "EcDoRpcExt2"),
            ("cache", "no-registration"),
            ("result", "MAPI_E_NETWORK_ERROR"),
        ),
    )
    assert describe(sig) == (
        "worker 1 registered first (EcDoConnectEx as alice); notifier 1's EcDoAsyncWaitEx as SYSTEM met a "
        "mismatch, registration evicted; worker 1's EcDoRpcExt2 (no registration) ended it: MAPI_E_NETWORK_ERROR"
    )
    assert signature(_trace(seed, SHORTEST[:2]), CAUSE)[1] is None, "no mismatch yet"


@pytest.mark.parametrize("length", [0, 2, 4, 5])
def test_z3_encoding_agrees_with_the_signature(length: int) -> None:
    """A path fixed to a trace's actions has that trace's signature in z3, and no other we try."""
    seed = load_builtin("seed")
    system = build(seed)
    trace = _trace(seed, SHORTEST[:length])
    unrolling = Unrolling(system)
    solver = Solver()
    solver.add(unrolling.init())
    for k, step in enumerate(trace.steps):
        solver.add(unrolling.transition(k))
        solver.add(unrolling.step_matches(k, (("action", (step.action,)),)))
        solver.add(unrolling.step_matches(k, (("thread", (step.labels["thread"],)),)))
    own = signature(trace, CAUSE)
    assert solver.check_under(has_signature(unrolling, length, CAUSE, own)) == SAT
    assert solver.check_under(lacks_signatures(unrolling, length, CAUSE, [own])) == UNSAT
    other = _trace(with_overrides(seed, []), SHORTEST)  # the full story differs from any proper prefix
    if length != 5:
        assert solver.check_under(has_signature(unrolling, length, CAUSE, signature(other, CAUSE))) == UNSAT


# --------------------------------------------------------------------------------------------
# Distinct counterexamples


def _check_distinct(scenario: Scenario, name: str, limit: int, depth: int) -> list[Trace]:
    prop = instantiate(name, scenario)
    found = counterexamples(build(scenario), prop, CAUSE, depth=depth, limit=limit, same=same_cause(scenario))
    same = same_cause(scenario)
    for a, b in itertools.combinations(found.signatures, 2):
        assert b not in same(a), "no two causes are the same story with workers renamed"
    for trace, sig in zip(found.traces, found.signatures):
        assert signature(trace, CAUSE) == sig
        assert replay(scenario, trace, name).ok
        assert first_violation(trace, prop.formula) == len(trace), "the violating step is the last"
    return list(found.traces)


def test_the_seed_has_one_cause() -> None:
    seed = load_builtin("seed")
    prop = instantiate(PROPERTY, seed)
    found = counterexamples(build(seed), prop, CAUSE, depth=12, limit=3)
    assert len(found.traces) == 1 and found.exhausted and found.depth == 12
    assert _calls(found.traces[0]) == SHORTEST


def test_two_workers_have_several_causes() -> None:
    two = with_overrides(load_builtin("seed"), ["workers=2"])
    traces = _check_distinct(two, PROPERTY, limit=3, depth=8)
    assert len(traces) == 3
    assert len(traces[0]) == 5, "the first cause is told by a shortest counterexample"
    assert [len(t) for t in traces] == sorted(len(t) for t in traces)


def test_limit_reached_is_not_exhausted() -> None:
    two = with_overrides(load_builtin("seed"), ["workers=2"])
    found = counterexamples(build(two), instantiate(PROPERTY, two), CAUSE, depth=8, limit=1)
    assert len(found.traces) == 1 and not found.exhausted


def test_same_cause_renames_interchangeable_workers_only() -> None:
    trace = _trace(load_builtin("seed"), SHORTEST)
    sig = signature(trace, CAUSE)
    same = with_overrides(load_builtin("seed"), ["workers=2"])
    renamed = [s for s in same_cause(same)(sig) if s != sig]
    assert len(renamed) == 1
    assert {v for mark in renamed[0] if mark for k, v in mark if k == "thread"} == {"worker 2", "notifier 2"}
    different = with_overrides(load_builtin("seed"), ["workers=2", "users=alice,bob"])
    assert same_cause(different)(sig) == [sig], "worker 2 impersonates bob: not interchangeable with worker 1"


def test_distinct_refuses_bad_requests() -> None:
    seed = load_builtin("seed")
    system = build(seed)
    prop = instantiate(PROPERTY, seed)
    with pytest.raises(InvalidArgument, match="at least 1"):
        counterexamples(system, prop, CAUSE, depth=4, limit=0)
    live = Property("live", Kind.LIVENESS, "", "", prop.formula)
    with pytest.raises(InvalidArgument, match="safety"):
        counterexamples(system, live, CAUSE, depth=4, limit=1)


def test_moment_without_selector_is_the_last_step() -> None:
    trace = _trace(load_builtin("seed"), SHORTEST)
    last = Moment("last", ("action",))
    assert last.pick(trace) is trace.steps[-1]
    assert signature(trace, (last,)) == ((("action", "EcDoRpcExt2"),),)


# --------------------------------------------------------------------------------------------
# Client designs


def test_mailbox_walker_explained() -> None:
    """One worker serves alice, then bob: every step is needed, and bob's logon meets alice's registration."""
    walker = load_builtin("mailbox-walker")
    prop = instantiate(PROPERTY, walker)
    (result,) = bmc.check(build(walker), [prop], Options(depth=8))
    assert result.trace is not None and len(result.trace) == 7
    found = explain(walker, result.trace, prop.formula)
    assert len(found.shrunk) == 7 and found.dropped_threads == ()
    assert found.cause.startswith(
        "Step 7: worker 1, running as bob, sent EcDoConnectEx on association g1, registered to alice by its own "
        "earlier job at step 2"
    )
    assert found.needs[3].label == "EcDoDisconnect(worker=1)"
    sig = signature(found.shrunk, CAUSE)
    assert describe(sig) == (
        "worker 1 registered first (EcDoConnectEx as alice); worker 1's EcDoConnectEx as bob met a mismatch, "
        "registration evicted; worker 1's EcDoConnectEx (mismatch, registration evicted) ended it: MAPI_E_NETWORK_ERROR"
    )


def test_same_cause_groups_workers_by_their_jobs_and_impersonation() -> None:
    from regcheck.model import parameterised

    trace = _trace(load_builtin("seed"), SHORTEST)
    sig = signature(trace, CAUSE)
    mixed = load_builtin("mixed-threads")  # both workers serve alice; only worker 1 impersonates
    assert same_cause(mixed)(sig) == [sig]
    assert not parameterised.symmetric(mixed)
    walkers = with_overrides(load_builtin("mailbox-walker"), ["workers=2", "worker_users=alice+bob,bob+alice"])
    assert same_cause(walkers)(sig) == [sig], "the same users in another order are other jobs"
    pool = load_builtin("thread-pool")
    renamed = [s for s in same_cause(pool)(sig) if s != sig]
    assert {v for mark in renamed[0] if mark for k, v in mark if k == "thread"} == {"worker 2", "notifier 2"}


def test_same_cause_keeps_the_notifier_of_a_per_user_session() -> None:
    """Per-user sessions belong to users: renaming worker 1 to worker 2 leaves notifier 1 (alice's session's)."""
    cache = load_builtin("session-cache")
    sig = (
        (("thread", "worker 1"), ("message", "EcDoConnectEx"), ("context", "alice")),
        (("thread", "notifier 1"), ("action", "EcDoAsyncWaitEx"), ("context", "SYSTEM"), ("cache", "mismatch-evicted")),
        (("thread", "worker 1"), ("action", "EcDoRpcExt2"), ("cache", "no-registration"),
         ("result", "MAPI_E_NETWORK_ERROR")),
    )
    (renamed,) = [s for s in same_cause(cache)(sig) if s != sig]
    assert [dict(mark)["thread"] for mark in renamed if mark] == ["worker 2", "notifier 1", "worker 2"]
    one = with_overrides(cache, ["notifier=per-process"])
    shared = tuple(
        None if mark is None else tuple((k, "notifier" if v == "notifier 1" else v) for k, v in mark) for mark in sig
    )
    assert len(same_cause(one)(shared)) == 2


def test_an_explanation_that_runs_out_of_time_says_so_instead_of_answering() -> None:
    """A shrinking cut short is not 1-minimal: past its deadline it raises, never returns a partial answer."""
    seed = load_builtin("seed")
    with pytest.raises(OutOfTime, match="timeout: the explanation"):
        explain(seed, _trace(seed, SHORTEST), instantiate(PROPERTY, seed).formula, Deadline(0.0))
