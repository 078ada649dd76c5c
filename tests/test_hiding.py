"""Searching a design with part of its state hidden (`regcheck.core.hiding`) and with the blocks no bound name refers
to interchangeable (`regcheck.core.named_blocks`): every run of the design is a run of the hidden system, labels alike;
the symmetric search goes as far as the plain one; and the setting that made a log is never ruled out this way."""

from __future__ import annotations

import random
import time
from dataclasses import replace

import pytest

from regcheck import children, diagnosis
from regcheck.core.compile import compile_system
from regcheck.core.explore import random_run
from regcheck.core.hiding import VARIANT, hidden
from regcheck.core.named_blocks import named_blocks
from regcheck.core.subsequence import Renewal, search
from regcheck.diagnosis import ASKED, HIDINGS, NAMING, ONE_TO_ONE, RENEWS, model_names, observations_of, observed_system
from regcheck.model.observations import Event, log_of
from regcheck.model.scenario import Scenario, load_builtin, with_overrides
from regcheck.model.system import build
from tests.seed4 import SEED4, seed4_log, seed4_setting

DESIGNS = [
    ("seed", ["workers=3", "async_connect_by=worker", "after_network_error=reconnect-new"]),
    ("seed", ["workers=2", "requests=2", "on_mismatch=fail-only", "registration=every-miss", "async_failure=retry"]),
    ("thread-pool", ["workers=3", "jobs=2", "association_scope=session"]),
    ("session-cache", ["workers=3"]),
]


@pytest.mark.parametrize("kinds", [hiding.kinds for hiding in HIDINGS])
@pytest.mark.parametrize("base, overrides", DESIGNS)
def test_each_run_of_a_design_is_a_run_of_its_hidden_system_with_the_same_labels(
        base: str, overrides: list[str], kinds: frozenset[str]) -> None:
    scenario = with_overrides(load_builtin(base), overrides)
    labelled = observed_system(build(scenario), scenario)
    compiled = compile_system(labelled)
    names = [v.name for v in labelled.variables if v.name.split("[")[0] in kinds]
    assert names
    less = compile_system(hidden(labelled, names))
    assert not set(less.names) & set(names)
    for seed in range(6):
        rng = random.Random(seed)
        state = compiled.initial
        for _ in range(60):
            steps = list(compiled.steps(state))
            if not steps:
                break
            index, after = steps[rng.randrange(len(steps))]
            action = compiled.system.actions[index]
            here = less.layout.pack({k: v for k, v in compiled.state(state).items() if k in less.names})
            there = less.layout.pack({k: v for k, v in compiled.state(after).items() if k in less.names})
            images = [j for j, reached in less.steps(here) if reached == there
                      and less.system.actions[j].name == action.name
                      and tuple(p for p in less.system.actions[j].params if p[0] != VARIANT) == action.params
                      and less.labels(j, here) == compiled.labels(index, state)]
            assert images, f"{action.label} from {compiled.state(state)} has no image in the hidden system"
            state = after


def test_hiding_part_of_one_block_that_another_keeps_is_refused() -> None:
    labelled = build(with_overrides(load_builtin("seed"), ["workers=2"]))
    with pytest.raises(ValueError, match="breaks the symmetry"):
        hidden(labelled, ["pending[1]"])


def _turned(scenario: Scenario, seed: int) -> list[Event]:
    """The log of a random run of the design, one event's result turned over (so some are matched only in part)."""
    rng = random.Random(seed)
    events = log_of(scenario, random_run(compile_system(build(scenario)), rng, 30))
    calls = [i for i, e in enumerate(events) if e.result is not None]
    turned = calls[rng.randrange(len(calls))]
    events[turned] = replace(events[turned], result="ok" if events[turned].result != "ok" else "MAPI_E_NETWORK_ERROR")
    return events


SMALL = [
    ("seed", ["workers=2", "async_connect_by=worker", "after_network_error=reconnect-new"]),
    ("seed", ["workers=3", "requests=2", "on_mismatch=fail-only", "registration=every-miss"]),
    ("thread-pool", ["workers=2", "jobs=2", "association_scope=session"]),
]


@pytest.mark.parametrize("base, overrides", SMALL)
def test_the_search_with_free_blocks_interchangeable_goes_as_far_as_without(base: str, overrides: list[str]) -> None:
    scenario = with_overrides(load_builtin(base), overrides)
    system_of = build(scenario)
    labelled = observed_system(system_of, scenario)
    compiled = compile_system(labelled)
    blocks = named_blocks(labelled, compiled.layout, ASKED, NAMING)
    assert blocks is not None and blocks.owner  # each worker's thread and session are its block's own
    renewing = frozenset(i for i, a in enumerate(labelled.actions) if dict(a.labels).get(RENEWS) is not None)
    compiled_of = compile_system(system_of)
    reached = set()
    for seed in range(6):
        events = _turned(scenario, seed) if seed % 2 else log_of(scenario, random_run(compiled_of, random.Random(seed), 30))
        given = frozenset(("context", name, model) for name, model in model_names(events, scenario).items())
        observed = observations_of(events, system_of)
        found = [search(compiled, observed, compiled.labels, one_to_one=ONE_TO_ONE, given=given, max_nodes=400_000,
                        retire=Renewal(RENEWS, "association", renewing), symmetric=symmetric)
                 for symmetric in (None, blocks)]
        assert all(f.complete for f in found)
        assert found[0].matched == found[1].matched
        assert found[1].explored <= found[0].explored
        reached.add(found[0].matched == len(events))
    assert reached == {True, False}  # the runs' own logs matched whole, some turned ones in part


@pytest.mark.parametrize("base, overrides", DESIGNS)
def test_the_searches_with_part_of_the_state_hidden_never_rule_out_the_design_that_made_the_log(
        base: str, overrides: list[str]) -> None:
    scenario = with_overrides(load_builtin(base), overrides)
    system_of = build(scenario)
    key = diagnosis._Design(system_of, scenario, tuple(diagnosis.renewed_association(a, scenario)
                                                       for a in system_of.actions))
    for seed in range(6):
        events = log_of(scenario, random_run(compile_system(system_of), random.Random(seed), 40))
        events = [e for i, e in enumerate(events) if (i * 7 + seed) % 3]  # a third of the lines left out
        given = frozenset(("context", name, model) for name, model in model_names(events, scenario).items())
        for hiding in HIDINGS:
            refuted = diagnosis._hidden_search(system_of, scenario, key, observations_of(events, system_of), given,
                                               None, (), diagnosis.HIDDEN_NODES, time.monotonic() + 60, hiding)
            assert refuted is None
        loose = diagnosis._loose_hidden(system_of, scenario, key, observations_of(events, system_of), given, None,
                                        (), time.monotonic() + 60)
        assert loose is None
    # Each way of hiding was searched: the hidden systems were built.
    assert all(diagnosis._HIDDEN.get((key, hiding)) is not None for hiding in HIDINGS)


def test_a_design_that_never_fails_a_call_is_ruled_out_by_the_first_pass_with_the_notification_states_hidden() -> None:
    # Static identity tracking never mismatches, so no call fails; the design has thousands of states, its
    # notification states hidden a few hundred orbits, and the names-free search of those rules it out at the log's
    # first failing call, the notification thread's wait as SYSTEM.
    base, events = seed4_log(30)
    values = seed4_setting(identity_tracking="static")
    outcome = diagnosis._try(load_builtin(base), values, events, time.monotonic() + 120, diagnosis.FIRST_NODES)
    assert outcome.found is not None and outcome.found.complete and not outcome.explains
    assert outcome.unreached == 12 and not outcome.first
    assert outcome.reason == ("after events 1-11 in their order, no execution of this setting makes an EcDoAsyncWaitEx "
                              "that returns MAPI_E_NETWORK_ERROR as 'SYSTEM', even with every session's notification "
                              "state left free, whatever threads, sessions and associations the log's names stand for")


def test_a_design_whose_workers_run_out_of_alice_is_ruled_out_with_the_notification_states_hidden() -> None:
    # A random run of the seed with 4 workers: its polling notification threads fail as SYSTEM again and again. With
    # every re-registration admitted and no reconnect that keeps the GUID, the workers' calls as alice run out, and
    # the search with the notification states hidden (the full search does not end) rules the setting out.
    base, events = seed4_log(30)
    outcome = diagnosis._try(load_builtin(base), SEED4, events, time.monotonic() + 120, diagnosis.HIDDEN_NODES,
                             hiding=HIDINGS[0])
    assert outcome.found is not None and outcome.found.complete and not outcome.explains
    assert outcome.unreached == 20 and not outcome.first
    assert outcome.reason.endswith("even with every session's notification state left free")
    assert "after events 1-19 in their order" in outcome.reason


def test_a_reconnect_that_retires_the_only_guid_rules_the_design_out_in_the_first_pass() -> None:
    # The design of the test above: with the notification states hidden and the threads and sessions the log names
    # left free, binding its one GUID alone is enough to rule it out at the same event, in the first pass (a shorter
    # log than the test above's, whose outcome is kept for its log).
    base, events = seed4_log(25)
    outcome = diagnosis._try(load_builtin(base), SEED4, events, time.monotonic() + 120, diagnosis.FIRST_NODES)
    assert outcome.found is not None and outcome.found.complete and not outcome.explains
    assert outcome.unreached == 20 and not outcome.first
    assert outcome.reason == ("after events 1-19 in their order, no execution of this setting makes an "
                              "EcDoAsyncConnectEx that returns MAPI_E_NETWORK_ERROR as 'CONTOSO\\\\alice', even with "
                              "every session's notification state left free, whatever threads and sessions the log's "
                              "names stand for")


def test_a_setting_the_time_leaves_open_before_its_deeper_search_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    # The first pass leaves this setting open at its state limit; the clock then runs out before the passes after it.
    base, events = seed4_log(30)
    values = seed4_setting(after_network_error="reconnect-same")
    first_pass = diagnosis._pass

    class Late:
        @staticmethod
        def monotonic() -> float:
            return float("inf")

    def then_late(*args: object, **kwargs: object) -> list[diagnosis.Outcome]:
        outcomes = first_pass(*args, **kwargs)  # type: ignore[arg-type]
        monkeypatch.setattr(diagnosis, "time", Late)
        return outcomes

    monkeypatch.setattr(diagnosis, "_pass", then_late)
    [outcome] = diagnosis._passes(load_builtin(base), [values], events, time.monotonic() + 120, None, None)
    assert outcome.found is not None and not outcome.found.complete and outcome.found.stopped == "timeout"
    assert outcome.reason.startswith("timeout: the time ran out before the deeper search of this setting (its first "
                                     "search stopped at its state limit after ")


def test_the_stages_on_a_pool_decide_each_setting_as_the_passes_one_after_the_other_do(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # On a pool, a setting goes on to its next stage as soon as the one before leaves it open; the searches are the
    # same, so each setting's outcome is the one the passes one after the other give it. A short first pass leaves
    # several open, for the stages to decide.
    base, events = seed4_log(30)
    settings = [seed4_setting(registration=registration, after_network_error=after, async_failure="give-up")
                for registration, after in (("first-request", "reconnect-same"), ("every-miss", "reconnect-new"),
                                            ("every-miss", "reconnect-same"))]
    monkeypatch.setattr(diagnosis, "FIRST_NODES", 300)
    seen: list[str] = []
    one_by_one = diagnosis._passes(load_builtin(base), settings, events, time.monotonic() + 300, None, None)
    with children.pool(2) as pool:
        staged = diagnosis._passes(load_builtin(base), settings, events, time.monotonic() + 300, seen.append, pool)
    assert [(o.explains, o.reason) for o in staged] == [(o.explains, o.reason) for o in one_by_one]
    assert any(o.explains for o in staged) and any(not o.explains for o in staged)
    assert any(message.startswith("diagnose (deeper search): ") for message in seen)
