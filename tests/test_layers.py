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
    # 0-1: no imports of the core, or errors only
    "regcheck": 0,
    "regcheck.errors": 0,
    "regcheck.display": 0,
    "regcheck.children": 0,
    "regcheck.deadline": 0,
    "regcheck.files": 1,
    "regcheck.limits": 1,
    "regcheck.junit": 1,
    "regcheck.sarif": 1,
    "regcheck.outputs": 2,
    # 2-6: the language of systems, evidence and results
    "regcheck.expr": 2,
    "regcheck.evidence": 3,
    "regcheck.result": 4,
    "regcheck.system": 5,
    "regcheck.causes": 6,
    "regcheck.lasso_safety": 6,
    # 7-8: compilation, the one z3 module, the domain check
    "regcheck.compile": 7,
    "regcheck.smt": 7,
    "regcheck.domains": 8,
    # renderers of traces: results in, pictures and text out
    "regcheck.trace": 7,
    "regcheck.trace.chart": 7,
    "regcheck.trace.itf": 8,
    "regcheck.trace.draw": 8,
    "regcheck.trace.states": 8,
    "regcheck.trace.text": 9,
    # 9-10: what engines are built from
    "regcheck.symmetry": 9,
    "regcheck.explore": 9,
    "regcheck.constraints": 9,
    "regcheck.certificate": 10,
    "regcheck.abstraction": 10,
    "regcheck.promela": 9,
    "regcheck.subsequence": 9,
    "regcheck.spin": 10,
    # 11-13: the engines
    "regcheck.engines": 11,
    "regcheck.engines.liveness": 12,
    "regcheck.engines.bmc": 12,
    "regcheck.engines.kinduction": 12,
    "regcheck.engines.distinct": 12,
    "regcheck.engines.houdini": 12,
    "regcheck.engines.explicit": 13,
    "regcheck.engines.pdr": 13,
    "regcheck.interference": 13,
    # 14-15: vetting and running engines, model-free
    "regcheck.checking": 14,
    "regcheck.portfolio": 14,
    "regcheck.crosscheck": 15,
}
"""Each core module's layer: it may import modules of lower layers only."""

MODEL, PROPERTIES = "regcheck.model", "regcheck.properties"
"""The protocol model and its properties: packages inside ``regcheck`` with rules of their own, not core layers."""

ROOTS = ("regcheck.compose", "regcheck.counterexamples", "regcheck.cli", "regcheck.notebook", "regcheck.sweep",
         "regcheck.report", "regcheck.diagnosis", "regcheck.findings", "regcheck.regression", "regcheck.pytest_plugin")
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
        assert not imported.startswith("regcheck.engines"), f"{module} imports {imported}: the model runs no engine"
        assert not _is_root(imported), f"{module} imports the composition root {imported}"
        assert not _within(imported, PROPERTIES), f"{module} imports {imported}: properties depend on the model"


@pytest.mark.parametrize("module, path", _modules(PROPERTIES), ids=lambda v: v if isinstance(v, str) else "")
def test_properties_know_the_model_and_the_core_only(module: str, path: Path) -> None:
    for imported in _imports(path):
        assert not _is_root(imported), f"{module} imports the composition root {imported}"
        assert not imported.startswith("regcheck.engines"), f"{module} imports {imported}"


def test_every_layered_module_exists() -> None:
    known = {m for m, _ in _core()}
    assert set(LAYERS) <= known, f"LAYERS names modules that do not exist: {sorted(set(LAYERS) - known)}"
