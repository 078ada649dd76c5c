"""The Houdini engine: fast proofs from one-variable facts, never a counterexample, certificates re-checked.

Houdini's answer does not depend on the solver's models: the largest inductive subset of the
candidates is unique, so which properties it proves on a design is pinned here.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, event, given, settings

from regcheck.core import engines
from regcheck.core.abstraction import CounterAbstraction
from regcheck.core.certificate import recheck_invariant
from regcheck.core.engines import Options, houdini
from regcheck.core.evidence import Certificate
from regcheck.core.expr import And, Expr, and_, ne, var, variables
from regcheck.core.result import CheckResult, Verdict
from regcheck.core.system import Kind, Property
from regcheck.model import parameterised
from regcheck.model.scenario import Scenario, load_builtin
from regcheck.model.system import build
from regcheck.properties import catalogue
from regcheck.properties.catalogue import NAMES, instantiate, spec
from tests.catalogue import EXAMPLES
from tests.clirun import run_json
from tests.strategies import scenarios

SAFETY = [name for name in NAMES if spec(name).kind is Kind.SAFETY]
LIVENESS = [name for name in NAMES if spec(name).kind is Kind.LIVENESS]


def _check(scenario: Scenario, names: list[str] = SAFETY, options: Options | None = None) -> dict[str, CheckResult]:
    results = houdini.check(build(scenario), [instantiate(n, scenario) for n in names], options or Options())
    return {r.property: r for r in results}


def _lifted(scenario: Scenario) -> tuple[CounterAbstraction, list[Property]]:
    """The counter system of ``scenario`` and its per-worker safety properties lifted to it (as compose does)."""
    abstract = parameterised.abstraction(scenario)
    template = scenario.with_workers(1)
    props = []
    for name in SAFETY:
        p = catalogue.spec(name)
        parameterised.verify_per_worker(template, name, p.formula)
        props.append(Property(p.name, p.kind, p.description, p.source, abstract.lift(p.formula(template))))
    return abstract, props


def test_it_is_registered() -> None:
    assert "houdini" in engines.NAMES
    assert engines.get("houdini") is houdini.check


@pytest.mark.parametrize("workers", [2, 4])
def test_service_account_is_proved_quickly(workers: int) -> None:
    """One identity on every call: the registration only ever holds svc, a one-variable fact."""
    scenario = load_builtin("service-account").with_workers(workers)  # pool threads, each for any user
    start = time.monotonic()
    results = _check(scenario)
    assert time.monotonic() - start < 20  # PDR takes about a minute with 2 workers
    proved = [n for n, r in results.items() if r.verdict is Verdict.PROVED]
    assert proved == [n for n in SAFETY if n != "one-parked-wait-per-session"]
    result = results["worker-never-gets-network-error"]
    assert isinstance(result.evidence, Certificate) and result.evidence.kind == "inductive-invariant"
    assert result.evidence.invariant is not None and "reg[1]" in variables(result.evidence.invariant)
    assert result.evidence.notes["found_by"] == "houdini"
    assert result.evidence.rechecked_by[0] == "z3"
    if workers == 2:  # 4 workers have more reachable states than a certificate is evaluated on
        assert result.evidence.rechecked_by[1] == "reachable-states(4356)"
    # A property whose formula is dropped is unknown, with the reason.
    assert results["one-parked-wait-per-session"].verdict is Verdict.UNKNOWN
    assert results["one-parked-wait-per-session"].note == houdini.NOT_IMPLIED


def test_the_seeds_violations_are_unknown_never_violated() -> None:
    scenario = load_builtin("seed")
    results = _check(scenario, [*SAFETY, *LIVENESS])
    assert all(r.verdict in (Verdict.PROVED, Verdict.UNKNOWN) for r in results.values())
    for name, expected in scenario.expected.items():
        if expected == "violated":
            assert results[name].verdict is Verdict.UNKNOWN and results[name].trace is None
    assert results["registration-matches-admitted-calls"].verdict is Verdict.PROVED  # the seed's one safe invariant
    for name in LIVENESS:
        assert results[name].note == "houdini checks safety properties only"


@pytest.mark.parametrize(
    "name, unknown",
    [
        ("fix-run-as-user", {"one-parked-wait-per-session"}),
        ("fix-no-notifications", {"worker-never-gets-network-error", "no-registration-mismatch"}),
    ],
)
def test_the_fixes_concretely(name: str, unknown: set[str]) -> None:
    """On the concrete system some properties need facts over two variables (a worker's pc and its
    wait, the registration and the mismatch flag): those are unknown, the rest proved."""
    results = _check(load_builtin(name))
    assert {n for n, r in results.items() if r.verdict is Verdict.UNKNOWN} == unknown
    assert {n for n, r in results.items() if r.verdict is Verdict.PROVED} == set(SAFETY) - unknown


@pytest.mark.parametrize("name", ["fix-run-as-user", "fix-no-notifications", "service-account"])
def test_the_counter_system_proves_every_safety_property(name: str) -> None:
    """A counter of a local state is a fact about a whole worker: on the counter system every
    safety property of both fixes and of service-account is proved, and the invariant,
    instantiated for concrete workers, re-checks there (what compose's fixed-N proof through the
    abstraction needs)."""
    scenario = load_builtin(name)
    abstract, props = _lifted(scenario)
    start = time.monotonic()
    results = houdini.check(abstract.system, props, Options(timeout=60))
    assert time.monotonic() - start < 30
    assert [r.verdict for r in results] == [Verdict.PROVED] * len(props), [r.note for r in results]
    evidence = results[0].evidence
    assert isinstance(evidence, Certificate) and evidence.invariant is not None
    assert "reg[1]" in variables(evidence.invariant)
    assert evidence.notes["reachable_states"] == "not enumerated: a domain is unbounded"
    for workers in (1, 2):
        concrete = scenario.with_workers(workers)
        invariant = parameterised.instantiate(concrete, abstract, evidence.invariant)
        assert recheck_invariant(build(concrete), [instantiate(n, concrete) for n in SAFETY], invariant) is None


def test_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    """--engine houdini: proofs carry found_by in the JSON; the unknowns make the exit code 3; cvc5 may re-check."""
    code, document = run_json(capsys, "check", "service-account", "--engine", "houdini", "--recheck", "cvc5")
    assert code == 3
    results = {r["property"]: r for r in document["results"]}
    proved = results["worker-never-gets-network-error"]
    assert proved["verdict"] == "proved" and proved["engine"] == "houdini"
    assert proved["evidence"]["found_by"] == "houdini" and proved["evidence"]["rechecked_by"][0] == "cvc5"
    assert {r["verdict"] for r in results.values()} == {"proved", "unknown"}


def test_a_tampered_invariant_is_rejected() -> None:
    scenario = load_builtin("service-account")
    system = build(scenario)
    prop = instantiate("worker-never-gets-network-error", scenario)
    (result,) = houdini.check(system, [prop], Options())
    assert result.verdict is Verdict.PROVED and isinstance(result.evidence, Certificate)
    invariant = result.evidence.invariant
    assert isinstance(invariant, And) and recheck_invariant(system, prop, invariant) is None
    # Without the fact about the registration it is no longer inductive.
    weakened = and_(*(c for c in invariant.args if "reg[1]" not in variables(c)))
    assert "preserve" in (recheck_invariant(system, prop, weakened) or "")
    # A fact the initial state breaks.
    assert "initial" in (recheck_invariant(system, prop, and_(invariant, ne(var("pc[1]"), "start"))) or "")


def test_an_invariant_false_in_a_reachable_state_is_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should the candidates and the solver's re-check both go wrong, the reachable states still catch it."""
    example = EXAMPLES["counter"]()
    wrong: list[Expr] = [ne(var("x"), 2), example.holds.formula]  # x = 2 is reachable
    monkeypatch.setattr(houdini, "_houdini", lambda *args: wrong)
    monkeypatch.setattr(houdini, "recheck_invariant", lambda *args, **kwargs: None)
    (result,) = houdini.check(example.system, [example.holds], Options())
    assert result.verdict is Verdict.UNKNOWN
    assert result.note == "internal error: houdini's invariant is wrong (it is false in the reachable state x=2)"


def test_an_invariant_that_does_not_recheck_is_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    example = EXAMPLES["long-chain"]()
    monkeypatch.setattr(houdini, "_houdini", lambda *args: [example.holds.formula])  # x != 40 alone: 39 climbs to 40
    (result,) = houdini.check(example.system, [example.holds], Options())
    assert result.verdict is Verdict.UNKNOWN
    assert result.note.startswith("internal error: houdini's invariant did not re-check (z3: an action does not")


def test_the_catalogue_examples() -> None:
    example = EXAMPLES["counter"]()
    holds, fails = houdini.check(example.system, [example.holds, example.fails], Options())
    assert holds.verdict is Verdict.PROVED and fails.verdict is Verdict.UNKNOWN
    assert holds.evidence.rechecked_by == ("z3", "reachable-states(4)")


def test_the_deadline_gives_unknown() -> None:
    scenario = load_builtin("service-account").with_workers(4)
    results = _check(scenario, options=Options(timeout=1e-6))
    for result in results.values():
        assert result.verdict is Verdict.UNKNOWN and result.note.startswith("houdini: timeout after"), result.note


def test_progress_is_reported() -> None:
    said: list[str] = []
    _check(load_builtin("fix-run-as-user"), options=Options(progress=said.append))
    assert said and all(line.startswith("houdini: ") for line in said)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios())
def test_what_houdini_proves_the_explicit_engine_proves(scenario: Scenario) -> None:
    """Soundness cross-check on random small designs: never violated, and never proved where a
    complete search finds a violation."""
    system = build(scenario)
    props = [instantiate(n, scenario) for n in SAFETY]
    mine = houdini.check(system, props, Options())
    assert all(r.verdict in (Verdict.PROVED, Verdict.UNKNOWN) for r in mine)
    assert not any(r.note.startswith("internal error") for r in mine)
    proved = [p for p, r in zip(props, mine) if r.verdict is Verdict.PROVED]
    event(f"houdini proves {len(proved)} of {len(props)}")
    if proved:
        for result in engines.get("explicit")(system, proved, Options()):
            assert result.verdict is Verdict.PROVED, (result.property, result.note)
