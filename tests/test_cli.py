"""End-to-end tests of the ``regcheck`` command (regcheck/cli/): verdicts, exit codes and ``--json`` documents.

Most tests call ``regcheck.cli.main`` in-process; one runs the installed command as a fresh process
to see the real exit code. Depths stay small (at most 20) so the whole file runs in seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from regcheck.cli import main
from regcheck.formats import itf
from regcheck.model import scenario as scenarios
from regcheck.model.design import design_of
from regcheck.model.replay import replay
from regcheck.model.scenario import Scenario
from regcheck.properties import catalogue
from tests.clirun import flat, run, run_json

SHORTEST = "worker-never-gets-network-error"
REPO = Path(__file__).resolve().parents[1]




def story_rows(out: str) -> list[list[str]]:
    """The counterexample table's rows as cells, joining lines that a wrapped cell continues on."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Counterexample"))
    table: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("Why:"):
            break
        if "│" not in line:
            continue
        cells = [c.strip() for c in line.split("│")]
        if cells[0].isdigit():
            table.append(cells)
        elif table and not cells[0]:
            last = table[-1]
            for i, cell in enumerate(cells):
                if cell and i < len(last):
                    last[i] = f"{last[i]} {cell}"
    return table


# --------------------------------------------------------------------------------------------
# No arguments: the seed, a verdict table, and the shortest counterexample as a story


def test_no_arguments_tells_the_seed_story(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert code == 1, "the seed's violations are counterexamples"
    assert "Traceback" not in out + err
    assert "seed" in out
    for name in catalogue.NAMES:
        assert name in out, f"verdict table lacks {name}"
    text = flat(out)
    for word in (
        "notifier 1",
        "SYSTEM",
        "EcDoAsyncWaitEx",
        "g1",
        "MISMATCH",
        "evicted",
        "worker 1",
        "alice",
        "EcDoRpcExt2",
        "MAPI_E_NETWORK_ERROR",
        "Registration of the Association GUID failed",
    ):
        assert word in text, f"{word!r} missing from the story"
    assert f"Counterexample to {SHORTEST} (5 steps" in text

    table = story_rows(out)
    assert [row[0] for row in table] == ["1", "2", "3", "4", "5"]
    step, thread, identity, call, guid, cache, result = table[3][:7]
    assert (thread, identity, call, guid) == ("notifier 1", "SYSTEM", "EcDoAsyncWaitEx", "g1")
    assert "MISMATCH" in cache and "evicted" in cache
    assert "MAPI_E_NETWORK_ERROR" in result
    step, thread, identity, call, guid, cache, result = table[4][:7]
    assert (thread, identity, call, guid) == ("worker 1", "alice", "EcDoRpcExt2", "g1")
    assert "evicted" in cache
    assert "MAPI_E_NETWORK_ERROR" in result


def test_fresh_process_exit_codes(tmp_path: Path) -> None:
    """The installed command, as a user runs it: the real exit status, and no traceback."""
    script = Path(sys.executable).with_name("regcheck")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "regcheck.cli"]
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "Registration of the Association GUID failed" in flat(done.stdout)
    bad = subprocess.run(
        [*command, "check", "--set", "workers=0"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [bad.stderr.strip()]
    assert bad.stderr.startswith("error:")
    assert "Traceback" not in bad.stdout + bad.stderr


# --------------------------------------------------------------------------------------------
# --json


@pytest.mark.parametrize("name, states", [("fix-run-as-user", 18), ("fix-no-notifications", 8)])
def test_fixes_are_proved_by_default(capsys: pytest.CaptureFixture[str], name: str, states: int) -> None:
    code, doc = run_json(capsys, "check", name)
    assert code == (1 if name == "fix-no-notifications" else 0)  # fix B's caveat: notifications stop
    for result in doc["results"]:
        if result["kind"] == "liveness":
            assert (result["verdict"] == "violated") == (result["expected"] == "violated"), result
            continue
        assert result["verdict"] == "proved", result
        assert result["depth"] is None and result["trace"] is None
        evidence = result["evidence"]
        assert evidence["kind"] == "inductive-invariant"
        # z3 re-checked the invariant, and it holds in each reachable state of the one worker.
        assert evidence["rechecked_by"] == ["z3", f"reachable-states({states})"]
        assert "reg[1]" in evidence["invariant"]


@pytest.mark.parametrize("name", ["fix-run-as-user", "fix-no-notifications"])
def test_fixes_hold_to_depth_20(capsys: pytest.CaptureFixture[str], name: str) -> None:
    safety = [n for n in catalogue.NAMES if catalogue.spec(n).kind.value == "safety"]
    code, doc = run_json(capsys, "check", name, "--depth", "20", "--engine", "bmc", *(f"-p{n}" for n in safety))
    assert code == 0
    assert doc["scenario"]["name"] == name
    assert [r["property"] for r in doc["results"]] == safety
    for result in doc["results"]:
        assert result["verdict"] == "bounded", result
        assert result["depth"] == 20
        assert result["trace"] is None
        assert result["expected"] == "holds"


@pytest.fixture(scope="module")
def seed_json() -> tuple[int, dict]:
    """One ``check seed --json`` run shared by the tests that read it (output captured by hand)."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check", "seed", "--json"])
    assert "Traceback" not in out.getvalue() + err.getvalue()
    return code, json.loads(out.getvalue())


def test_json_header_and_scenario(seed_json: tuple[int, dict]) -> None:
    code, doc = seed_json
    assert code == 1
    assert doc["version"] == 1
    assert doc["tool"]["name"] == "regcheck" and doc["tool"]["version"]
    assert isinstance(doc["z3"], str) and doc["z3"]
    assert isinstance(doc["python"], str) and doc["python"]
    seed = scenarios.load_builtin("seed")
    assert set(doc["scenario"]) == set(Scenario().switches()) | {"name", "description", "design"}
    assert doc["scenario"] == {"name": "seed", "description": seed.description, **seed.switches(),
                               "design": design_of(seed).as_json()}
    assert doc["scenario"]["design"]["workers"] == [
        {"worker": 1, "jobs": ["alice"], "impersonates": True, "calls_as": "each job's user"}]
    assert doc["scenario"]["worker_users"] == ["alice"], "worker_users is resolved, not left empty"


def test_json_results(seed_json: tuple[int, dict]) -> None:
    _, doc = seed_json
    seed = scenarios.load_builtin("seed")
    keys = {"property", "kind", "verdict", "depth", "engine", "expected", "time_s", "trace", "evidence"}
    assert [r["property"] for r in doc["results"]] == list(catalogue.NAMES)
    violated = 0
    for result in doc["results"]:
        assert keys <= set(result)
        assert result["kind"] in ("safety", "liveness")
        assert result["verdict"] in ("violated", "proved", "bounded", "unknown")
        assert result["engine"].startswith("auto:")
        assert result["expected"] == seed.expected[result["property"]]
        assert isinstance(result["time_s"], (int, float)) and result["time_s"] >= 0
        if result["verdict"] != "proved":
            assert result["evidence"] is None
        if result["verdict"] == "violated":
            violated += 1
            raw = result["trace"]
            assert raw is not None
            assert raw["#meta"]["replayed"] is True
            trace = itf.from_itf(raw)
            assert len(trace) == result["depth"]
            report = replay(seed, trace)
            assert report.ok, str(report)
            # The trace violates its own property in its final state.
            assert replay(seed, trace, result["property"]).ok
        else:
            assert result["trace"] is None
            assert result["verdict"] == "proved" and result["depth"] is None
            assert result["evidence"]["rechecked_by"] == ["z3", "reachable-states(18)"]
        assert (result["verdict"] == "violated") == (result["expected"] == "violated")
    assert violated == 5  # three safety properties, and both liveness properties with a lasso


def test_shortest_counterexample(seed_json: tuple[int, dict], capsys: pytest.CaptureFixture[str]) -> None:
    _, doc = seed_json
    (shortest,) = [r for r in doc["results"] if r["property"] == SHORTEST]
    assert shortest["verdict"] == "violated"
    assert shortest["depth"] == 5
    assert len(shortest["trace"]["states"]) == 6

    code, doc = run_json(capsys, "check", "seed", "--depth", "4", "-p", SHORTEST, "--engine", "bmc")
    assert code == 0
    (result,) = doc["results"]
    assert result["property"] == SHORTEST
    assert result["verdict"] == "bounded"
    assert result["depth"] == 4
    assert result["trace"] is None


def test_check_all(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "--all", "--depth", "8")
    assert code == 0, out
    assert "Traceback" not in out + err
    for name in scenarios.builtin_names():
        assert name in out
    assert " NO " not in out


def test_check_all_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(capsys, "check", "--all", "--depth", "12")
    assert code == 0
    assert doc["version"] == 1
    runs = doc["runs"]
    assert len(runs) == len(scenarios.builtin_names()) == 11
    assert [r["scenario"]["name"] for r in runs] == scenarios.builtin_names()
    for entry in runs:
        name = entry["scenario"]["name"]
        assert [r["property"] for r in entry["results"]] == list(catalogue.NAMES)
        for result in entry["results"]:
            expected = result["expected"]
            assert expected in ("violated", "holds"), (name, result["property"])
            if expected == "violated":
                assert result["verdict"] == "violated", (name, result["property"])
                assert result["trace"]["#meta"]["replayed"] is True
            else:
                assert result["verdict"] in ("proved", "bounded"), (name, result["property"])


# --------------------------------------------------------------------------------------------
# --trace-out


def test_trace_out_writes_loadable_itf(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "traces"
    code, out, err = run(capsys, "check", "seed", "--depth", "6", "--trace-out", str(folder))
    assert code == 1
    violated = ["worker-never-gets-network-error", "no-registration-mismatch", "registration-in-use-never-evicted"]
    names = set(os.listdir(folder))
    stems = {name[: -len(".itf.json")] for name in names if name.endswith(".itf.json")}
    assert {f"seed.{p}" for p in violated} <= stems
    assert names == {f"{stem}.{ext}" for stem in stems for ext in ("itf.json", "svg", "png")}, "each with its chart"
    seed = scenarios.load_builtin("seed")
    for prop in violated:
        trace = itf.read(folder / f"seed.{prop}.itf.json")
        assert trace.meta["scenario"] == "seed"
        assert trace.meta["replayed"] is True
        assert trace.meta["switches"] == seed.switches()
        assert replay(seed, trace, prop).ok


def test_trace_out_with_nothing_violated_writes_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "traces"
    code, _, _ = run(capsys, "check", "fix-run-as-user", "--depth", "6", "--trace-out", str(folder))
    assert code == 0
    assert not folder.exists() or os.listdir(folder) == []


def test_trace_out_stays_in_its_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    toml = tmp_path / "evil.toml"
    toml.write_text('name = "../escaped"\n', encoding="utf-8")
    code, out, err = run(capsys, "check", str(toml), "--depth", "6", "--trace-out", str(folder))
    assert "Traceback" not in out + err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.toml", "out"], "nothing written beside the folder"
    if code != 2:  # refusing the name is fine too; otherwise every trace lands inside the folder
        assert code == 1
        written = os.listdir(folder)
        assert len(written) >= 9 and len(written) % 3 == 0  # each counterexample as ITF, SVG and PNG


def test_trace_out_on_a_file_is_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("", encoding="utf-8")
    code, out, err = run(capsys, "check", "seed", "--depth", "5", "-p", SHORTEST, "--trace-out", str(target))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")


# --------------------------------------------------------------------------------------------
# Bad input: exit 2, exactly one "error:" line naming the bad value, no traceback


def _bad_toml(tmp_path: Path) -> str:
    path = tmp_path / "broken.toml"
    path.write_text("workers = = 2\n", encoding="utf-8")
    return str(path)


def _missing_toml(tmp_path: Path) -> str:
    return str(tmp_path / "absent.toml")


BAD_INPUT = {
    "unknown scenario": (lambda t: ["check", "no-such-scenario"], ["no-such-scenario", "seed"]),
    "unknown property": (lambda t: ["check", "seed", "-p", "no-such-property"], ["no-such-property", SHORTEST]),
    "zero workers": (lambda t: ["check", "seed", "--set", "workers=0"], ["workers", "0", "1 to 16"]),
    "maybe impersonate": (lambda t: ["check", "--set", "impersonate=maybe"], ["impersonate", "maybe"]),
    "unknown switch": (lambda t: ["check", "--set", "nosuch=1"], ["nosuch", "workers"]),
    "missing file": (lambda t: ["check", _missing_toml(t)], ["absent.toml"]),
    "malformed file": (lambda t: ["check", _bad_toml(t)], ["broken.toml", "TOML"]),
    "negative depth": (lambda t: ["check", "seed", "--depth", "-1"], ["--depth", "-1"]),
    "textual depth": (lambda t: ["check", "seed", "--depth", "abc"], ["--depth", "abc"]),
    "unknown engine": (lambda t: ["check", "seed", "--engine", "nosuch"], ["--engine", "nosuch", "bmc"]),
    "depth too large": (lambda t: ["check", "seed", "--depth", "501"], ["--depth", "501", "500"]),
    "zero timeout": (lambda t: ["check", "seed", "--timeout", "0"], ["--timeout", "0"]),
    "--all with a scenario": (lambda t: ["check", "--all", "seed"], ["--all"]),
    "unknown command": (lambda t: ["frobnicate"], ["frobnicate"]),
    "unknown option": (lambda t: ["check", "--colour"], ["--colour"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUT.values()), ids=list(BAD_INPUT))
def test_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path, case) -> None:
    argv, must_mention = case
    code, out, err = run(capsys, *argv(tmp_path))
    assert code == 2
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error:")
    for text in must_mention:
        assert text in lines[0], f"{text!r} not in {lines[0]!r}"


@pytest.mark.parametrize("as_json", [False, True])
def test_bad_input_with_json_prints_no_document(
    capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    code, out, err = run(capsys, "check", "--set", "workers=0", *(["--json"] if as_json else []))
    assert code == 2
    assert out == ""
    assert err.startswith("error:")


# --------------------------------------------------------------------------------------------
# Listings and the version


def test_scenarios_lists_every_builtin(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "scenarios")
    assert code == 0
    assert err == ""
    for name in scenarios.builtin_names():
        assert name in out
    column = " ".join(line.split("│", 1)[1].strip() for line in out.splitlines() if "│" in line)
    for name in scenarios.builtin_names():  # every word of it, "[true, false]" too: text, never markup
        assert scenarios.load_builtin(name).description in column


def test_properties_lists_every_property(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "properties")
    assert code == 0
    assert err == ""
    for name in catalogue.NAMES:
        assert name in out
    assert "safety" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import regcheck

    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert regcheck.__version__ in out


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--help")
    assert code == 0
    for option in ("--property", "--engine", "--depth", "--set", "--json", "--trace-out", "--all"):
        assert option in out



def test_the_header_names_the_design_checked(capsys: pytest.CaptureFixture[str]) -> None:
    """Built-in or file, the overrides given, and each worker's part: what the verdicts below are about."""
    code, out, _ = run(capsys, "check", "mixed-threads", "--set", "workers=2", "--engine", "bmc", "--depth", "3")
    assert code == 1
    header = out.splitlines()
    assert "scenario mixed-threads (built-in, with --set workers=2), engine bmc, depth 3" in header[0]
    text = flat(out)
    assert "worker 1: 1 job for alice; impersonates each job's user" in text
    assert "worker 2: 1 job for alice; does not impersonate: calls as svc" in text


# --------------------------------------------------------------------------------------------
# Certificates: a long one summarised on the terminal, whole with --show-certificate and in --json

PROOF = ("check", "fix-run-as-user", "-p", "no-registration-mismatch", "--engine", "houdini")
"""A proof whose certificate is one (the largest inductive subset of the candidates) and over 200 characters."""


def test_a_long_certificate_is_summarised_and_shown_whole_on_request(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = run_json(capsys, *PROOF)
    assert code == 0
    invariant = document["results"][0]["evidence"]["invariant"]
    assert len(invariant) >= 200
    code, out, _ = run(capsys, *PROOF)
    assert code == 0
    conjuncts = invariant.count(" /\\ ") + 1  # no conjunction inside a conjunct of this one
    assert (f"Proved no-registration-mismatch: inductive invariant: {conjuncts} conjuncts, {len(invariant):,} "
            "characters; print it with --show-certificate (--json has it too)") in flat(out)
    assert invariant not in flat(out)
    code, out, _ = run(capsys, *PROOF, "--show-certificate")
    assert code == 0
    assert f"Proved no-registration-mismatch: inductive invariant: {invariant}" in flat(out)


def test_a_short_certificate_is_shown_whole(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "fix-run-as-user", "-p", "no-registration-mismatch", "--engine", "kinduction")
    assert code == 0
    assert "Proved no-registration-mismatch: 5-inductive" in out
