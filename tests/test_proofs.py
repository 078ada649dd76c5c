"""Proof engines: k-induction and PDR agree with BMC, certificates re-check (and weakened ones do not),
the counter abstraction agrees with fixed-N proofs."""

from __future__ import annotations

import pytest

from regcheck import compose
from regcheck.core.certificate import of_reachable_states, recheck_invariant, recheck_kinduction
from regcheck.core.engines import Options, bmc, kinduction, pdr
from regcheck.core.evidence import Certificate, ExhaustiveSearch
from regcheck.core.expr import TRUE, and_, ne, var
from regcheck.core.result import Verdict, outcome
from regcheck.core.system import Kind
from regcheck.model import parameterised
from regcheck.model.scenario import load_builtin, with_overrides
from regcheck.model.system import build
from regcheck.properties import catalogue
from regcheck.properties.catalogue import NAMES, instantiate
from tests.catalogue import EXAMPLES

ENGINES = {"bmc": bmc.check, "kinduction": kinduction.check, "pdr": pdr.check}


@pytest.mark.parametrize("engine", sorted(ENGINES))
@pytest.mark.parametrize("name", ["counter", "mutex"])
def test_catalogue_through_every_engine(engine: str, name: str) -> None:
    example = EXAMPLES[name]()
    holds, fails = ENGINES[engine](example.system, [example.holds, example.fails], Options(depth=10, timeout=60))
    assert fails.verdict is Verdict.VIOLATED and fails.depth == example.shortest
    assert fails.trace is not None and len(fails.trace) == example.shortest
    if engine == "bmc":
        assert holds.verdict is Verdict.BOUNDED and holds.depth == 10
    else:
        assert holds.verdict is Verdict.PROVED
        assert isinstance(holds.evidence, Certificate) and holds.evidence.rechecked_by[0] == "z3"
        assert holds.evidence.rechecked_by[1].startswith("reachable-states(")


def test_kinduction_is_unknown_when_not_inductive_within_the_limit() -> None:
    example = EXAMPLES["long-chain"]()
    (result,) = kinduction.check(example.system, [example.holds], Options(depth=10))
    assert result.verdict is Verdict.UNKNOWN
    assert "not k-inductive" in result.note
    (proved,) = kinduction.check(example.system, [example.holds], Options(depth=40))
    assert proved.verdict is Verdict.PROVED and proved.evidence.k == 31
    (by_pdr,) = pdr.check(example.system, [example.holds], Options())
    assert by_pdr.verdict is Verdict.PROVED


@pytest.mark.parametrize("solver", ["z3", "cvc5"])
def test_a_weakened_certificate_is_rejected(solver: str) -> None:
    scenario = load_builtin("fix-no-notifications")
    system = build(scenario)
    prop = instantiate("worker-never-gets-network-error", scenario)
    (result,) = pdr.check(system, [prop], Options())
    assert result.verdict is Verdict.PROVED
    invariant = result.evidence.invariant
    assert recheck_invariant(system, prop, invariant, solver=solver) is None
    # Dropping the invariant to the property alone, or to TRUE, loses inductiveness or the property.
    assert "preserve" in (recheck_invariant(system, prop, prop.formula, solver=solver) or "")
    assert "imply the property" in (recheck_invariant(system, prop, TRUE, solver=solver) or "")
    # An invariant that excludes the initial state is rejected too.
    assert "initial" in (recheck_invariant(system, prop, and_(invariant, ne(var("pc[1]"), "start")), solver=solver) or "")


def test_kinduction_certificate_recheck() -> None:
    example = EXAMPLES["long-chain"]()
    assert recheck_kinduction(example.system, example.holds, 31) is None
    assert "not 30-inductive" in (recheck_kinduction(example.system, example.holds, 30) or "")
    assert "violation" in (recheck_kinduction(example.system, example.fails, 5) or "")


@pytest.mark.parametrize("engine", ["pdr", "kinduction", "bmc"])
def test_seed_violation_is_shortest_whatever_the_engine(engine: str) -> None:
    scenario = load_builtin("seed")
    (result,) = compose.run_checks(scenario, ["worker-never-gets-network-error"], engine=engine, depth=12, timeout=120)
    assert result.verdict is Verdict.VIOLATED and result.depth == 5
    assert result.trace is not None and result.trace.meta["replayed"] is True
    assert [s.action for s in result.trace.steps][-2:] == ["EcDoAsyncWaitEx", "EcDoRpcExt2"]


@pytest.mark.parametrize("name", ["fix-run-as-user", "fix-no-notifications", "service-account"])
def test_fixes_proved_for_any_number_of_workers(name: str) -> None:
    scenario = with_overrides(load_builtin(name), ["workers=any"])
    names = [n for n in NAMES if catalogue.spec(n).kind is Kind.SAFETY]
    results = compose.run_checks(scenario, names, engine="auto", timeout=120)
    for result in results:
        assert result.verdict is Verdict.PROVED, (result.property, result.note)
        assert result.evidence.notes["parameterised"] is True
        assert "counter abstraction" in result.evidence.notes["abstraction"]


@pytest.mark.parametrize("workers", [1, 2, 3, 4])
def test_parameterised_proof_agrees_with_fixed_n(workers: int) -> None:
    """fix-no-notifications: the any-N verdicts equal the fixed-N verdicts (direct Spacer, no abstraction)."""
    scenario = with_overrides(load_builtin("fix-no-notifications"), ["workers=any"])
    safety = [n for n in NAMES if catalogue.spec(n).kind is Kind.SAFETY]
    any_n = {r.property: r.verdict for r in compose.run_checks(scenario, safety, engine="pdr", timeout=120)}
    concrete = scenario.with_workers(workers)
    system = build(concrete)
    direct = pdr.check(system, [instantiate(n, concrete) for n in NAMES if n in any_n], Options(timeout=120))
    assert {r.property: r.verdict for r in direct} == any_n
    # And the counter invariant, instantiated for this N, is inductive on the concrete system.
    abstract = parameterised.abstraction(scenario)
    (proved,) = pdr.check(abstract.system, [_lifted(abstract, scenario)], Options(timeout=120))
    invariant = parameterised.instantiate(concrete, abstract, proved.evidence.invariant)
    assert recheck_invariant(system, instantiate("worker-never-gets-network-error", concrete), invariant) is None


def _lifted(abstract, scenario):  # type: ignore[no-untyped-def]
    from regcheck.core.system import Kind, Property

    template = scenario.with_workers(1)
    formula = abstract.lift(instantiate("worker-never-gets-network-error", template).formula)
    return Property("worker-never-gets-network-error", Kind.SAFETY, "", "", formula)


def test_a_thread_pool_counterexample_is_concretised_to_two_workers() -> None:
    """Pool workers taking any user's jobs, notifications off: it takes two workers (two users' jobs at once)."""
    scenario = with_overrides(load_builtin("thread-pool"), ["workers=any", "jobs=1"])
    (result,) = compose.run_checks(scenario, ["no-registration-mismatch"], timeout=120)
    assert result.verdict is Verdict.VIOLATED and result.scope.parameterised
    assert result.trace is not None and result.trace.meta["workers"] == 2 and result.trace.meta["replayed"] is True
    taken = [s.labels["context"] for s in result.trace.steps if s.action == "TakeJob"]
    assert sorted(taken) == ["alice", "bob"]


def test_parameterised_counterexample_is_concretised_and_replayed() -> None:
    scenario = with_overrides(load_builtin("multi-user"), ["users=alice", "worker_users=alice", "connect_flags=0", "workers=any"])
    (result,) = compose.run_checks(scenario, ["worker-never-gets-network-error"], engine="bmc", depth=8, timeout=120)
    assert result.verdict is Verdict.VIOLATED
    assert result.trace is not None and result.trace.meta["replayed"] is True
    assert result.trace.meta["workers"] == 1 and len(result.trace) == 5


def test_cli_recheck_with_cvc5(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from regcheck.cli import main

    code = main(["check", "fix-no-notifications", "--set", "workers=any", "--recheck", "cvc5", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1  # fix B delivers no notifications, already with one worker
    verdicts = {r["property"]: r["verdict"] for r in doc["results"]}
    assert verdicts.pop("notifications-delivered") == "violated"
    assert set(verdicts.values()) == {"proved"}
    for result in doc["results"]:
        if result["kind"] == "safety":
            assert result["evidence"]["rechecked_by"] == ["cvc5"]
            assert result["evidence"]["parameterised"] is True
    assert main(["check", "--recheck", "yices"]) == 2
    assert "--recheck" in capsys.readouterr().err


def test_small_systems_are_certified_by_their_reachable_states() -> None:
    """auto's quick pass proves fix A's safety by exhaustion; its 18 states, as one disjunction, are the
    certificate, re-checked by z3; 324 states (two workers) are too many, and the exhaustive search stands."""
    safety = [n for n in NAMES if catalogue.spec(n).kind is Kind.SAFETY]
    one = load_builtin("fix-run-as-user")
    for result in compose.run_checks(one, safety):
        assert result.verdict is Verdict.PROVED and result.engine == "auto:explicit", result
        assert isinstance(result.evidence, Certificate) and result.depth is None
        assert result.evidence.rechecked_by == ("z3", "reachable-states(18)")
        assert result.evidence.describe() == (
            "inductive invariant: the 18 reachable states of an explicit-state search, one disjunct each")
    two = with_overrides(one, ["workers=2"])
    for result in compose.run_checks(two, safety[:1]):
        assert result.engine == "auto:explicit" and isinstance(result.evidence, ExhaustiveSearch)
        assert result.evidence["states"] == 171  # the 324 states, reduced by the symmetry of the two workers


def test_reachable_states_that_do_not_imply_a_property_are_an_internal_error() -> None:
    """Should the explicit search call a violated property proved, the re-check of its states refuses it."""
    seed = load_builtin("seed")
    system = build(seed)
    violated = instantiate("worker-never-gets-network-error", seed)
    certificate, failure = of_reachable_states(system, [violated])
    assert certificate is None
    assert failure == ("internal error: the 18 reachable states are not an inductive invariant "
                       "(z3: it does not imply the property)")
    claimed = [outcome(violated, "explicit", Verdict.PROVED, None, 0.0)]
    (result,) = compose._certified(system, claimed, {violated.name: violated}, "z3")
    assert result.verdict is Verdict.UNKNOWN and result.note == failure
