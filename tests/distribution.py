"""What a built regcheck distribution must hold, checked on the files themselves.

The wheel claims the one import name ``regcheck``, carries the LICENSE, and holds every module of
``regcheck/`` and every file the package reads at run time: each ``importlib.resources`` path written
in its source (a part computed at run time matches any name) and every file beside the modules in
``regcheck/`` (scenarios, the model's documents, ``py.typed``). The sdist is the wheel's source and its
documentation: the tests stay in the repository, which holds their fixtures. ``tests/test_install.py``
checks a wheel pip builds; CI runs ``python -m tests.distribution dist/`` on what ``python -m build`` wrote.
"""

from __future__ import annotations

import fnmatch
import re
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESOURCE = re.compile(r"""resources\.files\(\s*"([\w.]+)"\s*\)((?:\s*/\s*(?:f?"[^"\n]*"|[A-Za-z_]\w*))*)""")
"""A read through importlib.resources: the package, then the path's parts (literals, f-strings or names)."""
PART = re.compile(r"""f?"[^"\n]*"|[A-Za-z_]\w*""")


def resource_patterns(root: Path = ROOT) -> set[str]:
    """Every path the package's source reads with ``importlib.resources``, as a glob over the wheel's names."""
    found = set()
    for module in (root / "regcheck").rglob("*.py"):
        for package, rest in RESOURCE.findall(module.read_text(encoding="utf-8")):
            parts = [package.replace(".", "/")]
            for part in PART.findall(rest):
                if part.startswith("f"):
                    parts.append(re.sub(r"\{[^}]*\}", "*", part[2:-1]))
                elif part.startswith('"'):
                    parts.append(part[1:-1])
                else:
                    parts.append("*")
            found.add("/".join(parts))
    return found


def data_files(root: Path = ROOT) -> set[str]:
    """Every file of ``regcheck/`` in the source tree that is not Python source: the package's data."""
    return {
        p.relative_to(root).as_posix()
        for p in (root / "regcheck").rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    }


def modules(root: Path = ROOT) -> set[str]:
    """Every Python module of ``regcheck/`` in the source tree (a folder without ``__init__.py`` is not shipped)."""
    return {p.relative_to(root).as_posix() for p in (root / "regcheck").rglob("*.py") if "__pycache__" not in p.parts}


def wheel_problems(wheel: Path, root: Path = ROOT) -> list[str]:
    """What ``wheel`` lacks or holds beyond the one import name; empty when it is complete."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
        if len(info) != 1:
            return [f"{wheel.name}: {len(info)} .dist-info folders"]
        (dist_info,) = info
        top_level = f"{dist_info}/top_level.txt"
        problems = []
        if top_level in names and archive.read(top_level).decode().split() != ["regcheck"]:
            problems.append(f"top_level.txt holds {archive.read(top_level).decode().split()}, not regcheck alone")
    roots = {n.split("/")[0] for n in names} - {dist_info}
    if roots != {"regcheck"}:
        problems.append(f"the wheel installs {sorted(roots)}, not regcheck alone")
    if not any(n.startswith(f"{dist_info}/licenses/") and n.endswith("/LICENSE") for n in names):
        problems.append("the wheel carries no LICENSE")
    for pattern in sorted(resource_patterns(root)):  # a folder's name is no entry of a wheel: its files are
        if not fnmatch.filter(names, pattern) + fnmatch.filter(names, f"{pattern}/*"):
            problems.append(f"the package reads {pattern}, which the wheel lacks")
    problems += [f"{f} is package data the wheel lacks" for f in sorted(data_files(root) - set(names))]
    problems += [f"{f} is a module the wheel lacks" for f in sorted(modules(root) - set(names))]
    return problems


def sdist_problems(sdist: Path) -> list[str]:
    """What ``sdist`` lacks (the LICENSE, the package's data) or holds that its fixtures would need (tests)."""
    with tarfile.open(sdist) as archive:
        names = {m.name.split("/", 1)[1] for m in archive.getmembers() if "/" in m.name}
    problems = [f"the sdist lacks {f}" for f in ("LICENSE", "README.md", "pyproject.toml") if f not in names]
    problems += [f"{f} is package data the sdist lacks" for f in sorted(data_files() - names)]
    if any(n.startswith("tests/") for n in names):
        problems.append("the sdist holds tests, without the fixtures they read; they stay in the repository")
    return problems


def main(argv: list[str]) -> int:
    """Check the one wheel and the one sdist in the folder ``argv[0]``; print each problem, exit 1 if any."""
    folder = Path(argv[0]) if argv else ROOT / "dist"
    wheels, sdists = sorted(folder.glob("regcheck-*.whl")), sorted(folder.glob("regcheck-*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        print(f"{folder}: expected one wheel and one sdist, found {len(wheels)} and {len(sdists)}")
        return 1
    problems = wheel_problems(wheels[0]) + sdist_problems(sdists[0])
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{wheels[0].name} and {sdists[0].name}: complete")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
