"""The benchmark's log of the seed with 4 workers (`benchmarks/diagnose.py`), and one setting of its product, for the
tests of the searches that decide it."""

from __future__ import annotations

import sys
from pathlib import Path

from regcheck.model.observations import Event

SEED4 = (("transport", "rpc-http"), ("server_async", "true"), ("on_mismatch", "evict"),
         ("registration", "every-miss"), ("identity_tracking", "dynamic"), ("async_connect_by", "worker"),
         ("after_network_error", "reconnect-new"), ("association_scope", "process"), ("async_failure", "poll"))


def seed4_log(length: int) -> tuple[str, list[Event]]:
    """The base and the first ``length`` events of the benchmark's log of the seed with 4 workers."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from diagnose import CASES, logged  # type: ignore[import-not-found]

    base, design, _ = CASES["seed4"]
    return base, logged(base, design, 3)[:length]


def seed4_setting(**changes: str) -> tuple[tuple[str, str], ...]:
    """``SEED4`` with ``changes`` (switch=value)."""
    return tuple((key, changes.get(key, value)) for key, value in SEED4)
