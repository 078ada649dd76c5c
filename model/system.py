"""The registration protocol as a transition system, built from a Scenario (see SEMANTICS.md).

This module is the symbolic half of the model: every guard, update and label is an expression,
so that the same definition feeds the z3 engines and the explicit-state engine. The admission
rule of the Exchange 2013 front end (register, hit, mismatch, evict) is written once, in
:meth:`_Builder.admission`, and used by every call that reaches the server.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.scenario import SYSTEM, Scenario
from regcheck.errors import InvalidArgument
from regcheck.expr import (
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
    in_,
    ite,
    lift,
    lt,
    not_,
    var,
)
from regcheck.result import STUTTER
from regcheck.system import Action, ProcessGroup, TransitionSystem, Variable, boolean, enum, int_range

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


MISMATCH_SEEN = "mismatch_seen"


def build(scenario: Scenario) -> TransitionSystem:
    """The transition system of ``scenario`` (a fixed number of workers)."""
    if scenario.parameterised:
        raise InvalidArgument("workers=any has no single transition system; it is checked by counter abstraction")
    return _Builder(scenario).system()


def local_variables(scenario: Scenario, w: int) -> tuple[str, ...]:
    """The variables that belong to worker w and its session alone (and its association, if it has its own)."""
    names = [imp(w), pc(w), done(w), pending(w)]
    if scenario.notifications:
        names += [notify(w), parked(w)]
    if scenario.association_scope == "session" and scenario.transport != "mapi-http":
        if has_cache(scenario):
            names += [reg(w), admitted(w)]
        if has_binding_snapshot(scenario):
            names.append(bound(w))
    return tuple(names)


def has_cache(scenario: Scenario) -> bool:
    return scenario.transport == "rpc-http"


def has_binding_snapshot(scenario: Scenario) -> bool:
    return scenario.identity_tracking == "static" and scenario.transport != "mapi-http"


STUTTER_LABELS: tuple[tuple[str, Value], ...] = (
    ("thread", "-"), ("message", STUTTER), ("context", "-"), ("association", 0), ("cache", "-"), ("result", "-"),
)
"""How the closing step of a lasso that ends in a deadlock is labelled: no thread, no call."""


class _Builder:
    def __init__(self, scenario: Scenario) -> None:
        self.s = scenario
        self.workers = scenario.worker_ids
        self.associations = range(1, scenario.association_count + 1)
        self.cache = has_cache(scenario)
        self.static = has_binding_snapshot(scenario)

    # Variables --------------------------------------------------------------------------------

    def variables(self) -> list[tuple[Variable, Operand]]:
        s = self.s
        ids = s.identities
        out: list[tuple[Variable, Operand]] = []
        for w in self.workers:
            out += [
                (Variable(imp(w), boolean(), f"worker {w} is impersonating {s.user_of(w)}"), False),
                (Variable(pc(w), enum(*PC), f"worker {w}'s progress"), "start"),
                (Variable(done(w), int_range(0, s.requests), f"worker {w}'s successful EcDoRpcExt2 calls"), 0),
                (Variable(pending(w), boolean(), f"the server holds a notification for session {w}"), False),
            ]
            if s.notifications:
                out += [
                    (Variable(notify(w), enum(*NOTIFY), f"notification thread of session {w}"), "off"),
                    (Variable(parked(w), boolean(), f"an EcDoAsyncWaitEx of session {w} is parked"), False),
                ]
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
        for w in self.workers:
            actions += self.session_actions(w)
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
        """Workers that impersonate one user are interchangeable, and so are users (with their workers).

        A worker's block is its local variables (its association's too, with one per session).
        A user's group is named by the user, so that two users with as many workers may be
        swapped, unless the user is the process identity (which every notifier carries).
        regcheck.symmetry verifies this claim against the actions before using it.
        """
        s = self.s
        groups: dict[str, list[tuple[str, ...]]] = {}
        for w in self.workers:
            groups.setdefault(s.user_of(w), []).append(local_variables(s, w))
        return tuple(
            ProcessGroup(tuple(blocks), value=None if user == s.process_identity else user)
            for user, blocks in groups.items()
        )

    # Identities and admission -----------------------------------------------------------------

    def thread_identity(self, w: int, *, notifier: bool) -> Expr:
        if notifier:
            return Const(self.s.process_identity)
        return ite(var(imp(w)), self.s.user_of(w), self.s.process_identity)

    def call_identity(self, w: int, *, notifier: bool) -> tuple[Expr, dict[str, Expr]]:
        """The identity a call carries, and the binding-snapshot update it makes (static tracking)."""
        own = self.thread_identity(w, notifier=notifier)
        if not self.static:
            return own, {}
        a = self.s.association_of(w)
        snapshot = var(bound(a))
        unbound = eq(snapshot, "none")
        return ite(unbound, own, snapshot), {bound(a): ite(unbound, own, snapshot)}

    def owner(self, w: int) -> str:
        return self.s.user_of(w) if self.s.impersonate else self.s.process_identity

    def admission(self, w: int, identity: Expr, *, connect: bool = False) -> Admission:
        """The front end's treatment of a call for session ``w`` carrying ``identity``."""
        s = self.s
        if s.transport == "rpc-tcp":
            return Admission(Const("-"), TRUE, Const("ok"), {})
        if s.transport == "mapi-http":
            ok = TRUE if connect else eq(identity, self.owner(w))
            return Admission(Const("-"), ok, Const(ACCESS_DENIED), {})
        a = s.association_of(w)
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

    def react(self) -> Expr:
        """The notifier's next state after a failed notification call (async_failure)."""
        return Const({"poll": "polling", "retry": "idle", "give-up": "stopped"}[self.s.async_failure])

    def message(self, rpc_name: str) -> str:
        if self.s.transport != "mapi-http":
            return rpc_name
        return {"EcDoConnectEx": "Connect", "EcDoRpcExt2": "Execute", "EcDoAsyncWaitEx": "NotificationWait"}.get(
            rpc_name, rpc_name
        )

    def association_label(self, w: int) -> int:
        return 0 if self.s.transport == "mapi-http" else self.s.association_of(w)

    def call(
        self,
        name: str,
        w: int,
        *,
        notifier: bool,
        guard: Expr,
        on_ok: dict[str, Expr],
        on_fail: dict[str, Expr],
        ok_result: Operand = "ok",
        connect: bool = False,
        message: str | None = None,
        param: str = "worker",
    ) -> Action:
        """An action that sends one call through admission, then applies ``on_ok`` or ``on_fail``."""
        identity, snapshot = self.call_identity(w, notifier=notifier)
        adm = self.admission(w, identity, connect=connect)
        updates: dict[str, Expr] = {**snapshot, **adm.updates}
        for target in set(on_ok) | set(on_fail):
            old = var(target)
            updates[target] = ite(adm.admitted, on_ok.get(target, old), on_fail.get(target, old))
        thread = f"notifier {w}" if notifier else f"worker {w}"
        labels = {
            "thread": Const(thread),
            "message": Const(self.message(message or name)),
            "context": identity,
            "association": Const(self.association_label(w)),
            "cache": adm.event,
            "result": ite(adm.admitted, ok_result, adm.failure),
        }
        return _action(name, param, w, guard, updates, labels)

    # Actions ----------------------------------------------------------------------------------

    def worker_actions(self, w: int) -> list[Action]:
        s = self.s
        out: list[Action] = []
        state = var(pc(w))
        if s.impersonate:
            out.append(
                _local(
                    "Impersonate",
                    w,
                    and_(eq(state, "start"), not_(var(imp(w)))),
                    {imp(w): TRUE},
                    thread=f"worker {w}",
                    message="ImpersonateLoggedOnUser",
                    context=s.user_of(w),
                )
            )
        worker_connects_async = s.notifications and s.async_connect_by == "worker" and s.transport != "mapi-http"
        identity, _ = self.call_identity(w, notifier=False)
        denied = eq(identity, SYSTEM)
        connected: dict[str, Expr] = {
            pc(w): ite(denied, "denied", "connected" if worker_connects_async else "working"),
        }
        if s.notifications and s.transport == "mapi-http":
            connected[notify(w)] = ite(denied, var(notify(w)), "idle")
        out.append(
            self.call(
                "EcDoConnectEx",
                w,
                notifier=False,
                guard=and_(eq(state, "start"), var(imp(w)) if s.impersonate else TRUE),
                on_ok=connected,
                on_fail={pc(w): Const("failed")},
                ok_result=ite(denied, ACCESS_DENIED, "ok"),
                connect=True,
            )
        )
        if worker_connects_async:
            out.append(
                self.call(
                    "EcDoAsyncConnectEx",
                    w,
                    notifier=False,
                    guard=eq(state, "connected"),
                    on_ok={pc(w): Const("working"), notify(w): Const("idle" if s.server_async else "polling")},
                    on_fail={pc(w): Const("failed")},
                    ok_result="ok" if s.server_async else REJECTED,
                    param="session",
                )
            )
        out.append(
            self.call(
                "EcDoRpcExt2",
                w,
                notifier=False,
                guard=and_(eq(state, "working"), lt(var(done(w)), s.requests)),
                on_ok={done(w): add(var(done(w)), 1)},
                on_fail={pc(w): Const("failed")},
            )
        )
        out.append(
            _local(
                "RevertToSelf",
                w,
                and_(eq(state, "working"), eq(var(done(w)), s.requests)),
                {pc(w): Const("finished"), imp(w): FALSE},
                thread=f"worker {w}",
                message="RevertToSelf",
            )
        )
        if s.after_network_error != "fail":
            updates: dict[str, Expr] = {pc(w): Const("start"), pending(w): FALSE}
            if s.notifications:
                updates[notify(w)] = Const("off")
                updates[parked(w)] = FALSE
            if s.after_network_error == "reconnect-new":
                a = s.association_of(w)
                if self.cache:
                    updates[reg(a)] = Const("none")
                    updates[admitted(a)] = Const("none")
                if self.static:
                    updates[bound(a)] = Const("none")
            out.append(
                _local("Reconnect", w, eq(state, "failed"), updates, thread=f"worker {w}", message="Reconnect")
            )
        return out

    def session_actions(self, w: int) -> list[Action]:
        s = self.s
        out: list[Action] = []
        n = var(notify(w))  # read only where the session has notifications
        if s.notifications and s.async_connect_by == "notifier" and s.transport != "mapi-http":
            out.append(
                self.call(
                    "EcDoAsyncConnectEx",
                    w,
                    notifier=True,
                    guard=and_(eq(n, "off"), in_(var(pc(w)), ("working", "finished"))),
                    on_ok={notify(w): Const("idle" if s.server_async else "polling")},
                    on_fail={notify(w): self.react()},
                    ok_result="ok" if s.server_async else REJECTED,
                    param="session",
                )
            )
        if s.notifications:
            is_parked, is_pending = var(parked(w)), var(pending(w))
            out.append(
                self.call(
                    "EcDoAsyncWaitEx",
                    w,
                    notifier=True,
                    guard=eq(n, "idle"),
                    on_ok={
                        notify(w): case((is_parked, self.react()), (is_pending, "fetch"), default="waiting"),
                        parked(w): is_parked | not_(is_pending),
                    },
                    on_fail={notify(w): self.react()},
                    ok_result=case((is_parked, REJECTED), (is_pending, "NotificationPending"), default="parked"),
                    param="session",
                )
            )
            out.append(
                self.call(
                    "FetchNotifications",
                    w,
                    notifier=True,
                    guard=eq(n, "fetch"),
                    on_ok={pending(w): FALSE, notify(w): Const("idle")},
                    on_fail={notify(w): self.react()},
                    message="EcDoRpcExt2",
                    param="session",
                )
            )
            out.append(
                self.call(
                    "Poll",
                    w,
                    notifier=True,
                    guard=eq(n, "polling"),
                    on_ok={pending(w): FALSE},
                    on_fail={},
                    message="EcDoRpcExt2",
                    param="session",
                )
            )
        out.append(
            _local(
                "ServerEvent",
                w,
                and_(in_(var(pc(w)), OPEN), not_(var(pending(w)))),
                {pending(w): TRUE},
                thread="server",
                message="ServerEvent",
                param="session",
            )
        )
        if s.notifications:
            out.append(
                _local(
                    "CompleteWait",
                    w,
                    and_(var(parked(w)), var(pending(w))),
                    {parked(w): FALSE, notify(w): Const("fetch")},
                    thread="server",
                    message="CompleteWait",
                    result="NotificationPending",
                    param="session",
                )
            )
            out.append(
                _local(
                    "WaitTimeout",
                    w,
                    and_(var(parked(w)), not_(var(pending(w)))),
                    {parked(w): FALSE, notify(w): Const("idle")},
                    thread="server",
                    message="WaitTimeout",
                    result="flags=0",
                    param="session",
                )
            )
        return out


def _action(name: str, param: str, w: int, guard: Expr, updates: dict[str, Expr], labels: dict[str, Expr]) -> Action:
    return Action(
        name=name,
        params=((param, w),),
        guard=guard,
        updates=tuple(sorted(updates.items())),
        labels=tuple(labels.items()),
    )


def _local(
    name: str,
    w: int,
    guard: Expr,
    updates: dict[str, Expr],
    *,
    thread: str,
    message: str,
    context: str = "-",
    result: str = "ok",
    param: str = "worker",
) -> Action:
    """An action that does not reach the front end (a local thread step or a server-internal event)."""
    labels = {
        "thread": Const(thread),
        "message": Const(message),
        "context": Const(context),
        "association": Const(0),
        "cache": Const("-"),
        "result": Const(result),
    }
    return _action(name, param, w, guard, updates, {k: lift(v) for k, v in labels.items()})
