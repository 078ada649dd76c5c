"""The cases of an Exchange log, each diagnosed on its own slice: "which sessions hit this?" first, then why.

A first pass (``regcheck.model.logs.slices``) lists the associations (or sessions) with registration failures,
MAPI_E_NETWORK_ERROR or ContextNotFound, with their identities and counts; each is then diagnosed
(``regcheck.diagnosis``) on its slice, all of them within the command's one deadline and on one pool of
processes. A case whose slice has the shape of an earlier one's (the same events but for the association's
GUID, times and lines) is not searched again: it has the earlier case's diagnosis, and says so. A case
that is not diagnosed says why; none is dropped.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regcheck import children
from regcheck import diagnosis as diagnoses
from regcheck.core.result import Trace
from regcheck.deadline import REASON, Deadline
from regcheck.diagnosis import Diagnosis
from regcheck.errors import InvalidArgument
from regcheck.formats import junit
from regcheck.limits import cores
from regcheck.model.logs.identities import Identities
from regcheck.model.logs.slices import Selection, Survey, Tally, slices, survey
from regcheck.model.observations import Event
from regcheck.model.scenario import Scenario
from regcheck.model.story import MISMATCH_TEXT, cause, rows

FIX_NAMES = ("fix A", "fix B", "one association per MAPI session")
"""The fixes a summary row tells, by the short names of ``fixchecks.FIXES``."""
COLUMNS = ("association", "identities", "failures", "explained by", "cause", "fix A", "fix B",
           "per-session associations")
"""The summary table's columns, the fixes' in :data:`FIX_NAMES`' order."""


@dataclass(frozen=True)
class Case:
    """One association (or session) of the log, and its diagnosis or why it has none."""

    number: int
    tally: Tally
    diagnosis: Diagnosis | None
    notes: tuple[str, ...] = ()
    reason: str = ""  # not diagnosed: why
    same_as: int = 0  # the earlier case whose slice has the same shape (``shape``), whose diagnosis this is

    def explained_by(self) -> str:
        """``172 of 576 settings``, ``no setting: all 576 ruled out``, or ``not decided: ...``; ``(as case N)``
        after it where the diagnosis is an earlier case's."""
        said = self._explained_by()
        return f"{said} (as case {self.same_as})" if self.same_as else said

    def _explained_by(self) -> str:
        d = self.diagnosis
        if d is None:
            return f"not decided: {self.reason}"
        if d.explained:
            undecided = len(d.unknown) + len(d.invalid)
            why = d.unknown[0].reason if d.unknown else d.invalid[0].reason if d.invalid else ""
            return f"{d.explaining} of {d.searched} settings" + (f" ({undecided} not decided: {why})" if undecided else "")
        if d.ruled_out and not d.unknown and not d.invalid:
            return f"no setting: all {d.searched} ruled out"
        undecided = len(d.unknown) + len(d.invalid)
        why = d.unknown[0].reason if d.unknown else d.invalid[0].reason if d.invalid else ""
        return f"not decided: {undecided} of {d.searched} settings ({why})"

    def cause(self) -> str:
        """The cause in the protocol's words: the step that broke the registration in an explaining execution."""
        d = self.diagnosis
        if d is None or not d.explained:
            return "-"
        first = next((g for g in d.explained if g.violated), None)
        if first is None:
            return "no safety property is violated"
        outcome = first.outcomes[0]
        assert outcome.trace is not None
        return short_cause(outcome.setting.scenario, outcome.trace)

    def fixes(self) -> dict[str, str]:
        """What each fix does to the observed failure, over every explaining group."""
        return fix_words(self.diagnosis)

    def row(self) -> list[str]:
        """The case's summary row, in :data:`COLUMNS`' order."""
        fixes = self.fixes()
        return [self.tally.key.name if self.tally.key.kind == "association" else self.tally.key.words(),
                self.tally.identity_words(), self.tally.failure_words(), self.explained_by(),
                self.cause(), *(fixes[name] for name in FIX_NAMES)]

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"case": self.number, **self.tally.to_json(), "explained_by": self.explained_by(),
                                 "cause": self.cause(), "fixes": self.fixes()}
        if self.diagnosis is None:
            entry["not_decided"] = self.reason
        elif self.same_as:
            entry["same_as"] = self.same_as
        else:
            entry["reading"] = list(self.notes)
            entry["diagnosis"] = diagnoses.to_json(self.diagnosis)
        return entry


def shape(events: Sequence[Event]) -> tuple[tuple[object, ...], ...]:
    """What a diagnosis reads of a slice: every field of its events but the association GUIDs, of which only
    which events share one counts (they bind to the model's associations by equality alone), the times and
    the lines (shown only). Two slices of one shape have the same explained and ruled-out settings."""
    guids: dict[str, int] = {}
    return tuple((e.call, e.thread, e.identity, e.result, e.session,
                  None if e.association is None else guids.setdefault(e.association, len(guids))) for e in events)


def short_cause(scenario: Scenario, trace: Trace) -> str:
    """The step that broke the registration, in one line of the protocol's words (``model.story.cause`` tells it
    in full): ``EcDoAsyncWaitEx as SYSTEM (notification thread) on an association registered to alice:
    Registration of the Association GUID failed; evicted``."""
    story = rows(scenario, trace)
    for row in story:
        if row.cache.startswith("MISMATCH"):
            thread = "notification thread" if row.thread.startswith("notifier") else row.thread.split(" ")[0]
            owner = row.cache.split("registered to ")[1].split(";")[0]
            evicted = "; evicted" if "evicted" in row.cache else ""
            return (f"{row.call} as {row.identity} ({thread}) on an association registered to {owner}: "
                    f"{MISMATCH_TEXT}{evicted}")
    failed = next((row for row in story if row.failed), None)
    return f"{failed.call} as {failed.identity} failed with {failed.result}" if failed else cause(scenario, trace)


def fix_words(d: Diagnosis | None) -> dict[str, str]:
    """Each fix of :data:`FIX_NAMES` over every explaining group: ``rules it out`` (proved for every setting),
    ``does not rule it out`` (violated for every one), ``rules it out in some settings``, ``not decided`` (a
    check that the deadline or a bound cut), ``does not apply``, ``nothing to rule out`` (explained with no
    violation), ``not checked`` (its checks were not asked for), or ``-`` (not explained)."""
    if d is None or not d.explained:
        return dict.fromkeys(FIX_NAMES, "-")
    states: dict[str, list[str]] = {}
    for group in d.explained:
        for fix in group.fixes:
            texts = [said for _, said in fix.verdicts]
            state = ("rules" if fix.rules_out else "fails" if any("violated" in t for t in texts)
                     else "n/a" if all(t.startswith("does not apply") for t in texts) else "open")
            states.setdefault(fix.fix.split(" (")[0], []).append(state)
    words = {}
    for name in FIX_NAMES:
        found = set(states.get(name, ()))
        open_too = " (some settings not decided)" if "open" in found else ""
        if not found:
            words[name] = "not checked" if d.violated else "nothing to rule out"
        elif len(found) == 1 and found != {"open"}:
            words[name] = {"rules": "rules it out", "fails": "does not rule it out", "n/a": "does not apply"}[found.pop()]
        elif {"rules", "fails"} <= found:
            words[name] = "rules it out in some settings" + open_too
        elif "fails" in found:
            words[name] = "does not rule it out" + open_too
        else:
            words[name] = "not decided"
    return words


@dataclass(frozen=True)
class Cases:
    """The first pass and every case found, with where the time went."""

    survey: Survey
    cases: tuple[Case, ...]
    first_pass_s: float
    slices_s: float
    seconds: float

    def heading(self) -> str:
        """The line above the table: how many cases of how many associations and sessions, and the first pass."""
        found, total = len(self.cases), len(self.survey.tallies)
        what = "association or session" if total == 1 else "associations and sessions"
        files = f"{self.survey.files} file{'s' if self.survey.files != 1 else ''}"
        span = f" within {self.survey.selection.words()}" if self.survey.selection.any else ""
        failing = sum(1 for c in self.cases if c.tally.failures)
        said = (f"{failing} of {total} {what}{span} {'has' if failing == 1 else 'have'} registration failures, "
                "MAPI_E_NETWORK_ERROR or ContextNotFound" if failing else f"none of {total} {what}{span} has a failure")
        return (f"Cases: {said}; {found} diagnosed (first pass: {self.survey.events:,} events of {files} in "
                f"{self.first_pass_s:.1f} s)")

    def to_json(self) -> dict[str, Any]:
        return {"selection": self.survey.selection.words(), "associations": len(self.survey.tallies),
                "without_failures": self.survey.healthy(), "events": self.survey.events,
                "outside_span": self.survey.outside, "columns": list(COLUMNS),
                "table": [c.row() for c in self.cases], "cases": [c.to_json() for c in self.cases],
                "seconds": {"first_pass": self.first_pass_s, "slices": self.slices_s,
                            "diagnoses": [c.diagnosis.seconds if c.diagnosis else 0.0 for c in self.cases], "total": self.seconds}}


@contextlib.contextmanager
def _shared_pool(dask: str | None) -> Iterator[Executor | None]:
    """One pool of processes for every case's search (none on one core, or with Dask, which has its own)."""
    if dask is not None or cores() < 2:
        yield None
        return
    with children.pool(cores()) as pool:
        yield pool


def diagnose_cases(path: Path, form: str | None, identities: Identities, selection: Selection, base: Scenario,
                   vary: Sequence[str], deadline: Deadline, *, progress: Callable[[str], None] | None = None,
                   check_fixes: bool = True, dask: str | None = None) -> Cases:
    """Find the cases of the Exchange log at ``path`` and diagnose each on its slice. Each case gets an equal
    share of the time left when it starts (what one case leaves goes to the next); a case the deadline leaves
    no time for is not decided, with the reason."""
    start = time.monotonic()
    found = survey(path, form, identities, selection, progress, deadline)
    chosen = found.cases()
    first_pass = time.monotonic() - start
    parts = slices(found, chosen, deadline)
    sliced = time.monotonic() - start - first_pass
    cases: list[Case] = []
    shapes: dict[tuple[tuple[object, ...], ...], Case] = {}
    with _shared_pool(dask) as pool:
        for index, (tally, part) in enumerate(zip(chosen, parts, strict=True)):
            number = index + 1
            if isinstance(part, str):
                cases.append(Case(number, tally, None, reason=part))
                continue
            earlier = shapes.get(shape(part))
            if earlier is not None:  # decided before, on a slice of the same shape
                cases.append(Case(number, tally, earlier.diagnosis, tuple(found.notes(part)), same_as=earlier.number))
                continue
            left = deadline.left()
            share = None if left is None else left / (len(chosen) - index)
            if share is not None and share <= 0:
                cases.append(Case(number, tally, None, reason=f"{REASON}: the command's time ran out before "
                                                              "this case was diagnosed"))
                continue
            if progress is not None:
                progress(f"diagnose: case {number} of {len(chosen)} ({tally.key.words()})")
            try:
                d = diagnoses.diagnose(part, base, vary, timeout=share if share is not None else 120.0,
                                       progress=progress, check_fixes=check_fixes, dask=dask, pool=pool)
            except InvalidArgument as exc:
                raise InvalidArgument(f"case {number} ({tally.key.words()}): {exc}") from None
            cases.append(Case(number, tally, d, tuple(found.notes(part))))
            if not d.unknown:  # only a decided diagnosis is reused: another search might decide more
                shapes[shape(part)] = cases[-1]
    return Cases(found, tuple(cases), round(first_pass, 3), round(sliced, 3), round(time.monotonic() - start, 3))


def summary_suite(log: str, found: Cases) -> junit.Suite:
    """The summary table as one JUnit suite, a test case per case: passed when explained with nothing violated,
    a failure when explained by a violation (its cause and what each fix does) or when every setting is ruled
    out, an error when not decided."""
    classname = "regcheck.diagnose.cases"
    tests = []
    for case in found.cases:
        d = case.diagnosis
        name = f"case {case.number}: {case.tally.key.words()}"
        said = "; ".join(f"{column}: {value}" for column, value in zip(COLUMNS[1:], case.row()[1:], strict=True))
        time_s = d.seconds if d is not None else 0.0
        if d is not None and d.explained:
            test = (junit.Case(name, classname, "failure", kind="violated", message=case.cause(), body=said,
                               time_s=time_s) if d.violated else junit.Case(name, classname, output=said, time_s=time_s))
        elif d is not None and d.ruled_out and not d.unknown and not d.invalid:
            test = junit.Case(name, classname, "failure", kind="unexplained", message=case.explained_by(), body=said,
                              time_s=time_s)
        else:
            test = junit.Case(name, classname, "error", kind="unknown", message=case.explained_by(), body=said,
                              time_s=time_s)
        tests.append(test)
    return junit.Suite(name=f"diagnose {log}: cases", cases=tuple(tests), file=log,
                       properties=(("first pass", found.heading()),))


__all__ = ["COLUMNS", "FIX_NAMES", "Case", "Cases", "diagnose_cases", "fix_words", "shape", "summary_suite"]
