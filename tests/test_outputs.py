"""Outputs never destroy inputs or one another (regcheck/outputs.py), for every output option of every command.

A table of every (command, output option) pair against each way two paths can collide: the output is
an input of the command, another of its outputs, or lies inside another of its output folders. Each
is refused before anything is written, with one line that names both. A report folder is replaced as
a whole: a failure part way leaves the earlier report as it was. A second writer to a folder is
refused. A scenario name of 255 characters still gives every output, under a shortened, stable name.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regcheck import outputs
from regcheck.errors import InvalidArgument
from regcheck.model.scenario import builtin_path
from regcheck.outputs import NAME_LIMIT, file_stem, locked, plan_outputs, staged
from tests.clirun import run

LOG = Path(__file__).resolve().parent.parent / "examples" / "logs" / "unexplained.jsonl"
FAST = ("-p", "no-registration-mismatch", "--engine", "bmc", "--depth", "5")
"""One property of the seed, violated in 4 steps: a check that writes a counterexample, fast."""
DIAGNOSE = ("diagnose", "l.jsonl", "--vary", "transport=rpc-http")
"""A diagnosis of one setting of a log no setting explains: fast."""


def snapshot(folder: Path) -> list[tuple[str, bytes | str]]:
    """Everything under ``folder``: path and content (a folder's is ``/``)."""
    return [(str(p.relative_to(folder)), "/" if p.is_dir() else p.read_bytes()) for p in sorted(folder.rglob("*"))]


@pytest.fixture()
def inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh folder, the current one, holding a scenario file, a trace, a log and the folders ``t`` and ``em``."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(builtin_path("seed"), tmp_path / "s.toml")
    shutil.copy(LOG, tmp_path / "l.jsonl")
    (tmp_path / "t").mkdir()
    (tmp_path / "em").mkdir()
    (tmp_path / "t" / "x.itf.json").write_text("{}\n", encoding="utf-8")
    return tmp_path


# (command line, the two names the error line must hold)
CONFLICTS: dict[str, tuple[tuple[str, ...], tuple[str, str]]] = {
    # an output that is an input of its command
    "check --junit = the scenario": (("check", "s.toml", *FAST, "--junit", "s.toml"), ("--junit", "scenario file")),
    "check --sarif = the scenario": (("check", "s.toml", *FAST, "--sarif", "./s.toml"), ("--sarif", "scenario file")),
    "check --trace-out = the scenario": (("check", "s.toml", *FAST, "--trace-out", "s.toml"),
                                         ("--trace-out", "scenario file")),
    "check --emit-tests = the scenario": (("check", "s.toml", *FAST, "--emit-tests", "s.toml"),
                                          ("--emit-tests", "'s.toml' is a file")),
    "check --out folder holds the scenario": (("check", "t/s.toml", *FAST, "--junit", "t/s.toml"),
                                              ("--junit", "scenario file")),
    "show -o = the trace": (("show", "t/x.itf.json", "-o", "t/x.itf.json"), ("--output", "the trace")),
    "show -o = the --scenario": (("show", "t/x.itf.json", "--scenario", "s.toml", "-o", "s.toml"),
                                 ("--output", "scenario file")),
    "export -o = the scenario": (("export", "s.toml", "-o", "s.toml"), ("--output", "scenario file")),
    "export -o = the scenario, through ..": (("export", "s.toml", "-o", "t/../s.toml"), ("--output", "scenario file")),
    "report --out = the scenario": (("report", "s.toml", "--out", "s.toml"), ("--out", "'s.toml' is a file")),
    "report --out holds the scenario": (("report", "t/s.toml", "--out", "t"), ("--out", "scenario file")),
    "report --out holds a --diagnose log": (("report", "s.toml", "--diagnose", "t/l.jsonl", "--out", "t"),
                                            ("--out", "the log")),
    "sweep --junit = the scenario": (("sweep", "s.toml", "--junit", "s.toml"), ("--junit", "scenario file")),
    "diagnose --junit = the log": ((*DIAGNOSE, "--junit", "l.jsonl"), ("--junit", "the log")),
    "diagnose --junit = the --scenario": ((*DIAGNOSE, "--scenario", "s.toml", "--junit", "s.toml"),
                                          ("--junit", "scenario file")),
    "diagnose --trace-out = the log": ((*DIAGNOSE, "--trace-out", "l.jsonl"), ("--trace-out", "'l.jsonl' is a file")),
    # an output that is another output of its command
    "check --junit = --sarif": (("check", *FAST, "--junit", "r.xml", "--sarif", "r.xml"), ("--junit", "--sarif")),
    "check --trace-out = --emit-tests": (("check", *FAST, "--trace-out", "em", "--emit-tests", "em/"),
                                         ("--trace-out", "--emit-tests")),
    "check --junit = --trace-out": (("check", *FAST, "--junit", "u", "--trace-out", "u"), ("--junit", "--trace-out")),
    "check --junit = an existing --trace-out": (("check", *FAST, "--junit", "t", "--trace-out", "t"),
                                                ("--junit", "'t' is a directory")),
    "check --sarif = the traces folder of --junit": (("check", *FAST, "--junit", "o/r.xml", "--sarif", "o/traces"),
                                                     ("--sarif", "traces folder of --junit")),
    "diagnose --junit = --trace-out": ((*DIAGNOSE, "--junit", "u", "--trace-out", "u/"), ("--junit", "--trace-out")),
    # an output inside another output folder
    "check --junit inside --trace-out": (("check", *FAST, "--trace-out", "t", "--junit", "t/x.itf.json"),
                                         ("--junit", "--trace-out")),
    "check --junit inside --emit-tests": (("check", *FAST, "--emit-tests", "em", "--junit", "em/test_x.py"),
                                          ("--junit", "--emit-tests")),
    "check --sarif inside --trace-out": (("check", *FAST, "--trace-out", "t", "--sarif", "t/sub/r.sarif"),
                                         ("--sarif", "--trace-out")),
    "check --trace-out inside --emit-tests": (("check", *FAST, "--emit-tests", "em", "--trace-out", "em/t"),
                                              ("--trace-out", "--emit-tests")),
    "check --emit-tests inside the traces folder of --junit": (
        ("check", *FAST, "--junit", "r.xml", "--emit-tests", "traces/em"), ("--emit-tests", "traces folder")),
    "diagnose --junit inside --trace-out": ((*DIAGNOSE, "--trace-out", "t", "--junit", "t/r.xml"),
                                            ("--junit", "--trace-out")),
}


@pytest.mark.parametrize(("argv", "names"), list(CONFLICTS.values()), ids=list(CONFLICTS))
def test_an_output_may_not_destroy_an_input_or_another_output(argv: tuple[str, ...], names: tuple[str, str],
                                                               inputs: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    if "t/s.toml" in argv:
        shutil.copy(inputs / "s.toml", inputs / "t" / "s.toml")
    if "t/l.jsonl" in argv:
        shutil.copy(inputs / "l.jsonl", inputs / "t" / "l.jsonl")
    before = snapshot(inputs)
    code, out, err = run(capsys, *argv)
    lines = err.splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert all(name in lines[0] for name in names), lines[0]
    assert snapshot(inputs) == before, "a refused command wrote (or replaced) something"


def test_the_rule_compares_files_by_identity(tmp_path: Path) -> None:
    source = tmp_path / "s.toml"
    source.write_text("x\n", encoding="utf-8")
    os.link(source, tmp_path / "hard.toml")
    with pytest.raises(InvalidArgument, match="--junit .*hard.toml is the scenario file"):
        plan_outputs([("the scenario file", source)], [("--junit", tmp_path / "hard.toml")])
    (tmp_path / "link").symlink_to(tmp_path)
    with pytest.raises(InvalidArgument, match="--junit .* is inside the --trace-out folder"):
        plan_outputs([], [("--junit", tmp_path / "link" / "t" / "r.xml")], [("--trace-out", tmp_path / "t")])
    plan = plan_outputs([("the scenario file", source)], [("--junit", tmp_path / "r.xml")], [("--trace-out", tmp_path / "t")])
    with pytest.raises(InvalidArgument, match="--trace-out would write .*hard.toml, which is the scenario file"):
        plan.check_files("--trace-out", [tmp_path / "hard.toml"])
    with pytest.raises(InvalidArgument, match="--trace-out would write .*r.xml, which --junit names too"):
        plan.check_files("--trace-out", [tmp_path / "link" / "r.xml"])


# --------------------------------------------------------------------------------------------
# A report folder is replaced as a whole

REPORT = ("report", "seed", "-p", "no-registration-mismatch", "--engine", "bmc", "--depth", "5", "--out", "r")


def _earlier_report(folder: Path) -> list[tuple[str, bytes | str]]:
    """An earlier report in ``folder/r``, with a chart the next one does not write; its snapshot."""
    (folder / "r" / "charts").mkdir(parents=True)
    (folder / "r" / "index.html").write_text("<!DOCTYPE html>\n<title>regcheck evidence: old</title>\n")
    (folder / "r" / "report.md").write_text("old\n", encoding="utf-8")
    (folder / "r" / "charts" / "old.svg").write_text("old\n", encoding="utf-8")
    return snapshot(folder / "r")


def test_a_disk_full_part_way_leaves_the_earlier_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    before = _earlier_report(tmp_path)
    real = os.replace
    written: list[str] = []

    def full(source: str | Path, target: str | Path) -> None:
        if Path(target).name == "index.html":  # the last file: the charts and traces are written by now
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
        written.append(Path(target).name)
        real(source, target)

    monkeypatch.setattr("regcheck.files.os.replace", full)
    code, _, err = run(capsys, *REPORT)
    assert code == 2, err
    assert err.strip() == "error: cannot write r/index.html: No space left on device"
    assert any(name.endswith(".svg") for name in written), "the failure came before the charts"
    assert snapshot(tmp_path / "r") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"], "a temporary folder was left behind"


def test_a_failed_rename_puts_the_earlier_report_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    before = _earlier_report(tmp_path)
    real = os.rename

    def refuse_new(source: str | Path, target: str | Path) -> None:
        if Path(source).name.endswith(".new"):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real(source, target)

    monkeypatch.setattr("regcheck.outputs.os.rename", refuse_new)
    code, _, err = run(capsys, *REPORT)
    assert code == 2 and err.startswith("error: cannot write r: Input/output error"), err
    assert snapshot(tmp_path / "r") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_a_report_replaces_the_earlier_one_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    _earlier_report(tmp_path)
    code, out, err = run(capsys, *REPORT)
    assert code == 0, err
    assert not (tmp_path / "r" / "charts" / "old.svg").exists()
    assert "removing the 1 of its file(s) not written again" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"], "a temporary folder or a lock was left behind"


def test_staged_files_join_a_folder_of_the_users_own(tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "mine.txt").write_text("mine\n", encoding="utf-8")
    with staged(tmp_path / "t", whole=False) as stage:
        (stage / "a.itf.json").write_text("{}\n", encoding="utf-8")
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["a.itf.json", "mine.txt"]
    with pytest.raises(RuntimeError), staged(tmp_path / "new", whole=False) as stage:
        (stage / "b.itf.json").write_text("{}\n", encoding="utf-8")
        raise RuntimeError("part way")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"]


def test_a_folder_whose_parent_may_not_be_written_holds_its_own_lock_and_stage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--trace-out .`` where the folder above is another user's (root may write anywhere: access is faked)."""
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    real = os.access
    monkeypatch.setattr("regcheck.outputs.os.access",
                        lambda path, mode: False if Path(path) == tmp_path else real(path, mode))
    places: list[Path] = []
    publish, open_ = outputs._publish, os.open
    monkeypatch.setattr("regcheck.outputs._publish",
                        lambda stage, folder, *, whole: (places.append(stage.parent), publish(stage, folder, whole=whole)))
    monkeypatch.setattr("regcheck.outputs.os.open",
                        lambda path, *args, **kwargs: (str(path).endswith(".lock") and places.append(Path(path).parent),
                                                       open_(path, *args, **kwargs))[1])
    code, _, err = run(capsys, "check", *FAST, "--trace-out", ".")
    assert code == 1, err
    assert len(places) == 2 and set(places) == {tmp_path / "here"}, places  # the lock, then the stage
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here"], "something was written above the folder"
    assert sorted(p.name for p in (tmp_path / "here").iterdir()) == [
        f"seed.no-registration-mismatch.{end}" for end in ("itf.json", "png", "svg")]


# --------------------------------------------------------------------------------------------
# One writer at a time


def test_a_second_writer_to_a_folder_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Another process holds the folder's lock (as a report being written does): this one is refused."""
    monkeypatch.chdir(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path; from regcheck.outputs import locked\n"
         "with locked(Path('r'), option='--out'):\n    print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        code, out, err = run(capsys, *REPORT)
        assert code == 2, err
        assert err.strip() == ("error: --out r: another regcheck is writing there now; run again when it has "
                               "finished, or give another folder")
        assert not (tmp_path / "r").exists()
        code, _, err = run(capsys, "check", *FAST, "--trace-out", "r")
        assert code == 2 and "another regcheck is writing" in err, err
    finally:
        holder.communicate("", timeout=30)
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "the lock file outlived its holder"
    killed = subprocess.Popen(holder.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
    assert killed.stdout is not None and killed.stdout.readline() == "held\n"
    killed.kill()  # SIGKILL: no cleanup runs, the lock file stays, and the kernel drops the lock
    killed.communicate(timeout=30)
    assert [p.name for p in tmp_path.iterdir()][0].endswith(".lock")
    code, out, err = run(capsys, *REPORT)
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_the_lock_is_held_once_and_released(tmp_path: Path) -> None:
    with locked(tmp_path / "r", option="--out"):
        with pytest.raises(InvalidArgument, match="another regcheck is writing"), \
                locked(tmp_path / "r", option="--out"):
            pass
        with locked(tmp_path / "other", option="--out"):
            pass
    with locked(tmp_path / "r", option="--out"):
        pass
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# Long names


@given(st.text(min_size=0, max_size=400))
def test_a_name_becomes_a_short_safe_stable_file_name(name: str) -> None:
    stem = file_stem(name)
    assert stem == file_stem(name), "not stable"
    assert 0 < len(stem) <= NAME_LIMIT + 9 and not stem.startswith(".")
    assert all(c.isascii() and (c.isalnum() or c in "_.-") for c in stem)
    if len(stem) > NAME_LIMIT:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        assert stem.endswith("-" + digest)


def test_a_255_character_scenario_name_gives_every_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    name = "n" * 255
    seed = builtin_path("seed").read_text(encoding="utf-8")
    (tmp_path / "long.toml").write_text(f'name = "{name}"\n' + seed, encoding="utf-8")
    code, out, err = run(capsys, "check", "long.toml", *FAST, "--trace-out", "t", "--junit", "o/r.xml",
                         "--sarif", "o/r.sarif", "--emit-tests", "em")
    assert code == 1, err
    assert "Counterexample to no-registration-mismatch" in out
    stem = file_stem(name)
    assert stem == "n" * NAME_LIMIT + "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == [
        f"{stem}.no-registration-mismatch.{end}" for end in ("itf.json", "png", "svg")]
    assert len(list((tmp_path / "em").glob("test_*.py"))) == 1
    assert f"t/{stem}.no-registration-mismatch.itf.json" in (tmp_path / "o" / "r.xml").read_text(encoding="utf-8")
    code, out, err = run(capsys, "report", "long.toml", *FAST, "--out", "r")
    assert code == 0, err
    assert [p.name for p in (tmp_path / "r" / "charts").iterdir()] == [f"{stem}--no-registration-mismatch.svg"]
    every = [p for p in tmp_path.rglob("*")]
    assert max(len(p.name.encode()) for p in every) < 255
    assert not [p for p in every if p.name.startswith(".regcheck-")], "a temporary file was left behind"


def test_plans_are_checked_before_any_kind_check(tmp_path: Path) -> None:
    """A folder option given a regular file that is an input is named as the input, not only as 'not a folder'."""
    source = tmp_path / "s.toml"
    source.write_text("x\n", encoding="utf-8")
    with pytest.raises(InvalidArgument, match="--trace-out .* is the scenario file"):
        plan_outputs([("the scenario file", source)], [], [("--trace-out", source)])
    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    with pytest.raises(InvalidArgument, match="FIFO"):
        plan_outputs([], [("--junit", fifo)])
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert outputs.shortened("x" * NAME_LIMIT) == "x" * NAME_LIMIT
