"""The Promela export (regcheck/formats/promela.py, ``regcheck export``) and SPIN's verdicts against regcheck's.

The first tests read the text alone and need no SPIN. The slow ones run SPIN's whole pipeline
(``regcheck.formats.spin``) and ask that its verdict on every property equal the explicit engine's on the
same system: on built-in scenarios, on ``--set`` variants, and on small systems made to tell
fairness apart (an unfair action enabled for ever, a deadlock after a trigger, simultaneous
updates). They need ``spin`` and ``gcc`` on PATH: CI installs SPIN (.ci/run); a local run leaves
them out unless ``-m slow`` asks for them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from regcheck.core import engines
from regcheck.core.engines import Options
from regcheck.core.expr import FALSE, TRUE, Const, Expr, add, and_, eq, ite, lt, ne, not_, var
from regcheck.core.result import Verdict
from regcheck.core.system import (
    Action,
    Kind,
    Obligation,
    Property,
    TransitionSystem,
    Variable,
    boolean,
    enum,
    int_range,
    naturals,
)
from regcheck.errors import InvalidModel
from regcheck.formats import promela, spin
from regcheck.model import scenario as scenarios
from regcheck.model.system import build
from regcheck.properties import catalogue
from tests.clirun import run

HOSTILE = 'x */ "q" \\ ??/ \'a\'\n#define'
"""A name with a comment's end, quotes, a backslash, a trigraph, a newline and a directive."""


def _model(name: str, *sets: str, names: tuple[str, ...] = catalogue.NAMES) -> tuple[TransitionSystem,
                                                                                      list[Property],
                                                                                      promela.PromelaModel]:
    scenario = scenarios.with_overrides(scenarios.load(name), list(sets))
    system = build(scenario)
    props = [catalogue.instantiate(n, scenario) for n in names]
    return system, props, promela.translate(system, props, title=scenario.name)


def _action(name: str, guard: Expr, updates: dict[str, Expr], worker: int = 1) -> Action:
    return Action(name, (("worker", worker),), guard, tuple(sorted(updates.items())))


def _system(variables: list[tuple[Variable, object]], actions: list[Action], name: str = "toy") -> TransitionSystem:
    init = and_(*(eq(var(v.name), value) for v, value in variables))  # type: ignore[arg-type]
    return TransitionSystem(name, tuple(v for v, _ in variables), init, tuple(actions))


def _liveness(name: str, goal: Expr, fair: tuple[str, ...], trigger: Expr = TRUE) -> Property:
    return Property(name, Kind.LIVENESS, "", "", TRUE, (Obligation(trigger, goal),), fair)


def _safety(name: str, formula: Expr) -> Property:
    return Property(name, Kind.SAFETY, "", "", formula)


# --------------------------------------------------------------------------------------------
# The text, without SPIN


def test_one_process_per_fair_action_instance_and_env_for_the_unfair_ones() -> None:
    system, props, model = _model("seed", "workers=2")
    text = model.text
    fair = [a for a in system.actions if a.name != "ServerEvent"]
    assert len(re.findall(r"^proctype a_\w+\(\) \{$", text, re.M)) == len(fair)
    assert len(re.findall(r"^proctype env\(\) \{$", text, re.M)) == 1
    assert model.unfair == ("ServerEvent(session=1)", "ServerEvent(session=2)")
    assert len(re.findall(r"^    run \w+\(\);$", text, re.M)) == len(fair) + 1
    assert text.count("d_step {") == len(system.actions) + 1  # and env's skip
    assert model.nfair * 4 - 2 > len(model.processes) + 2, "pan -f must have room for init and the claim"


def test_every_safety_property_is_one_assert_on_its_own_line_and_every_liveness_one_an_ltl_block() -> None:
    _, props, model = _model("fix-run-as-user")
    lines = model.text.split("\n")
    safety = [p for p in props if p.kind is Kind.SAFETY]
    assert [c.property for c in model.safety] == [p.name for p in safety]
    for check in model.safety:
        assert lines[check.line - 1].startswith("  assert(")
        assert model.failed_assertion(check.line) == check.property
    assert model.text.count("assert(") == len(safety)
    assert model.text.count("safety()") == len(build(scenarios.load("fix-run-as-user")).actions) + 2
    ltl = re.findall(r"^ltl (\w+) \{ (.*) \}$", model.text, re.M)
    assert [name for name, _ in ltl] == ["p_notifications_delivered", "p_worker_requests_succeed"]
    assert [c.ltl for c in model.liveness] == [name for name, _ in ltl]
    assert all("->" in body and "<>" in body and ":" not in body for _, body in ltl)


def test_unchecking_an_assert_keeps_every_line_in_place() -> None:
    _, _, model = _model("seed")
    first = model.safety[0]
    text = model.unchecked([first.property])
    assert len(text.split("\n")) == len(model.text.split("\n"))
    assert text.count("assert(") == len(model.safety) - 1
    assert text.split("\n")[model.safety[1].line - 1].startswith("  assert(")


def test_safety_only_has_no_env_and_no_ltl() -> None:
    system, _, model = _model("seed", names=("worker-never-gets-network-error",))
    assert "env" not in model.processes and not model.liveness and not re.search(r"^ltl ", model.text, re.M)
    assert len(model.processes) == len(system.actions)


def test_simultaneous_updates_go_through_scratch() -> None:
    x, y = Variable("x", int_range(0, 3)), Variable("y", int_range(0, 3))
    swap = _action("Swap", TRUE, {"x": var("y"), "y": var("x")})
    model = promela.translate(_system([(x, 1), (y, 2)], [swap]), [])
    steps = re.findall(r"^ +(\w+ = \w+);$", model.text, re.M)
    assert steps == ["t_0 = v_y", "t_1 = v_x", "v_x = t_0", "v_y = t_1"], "both read before either is written"
    assert "hidden int t_0;" in model.text and "hidden int t_1;" in model.text


def test_hostile_names_cannot_break_the_text() -> None:
    member = enum("none", HOSTILE, "a-b", "a.b")
    v1, v2 = Variable(HOSTILE, member, description=HOSTILE), Variable(HOSTILE + "!", boolean())
    act = Action(HOSTILE, (("worker", 1),), eq(var(HOSTILE), "none"), ((HOSTILE, Const("a-b")),))
    system = _system([(v1, "none"), (v2, False)], [act, _action("Other", TRUE, {HOSTILE + "!": TRUE})], HOSTILE)
    props = [_safety(HOSTILE, ne(var(HOSTILE), "a.b")), _liveness(HOSTILE, var(HOSTILE + "!"), (HOSTILE,))]
    model = promela.translate(system, props, title=HOSTILE)
    identifiers = set(re.findall(r"\b([A-Za-z_]\w*)\b", _code(model.text)))
    for line in model.text.split("\n"):
        code = _code(line)
        assert "\\" not in line and "??" not in line and '"' not in line, line
        assert not code.strip().startswith("#") or re.match(r"#define \w+ ", code.strip()), line
        assert line.count("/*") == line.count("*/") <= 1, line
    assert {"E_a_b", "E_a_b_2"} <= identifiers, "members that sanitise alike get names of their own"
    assert len({c.ltl for c in model.liveness} | set(model.processes)) == 3


def _code(text: str) -> str:
    """``text`` without its comments."""
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def test_what_spin_cannot_hold_is_refused() -> None:
    counter = Variable("n", naturals())
    with pytest.raises(InvalidModel, match="infinite"):
        promela.translate(_system([(counter, 0)], [_action("Inc", TRUE, {"n": add(var("n"), 1)})]), [])
    flag = Variable("f", boolean())
    system = _system([(flag, False)], [_action("A", TRUE, {"f": TRUE}), _action("B", TRUE, {"f": FALSE})])
    with pytest.raises(InvalidModel, match="different fairness"):
        promela.translate(system, [_liveness("one", var("f"), ("A",)), _liveness("two", var("f"), ("A", "B"))])
    many = [_action("A", TRUE, {"f": TRUE}, worker=w) for w in range(promela.MAX_PROCESSES)]
    with pytest.raises(InvalidModel, match="at most"):
        promela.translate(_system([(flag, False)], many), [])


def test_the_command_writes_stdout_or_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "export", "mailbox-walker", "--set", "association_scope=session")
    assert code == 0 and not err
    _, _, model = _model("mailbox-walker", "association_scope=session")
    assert out == model.text
    target = tmp_path / "walker.pml"
    code, out, err = run(capsys, "export", "mailbox-walker", "--set", "association_scope=session", "--format",
                         "promela", "-o", str(target))
    assert (code, out, err) == (0, "", "")
    assert target.read_text() == model.text
    code, out, err = run(capsys, "export", "seed", "-p", "notifications-delivered")
    assert code == 0 and "assert(" not in _code(out) and len(re.findall(r"^ltl ", out, re.M)) == 1


@pytest.mark.parametrize(
    "argv, word",
    [
        (("export", "seed", "--set", "workers=any"), "--set workers="),
        (("export", "seed", "-p", "nope"), "unknown property"),
        (("export", "nope"), "unknown scenario"),
        (("export", "seed", "--format", "tla"), "--format"),
        (("export", "seed", "-o", "/dev/null"), "character device"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...],
                                          word: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and not out
    assert err.count("\n") == 1 and word in err and "Traceback" not in err


def test_a_hostile_scenario_name_stays_in_its_comment(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "hostile.toml"
    path.write_text('name = "*/ init { assert(false) } /* \\"\\\\ ??/"\nworkers = 1\n')
    code, out, err = run(capsys, "export", str(path))
    assert code == 0, err
    header = out.split("\n")[0]
    assert header.startswith("/* Promela model of ") and header.endswith(" */") and header.count("*/") == 1
    assert _code(out).count("init {") == 1 and "\\" not in out


# --------------------------------------------------------------------------------------------
# SPIN's verdicts against regcheck's


def _spin() -> None:
    absent = spin.missing()
    if absent:
        pytest.fail(f"{' and '.join(absent)} not on PATH: these tests run SPIN; install it "
                    "(Debian: apt-get install spin gcc) or leave out the slow tests")


def _agree(system: TransitionSystem, props: list[Property], folder: Path) -> dict[str, str]:
    """SPIN's verdicts, once they equal the explicit engine's on every property."""
    _spin()
    model = promela.translate(system, props, title=system.name)
    outcome = spin.check(model, folder, spin.Limits(memory_mb=1024, hash_bits=20, timeout=300))
    words = {Verdict.PROVED: spin.HOLDS, Verdict.VIOLATED: spin.VIOLATED}
    reference = {r.property: words.get(r.verdict, r.verdict.value)
                 for r in engines.get("explicit")(system, props, Options())}
    assert outcome.verdicts == reference
    return outcome.verdicts


SCENARIOS = [
    ("seed",),
    ("fix-run-as-user",),
    ("fix-no-notifications",),
    ("mailbox-walker", "association_scope=session"),
    ("fix-no-notifications", "workers=2", "after_network_error=reconnect-new"),
]
"""A few small scenarios (SPIN compiles a verifier per property): the article's case, both fixes, jobs and
sessions of their own, two workers that reconnect."""


@pytest.mark.slow
@pytest.mark.parametrize("args", SCENARIOS, ids=" ".join)
def test_spin_agrees_with_regcheck_on_every_property(args: tuple[str, ...], tmp_path: Path) -> None:
    system, props, _ = _model(*args)
    verdicts = _agree(system, props, tmp_path)
    expected = scenarios.load(args[0]).expected
    if len(args) == 1:
        assert {n: "holds" if v == spin.HOLDS else v for n, v in verdicts.items()} == dict(expected)


def _toy(fair: tuple[str, ...], *, ticker: bool) -> tuple[TransitionSystem, list[Property]]:
    """``Raise`` (unfair unless named) sets the goal; ``Tick`` (fair) may run for ever beside it."""
    goal, tick = Variable("goal", boolean()), Variable("tick", boolean())
    actions = [_action("Raise", not_(var("goal")), {"goal": TRUE})]
    if ticker:
        actions.append(_action("Tick", TRUE, {"tick": not_(var("tick"))}))
    system = _system([(goal, False), (tick, False)], actions)
    return system, [_liveness("eventually-goal", var("goal"), fair), _safety("tick-only-with-ticker", TRUE)]


@pytest.mark.slow
@pytest.mark.parametrize(
    "fair, ticker, verdict",
    [
        (("Tick",), True, spin.VIOLATED),  # Raise unfair: Tick may run for ever without it
        (("Raise", "Tick"), True, spin.HOLDS),  # Raise fair: enabled for ever, so taken
        (("Tick",), False, spin.HOLDS),  # nothing else can run: an enabled action is taken
        ((), False, spin.HOLDS),
    ],
)
def test_fairness_is_per_action_instance_and_unfair_actions_are_not_forced(
    fair: tuple[str, ...], ticker: bool, verdict: str, tmp_path: Path
) -> None:
    system, props = _toy(fair, ticker=ticker)
    assert _agree(system, props, tmp_path)["eventually-goal"] == verdict


@pytest.mark.slow
def test_a_deadlock_after_the_trigger_violates_and_simultaneous_updates_swap(tmp_path: Path) -> None:
    x, y, n = Variable("x", int_range(0, 3)), Variable("y", int_range(0, 3)), Variable("n", int_range(0, 2))
    swap = _action("Swap", lt(var("n"), 2), {"x": var("y"), "y": var("x"), "n": add(var("n"), 1)})
    system = _system([(x, 1), (y, 2), (n, 0)], [swap])
    props = [
        _safety("swapped-in-step", ite(eq(var("n"), 1), eq(var("x"), 2), eq(var("x"), 1))),
        _safety("never-equal", ne(var("x"), var("y"))),
        _safety("x-stays-one", eq(var("x"), 1)),
        _liveness("n-returns-to-zero", eq(var("n"), 0), ("Swap",), trigger=eq(var("n"), 1)),
        _liveness("n-reaches-two", eq(var("n"), 2), ("Swap",)),
    ]
    assert _agree(system, props, tmp_path) == {
        "swapped-in-step": spin.HOLDS,
        "never-equal": spin.HOLDS,
        "x-stays-one": spin.VIOLATED,
        "n-returns-to-zero": spin.VIOLATED,  # the run ends at n = 2 and stutters there
        "n-reaches-two": spin.HOLDS,
    }


@pytest.mark.slow
def test_every_violated_safety_property_is_found_even_beyond_another(tmp_path: Path) -> None:
    n = Variable("n", int_range(0, 3))
    system = _system([(n, 0)], [_action("Inc", lt(var("n"), 3), {"n": add(var("n"), 1)})])
    props = [_safety("below-two", lt(var("n"), 2)), _safety("below-three", lt(var("n"), 3)),
             _safety("below-four", lt(var("n"), 4))]
    assert _agree(system, props, tmp_path) == {
        "below-two": spin.VIOLATED, "below-three": spin.VIOLATED, "below-four": spin.HOLDS
    }


@pytest.mark.slow
def test_hostile_names_make_a_model_spin_accepts(tmp_path: Path) -> None:
    member = enum("none", HOSTILE, "a-b", "a.b")
    v1, v2 = Variable(HOSTILE, member), Variable(HOSTILE + "!", boolean())
    system = _system(
        [(v1, "none"), (v2, False)],
        [Action(HOSTILE, (("worker", 1),), eq(var(HOSTILE), "none"), ((HOSTILE, Const("a.b")),)),
         _action("Other", eq(var(HOSTILE), "a.b"), {HOSTILE + "!": TRUE})],
        HOSTILE,
    )
    props = [_safety(HOSTILE, ne(var(HOSTILE), "a-b")), _liveness(HOSTILE + "?", var(HOSTILE + "!"), (HOSTILE, "Other"))]
    assert _agree(system, props, tmp_path) == {HOSTILE: spin.HOLDS, HOSTILE + "?": spin.HOLDS}
