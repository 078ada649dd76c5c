"""The ready designs of ``examples/designs/``: each loads and checks, with the verdicts its ``[expected]``
table states, and each fix its comments suggest has the effect they claim."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.clirun import run_json

DESIGNS = Path(__file__).resolve().parents[1] / "examples" / "designs"
MEETS = {"violated": {"violated"}, "holds": {"proved"}, "bounded": {"proved", "bounded"}}
"""What meets each expectation, as the README states it: "holds" only a proof."""

SAFETY = ("worker-never-gets-network-error", "no-registration-mismatch", "registration-in-use-never-evicted",
          "registration-matches-admitted-calls", "one-parked-wait-per-session")

FIXES = [
    ("migration-service", ("connect_flags=0x20",), False),
    ("migration-service", ("connect_flags=0x20", "association_scope=session"), True),
    ("thread-pool", ("connect_flags=0x20",), False),
    ("thread-pool", ("process_identity=svc", "impersonate=false", "mailbox_access=svc:alice+bob"), True),
    ("monitoring-thread", ("connect_flags=0x20",), False),
    ("monitoring-thread", ("worker_impersonates=false,false,false",), True),
]
"""Each fix the files' comments suggest, and whether it makes every safety property proved."""


def test_the_folder_holds_the_designs_the_readme_offers() -> None:
    assert sorted(p.stem for p in DESIGNS.glob("*.toml")) == ["migration-service", "monitoring-thread", "thread-pool"]


@pytest.mark.parametrize("design", sorted(DESIGNS.glob("*.toml")), ids=lambda p: p.stem)
def test_a_design_checks_with_its_expected_verdicts(capsys: pytest.CaptureFixture[str], design: Path) -> None:
    expected = tomllib.loads(design.read_text(encoding="utf-8"))["expected"]
    code, document = run_json(capsys, "check", str(design))
    verdicts = {r["property"]: r["verdict"] for r in document["results"]}
    assert set(verdicts) == set(expected), "every property has its expectation"
    for name, verdict in verdicts.items():
        assert verdict in MEETS[expected[name]], f"{design.name}: {name} is {verdict}, expected {expected[name]}"
    assert code == (1 if "violated" in verdicts.values() else 0)


@pytest.mark.parametrize(("design", "sets", "safe"), FIXES, ids=lambda v: v if isinstance(v, str) else None)
def test_a_suggested_fix_does_what_the_design_says(
    capsys: pytest.CaptureFixture[str], design: str, sets: tuple[str, ...], safe: bool
) -> None:
    path = DESIGNS / f"{design}.toml"
    for option in sets:
        assert f"--set {option}" in path.read_text(encoding="utf-8"), "the file's comments suggest this fix"
    _, document = run_json(capsys, "check", str(path), *(a for s in sets for a in ("--set", s)))
    verdicts = {r["property"]: r["verdict"] for r in document["results"]}
    if safe:
        assert all(verdicts[name] == "proved" for name in SAFETY), verdicts
    else:
        assert verdicts["worker-never-gets-network-error"] == "violated"
