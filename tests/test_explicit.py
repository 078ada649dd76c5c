"""The explicit-state engine: verdicts, shortest counterexamples, symmetry reduction, limits, and agreement with BMC."""

from __future__ import annotations

import dataclasses
import json
import re

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regcheck.cli import main
from regcheck.core import symmetry as sym
from regcheck.core.compile import compile_system
from regcheck.core.crosscheck import disagreement, disagreements
from regcheck.core.engines import Options, bmc, explicit
from regcheck.core.expr import evaluate
from regcheck.core.result import CheckResult, Step, Trace, Verdict
from regcheck.core.system import Kind, ProcessGroup, Property, TransitionSystem
from regcheck.errors import InvalidArgument, InvalidModel
from regcheck.model.replay import replay
from regcheck.model.scenario import ANY_USER, CHOICES, SYSTEM, Scenario, builtin_names, load_builtin, with_overrides
from regcheck.model.system import build
from regcheck.properties.catalogue import NAMES, instantiate, spec
from tests.catalogue import EXAMPLES, mutex

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
SAFETY = [name for name in NAMES if spec(name).kind is Kind.SAFETY]


def _system(name: str, *sets: str) -> tuple[Scenario, list[Property], TransitionSystem]:
    scenario = with_overrides(load_builtin(name), list(sets))
    return scenario, [instantiate(n, scenario) for n in SAFETY], build(scenario)


@pytest.mark.parametrize("symmetry", [True, False])
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_catalogue(name: str, symmetry: bool) -> None:
    example = EXAMPLES[name]()
    holds, fails = explicit.check(example.system, [example.holds, example.fails], Options(symmetry=symmetry))
    assert holds.verdict is Verdict.PROVED and holds.trace is None
    assert holds.evidence["states"] == explicit.explore(example.system).graph.number_of_nodes()
    assert fails.verdict is Verdict.VIOLATED and fails.depth == example.shortest
    assert fails.trace is not None and len(fails.trace) == example.shortest
    assert not evaluate(example.fails.formula, fails.trace.states[-1])


@pytest.mark.parametrize("name", builtin_names())
def test_builtin_scenarios(name: str) -> None:
    """Expected verdicts; each counterexample replays and is as long as the shortest path to a bad state."""
    scenario, props, system = _system(name)
    graph = explicit.explore(system, symmetry=False)
    distance = nx.single_source_shortest_path_length(graph.graph, graph.initial)
    for symmetry in (True, False):
        for prop, result in zip(props, explicit.check(system, props, Options(symmetry=symmetry))):
            bad = [d for node, d in distance.items() if not evaluate(prop.formula, graph.state(node))]
            if scenario.expected[prop.name] == "violated":
                assert result.verdict is Verdict.VIOLATED and result.trace is not None, prop.name
                assert result.depth == len(result.trace) == min(bad), prop.name
                report = replay(scenario, result.trace, prop.name)
                assert report.ok, report
            else:
                assert result.verdict is Verdict.PROVED and not bad, prop.name
                assert result.evidence["states"] <= graph.graph.number_of_nodes()


# Reachable state counts, pinned: (scenario, overrides, states, states under symmetry reduction).
PINNED = [
    ("seed", (), 18, 18),
    ("multi-user", (), 44, 23),
    ("multi-user", ("workers=4", "worker_users=alice,bob,alice,bob"), 1456, 261),
    ("multi-user", ("workers=3", "users=alice,bob,carol", "worker_users=alice,bob,carol"), 200, 46),
    ("seed", ("workers=2",), 388, 203),
    ("seed", ("workers=3",), 8904, 1684),
    ("fix-run-as-user", ("workers=3",), 5832, 1140),
    ("fix-no-notifications", ("workers=3", "after_network_error=reconnect-new"), 512, 120),
    ("re-register-on-miss", ("workers=2", "association_scope=session", "identity_tracking=static"), 361, 190),
    # Client designs: "*" workers, per-user sessions, a service account, job lists, mixed threads.
    ("mailbox-walker", (), 10, 10),
    ("mailbox-walker", ("workers=2", "worker_users=alice+bob,alice+bob", "association_scope=session"), 225, 120),
    ("thread-pool", (), 1051, 545),
    ("thread-pool", ("workers=3", "jobs=1"), 3449, 705),
    ("session-cache", (), 8713, 4499),
    ("service-account", (), 4356, 2211),
    ("mixed-threads", (), 36, 36),
]


@pytest.mark.parametrize(("name", "sets", "full", "reduced"), PINNED)
def test_pinned_state_counts(name: str, sets: tuple[str, ...], full: int, reduced: int) -> None:
    _, props, system = _system(name, *sets)
    holds = [p for p in props if p.name == "one-parked-wait-per-session"]  # holds everywhere: a full search
    (result,) = explicit.check(system, holds, Options())
    assert result.verdict is Verdict.PROVED and result.evidence["states"] == reduced
    (result,) = explicit.check(system, holds, Options(symmetry=False))
    assert result.verdict is Verdict.PROVED and result.evidence["states"] == full
    assert result.evidence["symmetry"] == "off (not requested)"
    assert explicit.explore(system).graph.number_of_nodes() == reduced


@pytest.mark.parametrize(("name", "sets"), [(n, s) for n, s, full, reduced in PINNED if reduced < full < 2000])
def test_reduction_keeps_exactly_one_state_per_orbit(name: str, sets: tuple[str, ...]) -> None:
    """The reduced graph holds the canonical image of every reachable state, and nothing else."""
    _, _, system = _system(name, *sets)
    layout = compile_system(system).layout
    canonical = sym.reduction(system, layout, []).canonical
    assert canonical is not None
    full = explicit.explore(system, symmetry=False)
    images = {layout.unpack(canonical(layout.pack(full.state(node)))) for node in full.graph}
    assert images == set(explicit.explore(system).graph)


def test_the_symmetry_factor_grows_with_the_workers() -> None:
    """Reduction cannot beat the group order (the initial state is alone in its orbit); it approaches it."""
    ratios = []
    for workers, order in ((2, 2), (3, 6)):
        _, props, system = _system("fix-run-as-user", f"workers={workers}")
        (full,) = explicit.check(system, props[:1], Options(symmetry=False))
        (reduced,) = explicit.check(system, props[:1], Options())
        assert f"group order {order}" in reduced.evidence["symmetry"]
        ratio = full.evidence["states"] / reduced.evidence["states"]
        assert order / 2 < ratio < order
        ratios.append(ratio)
    assert ratios == sorted(ratios)


def test_exploration_graph_interface() -> None:
    _, props, system = _system("seed", "workers=2")
    exploration = explicit.explore(system)
    graph = exploration.graph
    assert exploration.complete and exploration.stopped == ""
    assert graph.nodes[exploration.initial]["depth"] == 0
    assert exploration.state(exploration.initial) == system.initial_state()
    distance = nx.single_source_shortest_path_length(graph, exploration.initial)
    for node, data in graph.nodes(data=True):
        assert distance[node] == data["depth"]
    far = max(graph.nodes, key=lambda n: graph.nodes[n]["depth"])
    trace = exploration.trace(far)
    assert len(trace) == graph.nodes[far]["depth"]
    assert trace.states[0] == system.initial_state()
    labels = {a.label for a in system.actions}
    for _, _, data in graph.edges(data=True):
        assert data["action"] == data["actions"][0] and set(data["actions"]) <= labels
    with pytest.raises(nx.NodeNotFound):
        exploration.trace(tuple(reversed(exploration.initial)))


def test_state_limit_is_unknown_with_what_was_covered() -> None:
    _, props, system = _system("fix-run-as-user", "workers=3")
    results = explicit.check(system, props, Options(max_states=100))
    for result in results:
        assert result.verdict is Verdict.UNKNOWN and result.evidence is None
        assert "state limit (100)" in result.note
        assert f"no violation in any execution of at most {result.depth} steps" in result.note
    assert 0 < results[0].depth < 18
    exploration = explicit.explore(system, max_states=100)
    assert not exploration.complete and exploration.stopped == "state limit"
    assert exploration.graph.number_of_nodes() == 100


def test_timeout_is_unknown() -> None:
    _, props, system = _system("fix-run-as-user", "workers=5")
    (result,) = explicit.check(system, props[:1], Options(timeout=0.01))
    assert result.verdict is Verdict.UNKNOWN and "timeout" in result.note


def test_max_depth_gives_bounded_and_finds_what_is_within_it() -> None:
    _, props, system = _system("seed")
    results = explicit.check(system, props, Options(max_depth=4))
    verdicts = {r.property: (r.verdict, r.depth) for r in results}
    assert verdicts["worker-never-gets-network-error"] == (Verdict.BOUNDED, 4)  # its counterexample has 5 steps
    assert verdicts["no-registration-mismatch"] == (Verdict.VIOLATED, 4)
    assert verdicts["one-parked-wait-per-session"] == (Verdict.BOUNDED, 4)


def test_progress_is_reported() -> None:
    _, props, system = _system("fix-run-as-user", "workers=3")
    lines: list[str] = []
    explicit.check(system, props, Options(progress=lines.append))
    assert lines and re.match(r"explicit: [\d,]+ states, depth \d+, [\d,]+ states/s", lines[-1])


def test_liveness_and_bad_limits() -> None:
    example = mutex()
    live = dataclasses.replace(example.holds, kind=Kind.LIVENESS)
    (result,) = explicit.check(example.system, [live], Options())
    assert result.verdict is Verdict.PROVED and result.evidence["obligations"] == 0  # nothing to meet
    with pytest.raises(InvalidArgument, match="max_states"):
        explicit.check(example.system, [example.holds], Options(max_states=0))


def test_a_false_symmetry_claim_is_rejected() -> None:
    """A mutex in which only process 1 may enter: its processes are not interchangeable, whatever it claims."""
    example = mutex()
    one_sided = tuple(a for a in example.system.actions if a.params != (("p", 2),))
    claim = (ProcessGroup((("pc[1]",), ("pc[2]",))),)
    lopsided = dataclasses.replace(example.system, actions=one_sided, symmetry=claim)
    with pytest.raises(InvalidModel, match=r"symmetry: swapping .* maps Enter\(p=1\) to no action"):
        explicit.check(lopsided, [example.holds], Options())
    (result,) = explicit.check(lopsided, [example.holds], Options(symmetry=False))
    assert result.verdict is Verdict.PROVED
    with pytest.raises(InvalidModel, match="differs in shape"):
        dataclasses.replace(example.system, symmetry=(ProcessGroup((("pc[1]",), ("lock",))),))


def test_an_asymmetric_property_turns_reduction_off() -> None:
    example = mutex()
    symmetric = dataclasses.replace(example.system, symmetry=(ProcessGroup((("pc[1]",), ("pc[2]",))),))
    (holds,) = explicit.check(symmetric, [example.holds], Options())
    assert holds.verdict is Verdict.PROVED and holds.evidence["symmetry"].startswith("on")
    (fails,) = explicit.check(symmetric, [example.fails], Options())  # "process 2 never enters"
    assert fails.verdict is Verdict.VIOLATED and fails.depth == 1
    reduced, full = explicit.explore(symmetric).graph, explicit.explore(example.system).graph
    assert reduced.number_of_nodes() < full.number_of_nodes()
    asymmetric = [(example.fails.name, example.fails.formula)]
    reduction = sym.reduction(symmetric, compile_system(symmetric).layout, asymmetric)
    assert reduction.canonical is None and example.fails.name in reduction.description


# --------------------------------------------------------------------------------------------
# Explicit and BMC check each other


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Scenario, bool]:
    """A tiny scenario over every switch, weighted towards designs that can lose their registration,
    and whether to reduce by symmetry (always with three workers, to keep the graphs small)."""
    workers = draw(st.sampled_from((1, 1, 1, 2, 2, 3)))
    users = ("alice", "bob")[: draw(st.integers(1, 2))]
    choices = {key: draw(st.sampled_from(values)) for key, values in CHOICES.items()}
    choices["transport"] = draw(st.sampled_from(("rpc-http", "rpc-http", "rpc-http", "rpc-tcp", "mapi-http")))
    scenario = Scenario(
        workers=workers,
        requests=1 if workers == 3 else draw(st.integers(1, 2)),
        users=users,
        worker_users=tuple(draw(st.sampled_from(users)) for _ in range(workers)),
        impersonate=draw(st.sampled_from((True, True, True, False))),
        process_identity=draw(st.sampled_from((SYSTEM, SYSTEM, SYSTEM, *users))),
        connect_flags=draw(st.sampled_from((0, 0, 0, 0x20))),
        server_async=draw(st.booleans()),
        **choices,
    )
    return scenario, workers == 3 or draw(st.booleans())


@st.composite
def designs(draw: st.DrawFn) -> tuple[Scenario, bool]:
    """A tiny client design over the switches of jobs, sessions, rights and threads (and every other
    switch), and whether to reduce by symmetry."""
    workers = draw(st.sampled_from((1, 1, 2, 2, 2, 3)))
    users = ("alice", "bob")[: draw(st.sampled_from((1, 2, 2)))]
    entry = st.one_of(st.sampled_from((*users, ANY_USER)), st.lists(st.sampled_from(users), min_size=2,
                                                                      max_size=2).map(tuple))
    alike = draw(st.booleans())
    worker_users = (draw(entry),) * workers if alike else tuple(draw(entry) for _ in range(workers))
    flags = draw(st.one_of(st.just(()), st.lists(st.booleans(), min_size=workers, max_size=workers).map(tuple)))
    access = draw(st.sampled_from(({}, {"svc": users}, {"svc": users[:1]})))
    choices = {key: draw(st.sampled_from(values)) for key, values in CHOICES.items()}
    choices["transport"] = draw(st.sampled_from(("rpc-http", "rpc-http", "rpc-http", "rpc-tcp", "mapi-http")))
    small = workers == 3
    scenario = Scenario(
        workers=workers,
        requests=1,
        users=users,
        worker_users=worker_users,
        jobs=1 if small else draw(st.integers(1, 2)),
        impersonate=draw(st.sampled_from((True, True, False))),
        worker_impersonates=flags,
        mailbox_access=access,
        process_identity=draw(st.sampled_from((SYSTEM, *users, *access))),
        connect_flags=draw(st.sampled_from((0, 0, 0x20))),
        server_async=draw(st.booleans()),
        **choices,
    )
    return scenario, draw(st.booleans())


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(drawn=scenarios())
def test_explicit_and_bmc_agree(drawn: tuple[Scenario, bool]) -> None:
    """Same verdicts; counterexamples as long as the networkx shortest path to a bad state; all replay."""
    _agree(*drawn)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(drawn=designs())
def test_explicit_and_bmc_agree_on_client_designs(drawn: tuple[Scenario, bool]) -> None:
    """The same on jobs, "*" workers, shared sessions, service accounts and mixed threads."""
    _agree(*drawn)


def _agree(scenario: Scenario, symmetry: bool) -> None:
    """Explicit and BMC give the same verdicts, and counterexamples as long as the networkx shortest path
    to a bad state, which all replay.

    BMC goes deep enough to meet every counterexample the explicit engine found (and at least 3
    steps), so that a violation either engine misses, or finds longer than the other, shows.
    """
    system = build(scenario)
    props = [instantiate(n, scenario) for n in SAFETY]
    found = explicit.check(system, props, Options(symmetry=symmetry))
    depth = max([3, *(len(r.trace) for r in found if r.trace is not None)])
    proved = [r for r in found if r.verdict is Verdict.PROVED]
    if proved:  # no execution reaches a state deeper than the diameter
        depth = min(depth, proved[0].evidence["diameter"])
    bounded = bmc.check(system, props, Options(depth=depth))
    assert disagreements(found, bounded) == []
    if not any(r.verdict is Verdict.VIOLATED for r in found + bounded):
        assert all(r.verdict is Verdict.PROVED for r in found)
        return
    exploration = explicit.explore(system, symmetry=symmetry)
    distance = nx.single_source_shortest_path_length(exploration.graph, exploration.initial)
    states = {node: exploration.state(node) for node in distance}
    for prop, mine, theirs in zip(props, found, bounded):
        bad = [d for node, d in distance.items() if not evaluate(prop.formula, states[node])]
        if bad:
            assert mine.verdict is Verdict.VIOLATED and mine.trace is not None
            assert theirs.verdict is Verdict.VIOLATED and theirs.trace is not None
            assert mine.depth == len(mine.trace) == len(theirs.trace) == min(bad)
            report = replay(scenario, mine.trace, prop.name)
            assert report.ok, report
        else:
            assert mine.verdict is Verdict.PROVED and theirs.verdict is Verdict.BOUNDED



def _result(verdict: Verdict, *, steps: int | None = None, depth: int | None = None, engine: str = "a") -> CheckResult:
    trace = None
    if steps is not None:
        states = tuple({"x": i} for i in range(steps + 1))
        trace = Trace(vars=("x",), states=states, steps=tuple(Step("Tick", ()) for _ in range(steps)))
    return CheckResult("p", "safety", verdict, engine, depth if depth is not None else steps, 0.0, trace=trace)


@pytest.mark.parametrize(
    ("first", "second", "agree"),
    [
        (_result(Verdict.VIOLATED, steps=3), _result(Verdict.VIOLATED, steps=3, engine="b"), True),
        (_result(Verdict.VIOLATED, steps=3), _result(Verdict.VIOLATED, steps=2, engine="b"), False),
        (_result(Verdict.VIOLATED, steps=3), _result(Verdict.BOUNDED, depth=2, engine="b"), True),
        (_result(Verdict.VIOLATED, steps=3), _result(Verdict.BOUNDED, depth=3, engine="b"), False),
        (_result(Verdict.PROVED), _result(Verdict.VIOLATED, steps=1, engine="b"), False),
        (_result(Verdict.PROVED), _result(Verdict.BOUNDED, depth=9, engine="b"), True),
        (_result(Verdict.UNKNOWN), _result(Verdict.VIOLATED, steps=1, engine="b"), True),
    ],
)
def test_agreement_rules(first: CheckResult, second: CheckResult, agree: bool) -> None:
    problem = disagreement(first, second)
    assert (problem is None) == agree
    if problem is not None:
        assert problem.startswith("engines disagree on p: a says ") and ", b says " in problem


# --------------------------------------------------------------------------------------------
# The command line


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, ANSI.sub("", captured.out), ANSI.sub("", captured.err)


def test_cli_explicit_engine(capsys: pytest.CaptureFixture[str]) -> None:
    chosen = [arg for name in SAFETY for arg in ("--property", name)]
    code, out, err = _run(capsys, "check", "fix-run-as-user", "--engine", "explicit", "--set", "workers=3", *chosen)
    assert code == 0, err
    assert "proved" in out and "Traceback" not in out + err


def test_cli_cross_check_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "check", "seed", "--engine", "explicit", "--cross-check", "bmc")
    assert code == 1, err  # the seed's counterexamples (lassos too, of the same length), found by both engines alike
    assert "disagree" not in out + err
    assert f"cross-check with bmc: the engines agree on every property both decided ({len(NAMES)} of" in " ".join(
        out.split()
    )


def test_cli_cross_check_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys, "check", "seed", "--engine", "explicit", "--cross-check", "bmc", "-p", "no-registration-mismatch", "--json"
    )
    assert code == 1
    assert json.loads(out)["cross_check"] == {"engine": "bmc", "disagreements": [], "not_compared": []}


def test_cli_cross_check_reports_a_disagreement(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An engine that misses a counterexample is caught, with the property and both verdicts named."""
    real = explicit.check

    def blind(system, properties, options):  # type: ignore[no-untyped-def]
        return [dataclasses.replace(r, verdict=Verdict.PROVED, trace=None, depth=7) if r.verdict is Verdict.VIOLATED
                else r for r in real(system, properties, options)]

    monkeypatch.setattr(explicit, "check", blind)
    code, out, err = _run(
        capsys, "check", "seed", "--engine", "explicit", "--cross-check", "bmc", "--property",
        "worker-never-gets-network-error",
    )
    assert code == 1
    assert (
        "engines disagree on worker-never-gets-network-error: explicit says proved, bmc says violated (5 steps)"
        in " ".join(err.split())
    )


def test_cli_cross_check_names_unknown_engines(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "check", "--engine", "explicit", "--cross-check", "nosuch")
    assert code == 2 and "--cross-check" in err and "bmc" in err
