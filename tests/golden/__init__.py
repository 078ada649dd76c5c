"""Golden files: the exact output of the ``regcheck`` command, frozen and compared.

``tests/golden/`` holds, for every built-in scenario S, what ``regcheck check S --engine bmc
--depth 8`` prints as text (``check-S.txt``) and with ``--json`` (``check-S.json``), and what
``regcheck show`` prints for a safety counterexample and a liveness lasso that ``check
--trace-out`` wrote (``show-*.txt``). BMC to a fixed depth gives the same counterexamples on every
run; each command runs in a fresh interpreter (z3's choices depend on its history in a process),
with a clean environment, and its output is normalised (:func:`normalise_text`,
:func:`normalise_json`): run times, and the regcheck, z3 and Python versions, are replaced by
placeholders. A text file starts with the command (``$ regcheck ...``) and ends with its exit code.

``tests/test_golden.py`` compares; after a deliberate change of output, regenerate every file with

    python -m tests.golden --update

and review the diff (``git diff tests/golden``) before committing it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regcheck.model.scenario import builtin_names

GOLDEN = Path(__file__).resolve().parent
REPO = GOLDEN.parents[1]
DEPTH = 8
CHECK = ("--engine", "bmc", "--depth", str(DEPTH))
TRACES = {
    "safety": ("seed", "worker-never-gets-network-error"),
    "liveness": ("seed", "notifications-delivered"),
}
"""The traces ``show`` is frozen for: a safety counterexample and a liveness lasso, as (scenario, property)."""

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
VERSION_LINE = re.compile(r"^regcheck \S+: ")
TIME_CELL = re.compile(r"│ \d+\.\d\ds$")
TIME_RULE = re.compile(r"╇━+$")
PLACEHOLDER_TIME = "<time>"
PLACEHOLDER_VERSION = "<version>"
SCRUBBED = ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "JUPYTER_COLUMNS", "CLICOLOR_FORCE")


@dataclass(frozen=True)
class Case:
    """One frozen command: its arguments after ``regcheck``, and the golden file it is compared with."""

    file: str
    argv: tuple[str, ...]
    in_traces: bool = False
    """Run in the folder of the traces ``check --trace-out`` wrote (``show`` names them relatively)."""

    @property
    def json(self) -> bool:
        return self.file.endswith(".json")

    @property
    def path(self) -> Path:
        return GOLDEN / self.file


def cases() -> list[Case]:
    """Every golden case, in a fixed order."""
    found = []
    for name in builtin_names():
        found.append(Case(f"check-{name}.txt", ("check", name, *CHECK)))
        found.append(Case(f"check-{name}.json", ("check", name, *CHECK, "--json")))
    for scenario, prop in TRACES.values():
        found.append(Case(f"show-{scenario}.{prop}.txt", ("show", f"{scenario}.{prop}.itf.json"), in_traces=True))
    return found


def environment() -> dict[str, str]:
    """The environment of every run: this one, without what changes rich's width or colours."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env["NO_COLOR"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    return env


def regcheck(argv: tuple[str, ...], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``regcheck ARGV`` in a fresh interpreter, in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "regcheck.cli", *argv], cwd=cwd, env=environment(), capture_output=True,
        text=True, timeout=600, check=False,
    )


def write_traces(folder: Path) -> None:
    """The traces the ``show`` cases read, as ``check --trace-out`` writes them."""
    for scenario in sorted({s for s, _ in TRACES.values()}):
        chosen = [p for s, p in TRACES.values() if s == scenario]
        argv = ["check", scenario, *CHECK, "--trace-out", str(folder)]
        for prop in chosen:
            argv += ["--property", prop]
        done = regcheck(tuple(argv), REPO)
        if done.returncode not in (0, 1) or done.stderr:
            raise RuntimeError(f"regcheck {' '.join(argv)} failed ({done.returncode}): {done.stderr}")


def normalise_text(text: str) -> str:
    """Output without terminal styling, run times, versions or trailing blanks.

    The verdict table's last column holds each property's time; its rule is cut to one width, so
    that a slow run (10 s and more) does not widen it.
    """
    lines = []
    for line in ANSI.sub("", text).splitlines():
        line = VERSION_LINE.sub(f"regcheck {PLACEHOLDER_VERSION}: ", line)
        line = TIME_CELL.sub(f"│ {PLACEHOLDER_TIME}", line.rstrip())
        if lines and lines[-1].endswith("┃ time"):
            line = TIME_RULE.sub("╇" + "━" * (len(PLACEHOLDER_TIME) + 1), line)
        lines.append(line)
    return "\n".join(lines) + "\n"


def normalise_json(text: str) -> str:
    """A ``--json`` document with every ``time_s`` zero and the tool, z3 and Python versions as placeholders."""
    document = json.loads(text)
    document["tool"]["version"] = PLACEHOLDER_VERSION
    document["z3"] = PLACEHOLDER_VERSION
    document["python"] = PLACEHOLDER_VERSION
    return json.dumps(_untimed(document), indent=1) + "\n"


def _untimed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (0 if k == "time_s" else _untimed(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def render(case: Case, traces: Path) -> str:
    """What ``case`` prints now, normalised, as its golden file holds it."""
    done = regcheck(case.argv, traces if case.in_traces else REPO)
    if case.json:
        if done.stderr:
            raise AssertionError(f"regcheck {' '.join(case.argv)} wrote to stderr: {done.stderr}")
        return normalise_json(done.stdout)
    text = f"$ regcheck {' '.join(case.argv)}\n" + normalise_text(done.stdout)
    if done.stderr:
        text += "--- stderr\n" + normalise_text(done.stderr)
    return text + f"--- exit {done.returncode}\n"


def main(argv: list[str]) -> int:
    """``python -m tests.golden [--update]``: compare every case (exit 1 on a difference), or rewrite them."""
    update = "--update" in argv
    unknown = [a for a in argv if a != "--update"]
    if unknown:
        print(f"usage: python -m tests.golden [--update]; unknown: {' '.join(unknown)}", file=sys.stderr)
        return 2
    differ = 0
    with tempfile.TemporaryDirectory(prefix="regcheck-golden-") as folder:
        traces = Path(folder)
        write_traces(traces)
        for case in cases():
            actual = render(case, traces)
            expected = case.path.read_text() if case.path.exists() else None
            if actual == expected:
                print(f"same     {case.file}")
            elif update:
                case.path.write_text(actual)
                print(f"{'new' if expected is None else 'updated':8} {case.file}")
            else:
                differ += 1
                print(f"DIFFERS  {case.file}")
    if update:
        known = {case.file for case in cases()}
        for stale in sorted(GOLDEN.glob("*.txt")) + sorted(GOLDEN.glob("*.json")):
            if stale.name not in known:
                stale.unlink()
                print(f"removed  {stale.name}")
    if differ:
        print(f"{differ} golden file(s) differ; regenerate with: python -m tests.golden --update", file=sys.stderr)
    return 1 if differ else 0
