"""The ``regcheck`` command's output against the golden files in ``tests/golden`` (see its docstring).

A difference fails with a unified diff. After a deliberate change of output, regenerate every file
with ``python -m tests.golden --update`` and review ``git diff tests/golden``.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from tests import golden

CASES = golden.cases()


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("golden-traces")
    golden.write_traces(folder)
    return folder


def test_every_golden_file_is_a_case() -> None:
    files = {p.name for p in golden.GOLDEN.iterdir() if p.suffix in (".txt", ".json")}
    assert files == {case.file for case in CASES}, "regenerate with: python -m tests.golden --update"


@pytest.mark.parametrize("case", CASES, ids=[case.file for case in CASES])
def test_output_matches_its_golden_file(case: golden.Case, request: pytest.FixtureRequest) -> None:
    assert case.path.exists(), f"{case.file} is missing; write it with: python -m tests.golden --update"
    expected = case.path.read_text()
    actual = golden.render(case, request.getfixturevalue("traces") if case.in_traces else golden.REPO)
    if actual != expected:
        diff = "".join(difflib.unified_diff(
            expected.splitlines(keepends=True), actual.splitlines(keepends=True),
            fromfile=f"tests/golden/{case.file}", tofile="now",
        ))
        pytest.fail(f"regcheck {' '.join(case.argv)} no longer prints its golden file; if the change is "
                    f"deliberate, run: python -m tests.golden --update\n{diff}", pytrace=False)


def test_the_normaliser_removes_times_and_versions() -> None:
    text = (
        "regcheck 9.9.9: scenario seed, engine bmc, depth 8\n"
        "property ┃ time \n"
        "━━━━━━━━━╇━━━━━━\n"
        "p        │ 0.82s\n"
    )
    assert golden.normalise_text(text) == (
        "regcheck <version>: scenario seed, engine bmc, depth 8\n"
        "property ┃ time\n"
        "━━━━━━━━━╇━━━━━━━\n"
        "p        │ <time>\n"
    )
    document = '{"version": 1, "tool": {"name": "regcheck", "version": "9"}, "z3": "4", "python": "3", ' \
               '"results": [{"time_s": 1.5, "trace": null}]}'
    assert '"time_s": 0' in golden.normalise_json(document) and "<version>" in golden.normalise_json(document)
