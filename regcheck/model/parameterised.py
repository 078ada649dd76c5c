"""The registration model for any number of identical workers, by counter abstraction.

Identical workers (the same jobs and impersonation) are interchangeable, so the model with N workers
is simulated by its counter system (``regcheck.core.abstraction``): the shared state (the
registration cache of the one association) plus, for each local state of a worker and its
session, the number of workers in it. A proof there holds for every N >= 1. A counterexample
found there is concretised (by ``regcheck.compose``) to the fewest workers that can run it and
found again by BMC on that concrete system, so it is a shortest one and replays like every other. A proof, instantiated
for a fixed N (each counter becomes the number of workers in its local state), is an inductive
invariant of the concrete system, which is how fixed-N proofs for many workers stay fast.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from regcheck.core.abstraction import (
    CounterAbstraction,
    counter_abstraction,
    verify_obligations,
    verify_per_process,
    verify_product,
)
from regcheck.core.expr import Expr
from regcheck.core.result import CheckResult, Progress
from regcheck.core.system import Property
from regcheck.errors import InvalidArgument
from regcheck.model.scenario import Scenario
from regcheck.model.system import build, local_variables

ABSTRACTION = "counter abstraction over identical workers: one counter per local state of a worker and its session"
INTERFERENCE = "interference abstraction for liveness: one worker kept whole, the others' moves as interference"
CHECKED_FOR = (2, 3)
"""The worker counts for which the premises of the abstraction are checked against the concrete model."""


def symmetric(scenario: Scenario) -> bool:
    """Whether the workers are interchangeable: the same jobs (one user, the same list, or "*") and impersonation."""
    if scenario.parameterised:
        return True
    return len({(scenario.jobs_of(w), scenario.impersonates(w)) for w in scenario.worker_ids}) == 1


def abstraction(scenario: Scenario, deadline: float | None = None) -> CounterAbstraction:
    """The counter system of ``scenario``'s worker, for any number of workers (by ``deadline``, a
    ``time.monotonic()`` reading, else ``regcheck.deadline.OutOfTime``)."""
    if not symmetric(scenario):
        raise InvalidArgument("a counter abstraction needs identical workers (the same jobs and impersonation)")
    template = scenario.with_workers(1)
    system = build(template)
    local = local_variables(template, 1)
    for workers in CHECKED_FOR:
        concrete = template.with_workers(workers)
        verify_product(system, local, build(concrete), _processes(concrete))
    return counter_abstraction(system, local, deadline)


def verify_per_worker(scenario: Scenario, name: str, formula_for: Callable[[Scenario], Expr]) -> None:
    """Raise InvalidArgument unless the property ``name`` is, for 2 and 3 workers, the conjunction of
    its one-worker formula over every worker: the premise of lifting it to the counter system."""
    template = scenario.with_workers(1)
    local = local_variables(template, 1)
    for workers in CHECKED_FOR:
        concrete = template.with_workers(workers)
        if not verify_per_process(formula_for(template), local, formula_for(concrete), build(concrete),
                                  _processes(concrete)):
            raise InvalidArgument(f"{name} is not a per-worker property: with {workers} workers it is not the "
                                  "conjunction of its one-worker formula over every worker")


_PRODUCTS: set[tuple[str, int]] = set()
"""The scenarios (by their full text) whose product check passed in this process: the second liveness
property of a run need not check it again (the model is built deterministically from the scenario)."""


def liveness(scenario: Scenario, properties_for: Sequence[Callable[[Scenario], Property]], *,
             timeout: float | None, progress: Progress | None = None) -> list[CheckResult]:
    """Liveness properties for every number of workers, by the interference abstraction of one worker
    (``regcheck.core.interference``), once their premises are checked for 2 and 3 workers and for the scenario's
    own number: each system is the product of the one-worker template, and each property's obligations are
    the template's, renamed for every worker or shared. ``proved`` holds for every N; anything else decides
    nothing. One result per property, in order."""
    from regcheck.core import interference  # here, not at the top: only liveness checks pay for its imports

    if not symmetric(scenario):
        raise InvalidArgument("liveness for every number of workers needs identical workers "
                              "(the same jobs and impersonation)")
    template = scenario.with_workers(1)
    system = build(template)
    local = local_variables(template, 1)
    props = [property_for(template) for property_for in properties_for]
    counts = set(CHECKED_FOR) | (set() if scenario.parameterised else {int(scenario.workers)})
    for workers in sorted(counts - {1}):
        concrete = template.with_workers(workers)
        if (repr(concrete), workers) not in _PRODUCTS:
            verify_product(system, local, build(concrete), _processes(concrete))
            _PRODUCTS.add((repr(concrete), workers))
        for prop, property_for in zip(props, properties_for):
            mine = property_for(concrete)
            why = verify_obligations(prop.obligations, local, mine.obligations, _processes(concrete))
            if why is None and mine.fairness != prop.fairness:
                why = f"with {workers} workers its fairness differs"
            if why:
                raise InvalidArgument(f"{prop.name} is not a per-worker liveness property: {why}")
    return interference.check(system, local, props, timeout=timeout, progress=progress)


def _processes(scenario: Scenario) -> list[tuple[str, ...]]:
    return [local_variables(scenario, w) for w in scenario.worker_ids]


def instantiate(scenario: Scenario, abstract: CounterAbstraction, invariant: Expr) -> Expr:
    """A counter-system invariant as a formula over ``scenario``'s concrete workers."""
    return abstract.instantiate(invariant, _processes(scenario))
