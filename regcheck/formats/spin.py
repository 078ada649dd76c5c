"""Run SPIN on a :class:`regcheck.formats.promela.PromelaModel`: the whole pipeline, one verdict per property.

For the peer benchmark and the test that SPIN's verdicts equal regcheck's. The pipeline, in a
folder of its own (``spin`` and ``gcc`` must be on ``PATH``; :func:`missing` says what is not):

1. ``spin -a model.pml``, then two compiles of ``pan.c``: ``-DSAFETY -DNOCLAIM`` for the asserts,
   and ``-DNOREDUCE -DNFAIR=K`` for the ``ltl`` blocks under weak fairness. Partial order
   reduction is off there: every step of these models reads and writes shared variables, so it
   would reduce nothing, and its combination with SPIN's on-the-fly LTL search is known to be
   unsound for some claims (Siegel, "What's Wrong with On-the-Fly Partial Order Reduction", CAV 2019).
2. Safety: ``./pan -E``. A violation stops the search; ``spin -t`` replays its trail and names the
   line of the failed ``assert``, hence the property. That assert is then made a ``skip``
   (:meth:`~regcheck.formats.promela.PromelaModel.unchecked`; a new ``spin -a`` and compile) and the
   search runs again, until a search ends with no error: every property still asserted holds.
   So every violated property is found, even one whose only violations lie beyond another's.
3. Liveness: ``./pan -a -f -E -A -N p_NAME`` per property (``-A``: the asserts are the safety
   run's business).

A search cut short (its depth limit ``-m``, the memory limit ``-DMEMLIM``, the time limit) that
found no error gives ``unknown``. Nothing here asserts anything about time.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from regcheck.formats.promela import PromelaModel

TOOLS = ("spin", "gcc")
HOLDS, VIOLATED, UNKNOWN = "holds", "violated", "unknown"

_ERRORS = re.compile(r"errors: (\d+)")
_STORED = re.compile(r"([0-9.e+]+) states, stored")
_FAILED_LINE = re.compile(r"model\.pml:(\d+), Error: assertion violated")
_CUT = ("max search depth too small", "out of memory", "reached -DMEMLIM bound", "Search not completed", "Interrupted")
TOOL_TIMEOUT_S = 900.0
"""Seconds ``spin -a``, ``spin -t`` or gcc may take (gcc takes seconds on the largest model here)."""
_WRAPUP_S = 30.0
"""Seconds an interrupted pan may take to print what it found."""


@dataclass(frozen=True)
class Limits:
    """What each SPIN search may use: ``-m`` depth, ``-DMEMLIM`` megabytes, ``-w`` hash bits, seconds."""

    depth: int = 1_000_000
    memory_mb: int = 4096
    hash_bits: int = 24
    timeout: float = 600.0
    collapse: bool = False  # -DCOLLAPSE: lossless state compression, for more states in the same memory


@dataclass(frozen=True)
class Search:
    """One run of ``pan``: what it checked, its errors (None if it did not finish), states stored, seconds."""

    what: str
    errors: int | None
    states: int | None
    seconds: float
    cut: bool
    output: str = field(repr=False)


@dataclass(frozen=True)
class Outcome:
    """SPIN's verdict on every property, every search it took, and the seconds of the whole pipeline."""

    verdicts: dict[str, str]
    searches: tuple[Search, ...]
    seconds: float

    def states(self, kind: str) -> int | None:
        """The most states one search of ``kind`` stored ("safety": the assert runs; "liveness": the ltl runs)."""
        found = [s.states for s in self._of(kind) if s.states]
        return max(found) if found else None

    def states_text(self, kind: str) -> str:
        """:meth:`states` in words: ``-`` for none, ``>N`` when the largest search was cut short."""
        most = self.states(kind)
        if most is None:
            return "-"
        cut = any((s.cut and s.errors == 0) or s.errors is None for s in self._of(kind) if s.states == most)
        return f">{most}" if cut else str(most)

    def _of(self, kind: str) -> list[Search]:
        return [s for s in self.searches if (s.what == "safety") == (kind == "safety")]


class SpinError(RuntimeError):
    """SPIN, gcc or pan failed in a way that is no verdict (a syntax error, a compile error, a bad flag)."""


def missing() -> list[str]:
    """The tools of the pipeline that are not on ``PATH``."""
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def check(model: PromelaModel, folder: Path, limits: Limits | None = None, *,
          skip: Collection[str] = ()) -> Outcome:
    """Run the pipeline on ``model`` in ``folder`` (created; its files are overwritten).

    ``skip``: properties to leave ``unknown`` unsearched (a benchmark's search that a smaller
    instance already could not finish).
    """
    limits = limits or Limits()
    absent = missing()
    if absent:
        raise SpinError(f"{' and '.join(absent)} not found: install SPIN (Debian: apt-get install spin) and gcc")
    start = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    runner = _Runner(folder, limits, vector=1024 + 16 * (len(model.processes) + model.variables))
    order = [c.property for c in model.safety] + [c.property for c in model.liveness]
    verdicts = {name: UNKNOWN for name in order if name in skip}
    searches: list[Search] = []
    unchecked = [c.property for c in model.safety if c.property in verdicts]
    liveness = [live for live in model.liveness if live.property not in verdicts]
    runner.generate(model.unchecked(unchecked))
    if liveness:
        runner.compile("pan_live", ["-DNOREDUCE", f"-DNFAIR={model.nfair}"])
    if len(unchecked) < len(model.safety):
        runner.compile("pan_safety", ["-DSAFETY", "-DNOCLAIM"])
        while True:
            search = runner.search("safety", "pan_safety", ["-E"])
            searches.append(search)
            if search.errors is None or search.errors == 0:
                final = HOLDS if search.errors == 0 and not search.cut else UNKNOWN
                for asserted in model.safety:
                    verdicts.setdefault(asserted.property, final)
                break
            name = model.failed_assertion(runner.failed_line())
            if name is None or name in verdicts:
                raise SpinError(f"cannot tell which assert failed:\n{search.output}")
            verdicts[name] = VIOLATED
            unchecked.append(name)
            if len(unchecked) == len(model.safety):
                break
            runner.generate(model.unchecked(unchecked))
            runner.compile("pan_safety", ["-DSAFETY", "-DNOCLAIM"])
    for live in liveness:
        search = runner.search(live.ltl, "pan_live", ["-a", "-f", "-E", "-A", "-N", live.ltl])
        searches.append(search)
        if search.errors and "acceptance cycle" in search.output:
            verdicts[live.property] = VIOLATED
        elif search.errors == 0 and not search.cut:
            verdicts[live.property] = HOLDS
        else:
            verdicts[live.property] = UNKNOWN
    return Outcome({name: verdicts[name] for name in order}, tuple(searches), time.perf_counter() - start)


class _Runner:
    def __init__(self, folder: Path, limits: Limits, *, vector: int) -> None:
        self.folder = folder
        self.limits = limits
        self.vector = vector

    def run(self, command: Sequence[str]) -> subprocess.CompletedProcess[str]:
        """``spin`` or ``gcc``: not searches, so not under the search's time limit."""
        try:
            done = subprocess.run(
                list(command), cwd=self.folder, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise SpinError(f"{' '.join(command)}: no answer in {exc.timeout} s") from None
        return done

    def generate(self, text: str) -> None:
        """``spin -a`` on ``text`` (written as model.pml)."""
        (self.folder / "model.pml").write_text(text)
        done = self.run(["spin", "-a", "model.pml"])
        if done.returncode != 0 or not (self.folder / "pan.c").exists():
            raise SpinError(f"spin -a failed:\n{done.stdout}{done.stderr}")

    def compile(self, binary: str, flags: Sequence[str]) -> None:
        limits = self.limits
        extra = [f"-DMEMLIM={limits.memory_mb}", f"-DVECTORSZ={self.vector}", *(["-DCOLLAPSE"] if limits.collapse else [])]
        done = self.run(["gcc", "-O2", *extra, *flags, "-o", binary, "pan.c"])
        if done.returncode != 0:
            raise SpinError(f"gcc {binary} failed:\n{done.stderr[-2000:]}")

    def search(self, what: str, binary: str, flags: Sequence[str]) -> Search:
        """One run of ``pan``. Past the time limit it is interrupted (SIGINT: pan reports what it
        stored so far) and counts as cut."""
        command = [f"./{binary}", *flags, f"-m{self.limits.depth}", f"-w{self.limits.hash_bits}"]
        start = time.perf_counter()
        with subprocess.Popen(command, cwd=self.folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) as process:
            try:
                output, _ = process.communicate(timeout=self.limits.timeout)
                timed_out = False
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGINT)
                try:
                    output, _ = process.communicate(timeout=_WRAPUP_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                    output, _ = process.communicate()
                timed_out = True
        seconds = time.perf_counter() - start
        errors = _ERRORS.search(output)
        stored = _STORED.search(output)
        cut = timed_out or any(c in output for c in _CUT)
        if errors is None and not cut:
            raise SpinError(f"{' '.join(command)} gave no verdict:\n{output[-2000:]}")
        return Search(
            what,
            int(errors.group(1)) if errors and not timed_out else None,
            int(float(stored.group(1))) if stored else None,
            seconds,
            cut,
            output,
        )

    def failed_line(self) -> int:
        """The line of the assert that the last trail violates (``spin -t`` replays it on model.pml)."""
        done = self.run(["spin", "-t", "model.pml"])
        found = _FAILED_LINE.search(done.stdout + done.stderr)
        if found is None:
            raise SpinError(f"spin -t named no failed assert:\n{(done.stdout + done.stderr)[-2000:]}")
        return int(found.group(1))


__all__ = ["HOLDS", "TOOLS", "UNKNOWN", "VIOLATED", "Limits", "Outcome", "Search", "SpinError", "check", "missing"]
