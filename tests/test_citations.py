"""The project carries its own sources: every path and section a text cites exists.

The texts: the README, ``docs/``, the model's documents, the notebooks, the package's docstrings and
comments, the properties' sources and every ``--help`` text. A citation is a Markdown link (its file and
its ``#anchor``), a document named with a section (``regcheck/model/PROTOCOL.md, "What no source
decides"``: a heading of that file starts so), a document named alone, or a path in backticks under one
of the repository's folders (Markdown links only in Markdown and notebooks: in Python, ``a[i](x)`` is a
call). A document is looked for beside the citing file, at the repository's root
and beside the model (where the package's documents live). What the installed package shows (help texts,
the properties' sources) may cite only what the wheel ships: ``regcheck/`` and its package data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from regcheck.cli import app
from regcheck.properties import catalogue
from regcheck.report.sources import headings, slug
from tests import distribution

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("regcheck", "docs", "tests", "examples", "notebooks", "schemas", "benchmarks", ".ci")
"""The repository's folders: a path in backticks that starts with one of them is a citation."""
WRITTEN = {"report.md"}
"""Names of files regcheck writes (a report's Markdown page): named in texts, never cited."""

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
DOCUMENT = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.md)\b(?!\w)")
SECTION = re.compile(r'`?((?:[\w.-]+/)*[\w.-]+\.md)`?,? (?:section )?"([^"]+)"')
NUMBERED = re.compile(r"((?:[\w.-]+/)*[\w.-]+\.md),? (?:section |§)?\d")
CODE_PATH = re.compile(r"`((?:%s)/[\w./-]*\.\w+)(?::[^`]*)?`" % "|".join(re.escape(f) for f in FOLDERS))


def _texts() -> Iterator[tuple[str, Path, str]]:
    """(what, the file it lives in, the text) for every text the repository's readers read."""
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "regcheck").rglob("*.md"))]:
        yield path.relative_to(ROOT).as_posix(), path, path.read_text(encoding="utf-8")
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for number, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
            yield f"{path.relative_to(ROOT).as_posix()} cell {number}", path, "".join(cell["source"])
    for path in sorted((ROOT / "regcheck").rglob("*.py")):
        yield path.relative_to(ROOT).as_posix(), path, path.read_text(encoding="utf-8")


def _help_texts() -> Iterator[tuple[str, str]]:
    """(the command and option, its help) for every command of ``regcheck`` and each of its options."""
    def walk(command: click.Command, name: str) -> Iterator[tuple[str, str]]:
        yield name, " ".join(filter(None, (command.help, command.epilog, command.short_help)))
        for param in command.params:
            yield f"{name} {param.name}", getattr(param, "help", None) or ""
        if isinstance(command, click.Group):
            for sub, child in sorted(command.commands.items()):
                yield from walk(child, f"{name} {sub}")
    yield from walk(app, "regcheck")


def _find(name: str, place: Path) -> Path | None:
    """The document ``name`` cited from ``place``: beside it, at the root, or beside the model (a name ending in
    ``/`` cites a folder)."""
    for base in (place.parent, ROOT, ROOT / "regcheck" / "model"):
        candidate = (base / name).resolve()
        exists = candidate.is_dir() if name.endswith("/") else candidate.is_file()
        if exists and candidate.is_relative_to(ROOT):
            return candidate
    return None


def _problems(text: str, place: Path, shipped_only: bool = False) -> list[str]:
    """What ``text`` (in ``place``) cites that does not exist; with ``shipped_only``, also what the wheel lacks."""
    problems = []

    def found(name: str) -> Path | None:
        target = _find(name, place)
        if target is not None and shipped_only:
            relative = target.relative_to(ROOT).as_posix()
            if not (relative.endswith(".py") and relative.startswith("regcheck/")) and (
                    relative not in distribution.data_files()):
                problems.append(f"{name}: not in the installed package")
        return target

    for target in LINK.findall(text) if place.suffix in (".md", ".ipynb") else ():
        if re.match(r"[a-z]+:", target):
            continue  # a web address or mailto: not a path
        name, _, anchor = target.partition("#")
        document = found(name) if name else place
        if document is None:
            problems.append(f"link to {target}: no such file")
        elif anchor and document.suffix == ".md":
            if anchor not in {slug(h) for h in headings(document.read_text(encoding="utf-8"))}:
                problems.append(f"link to {target}: no such heading")
    for name, section in SECTION.findall(text):
        section = " ".join(section.split())  # a section's name may wrap across lines
        document = found(name)
        if document is not None and not any(h.startswith(section) for h in headings(document.read_text("utf-8"))):
            problems.append(f'{name}, "{section}": no heading starts so')
    for name in NUMBERED.findall(text):
        problems.append(f"{name}: cited by a section number, which no document of the project has")
    for name in DOCUMENT.findall(text):
        if name.rsplit("/", 1)[-1] not in WRITTEN and found(name) is None:
            problems.append(f"{name}: no such document in the repository")
    for name in CODE_PATH.findall(text):
        if not (ROOT / name).exists() and found(name) is None:
            problems.append(f"`{name}`: no such file")
    return sorted(set(problems))


@pytest.mark.parametrize("place, text", [pytest.param(p, t, id=what) for what, p, t in _texts()])
def test_every_citation_of_a_text_exists(place: Path, text: str) -> None:
    assert _problems(text, place) == []


@pytest.mark.parametrize("text", [pytest.param(t, id=what) for what, t in _help_texts()])
def test_help_texts_cite_only_what_the_package_ships(text: str) -> None:
    assert _problems(text, ROOT / "regcheck" / "cli" / "__init__.py", shipped_only=True) == []


@pytest.mark.parametrize("name", catalogue.NAMES)
def test_each_propertys_source_is_shipped_and_its_section_exists(name: str) -> None:
    source = catalogue.spec(name).source
    assert _problems(source, ROOT / "regcheck" / "properties" / "catalogue.py", shipped_only=True) == []


def test_the_checks_find_what_does_not_exist(tmp_path: Path) -> None:
    place = ROOT / "README.md"
    assert _problems("as PROTOCOL.md 7.4 says", place) == [
        "PROTOCOL.md: cited by a section number, which no document of the project has"]
    assert _problems("see PLAN.md and ../elsewhere/NOTES.md", place) == [
        "../elsewhere/NOTES.md: no such document in the repository",
        "PLAN.md: no such document in the repository"]
    assert _problems('regcheck/model/PROTOCOL.md, "What nobody decides"', place) == [
        'regcheck/model/PROTOCOL.md, "What nobody decides": no heading starts so']
    assert _problems("[the facts](regcheck/model/PROTOCOL.md#no-such-heading)", place) == [
        "link to regcheck/model/PROTOCOL.md#no-such-heading: no such heading"]
    assert _problems("`regcheck/model/gone.py` and `docs/ci.md`", place) == ["`regcheck/model/gone.py`: no such file"]
    assert _problems("docs/ci.md", place, shipped_only=True) == ["docs/ci.md: not in the installed package"]
    assert _problems('[x](regcheck/model/PROTOCOL.md#what-no-source-decides), "ok"', place) == []


def test_the_variants_are_the_open_points_of_the_protocols_sources() -> None:
    from regcheck.model import variants

    table = (ROOT / "regcheck" / "model" / "PROTOCOL.md").read_text(encoding="utf-8")
    section = table.split("## What no source decides", 1)[1].split("\n## ", 1)[0]
    ids = re.findall(r"^\| ([CV][0-9]+) \|", section, flags=re.MULTILINE)
    assert ids == [v.id for v in variants.VARIANTS]
