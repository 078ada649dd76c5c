"""What a proof rests on (``regcheck.core.evidence``): one closed set of types, each said in words and as JSON."""

from __future__ import annotations

import pytest

from regcheck.core.engines import Options, explicit
from regcheck.core.evidence import Certificate, ExhaustiveSearch, LassoFreedom
from regcheck.core.expr import TRUE
from regcheck.core.result import Kind, Verdict
from regcheck.model.scenario import load_builtin
from regcheck.model.system import build
from regcheck.properties.catalogue import instantiate
from tests.catalogue import counter
from tests.clirun import flat, run, run_json

SEARCH_KEYS = ["method", "states", "transitions", "diameter", "symmetry", "fingerprint"]
LASSO_KEYS = ["method", "states", "transitions", "diameter", "components_examined", "obligations", "fairness",
              "symmetry", "fingerprint"]


def test_an_exhaustive_safety_proof_is_an_exhaustive_search() -> None:
    example = counter()
    (result,) = explicit.check(example.system, [example.holds], Options())
    evidence = result.evidence
    assert result.verdict is Verdict.PROVED and result.kind is Kind.SAFETY
    assert isinstance(evidence, ExhaustiveSearch)
    assert list(evidence.to_json()) == SEARCH_KEYS
    assert evidence.describe() == f"exhaustive search: {evidence.states} states, {evidence.transitions} transitions"
    assert evidence["states"] == evidence.states == 4


def test_an_exhaustive_liveness_proof_is_lasso_freedom() -> None:
    scenario = load_builtin("fix-run-as-user")
    prop = instantiate("notifications-delivered", scenario)
    (result,) = explicit.check(build(scenario), [prop], Options())
    evidence = result.evidence
    assert result.verdict is Verdict.PROVED and result.kind is Kind.LIVENESS
    assert isinstance(evidence, LassoFreedom)
    assert list(evidence.to_json()) == LASSO_KEYS
    assert evidence.fairness.startswith("weak") and evidence.fairness in evidence.describe()
    assert evidence.symmetry.startswith("off")


def test_a_certificate_says_itself_the_same_two_ways() -> None:
    certificate = Certificate("inductive-invariant", invariant=TRUE, rechecked_by=("z3",))
    assert certificate.describe() == "inductive invariant: TRUE"
    assert certificate.to_json() == {"kind": "inductive-invariant", "rechecked_by": ["z3"], "invariant": "TRUE"}


def test_the_cli_renders_evidence_in_words_and_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ("check", "fix-run-as-user", "--engine", "explicit")
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert "Proved notifications-delivered by exhaustive search:" in flat(out)
    code, document = run_json(capsys, *argv)
    kinds = {r["property"]: r["kind"] for r in document["results"]}
    assert kinds["notifications-delivered"] == "liveness" and kinds["worker-never-gets-network-error"] == "safety"
    for result in document["results"]:
        keys = LASSO_KEYS if result["kind"] == "liveness" else SEARCH_KEYS
        assert list(result["evidence"]) == keys


def test_a_certificate_summary_counts_top_level_conjuncts_and_characters() -> None:
    from regcheck.core.evidence import conjuncts

    assert conjuncts("a /\\ (b \\/ c) /\\ ~(x /\\ y) /\\ (r \\in {p, q})") == 4
    assert conjuncts("x") == 1
    certificate = Certificate("inductive-invariant", invariant=TRUE, notes={"counter_invariant": "a /\\ (b /\\ c)"})
    assert certificate.summary() == "inductive invariant, in counter form: 2 conjuncts, 13 characters"
    assert Certificate("k-induction", k=3).summary() == "3-inductive"
