"""End-to-end: ``regcheck check --trace-out/--counterexamples/--explain``, ``regcheck show`` and ``regcheck replay``."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pytest

from regcheck.cli import main
from regcheck.formats import itf
from regcheck.model import scenario as scenarios
from regcheck.model.replay import replay
from tests import mermaid
from tests.clirun import flat, run, run_json

SHORTEST = "worker-never-gets-network-error"
VIOLATED = (SHORTEST, "no-registration-mismatch", "registration-in-use-never-evicted")
FAST = ("--engine", "bmc", *(arg for prop in VIOLATED for arg in ("-p", prop)))
"""The seed's violated safety properties by BMC alone: what these tests need, in a fraction of the time."""




@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed checked with --trace-out: every counterexample as ITF, SVG and PNG."""
    folder = tmp_path_factory.mktemp("out")
    assert main(["check", *FAST, "--trace-out", str(folder)]) == 1
    return folder


def test_trace_out_writes_itf_and_charts(traces: Path) -> None:
    names = {p.name for p in traces.iterdir()}
    stems = {name[: -len(".itf.json")] for name in names if name.endswith(".itf.json")}
    assert {f"seed.{prop}" for prop in VIOLATED} <= stems
    assert names == {f"{stem}.{ext}" for stem in stems for ext in ("itf.json", "svg", "png")}
    svg = ET.parse(traces / f"seed.{SHORTEST}.svg").getroot()
    words = " ".join(" ".join(t.itertext()) for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    for label in (
        "impersonates alice",
        "runs as alice",
        "notifier 1",
        "runs as SYSTEM",
        "MISMATCH: g1 is alice's; evicted",
        "5. EcDoRpcExt2 as alice on g1",
        "MAPI_E_NETWORK_ERROR (0x80040115)",
        "violation",
    ):
        assert label in words
    assert (traces / f"seed.{SHORTEST}.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("prop", VIOLATED)
def test_replay_accepts_what_check_writes(capsys: pytest.CaptureFixture[str], traces: Path, prop: str) -> None:
    code, out, err = run(capsys, "replay", str(traces / f"seed.{prop}.itf.json"))
    assert code == 0, out + err
    assert "conforms" in out and f"{prop} is violated in its final state" in flat(out)


def _edited(traces: Path, tmp_path: Path, edit: object) -> Path:
    data = json.loads((traces / f"seed.{SHORTEST}.itf.json").read_text(encoding="utf-8"))
    edit(data)  # type: ignore[operator]
    path = tmp_path / "edited.itf.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["states"][3]["#meta"]["labels"].update(cache="registered"),
         "step 3: EcDoAsyncConnectEx(session=1): cache is 'hit', not 'registered'"),
        (lambda d: d["states"][4].update({"reg[1]": "alice"}),
         "step 4: EcDoAsyncWaitEx(session=1) leads elsewhere: "
         "reg[1] is 'evicted' in the simulator, 'alice' in the trace"),
        (lambda d: d["states"][1]["#meta"].update(action="RevertToSelf"),
         "step 1: RevertToSelf(worker=1) is not enabled: worker 1 is start, not working"),
        (lambda d: d["states"].pop(), f"step 4: {SHORTEST} holds in the final state"),
    ],
)
def test_replay_rejects_a_hand_edited_trace(
    capsys: pytest.CaptureFixture[str], traces: Path, tmp_path: Path, edit: object, message: str
) -> None:
    code, out, err = run(capsys, "replay", str(_edited(traces, tmp_path, edit)))
    assert code == 1
    assert "does not conform" in out and message in flat(out)
    assert "Traceback" not in out + err


def test_replay_scenario_override_and_missing_scenario(
    capsys: pytest.CaptureFixture[str], traces: Path, tmp_path: Path
) -> None:
    path = str(traces / f"seed.{SHORTEST}.itf.json")
    code, out, _ = run(capsys, "replay", path, "--scenario", "fix-run-as-user")
    assert code == 1 and "step 1: Impersonate(worker=1) is not enabled" in flat(out)
    bare = _edited(traces, tmp_path, lambda d: d["#meta"].pop("switches"))
    code, out, err = run(capsys, "replay", str(bare))
    assert code == 2 and "does not record its scenario" in err and "--scenario" in err
    code, out, err = run(capsys, "replay", str(bare), "--scenario", "seed")
    assert code == 0, out + err
    code, _, err = run(capsys, "replay", str(tmp_path / "missing.itf.json"))
    assert code == 2 and err.startswith("error:")


def test_show_text(capsys: pytest.CaptureFixture[str], traces: Path) -> None:
    path = str(traces / f"seed.{SHORTEST}.itf.json")
    code, out, err = run(capsys, "show", path)
    assert code == 0, err
    step4 = next(line for line in out.splitlines() if line.startswith("4 "))
    assert "g1" in step4 and "reg[1]: alice -> evicted" in step4
    assert "Why: Step 4: notifier 1" in out
    code, full, _ = run(capsys, "show", path, "--full")
    assert "* reg[1] = evicted" in full and "reg[1]: alice -> evicted" not in full
    code, explained, _ = run(capsys, "show", path, "--explain")
    assert "shrunk by replay on the reference simulator from 5 to 5 steps" in explained
    assert "step 4 EcDoAsyncWaitEx(session=1): without it, the property holds" in explained


def test_show_mermaid(capsys: pytest.CaptureFixture[str], traces: Path) -> None:
    code, out, err = run(capsys, "show", str(traces / f"seed.{SHORTEST}.itf.json"), "--format", "mermaid")
    assert code == 0, err
    diagram = mermaid.parse(out)
    assert list(diagram.participants.values())[:2] == [
        "worker 1 (impersonates alice)",
        "notifier 1 (MAPI notification thread)",
    ]
    assert ("P2", "->>", "P3", "4. EcDoAsyncWaitEx as SYSTEM on g1") in diagram.messages
    assert ("P3", "--x", "P1", "MAPI_E_NETWORK_ERROR (0x80040115)") in diagram.messages


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_show_state_graph_exports(capsys: pytest.CaptureFixture[str], traces: Path, tmp_path: Path) -> None:
    path = str(traces / f"seed.{SHORTEST}.itf.json")
    assert run(capsys, "show", path, "--format", "graphml", "-o", str(tmp_path / "g.graphml"))[0] == 0
    graph = nx.read_graphml(tmp_path / "g.graphml")
    assert sum(1 for _, d in graph.nodes(data=True) if d["path"]) == 6
    assert [d["bad"] for _, d in graph.nodes(data=True) if d["path"] and d["index"] == 5] == [True]
    code, dot, _ = run(capsys, "show", path, "--format", "dot")
    import pydot
    (parsed,) = pydot.graph_from_dot_data(dot)
    assert nx.nx_pydot.from_pydot(parsed).number_of_nodes() == graph.number_of_nodes()
    assert run(capsys, "show", path, "--format", "png", "--view", "states", "-o", str(tmp_path / "g.png"))[0] == 0
    assert (tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")
    chart_file = str(tmp_path / "c.graphml")
    assert run(capsys, "show", path, "--format", "graphml", "--view", "chart", "-o", chart_file)[0] == 0
    kinds = {d["kind"] for _, d in nx.read_graphml(tmp_path / "c.graphml").nodes(data=True)}
    assert {"lifeline", "identity", "cache", "send", "reply"} <= kinds


def test_show_bad_input(capsys: pytest.CaptureFixture[str], traces: Path) -> None:
    path = str(traces / f"seed.{SHORTEST}.itf.json")
    code, _, err = run(capsys, "show", path, "--format", "mermaid", "--view", "states")
    assert code == 2 and "mermaid" in err
    code, _, err = run(capsys, "show", path, "--format", "gif")
    assert code == 2 and "gif" in err


def test_counterexamples_on_the_seed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "--engine", "bmc", "--counterexamples", "3", "-p", SHORTEST)
    assert code == 1, err
    text = flat(out)
    assert "1 distinct cause within 12 steps (you asked for 3; no other cause exists)" in text
    assert "Cause 1 (5 steps): worker 1 registered first" in text
    code, doc = run_json(capsys, "check", *FAST, "--counterexamples", "3")
    for result in doc["results"]:
        if result["verdict"] == "violated" and result["kind"] == "safety":
            causes = result["causes"]
            assert causes["complete"] and causes["depth"] == 12
            assert len(causes["counterexamples"]) == 1


def test_counterexamples_differ_in_their_cause(capsys: pytest.CaptureFixture[str]) -> None:
    options = ("--engine", "bmc", "--set", "workers=2", "--counterexamples", "3", "--depth", "8")
    code, doc = run_json(capsys, "check", "-p", SHORTEST, *options)
    (result,) = doc["results"]
    found = result["causes"]["counterexamples"]
    assert len(found) == 3 and not result["causes"]["complete"]
    assert len({c["cause"] for c in found}) == 3
    two = scenarios.with_overrides(scenarios.load_builtin("seed"), ["workers=2"])
    for item in found:
        assert replay(two, itf.from_itf(item["trace"]), SHORTEST).ok


def test_explain_on_the_seed(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(capsys, "check", *FAST, "--explain")
    seed = scenarios.load_builtin("seed")
    for result in doc["results"]:
        if result["verdict"] != "violated" or result["kind"] != "safety":
            assert "explanation" not in result, "explanations shrink safety counterexamples"
            continue
        explanation = result["explanation"]
        assert explanation["steps"] <= explanation["original_steps"] == result["depth"]
        shrunk = itf.from_itf(explanation["trace"])
        assert replay(seed, shrunk, result["property"]).ok
        assert [n["step"] for n in explanation["needs"]] == list(range(1, explanation["steps"] + 1))
        assert "running as SYSTEM" in explanation["cause"]
    code, out, _ = run(capsys, "check", "--engine", "bmc", "--explain", "-p", SHORTEST)
    assert "each remaining step is needed" in flat(out)


def test_bad_counterexamples_value(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "--counterexamples", "-1")
    assert code == 2 and "--counterexamples" in err


def test_check_without_charts_does_not_load_matplotlib(tmp_path: Path) -> None:
    """Start-up stays fast: drawing libraries load only when a chart is asked for."""
    probe = (
        "import sys\nfrom regcheck.cli import main\ncode = main(['check', '--engine', 'bmc', '--json'])\n"
        "print(code, 'matplotlib' in sys.modules, 'regcheck.render.chart' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.stdout.split()[-3:] == ["1", "False", "False"], done.stderr


def test_mailbox_walker_told_by_check_and_show(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """One worker serves alice, then bob: the chart and ``show`` say whom it impersonates in each job."""
    code, out, err = run(capsys, "check", "mailbox-walker", "--engine", "bmc", "-p", SHORTEST, "--trace-out",
                         str(tmp_path))
    assert code == 1, out + err
    assert "Why: Step 7: worker 1, running as bob, sent EcDoConnectEx on association g1, registered to alice" in flat(out)
    stem = tmp_path / f"mailbox-walker.{SHORTEST}"
    svg = ET.parse(stem.with_name(stem.name + ".svg")).getroot()
    words = " ".join(" ".join(t.itertext()) for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    for label in (
        "impersonates alice, then bob",
        "runs as alice",
        "ImpersonateLoggedOnUser(bob)",
        "runs as bob",
        "4. EcDoDisconnect as alice on g1",
        "7. EcDoConnectEx as bob on g1",
        "MISMATCH: g1 is alice's; evicted",
    ):
        assert label in words, label
    code, text, err = run(capsys, "show", str(stem.with_name(stem.name + ".itf.json")))
    assert code == 0, err
    assert "by its own earlier job at step 2" in flat(text)
    code, source, _ = run(capsys, "show", str(stem.with_name(stem.name + ".itf.json")), "--format", "mermaid")
    assert list(mermaid.parse(source).participants.values())[0] == "worker 1 (impersonates alice, then bob)"
