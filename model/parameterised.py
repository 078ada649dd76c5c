"""Checks that hold for any number of workers, by counter abstraction over identical workers.

Identical workers (all impersonating one user) are interchangeable, so the registration model
with N workers is simulated by its counter system (``regcheck.abstraction``): the shared state
(the registration cache of the one association) plus, for each local state of a worker and its
session, the number of workers in it. A proof on the counter system holds for every N >= 1; a
counterexample found there is concretised to the fewest workers that can run it, found again by
BMC on that concrete system (so it is a shortest one), and replayed like every other.

The same proof, instantiated for a fixed N (each counter becomes a sum over the N workers), is
an inductive invariant of the concrete N-worker system; it is re-checked there by a fresh solver.
That is how a fixed-N proof for many workers stays fast.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from model.scenario import Scenario
from model.system import build, local_variables
from properties import catalogue
from regcheck import engines
from regcheck.abstraction import CounterAbstraction, counter_abstraction
from regcheck.certificate import Certificate, recheck_invariant
from regcheck.engines import Progress, bmc
from regcheck.errors import InvalidArgument
from regcheck.result import CheckResult, Verdict
from regcheck.system import Property

ABSTRACTION = "counter abstraction over identical workers: one counter per local state of a worker and its session"


def symmetric(scenario: Scenario) -> bool:
    """Whether the workers are interchangeable (they all impersonate the same user)."""
    if scenario.parameterised:
        return True
    return len({scenario.user_of(w) for w in range(1, int(scenario.workers) + 1)}) == 1


def abstraction(scenario: Scenario) -> CounterAbstraction:
    """The counter system of ``scenario``'s worker, for any number of workers."""
    if not symmetric(scenario):
        raise InvalidArgument("a counter abstraction needs identical workers (all impersonating one user)")
    template = scenario.with_workers(1)
    return counter_abstraction(build(template), local_variables(template, 1))


def lifted(scenario: Scenario, abstract: CounterAbstraction, names: Sequence[str]) -> list[Property]:
    """The properties, stated for every worker of the counter system."""
    template = scenario.with_workers(1)
    out = []
    for name in names:
        spec = catalogue.spec(name)
        if not spec.per_worker:
            raise InvalidArgument(f"{name} is not a per-worker property; it cannot be checked for any number of workers")
        out.append(Property(spec.name, spec.kind, spec.description, spec.source, abstract.lift(spec.formula(template))))
    return out


def check_any(
    scenario: Scenario,
    names: Sequence[str],
    *,
    engine: str,
    depth: int,
    timeout: float | None,
    progress: Progress | None = None,
) -> list[CheckResult]:
    """Check ``workers = "any"``: every verdict speaks of all numbers of workers at once."""
    abstract = abstraction(scenario)
    props = lifted(scenario, abstract, names)
    results = engines.get(engine)(abstract.system, props, depth=depth, timeout=timeout, progress=progress)
    out = []
    for prop, result in zip(props, results):
        note = f"parameterised: {ABSTRACTION} ({len(abstract.local_states)} local states)"
        if result.verdict is Verdict.VIOLATED and result.trace is not None:
            out.append(_concretise(scenario, abstract, prop.name, result, timeout))
            continue
        if result.verdict is Verdict.PROVED and isinstance(result.evidence, Certificate):
            evidence = replace(
                result.evidence,
                notes={**result.evidence.notes, "parameterised": True, "workers": "any N >= 1", "abstraction": ABSTRACTION},
            )
            result = replace(result, evidence=evidence)
        out.append(replace(result, note=f"{note}. {result.note}".strip().rstrip(".") if result.note else note))
    return out


def _concretise(
    scenario: Scenario, abstract: CounterAbstraction, name: str, result: CheckResult, timeout: float | None
) -> CheckResult:
    """A counter-system counterexample as a shortest trace of the fewest concrete workers that run it."""
    assert result.trace is not None
    workers, _ = abstract.concretise([step.label for step in result.trace.steps])
    concrete = scenario.with_workers(workers)
    prop = catalogue.instantiate(name, concrete)
    (found,) = bmc.check(build(concrete), [prop], depth=len(result.trace), timeout=timeout)
    if found.verdict is not Verdict.VIOLATED or found.trace is None:
        return replace(result, verdict=Verdict.UNKNOWN, trace=None, note="the abstract counterexample did not concretise")
    trace = found.trace.with_meta(workers=workers, concretised_from="workers=any")
    return replace(
        result,
        trace=trace,
        depth=found.depth,
        note=f"parameterised: violated already with {workers} worker(s); the trace is for {workers}",
    )


def prove_fixed(scenario: Scenario, prop: Property, *, timeout: float | None) -> CheckResult | None:
    """A proof for a fixed number of identical workers through the counter system, or None.

    The counter invariant is instantiated for the scenario's workers and re-checked on the concrete
    system by a fresh solver; None when the abstraction does not apply or does not prove it.
    """
    if scenario.parameterised or not symmetric(scenario) or not catalogue.spec(prop.name).per_worker:
        return None
    abstract = abstraction(scenario)
    (lifted_prop,) = lifted(scenario, abstract, [prop.name])
    (result,) = engines.get("pdr")(abstract.system, [lifted_prop], depth=0, timeout=timeout)
    if result.verdict is not Verdict.PROVED or not isinstance(result.evidence, Certificate):
        return None
    assert result.evidence.invariant is not None
    processes = [local_variables(scenario, w) for w in range(1, int(scenario.workers) + 1)]
    concrete = abstract.instantiate(result.evidence.invariant, processes)
    if recheck_invariant(build(scenario), prop, concrete) is not None:
        return None
    evidence = replace(
        result.evidence,
        notes={
            **result.evidence.notes,
            "abstraction": ABSTRACTION,
            "instantiated_for_workers": scenario.workers,
            "rechecked_on": "the concrete system, each counter replaced by the number of workers in its local state",
        },
    )
    return replace(result, evidence=evidence)
