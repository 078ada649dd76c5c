"""The pytest plugin (regcheck.pytest_plugin), run by pytest itself through ``pytester``.

Scenario TOML files (marked by a ``[regcheck]`` table, or named by the ``regcheck_scenarios`` ini
globs) become one item per property of their ``[expected]`` table; no other TOML file is collected; a
bad scenario file is one failed item and the run goes on; a wrong expectation fails with the story;
``-k``, ``-x``, ``--lf`` and xdist work; the plugin's options reach the checks. Each run is a fresh pytest process: an in-process run would unload, after
itself, the regcheck modules it imported first, and the next run's classes would not be the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from regcheck.model.scenario import builtin_path

pytest_plugins = ("pytester",)


@pytest.fixture()
def designs(pytester: pytest.Pytester) -> Path:
    """Two scenario files with expectations: the seed, with one expectation deliberately wrong, and fix B."""
    folder = pytester.mkdir("designs")
    seed = builtin_path("seed").read_text(encoding="utf-8")
    wrong = seed.replace('no-registration-mismatch = "violated"', 'no-registration-mismatch = "holds"')
    assert wrong != seed
    (folder / "my-service.toml").write_text(wrong, encoding="utf-8")
    fix = builtin_path("fix-no-notifications").read_text(encoding="utf-8")
    (folder / "fix-b.toml").write_text(fix, encoding="utf-8")
    (folder / "settings.toml").write_text("[tool]\nname = 'not-a-scenario'\n", encoding="utf-8")
    (folder / "other-tool.toml").write_text('[expected]\nanswer = 42\n', encoding="utf-8")
    return folder


def test_one_item_per_expected_property(pytester: pytest.Pytester, designs: Path) -> None:
    found = pytester.runpytest_subprocess("--collect-only", "-q", "designs")
    ids = [line for line in found.outlines if "::" in line]
    assert "designs/my-service.toml::worker-never-gets-network-error" in ids
    assert len([i for i in ids if i.startswith("designs/my-service.toml::")]) == 7
    assert len([i for i in ids if i.startswith("designs/fix-b.toml::")]) == 7
    assert not [i for i in ids if "settings" in i or "other-tool" in i], "a TOML file without [regcheck] is not"
    assert found.ret == pytest.ExitCode.OK


def test_a_wrong_expectation_fails_with_the_story(pytester: pytest.Pytester, designs: Path) -> None:
    result = pytester.runpytest_subprocess("designs", "--regcheck-out", "charts")
    result.assert_outcomes(passed=13, failed=1)
    text = result.stdout.str()
    assert "FAILED designs/my-service.toml::no-registration-mismatch" in text
    assert "no-registration-mismatch: expected holds, got violated (4 steps)" in text
    assert "4     notifier 1  SYSTEM   EcDoAsyncWaitEx" in text
    assert 'Why: Step 4: notifier 1' in text and "Registration of the Association GUID failed" in text
    chart = pytester.path / "charts" / "my-service.no-registration-mismatch.svg"
    assert f"chart: {chart}" in text and chart.is_file()
    assert (pytester.path / "charts" / "my-service.no-registration-mismatch.itf.json").is_file()


def test_k_x_and_last_failed(pytester: pytest.Pytester, designs: Path) -> None:
    chosen = pytester.runpytest_subprocess("designs/my-service.toml", "-k", "mismatch or admitted")
    chosen.assert_outcomes(passed=1, failed=1, deselected=5)
    again = pytester.runpytest_subprocess("designs/my-service.toml", "--lf")
    again.assert_outcomes(failed=1, deselected=6)
    stop = pytester.runpytest_subprocess("designs/my-service.toml", "-x")
    stop.assert_outcomes(passed=1, failed=1)


def test_runs_under_xdist(pytester: pytest.Pytester, designs: Path) -> None:
    result = pytester.runpytest_subprocess("designs/my-service.toml", "-n", "2")
    result.assert_outcomes(passed=6, failed=1)
    assert "expected holds, got violated (4 steps)" in result.stdout.str()


def test_engine_and_depth_options_reach_the_checks(pytester: pytest.Pytester, designs: Path) -> None:
    result = pytester.runpytest_subprocess("designs/my-service.toml", "--regcheck-engine", "bmc", "--regcheck-depth", "3",
                                "--regcheck-timeout", "60", "-k", "network or admitted")
    result.assert_outcomes(failed=2, deselected=5)
    text = result.stdout.str()
    assert "worker-never-gets-network-error: expected violated, got bounded (no violation in 3 steps)" in text
    assert "registration-matches-admitted-calls: expected holds, got bounded (no violation in 3 steps)" in text


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (("--regcheck-engine", "nope"), "regcheck: --engine: unknown engine 'nope'"),
        (("--regcheck-timeout", "-1"), "regcheck: --timeout"),
        (("--regcheck-depth", "-2"), "regcheck: --depth: expected a whole number"),
    ],
)
def test_bad_options_are_usage_errors(pytester: pytest.Pytester, designs: Path, option: tuple[str, str],
                                      message: str) -> None:
    result = pytester.runpytest_subprocess("designs", *option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


ONE_EXPECTATION = '[regcheck]\n\n[expected]\nno-registration-mismatch = "violated"\n'
"""The seed's switches (all defaults) with one fast expectation: a good scenario file of one item."""


def test_a_bad_scenario_fails_alone_and_the_run_goes_on(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", broken='workers = "many"\n\n[regcheck]\n\n[expected]\nno-registration-mismatch = "holds"\n',
                      good=ONE_EXPECTATION)
    result = pytester.runpytest_subprocess("--regcheck-engine", "bmc", "--regcheck-depth", "5")
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    text = result.stdout.str()
    assert "broken.toml: not a valid scenario" in text and "line 1: workers: expected a whole number or \"any\", got 'many'" in text
    assert "PASSED" not in text or "good.toml::no-registration-mismatch" in text
    assert "Traceback" not in text


def test_unrelated_toml_files_are_not_collected(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", pyproject='[tool.x]\nname = "x"\n', other='[expected]\nx = 1\n',
                      broken='[expected\n', strings='notes = """\n[regcheck]\n"""\n')
    result = pytester.runpytest_subprocess("--collect-only", "-q")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED, result.stdout.str()
    assert "error" not in result.stdout.str().lower()


def test_a_glob_or_the_command_line_names_scenario_files_without_the_marker(pytester: pytest.Pytester) -> None:
    plain = ONE_EXPECTATION.replace("[regcheck]\n", "")
    (pytester.mkdir("designs") / "plain.toml").write_text(plain, encoding="utf-8")
    (pytester.mkdir("elsewhere") / "plain.toml").write_text(plain, encoding="utf-8")
    (pytester.path / "designs" / "nested").mkdir()
    (pytester.path / "designs" / "nested" / "plain.toml").write_text(plain, encoding="utf-8")
    pytester.makeini("[pytest]\nregcheck_scenarios = designs/*.toml\n")
    found = pytester.runpytest_subprocess("--collect-only", "-q")
    ids = [line for line in found.outlines if "::" in line]
    assert ids == ["designs/plain.toml::no-registration-mismatch"]
    named = pytester.runpytest_subprocess("--collect-only", "-q", "elsewhere/plain.toml")
    assert [line for line in named.outlines if "::" in line] == ["elsewhere/plain.toml::no-registration-mismatch"]


def test_the_marker_holds_nothing(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", full='[regcheck]\nengine = "bmc"\n\n[expected]\nno-registration-mismatch = "violated"\n')
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    assert "[regcheck] marks a scenario file and holds nothing" in result.stdout.str()
