"""The named properties of the registration model, each with its kind, meaning and source.

A property is defined once here as a function of the scenario; :func:`instantiate` turns it into
a ``regcheck.core.system.Property`` over the variables of one built system.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from regcheck.core.expr import TRUE, Expr, and_, eq, implies, in_, ne, not_, or_, var
from regcheck.core.system import Kind, Obligation, Property
from regcheck.display import did_you_mean, shown
from regcheck.errors import InvalidArgument
from regcheck.model import system as m
from regcheck.model.scenario import Scenario


@dataclass(frozen=True)
class PropertySpec:
    name: str
    kind: Kind
    description: str
    source: str
    formula: Callable[[Scenario], Expr]
    per_worker: bool = True  # a conjunction over workers of conditions on one worker and the shared state
    obligations: Callable[[Scenario], tuple[Obligation, ...]] | None = None  # liveness only
    fairness: tuple[str, ...] = ()  # liveness only: actions under weak fairness


def _no_worker_fails(s: Scenario) -> Expr:
    return and_(*(ne(var(m.pc(w)), "failed") for w in s.worker_ids))


def _no_mismatch(s: Scenario) -> Expr:
    return not_(var(m.MISMATCH_SEEN)) if m.has_cache(s) else TRUE


def _in_use_never_evicted(s: Scenario) -> Expr:
    if not m.has_cache(s):
        return TRUE
    parts = []
    for a in range(1, s.association_count + 1):
        in_use = or_(*(
            and_(in_(var(m.pc(w)), ("connected", "working")), m.uses_session(s, w, for_user))
            for w in s.worker_ids
            for sid, for_user in m.worker_sessions(s, w)
            if s.association_of(sid) == a
        ))
        parts.append(not_(and_(eq(var(m.reg(a)), "evicted"), in_use)))
    return and_(*parts)


def _matches_admitted(s: Scenario) -> Expr:
    if not m.has_cache(s):
        return TRUE
    return and_(
        *(
            implies(in_(var(m.reg(a)), s.identities), eq(var(m.admitted(a)), var(m.reg(a))))
            for a in range(1, s.association_count + 1)
        )
    )


def _one_parked_wait(s: Scenario) -> Expr:
    if not s.notifications:
        return TRUE
    return and_(
        *(implies(var(m.parked(sid)), eq(var(m.notify(sid)), "waiting")) for sid in s.session_ids)
    )


FAILURE = 'regcheck/model/PROTOCOL.md, "The failure, as the article tells it"'
DOCUMENTED = 'regcheck/model/PROTOCOL.md, "Facts from public documentation"'
UNDECIDED = 'regcheck/model/PROTOCOL.md, "What no source decides"'
"""The sections of the protocol's sources (shipped with the package) that the properties cite."""

CATALOGUE: tuple[PropertySpec, ...] = (
    PropertySpec(
        "worker-never-gets-network-error",
        Kind.SAFETY,
        "No worker thread's call fails with MAPI_E_NETWORK_ERROR (0x80040115).",
        'Article: "you start receiving MAPI_E_NETWORK_ERROR on the client side"; '
        f'{FAILURE}.',
        _no_worker_fails,
    ),
    PropertySpec(
        "no-registration-mismatch",
        Kind.SAFETY,
        '"Registration of the Association GUID failed" never happens.',
        'Article: "When the security contexts don\'t match between requests, but the RPC Associations do, '
        'you get the error Registration of the Association GUID failed"; '
        f'{FAILURE}.',
        _no_mismatch,
    ),
    PropertySpec(
        "registration-in-use-never-evicted",
        Kind.SAFETY,
        "A registration is never evicted while a session on its association is still working.",
        'Article: "It also removes the registration from its cache ... impersonated threads ... no longer '
        'have a registration on the server"; '
        f'{FAILURE}.',
        _in_use_never_evicted,
    ),
    PropertySpec(
        "registration-matches-admitted-calls",
        Kind.SAFETY,
        "A cached registration always matches the security context of the calls it admitted.",
        'Article: "the RPC Association and the security context are used to identify the client connection"; '
        f"{FAILURE}.",
        _matches_admitted,
    ),
    PropertySpec(
        "one-parked-wait-per-session",
        Kind.SAFETY,
        "At most one EcDoAsyncWaitEx is parked per session, and only for a notifier waiting on it.",
        "MS-OXCRPC 3.3.4.1 / MS-OXCNOTIF 3.1.5.3: a second wait while one is outstanding is completed with "
        f"ecRejected; {DOCUMENTED}.",
        _one_parked_wait,
    ),
)

FAIR_CLIENT_AND_SERVER = (
    "TakeJob",
    "Impersonate",
    "EcDoConnectEx",
    "UseSession",
    "EcDoAsyncConnectEx",
    "EcDoRpcExt2",
    "EcDoDisconnect",
    "RevertToSelf",
    "Reconnect",
    "EcDoAsyncWaitEx",
    "FetchNotifications",
    "Poll",
    "CompleteWait",
    "WaitTimeout",
)
"""Weak fairness on every action but ServerEvent: threads and the server keep going; new events may stop."""


def _delivered(s: Scenario) -> tuple[Obligation, ...]:
    return tuple(
        Obligation(var(m.pending(sid)), not_(var(m.pending(sid))), f"session {sid}") for sid in s.session_ids
    )


def _worker_done(s: Scenario) -> tuple[Obligation, ...]:
    return tuple(
        Obligation(TRUE, m.all_jobs_done(s, w), f"worker {w}") for w in s.worker_ids
    )


CATALOGUE += (
    PropertySpec(
        "notifications-delivered",
        Kind.LIVENESS,
        "Every notification the server raises is eventually delivered to the client "
        "(weak fairness on every client and server action but ServerEvent).",
        'Article: CONNECT_NO_NOTIFICATIONS "will instruct the MAPI download to not use notifications at all" '
        "(the caveat of fix B); MS-OXCNOTIF 3.1.5.3 / 3.2.5.5.1.",
        lambda s: TRUE,
        per_worker=False,
        obligations=_delivered,
        fairness=FAIR_CLIENT_AND_SERVER,
    ),
    PropertySpec(
        "worker-requests-succeed",
        Kind.LIVENESS,
        "Every worker's requests eventually all succeed "
        "(weak fairness on every client and server action but ServerEvent).",
        'Article: "the thread responsible for Async notification causes impersonated threads to fail because '
        'they no longer have a registration on the server"; '
        f'{FAILURE}; V3 in {UNDECIDED}.',
        lambda s: TRUE,
        per_worker=False,
        obligations=_worker_done,
        fairness=FAIR_CLIENT_AND_SERVER,
    ),
)

NAMES: tuple[str, ...] = tuple(p.name for p in CATALOGUE)


def spec(name: str) -> PropertySpec:
    """The property called ``name``; an unknown name is an error that lists the known ones."""
    for p in CATALOGUE:
        if p.name == name:
            return p
    raise InvalidArgument(f"unknown property {shown(name)}; properties: {', '.join(NAMES)}{did_you_mean(name, NAMES)}")


def instantiate(name: str, scenario: Scenario) -> Property:
    p = spec(name)
    obligations = p.obligations(scenario) if p.obligations else ()
    return Property(p.name, p.kind, p.description, p.source, p.formula(scenario), obligations, p.fairness)
