"""Run `regcheck check ... --json` as a fresh process, as a user does, and time it end to end."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from regcheck.core.system import Kind
from regcheck.properties.catalogue import CATALOGUE

SAFETY = [p.name for p in CATALOGUE if p.kind is Kind.SAFETY]


def check(*arguments: str) -> tuple[float, list[dict[str, Any]]]:
    """Seconds end to end and the JSON results of ``regcheck check <arguments> --json``."""
    command = [sys.executable, "-m", "regcheck.cli", "check", *arguments, "--json"]
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if completed.returncode not in (0, 1, 3):
        raise SystemExit(f"{' '.join(command)} failed:\n{completed.stderr}")
    return elapsed, json.loads(completed.stdout)["results"]


def properties(names: list[str]) -> list[str]:
    """``--property NAME`` for each name."""
    return [argument for name in names for argument in ("--property", name)]
