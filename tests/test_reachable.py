"""The refutation over the whole state space (`regcheck.core.reachable`): an event no reachable step can be rules
the setting out, and exploring one state per orbit finds the same steps as exploring every state."""

from __future__ import annotations

import json
from typing import Any

import pytest

from regcheck.core.compile import compile_system
from regcheck.core.reachable import first_never
from regcheck.core.symmetry import block_canonical
from regcheck.diagnosis import ASKED, ONE_TO_ONE, _fields_of, diagnose, observations_of, observed_system
from regcheck.model.observations import Event, parse_jsonl
from regcheck.model.scenario import SYSTEM, Scenario, load_builtin, with_overrides
from regcheck.model.system import build

GIVEN = frozenset({("context", "alice", "alice"), ("context", SYSTEM, SYSTEM)})


def _log(*lines: dict[str, Any]) -> list[Event]:
    return parse_jsonl("".join(json.dumps(line) + "\n" for line in lines))


WAIT_FAILS = _log({"call": "EcDoConnectEx", "thread": "T1", "as": "alice", "result": "ok"},
                  {"call": "EcDoAsyncWaitEx", "thread": "T2", "as": SYSTEM, "result": "MAPI_E_NETWORK_ERROR"})
"""A worker logs on as alice, and a notification thread's wait fails as SYSTEM."""


def _never(scenario: Scenario, events: list[Event], *, symmetry: bool) -> int | None:
    system_of = build(scenario)
    compiled = compile_system(system_of)
    canonical = block_canonical(observed_system(system_of, scenario), compiled.layout, ASKED) if symmetry else None
    assert canonical is not None or not symmetry
    return first_never(compiled, observations_of(events, system_of), _fields_of(compiled, scenario), given=GIVEN,
                       one_to_one=ONE_TO_ONE, canonical=canonical, max_states=1_000_000, deadline=None)


SEED3 = ["workers=3", "async_connect_by=worker"]


@pytest.mark.parametrize("symmetry", [False, True])
def test_a_wait_as_system_that_fails_is_no_step_of_static_tracking(symmetry: bool) -> None:
    # Static tracking snapshots the identity at log-on: a notification's wait carries alice's, never SYSTEM's.
    static = with_overrides(load_builtin("seed"), [*SEED3, "identity_tracking=static"])
    assert _never(static, WAIT_FAILS, symmetry=symmetry) == 1
    dynamic = with_overrides(load_builtin("seed"), [*SEED3, "identity_tracking=dynamic"])
    assert _never(dynamic, WAIT_FAILS, symmetry=symmetry) is None


@pytest.mark.parametrize("overrides", [
    [*SEED3, "identity_tracking=static", "after_network_error=reconnect-new"],
    [*SEED3, "on_mismatch=fail-only", "registration=every-miss", "async_failure=retry"],
    ["workers=3", "requests=2", "async_connect_by=notifier", "server_async=false"],
])
def test_one_state_per_orbit_finds_the_steps_every_state_does(overrides: list[str]) -> None:
    scenario = with_overrides(load_builtin("seed"), overrides)
    for call in ("EcDoAsyncWaitEx", "EcDoRpcExt2", "EcDoAsyncConnectEx", "EcDoConnectEx"):
        for who in ("alice", SYSTEM):
            for result in ("ok", "MAPI_E_NETWORK_ERROR", "ecRejected"):
                events = _log({"call": call, "thread": "T1", "as": who, "result": result})
                assert _never(scenario, events, symmetry=True) == _never(scenario, events, symmetry=False), \
                    (call, who, result)


def test_a_label_an_orbit_does_not_keep_turns_the_reduction_off() -> None:
    scenario = with_overrides(load_builtin("seed"), SEED3)
    system_of = build(scenario)
    layout = compile_system(system_of).layout
    assert block_canonical(system_of, layout, ASKED) is not None
    assert block_canonical(system_of, layout, ("thread",)) is None  # "worker 1" is not "worker 2"


def test_a_setting_no_reachable_step_explains_is_ruled_out_in_those_words() -> None:
    base = with_overrides(load_builtin("seed"), ["workers=3"])
    result = diagnose(WAIT_FAILS, base, ["identity_tracking=static", "async_connect_by=worker"], check_fixes=False)
    assert not result.explained and not result.unknown
    [(event, why, _)] = result.ruled_out
    assert event == 2 and "never makes an EcDoAsyncWaitEx that returns MAPI_E_NETWORK_ERROR as 'SYSTEM'" in why
