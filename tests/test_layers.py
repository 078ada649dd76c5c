"""The layering of docs/ARCHITECTURE.md, enforced: who may import whom.

Every module of the ``regcheck`` core has a layer; a module imports only modules of lower layers (and
its own package's ``__init__``). Only the composition roots know the protocol model
(``regcheck.model``) and its properties (``regcheck.properties``); the model runs no engine; the properties
know the model and the core, never a root. Read from the source with ``ast``, so that a lazy import
inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

LAYERS: dict[str, int] = {
    # 0-2, the shared ground (regcheck/): no imports of the core, or errors only
    "regcheck": 0,
    "regcheck.errors": 0,
    "regcheck.display": 0,
    "regcheck.children": 0,
    "regcheck.deadline": 0,
    "regcheck.files": 1,
    "regcheck.limits": 1,
    "regcheck.outputs": 2,
    # the checker core (regcheck/core/), 2-6: the language of systems, evidence and results
    "regcheck.core": 0,
    "regcheck.core.expr": 2,
    "regcheck.core.evidence": 3,
    "regcheck.core.result": 4,
    "regcheck.core.system": 5,
    "regcheck.core.causes": 6,
    "regcheck.core.lasso_safety": 6,
    "regcheck.core.hiding": 6,
    # 7-8: compilation, the one z3 module, the domain check, unfolding a path among orbits
    "regcheck.core.compile": 7,
    "regcheck.core.smt": 7,
    "regcheck.core.domains": 8,
    "regcheck.core.unfold": 8,
    # 9-10: what engines are built from
    "regcheck.core.symmetry": 9,
    "regcheck.core.explore": 9,
    "regcheck.core.constraints": 9,
    "regcheck.core.subsequence": 9,
    "regcheck.core.projection": 10,
    "regcheck.core.reachable": 10,
    "regcheck.core.named_blocks": 10,
    "regcheck.core.certificate": 10,
    "regcheck.core.abstraction": 10,
    # 11-13: the engines
    "regcheck.core.engines": 11,
    "regcheck.core.engines.liveness": 12,
    "regcheck.core.engines.bmc": 12,
    "regcheck.core.engines.kinduction": 12,
    "regcheck.core.engines.distinct": 12,
    "regcheck.core.engines.houdini": 12,
    "regcheck.core.engines.explicit": 13,
    "regcheck.core.engines.pdr": 13,
    "regcheck.core.engines.continuation": 13,
    "regcheck.core.interference": 13,
    # 14-15: vetting and running engines, model-free
    "regcheck.core.checking": 14,
    "regcheck.core.portfolio": 14,
    "regcheck.core.crosscheck": 15,
    # the renderers of traces (regcheck/render/): results in, pictures and text out
    "regcheck.render": 7,
    "regcheck.render.chart": 7,
    "regcheck.render.draw": 8,
    "regcheck.render.states": 8,
    "regcheck.render.text": 9,
    # the file formats (regcheck/formats/)
    "regcheck.formats": 0,
    "regcheck.formats.junit": 1,
    "regcheck.formats.sarif": 1,
    "regcheck.formats.itf": 8,
    "regcheck.formats.mermaid": 8,
    "regcheck.formats.promela": 9,
    "regcheck.formats.spin": 10,
}
"""Each core module's layer: it may import modules of lower layers only."""

MODEL, PROPERTIES = "regcheck.model", "regcheck.properties"
"""The protocol model and its properties: packages inside ``regcheck`` with rules of their own, not core layers."""

ROOTS = ("regcheck.compose", "regcheck.counterexamples", "regcheck.cli", "regcheck.notebook", "regcheck.sweep",
         "regcheck.report", "regcheck.diagnosis", "regcheck.fixchecks", "regcheck.cases", "regcheck.findings",
         "regcheck.regression", "regcheck.pytest_plugin", "regcheck.widget")
"""The composition roots: they alone put the core, the model and the properties together."""


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every regcheck module ``path`` imports (``from a import b`` counts a.b when a.b is a module, else a)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = (ROOT / Path(*candidate.split("."))).with_suffix(".py").exists() or (
                    ROOT / Path(*candidate.split(".")) / "__init__.py"
                ).exists()
                found.add(candidate if is_module else node.module)
    return {m for m in found if m.split(".")[0] == "regcheck"}


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _modules(package: str) -> list[tuple[str, Path]]:
    return sorted((_module(p), p) for p in (ROOT / Path(*package.split("."))).rglob("*.py"))


def _core() -> list[tuple[str, Path]]:
    return [(m, p) for m, p in _modules("regcheck") if not (_within(m, MODEL) or _within(m, PROPERTIES))]


def _is_root(module: str) -> bool:
    return any(_within(module, r) for r in ROOTS)


def _layer(module: str) -> int:
    while module not in LAYERS:
        if "." not in module:
            raise KeyError(module)
        module = module.rsplit(".", 1)[0]
    return LAYERS[module]


@pytest.mark.parametrize("module, path", _core(), ids=lambda v: v if isinstance(v, str) else "")
def test_core_modules_import_downwards_only(module: str, path: Path) -> None:
    if _is_root(module):
        return
    assert module in LAYERS, f"{module} has no layer: add it to LAYERS and to docs/ARCHITECTURE.md"
    for imported in _imports(path):
        assert not (_within(imported, MODEL) or _within(imported, PROPERTIES)), (
            f"{module} imports {imported}: only composition roots may"
        )
        if imported == module or module.startswith(imported + "."):
            continue  # a package's own __init__
        assert not _is_root(imported), f"{module} imports the composition root {imported}"
        assert _layer(imported) < LAYERS[module], (
            f"{module} (layer {LAYERS[module]}) imports {imported} (layer {_layer(imported)}): a backwards arrow"
        )


@pytest.mark.parametrize("module, path", _modules(MODEL), ids=lambda v: v if isinstance(v, str) else "")
def test_the_model_runs_no_engine_and_knows_no_root(module: str, path: Path) -> None:
    for imported in _imports(path):
        assert not imported.startswith("regcheck.core.engines"), f"{module} imports {imported}: the model runs no engine"
        assert not _is_root(imported), f"{module} imports the composition root {imported}"
        assert not _within(imported, PROPERTIES), f"{module} imports {imported}: properties depend on the model"


@pytest.mark.parametrize("module, path", _modules(PROPERTIES), ids=lambda v: v if isinstance(v, str) else "")
def test_properties_know_the_model_and_the_core_only(module: str, path: Path) -> None:
    for imported in _imports(path):
        assert not _is_root(imported), f"{module} imports the composition root {imported}"
        assert not imported.startswith("regcheck.core.engines"), f"{module} imports {imported}"


ROOMS = ("regcheck.core", "regcheck.render", "regcheck.formats", MODEL, PROPERTIES)
"""The folders of docs/ARCHITECTURE.md's boxes; the shared ground and the composition roots sit in regcheck/."""

ROOM_IMPORTS: dict[str, set[str]] = {
    "ground": {"ground"},
    "regcheck.core": {"ground", "regcheck.core"},
    "regcheck.render": {"ground", "regcheck.core", "regcheck.render"},
    "regcheck.formats": {"ground", "regcheck.core", "regcheck.render", "regcheck.formats"},
    MODEL: {"ground", "regcheck.core", "regcheck.render", MODEL},
    PROPERTIES: {"ground", "regcheck.core", MODEL, PROPERTIES},
}
"""Which rooms each room's modules may import: the folder tree is the architecture diagram. Roots import any."""


def _room(module: str) -> str:
    if _is_root(module):
        return "root"
    return next((room for room in ROOMS if _within(module, room)), "ground")


@pytest.mark.parametrize("module, path", _modules("regcheck"), ids=lambda v: v if isinstance(v, str) else "")
def test_each_folder_imports_only_the_folders_its_box_may(module: str, path: Path) -> None:
    room = _room(module)
    if room == "root":
        return
    for imported in _imports(path):
        assert _room(imported) in ROOM_IMPORTS[room], f"{module} ({room}) imports {imported} ({_room(imported)})"


def test_every_layered_module_exists() -> None:
    known = {m for m, _ in _core()}
    assert set(LAYERS) <= known, f"LAYERS names modules that do not exist: {sorted(set(LAYERS) - known)}"
