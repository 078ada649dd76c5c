"""The checks of what a fix does are shared between designs that differ only in what their users are called: a
renamed design builds the original's system with its values renamed, gets the same verdicts, has the same
canonical form, and ``diagnose`` checks it once; on a pool the checks give the answers they give in one process."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from regcheck import children, compose, diagnosis, fixchecks
from regcheck.core.result import Verdict
from regcheck.errors import InvalidArgument
from regcheck.model.observations import parse_jsonl
from regcheck.model.scenario import (
    ANY_USER,
    NAMING,
    RESERVED_NAMES,
    SYSTEM,
    Scenario,
    builtin_names,
    load_builtin,
    renamed,
    with_overrides,
)
from regcheck.model.system import build
from regcheck.properties import catalogue
from tests.strategies import scenarios

ARTICLE = Path(__file__).resolve().parent.parent / "examples" / "logs" / "article-customer.jsonl"
NAMES = st.from_regex(r"[a-z][a-z0-9_.-]{0,5}", fullmatch=True).filter(lambda n: n not in RESERVED_NAMES)
DESIGNS = [name for name in builtin_names() if not load_builtin(name).parameterised]


@st.composite
def renamings(draw: st.DrawFn, scenario: Scenario) -> dict[str, str]:
    """A one-to-one renaming of the scenario's users and service accounts: fresh names, or the old ones permuted."""
    old = list(scenario.identities[1:])
    pool = draw(st.lists(NAMES, min_size=len(old), max_size=len(old), unique=True))
    new = draw(st.permutations(list(dict.fromkeys([*old, *pool]))))[: len(old)]
    return dict(zip(old, new, strict=True))


def _strings(value: Any) -> set[str]:
    """Every string in a built system or property, or a scenario's switches: values and names alike."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, tuple | list):
        return set().union(*map(_strings, value)) if value else set()
    if isinstance(value, Mapping):
        return _strings([*value.keys(), *value.values()])
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _strings([getattr(value, f.name) for f in dataclasses.fields(value)])
    return set()


def _mapped(value: Any, names: Mapping[str, str]) -> Any:
    """``value`` with every string that ``names`` renames renamed, all at once."""
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, tuple):
        return tuple(_mapped(v, names) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: _mapped(getattr(value, f.name), names)
                                             for f in dataclasses.fields(value) if f.init})
    return value


def _what_is_checked(scenario: Scenario) -> tuple[Any, ...]:
    """The system's semantics and every property's instance: what a verdict is of (``meta`` only names it)."""
    system = build(scenario)
    return (system.variables, system.init, system.actions, system.symmetry, system.stutter,
            tuple(catalogue.instantiate(spec.name, scenario) for spec in catalogue.CATALOGUE))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_renamed_design_builds_the_same_system_with_its_values_renamed(data: st.DataObject) -> None:
    scenario = data.draw(scenarios())
    names = data.draw(renamings(scenario))
    original = _what_is_checked(scenario)
    assume(not set(names.values()) & (_strings(original) - set(names)))  # a new name is no other word of the model
    assert _what_is_checked(renamed(scenario, names)) == _mapped(original, names)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_renamed_designs_have_one_canonical_form(data: st.DataObject) -> None:
    scenario = data.draw(scenarios())
    names = data.draw(renamings(scenario))
    again = renamed(scenario, names)
    assert fixchecks._canonical(again) == fixchecks._canonical(scenario)
    assert fixchecks._fix_key(fixchecks._canonical(again), ["no-registration-mismatch"]) == \
        fixchecks._fix_key(fixchecks._canonical(scenario), ["no-registration-mismatch"])


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(DESIGNS), st.sampled_from([None, *fixchecks.FIXES.values()]), st.data())
def test_a_renamed_design_gets_the_same_verdicts(name: str, fix: Any, data: st.DataObject) -> None:
    scenario = load_builtin(name)
    if fix is not None:
        try:
            scenario = with_overrides(scenario, fix(scenario))
        except InvalidArgument:
            assume(False)
    names = data.draw(renamings(scenario))

    def verdicts(s: Scenario) -> list[tuple[str, Verdict, int | None]]:
        return [(r.property, r.verdict, r.depth) for r in compose.run_checks(s, [], timeout=60)]

    assert verdicts(renamed(scenario, names)) == verdicts(scenario)


def test_every_switch_that_names_a_user_is_renamed() -> None:
    """No switch of a renamed design still holds an old name, and the switches renamed are switches of a design."""
    scenario = Scenario(workers=3, users=("alice", "bob"), worker_users=("alice", ("bob", "alice"), ANY_USER),
                        jobs=2, mailbox_access={"svc": ("alice", "bob"), SYSTEM: ("bob",)}, process_identity="svc")
    again = renamed(scenario, {"alice": "x1", "bob": "x2", "svc": "x3"})
    assert not {"alice", "bob", "svc"} & _strings(again.switches())
    assert again.worker_users == ("x1", ("x2", "x1"), ANY_USER) and again.process_identity == "x3"
    assert dict(again.mailbox_access) == {"x3": ("x1", "x2"), SYSTEM: ("x2",)}
    assert set(NAMING) <= {f.name for f in dataclasses.fields(Scenario)}


@pytest.mark.parametrize("names", [{"alice": "bob"}, {"alice": "svc"}, {"alice": SYSTEM}])
def test_a_renaming_that_is_not_one_to_one_is_refused(names: dict[str, str]) -> None:
    scenario = Scenario(users=("alice", "bob"), mailbox_access={"svc": ("alice",)})
    with pytest.raises(InvalidArgument, match="not one to one"):
        renamed(scenario, names)


def _log_of(user: str) -> list[Any]:
    """The article's log, the user of its worker called ``user``."""
    return parse_jsonl(ARTICLE.read_text(encoding="utf-8").replace("CONTOSO\\\\alice", f"CONTOSO\\\\{user}"))


@pytest.fixture()
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> dict[Any, Any]:
    """An empty cache of fix checks for the test (the module's is shared by the process)."""
    cache: dict[Any, Any] = {}
    monkeypatch.setattr(fixchecks, "_FIXED", cache)
    return cache


def test_a_log_that_differs_only_in_its_users_names_checks_no_fix_again(fresh_cache: dict[Any, Any]) -> None:
    base = load_builtin("seed")
    first = diagnosis.diagnose(_log_of("bob"), base, ["on_mismatch", "registration"])
    kept = len(fresh_cache)
    again = diagnosis.diagnose(_log_of("carol"), base, ["on_mismatch", "registration"])
    assert kept and len(fresh_cache) == kept
    assert [g.fixes for g in again.explained] == [g.fixes for g in first.explained]
    assert any(f.rules_out for g in again.explained for f in g.fixes)


def test_fix_checks_on_a_pool_give_the_answers_of_one_process(fresh_cache: dict[Any, Any],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    base = load_builtin("seed")
    alone = diagnosis.diagnose(_log_of("bob"), base, ["on_mismatch", "registration", "async_failure"])
    kept = dict(fresh_cache)
    fresh_cache.clear()
    monkeypatch.setattr(fixchecks, "PARALLEL_FIXES", 1)
    with children.pool(2) as pool:
        shared = diagnosis.diagnose(_log_of("bob"), base, ["on_mismatch", "registration", "async_failure"], pool=pool)
    assert [g.fixes for g in shared.explained] == [g.fixes for g in alone.explained]
    assert fresh_cache == kept  # the verdicts computed by the pool's processes are kept by this one


@pytest.mark.parametrize("on_pool", [False, True])
def test_a_fix_check_the_deadline_leaves_no_time_for_is_not_decided_and_not_kept(
        on_pool: bool, fresh_cache: dict[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    explained = diagnosis.diagnose(_log_of("bob"), load_builtin("seed"), ["on_mismatch"], check_fixes=False)
    group = explained.explained[0]
    names = [p for p, _ in group.violated]
    monkeypatch.setattr(fixchecks, "PARALLEL_FIXES", 1)
    with children.pool(2) if on_pool else contextlib.nullcontext() as pool:
        fixes = fixchecks.check([o.setting.scenario for o in group.outcomes], names, time.monotonic() - 1, pool)
    assert not fresh_cache
    assert not any(f.rules_out for f in fixes)
    assert {said for f in fixes for _, said in f.verdicts} == {"not decided (timeout)"}
