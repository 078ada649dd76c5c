"""Bounded model checking: verdicts, shortest counterexamples, replay, honest bounds and timeouts."""

from __future__ import annotations

import dataclasses

import networkx as nx
import pytest

from regcheck.core.engines import Options, bmc
from regcheck.core.expr import evaluate
from regcheck.core.result import Verdict
from regcheck.core.system import Kind, TransitionSystem
from regcheck.model.replay import replay
from regcheck.model.scenario import builtin_names, load_builtin, with_overrides
from regcheck.model.system import build
from regcheck.properties.catalogue import NAMES, instantiate, spec
from tests.catalogue import EXAMPLES


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_catalogue(name: str) -> None:
    example = EXAMPLES[name]()
    holds, fails = bmc.check(example.system, [example.holds, example.fails], Options(depth=8))
    assert holds.verdict is Verdict.BOUNDED and holds.depth == 8 and holds.trace is None
    assert fails.verdict is Verdict.VIOLATED and fails.depth == example.shortest
    assert fails.trace is not None and len(fails.trace) == example.shortest
    assert not evaluate(example.fails.formula, fails.trace.states[-1])
    (below,) = bmc.check(example.system, [example.fails], Options(depth=example.shortest - 1))
    assert below.verdict is Verdict.BOUNDED and below.depth == example.shortest - 1


def _reachable_graph(system: TransitionSystem) -> tuple[nx.DiGraph, tuple]:
    key = lambda s: tuple(s[n] for n in system.names)  # noqa: E731
    init = system.initial_state()
    graph = nx.DiGraph()
    graph.add_node(key(init), state=init)
    frontier = [init]
    while frontier:
        state = frontier.pop()
        for action in system.enabled(state):
            nxt = system.apply(action, state)
            if key(nxt) not in graph:
                graph.add_node(key(nxt), state=nxt)
                frontier.append(nxt)
            graph.add_edge(key(state), key(nxt))
    return graph, key(init)


@pytest.mark.parametrize("name", builtin_names())
def test_builtin_scenarios(name: str) -> None:
    """Expected verdicts; every counterexample replays and is as short as the shortest path to a bad state."""
    scenario = load_builtin(name)
    system = build(scenario)
    props = [instantiate(n, scenario) for n in NAMES if spec(n).kind is Kind.SAFETY]
    results = bmc.check(system, props, Options(depth=12))
    graph, init = _reachable_graph(system)
    distance = nx.single_source_shortest_path_length(graph, init)
    for prop, result in zip(props, results):
        assert result.verdict is not Verdict.PROVED
        bad = [node for node in graph if not evaluate(prop.formula, graph.nodes[node]["state"])]
        if scenario.expected[prop.name] == "violated":
            assert result.verdict is Verdict.VIOLATED, prop.name
            assert result.trace is not None
            assert result.depth == len(result.trace) == min(distance[b] for b in bad), prop.name
            report = replay(scenario, result.trace, prop.name)
            assert report.ok, report
        else:
            assert result.verdict is Verdict.BOUNDED and result.depth == 12, prop.name
            assert not bad, prop.name  # the whole reachable graph agrees: it really holds


def test_shortest_seed_counterexample_tells_the_article() -> None:
    scenario = load_builtin("seed")
    prop = instantiate("worker-never-gets-network-error", scenario)
    (result,) = bmc.check(build(scenario), [prop], Options(depth=12))
    assert result.trace is not None
    steps = [(s.label, s.labels["context"], s.labels["cache"], s.labels["result"]) for s in result.trace.steps]
    assert steps == [
        ("Impersonate(worker=1)", "alice", "-", "ok"),
        ("EcDoConnectEx(worker=1)", "alice", "registered", "ok"),
        ("EcDoAsyncConnectEx(session=1)", "alice", "hit", "ok"),
        ("EcDoAsyncWaitEx(session=1)", "SYSTEM", "mismatch-evicted", "MAPI_E_NETWORK_ERROR"),
        ("EcDoRpcExt2(worker=1)", "alice", "no-registration", "MAPI_E_NETWORK_ERROR"),
    ]
    (below,) = bmc.check(build(scenario), [prop], Options(depth=4))
    assert below.verdict is Verdict.BOUNDED and below.depth == 4


def test_timeout_is_unknown_not_bounded() -> None:
    scenario = with_overrides(load_builtin("fix-run-as-user"), ["workers=6"])
    props = [instantiate("worker-never-gets-network-error", scenario)]
    (result,) = bmc.check(build(scenario), props, Options(depth=40, timeout=0.05))
    assert result.verdict is Verdict.UNKNOWN
    assert result.depth is not None and result.depth < 40


def test_a_replay_that_disagrees_is_caught() -> None:
    """A doctored counterexample (wrong cache label) fails replay with the step that differs."""
    scenario = load_builtin("seed")
    prop = instantiate("worker-never-gets-network-error", scenario)
    (result,) = bmc.check(build(scenario), [prop], Options(depth=6))
    assert result.trace is not None
    steps = list(result.trace.steps)
    steps[3] = dataclasses.replace(steps[3], labels={**steps[3].labels, "cache": "hit"})
    report = replay(scenario, dataclasses.replace(result.trace, steps=tuple(steps)), prop.name)
    assert not report.ok and report.step == 4 and "cache" in report.reason
