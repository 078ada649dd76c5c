"""Sweeps: check properties over the product of switch values, in parallel, locally or on Dask.

A sweep takes a base scenario and *axes* (a switch and the values it takes, e.g. ``workers=1..4``
or ``transport`` for every transport), checks every combination, and reports the verdict matrix
and, per property, the smallest failing configuration: fewest workers, then fewest requests and
users, then fewest switches changed from the base, then the earliest in the product's order.

Like ``regcheck.compose`` this is a composition module (it builds scenarios of ``model``). The
work unit, :func:`check_configuration`, is a top-level function of plain data in and plain data
out (switch values, property names, verdicts), so that it travels to a process pool or to a
Dask cluster unchanged and the two give the same matrix.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from regcheck import children, compose
from regcheck.core.result import Verdict
from regcheck.core.system import Kind
from regcheck.deadline import REASON, Deadline, time_left
from regcheck.display import did_you_mean, shown
from regcheck.errors import InvalidArgument
from regcheck.limits import cores
from regcheck.model import scenario as scenarios
from regcheck.model import story
from regcheck.model.scenario import ANY, CHOICES, Scenario
from regcheck.properties import catalogue

DEFAULT_AXES = ("impersonate", "connect_flags=0,0x20", "transport", "association_scope", "workers=1..4")
"""The design choices and deployments a sweep varies when none are given: 2 x 2 x 3 x 2 x 4 = 96."""

MAX_CONFIGURATIONS = 10_000
DASK_CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a Dask scheduler before saying it cannot be reached."""
_BOOLEAN = ("true", "false")
_FLAGS = ("0", "0x20")


@dataclass(frozen=True)
class Axis:
    """One switch and the values a sweep gives it, written as ``--set`` takes them."""

    key: str
    values: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.key}={','.join(self.values)}"


def parse_axis(text: str) -> Axis:
    """``KEY=V1,V2,...``, ``KEY=LOW..HIGH`` (whole numbers), or ``KEY`` alone for every value the switch has.

    >>> parse_axis("workers=1..3")
    Axis(key='workers', values=('1', '2', '3'))
    >>> parse_axis("transport").values
    ('rpc-http', 'rpc-tcp', 'mapi-http')
    """
    key, sep, raw = text.partition("=")
    key = key.strip().replace("-", "_")
    if key not in scenarios.SETTABLE:
        raise InvalidArgument(
            f"--vary: unknown switch {shown(key)}; switches: {', '.join(scenarios.SETTABLE)}"
            f"{did_you_mean(key, scenarios.SETTABLE)}"
        )
    if not sep:
        values = _all_values(key)
    else:
        parts = [part.strip() for part in raw.split(",") if part.strip()]
        count = sum(_span(key, part) for part in parts)  # counted before anything is expanded
        if count > MAX_CONFIGURATIONS:
            raise InvalidArgument(f"--vary {shown(text)}: {count} values; a switch may take at most "
                                  f"{MAX_CONFIGURATIONS}")
        values = tuple(v for part in parts for v in _expand(key, part))
    if not values:
        raise InvalidArgument(f"--vary {shown(text)}: no values; write KEY=V1,V2 or KEY=LOW..HIGH")
    if len(set(values)) != len(values):
        raise InvalidArgument(f"--vary {shown(text)}: a value is listed twice")
    return Axis(key, values)


def _all_values(key: str) -> tuple[str, ...]:
    if key in CHOICES:
        return CHOICES[key]
    if key in ("impersonate", "server_async"):
        return _BOOLEAN
    if key == "connect_flags":
        return _FLAGS
    raise InvalidArgument(
        f"--vary {key}: give its values (KEY=V1,V2 or KEY=LOW..HIGH); only these switches have a known set: "
        f"{', '.join([*CHOICES, 'impersonate', 'server_async', 'connect_flags'])}"
    )


def _span(key: str, part: str) -> int:
    """How many values ``part`` (one value, or ``LOW..HIGH``) stands for, found without listing them."""
    bounds = _range(key, part)
    return 1 if bounds is None else bounds[1] - bounds[0] + 1


def _expand(key: str, part: str) -> tuple[str, ...]:
    bounds = _range(key, part)
    if bounds is None:
        return (part,)
    first, last = bounds
    if last - first >= MAX_CONFIGURATIONS:
        raise InvalidArgument(f"--vary {shown(f'{key}={part}')}: a range may have at most {MAX_CONFIGURATIONS} values")
    return tuple(str(n) for n in range(first, last + 1))


def _range(key: str, part: str) -> tuple[int, int] | None:
    """The bounds of ``LOW..HIGH`` (whole numbers, LOW <= HIGH), or None for a single value."""
    low, dots, high = part.partition("..")
    if not dots:
        return None
    try:
        first, last = int(low, 0), int(high, 0)
    except ValueError:
        raise InvalidArgument(
            f"--vary {shown(f'{key}={part}')}: a range needs whole numbers, e.g. {key}=1..4"
        ) from None
    if not first <= last:
        raise InvalidArgument(f"--vary {shown(f'{key}={part}')}: expected LOW..HIGH with LOW <= HIGH")
    return first, last


@dataclass(frozen=True)
class Configuration:
    """One point of the product: the value of each axis, and the scenario they make of the base."""

    index: int
    values: tuple[tuple[str, str], ...]
    scenario: Scenario

    def assignments(self) -> list[str]:
        """The ``--set`` assignments that make this configuration from the base scenario."""
        return [f"{key}={value}" for key, value in self.values]

    def size(self, base: Scenario) -> tuple[float, int, int, int, int]:
        """What "smallest" means: workers, requests, users, switches changed from the base, position."""
        s = self.scenario
        workers = float("inf") if s.workers == ANY else float(s.workers)
        changed = sum(getattr(s, key) != getattr(base, key) for key, _ in self.values)
        return (workers, s.requests, len(s.users), changed, self.index)


def configurations(base: Scenario, axes: Sequence[Axis], *, one_at_a_time: bool = False) -> list[Configuration]:
    """The configurations of a sweep; a bad one is an error naming it.

    Every combination of the axes' values, in product order; or, ``one_at_a_time``, the base
    scenario and then each other value of each axis with every other switch as in the base
    (how a conclusion is tested against each variant without the product's size).
    """
    keys = [axis.key for axis in axes]
    if len(set(keys)) != len(keys):
        raise InvalidArgument(f"--vary: switch {next(k for k in keys if keys.count(k) > 1)!r} is given twice")
    count = size(axes, one_at_a_time=one_at_a_time)  # counted before any configuration is made
    if count > MAX_CONFIGURATIONS:
        raise InvalidArgument(f"--vary: {count} configurations; the limit is {MAX_CONFIGURATIONS}")
    if one_at_a_time:
        points: Iterable[tuple[str, ...]] = _one_at_a_time(base, axes)
    else:
        points = itertools.product(*(axis.values for axis in axes))
    found = []
    for index, values in enumerate(points):
        pairs = tuple(zip(keys, values))
        assignments = [f"{k}={v}" for k, v in pairs]
        try:
            scenario = scenarios.with_overrides(base, assignments)
        except InvalidArgument as exc:
            raise InvalidArgument(f"configuration {' '.join(assignments)}: {exc}") from None
        found.append(Configuration(index, pairs, scenario))
    return found


def size(axes: Sequence[Axis], *, one_at_a_time: bool = False) -> int:
    """How many configurations ``axes`` make, computed without making them: the product of the axes' sizes,
    or (``one_at_a_time``) the base and each axis's other values (at most, if the base has none of them)."""
    if one_at_a_time:
        return 1 + sum(len(axis.values) for axis in axes)
    return math.prod(len(axis.values) for axis in axes)


def _one_at_a_time(base: Scenario, axes: Sequence[Axis]) -> list[tuple[str, ...]]:
    """The base point, then each axis's other values with every other axis at the base's value."""
    at_base = [_base_value(base, axis) for axis in axes]
    points = [tuple(at_base)]
    for i, axis in enumerate(axes):
        points += [(*at_base[:i], value, *at_base[i + 1:]) for value in axis.values if value != at_base[i]]
    return points


def _base_value(base: Scenario, axis: Axis) -> str:
    """The axis value that ``base`` has (``0x20`` and ``32`` are one value), or the base's own."""
    current = getattr(base, axis.key, None)
    if current is None:
        return axis.values[0]  # not a switch: building the configuration names the error
    for value in axis.values:
        try:
            if getattr(scenarios.with_overrides(base, [f"{axis.key}={value}"]), axis.key) == current:
                return value
        except InvalidArgument:
            continue
    return str(current).lower() if isinstance(current, bool) else str(current)


def check_configuration(
    switches: Mapping[str, Any], names: Sequence[str], engine: str, depth: int, timeout: float,
    until: float | None = None,
) -> list[dict[str, Any]]:
    """Check one configuration (its resolved switches) and return each verdict as plain data.

    The work unit of a sweep: runs in a pool process or on a Dask worker, so its arguments and
    result are plain values only (no traces, no certificates; a counterexample's cause in words).
    ``until`` is the sweep's deadline (wall clock): a configuration gets what is left of it, and one
    started after it is ``unknown`` with the reason "timeout".
    """
    scenario = scenarios.from_mapping(dict(switches), origin="sweep configuration")
    results = compose.run_checks(scenario, list(names), engine=engine, depth=depth, timeout=time_left(until, timeout))
    return [
        {
            "property": r.property,
            "verdict": r.verdict.value,
            "steps": len(r.trace) if r.verdict is Verdict.VIOLATED and r.trace is not None else None,
            "depth": r.depth,
            "time_s": r.time_s,
            **({"cause": story.cause(compose.scenario_of(scenario, r.trace), r.trace)}
               if r.verdict is Verdict.VIOLATED and r.trace is not None else {}),
            **({"note": r.note} if r.verdict is Verdict.UNKNOWN and r.note else {}),
        }
        for r in results
    ]


@dataclass(frozen=True)
class Outcome:
    """One configuration and its verdicts, property by property."""

    configuration: Configuration
    results: tuple[dict[str, Any], ...]

    def result(self, name: str) -> dict[str, Any]:
        return next(r for r in self.results if r["property"] == name)


@dataclass(frozen=True)
class Sweep:
    """A finished sweep: every configuration's verdicts, in product order."""

    base: Scenario
    axes: tuple[Axis, ...]
    properties: tuple[str, ...]
    outcomes: tuple[Outcome, ...]
    engine: str
    depth: int
    elapsed_s: float

    def failing(self, name: str) -> list[Outcome]:
        """The configurations in which ``name`` is violated, smallest first."""
        bad = [o for o in self.outcomes if o.result(name)["verdict"] == Verdict.VIOLATED.value]
        return sorted(bad, key=lambda o: o.configuration.size(self.base))

    def smallest_failing(self, name: str) -> Outcome | None:
        """The smallest configuration that violates ``name`` (see the module docstring), if any."""
        bad = self.failing(name)
        return bad[0] if bad else None

    def counts(self, name: str) -> dict[str, int]:
        """How many configurations got each verdict for ``name``."""
        found: dict[str, int] = {}
        for outcome in self.outcomes:
            verdict = outcome.result(name)["verdict"]
            found[verdict] = found.get(verdict, 0) + 1
        return found

    def matrix(self) -> list[list[str]]:
        """Rows of axis values then verdict words (``violated 5``, ``proved``, ``bounded 12``, ``unknown``)."""
        return [
            [value for _, value in o.configuration.values] + [verdict_word(o.result(n)) for n in self.properties]
            for o in self.outcomes
        ]


def verdict_word(result: Mapping[str, Any]) -> str:
    """A matrix cell: the verdict, with the counterexample's steps or the bound."""
    verdict = result["verdict"]
    if verdict == Verdict.VIOLATED.value:
        return f"violated {result['steps']}"
    if verdict == Verdict.BOUNDED.value:
        return f"bounded {result['depth']}"
    return str(verdict)


Progress = Callable[[int, int], None]
"""(configurations done, configurations in all)."""


def run(
    base: Scenario,
    axes: Sequence[Axis],
    names: Sequence[str] = (),
    *,
    engine: str = "auto",
    depth: int = 12,
    timeout: float = 120.0,
    jobs: int | None = None,
    dask: str | None = None,
    one_at_a_time: bool = False,
    progress: Progress | None = None,
) -> Sweep:
    """Check ``names`` (all properties if empty) in every configuration of ``axes`` over ``base``.

    Locally on ``jobs`` processes (default: one per core), or on the Dask scheduler at ``dask``;
    ``one_at_a_time``: vary one axis at a time from the base (see :func:`configurations`).
    ``timeout`` bounds the whole sweep: each configuration gets what is left of it.
    """
    until = Deadline(timeout).wall()
    if engine not in compose.ENGINES:
        raise InvalidArgument(f"--engine: unknown engine {shown(engine)}; engines: {', '.join(compose.ENGINES)}"
                              f"{did_you_mean(engine, compose.ENGINES)}")
    names = list(dict.fromkeys(names)) or list(catalogue.NAMES)
    for name in names:
        catalogue.spec(name)
    found = configurations(base, axes, one_at_a_time=one_at_a_time)
    work = [dict(c.scenario.switches()) for c in found]
    start = time.monotonic()
    if dask is not None:
        results = _on_dask(dask, work, names, engine, depth, timeout, until, progress)
    else:
        results = _on_pool(work, names, engine, depth, timeout, until, jobs, progress)
    return Sweep(
        base=base,
        axes=tuple(axes),
        properties=tuple(names),
        outcomes=tuple(Outcome(c, tuple(r)) for c, r in zip(found, results)),
        engine=engine,
        depth=depth,
        elapsed_s=round(time.monotonic() - start, 2),
    )


def _on_pool(
    work: list[dict[str, Any]],
    names: list[str],
    engine: str,
    depth: int,
    timeout: float,
    until: float | None,
    jobs: int | None,
    progress: Progress | None,
) -> list[list[dict[str, Any]]]:
    """The configurations on a local process pool; fresh interpreters (``spawn``), never forks of this one."""
    workers = max(1, min(len(work), jobs or cores()))
    results: list[list[dict[str, Any]]] = [[] for _ in work]
    with children.pool(workers) as pool:
        futures = {
            pool.submit(check_configuration, switches, names, engine, depth, timeout, until): index
            for index, switches in enumerate(work)
        }
        for done, future in enumerate(children.by(futures, until), start=1):
            results[futures[future]] = late(names) if future.cancelled() else future.result()
            if progress is not None:
                progress(done, len(work))
    return results


def late(names: Sequence[str]) -> list[dict[str, Any]]:
    """The verdicts of a configuration not started by the sweep's deadline: unknown, with the reason."""
    why = f"{REASON}: the sweep's time ran out before this configuration was checked"
    return [{"property": name, "verdict": Verdict.UNKNOWN.value, "steps": None, "depth": None, "time_s": 0.0,
             "note": why} for name in names]


def dask_client(address: str) -> Any:
    """A client of the Dask scheduler at ``address`` (a context manager), or one clear line why there is none."""
    try:
        from distributed import Client
    except ImportError:
        raise InvalidArgument("--dask needs the distributed package: pip install 'regcheck[dask]'") from None
    try:
        return Client(address, timeout=f"{DASK_CONNECT_TIMEOUT}s")
    except OSError as exc:
        raise InvalidArgument(f"--dask: cannot reach a Dask scheduler at {address!r} ({exc})") from None


def _on_dask(
    address: str,
    work: list[dict[str, Any]],
    names: list[str],
    engine: str,
    depth: int,
    timeout: float,
    until: float | None,
    progress: Progress | None,
) -> list[list[dict[str, Any]]]:
    """The configurations on an existing Dask cluster (its workers need regcheck installed)."""
    from distributed import as_completed as completed

    with dask_client(address) as client:
        futures = client.map(
            check_configuration, work, names=names, engine=engine, depth=depth, timeout=timeout, until=until,
            pure=False,
        )
        index = {future.key: i for i, future in enumerate(futures)}
        results: list[list[dict[str, Any]]] = [[] for _ in work]
        for done, future in enumerate(completed(futures), start=1):
            results[index[future.key]] = future.result()
            if progress is not None:
                progress(done, len(work))
    return results


def axes_of(texts: Iterable[str], base: Scenario) -> tuple[Axis, ...]:
    """The axes of ``--vary`` options; when none are given, :data:`DEFAULT_AXES` but those that ``base``'s
    per-worker lists would refuse (:func:`defaults_left_out`): a default never makes a sweep fail."""
    given = list(texts)
    if given:
        return tuple(parse_axis(text) for text in given)
    return tuple(axis for axis in map(parse_axis, DEFAULT_AXES) if not _refusal(base, axis))


def defaults_left_out(base: Scenario) -> list[str]:
    """The default axes that ``base`` does not let vary, each with the reason (a value it refuses)."""
    return [f"{axis.key} ({why})" for axis in map(parse_axis, DEFAULT_AXES) if (why := _refusal(base, axis))]


def _refusal(base: Scenario, axis: Axis) -> str:
    """Why ``base`` refuses some value of ``axis`` (a per-worker list that would shadow it), or ``""``."""
    for value in axis.values:
        try:
            scenarios.with_overrides(base, [f"{axis.key}={value}"])
        except InvalidArgument as exc:
            return str(exc)
    return ""


# --------------------------------------------------------------------------------------------
# Which designs are safe under which fixes: one sweep per design and fix

DESIGNS = ("mailbox-walker", "thread-pool", "session-cache", "service-account", "mixed-threads")
"""The built-in client designs (regcheck/model/scenarios), in the order the table of docs/designs.md lists them."""


def _fix_a(scenario: Scenario) -> list[str]:
    """Fix A for many mailboxes: no thread impersonates; the process runs as svc, with rights to every user's."""
    return ["impersonate=false", "worker_impersonates=", "process_identity=svc",
            f"mailbox_access=svc:{'+'.join(scenario.users)}"]


FIXES: dict[str, Callable[[Scenario], list[str]]] = {
    "as designed": lambda scenario: [],
    "fix A": _fix_a,
    "fix B": lambda scenario: ["connect_flags=0x20"],
}
"""The article's fixes as switches applied to a design: fix A in its service-account form, fix B as 0x20."""


@dataclass(frozen=True)
class DesignTable:
    """For each design, fix and configuration of the varied switches: safe, unsafe or undecided."""

    columns: tuple[tuple[str, str], ...]  # (fix, configuration of the varied switches)
    rows: tuple[tuple[str, tuple[str, ...]], ...]  # (design, one word per column)

    def markdown(self) -> str:
        """The table in Markdown, one row per design."""
        head = "| design | " + " | ".join(f"{fix}, {where}" for fix, where in self.columns) + " |"
        rule = "|---|" + "---|" * len(self.columns)
        body = ["| " + design + " | " + " | ".join(cells) + " |" for design, cells in self.rows]
        return "\n".join([head, rule, *body])


def design_table(
    designs: Sequence[str] = DESIGNS,
    vary: Sequence[Axis] = (Axis("association_scope", ("process", "session")),),
    *,
    engine: str = "explicit",
    timeout: float = 120.0,
    jobs: int | None = None,
) -> DesignTable:
    """Sweep each design under each fix over ``vary``: "safe" when every safety property is proved,
    "unsafe" when one is violated, "undecided" otherwise."""
    safety = [p.name for p in catalogue.CATALOGUE if p.kind is Kind.SAFETY]
    columns: list[tuple[str, str]] = []
    rows = []
    for design in designs:
        base = scenarios.load(design)
        cells = []
        for fix, switches in FIXES.items():
            fixed = scenarios.with_overrides(base, switches(base))
            found = run(fixed, vary, safety, engine=engine, timeout=timeout, jobs=jobs)
            for outcome in found.outcomes:
                verdicts = {outcome.result(name)["verdict"] for name in safety}
                cells.append("unsafe" if "violated" in verdicts else "safe" if verdicts == {"proved"} else "undecided")
                if len(columns) < len(FIXES) * len(found.outcomes):
                    columns.append((fix, " ".join(outcome.configuration.assignments())))
        rows.append((design, tuple(cells)))
    return DesignTable(tuple(columns), tuple(rows))
