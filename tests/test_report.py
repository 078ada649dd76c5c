"""Tests of ``regcheck report`` (regcheck/report/): the page's structure, its Markdown twin, determinism,
and the command it prints to regenerate it.

One report (three scenarios, two properties, depth 8) is written once per module and shared by the
structure tests; the determinism test writes another twice and compares them, timings aside.
"""

from __future__ import annotations

import json
import re
import shlex
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from regcheck.cli import main
from regcheck.model import variants
from regcheck.model.scenario import load_builtin
from regcheck.report.sources import headings, slug

SCENARIOS = ("seed", "fix-run-as-user", "fix-no-notifications")
PROPS = ("worker-never-gets-network-error", "notifications-delivered")
ARGS = [*SCENARIOS, *(a for p in PROPS for a in ("-p", p)), "--depth", "8"]
TIMING = re.compile(r'<span class="timing">[^<]*</span>|\b[0-9]+\.[0-9]+ s\b')


class Page(HTMLParser):
    """The parts of the page the tests look at: ids, matrix cells, code elements, SVG charts, headings."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.cells: list[tuple[str, str]] = []  # (class, text) of each matrix cell
        self.codes: list[str] = []
        self.svgs = 0
        self.headings: list[str] = []
        self.pres: list[str] = []
        self._in: list[str] = []
        self._text: list[str] = []
        self._matrix = False
        self._cell_class = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id") and tag in ("section", "details"):
            self.ids.append(a["id"] or "")
        if tag == "table" and a.get("class") == "matrix":
            self._matrix = True
        if tag == "svg":
            self.svgs += 1
        if tag == "td" and self._matrix:
            self._cell_class = a.get("class") or ""
        if tag in ("td", "code", "h2", "h3", "pre"):
            self._in.append(tag)
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._matrix = False
        if self._in and self._in[-1] == tag:
            self._in.pop()
            text = " ".join(" ".join(self._text).split())
            if tag == "td" and self._matrix:
                self.cells.append((self._cell_class, text))
            elif tag == "code":
                self.codes.append(text)
            elif tag in ("h2", "h3"):
                self.headings.append(text)
            elif tag == "pre":
                self.pres.append(text)

    def handle_data(self, data: str) -> None:
        if self._in:
            self._text.append(data)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report under the default engine (auto): proofs with certificates, counterexamples of both kinds."""
    folder = tmp_path_factory.mktemp("auto") / "r"
    assert main(["report", *ARGS, "--out", str(folder)]) == 0
    return folder


def parse(folder: Path) -> Page:
    page = Page()
    page.feed((folder / "index.html").read_text(encoding="utf-8"))
    return page


def test_the_page_has_every_section(report: Path) -> None:
    page = parse(report)
    for section in ("verdicts", "properties", *SCENARIOS, "not-checked", "provenance"):
        assert section in page.ids
    for scenario in SCENARIOS:
        for prop in PROPS:
            assert f"{scenario}--{prop}" in page.ids
    assert "What was not checked" in page.headings
    assert "Protocol variants the model cannot express" in page.headings


def test_the_verdict_matrix_states_each_verdict_plainly(report: Path) -> None:
    cells = parse(report).cells
    assert len(cells) == len(SCENARIOS) * len(PROPS)
    by_row = dict(zip([(s, p) for s in SCENARIOS for p in PROPS], cells))
    assert by_row["seed", PROPS[0]] == ("v-violated", "violated 5 steps")
    assert by_row["fix-run-as-user", PROPS[0]] == ("v-proved", "proved all reachable states")
    # Exhaustive explicit-state search proves it when it finishes within auto's quick budget; else BMC bounds it.
    assert by_row["fix-run-as-user", PROPS[1]] in (("v-bounded", "bounded to 8 steps"), ("v-proved", "proved all reachable states"))
    assert by_row["fix-no-notifications", PROPS[1]][0] == "v-violated"  # the caveat of fix B
    assert not any("unexpected" in css for css, _ in cells)


def test_counterexamples_have_story_and_chart_and_proofs_a_certificate(report: Path) -> None:
    text = (report / "index.html").read_text(encoding="utf-8")
    page = parse(report)
    assert page.svgs == 3  # seed: both properties; fix-no-notifications: the notification caveat
    assert "<svg" in text and "<?xml" not in text  # inline, without a prolog
    assert len(set(re.findall(r'\bid="([^"]+)"', text))) == len(re.findall(r'\bid="([^"]+)"', text))
    assert "Registration of the Association GUID failed" in text
    assert "MAPI_E_NETWORK_ERROR (0x80040115)" in text
    assert any(p.startswith("inductive invariant:") for p in page.pres)
    assert "re-checked by a fresh z3 instance" in text
    assert 'href="http' not in text and "src=" not in text  # nothing to fetch: readable offline


def test_every_row_has_the_command_that_reproduces_it(report: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commands = [c for c in parse(report).codes if c.startswith("regcheck check")]
    for scenario in SCENARIOS:
        for prop in PROPS:
            assert f"regcheck check {scenario} --property {prop} --engine auto --depth 8 --timeout 120" in commands
    capsys.readouterr()
    code = main(["check", "seed", "--property", PROPS[0], "--engine", "auto", "--depth", "8", "--json"])
    assert code == 1
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert (result["verdict"], len(result["trace"]["states"]) - 1) == ("violated", 5)


def test_switches_versions_fingerprints_and_what_was_not_checked(report: Path) -> None:
    text = (report / "index.html").read_text(encoding="utf-8")
    for key in load_builtin("seed").switches():
        if key not in ("name", "description"):
            assert f"<code>{key}</code>" in text
    for word in ("regcheck", "z3", "python", "model fingerprint"):
        assert f"<dt>{word}</dt>" in text
    assert len(re.findall(r"<code>[0-9a-f]{64}</code>", text)) == 1 + len(SCENARIOS)
    assert "Bounds and undecided verdicts" in text
    for variant in variants.not_modelled():
        assert escape(f"{variant.id} {variant.title}") in text
    assert "V8 association scope (association_scope): never session." in text


def test_markdown_twin_and_trace_files(report: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = report
    md = (folder / "report.md").read_text(encoding="utf-8")
    assert "| scenario | " + " | ".join(PROPS) + " |" in md
    assert "[violated (5 steps)](#seed--worker-never-gets-network-error)" in md
    links = re.findall(r"\]\(((?:charts|traces)/[^)]+)\)", md)
    assert len(links) == 3 * 2
    for link in links:
        assert (folder / link).is_file()
    capsys.readouterr()
    assert main(["replay", str(folder / "traces" / "seed--worker-never-gets-network-error.itf.json")]) == 0
    assert "conforms" in capsys.readouterr().out


@pytest.mark.slow
def test_every_link_of_the_report_leads_into_it(report: Path) -> None:
    """The citations are links to the report's copies of the package's documents, at the headings they name."""
    page = (report / "index.html").read_text(encoding="utf-8")
    markdown = (report / "report.md").read_text(encoding="utf-8")
    links = re.findall(r'href="([^"#][^"]*)"', page) + re.findall(r"\]\(([^)#\s][^)\s]*)\)", markdown)
    links = [link.replace("&amp;", "&") for link in links if not re.match(r"[a-z]+:", link)]
    cited = {link for link in links if link.startswith("sources/")}
    assert {"sources/PROTOCOL.md#what-no-source-decides", "sources/PROTOCOL.md#the-failure-as-the-article-tells-it",
            "sources/SEMANTICS.md#deliberate-simplifications"} <= cited
    for link in links:
        name, _, anchor = link.partition("#")
        assert (report / name).is_file(), link
        if anchor:
            assert anchor in {slug(h) for h in headings((report / name).read_text(encoding="utf-8"))}, link
    assert "PROTOCOL.md 7" not in page + markdown


def test_the_same_inputs_give_the_same_report_apart_from_timings(tmp_path: Path) -> None:
    # These systems are small: auto's quick pass (a budget of states, not seconds) decides every
    # property before any proof is started beside it, so load cannot change what it reports.
    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):
        assert main(["report", *ARGS, "--out", str(folder)]) == 0
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    # The page, the Markdown, the three documents it cites, and three counterexamples (chart, trace):
    # seed's to both properties, fix-no-notifications' to notifications-delivered.
    assert len(files) == 2 + 3 + 2 * 3
    for name in files:
        a, b = (first / name).read_bytes(), (second / name).read_bytes()
        if name.suffix in (".html", ".md") and name.parts[0] != "sources":
            # The regenerate command names the output folder, which differs between the two runs.
            a, b = (TIMING.sub("", x.decode().replace(str(f), "OUT")) for x, f in ((a, first), (b, second)))
            assert "inductive invariant" in a
        assert a == b, name


def test_bad_input_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["report", "no-such-scenario", "--out", str(tmp_path)]) == 2
    assert "unknown scenario 'no-such-scenario'" in capsys.readouterr().err
    assert main(["report", "seed", "--out", str(tmp_path), "--depth", "-1"]) == 2
    assert not any(tmp_path.iterdir())


def test_the_page_opens_with_its_summary_and_keeps_the_evidence_in_collapsed_sections(report: Path) -> None:
    text = (report / "index.html").read_text(encoding="utf-8")
    body = text[text.index("<body>"):]
    assert body.index('<p class="summary">') < body.index('id="verdicts"') < body.index('id="properties"')
    assert "3 scenario(s) x 2 properties: 6 verdicts" in body
    assert "<details open" not in body
    # What a reader sees before opening any section: each section's summary line alone.
    closed = re.sub(r"<details[^>]*>\s*<summary>(.*?)</summary>.*?</details>", r"\1", body, flags=re.S)
    assert "<svg" not in closed and "<pre>" not in closed and 'class="story"' not in closed
    for scenario in SCENARIOS:
        for prop in PROPS:
            assert re.search(f'<details class="result v-[a-z]+" id="{scenario}--{prop}">', body)
            assert f"<code>{prop}</code>" in closed  # its line, with the verdict, stays in view


def test_the_regenerate_command_reproduces_the_report_with_its_diagnosis(tmp_path: Path) -> None:
    log = tmp_path / "service.jsonl"
    log.write_text('{"call": "Connect", "thread": "t1", "as": "alice", "result": "ok"}\n', encoding="utf-8")
    folder = tmp_path / "r"
    assert main(["report", "seed", "-p", PROPS[0], "--engine", "bmc", "--depth", "6", "--diagnose", str(log),
                 "--out", str(folder)]) == 0
    first = {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    md = first[Path("report.md")].decode()
    found = re.search(r"^- Regenerate: `([^`]+)`$", md, flags=re.M)
    assert found is not None
    command = found.group(1)
    assert escape(command) in first[Path("index.html")].decode()
    argv = shlex.split(command)
    assert argv[:2] == ["regcheck", "report"] and argv[argv.index("--diagnose") + 1] == str(log)
    assert main(argv[1:]) == 0
    second = {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    assert sorted(first) == sorted(second)
    assert "Diagnosis of" in md
    for name, data in first.items():
        a, b = data, second[name]
        if name.suffix in (".html", ".md"):
            a, b = (TIMING.sub("", x.decode()).encode() for x in (a, b))
        assert a == b, name
