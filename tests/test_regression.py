"""Counterexamples as regression tests: ``regcheck check --emit-tests DIR``, then ``pytest DIR``.

The written tests pass while the model is unchanged, and fail, saying what to do, when the
reference simulator's admission rule is edited (on a copy of the installed packages, put first
on the path of a fresh pytest process).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import regcheck
from regcheck.formats import itf
from regcheck.regression import CounterexampleLost, assert_counterexample
from tests.clirun import run

ADMISSION = "        elif current == identity:\n"
"""The reference simulator's cache hit: a call whose identity is the registered one is admitted."""


def _pytest(folder: Path, *, path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if path is not None:
        env["PYTHONPATH"] = str(path)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=folder)


@pytest.fixture(scope="module")
def emitted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("emitted") / "t"
    from regcheck.cli import main

    assert main(["check", "--emit-tests", str(folder)]) == 1
    return folder


def test_emit_tests_writes_a_test_and_a_trace_per_counterexample(emitted: Path) -> None:
    tests = sorted(p.name for p in emitted.glob("test_*.py"))
    assert tests == [
        "test_seed_no_registration_mismatch.py", "test_seed_notifications_delivered.py",
        "test_seed_registration_in_use_never_evicted.py", "test_seed_worker_never_gets_network_error.py",
        "test_seed_worker_requests_succeed.py",
    ]
    trace = itf.read(emitted / "seed_worker_never_gets_network_error.itf.json")
    assert trace.meta["violated_at"] == 5 == len(trace)
    assert trace.meta["property"] == "worker-never-gets-network-error" and trace.meta["target"] == "seed"
    assert trace.meta["switches"]["impersonate"] is True
    lasso = itf.read(emitted / "seed_worker_requests_succeed.itf.json")
    assert lasso.meta["violated_at"] == lasso.loop is not None


def test_the_emitted_tests_pass_and_fail_when_the_admission_rule_changes(emitted: Path, tmp_path: Path) -> None:
    passed = _pytest(emitted)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "5 passed" in passed.stdout
    # A copy of the installed packages, with the cache hit turned into a mismatch.
    copy = tmp_path / "site"
    shutil.copytree(Path(regcheck.__file__).parent, copy / "regcheck", ignore=shutil.ignore_patterns("__pycache__"))
    simulator = copy / "regcheck" / "model" / "simulator.py"
    source = simulator.read_text(encoding="utf-8")
    assert source.count(ADMISSION) == 1
    simulator.write_text(source.replace(ADMISSION, "        elif current == identity and False:\n"),
                         encoding="utf-8")
    failed = _pytest(emitted, path=copy)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    text = failed.stdout
    assert "5 failed" in text
    assert ("the counterexample to worker-never-gets-network-error in scenario 'seed' "
            "(seed_worker_never_gets_network_error.itf.json) is no longer one: it no longer replays on the "
            "reference simulator: step 3:") in text
    assert "If the change is intended, check the design again and write the tests anew: regcheck check 'seed' " \
           "--emit-tests" in text
    assert "Traceback" not in text


def test_a_trace_that_is_not_a_recorded_counterexample_says_so(emitted: Path, tmp_path: Path) -> None:
    trace = itf.read(emitted / "seed_no_registration_mismatch.itf.json")
    earlier = tmp_path / "earlier.itf.json"
    itf.write(trace.with_meta(violated_at=2), earlier)
    with pytest.raises(CounterexampleLost, match="no-registration-mismatch is now first violated at step 4, not at step 2"):
        assert_counterexample(earlier)
    bare = tmp_path / "bare.itf.json"
    itf.write(trace.with_meta(switches=None), bare)
    with pytest.raises(CounterexampleLost, match="records no scenario switches"):
        assert_counterexample(bare)
    broken = tmp_path / "broken.itf.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(CounterexampleLost, match="cannot be read as a recorded counterexample"):
        assert_counterexample(broken)


def test_nothing_violated_writes_no_tests(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, _ = run(capsys, "check", "fix-no-notifications", "-p", "no-registration-mismatch",
                     "--emit-tests", str(tmp_path / "t"))
    assert code == 0
    assert not (tmp_path / "t").exists() or not any((tmp_path / "t").iterdir())
