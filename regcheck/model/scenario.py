"""Scenario: one frozen, validated configuration of the registration protocol model.

A scenario fixes the client design (threads, identities, profile flags) and the protocol variants
that the article leaves open (regcheck/model/PROTOCOL.md, "What no source decides"). It loads from TOML or a built-in name, and
accepts ``key=value`` overrides; every value is checked here so that the engines never see a bad one.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from regcheck.display import did_you_mean, is_printable, printable, shown
from regcheck.errors import InvalidArgument
from regcheck.files import read_limited

ANY = "any"
"""``workers = "any"``: the claim is about every number of workers."""

SYSTEM = "SYSTEM"
"""LocalSystem's security context: on the network it is the machine account, without mailbox access."""

CONNECT_NO_NOTIFICATIONS = 0x20
"""PR_PROFILE_CONNECT_FLAGS (0x66040003) bit that turns off MAPI notifications (article, fix B)."""

MAX_WORKERS = 16
MAX_REQUESTS = 8
MAX_USERS = 8
MAX_JOBS = 4
MAX_ACCOUNTS = 4
"""Service accounts: identities named only as keys of ``mailbox_access``."""
ANY_USER = "*"
"""A ``worker_users`` entry: each job is for any of ``users``, chosen when the job starts (a thread pool)."""
MAX_FILE_BYTES = 64 * 1024
MAX_NAME = 255
MAX_DESCRIPTION = 2000
"""Characters in a scenario's name and description: shown in tables, headings, charts and file names."""

_USER_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,31}")
"""A user or account name, matched whole (``fullmatch``: ``$`` would let a trailing newline through)."""
RESERVED_NAMES = ("none", "evicted")
"""Values the model's registration variables use for "no identity"; no user may be called so."""

CHOICES: dict[str, tuple[str, ...]] = {
    "transport": ("rpc-http", "rpc-tcp", "mapi-http"),
    "on_mismatch": ("evict", "fail-only"),
    "registration": ("first-request", "every-miss"),
    "identity_tracking": ("dynamic", "static"),
    "association_scope": ("process", "session"),
    "after_network_error": ("fail", "reconnect-same", "reconnect-new"),
    "async_failure": ("poll", "retry", "give-up"),
    "async_connect_by": ("worker", "notifier"),
    "session_reuse": ("per-job", "per-worker", "per-user"),
    "notifier": ("per-session", "per-process"),
}
"""Enumerated switches and their allowed values, the default first."""

EXPECTATIONS = ("violated", "holds", "bounded")
"""What a scenario may expect of a property: "holds" is met by a proof alone; "bounded" (for a
scenario that accepts a bound on purpose) by a proof or a bound; "violated" by a counterexample."""

class SwitchError(InvalidArgument):
    """A switch's value is refused; ``key`` names the switch, so a file's error can give its line."""

    def __init__(self, key: str, message: str, *, table: str = "") -> None:
        super().__init__(message)
        self.key = key
        self.table = table


_MEETS = {"violated": ("violated",), "holds": ("proved",), "bounded": ("proved", "bounded")}


def meets(verdict: str, expected: str | None) -> bool | None:
    """Whether ``verdict`` meets the expectation ``expected`` (None when nothing is expected)."""
    if expected is None:
        return None
    return verdict in _MEETS[expected]



@dataclass(frozen=True)
class Scenario:
    """A client design plus protocol variants; regcheck/model/SEMANTICS.md, "Switches", says what every switch means."""

    name: str = "custom"
    description: str = ""
    workers: int | str = 1  # or "any": every number of identical workers (a parameterised check)
    requests: int = 1
    users: tuple[str, ...] = ("alice",)
    worker_users: tuple[str | tuple[str, ...], ...] = ()  # per worker: a user, its jobs' users, or "*"
    jobs: int = 1  # jobs of a worker given by one user name or "*"
    impersonate: bool = True
    worker_impersonates: tuple[bool, ...] = ()  # per worker; empty: `impersonate` for every worker
    mailbox_access: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    process_identity: str = SYSTEM
    connect_flags: int = 0
    transport: str = "rpc-http"
    on_mismatch: str = "evict"
    registration: str = "first-request"
    identity_tracking: str = "dynamic"
    association_scope: str = "process"
    after_network_error: str = "fail"
    async_failure: str = "poll"
    async_connect_by: str = "worker"
    server_async: bool = True
    session_reuse: str = "per-job"
    notifier: str = "per-session"
    expected: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_text("name", self.name, MAX_NAME)
        _check_text("description", self.description, MAX_DESCRIPTION)
        if self.workers != ANY and not (
            isinstance(self.workers, int) and not isinstance(self.workers, bool) and 1 <= self.workers <= MAX_WORKERS
        ):
            raise SwitchError("workers", f'workers: expected a whole number from 1 to {MAX_WORKERS} or "any", got {shown(self.workers)}'
            )
        _check_int("requests", self.requests, 1, MAX_REQUESTS)
        _check_int("connect_flags", self.connect_flags, 0, 0xFFFFFFFF)
        if not self.users or len(self.users) > MAX_USERS:
            raise SwitchError("users", f"users: give 1 to {MAX_USERS} mailbox user names, got {len(self.users)}")
        for user in self.users:
            if user == SYSTEM or user in RESERVED_NAMES or not _USER_NAME.fullmatch(user):
                raise SwitchError("users", f"users: {shown(user)} is not a valid user name (lower-case letters, digits, '_', '.', '-'; "
                    f"not {SYSTEM}, {' or '.join(RESERVED_NAMES)})"
                )
        if len(set(self.users)) != len(self.users):
            raise SwitchError("users", f"users: names must be distinct, got {shown(list(self.users))}")
        _check_int("jobs", self.jobs, 1, MAX_JOBS)
        self._check_mailbox_access()
        self._check_workers()
        if self.process_identity not in self.identities:
            raise SwitchError("process_identity", f"process_identity: {shown(self.process_identity)} is neither {SYSTEM}, one of users "
                f"{list(self.users)}, nor a service account of mailbox_access"
            )
        for key, allowed in CHOICES.items():
            value = getattr(self, key)
            if value not in allowed:
                raise SwitchError(
                    key,
                    f"{key}: {shown(value)} is not allowed; choose one of {', '.join(allowed)}"
                    f"{did_you_mean(str(value), allowed)}",
                )
        for key in _BOOL_KEYS:
            if not isinstance(getattr(self, key), bool):
                raise SwitchError(key, f"{key}: expected true or false, got {shown(getattr(self, key))}")
        for prop, verdict in self.expected.items():
            if verdict not in EXPECTATIONS:
                raise SwitchError(prop, table="expected", message=f"expected.{prop}: {shown(verdict)} is not one of {', '.join(EXPECTATIONS)}")

    def _check_mailbox_access(self) -> None:
        if not isinstance(self.mailbox_access, Mapping):
            raise SwitchError("mailbox_access", f"mailbox_access: expected a table of identity = [users], got {shown(self.mailbox_access)}")
        accounts = [a for a in self.mailbox_access if a not in self.users and a != SYSTEM]
        if len(accounts) > MAX_ACCOUNTS:
            raise SwitchError("mailbox_access", f"mailbox_access: at most {MAX_ACCOUNTS} service accounts, got {len(accounts)}")
        for account, mailboxes in self.mailbox_access.items():
            if account != SYSTEM and (account in RESERVED_NAMES or not _USER_NAME.fullmatch(str(account))):
                raise SwitchError("mailbox_access", f"mailbox_access: {shown(account)} is not a valid account name (lower-case letters, digits, "
                    f"'_', '.', '-'; not {' or '.join(RESERVED_NAMES)})"
                )
            if not isinstance(mailboxes, tuple) or not all(isinstance(m, str) for m in mailboxes):
                raise SwitchError("mailbox_access", f"mailbox_access.{account}: expected a list of user names, got {shown(mailboxes)}")
            for mailbox in mailboxes:
                if mailbox not in self.users:
                    raise SwitchError("mailbox_access", f"mailbox_access.{account}: {shown(mailbox)} is not one of users {list(self.users)}"
                    )

    def _check_workers(self) -> None:
        """worker_users and worker_impersonates: one entry per worker, naming known users."""
        for entry in self.worker_users:
            jobs = (entry,) if isinstance(entry, str) else entry
            if not isinstance(jobs, tuple) or not 1 <= len(jobs) <= MAX_JOBS:
                raise SwitchError("worker_users", f"worker_users: a worker's jobs are a list of 1 to {MAX_JOBS} user names, got {shown(entry)}"
                )
            if len(jobs) > 1 and ANY_USER in jobs:
                raise SwitchError("worker_users", f'worker_users: "{ANY_USER}" stands alone (a worker that takes any user\'s jobs, `jobs` of them), '
                    f"not in a list of users, got {shown(entry)}"
                )
            for user in jobs:
                if user != ANY_USER and user not in self.users:
                    raise SwitchError("worker_users", f'worker_users: {shown(user)} is not one of users {list(self.users)} nor "{ANY_USER}"'
                        f"{did_you_mean(str(user), self.users)}"
                    )
        for flag in self.worker_impersonates:
            if not isinstance(flag, bool):
                raise SwitchError("worker_impersonates", f"worker_impersonates: expected true or false, got {shown(flag)}")
        if self.parameterised:
            if len(set(self.worker_users)) > 1 or (not self.worker_users and len(self.users) > 1):
                raise SwitchError("workers", "workers=any: the workers must be identical: give one user (users = [...]), "
                    f'or one worker_users entry such as "{ANY_USER}", got {shown(_plain(self.worker_users or self.users))}'
                )
            if len(set(self.worker_impersonates)) > 1:
                raise SwitchError("workers", "workers=any: the workers must be identical; worker_impersonates differ")
            return
        for key in ("worker_users", "worker_impersonates"):
            given = getattr(self, key)
            if given and len(given) != self.workers:
                raise SwitchError(key, f"{key}: give one entry per worker ({self.workers}), got {len(given)}")

    # Derived facts, named so that the model and the simulator read the same words.

    @property
    def parameterised(self) -> bool:
        """True for ``workers = "any"``: a claim about every number of identical workers."""
        return self.workers == ANY

    @property
    def worker_ids(self) -> range:
        """The workers 1..N of a concrete scenario (a parameterised one has no fixed N)."""
        if isinstance(self.workers, str):
            raise InvalidArgument('workers = "any" names no fixed workers; check it with a symbolic engine')
        return range(1, self.workers + 1)

    def with_workers(self, workers: int) -> Scenario:
        """The same design with a fixed number of workers (a parameterised scenario made concrete)."""
        users = (self.worker_users[0],) * workers if self.worker_users else ()
        flags = (self.worker_impersonates[0],) * workers if self.worker_impersonates else ()
        return dataclasses.replace(self, workers=workers, worker_users=users, worker_impersonates=flags)

    @property
    def service_accounts(self) -> tuple[str, ...]:
        """Identities that are neither SYSTEM nor users: the keys of ``mailbox_access`` that name accounts."""
        return tuple(a for a in self.mailbox_access if a != SYSTEM and a not in self.users)

    @property
    def identities(self) -> tuple[str, ...]:
        """Every security context a call can carry: SYSTEM first, then the users, then the service accounts."""
        return (SYSTEM, *self.users, *self.service_accounts)

    def has_rights(self, identity: str, user: str) -> bool:
        """Whether ``identity`` may open ``user``'s mailbox: its own, or one mailbox_access grants."""
        return identity == user or user in self.mailbox_access.get(identity, ())

    def _entry(self, worker: int) -> str | tuple[str, ...]:
        if self.worker_users:
            return self.worker_users[0] if self.parameterised else self.worker_users[worker - 1]
        return self.users[(worker - 1) % len(self.users)]

    def jobs_of(self, worker: int) -> tuple[str, ...]:
        """The users of worker ``worker``'s jobs, in order ("*": any user, chosen when the job starts)."""
        entry = self._entry(worker)
        return (entry,) * self.jobs if isinstance(entry, str) else entry

    def takes_any(self, worker: int) -> bool:
        """Whether worker ``worker`` takes its jobs from a queue ("*"): its user is chosen per job."""
        return self.jobs_of(worker)[0] == ANY_USER

    def serves(self, worker: int) -> tuple[str, ...]:
        """The users worker ``worker`` can serve, in the order of ``users``."""
        jobs = self.jobs_of(worker)
        return tuple(u for u in self.users if ANY_USER in jobs or u in jobs)

    def impersonates(self, worker: int) -> bool:
        """Whether worker ``worker`` impersonates its jobs' users (worker_impersonates, else impersonate)."""
        if self.worker_impersonates:
            return self.worker_impersonates[0 if self.parameterised else worker - 1]
        return self.impersonate

    def user_of(self, worker: int) -> str:
        """The user of worker ``worker``'s first job ("*" when it takes any)."""
        return self.jobs_of(worker)[0]

    @property
    def tracks_sessions(self) -> bool:
        """Whether sessions outlive or outnumber jobs: several jobs, "*" jobs, or per-user sessions (SEMANTICS.md)."""
        if self.session_reuse == "per-user":
            return True
        workers = range(1, 2) if self.parameterised else self.worker_ids
        return any(len(self.jobs_of(w)) > 1 or self.takes_any(w) for w in workers)

    @property
    def session_ids(self) -> range:
        """Sessions 1..S: one per user under per-user reuse, else one per worker."""
        if self.session_reuse == "per-user":
            return range(1, len(self.users) + 1)
        return self.worker_ids

    def session_of_user(self, user: str) -> int:
        """The per-user session of ``user`` (session_reuse = per-user)."""
        return self.users.index(user) + 1

    @property
    def notifications(self) -> bool:
        """True unless CONNECT_NO_NOTIFICATIONS is set in PR_PROFILE_CONNECT_FLAGS."""
        return not self.connect_flags & CONNECT_NO_NOTIFICATIONS

    @property
    def association_count(self) -> int:
        """RPC associations: one per process, or one per MAPI session (MAPI/HTTP has none)."""
        if self.transport == "mapi-http":
            return 0
        if self.association_scope == "process":
            return 1
        if self.session_reuse == "per-user":
            return len(self.users)
        if self.parameterised:
            raise InvalidArgument("workers=any has no fixed number of associations")
        return int(self.workers)

    def association_of(self, session: int) -> int:
        """The association (1-based) that session ``session`` uses."""
        return 1 if self.association_scope == "process" else session

    def switches(self) -> dict[str, Any]:
        """Every switch resolved, as plain JSON-ready values (expectations excluded)."""
        data = dataclasses.asdict(self)
        data.pop("expected")
        data["users"] = list(self.users)
        workers = range(1, 2) if self.parameterised else self.worker_ids
        data["worker_users"] = [_plain(self._entry(w)) for w in workers]
        data["worker_impersonates"] = [self.impersonates(w) for w in workers]
        data["mailbox_access"] = {k: list(v) for k, v in self.mailbox_access.items()}
        return data


def _plain(value: object) -> object:
    """A worker_users entry (or a tuple of them) as JSON-ready lists."""
    return [_plain(v) for v in value] if isinstance(value, tuple) else value


def _check_text(key: str, value: object, limit: int) -> None:
    """A name or description: a string of at most ``limit`` characters, without control characters (an ESC
    would drive the terminal it is printed on and break the SVG chart it titles; a name is one line)."""
    if not isinstance(value, str) or len(value) > limit:
        raise SwitchError(key, f"{key}: expected a text of at most {limit} characters, got {shown(value)}")
    if not is_printable(value) or (key == "name" and not value.isprintable()):
        raise SwitchError(key, f"{key}: {shown(value)} holds control characters")


def _check_int(key: str, value: object, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise SwitchError(key, f"{key}: expected a whole number from {low} to {high}, got {shown(value)}")


_FIELDS = {f.name: f for f in dataclasses.fields(Scenario)}
SETTABLE = tuple(sorted(k for k in _FIELDS if k not in ("name", "description", "expected")))
"""The switches ``--set`` may change: every field but the name, the description and the expectations."""
_BOOL_KEYS = ("impersonate", "server_async")
_INT_KEYS = ("workers", "requests", "connect_flags", "jobs")
_WHOLE_NUMBER = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0|[1-9][0-9]*)", re.ASCII)
"""A whole number as ``--set`` writes it: ASCII digits only (``int`` would also read other scripts' digits)."""


def _coerce(key: str, value: object) -> object:
    """Check the type of one switch value: each has its own type (TOML, JSON, or ``--set`` text once
    :func:`_from_text` has read it)."""
    if key in ("users", "worker_impersonates") and isinstance(value, list):
        value = tuple(value)
    if key == "users":
        if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
            raise SwitchError(key, f"{key}: expected a list of user names, got {shown(value)}")
        return value
    if key == "worker_users":
        if not isinstance(value, (list, tuple)) or not all(
            isinstance(v, str) or (isinstance(v, (list, tuple)) and all(isinstance(j, str) for j in v)) for v in value
        ):
            raise SwitchError(
                key,
                f'{key}: expected one entry per worker: a user name, a list of user names, or "{ANY_USER}"; '
                f"got {shown(value)}",
            )
        return tuple(v if isinstance(v, str) else tuple(v) for v in value)
    if key == "worker_impersonates":
        if not isinstance(value, tuple) or not all(isinstance(v, bool) for v in value):
            raise SwitchError(key, f"{key}: expected a list of true or false, one per worker, got {shown(value)}")
        return value
    if key == "mailbox_access":
        if not isinstance(value, dict) or not all(
            isinstance(v, (list, tuple)) and all(isinstance(m, str) for m in v) for v in value.values()
        ):
            raise SwitchError(key, f"{key}: expected a table of identity = [user names], got {shown(value)}")
        return {k: tuple(v) for k, v in value.items()}
    if key in _BOOL_KEYS:
        if not isinstance(value, bool):
            raise SwitchError(key, f"{key}: expected true or false, got {shown(value)}")
        return value
    if key == "workers" and value == ANY:
        return ANY
    if key in _INT_KEYS:
        if not isinstance(value, int) or isinstance(value, bool):
            extra = ' or "any"' if key == "workers" else ""
            raise SwitchError(key, f"{key}: expected a whole number{extra}, got {shown(value)}")
        return value
    if key == "expected":
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise SwitchError(
                key, f'expected: give a table of property = "violated" | "holds" | "bounded", got {shown(value)}'
            )
        return dict(value)
    if not isinstance(value, str):
        raise SwitchError(key, f"{key}: expected a string, got {shown(value)}")
    return value


def _from_text(key: str, value: str) -> object:
    """A ``--set`` value in the type its switch has: lists split at ``,`` (a worker's jobs joined by ``+``),
    ``true``/``false``, whole numbers in ASCII digits (decimal, ``0x``, ``0o``, ``0b``), ``any`` workers."""
    parts = [v.strip() for v in value.split(",") if v.strip()]
    if key == "users":
        return tuple(parts)
    if key == "worker_users":  # --set worker_users=alice+bob,*
        return tuple(tuple(j.strip() for j in v.split("+")) if "+" in v else v for v in parts)
    if key == "worker_impersonates":
        return tuple(w.lower() == "true" if w.lower() in ("true", "false") else w for w in parts)
    if key == "mailbox_access":  # --set mailbox_access=svc:alice+bob,ops:carol
        table: dict[str, tuple[str, ...]] = {}
        for part in parts:
            account, sep, mailboxes = part.partition(":")
            account = account.strip()
            if not sep:
                raise SwitchError(key, f"{key}: expected ACCOUNT:USER+USER,..., got {shown(part)}")
            if account in table:
                raise SwitchError(
                    key, f"{key}: account {shown(account)} is given twice; join its users with '+' "
                    f"({account}:{'+'.join([*table[account], mailboxes.strip()])})"
                )
            table[account] = tuple(m.strip() for m in mailboxes.split("+") if m.strip())
        return table
    if key in _BOOL_KEYS and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if key == "workers" and value.lower() == ANY:
        return ANY
    if key in _INT_KEYS:
        try:
            if _WHOLE_NUMBER.fullmatch(value):
                return int(value, 0)
        except ValueError:  # more digits than Python converts
            pass
        raise SwitchError(key, f"{key}: expected a whole number in ASCII digits (e.g. 2 or 0x20), got {shown(value)}")
    return value


def as_text(key: str, value: object) -> str:
    """A switch's JSON value (``Scenario.switches``) in the form ``--set KEY=VALUE`` accepts."""
    if key == "mailbox_access" and isinstance(value, dict):
        return ",".join(f"{account}:{'+'.join(users)}" for account, users in value.items())
    if isinstance(value, list):
        return ",".join("+".join(v) if isinstance(v, list) else as_text(key, v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def from_mapping(data: Mapping[str, object], *, origin: str = "scenario", source: str = "") -> Scenario:
    """Build a scenario from parsed TOML or JSON, each value of its switch's own type; an error names
    ``origin`` and, where ``source`` (the TOML text) is given, the line of the switch at fault."""
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise InvalidArgument(
            f"{_at(origin, source, unknown[0])}: unknown switch {shown(unknown[0])}; "
            f"known switches: {', '.join(sorted(_FIELDS))}{did_you_mean(unknown[0], _FIELDS)}"
        )
    try:
        fields: dict[str, Any] = {key: _coerce(key, value) for key, value in data.items()}
        return Scenario(**fields)
    except SwitchError as exc:
        raise InvalidArgument(f"{_at(origin, source, exc.key, exc.table)}: {exc}") from None


def _at(origin: str, source: str, key: str, table: str = "") -> str:
    """``origin``, and the line of ``source`` where ``key`` is given, when it can be found."""
    line = key_line(source, key, table) if source else 0
    return f"{origin}, line {line}" if line else origin


def overrides(assignments: list[str]) -> dict[str, Any]:
    """``--set KEY=VALUE`` assignments as switch values of their types; each switch at most once."""
    changes: dict[str, Any] = {}
    for text in assignments:
        key, sep, value = text.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise InvalidArgument(f"--set {shown(text)}: expected KEY=VALUE, e.g. --set workers=2")
        if key not in SETTABLE:
            raise InvalidArgument(
                f"--set: unknown switch {shown(key)}; known switches: {', '.join(SETTABLE)}{did_you_mean(key, SETTABLE)}"
            )
        if key in changes:
            raise InvalidArgument(f"--set {key} is given twice; give each switch once")
        changes[key] = _coerce(key, _from_text(key, value.strip()))
    return changes


def with_overrides(scenario: Scenario, assignments: list[str]) -> Scenario:
    """``scenario`` with ``--set`` overrides, each of which must change the design as it says: an override
    that a more specific switch would shadow, or that would reshape a per-worker list, is refused
    (SEMANTICS.md, "Switches"). Overriding clears the expectations, which describe the unchanged design."""
    changes = overrides(assignments)
    if not changes:
        return scenario
    _refuse_shadowed(scenario, changes)
    changes.update(_lists_for_workers(scenario, changes))
    return dataclasses.replace(scenario, expected={}, **changes)


NAMING = ("users", "worker_users", "mailbox_access", "process_identity")
"""The switches that name users and service accounts: what :func:`renamed` renames, and nothing else does."""


def renamed(scenario: Scenario, names: Mapping[str, str]) -> Scenario:
    """``scenario`` with each user or service account ``x`` of ``names`` called ``names[x]`` in every switch that
    names it (:data:`NAMING`); SYSTEM and ``*`` are never renamed. The renaming must be one to one on the
    scenario's identities: the same design, told apart by its names alone."""
    def new(identity: str) -> str:
        return identity if identity in (SYSTEM, ANY_USER) else names.get(identity, identity)

    identities = [new(identity) for identity in scenario.identities]
    if len(set(identities)) != len(identities):
        raise InvalidArgument(f"renaming {shown(dict(names))} is not one to one on the identities "
                              f"{shown(list(scenario.identities))}")
    return dataclasses.replace(
        scenario,
        users=tuple(map(new, scenario.users)),
        worker_users=tuple(new(e) if isinstance(e, str) else tuple(map(new, e)) for e in scenario.worker_users),
        mailbox_access={new(account): tuple(map(new, users)) for account, users in scenario.mailbox_access.items()},
        process_identity=new(scenario.process_identity),
    )


def _refuse_shadowed(scenario: Scenario, changes: Mapping[str, Any]) -> None:
    """Refuse an override that a per-worker list, given in the scenario or beside it, would contradict: the
    list decides for each worker, so the override would not take effect for some of them."""
    def merged(key: str) -> Any:
        return changes.get(key, getattr(scenario, key))

    flags = merged("worker_impersonates")
    if "impersonate" in changes and any(flag != changes["impersonate"] for flag in flags):
        wanted = str(changes["impersonate"]).lower()
        raise InvalidArgument(
            f"--set impersonate={wanted} has no effect: worker_impersonates = {_listed(flags)} decides for each "
            f"worker; say --set worker_impersonates={','.join([wanted] * len(flags))}"
        )
    if "jobs" in changes:
        for worker, entry in enumerate(merged("worker_users"), start=1):
            if isinstance(entry, tuple) and len(entry) != changes["jobs"]:
                raise InvalidArgument(
                    f"--set jobs={changes['jobs']} has no effect on worker {worker}: worker_users lists its "
                    f"{len(entry)} jobs ({'+'.join(entry)}); change that list with --set worker_users=..."
                )


def _lists_for_workers(scenario: Scenario, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The per-worker lists for an overridden number of workers: kept at the same count, repeated where every
    worker is alike, and refused where they give workers different entries (no list is dropped or cut)."""
    workers = changes.get("workers")
    if workers is None or not (workers == ANY or (isinstance(workers, int) and 1 <= workers <= MAX_WORKERS)):
        return {}  # no new count, or one that Scenario refuses with its own message
    followed: dict[str, Any] = {}
    for key in ("worker_users", "worker_impersonates"):
        given = getattr(scenario, key)
        if key in changes or not given or (workers != ANY and len(given) == workers):
            continue
        if len(set(given)) > 1 and workers == ANY:
            raise InvalidArgument(
                f"--set workers=any needs identical workers, but {key} = {_listed(given)} gives them different entries"
            )
        if len(set(given)) > 1:
            raise InvalidArgument(
                f"--set workers={workers} would reshape {key} = {_listed(given)}, which gives the workers different "
                f"entries; give one entry per worker too, e.g. --set {key}={as_text(key, _plain(given))}"
            )
        followed[key] = (given[0],) * (1 if workers == ANY else workers)
    return followed


def _listed(values: tuple[object, ...]) -> str:
    """A per-worker list as the TOML of a scenario writes it."""
    return "[" + ", ".join(str(v).lower() if isinstance(v, bool) else repr(_plain(v)) for v in values) + "]"


def builtin_names() -> list[str]:
    """Names of the built-in scenarios, in a stable order."""
    folder = resources.files("regcheck.model") / "scenarios"
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def builtin_path(name: str) -> Path:
    """The TOML file of a built-in scenario, where the installed package keeps it."""
    if name not in builtin_names():
        raise InvalidArgument(
            f"unknown scenario {shown(name)}; built-in scenarios: {', '.join(builtin_names())}"
            f"{did_you_mean(name, builtin_names())}"
        )
    return Path(str(resources.files("regcheck.model") / "scenarios" / f"{name}.toml"))


_TABLE = re.compile(r"\s*\[\s*([A-Za-z0-9_-]+|\"[^\"]*\")\s*\]\s*(?:#.*)?")
_KEY = re.compile(r"\s*([A-Za-z0-9_-]+|\"[^\"]*\")\s*[=.]")


def key_line(text: str, key: str, table: str = "") -> int:
    """The 1-based line of scenario TOML ``text`` where ``key`` is given (in ``table``, or at the top
    level; a key that is a table, such as ``[mailbox_access]``, at its header); 0 where it is not."""
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if header := _TABLE.fullmatch(line):
            current = header.group(1).strip('"')
            if not table and current == key:
                return number
            continue
        if (found := _KEY.match(line)) and current == table and found.group(1).strip('"') == key:
            return number
    return 0


def load_builtin(name: str) -> Scenario:
    """A built-in scenario by name."""
    text = builtin_path(name).read_text(encoding="utf-8")
    return parse(text, origin=f"built-in scenario {name}", default_name=name)


def read_source(path: Path) -> str:
    """The text of the scenario file at ``path``: a regular file of UTF-8, at most MAX_FILE_BYTES."""
    what = f"scenario file {shown(str(path))}"
    try:
        return read_limited(path, MAX_FILE_BYTES, what=what).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgument(f"{what} is not UTF-8 text") from None


def load_file(path: str | Path) -> Scenario:
    """A scenario from a TOML file, parsed strictly and with a size bound."""
    path = Path(path)
    return parse(read_source(path), origin=f"scenario file {shown(str(path))}", default_name=path.stem)


def names_a_file(name_or_path: str) -> bool:
    """Whether a scenario argument names a file (a ``.toml`` name, or a path with a folder such as ``./seed``)
    rather than a built-in scenario; a bare name is always a built-in's, whatever files the folder holds."""
    return name_or_path.endswith(".toml") or "/" in name_or_path or os.sep in name_or_path


def load(name_or_path: str) -> Scenario:
    """A built-in scenario by its bare name, or the scenario file a path names."""
    if not name_or_path:
        raise InvalidArgument(
            f"empty scenario name; give a built-in scenario ({', '.join(builtin_names())}) or a .toml file"
        )
    if names_a_file(name_or_path):
        return load_file(name_or_path)
    if name_or_path not in builtin_names() and Path(name_or_path).exists():
        raise InvalidArgument(
            f"{shown(name_or_path)} is not a built-in scenario; to check the file of that name, "
            f"say ./{printable(name_or_path)}"
        )
    return load_builtin(name_or_path)


def parse(text: str, *, origin: str, default_name: str) -> Scenario:
    """Parse TOML text (a leading byte-order mark allowed) into a scenario; whatever the parser chokes on is
    bad input, never a traceback, and a bad switch is named with its line."""
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidArgument(f"{origin} is not valid TOML: {exc}") from None
    except RecursionError:
        raise InvalidArgument(f"{origin} is not a scenario: TOML nested too deeply") from None
    except ValueError:  # a decimal integer past Python's limit on digits
        raise InvalidArgument(
            f"{origin} is not a scenario: a number of more than {sys.get_int_max_str_digits()} digits"
        ) from None
    marker = data.pop("regcheck", {})  # [regcheck] marks a scenario file for regcheck's pytest plugin
    if not isinstance(marker, dict) or marker:
        raise InvalidArgument(
            f"{_at(origin, text, 'regcheck')}: [regcheck] marks a scenario file and holds nothing; got {shown(marker)}"
        )
    data.setdefault("name", default_name)
    return from_mapping(data, origin=origin, source=text)
