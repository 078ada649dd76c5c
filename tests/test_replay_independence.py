"""Replay shares nothing it checks with the symbolic model, and a mutation of the model shows it.

Replay (``regcheck/model/replay.py`` on ``regcheck/model/simulator.py``) must catch a wrong derived fact of a scenario or a
wrong property formula in the model: it reads only the scenario's raw switches and judges each property
by its own definition (``regcheck/model/reference_design.py``, ``regcheck/model/reference_properties.py``). Here:

* the reference modules touch a ``Scenario`` only through its dataclass fields (read from the source with
  ``ast``), and import nothing of the model's facts or formulas;
* replay works with every derived member of ``Scenario`` made to raise;
* replay's definitions agree with the catalogue's formulas where both are right (the golden
  counterexamples, and random walks over random designs);
* the mutation test: each derived fact the model uses, and each property's formula, is replaced in turn
  by a wrong but plausible one; the mutated model then re-derives the golden counterexamples of the
  built-in scenarios (``tests/golden/check-*.json``) differently, or judges them differently, while
  replay's answers stay exactly what they were. Were replay reading the mutated code, its answers
  would move with the model's and the test would fail.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regcheck.core.engines import Options, explicit
from regcheck.core.expr import TRUE, eq, evaluate, not_, var
from regcheck.core.result import STUTTER, Trace
from regcheck.core.system import Kind, Obligation
from regcheck.formats import itf
from regcheck.model import reference_properties, story
from regcheck.model import system as model_system
from regcheck.model.reference_design import Design
from regcheck.model.replay import replay
from regcheck.model.scenario import ANY, Scenario, load_builtin, with_overrides
from regcheck.model.simulator import Simulator
from regcheck.model.system import build
from regcheck.properties import catalogue
from tests.strategies import scenarios

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = tuple(f"regcheck/model/{name}.py" for name in ("simulator", "replay", "reference_design", "reference_properties",
                                                                "continuations"))
"""The modules replay runs, and the re-check of ``must_fail``'s proofs: the second implementation of SEMANTICS.md."""
FIELDS = frozenset(f.name for f in dataclasses.fields(Scenario))
DERIVED = frozenset(
    name for name, _ in inspect.getmembers(Scenario) if not name.startswith("__") and name not in FIELDS
)
"""Every method and property of ``Scenario`` that is not one of its raw switches."""
ALLOWED_IMPORTS = {
    "regcheck.model.scenario": None,  # the type and its constants (upper-case names) only: checked below
    "regcheck.model.reference_design": None,
    "regcheck.model.reference_properties": None,
    "regcheck.model.simulator": None,
    "regcheck.model": {"reference_properties"},
    "regcheck.core.result": {"STUTTER", "Trace"},
    "regcheck.display": {"shown"},
}


# --------------------------------------------------------------------------------------------
# What the reference modules may touch


def _scenario_names(func: ast.FunctionDef) -> set[str]:
    """The parameters of ``func`` annotated ``Scenario``."""
    args = [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]
    return {
        a.arg for a in args
        if isinstance(a.annotation, ast.Name) and a.annotation.id == "Scenario"
        or isinstance(a.annotation, ast.Constant) and a.annotation.value == "Scenario"
    }


def _calls_named(node: ast.AST) -> str:
    """The dotted name a call's function is written as (``Design.of``, ``getattr``), or ""."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _scenario_uses(source: str) -> Iterator[str]:
    """Every use of a ``Scenario`` parameter in ``source`` that is not a raw switch: a derived member, a
    ``getattr`` of a name that is not a field, or the scenario handed to anything but the reference side."""
    tree = ast.parse(source)
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    for func in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        names = _scenario_names(func)
        for node in ast.walk(func):
            if not (isinstance(node, ast.Name) and node.id in names and isinstance(node.ctx, ast.Load)):
                continue
            parent = parents[node]
            where = f"line {node.lineno}"
            if isinstance(parent, ast.Attribute):
                if parent.attr not in FIELDS:
                    yield f"{where}: {node.id}.{parent.attr} is not a raw switch"
            elif isinstance(parent, ast.Call) and node in parent.args:
                called = _calls_named(parent.func)
                if called == "getattr":
                    yield from _getattr_use(parent, parents, where)
                elif called not in ("Design.of", "Simulator", "dataclasses.fields"):
                    yield f"{where}: the scenario is handed to {called or 'an expression'}"
            elif not isinstance(parent, ast.Compare):
                yield f"{where}: {node.id} used as {type(parent).__name__}"


def _getattr_use(call: ast.Call, parents: dict[ast.AST, ast.AST], where: str) -> Iterator[str]:
    """``getattr(scenario, X)``: X a field's name, or ``f.name`` for ``f`` in ``dataclasses.fields(...)``."""
    attr = call.args[1] if len(call.args) > 1 else None
    if isinstance(attr, ast.Constant):
        if attr.value not in FIELDS:
            yield f"{where}: getattr of {attr.value!r}, not a raw switch"
        return
    node: ast.AST = call
    while node in parents and not isinstance(node, (ast.DictComp, ast.ListComp, ast.SetComp, ast.GeneratorExp)):
        node = parents[node]
    over_fields = isinstance(node, (ast.DictComp, ast.ListComp, ast.SetComp, ast.GeneratorExp)) and all(
        _calls_named(g.iter.func) == "dataclasses.fields" for g in node.generators if isinstance(g.iter, ast.Call)
    )
    if not over_fields:
        yield f"{where}: getattr of a computed name that is not a dataclass field"


@pytest.mark.parametrize("path", REFERENCE)
def test_reference_modules_read_only_raw_switches(path: str) -> None:
    found = list(_scenario_uses((ROOT / path).read_text()))
    assert not found, f"{path} reads the scenario beyond its raw switches: {found}"


def test_the_scan_finds_a_derived_fact() -> None:
    source = "def f(scenario: Scenario) -> None:\n    x = scenario.jobs_of(1)\n    y = scenario.users\n"
    assert list(_scenario_uses(source)) == ["line 2: scenario.jobs_of is not a raw switch"]
    handed = "def f(scenario: Scenario) -> None:\n    return build(scenario)\n"
    assert list(_scenario_uses(handed)) == ["line 2: the scenario is handed to build"]
    computed = "def f(scenario: Scenario, k: str) -> None:\n    return getattr(scenario, k)\n"
    assert len(list(_scenario_uses(computed))) == 1


@pytest.mark.parametrize("path", REFERENCE)
def test_reference_modules_import_no_model_fact_or_formula(path: str) -> None:
    tree = ast.parse((ROOT / path).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                assert alias.name.split(".")[0] != "regcheck", (path, alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "regcheck":
            assert node.module in ALLOWED_IMPORTS, f"{path} imports {node.module}"
            names = {a.name for a in node.names}
            allowed = ALLOWED_IMPORTS[node.module]
            if node.module == "regcheck.model.scenario":
                assert all(n == "Scenario" or n.isupper() or n == "ANY_USER" for n in names), (path, names)
            elif allowed is not None:
                assert names <= allowed, (path, names)


# --------------------------------------------------------------------------------------------
# The golden counterexamples


@dataclasses.dataclass(frozen=True)
class Golden:
    """A counterexample of a built-in scenario, as ``regcheck check --json`` froze it."""

    scenario: Scenario
    prop: str
    trace: Trace

    @property
    def id(self) -> str:
        return f"{self.scenario.name}:{self.prop}"


def _golden() -> list[Golden]:
    found = []
    for path in sorted((ROOT / "tests" / "golden").glob("check-*.json")):
        doc = json.loads(path.read_text())
        scenario = load_builtin(doc["scenario"]["name"])
        for result in doc["results"]:
            if result["verdict"] == "violated":
                found.append(Golden(scenario, result["property"], itf.from_itf(result["trace"])))
    return found


def _as_any(case: Golden) -> Golden:
    """The thread-pool counterexamples read as counterexamples of the same design for every number of
    workers: its identical workers given once, the trace naming its two workers."""
    sc = case.scenario
    design = dataclasses.replace(sc, workers=ANY, worker_users=sc.worker_users[:1],
                                 worker_impersonates=sc.worker_impersonates[:1], name=f"{sc.name}-any")
    return Golden(design, case.prop, case.trace.with_meta(workers=sc.workers))


GOLDEN = _golden()
CASES = GOLDEN + [_as_any(c) for c in GOLDEN if c.scenario.name == "thread-pool"]


def test_every_builtin_counterexample_is_here() -> None:
    assert len(GOLDEN) >= 20
    assert {c.prop for c in GOLDEN} >= {"worker-never-gets-network-error", "notifications-delivered",
                                        "worker-requests-succeed"}
    assert any(c.scenario.workers == ANY for c in CASES)


def _replay_view(case: Golden) -> tuple[bool, ...]:
    """Replay's answer, for each property of the catalogue: is the trace a counterexample to it?"""
    return tuple(replay(case.scenario, case.trace, name).ok for name in catalogue.NAMES)


def _model_view(case: Golden) -> tuple[object, ...]:
    """The (possibly mutated) model's reading of the trace: where re-deriving it on the transition system
    departs from it (None: nowhere), then for each property whether its formula calls the trace a
    counterexample. A model that cannot even be built says so, with the exception's type."""
    try:
        scenario = story.concrete(case.scenario, case.trace)
        system = build(scenario)
        departs = _rederive(system, case.trace)
        verdicts = tuple(_model_violates(catalogue.instantiate(name, scenario), case.trace)
                         for name in catalogue.NAMES)
    except Exception as exc:  # a mutated model may break anywhere; that is a departure too
        return (f"error: {type(exc).__name__}",)
    return (departs, *verdicts)


def _rederive(system: Any, trace: Trace) -> str | None:
    """The first step at which the transition system does not make ``trace`` (None: it makes all of it)."""
    state = system.initial_state()
    if state != dict(trace.states[0]):
        return "the initial state"
    for index, step in enumerate(trace.steps, start=1):
        enabled = list(system.enabled(state))
        if step.action == STUTTER:
            if enabled:
                return f"step {index}: a stutter where actions are enabled"
            continue
        action = next((a for a in enabled if a.name == step.action and dict(a.params) == dict(step.params)), None)
        if action is None:
            return f"step {index}: {step.label} is not enabled"
        labels = system.labels_of(action, state)
        state = system.apply(action, state)
        if state != dict(trace.states[index]) or any(labels.get(k) != v for k, v in step.labels.items()):
            return f"step {index}: {step.label} leads elsewhere"
    return None


def _model_violates(prop: Any, trace: Trace) -> bool:
    """The model's own judgement: a safety formula false at the end; an obligation of a lasso never met."""
    if prop.kind is Kind.SAFETY:
        return not evaluate(prop.formula, trace.states[-1])
    if trace.loop is None:
        return False
    end, loop = len(trace.steps), trace.loop
    return any(
        evaluate(o.trigger, trace.states[j])
        and not any(evaluate(o.goal, trace.states[k]) for k in range(min(j, loop), end))
        for o in prop.obligations for j in range(end)
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_replay_and_the_model_agree_on_every_golden_counterexample(case: Golden) -> None:
    """Unmutated, the two sides tell the same story: the model re-derives the trace, and both sides call it
    a counterexample to exactly the same properties, its own among them."""
    model = _model_view(case)
    assert model[0] is None, model
    assert model[1:] == _replay_view(case)
    assert _replay_view(case)[catalogue.NAMES.index(case.prop)]


def test_replay_works_with_every_derived_fact_of_a_scenario_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every derived member of ``Scenario`` raises; replay still accepts every golden counterexample."""
    before = {c.id: _replay_view(c) for c in CASES}

    def gone(*args: object, **kwargs: object) -> object:
        raise AssertionError("replay read a derived fact of the scenario")

    for name in DERIVED:
        monkeypatch.setattr(Scenario, name, property(gone) if _is_property(name) else gone)
    assert {c.id: _replay_view(c) for c in CASES} == before


def _is_property(name: str) -> bool:
    return isinstance(inspect.getattr_static(Scenario, name), property)


# --------------------------------------------------------------------------------------------
# The two definitions of each property, on random reachable states of random designs


ACTIONS = ("TakeJob", "Impersonate", "EcDoConnectEx", "UseSession", "EcDoAsyncConnectEx", "EcDoRpcExt2",
           "EcDoDisconnect", "RevertToSelf", "Reconnect", "EcDoAsyncWaitEx", "FetchNotifications", "Poll",
           "ServerEvent", "CompleteWait", "WaitTimeout")
"""SEMANTICS.md's actions 1-15."""


def test_replay_defines_exactly_the_catalogue() -> None:
    assert set(reference_properties.SAFETY) == {p.name for p in catalogue.CATALOGUE if p.kind is Kind.SAFETY}
    assert set(reference_properties.LIVENESS) == {p.name for p in catalogue.CATALOGUE if p.kind is Kind.LIVENESS}
    fair = [set(p.fairness) for p in catalogue.CATALOGUE if p.kind is Kind.LIVENESS]
    assert all(f == set(ACTIONS) - set(reference_properties.NOT_FAIR) for f in fair)


@settings(max_examples=60, deadline=None)
@given(scenario=scenarios(), choices=st.lists(st.integers(0, 10_000), min_size=1, max_size=30))
def test_safety_definitions_agree_with_the_formulas_on_random_walks(scenario: Scenario, choices: list[int]) -> None:
    sim = Simulator(scenario)
    design = Design.of(scenario)
    props = [catalogue.instantiate(name, scenario) for name in reference_properties.SAFETY]
    state = sim.initial_state()
    for choice in [*choices, 0]:
        for prop in props:
            holds = reference_properties.SAFETY[prop.name](design, state) is None
            assert holds == evaluate(prop.formula, state), (prop.name, state)
        enabled = sim.enabled(state)
        if not enabled:
            break
        name, params = enabled[choice % len(enabled)]
        state, _ = sim.step(state, name, params)


# --------------------------------------------------------------------------------------------
# The mutation test

Mutation = Callable[[pytest.MonkeyPatch], None]


def _fact(name: str, wrong: Callable[..., Any]) -> Mutation:
    """Replace the derived fact ``name`` of every scenario by ``wrong(scenario, *args)``."""
    original = inspect.getattr_static(Scenario, name)

    def apply(monkeypatch: pytest.MonkeyPatch) -> None:
        if isinstance(original, property):
            getter = original.fget
            assert getter is not None
            monkeypatch.setattr(Scenario, name, property(lambda self: wrong(self, getter)))
        else:
            monkeypatch.setattr(Scenario, name, lambda self, *args: wrong(self, original, *args))
    return apply


def _first_workers_jobs(sc: Scenario, real: Any, w: int) -> tuple[str, ...]:
    return real(sc, 1)


def _without_rights_granted(sc: Scenario, real: Any, identity: str, user: str) -> bool:
    return identity == user  # mailbox_access forgotten


def _second_worker_negated(sc: Scenario, real: Any, w: int) -> bool:
    return not real(sc, w) if w == 2 else real(sc, w)


def _drops_worker_lists(sc: Scenario, real: Any, workers: int) -> Scenario:
    return dataclasses.replace(sc, workers=workers, worker_users=(), worker_impersonates=())


FACTS: dict[str, Mutation] = {
    "jobs_of": _fact("jobs_of", _first_workers_jobs),
    "_entry": _fact("_entry", lambda sc, real, w: real(sc, 1)),
    "takes_any": _fact("takes_any", lambda sc, real, w: False),
    "serves": _fact("serves", lambda sc, real, w: real(sc, w)[:1]),
    "impersonates": _fact("impersonates", _second_worker_negated),
    "user_of": _fact("user_of", lambda sc, real, w: real(sc, 1)),
    "has_rights": _fact("has_rights", _without_rights_granted),
    "identities": _fact("identities", lambda sc, real: real(sc)[: 1 + len(sc.users)]),
    "service_accounts": _fact("service_accounts", lambda sc, real: ()),
    "tracks_sessions": _fact("tracks_sessions", lambda sc, real: not real(sc)),
    "notifications": _fact("notifications", lambda sc, real: not real(sc)),
    "worker_ids": _fact("worker_ids", lambda sc, real: real(sc)[:1]),
    "session_ids": _fact("session_ids", lambda sc, real: real(sc)[:1]),
    "session_of_user": _fact("session_of_user", lambda sc, real, u: len(sc.users) - real(sc, u) + 1),
    "association_of": _fact("association_of", lambda sc, real, s: 1),
    "association_count": _fact("association_count", lambda sc, real: max(1, real(sc) - 1)),
    "with_workers": _fact("with_workers", _drops_worker_lists),
    "parameterised": _fact("parameterised", lambda sc, real: False),
}
"""Each derived fact the model reads, made wrong in a plausible way."""

NOT_FACTS = {
    "switches": "the resolved switches as JSON, for output; no check reads it",
    "_check_mailbox_access": "validation when a scenario is made",
    "_check_workers": "validation when a scenario is made",
}


def _formula(name: str, wrong: Callable[[Scenario], Any]) -> Mutation:
    """Replace property ``name``'s formula in the catalogue by ``wrong(scenario)``."""
    def apply(monkeypatch: pytest.MonkeyPatch) -> None:
        mutated = tuple(dataclasses.replace(p, formula=wrong) if p.name == name else p for p in catalogue.CATALOGUE)
        monkeypatch.setattr(catalogue, "CATALOGUE", mutated)
    return apply


def _obligations(name: str, wrong: Callable[[Scenario], tuple[Obligation, ...]]) -> Mutation:
    """Replace liveness property ``name``'s obligations in the catalogue by ``wrong(scenario)``."""
    def apply(monkeypatch: pytest.MonkeyPatch) -> None:
        mutated = tuple(
            dataclasses.replace(p, obligations=wrong) if p.name == name else p for p in catalogue.CATALOGUE
        )
        monkeypatch.setattr(catalogue, "CATALOGUE", mutated)
    return apply


REAL = {p.name: p for p in catalogue.CATALOGUE}
"""The catalogue as it is, before any mutation (a mutation wraps the real formula, not itself)."""


def _real(name: str) -> Any:
    return REAL[name]


FORMULAS: dict[str, Mutation] = {
    # watches the wrong outcome: "denied" for "failed"
    "worker-never-gets-network-error": _formula(
        "worker-never-gets-network-error",
        lambda s: not_(eq(var(model_system.pc(1)), "denied")),
    ),
    # weakened to nothing
    "no-registration-mismatch": _formula("no-registration-mismatch", lambda s: TRUE),
    # a registration counts as in use only while its worker is "connected" (working forgotten)
    "registration-in-use-never-evicted": _formula(
        "registration-in-use-never-evicted",
        lambda s: not_(eq(var(model_system.pc(1)), "connected")) if model_system.has_cache(s) else TRUE,
    ),
    # negated
    "registration-matches-admitted-calls": _formula(
        "registration-matches-admitted-calls", lambda s: not_(_real("registration-matches-admitted-calls").formula(s))
    ),
    # negated
    "one-parked-wait-per-session": _formula(
        "one-parked-wait-per-session", lambda s: not_(_real("one-parked-wait-per-session").formula(s))
    ),
    # the goal negated: "pending stays pending"
    "notifications-delivered": _obligations(
        "notifications-delivered",
        lambda s: tuple(Obligation(o.trigger, not_(o.goal), o.label)
                        for o in _real("notifications-delivered").obligations(s)),
    ),
    # off by one: a worker counts as done one request early
    "worker-requests-succeed": _obligations(
        "worker-requests-succeed",
        lambda s: tuple(Obligation(TRUE, eq(var(model_system.done(w)), s.requests - 1), f"worker {w}")
                        for w in s.worker_ids),
    ),
}
"""Each property's formula (or obligations) in the catalogue, made wrong: weakened, negated, the wrong state."""


def test_every_derived_fact_and_every_formula_is_mutated() -> None:
    assert set(FACTS) | set(NOT_FACTS) == DERIVED
    assert set(FORMULAS) == set(catalogue.NAMES)


@pytest.fixture(scope="module")
def baseline() -> tuple[dict[str, tuple[bool, ...]], dict[str, tuple[object, ...]]]:
    """Replay's answers and the honest model's reading of every golden counterexample, before any mutation."""
    return {c.id: _replay_view(c) for c in CASES}, {c.id: _model_view(c) for c in CASES}


@pytest.mark.parametrize("mutation", [*FACTS, *FORMULAS])
def test_replay_disagrees_with_a_mutated_model(
    mutation: str, monkeypatch: pytest.MonkeyPatch,
    baseline: tuple[dict[str, tuple[bool, ...]], dict[str, tuple[object, ...]]],
) -> None:
    """The mutated model departs from some golden counterexample (re-derives it otherwise, or judges it
    otherwise); replay's answers on every one of them stay exactly as they were."""
    replayed, honest = baseline
    (FACTS | FORMULAS)[mutation](monkeypatch)
    mutated = {c.id: _model_view(c) for c in CASES}
    assert {c.id: _replay_view(c) for c in CASES} == replayed, "replay followed the mutated model"
    assert all(honest[case] == (None, *replayed[case]) for case in replayed)
    refused = [case for case in replayed if str(mutated[case][0]).startswith("error: ")]
    if mutation in REFUSED:
        assert refused, f"{mutation}: {REFUSED[mutation]}, yet the mutated model runs"
        return
    disagree = [case for case in replayed if case not in refused and mutated[case] != (None, *replayed[case])]
    rejected = _rejected_fresh_counterexamples()
    assert disagree or rejected, (
        f"with {mutation} mutated, the model still tells every golden counterexample as replay does, "
        "and replay accepts every counterexample it finds anew"
    )


REFUSED = {
    "takes_any": "the model then reads user[w] that it never declared, and the checker refuses it (InvalidModel)",
    "identities": "a call then carries an identity outside the domain of reg/admitted, which the domain check refuses",
    "service_accounts": "as identities: the service account falls outside the domains",
    "association_count": "the actions then use reg[a] that was never declared",
    "parameterised": "build() refuses a workers=any scenario that claims to be concrete",
}
"""Mutations after which the model cannot run on some built-in design at all, so no wrong verdict can come of
them: the test requires that refusal (and, as for all, replay's answers unchanged)."""


FRESH = (("multi-user", ("transport=mapi-http",)),)
"""Designs the golden files do not cover, searched anew by the (mutated) model's explicit engine: MAPI/HTTP,
where the owner of a classic session is a fact of its own (``user_of``)."""


def _rejected_fresh_counterexamples() -> list[str]:
    """The counterexamples the model's explicit engine finds in the FRESH designs that replay rejects."""
    rejected = []
    for name, sets in FRESH:
        scenario = with_overrides(load_builtin(name), list(sets))
        try:
            props = [catalogue.instantiate(p, scenario) for p in catalogue.NAMES]
            results = explicit.check(build(scenario), props, Options(symmetry=False))
        except Exception:  # a mutated model the checker refuses gives no counterexample to replay
            continue
        for result in results:
            if result.trace is not None and not replay(scenario, result.trace, result.property).ok:
                rejected.append(f"{name}: {result.property}")
    return rejected


def test_replay_accepts_every_fresh_counterexample_of_the_honest_model() -> None:
    assert _rejected_fresh_counterexamples() == []
