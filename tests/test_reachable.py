"""The refutation with the log's names free (`regcheck.core.reachable`): a log no execution matches in order, whatever
its names stand for, rules the setting out, and searching one state per orbit matches as far as searching every state."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import Any

import pytest

from regcheck.core.compile import compile_system
from regcheck.core.explore import random_run
from regcheck.core.expr import and_, var
from regcheck.core.reachable import longest_unnamed, unnamed
from regcheck.core.subsequence import Bindings, search
from regcheck.core.symmetry import block_canonical
from regcheck.diagnosis import ASKED, ONE_TO_ONE, _fields_of, diagnose, model_names, observations_of, observed_system
from regcheck.model.observations import Event, log_of, parse_jsonl
from regcheck.model.scenario import SYSTEM, Scenario, load_builtin, with_overrides
from regcheck.model.system import build

GIVEN = frozenset({("context", "alice", "alice"), ("context", SYSTEM, SYSTEM)})


def _log(*lines: dict[str, Any]) -> list[Event]:
    return parse_jsonl("".join(json.dumps(line) + "\n" for line in lines))


WAIT_FAILS = _log({"call": "EcDoConnectEx", "thread": "T1", "as": "alice", "result": "ok"},
                  {"call": "EcDoAsyncWaitEx", "thread": "T2", "as": SYSTEM, "result": "MAPI_E_NETWORK_ERROR"})
"""A worker logs on as alice, and a notification thread's wait fails as SYSTEM."""


def _longest(scenario: Scenario, events: list[Event], *, symmetry: bool, given: Bindings = GIVEN) -> int:
    """How many of the events some execution matches in order, their names free (every state searched)."""
    system_of = build(scenario)
    compiled = compile_system(system_of)
    canonical = block_canonical(observed_system(system_of, scenario), compiled.layout, ASKED) if symmetry else None
    assert canonical is not None or not symmetry
    observed = observations_of(events, system_of)
    found = longest_unnamed(compiled, observed, _fields_of(compiled, scenario), labelled=observed_system(system_of, scenario),
                            given=given, one_to_one=ONE_TO_ONE, canonical=canonical, max_nodes=1_000_000, deadline=None)
    assert found.complete
    # The general search, with the same names free, matches as far (its labels read by ``fields_of``, not compiled).
    general = search(compiled, unnamed(observed, given), _fields_of(compiled, scenario), one_to_one=ONE_TO_ONE,
                     given=given, canonical=canonical, max_nodes=1_000_000)
    assert general.complete and general.matched == found.matched
    return found.matched


SEED3 = ["workers=3", "async_connect_by=worker"]


@pytest.mark.parametrize("symmetry", [False, True])
def test_a_wait_as_system_that_fails_is_no_step_of_static_tracking(symmetry: bool) -> None:
    # Static tracking snapshots the identity at log-on: a notification's wait carries alice's, never SYSTEM's.
    static = with_overrides(load_builtin("seed"), [*SEED3, "identity_tracking=static"])
    assert _longest(static, WAIT_FAILS, symmetry=symmetry) == 1
    dynamic = with_overrides(load_builtin("seed"), [*SEED3, "identity_tracking=dynamic"])
    assert _longest(dynamic, WAIT_FAILS, symmetry=symmetry) == 2


@pytest.mark.parametrize("overrides", [
    [*SEED3, "identity_tracking=static", "after_network_error=reconnect-new"],
    [*SEED3, "on_mismatch=fail-only", "registration=every-miss", "async_failure=retry"],
    ["workers=3", "requests=2", "async_connect_by=notifier", "server_async=false"],
])
def test_one_state_per_orbit_matches_as_far_as_every_state(overrides: list[str]) -> None:
    scenario = with_overrides(load_builtin("seed"), overrides)
    reached = set()
    for seed in range(8):  # runs of the design, one event's result turned over (so some are matched only in part)
        rng = random.Random(seed)
        events = log_of(scenario, random_run(compile_system(build(scenario)), rng, 30))
        calls = [i for i, e in enumerate(events) if e.result is not None]
        turned = calls[rng.randrange(len(calls))]
        flip = "ok" if events[turned].result != "ok" else "MAPI_E_NETWORK_ERROR"
        events[turned] = replace(events[turned], result=flip)
        given = frozenset(("context", name, model) for name, model in model_names(events, scenario).items())
        both = {_longest(scenario, events, symmetry=reduced, given=given) for reduced in (True, False)}
        assert len(both) == 1, (seed, both)
        reached.add(both.pop() == len(events))
    assert reached == {True, False}  # some logs matched whole, some not


def test_a_label_an_orbit_does_not_keep_turns_the_reduction_off() -> None:
    scenario = with_overrides(load_builtin("seed"), SEED3)
    system_of = build(scenario)
    layout = compile_system(system_of).layout
    assert block_canonical(system_of, layout, ASKED) is not None
    assert block_canonical(system_of, layout, ("thread",)) is None  # "worker 1" is not "worker 2"


def test_one_block_whose_action_has_no_image_in_the_others_turns_the_reduction_off() -> None:
    # Only the last worker's last action is changed: its swap with its neighbour is the only one that finds it.
    scenario = with_overrides(load_builtin("seed"), SEED3)
    system_of = build(scenario)
    layout = compile_system(system_of).layout
    last = max(i for i, a in enumerate(system_of.actions) if dict(a.params).get("worker") == 3)
    action = system_of.actions[last]
    changed = replace(action, guard=and_(action.guard, var("imp[3]")))
    asymmetric = replace(system_of, actions=(*system_of.actions[:last], changed, *system_of.actions[last + 1:]))
    assert block_canonical(asymmetric, layout, ASKED) is None


def test_a_setting_no_execution_matches_in_order_whatever_the_names_is_ruled_out_in_those_words() -> None:
    base = with_overrides(load_builtin("seed"), ["workers=3"])
    result = diagnose(WAIT_FAILS, base, ["identity_tracking=static", "async_connect_by=worker"], check_fixes=False)
    assert not result.explained and not result.unknown
    [(event, why, _)] = result.ruled_out
    assert event == 2 and why == ("after event 1, no execution of this setting makes an EcDoAsyncWaitEx that returns "
                                  "MAPI_E_NETWORK_ERROR as 'SYSTEM', even with every session's notification state "
                                  "left free, whatever threads, sessions and associations the log's names stand for")
