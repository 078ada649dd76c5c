"""The habits that keep the house in order, checked with the tests: mypy in strict mode over
the package (with the z3 stub in ``stubs/``), and ruff with the project's rule set."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_mypy_strict_is_clean() -> None:
    done = _run("mypy", "--no-incremental")  # files, strictness and the stub path come from pyproject.toml
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found" in done.stdout


def test_ruff_is_clean() -> None:
    done = _run("ruff", "check", "regcheck", "tests", "benchmarks")
    assert done.returncode == 0, done.stdout + done.stderr
