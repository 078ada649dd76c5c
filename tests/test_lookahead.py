"""The deeper search of `regcheck diagnose`: the look-ahead by units (`regcheck.core.projection.Lookahead`) drops a
triple only where a thread of the log has no way on, and an explanation found among the orbits of the named blocks is
unfolded into an execution of the design (`regcheck.core.unfold`) that matches the log on the reference simulator."""

from __future__ import annotations

import random
import time

import pytest

from regcheck import diagnosis
from regcheck.core.compile import CompiledSystem, Packed, compile_system
from regcheck.core.explore import random_run
from regcheck.core.named_blocks import named_blocks
from regcheck.core.projection import Lookahead, Units
from regcheck.core.result import Trace
from regcheck.core.subsequence import Bindings, Found, Renewal, search
from regcheck.diagnosis import ASKED, NAMING, ONE_TO_ONE, RENEWS, model_names, observations_of, observed_system
from regcheck.model.observations import Event, log_of
from regcheck.model.observed import check as check_match
from regcheck.model.scenario import Scenario, load_builtin, with_overrides
from regcheck.model.system import association_variables, build
from tests.seed4 import seed4_log, seed4_setting

DESIGNS = [
    ("seed", ["workers=3", "async_connect_by=worker", "after_network_error=reconnect-new"]),
    ("seed", ["workers=3", "requests=2", "registration=every-miss", "after_network_error=reconnect-same"]),
    ("thread-pool", ["workers=3", "jobs=2", "association_scope=session"]),
]


def _searched(scenario: Scenario, events: list[Event], ahead: bool) -> tuple[Found, Trace | None]:
    """The deeper search of ``events`` in the design: depth first among orbits, with or without the look-ahead, and
    the execution it found."""
    system_of = build(scenario)
    labelled = observed_system(system_of, scenario)
    compiled = compile_system(system_of)  # as the diagnosis searches it: the fields a log reads are computed aside
    blocks = named_blocks(labelled, compiled.layout, ASKED, NAMING)
    assert blocks is not None
    given = frozenset(("context", name, model) for name, model in model_names(events, scenario).items())
    observed = observations_of(events, system_of)
    renewing = frozenset(i for i, a in enumerate(labelled.actions) if dict(a.labels).get(RENEWS) is not None)
    lookahead = Lookahead(Units(labelled, association_variables(scenario), frozenset({"server"})), compiled.layout,
                          observed, one_to_one=ONE_TO_ONE - {"association"}, given=given) if ahead else None
    found = search(compiled, observed, diagnosis._fields_of(compiled, scenario), one_to_one=ONE_TO_ONE, given=given,
                   max_nodes=200_000,
                   retire=Renewal(RENEWS, "association", renewing), symmetric=blocks, depth_first=True,
                   lookahead=lookahead)
    if found.matched < len(events):
        return found, None
    return found, diagnosis._trace(compiled, found)


@pytest.mark.parametrize("base, overrides", DESIGNS)
def test_the_look_ahead_never_drops_the_way_to_the_run_that_made_the_log(base: str, overrides: list[str]) -> None:
    scenario = with_overrides(load_builtin(base), overrides)
    compiled_of = compile_system(build(scenario))
    for seed in range(5):
        events = log_of(scenario, random_run(compiled_of, random.Random(seed), 40))
        events = [e for i, e in enumerate(events) if (i * 5 + seed) % 4]  # a quarter of the lines left out
        found, trace = _searched(scenario, events, ahead=True)
        assert found.matched == len(events), (seed, found)
        assert trace is not None


@pytest.mark.parametrize("base, overrides", DESIGNS)
def test_an_explanation_found_among_orbits_is_an_execution_of_the_design_that_matches_the_log(
        base: str, overrides: list[str]) -> None:
    # The reference simulator replays the unfolded execution and matches each event against its step: nothing the
    # search computed is trusted. Some of these runs start with a worker other than the first, so the orbits' path
    # differs from the execution it stands for.
    scenario = with_overrides(load_builtin(base), overrides)
    compiled_of = compile_system(build(scenario))
    labelled = observed_system(build(scenario), scenario)
    blocks = named_blocks(labelled, compile_system(labelled).layout, ASKED, NAMING)
    assert blocks is not None
    unsorted = 0
    for seed in range(5):
        events = log_of(scenario, random_run(compiled_of, random.Random(seed), 40))
        found, trace = _searched(scenario, events, ahead=True)
        assert trace is not None
        diagnosis._vet(scenario, trace, events, found)  # raises where it does not replay or match
        assert check_match(scenario, trace, events, found.at) is None
        unsorted += any(blocks.canonical(state, frozenset()) != state for _, state in found.steps)
    assert unsorted  # some executions pass through states their orbits' path did not


def _without_notifications(workers: int, run: list[tuple[str, str]],
                           requests: int = 1) -> tuple[CompiledSystem, Lookahead, Bindings, Packed]:
    """The seed with ``workers`` workers of ``requests`` requests each and no notifications, the look-ahead for the log
    ``run`` (call, thread; all as alice), the log's identities bound, and the state after worker 1's first call."""
    scenario = with_overrides(load_builtin("seed"), [f"workers={workers}", f"requests={requests}",
                                                     "connect_flags=0x20"])
    system_of = build(scenario)
    labelled = observed_system(system_of, scenario)
    compiled = compile_system(labelled)
    events = [Event(i, i, call, thread, "CONTOSO\\alice", "ok", None, None) for i, (call, thread) in enumerate(run, 1)]
    given = frozenset(("context", name, model) for name, model in model_names(events, scenario).items())
    lookahead = Lookahead(Units(labelled, association_variables(scenario), frozenset({"server"})), compiled.layout,
                          observations_of(events, system_of), one_to_one=ONE_TO_ONE, given=given)
    state = compiled.initial
    for name in ("Impersonate", "EcDoConnectEx", "EcDoRpcExt2"):
        index = next(i for i, _ in compiled.steps(state) if compiled.system.actions[i].name == name)
        state = dict(compiled.steps(state))[index]
    return compiled, lookahead, given, state


CALLS = ("ImpersonateLoggedOnUser", "EcDoConnectEx", "EcDoRpcExt2")


def test_the_look_ahead_names_the_line_a_thread_that_spent_its_requests_cannot_make() -> None:
    # One worker with one request: after its first EcDoRpcExt2 it has none left, so its unit cannot make the second,
    # and a triple there is dropped with that line named; from the start too, where T1 is no model thread yet and no
    # worker can make its lines.
    compiled, lookahead, given, state = _without_notifications(1, [(call, "T1") for call in (*CALLS, "EcDoRpcExt2")])
    assert lookahead.blocked(compiled.initial, 0, given) == 3
    assert lookahead.blocked(state, 3, given | {("thread", "T1", "worker 1")}) == 3
    # The search with it ends short at that line, complete: no execution matches it in order.
    found = search(compiled, lookahead.observed, compiled.labels, one_to_one=ONE_TO_ONE, given=given,
                   depth_first=True, lookahead=lookahead)
    assert found.complete and found.matched == 3


@pytest.mark.parametrize("workers, blocked", [(2, 6), (1, 3)])
def test_the_look_ahead_names_the_line_no_free_model_thread_can_make_for_a_thread_not_bound_yet(
        workers: int, blocked: int) -> None:
    # T1 is worker 1, which has spent its one request; T2 is bound to no model thread yet and its first line comes
    # next. With two workers, worker 2 is the one T2 may be, and it cannot make T2's second EcDoRpcExt2 (line 6); with
    # one, no model thread is left that T2 may be, so not even its first line (3) is made. From the start too, T2 is
    # asked (its first line comes within 16 events): no worker has the two requests its lines need.
    run = [(call, "T1") for call in CALLS] + [(call, "T2") for call in (*CALLS, "EcDoRpcExt2")]
    compiled, lookahead, given, state = _without_notifications(workers, run)
    assert lookahead.blocked(compiled.initial, 0, given) == 6
    assert lookahead.blocked(state, 3, given | {("thread", "T1", "worker 1")}) == blocked


@pytest.mark.parametrize("workers", [1, 2])
def test_the_look_ahead_needs_a_model_thread_of_its_own_for_each_log_thread_not_bound_yet(workers: int) -> None:
    # T1 and T2 each make their lines as worker 1, but not both: the thread binding is one to one. With one worker,
    # from the start, no execution makes T2's first line (3) after T1's; with two, each has one.
    run = [(call, "T1") for call in CALLS] + [(call, "T2") for call in CALLS]
    compiled, lookahead, given, _ = _without_notifications(workers, run)
    assert lookahead.blocked(compiled.initial, 0, given) == (3 if workers == 1 else None)


def test_the_look_ahead_asks_lines_alike_once_wherever_they_stand(monkeypatch: pytest.MonkeyPatch) -> None:
    # A thread that repeats a call (a notification thread's polls) asks its unit the same question from each of its
    # lines: from one state, the answer for its lines from the fourth is the answer for those from the fifth, and a
    # line it stops at is named where it stands.
    run = [(call, "T1") for call in (*CALLS, *["EcDoRpcExt2"] * 6)]
    compiled, lookahead, given, state = _without_notifications(1, run, requests=4)
    asked: list[int] = []
    ask = Lookahead._ask
    monkeypatch.setattr(Lookahead, "_ask", lambda self, *args: asked.append(1) or ask(self, *args))
    bound = given | {("thread", "T1", "worker 1")}
    assert lookahead.blocked(state, 3, bound) == 6  # three requests left: not a fourth
    assert lookahead.blocked(state, 4, bound) == 7
    assert len(asked) == 1


def test_the_deeper_search_explains_a_log_whose_every_re_registration_is_unlogged() -> None:
    # Every mismatch evicts and every miss re-registers, so each failing call of the log needs the other identity to
    # have re-registered, unlogged, just before it. The best-first search of the whole design stopped at event 16
    # after 400,000 triples; depth first, with each thread that spent what its next lines need dropped at once, the
    # explanation is found and replayed on the reference simulator.
    base, events = seed4_log(100)
    values = seed4_setting(after_network_error="reconnect-same")
    outcome = diagnosis._try(load_builtin(base), values, events, time.monotonic() + 300, diagnosis.MAX_NODES)
    assert outcome.explains and outcome.trace is not None
    assert check_match(outcome.setting.scenario, outcome.trace, events, outcome.found.at if outcome.found else ()) \
        is None


def test_the_deeper_search_with_its_look_ahead_ends_at_the_deadline() -> None:
    # Each triple may ask its threads' units, so the search looks at the clock more often: a setting it cannot decide
    # in 3 seconds (this one's search explores about 400,000 triples before it rules the setting out) is "not decided"
    # for the time, at 3 seconds.
    base, events = seed4_log(200)
    values = seed4_setting(registration="first-request", after_network_error="reconnect-new", async_failure="give-up")
    start = time.monotonic()
    outcome = diagnosis._try(load_builtin(base), values, events, start + 3, diagnosis.MAX_NODES)
    assert time.monotonic() - start < 4.5
    assert not outcome.explains and outcome.found is not None and outcome.found.stopped == "timeout"
    assert outcome.reason.startswith("the search stopped (timeout) after ")
