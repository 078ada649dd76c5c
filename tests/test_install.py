"""regcheck as a user installs it: a wheel built from this source tree, installed with pip and its
dependencies from the package index into a fresh virtual environment outside the tree, used from a
folder of the user's own that holds a ``model.py`` and a ``properties.py``.

regcheck must claim the one import name ``regcheck``: the wheel's ``top_level.txt`` says so, and the
command, the notebook API and the pytest plugin all work beside the user's modules (which fail loudly if
anything imports them). The environment gets the wheel and pytest (``pip install --no-compile``: the
same files, without compiling every dependency's bytecode first), nothing from this checkout, and runs
without ``PYTHONPATH``, so the checkout cannot stand in for the installed package. Slow: the install
alone takes about half a minute, even from pip's cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests import distribution

ROOT = Path(__file__).resolve().parent.parent
LEFT_OUT = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "node_modules", "__pycache__",
                                  ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache", "out")
"""What a build of the tree never reads: version control, environments, caches and earlier outputs."""
USERS_OWN = 'raise RuntimeError("the user\'s own {} was imported")\n'


def _run(argv: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``argv`` in ``cwd``, with no ``PYTHONPATH``: only what is installed can be imported."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel pip builds from a copy of the source tree (so that the build writes nothing here)."""
    place = tmp_path_factory.mktemp("build")
    source = place / "source"
    shutil.copytree(ROOT, source, ignore=LEFT_OUT)
    done = _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(place / "dist"), str(source)],
                place)
    assert done.returncode == 0, done.stdout + done.stderr
    (built,) = (place / "dist").glob("regcheck-*.whl")
    return built


def test_the_wheel_is_complete_and_claims_the_one_import_name_regcheck(wheel: Path) -> None:
    assert distribution.wheel_problems(wheel) == []
    with zipfile.ZipFile(wheel) as archive:
        (top_level,) = [n for n in archive.namelist() if n.endswith(".dist-info/top_level.txt")]
        assert archive.read(top_level).decode().split() == ["regcheck"]


def test_the_completeness_check_knows_what_the_package_reads() -> None:
    assert distribution.resource_patterns() >= {"regcheck/model/scenarios", "regcheck/model/scenarios/*.toml",
                                                 "regcheck/model/SEMANTICS.md"}
    data = distribution.data_files()
    assert {"regcheck/py.typed", "regcheck/model/SEMANTICS.md", "regcheck/model/scenarios/seed.toml"} <= data


def test_a_wheel_without_a_scenario_is_refused(wheel: Path, tmp_path: Path) -> None:
    lacking = tmp_path / wheel.name
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(lacking, "w") as target:
        for item in source.infolist():
            if not item.filename.endswith("/seed.toml"):
                target.writestr(item, source.read(item))
    lacks = ["regcheck/model/scenarios/seed.toml is package data the wheel lacks"]
    assert distribution.wheel_problems(lacking) == lacks


@pytest.mark.slow
def test_a_fresh_install_works_beside_the_users_own_model_and_properties(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    python, command = venv / "bin" / "python", venv / "bin" / "regcheck"
    installed = _run([str(python), "-m", "pip", "install", "-q", "--no-compile", "--disable-pip-version-check",
                      str(wheel), "pytest"],
                     tmp_path, timeout=900)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    user = tmp_path / "user"
    user.mkdir()
    (user / "model.py").write_text(USERS_OWN.format("model.py"), encoding="utf-8")
    (user / "properties.py").write_text(USERS_OWN.format("properties.py"), encoding="utf-8")
    (user / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # the user's project, not this one
    design = _run([str(python), "-c", "from regcheck.model.scenario import builtin_path; "
                   "print(builtin_path('fix-run-as-user').read_text(encoding='utf-8'), end='')"], user)
    assert design.returncode == 0, design.stderr
    assert "[regcheck]" in design.stdout and "[expected]" in design.stdout
    (user / "design.toml").write_text(design.stdout, encoding="utf-8")

    where = _run([str(python), "-c", "import regcheck; print(regcheck.__file__)"], user)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout + where.stderr

    every = _run([str(command), "check", "--all"], user)
    assert every.returncode == 0, every.stdout + every.stderr
    assert "fix-run-as-user" in every.stdout and "Traceback" not in every.stdout + every.stderr

    notebook = _run([str(python), "-c", "import regcheck.notebook as nb; "
                     "print(nb.check('fix-run-as-user', 'worker-never-gets-network-error').verdicts)"], user)
    assert notebook.returncode == 0, notebook.stdout + notebook.stderr
    assert notebook.stdout.strip() == "{'worker-never-gets-network-error': 'proved'}"

    plugin = _run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "design.toml"], user)
    assert plugin.returncode == 0, plugin.stdout + plugin.stderr
    assert "7 passed" in plugin.stdout


def test_ci_checks_the_distribution_then_runs_the_readmes_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    steps = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    test_command = next(line for line in readme.splitlines() if line.endswith("-m pytest -n auto"))
    assert steps[-1] == test_command
    assert any("-m build" in s and "twine check --strict" in s for s in steps)
    assert any(s.endswith("-m tests.distribution dist") for s in steps)
