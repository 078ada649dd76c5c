"""The process pools regcheck starts (`regcheck.children.pool`): a worker whose work is done ends at once, without
freeing what it holds object by object (a diagnosis's caches of states took a second or more to free)."""

from __future__ import annotations

import os
from pathlib import Path

from regcheck import children


class _Freed:
    """Writes its file when it is freed."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __del__(self) -> None:
        Path(self.path).write_text("freed")


_HELD: list[_Freed] = []


def _hold(path: str) -> int:
    """In a worker: keep an object that says when it is freed; the worker's process id."""
    _HELD.append(_Freed(path))
    return os.getpid()


def test_a_pool_worker_ends_without_freeing_what_it_holds(tmp_path: Path) -> None:
    freed = tmp_path / "freed"
    with children.pool(1) as pool:
        worker = pool.submit(_hold, str(freed)).result()
    assert worker != os.getpid()
    assert not freed.exists()
    # In this process, the same object is freed as usual: the file is how the test would see it.
    _hold(str(freed))
    _HELD.clear()
    assert freed.read_text() == "freed"
