"""What a ``proved`` rests on: updates stay in their domains, certificates are re-checked without
leaning on the encoding that produced them, and explicit proofs name the state set they covered."""

from __future__ import annotations

import gc
import weakref

import pytest

from regcheck.core import certificate, domains
from regcheck.core.certificate import on_reachable_states, recheck_invariant, recheck_kinduction
from regcheck.core.compile import compile_system, fingerprint
from regcheck.core.engines import Options, bmc, distinct, explicit, houdini, kinduction, pdr
from regcheck.core.evidence import Certificate
from regcheck.core.expr import TRUE, Expr, add, and_, eq, le, mul, ne, var
from regcheck.core.result import Verdict
from regcheck.core.smt import HornAnswer, HornProblem
from regcheck.core.system import (
    Action,
    Domain,
    Kind,
    Property,
    TransitionSystem,
    Variable,
    boolean,
    enum,
    int_range,
    naturals,
)
from regcheck.errors import InvalidModel
from regcheck.model import parameterised
from regcheck.model.scenario import builtin_names, load_builtin, with_overrides
from regcheck.model.system import build
from regcheck.properties.catalogue import instantiate
from tests.catalogue import EXAMPLES, counter
from tests.strategies import resized

X = var("x")


def _counter(guard: Expr, domain: Domain | None = None) -> TransitionSystem:
    """x in 0..1 (or ``domain``), starting at 0; Inc adds 1 under ``guard``."""
    return TransitionSystem(
        "inc", (Variable("x", domain or int_range(0, 1)),), eq(X, 0), (Action("Inc", (), guard, (("x", add(X, 1)),)),)
    )


def _prop(formula: Expr) -> Property:
    return Property("p", Kind.SAFETY, "", "", formula)


RUNS = {
    "bmc": lambda s, p: bmc.check(s, [p], Options(depth=4)),
    "kinduction": lambda s, p: kinduction.check(s, [p], Options(depth=4)),
    "pdr": lambda s, p: pdr.check(s, [p], Options()),
    "houdini": lambda s, p: houdini.check(s, [p], Options()),
    "explicit": lambda s, p: explicit.check(s, [p], Options()),
    "explore": lambda s, p: explicit.explore(s),
    "distinct": lambda s, p: distinct.counterexamples(s, p, (), depth=4, limit=1),
}


@pytest.mark.parametrize("engine", sorted(RUNS))
def test_an_update_leaving_its_domain_is_rejected_by_every_engine(engine: str) -> None:
    """x := x + 1 at the top of 0..1: the z3 encodings would have disabled the action there and "proved" x <= 1."""
    system = _counter(le(X, 4))
    with pytest.raises(InvalidModel, match=r"Inc\(\) sets x to 2, outside its domain 0..1, in the state x=1"):
        RUNS[engine](system, _prop(le(X, 1)))


def test_an_escape_from_an_unreachable_state_is_rejected_too() -> None:
    """The check is over every state within the domains, not only the reachable ones."""
    system = _counter(eq(X, 2), int_range(0, 2))  # x never reaches 2 (Inc needs x = 2), yet 3 is out
    with pytest.raises(InvalidModel, match="sets x to 3"):
        domains.check_domains(system)


def test_unbounded_counters_are_checked_below_only() -> None:
    domains.check_domains(_counter(TRUE, naturals()))  # no upper bound to leave
    def down(guard: Expr) -> TransitionSystem:
        return TransitionSystem("dec", (Variable("x", naturals()),), eq(X, 0), (Action("Dec", (), guard, (("x", add(X, -1)),)),))

    with pytest.raises(InvalidModel, match="sets x to -1, outside its domain 0.., in the state x=0"):
        domains.check_domains(down(TRUE))
    domains.check_domains(down(le(1, X)))


def test_only_updates_the_type_checker_cannot_place_need_a_proof() -> None:
    wide, narrow, flag = var("wide"), var("narrow"), var("flag")
    system = TransitionSystem(
        "copy",
        (Variable("wide", enum("a", "b", "c")), Variable("narrow", enum("a", "b")), Variable("flag", boolean())),
        and_(eq(wide, "a"), eq(narrow, "a"), eq(flag, False)),
        (
            Action("Widen", (), TRUE, (("wide", narrow), ("flag", eq(wide, narrow)))),
            Action("Narrow", (), flag, (("narrow", wide),)),
        ),
    )
    assert system.updates_to_prove() == [(1, "narrow")]
    with pytest.raises(InvalidModel, match="Narrow\\(\\) sets narrow to 'c'"):
        domains.check_domains(system)


def test_the_answer_is_computed_once_per_system(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = domains.find_escape

    def counted(system: TransitionSystem, *, timeout: float) -> object:
        calls.append(system.name)
        return real(system, timeout=timeout)

    monkeypatch.setattr(domains, "find_escape", counted)
    system = counter().system
    for _ in range(3):
        domains.check_domains(system)
        on_reachable_states(system, Certificate("k-induction", k=1), TRUE)
    assert calls == ["counter"]
    collected = weakref.ref(system)
    del system
    gc.collect()
    assert collected() is None  # the answers kept do not keep the system alive


@pytest.mark.parametrize("workers", [1, 2, 3, 8])
@pytest.mark.parametrize("name", builtin_names())
def test_the_protocol_model_stays_in_its_domains(name: str, workers: int) -> None:
    """Every built-in scenario, and the counter abstraction of its identical workers (one worker
    alone is no evidence that more would be identical: the product check refuses multi-user's)."""
    base = load_builtin(name)
    scenario = with_overrides(base, resized(base, workers))
    domains.check_domains(build(scenario))
    if parameterised.symmetric(scenario) and workers > 1:
        domains.check_domains(parameterised.abstraction(scenario).system)


@pytest.mark.parametrize("solver", ["z3", "cvc5"])
def test_certificate_rechecks_do_not_trust_the_domain_constraints(solver: str) -> None:
    """On a model that leaves its domain, both re-checks say so (the encoding alone would accept them)."""
    system = _counter(TRUE, int_range(0, 2))
    assert "out of a variable's domain" in (recheck_invariant(system, _prop(TRUE), TRUE, solver=solver) or "")
    assert "out of its domain" in (recheck_kinduction(system, _prop(TRUE), 1, solver=solver) or "")


def test_certificates_are_evaluated_on_every_reachable_state() -> None:
    example = EXAMPLES["mutex"]()
    states = explicit.check(example.system, [example.holds], Options(symmetry=False))[0].evidence["states"]
    for run in (pdr.check, kinduction.check):
        (result,) = run(example.system, [example.holds], Options(depth=5))
        assert result.verdict is Verdict.PROVED
        assert result.evidence.rechecked_by == ("z3", f"reachable-states({states})")
        assert "an evaluation on each of 3 reachable states" in result.evidence.rechecks()


def test_a_certificate_false_in_a_reachable_state_is_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should Spacer's invariant pass the solver's re-check and still be wrong, the verdict is unknown, never proved."""
    example = counter()
    wrong = ne(X, 2)  # x = 2 is reachable
    monkeypatch.setattr(HornProblem, "query", lambda self, formula, timeout=None: HornAnswer("unsat", invariant=wrong))
    monkeypatch.setattr("regcheck.core.engines.pdr.recheck_invariant", lambda *args, **kwargs: None)
    (result,) = pdr.check(example.system, [example.holds], Options())
    assert result.verdict is Verdict.UNKNOWN
    assert result.note == "internal error: Spacer's invariant is wrong (it is false in the reachable state x=2)"
    _, failure = on_reachable_states(example.system, Certificate("k-induction", k=1), wrong)
    assert failure == "it is false in the reachable state x=2"


def test_too_many_states_to_enumerate_is_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(certificate, "REACHABLE_STATES", 3)
    (result,) = pdr.check(counter().system, [counter().holds], Options())  # x takes 4 values
    assert result.verdict is Verdict.PROVED and result.evidence.rechecked_by == ("z3",)
    assert result.evidence.notes["reachable_states"] == "not enumerated: more than 3 states"
    unbounded = on_reachable_states(_counter(TRUE, naturals()), Certificate("k-induction", k=1), TRUE)
    assert unbounded == (Certificate("k-induction", k=1, notes={"reachable_states": "not enumerated: a domain is unbounded"}), "")


def test_explicit_proofs_fingerprint_the_states_they_covered() -> None:
    example = counter()
    reordered = TransitionSystem(
        "counter", example.system.variables, example.system.init, tuple(reversed(example.system.actions))
    )
    (first,) = explicit.check(example.system, [example.holds], Options())
    (again,) = explicit.check(reordered, [example.holds], Options())
    assert first.evidence["fingerprint"] == again.evidence["fingerprint"]
    compiled = compile_system(example.system)
    packed = [compiled.layout.pack({"x": x}) for x in (3, 1, 0, 2)]
    assert first.evidence["fingerprint"] == fingerprint(compiled.layout, packed)
    assert fingerprint(compiled.layout, packed[1:]) != fingerprint(compiled.layout, packed)
    assert first.evidence["fingerprint"].startswith("sha256:") and len(first.evidence["fingerprint"]) == 7 + 64


def test_explicit_liveness_proofs_are_fingerprinted() -> None:
    scenario = load_builtin("fix-run-as-user")
    names = ("notifications-delivered", "worker-requests-succeed")
    results = explicit.check(build(scenario), [instantiate(n, scenario) for n in names], Options())
    assert [r.verdict for r in results] == [Verdict.PROVED, Verdict.PROVED]
    assert len({r.evidence["fingerprint"] for r in results}) == 1


def test_bit_vectors_are_wide_enough_for_every_value() -> None:
    """x * x on 4..4 is 16, which a 5-bit encoding sized by the domains alone would wrap to -16."""
    y = var("y")
    system = TransitionSystem(
        "square",
        (Variable("y", int_range(4, 4)), Variable("b", boolean())),
        and_(eq(y, 4), eq(var("b"), False)),
        (Action("A", (), le(mul(y, y), 3), (("b", TRUE),)),),
    )
    never = _prop(~var("b"))
    assert bmc.check(system, [never], Options(depth=3))[0].verdict is Verdict.BOUNDED
    assert kinduction.check(system, [never], Options(depth=3))[0].verdict is Verdict.PROVED
