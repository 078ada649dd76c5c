"""``--set`` overrides change the design as they say, or are refused (regcheck/model/SEMANTICS.md, "Switches").

The oracle here reads a scenario's raw fields only, the way SEMANTICS.md defines the per-worker
design (who each worker serves, whether it impersonates), so that a resolution that drops or
reshapes a per-worker list cannot pass by agreeing with itself.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regcheck.errors import InvalidArgument
from regcheck.model import scenario as sc
from regcheck.model.scenario import ANY, ANY_USER, CHOICES, SETTABLE, Scenario

BUILTINS = sc.builtin_names()

VALUES: dict[str, tuple[tuple[str, Any], ...]] = {
    "workers": (("1", 1), ("2", 2), ("3", 3), ("any", ANY)),
    "requests": (("1", 1), ("2", 2)),
    "users": (("alice", ("alice",)), ("alice,bob", ("alice", "bob"))),
    "worker_users": (("alice", ("alice",)), ("alice,alice", ("alice", "alice")), ("alice+alice", (("alice", "alice"),)),
                     ("*,*", (ANY_USER, ANY_USER))),
    "jobs": (("1", 1), ("2", 2)),
    "impersonate": (("true", True), ("false", False)),
    "worker_impersonates": (("true", (True,)), ("false,false", (False, False)), ("true,false", (True, False))),
    "mailbox_access": (("svc:alice", {"svc": ("alice",)}),),
    "process_identity": (("SYSTEM", "SYSTEM"), ("alice", "alice")),
    "connect_flags": (("0", 0), ("0x20", 0x20)),
    "server_async": (("true", True), ("false", False)),
    **{key: tuple((v, v) for v in values) for key, values in CHOICES.items()},
}
"""For every switch ``--set`` takes, a few values as text and as the value the scenario must then hold."""

SHADOWING = {("impersonate", "worker_impersonates"), ("jobs", "worker_users"), ("workers", "worker_users"),
             ("workers", "worker_impersonates")}
"""(override, the more specific switch that can contradict it): the only pairs that may refuse an override
for being shadowed; every other pair of switches is independent."""


def _count(scenario: Scenario) -> int:
    return 1 if scenario.workers == ANY else int(scenario.workers)


def _design(scenario: Scenario) -> list[tuple[tuple[str, ...], bool]]:
    """Each worker's jobs and whether it impersonates, from the raw switches as SEMANTICS.md defines them."""
    rows = []
    for index in range(_count(scenario)):
        entry: str | tuple[str, ...]
        if scenario.worker_users:
            entry = scenario.worker_users[0 if scenario.workers == ANY else index]
        else:
            entry = scenario.users[index % len(scenario.users)]
        jobs = (entry,) * scenario.jobs if isinstance(entry, str) else entry
        flags = scenario.worker_impersonates
        rows.append((jobs, flags[0 if scenario.workers == ANY else index] if flags else scenario.impersonate))
    return rows


def _unmet(base: Scenario, given: dict[str, Any], resolved: Scenario) -> list[str]:
    """What of ``given`` (switch -> the value meant) the resolved design does not say, and what else changed."""
    wrong = []
    design = _design(resolved)
    for key, value in given.items():
        if key == "impersonate":
            wrong += [f"worker {w} impersonates {f}" for w, (_, f) in enumerate(design, 1) if f != value]
        elif key == "worker_impersonates":  # under workers = "any", one entry stands for every worker
            if [f for _, f in design] != list(value) and not (resolved.workers == ANY and {f for _, f in design} == set(value)):
                wrong.append(f"impersonation {[f for _, f in design]}")
        elif key == "jobs":
            wrong += [f"worker {w} has {len(j)} jobs" for w, (j, _) in enumerate(design, 1) if len(j) != value]
        elif key == "worker_users":
            meant = [(e,) * resolved.jobs if isinstance(e, str) else e for e in value]
            if [j for j, _ in design] != meant and not (resolved.workers == ANY and {j for j, _ in design} == set(meant)):
                wrong.append(f"jobs {[j for j, _ in design]}")
        elif getattr(resolved, key) != value:
            wrong.append(f"{key} is {getattr(resolved, key)!r}")
    before = _design(base)
    untouched = {0: not {"users", "jobs", "worker_users"} & set(given),
                 1: not {"impersonate", "worker_impersonates"} & set(given)}
    for part, what in ((0, "jobs"), (1, "impersonation")):
        old, new = [row[part] for row in before], [row[part] for row in design]
        if not untouched[part] or old == new:
            continue
        if "workers" in given and len(set(old)) == 1 and set(new) == set(old):
            continue  # alike workers stay alike, however many
        wrong.append(f"the workers' {what} changed from {old} to {new} though no switch of theirs was set")
    return wrong


def _resolve(base: Scenario, assignments: list[tuple[str, str, Any]]) -> tuple[Scenario | None, str]:
    try:
        return sc.with_overrides(base, [f"{k}={text}" for k, text, _ in assignments]), ""
    except InvalidArgument as exc:
        return None, str(exc)


def test_every_settable_switch_has_values_here() -> None:
    assert set(VALUES) == set(SETTABLE)


@pytest.mark.parametrize("name", BUILTINS)
def test_every_pair_of_switches_takes_effect_or_names_the_one_that_shadows_it(name: str) -> None:
    """Every ordered pair of switches, at every value here: the resolved design says what both say, or the
    override is refused; a refusal for shadowing names an override whose more specific switch
    (:data:`SHADOWING`) is in the pair or in the scenario."""
    base = sc.load_builtin(name)
    shadowed = set()
    for first, second in itertools.permutations(SETTABLE, 2):
        for a, b in itertools.product(VALUES[first], VALUES[second]):
            assignments = [(second, *b), (first, *a)]
            resolved, why = _resolve(base, assignments)
            if resolved is None:
                if "has no effect" in why or "would reshape" in why or "needs identical workers" in why:
                    refused = why.split()[1].split("=")[0]
                    partners = {specific for general, specific in SHADOWING if general == refused}
                    assert refused in (first, second), why
                    assert partners & {first, second} or any(getattr(base, p) for p in partners), why
                    shadowed.add(refused)
                continue
            given = {second: b[1], first: a[1]}
            assert not _unmet(base, given, resolved), (name, assignments, _unmet(base, given, resolved))
    assert shadowed <= {"impersonate", "jobs", "workers"}


@pytest.mark.parametrize(
    ("name", "assignments", "words"),
    [
        ("mixed-threads", ["impersonate=false"], ["impersonate=false", "worker_impersonates = [true, false]",
                                                  "--set worker_impersonates=false,false"]),
        ("mixed-threads", ["workers=3"], ["workers=3", "worker_impersonates", "--set worker_impersonates="]),
        ("mixed-threads", ["workers=any"], ["workers=any", "identical"]),
        ("multi-user", ["workers=3"], ["workers=3", "worker_users", "alice,bob"]),
        ("mailbox-walker", ["jobs=3"], ["jobs=3", "worker 1", "alice+bob"]),
        ("seed", ["worker_impersonates=true", "impersonate=false"], ["impersonate=false", "worker_impersonates"]),
    ],
)
def test_a_shadowed_override_is_refused_naming_both_switches(name: str, assignments: list[str],
                                                              words: list[str]) -> None:
    with pytest.raises(InvalidArgument) as info:
        sc.with_overrides(sc.load_builtin(name), assignments)
    for word in words:
        assert word in str(info.value)


def test_the_same_number_of_workers_keeps_every_per_worker_list() -> None:
    """The mixed-threads design at its own count is the design named, so it is still violated (no lists dropped)."""
    mixed = sc.load_builtin("mixed-threads")
    same = sc.with_overrides(mixed, ["workers=2"])
    assert same.worker_impersonates == (True, False) and same.worker_users == ("alice", "alice")


def test_alike_workers_follow_a_new_number_of_workers() -> None:
    pool = sc.with_overrides(sc.load_builtin("thread-pool"), ["workers=4"])
    assert pool.worker_users == (ANY_USER,) * 4


def test_a_switch_given_twice_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="workers is given twice"):
        sc.with_overrides(sc.load_builtin("seed"), ["workers=2", "workers=3"])


OVERRIDE = st.sampled_from(sorted(VALUES)).flatmap(lambda key: st.sampled_from(VALUES[key]).map(lambda v: (key, *v)))


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(BUILTINS), st.lists(OVERRIDE, min_size=1, max_size=5, unique_by=lambda a: a[0]))
def test_random_overrides_of_a_builtin_resolve_to_what_they_say_or_are_refused(
    name: str, assignments: list[tuple[str, str, Any]]
) -> None:
    base = sc.load_builtin(name)
    resolved, _ = _resolve(base, assignments)
    if resolved is not None:
        assert not _unmet(base, {k: v for k, _, v in assignments}, resolved)
        assert resolved.expected == {}
