"""How a check is run: engines, the parameterised mode, the portfolio, and replay of every counterexample.

This is the composition root shared by the CLI, reports and notebooks; with ``cli.py`` it is the
only module of the core that knows the protocol model (``model``) and its properties.

- ``bmc``, ``kinduction``, ``explicit``: that engine on the concrete system.
- ``pdr``: for identical workers, first a proof on the counter system, instantiated for the
  scenario's workers and re-checked there; Spacer on the concrete system for what is left.
- ``auto`` (default): a quick pass (explicit-state search within a small budget, else a short
  BMC run) decides violations with shortest counterexamples, and liveness where it explored
  every state; then, for what is still open, BMC to the full depth and the ``pdr`` proof side by
  side in separate processes; the first decisive verdict wins.
- ``workers = "any"``: proofs run on the counter system and hold for every number of workers;
  counterexamples are hunted on one and two concrete workers (``auto``) or found on the counter
  system and concretised to the fewest workers that show them (other engines).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

from model import parameterised, story
from model.replay import replay
from model.scenario import Scenario
from model.system import build
from properties import catalogue
from regcheck import engines, portfolio
from regcheck.certificate import Certificate, on_reachable_states, recheck_invariant
from regcheck.checking import vet
from regcheck.engines import Progress, bmc
from regcheck.errors import InvalidArgument
from regcheck.result import CheckResult, Trace, Verdict
from regcheck.system import Kind, Property, TransitionSystem

ENGINES = ("auto", *engines.NAMES)
QUICK_SECONDS = 0.5
QUICK_STATES = 200_000
QUICK_EXPLICIT_SECONDS = 2.0
HUNT_WORKERS = (1, 2)
"""For workers=any, counterexamples are hunted with these many workers (each refutes "every N")."""
RECHECK_SOLVERS = ("z3", "cvc5")


def run_checks(
    scenario: Scenario,
    names: Sequence[str],
    *,
    engine: str = "auto",
    depth: int = 12,
    timeout: float | None = 120.0,
    recheck: str = "z3",
    progress: Progress | None = None,
) -> list[CheckResult]:
    """Check ``names`` (all properties if empty) on ``scenario``; every counterexample is replayed."""
    if engine not in ENGINES:
        raise InvalidArgument(f"--engine: unknown engine {engine!r}; engines: {', '.join(ENGINES)}")
    if recheck not in RECHECK_SOLVERS:
        raise InvalidArgument(f"--recheck: unknown solver {recheck!r}; choose {' or '.join(RECHECK_SOLVERS)}")
    if not names and scenario.parameterised:
        # The counter abstraction speaks of per-worker safety properties; liveness is not covered.
        names = [n for n in catalogue.NAMES if catalogue.spec(n).per_worker]
    names = list(dict.fromkeys(names or catalogue.NAMES))
    for name in names:
        catalogue.spec(name)
    if scenario.parameterised:
        results = _check_any(scenario, names, engine, depth, timeout, recheck, progress)
    else:
        system = build(scenario)
        props = [catalogue.instantiate(name, scenario) for name in names]
        results = _check_concrete(scenario, system, props, engine, depth, timeout, recheck, progress)

    def replayer(trace: Trace, name: str) -> str | None:
        concrete = scenario_of(scenario, trace)
        report = replay(concrete, trace, catalogue.instantiate(name, concrete))
        return None if report.ok else str(report)

    return vet(results, replayer)


def scenario_of(scenario: Scenario, trace: Trace | None) -> Scenario:
    """The concrete scenario a trace belongs to (a parameterised counterexample names its workers)."""
    if scenario.parameterised and (trace is None or "workers" not in trace.meta):
        raise InvalidArgument("a workers=any counterexample must name its number of workers")
    return story.concrete(scenario, trace) if trace is not None else scenario


def _engine_options(engine: str, recheck: str) -> dict[str, object]:
    return {"recheck": recheck} if engine in ("pdr", "kinduction") else {}


def _check_concrete(
    scenario: Scenario,
    system: TransitionSystem,
    props: list[Property],
    engine: str,
    depth: int,
    timeout: float | None,
    recheck: str,
    progress: Progress | None,
) -> list[CheckResult]:
    if engine == "pdr":
        return _prove(scenario, system, props, timeout, recheck, progress)
    if engine != "auto":
        return engines.get(engine)(
            system, props, depth=depth, timeout=timeout, progress=progress, **_engine_options(engine, recheck)
        )
    by_name = {p.name: p for p in props}

    def quick(names: list[str]) -> list[CheckResult]:
        return _quick(system, [by_name[n] for n in names], depth)

    def hunt(names: list[str]) -> list[CheckResult]:
        return bmc.check(system, [by_name[n] for n in names], depth=depth, timeout=timeout)

    def prove(names: list[str]) -> list[CheckResult]:
        """PDR for safety; a full explicit-state search for liveness (it decides fair loops exactly)."""
        safety = [by_name[n] for n in names if by_name[n].kind is Kind.SAFETY]
        liveness = [by_name[n] for n in names if by_name[n].kind is not Kind.SAFETY]
        results = _prove(scenario, system, safety, timeout, recheck, None) if safety else []
        if liveness and "explicit" in engines.NAMES:
            results += engines.get("explicit")(system, liveness, depth=depth, timeout=timeout)
        return results

    return _auto(props, quick, hunt, prove, timeout, progress)


def _quick(system: TransitionSystem, props: list[Property], depth: int) -> list[CheckResult]:
    """Explicit-state search within a small budget; where it runs out, BMC for ``QUICK_SECONDS``."""
    if "explicit" not in engines.NAMES:
        return bmc.check(system, props, depth=depth, timeout=QUICK_SECONDS)
    explicit = engines.get("explicit")(
        system, props, depth=depth, timeout=QUICK_EXPLICIT_SECONDS, max_states=QUICK_STATES
    )
    undecided = [p for p, r in zip(props, explicit) if r.verdict is Verdict.UNKNOWN]
    if not undecided:
        return explicit
    bounded = {r.property: r for r in bmc.check(system, undecided, depth=depth, timeout=QUICK_SECONDS)}
    return [bounded.get(r.property, r) for r in explicit]


def _auto(
    props: list[Property],
    quick: Callable[[list[str]], list[CheckResult]],
    hunt: Callable[[list[str]], list[CheckResult]],
    prove: Callable[[list[str]], list[CheckResult]],
    timeout: float | None,
    progress: Progress | None,
) -> list[CheckResult]:
    """A quick pass, then a hunt for counterexamples and a proof side by side for what is left.

    The quick pass decides violations (shortest counterexamples) and, when it explored every
    state, liveness. Safety properties it proved by exhaustion still go to PDR for a certificate;
    if PDR does not finish, the exhaustive proof stands.
    """
    names = [p.name for p in props]
    kinds = {p.name: p.kind for p in props}
    first = {r.property: r for r in quick(names)}

    def settled(name: str) -> bool:
        verdict = first[name].verdict
        return verdict is Verdict.VIOLATED or (verdict is Verdict.PROVED and kinds[name] is not Kind.SAFETY)

    open_names = [n for n in names if not settled(n)]
    if progress:
        progress(f"auto: {len(names) - len(open_names)} decided by the quick pass; {len(open_names)} left")
    best: dict[str, CheckResult] = {}
    if open_names:
        runners: dict[str, portfolio.Runner] = {"prove": prove}
        # Nothing is left to hunt for where the quick pass explored every state or every step.
        if any(first[n].verdict not in (Verdict.PROVED, Verdict.BOUNDED) for n in open_names):
            runners["hunt"] = hunt
        best = portfolio.run(open_names, runners, timeout=timeout)
    merged = []
    for name in names:
        result = first[name] if settled(name) else _better_of(best.get(name), first[name])
        merged.append(replace(result, engine=f"auto:{result.engine}"))
    return merged


def _better_of(later: CheckResult | None, first: CheckResult) -> CheckResult:
    """The portfolio's result if decisive; else the quick pass's proof or the deeper bound."""
    if later is not None and later.verdict in portfolio.DECISIVE:
        return later
    if first.verdict is Verdict.PROVED:
        return first
    if later is None or later.verdict is Verdict.UNKNOWN:
        return first if first.verdict is not Verdict.UNKNOWN or later is None else later
    if first.verdict is Verdict.BOUNDED and (first.depth or 0) > (later.depth or 0):
        return first
    return later


def _prove(
    scenario: Scenario,
    system: TransitionSystem,
    props: list[Property],
    timeout: float | None,
    recheck: str,
    progress: Progress | None,
) -> list[CheckResult]:
    """PDR, through the counter system first when the workers are identical."""
    results: dict[str, CheckResult] = {}
    if parameterised.symmetric(scenario) and int(scenario.workers) > 1:
        for result in _prove_by_symmetry(scenario, system, props, timeout, recheck, progress):
            results[result.property] = result
    rest = [p for p in props if p.name not in results]
    if rest:
        pdr = engines.get("pdr")
        for result in pdr(system, rest, depth=0, timeout=timeout, progress=progress, recheck=recheck):
            results[result.property] = result
    return [results[p.name] for p in props]


def _prove_by_symmetry(
    scenario: Scenario,
    system: TransitionSystem,
    props: list[Property],
    timeout: float | None,
    recheck: str,
    progress: Progress | None,
) -> list[CheckResult]:
    """The proved subset of ``props``, each certificate instantiated for the concrete workers and re-checked
    (and, should the instantiated invariant be false in a reachable state, those properties as ``unknown``)."""
    abstract = parameterised.abstraction(scenario)
    template = scenario.with_workers(1)
    lifted = [_lifted(abstract, template, p.name) for p in props if catalogue.spec(p.name).per_worker]
    if not lifted:
        return []
    pdr = engines.get("pdr")
    by_name = {p.name: p for p in props}
    results = [
        r
        for r in pdr(abstract.system, lifted, depth=0, timeout=timeout, progress=progress, recheck=recheck)
        if r.verdict is Verdict.PROVED and isinstance(r.evidence, Certificate)
    ]
    # Properties proved together share one invariant: instantiate and re-check it once for all of them.
    groups: dict[object, list[CheckResult]] = {}
    for result in results:
        groups.setdefault(result.evidence.invariant, []).append(result)
    proved = []
    for invariant, group in groups.items():
        assert invariant is not None
        concrete = parameterised.instantiate(scenario, abstract, invariant)  # type: ignore[arg-type]
        if recheck_invariant(system, [by_name[r.property] for r in group], concrete, solver=recheck) is not None:
            continue
        notes = {
            "abstraction": parameterised.ABSTRACTION,
            "instantiated_for_workers": scenario.workers,
            "rechecked_on": "the concrete system, each counter replaced by the number of workers in its local state",
        }
        # The counter system's states cannot be enumerated; the concrete system's may be.
        kept = {k: v for k, v in group[0].evidence.notes.items() if k != "reachable_states"}
        certified = replace(group[0].evidence, notes={**kept, **notes})
        certificate, failure = on_reachable_states(system, certified, concrete)
        if failure:
            note = f"internal error: the instantiated invariant is wrong ({failure})"
            proved += [replace(r, verdict=Verdict.UNKNOWN, evidence=None, note=note) for r in group]
            continue
        proved += [replace(r, evidence=certificate) for r in group]
    return proved


def _lifted(abstract: parameterised.CounterAbstraction, template: Scenario, name: str) -> Property:
    spec = catalogue.spec(name)
    return Property(spec.name, spec.kind, spec.description, spec.source, abstract.lift(spec.formula(template)))


def _check_any(
    scenario: Scenario,
    names: list[str],
    engine: str,
    depth: int,
    timeout: float | None,
    recheck: str,
    progress: Progress | None,
) -> list[CheckResult]:
    """``workers = "any"``: check the counter system; every verdict speaks of all numbers of workers."""
    if engine == "explicit":
        raise InvalidArgument("workers=any needs a symbolic engine (auto, pdr, bmc or kinduction), not explicit")
    not_per_worker = [n for n in names if not catalogue.spec(n).per_worker]
    if not_per_worker:
        raise InvalidArgument(f"{not_per_worker[0]} is not a per-worker property; it cannot be checked for workers=any")
    abstract = parameterised.abstraction(scenario)
    template = scenario.with_workers(1)
    props = [_lifted(abstract, template, name) for name in names]
    system = abstract.system
    if engine == "auto":
        results = _auto_any(scenario, system, props, depth, timeout, recheck, progress)
    else:
        results = engines.get(engine)(
            system, props, depth=depth, timeout=timeout, progress=progress, **_engine_options(engine, recheck)
        )
    out = []
    note = f"parameterised: {parameterised.ABSTRACTION} ({len(abstract.local_states)} local states)"
    for result in results:
        if result.verdict is Verdict.VIOLATED and result.trace is not None and "workers" in result.trace.meta:
            out.append(replace(result, note=f"parameterised: violated already with {result.trace.meta['workers']} "
                                            "worker(s); the trace shows them"))
            continue
        if result.verdict is Verdict.VIOLATED and result.trace is not None:
            trace = parameterised.concretise(
                scenario, abstract, result.trace, catalogue.spec(result.property).formula, timeout=timeout
            )
            if trace is None:
                out.append(replace(result, verdict=Verdict.UNKNOWN, trace=None,
                                   note="internal error: the abstract counterexample did not concretise"))
                continue
            workers = trace.meta["workers"]
            out.append(replace(result, trace=trace, depth=len(trace),
                               note=f"parameterised: violated already with {workers} worker(s); the trace shows {workers}"))
            continue
        if result.verdict is Verdict.PROVED and isinstance(result.evidence, Certificate):
            notes = {"parameterised": True, "workers": "every N >= 1", "abstraction": parameterised.ABSTRACTION}
            result = replace(result, evidence=replace(result.evidence, notes={**result.evidence.notes, **notes}))
        out.append(replace(result, note=f"{note}; {result.note}" if result.note else note))
    return out


def _auto_any(
    scenario: Scenario,
    system: TransitionSystem,
    props: list[Property],
    depth: int,
    timeout: float | None,
    recheck: str,
    progress: Progress | None,
) -> list[CheckResult]:
    """workers=any: hunt on small concrete systems (one violating N refutes "every N"), prove on the counters."""
    by_name = {p.name: p for p in props}

    def hunt_with(check: Callable[[TransitionSystem, list[Property]], list[CheckResult]]) -> Callable[
        [list[str]], list[CheckResult]
    ]:
        def hunt(names: list[str]) -> list[CheckResult]:
            found: dict[str, CheckResult] = {}
            for workers in HUNT_WORKERS:
                concrete = scenario.with_workers(workers)
                todo = [n for n in names if n not in found or found[n].verdict is not Verdict.VIOLATED]
                for result in check(build(concrete), [catalogue.instantiate(n, concrete) for n in todo]):
                    if result.verdict is Verdict.PROVED:  # proved for this N only: not a verdict about all N
                        result = replace(result, verdict=Verdict.UNKNOWN, evidence=None)
                    if result.trace is not None:
                        result = replace(result, trace=result.trace.with_meta(workers=workers))
                    found[result.property] = result
            return [found[n] for n in names]

        return hunt

    def prove(names: list[str]) -> list[CheckResult]:
        return engines.get("pdr")(system, [by_name[n] for n in names], depth=0, timeout=timeout, recheck=recheck)

    quick = hunt_with(lambda sys_, ps: _quick(sys_, ps, depth))
    hunt = hunt_with(lambda sys_, ps: bmc.check(sys_, ps, depth=depth, timeout=timeout))
    return _auto(props, quick, hunt, prove, timeout, progress)
