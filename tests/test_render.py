"""Renderers (regcheck/render/): the sequence chart graph, Mermaid text, the state graph, DOT, GraphML, SVG, PNG, text.

The seed's shortest counterexample (5 steps: impersonate, connect, async connect, the notifier's
wait under SYSTEM meets the mismatch and evicts, the worker's call finds no registration) is
rendered every way, and each rendering is checked for its structure and its words. The client
designs (several jobs, "*" workers, shared per-user sessions, one notification thread per process)
are told by the story table and the chart in their own words: whom each worker impersonates in
which job, which session a step is for, and where a registration came from.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from io import BytesIO
from pathlib import Path

import networkx as nx
import pytest

from regcheck.core.engines import Options, bmc
from regcheck.core.expr import evaluate
from regcheck.core.result import Trace
from regcheck.formats.mermaid import mermaid_text, to_mermaid
from regcheck.model import story, views
from regcheck.model.scenario import Scenario, load_builtin, with_overrides
from regcheck.model.system import build
from regcheck.properties.catalogue import instantiate
from regcheck.render import chart as charts
from regcheck.render import draw, states, text
from tests import mermaid

PROPERTY = "worker-never-gets-network-error"
GATEWAY = "front end: registration cache"
SERVER = "mailbox server"
NETWORK_ERROR = "MAPI_E_NETWORK_ERROR (0x80040115)"


@pytest.fixture(scope="module")
def seed_trace() -> Trace:
    scenario = load_builtin("seed")
    (result,) = bmc.check(build(scenario), [instantiate(PROPERTY, scenario)], Options(depth=8))
    assert result.trace is not None and len(result.trace) == 5
    return result.trace.with_meta(property=PROPERTY)


@pytest.fixture(scope="module")
def chart(seed_trace: Trace) -> nx.DiGraph:
    return views.chart(load_builtin("seed"), seed_trace)


@pytest.fixture(scope="module")
def state_graph(seed_trace: Trace) -> nx.DiGraph:
    scenario = load_builtin("seed")
    system, prop = build(scenario), instantiate(PROPERTY, scenario)
    return states.state_graph(
        seed_trace,
        successors=states.system_successors(system),
        bad=lambda state: not evaluate(prop.formula, state),
        title="seed",
    )


def _events(chart: nx.DiGraph, lifeline: str, kind: str) -> list[dict]:
    found = [d for _, d in chart.nodes(data=True) if d["lifeline"] == lifeline and d["kind"] == kind]
    return sorted(found, key=lambda d: d["row"])


# --------------------------------------------------------------------------------------------
# The sequence chart as a graph


def test_lifelines(chart: nx.DiGraph) -> None:
    assert charts.lifelines(chart) == [
        ("worker 1", "thread"),
        ("notifier 1", "thread"),
        (GATEWAY, "gateway"),
        (SERVER, "server"),
    ]
    captions = {d["lifeline"]: d["caption"] for _, d in chart.nodes(data=True) if d["kind"] == "lifeline"}
    assert captions["worker 1"] == "impersonates alice"
    assert captions["notifier 1"] == "MAPI notification thread"


def test_messages(chart: nx.DiGraph) -> None:
    assert charts.messages(chart) == [
        ("worker 1", GATEWAY, "request", "EcDoConnectEx as alice on g1", 2),
        (GATEWAY, SERVER, "request", "EcDoConnectEx", 2),
        (SERVER, "worker 1", "response", "ok", 2),
        ("worker 1", GATEWAY, "request", "EcDoAsyncConnectEx as alice on g1", 3),
        (GATEWAY, SERVER, "request", "EcDoAsyncConnectEx", 3),
        (SERVER, "worker 1", "response", "ok", 3),
        ("notifier 1", GATEWAY, "request", "EcDoAsyncWaitEx as SYSTEM on g1", 4),
        (GATEWAY, "notifier 1", "response", NETWORK_ERROR, 4),
        ("worker 1", GATEWAY, "request", "EcDoRpcExt2 as alice on g1", 5),
        (GATEWAY, "worker 1", "response", NETWORK_ERROR, 5),
    ]


def test_threads_carry_who_they_run_as(chart: nx.DiGraph) -> None:
    """The worker runs as SYSTEM until it impersonates alice; the notification thread runs as SYSTEM."""
    assert [d["label"] for d in _events(chart, "worker 1", "identity")] == ["runs as SYSTEM", "runs as alice"]
    assert [d["label"] for d in _events(chart, "notifier 1", "identity")] == ["runs as SYSTEM"]
    (local,) = _events(chart, "worker 1", "local")
    assert local["label"] == "ImpersonateLoggedOnUser(alice)" and local["step"] == 1


def test_registration_cache_timeline(chart: nx.DiGraph) -> None:
    timeline = _events(chart, GATEWAY, "cache")
    assert [(d["step"], d["label"], d["refused"]) for d in timeline] == [
        (2, "registered g1 to alice", False),
        (3, "hit: g1 is alice's", False),
        (4, "MISMATCH: g1 is alice's; evicted", True),
        (5, "no registration for g1", True),
    ]


def test_violating_step_highlighted(chart: nx.DiGraph) -> None:
    assert chart.graph["violation"] == 5
    hot_nodes = {n for n, d in chart.nodes(data=True) if d["highlight"]}
    hot_edges = [(u, v, d) for u, v, d in chart.edges(data=True) if d["highlight"]]
    assert hot_nodes and all(chart.nodes[n]["step"] == 5 for n in hot_nodes)
    assert {d["kind"] for _, _, d in hot_edges} == {"request", "response"}
    (failed,) = [d for _, _, d in hot_edges if d["kind"] == "response"]
    assert failed["failed"] and failed["label"] == NETWORK_ERROR
    causes = {d["step"] for _, d in chart.nodes(data=True) if d["emphasis"] == "cause"}
    assert causes == {4}, "the first mismatch is marked as the cause"
    assert "Registration of the Association GUID failed" in chart.graph["note"]


def test_program_order_is_one_chain_per_lifeline(chart: nx.DiGraph) -> None:
    order = nx.DiGraph([(u, v) for u, v, k in chart.edges(data="kind") if k == "order"])
    for name, _ in charts.lifelines(chart):
        head = f"lifeline:{name}"
        chain = [head, *nx.dfs_preorder_nodes(order, head)][1:]
        events = [n for n, d in chart.nodes(data=True) if d["lifeline"] == name]
        assert sorted(chain) == sorted(events), f"{name}: program order reaches every event once"
        rows = [chart.nodes[n]["row"] for n in chain]
        assert rows == sorted(rows), f"{name}: program order runs down the chart"
        assert all(order.in_degree(n) == 1 for n in chain if n != head)


def test_default_views_need_no_protocol(seed_trace: Trace) -> None:
    """Without the model's words the chart reads the step labels: threads, a gateway, a server."""
    graph = charts.sequence_chart(seed_trace)
    assert charts.lifelines(graph) == [
        ("worker 1", "thread"),
        ("notifier 1", "thread"),
        ("gateway", "gateway"),
        ("server", "server"),
    ]
    kinds = [(src, dst, kind) for src, dst, kind, _, step in charts.messages(graph) if step == 4]
    assert kinds == [("notifier 1", "gateway", "request"), ("gateway", "notifier 1", "response")]


def test_server_moves_answer_the_notification_thread() -> None:
    """CompleteWait is drawn as the server's reply to the notifier's parked wait."""
    from regcheck.model.explain import simulate

    scenario = load_builtin("fix-run-as-user")
    calls = [
        ("EcDoConnectEx", {"worker": 1}),
        ("EcDoAsyncConnectEx", {"session": 1}),
        ("EcDoAsyncWaitEx", {"session": 1}),
        ("ServerEvent", {"session": 1}),
        ("CompleteWait", {"session": 1}),
    ]
    trace = simulate(scenario, calls, build(scenario).names)
    assert isinstance(trace, Trace)
    graph = views.chart(scenario, trace)
    last = [m for m in charts.messages(graph) if m[4] == 5]
    assert last == [(SERVER, "notifier 1", "response", "CompleteWait: NotificationPending (0x00000001)", 5)]
    assert [d["label"] for d in _events(graph, "worker 1", "identity")] == ["runs as alice"]


def test_a_lasso_marks_its_loop_not_a_violation(seed_trace: Trace) -> None:
    """A liveness counterexample: the notifier polls for ever after the eviction; a stutter draws nothing."""
    from dataclasses import replace

    from regcheck.core.result import Step
    from regcheck.model.explain import simulate

    scenario = load_builtin("seed")
    calls = [(s.action, dict(s.params)) for s in seed_trace.steps[:4]] + [("Poll", {"session": 1})]
    polled = simulate(scenario, calls, build(scenario).names)
    assert isinstance(polled, Trace) and polled.states[4] == polled.states[5]
    idle = Step("Stutter", (), {"thread": "-", "message": "Stutter"})
    lasso = replace(polled, states=(*polled.states, polled.states[5]), steps=(*polled.steps, idle), loop=4)
    graph = views.chart(scenario, lasso)
    assert graph.graph["loop"] == 5 and graph.graph["violation"] == 0
    assert not any(d["highlight"] for _, d in graph.nodes(data=True))
    assert {d["step"] for _, d in graph.nodes(data=True) if d["emphasis"] == "loop"} == {5}
    assert not any(d["step"] == 6 for _, d in graph.nodes(data=True)), "the stutter draws nothing"
    assert "-" not in [name for name, _ in charts.lifelines(graph)]
    diagram = mermaid.parse(to_mermaid(graph))
    assert any(text == "from step 5 on, the run repeats for ever" for _, text in diagram.notes)


# --------------------------------------------------------------------------------------------
# Mermaid


def test_mermaid_is_a_valid_sequence_diagram(chart: nx.DiGraph) -> None:
    source = to_mermaid(chart)
    diagram = mermaid.parse(source)
    names = {alias.split(" (")[0]: pid for pid, alias in diagram.participants.items()}
    assert list(names) == [name for name, _ in charts.lifelines(chart)]
    expected = [
        (names[src], "--x" if text == NETWORK_ERROR else ("->>" if kind == "request" else "-->>"), names[dst])
        for src, dst, kind, text, _ in charts.messages(chart)
    ]
    assert [(s, a, t) for s, a, t, _ in diagram.messages] == expected
    assert diagram.messages[0][3] == "2. EcDoConnectEx as alice on g1"
    notes = [text for _, text in diagram.notes]
    assert "MISMATCH: g1 is alice's#59; evicted" in notes, "a raw ';' would end Mermaid's text"
    assert notes.index("runs as SYSTEM") < notes.index("runs as alice")
    assert diagram.blocks == 2, "the cause and the violation are shaded"
    assert "step 5: violation" in notes


@pytest.mark.parametrize("bad", ["sequenceDiagram\n  A->>B: x", "sequenceDiagram\n  participant A as a\n  A->>A: x; y"])
def test_mermaid_checker_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        mermaid.parse(bad)


def test_mermaid_text_escapes_reserved_characters() -> None:
    assert mermaid_text("a;b#c%d") == "a#59;b#35;c#37;d"
    assert mermaid_text("  ") == "-"


MERMAID_MODULES = Path(__file__).resolve().parent.parent / ".ci" / "node_modules"
"""Where .ci/run installs Mermaid and jsdom (``npm install --prefix .ci``); MERMAID_NODE_MODULES overrides it."""


@pytest.mark.slow
def test_mermaid_parses_with_mermaid_itself(chart: nx.DiGraph, tmp_path: Path) -> None:
    source = tmp_path / "chart.mmd"
    source.write_text(to_mermaid(chart), encoding="utf-8")
    script = tmp_path / "parse.mjs"
    script.write_text(
        "import { JSDOM } from 'jsdom'; import fs from 'fs';\n"
        "const dom = new JSDOM('<!doctype html><html><body></body></html>');\n"
        "globalThis.window = dom.window; globalThis.document = dom.window.document;\n"
        "const mermaid = (await import('mermaid')).default;\n"
        "await mermaid.parse(fs.readFileSync(process.argv[2], 'utf8'));\n",
        encoding="utf-8",
    )
    folder = Path(os.environ.get("MERMAID_NODE_MODULES", MERMAID_MODULES))
    assert shutil.which("node"), "Mermaid's parser needs node on the PATH"
    assert (folder / "mermaid").is_dir() and (folder / "jsdom").is_dir(), (
        f"no mermaid and jsdom in {folder}: run `npm install --prefix .ci` (as .ci/run does)"
    )
    (tmp_path / "node_modules").symlink_to(folder)
    done = subprocess.run(["node", str(script), str(source)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


# --------------------------------------------------------------------------------------------
# The state graph, DOT and GraphML


def test_state_graph_neighbourhood(state_graph: nx.DiGraph, seed_trace: Trace) -> None:
    path = sorted((d["index"], n) for n, d in state_graph.nodes(data=True) if d["path"])
    assert [i for i, _ in path] == list(range(6))
    nodes = [n for _, n in path]
    labels = [state_graph.edges[u, v]["label"] for u, v in zip(nodes, nodes[1:])]
    assert labels == [step.label for step in seed_trace.steps]
    assert [state_graph.edges[u, v]["highlight"] for u, v in zip(nodes, nodes[1:])] == [False] * 4 + [True]
    assert state_graph.nodes[nodes[-1]]["bad"] and not any(state_graph.nodes[n]["bad"] for n in nodes[:-1])
    assert state_graph.nodes[nodes[4]]["label"] == "notify[1]=polling\nreg[1]=evicted\nmismatch_seen=true"
    off = [n for n, d in state_graph.nodes(data=True) if not d["path"]]
    assert off, "the alternatives one step off the path are shown"
    assert all(any(state_graph.nodes[u]["path"] for u in state_graph.predecessors(n)) for n in off)
    assert state_graph.number_of_nodes() < 20, "a neighbourhood, not the whole graph"


def test_state_graph_is_bounded(seed_trace: Trace) -> None:
    system = build(load_builtin("seed"))
    small = states.state_graph(seed_trace, successors=states.system_successors(system), max_nodes=7)
    assert small.number_of_nodes() == 7 and small.graph["truncated"]


def test_graph_successors_read_an_explored_graph(seed_trace: Trace) -> None:
    """The explicit engine's graph (state tuples, ``actions`` on edges) gives the same neighbourhood."""
    system = build(load_builtin("seed"))
    names = system.names
    explored = nx.DiGraph()
    frontier = [system.initial_state()]
    while frontier:
        state = frontier.pop()
        node = tuple(state[n] for n in names)
        for action in system.enabled(state):
            nxt = system.apply(action, state)
            target = tuple(nxt[n] for n in names)
            if target not in explored:
                frontier.append(nxt)
            previous = explored.edges[node, target]["actions"] if explored.has_edge(node, target) else ()
            explored.add_edge(node, target, actions=(*previous, action.label))
    left = states.state_graph(seed_trace, successors=states.graph_successors(explored, names))
    right = states.state_graph(seed_trace, successors=states.system_successors(system))
    assert nx.utils.graphs_equal(left, right)


def test_explicit_engine_graph_gives_the_same_neighbourhood(seed_trace: Trace) -> None:
    from regcheck.core.engines import explicit
    system = build(load_builtin("seed"))
    explored = explicit.explore(system, symmetry=False)
    assert explored.complete
    left = states.state_graph(seed_trace, successors=states.graph_successors(explored.graph, system.names))
    right = states.state_graph(seed_trace, successors=states.system_successors(system))
    assert nx.utils.graphs_equal(left, right)


def _unquote(value: str) -> str:
    return value[1:-1].replace('\\"', '"') if value.startswith('"') else value


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_dot_reads_back(state_graph: nx.DiGraph) -> None:
    import pydot
    source = states.to_dot(state_graph)
    (parsed,) = pydot.graph_from_dot_data(source)
    back = nx.nx_pydot.from_pydot(parsed)
    assert set(back.nodes) == set(state_graph.nodes)
    assert {(u, v) for u, v, _ in back.edges} == set(state_graph.edges)
    for node, data in state_graph.nodes(data=True):
        assert _unquote(back.nodes[node]["path"]) == str(data["path"]).lower()
        assert _unquote(back.nodes[node]["label"]).replace("\\n", "\n") == data["label"]
    hot = [(u, v) for u, v, d in back.edges(data=True) if _unquote(d.get("highlight", "")) == "true"]
    assert len(hot) == 1
    assert _unquote(back.edges[(*hot[0], 0)]["color"]) == "#c00000"


def test_graphml_reads_back(state_graph: nx.DiGraph, chart: nx.DiGraph) -> None:
    for graph in (state_graph, chart):
        back = nx.read_graphml(BytesIO(states.to_graphml(graph)))
        assert set(back.nodes) == set(graph.nodes)
        assert set(back.edges) == set(graph.edges)
        for node, data in graph.nodes(data=True):
            assert back.nodes[node] == data
        assert back.graph["title"] == graph.graph["title"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_chart_exports_to_dot(chart: nx.DiGraph) -> None:
    import pydot
    (parsed,) = pydot.graph_from_dot_data(states.to_dot(chart))
    assert nx.nx_pydot.from_pydot(parsed).number_of_nodes() == chart.number_of_nodes()


# --------------------------------------------------------------------------------------------
# Drawings


def _svg_text(data: bytes) -> str:
    root = ET.fromstring(data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return " ".join(" ".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))


def test_chart_svg_has_the_story(chart: nx.DiGraph) -> None:
    words = _svg_text(draw.render(draw.chart_figure(chart), "svg"))
    for label in (
        "worker 1",
        "impersonates alice",
        "notifier 1",
        "MAPI notification thread",
        "runs as SYSTEM",
        "runs as alice",
        GATEWAY,
        "registered g1 to alice",
        "MISMATCH: g1 is alice's; evicted",
        "4. EcDoAsyncWaitEx as SYSTEM on g1",
        "5. EcDoRpcExt2 as alice on g1",
        NETWORK_ERROR,
        "violation",
        "cause",
    ):
        assert label in words, f"{label!r} missing from the SVG"


def test_svg_is_deterministic(chart: nx.DiGraph) -> None:
    assert draw.render(draw.chart_figure(chart), "svg") == draw.render(draw.chart_figure(chart), "svg")


def test_state_graph_svg_and_png(state_graph: nx.DiGraph) -> None:
    figure = draw.states_figure(state_graph)
    words = _svg_text(draw.render(figure, "svg"))
    assert "EcDoAsyncWaitEx" in words and "reg[1]=evicted" in words
    png = draw.render(figure, "png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_chart_png(chart: nx.DiGraph) -> None:
    from PIL import Image

    png = draw.render(draw.chart_figure(chart), "png")
    image = Image.open(BytesIO(png))
    assert image.format == "PNG"
    width, height = image.size
    assert width > 1000 and height > 600, "large enough to read"


def test_unknown_drawing_format(chart: nx.DiGraph) -> None:
    with pytest.raises(ValueError, match="formats: svg, png"):
        draw.render(draw.chart_figure(chart), "gif")


# --------------------------------------------------------------------------------------------
# Text


def test_step_table_shows_only_changes(seed_trace: Trace) -> None:
    table = text.step_table(seed_trace, associations=["-", "g1", "g1", "g1", "g1"])
    lines = table.splitlines()
    assert lines[0].split() == ["step", "thread", "action", "message", "as", "assoc", "cache", "result", "changed"]
    step4 = next(line for line in lines if line.startswith("4 "))
    assert "notifier 1" in step4 and "SYSTEM" in step4 and "g1" in step4 and "mismatch-evicted" in step4
    assert step4.endswith("notify[1]: idle -> polling, reg[1]: alice -> evicted, mismatch_seen: false -> true")
    step5 = next(line for line in lines if line.startswith("5 "))
    assert step5.endswith("pc[1]: working -> failed") and "imp[1]" not in step5


def test_step_table_full(seed_trace: Trace) -> None:
    table = text.step_table(seed_trace, full=True)
    assert "* reg[1] = evicted" in table
    assert table.count("imp[1] = ") == 6, "every variable in every state"
    assert "changed" not in table.splitlines()[0]


def test_changes(seed_trace: Trace) -> None:
    assert text.changes(seed_trace)[0] == [("imp[1]", False, True)]


# --------------------------------------------------------------------------------------------
# Client designs: jobs, "*" workers, per-user sessions, the per-process notifier


def _simulated(scenario: Scenario, calls: list[tuple[str, dict[str, int]]]) -> Trace:
    from regcheck.model.explain import simulate

    trace = simulate(scenario, calls, build(scenario).names)
    assert isinstance(trace, Trace), trace
    return trace


def _captions(graph: nx.DiGraph) -> dict[str, str]:
    return {d["lifeline"]: d["caption"] for _, d in graph.nodes(data=True) if d["kind"] == "lifeline"}


def _labels(graph: nx.DiGraph, lifeline: str, *kinds: str) -> list[str]:
    found = [d for _, d in graph.nodes(data=True) if d["lifeline"] == lifeline and d["kind"] in kinds]
    return [d["label"] for d in sorted(found, key=lambda d: d["row"])]


WALK = [
    ("Impersonate", {"worker": 1}),
    ("EcDoConnectEx", {"worker": 1}),
    ("EcDoRpcExt2", {"worker": 1}),
    ("EcDoDisconnect", {"worker": 1}),
    ("RevertToSelf", {"worker": 1}),
    ("Impersonate", {"worker": 1}),
    ("EcDoConnectEx", {"worker": 1}),
]
"""mailbox-walker's shortest counterexample: alice's job, logged off, then bob's logon on the same association."""


def test_mailbox_walker_story_serves_alice_then_bob() -> None:
    scenario = load_builtin("mailbox-walker")
    trace = _simulated(scenario, WALK)
    table = story.rows(scenario, trace)
    assert [(r.thread, r.identity, r.call) for r in table] == [
        ("worker 1", "alice", "ImpersonateLoggedOnUser"),
        ("worker 1", "alice", "EcDoConnectEx"),
        ("worker 1", "alice", "EcDoRpcExt2"),
        ("worker 1", "alice", "EcDoDisconnect"),
        ("worker 1", "-", "RevertToSelf"),
        ("worker 1", "bob", "ImpersonateLoggedOnUser"),
        ("worker 1", "bob", "EcDoConnectEx"),
    ]
    assert table[1].cache == "registered to alice"
    last = table[-1]
    assert (last.guid, last.cache, last.failed) == ("g1", "MISMATCH: registered to alice; evicted", True)
    assert story.cause(scenario, trace) == (
        "Step 7: worker 1, running as bob, sent EcDoConnectEx on association g1, registered to alice by its own "
        "earlier job at step 2 (the association outlived that session's EcDoDisconnect at step 4): "
        '"Registration of the Association GUID failed". The front end failed the call with MAPI_E_NETWORK_ERROR '
        "and evicted the registration."
    )


def test_mailbox_walker_chart_impersonates_alice_then_bob() -> None:
    scenario = load_builtin("mailbox-walker")
    graph = views.chart(scenario, _simulated(scenario, WALK))
    assert _captions(graph)["worker 1"] == "impersonates alice, then bob"
    assert _labels(graph, "worker 1", "identity", "local") == [
        "runs as SYSTEM",
        "ImpersonateLoggedOnUser(alice)",
        "runs as alice",
        "RevertToSelf",
        "runs as SYSTEM",
        "ImpersonateLoggedOnUser(bob)",
        "runs as bob",
    ]
    assert [(d["step"], d["label"]) for d in _events(graph, GATEWAY, "cache")] == [
        (2, "registered g1 to alice"),
        (3, "hit: g1 is alice's"),
        (4, "hit: g1 is alice's"),
        (7, "MISMATCH: g1 is alice's; evicted"),
    ]
    assert ("worker 1", GATEWAY, "request", "EcDoDisconnect as alice on g1", 4) in charts.messages(graph)
    assert ("worker 1", GATEWAY, "request", "EcDoConnectEx as bob on g1", 7) in charts.messages(graph)
    assert "registered to alice by its own earlier job at step 2" in graph.graph["note"]


def test_a_session_scoped_association_closes_with_its_session() -> None:
    """association_scope = session: after EcDoDisconnect, bob's logon is on a new association, g2."""
    scenario = with_overrides(load_builtin("mailbox-walker"), ["association_scope=session"])
    trace = _simulated(scenario, WALK)
    assert [g[1] for g in story.association_guids(scenario, trace)] == ["g1"] * 4 + ["g2"] * 4, "renamed by step 4"
    assert [(r.guid, r.cache) for r in story.rows(scenario, trace)][-1] == ("g2", "registered to bob")
    assert ("worker 1", GATEWAY, "request", "EcDoConnectEx as bob on g2", 7) in charts.messages(
        views.chart(scenario, trace)
    )


def test_a_pool_worker_takes_a_job_before_it_impersonates() -> None:
    scenario = load_builtin("thread-pool")
    trace = _simulated(scenario, [
        ("TakeJob", {"worker": 1, "user": 1}),
        ("TakeJob", {"worker": 2, "user": 2}),
        ("Impersonate", {"worker": 1}),
        ("EcDoConnectEx", {"worker": 1}),
        ("Impersonate", {"worker": 2}),
        ("EcDoConnectEx", {"worker": 2}),
    ])
    table = story.rows(scenario, trace)
    assert [(r.thread, r.identity, r.call) for r in table[:2]] == [
        ("worker 1", "SYSTEM", "TakeJob(alice)"),
        ("worker 2", "SYSTEM", "TakeJob(bob)"),
    ], "TakeJob's context is the job's user; the thread still runs as SYSTEM"
    assert story.cause(scenario, trace).startswith(
        "Step 6: worker 2, running as bob, sent EcDoConnectEx on association g1, registered to alice: "
    )
    graph = views.chart(scenario, trace)
    captions = _captions(graph)
    assert captions["worker 1"] == "takes any user's jobs; impersonates alice"
    assert captions["worker 2"] == "takes any user's jobs; impersonates bob"
    assert _labels(graph, "worker 2", "identity", "local") == [
        "runs as SYSTEM", "TakeJob(bob)", "ImpersonateLoggedOnUser(bob)", "runs as bob",
    ]


SHARED = [
    ("TakeJob", {"worker": 1, "user": 1}),
    ("Impersonate", {"worker": 1}),
    ("EcDoConnectEx", {"worker": 1, "session": 1}),
    ("EcDoAsyncConnectEx", {"worker": 1, "session": 1}),
    ("EcDoRpcExt2", {"worker": 1, "session": 1}),
    ("RevertToSelf", {"worker": 1}),
    ("TakeJob", {"worker": 2, "user": 1}),
    ("Impersonate", {"worker": 2}),
    ("UseSession", {"worker": 2, "session": 1}),
    ("EcDoRpcExt2", {"worker": 2, "session": 1}),
    ("EcDoAsyncWaitEx", {"session": 1}),
]
"""session-cache with one notification thread: worker 2 reuses alice's session 1, which worker 1 logged on."""


def test_a_shared_session_is_named_at_every_step() -> None:
    scenario = with_overrides(load_builtin("session-cache"), ["notifier=per-process"])
    trace = _simulated(scenario, SHARED)
    table = story.rows(scenario, trace)
    assert [(r.thread, r.identity, r.call, r.guid) for r in table[6:]] == [
        ("worker 2", "SYSTEM", "TakeJob(alice)", "-"),
        ("worker 2", "alice", "ImpersonateLoggedOnUser", "-"),
        ("worker 2", "alice", "UseSession(session 1)", "-"),
        ("worker 2", "alice", "EcDoRpcExt2 (session 1)", "g1"),
        ("notifier", "SYSTEM", "EcDoAsyncWaitEx (session 1)", "g1"),
    ]
    assert table[2].call == "EcDoConnectEx (session 1)"
    graph = views.chart(scenario, trace)
    assert _labels(graph, "worker 2", "local")[-1] == "UseSession(session 1)"
    assert ("worker 2", GATEWAY, "request", "EcDoRpcExt2 (session 1) as alice on g1", 10) in charts.messages(graph)
    assert ("notifier", GATEWAY, "request", "EcDoAsyncWaitEx (session 1) as SYSTEM on g1", 11) in charts.messages(graph)
    assert story.cause(scenario, trace).startswith(
        "Step 11: notifier (MAPI's notification thread, which does not carry the impersonation), running as SYSTEM, "
        "sent EcDoAsyncWaitEx (session 1) on association g1, registered to alice: "
    )


def test_the_per_process_notifier_has_one_lifeline_after_the_workers() -> None:
    scenario = with_overrides(load_builtin("session-cache"), ["notifier=per-process"])
    graph = views.chart(scenario, _simulated(scenario, SHARED))
    assert charts.lifelines(graph) == [
        ("worker 1", "thread"), ("worker 2", "thread"), ("notifier", "thread"), (GATEWAY, "gateway"), (SERVER, "server"),
    ]
    assert _captions(graph)["notifier"] == "MAPI notification thread of every session"
    assert sorted(["notifier", "notifier 2", "worker 2", "notifier 1", "worker 1"], key=views._thread_order) == [
        "worker 1", "notifier 1", "worker 2", "notifier 2", "notifier",
    ]


def test_a_completed_wait_answers_the_per_process_notifier() -> None:
    scenario = with_overrides(load_builtin("fix-run-as-user"), ["notifier=per-process", "workers=2"])
    trace = _simulated(scenario, [
        ("EcDoConnectEx", {"worker": 1}),
        ("EcDoAsyncConnectEx", {"session": 1}),
        ("EcDoAsyncWaitEx", {"session": 1}),
        ("ServerEvent", {"session": 1}),
        ("CompleteWait", {"session": 1}),
    ])
    last = [m for m in charts.messages(views.chart(scenario, trace)) if m[4] == 5]
    assert last == [(SERVER, "notifier", "response", "CompleteWait (session 1): NotificationPending (0x00000001)", 5)]


def test_mapi_http_owner_check_reads_the_session_owner() -> None:
    """A non-impersonating pool thread reuses alice's MAPI/HTTP session: the owner check is against owner[1]."""
    scenario = with_overrides(load_builtin("session-cache"), [
        "transport=mapi-http", "worker_impersonates=true,false", "mailbox_access=SYSTEM:alice",
    ])
    trace = _simulated(scenario, [
        ("TakeJob", {"worker": 1, "user": 1}),
        ("Impersonate", {"worker": 1}),
        ("EcDoConnectEx", {"worker": 1, "session": 1}),
        ("TakeJob", {"worker": 2, "user": 1}),
        ("UseSession", {"worker": 2, "session": 1}),
        ("EcDoRpcExt2", {"worker": 2, "session": 1}),
    ])
    graph = views.chart(scenario, trace)
    assert _labels(graph, "front end", "cache") == [
        "new session cookie", "owner check: session 1 is alice's, not SYSTEM's",
    ]
    assert _captions(graph)["worker 2"] == "runs as SYSTEM; takes any user's jobs: alice"
    assert story.cause(scenario, trace) == (
        "Step 6: worker 2's Execute (session 1) failed with ecAccessDenied (0x80070005): "
        "session 1 is alice's, not SYSTEM's."
    )


def test_a_logon_without_mailbox_rights_says_so() -> None:
    scenario = with_overrides(load_builtin("mixed-threads"), ["mailbox_access=svc:"])
    trace = _simulated(scenario, [("EcDoConnectEx", {"worker": 2})])
    assert story.cause(scenario, trace) == (
        "Step 1: worker 2's EcDoConnectEx failed with ecAccessDenied (0x80070005): svc has no rights to alice's mailbox."
    )
    captions = _captions(views.chart(scenario, trace))
    assert captions["worker 2"] == "runs as svc"


def test_reconnect_renews_the_association_of_its_session() -> None:
    """Per-user sessions, one association each: worker 1's Reconnect for session 2 renames g2, not g1."""
    scenario = with_overrides(load_builtin("session-cache"), ["after_network_error=reconnect-new"])
    trace = _simulated(scenario, [
        ("TakeJob", {"worker": 1, "user": 2}),
        ("Impersonate", {"worker": 1}),
        ("EcDoConnectEx", {"worker": 1, "session": 2}),
        ("EcDoAsyncConnectEx", {"worker": 1, "session": 2}),
        ("EcDoAsyncWaitEx", {"session": 2}),
        ("EcDoRpcExt2", {"worker": 1, "session": 2}),
        ("Reconnect", {"worker": 1, "session": 2}),
        ("EcDoConnectEx", {"worker": 1, "session": 2}),
    ])
    guids = story.association_guids(scenario, trace)
    assert guids[6] == {1: "g1", 2: "g2"} and guids[7] == {1: "g1", 2: "g3"}
    graph = views.chart(scenario, trace)
    assert "Reconnect (session 2) on a new association g3" in _labels(graph, "worker 1", "local")
    assert ("worker 1", GATEWAY, "request", "EcDoConnectEx (session 2) as bob on g3", 8) in charts.messages(graph)


def test_per_user_sessions_put_the_workers_before_the_notifiers() -> None:
    """Notifier s serves user s's session, not worker s: the workers come first, then the notification threads."""
    scenario = load_builtin("session-cache")
    trace = _simulated(scenario, [
        ("TakeJob", {"worker": 1, "user": 2}),
        ("TakeJob", {"worker": 2, "user": 1}),
        ("Impersonate", {"worker": 1}),
        ("EcDoConnectEx", {"worker": 1, "session": 2}),
        ("EcDoAsyncConnectEx", {"worker": 1, "session": 2}),
        ("EcDoAsyncWaitEx", {"session": 2}),
        ("Impersonate", {"worker": 2}),
    ])
    assert [name for name, kind in charts.lifelines(views.chart(scenario, trace)) if kind == "thread"] == [
        "worker 1", "worker 2", "notifier 2",
    ]
    assert views._thread_order("notifier 1", paired=False) > views._thread_order("worker 2", paired=False)
