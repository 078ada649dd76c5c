"""What each fix does to a failure a log shows (``regcheck diagnose``): the verdicts of the violated properties on
every explaining setting's scenario with the fix applied, checked by ``regcheck check``, shared between designs
that build the same system up to the names of their users (regcheck/model/SOUNDNESS.md, "Diagnosis of a log")."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

from regcheck import children, compose, sweep
from regcheck.core.result import Verdict
from regcheck.errors import InvalidArgument
from regcheck.model.scenario import Scenario, renamed, with_overrides
from regcheck.model.system import build
from regcheck.properties import catalogue

FIXES: dict[str, Callable[[Scenario], list[str]]] = {
    "fix A (no impersonation; the process runs as an account with rights to the mailboxes)": sweep.FIXES["fix A"],
    "fix B (CONNECT_NO_NOTIFICATIONS, 0x20, in PR_PROFILE_CONNECT_FLAGS)": sweep.FIXES["fix B"],
    "one association per MAPI session": lambda scenario: ["association_scope=session"],
}
"""The fixes whose effect on the observed failure is checked."""


@dataclass(frozen=True)
class FixCheck:
    """What one fix does to the observed failure: the verdicts of the violated properties on the fixed scenario."""

    fix: str
    verdicts: tuple[tuple[str, str], ...]  # (property, verdict and words)
    rules_out: bool


def check(members: Sequence[Scenario], names: Sequence[str], deadline: float,
          pool: Executor | None = None) -> tuple[FixCheck, ...]:
    """For each fix: the verdicts of the violated properties ``names`` on every member's fixed scenario; it rules the
    failure out only if they are proved for every member (a member the deadline leaves unchecked: not decided).
    The checks not yet kept run first, on ``pool`` where there is one (``_check_all``)."""
    planned: list[tuple[str, list[Hashable | None], str]] = []  # per fix: each member's key (None: not decided, out of
    # time), and why the fix may not apply
    designs: dict[Hashable, Scenario] = {}
    for fix, change in FIXES.items():
        keys: list[Hashable | None] = []
        refused = ""
        for scenario in members:
            try:
                fixed = _canonical(with_overrides(scenario, change(scenario)))
            except InvalidArgument as exc:
                refused = str(exc)
                continue
            known = (repr(fixed), tuple(names))
            if known not in _FIX_KEYS and time.monotonic() > deadline:
                keys.append(None)  # past the deadline a design is not even built: not decided
                continue
            if known not in _FIX_KEYS:
                if len(_FIX_KEYS) > KEPT:
                    _FIX_KEYS.clear()
                _FIX_KEYS[known] = _fix_key(fixed, names)
            keys.append(_FIX_KEYS[known])
            designs.setdefault(keys[-1], fixed)
        planned.append((fix, keys, refused))
    fresh = _check_all({k: d for k, d in designs.items() if k not in _FIXED}, names, deadline, pool)
    checks = []
    for fix, keys, refused in planned:
        if not keys:
            checks.append(FixCheck(fix, (("-", f"does not apply: {refused}"),), False))
            continue
        words: dict[str, dict[str, int]] = {}
        proved = not refused
        for key in keys:
            verdicts = None if key is None else _FIXED.get(key) or fresh.get(key)
            if verdicts is None:  # the deadline left no time to check it
                verdicts = {name: (Verdict.UNKNOWN, "not decided (timeout)") for name in names}
            for name, (verdict, said) in verdicts.items():
                proved = proved and verdict is Verdict.PROVED
                words.setdefault(name, {}).setdefault(said, 0)
                words[name][said] += 1
        verdicts_said = tuple((name, next(iter(said)) if len(said) == 1 else
                               "; ".join(f"{w} for {n} of {len(members)} settings" for w, n in said.items()))
                              for name, said in words.items())
        checks.append(FixCheck(fix, verdicts_said, proved))
    return tuple(checks)


_FIXED: dict[Hashable, dict[str, tuple[Verdict, str]]] = {}
"""The decided verdicts of each fixed design checked in this process, by ``_fix_key`` of its canonical form."""
_FIX_KEYS: dict[tuple[str, tuple[str, ...]], Hashable] = {}
"""``_fix_key`` by the canonical fixed scenario (its ``repr``, every switch) and the properties: cases alike build
each fixed system once."""


def _canonical(fixed: Scenario) -> Scenario:
    """``fixed`` with its users and service accounts renamed ``u1``, ``u2``, ... in the order of its identities
    (regcheck/model/SOUNDNESS.md, "Diagnosis of a log": a verdict does not depend on what the users are called)."""
    return renamed(fixed, {identity: f"u{i}" for i, identity in enumerate(fixed.identities[1:], start=1)})


def _fix_key(fixed: Scenario, names: Sequence[str]) -> Hashable:
    """What the verdicts on a fixed design are of: its system and the properties' instances on it. Members that
    differ only in switches the fixed system does not read (a fix makes some moot) share them; ``check`` passes
    the canonical form, so members that differ only in their users' names share them too."""
    built = build(fixed)
    return (built.variables, built.init, built.actions, built.symmetry, built.stutter,
            tuple(catalogue.instantiate(name, fixed) for name in names))


PARALLEL_FIXES = 4
"""From this many fixed designs to check, the checks are shared among the pool's processes."""


def _check_all(designs: Mapping[Hashable, Scenario], names: Sequence[str], deadline: float,
               pool: Executor | None) -> dict[Hashable, dict[str, tuple[Verdict, str]]]:
    """The verdicts of each design (``regcheck check``), by key; the decided ones are kept in ``_FIXED`` for the
    run, since an answer cut by this run's deadline says nothing to a later run. A design the deadline leaves no
    time for is missing from the answer."""
    until = time.time() + (deadline - time.monotonic())  # a worker's clock is its own: it gets the wall time
    found: dict[Hashable, dict[str, tuple[Verdict, str]]] = {}
    if pool is None or len(designs) < PARALLEL_FIXES:
        for key, fixed in designs.items():
            verdicts = _check_fixed(fixed, list(names), until)
            if verdicts is None:
                break
            found[key] = verdicts
    else:
        futures = {pool.submit(_check_fixed, fixed, list(names), until): key for key, fixed in designs.items()}
        for future in children.by(futures, until):
            verdicts = None if future.cancelled() else future.result()
            if verdicts is not None:
                found[futures[future]] = verdicts
    for key, verdicts in found.items():
        if all(verdict is not Verdict.UNKNOWN for verdict, _ in verdicts.values()):
            _FIXED[key] = verdicts
    return found


def _check_fixed(fixed: Scenario, names: Sequence[str], until: float) -> dict[str, tuple[Verdict, str]] | None:
    """The verdict of each property on ``fixed`` and its words, by the wall-clock time ``until`` (a task of a pool,
    or of this process); None when that time has passed before it starts."""
    left = until - time.time()
    if left <= 0:
        return None
    results = compose.run_checks(fixed, list(names), timeout=left)
    return {r.property: (r.verdict, _verdict_words(r.verdict, r.depth)) for r in results}


def _verdict_words(verdict: Verdict, depth: int | None) -> str:
    if verdict is Verdict.VIOLATED:
        return f"violated ({depth} steps)"
    if verdict is Verdict.BOUNDED:
        return f"bounded to {depth} steps"
    return str(verdict.value)


KEPT = 10_000
"""Fixed designs whose keys one process keeps, at most (then they are forgotten and built again)."""

__all__ = ["FIXES", "FixCheck", "check"]
