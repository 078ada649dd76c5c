"""The symbolic model and the reference simulator are two implementations of SEMANTICS.md: they must agree.

Random walks over random scenarios compare, state by state, the enabled actions, the successor
states and the labels of the transition system (evaluated concretely) with the simulator's.
"""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from regcheck.model.scenario import Scenario
from regcheck.model.simulator import Simulator
from regcheck.model.system import build
from tests.strategies import scenarios


@settings(max_examples=400, deadline=None)
@given(scenario=scenarios(), choices=st.lists(st.integers(0, 10_000), min_size=1, max_size=40))
def test_random_walks_agree(scenario: Scenario, choices: list[int]) -> None:
    system = build(scenario)
    sim = Simulator(scenario)
    state = system.initial_state()
    assert state == sim.initial_state()
    for choice in choices:
        enabled = list(system.enabled(state))
        assert sorted(a.label for a in enabled) == sorted(
            f"{name}({', '.join(f'{k}={v}' for k, v in params.items())})" for name, params in sim.enabled(state)
        ), state
        if not enabled:
            break
        action = enabled[choice % len(enabled)]
        successor = system.apply(action, state)
        labels = system.labels_of(action, state)
        sim_successor, sim_labels = sim.step(state, action.name, dict(action.params))
        assert successor == sim_successor, (action.label, state)
        assert labels == sim_labels, (action.label, state)
        for v in system.variables:
            assert v.domain.contains(successor[v.name]), (v.name, successor[v.name])
        state = successor


def test_every_builtin_reachable_graph_agrees() -> None:
    """Exhaustively, for the small built-in scenarios: the same reachable states, the same edges."""
    from regcheck.model.scenario import builtin_names, load_builtin

    for name in builtin_names():
        scenario = load_builtin(name)
        system, sim = build(scenario), Simulator(scenario)
        frontier = [system.initial_state()]
        seen = {tuple(sorted(frontier[0].items()))}
        while frontier:
            state = frontier.pop()
            for action in system.enabled(state):
                successor = system.apply(action, state)
                assert (successor, system.labels_of(action, state)) == sim.step(
                    state, action.name, dict(action.params)
                )
                key = tuple(sorted(successor.items()))
                if key not in seen:
                    seen.add(key)
                    frontier.append(successor)
        assert len(seen) > 1, name


def test_static_tracking_variant_is_covered() -> None:
    scenario = dataclasses.replace(Scenario(), identity_tracking="static")
    assert "bound[1]" in build(scenario).names
