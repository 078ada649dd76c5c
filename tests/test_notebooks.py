"""Every notebook in notebooks/ is stored without outputs and runs top to bottom without an error.

Each is executed in a fresh kernel (nbclient, the interpreter running the tests), in a temporary
folder; a cell that raises, including a failed ``assert`` on a conclusion, fails the test.
"""

from __future__ import annotations

from pathlib import Path

import nbclient
import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
TIMEOUT = 300


def test_the_seven_notebooks_are_there() -> None:
    assert [p.stem for p in NOTEBOOKS] == [
        "01-reproduce-the-article",
        "02-the-fixes-and-their-cost",
        "03-explore-interleavings",
        "04-variants",
        "05-check-your-design",
        "06-diagnose-a-log",
        "07-step-through-a-counterexample",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_clean_and_runs(path: Path, tmp_path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: stored with outputs"
    client = nbclient.NotebookClient(
        notebook, timeout=TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    errors = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
              if o.output_type == "error"]
    assert not errors
    rich = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
            if "text/html" in o.get("data", {})]
    assert rich, f"{path.name}: nothing displayed as HTML"
