"""Verdicts claim no more than was checked: scopes, the portfolio's bookkeeping, the counter
abstraction's premises, expectations, and processes that never outlive regcheck."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from regcheck import compose
from regcheck.core import portfolio
from regcheck.core.abstraction import counter_abstraction, verify_per_process, verify_product
from regcheck.core.evidence import Certificate
from regcheck.core.expr import FALSE, TRUE, Const, add, and_, eq, le, not_, var
from regcheck.core.result import CheckResult, Scope, Trace, Verdict, verdict_text
from regcheck.core.system import Action, Kind, Property, TransitionSystem, Variable, boolean, enum, int_range
from regcheck.deadline import Deadline
from regcheck.errors import EngineDisagreement, InvalidArgument, InvalidModel
from regcheck.model import parameterised
from regcheck.model.scenario import load_builtin, with_overrides
from regcheck.properties import catalogue
from tests.clirun import run, run_json


def _result(name: str, verdict: Verdict, engine: str = "fake", **extra: object) -> CheckResult:
    return CheckResult(name, "safety", verdict, engine, extra.pop("depth", None), 0.0, **extra)  # type: ignore[arg-type]


def _trace(steps: int) -> Trace:
    states = tuple({"x": i} for i in range(steps + 1))
    from regcheck.core.result import Step

    return Trace(("x",), states, tuple(Step("Tick", ()) for _ in range(steps)))


# --------------------------------------------------------------------------------------------
# scopes: a parameterised verdict says which numbers of workers it covers


def test_any_workers_bounds_and_proofs_speak_of_every_n(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = run_json(capsys, "check", "fix-run-as-user", "--set", "workers=any", "--timeout", "20",
                              "--depth", "3")
    assert code == 0
    for result in document["results"]:
        assert result["verdict"] in ("proved", "bounded")
        assert result["scope"] == {"workers": "every N >= 1"}


def test_any_workers_counterexample_names_its_workers(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = run_json(capsys, "check", "seed", "--set", "workers=any", "-p",
                              "worker-never-gets-network-error")
    (result,) = document["results"]
    assert code == 1 and result["verdict"] == "violated"
    assert result["scope"] == {"workers": [1]}


def test_a_search_of_one_and_two_workers_is_no_verdict_for_every_n(monkeypatch: pytest.MonkeyPatch) -> None:
    """Were nothing but the concrete hunt on 1 and 2 workers to answer, no bound may be claimed for every N."""
    monkeypatch.setattr(portfolio.Portfolio, "start", lambda self, label, runner, names: None)
    scenario = with_overrides(load_builtin("fix-run-as-user"), ["workers=any"])
    safety = [n for n in catalogue.NAMES if catalogue.spec(n).kind is Kind.SAFETY]
    results = compose.run_checks(scenario, safety, engine="auto", depth=3, timeout=20)
    assert [r.verdict for r in results] == [Verdict.UNKNOWN] * 5
    assert all("no violation with 1 and 2 worker(s)" in r.note for r in results)


def test_the_report_and_the_table_say_what_a_parameterised_verdict_covers() -> None:
    from regcheck.report.html import verdict_cell, verdict_words

    proved = _result("p", Verdict.PROVED, scope=Scope.every())
    violated = _result("p", Verdict.VIOLATED, depth=5, scope=Scope.witness(1))
    fixed = _result("p", Verdict.PROVED, scope=Scope.fixed(4))
    assert verdict_words(proved) == "proved for every number of workers"
    assert "for every number of workers" in verdict_cell(proved)
    assert verdict_text(violated) == "violated (5 steps, already with 1 worker)"
    assert verdict_text(fixed) == verdict_words(fixed) == "proved"


def test_concrete_results_name_their_worker_count() -> None:
    scenario = with_overrides(load_builtin("seed"), ["workers=2"])
    results = compose.run_checks(scenario, ["no-registration-mismatch"], engine="bmc", depth=4, timeout=60)
    assert [r.scope for r in results] == [Scope.fixed(2)]


def test_fixed_n_proof_carries_the_invariant_rechecked_on_that_n(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = run_json(capsys, "check", "fix-run-as-user", "--set", "workers=3", "--engine", "pdr", "-p",
                              "worker-never-gets-network-error")
    (result,) = document["results"]
    evidence = result["evidence"]
    assert code == 0 and result["verdict"] == "proved"
    assert evidence["instantiated_for_workers"] == 3
    assert "pc[3]" in evidence["invariant"] and "pc[3]" not in evidence["counter_invariant"]
    assert "#(" not in evidence["invariant"]


# --------------------------------------------------------------------------------------------
# the portfolio: results stream, failures are shown, contradictions are errors


def test_a_result_arrives_before_its_runner_finishes() -> None:
    def slow(names: list[str]) -> Iterator[CheckResult]:
        yield _result(names[0], Verdict.PROVED)
        time.sleep(60)

    start = time.monotonic()
    gathered = portfolio.run(["p"], {"slow": slow}, timeout=50)
    assert time.monotonic() - start < 30
    assert [r.verdict for r in gathered.results["p"]] == [Verdict.PROVED]
    assert gathered.unfinished == ["slow"]


def test_each_result_is_announced_as_it_arrives() -> None:
    def two(names: list[str]) -> Iterator[CheckResult]:
        yield _result("p", Verdict.PROVED)
        yield _result("q", Verdict.BOUNDED, depth=3)

    heard: list[tuple[str, Verdict]] = []
    portfolio.run(["p", "q"], {"two": two}, timeout=30, on_result=lambda r, at: heard.append((r.property, r.verdict)))
    assert heard == [("p", Verdict.PROVED), ("q", Verdict.BOUNDED)]


def test_a_runner_that_dies_is_a_failure_not_silence() -> None:
    def dies(names: list[str]) -> Iterator[CheckResult]:
        os.kill(os.getpid(), signal.SIGKILL)
        yield _result(names[0], Verdict.PROVED)

    def raises(names: list[str]) -> Iterator[CheckResult]:
        raise ValueError("broken engine")
        yield _result(names[0], Verdict.PROVED)

    gathered = portfolio.run(["p"], {"dies": dies, "raises": raises}, timeout=30)
    assert gathered.failures["dies"] == "died with signal SIGKILL"
    assert gathered.failures["raises"].startswith("raised ValueError: broken engine")
    assert gathered.results == {}


def test_bad_input_raised_in_a_runner_reaches_the_parent() -> None:
    def refuses(names: list[str]) -> Iterator[CheckResult]:
        raise InvalidModel("update leaves the domain")
        yield _result(names[0], Verdict.PROVED)

    with pytest.raises(InvalidModel, match="update leaves the domain"):
        portfolio.run(["p"], {"refuses": refuses}, timeout=30)


PROP = Property("p", Kind.SAFETY, "p", "", TRUE)


def _auto(quick: CheckResult, runner_results: list[CheckResult], replays: bool = True) -> CheckResult:
    """auto with the runner started beside the quick pass, which returns ``quick`` once the runner's
    results are in: a decisive quick result would otherwise leave no runner to start."""
    def runner(names: list[str]) -> Iterator[CheckResult]:
        yield from runner_results

    def slow(names: list[str], budget: float | None, watch: object) -> list[CheckResult]:
        time.sleep(0.5)
        return [quick]

    (result,) = compose._auto(
        [PROP], slow, {"prove": runner}, Deadline(30), None,
        lambda trace, name: None if replays else "step 1 is not enabled", early=("prove",),
    )
    return result


def test_proved_against_a_replayed_violation_is_an_internal_error() -> None:
    exhaustive = _result("p", Verdict.PROVED, "explicit", evidence={"states": 10})
    violated = _result("p", Verdict.VIOLATED, "bmc", depth=3, trace=_trace(3))
    with pytest.raises(EngineDisagreement, match="explicit proved it, but bmc found a counterexample of 3 steps"):
        _auto(exhaustive, [violated])


def test_a_counterexample_that_does_not_replay_leaves_the_verdict_unknown() -> None:
    exhaustive = _result("p", Verdict.PROVED, "explicit", evidence={"states": 10})
    violated = _result("p", Verdict.VIOLATED, "bmc", depth=3, trace=_trace(3))
    result = _auto(exhaustive, [violated], replays=False)
    assert result.verdict is Verdict.UNKNOWN
    assert "did not replay" in result.note and "step 1 is not enabled" in result.note


def test_a_crashed_runner_is_shown_in_the_verdict() -> None:
    def dies(names: list[str]) -> Iterator[CheckResult]:
        os.kill(os.getpid(), signal.SIGKILL)
        yield _result("p", Verdict.PROVED)

    (result,) = compose._auto([PROP], lambda names, budget, watch: [_result("p", Verdict.UNKNOWN)], {"prove": dies}, Deadline(30),
                              None, lambda trace, name: None)
    assert result.verdict is Verdict.UNKNOWN
    assert "internal error: the prove runner died with signal SIGKILL" in result.note


def test_a_slow_quick_pass_has_the_proof_started_beside_it_and_is_stopped_by_it() -> None:
    """The quick pass reports progress for ever; the early runner's certificate settles the property,
    which stops the quick pass (it never returns on its own here)."""
    certified = _result("p", Verdict.PROVED, "pdr", evidence=Certificate("inductive-invariant", invariant=TRUE))

    def endless(names: list[str], budget: float | None, watch: object) -> list[CheckResult]:
        assert callable(watch)
        while True:
            watch("explicit: still searching")
            time.sleep(0.05)

    def prove(names: list[str]) -> Iterator[CheckResult]:
        yield certified

    (result,) = compose._auto([PROP], endless, {"prove": prove}, Deadline(30), None, lambda trace, name: None,
                              early=("prove",), early_after=0.2)
    assert result.verdict is Verdict.PROVED and result.engine == "auto:pdr"


def test_an_early_proof_against_the_quick_pass_violation_is_an_internal_error() -> None:
    certified = _result("p", Verdict.PROVED, "pdr", evidence=Certificate("inductive-invariant", invariant=TRUE))
    violated = _result("p", Verdict.VIOLATED, "explicit", depth=3, trace=_trace(3))

    def prove(names: list[str]) -> Iterator[CheckResult]:
        yield certified

    def quick(names: list[str], budget: float | None, watch: object) -> list[CheckResult]:
        time.sleep(0.5)  # the early runner has sent its proof by now
        return [violated]

    with pytest.raises(EngineDisagreement, match="pdr proved it"):
        compose._auto([PROP], quick, {"prove": prove}, Deadline(30), None, lambda trace, name: None, early=("prove",))


def test_a_certificate_wins_over_an_exhaustive_proof() -> None:
    exhaustive = _result("p", Verdict.PROVED, "explicit", evidence={"states": 10})
    certified = _result("p", Verdict.PROVED, "pdr", evidence=Certificate("inductive-invariant", invariant=TRUE))
    result = _auto(exhaustive, [certified])
    assert result.engine == "auto:pdr" and isinstance(result.evidence, Certificate)


def test_auto_refuses_depth_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "seed", "--depth", "0")
    assert code == 2 and "--depth 0 with --engine auto" in err and "Traceback" not in err
    code, out, err = run(capsys, "check", "seed", "--depth", "0", "--engine", "bmc")
    assert code == 0 and "bounded (no violation in 0 steps)" in out


def test_the_verdict_line_counts_proofs_and_bounds(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "fix-run-as-user", "--engine", "bmc", "--depth", "4")
    assert code == 0 and "7 properties: 0 proved, 7 only bounded (no proof)" in out
    code, out, _ = run(capsys, "check", "seed")
    assert code == 1 and "7 properties: 2 proved, 5 violated" in out


def test_cross_check_counts_a_counterexample_that_fails_replay(capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from regcheck.core.engines import explicit

    real = explicit.check

    def truncating(system, properties, options):  # type: ignore[no-untyped-def]
        """An engine whose counterexamples stop one step short of the violation."""
        out = []
        for r in real(system, properties, options):
            if r.verdict is Verdict.VIOLATED and r.trace is not None:
                t = r.trace
                r = dataclasses.replace(r, trace=Trace(t.vars, t.states[:-1], t.steps[:-1], None, t.meta))
            out.append(r)
        return out

    monkeypatch.setattr(explicit, "check", truncating)
    code, document = run_json(capsys, "check", "seed", "--engine", "explicit", "--cross-check", "bmc", "-p",
                              "no-registration-mismatch")
    (problem,) = document["cross_check"]["disagreements"]
    assert code == 1
    assert problem["message"].startswith("explicit's counterexample to no-registration-mismatch did not replay")


def test_cross_check_lists_what_it_could_not_compare(capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from regcheck.core.engines import bmc

    def undecided(system, properties, options):  # type: ignore[no-untyped-def]
        return [_result(p.name, Verdict.UNKNOWN, "bmc", note="timeout") for p in properties]

    monkeypatch.setattr(bmc, "check", undecided)
    code, out, _ = run(capsys, "check", "fix-run-as-user", "--engine", "explicit", "--cross-check", "bmc", "-p",
                       "no-registration-mismatch")
    assert code == 0
    assert "not compared: no-registration-mismatch (bmc unknown)" in out


# --------------------------------------------------------------------------------------------
# the counter abstraction: its premises are checked, not assumed


def _mutex(processes: int, *, odd: int | None = None, joint: bool = False, ticks: int = 0) -> TransitionSystem:
    """``processes`` copies of Enter/Leave around one lock; ``odd`` gives that process a different
    guard, ``joint`` adds a step that moves two processes at once, ``ticks`` copies of a global step
    (of the shared ``turn`` alone)."""
    actions = []
    for i in range(1, processes + 1):
        pc = var(f"pc[{i}]")
        guard = and_(eq(pc, "idle"), not_(var("lock")))
        if i == odd:
            guard = and_(guard, le(var("turn"), 0))
        actions.append(Action("Enter", (("p", i),), guard, ((f"pc[{i}]", Const("critical")), ("lock", TRUE))))
        actions.append(Action("Leave", (("p", i),), eq(pc, "critical"), ((f"pc[{i}]", Const("idle")),
                                                                         ("lock", FALSE))))
    if joint:
        both = (("pc[1]", Const("idle")), ("pc[2]", Const("idle")))
        actions.append(Action("Reset", (), TRUE, both))
    for copy in range(1, ticks + 1):
        actions.append(Action("Tick", (("copy", copy),), eq(var("turn"), 0), (("turn", Const(1)),)))
    variables = [Variable(f"pc[{i}]", enum("idle", "critical")) for i in range(1, processes + 1)]
    variables += [Variable("lock", boolean()), Variable("turn", int_range(0, 1))]
    init = and_(*(eq(var(f"pc[{i}]"), "idle") for i in range(1, processes + 1)), not_(var("lock")),
                eq(var("turn"), 0))
    return TransitionSystem(f"mutex-{processes}", tuple(variables), init, tuple(actions))


def _blocks(n: int) -> list[tuple[str, ...]]:
    return [(f"pc[{i}]",) for i in range(1, n + 1)]


def test_a_true_product_passes_the_check() -> None:
    for n in (2, 3):
        verify_product(_mutex(1), ("pc[1]",), _mutex(n), _blocks(n))


def test_a_process_that_differs_from_the_template_is_refused() -> None:
    with pytest.raises(InvalidModel, match="Enter\\(p=1\\) of the template has no counterpart for process 2"):
        verify_product(_mutex(1), ("pc[1]",), _mutex(2, odd=2), _blocks(2))


def test_a_step_of_two_processes_is_refused() -> None:
    with pytest.raises(InvalidModel, match="Reset\\(\\) of mutex-2 is not a step of one process"):
        verify_product(_mutex(1), ("pc[1]",), _mutex(2, joint=True), _blocks(2))


def test_a_global_action_must_appear_once() -> None:
    """A step of the shared state alone (a server event on a session every worker shares) is no
    worker's: it stays once in the product, and once in the counter system, moving no counter."""
    verify_product(_mutex(1, ticks=1), ("pc[1]",), _mutex(2, ticks=1), _blocks(2))
    with pytest.raises(InvalidModel, match="Tick\\(copy=2\\) of mutex-2 is not a step of one process"):
        verify_product(_mutex(1, ticks=1), ("pc[1]",), _mutex(2, ticks=2), _blocks(2))
    counters = counter_abstraction(_mutex(1, ticks=1), ("pc[1]",))
    ticks = [a for a in counters.system.actions if a.name == "Tick"]
    assert len(ticks) == 1 and not any(name.startswith("#") for name, _ in ticks[0].updates)
    assert counters.concretise([ticks[0].label]) == (1, [("Tick(copy=1)", -1)])


def test_equivalent_forms_of_one_step_are_accepted() -> None:
    """The check is semantic: ``lock = false`` and ``~lock`` are one guard."""
    concrete = _mutex(2)
    reworded = tuple(
        Action(a.name, a.params, and_(a.guard.args[0], eq(var("lock"), FALSE)), a.updates) if a.name == "Enter" else a
        for a in concrete.actions
    )
    verify_product(_mutex(1), ("pc[1]",), TransitionSystem("reworded", concrete.variables, concrete.init, reworded),
                   _blocks(2))


def test_a_property_that_is_not_per_process_is_refused() -> None:
    template = eq(var("pc[1]"), "idle")
    everyone = and_(eq(var("pc[1]"), "idle"), eq(var("pc[2]"), "idle"))
    assert verify_per_process(template, ("pc[1]",), everyone, _mutex(2), _blocks(2))
    at_most_one = not_(and_(eq(var("pc[1]"), "critical"), eq(var("pc[2]"), "critical")))
    assert not verify_per_process(not_(eq(var("pc[1]"), "critical")), ("pc[1]",), at_most_one, _mutex(2), _blocks(2))


def test_the_models_per_worker_check_refuses_a_cross_worker_formula() -> None:
    scenario = load_builtin("fix-run-as-user")

    def total_done(s: object) -> object:
        workers = range(1, int(s.workers) + 1)  # type: ignore[attr-defined]
        total = Const(0)
        for w in workers:
            total = add(total, var(f"done[{w}]"))
        return le(total, 1)

    with pytest.raises(InvalidArgument, match="not a per-worker property: with 2 workers"):
        parameterised.verify_per_worker(scenario, "one-done-in-all", total_done)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["seed", "fix-run-as-user", "fix-no-notifications", "exchange-2010",
                                  "re-register-on-miss", "mailbox-walker", "thread-pool", "session-cache",
                                  "service-account"])
def test_every_symmetric_builtin_is_a_product_of_its_worker(name: str) -> None:
    parameterised.abstraction(load_builtin(name).with_workers(1))


# --------------------------------------------------------------------------------------------
# child processes never outlive regcheck


LONG_RUN = ["check", "session-cache", "--set", "workers=6", "--timeout", "120"]
"""A run that keeps solver processes busy for well over a minute."""


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found |= {int(c) for c in task.read_text().split()}
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _start_long_run() -> tuple[subprocess.Popen[bytes], set[int]]:
    process = subprocess.Popen([sys.executable, "-m", "regcheck.cli", *LONG_RUN], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _children(process.pid):
        time.sleep(0.1)
    kids = _children(process.pid)
    assert kids, "the run started no solver processes"
    return process, kids


def _gone(pids: set[int], within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_solver_processes_die_with_regcheck(sig: signal.Signals) -> None:
    process, kids = _start_long_run()
    process.send_signal(sig)
    process.communicate(timeout=90)
    assert _gone(kids)


@pytest.mark.slow
def test_ctrl_c_stops_everything_quietly() -> None:
    process, kids = _start_long_run()
    os.killpg(process.pid, signal.SIGINT)  # as a terminal does: the whole foreground group
    _, err = process.communicate(timeout=90)
    assert process.returncode == 130
    assert b"interrupted" in err and b"Traceback" not in err and b"KeyboardInterrupt" not in err
    assert _gone(kids)
