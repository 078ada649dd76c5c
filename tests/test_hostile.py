"""Hostile input: scenario and trace files come from strangers (issue 9, section 2).

Each row of :data:`CASES` is a command line, the files it needs, the exit code it must end with
and a word its stderr must contain. Every case runs the installed CLI in a fresh process, with a
hard timeout and a cap on its address space, so that a regression (an unbounded read, a blocked
FIFO, a chart that grows without bound) fails here instead of hanging CI or the machine. Whatever
the case, the output holds no traceback and no ESC byte (nothing here runs on a terminal, so any
ESC came from the input), and an error is one line on stderr, cut to a readable length.

Paths in a case are relative to the case's own folder, which holds ``seed.itf.json`` (the seed's
shortest counterexample, as ``check --trace-out`` writes it) and ``lasso.itf.json`` (a liveness
counterexample of the seed) before the case's files are made.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from regcheck.deadline import GRACE_S

TIMEOUT = 60
"""Seconds any one case may take."""

MEMORY = 2 * 1024**3
"""Bytes of address space any one case may take."""

MAX_ERROR = 600
"""Characters an error line may have: a bad value is echoed cut, never in full."""

BMC = ("--engine", "bmc", "--depth", "3")
"""Too shallow for the seed's shortest counterexample (5 steps): a check that finds nothing, fast."""
VIOLATED = ("--engine", "bmc", "--depth", "5")
"""Deep enough for it."""
SEED = "seed.itf.json"
LASSO = "lasso.itf.json"
HUGE = "1" * 5000
HUGE_HEX = "0x" + "f" * 5000

Setup = Callable[[Path], None]
Check = Callable[[Path, str, str], None]


def _limit(file_size: int | None = None) -> None:
    """In the child: cap the address space, so that an unbounded read fails instead of eating the machine, and
    (``file_size``) the bytes a file may have, so that a write fails as on a full disk."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    if file_size is not None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))


def _command() -> list[str]:
    """The CLI as a user runs it: the installed console script, else the module."""
    script = Path(sys.executable).with_name("regcheck")
    return [str(script)] if script.exists() else [sys.executable, "-m", "regcheck.cli"]


def _cli(folder: Path, argv: tuple[str, ...], stdout: Any = subprocess.PIPE,
         file_size: int | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ``regcheck ARGV`` in ``folder``, bounded in time and memory; a hang fails the test, naming the case."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    try:
        return subprocess.run(
            [*_command(), *argv], cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
            stderr=subprocess.PIPE, timeout=TIMEOUT, preexec_fn=lambda: _limit(file_size),
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"regcheck {' '.join(argv)[:200]} did not finish in {TIMEOUT} s")


# --------------------------------------------------------------------------------------------
# Files a case makes in its folder


def _text(name: str, content: str) -> Setup:
    """A text file."""
    return lambda folder: (folder / name).write_text(content, encoding="utf-8")


def _symlink(name: str, target: str) -> Setup:
    """A symlink to ``target``."""
    return lambda folder: (folder / name).symlink_to(target)


def _fifo(name: str) -> Setup:
    """A FIFO: opened for reading, it blocks until someone writes."""
    return lambda folder: os.mkfifo(folder / name)


def _bytes(name: str, content: bytes) -> Setup:
    """A file of these bytes."""
    return lambda folder: (folder / name).write_bytes(content)


def _logs(name: str, extra: Callable[[Path], object]) -> Setup:
    """A folder holding one good RpcHttp log, and ``extra`` made in it."""

    def make(folder: Path) -> None:
        (folder / name).mkdir()
        (folder / name / "RpcHttp_1.LOG").write_text(RPCHTTP, encoding="utf-8")
        extra(folder / name)

    return make


def _copy(source: str, name: str) -> Setup:
    """A copy of the case's file ``source``."""
    return lambda folder: shutil.copy(folder / source, folder / name)


def _folder(name: str, *files: str) -> Setup:
    """A folder holding files of the user's own (``files`` are paths inside it), each ``mine``."""

    def make(folder: Path) -> None:
        for file in files:
            (folder / name / file).parent.mkdir(parents=True, exist_ok=True)
            (folder / name / file).write_text("mine\n", encoding="utf-8")
        (folder / name).mkdir(exist_ok=True)

    return make


def _earlier_report(folder: Path) -> None:
    """An earlier report in ``r``: its page, and a chart and a trace that the next report does not write."""
    (folder / "r" / "charts").mkdir(parents=True)
    (folder / "r" / "traces").mkdir()
    (folder / "r" / "index.html").write_text("<!DOCTYPE html>\n<title>regcheck evidence: old</title>\n")
    for stale in ("report.md", "charts/old.svg", "traces/old.itf.json"):
        (folder / "r" / stale).write_text("old\n", encoding="utf-8")


def _edited(name: str, edit: Callable[[dict[str, Any]], object]) -> Setup:
    """A copy of the seed's trace with ``edit`` applied to its JSON."""

    def make(folder: Path) -> None:
        data = json.loads((folder / SEED).read_text(encoding="utf-8"))
        edit(data)
        (folder / name).write_text(json.dumps(data), encoding="utf-8")

    return make


def _raw_edited(name: str, old: str, new: str) -> Setup:
    """A copy of the seed's trace with text ``old`` replaced by ``new`` (for what ``json.dumps`` cannot write)."""

    def make(folder: Path) -> None:
        text = (folder / SEED).read_text(encoding="utf-8")
        assert old in text
        (folder / name).write_text(text.replace(old, new, 1), encoding="utf-8")

    return make


def _long_trace(name: str, steps: int, label: str = "") -> Setup:
    """A trace of ``steps`` steps over one counter, recording no scenario; its first step's thread is ``label``."""

    def make(folder: Path) -> None:
        states = ['{"#meta": {"index": 0}, "x": 0}']
        for i in range(1, steps + 1):
            thread = json.dumps(label if i == 1 and label else "t")
            meta = f'{{"index": {i}, "action": "Tick", "labels": {{"thread": {thread}}}}}'
            states.append(f'{{"#meta": {meta}, "x": {i}}}')
        (folder / name).write_text('{"vars": ["x"], "states": [' + ", ".join(states) + "]}", encoding="utf-8")

    return make


def _walk_to_violation(name: str, steps: int) -> Setup:
    """A counterexample of the seed to worker-never-gets-network-error of about ``steps`` steps, as ``check``
    writes one: a random walk that keeps clear of the violation, then the shortest way from there to it."""

    def make(folder: Path) -> None:
        import random
        from collections import deque

        from regcheck import compose
        from regcheck.core.compile import compile_all, compile_system
        from regcheck.core.result import Step, Trace
        from regcheck.formats import itf
        from regcheck.model.scenario import load_builtin
        from regcheck.model.system import build
        from regcheck.properties import catalogue

        prop = "worker-never-gets-network-error"
        seed = load_builtin("seed")
        system = build(seed)
        compiled = compile_system(system)
        holds = compile_all([catalogue.instantiate(prop, seed).formula], compiled.layout)
        rng = random.Random(1)
        states, moves = [compiled.initial], []
        while len(moves) < steps:
            index, after = rng.choice([(i, a) for i, a in compiled.steps(states[-1]) if holds(a)])
            moves.append(index)
            states.append(after)
        came: dict[Any, tuple[Any, int]] = {}
        queue, end = deque([states[-1]]), None
        while end is None:
            current = queue.popleft()
            for index, after in compiled.steps(current):
                if after not in came and after != states[-1]:
                    came[after] = (current, index)
                    queue.append(after)
                    end = end if holds(after) else after
        tail = []
        while end != states[-1]:
            tail.append((end, came[end][1]))
            end = came[end][0]
        for after, index in reversed(tail):
            moves.append(index)
            states.append(after)
        taken = [Step(system.actions[i].name, system.actions[i].params, compiled.labels(i, before))
                 for i, before in zip(moves, states)]
        trace = Trace(vars=compiled.names, states=tuple(compiled.state(x) for x in states), steps=tuple(taken))
        itf.write(compose.replayable(seed, trace.with_meta(property=prop)), folder / name)

    return make


def _random_log(name: str, steps: int) -> Setup:
    """A JSON Lines log of a random run of the seed of ``steps`` steps (its calls, as a client logs them)."""

    def make(folder: Path) -> None:
        import random

        from regcheck.core.compile import compile_system
        from regcheck.core.explore import random_run
        from regcheck.model.observations import log_of, to_jsonl
        from regcheck.model.scenario import load_builtin
        from regcheck.model.system import build

        seed = load_builtin("seed")
        trace = random_run(compile_system(build(seed)), random.Random(3), steps)
        (folder / name).write_text(to_jsonl(log_of(seed, trace)), encoding="utf-8")

    return make


def _switch(key: str, value: object) -> Callable[[dict[str, Any]], None]:
    """An edit of the scenario switches a trace records."""
    return lambda data: data["#meta"]["switches"].__setitem__(key, value)


def _truncate(data: dict[str, Any]) -> None:
    """The first two steps only: the property still holds."""
    data["states"] = data["states"][:3]


def _duplicate_var(data: dict[str, Any]) -> None:
    """The first variable named twice in ``vars``."""
    data["vars"].append(data["vars"][0])


def _label(data: dict[str, Any]) -> None:
    """A thread label that is a terminal link and a clear-screen."""
    data["states"][1]["#meta"]["labels"]["thread"] = "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\\x1b[2J"


def _tamper(data: dict[str, Any]) -> None:
    """A registration that the simulator evicts, kept in the trace."""
    data["states"][4]["reg[1]"] = "alice"


def _retype(data: dict[str, Any]) -> None:
    """A counter that is ``false`` where the simulator has 0 (equal in Python, another type in the model)."""
    for state in data["states"]:
        state["done[1]"] = False


# --------------------------------------------------------------------------------------------
# Checks beyond the exit code and the message


def _still_symlink(name: str) -> Check:
    """``name`` is still the symlink it was."""

    def check(folder: Path, out: str, err: str) -> None:
        assert (folder / name).is_symlink(), f"{name} was replaced"

    return check


def _still_fifo(name: str) -> Check:
    """``name`` is still the FIFO it was."""

    def check(folder: Path, out: str, err: str) -> None:
        assert stat.S_ISFIFO(os.lstat(folder / name).st_mode), f"{name} was replaced"

    return check


def _kept(path: str) -> Check:
    """The user's file ``path`` is as it was."""

    def check(folder: Path, out: str, err: str) -> None:
        assert (folder / path).read_text(encoding="utf-8") == "mine\n"

    return check


def _nothing_written(folder: Path, out: str, err: str) -> None:
    """The case's folder holds only the traces it started with."""
    assert sorted(p.name for p in folder.iterdir()) == [LASSO, SEED]


def _replaced(folder: Path, out: str, err: str) -> None:
    """The earlier report's stale chart and trace are gone, and the output says so."""
    for stale in ("charts/old.svg", "traces/old.itf.json"):
        assert not (folder / "r" / stale).exists(), f"{stale} was left beside the new report"
    assert "old" not in (folder / "r" / "report.md").read_text(encoding="utf-8")
    assert "removing the 2" in out


def _long_names(folder: Path, out: str, err: str) -> None:
    """A 255-character scenario name gives a trace and its charts under a shortened name, and the report cites it."""
    names = sorted(p.name for p in (folder / "out").iterdir())
    assert len(names) == 3 and all(len(n) < 255 and n.startswith("n" * 80 + "-") for n in names), names
    assert names[0] in (folder / "r.xml").read_text(encoding="utf-8")
    assert "Counterexample to worker-never-gets-network-error" in out


def _unknown_or_backstop(folder: Path, out: str, err: str) -> None:
    """The report says its verdicts are unknown or, where a loaded machine did not let it draw and write within
    the grace, the backstop's one line says so (exit 3): either way the command ended within T plus the grace."""
    assert "unknown" in out or "did not finish within --timeout 1 s and its 5 s grace" in err, (out, err)


def _in_stdout(word: str) -> Check:
    """``word`` is in the standard output."""

    def check(folder: Path, out: str, err: str) -> None:
        assert word in out, f"{word!r} not in the output"

    return check


def _no_why(folder: Path, out: str, err: str) -> None:
    """No cause is told from a trace that does not replay."""
    assert "Why:" not in out, "a cause told from a trace that does not replay"


def _inert_report(folder: Path, out: str, err: str) -> None:
    """The scenario's markup shows as text: escaped in the page, backslash-escaped in the Markdown."""
    page = (folder / "r" / "index.html").read_text(encoding="utf-8")
    markdown = (folder / "r" / "report.md").read_text(encoding="utf-8")
    assert "&lt;script&gt;" in page and "\\<script\\>" in markdown and "\\*x\\*" in markdown
    for text in (page, markdown):
        assert not re.search(r"(?<!\\)<(script|b>)", text) and "\x1b" not in text


# --------------------------------------------------------------------------------------------
# The cases


@dataclass(frozen=True)
class Case:
    """One hostile command line: what it needs, how it must end, what its stderr must say."""

    argv: tuple[str, ...]
    setup: tuple[Setup, ...] = ()
    code: int = 2
    word: str = ""
    check: Check | None = None
    closed_stdout: bool = False
    file_size: int | None = None
    """Bytes a file written may have (RLIMIT_FSIZE): a larger write fails, as on a full disk."""
    within: float | None = None
    """The command's --timeout: it must end within that plus the stated grace (``regcheck.deadline.GRACE_S``)."""
    or_code: int | None = None
    """Another exit code the case may end with: a verdict the time allowed on one run and not on another."""


ARTICLE = (Path(__file__).resolve().parent.parent / "examples" / "logs" / "article-customer.jsonl").read_text(
    encoding="utf-8")
"""The article's customer log: five events, explained (with a violation) by eviction on a mismatch."""
RPCHTTP = ("#Software: Microsoft Exchange\n#Log-type: RpcHttp Log\n#Fields: TimeStamp,ServerName,EventId,EventData\n"
           "t,EXMBX01,RpcHttp,S:Stage=EndRequest;S:RequestId=r1;S:HttpVerb=RPC_OUT_DATA;S:Status=200.0.;"
           "S:RpcHttpUserName=CONTOSO\\alice\n")
"""A one-request RpcHttp log of the server's own shape."""
WIDE_HEADER = ",".join(["x" * 10_000, *(f"c{i}" for i in range(100_000))]) + "\n1\n"

DESCRIPTION_HTML = 'name = "<b>n</b>"\ndescription = "<script>alert(1)</script> *x* [a](b) | c"\n'
ESCAPES = 'description = "\\u001b]8;;http://evil.example\\u001b\\\\click\\u001b]8;;\\u001b\\\\ \\u001b[31mred"\n'

CASES: dict[str, Case] = {
    # Reading: a device, a FIFO or a symlink to one is refused, never read without bound or waited on.
    "trace is a symlink to /dev/zero": Case(("show", "z.itf.json"), (_symlink("z.itf.json", "/dev/zero"),),
                                            word="regular file"),
    "trace is a FIFO": Case(("show", "f.itf.json"), (_fifo("f.itf.json"),), word="regular file"),
    "scenario is a symlink to /dev/zero": Case(("check", "z.toml"), (_symlink("z.toml", "/dev/zero"),),
                                               word="regular file"),
    "scenario is a FIFO": Case(("check", "f.toml"), (_fifo("f.toml"),), word="regular file"),
    "--scenario is a FIFO": Case(("show", SEED, "--scenario", "f.toml"), (_fifo("f.toml"),), word="regular file"),
    # Writing: only new paths or regular files are written over.
    "show -o onto a symlink to /dev/null": Case(("show", SEED, "-o", "null"), (_symlink("null", "/dev/null"),),
                                                word="symlink", check=_still_symlink("null")),
    "show -o onto a FIFO": Case(("show", SEED, "-o", "fifo"), (_fifo("fifo"),), word="FIFO",
                                check=_still_fifo("fifo")),
    "--trace-out onto a symlinked trace": Case(
        ("check", "-p", "worker-never-gets-network-error", *VIOLATED, "--trace-out", "out"),
        (_folder("out"), _symlink("out/seed.worker-never-gets-network-error.itf.json", "/dev/null")),
        word="symlink", check=_still_symlink("out/seed.worker-never-gets-network-error.itf.json"),
    ),
    "export -o its own scenario": Case(("export", "s.toml", "-o", "s.toml"), (_text("s.toml", "mine\n"),),
                                       word="is the scenario file", check=_kept("s.toml")),
    "show -o its own trace": Case(("show", "t.itf.json", "-o", "t.itf.json"), (_text("t.itf.json", "mine\n"),),
                                  word="is the trace", check=_kept("t.itf.json")),
    "--junit inside --trace-out": Case(
        ("check", "-p", "worker-never-gets-network-error", *VIOLATED, "--trace-out", "out", "--junit", "out/x.itf.json"),
        (_folder("out", "x.itf.json"),), word="inside the --trace-out folder", check=_kept("out/x.itf.json"),
    ),
    "a scenario name of 255 characters": Case(
        ("check", "long.toml", "-p", "worker-never-gets-network-error", *VIOLATED, "--trace-out", "out",
         "--junit", "r.xml"),
        (_text("long.toml", f'name = "{"n" * 255}"\n'),), code=1, check=_long_names,
    ),
    "--trace-out /dev/full": Case(
        ("check", "-p", "worker-never-gets-network-error", *VIOLATED, "--trace-out", "/dev/full"), word="not a folder"),
    "report --out a folder of other files": Case(
        ("report", "seed", "-p", "no-registration-mismatch", *BMC, "--out", "mine"),
        (_folder("mine", "notes.txt", "charts/old.svg"),), word="not an earlier regcheck report",
        check=_kept("mine/notes.txt"),
    ),
    "report --out a folder whose index.html is a symlink": Case(
        ("report", "seed", "-p", "no-registration-mismatch", *BMC, "--out", "mine"),
        (_folder("mine"), _symlink("mine/index.html", "/dev/null")), word="not an earlier regcheck report",
        check=_still_symlink("mine/index.html"),
    ),
    "report --out an earlier report": Case(("report", "seed", "-p", "no-registration-mismatch", *BMC, "--out", "r"),
                                           (_earlier_report,), code=0, check=_replaced),
    # Tracebacks
    "TOML nested 1000 deep": Case(("check", "deep.toml"), (_text("deep.toml", "x = " + "[" * 1000 + "]" * 1000),),
                                  word="nested"),
    "TOML integer of 5000 digits": Case(("check", "big.toml"), (_text("big.toml", f"workers = {HUGE}\n"),),
                                        word="digits"),
    "ITF integer of 5000 digits": Case(
        ("show", "big.itf.json"), (_raw_edited("big.itf.json", '"format": "ITF"', f'"n": {HUGE}, "format": "ITF"'),),
        word="digits"),
    "TOML huge hex value": Case(("check", "hex.toml"), (_text("hex.toml", f"connect_flags = {HUGE_HEX}\n"),),
                                word="connect_flags"),
    "--set huge hex value": Case(("check", "--set", f"connect_flags={HUGE_HEX}"), word="connect_flags"),
    "--timeout inf": Case(("check", "fix-run-as-user", "--timeout", "inf"), word="--timeout"),
    "--timeout 1e400": Case(("check", "fix-run-as-user", "--timeout", "1e400"), word="--timeout"),
    "--timeout 3e6": Case(("check", "fix-run-as-user", "--timeout", "3e6"), word="--timeout"),
    "report --timeout inf": Case(("report", "seed", "--timeout", "inf", "--out", "r"), word="--timeout",
                                 check=_nothing_written),
    "sweep --timeout 3e6": Case(("sweep", "--vary", "workers=1..2", "--timeout", "3e6"), word="--timeout"),
    "rich markup as a scenario name": Case(("check", "m.toml", "-p", "no-registration-mismatch", *BMC),
                                           (_text("m.toml", 'name = "[/x]"\n'),), code=0, check=_in_stdout("[/x]")),
    "rich markup in a description": Case(("check", "m.toml", "-p", "no-registration-mismatch", *BMC),
                                         (_text("m.toml", 'description = "[/x] [bold]y"\n'),), code=0,
                                         check=_in_stdout("[/x] [bold]y")),
    "show --explain on a lasso": Case(("show", "--explain", LASSO), word="liveness"),
    "show --explain on a truncated trace": Case(("show", "--explain", "cut.itf.json"),
                                                (_edited("cut.itf.json", _truncate),), word="replay"),
    "show --explain with another --scenario": Case(("show", "--explain", SEED, "--scenario", "fix-run-as-user"),
                                                   word="replay"),
    "show --explain with a scenario of other variables": Case(
        ("show", "--explain", SEED, "--scenario", "exchange-2010"), word="variables"),
    # Terminal and HTML injection
    "escape sequences in a description": Case(("check", "e.toml", "-p", "no-registration-mismatch", *BMC),
                                              (_text("e.toml", ESCAPES),), word="control characters"),
    "escape sequences in a trace's labels": Case(("show", "esc.itf.json"), (_edited("esc.itf.json", _label),),
                                                 word="control characters"),
    "escape sequences in a trace's file name": Case(("show", "\x1b[31mred.itf.json"), word="\\x1b[31mred"),
    "HTML and Markdown in a report": Case(("report", "h.toml", "-p", "no-registration-mismatch", *BMC, "--out", "r"),
                                          (_text("h.toml", DESCRIPTION_HTML),), code=0, check=_inert_report),
    # Bounded drawing
    "svg of a 99,999-step trace": Case(("show", "long.itf.json", "--format", "svg"),
                                       (_long_trace("long.itf.json", 99_999),), word="--format text"),
    "a 1 MB label in a 20,000-step trace": Case(("show", "wide.itf.json"),
                                                (_long_trace("wide.itf.json", 20_000, "x" * 1_000_000),),
                                                word="limit"),
    # Strictness
    "[expected] names an unknown property": Case(
        ("check", "x.toml", *BMC), (_text("x.toml", '[expected]\nno-such-property = "holds"\n'),),
        word="worker-never-gets-network-error"),
    "a trace's switches expect an unknown property": Case(
        ("show", "x.itf.json"), (_edited("x.itf.json", _switch("expected", {"no-such-property": "holds"})),),
        word="no-such-property"),
    "ITF vars named twice": Case(("show", "d.itf.json"), (_edited("d.itf.json", _duplicate_var),), word="twice"),
    "ITF NaN": Case(("show", "n.itf.json"),
                    (_raw_edited("n.itf.json", '"format": "ITF"', '"n": NaN, "format": "ITF"'),), word="NaN"),
    "ITF Infinity": Case(("show", "n.itf.json"),
                         (_raw_edited("n.itf.json", '"format": "ITF"', '"n": -Infinity, "format": "ITF"'),),
                         word="Infinity"),
    "show a tampered trace": Case(("show", "t.itf.json"), (_edited("t.itf.json", _tamper),), code=0,
                                  word="does not replay", check=_no_why),
    "show a trace with a boolean for a counter": Case(("show", "b.itf.json"), (_edited("b.itf.json", _retype),),
                                                      code=0, word="outside its domain", check=_no_why),
    "show with a workers=any scenario": Case(("show", SEED, "--set", "workers=any"), word="#meta.workers"),
    "show with another --scenario": Case(("show", SEED, "--scenario", "multi-user"), code=0,
                                         word="does not replay", check=_no_why),
    # Exit codes
    "stdout closed early (check)": Case(("check", "fix-run-as-user", *BMC), code=141, closed_stdout=True),
    "stdout closed early (show)": Case(("show", SEED), code=141, closed_stdout=True),
    "empty scenario name": Case(("check", "", *BMC), word="empty"),
    "empty --trace-out": Case(("check", "-p", "worker-never-gets-network-error", *VIOLATED, "--trace-out", ""),
                              word="empty", check=_nothing_written),
    "empty -o": Case(("show", SEED, "-o", ""), word="empty"),
    # Messages that mislead
    "sweep over 100,000 workers": Case(("sweep", "--vary", "workers=1..100000"), word="at most 10000"),
    "a 5 KB number": Case(("check", "--set", f"workers={HUGE}"), word="(5002 characters)"),
    "a 5 KB --depth": Case(("check", "--depth", HUGE), word="characters"),
    "a 60 KB string in a scenario": Case(("check", "s.toml"), (_text("s.toml", f'transport = "{"x" * 60_000}"\n'),),
                                         word="(60002 characters)"),
    "a 1 MB string in a trace's switches": Case(("show", "s.itf.json"),
                                                (_edited("s.itf.json", _switch("transport", "y" * 1_000_000)),),
                                                word="(1000002 characters)"),
    # The design checked is the design named: an override takes effect as it says, or is refused.
    "--set workers=any over workers that differ": Case(("check", "mixed-threads", "--set", "workers=any"),
                                                       word="needs identical workers"),
    "--vary workers over workers that differ": Case(
        ("sweep", "mixed-threads", "--vary", "workers=2,3", "-p", "worker-never-gets-network-error"),
        word="would reshape worker_impersonates"),
    "--set impersonate under worker_impersonates": Case(("check", "mixed-threads", "--set", "impersonate=false"),
                                                        word="--set worker_impersonates=false,false"),
    "--set jobs under a worker's list of jobs": Case(("check", "mailbox-walker", "--set", "jobs=3"),
                                                     word="has no effect on worker 1"),
    "--set a switch twice": Case(("check", "--set", "workers=2", "--set", "workers=3"), word="given twice"),
    "--set workers in Arabic-Indic digits": Case(("check", "--set", "workers=\u0661\u0662"), word="ASCII digits"),
    "--set an account twice in mailbox_access": Case(("check", "--set", "mailbox_access=svc:alice,svc:bob"),
                                                     word="'svc' is given twice"),
    "a file named seed beside a bare seed": Case(("check", "seed", *VIOLATED),
                                                 (_text("seed", 'impersonate = false\nprocess_identity = "alice"\n'),),
                                                 code=1, check=lambda folder, out, err: _says(out, "seed (built-in)")),
    "a bare name that is a file, not a built-in": Case(("check", "mine"), (_text("mine", "workers = 2\n"),),
                                                      word="say ./mine"),
    "a scenario with a byte-order mark": Case(("check", "b.toml", *BMC), (_text("b.toml", "\ufeffworkers = 2\n"),),
                                              code=0, check=lambda folder, out, err: _says(out, "scenario b (file")),
    "a string where a number belongs": Case(("check", "s.toml"), (_text("s.toml", 'workers = "3"\n'),),
                                            word="line 1: workers: expected a whole number"),
    "a misspelt switch in a scenario": Case(("check", "s.toml"), (_text("s.toml", 'requests = 1\ntransprot = "x"\n'),),
                                            word="did you mean 'transport'?"),
    # Messages a person can act on: values cut, invisible and lookalike characters made visible
    "a CSV header of 100,000 columns": Case(("diagnose", "wide.csv", "--columns", "call=Operation"),
                                            (_text("wide.csv", WIDE_HEADER),), word="'c10' and 99989 more"),
    "CSV columns call,Call": Case(("diagnose", "dup.csv"), (_text("dup.csv", "call,Call\nConnect,x\n"),),
                                  word="the columns 'call' and 'Call' have one name"),
    # Exchange's logs: streamed, each line and row checked against its #Fields: line
    "an Exchange log with a NUL byte": Case(("diagnose", "R.LOG"), (_bytes("R.LOG", RPCHTTP.encode() + b"\x00\xff\n"),),
                                            word="line 5: a NUL byte"),
    "an Exchange log line of 100,000 bytes": Case(("diagnose", "R.LOG"), (_text("R.LOG", RPCHTTP + "x" * 100_000),),
                                                  word="line 5: longer than 65,536 bytes"),
    "an RpcHttp log with the wrong #Fields:": Case(
        ("diagnose", "R.LOG"), (_text("R.LOG", RPCHTTP.replace("EventId,EventData", "Event,Data")),),
        word="the #Fields: line has no column 'EventId'"),
    "an Exchange log row with too many columns": Case(("diagnose", "R.LOG"), (_text("R.LOG", RPCHTTP + "a,b,c,d,e\n"),),
                                                      word="line 5: 5 values, but #Fields: names 4 columns"),
    "a byte-order mark inside an Exchange log": Case(("diagnose", "R.LOG"), (_text("R.LOG", RPCHTTP + "\ufeff" + RPCHTTP),),
                                                     word="line 5: a byte-order mark inside the file"),
    "an unterminated quote in an Exchange log": Case(("diagnose", "R.LOG"), (_text("R.LOG", RPCHTTP + 't,"EXMBX01\n'),),
                                                     word="line 5: a quote that never closes"),
    "a folder of logs holding a symlink": Case(("diagnose", "logs"), (_logs("logs", lambda d: (d / "z.LOG").symlink_to(
        "/dev/zero")),), word="'z.LOG' is a symlink"),
    "a folder of logs holding a FIFO": Case(("diagnose", "logs"), (_logs("logs", lambda d: os.mkfifo(d / "f.LOG")),),
                                            word="'f.LOG' is not a regular file"),
    # Several logs as one observation: each named once, each read as it would be alone, times strict.
    "one log named twice": Case(("diagnose", "log.jsonl", "./log.jsonl"), (_text("log.jsonl", ARTICLE),),
                                word="log.jsonl and log.jsonl name the same log"),
    "a folder and a log in it": Case(("diagnose", "logs", "logs/RpcHttp_1.LOG"), (_logs("logs", lambda d: None),),
                                     word="log logs/RpcHttp_1.LOG is inside the folder logs"),
    "a FIFO beside a log": Case(("diagnose", "log.jsonl", "f.jsonl"),
                                (_text("log.jsonl", ARTICLE), lambda folder: os.mkfifo(folder / "f.jsonl")),
                                word="f.jsonl"),
    "an RpcHttp log whose times are no times, beside a log": Case(
        ("diagnose", "log.jsonl", "R.LOG"), (_text("log.jsonl", ARTICLE), _text("R.LOG", RPCHTTP)),
        word="R.LOG, line 4: time 't' is not an ISO 8601 time"),
    "a --skew of nan": Case(("diagnose", "log.jsonl", "R.LOG", "--skew", "nan"),
                            (_text("log.jsonl", ARTICLE), _text("R.LOG", RPCHTTP)), word="--skew must be a number"),
    "a null JSONL line": Case(("diagnose", "n.jsonl"), (_text("n.jsonl", ARTICLE + "null\n"),),
                              word="line 6: expected a JSON object, got null"),
    "an ESC byte in --vary": Case(("diagnose", "log.jsonl", "--vary", "connect_flags=0,\x1b[31m"),
                                  (_text("log.jsonl", ARTICLE),), word="'\\x1b[31m' is not a whole number"),
    "a Cyrillic letter in an identity": Case(
        ("diagnose", "log.jsonl", "--vary", "on_mismatch"), (_text("log.jsonl", ARTICLE.replace("alice", "\u0430lice")),),
        code=1, word="'CONTOSO\\\\аlice' mixes scripts (Latin, Cyrillic): 'а' is U+0430 CYRILLIC SMALL LETTER A"),
    "a zero-width space in a thread name": Case(
        ("diagnose", "log.jsonl", "--vary", "on_mismatch"), (_text("log.jsonl", ARTICLE.replace("4412", "4412\u200b")),),
        code=1, word="'4412\\u200b' holds invisible characters"),
    "a newline in a trace's file name": Case(("replay", "a\nerror: forged.itf.json"),
                                             (_copy(SEED, "a\nerror: forged.itf.json"),), code=0,
                                             check=_in_stdout("a\\nerror: forged.itf.json: conforms")),
    "a built-in name with a Cyrillic letter": Case(("check", "\u0455eed"),
                                                   word="'ѕeed' (its letters mix scripts: Cyrillic, Latin)"),
    "a write that fails": Case(("show", SEED, "--format", "svg", "-o", "out.svg"), file_size=4096,
                               word="error: cannot write out.svg: File too large", check=_nothing_written),
    "a user name with a trailing newline": Case(("check", "nl.toml"), (_text("nl.toml", 'users = ["alice\\n"]\n'),),
                                                word="'alice\\n' is not a valid user name"),
    "an unknown property": Case(("check", "-p", "no-registration-mismatc"),
                                word="did you mean 'no-registration-mismatch'?"),
    "an unknown engine": Case(("check", "--engine", "pdrr"), word="did you mean 'pdr'?"),
    "an unknown --format": Case(("show", SEED, "--format", "svgg"), word="did you mean 'svg'?"),
    "an ESC byte as a --format": Case(("show", SEED, "--format", "\x1b[2J"), word="'\\x1b[2J' is not one of"),
    # Limits that hold: --timeout T bounds the whole command (T + the grace), whatever would run long in it.
    # (session-cache violates registration-in-use-never-evicted in 5 steps: found within the time, it is exit 1.)
    "check --timeout 1 on 16 workers": Case(("check", "session-cache", "--set", "workers=16", "--timeout", "1"),
                                            code=3, or_code=1, within=1, check=_in_stdout("timeout")),
    "check workers=any --timeout 2": Case(("check", "session-cache", "--set", "workers=any", "--timeout", "2"),
                                          code=3, or_code=1, within=2, check=_in_stdout("timeout")),
    "--counterexamples 20 --explain --timeout 2": Case(
        ("check", "multi-user", "--counterexamples", "20", "--explain", "--depth", "60", "--timeout", "2"),
        code=1, or_code=3, within=2, check=_in_stdout("timeout")),
    "diagnose a 129-event log --timeout 1": Case(("diagnose", "log.jsonl", "--timeout", "1"),
                                                 (_random_log("log.jsonl", 129),), code=3, or_code=1, within=1,
                                                 check=_in_stdout("timeout")),
    "show --explain of 20,000 steps --timeout 1": Case(("show", "--explain", "long.itf.json", "--timeout", "1"),
                                                       (_walk_to_violation("long.itf.json", 20_000),), code=3,
                                                       within=1, word="timeout"),
    "sweep --timeout 1 over 96 configurations": Case(("sweep", "--timeout", "1"), code=3, within=1,
                                                     check=_in_stdout("unknown")),
    "report --timeout 1 over every built-in scenario": Case(("report", "--timeout", "1", "--out", "r"), code=0,
                                                            within=1, check=_unknown_or_backstop, or_code=3),
    "sweep --jobs beyond the cores": Case(("sweep", "--jobs", "1000", "--vary", "workers=1..2"), word="cores"),
    "report --jobs beyond the cores": Case(("report", "seed", "--jobs", "1000", "--out", "r"), word="cores",
                                           check=_nothing_written),
    "sweep over 2,000 ranges of connect_flags": Case(
        ("sweep", "--vary", "connect_flags=" + ",".join(f"{i * 10_000}..{i * 10_000 + 9_999}" for i in range(2_000))),
        word="at most 10000"),
    "sweep --one-at-a-time over 19,998 values": Case(
        ("sweep", "--one-at-a-time", "--vary", "connect_flags=0..9998,10000..19998"), word="10000"),
}


def _says(text: str, words: str) -> None:
    """Standard output says ``words``."""
    assert words in text, text[:500]


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed's shortest counterexample and a liveness lasso of it, as ``check --trace-out`` writes them."""
    folder = tmp_path_factory.mktemp("traces")
    for engine, prop, name in (("bmc", "worker-never-gets-network-error", SEED),
                               ("explicit", "worker-requests-succeed", LASSO)):
        done = _cli(folder, ("check", "--engine", engine, "-p", prop, "--depth", "6", "--trace-out", "out"))
        assert done.returncode == 1, done.stderr
        (folder / "out" / f"seed.{prop}.itf.json").rename(folder / name)
    shutil.rmtree(folder / "out")
    return folder


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_hostile_input(case: Case, traces: Path, tmp_path: Path) -> None:
    for name in (SEED, LASSO):
        shutil.copy(traces / name, tmp_path / name)
    for make in case.setup:
        make(tmp_path)
    if case.closed_stdout:
        read, write = os.pipe()
        os.close(read)
        try:
            done = _cli(tmp_path, case.argv, stdout=write)
        finally:
            os.close(write)
        out = ""
    else:
        start = time.monotonic()
        done = _cli(tmp_path, case.argv, file_size=case.file_size)
        elapsed = time.monotonic() - start
        out = done.stdout.decode("utf-8", "replace")
        if case.within is not None:
            assert elapsed <= case.within + GRACE_S, f"{elapsed:.1f} s for --timeout {case.within:g}"
    err = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in out + err, err[-2000:]
    assert done.returncode in (case.code, case.or_code), err[-2000:]
    assert "\x1b" not in out + err, "an escape sequence reached the terminal"
    if case.code == 2:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), err[-2000:]
        assert len(lines[0]) <= MAX_ERROR, f"an error line of {len(lines[0])} characters"
    assert case.word in err, f"{case.word!r} not in {err[-2000:]!r}"
    if case.closed_stdout:
        assert err == ""
    if case.check is not None:
        case.check(tmp_path, out, err)


# --------------------------------------------------------------------------------------------
# SIGTERM: our own line and exit code, no child left behind, no warning of Python's

MANY_EVENTS = "".join(
    json.dumps({"thread": f"T{i % 5}", "as": "CONTOSO\\alice", "call": "EcDoRpcExt2", "result": "ok"}) + "\n"
    for i in range(60)
)
BUSY: dict[str, tuple[str, ...]] = {
    "sweep": ("sweep", "thread-pool", "--vary", "workers=2..5", "--vary", "transport", "--vary", "on_mismatch"),
    "report": ("report", "--out", "r"),
    "diagnose": ("diagnose", "many.jsonl"),
}
"""Commands that run for many seconds, on a pool of processes."""


def _handles_sigterm(pid: int) -> bool:
    """Whether process ``pid`` has a handler of its own for SIGTERM (Linux: the SigCgt mask in /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return False
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) & (1 << (15 - 1)))


def _session(sid: int) -> list[int]:
    """The processes left running in session ``sid`` (a zombie, dead and not yet reaped, is not one)."""
    left = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.getsid(int(entry.name)) == sid:
                state = (entry / "stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    left.append(int(entry.name))
        except OSError:
            continue
    return left


@pytest.mark.parametrize("command", list(BUSY))
def test_sigterm_ends_a_command_with_its_own_line(command: str, tmp_path: Path) -> None:
    (tmp_path / "many.jsonl").write_text(MANY_EVENTS, encoding="utf-8")
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    process = subprocess.Popen([*_command(), *BUSY[command], "--timeout", "60"], cwd=tmp_path, env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True, preexec_fn=_limit)
    try:
        for _ in range(200):  # until regcheck's handler is in place, then a moment of work
            if _handles_sigterm(process.pid) or process.poll() is not None:
                break
            time.sleep(0.05)
        time.sleep(1.5)
        assert process.poll() is None, "the command ended before SIGTERM"
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130
    assert err.decode("utf-8", "replace") == "interrupted by SIGTERM\n"
    for _ in range(100):  # every child stopped with it
        if not _session(process.pid):
            break
        time.sleep(0.05)
    assert _session(process.pid) == []
