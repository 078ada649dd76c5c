"""Run the CLI in-process for tests: exit code and output with terminal styling removed."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from regcheck.cli import main

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, ANSI.sub("", captured.out), ANSI.sub("", captured.err)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run(capsys, *argv, "--json")
    assert "Traceback" not in out + err
    return code, json.loads(out)


def flat(text: str) -> str:
    """The text with every run of whitespace made one space, so wrapping does not matter."""
    return " ".join(text.split())
