"""Tables in a narrow terminal break lines between words, never inside one: every word printed at 60, 80
or 100 columns is a word of the same output printed without a width limit (``show``: of its plain text)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from regcheck.cli import console, main
from regcheck.cli.show import step_word_table
from regcheck.cli.tables import WordTable
from regcheck.formats import itf
from regcheck.render import text
from tests.clirun import run

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = [
    ("check", "seed", "--engine", "bmc", "--depth", "8"),
    ("scenarios",),
    ("properties",),
]
SEPARATORS = re.compile(r"[\s│┃╇━─┼┡┩]+")
TIME = re.compile(r"\d+\.\d\ds")
"""A check's time: it differs from run to run."""


def _words(text: str) -> set[str]:
    """The words of printed text, without the tables' rules and the colon a record adds to a heading."""
    return {word.rstrip(":") for word in SEPARATORS.split(text) if word and not TIME.fullmatch(word)}


def _printed(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, width: int,
             argv: tuple[str, ...]) -> str:
    monkeypatch.setattr(console.out, "_width", width)  # undone to what it was (None: measured), not to a width
    _, out, err = run(capsys, *argv)
    assert "Traceback" not in err
    return out


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda argv: " ".join(argv[:2]))
def test_no_word_is_split_at_60_80_or_100_columns(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...]
) -> None:
    whole = _words(_printed(capsys, monkeypatch, 100_000, argv))
    for width in (60, 80, 100):
        printed = _printed(capsys, monkeypatch, width, argv)
        split = _words(printed) - whole
        assert not split, f"at {width} columns these are pieces of words: {sorted(split)[:10]}"
        assert all(len(line) <= width for line in printed.splitlines() if not line.startswith("Proved")), width


def test_a_story_keeps_its_protocol_words_whole_in_a_table_or_as_records() -> None:
    table = WordTable(show_edge=False, pad_edge=False)
    for column in ("step", "thread", "call", "result"):
        table.add_column(column, overflow="fold")
    table.add_row("4", "notifier 1", "ImpersonateLoggedOnUser", "MAPI_E_NETWORK_ERROR (0x80040115)")
    for width, records in ((80, False), (64, False), (63, True)):
        out = StringIO()
        Console(file=out, width=width, color_system=None).print(table)
        text = out.getvalue()
        assert "ImpersonateLoggedOnUser" in text and "MAPI_E_NETWORK_ERROR" in text, text
        assert ("  call: ImpersonateLoggedOnUser" in text) is records, text


def test_show_on_a_terminal_keeps_every_word_of_its_step_table_whole(tmp_path: Path) -> None:
    assert main(["check", "seed", "--engine", "bmc", "--depth", "8", "-p", "worker-never-gets-network-error",
                 "--trace-out", str(tmp_path)]) == 1
    trace = itf.read(tmp_path / "seed.worker-never-gets-network-error.itf.json")
    whole = _words(text.step_table(trace))
    for width in (60, 80, 100, 160):
        out = StringIO()
        Console(file=out, width=width, color_system=None).print(step_word_table(trace, None))
        printed = out.getvalue()
        assert not _words(printed) - whole, f"at {width} columns: {sorted(_words(printed) - whole)[:10]}"
        assert max(len(line) for line in printed.splitlines()) <= width
        assert "ImpersonateLoggedOnUser" in printed and "EcDoAsyncConnectEx(session=1)" in printed


@pytest.mark.parametrize(("columns", "widest"), [("60", 60), ("0", 140), ("\u00b2", 140)])
def test_piped_output_is_columns_wide_when_that_is_a_usable_width(columns: str, widest: int) -> None:
    env = {**os.environ, "COLUMNS": columns, "LINES": "\u00b2", "NO_COLOR": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))}
    done = subprocess.run([sys.executable, "-m", "regcheck.cli", "properties"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and not done.stderr, done.stderr[-2000:]
    assert max(len(line) for line in done.stdout.splitlines()) == widest
