"""The registration protocol as a transition system, built from a Scenario (see SEMANTICS.md).

This module is the symbolic half of the model: every guard, update and label is an expression,
so that the same definition feeds the z3 engines and the explicit-state engine. The admission
rule of the Exchange 2013 front end (register, hit, mismatch, evict) is written once, in
:meth:`_Builder.admission`, and used by every call that reaches the server.
"""

from __future__ import annotations

from dataclasses import dataclass

from regcheck.core.expr import (
    FALSE,
    TRUE,
    Const,
    Expr,
    Operand,
    Value,
    add,
    and_,
    case,
    eq,
    implies,
    in_,
    ite,
    lift,
    lt,
    not_,
    or_,
    var,
)
from regcheck.core.result import STUTTER
from regcheck.core.system import Action, ProcessGroup, TransitionSystem, Variable, boolean, enum, int_range
from regcheck.errors import InvalidArgument
from regcheck.model.scenario import Scenario

PC = ("start", "connected", "working", "finished", "failed", "denied")
NOTIFY = ("off", "idle", "waiting", "fetch", "polling", "stopped")
OPEN = ("connected", "working", "finished")
CACHE_EVENTS = ("-", "registered", "hit", "mismatch", "mismatch-evicted", "no-registration", "re-registered")
ADMITTING_EVENTS = ("-", "registered", "hit", "re-registered")
NETWORK_ERROR = "MAPI_E_NETWORK_ERROR"
ACCESS_DENIED = "ecAccessDenied"
REJECTED = "ecRejected"


@dataclass(frozen=True)
class Admission:
    """What admission does to one call: the cache event, whether it is admitted, the failure, the state changes."""

    event: Expr
    admitted: Expr
    failure: Expr
    updates: dict[str, Expr]


def reg(a: int) -> str:
    return f"reg[{a}]"


def admitted(a: int) -> str:
    return f"admitted[{a}]"


def bound(a: int) -> str:
    return f"bound[{a}]"


def pc(w: int) -> str:
    return f"pc[{w}]"


def imp(w: int) -> str:
    return f"imp[{w}]"


def done(w: int) -> str:
    return f"done[{w}]"


def pending(w: int) -> str:
    return f"pending[{w}]"


def notify(w: int) -> str:
    return f"notify[{w}]"


def parked(w: int) -> str:
    return f"parked[{w}]"


def job(w: int) -> str:
    return f"job[{w}]"


def user(w: int) -> str:
    return f"user[{w}]"


def owner(s: int) -> str:
    return f"owner[{s}]"


MISMATCH_SEEN = "mismatch_seen"


def build(scenario: Scenario) -> TransitionSystem:
    """The transition system of ``scenario`` (a fixed number of workers)."""
    if scenario.parameterised:
        raise InvalidArgument("workers=any has no single transition system; it is checked by counter abstraction")
    return _Builder(scenario).system()


def job_count(scenario: Scenario, w: int) -> int:
    """J(w): how many jobs worker w runs."""
    return len(scenario.jobs_of(w))


def current_user(scenario: Scenario, w: int) -> Expr:
    """cu(w): the user of worker w's current job, as an expression over the state."""
    if scenario.takes_any(w):
        return var(user(w))
    jobs = scenario.jobs_of(w)
    if len(set(jobs)) == 1:
        return Const(jobs[0])
    return case(*((eq(var(job(w)), j), u) for j, u in enumerate(jobs[:-1], start=1)), default=jobs[-1])


def all_jobs_done(scenario: Scenario, w: int) -> Expr:
    """Worker w has made every request of its last job."""
    last = eq(var(job(w)), job_count(scenario, w)) if job_count(scenario, w) > 1 else TRUE
    return and_(last, eq(var(done(w)), scenario.requests))


def worker_sessions(scenario: Scenario, w: int) -> tuple[tuple[int, str | None], ...]:
    """The sessions worker w can use, each with the user it is for (None: the worker's own session w)."""
    if scenario.session_reuse != "per-user":
        return ((w, None),)
    return tuple((scenario.session_of_user(u), u) for u in scenario.serves(w))


def session_open(scenario: Scenario, s: int) -> Expr:
    """Session s is logged on: classic, its worker is past EcDoConnectEx; tracked, it has an owner."""
    if scenario.tracks_sessions:
        return not_(eq(var(owner(s)), "none"))
    return in_(var(pc(s)), OPEN)


def uses_session(scenario: Scenario, w: int, for_user: str | None) -> Expr:
    """Worker w's current job is on the session for ``for_user`` (None: its own session, always)."""
    return TRUE if for_user is None else eq(current_user(scenario, w), for_user)


def local_variables(scenario: Scenario, w: int) -> tuple[str, ...]:
    """The variables that belong to worker w alone: its own, and its session's and association's when they are its own."""
    names = [imp(w), pc(w), done(w)]
    if job_count(scenario, w) > 1:
        names.append(job(w))
    if scenario.takes_any(w):
        names.append(user(w))
    if scenario.session_reuse == "per-user":
        return tuple(names)
    names += session_variables(scenario, w)
    if scenario.association_scope == "session" and scenario.transport != "mapi-http":
        if has_cache(scenario):
            names += [reg(w), admitted(w)]
        if has_binding_snapshot(scenario):
            names.append(bound(w))
    return tuple(names)


def session_variables(scenario: Scenario, s: int) -> list[str]:
    """Session s's variables: its owner (tracked designs), pending notification, and notification state."""
    names = [owner(s)] if scenario.tracks_sessions else []
    names.append(pending(s))
    if scenario.notifications:
        names += [notify(s), parked(s)]
    return names


def has_cache(scenario: Scenario) -> bool:
    return scenario.transport == "rpc-http"


def has_binding_snapshot(scenario: Scenario) -> bool:
    return scenario.identity_tracking == "static" and scenario.transport != "mapi-http"


SERVER_THREAD = "server"
"""The ``thread`` label of the server's own steps (ServerEvent, CompleteWait, WaitTimeout): no client thread."""


def association_variables(scenario: Scenario) -> frozenset[str]:
    """The variables every session on an association sees: the registration cache entry, who it last
    admitted, the binding's identity snapshot, and the history flag of a mismatch."""
    names = {MISMATCH_SEEN} if has_cache(scenario) else set()
    for a in range(1, scenario.association_count + 1):
        if has_cache(scenario):
            names |= {reg(a), admitted(a)}
        if has_binding_snapshot(scenario):
            names.add(bound(a))
    return frozenset(names)


STUTTER_LABELS: tuple[tuple[str, Value], ...] = (
    ("thread", "-"), ("message", STUTTER), ("context", "-"), ("association", 0), ("cache", "-"), ("result", "-"),
)
"""How the closing step of a lasso that ends in a deadlock is labelled: no thread, no call."""

_MAPI_HTTP = {"EcDoConnectEx": "Connect", "EcDoRpcExt2": "Execute", "EcDoAsyncWaitEx": "NotificationWait",
              "EcDoDisconnect": "Disconnect"}


class _Builder:
    def __init__(self, scenario: Scenario) -> None:
        self.s = scenario
        self.workers = scenario.worker_ids
        self.sessions = scenario.session_ids
        self.associations = range(1, scenario.association_count + 1)
        self.cache = has_cache(scenario)
        self.static = has_binding_snapshot(scenario)
        self.tracked = scenario.tracks_sessions
        self.per_user = scenario.session_reuse == "per-user"

    # Variables --------------------------------------------------------------------------------

    def session_declarations(self, sid: int) -> list[tuple[Variable, Operand]]:
        s = self.s
        out: list[tuple[Variable, Operand]] = []
        if self.tracked:
            out.append((Variable(owner(sid), enum("none", *s.identities), f"who logged session {sid} on"), "none"))
        out.append((Variable(pending(sid), boolean(), f"the server holds a notification for session {sid}"), False))
        if s.notifications:
            out += [
                (Variable(notify(sid), enum(*NOTIFY), f"notification thread of session {sid}"), "off"),
                (Variable(parked(sid), boolean(), f"an EcDoAsyncWaitEx of session {sid} is parked"), False),
            ]
        return out

    def variables(self) -> list[tuple[Variable, Operand]]:
        s = self.s
        ids = s.identities
        out: list[tuple[Variable, Operand]] = []
        for w in self.workers:
            jobs = job_count(s, w)
            out += [
                (Variable(imp(w), boolean(), f"worker {w} is impersonating its job's user"), False),
                (Variable(pc(w), enum(*PC), f"worker {w}'s progress"), "start"),
                (Variable(done(w), int_range(0, s.requests), f"worker {w}'s successful EcDoRpcExt2 calls"), 0),
            ]
            if jobs > 1:
                out.append((Variable(job(w), int_range(1, jobs), f"worker {w}'s current job"), 1))
            if s.takes_any(w):
                out.append((Variable(user(w), enum("none", *s.users), f"the user of worker {w}'s job"), "none"))
            if not self.per_user:
                out += self.session_declarations(w)
        if self.per_user:
            for sid in self.sessions:
                out += self.session_declarations(sid)
        for a in self.associations:
            if self.cache:
                out += [
                    (Variable(reg(a), enum("none", "evicted", *ids), f"registration of association {a}"), "none"),
                    (Variable(admitted(a), enum("none", *ids), f"identity last admitted on association {a}"), "none"),
                ]
            if self.static:
                out.append((Variable(bound(a), enum("none", *ids), f"binding identity of association {a}"), "none"))
        if self.cache:
            out.append((Variable(MISMATCH_SEEN, boolean(), "a registration mismatch has happened"), False))
        return out

    def system(self) -> TransitionSystem:
        declared = self.variables()
        init = and_(*(eq(var(v.name), value) for v, value in declared))
        actions: list[Action] = []
        for w in self.workers:
            actions += self.worker_actions(w)
        for sid in self.sessions:
            actions += self.session_actions(sid)
        return TransitionSystem(
            name=self.s.name,
            variables=tuple(v for v, _ in declared),
            init=init,
            actions=tuple(actions),
            meta={"scenario": self.s.name},
            symmetry=self.symmetry(),
            stutter=STUTTER_LABELS,
        )

    def symmetry(self) -> tuple[ProcessGroup, ...]:
        """Workers with the same jobs (and impersonation) are interchangeable; in classic designs, so are users.

        A worker's block is its local variables (its session's and association's too, when they are
        its own). A classic group is named by its user, so that two users with as many workers may be
        swapped, unless the user is the process identity (which every notifier carries) or mailbox
        rights or mixed threads tell users apart. regcheck.core.symmetry verifies the claim against the
        actions before using it.
        """
        s = self.s
        groups: dict[tuple[tuple[str, ...], bool], list[tuple[str, ...]]] = {}
        for w in self.workers:
            groups.setdefault((s.jobs_of(w), s.impersonates(w)), []).append(local_variables(s, w))
        nameable = not self.tracked and not s.mailbox_access and len(set(map(s.impersonates, self.workers))) == 1
        return tuple(
            ProcessGroup(tuple(blocks), value=jobs[0] if nameable and jobs[0] != s.process_identity else None)
            for (jobs, _), blocks in groups.items()
        )

    # Identities and admission -----------------------------------------------------------------

    def thread_identity(self, w: int, *, notifier: bool) -> Expr:
        if notifier:
            return Const(self.s.process_identity)
        return ite(var(imp(w)), current_user(self.s, w), self.s.process_identity)

    def call_identity(self, w: int, sid: int, *, notifier: bool) -> tuple[Expr, dict[str, Expr]]:
        """The identity a call for session ``sid`` carries, and the binding-snapshot update it makes (static tracking)."""
        own = self.thread_identity(w, notifier=notifier)
        if not self.static:
            return own, {}
        a = self.s.association_of(sid)
        snapshot = var(bound(a))
        unbound = eq(snapshot, "none")
        return ite(unbound, own, snapshot), {bound(a): ite(unbound, own, snapshot)}

    def session_owner(self, sid: int) -> Expr:
        """Who logged session ``sid`` on, as MAPI/HTTP's owner check sees it."""
        if self.tracked:
            return var(owner(sid))
        s = self.s
        return Const(s.user_of(sid) if s.impersonates(sid) else s.process_identity)

    def rights(self, identity: Expr, w: int) -> Expr:
        """``identity`` may open the mailbox of worker w's current user."""
        s = self.s
        target = current_user(self.s, w)
        return or_(*(
            and_(eq(identity, i), eq(target, u)) for i in s.identities for u in s.serves(w) if s.has_rights(i, u)
        ))

    def admission(self, sid: int, identity: Expr, *, connect: bool = False) -> Admission:
        """The front end's treatment of a call for session ``sid`` carrying ``identity``."""
        s = self.s
        if s.transport == "rpc-tcp":
            return Admission(Const("-"), TRUE, Const("ok"), {})
        if s.transport == "mapi-http":
            ok = TRUE if connect else eq(identity, self.session_owner(sid))
            return Admission(Const("-"), ok, Const(ACCESS_DENIED), {})
        a = s.association_of(sid)
        r = var(reg(a))
        fresh = eq(r, "none")
        hit = eq(r, identity)
        evicted = eq(r, "evicted")
        again = s.registration == "every-miss"
        mismatch = and_(not_(fresh), not_(evicted), not_(hit))
        evict = s.on_mismatch == "evict"
        event = case(
            (fresh, "registered"),
            (hit, "hit"),
            (evicted, "re-registered" if again else "no-registration"),
            default="mismatch-evicted" if evict else "mismatch",
        )
        ok = fresh | hit | (evicted if again else FALSE)
        updates: dict[str, Expr] = {
            reg(a): case(
                (fresh, identity),
                (evicted, identity if again else "evicted"),
                (mismatch, "evicted" if evict else r),
                default=r,
            ),
            admitted(a): ite(ok, identity, var(admitted(a))),
            MISMATCH_SEEN: var(MISMATCH_SEEN) | mismatch,
        }
        return Admission(event, ok, Const(NETWORK_ERROR), updates)

    def new_association(self, a: int) -> dict[str, Expr]:
        """Association ``a`` replaced by a new one (a new GUID): nothing registered, admitted or bound on it."""
        fresh: dict[str, Expr] = {}
        if self.cache:
            fresh[reg(a)] = Const("none")
            fresh[admitted(a)] = Const("none")
        if self.static:
            fresh[bound(a)] = Const("none")
        return fresh

    def react(self) -> Expr:
        """The notifier's next state after a failed notification call (async_failure)."""
        return Const({"poll": "polling", "retry": "idle", "give-up": "stopped"}[self.s.async_failure])

    def message(self, rpc_name: str) -> str:
        return _MAPI_HTTP.get(rpc_name, rpc_name) if self.s.transport == "mapi-http" else rpc_name

    def association_label(self, sid: int) -> int:
        return 0 if self.s.transport == "mapi-http" else self.s.association_of(sid)

    def notifier_thread(self, sid: int) -> str:
        return "notifier" if self.s.notifier == "per-process" else f"notifier {sid}"

    def call(
        self,
        name: str,
        w: int,
        sid: int,
        *,
        notifier: bool,
        guard: Expr,
        on_ok: dict[str, Expr],
        on_fail: dict[str, Expr],
        params: tuple[tuple[str, int], ...],
        ok_result: Operand = "ok",
        connect: bool = False,
        message: str | None = None,
        after: dict[str, Expr] | None = None,
    ) -> Action:
        """An action that sends one call for session ``sid`` through admission, then applies ``on_ok`` or
        ``on_fail``, then ``after`` whatever the outcome."""
        identity, snapshot = self.call_identity(w, sid, notifier=notifier)
        adm = self.admission(sid, identity, connect=connect)
        updates: dict[str, Expr] = {**snapshot, **adm.updates}
        for target in set(on_ok) | set(on_fail):
            old = var(target)
            updates[target] = ite(adm.admitted, on_ok.get(target, old), on_fail.get(target, old))
        updates.update(after or {})
        labels = {
            "thread": Const(self.notifier_thread(sid) if notifier else f"worker {w}"),
            "message": Const(self.message(message or name)),
            "context": identity,
            "association": Const(self.association_label(sid)),
            "cache": adm.event,
            "result": ite(adm.admitted, ok_result, adm.failure),
        }
        return _action(name, params, guard, updates, labels)

    # Actions ----------------------------------------------------------------------------------

    def worker_actions(self, w: int) -> list[Action]:
        s = self.s
        out: list[Action] = []
        state = var(pc(w))
        jobs = job_count(s, w)
        cu = current_user(s, w)
        known = not_(eq(var(user(w)), "none")) if s.takes_any(w) else TRUE
        impersonates = s.impersonates(w)
        ready = and_(eq(state, "start"), known, var(imp(w)) if impersonates else TRUE)
        if s.takes_any(w):
            for i, u in enumerate(s.users, start=1):
                out.append(_local("TakeJob", (("worker", w), ("user", i)),
                                  and_(eq(state, "start"), eq(var(user(w)), "none")), {user(w): Const(u)},
                                  thread=f"worker {w}", message="TakeJob", context=Const(u)))
        if impersonates:
            out.append(_local("Impersonate", (("worker", w),), and_(eq(state, "start"), not_(var(imp(w))), known),
                              {imp(w): TRUE}, thread=f"worker {w}", message="ImpersonateLoggedOnUser", context=cu))
        worker_connects_async = s.notifications and s.async_connect_by == "worker" and s.transport != "mapi-http"
        sessions = worker_sessions(s, w)

        def params(sid: int) -> tuple[tuple[str, int], ...]:
            return (("worker", w), ("session", sid)) if self.per_user else (("worker", w),)

        def dead(sid: int) -> dict[str, Expr]:
            """A failed call's effect: the worker fails, and (tracked) its session is dead."""
            return {pc(w): Const("failed"), **({owner(sid): Const("none")} if self.tracked else {})}

        for sid, for_user in sessions:
            on = uses_session(s, w, for_user)
            identity, _ = self.call_identity(w, sid, notifier=False)
            denied = not_(self.rights(identity, w))
            connected: dict[str, Expr] = {
                pc(w): ite(denied, "denied", "connected" if worker_connects_async else "working"),
            }
            if self.tracked:
                connected[owner(sid)] = ite(denied, var(owner(sid)), identity)
                connected[pending(sid)] = ite(denied, var(pending(sid)), FALSE)
                if s.notifications:
                    connected[parked(sid)] = ite(denied, var(parked(sid)), FALSE)
                    connected[notify(sid)] = ite(denied, var(notify(sid)),
                                                 "idle" if s.transport == "mapi-http" else "off")
            elif s.notifications and s.transport == "mapi-http":
                connected[notify(sid)] = ite(denied, var(notify(sid)), "idle")
            closed = not_(session_open(s, sid)) if self.tracked else TRUE
            out.append(self.call("EcDoConnectEx", w, sid, notifier=False, guard=and_(ready, closed, on),
                                 on_ok=connected, on_fail={pc(w): Const("failed")}, params=params(sid),
                                 ok_result=ite(denied, ACCESS_DENIED, "ok"), connect=True))
            if self.tracked:
                out.append(_local("UseSession", params(sid), and_(ready, session_open(s, sid), on),
                                  {pc(w): Const("working")}, thread=f"worker {w}", message="UseSession"))
        if worker_connects_async:
            for sid, for_user in sessions:
                out.append(self.call(
                    "EcDoAsyncConnectEx", w, sid, notifier=False,
                    guard=and_(eq(state, "connected"), uses_session(s, w, for_user)),
                    on_ok={pc(w): Const("working"), notify(sid): Const("idle" if s.server_async else "polling")},
                    on_fail=dead(sid),
                    params=params(sid) if self.per_user else (("session", w),),
                    ok_result="ok" if s.server_async else REJECTED,
                ))
        for sid, for_user in sessions:
            out.append(self.call(
                "EcDoRpcExt2", w, sid, notifier=False,
                guard=and_(eq(state, "working"), lt(var(done(w)), s.requests), uses_session(s, w, for_user)),
                on_ok={done(w): add(var(done(w)), 1)}, on_fail=dead(sid), params=params(sid),
            ))
        disconnects = s.session_reuse == "per-job" and jobs > 1
        more = lt(var(job(w)), jobs) if jobs > 1 else FALSE
        if disconnects:
            ended: dict[str, Expr] = {owner(w): Const("none"), pending(w): FALSE}
            if s.notifications:
                ended[notify(w)] = Const("off")
                ended[parked(w)] = FALSE
            if s.association_scope == "session" and s.transport != "mapi-http":
                ended.update(self.new_association(s.association_of(w)))
            out.append(self.call(
                "EcDoDisconnect", w, w, notifier=False,
                guard=and_(eq(state, "working"), eq(var(done(w)), s.requests), more, session_open(s, w)),
                on_ok={}, on_fail={pc(w): Const("failed")}, params=(("worker", w),), after=ended,
            ))
        revert_guard = and_(eq(state, "working"), eq(var(done(w)), s.requests))
        if disconnects:
            revert_guard = and_(revert_guard, implies(more, not_(session_open(s, w))))
        reverted: dict[str, Expr] = {imp(w): FALSE}
        if jobs == 1:
            reverted[pc(w)] = Const("finished")
        else:
            reverted[pc(w)] = ite(more, "start", "finished")
            reverted[done(w)] = ite(more, 0, var(done(w)))
            reverted[job(w)] = ite(more, add(var(job(w)), 1), var(job(w)))
            if s.takes_any(w):
                reverted[user(w)] = ite(more, "none", var(user(w)))
        out.append(_local("RevertToSelf", (("worker", w),), revert_guard, reverted,
                          thread=f"worker {w}", message="RevertToSelf"))
        if s.after_network_error != "fail":
            for sid, for_user in sessions:
                updates: dict[str, Expr] = {pc(w): Const("start")}
                gone = not_(session_open(s, sid)) if self.tracked else TRUE
                updates[pending(sid)] = ite(gone, FALSE, var(pending(sid))) if self.tracked else FALSE
                if s.notifications:
                    updates[notify(sid)] = ite(gone, "off", var(notify(sid))) if self.tracked else Const("off")
                    updates[parked(sid)] = ite(gone, FALSE, var(parked(sid))) if self.tracked else FALSE
                if s.after_network_error == "reconnect-new":
                    updates.update(self.new_association(s.association_of(sid)))
                out.append(_local("Reconnect", params(sid),
                                  and_(eq(state, "failed"), uses_session(s, w, for_user)), updates,
                                  thread=f"worker {w}", message="Reconnect"))
        return out

    def session_actions(self, sid: int) -> list[Action]:
        s = self.s
        out: list[Action] = []
        n = var(notify(sid))  # read only where the session has notifications
        params = (("session", sid),)
        if s.notifications and s.async_connect_by == "notifier" and s.transport != "mapi-http":
            logged_on = session_open(s, sid) if self.tracked else in_(var(pc(sid)), ("working", "finished"))
            out.append(self.call(
                "EcDoAsyncConnectEx", sid, sid, notifier=True,
                guard=and_(eq(n, "off"), logged_on),
                on_ok={notify(sid): Const("idle" if s.server_async else "polling")},
                on_fail={notify(sid): self.react()}, params=params,
                ok_result="ok" if s.server_async else REJECTED,
            ))
        if s.notifications:
            is_parked, is_pending = var(parked(sid)), var(pending(sid))
            out.append(self.call(
                "EcDoAsyncWaitEx", sid, sid, notifier=True, guard=eq(n, "idle"),
                on_ok={
                    notify(sid): case((is_parked, self.react()), (is_pending, "fetch"), default="waiting"),
                    parked(sid): is_parked | not_(is_pending),
                },
                on_fail={notify(sid): self.react()}, params=params,
                ok_result=case((is_parked, REJECTED), (is_pending, "NotificationPending"), default="parked"),
            ))
            out.append(self.call(
                "FetchNotifications", sid, sid, notifier=True, guard=eq(n, "fetch"),
                on_ok={pending(sid): FALSE, notify(sid): Const("idle")},
                on_fail={notify(sid): self.react()}, params=params, message="EcDoRpcExt2",
            ))
            out.append(self.call(
                "Poll", sid, sid, notifier=True, guard=eq(n, "polling"),
                on_ok={pending(sid): FALSE}, on_fail={}, params=params, message="EcDoRpcExt2",
            ))
        out.append(_local("ServerEvent", params, and_(session_open(s, sid), not_(var(pending(sid)))),
                          {pending(sid): TRUE}, thread=SERVER_THREAD, message="ServerEvent"))
        if s.notifications:
            out.append(_local("CompleteWait", params, and_(var(parked(sid)), var(pending(sid))),
                              {parked(sid): FALSE, notify(sid): Const("fetch")},
                              thread=SERVER_THREAD, message="CompleteWait", result="NotificationPending"))
            out.append(_local("WaitTimeout", params, and_(var(parked(sid)), not_(var(pending(sid)))),
                              {parked(sid): FALSE, notify(sid): Const("idle")},
                              thread=SERVER_THREAD, message="WaitTimeout", result="flags=0"))
        return out


def _action(
    name: str, params: tuple[tuple[str, int], ...], guard: Expr, updates: dict[str, Expr], labels: dict[str, Expr]
) -> Action:
    return Action(
        name=name,
        params=params,
        guard=guard,
        updates=tuple(sorted(updates.items())),
        labels=tuple(labels.items()),
    )


def _local(
    name: str,
    params: tuple[tuple[str, int], ...],
    guard: Expr,
    updates: dict[str, Expr],
    *,
    thread: str,
    message: str,
    context: Operand = "-",
    result: str = "ok",
) -> Action:
    """An action that does not reach the front end (a local thread step or a server-internal event)."""
    labels = {
        "thread": Const(thread),
        "message": Const(message),
        "context": lift(context),
        "association": Const(0),
        "cache": Const("-"),
        "result": Const(result),
    }
    return _action(name, params, guard, updates, labels)
