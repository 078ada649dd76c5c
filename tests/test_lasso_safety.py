"""The liveness-to-safety translation: a fair violating lasso exists iff the translation reaches ``bad``.

The explicit engine's fair-cycle search on the original system is the reference: where it proves
a liveness property, BMC finds no bad state of the translation; where it finds a lasso of L steps,
BMC reaches a bad state of the translation within L + 2 steps (the save, and a stutter that
closes a lasso ending in a state with no enabled action). PDR's proofs through the translation
carry an invariant of the translated system that is re-checked there.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from regcheck.core.engines import Options, bmc, explicit, pdr
from regcheck.core.lasso_safety import translate
from regcheck.core.result import Verdict
from regcheck.errors import InvalidArgument
from regcheck.model.scenario import Scenario, load_builtin, with_overrides
from regcheck.model.system import build
from regcheck.properties import catalogue
from tests.lassos import LIVENESS
from tests.strategies import scenarios


def _agree(scenario: Scenario) -> None:
    system = build(scenario)
    for name in LIVENESS:
        prop = catalogue.instantiate(name, scenario)
        (reference,) = explicit.check(system, [prop], Options())
        translation = translate(system, prop)
        if reference.verdict is Verdict.PROVED:
            (found,) = bmc.check(translation.system, [translation.property], Options(depth=8))
            assert found.verdict is Verdict.BOUNDED, (name, found.verdict)
        else:
            assert reference.verdict is Verdict.VIOLATED and reference.depth is not None, (name, reference.note)
            depth = reference.depth + 2
            (found,) = bmc.check(translation.system, [translation.property], Options(depth=depth))
            assert found.verdict is Verdict.VIOLATED, (name, reference.depth)


@pytest.mark.parametrize("name", ["seed", "fix-run-as-user", "fix-no-notifications", "multi-user",
                                  "re-register-on-miss", "exchange-2010", "mailbox-walker", "mixed-threads"])
def test_the_translation_agrees_with_the_fair_cycle_search_on_the_builtins(name: str) -> None:
    _agree(load_builtin(name))


@settings(max_examples=40, deadline=None)
@given(scenario=scenarios())
def test_the_translation_agrees_with_the_fair_cycle_search(scenario: Scenario) -> None:
    """On random one-worker scenarios (the unrolled translation doubles the state: kept small)."""
    if scenario.workers != 1:
        return
    _agree(scenario)


@pytest.mark.slow
def test_pdr_proves_a_liveness_property_through_the_translation() -> None:
    scenario = load_builtin("fix-no-notifications")  # its workers' requests succeed: fix B only stops notifications
    prop = catalogue.instantiate("worker-requests-succeed", scenario)
    (result,) = pdr.check(build(scenario), [prop], Options(timeout=120))
    assert result.verdict is Verdict.PROVED, result.note
    assert result.evidence.notes["translation"].startswith("liveness to safety")
    assert "l2s." in str(result.evidence.to_json()["invariant"])


def test_pdr_finds_the_seeds_lasso_and_it_is_a_shortest_one() -> None:
    scenario = load_builtin("seed")
    system = build(scenario)
    prop = catalogue.instantiate("notifications-delivered", scenario)
    (result,) = pdr.check(system, [prop], Options(timeout=60))
    (reference,) = explicit.check(system, [prop], Options())
    assert result.verdict is Verdict.VIOLATED and result.trace is not None and result.trace.loop is not None
    assert result.depth == reference.depth


def test_a_safety_property_is_not_translated() -> None:
    scenario = with_overrides(load_builtin("seed"), [])
    with pytest.raises(InvalidArgument, match="needs a liveness property"):
        translate(build(scenario), catalogue.instantiate("no-registration-mismatch", scenario))
