"""The reference simulator: SEMANTICS.md executed as plain Python, one action at a time.

Why a second implementation: the symbolic transition system (``regcheck/model/system.py``) is what the
engines check, and a wrong encoding would give wrong verdicts with a straight face. This module
implements the same written semantics again, independently and imperatively, so that every
counterexample can be replayed step by step here; a disagreement is a bug report against one of
the two.

The code mirrors the parties of the protocol rather than a table of formulas:

* ``Binding``   -- the client RPC runtime's binding handle: which identity a call carries.
* ``FrontEnd``  -- the server's admission of a call: the Exchange 2013 OA registration cache
  (``rpc-http``), nothing (``rpc-tcp``), or the MAPI/HTTP session-owner check.
* ``Worker``    -- application thread w: its jobs (take one, impersonate, log on or reuse a session,
  make the requests, log off, revert), and reconnecting after a failure.
* ``Notifier``  -- MAPI's notification thread(s) for session s: async connect, wait, fetch, poll.
* ``Server``    -- the mailbox server's own moves for session s: events, completing parked waits.

A classic design (one fixed user, one job, session w per worker) has no ``job``, ``user`` or
``owner`` variables; a tracked one (several jobs, ``*`` jobs, or per-user sessions) has them where
SEMANTICS.md's table says. States are plain dicts keyed by the ITF variable names of SEMANTICS.md;
``step`` never mutates its argument.

What it shares with the symbolic model is only what SEMANTICS.md names: action names and parameters,
label names, ITF variable names and values. It reads a scenario's raw switches (the ``Scenario``
fields) and derives every fact -- jobs, users served, impersonation, identities, rights, sessions,
associations, a ``workers = "any"`` design made concrete -- itself, in ``model.reference_design``;
it never calls a derived method of ``Scenario`` (``tests/test_replay_independence.py`` checks this).
Only ``model.scenario`` (for its type and constants), ``model.reference_design`` and the standard
library are imported, on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from regcheck.model.reference_design import Design
from regcheck.model.scenario import ANY_USER, Scenario

Value = bool | int | str
State = dict[str, Value]
Labels = dict[str, Value]
Params = dict[str, int]

NONE = "none"
"""``reg``/``admitted``/``bound``/``user``/``owner`` value: nothing recorded yet."""
EVICTED = "evicted"
"""``reg`` value: the entry was removed after a mismatch."""

PC_VALUES = ("start", "connected", "working", "finished", "failed", "denied")
NOTIFY_VALUES = ("off", "idle", "waiting", "fetch", "polling", "stopped")
OPEN_PCS = ("connected", "working", "finished")

NETWORK_ERROR = "MAPI_E_NETWORK_ERROR"
ACCESS_DENIED = "ecAccessDenied"
REJECTED = "ecRejected"

_MAPI_HTTP_MESSAGES = {
    "EcDoConnectEx": "Connect",
    "EcDoRpcExt2": "Execute",
    "EcDoAsyncWaitEx": "NotificationWait",
    "EcDoDisconnect": "Disconnect",
}
"""MAPI/HTTP request types that replace the RPC names in the ``message`` label."""

_REACTIONS = {"poll": "polling", "retry": "idle", "give-up": "stopped"}
"""``async_failure`` -> the notifier's next ``notify`` value after a failed notification call."""


class StepRefused(Exception):
    """The action is not enabled in this state, or is unknown for the scenario; str(exc) says why in the model's words."""


# --------------------------------------------------------------------------------------------
# Small shared vocabulary


def _v(name: str, index: int) -> str:
    """The ITF name of an indexed variable, e.g. ``pc[1]``."""
    return f"{name}[{index}]"


def _count(state: State, name: str) -> int:
    """A counter's value; the simulator's own states hold whole numbers there, and nothing else."""
    value = state[name]
    assert isinstance(value, int), f"{name} holds {value!r}, not a count"
    return value


def _labels(
    thread: str,
    message: str,
    *,
    context: str = "-",
    association: int = 0,
    cache: str = "-",
    result: str = "ok",
) -> Labels:
    """One step's labels, with the defaults of an action that makes no admission."""
    return {
        "thread": thread,
        "message": message,
        "context": context,
        "association": association,
        "cache": cache,
        "result": result,
    }


def _call(name: str, params: Params) -> str:
    """An action instance as SEMANTICS.md writes it: ``EcDoRpcExt2(worker=1, session=2)``."""
    return f"{name}({', '.join(f'{k}={v}' for k, v in params.items())})"


@dataclass(frozen=True)
class Args:
    """An action instance's parameters, resolved: the worker (0 for a session action), the session the
    action is for (for a worker action outside per-user sessions, s = w), and TakeJob's user index."""

    worker: int = 0
    session: int = 0
    user: int = 0


class _Model:
    """Facts every party needs, named as in SEMANTICS.md, read from the simulator's own ``Design``."""

    def __init__(self, design: Design) -> None:
        self.d = design
        self.async_ = design.notifications  # `async`: connect_flags & 0x20 == 0
        self.rpc = design.transport in ("rpc-http", "rpc-tcp")
        self.has_cache = design.transport == "rpc-http"
        self.static = self.rpc and design.identity_tracking == "static"
        self.tracked = design.tracked
        self.per_user = design.session_reuse == "per-user"
        self.per_job = design.session_reuse == "per-job"
        self.workers = tuple(design.worker_ids)
        self.sessions = tuple(design.session_ids)
        self.jobs = {w: design.jobs_of(w) for w in self.workers}

    # Jobs and the current user

    def job_count(self, w: int) -> int:
        """J(w): how many jobs worker w runs."""
        return len(self.jobs[w])

    def has_job_var(self, w: int) -> bool:
        """``job[w]`` exists: J(w) > 1."""
        return self.job_count(w) > 1

    def has_user_var(self, w: int) -> bool:
        """``user[w]`` exists: worker w takes ``*`` jobs."""
        return ANY_USER in self.jobs[w]

    def job(self, s: State, w: int) -> int:
        """The current job of worker w (1 when it has only one)."""
        return _count(s, _v("job", w)) if self.has_job_var(w) else 1

    def job_is_any(self, s: State, w: int) -> bool:
        """Whether worker w's current job is a ``*`` job (its user chosen by TakeJob)."""
        return self.jobs[w][self.job(s, w) - 1] == ANY_USER

    def cu(self, s: State, w: int) -> str:
        """``cu(w)``: the current job's user; ``none`` for a ``*`` job before TakeJob."""
        entry = self.jobs[w][self.job(s, w) - 1]
        return str(s[_v("user", w)]) if entry == ANY_USER else entry

    def serves(self, w: int) -> tuple[str, ...]:
        """The users worker w can serve, in the order of ``users``."""
        return self.d.serves(w)

    def sessions_of(self, w: int) -> tuple[int, ...]:
        """The sessions worker w's session-using actions may name under per-user sessions."""
        return tuple(self.d.session_of_user(u) for u in self.serves(w))

    def has_disconnect(self, w: int) -> bool:
        """EcDoDisconnect exists for some job of worker w: per-job sessions and J(w) > 1."""
        return self.per_job and self.job_count(w) > 1

    # Sessions and associations

    def is_open(self, s: State, session: int) -> bool:
        """Session s is open: classic, ``pc[s]`` is connected, working or finished; tracked, it has an owner."""
        if self.tracked:
            return s[_v("owner", session)] != NONE
        return s[_v("pc", session)] in OPEN_PCS

    def assoc(self, session: int) -> int:
        """Session s's association (RPC transports only)."""
        return self.d.association_of(session)

    def association_label(self, session: int) -> int:
        """The ``association`` label of an admitted-or-refused call for session s: 0 on MAPI/HTTP."""
        return self.assoc(session) if self.rpc else 0

    def reset_association(self, s: State, session: int) -> None:
        """A new association (a new GUID) for session s: nothing is known about it."""
        a = self.assoc(session)
        for name in ("reg", "admitted", "bound"):
            if _v(name, a) in s:
                s[_v(name, a)] = NONE

    def message(self, rpc_name: str) -> str:
        """The ``message`` label: the RPC name, or the MAPI/HTTP request type on ``mapi-http``."""
        if self.d.transport == "mapi-http":
            return _MAPI_HTTP_MESSAGES.get(rpc_name, rpc_name)
        return rpc_name

    def owner(self, s: State, session: int) -> str:
        """Who logged session s on, as MAPI/HTTP's owner check sees it (``none``: nobody)."""
        if self.tracked:
            return str(s[_v("owner", session)])
        w = session  # classic: session w is worker w's, for its one fixed user
        return self.cu(s, w) if self.d.impersonates(w) else self.d.process_identity

    def react(self, s: State, session: int) -> None:
        """The notifier's reaction to a failed notification call (``async_failure``)."""
        s[_v("notify", session)] = _REACTIONS[self.d.async_failure]

    def close_session(self, s: State, session: int) -> None:
        """Tracked: a failed call kills the session (``owner[s] := none``)."""
        if self.tracked:
            s[_v("owner", session)] = NONE

    def reset_notifications(self, s: State, session: int) -> None:
        """Session s's notification state back to nothing: no pending event, no wait, notifier off."""
        s[_v("pending", session)] = False
        if self.async_:
            s[_v("notify", session)] = "off"
            s[_v("parked", session)] = False


# --------------------------------------------------------------------------------------------
# Client side: which identity a call carries


class Binding:
    """The client's RPC binding handle: decides the identity a call carries.

    Dynamic tracking (and MAPI/HTTP, which has no binding) sends the calling thread's token.
    Static tracking snapshots the first caller's identity per association and sends it forever
    after -- the variant in which the bug would vanish.
    """

    def __init__(self, model: _Model) -> None:
        self.m = model

    def carried_identity(self, s: State, session: int, thread_identity: str) -> str:
        """The identity a call for session s carries; under static tracking, may set ``bound[a]``."""
        if not self.m.static:
            return thread_identity
        key = _v("bound", self.m.assoc(session))
        if s[key] == NONE:
            s[key] = thread_identity  # set before the call reaches the server, whatever the outcome
            return thread_identity
        return str(s[key])


# --------------------------------------------------------------------------------------------
# Server side: admission


@dataclass(frozen=True)
class Admission:
    """What admission made of one call: admitted or not, the cache event, and the failure result."""

    admitted: bool
    cache: str = "-"
    failure: str = ""


class FrontEnd:
    """The first thing every EMSMDB / AsyncEMSMDB call meets on the server side.

    On ``rpc-http`` this is the Exchange 2013 Outlook Anywhere front end and its registration cache:
    one entry per association, registered on the first request, and a request from another security
    context on the same association is a mismatch ("Registration of the Association GUID failed").
    """

    def __init__(self, model: _Model) -> None:
        self.m = model

    def admit(self, s: State, session: int, identity: str, *, connect: bool) -> Admission:
        """Admit (or fail) a call for session s carrying ``identity``; updates ``s`` in place."""
        transport = self.m.d.transport
        if transport == "rpc-tcp":
            return Admission(True)
        if transport == "mapi-http":
            # A session that is not logged on has owner "none", which no identity equals.
            if connect or identity == self.m.owner(s, session):
                return Admission(True)
            return Admission(False, failure=ACCESS_DENIED)  # nothing is evicted
        return self._registration_cache(s, self.m.assoc(session), identity)

    def _registration_cache(self, s: State, a: int, identity: str) -> Admission:
        reg = _v("reg", a)
        current = s[reg]
        if current == NONE:
            s[reg] = identity
            outcome = Admission(True, "registered")
        elif current == EVICTED:
            if self.m.d.registration == "every-miss":
                s[reg] = identity
                outcome = Admission(True, "re-registered")
            else:
                outcome = Admission(False, "no-registration", NETWORK_ERROR)
        elif current == identity:
            outcome = Admission(True, "hit")
        else:
            s["mismatch_seen"] = True
            if self.m.d.on_mismatch == "evict":
                s[reg] = EVICTED
                outcome = Admission(False, "mismatch-evicted", NETWORK_ERROR)
            else:
                outcome = Admission(False, "mismatch", NETWORK_ERROR)
        if outcome.admitted:
            s[_v("admitted", a)] = identity
        return outcome


# --------------------------------------------------------------------------------------------
# The parties and their actions

Guard = Callable[[State, Args], "str | None"]
Effect = Callable[[State, Args], Labels]


@dataclass(frozen=True)
class Action:
    """One action kind: its name, its parameters, its instances, why one is not enabled, and what it does."""

    name: str
    params: tuple[str, ...]  # ("worker",), ("session",), ("worker", "session") or ("worker", "user")
    instances: tuple[tuple[int, Args], ...]  # (the worker or session it belongs to, its parameters), in order
    why_not: Guard  # None when enabled, else the reason in the model's words
    effect: Effect  # mutates a fresh copy of the state, returns the labels
    no_instance: Callable[[Args], str] = lambda args: "no such instance"  # why an in-range args is not one

    def params_of(self, args: Args) -> Params:
        """The parameter dict of an instance, in the order of ``params``."""
        return {p: getattr(args, p) for p in self.params}


class Worker:
    """Application thread w: runs its jobs (take, impersonate, log on or reuse, requests, log off, revert)."""

    def __init__(self, model: _Model, binding: Binding, front_end: FrontEnd) -> None:
        self.m = model
        self.binding = binding
        self.front_end = front_end

    def actions(self) -> list[Action]:
        """The worker's actions in the numbered order of SEMANTICS.md (1-9)."""
        m = self.m
        every = tuple((w, Args(worker=w, session=w)) for w in m.workers)
        if m.per_user:  # one instance per session of a user the worker can serve
            session_params: tuple[str, ...] = ("worker", "session")
            using = tuple((w, Args(worker=w, session=s)) for w in m.workers for s in m.sessions_of(w))
        else:
            session_params, using = ("worker",), every
        acts: list[Action] = []
        takers = [w for w in m.workers if m.has_user_var(w)]
        if takers:
            instances = tuple(
                (w, Args(worker=w, session=w, user=i)) for w in takers for i in range(1, len(m.d.users) + 1)
            )
            acts.append(
                Action("TakeJob", ("worker", "user"), instances, self.why_not_take, self.take, self.no_take)
            )
        acts += [
            Action("Impersonate", ("worker",), every, self.why_not_impersonate, self.impersonate),
            Action("EcDoConnectEx", session_params, using, self.why_not_connect, self.connect, self.no_session),
        ]
        if m.tracked:
            acts.append(Action("UseSession", session_params, using, self.why_not_use, self.use, self.no_session))
        if m.d.async_connect_by == "worker":
            if m.per_user:
                params, instances = session_params, using
            else:  # the worker's EcDoAsyncConnectEx is named by its session, s = w
                params, instances = ("session",), every
            acts.append(
                Action(
                    "EcDoAsyncConnectEx", params, instances, self.why_not_async_connect, self.async_connect,
                    self.no_session,
                )
            )
        acts.append(Action("EcDoRpcExt2", session_params, using, self.why_not_rpc, self.rpc, self.no_session))
        if any(m.has_disconnect(w) for w in m.workers):
            acts.append(Action("EcDoDisconnect", ("worker",), every, self.why_not_disconnect, self.disconnect))
        acts += [
            Action("RevertToSelf", ("worker",), every, self.why_not_revert, self.revert),
            Action("Reconnect", session_params, using, self.why_not_reconnect, self.reconnect, self.no_session),
        ]
        return acts

    # Helpers

    @staticmethod
    def thread(w: int) -> str:
        return f"worker {w}"

    def thread_identity(self, s: State, w: int) -> str:
        """The worker's token: cu(w) while impersonating, else the process identity."""
        return self.m.cu(s, w) if s[_v("imp", w)] else self.m.d.process_identity

    def call(self, s: State, a: Args, *, connect: bool = False) -> tuple[str, Admission]:
        """Make a call from worker w for its session s: pick the carried identity, then go through admission."""
        identity = self.binding.carried_identity(s, a.session, self.thread_identity(s, a.worker))
        return identity, self.front_end.admit(s, a.session, identity, connect=connect)

    def _call_labels(self, a: Args, rpc_name: str, identity: str, adm: Admission, result: str) -> Labels:
        return _labels(
            self.thread(a.worker),
            self.m.message(rpc_name),
            context=identity,
            association=self.m.association_label(a.session),
            cache=adm.cache,
            result=result,
        )

    def _pc_is(self, s: State, w: int, *wanted: str) -> str | None:
        pc = s[_v("pc", w)]
        if pc in wanted:
            return None
        return f"worker {w} is {pc}, not {' or '.join(wanted)}"

    def _user_known(self, s: State, w: int) -> str | None:
        if self.m.cu(s, w) == NONE:
            return f"worker {w} has no user yet (user[{w}] = none: TakeJob first)"
        return None

    def _session_matches(self, s: State, a: Args) -> str | None:
        """Per-user sessions: the instance's session must be the current user's (cu(w) = users[s])."""
        if not self.m.per_user:
            return None
        user = self.m.cu(s, a.worker)
        wanted = self.m.d.users[a.session - 1]
        if user != wanted:
            return f"session {a.session} is {wanted}'s, and worker {a.worker}'s current user is {user}"
        return None

    def _ready(self, s: State, a: Args) -> str | None:
        """pc[w] = start, its user known, and impersonating if it impersonates (plus the per-user session guard)."""
        w = a.worker
        why = self._pc_is(s, w, "start") or self._user_known(s, w) or self._session_matches(s, a)
        if why is not None:
            return why
        if self.m.d.impersonates(w) and not s[_v("imp", w)]:
            return f"worker {w} has not impersonated {self.m.cu(s, w)} yet"
        return None

    def no_session(self, a: Args) -> str:
        user = self.m.d.users[a.session - 1]
        serves = ", ".join(self.m.serves(a.worker))
        return f"session {a.session} is {user}'s, and worker {a.worker} serves only {serves}"

    # 1. TakeJob (workers that take "*" jobs)

    def no_take(self, a: Args) -> str:
        jobs = ", ".join(self.m.jobs[a.worker])
        return f'worker {a.worker} takes no "{ANY_USER}" jobs (its jobs: {jobs})'

    def why_not_take(self, s: State, a: Args) -> str | None:
        w = a.worker
        if not self.m.job_is_any(s, w):
            return f'worker {w}\'s job {self.m.job(s, w)} is for {self.m.cu(s, w)}, not a "{ANY_USER}" job'
        why = self._pc_is(s, w, "start")
        if why is not None:
            return why
        if s[_v("user", w)] != NONE:
            return f"worker {w} has already taken a job for {s[_v('user', w)]}"
        return None

    def take(self, s: State, a: Args) -> Labels:
        user = self.m.d.users[a.user - 1]
        s[_v("user", a.worker)] = user
        return _labels(self.thread(a.worker), "TakeJob", context=user)

    # 2. Impersonate

    def why_not_impersonate(self, s: State, a: Args) -> str | None:
        w = a.worker
        if not self.m.d.impersonates(w):
            if self.m.d.worker_impersonates:
                return f"worker {w} does not impersonate (worker_impersonates[{w}] = false)"
            return "the scenario does not impersonate (impersonate = false)"
        why = self._pc_is(s, w, "start")
        if why is not None:
            return why
        if s[_v("imp", w)]:
            return f"worker {w} is already impersonating {self.m.cu(s, w)}"
        return self._user_known(s, w)

    def impersonate(self, s: State, a: Args) -> Labels:
        s[_v("imp", a.worker)] = True
        return _labels(self.thread(a.worker), "ImpersonateLoggedOnUser", context=self.m.cu(s, a.worker))

    # 3. EcDoConnectEx: log on, opening a new session

    def why_not_connect(self, s: State, a: Args) -> str | None:
        why = self._ready(s, a)
        if why is None and self.m.tracked and self.m.is_open(s, a.session):
            why = f"session {a.session} is already logged on (by {s[_v('owner', a.session)]}): UseSession"
        return why

    def connect(self, s: State, a: Args) -> Labels:
        w, session = a.worker, a.session
        user = self.m.cu(s, w)  # before the call: the labels and rights are of the state before the step
        identity, adm = self.call(s, a, connect=True)
        pc = _v("pc", w)
        mapi_http = self.m.d.transport == "mapi-http"
        if not adm.admitted:
            s[pc] = "failed"
            result = adm.failure
        elif not self.m.d.has_rights(identity, user):
            s[pc] = "denied"  # the identity has no rights on the job's mailbox
            result = ACCESS_DENIED
        else:
            result = "ok"
            if self.m.async_ and self.m.d.async_connect_by == "worker" and not mapi_http:
                s[pc] = "connected"  # the worker still owes EcDoAsyncConnectEx
            else:
                s[pc] = "working"
            if self.m.tracked:  # a new session, logged on by the identity the call carried
                s[_v("owner", session)] = identity
                self.m.reset_notifications(s, session)
            if self.m.async_ and mapi_http:
                s[_v("notify", session)] = "idle"  # the session cookie is all a wait needs
        return self._call_labels(a, "EcDoConnectEx", identity, adm, result)

    # 4. UseSession (tracked): reuse a session that is logged on

    def why_not_use(self, s: State, a: Args) -> str | None:
        why = self._ready(s, a)
        if why is None and not self.m.is_open(s, a.session):
            why = f"session {a.session} is not logged on: EcDoConnectEx"
        return why

    def use(self, s: State, a: Args) -> Labels:
        s[_v("pc", a.worker)] = "working"
        return _labels(self.thread(a.worker), "UseSession")

    # 5. EcDoAsyncConnectEx, made by the worker (async_connect_by = worker)

    def why_not_async_connect(self, s: State, a: Args) -> str | None:
        return self._pc_is(s, a.worker, "connected") or self._session_matches(s, a)

    def async_connect(self, s: State, a: Args) -> Labels:
        identity, adm = self.call(s, a)
        if not adm.admitted:
            s[_v("pc", a.worker)] = "failed"
            self.m.close_session(s, a.session)
            result = adm.failure
        else:
            s[_v("pc", a.worker)] = "working"
            if self.m.d.server_async:
                s[_v("notify", a.session)] = "idle"
                result = "ok"
            else:
                s[_v("notify", a.session)] = "polling"
                result = REJECTED
        return self._call_labels(a, "EcDoAsyncConnectEx", identity, adm, result)

    # 6. EcDoRpcExt2

    def why_not_rpc(self, s: State, a: Args) -> str | None:
        w = a.worker
        why = self._pc_is(s, w, "working") or self._session_matches(s, a)
        if why is None and _count(s, _v("done", w)) >= self.m.d.requests:
            why = f"worker {w} has made all {self.m.d.requests} of its requests"
        return why

    def rpc(self, s: State, a: Args) -> Labels:
        identity, adm = self.call(s, a)
        if adm.admitted:
            s[_v("done", a.worker)] = _count(s, _v("done", a.worker)) + 1
            result = "ok"
        else:
            s[_v("pc", a.worker)] = "failed"
            self.m.close_session(s, a.session)  # the session is dead
            result = adm.failure
        return self._call_labels(a, "EcDoRpcExt2", identity, adm, result)

    # 7. EcDoDisconnect (per-job sessions, before another job)

    def why_not_disconnect(self, s: State, a: Args) -> str | None:
        w = a.worker
        if not self.m.has_disconnect(w):
            return f"worker {w} has one job: its session stays logged on"
        if self.m.job(s, w) >= self.m.job_count(w):
            last = f"{self.m.job(s, w)} of {self.m.job_count(w)}"
            return f"worker {w} is on its last job ({last}): its session stays logged on"
        why = self._pc_is(s, w, "working")
        if why is not None:
            return why
        if s[_v("done", w)] != self.m.d.requests:
            return f"worker {w} has made {s[_v('done', w)]} of its {self.m.d.requests} requests"
        if not self.m.is_open(s, a.session):
            return f"session {a.session} is not logged on"
        return None

    def disconnect(self, s: State, a: Args) -> Labels:
        identity, adm = self.call(s, a)
        session = a.session
        # Whatever the outcome the session ends.
        s[_v("owner", session)] = NONE
        self.m.reset_notifications(s, session)
        if self.m.d.association_scope == "session" and self.m.rpc:
            self.m.reset_association(s, session)  # its association closes with it
        if adm.admitted:
            result = "ok"
        else:
            s[_v("pc", a.worker)] = "failed"
            result = adm.failure
        return self._call_labels(a, "EcDoDisconnect", identity, adm, result)

    # 8. RevertToSelf: end the job; the next one starts, or the worker is finished

    def why_not_revert(self, s: State, a: Args) -> str | None:
        w = a.worker
        why = self._pc_is(s, w, "working")
        if why is not None:
            return why
        if s[_v("done", w)] != self.m.d.requests:
            return f"worker {w} has made {s[_v('done', w)]} of its {self.m.d.requests} requests"
        last = self.m.job(s, w) >= self.m.job_count(w)
        if self.m.has_disconnect(w) and not last and self.m.is_open(s, a.session):
            return f"session {a.session} is still logged on: EcDoDisconnect first"
        return None

    def revert(self, s: State, a: Args) -> Labels:
        w = a.worker
        s[_v("imp", w)] = False
        if self.m.job(s, w) >= self.m.job_count(w):
            s[_v("pc", w)] = "finished"
        else:
            s[_v("pc", w)] = "start"
            s[_v("done", w)] = 0
            s[_v("job", w)] = self.m.job(s, w) + 1
            if self.m.has_user_var(w):
                s[_v("user", w)] = NONE
        return _labels(self.thread(w), "RevertToSelf")

    # 9. Reconnect

    def why_not_reconnect(self, s: State, a: Args) -> str | None:
        if self.m.d.after_network_error == "fail":
            return "a failed worker stays failed (after_network_error = fail)"
        return self._pc_is(s, a.worker, "failed") or self._session_matches(s, a)

    def reconnect(self, s: State, a: Args) -> Labels:
        s[_v("pc", a.worker)] = "start"
        if not self.m.is_open(s, a.session):
            self.m.reset_notifications(s, a.session)
        if self.m.d.after_network_error == "reconnect-new" and self.m.rpc:
            self.m.reset_association(s, a.session)  # the association gets a new GUID
        return _labels(self.thread(a.worker), "Reconnect")


class Notifier:
    """MAPI's notification thread(s): one per session, or one per process servicing every session.

    It never impersonates: its calls carry the process identity. Either way each session keeps its own
    notification state, so the actions are the same; only the ``thread`` label differs.
    """

    def __init__(self, model: _Model, binding: Binding, front_end: FrontEnd) -> None:
        self.m = model
        self.binding = binding
        self.front_end = front_end

    def actions(self) -> list[Action]:
        """The notifier's actions in numbered order: 5 (when it makes the async connect), 10-12 (when async)."""
        every = tuple((s, Args(session=s)) for s in self.m.sessions)
        acts = []
        if self.m.d.async_connect_by == "notifier":
            acts.append(
                Action("EcDoAsyncConnectEx", ("session",), every, self.why_not_async_connect, self.async_connect)
            )
        if self.m.async_:
            acts += [
                Action("EcDoAsyncWaitEx", ("session",), every, self.why_not_wait, self.wait),
                Action("FetchNotifications", ("session",), every, self.why_not_fetch, self.fetch),
                Action("Poll", ("session",), every, self.why_not_poll, self.poll),
            ]
        return acts

    def thread(self, session: int) -> str:
        return "notifier" if self.m.d.notifier == "per-process" else f"notifier {session}"

    def call(self, s: State, session: int) -> tuple[str, Admission]:
        """Make a call for session s with the notifier's identity, through admission."""
        identity = self.binding.carried_identity(s, session, self.m.d.process_identity)
        return identity, self.front_end.admit(s, session, identity, connect=False)

    def _labels(self, session: int, rpc_name: str, identity: str, adm: Admission, result: str) -> Labels:
        return _labels(
            self.thread(session),
            self.m.message(rpc_name),
            context=identity,
            association=self.m.association_label(session),
            cache=adm.cache,
            result=result,
        )

    def _notify_is(self, s: State, session: int, wanted: str) -> str | None:
        value = s[_v("notify", session)]
        return None if value == wanted else f"the notifier of session {session} is {value}, not {wanted}"

    # 5. EcDoAsyncConnectEx, made by the notifier (async_connect_by = notifier)

    def why_not_async_connect(self, s: State, a: Args) -> str | None:
        n = a.session
        if not self.m.async_:
            return "notifications are off (CONNECT_NO_NOTIFICATIONS is set in connect_flags)"
        if self.m.d.transport == "mapi-http":
            return "MAPI/HTTP has no EcDoAsyncConnectEx (transport = mapi-http)"
        why = self._notify_is(s, n, "off")
        if why is not None:
            return why
        if self.m.tracked:
            if not self.m.is_open(s, n):
                return f"session {n} is not logged on"
        elif s[_v("pc", n)] not in ("working", "finished"):
            return f"session {n} is {s[_v('pc', n)]}, not working or finished"
        return None

    def async_connect(self, s: State, a: Args) -> Labels:
        n = a.session
        identity, adm = self.call(s, n)
        if not adm.admitted:
            self.m.react(s, n)
            result = adm.failure
        elif self.m.d.server_async:
            s[_v("notify", n)] = "idle"
            result = "ok"
        else:
            s[_v("notify", n)] = "polling"
            result = REJECTED
        return self._labels(n, "EcDoAsyncConnectEx", identity, adm, result)

    # 10. EcDoAsyncWaitEx

    def why_not_wait(self, s: State, a: Args) -> str | None:
        return self._notify_is(s, a.session, "idle")

    def wait(self, s: State, a: Args) -> Labels:
        n = a.session
        identity, adm = self.call(s, n)
        if not adm.admitted:
            self.m.react(s, n)
            result = adm.failure
        elif s[_v("parked", n)]:
            self.m.react(s, n)  # another wait is already parked for this session
            result = REJECTED
        elif s[_v("pending", n)]:
            s[_v("notify", n)] = "fetch"
            result = "NotificationPending"
        else:
            s[_v("parked", n)] = True
            s[_v("notify", n)] = "waiting"
            result = "parked"
        return self._labels(n, "EcDoAsyncWaitEx", identity, adm, result)

    # 11. FetchNotifications (an EcDoRpcExt2 on the notification thread)

    def why_not_fetch(self, s: State, a: Args) -> str | None:
        return self._notify_is(s, a.session, "fetch")

    def fetch(self, s: State, a: Args) -> Labels:
        n = a.session
        identity, adm = self.call(s, n)
        if adm.admitted:
            s[_v("pending", n)] = False
            s[_v("notify", n)] = "idle"
            result = "ok"
        else:
            self.m.react(s, n)
            result = adm.failure
        return self._labels(n, "EcDoRpcExt2", identity, adm, result)

    # 12. Poll (an EcDoRpcExt2 on the notification thread)

    def why_not_poll(self, s: State, a: Args) -> str | None:
        return self._notify_is(s, a.session, "polling")

    def poll(self, s: State, a: Args) -> Labels:
        n = a.session
        identity, adm = self.call(s, n)
        if adm.admitted:
            s[_v("pending", n)] = False
            result = "ok"
        else:
            result = adm.failure  # the notifier keeps polling
        return self._labels(n, "EcDoRpcExt2", identity, adm, result)


class Server:
    """The mailbox server's own moves for session s: new events, and completing a parked wait."""

    def __init__(self, model: _Model) -> None:
        self.m = model

    def actions(self) -> list[Action]:
        """Server actions in numbered order: 13, then 14 and 15 when async."""
        every = tuple((s, Args(session=s)) for s in self.m.sessions)
        acts = [Action("ServerEvent", ("session",), every, self.why_not_event, self.event)]
        if self.m.async_:
            acts += [
                Action("CompleteWait", ("session",), every, self.why_not_complete, self.complete),
                Action("WaitTimeout", ("session",), every, self.why_not_timeout, self.timeout),
            ]
        return acts

    # 13. ServerEvent

    def why_not_event(self, s: State, a: Args) -> str | None:
        n = a.session
        if not self.m.is_open(s, n):
            if self.m.tracked:
                return f"session {n} is not open (owner[{n}] = none)"
            return f"session {n} is not open (worker {n} is {s[_v('pc', n)]})"
        if s[_v("pending", n)]:
            return f"session {n} already has an undelivered notification"
        return None

    def event(self, s: State, a: Args) -> Labels:
        s[_v("pending", a.session)] = True
        return _labels("server", "ServerEvent")

    # 14. CompleteWait

    def why_not_complete(self, s: State, a: Args) -> str | None:
        n = a.session
        if not s[_v("parked", n)]:
            return f"no EcDoAsyncWaitEx is parked for session {n}"
        if not s[_v("pending", n)]:
            return f"session {n} has no undelivered notification"
        return None

    def complete(self, s: State, a: Args) -> Labels:
        s[_v("parked", a.session)] = False
        s[_v("notify", a.session)] = "fetch"
        return _labels("server", "CompleteWait", result="NotificationPending")

    # 15. WaitTimeout

    def why_not_timeout(self, s: State, a: Args) -> str | None:
        n = a.session
        if not s[_v("parked", n)]:
            return f"no EcDoAsyncWaitEx is parked for session {n}"
        if s[_v("pending", n)]:
            return f"session {n} has an undelivered notification (the wait completes, it does not time out)"
        return None

    def timeout(self, s: State, a: Args) -> Labels:
        s[_v("parked", a.session)] = False
        s[_v("notify", a.session)] = "idle"
        return _labels("server", "WaitTimeout", result="flags=0")


# --------------------------------------------------------------------------------------------
# The simulator

_NOT_HERE = {
    "TakeJob": f'no worker takes "{ANY_USER}" jobs',
    "UseSession": "sessions are not tracked (one fixed user, one job and one session per worker)",
    "EcDoDisconnect": "it exists only when session_reuse = per-job and some worker has more than one job",
}
"""Why an action of SEMANTICS.md that a scenario lacks is not one of its actions (besides notifications)."""


class Simulator:
    """Executes the model of SEMANTICS.md for one scenario: initial state, enabled actions, steps."""

    def __init__(self, scenario: Scenario, workers: int | None = None) -> None:
        """The simulator of ``scenario``; ``workers`` fixes the count of a ``workers = "any"`` scenario."""
        design = Design.of(scenario, workers)
        for identity in design.identities:
            if identity in (NONE, EVICTED):
                # The ITF state spells "no registration" and "evicted" as these strings; an identity
                # with the same name would be indistinguishable from them.
                raise ValueError(
                    f"users: {identity!r} cannot be simulated: it collides with the reg/admitted/bound "
                    f"value {identity!r}"
                )
        self.design = design
        self._m = _Model(design)
        binding = Binding(self._m)
        front_end = FrontEnd(self._m)
        parties = (
            Worker(self._m, binding, front_end).actions(),
            Notifier(self._m, binding, front_end).actions(),
            Server(self._m).actions(),
        )
        self._by_name = {a.name: a for actions in parties for a in actions}
        # Every action instance, ordered by the worker or session it belongs to, then worker, notifier,
        # server, then the numbering: the classic order "worker w, notifier w, server for session w".
        ordered = sorted(
            ((index, rank, order, action, args)
             for rank, actions in enumerate(parties)
             for order, action in enumerate(actions)
             for index, args in action.instances),
            key=lambda item: item[:3],
        )
        self._instances = [(action, args) for _, _, _, action, args in ordered]
        self._args = {
            (action.name, tuple(getattr(args, p) for p in action.params)): args for action, args in self._instances
        }
        self._variables = frozenset(self.initial_state())

    def initial_state(self) -> State:
        """Every variable that exists for the scenario, at its initial value (SEMANTICS.md's table)."""
        m = self._m
        s: State = {}
        for w in m.workers:
            s[_v("imp", w)] = False
            s[_v("pc", w)] = "start"
            s[_v("done", w)] = 0
            if m.has_job_var(w):
                s[_v("job", w)] = 1
            if m.has_user_var(w):
                s[_v("user", w)] = NONE
        for n in m.sessions:
            if m.tracked:
                s[_v("owner", n)] = NONE
            s[_v("pending", n)] = False
            if m.async_:
                s[_v("notify", n)] = "off"
                s[_v("parked", n)] = False
        for a in self.design.association_ids:
            if m.has_cache:
                s[_v("reg", a)] = NONE
                s[_v("admitted", a)] = NONE
            if m.static:
                s[_v("bound", a)] = NONE
        if m.has_cache:
            s["mismatch_seen"] = False
        return s

    def enabled(self, state: State) -> list[tuple[str, Params]]:
        """The action instances enabled in ``state``, in a fixed order.

        For each index i: worker i's actions in numbered order (per-user instances in the order of the
        sessions), then those of the notification thread of session i, then the server's for session i.
        """
        self._check_state(state)
        return [
            (action.name, action.params_of(args))
            for action, args in self._instances
            if action.why_not(state, args) is None
        ]

    def step(self, state: State, name: str, params: Params) -> tuple[State, Labels]:
        """Take one action; returns a new state and the step's labels, or raises StepRefused."""
        action = self._by_name.get(name)
        if action is None:
            raise StepRefused(self._unknown(name))
        args = self._parameter(action, params)
        self._check_state(state)
        why = action.why_not(state, args)
        if why is not None:
            raise StepRefused(f"{_call(name, action.params_of(args))} is not enabled: {why}")
        new_state = dict(state)
        labels = action.effect(new_state, args)
        return new_state, labels

    # Refusal details

    def _unknown(self, name: str) -> str:
        known = ", ".join(self._by_name)
        if name in ("EcDoAsyncWaitEx", "FetchNotifications", "Poll", "CompleteWait", "WaitTimeout"):
            why = "notifications are off (CONNECT_NO_NOTIFICATIONS is set in connect_flags)"
            return f"{name} is not an action of scenario {self.design.name!r}: {why}; its actions: {known}"
        if name in _NOT_HERE:
            return (
                f"unknown action {name!r} for scenario {self.design.name!r}: {_NOT_HERE[name]}; "
                f"its actions: {known}"
            )
        return f"unknown action {name!r} for scenario {self.design.name!r}; its actions: {known}"

    def _range(self, param: str) -> int:
        """The largest value of a parameter: workers, sessions, or users (TakeJob's index)."""
        if param == "worker":
            return len(self._m.workers)
        if param == "session":
            return len(self._m.sessions)
        return len(self.design.users)

    def _parameter(self, action: Action, params: Params) -> Args:
        """Check ``params`` against the action's parameters and instances; the instance's resolved Args."""
        ranges = ", ".join(f"{p}=1..{self._range(p)}" for p in action.params)
        count = "one parameter" if len(action.params) == 1 else "parameters"
        expected = f"{action.name} takes {count} {ranges}"
        if not isinstance(params, dict) or set(params) != set(action.params):
            raise StepRefused(f"{expected}, got {params!r}")
        for p in action.params:
            value = params[p]
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= self._range(p):
                raise StepRefused(f"{expected}, got {p}={value!r}: out of range")
        key = tuple(params[p] for p in action.params)
        args = self._args.get((action.name, key))
        if args is None:
            given = Args(**{p: params[p] for p in action.params})
            shown = _call(action.name, {p: params[p] for p in action.params})
            why = action.no_instance(given)
            raise StepRefused(f"{shown} is not an action of scenario {self.design.name!r}: {why}")
        return args

    def _check_state(self, state: State) -> None:
        """A state from another scenario is a caller's bug, not a refused step: say so plainly."""
        if state.keys() != self._variables:
            missing = sorted(self._variables - state.keys())
            extra = sorted(state.keys() - self._variables)
            raise ValueError(
                f"not a state of scenario {self.design.name!r}: missing {missing}, unexpected {extra}"
            )
