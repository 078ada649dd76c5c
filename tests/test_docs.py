"""The README starts a newcomer and the reference pages it links stay readable: its first lines are the
two set-up commands CI runs, every link of the README and of docs/ reaches a file, every switch has its
line in docs/switches.md, and no page is longer than a reader reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.clirun import run_json

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LONGEST = 130
"""Lines of prose (code blocks aside) a page may have."""
CONTRACTS = ("PROTOCOL.md",)
"""Pages read by section, as references are, not top to bottom: the protocol's facts, each with its source."""
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_the_readme_opens_with_the_two_commands_and_ci_runs_the_second() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert lines[:3] == ["# regcheck", "", "```sh"]
    install, tests = lines[3:5]
    assert install.endswith(".venv/bin/pip install -q . && .venv/bin/regcheck check")
    assert tests.endswith(".venv/bin/pip install -q '.[test]' && .venv/bin/python -m pytest -n auto")
    assert tests in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_link_of_a_page_reaches_a_file(page: Path) -> None:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    for target in LINK.findall(text):
        if "://" in target:
            continue
        assert (page.parent / target).resolve().exists(), f"{page.name} links {target}, which does not exist"
        assert (page.parent / target).resolve().is_relative_to(ROOT), f"{page.name} links outside: {target}"


@pytest.mark.parametrize("page", [p for p in PAGES if p.name not in CONTRACTS], ids=lambda p: p.name)
def test_no_page_is_longer_than_a_reader_reads(page: Path) -> None:
    prose = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S).splitlines()
    assert len(prose) <= LONGEST, f"{page.name}: {len(prose)} lines of prose; split it"


def test_the_readme_links_every_reference_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in PAGES[1:]:
        assert f"](docs/{page.name})" in readme, f"the README does not link docs/{page.name}"


def test_every_switch_has_its_line_in_the_switches_page(capsys: pytest.CaptureFixture[str]) -> None:
    _, document = run_json(capsys, "check", "seed", "--engine", "bmc", "--depth", "1", "-p", "no-registration-mismatch")
    page = (ROOT / "docs" / "switches.md").read_text(encoding="utf-8")
    for switch in set(document["scenario"]) - {"design"}:  # "design": the design shown worker by worker
        assert f"`{switch}`" in page or f"\n{switch} = " in page, f"docs/switches.md does not name {switch}"
