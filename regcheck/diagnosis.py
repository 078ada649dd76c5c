"""``regcheck diagnose``: which settings of the model's uncertain switches explain an observed log.

For every setting of the varied switches (by default each modelled protocol variant the log does
not fix), the explicit search of ``regcheck.core.subsequence`` asks whether the log is a behaviour of
the scenario with that setting (regcheck/model/SEMANTICS.md, "Observations"). The settings that explain it
are grouped into the fewest descriptions ("on_mismatch=evict and registration=first-request");
those that do not are grouped by the first event they cannot reach, with what the model does there
instead. For each group that explains the log: the completed execution (replayed on the reference
simulator), the properties it violates, and whether each fix rules the observed failure out,
checked by ``regcheck check`` on the fixed scenario.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, as_completed, wait
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from regcheck import children, compose, fixchecks, sweep
from regcheck.core.compile import CompiledSystem, Packed, compile_system
from regcheck.core.expr import Const, Expr, Value, eq, evaluate, ite, var
from regcheck.core.hiding import hidden
from regcheck.core.named_blocks import NamedBlocks, named_blocks
from regcheck.core.projection import Lookahead, Refutation, Units, refute
from regcheck.core.reachable import longest_unnamed
from regcheck.core.result import Step, Trace
from regcheck.core.subsequence import (
    Bindings,
    Complete,
    Found,
    Observed,
    Order,
    Renewal,
    binds,
    first_impossible,
    search,
)
from regcheck.core.symmetry import block_canonical
from regcheck.core.system import Action, Kind, TransitionSystem
from regcheck.deadline import REASON
from regcheck.display import did_you_mean, shown
from regcheck.errors import InvalidArgument
from regcheck.fixchecks import FixCheck
from regcheck.formats import itf
from regcheck.limits import cores
from regcheck.model import completeness, system, variants
from regcheck.model.logs.merge import order_of
from regcheck.model.observations import MAPI_HTTP, OK, RPC_ONLY, SUCCEEDED, Event, name_warnings
from regcheck.model.observed import check as check_match
from regcheck.model.replay import replay
from regcheck.model.scenario import (
    ANY_USER,
    CHOICES,
    CONNECT_NO_NOTIFICATIONS,
    MAX_JOBS,
    MAX_REQUESTS,
    MAX_USERS,
    MAX_WORKERS,
    RESERVED_NAMES,
    SYSTEM,
    Scenario,
    with_overrides,
)
from regcheck.model.system import build
from regcheck.properties import catalogue

_T = TypeVar("_T")

MAX_SETTINGS = 4_096
"""At most this many settings are searched (the product of the varied switches' values)."""
MAX_NODES = 400_000
"""Pairs (state, events matched) one setting's search may visit before it gives up (unknown)."""
_BOOLEAN = ("true", "false")
_FLAGS = re.compile(r"[0-9]{1,10}|0[xX][0-9A-Fa-f]{1,8}")
"""A value of ``--vary connect_flags``: ASCII digits, decimal or hexadecimal, of a size a flag word can have."""
ONE_TO_ONE = frozenset({"thread", "context", "association"})
"""Labels whose names a log binds one to one: a log's thread is one model thread, an identity one identity, a GUID
one association (while it names it: the step that replaces an association frees its number, ``Renewal``)."""

ACTIONS_OF = {
    "ImpersonateLoggedOnUser": ("Impersonate",),
    "RevertToSelf": ("RevertToSelf",),
    "EcDoConnectEx": ("EcDoConnectEx",), "Connect": ("EcDoConnectEx",),
    "EcDoRpcExt2": ("EcDoRpcExt2", "FetchNotifications", "Poll"),
    "Execute": ("EcDoRpcExt2", "FetchNotifications", "Poll"),
    "EcDoAsyncConnectEx": ("EcDoAsyncConnectEx",),
    "EcDoAsyncWaitEx": ("EcDoAsyncWaitEx",), "NotificationWait": ("EcDoAsyncWaitEx",),
    "EcDoDisconnect": ("EcDoDisconnect",), "Disconnect": ("EcDoDisconnect",),
}
"""The model's actions a logged client call may be (the notifier fetches and polls with EcDoRpcExt2)."""
MISMATCH = frozenset({"mismatch", "mismatch-evicted"})


@dataclass(frozen=True)
class Setting:
    """One combination of the varied switches' values, and the scenario they make of the base."""

    values: tuple[tuple[str, str], ...]
    scenario: Scenario

    def words(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.values) or "the scenario as given"


@dataclass(frozen=True)
class Outcome:
    """What one setting's search found: the execution that explains the log, or the first event it cannot reach."""

    setting: Setting
    found: Found | None  # None: the setting is not a valid scenario (``reason`` says why)
    trace: Trace | None = None
    reason: str = ""
    unreached: int = 0  # ruled out: an event (1-based) no execution of the setting reaches in order
    first: bool = True  # ... and it is the first such event (every one before it is explained)
    prefix_unsearched: bool = False  # ruled out at an event no action can be, the events before it not searched yet

    @property
    def explains(self) -> bool:
        return self.trace is not None


@dataclass(frozen=True)
class Group:
    """Settings described by one conjunction of switch values (a value list means any of them)."""

    description: tuple[tuple[str, tuple[str, ...]], ...]
    outcomes: tuple[Outcome, ...]
    violated: tuple[tuple[str, int], ...] = ()  # (property, step at which it first fails), for explanations
    fixes: tuple[FixCheck, ...] = ()

    def words(self) -> str:
        parts = [f"{k}={v[0]}" if len(v) == 1 else f"{k} in {{{', '.join(v)}}}" for k, v in self.description]
        return " and ".join(parts) or "every setting"


@dataclass(frozen=True)
class Diagnosis:
    events: tuple[Event, ...]
    base: Scenario
    facts: tuple[str, ...]  # the design facts taken from the log, as --set assignments
    varied: tuple[tuple[str, tuple[str, ...]], ...]
    explained: tuple[Group, ...]
    ruled_out: tuple[tuple[int, str, Group], ...]  # (first event not reached, 1-based; why; settings)
    unknown: tuple[Outcome, ...]
    invalid: tuple[Outcome, ...]
    seconds: float
    longest: int = 0  # events that some setting explains in order, when none explains them all (see ``exact``)
    warnings: tuple[str, ...] = ()  # names in the log that look like other names (observations.name_warnings)
    exact: bool = True  # ``longest`` is the longest prefix some setting explains; else no setting reaches event longest + 1
    implied: tuple[str, ...] = ()  # the design the log implies, a line per log thread

    @property
    def violated(self) -> bool:
        return any(g.violated for g in self.explained)

    @property
    def searched(self) -> int:
        """Settings searched: the product of the varied switches' values."""
        return math.prod(len(values) for _, values in self.varied)

    @property
    def explaining(self) -> int:
        """Settings that explain the log (the groups may overlap, so they are not summed)."""
        return len({o.setting.values for g in self.explained for o in g.outcomes})


WAITS = ("EcDoAsyncWaitEx", "NotificationWait")
NOTIFICATION_CALLS = frozenset({"EcDoAsyncConnectEx", *WAITS})
"""Calls made only where notifications are on (no CONNECT_NO_NOTIFICATIONS in PR_PROFILE_CONNECT_FLAGS)."""
RPCS = ("EcDoRpcExt2", "Execute")
WORKER_ONLY = frozenset({"ImpersonateLoggedOnUser", "RevertToSelf", "EcDoConnectEx", "Connect", "EcDoDisconnect",
                         "Disconnect"})
"""Calls only a worker thread makes: a thread that logs none of them and no wait may be a notifier that polls."""
TOKEN_CALLS = frozenset({"ImpersonateLoggedOnUser", "RevertToSelf"})
"""Thread-token calls: they reach no server, so a log's association on them means nothing (SEMANTICS.md)."""


@dataclass(frozen=True)
class Facts:
    """What the log says of the design (regcheck/model/SEMANTICS.md, "Observations"), as ``--set`` overrides, and
    the bound of the model it needs more than ("": none), which leaves every setting not decided."""

    overrides: tuple[str, ...]
    beyond: str = ""
    flags: tuple[bool, ...] = ()  # per worker: impersonates (the base's where the log does not tell)
    open: tuple[int, ...] = ()  # the workers (0-based) whose impersonation the log does not tell
    base_flags: tuple[bool, ...] = ()
    others: tuple[Facts, ...] = ()  # the family's other designs: other base workers left unnamed
    threads: tuple[str, ...] = ()  # the design the log implies, a line per log thread (``_implied``)
    cut_by: str = ""  # a bound of the family that cut the search beyond ``OPEN_WORKERS`` ("": none)

    def members(self) -> list[tuple[str, ...]]:
        """The family's designs as overrides: each way of impersonating or not for the workers whose
        impersonation the log does not tell (the first ``OPEN_WORKERS`` of them; the rest as the base), and
        the same for each other choice of the base's workers that no line names."""
        designs = []
        for choice in itertools.product((True, False), repeat=min(len(self.open), OPEN_WORKERS)):
            flags = list(self.flags)
            for w, flag in zip(self.open, choice, strict=False):
                flags[w] = flag
            listed = (f"worker_impersonates={','.join(str(f).lower() for f in flags)}",)
            designs.append(self.overrides + (listed if tuple(flags) != self.base_flags else ()))
        return list(dict.fromkeys([*designs, *(d for other in self.others for d in other.members())]))

    def shown(self) -> tuple[str, ...]:
        """The facts as the diagnosis prints them: the overrides, and each worker's impersonation (``either``
        where the log does not tell, so both are searched)."""
        words = ["either" if w in self.open else str(f).lower() for w, f in enumerate(self.flags)]
        shown = self.overrides
        if tuple(self.flags) != self.base_flags or self.open:
            shown = (*shown, "worker_impersonates=" + ",".join(words))
        if self.others:
            shown = (*shown, f"or {len(self.others)} other choice(s) of the scenario's workers no line names")
        return shown

    @property
    def cut(self) -> str:
        """The bound of the family that cut the search ("": none)."""
        own = (f"design family: {len(self.open)} workers whose impersonation the log does not tell; both ways "
               f"are searched for {OPEN_WORKERS} of them") if len(self.open) > OPEN_WORKERS else ""
        return self.cut_by or own or next((other.cut for other in self.others if other.cut), "")


OPEN_WORKERS = 3
"""Workers whose impersonation the log does not tell, searched both ways (2**3 designs per setting at most)."""


def _short(identity: str) -> str:
    """``CONTOSO\\alice`` or ``alice@contoso.com`` as the model would name the user: ``alice``."""
    return identity.rsplit("\\", 1)[-1].split("@", 1)[0].lower()


_USER = re.compile(r"^[a-z][a-z0-9_.-]{0,31}$")
"""A user name the model accepts (model.scenario checks it again)."""


def model_names(events: Sequence[Event], base: Scenario) -> dict[str, str]:
    """Each identity the log names, as a model identity: SYSTEM is SYSTEM; a name is the model identity of
    its short form (``CONTOSO\\bob`` is ``bob``), a new user where the base has none of that name (no base
    user is taken for another name: mailbox rights tell users apart); a short form that is no valid user
    name is a new ``userN``."""
    known = {*base.users, *base.service_accounts, base.process_identity} - {SYSTEM}
    names = list(dict.fromkeys(e.identity for e in events if e.identity is not None and e.identity != SYSTEM))
    taken = {*known, *(_short(n) for n in names)}
    fresh = (f"user{k}" for k in itertools.count(2) if f"user{k}" not in taken)
    mapping = {SYSTEM: SYSTEM}
    for name in names:
        short = _short(name)
        valid = short in known or (_USER.match(short) is not None and short not in RESERVED_NAMES)
        mapping[name] = short if valid else next(fresh)
    return mapping


def _jobs(evs: Sequence[Event]) -> list[list[Event]]:
    """A worker thread's events cut into jobs: a job ends with RevertToSelf, or with EcDoDisconnect and the
    RevertToSelf after it if logged (only per-job sessions log off, between jobs); ImpersonateLoggedOnUser
    after any line starts a new one."""
    jobs: list[list[Event]] = [[]]
    closed = False  # the job logged off: only its RevertToSelf may follow in it
    for e in evs:
        if (e.call == "ImpersonateLoggedOnUser" and jobs[-1]) or (closed and e.call != "RevertToSelf"):
            jobs.append([])
        jobs[-1].append(e)
        closed = e.call in ("EcDoDisconnect", "Disconnect")
        if e.call == "RevertToSelf":
            jobs.append([])
    return [job for job in jobs if job] or [[]]


def design_facts(events: Sequence[Event], base: Scenario) -> Facts:
    """The log's per-thread facts as overrides of ``base`` (regcheck/model/SEMANTICS.md, "Observations"): one worker
    per thread that logs a client call and no wait; whether it impersonates, its jobs and their users in
    order (a call's identity is its thread's only under dynamic tracking or MAPI/HTTP; a named list
    shorter than the jobs becomes any user's); the requests one job's EcDoRpcExt2 calls need (each is sent with fewer successes before it than
    ``requests``); a user for every identity named."""
    by_thread: dict[str, list[Event]] = {}
    for e in events:
        if e.thread is not None and not e.server:
            by_thread.setdefault(e.thread, []).append(e)
    threads = [t for t, evs in by_thread.items() if not any(e.call in WAITS for e in evs)]
    named = [t for t in threads if any(e.call in WORKER_ONLY for e in by_thread[t])]
    polling = [t for t in threads if t not in named]  # a worker, or a notifier that polls: given a worker of its own
    names = model_names(events, base)
    notified = any(e.call in NOTIFICATION_CALLS for e in events)
    process = base.process_identity
    carries_thread = base.identity_tracking == "dynamic" or base.transport == "mapi-http"  # else bound[a]
    current = 1 if base.parameterised else int(base.workers)
    workers = max(current, len(named)) + len(polling)
    if workers > MAX_WORKERS:
        return Facts((), f"workers: the log needs {workers} workers (its threads, and the scenario's {current}); "
                         f"the model has at most {MAX_WORKERS}")
    users = [*base.users, *dict.fromkeys(n for n in names.values() if n != SYSTEM and n not in
                                        {*base.users, *base.service_accounts, process})]
    if len(users) > MAX_USERS:
        return Facts((), f"users: the log names {len(users)} users; the model has at most {MAX_USERS}")
    derived: dict[str, tuple[tuple[str, ...] | None, bool]] = {}  # per thread: its jobs' users (None: any), impersonates
    requests, jobs = base.requests, max(len(base.jobs_of(w)) for w in range(1, current + 1))
    silent: set[str] = set()  # threads whose impersonation the log does not tell
    for number, thread in enumerate(threads, start=1):
        evs = by_thread[thread]
        tokens = [e for e in evs if e.call in TOKEN_CALLS and e.identity is not None]
        calls = [e for e in evs if e.identity is not None and e.call not in TOKEN_CALLS and carries_thread]
        if any(e.call == "ImpersonateLoggedOnUser" for e in evs) or any(
                names[e.identity] != process for e in tokens + calls if e.identity is not None):
            flag = True
        elif (tokens or calls) and process not in users:  # as the process identity: it does not impersonate
            flag = False
        else:
            flag = base.impersonates(min(number, current))
            silent.add(thread)
        served: list[str | None] = []
        for job in _jobs(evs):
            said = [names[e.identity] for e in job if e.identity is not None and names[e.identity] != process
                    and (e.call in TOKEN_CALLS or carries_thread)]
            distinct = list(dict.fromkeys(said))
            if flag and len(distinct) == 1:
                served.append(distinct[0])
            else:  # nobody named, or several (the lines between jobs are missing): any user, a job each
                served += [None] * max(1, len(distinct))
            rpcs = [e for e in job if e.call in RPCS]  # each needs done < requests: the successes before it, + 1
            ok = max((sum(1 for x in rpcs[:i] if x.result in (None, OK)) + 1 for i in range(len(rpcs))), default=0)
            if thread in polling and base.notifications:
                continue  # a notifier's fetches and polls need no requests
            if ok > MAX_REQUESTS:
                return Facts((), f"requests: thread {shown(thread)} needs {ok} EcDoRpcExt2 requests in one "
                                 f"job; the model has at most {MAX_REQUESTS}")
            requests = max(requests, ok)
        if any(e.call in ("EcDoDisconnect", "Disconnect") for e in _jobs(evs)[-1]):
            served.append(None)  # a session is logged off only between jobs: another job follows
        derived[thread] = (None if None in served else tuple(u for u in served if u is not None), flag)
        jobs = max(jobs, len(served))
    implied = _implied(by_thread, named, polling, derived, silent, max(current - len(named), 0))
    # Users the log names whom no thread of it serves (lines naming no thread, a server's): some worker must serve them.
    served_by_threads = {u for t in threads for u in (derived[t][0] or ())}
    orphans = {n for n in names.values() if n not in {SYSTEM, process, *base.service_accounts, *served_by_threads}}

    def assemble(kept: Sequence[int]) -> Facts:
        """The facts when the base's workers ``kept`` are the ones no line names."""
        entries = [derived[t][0] for t in named]
        flags = [derived[t][1] for t in named]
        opened = [i for i, t in enumerate(named) if t in silent]
        unserved = orphans - {u for w in kept for u in base.jobs_of(w)}
        for w in kept:  # the base's workers no line names keep their entries, or serve any user where one is unserved
            given = base.jobs_of(w)
            entries.append(None if given[0] == ANY_USER or unserved else given)
            opened.append(len(flags))
            flags.append(base.impersonates(w))
        opened += [len(flags) + i for i, t in enumerate(polling) if t in silent]
        entries += [derived[t][0] for t in polling]
        flags += [derived[t][1] for t in polling]
        count = max([jobs, *(len(e) for e in entries if e is not None)])
        if count > MAX_JOBS:
            return Facts((), f"jobs: a thread logs {count} jobs; the model has at most {MAX_JOBS}")
        entries = [None if e is not None and len(e) < count else e for e in entries]  # a job unnamed: any user
        served = list(users)  # each alternative's own: one unnamed user at most, whichever workers are kept
        if None in entries and len(served) < MAX_USERS:  # a job the log names no user for may serve one it never names
            served.append(next(f"user{k}" for k in itertools.count(2) if f"user{k}" not in {*served, *base.service_accounts}))
        texts = []
        for entry in entries:
            if entry is None:
                texts.append(ANY_USER)
            elif len(set(entry)) == 1:
                texts.append(entry[0])
            else:
                texts.append("+".join(entry))
        facts = []
        if base.parameterised or workers != current:
            facts.append(f"workers={workers}")
        if len(served) != len(base.users):
            facts.append("users=" + ",".join(served))
        if count != base.jobs:
            facts.append(f"jobs={count}")
        resolved = [ANY_USER if base.takes_any(min(w, current)) else "+".join(base.jobs_of(min(w, current)))
                    if len(set(base.jobs_of(min(w, current)))) > 1 else base.jobs_of(min(w, current))[0]
                    for w in range(1, workers + 1)]
        if texts != resolved or base.parameterised or workers != current or count != base.jobs:
            facts.append("worker_users=" + ",".join(texts))
        if requests != base.requests:
            facts.append(f"requests={requests}")
        if notified and not base.notifications:  # a notification call was made: CONNECT_NO_NOTIFICATIONS is not set
            facts.append(f"connect_flags={base.connect_flags & ~CONNECT_NO_NOTIFICATIONS:#x}")
        unchanged = not base.parameterised and workers == current
        base_flags = tuple(base.impersonates(w) for w in range(1, workers + 1)) if unchanged else ()
        return Facts(tuple(facts), "", tuple(flags), tuple(opened), base_flags)

    if current <= len(named):
        return replace(assemble(()), threads=implied)
    # Which of the base's workers the log's threads stand for is not told: each choice that leaves different
    # workers unnamed is a design of the family (the first is the base's last workers).
    choices: dict[tuple[tuple[str, ...], ...], tuple[int, ...]] = {}
    for kept in sorted(itertools.combinations(range(1, current + 1), current - len(named)), key=lambda k: k[::-1],
                       reverse=True):
        shape = tuple(sorted((*base.jobs_of(w), str(base.impersonates(w))) for w in kept))
        choices.setdefault(shape, kept)
    alternatives = [assemble(kept) for kept in choices.values()]
    first, others = alternatives[0], tuple(alternatives[1:KEPT_CHOICES])
    cut = (f"design family: {len(alternatives)} ways to choose which of the scenario's {current} workers no line "
           f"names; {KEPT_CHOICES} are searched") if len(alternatives) > KEPT_CHOICES else ""
    return replace(first, others=others, cut_by=cut, threads=implied)


def _implied(by_thread: Mapping[str, Sequence[Event]], named: Sequence[str], polling: Sequence[str],
             derived: Mapping[str, tuple[tuple[str, ...] | None, bool]], silent: set[str], unnamed: int) -> tuple[str, ...]:
    """The design the log implies, a line per log thread: its role, whom it serves, whether it impersonates."""
    def serves(thread: str) -> str:
        users, flag = derived[thread]
        whom = "any user" if users is None else " then ".join(users)
        how = "impersonation not told" if thread in silent else "impersonates" if flag else "runs as the process"
        return f"serves {whom}, {how}"

    lines = [f"thread {shown(t)}: worker {n}, {serves(t)}" for n, t in enumerate(named, start=1)]
    lines += [f"thread {shown(t)}: worker {len(named) + unnamed + n} (or a notifier that polls), {serves(t)}"
              for n, t in enumerate(polling, start=1)]
    lines += [f"thread {shown(t)}: a notification thread" for t in by_thread if t not in (*named, *polling)]
    if unnamed:
        lines.append(f"{unnamed} more of the scenario's workers, named by no line")
    return tuple(lines)


KEPT_CHOICES = 6
"""Ways of choosing which of the base's workers no line names that are searched (each a design of the family)."""


def default_vary(events: Sequence[Event]) -> list[tuple[str, tuple[str, ...]]]:
    """Every modelled protocol variant with its values, the transport narrowed to what the call names allow
    (a registration event of the server's cache needs RPC over HTTP, the one transport with that cache)."""
    calls = {e.call for e in events}
    varied = []
    for variant in variants.modelled():
        assert variant.switch is not None
        values = variant.values
        if variant.switch == "transport":
            if calls & set(MAPI_HTTP):
                values = ("mapi-http",)
            elif any(e.server for e in events):
                values = tuple(v for v in values if v == "rpc-http")
            elif calls & set(RPC_ONLY):
                values = tuple(v for v in values if v != "mapi-http")
        varied.append((variant.switch, values))
    return varied


def vary_of(keys: Iterable[str], events: Sequence[Event]) -> list[tuple[str, tuple[str, ...]]]:
    """``--vary`` keys with their values: KEY (all its values) or KEY=V1,V2 (each a value the switch takes)."""
    defaults = dict(default_vary(events))
    known = {**{k: v for k, v in CHOICES.items()}, "impersonate": _BOOLEAN, "server_async": _BOOLEAN,
             "connect_flags": ("0", "0x20")}
    chosen: dict[str, tuple[str, ...]] = {}
    for text in keys:
        key, sep, values = (part.strip() for part in text.partition("="))
        if key not in known:
            raise InvalidArgument(f"--vary {shown(key)}: not a switch diagnose can vary; switches: {', '.join(known)}"
                                  f"{did_you_mean(key, known)}")
        if key in chosen:
            raise InvalidArgument(f"--vary {key}: given twice")
        if not sep:
            chosen[key] = defaults.get(key, known[key])
            continue
        listed = tuple(dict.fromkeys(v.strip() for v in values.split(",") if v.strip()))
        if not listed:
            raise InvalidArgument(f"--vary {key}=: give at least one value, e.g. {key}={known[key][0]}")
        if key == "connect_flags":
            wrong = [v for v in listed if not _FLAGS.fullmatch(v)]
            if wrong:
                raise InvalidArgument(f"--vary connect_flags: {shown(wrong[0])} is not a whole number "
                                      "(decimal, or hexadecimal as 0x20)")
        else:
            wrong = [v for v in listed if v.lower() not in {k.lower() for k in known[key]}]
            if wrong:
                raise InvalidArgument(f"--vary {key}: {shown(wrong[0])} is not one of {', '.join(known[key])}"
                                      f"{did_you_mean(wrong[0], known[key])}")
        chosen[key] = listed
    return list(chosen.items())


def diagnose(
    events: Sequence[Event],
    base: Scenario,
    vary: Sequence[str] = (),
    *,
    timeout: float = 120.0,
    progress: Callable[[str], None] | None = None,
    check_fixes: bool = True,
    dask: str | None = None,
    pool: Executor | None = None,
) -> Diagnosis:
    """Search every setting (see the module docstring); ``timeout`` bounds the whole search; ``dask`` names a
    Dask scheduler to search the settings on; ``pool``, a pool of processes to share with other diagnoses
    (``regcheck.cases``: one pool for every case of a log) instead of one of its own."""
    start = time.monotonic()
    deadline = start + timeout
    read = design_facts(events, base)  # each setting reads the log again (its tracking)
    facts = read.shown()
    varied = vary_of(vary, events) if vary else default_vary(events)
    count = math.prod(len(values) for _, values in varied)
    if count > MAX_SETTINGS:
        raise InvalidArgument(f"--vary: {count} settings; at most {MAX_SETTINGS} are searched, so vary fewer switches")
    keys = [k for k, _ in varied]
    settings = [tuple(zip(keys, combination)) for combination in itertools.product(*(values for _, values in varied))]
    outcomes = _search_all(base, settings, events, deadline, progress, dask, pool)
    domains = dict(varied)
    explaining = [o for o in outcomes if o.explains]
    groups = []
    violations: dict[tuple[tuple[str, str], ...], list[tuple[str, int]]] = {}
    by_violated: dict[tuple[str, ...], list[Outcome]] = {}  # each member's own violations: groups never mix them
    for outcome in explaining:
        assert outcome.trace is not None
        violations[outcome.setting.values] = _violations(outcome.setting.scenario, outcome.trace)
        by_violated.setdefault(tuple(name for name, _ in violations[outcome.setting.values]), []).append(outcome)
    for names, part in by_violated.items():
        for cube, members in _cover(part, keys, domains):
            violated = violations[members[0].setting.values]
            fixes = fixchecks.check([m.setting.scenario for m in members], names, deadline, pool) \
                if check_fixes and violated else ()
            groups.append(Group(cube, tuple(members), tuple(violated), fixes))
    refuted = [o for o in outcomes if not o.explains and o.found is not None and o.found.complete]
    ruled = []
    by_event: dict[tuple[int, str], list[Outcome]] = {}
    for outcome in refuted:
        assert outcome.found is not None
        by_event.setdefault((outcome.unreached, outcome.reason), []).append(outcome)
    for (event, why), members in sorted(by_event.items()):
        for cube, part in _cover(members, keys, domains):
            ruled.append((event, why, Group(cube, tuple(part))))
    unknown = tuple(o for o in outcomes if not o.explains and o.found is not None and not o.found.complete)
    invalid = tuple(o for o in outcomes if o.found is None)
    longest = max((o.found.matched for o in outcomes if o.found is not None), default=0)
    exact = all(o.first for o in refuted)
    if not exact:  # no prefix is claimed explained: the event no setting reaches is what is known
        longest = max(o.unreached for o in refuted) - 1
    return Diagnosis(tuple(events), base, tuple(facts), tuple(varied), tuple(groups), tuple(ruled), unknown, invalid,
                     round(time.monotonic() - start, 3), longest, tuple(name_warnings(events)), exact, read.threads)


PARALLEL_FROM = 64
"""From this many settings, the searches are shared among fresh processes, one per core."""
CHUNK = 4
"""Settings per task of the pool."""


def _search_all(scenario: Scenario, settings: Sequence[tuple[tuple[str, str], ...]], events: Sequence[Event],
                deadline: float, progress: Callable[[str], None] | None, dask: str | None = None,
                shared: Executor | None = None) -> list[Outcome]:
    """Every setting's outcome, in order. A first pass gives each setting a short search (``FIRST_NODES``, then
    thread by thread), so what is quickly explained or ruled out is known for every setting; the time left goes
    to the settings that pass left open. On a pool of fresh interpreters where there are many settings and cores
    (``shared``, where the caller made one), or on the Dask scheduler at ``dask`` (its workers need regcheck
    installed)."""
    if dask is not None:
        with sweep.dask_client(dask) as client:
            return _passes(scenario, settings, events, deadline, progress, client.get_executor(pure=False))
    workers = min(cores(), (len(settings) + CHUNK - 1) // CHUNK)
    if len(settings) < PARALLEL_FROM or workers < 2:
        return _passes(scenario, settings, events, deadline, progress, None)
    if shared is not None:
        return _passes(scenario, settings, events, deadline, progress, shared)
    with children.pool(workers) as pool:
        return _passes(scenario, settings, events, deadline, progress, pool)


def _passes(scenario: Scenario, settings: Sequence[tuple[tuple[str, str], ...]], events: Sequence[Event],
            deadline: float, progress: Callable[[str], None] | None, pool: Executor | None) -> list[Outcome]:
    outcomes = _pass(scenario, settings, events, deadline, progress, pool, FIRST_NODES, CHUNK, "first pass")
    # The settings left open go through the stages (``_stages``) while they stay open: the searches with part of the
    # state hidden, which decide many of them at a fraction of the cost, and the deeper search.
    _staged(scenario, settings, events, deadline, progress, pool, outcomes)
    # Which prefix of the log some setting explains matters only where none explains it all: only then are the events
    # before an impossible one searched.
    unsearched = [i for i, o in enumerate(outcomes) if o.prefix_unsearched]
    if unsearched and not any(o.explains for o in outcomes) and time.monotonic() < deadline:
        searched = _pass(scenario, [settings[i] for i in unsearched], events, deadline, progress, pool, FIRST_NODES,
                         CHUNK, "events before the impossible ones", prefix=True)
        for i, outcome in zip(unsearched, searched, strict=True):
            if outcome.found is not None and outcome.found.complete:  # one the deadline cut keeps its ruling
                outcomes[i] = outcome
    return outcomes


def _staged(scenario: Scenario, settings: Sequence[tuple[tuple[str, str], ...]], events: Sequence[Event],
            deadline: float, progress: Callable[[str], None] | None, pool: Executor | None,
            outcomes: list[Outcome]) -> None:
    """The stages (``_stages``) of each setting the first pass left open, in place: a setting goes on to its next
    stage as soon as it is still open after one, behind the stages already queued, so the cheap stages of every
    setting come first and, on a pool, no core waits for the slowest setting of a stage. A stage's outcome replaces
    the setting's where it decides (or stops for the time); where it stops at its limit, the deeper search's says
    more than the first pass's, and a stage with part of the state hidden says nothing. A setting whose deeper search
    the time left no room for says so (``_unsearched``)."""
    stages = _stages(events)
    first = {i: o.found for i, o in enumerate(outcomes) if _open(o)}  # the first pass's searches, not made again
    queue: deque[tuple[int, int]] = deque((i, 0) for i in first)  # (setting, stage), in the order they run
    running: dict[Future[list[Outcome]], tuple[int, int]] = {}
    queued, done = [0] * len(stages), [0] * len(stages)  # settings per stage so far
    deepened: set[int] = set()  # the settings whose deeper search ran
    while queue or running:
        if queue and time.monotonic() < deadline:
            i, stage = queue.popleft()
            queued[stage] += 1
            budget, hiding, _ = stages[stage]
            until = time.time() + (deadline - time.monotonic())  # a worker's clock is its own: it gets the wall time
            task = (scenario, [settings[i]], list(events), until, budget, False, hiding, [first[i]])
            if pool is not None:
                running[pool.submit(_try_all, *task)] = (i, stage)
                continue
            results = [((i, stage), _try_all(*task))]
        else:
            queue.clear()  # the time ran out: none of these is searched
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            results = [(running.pop(future), future.result()) for future in finished]
        for (i, stage), (outcome,) in results:
            _, hiding, what = stages[stage]
            done[stage] += 1
            if progress:
                progress(f"diagnose ({what}): {done[stage]} of {queued[stage]} settings")
            if hiding is None:
                deepened.add(i)
            if hiding is None or not _open(outcome):
                outcomes[i] = outcome
            if _open(outcomes[i]) and stage + 1 < len(stages):
                queue.append((i, stage + 1))
    for i, outcome in enumerate(outcomes):
        if _open(outcome) and i not in deepened:  # the time, not the first search's limit, left it open
            outcomes[i] = _unsearched(outcome)


Stage = tuple[int, "Hiding | None", str]
"""A search of a setting the first pass left open: its state limit, what is hidden (None: nothing), and what the
progress calls it."""


def _stages(events: Sequence[Event]) -> tuple[Stage, ...]:
    """The stages of a setting the first pass left open, in turn while it stays open: with each session's notification
    state hidden, then with each worker's progress hidden, then the deeper search. Where the deeper search has its
    look-ahead (one log, no server log's rule), it comes first, after a short search with each worker's progress
    hidden (``PROBE_NODES``): it explains what the searches with part of the state hidden cannot (they can only rule
    out), and on the seed with 4 workers at 100 to 600 events those decide none of the settings it decides."""
    notifications, workers = ((HIDDEN_NODES, hiding, f"{hiding.what} hidden") for hiding in HIDINGS)
    deeper = (MAX_NODES, None, "deeper search")
    if order_of(events) is None and not completeness.rules(events, None):
        probe = (PROBE_NODES, HIDINGS[1], f"a short search with {HIDINGS[1].what} hidden")
        return probe, deeper, notifications, workers
    return notifications, workers, deeper


PROBE_NODES = 20_000
"""Triples the short search with every worker's progress hidden visits before the deeper search with its look-ahead:
on the seed with 4 workers at 600 events it rules out in half a second a setting the deeper search takes ten for, and
costs at most a second where it decides nothing."""


def _unsearched(outcome: Outcome) -> Outcome:
    """An outcome the first pass left open at its state limit, once the time ran out before the deeper search."""
    assert outcome.found is not None
    return replace(outcome, found=replace(outcome.found, stopped=REASON),
                   reason=f"{REASON}: the time ran out before the deeper search of this setting (its first search "
                          f"stopped at its state limit after {outcome.found.explored:,} states)")


def _open(outcome: Outcome) -> bool:
    """Whether a search of the setting stopped at its state limit: a longer one may decide it."""
    return outcome.found is not None and not outcome.found.complete and outcome.found.stopped == "state limit"


def _pass(scenario: Scenario, settings: Sequence[tuple[tuple[str, str], ...]], events: Sequence[Event],
          deadline: float, progress: Callable[[str], None] | None, pool: Executor | None, budget: int, chunk: int,
          what: str, prefix: bool = False, hiding: Hiding | None = None) -> list[Outcome]:
    """The settings' outcomes with searches of at most ``budget`` states, in order (``prefix``, ``hiding``: see
    ``_try``)."""
    if pool is None:
        outcomes = []
        for number, values in enumerate(settings, start=1):
            if progress and number % 16 == 1:
                progress(f"diagnose ({what}): setting {number} of {len(settings)}")
            outcomes.append(_try(scenario, values, events, deadline, budget, prefix, hiding))
        return outcomes
    chunks = [list(settings[i:i + chunk]) for i in range(0, len(settings), chunk)]
    results: list[list[Outcome]] = [[] for _ in chunks]
    until = time.time() + (deadline - time.monotonic())  # a worker's clock is its own: it gets the wall time
    futures = {pool.submit(_try_all, scenario, part, list(events), until, budget, prefix, hiding): i
               for i, part in enumerate(chunks)}
    for done, future in enumerate(as_completed(futures), start=1):
        results[futures[future]] = future.result()
        if progress:
            progress(f"diagnose ({what}): {min(done * chunk, len(settings))} of {len(settings)} settings")
    return [outcome for part in results for outcome in part]


def _try_all(scenario: Scenario, settings: Sequence[tuple[tuple[str, str], ...]], events: Sequence[Event],
             until: float, budget: int = MAX_NODES, prefix: bool = False, hiding: Hiding | None = None,
             known: Sequence[Found | None] | None = None) -> list[Outcome]:
    """One task of a pool or a Dask worker: its settings' outcomes, in order, until the wall-clock time ``until``
    (``known``, one per setting: see ``_try``)."""
    deadline = time.monotonic() + (until - time.time())
    return [_try(scenario, values, events, deadline, budget, prefix, hiding, found)
            for values, found in zip(settings, known or [None] * len(settings), strict=True)]


def _try(scenario: Scenario, values: tuple[tuple[str, str], ...], events: Sequence[Event], deadline: float,
         budget: int = MAX_NODES, prefix: bool = False, hiding: Hiding | None = None,
         known: Found | None = None) -> Outcome:
    """The setting's outcome over the log's design family: explained by any member, ruled out only when
    every member is and no bound cut the family, else not decided. ``prefix``: where an event no action can be
    rules a member out, search the events before it, to tell whether it is the first the member cannot reach.
    ``hiding``: only the short search, then the one with that part of the state hidden (``_hidden_search``).
    ``known``: the first pass's short search of the setting, which left it open; where the family is one design,
    that search and the hidden ones of ``_loose_hidden`` are not made again (they would find the same)."""
    if time.monotonic() >= deadline:  # not searched at all: unknown, with the reason, never dropped
        return Outcome(Setting(values, scenario), Found(0, False, stopped=REASON),
                       reason=f"{REASON}: the search's time ran out before this setting was searched")
    try:
        chosen = with_overrides(scenario, [f"{k}={v}" for k, v in values])
        facts = design_facts(events, chosen)
        if facts.beyond:  # no design of the model carries the log: not decided
            cut = Found(0, False, stopped=f"bound of the model: {facts.beyond}")
            return Outcome(Setting(values, chosen), cut, reason=f"not searched: the log needs more than the model's "
                                                                f"bound on {facts.beyond}")
        family = [with_overrides(chosen, list(member)) for member in facts.members()]
        # Each identity the log names is its model identity from the start (SEMANTICS.md, "Observations"), as the facts
        # name it (read from the setting's scenario, not the family's, which has the users the facts added).
        given = frozenset(("context", name, model) for name, model in model_names(events, chosen).items())
    except InvalidArgument as exc:
        return Outcome(Setting(values, scenario), None, reason=str(exc))
    outcomes = []
    for concrete in family:
        outcome = _search_one(concrete, values, events, deadline, budget, given, prefix, hiding,
                              known if len(family) == 1 else None)
        if outcome.explains:
            return outcome
        outcomes.append(outcome)
    undecided = [o for o in outcomes if o.found is not None and not o.found.complete]
    if undecided:
        return undecided[0]
    latest = max(outcomes, key=lambda o: o.unreached)  # no member reaches this event: the setting does not
    latest = replace(latest, first=all(o.first for o in outcomes),
                     prefix_unsearched=any(o.prefix_unsearched for o in outcomes))
    if facts.cut:
        assert latest.found is not None
        return Outcome(latest.setting, replace(latest.found, complete=False, stopped=facts.cut),
                       reason=f"not decided: {facts.cut}")
    return latest


def _search_one(concrete: Scenario, values: tuple[tuple[str, str], ...], events: Sequence[Event],
                deadline: float, budget: int, given: Bindings, prefix: bool = False, hiding: Hiding | None = None,
                known: Found | None = None) -> Outcome:
    """One design's outcome: the execution that explains the log, or the first event it cannot reach. A design
    whose system and observed fields are another's has its outcome (its explanation checked again)."""
    setting = Setting(values, concrete)
    system_of = build(concrete)
    # The associations each action replaces, which retire GUIDs: under rpc-tcp, the system does not show them.
    renewed = tuple(renewed_association(a, concrete) for a in system_of.actions)
    observed = observations_of(events, system_of)
    impossible = _first_impossible(system_of, observed, renewed, given)
    if impossible is not None and not prefix:  # ruled out at that event; whether an earlier one is the first, not asked
        return _impossible(setting, Found(0, True), events, impossible, first=False, prefix_unsearched=True)
    design = _Design(system_of, concrete, renewed)
    cut: int | str = budget if hiding is None else f"{budget}, {hiding.what} hidden"  # what an undecided one had
    for key in ((design, None), (design, cut)):  # decided whatever the budget, else cut at this budget
        log, known_outcome = _OUTCOMES.get(key, ((), None))
        if known_outcome is not None and (log is events or log == tuple(events)):
            cached = replace(known_outcome, setting=setting)
            if cached.trace is not None:
                _vet(concrete, cached.trace, events, cached.found)
            return cached
    outcome = _search_design(concrete, system_of, setting, events, observed, impossible, deadline, budget, design,
                             given, hiding, known)
    if outcome.found is not None and (outcome.found.complete or outcome.explains or outcome.found.stopped == "state limit"):
        if len(_OUTCOMES) > MAX_SETTINGS:
            _OUTCOMES.clear()
        decided = outcome.found.complete or outcome.explains  # a deterministic search decides alike at any budget
        _OUTCOMES[(design, None if decided else cut)] = (tuple(events), outcome)
    return outcome


_OUTCOMES: dict[tuple[_Design, int | str | None], tuple[tuple[Event, ...], Outcome]] = {}
"""Outcomes by design and budget (None: decided, so at any budget), with the log they are of: settings a log's
facts make alike are searched once, and a design decided in the first pass is not searched again."""


class _Design:
    """What a design's outcome depends on: its system, and what ``_fields_of`` reads of its scenario. Hashed
    once (the expressions are deep); equal only when every part is equal."""

    def __init__(self, system_of: TransitionSystem, scenario: Scenario, renewed: tuple[int, ...]) -> None:
        users = tuple(repr(system.current_user(scenario, w)) for w in range(1, int(scenario.workers) + 1))
        self.system = (system_of.variables, system_of.init, system_of.actions)
        self.renewed = renewed
        self.fields = (scenario.session_reuse, scenario.users, scenario.process_identity, users, self.renewed)
        self._hash = hash((self.system, self.fields))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Design) and self._hash == other._hash and self.fields == other.fields and \
            self.system == other.system


def _vet(concrete: Scenario, trace: Trace, events: Sequence[Event], found: Found | None) -> None:
    """An explanation replays on the reference simulator and matches the log there, or it is an internal error."""
    assert found is not None
    report = replay(concrete, trace)
    if not report.ok:
        raise AssertionError(f"internal error: the explanation does not replay on the reference simulator: {report}")
    mismatch = check_match(concrete, trace, events, found.at)
    if mismatch is not None:
        raise AssertionError(f"internal error: the explanation does not match the log on the reference simulator: "
                             f"{mismatch}")


def _stateless(renewed: Sequence[int]) -> frozenset[str]:
    """The labels bound one to one whatever the states: a GUID is its association's alone where no step frees an
    association's number for a new GUID."""
    return ONE_TO_ONE - {"association"} if any(renewed) else ONE_TO_ONE


def _first_impossible(system_of: TransitionSystem, observed: Sequence[Observed], renewed: Sequence[int],
                      given: Bindings) -> int | None:
    """``first_impossible`` of the design, with the fields the diagnosis computes otherwise than the labels free and
    GUIDs one to one among those in use where a step replaces an association."""
    derived = frozenset((i, "context") for i, a in enumerate(system_of.actions) if a.name == "RevertToSelf")
    stateless = _stateless(renewed)
    return first_impossible(system_of, observed, one_to_one=stateless, given=given, derived=derived,
                            retiring=ONE_TO_ONE - stateless)


def _search_design(concrete: Scenario, system_of: TransitionSystem, setting: Setting, events: Sequence[Event],
                   observed: Sequence[Observed], impossible: int | None, deadline: float, budget: int, key: _Design,
                   given: Bindings, hiding: Hiding | None = None, known: Found | None = None) -> Outcome:
    """The search of one design (see ``_search_one``), ``given`` the log's identities bound: ``impossible``, the event
    no action can be (``_first_impossible``), cuts the log short; a short search of the whole system decides small
    logs exactly; then (``hiding``) with part of the state hidden alone; else thread by thread, which refutes most
    designs at a fraction of the cost, then with the notification states hidden (``_loose_hidden``; these two before
    the short search where the log is longer than ``CHEAP_FIRST_FROM``), then with the names the log binds as it goes
    free, about one exploration of the design's states, and the whole system again, to ``budget``. ``known``: the
    first pass's short search, which stands for this one, and ``_loose_hidden`` is not made again (see ``_try``)."""
    order = order_of(events)  # several logs: a partial order (SEMANTICS.md, "Observations"); one log: None
    # A GUID names one association until the association is replaced: then its names match nothing more.
    retire = Renewal(RENEWS, "association", frozenset(i for i, renewed in enumerate(key.renewed) if renewed))
    stateless = _stateless(key.renewed)
    compiled = _compiled(system_of, key)
    fields_of = _fields_of(compiled, concrete)
    if impossible is not None:  # only the events before it can match: search for those alone
        order = order.prefix(impossible) if order is not None else None
        found = search(compiled, observed[:impossible], fields_of, one_to_one=ONE_TO_ONE,
                       max_nodes=min(budget, QUICK_NODES), deadline=deadline, given=given, retire=retire, order=order,
                       complete=completeness.rules(events[:impossible], order))
        if found.matched == impossible:
            return _impossible(setting, found, events, impossible)
        if not found.complete:  # ruled out at that event all the same; an earlier one may be the first
            return _impossible(setting, found, events, impossible, first=False)
        observed = observed[:impossible]
    complete = completeness.rules(events[:len(observed)], order)  # a server log's: no unlogged step it records
    early = hiding is None and len(observed) > CHEAP_FIRST_FROM  # the short search of so long a log seldom ends
    if early:
        ruled = _ruled_cheaply(system_of, concrete, setting, events, observed, given, order, complete, budget,
                               deadline, key, Found(0, True), loose=known is None)
        if ruled is not None:
            return ruled
    found = known if known is not None else search(
        compiled, observed, fields_of, one_to_one=ONE_TO_ONE, max_nodes=min(budget, QUICK_NODES), deadline=deadline,
        given=given, retire=retire, order=order, complete=complete)
    if not found.complete and found.matched < len(observed) and hiding is not None:
        # The pass of the settings the first left open (thread by thread too): with part of the state hidden.
        hidden = _hidden_search(system_of, concrete, key, observed, given, order, complete, budget, deadline, hiding)
        if hidden is not None:
            return _unreached(setting, found, events, _waiting(hidden), f"even with {hiding.what} left free")
        if time.monotonic() >= deadline:  # cut: the time, not the short search's limit, left it open
            found = replace(found, stopped="timeout")
        return Outcome(setting, found, reason=f"the search stopped ({found.stopped}) after {found.explored:,} states")
    if not found.complete and found.matched < len(observed):  # neither found nor refuted at once: thread by thread
        ruled = None if early else _ruled_cheaply(system_of, concrete, setting, events, observed, given, order,
                                                  complete, budget, deadline, key, found, loose=known is None)
        if ruled is not None:
            return ruled
        deep = budget > QUICK_NODES
        # The deeper search of one log with no server log's rule, first: depth first among the orbits of the blocks no
        # bound name refers to, dropping each triple from which a thread's unit shows no way on. It finds explanations
        # the searches below do not, at a fraction of their cost.
        ahead = Lookahead(_units(system_of, concrete, key), compiled.layout, observed, one_to_one=stateless,
                          given=given, deadline=deadline) if deep and order is None and not complete else None
        if ahead is not None:
            found = search(compiled, observed, fields_of, one_to_one=ONE_TO_ONE, max_nodes=budget, deadline=deadline,
                           given=given, retire=retire, depth_first=True, lookahead=ahead,
                           symmetric=_named(system_of, concrete, key, deadline))
            if _short_of(found, observed):
                return _unreached(setting, found, events, _waiting(found), AHEAD)
        if found.matched < len(observed):
            loose = longest_unnamed(compiled, observed, fields_of, labelled=_labelled(system_of, concrete, key),
                                    given=given, one_to_one=ONE_TO_ONE, order=order,
                                    canonical=_orbits(system_of, concrete, key, deadline), deadline=deadline,
                                    max_nodes=min(REACHABLE_FACTOR * budget, MAX_REACHABLE))
            if _short_of(loose, observed):
                return _unreached(setting, found, events, _waiting(loose), NAMES_FREE)
            if deep and ahead is None:
                found = search(compiled, observed, fields_of, one_to_one=ONE_TO_ONE, max_nodes=budget,
                               deadline=deadline, given=given, retire=retire, order=order, complete=complete)
    if found.matched == len(observed) < len(events):  # the events before the impossible one, all matched
        return _impossible(setting, found, events, len(observed))
    if found.matched == len(events) and len(observed) == len(events):
        trace = _trace(compiled, found)
        _vet(concrete, trace, events, found)
        return Outcome(setting, found, trace)
    if not found.complete:
        return Outcome(setting, found, reason=f"the search stopped ({found.stopped}) after {found.explored:,} states")
    return Outcome(setting, found, reason=_why_not(compiled, concrete, observed, events, found) +
                   completeness.words(events[:len(observed)], complete), unreached=_waiting(found) + 1,
                   first=found.waiting is None)


def _ruled_cheaply(system_of: TransitionSystem, concrete: Scenario, setting: Setting, events: Sequence[Event],
                   observed: Sequence[Observed], given: Bindings, order: Order | None, complete: Sequence[Complete],
                   budget: int, deadline: float, key: _Design, found: Found, *, loose: bool = True) -> Outcome | None:
    """Ruled out thread by thread (``refute``), else with the notification states hidden (``_loose_hidden``, where
    ``loose``): the searches that rule out most designs at a fraction of a search of the whole; ``found``, the short
    search's, if any. None where neither rules the design out."""
    refuted = refute(_units(system_of, concrete, key), observed, one_to_one=_stateless(key.renewed), given=given,
                     max_nodes=FIRST_UNIT_NODES if budget <= FIRST_NODES else min(budget, UNIT_NODES),
                     deadline=deadline, memo=_REFUTED, order=order)
    if len(_REFUTED) > MAX_SETTINGS * 8:
        _REFUTED.clear()
    if refuted is not None:
        return Outcome(setting, replace(found, complete=True, steps=(), at=()),
                       reason=_why_thread(concrete, refuted, observed, events), unreached=refuted.event + 1,
                       first=False)
    cheap = _loose_hidden(system_of, concrete, key, observed, given, order, complete, deadline) if loose else None
    return None if cheap is None else _unreached(setting, cheap[0], events, _waiting(cheap[0]), cheap[1])


def _impossible(setting: Setting, found: Found, events: Sequence[Event], impossible: int, *, first: bool = True,
                prefix_unsearched: bool = False) -> Outcome:
    """Ruled out at the event no action can be (``first_impossible``); ``first``: every event before it matched,
    ``prefix_unsearched``: those events not searched."""
    after = f"after event {impossible}" if impossible else "from the start"
    why = f"{after}, this setting has no {_returning(events[impossible])} on that thread with those names"
    return Outcome(setting, replace(found, complete=True, steps=(), at=()), reason=why, unreached=impossible + 1,
                   first=first, prefix_unsearched=prefix_unsearched)


REACHABLE_FACTOR = 4
"""The states (or orbits) the search with the log's names free (``longest_unnamed``) may explore, per triple of the
design's search budget, up to ``MAX_REACHABLE``."""
MAX_REACHABLE = 1_000_000
QUICK_NODES = 5_000
"""States the first, short search of the whole system visits before the log is tried thread by thread."""
FIRST_NODES = 5_000
"""States each search of the first pass visits (the whole system's short search; ``FIRST_UNIT_NODES`` each thread's
unit), so that every setting gets one soon; a design that pass leaves open is searched again with ``UNIT_NODES`` per
unit and ``MAX_NODES`` for the whole system."""
CHEAP_FIRST_FROM = 100
"""Events from which a log is searched thread by thread and with the notification states hidden (``_ruled_cheaply``)
before the short search of the whole system: the short search of so long a log almost never ends, and these rule out
most designs (on the seed with 4 workers at 600 events, 62 of the 72 the first pass searches; on a pool of 8 threads
at 300 events, 105 of 108)."""
FIRST_UNIT_NODES = 2_000
"""States each thread's unit visits in the first pass: on the seed with 4 workers at 600 events and the pool of 8
threads at 300, the unit searches of the first pass that refute need no more, and the ones that do not refute cost
half as much (no second, longer search shared by units of one shape)."""
UNIT_NODES = 200_000
"""States one thread's unit may visit before that thread refutes nothing."""


def _returning(event: Event) -> str:
    """The event's call, and the result a client call returns: what no step of a ruled-out setting is."""
    if event.result is None or event.server or event.call in TOKEN_CALLS:
        return event.call
    return f"{event.call} that returns {event.result}"


def _unreached(setting: Setting, found: Found, events: Sequence[Event], waiting: int, how: str) -> Outcome:
    """Ruled out at the event no execution reaches in order, even in an over-approximation of the design (``how``
    says which: ``longest_unnamed``'s names free, ``_hidden_search``'s states hidden, or ``_loose_hidden``'s both)."""
    event = events[waiting]
    who = f" as {shown(event.identity)}" if event.identity is not None else ""
    after = ("from the start" if not waiting else "after event 1" if waiting == 1 else
             f"after events 1-{waiting} in their order")
    why = f"{after}, no execution of this setting makes an {_returning(event)}{who}, {how}"
    return Outcome(setting, replace(found, complete=True, steps=(), at=()), reason=why, unreached=waiting + 1,
                   first=False)


@dataclass(frozen=True)
class Hiding:
    """A part of the design's state ``_hidden_search`` hides: kinds of state variable (the name before ``[``), and
    what they are, in the protocol's words."""

    kinds: frozenset[str]
    what: str


HIDINGS = (
    Hiding(frozenset({"pending", "notify", "parked"}), "every session's notification state"),
    Hiding(frozenset({"imp", "pc", "done", "job", "user", "pending"}),
           "every worker's progress and every session's pending notification"),
)
"""What the passes of the settings the first pass left open hide, in turn."""
HIDDEN_NODES = 400_000
"""The most triples ``_hidden_search`` visits."""


def _hidden_search(system_of: TransitionSystem, scenario: Scenario, key: _Design, observed: Sequence[Observed],
                   given: Bindings, order: Order | None, complete: Sequence[Complete], budget: int,
                   deadline: float, hiding: Hiding) -> Found | None:
    """The search of the design with ``hiding``'s part of its state hidden (``regcheck.core.hiding``: each step may
    read it as any value) where it is complete and matches fewer events than all: an over-approximation whose states
    are far fewer, so no execution of the design matches that event in order; None where it is not. One state per
    orbit of the blocks no bound name refers to (``named_blocks``, verified on the design, whose symmetry the hiding
    keeps)."""
    made = _hidden_system(system_of, scenario, key, hiding, deadline)
    if made is None:
        return None
    compiled, retire, symmetric = made
    found = search(compiled, observed, compiled.labels, one_to_one=ONE_TO_ONE, max_nodes=min(budget, HIDDEN_NODES),
                   deadline=deadline, given=given, retire=retire, order=order, complete=complete,
                   symmetric=symmetric, bound_only=True)
    return found if _short_of(found, observed) else None


def _hidden_system(system_of: TransitionSystem, scenario: Scenario, key: _Design, hiding: Hiding,
                   deadline: float) -> tuple[CompiledSystem, Renewal, NamedBlocks | None] | None:
    """The design with ``hiding``'s part of its state hidden, compiled once: the steps that renew an association, and
    the design's symmetry in a search that binds names (None where it has none); None where the design has no such
    state, or hiding it would break its symmetry."""
    labelled = _labelled(system_of, scenario, key)
    names = [v.name for v in labelled.variables if v.name.split("[")[0] in hiding.kinds]

    def make() -> tuple[CompiledSystem, Renewal, NamedBlocks | None] | None:
        try:
            compiled = compile_system(hidden(labelled, names))
        except ValueError:  # it would break the design's symmetry: not this way
            return None
        renewing = frozenset(i for i, a in enumerate(compiled.system.actions)
                             if dict(a.labels).get(RENEWS, Const(0)) != Const(0))
        blocks = _named(system_of, scenario, key, deadline)
        return (compiled, Renewal(RENEWS, "association", renewing),
                None if blocks is None else blocks.placed(compiled.layout))

    return _kept(_HIDDEN, (key, hiding), make) if names else None


_HIDDEN: dict[object, tuple[CompiledSystem, Renewal, NamedBlocks | None] | None] = {}
HIDDEN_ORBITS = 5_000
"""The most orbits the names-free search of ``_loose_hidden`` visits: its graphs have a few hundred to a few
thousand."""
HIDDEN_GUID_NODES = 10_000
"""The most triples the search of ``_loose_hidden`` with the GUIDs alone bound visits."""
NAMES_FREE = "whatever threads, sessions and associations the log's names stand for"
AHEAD = "each way on from which a thread of the log cannot make its own next lines left out"


def _loose_hidden(system_of: TransitionSystem, scenario: Scenario, key: _Design, observed: Sequence[Observed],
                  given: Bindings, order: Order | None, complete: Sequence[Complete],
                  deadline: float) -> tuple[Found, str] | None:
    """The first pass's searches of the design with every session's notification state hidden (``HIDINGS[0]``), one
    state per orbit of the blocks that own no name bound: with the log's names free (``longest_unnamed``), then with
    its GUIDs alone bound as it goes (threads and sessions free). Each over-approximates the design, so where one is
    complete and matches fewer events than all, no execution of the design matches that event in order: that search,
    and what it left free; None where neither. Once per design and log."""
    log, known = _LOOSE.get(key, ((), None))
    if log is observed or log == tuple(observed):
        return known
    found = None
    made = _hidden_system(system_of, scenario, key, HIDINGS[0], deadline)
    if made is not None:
        compiled, retire, blocks = made
        canonical = None if blocks is None else functools.partial(blocks.canonical, bound=given)
        loose = longest_unnamed(compiled, observed, compiled.labels, labelled=compiled.system, given=given,
                                one_to_one=ONE_TO_ONE, order=order, canonical=canonical, deadline=deadline,
                                max_nodes=HIDDEN_ORBITS)
        if _short_of(loose, observed):
            found = (loose, f"even with {HIDINGS[0].what} left free, {NAMES_FREE}")
        else:
            guids = search(compiled, _named_only(observed, given, "association"), compiled.labels,
                           one_to_one=ONE_TO_ONE, max_nodes=HIDDEN_GUID_NODES, deadline=deadline, given=given,
                           retire=retire, order=order, complete=complete, symmetric=blocks, bound_only=True)
            if _short_of(guids, observed):
                found = (guids, f"even with {HIDINGS[0].what} left free, whatever threads and sessions the log's "
                                f"names stand for")
            elif "timeout" in (loose.stopped, guids.stopped):  # cut by the deadline: nothing to keep
                return None
    if len(_LOOSE) > MAX_SETTINGS:
        _LOOSE.clear()
    _LOOSE[key] = (tuple(observed), found)
    return found


def _short_of(found: Found, observed: Sequence[Observed]) -> bool:
    """Whether a search is complete and matches fewer events than ``observed``: no execution it admits matches the
    next in order."""
    return found.complete and found.matched < len(observed)


def _named_only(observed: Sequence[Observed], given: Bindings, label: str) -> list[Observed]:
    """``observed`` with only the names of ``label`` and those ``given`` binds (the others free)."""
    known = {(lab, name) for lab, name, _ in given}
    return [replace(o, names=tuple(n for n in o.names if n[0] == label or n in known)) for o in observed]


_LOOSE: dict[_Design, tuple[tuple[Observed, ...], tuple[Found, str] | None]] = {}
_NAMED: dict[object, NamedBlocks | None] = {}


def _named(system_of: TransitionSystem, scenario: Scenario, key: _Design, deadline: float) -> NamedBlocks | None:
    """The design's symmetry in a search that binds names (``named_blocks``), verified once per design (one the
    deadline cut is not kept)."""
    if key in _NAMED:
        return _NAMED[key]
    blocks = named_blocks(_labelled(system_of, scenario, key), _compiled(system_of, key).layout, ASKED, NAMING,
                          deadline)
    if blocks is not None or time.monotonic() < deadline:
        _kept(_NAMED, key, lambda: blocks)
    return blocks


_ORBITS: dict[object, Callable[[Packed], Packed] | None] = {}


def _orbits(system_of: TransitionSystem, scenario: Scenario, key: _Design,
            deadline: float) -> Callable[[Packed], Packed] | None:
    """The canonical state of the design's verified symmetry, where it keeps every field an event asks of a step
    alike (``symmetry.block_canonical``), else None."""
    if key in _ORBITS:
        return _ORBITS[key]
    canonical = block_canonical(_labelled(system_of, scenario, key), _compiled(system_of, key).layout, ASKED,
                                deadline)
    if canonical is not None or time.monotonic() < deadline:  # one the deadline cut says nothing to keep
        _kept(_ORBITS, key, lambda: canonical)
    return canonical


_LABELLED: dict[object, TransitionSystem] = {}


def _labelled(system_of: TransitionSystem, scenario: Scenario, key: _Design) -> TransitionSystem:
    """The design's system with the fields its steps define among their labels (``observed_system``), made once."""
    return _kept(_LABELLED, key, lambda: observed_system(system_of, scenario))


ASKED = ("message", "result", "cache", "context")
"""The fields of a step an event may ask beyond the names it binds as the log goes (``_observed``)."""


def _units(system_of: TransitionSystem, scenario: Scenario, key: _Design) -> Units:
    """The units (``regcheck.core.projection``) of the system with its observed fields as labels
    (``observed_system``): the association's shared state is havoc'd."""
    def make() -> Units:
        return Units(_labelled(system_of, scenario, key), system.association_variables(scenario),
                     frozenset({system.SERVER_THREAD}))

    return _kept(_UNITS, key, make)


_UNITS: dict[object, Units] = {}
_REFUTED: dict[Hashable, tuple[Found, CompiledSystem]] = {}
"""Thread-by-thread searches by the shape of their unit (``regcheck.core.projection.shape``): designs alike in a
thread's unit share its search."""


def _kept(cache: dict[Any, _T], key: object, make: Callable[[], _T]) -> _T:
    """``cache[key]``, made on first use; a cache is emptied past ``MAX_SETTINGS`` entries (one run's worth)."""
    if key not in cache:
        if len(cache) > MAX_SETTINGS:
            cache.clear()
        cache[key] = make()
    return cache[key]


def _why_thread(concrete: Scenario, refuted: Refutation, observed: Sequence[Observed], events: Sequence[Event]) -> str:
    """Why no execution reaches the refuted event: what the thread's call does there instead, in its unit."""
    positions = [i for i, o in enumerate(observed) if ("thread", refuted.thread) in o.names and not o.shares]
    thread, found, unit = max(refuted.found, key=lambda item: item[1].matched)
    lines = [events[i] for i in positions]
    instead = _instead(unit, concrete, [observed[i] for i in positions], lines, found)
    return (f"thread {shown(refuted.thread)} cannot make it after its own earlier lines ({instead}), whatever the "
            f"other sessions do on the association")


_COMPILED: dict[_Design, CompiledSystem] = {}


def _compiled(system_of: TransitionSystem, design: _Design) -> CompiledSystem:
    """The compiled system, kept for the run (designs alike, the fixes and the groups ask again)."""
    return _kept(_COMPILED, design, lambda: compile_system(system_of))


def observed_of(event: Event, system_of: TransitionSystem) -> Observed:
    """What ``event`` asks of the step it is (regcheck/model/SEMANTICS.md, "Observations"): the fields its call
    defines; an association on a thread-token call, or on MAPI/HTTP (which has none), is free."""
    return observations_of([event], system_of)[0]


def observations_of(events: Sequence[Event], system_of: TransitionSystem) -> list[Observed]:
    """:func:`observed_of` for each of ``events`` (a log's lines ask the same few things many times)."""
    actions = frozenset(a.name for a in system_of.actions)
    associations = any(a.name == "EcDoConnectEx" and dict(a.labels).get("association") != Const(0)
                       for a in system_of.actions)
    return [_observed(e.call, e.thread, e.identity, e.result, e.association, e.session, actions, associations)
            for e in events]


@functools.lru_cache(maxsize=65_536)
def _observed(call: str, thread: str | None, identity: str | None, result: str | None, association: str | None,
              session: str | None, every: frozenset[str], associations: bool) -> Observed:
    """What an event with these fields asks, in a system with the actions ``every`` (and associations or not)."""
    event = Event(0, 0, call, thread, identity, result, association, session)
    names: list[tuple[str, str]] = []
    fields: list[tuple[str, frozenset[Value]]] = []
    if event.server:  # a registration failure or admission: any call's step, by its cache event
        actions = every
        fields.append(("cache", frozenset(event.cache_events)))
    else:
        actions = frozenset(ACTIONS_OF[call])
        fields.append(("message", frozenset({call})))
        if result is not None and call not in TOKEN_CALLS:
            fields.append(("result", frozenset(SUCCEEDED) if result == OK else frozenset({result})))
    if thread is not None:
        names.append(("thread", thread))
    if identity is not None:
        names.append(("context", identity))  # bound from the start to its model identity (``model_names``)
    if association is not None and call not in TOKEN_CALLS and associations:
        names.append(("association", association))
    if session is not None:
        names.append(("session", session))
    return Observed(actions, tuple(fields), tuple(names), shares=event.server)


RENEWS = "renews"
"""The field of a step that gives the association it replaces with a new one (0: none)."""
NAMING = {"thread": "thread", "session": "session", "association": "association", RENEWS: "association"}
"""The labels that carry a log's names, each with the kind of name it carries (``named_blocks``)."""
GIVEN: Bindings = frozenset({("context", SYSTEM, SYSTEM)})
"""The log's SYSTEM is the model's SYSTEM from the start: no other log name may be bound to it (a diagnosis binds
every identity the log names, ``model_names``; this is the binding of a log that names no other)."""


def renewed_association(action: Action, scenario: Scenario) -> int:
    """The association a step of ``action`` replaces with a new one (a new GUID: SEMANTICS.md, "Observations"), or 0."""
    params = dict(action.params)
    session = params.get("session", params.get("worker"))
    if scenario.transport == "mapi-http" or session is None:
        return 0
    if (action.name == "Reconnect" and scenario.after_network_error == "reconnect-new") or (
            action.name == "EcDoDisconnect" and scenario.association_scope == "session"):
        return scenario.association_of(int(session))
    return 0


def observed_labels(action: Action, scenario: Scenario) -> tuple[tuple[str, Expr], ...]:
    """The fields a step defines beyond its labels (regcheck/model/SEMANTICS.md's table), as expressions over the
    state: its session, and the association it renews; on a thread-token call, the session of the job it serves and,
    on RevertToSelf, the identity it leaves."""
    params = dict(action.params)
    if action.name not in ("Impersonate", "RevertToSelf"):
        session = params.get("session", params.get("worker"))
        fields: tuple[tuple[str, Expr], ...] = () if session is None else (("session", Const(session)),)
        renews = renewed_association(action, scenario)
        return fields + ((RENEWS, Const(renews)),) if renews else fields
    w = int(params["worker"])
    user = system.current_user(scenario, w)
    served: Expr = Const(w)
    if scenario.session_reuse == "per-user":
        for name in reversed(scenario.users):
            served = ite(eq(user, name), scenario.session_of_user(name), served)
    if action.name == "Impersonate":
        return (("session", served),)
    return (("session", served), ("context", ite(var(system.imp(w)), user, scenario.process_identity)))


def observed_system(system_of: TransitionSystem, scenario: Scenario) -> TransitionSystem:
    """The system with the fields its steps define (``observed_labels``) among their labels: what thread-by-thread
    refutation reads, so that a unit carries all it matches on."""
    actions = tuple(replace(a, labels=tuple({**dict(a.labels), **dict(observed_labels(a, scenario))}.items()))
                    for a in system_of.actions)
    return replace(system_of, actions=actions)


def _fields_of(compiled: CompiledSystem, scenario: Scenario) -> Callable[[int, Packed], Mapping[str, Value]]:
    """The fields each step defines: its labels and ``observed_labels``."""
    more = [observed_labels(a, scenario) for a in compiled.system.actions]

    def fields(index: int, state: Packed) -> Mapping[str, Value]:
        labels = compiled.labels(index, state)
        values = None
        for key, expr in more[index]:
            if isinstance(expr, Const):
                labels[key] = expr.value
            else:
                values = compiled.state(state) if values is None else values
                labels[key] = evaluate(expr, values)
        return labels

    return fields


def _trace(compiled: CompiledSystem, found: Found) -> Trace:
    states = [compiled.initial]
    steps = []
    for index, after in found.steps:
        action = compiled.system.actions[index]
        steps.append(Step(action.name, action.params, compiled.labels(index, states[-1])))
        states.append(after)
    observed = {step: [i + 1 for i, at in enumerate(found.at) if at == step] for step in set(found.at)}
    return Trace(vars=compiled.names, states=tuple(compiled.state(s) for s in states), steps=tuple(steps),
                 meta={"observed": {str(k): v for k, v in sorted(observed.items())}})


def _why_not(compiled: CompiledSystem, concrete: Scenario, observed: Sequence[Observed], events: Sequence[Event],
             found: Found) -> str:
    """Why the event after the longest explained prefix cannot follow it: what the same call does there instead
    (several logs: the event first left where the most events were matched)."""
    after = f"after event {found.matched}" if found.matched else "from the start"
    if found.waiting is not None:
        after = f"with {found.matched} of the events matched" if found.matched else "from the start"
    return f"{after}, {_instead(compiled, concrete, observed, events, found)}"


def _instead(compiled: CompiledSystem, concrete: Scenario, observed: Sequence[Observed], events: Sequence[Event],
             found: Found) -> str:
    """What the call of the event after ``found``'s longest match does there instead of what the event says."""
    event, wanted = events[_waiting(found)], observed[_waiting(found)]
    fields_of = _fields_of(compiled, concrete)
    # The same event with any result (any cache event, for a server event): what the model does there instead.
    loose = replace(wanted, fields=tuple((k, v) for k, v in wanted.fields if k not in ("result", "cache")))
    results: set[str] = set()
    for state, bound in found.stuck:
        for index, _ in compiled.steps(state):
            if compiled.system.actions[index].name not in wanted.actions:
                continue
            labels = fields_of(index, state)
            if binds(loose, bound, labels, ONE_TO_ONE) is not None:
                results.add(str(labels.get("cache" if event.server else "result")))
    if event.server:
        cache = frozenset(event.cache_events)
        what = "fail its registration" if cache == MISMATCH else "be admitted by the registration cache"
        fits = "mismatch" if cache == MISMATCH else "admission"
        return f"no call can {what}" if not results & cache else f"no {fits} fits the event's names"
    if not results:
        return f"{event.call} cannot be sent by that thread with those names"
    if event.result is not None:
        said = ", ".join(sorted(results))
        return f"{event.call} there returns only {said}, never {event.result}"
    return f"no {event.call} fits the event's names"


def _waiting(found: Found) -> int:
    """The event (0-based) a search that matched not every event stood before: after the longest prefix matched,
    or, over several logs, the one ``found.waiting`` names."""
    return found.matched if found.waiting is None else found.waiting


def _cover(outcomes: Sequence[Outcome], keys: Sequence[str],
           domains: Mapping[str, tuple[str, ...]]) -> list[tuple[tuple[tuple[str, tuple[str, ...]], ...], list[Outcome]]]:
    """Few conjunctions of switch values, each of whose settings is among ``outcomes``, that together cover them."""
    present = {o.setting.values: o for o in outcomes}
    cubes: list[dict[str, tuple[str, ...]]] = []
    for values in present:
        if any(all(v in cube[k] for k, v in values) for cube in cubes):
            continue
        cube: dict[str, tuple[str, ...]] = {k: (v,) for k, v in values}
        for key in keys:
            wider = {**cube, key: domains[key]}
            if all(tuple(zip(keys, combo)) in present for combo in itertools.product(*(wider[k] for k in keys))):
                cube = wider
        cubes.append(cube)
    result: list[tuple[tuple[tuple[str, tuple[str, ...]], ...], list[Outcome]]] = []
    for cube in cubes:
        members = [present[tuple(zip(keys, combo))] for combo in itertools.product(*(cube[k] for k in keys))]
        description = tuple((k, cube[k]) for k in keys if len(cube[k]) < len(domains[k]))
        result.append((description, members))
    return result


def _violations(scenario: Scenario, trace: Trace) -> list[tuple[str, int]]:
    """Each safety property the execution violates, with the first state (step number) where it fails."""
    found = []
    for spec in catalogue.CATALOGUE:
        if spec.kind is not Kind.SAFETY:
            continue
        prop = catalogue.instantiate(spec.name, scenario)
        step = next((i for i, state in enumerate(trace.states) if not evaluate(prop.formula, state)), None)
        if step is not None:
            report = replay(scenario, Trace(trace.vars, trace.states[: step + 1], trace.steps[:step]), spec.name)
            if not report.ok:
                raise AssertionError(f"internal error: the explanation's violation of {spec.name} does not replay")
            found.append((spec.name, step))
    return found


def _with_switches(outcome: Outcome) -> Trace:
    """The outcome's execution, naming its scenario and every switch (so ``regcheck replay`` can check it)."""
    assert outcome.trace is not None
    return compose.replayable(outcome.setting.scenario, outcome.trace)


def stories(diagnosis: Diagnosis) -> list[list[Group]]:
    """The explaining groups merged where they tell one story: the same steps, the same violations and the
    same verdict of every fix (the groups of a cover overlap, and settings that differ only in a switch the
    execution never meets have one execution)."""
    merged: dict[object, list[Group]] = {}
    for group in diagnosis.explained:
        trace = group.outcomes[0].trace
        assert trace is not None
        key = (tuple((s.action, s.params) for s in trace.steps), tuple(p for p, _ in group.violated),
               tuple((f.fix, f.rules_out, f.verdicts) for f in group.fixes))
        merged.setdefault(key, []).append(group)
    return list(merged.values())


def explanations(diagnosis: Diagnosis) -> list[tuple[Scenario, Trace]]:
    """Each explaining group's scenario and execution, once per distinct execution, ready to be written as ITF."""
    found: list[tuple[Scenario, Trace]] = []
    for group in diagnosis.explained:
        trace = _with_switches(group.outcomes[0])
        if all(t.steps != trace.steps for _, t in found):
            found.append((group.outcomes[0].setting.scenario, trace))
    return found


def to_json(diagnosis: Diagnosis) -> dict[str, Any]:
    """The diagnosis as the ``--json`` document's body."""
    def group(g: Group) -> dict[str, Any]:
        return {"description": g.words(), "switches": {k: list(v) for k, v in g.description},
                "settings": [dict(o.setting.values) for o in g.outcomes]}

    explained = []
    for g in diagnosis.explained:
        entry = group(g)
        trace = g.outcomes[0].trace
        assert trace is not None
        entry["execution"] = {"steps": len(trace), "observed_at": trace.meta["observed"],
                              "trace": itf.to_itf(_with_switches(g.outcomes[0]))}
        entry["violated"] = [{"property": p, "step": s} for p, s in g.violated]
        entry["fixes"] = [{"fix": f.fix, "rules_out": f.rules_out, "verdicts": dict(f.verdicts)} for f in g.fixes]
        explained.append(entry)
    return {
        "events": [e.to_json() for e in diagnosis.events],
        "scenario": diagnosis.base.name,
        "design_facts": list(diagnosis.facts),
        "design_implied": list(diagnosis.implied),
        "varied": {k: list(v) for k, v in diagnosis.varied},
        "explained": explained,
        "ruled_out": [{**group(g), "event": event, "why": why} for event, why, g in diagnosis.ruled_out],
        "unknown": [{"setting": dict(o.setting.values), "why": o.reason} for o in diagnosis.unknown],
        "invalid": [{"setting": dict(o.setting.values), "why": o.reason} for o in diagnosis.invalid],
        "longest_explained_prefix": (len(diagnosis.events) if diagnosis.explained else
                                     diagnosis.longest if diagnosis.exact else None),
        "unreached_event": None if diagnosis.explained else diagnosis.longest + 1,
        "warnings": list(diagnosis.warnings),
        "seconds": diagnosis.seconds,
    }


__all__ = ["Diagnosis", "diagnose", "design_facts", "explanations", "observed_of", "stories", "to_json"]
