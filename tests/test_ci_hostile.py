"""Hostile input for the CI outputs: ``check --junit/--sarif/--emit-tests``, ``sweep --junit``, ``diagnose --junit``.

An output path can name anything: a folder, a FIFO (opened for writing, it blocks until someone
reads), a symlink (a rename would replace it), a path under a regular file. Each is refused the
way every bad input is (exit 2, one line on stderr starting with ``error:``, no traceback) and
refused before anything is written: the folder the command ran in is as it was. Text from
strangers (scenario names and descriptions, log lines) reaches the XML and SARIF documents as
text: any of it makes a well-formed, schema-valid JUnit file that junitparser reads back.

The commands run in-process (``tests.clirun``) in a fresh folder; a guard ends any one that hangs
(a FIFO opened for writing) instead of letting it block the run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import stat
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import jsonschema
import junitparser
import pytest
import xmlschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regcheck.formats import junit
from regcheck.model.scenario import builtin_path
from regcheck.regression import assert_counterexample
from tests.clirun import run

SCHEMAS = Path(__file__).resolve().parent / "schemas"
JUNIT_SCHEMA = xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd"))
SARIF = jsonschema.Draft4Validator(
    json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")),
    format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER,
)
LOGS = Path(__file__).resolve().parent.parent / "examples" / "logs"
LOG = str(LOGS / "unexplained.jsonl")
"""A log no setting explains: ``diagnose`` decides it in well under a second."""

GUARD_S = 30
"""Seconds any one command may take in-process before the guard ends it (a blocked FIFO write)."""

FAST = ("-p", "no-registration-mismatch", "--engine", "bmc", "--depth", "5")
"""One property of the seed, violated in 4 steps: a check that writes a counterexample, fast."""
SWEEP = ("--vary", "connect_flags=0,0x20", "-p", "no-registration-mismatch", "--engine", "bmc", "--depth", "3")


class Hung(Exception):
    """The command did not finish within :data:`GUARD_S` seconds."""


@contextmanager
def guard() -> Iterator[None]:
    """End a command that blocks (a FIFO opened for writing waits for a reader) with :class:`Hung`."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise Hung(f"the command did not finish in {GUARD_S} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(GUARD_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``tests.clirun.run`` under :func:`guard`: exit code, stdout, stderr."""
    with guard():
        return run(capsys, *argv)


# --------------------------------------------------------------------------------------------
# Helpers


def snapshot(folder: Path) -> list[tuple[str, str, bytes | str]]:
    """Everything under ``folder``, without following symlinks or opening FIFOs: path, kind, content."""
    found: list[tuple[str, str, bytes | str]] = []
    for path in sorted(folder.rglob("*")):
        info = os.lstat(path)
        where = str(path.relative_to(folder))
        if stat.S_ISLNK(info.st_mode):
            found.append((where, "symlink", os.readlink(path)))
        elif stat.S_ISREG(info.st_mode):
            found.append((where, "file", path.read_bytes()))
        elif stat.S_ISDIR(info.st_mode):
            found.append((where, "folder", ""))
        else:
            found.append((where, oct(stat.S_IFMT(info.st_mode)), ""))
    return found


def refused(capsys: pytest.CaptureFixture[str], folder: Path, *argv: str) -> str:
    """Run ``regcheck ARGV`` in ``folder``; it must be refused as bad input, having written nothing. Its error line."""
    before = snapshot(folder)
    code, out, err = cli(capsys, *argv)
    assert "Traceback" not in out + err, err[-2000:]
    lines = err.splitlines()
    assert code == 2, err[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error:"), err[-2000:]
    assert snapshot(folder) == before, "a refused command wrote (or replaced) something"
    return lines[0]


def outcome(case: junitparser.TestCase) -> str:
    kinds = {junitparser.Failure: "failure", junitparser.Error: "error", junitparser.Skipped: "skipped"}
    found = [kinds[type(r)] for r in case.result]
    assert len(found) <= 1, "a case holds at most one of failure, error and skipped"
    return found[0] if found else "passed"


def valid_junit(data: bytes) -> junitparser.JUnitXml:
    ET.fromstring(data)
    JUNIT_SCHEMA.validate(ET.fromstring(data))
    return junitparser.JUnitXml.fromstring(data)


def valid_sarif(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    errors = sorted(SARIF.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    return document


# --------------------------------------------------------------------------------------------
# Output paths that are not new paths or regular files

Setup = Callable[[Path], None]


def _folder(folder: Path) -> None:
    (folder / "target").mkdir()
    (folder / "target" / "mine.txt").write_text("mine\n", encoding="utf-8")


def _fifo(folder: Path) -> None:
    os.mkfifo(folder / "target")


def _symlink_to_file(folder: Path) -> None:
    (folder / "mine.txt").write_text("mine\n", encoding="utf-8")
    (folder / "target").symlink_to("mine.txt")


def _symlink_to_folder(folder: Path) -> None:
    (folder / "elsewhere").mkdir()
    (folder / "target").symlink_to("elsewhere")


def _dangling_symlink(folder: Path) -> None:
    (folder / "target").symlink_to("nowhere")


def _under_a_file(folder: Path) -> None:
    (folder / "file").write_text("mine\n", encoding="utf-8")


@dataclass(frozen=True)
class Bad:
    """An unusable output path: what to make, the path to give, and a word the error must hold."""

    setup: Setup
    path: str
    word: str


BAD_FILES: dict[str, Bad] = {
    "an existing folder": Bad(_folder, "target", "directory"),
    "a FIFO": Bad(_fifo, "target", "FIFO"),
    "a symlink to a regular file": Bad(_symlink_to_file, "target", "symlink"),
    "a symlink to a folder": Bad(_symlink_to_folder, "target", "target"),
    "a dangling symlink": Bad(_dangling_symlink, "target", "symlink"),
    "a path under a regular file": Bad(_under_a_file, "file/report", "Not a directory"),
    "a character device": Bad(lambda folder: None, "/dev/null", "character device"),
}

COMMANDS: dict[str, tuple[str, ...]] = {
    "check --junit": ("check", *FAST, "--junit"),
    "check --sarif": ("check", *FAST, "--sarif"),
    "check --junit (--sarif fine)": ("check", *FAST, "--sarif", "fine.sarif", "--junit"),
    "check --sarif (--junit fine)": ("check", *FAST, "--junit", "fine.xml", "--sarif"),
    "sweep --junit": ("sweep", *SWEEP, "--junit"),
    "diagnose --junit": ("diagnose", LOG, "--junit"),
}


@pytest.mark.parametrize("bad", list(BAD_FILES.values()), ids=list(BAD_FILES))
@pytest.mark.parametrize("command", list(COMMANDS.values()), ids=list(COMMANDS))
def test_unusable_report_path_is_refused(command: tuple[str, ...], bad: Bad, capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    bad.setup(tmp_path)
    line = refused(capsys, tmp_path, *command, bad.path)
    assert bad.word in line, line
    if bad.setup is _fifo:
        assert stat.S_ISFIFO(os.lstat(tmp_path / "target").st_mode), "the FIFO was replaced"
    if bad.setup in (_symlink_to_file, _symlink_to_folder, _dangling_symlink):
        assert (tmp_path / "target").is_symlink(), "the symlink was replaced"


@pytest.mark.parametrize("command", [("check", *FAST), ("sweep", *SWEEP), ("diagnose", LOG)],
                         ids=["check", "sweep", "diagnose"])
def test_empty_junit_path_is_refused(command: tuple[str, ...], capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert "empty" in refused(capsys, tmp_path, *command, "--junit", "")


BAD_FOLDERS: dict[str, Bad] = {
    "a regular file": Bad(_under_a_file, "file", "file"),
    "a symlink to a regular file": Bad(_symlink_to_file, "target", "file"),
    "a FIFO": Bad(_fifo, "target", "FIFO"),
    "a character device": Bad(lambda folder: None, "/dev/null", "character device"),
}


@pytest.mark.parametrize("bad", list(BAD_FOLDERS.values()), ids=list(BAD_FOLDERS))
def test_unusable_emit_tests_folder_is_refused(bad: Bad, capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    bad.setup(tmp_path)
    line = refused(capsys, tmp_path, "check", *FAST, "--junit", "r.xml", "--emit-tests", bad.path)
    assert bad.word in line, line


# An --emit-tests folder that cannot be made is refused before the check runs and before any report is written.


@pytest.mark.parametrize(("setup", "folder"), [(_under_a_file, "file/tests"), (_dangling_symlink, "target")],
                         ids=["under a regular file", "onto a dangling symlink"])
def test_emit_tests_folder_that_cannot_be_made_is_refused_before_writing(
    setup: Setup, folder: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    setup(tmp_path)
    refused(capsys, tmp_path, "check", *FAST, "--junit", "r.xml", "--emit-tests", folder)


def test_junit_and_sarif_to_one_file_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    refused(capsys, tmp_path, "check", *FAST, "--junit", "report", "--sarif", "report")


# --------------------------------------------------------------------------------------------
# The traces folder beside the --junit (or --sarif) file


def _traces_file(folder: Path) -> None:
    (folder / "out").mkdir()
    (folder / "out" / "traces").write_text("mine\n", encoding="utf-8")


def _traces_fifo(folder: Path) -> None:
    (folder / "out").mkdir()
    os.mkfifo(folder / "out" / "traces")


def _traces_dangling(folder: Path) -> None:
    (folder / "out").mkdir()
    (folder / "out" / "traces").symlink_to("nowhere")


TRACES: dict[str, Setup] = {
    "a regular file": _traces_file,
    "a FIFO": _traces_fifo,
    "a dangling symlink": _traces_dangling,
}


@pytest.mark.parametrize("option", ["--junit", "--sarif"])
@pytest.mark.parametrize("setup", list(TRACES.values()), ids=list(TRACES))
def test_traces_folder_that_is_not_a_folder_is_refused(option: str, setup: Setup, capsys: pytest.CaptureFixture[str],
                                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    setup(tmp_path)
    line = refused(capsys, tmp_path, "check", *FAST, option, "out/report")
    assert "out/traces" in line, line


def test_traces_folder_that_is_a_regular_file_is_called_one(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _traces_file(tmp_path)
    line = refused(capsys, tmp_path, "check", *FAST, "--junit", "out/r.xml")
    assert "not a regular file" not in line, line


def test_traces_folder_is_not_needed_with_trace_out(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _traces_file(tmp_path)
    code, out, err = cli(capsys, "check", *FAST, "--junit", "out/r.xml", "--trace-out", "t")
    assert code == 1, err
    assert (tmp_path / "out" / "traces").read_text(encoding="utf-8") == "mine\n"
    (case,) = [case for suite in valid_junit((tmp_path / "out" / "r.xml").read_bytes()) for case in suite]
    assert outcome(case) == "failure"
    assert "trace: t/seed.no-registration-mismatch.itf.json" in case.result[0].text


def test_report_over_a_regular_file_replaces_it_whole(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.xml").write_text("old\n", encoding="utf-8")
    (tmp_path / "r.sarif").write_text("old\n", encoding="utf-8")
    code, _, err = cli(capsys, "check", *FAST, "--junit", "r.xml", "--sarif", "r.sarif")
    assert code == 1, err
    valid_junit((tmp_path / "r.xml").read_bytes())
    valid_sarif(tmp_path / "r.sarif")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.sarif", "r.xml", "traces"], "no temp file left behind"


# --------------------------------------------------------------------------------------------
# Any text makes a valid JUnit document

AWKWARD = ["\x00", "\x1b", "\x7f", "\x85", "\ufffe", "\uffff", "\ud800", "\udfff", "\t", "\n", "\r", "\r\n",
           "]]>", "<![CDATA[", "&amp;", "&#0;", "<b>", '"', "'", " ", "\U0001f600", "\u202e", "\x0b", "\x0c"]
"""Characters and strings that XML trips on: C0 and C1 controls, non-characters, lone surrogates (which
``st.text()`` never draws, yet a Python str can hold), markup, entities, line ends."""
TEXT = st.lists(st.one_of(st.text(max_size=6), st.sampled_from(AWKWARD),
                          st.text(st.characters(categories=("Cs", "Cc", "Co", "Cn")), max_size=3)),
                max_size=5).map("".join)
CASE_TIME = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
ILLEGAL = junit._NOT_XML


@st.composite
def cases(draw: st.DrawFn) -> junit.Case:
    return junit.Case(name=draw(TEXT), classname=draw(TEXT), outcome=draw(st.sampled_from(junit.OUTCOMES)),
                      message=draw(TEXT), body=draw(TEXT), output=draw(TEXT), kind=draw(TEXT),
                      time_s=draw(CASE_TIME))


SUITES = st.lists(st.builds(junit.Suite, name=TEXT, cases=st.lists(cases(), max_size=4).map(tuple),
                            properties=st.lists(st.tuples(TEXT, TEXT), max_size=2).map(tuple), file=TEXT),
                  max_size=3)


def legal(text: str) -> str:
    """What a document can say of ``text``: each character XML cannot hold as U+FFFD."""
    return ILLEGAL.sub("\ufffd", text)


def _same(got: str | None, want: str) -> None:
    """What was read is what was written, each character XML cannot hold as U+FFFD (a CR too comes back)."""
    assert (got or "") == legal(want)
    if not ILLEGAL.search(want):
        assert (got or "") == want, "legal text comes back unchanged"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SUITES, TEXT)
def test_any_text_makes_a_valid_junit_document(suites: list[junit.Suite], name: str) -> None:
    data = junit.document(suites, name=name)
    root = ET.fromstring(data)
    JUNIT_SCHEMA.validate(root)
    report = junitparser.JUnitXml.fromstring(data)
    assert (report.name or "") == legal(name)
    read = list(report)
    assert len(read) == len(suites)
    assert report.tests == sum(len(s.cases) for s in suites)
    assert report.failures == sum(s.count("failure") for s in suites)
    assert report.errors == sum(s.count("error") for s in suites)
    for got, suite in zip(read, suites):
        _same(got.name, suite.name)
        assert got.skipped == suite.count("skipped")
        read_properties = [(p.name, p.value) for p in got.properties()]  # type: ignore[no-untyped-call]
        assert read_properties == [(legal(k), legal(v)) for k, v in suite.properties]
        read_cases = list(got)
        assert len(read_cases) == len(suite.cases)
        for case, want in zip(read_cases, suite.cases):
            _same(case.name, want.name)
            _same(case.classname, want.classname)
            assert outcome(case) == want.outcome
            if want.outcome != "passed":
                result = case.result[0]
                _same(result.message, want.message)
                _same(result.type, want.kind)
                _same(result.text, want.body)
            if want.output:
                _same(case.system_out, want.output)
            else:
                assert case.system_out is None


def test_carriage_return_in_element_text_survives() -> None:
    case = junit.Case("c", "k", "failure", message="m", body="line 1\r\nline 2\r", output="out\r")
    (read,) = [c for suite in junitparser.JUnitXml.fromstring(junit.document([junit.Suite("s", (case,))]))
               for c in suite]
    assert read.result[0].text == "line 1\r\nline 2\r"
    assert read.system_out == "out\r"


def test_illegal_characters_become_the_replacement_character() -> None:
    hostile = "a\x00b\x1bc\ufffed\ud800e\x85f"
    case = junit.Case(hostile, hostile, "error", message=hostile, body=hostile, output=hostile, kind=hostile)
    data = junit.document([junit.Suite(hostile, (case,), ((hostile, hostile),), file=hostile)], name=hostile)
    data.decode("utf-8")  # no surrogate reached the bytes
    assert b"\x00" not in data and b"\x1b" not in data
    (read,) = [c for suite in valid_junit(data) for c in suite]
    assert read.name == "a\ufffdb\ufffdc\ufffdd\ufffde\x85f", "U+0085 is legal XML 1.0, kept"
    assert read.result[0].text == read.result[0].message == read.system_out == read.name


# --------------------------------------------------------------------------------------------
# A scenario whose text is markup


MARKUP = '<b>&amp;</b> "quoted" ]]> <![CDATA[x]]> &#0; \\ \' <script>alert(1)</script>'
NAME = 'n<i>&amp;</i> "q" \\ """'


def _scenario_file(folder: Path, *, name: str | None = None, file: str = "markup.toml") -> Path:
    """The seed's TOML with its description (and, given ``name``, its name) replaced by markup."""
    lines = builtin_path("seed").read_text(encoding="utf-8").splitlines()
    changed = [f"description = {json.dumps(MARKUP)}" if line.startswith("description =") else line for line in lines]
    assert changed != lines
    if name is not None:
        changed.insert(0, f"name = {json.dumps(name)}")
    path = folder / file
    path.write_text("\n".join(changed) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("name", "file"), [(None, "markup.toml"), (NAME, "my scenario #1 <b>&amp;.toml")],
                         ids=["description", "name and file name"])
def test_markup_in_a_scenario_makes_valid_junit_and_sarif(name: str | None, file: str,
                                                          capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    source = _scenario_file(tmp_path, name=name, file=file)
    code, _, err = cli(capsys, "check", source.name, *FAST, "--junit", "out/r.xml", "--sarif", "out/r.sarif",
                       "--emit-tests", "out/tests")
    assert code == 1, err
    report = valid_junit((tmp_path / "out" / "r.xml").read_bytes())
    (suite,) = list(report)
    scenario_name = name if name is not None else "markup"
    assert suite.name == scenario_name
    switches = {p.name: p.value for p in suite.properties()}  # type: ignore[no-untyped-call]
    assert switches["description"] == MARKUP
    (case,) = list(suite)
    assert outcome(case) == "failure" and case.classname == f"regcheck.{scenario_name}"
    document = valid_sarif(tmp_path / "out" / "r.sarif")
    (result,) = document["runs"][0]["results"]
    assert result["properties"]["scenario"] == scenario_name
    assert f"in scenario {scenario_name}:" in result["message"]["text"]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri["uriBaseId"] == "%SRCROOT%" and " " not in uri["uri"] and "#" not in uri["uri"]
    # the emitted regression test is valid Python that replays the counterexample
    (test_file,) = (tmp_path / "out" / "tests").glob("test_*.py")
    spec = importlib.util.spec_from_file_location("emitted", test_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tests = [getattr(module, n) for n in dir(module) if n.startswith("test_")]
    assert len(tests) == 1
    tests[0]()
    (trace_file,) = (tmp_path / "out" / "tests").glob("*.itf.json")
    assert_counterexample(trace_file)


# An entry in the --emit-tests folder at a name it writes (a symlink, a folder) is refused before anything
# is written; a report may not name the input it is made from.


@pytest.mark.parametrize("entry", ["test_seed_no_registration_mismatch.py", "seed_no_registration_mismatch.itf.json"],
                         ids=["test file", "trace"])
@pytest.mark.parametrize("kind", ["symlink", "folder"])
def test_emit_tests_folder_with_an_unusable_entry_is_refused_before_writing(
    entry: str, kind: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "em").mkdir()
    if kind == "symlink":
        (tmp_path / "em" / entry).symlink_to("/dev/null")
    else:
        (tmp_path / "em" / entry).mkdir()
    refused(capsys, tmp_path, "check", *FAST, "--junit", "r.xml", "--emit-tests", "em")


def _input_as_report(folder: Path, option: str) -> tuple[str, ...]:
    if option == "diagnose --junit":
        (folder / "l.jsonl").write_bytes((LOGS / "unexplained.jsonl").read_bytes())
        return ("diagnose", "l.jsonl", "--vary", "transport=rpc-http", "--junit", "l.jsonl")  # one setting: fast
    _scenario_file(folder, file="s.toml")
    return ("check", "s.toml", *FAST, option, "s.toml")


@pytest.mark.parametrize("option", ["--junit", "--sarif", "diagnose --junit"])
def test_report_may_not_replace_its_input(option: str, capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    argv = _input_as_report(tmp_path, option)
    refused(capsys, tmp_path, *argv)
