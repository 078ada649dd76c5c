"""JUnit XML and SARIF from ``regcheck check``, ``sweep`` and ``diagnose``, read by their real consumers.

The JUnit files are validated against Jenkins' JUnit schema (``tests/schemas/junit-10.xsd``) and
read with junitparser; the SARIF logs against the official SARIF 2.1.0 schema
(``tests/schemas/sarif-schema-2.1.0.json``, OASIS errata 01) with jsonschema, URI formats included.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import junitparser
import pytest
import xmlschema

from regcheck import findings
from regcheck.cli import main
from regcheck.core.result import CheckResult, Kind, Verdict
from regcheck.formats import junit
from regcheck.model.scenario import builtin_names, builtin_path, key_line, load_builtin
from tests.clirun import run

SCHEMAS = Path(__file__).resolve().parent / "schemas"
JUNIT_SCHEMA = xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd"))
SARIF_SCHEMA = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
SARIF = jsonschema.Draft4Validator(SARIF_SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def valid_sarif(path: Path) -> dict:
    document = json.loads(path.read_text(encoding="utf-8"))
    errors = sorted(SARIF.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    return document


def valid_junit(path: Path) -> junitparser.JUnitXml:
    JUNIT_SCHEMA.validate(str(path))
    return junitparser.JUnitXml.fromfile(str(path))


def outcome(case: junitparser.TestCase) -> str:
    kinds = {junitparser.Failure: "failure", junitparser.Error: "error", junitparser.Skipped: "skipped"}
    found = [kinds[type(r)] for r in case.result]
    return found[0] if found else "passed"


@pytest.fixture(scope="module")
def check_all(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    """``regcheck check --all --junit out/r.xml --sarif out/r.sarif``, run once in a fresh folder."""
    folder = tmp_path_factory.mktemp("ci")
    before = Path.cwd()
    os.chdir(folder)
    try:
        code = main(["check", "--all", "--junit", "out/r.xml", "--sarif", "out/r.sarif"])
    finally:
        os.chdir(before)
    return code, folder / "out"


def test_check_all_junit_has_a_suite_per_scenario_and_a_case_per_property(check_all: tuple[int, Path]) -> None:
    code, out = check_all
    assert code == 0, "every built-in verdict is as expected"
    report = valid_junit(out / "r.xml")
    suites = {suite.name: suite for suite in report}
    assert sorted(suites) == builtin_names()
    for name, suite in suites.items():
        expected = load_builtin(name).expected
        cases = {case.name: case for case in suite}
        assert set(cases) == set(expected), name
        # --all judges against expectations: every case passes, as the exit code says
        assert {n: outcome(c) for n, c in cases.items()} == {n: "passed" for n in cases}, name
    seed = {case.name: case for case in suites["seed"]}
    told = seed["worker-never-gets-network-error"].system_out
    assert "violated (5 steps)" in told and "Registration of the Association GUID failed" in told
    assert "trace: out/traces/seed.worker-never-gets-network-error.itf.json" in told
    assert (out / "traces" / "seed.worker-never-gets-network-error.itf.json").is_file()
    assert seed["one-parked-wait-per-session"].system_out.startswith("proved")


def test_check_all_sarif_has_the_seed_violation_with_a_code_flow_of_five_steps(check_all: tuple[int, Path]) -> None:
    _, out = check_all
    document = valid_sarif(out / "r.sarif")
    run_ = document["runs"][0]
    assert run_["tool"]["driver"]["name"] == "regcheck"
    rules = [rule["id"] for rule in run_["tool"]["driver"]["rules"]]
    results = run_["results"]
    assert all(rules[r["ruleIndex"]] == r["ruleId"] for r in results)
    seed = next(r for r in results if r["properties"]["scenario"] == "seed"
                and r["ruleId"] == "worker-never-gets-network-error")
    steps = seed["codeFlows"][0]["threadFlows"][0]["locations"]
    assert len(steps) == 5
    assert [s["state"]["thread"]["text"] for s in steps] == ["worker 1"] * 3 + ["notifier 1", "worker 1"]
    assert [s["state"]["identity"]["text"] for s in steps] == ["alice"] * 3 + ["SYSTEM", "alice"]
    assert steps[3]["state"]["call"]["text"] == "EcDoAsyncWaitEx"
    assert steps[3]["state"]["result"]["text"].startswith("MAPI_E_NETWORK_ERROR")
    assert [s["executionOrder"] for s in steps] == [1, 2, 3, 4, 5]
    # located at the switch the counterexample depends on, checked by replay: impersonate = true
    place = seed["locations"][0]["physicalLocation"]
    seed_toml = builtin_path("seed")
    assert place["region"]["startLine"] == key_line(seed_toml.read_text(), "impersonate") > 0
    assert place["artifactLocation"]["uri"].endswith("regcheck/model/scenarios/seed.toml")
    assert "depends on impersonate = true" in seed["message"]["text"]
    assert seed["level"] == "note", "under --all an expected violation is a note, not an alert"
    related = [loc["message"]["text"] for loc in seed["relatedLocations"]]
    assert any("ITF trace" in text for text in related)
    # one result per violated property: the fixes' scenarios hold their safety properties
    assert not [r for r in results if r["properties"]["scenario"] == "fix-run-as-user"]


def test_check_of_one_scenario_fails_each_violation_with_its_story(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    xml, log = tmp_path / "r.xml", tmp_path / "r.sarif"
    code, _, _ = run(capsys, "check", "--junit", str(xml), "--sarif", str(log), "--trace-out", str(tmp_path / "t"))
    assert code == 1
    cases = {case.name: case for suite in valid_junit(xml) for case in suite}
    assert {n: outcome(c) for n, c in cases.items()} == {
        "worker-never-gets-network-error": "failure", "no-registration-mismatch": "failure",
        "registration-in-use-never-evicted": "failure", "registration-matches-admitted-calls": "passed",
        "one-parked-wait-per-session": "passed", "notifications-delivered": "failure",
        "worker-requests-succeed": "failure",
    }
    failure = cases["worker-never-gets-network-error"].result[0]
    assert failure.type == "violated"
    assert failure.message.startswith("worker-never-gets-network-error is violated in 5 steps: Step 4: notifier 1")
    assert "4     notifier 1  SYSTEM   EcDoAsyncWaitEx" in failure.text
    trace = tmp_path / "t" / "seed.worker-never-gets-network-error.itf.json"
    assert f"trace: {trace}" in failure.text and trace.is_file() and trace.with_suffix("").with_suffix(".svg").is_file()
    results = valid_sarif(log)["runs"][0]["results"]
    assert {r["level"] for r in results} == {"error"}
    assert len(results) == 5


def _result(verdict: Verdict, depth: int | None = 12, note: str = "") -> CheckResult:
    return CheckResult("worker-never-gets-network-error", Kind.SAFETY, verdict, "bmc", depth, 0.5, note=note)


@pytest.mark.parametrize(
    ("verdict", "expected", "against", "wanted"),
    [
        (Verdict.BOUNDED, "holds", False, "skipped"),
        (Verdict.BOUNDED, "bounded", True, "passed"),
        (Verdict.BOUNDED, None, False, "passed"),
        (Verdict.UNKNOWN, "holds", True, "error"),
        (Verdict.PROVED, "violated", True, "failure"),
        (Verdict.PROVED, "violated", False, "passed"),
        (Verdict.PROVED, "holds", True, "passed"),
    ],
)
def test_verdicts_map_to_junit_outcomes(verdict: Verdict, expected: str | None, against: bool, wanted: str,
                                        tmp_path: Path) -> None:
    from dataclasses import replace

    scenario = load_builtin("fix-run-as-user")
    scenario = replace(scenario, expected={"worker-never-gets-network-error": expected} if expected else {})
    result = _result(verdict, note="timed out after 1 s" if verdict is Verdict.UNKNOWN else "")
    suites = findings.check_suites([findings.Checked(scenario, (result,))], against_expectations=against)
    (tmp_path / "r.xml").write_bytes(junit.document(suites))
    case = next(iter(next(iter(valid_junit(tmp_path / "r.xml")))))
    assert outcome(case) == wanted
    if wanted == "skipped":
        assert case.result[0].message == "expected a proof; only bounded (no violation in 12 steps)"
    if verdict is Verdict.BOUNDED and wanted == "passed":
        assert case.system_out.startswith("bounded (no violation in 12 steps)")
    if wanted == "error":
        assert case.result[0].message == "unknown: timed out after 1 s"


def test_sweep_junit(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    xml = tmp_path / "s.xml"
    code, _, _ = run(capsys, "sweep", "--vary", "connect_flags=0,0x20", "-p", "worker-never-gets-network-error",
                     "--junit", str(xml))
    assert code == 0, "a sweep's violations are findings, not failures of the run"
    suites = {suite.name: suite for suite in valid_junit(xml)}
    assert sorted(suites) == ["seed connect_flags=0", "seed connect_flags=0x20"]
    on = next(iter(suites["seed connect_flags=0"]))
    assert outcome(on) == "failure" and "Registration of the Association GUID failed" in on.result[0].message
    assert on.result[0].text == ("reproduce: regcheck check seed --set connect_flags=0 "
                                 "--property worker-never-gets-network-error")
    assert outcome(next(iter(suites["seed connect_flags=0x20"]))) == "passed"


def test_diagnose_junit(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    logs = Path(__file__).resolve().parent.parent / "examples" / "logs"
    xml = tmp_path / "d.xml"
    code, _, _ = run(capsys, "diagnose", str(logs / "unexplained.jsonl"), "--vary", "on_mismatch", "--junit", str(xml))
    assert code == 5
    (case,) = [case for suite in valid_junit(xml) for case in suite]
    assert case.name == "log is explained" and outcome(case) == "failure"
    assert case.result[0].message.startswith("no setting explains the log: event 3")
    code, _, _ = run(capsys, "diagnose", str(logs / "notifications-off.jsonl"), "--vary", "on_mismatch", "--junit",
                     str(xml))
    assert code == 0
    cases = {case.name: outcome(case) for suite in valid_junit(xml) for case in suite}
    assert cases["log is explained"] == "passed" and set(cases.values()) == {"passed"}


def test_diagnose_junit_of_the_article_log(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    log = Path(__file__).resolve().parent.parent / "examples" / "logs" / "article-customer.jsonl"
    xml = tmp_path / "d.xml"
    code, _, _ = run(capsys, "diagnose", str(log), "--vary", "on_mismatch", "--junit", str(xml),
                     "--trace-out", str(tmp_path / "t"))
    assert code == 1
    cases = {case.name: case for suite in valid_junit(xml) for case in suite}
    assert {name: outcome(case) for name, case in cases.items()} == {
        "log is explained": "passed",
        "group 1: worker-never-gets-network-error": "failure",
        "group 1: no-registration-mismatch": "failure",
        "group 1: registration-in-use-never-evicted": "failure",
        "group 1: fix A (no impersonation; the process runs as an account with rights to the mailboxes)": "passed",
        "group 1: fix B (CONNECT_NO_NOTIFICATIONS, 0x20, in PR_PROFILE_CONNECT_FLAGS)": "passed",
        "group 1: one association per MAPI session": "failure",
    }
    violated = cases["group 1: worker-never-gets-network-error"].result[0]
    assert violated.message.startswith("under on_mismatch=evict, the explaining execution violates")
    assert "Registration of the Association GUID failed" in violated.text
    assert f"trace: {tmp_path / 't' / 'explanation-1.itf.json'}" in violated.text
