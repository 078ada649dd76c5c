"""How a check is run: engines, the parameterised mode, the portfolio, and replay of every counterexample.

This is the composition root that the other front ends (``regcheck.cli``, ``notebook``,
``sweep``, ``report`` and ``counterexamples``, themselves composition roots:
docs/ARCHITECTURE.md) call to check a scenario.

- ``bmc``, ``kinduction``, ``explicit``, ``houdini``: that engine on the concrete system.
- ``pdr``: for identical workers, first a proof on the counter system, instantiated for the
  scenario's workers and re-checked there; Spacer on the concrete system for what is left.
- ``auto`` (default): a quick pass (explicit-state search within a budget of states) decides
  violations with shortest counterexamples, and proves by exhaustion where it explored every state; then,
  for what is still open, BMC to the full depth and a proof side by side in separate
  processes: liveness for every N where the workers are identical, Houdini's one-variable
  invariants, then ``pdr`` for what they leave open. A quick pass that runs long (or, from
  AT_ONCE_WORKERS identical workers, every one) has the proof started beside it, and is stopped
  once the proof has decided everything. Every result is kept and resolved (regcheck/model/SOUNDNESS.md,
  "The portfolio").
- ``workers = "any"``: safety proofs and bounds come from the counter system, liveness proofs from
  the interference abstraction (``regcheck.core.interference``); both hold for every number of workers.
  Counterexamples are hunted on one and two concrete workers first (``auto``; for liveness one to
  three), or found on the counter system and concretised to the fewest workers that show them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial

from regcheck.core import engines, portfolio
from regcheck.core.abstraction import CounterAbstraction
from regcheck.core.certificate import of_reachable_states, on_reachable_states, recheck_invariant
from regcheck.core.checking import REPLAY_FAILED, Replayer, vet
from regcheck.core.compile import compile_system
from regcheck.core.constraints import Constraint
from regcheck.core.engines import Options, bmc, continuation
from regcheck.core.engines.distinct import shortest_of_shape
from regcheck.core.evidence import Certificate, LassoFreedom
from regcheck.core.expr import And, Const, Eq, Expr, Value, Var, evaluate, render
from regcheck.core.result import CheckResult, Progress, Scope, Trace, Verdict, outcome
from regcheck.core.system import Kind, Property, TransitionSystem
from regcheck.deadline import REASON, Deadline, OutOfTime
from regcheck.display import did_you_mean, shown
from regcheck.errors import EngineDisagreement, InvalidArgument
from regcheck.model import parameterised, story
from regcheck.model.continuations import no_fair_satisfying
from regcheck.model.replay import replay, satisfies
from regcheck.model.scenario import Scenario
from regcheck.model.system import build
from regcheck.properties import catalogue

ENGINES = ("auto", *engines.NAMES)
QUICK_STATES = 50_000
"""The quick pass's budget, in explored states: the same inputs give the same verdicts however loaded the machine is."""
EARLY_AFTER_S = 0.5
"""A quick pass that runs longer than this has the proofs started beside it (most take far less); the
explicit search reports progress every tenth of a second, which is also when auto can act on it."""
AT_ONCE_WORKERS = 4
"""From this many identical workers, auto starts its proofs with the quick pass (whose budget of states
they usually exhaust), not after EARLY_AFTER_S."""
HUNT_WORKERS = (1, 2)
"""For workers=any, counterexamples are hunted with these many workers (each refutes "every N")."""
RECHECK_SOLVERS = ("z3", "cvc5")
LIVENESS_HUNT = (1, 2, 3)
"""For workers=any, liveness counterexamples are hunted with these many workers, fewest first."""
HUNT = "hunt (bmc)"
"""The runner that only looks for counterexamples: dropped where the quick pass already searched everything."""


def _requested(names: Sequence[str], engine: str, recheck: str, depth: int, start: str) -> list[str]:
    """The property names a check asks for (all when empty), each known, after the engine, the solver and the
    depth are: one clear error each. ``start``: what the check starts from, for the ``--depth 0`` advice."""
    if engine not in ENGINES:
        raise InvalidArgument(f"--engine: unknown engine {shown(engine)}; engines: {', '.join(ENGINES)}"
                              f"{did_you_mean(engine, ENGINES)}")
    if recheck not in RECHECK_SOLVERS:
        raise InvalidArgument(f"--recheck: unknown solver {recheck!r}; choose {' or '.join(RECHECK_SOLVERS)}")
    chosen = list(dict.fromkeys(names or catalogue.NAMES))
    for name in chosen:
        catalogue.spec(name)
    if engine == "auto" and depth < 1:
        raise InvalidArgument("--depth 0 with --engine auto: auto hunts for counterexamples of at least one step; "
                              f"check {start} alone with --engine bmc --depth 0")
    return chosen


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
    names = _requested(names, engine, recheck, depth, "the initial states")

    deadline = Deadline(timeout)
    if deadline.expired():
        return timed_out(names, "the command's time ran out before this check started")
    replayer = partial(replay_failure, scenario)
    if scenario.parameterised:
        try:
            results = _check_any(scenario, names, engine, depth, deadline, recheck, progress, replayer)
        except OutOfTime as exc:  # the counter abstraction, which every workers=any verdict needs, was not built
            return timed_out(names, str(exc).removeprefix(f"{REASON}: "))
    else:
        system = build(scenario)
        props = [catalogue.instantiate(name, scenario) for name in names]
        results = _check_concrete(scenario, system, props, engine, depth, deadline, recheck, progress, replayer)
        results = [replace(r, scope=Scope.fixed(int(scenario.workers))) for r in results]
    return vet(results, replayer)


def timed_out(names: Sequence[str], why: str, engine: str = "none") -> list[CheckResult]:
    """``unknown`` for each property of ``names``, with the reason :data:`regcheck.deadline.REASON` and ``why``:
    what a stage that the command's deadline did not let run reports, so that nothing is silently dropped."""
    start = time.monotonic()
    return [outcome(catalogue.spec(name), engine, Verdict.UNKNOWN, None, start, note=f"{REASON}: {why}")
            for name in names]


def replay_failure(scenario: Scenario, trace: Trace, name: str) -> str | None:
    """Why ``trace`` is not a counterexample to property ``name`` on the reference simulator of ``scenario``
    (a workers=any one made concrete by the simulator, for the trace's workers), or None when it is: the replay
    every counterexample passes, by the simulator's own reading of the design and of the property."""
    report = replay(scenario, trace, name)
    return None if report.ok else str(report)


def replayable(scenario: Scenario, trace: Trace) -> Trace:
    """``trace`` naming its scenario and every switch of the concrete scenario, so that ``regcheck replay`` and
    ``regcheck show`` can read it on its own."""
    return trace.with_meta(scenario=scenario.name, switches=scenario_of(scenario, trace).switches())


def scenario_of(scenario: Scenario, trace: Trace | None) -> Scenario:
    """The concrete scenario a trace belongs to (a parameterised counterexample names its workers)."""
    if scenario.parameterised and (trace is None or "workers" not in trace.meta):
        raise InvalidArgument("a workers=any counterexample must name its number of workers")
    return story.concrete(scenario, trace) if trace is not None else scenario


def from_state(system: TransitionSystem, state: Mapping[str, Value]) -> TransitionSystem:
    """``system`` with ``state`` as its one initial state and no symmetry declaration: checking from a position
    (regcheck/model/SOUNDNESS.md, "Checking from a position"). A state that is not one of the system is refused."""
    domains = system.domains
    if set(state) != set(domains):
        extra, missing = sorted(set(state) - set(domains)), sorted(set(domains) - set(state))
        raise InvalidArgument(f"not a state of {system.name}: unexpected {shown(extra)}, missing {shown(missing)}")
    for name, domain in domains.items():
        if not domain.contains(state[name]):
            raise InvalidArgument(f"not a state of {system.name}: {name} is {shown(state[name])}, outside "
                                  f"{domain.describe()}")
    init = And(tuple(Eq(Var(name), Const(state[name])) for name in system.names))
    return replace(system, init=init, symmetry=())


def joined(path: Trace, continuation: Trace) -> Trace:
    """``path`` followed by ``continuation`` (which starts in ``path``'s last state): the whole execution from the
    scenario's initial state, a lasso's loop shifted, ``#meta.position`` the number of steps of ``path``."""
    if dict(continuation.states[0]) != dict(path.states[-1]):
        raise AssertionError("a continuation must start in the state its path ends in")
    states = tuple({name: s[name] for name in path.vars} for s in continuation.states[1:])
    loop = None if continuation.loop is None else continuation.loop + len(path)
    meta = {**path.meta, **continuation.meta, "position": len(path)}
    return Trace(path.vars, (*path.states, *states), (*path.steps, *continuation.steps), loop, meta)


def run_checks_from(
    scenario: Scenario,
    path: Trace,
    names: Sequence[str],
    *,
    engine: str = "auto",
    depth: int = 12,
    timeout: float | None = 120.0,
    recheck: str = "z3",
    progress: Progress | None = None,
) -> list[CheckResult]:
    """Check ``names`` (all if empty) from the last state of ``path``, a path of ``scenario`` (a fixed number of
    workers) from its initial state that replays on the reference simulator: the engines run on
    :func:`from_state`'s system; every counterexample is the whole path (``path``, then the continuation),
    replayed as such. ``depth`` bounds the continuation."""
    names = _requested(names, engine, recheck, depth, "the state")
    if scenario.parameterised:
        raise InvalidArgument("checking from a state needs a fixed number of workers; set workers=N")
    deadline = Deadline(timeout)
    if deadline.expired():
        return timed_out(names, "the command's time ran out before this check started")
    system = from_state(build(scenario), path.states[-1])
    props = [catalogue.instantiate(name, scenario) for name in names]

    def replayer(continuation: Trace, name: str) -> str | None:
        return replay_failure(scenario, joined(path, continuation), name)

    results = _check_concrete(scenario, system, props, engine, depth, deadline, recheck, progress, replayer,
                              whole=False)
    whole = []
    for result in vet(results, replayer):
        if result.trace is not None:
            result = replace(result, trace=joined(path, result.trace))
        whole.append(replace(result, scope=Scope.fixed(int(scenario.workers))))
    return whole


def reach_from(scenario: Scenario, path: Trace, where: Sequence[Constraint], *, depth: int = 12,
               timeout: float | None = 120.0) -> tuple[Trace | None, int, str]:
    """A shortest continuation of ``path`` whose steps have the shape ``where``, as the whole path, replayed on the
    reference simulator; or None, the depth searched completely and why the search stopped, if any."""
    system = from_state(build(scenario), path.states[-1])
    found = shortest_of_shape(system, where, depth=depth, timeout=timeout)
    if found.trace is None:
        return None, found.depth, found.note
    trace = joined(path, found.trace)
    reason = replay_failure_of_path(scenario, trace)
    if reason is not None:
        return None, found.depth, f"internal error: the continuation {REPLAY_FAILED} ({reason})"
    return trace.with_meta(replayed=True), found.depth, found.note


MUST_FAIL_STATES = 200_000
"""The states (and product nodes with the pending obligations) ``must_fail_from`` and its re-check may explore."""


@dataclass(frozen=True)
class Fate:
    """Whether every fair continuation of a position fails a liveness property (regcheck/model/SEMANTICS.md,
    "Positions"): ``must`` True (proved for the finite state space from the position, re-checked on the reference
    simulator), False with ``trace`` (the path, then a fair lasso that meets every obligation, replayed and shown
    fair and satisfying), or None (``note`` says why)."""

    property: str
    must: bool | None
    trace: Trace | None
    pending: tuple[tuple[str, int], ...]
    """The obligations pending at the position: each label and the state of the path it is pending since."""
    states: int
    """States reachable from the position that the search explored."""
    nodes: int
    """Nodes of the product of those states with the pending obligations."""
    note: str = ""


def must_fail_from(
    scenario: Scenario,
    path: Trace,
    name: str,
    *,
    timeout: float | None = 120.0,
    max_states: int = MUST_FAIL_STATES,
) -> Fate:
    """Whether every fair continuation of the last state of ``path`` (a path of ``scenario`` that replays) fails
    liveness property ``name``, counting the obligations pending there: a fair continuation that does not, or a
    proof, re-checked by ``model.continuations`` on the reference simulator."""
    spec = catalogue.spec(name)
    if spec.kind is Kind.SAFETY:
        raise InvalidArgument(f"{name} is a safety property: ask whether it can fail from here (can_fail)")
    if scenario.parameterised:
        raise InvalidArgument("checking from a state needs a fixed number of workers; set workers=N")
    deadline = Deadline(timeout)
    prop = catalogue.instantiate(name, scenario)
    since = [_pending_since(path, o.trigger, o.goal) for o in prop.obligations]
    pending = tuple((o.label, s) for o, s in zip(prop.obligations, since) if s is not None)
    compiled = compile_system(from_state(build(scenario), path.states[-1]))
    found = continuation.satisfying(compiled, prop, frozenset(i for i, s in enumerate(since) if s is not None),
                                   max_states=max_states, deadline=deadline.at)
    if found.trace is not None:
        whole = joined(path, found.trace)
        report = satisfies(scenario, whole, name)
        if not report.ok:
            return Fate(name, None, None, pending, found.states, found.nodes,
                        note=f"internal error: the fair continuation does not replay as one that meets every "
                             f"obligation ({report})")
        return Fate(name, False, whole.with_meta(replayed=True), pending, found.states, found.nodes)
    if not found.complete:
        return Fate(name, None, None, pending, found.states, found.nodes, note=found.note)
    recheck = no_fair_satisfying(scenario, path, name, max_states=max_states, deadline=deadline.at)
    if recheck.loop:
        raise EngineDisagreement(f"{name} from step {len(path)}: the search finds no fair continuation that meets "
                                 f"every obligation, but {recheck.why}")
    if not recheck.confirmed:
        return Fate(name, None, None, pending, found.states, found.nodes, note=f"proved by the search, not re-checked: {recheck.why}")
    return Fate(name, True, None, pending, found.states, found.nodes,
                note=f"no fair loop meets every obligation among the {found.nodes:,} nodes of the "
                     f"{found.states:,} states reachable from here with the obligations pending; re-checked on the "
                     f"reference simulator")


def _pending_since(path: Trace, trigger: Expr, goal: Expr) -> int | None:
    """The first state of ``path`` where ``trigger`` held and from which ``goal`` has not held since, or None."""
    since = None
    for index, state in enumerate(path.states):
        if evaluate(goal, state):
            since = None
        elif since is None and evaluate(trigger, state):
            since = index
    return since


def replay_failure_of_path(scenario: Scenario, trace: Trace) -> str | None:
    """Why ``trace`` is not an execution of ``scenario`` on the reference simulator, or None when it is."""
    report = replay(scenario, trace)
    return None if report.ok else str(report)


def _check_concrete(
    scenario: Scenario,
    system: TransitionSystem,
    props: list[Property],
    engine: str,
    depth: int,
    deadline: Deadline,
    recheck: str,
    progress: Progress | None,
    replayer: Replayer,
    whole: bool = True,
) -> list[CheckResult]:
    """``whole``: ``system`` starts in the scenario's initial state, so the abstractions of the scenario (counter
    system, interference) may prove for it; False for a system started elsewhere (:func:`run_checks_from`)."""
    if engine == "pdr":
        if not whole:
            return list(_prove_with(("pdr",), system, props, deadline, recheck, progress))
        return _prove(scenario, system, props, deadline, recheck, progress)
    if engine != "auto":
        return engines.get(engine)(
            system, props, Options(depth=depth, timeout=deadline.left(), progress=progress, recheck=recheck))
    by_name = {p.name: p for p in props}

    def quick(names: list[str], budget: float | None, watch: Progress | None) -> list[CheckResult]:
        return _certified(system, _quick(system, [by_name[n] for n in names], depth, budget, watch), by_name, recheck)

    def hunt(names: list[str]) -> Iterator[CheckResult]:
        """BMC to the full depth: safety in one unrolling, then each liveness property's lassos."""
        chosen = [by_name[n] for n in names]
        safety = [p for p in chosen if p.kind is Kind.SAFETY]
        if safety:
            yield from bmc.check(system, safety, Options(depth=depth, timeout=deadline.left()))
        for prop in chosen:
            if prop.kind is not Kind.SAFETY:
                yield from bmc.check(system, [prop], Options(depth=depth, timeout=deadline.left()))

    def prove(names: list[str]) -> Iterator[CheckResult]:
        """Liveness for every N where the workers are identical; Houdini then PDR for safety, each result
        sent as soon as it is done; a full explicit search for the liveness left open."""
        safety = [by_name[n] for n in names if by_name[n].kind is Kind.SAFETY]
        liveness = [by_name[n] for n in names if by_name[n].kind is not Kind.SAFETY]
        proved = []
        for result in _live_for_every_n(scenario, liveness, deadline) if whole else ():  # a fraction of a second
            proved.append(result.property)
            yield result
        if safety and whole:
            yield from _proving(scenario, system, safety, deadline, recheck, None, PROVERS)
        elif safety:
            yield from _prove_with(PROVERS, system, safety, deadline, recheck, None)
        rest = [p for p in liveness if p.name not in proved]
        if rest:
            yield from engines.get("explicit")(system, rest, Options(depth=depth, timeout=deadline.left()))

    label = "prove (houdini, then pdr; liveness for every N, then explicit)"
    # Many identical workers: the quick pass rarely finishes, the proofs for every N usually decide first.
    at_once = whole and parameterised.symmetric(scenario) and int(scenario.workers) >= AT_ONCE_WORKERS
    return _auto(props, quick, {HUNT: hunt, label: prove}, deadline, progress, replayer, early=(label,),
                 early_after=0.0 if at_once else EARLY_AFTER_S)


def _quick(system: TransitionSystem, props: list[Property], depth: int, budget: float | None,
           watch: Progress | None = None) -> list[CheckResult]:
    """Explicit-state search within ``QUICK_STATES`` states (a budget in work, not seconds, so a
    loaded machine gives the same verdicts); ``watch`` hears its progress lines."""
    return engines.get("explicit")(system, props, Options(depth=depth, timeout=budget, max_states=QUICK_STATES,
                                                          progress=watch))


def _certified(system: TransitionSystem, results: list[CheckResult], by_name: dict[str, Property],
               recheck: str) -> list[CheckResult]:
    """The quick pass's safety proofs by exhaustion, with the reachable states as their re-checked certificate
    where they are few (``certificate.of_reachable_states``): no PDR run is then needed. A certificate that
    fails its re-check means the encodings disagree: those proofs become internal errors."""
    proved = [r for r in results if r.verdict is Verdict.PROVED and by_name[r.property].kind is Kind.SAFETY]
    if not proved:
        return results
    certificate, failure = of_reachable_states(system, [by_name[r.property] for r in proved], solver=recheck)
    if certificate is None and not failure:
        return results
    changed = {
        r.property: replace(r, evidence=certificate, depth=None) if certificate is not None
        else replace(r, verdict=Verdict.UNKNOWN, evidence=None, note=failure)
        for r in proved
    }
    return [changed.get(r.property, r) for r in results]


def _auto(
    props: list[Property],
    quick: Callable[[list[str], float | None, Progress | None], list[CheckResult]],
    runners: dict[str, portfolio.Runner],
    deadline: Deadline,
    progress: Progress | None,
    replayer: Replayer,
    early: Sequence[str] = (),
    early_after: float = 0.0,
) -> list[CheckResult]:
    """A quick pass, then every runner side by side for what is left; every result is kept.

    A quick pass still running after ``early_after`` seconds (0: from the start) has the ``early``
    runners started beside it, on every property (a proof need not wait for a search that cannot
    decide it), and is stopped as soon as their results settle every property.

    The quick pass decides violations (shortest counterexamples) and, when it explored every
    state, proofs by exhaustion (on a small system, certified by its reachable states:
    :func:`_certified`). A property is settled by a replayed violation or a proof. Contradictory
    decisive results are an :class:`EngineDisagreement`, never a verdict.
    """
    names = [p.name for p in props]

    def final(result: CheckResult) -> bool:
        return result.verdict in portfolio.DECISIVE

    def settled(name: str, so_far: portfolio.Gathered) -> bool:
        return any(final(r) for r in so_far.results.get(name, []))

    def announce(result: CheckResult, at: float) -> None:
        if progress and result.verdict in portfolio.DECISIVE:
            progress(f"auto: {result.property} {result.verdict.value} by {result.engine} after {at:.1f} s")

    started: list[str] = []  # the early runners, once started

    def start_early() -> None:
        for label in early:
            pool.start(label, runners[label], names)
            started.append(label)

    def watch(_: str) -> None:
        """The quick pass's progress: start the early runners once it is slow, stop it once they decided all."""
        if pool.elapsed() < early_after:
            return
        if not started:
            start_early()
            return
        pool.poll(announce)
        if all(settled(n, pool.gathered) for n in names):
            raise _Decided

    with portfolio.Portfolio() as pool:
        if early_after <= 0:
            start_early()
        try:
            first = {r.property: r for r in vet(quick(names, deadline.left(), watch if early else None), replayer)}
        except _Decided:
            stopped = "the quick pass was stopped: the proofs beside it decided every property"
            first = {p.name: outcome(p, "explicit", Verdict.UNKNOWN, None, time.monotonic(), note=stopped)
                     for p in props}
        open_names = [n for n in names if not final(first[n])]
        pool.poll(announce)  # what the early runners have sent already is resolved with the quick pass's
        if progress:
            progress(f"auto: {len(names) - len(open_names)} decided by the quick pass; {len(open_names)} left")
        remaining = deadline.left()
        if open_names and (remaining is None or remaining > 0):
            if len(open_names) < len(names):  # the early runners work on decided properties too: start afresh
                for label in started:
                    pool.stop(label)
                started.clear()
            rest = {label: runner for label, runner in runners.items() if label not in started}
            # Nothing is left to hunt for where the quick pass explored every state or every step.
            if all(first[n].verdict in (Verdict.PROVED, Verdict.BOUNDED) for n in open_names):
                rest.pop(HUNT, None)
            for label, runner in rest.items():
                pool.start(label, runner, open_names)
            pool.gather(open_names, timeout=remaining, settled=settled, on_result=announce)
        elapsed = pool.elapsed()
    gathered = pool.gathered
    merged = []
    for name in names:
        if name not in open_names and not any(r.verdict in portfolio.DECISIVE for r in gathered.results.get(name, [])):
            merged.append(replace(first[name], engine=f"auto:{first[name].engine}"))
            continue
        # Decided by the quick pass and by an early proof too: resolved together, so a contradiction is seen.
        times = gathered.arrived.get(name, [])
        later = list(zip(vet(gathered.results.get(name, []), replayer), times))
        merged.append(_resolve(first[name], later, gathered, elapsed, deadline.seconds))
    return merged


def _resolve(
    first: CheckResult,
    later: list[tuple[CheckResult, float]],
    gathered: portfolio.Gathered,
    elapsed: float,
    timeout: float | None,
) -> CheckResult:
    """One property's verdict from every result it received (with the second each arrived at)."""
    candidates = [(first, first.time_s), *later]
    violated = sorted((c for c in candidates if c[0].verdict is Verdict.VIOLATED), key=lambda c: c[0].depth or 0)
    proved = [c for c in candidates if c[0].verdict is Verdict.PROVED]
    if violated and proved:
        bad, good = violated[0][0], proved[0][0]
        raise EngineDisagreement(
            f"internal error: engines disagree on {first.property}: {good.engine} proved it, but {bad.engine} "
            f"found a counterexample of {bad.depth} steps that replays on the reference simulator"
        )
    broken = [c for c in candidates if c[0].note.startswith("internal error")]
    if violated:
        chosen, at = violated[0]
    elif proved and not broken:
        chosen, at = max(proved, key=lambda c: isinstance(c[0].evidence, Certificate))
    else:
        bounded = [c for c in candidates if c[0].verdict is Verdict.BOUNDED]
        chosen = max((c[0] for c in bounded), key=lambda r: r.depth or 0) if bounded else first
        if broken:
            chosen = replace(chosen, verdict=Verdict.UNKNOWN, note=broken[0][0].note)
        else:
            chosen = replace(chosen, note=_open_reason(chosen, candidates, gathered, elapsed, timeout))
        at = elapsed  # undecided: it took the whole run
    failures = "; ".join(f"internal error: the {who} runner {why}" for who, why in gathered.failures.items())
    if failures and chosen.verdict not in portfolio.DECISIVE:
        chosen = replace(chosen, verdict=Verdict.UNKNOWN, note=f"{failures}; {chosen.note}".rstrip("; "))
    return replace(chosen, engine=f"auto:{chosen.engine}", time_s=round(at, 4))


def _open_reason(
    chosen: CheckResult,
    candidates: list[tuple[CheckResult, float]],
    gathered: portfolio.Gathered,
    elapsed: float,
    timeout: float | None,
) -> str:
    """Why a property is left bounded or unknown: what each engine said, and who ran out of time."""
    def who(result: CheckResult) -> str:
        return f"quick pass ({result.engine})" if result is candidates[0][0] else result.engine

    said = [f"{who(r)}: {r.note}" for r, _ in candidates if r.note and r is not chosen]
    if chosen.note:
        said.insert(0, f"{who(chosen)}: {chosen.note}")
    if gathered.unfinished and timeout is not None and elapsed >= timeout - 0.05:
        said.append(f"timeout after {timeout:g} s with {', '.join(gathered.unfinished)} still running")
    return "; ".join(dict.fromkeys(said))


class _Decided(Exception):
    """Raised through the quick pass to stop it: every property is settled already."""


PROVERS = ("houdini", "pdr")
"""What auto proves safety with, in turn: Houdini's one-variable invariants (fast where they suffice), then PDR."""


def _prove_with(
    provers: Sequence[str],
    system: TransitionSystem,
    props: list[Property],
    deadline: Deadline,
    recheck: str,
    progress: Progress | None,
) -> Iterator[CheckResult]:
    """Each prover in turn on what the ones before left open, each decision sent as soon as its prover
    is done; the last one's answer stands for the rest."""
    decided: set[str] = set()
    for index, name in enumerate(provers):
        rest = [p for p in props if p.name not in decided]
        if not rest:
            break
        last = index == len(provers) - 1
        options = Options(timeout=deadline.left(), progress=progress, recheck=recheck)
        for result in engines.get(name)(system, rest, options):
            if last or result.verdict in portfolio.DECISIVE:
                decided.add(result.property)
                yield result


def _prove(
    scenario: Scenario,
    system: TransitionSystem,
    props: list[Property],
    deadline: Deadline,
    recheck: str,
    progress: Progress | None,
    provers: Sequence[str] = ("pdr",),
) -> list[CheckResult]:
    """``provers`` (PDR alone for ``--engine pdr``), through the abstractions first when the workers are
    identical; one result per property, in their order."""
    found = {r.property: r for r in _proving(scenario, system, props, deadline, recheck, progress, provers)}
    return [found[p.name] for p in props]


def _proving(
    scenario: Scenario,
    system: TransitionSystem,
    props: list[Property],
    deadline: Deadline,
    recheck: str,
    progress: Progress | None,
    provers: Sequence[str],
) -> Iterator[CheckResult]:
    """What :func:`_prove` decides, each result sent as soon as it is known."""
    done: set[str] = set()
    if parameterised.symmetric(scenario) and int(scenario.workers) > 1:
        liveness = [p for p in props if p.kind is not Kind.SAFETY]
        for result in _live_for_every_n(scenario, liveness, deadline):
            done.add(result.property)
            yield result
        for result in _prove_by_symmetry(scenario, system, props, deadline, recheck, progress, provers):
            done.add(result.property)
            yield result
    rest = [p for p in props if p.name not in done]
    if rest:
        yield from _prove_with(provers, system, rest, deadline, recheck, progress)


def _prove_by_symmetry(
    scenario: Scenario,
    system: TransitionSystem,
    props: list[Property],
    deadline: Deadline,
    recheck: str,
    progress: Progress | None,
    provers: Sequence[str],
) -> list[CheckResult]:
    """The proved subset of ``props``, each certificate instantiated for the concrete workers and re-checked
    (and, should the instantiated invariant be false in a reachable state, those properties as ``unknown``)."""
    try:
        abstract = parameterised.abstraction(scenario, deadline.at)
    except OutOfTime:
        return []  # no proof by symmetry in time: what is left goes to the provers on the concrete system
    template = scenario.with_workers(1)
    lifted = [_lifted(abstract, template, p.name) for p in props if catalogue.spec(p.name).per_worker]
    if not lifted:
        return []
    by_name = {p.name: p for p in props}
    results = [
        (r, r.evidence)
        for r in list(_prove_with(provers, abstract.system, lifted, deadline, recheck, progress))
        if r.verdict is Verdict.PROVED and isinstance(r.evidence, Certificate)
    ]
    # Properties proved together share one invariant: instantiate and re-check it once for all of them.
    groups: dict[Expr, tuple[Certificate, list[CheckResult]]] = {}
    for result, evidence in results:
        assert evidence.invariant is not None  # PDR's certificates are invariants
        groups.setdefault(evidence.invariant, (evidence, []))[1].append(result)
    proved = []
    for invariant, (first, group) in groups.items():
        concrete = parameterised.instantiate(scenario, abstract, invariant)
        if recheck_invariant(system, [by_name[r.property] for r in group], concrete, solver=recheck) is not None:
            continue
        notes = {
            "abstraction": parameterised.ABSTRACTION,
            "instantiated_for_workers": scenario.workers,
            "counter_invariant": render(invariant),
            "rechecked_on": "the concrete system, each counter replaced by the number of workers in its local state",
        }
        # The evidence is the invariant that was re-checked on this system, not the counter one it came from;
        # the counter system's states cannot be enumerated, the concrete system's may be.
        kept = {k: v for k, v in first.notes.items() if k != "reachable_states"}
        instantiated = replace(first, invariant=concrete, notes={**kept, **notes})
        certificate, failure = on_reachable_states(system, instantiated, concrete)
        if failure:
            note = f"internal error: the instantiated invariant is wrong ({failure})"
            proved += [replace(r, verdict=Verdict.UNKNOWN, evidence=None, note=note) for r in group]
            continue
        proved += [replace(r, evidence=certificate) for r in group]
    return proved


def _live_for_every_n(scenario: Scenario, props: Sequence[Property], deadline: Deadline) -> list[CheckResult]:
    """The liveness properties of ``props`` proved for every number of workers (so for this one) by the
    interference abstraction, where the workers are identical; a fixed-N scenario says for which N it was asked."""
    if not props or not parameterised.symmetric(scenario) or (not scenario.parameterised and int(scenario.workers) < 2):
        return []
    proved = []
    builders = [partial(catalogue.instantiate, prop.name) for prop in props]
    for result in parameterised.liveness(scenario, builders, timeout=deadline.left()):
        if result.verdict is Verdict.PROVED and isinstance(result.evidence, LassoFreedom):
            notes = "proved for every number of workers, so for this one" if not scenario.parameterised else ""
            proved.append(replace(result, note=notes))
    return proved


def _lifted(abstract: CounterAbstraction, template: Scenario, name: str) -> Property:
    """The property ``name`` over the counter system, once it is checked to be per-worker."""
    spec = catalogue.spec(name)
    parameterised.verify_per_worker(template, name, spec.formula)
    return Property(spec.name, spec.kind, spec.description, spec.source, abstract.lift(spec.formula(template)))


def _check_any(
    scenario: Scenario,
    names: list[str],
    engine: str,
    depth: int,
    deadline: Deadline,
    recheck: str,
    progress: Progress | None,
    replayer: Replayer,
) -> list[CheckResult]:
    """``workers = "any"``: safety on the counter system, liveness on the interference abstraction; every
    verdict speaks of all numbers of workers."""
    if engine == "explicit":
        raise InvalidArgument("workers=any needs a symbolic engine (auto, pdr, bmc or kinduction), not explicit")
    liveness = [n for n in names if catalogue.spec(n).kind is not Kind.SAFETY]
    not_per_worker = [n for n in names if n not in liveness and not catalogue.spec(n).per_worker]
    if not_per_worker:
        raise InvalidArgument(f"{not_per_worker[0]} is not a per-worker property; it cannot be checked for workers=any")
    if liveness and engine not in ("auto", "pdr"):
        raise InvalidArgument(f"{liveness[0]} is a liveness property: for workers=any it is checked by auto or pdr, "
                              f"not {engine}")
    abstract = parameterised.abstraction(scenario, deadline.at)
    template = scenario.with_workers(1)
    props = [_lifted(abstract, template, name) for name in names if name not in liveness]
    system = abstract.system
    by_name: dict[str, CheckResult] = {}
    if props and engine == "auto":
        by_name.update((r.property, r) for r in _auto_any(scenario, abstract, props, depth, deadline, recheck, progress,
                                                          replayer))
    elif props:
        found = engines.get(engine)(
            system, props, Options(depth=depth, timeout=deadline.left(), progress=progress, recheck=recheck))
        by_name.update((r.property, _concretised(scenario, abstract, r, deadline)) for r in found)
    prefix = "auto:" if engine == "auto" else ""
    by_name.update((r.property, replace(r, engine=prefix + r.engine))
                   for r in _liveness_any(scenario, liveness, deadline, progress))
    results = [by_name[name] for name in names]
    note = f"parameterised: {parameterised.ABSTRACTION} ({len(abstract.local_states)} local states)"
    out = []
    for result in results:
        if result.verdict is Verdict.VIOLATED and result.trace is not None:
            workers = result.trace.meta["workers"]
            out.append(replace(result, scope=Scope.witness(workers),
                               note=f"parameterised: violated already with {workers} worker(s); the trace shows them"))
            continue
        if result.verdict is Verdict.PROVED and isinstance(result.evidence, Certificate):
            notes = {"parameterised": True, "workers": "every N >= 1", "abstraction": parameterised.ABSTRACTION}
            result = replace(result, evidence=replace(result.evidence, notes={**result.evidence.notes, **notes}))
        if result.verdict in (Verdict.PROVED, Verdict.BOUNDED):
            result = replace(result, scope=Scope.every())
        how = note if result.kind is Kind.SAFETY else f"parameterised: {parameterised.INTERFERENCE}"
        out.append(replace(result, note=f"{how}; {result.note}" if result.note else how))
    return out


def _liveness_any(scenario: Scenario, names: list[str], deadline: Deadline,
                  progress: Progress | None) -> list[CheckResult]:
    """workers=any liveness: proofs from the interference abstraction; where it finds a loop (perhaps
    spurious), a lasso hunted on 1, 2 then 3 concrete workers, so one is found for the fewest workers."""
    builders = [partial(catalogue.instantiate, name) for name in names]
    found = {r.property: r for r in parameterised.liveness(scenario, builders, timeout=deadline.left(),
                                                           progress=progress)}
    searched: list[int] = []
    for workers in LIVENESS_HUNT:
        todo = [n for n in names if found[n].verdict is Verdict.UNKNOWN]
        remaining = deadline.left()
        if not todo or deadline.expired():
            break
        concrete = scenario.with_workers(workers)
        props = [catalogue.instantiate(n, concrete) for n in todo]
        for result in engines.get("explicit")(build(concrete), props, Options(timeout=remaining, progress=progress)):
            if result.verdict is Verdict.VIOLATED and result.trace is not None:
                found[result.property] = replace(result, trace=result.trace.with_meta(workers=workers))
        searched.append(workers)
    counts = f"{searched[0]} to {searched[-1]}" if len(searched) > 1 else str(searched[0]) if searched else ""
    hunted = f"no fair violating lasso with {counts} worker(s)"
    return [r if r.verdict is not Verdict.UNKNOWN else replace(r, note=f"{r.note}; {hunted}" if searched else r.note)
            for r in found.values()]


def _concretised(
    scenario: Scenario, abstract: CounterAbstraction, result: CheckResult, deadline: Deadline
) -> CheckResult:
    """A counter-system violation as a shortest trace of the fewest workers that show it."""
    if result.verdict is not Verdict.VIOLATED or result.trace is None or "workers" in result.trace.meta:
        return result
    workers, _ = abstract.concretise([step.label for step in result.trace.steps])
    concrete = scenario.with_workers(workers)
    prop = catalogue.instantiate(result.property, concrete)
    (found,) = bmc.check(build(concrete), [prop], Options(depth=len(result.trace), timeout=deadline.left()))
    if found.verdict is not Verdict.VIOLATED or found.trace is None:
        return replace(result, verdict=Verdict.UNKNOWN, trace=None,
                       note="internal error: the abstract counterexample did not concretise")
    trace = found.trace.with_meta(workers=workers, concretised_from="workers=any")
    return replace(result, trace=trace, depth=len(trace))


def _auto_any(
    scenario: Scenario,
    abstract: CounterAbstraction,
    props: list[Property],
    depth: int,
    deadline: Deadline,
    recheck: str,
    progress: Progress | None,
    replayer: Replayer,
) -> list[CheckResult]:
    """workers=any: a quick hunt on small concrete systems (one violating N refutes "every N"), then
    BMC and PDR on the counter system, whose bounds and proofs speak of every N."""
    by_name = {p.name: p for p in props}
    system = abstract.system

    def quick(names: list[str], budget: float | None, watch: Progress | None) -> list[CheckResult]:
        found: dict[str, CheckResult] = {}
        for workers in HUNT_WORKERS:
            concrete = scenario.with_workers(workers)
            todo = [n for n in names if n not in found or found[n].verdict is not Verdict.VIOLATED]
            for result in _quick(build(concrete), [catalogue.instantiate(n, concrete) for n in todo], depth,
                                 deadline.within(budget), watch):
                if result.verdict is Verdict.VIOLATED and result.trace is not None:
                    result = replace(result, trace=result.trace.with_meta(workers=workers))
                else:  # a search of a few fixed N is no verdict about every N
                    searched = " and ".join(str(w) for w in HUNT_WORKERS[: HUNT_WORKERS.index(workers) + 1])
                    result = replace(result, verdict=Verdict.UNKNOWN, evidence=None, trace=None,
                                     note=f"no violation with {searched} worker(s); that decides nothing for every N")
                found[result.property] = result
        return [found[n] for n in names]

    def hunt(names: list[str]) -> Iterator[CheckResult]:
        for result in bmc.check(system, [by_name[n] for n in names], Options(depth=depth, timeout=deadline.left())):
            yield _concretised(scenario, abstract, result, deadline)

    def prove(names: list[str]) -> Iterator[CheckResult]:
        yield from _prove_with(PROVERS, system, [by_name[n] for n in names], deadline, recheck, None)

    label = "prove (houdini, then pdr, on the counter system)"
    return _auto(props, quick, {"hunt (bmc on the counter system)": hunt, label: prove}, deadline, progress, replayer,
                 early=(label,))
