"""The reference simulator's own reading of a scenario: SEMANTICS.md's derived facts from the raw switches.

Replay must share nothing it checks with the symbolic model, so the simulator does not ask ``Scenario``
for its derived facts (``jobs_of``, ``serves``, ``has_rights``, ``identities``, ``with_workers``, ...),
which ``regcheck/model/system.py`` also uses: it copies the dataclass fields once, here, and derives every fact
again from SEMANTICS.md's "Entities" section. ``tests/test_replay_independence.py`` checks both halves.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from regcheck.display import shown
from regcheck.model.scenario import ANY, ANY_USER, CONNECT_NO_NOTIFICATIONS, MAX_WORKERS, SYSTEM, Scenario


@dataclass(frozen=True)
class Design:
    """One concrete design: the raw switches, copied, and the facts SEMANTICS.md derives from them."""

    name: str
    workers: int
    requests: int
    users: tuple[str, ...]
    worker_users: tuple[str | tuple[str, ...], ...]
    jobs: int
    impersonate: bool
    worker_impersonates: tuple[bool, ...]
    mailbox_access: Mapping[str, tuple[str, ...]]
    process_identity: str
    connect_flags: int
    transport: str
    on_mismatch: str
    registration: str
    identity_tracking: str
    association_scope: str
    after_network_error: str
    async_failure: str
    async_connect_by: str
    server_async: bool
    session_reuse: str
    notifier: str
    parameterised: bool
    """The scenario said ``workers = "any"``: every worker is the first ``worker_users``/``worker_impersonates`` entry."""

    @classmethod
    def of(cls, scenario: Scenario, workers: int | None = None) -> Design:
        """The design of ``scenario``; ``workers`` fixes the count of a ``workers = "any"`` scenario (and must
        then be given), or must equal the scenario's own count."""
        raw: dict[str, Any] = {f.name: getattr(scenario, f.name) for f in dataclasses.fields(scenario)}
        parameterised = raw["workers"] == ANY
        if parameterised:
            if workers is None:
                raise ValueError('a workers = "any" scenario is simulated with a fixed number of workers')
        elif workers is not None and workers != raw["workers"]:
            raise ValueError(f"scenario {raw['name']!r} has {raw['workers']} workers, not {workers}")
        count = raw["workers"] if workers is None else workers
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_WORKERS:
            raise ValueError(f"workers: expected a whole number from 1 to {MAX_WORKERS}, got {shown(count)}")
        keep = {name: raw[name] for name in cls.__dataclass_fields__ if name in raw}
        keep.update(workers=count, parameterised=parameterised)
        return cls(**keep)

    # Entities

    @property
    def worker_ids(self) -> range:
        """Workers 1..workers."""
        return range(1, self.workers + 1)

    def _entry(self, w: int) -> str | tuple[str, ...]:
        """Worker w's ``worker_users`` entry; without one, the users in turn (worker w serves users[(w-1) mod n])."""
        if not self.worker_users:
            return self.users[(w - 1) % len(self.users)]
        return self.worker_users[0 if self.parameterised else w - 1]

    def jobs_of(self, w: int) -> tuple[str, ...]:
        """Worker w's jobs, one user name (or ``*``) each: a list entry as given, a single name ``jobs`` times."""
        entry = self._entry(w)
        if isinstance(entry, str):
            return tuple(entry for _ in range(self.jobs))
        return tuple(entry)

    def takes_any(self, w: int) -> bool:
        """Worker w's jobs are ``*`` jobs (each job's user chosen when it starts)."""
        return ANY_USER in self.jobs_of(w)

    def serves(self, w: int) -> tuple[str, ...]:
        """The users worker w can serve, in the order of ``users``."""
        if self.takes_any(w):
            return self.users
        named = set(self.jobs_of(w))
        return tuple(u for u in self.users if u in named)

    def impersonates(self, w: int) -> bool:
        """``worker_impersonates[w]``, or ``impersonate`` when the list is empty."""
        if not self.worker_impersonates:
            return self.impersonate
        return self.worker_impersonates[0 if self.parameterised else w - 1]

    @property
    def identities(self) -> tuple[str, ...]:
        """SYSTEM, the users, then the service accounts (keys of ``mailbox_access`` that are neither)."""
        accounts = [a for a in self.mailbox_access if a != SYSTEM and a not in self.users]
        return (SYSTEM, *self.users, *accounts)

    def has_rights(self, identity: str, user: str) -> bool:
        """Whether ``identity`` may open ``user``'s mailbox: its own, or one ``mailbox_access`` grants it."""
        if identity == user:
            return True
        return user in self.mailbox_access.get(identity, ())

    @property
    def notifications(self) -> bool:
        """``async``: CONNECT_NO_NOTIFICATIONS (0x20) is clear in ``connect_flags``."""
        return self.connect_flags & CONNECT_NO_NOTIFICATIONS == 0

    @property
    def tracked(self) -> bool:
        """A tracked design: per-user sessions, a worker with several jobs, or one that takes ``*`` jobs."""
        if self.session_reuse == "per-user":
            return True
        return any(len(self.jobs_of(w)) > 1 or self.takes_any(w) for w in self.worker_ids)

    # Sessions and associations

    @property
    def session_ids(self) -> range:
        """Sessions 1..S: one per user under per-user reuse, else session w of worker w."""
        if self.session_reuse == "per-user":
            return range(1, len(self.users) + 1)
        return self.worker_ids

    def session_of_user(self, user: str) -> int:
        """Under per-user reuse: session s belongs to ``users[s]``."""
        return self.users.index(user) + 1

    def association_of(self, session: int) -> int:
        """``assoc(s)``: 1 under a process-wide association, else s."""
        return session if self.association_scope == "session" else 1

    @property
    def association_ids(self) -> range:
        """Associations 1..A: none on MAPI/HTTP, one per process, or one per session."""
        if self.transport == "mapi-http":
            return range(1, 1)
        if self.association_scope == "session":
            return self.session_ids
        return range(1, 2)
