"""The reference simulator: SEMANTICS.md executed as plain Python, one action at a time.

Why a second implementation: the symbolic transition system (``model/system.py``) is what the
engines check, and a wrong encoding would give wrong verdicts with a straight face. This module
implements the same written semantics again, independently and imperatively, so that every
counterexample can be replayed step by step here; a disagreement is a bug report against one of
the two.

The code mirrors the parties of the protocol rather than a table of formulas:

* ``Binding``   -- the client RPC runtime's binding handle: which identity a call carries.
* ``FrontEnd``  -- the server's admission of a call: the Exchange 2013 OA registration cache
  (``rpc-http``), nothing (``rpc-tcp``), or the MAPI/HTTP session-owner check.
* ``Worker``    -- application thread w: impersonate, log on, make the requests, revert, reconnect.
* ``Notifier``  -- MAPI's notification thread for session w: async connect, wait, fetch, poll.
* ``Server``    -- the mailbox server's own moves for session w: events, completing parked waits.

States are plain dicts keyed by the ITF variable names of SEMANTICS.md; ``step`` never mutates its
argument. Only ``model.scenario`` and the standard library are imported, on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from model.scenario import SYSTEM, Scenario

Value = bool | int | str
State = dict[str, Value]
Labels = dict[str, Value]

NONE = "none"
"""``reg``/``admitted``/``bound`` value: nothing recorded yet."""
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


class _Model:
    """Facts derived from the scenario that every party needs, named as in SEMANTICS.md."""

    def __init__(self, scenario: Scenario) -> None:
        self.sc = scenario
        self.async_ = scenario.notifications  # `async`: connect_flags & 0x20 == 0
        self.rpc = scenario.transport in ("rpc-http", "rpc-tcp")
        self.has_cache = scenario.transport == "rpc-http"
        self.static = self.rpc and scenario.identity_tracking == "static"

    def assoc(self, w: int) -> int:
        """Session w's association (RPC transports only)."""
        return self.sc.association_of(w)

    def association_label(self, w: int) -> int:
        """The ``association`` label of an admitted-or-refused call for session w: 0 on MAPI/HTTP."""
        return self.assoc(w) if self.rpc else 0

    def message(self, rpc_name: str) -> str:
        """The ``message`` label: the RPC name, or the MAPI/HTTP request type on ``mapi-http``."""
        if self.sc.transport == "mapi-http":
            return _MAPI_HTTP_MESSAGES.get(rpc_name, rpc_name)
        return rpc_name

    def owner(self, w: int) -> str:
        """Who logged session w on, as MAPI/HTTP's owner check sees it."""
        return self.sc.user_of(w) if self.sc.impersonate else self.sc.process_identity

    def react(self, s: State, w: int) -> None:
        """The notifier's reaction to a failed notification call (``async_failure``)."""
        s[_v("notify", w)] = _REACTIONS[self.sc.async_failure]


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

    def carried_identity(self, s: State, w: int, thread_identity: str) -> str:
        """The identity a call for session w carries; under static tracking, may set ``bound[a]``."""
        if not self.m.static:
            return thread_identity
        key = _v("bound", self.m.assoc(w))
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

    def admit(self, s: State, w: int, identity: str, *, connect: bool) -> Admission:
        """Admit (or fail) a call for session w carrying ``identity``; updates ``s`` in place."""
        transport = self.m.sc.transport
        if transport == "rpc-tcp":
            return Admission(True)
        if transport == "mapi-http":
            if connect or identity == self.m.owner(w):
                return Admission(True)
            return Admission(False, failure=ACCESS_DENIED)  # nothing is evicted
        return self._registration_cache(s, self.m.assoc(w), identity)

    def _registration_cache(self, s: State, a: int, identity: str) -> Admission:
        reg = _v("reg", a)
        current = s[reg]
        if current == NONE:
            s[reg] = identity
            outcome = Admission(True, "registered")
        elif current == EVICTED:
            if self.m.sc.registration == "every-miss":
                s[reg] = identity
                outcome = Admission(True, "re-registered")
            else:
                outcome = Admission(False, "no-registration", NETWORK_ERROR)
        elif current == identity:
            outcome = Admission(True, "hit")
        else:
            s["mismatch_seen"] = True
            if self.m.sc.on_mismatch == "evict":
                s[reg] = EVICTED
                outcome = Admission(False, "mismatch-evicted", NETWORK_ERROR)
            else:
                outcome = Admission(False, "mismatch", NETWORK_ERROR)
        if outcome.admitted:
            s[_v("admitted", a)] = identity
        return outcome


# --------------------------------------------------------------------------------------------
# The parties and their actions

Guard = Callable[[State, int], "str | None"]
Effect = Callable[[State, int], Labels]


@dataclass(frozen=True)
class Action:
    """One action kind: its name, its parameter name, why it is not enabled, and what it does."""

    name: str
    param: str  # "worker" or "session"
    why_not: Guard  # None when enabled, else the reason in the model's words
    effect: Effect  # mutates a fresh copy of the state, returns the labels


class Worker:
    """Application thread w: impersonates user(w), logs on, makes ``requests`` calls, reverts."""

    def __init__(self, model: _Model, binding: Binding, front_end: FrontEnd) -> None:
        self.m = model
        self.binding = binding
        self.front_end = front_end

    def actions(self) -> list[Action]:
        """The worker's actions in the numbered order of SEMANTICS.md (1-6)."""
        acts = [
            Action("Impersonate", "worker", self.why_not_impersonate, self.impersonate),
            Action("EcDoConnectEx", "worker", self.why_not_connect, self.connect),
        ]
        if self.m.sc.async_connect_by == "worker":
            acts.append(Action("EcDoAsyncConnectEx", "session", self.why_not_async_connect, self.async_connect))
        acts += [
            Action("EcDoRpcExt2", "worker", self.why_not_rpc, self.rpc),
            Action("RevertToSelf", "worker", self.why_not_revert, self.revert),
            Action("Reconnect", "worker", self.why_not_reconnect, self.reconnect),
        ]
        return acts

    # Helpers

    @staticmethod
    def thread(w: int) -> str:
        return f"worker {w}"

    def thread_identity(self, s: State, w: int) -> str:
        """The worker's token: user(w) while impersonating, else the process identity."""
        return self.m.sc.user_of(w) if s[_v("imp", w)] else self.m.sc.process_identity

    def call(self, s: State, w: int, *, connect: bool = False) -> tuple[str, Admission]:
        """Make a call from worker w: pick the carried identity, then go through admission."""
        identity = self.binding.carried_identity(s, w, self.thread_identity(s, w))
        return identity, self.front_end.admit(s, w, identity, connect=connect)

    # 1. Impersonate

    def why_not_impersonate(self, s: State, w: int) -> str | None:
        if not self.m.sc.impersonate:
            return "the scenario does not impersonate (impersonate = false)"
        if s[_v("pc", w)] != "start":
            return f"worker {w} is {s[_v('pc', w)]}, not start"
        if s[_v("imp", w)]:
            return f"worker {w} is already impersonating {self.m.sc.user_of(w)}"
        return None

    def impersonate(self, s: State, w: int) -> Labels:
        s[_v("imp", w)] = True
        return _labels(self.thread(w), "ImpersonateLoggedOnUser", context=self.m.sc.user_of(w))

    # 2. EcDoConnectEx

    def why_not_connect(self, s: State, w: int) -> str | None:
        if s[_v("pc", w)] != "start":
            return f"worker {w} is {s[_v('pc', w)]}, not start"
        if self.m.sc.impersonate and not s[_v("imp", w)]:
            return f"worker {w} has not impersonated {self.m.sc.user_of(w)} yet"
        return None

    def connect(self, s: State, w: int) -> Labels:
        identity, adm = self.call(s, w, connect=True)
        pc = _v("pc", w)
        if not adm.admitted:
            s[pc] = "failed"
            result = adm.failure
        elif identity == SYSTEM:
            s[pc] = "denied"  # the machine account has no mailbox access
            result = ACCESS_DENIED
        else:
            result = "ok"
            mapi_http = self.m.sc.transport == "mapi-http"
            if self.m.async_ and self.m.sc.async_connect_by == "worker" and not mapi_http:
                s[pc] = "connected"  # the worker still owes EcDoAsyncConnectEx
            else:
                s[pc] = "working"
            if self.m.async_ and mapi_http:
                s[_v("notify", w)] = "idle"  # the session cookie is all a wait needs
        return _labels(
            self.thread(w),
            self.m.message("EcDoConnectEx"),
            context=identity,
            association=self.m.association_label(w),
            cache=adm.cache,
            result=result,
        )

    # 3. EcDoAsyncConnectEx, made by the worker (async_connect_by = worker)

    def why_not_async_connect(self, s: State, w: int) -> str | None:
        if s[_v("pc", w)] != "connected":
            return f"worker {w} is {s[_v('pc', w)]}, not connected"
        return None

    def async_connect(self, s: State, w: int) -> Labels:
        identity, adm = self.call(s, w)
        if not adm.admitted:
            s[_v("pc", w)] = "failed"
            result = adm.failure
        else:
            s[_v("pc", w)] = "working"
            if self.m.sc.server_async:
                s[_v("notify", w)] = "idle"
                result = "ok"
            else:
                s[_v("notify", w)] = "polling"
                result = REJECTED
        return _labels(
            self.thread(w),
            self.m.message("EcDoAsyncConnectEx"),
            context=identity,
            association=self.m.association_label(w),
            cache=adm.cache,
            result=result,
        )

    # 4. EcDoRpcExt2

    def why_not_rpc(self, s: State, w: int) -> str | None:
        if s[_v("pc", w)] != "working":
            return f"worker {w} is {s[_v('pc', w)]}, not working"
        if _count(s, _v("done", w)) >= self.m.sc.requests:
            return f"worker {w} has made all {self.m.sc.requests} of its requests"
        return None

    def rpc(self, s: State, w: int) -> Labels:
        identity, adm = self.call(s, w)
        if adm.admitted:
            s[_v("done", w)] = int(s[_v("done", w)]) + 1
            result = "ok"
        else:
            s[_v("pc", w)] = "failed"
            result = adm.failure
        return _labels(
            self.thread(w),
            self.m.message("EcDoRpcExt2"),
            context=identity,
            association=self.m.association_label(w),
            cache=adm.cache,
            result=result,
        )

    # 5. RevertToSelf

    def why_not_revert(self, s: State, w: int) -> str | None:
        if s[_v("pc", w)] != "working":
            return f"worker {w} is {s[_v('pc', w)]}, not working"
        if s[_v("done", w)] != self.m.sc.requests:
            return f"worker {w} has made {s[_v('done', w)]} of its {self.m.sc.requests} requests"
        return None

    def revert(self, s: State, w: int) -> Labels:
        s[_v("pc", w)] = "finished"
        s[_v("imp", w)] = False
        return _labels(self.thread(w), "RevertToSelf")

    # 6. Reconnect

    def why_not_reconnect(self, s: State, w: int) -> str | None:
        if self.m.sc.after_network_error == "fail":
            return "a failed worker stays failed (after_network_error = fail)"
        if s[_v("pc", w)] != "failed":
            return f"worker {w} is {s[_v('pc', w)]}, not failed"
        return None

    def reconnect(self, s: State, w: int) -> Labels:
        s[_v("pc", w)] = "start"
        s[_v("pending", w)] = False
        if self.m.async_:
            s[_v("notify", w)] = "off"
            s[_v("parked", w)] = False
        if self.m.sc.after_network_error == "reconnect-new" and self.m.rpc:
            a = self.m.assoc(w)  # the association gets a new GUID: nothing is known about it
            for name in ("reg", "admitted", "bound"):
                if _v(name, a) in s:
                    s[_v(name, a)] = NONE
        return _labels(self.thread(w), "Reconnect")


class Notifier:
    """MAPI's notification thread for session w. It never impersonates: its calls carry the process identity."""

    def __init__(self, model: _Model, binding: Binding, front_end: FrontEnd) -> None:
        self.m = model
        self.binding = binding
        self.front_end = front_end

    def actions(self) -> list[Action]:
        """The notifier's actions in numbered order: 3 (when it makes the async connect), 7, 8, 9 (when async)."""
        acts = []
        if self.m.sc.async_connect_by == "notifier":
            acts.append(Action("EcDoAsyncConnectEx", "session", self.why_not_async_connect, self.async_connect))
        if self.m.async_:
            acts += [
                Action("EcDoAsyncWaitEx", "session", self.why_not_wait, self.wait),
                Action("FetchNotifications", "session", self.why_not_fetch, self.fetch),
                Action("Poll", "session", self.why_not_poll, self.poll),
            ]
        return acts

    @staticmethod
    def thread(w: int) -> str:
        return f"notifier {w}"

    def call(self, s: State, w: int) -> tuple[str, Admission]:
        """Make a call for session w with the notifier's identity, through admission."""
        identity = self.binding.carried_identity(s, w, self.m.sc.process_identity)
        return identity, self.front_end.admit(s, w, identity, connect=False)

    def _labels(self, w: int, rpc_name: str, identity: str, adm: Admission, result: str) -> Labels:
        return _labels(
            self.thread(w),
            self.m.message(rpc_name),
            context=identity,
            association=self.m.association_label(w),
            cache=adm.cache,
            result=result,
        )

    # 3. EcDoAsyncConnectEx, made by the notifier (async_connect_by = notifier)

    def why_not_async_connect(self, s: State, w: int) -> str | None:
        if not self.m.async_:
            return "notifications are off (CONNECT_NO_NOTIFICATIONS is set in connect_flags)"
        if self.m.sc.transport == "mapi-http":
            return "MAPI/HTTP has no EcDoAsyncConnectEx (transport = mapi-http)"
        if s[_v("notify", w)] != "off":
            return f"notifier {w} is {s[_v('notify', w)]}, not off"
        if s[_v("pc", w)] not in ("working", "finished"):
            return f"session {w} is {s[_v('pc', w)]}, not working or finished"
        return None

    def async_connect(self, s: State, w: int) -> Labels:
        identity, adm = self.call(s, w)
        if not adm.admitted:
            self.m.react(s, w)
            result = adm.failure
        elif self.m.sc.server_async:
            s[_v("notify", w)] = "idle"
            result = "ok"
        else:
            s[_v("notify", w)] = "polling"
            result = REJECTED
        return self._labels(w, "EcDoAsyncConnectEx", identity, adm, result)

    # 7. EcDoAsyncWaitEx

    def why_not_wait(self, s: State, w: int) -> str | None:
        if s[_v("notify", w)] != "idle":
            return f"notifier {w} is {s[_v('notify', w)]}, not idle"
        return None

    def wait(self, s: State, w: int) -> Labels:
        identity, adm = self.call(s, w)
        if not adm.admitted:
            self.m.react(s, w)
            result = adm.failure
        elif s[_v("parked", w)]:
            self.m.react(s, w)  # another wait is already parked for this session
            result = REJECTED
        elif s[_v("pending", w)]:
            s[_v("notify", w)] = "fetch"
            result = "NotificationPending"
        else:
            s[_v("parked", w)] = True
            s[_v("notify", w)] = "waiting"
            result = "parked"
        return self._labels(w, "EcDoAsyncWaitEx", identity, adm, result)

    # 8. FetchNotifications (an EcDoRpcExt2 on the notifier's thread)

    def why_not_fetch(self, s: State, w: int) -> str | None:
        if s[_v("notify", w)] != "fetch":
            return f"notifier {w} is {s[_v('notify', w)]}, not fetch"
        return None

    def fetch(self, s: State, w: int) -> Labels:
        identity, adm = self.call(s, w)
        if adm.admitted:
            s[_v("pending", w)] = False
            s[_v("notify", w)] = "idle"
            result = "ok"
        else:
            self.m.react(s, w)
            result = adm.failure
        return self._labels(w, "EcDoRpcExt2", identity, adm, result)

    # 9. Poll (an EcDoRpcExt2 on the notifier's thread)

    def why_not_poll(self, s: State, w: int) -> str | None:
        if s[_v("notify", w)] != "polling":
            return f"notifier {w} is {s[_v('notify', w)]}, not polling"
        return None

    def poll(self, s: State, w: int) -> Labels:
        identity, adm = self.call(s, w)
        if adm.admitted:
            s[_v("pending", w)] = False
            result = "ok"
        else:
            result = adm.failure  # the notifier keeps polling
        return self._labels(w, "EcDoRpcExt2", identity, adm, result)


class Server:
    """The mailbox server's own moves for session w: new events, and completing a parked wait."""

    def __init__(self, model: _Model) -> None:
        self.m = model

    def actions(self) -> list[Action]:
        """Server actions in numbered order: 10, then 11 and 12 when async."""
        acts = [Action("ServerEvent", "session", self.why_not_event, self.event)]
        if self.m.async_:
            acts += [
                Action("CompleteWait", "session", self.why_not_complete, self.complete),
                Action("WaitTimeout", "session", self.why_not_timeout, self.timeout),
            ]
        return acts

    # 10. ServerEvent

    def why_not_event(self, s: State, w: int) -> str | None:
        if s[_v("pc", w)] not in OPEN_PCS:
            return f"session {w} is not open (worker {w} is {s[_v('pc', w)]})"
        if s[_v("pending", w)]:
            return f"session {w} already has an undelivered notification"
        return None

    def event(self, s: State, w: int) -> Labels:
        s[_v("pending", w)] = True
        return _labels("server", "ServerEvent")

    # 11. CompleteWait

    def why_not_complete(self, s: State, w: int) -> str | None:
        if not s[_v("parked", w)]:
            return f"no EcDoAsyncWaitEx is parked for session {w}"
        if not s[_v("pending", w)]:
            return f"session {w} has no undelivered notification"
        return None

    def complete(self, s: State, w: int) -> Labels:
        s[_v("parked", w)] = False
        s[_v("notify", w)] = "fetch"
        return _labels("server", "CompleteWait", result="NotificationPending")

    # 12. WaitTimeout

    def why_not_timeout(self, s: State, w: int) -> str | None:
        if not s[_v("parked", w)]:
            return f"no EcDoAsyncWaitEx is parked for session {w}"
        if s[_v("pending", w)]:
            return f"session {w} has an undelivered notification (the wait completes, it does not time out)"
        return None

    def timeout(self, s: State, w: int) -> Labels:
        s[_v("parked", w)] = False
        s[_v("notify", w)] = "idle"
        return _labels("server", "WaitTimeout", result="flags=0")


# --------------------------------------------------------------------------------------------
# The simulator


class Simulator:
    """Executes the model of SEMANTICS.md for one scenario: initial state, enabled actions, steps."""

    def __init__(self, scenario: Scenario) -> None:
        for user in scenario.users:
            if user in (NONE, EVICTED):
                # The ITF state spells "no registration" and "evicted" as these strings; a user
                # with the same name would be indistinguishable from them.
                raise ValueError(
                    f"users: {user!r} cannot be simulated: it collides with the reg/admitted/bound "
                    f"value {user!r}"
                )
        self.scenario = scenario
        self._m = _Model(scenario)
        binding = Binding(self._m)
        front_end = FrontEnd(self._m)
        self._worker_actions = Worker(self._m, binding, front_end).actions()
        self._notifier_actions = Notifier(self._m, binding, front_end).actions()
        self._server_actions = Server(self._m).actions()
        self._by_name = {
            a.name: a for a in (*self._worker_actions, *self._notifier_actions, *self._server_actions)
        }
        self._variables = frozenset(self.initial_state())

    def initial_state(self) -> State:
        """Every variable that exists for the scenario, at its initial value (SEMANTICS.md's table)."""
        sc = self.scenario
        s: State = {}
        for w in sc.worker_ids:
            s[_v("imp", w)] = False
            s[_v("pc", w)] = "start"
            s[_v("done", w)] = 0
            s[_v("pending", w)] = False
            if self._m.async_:
                s[_v("notify", w)] = "off"
                s[_v("parked", w)] = False
        for a in range(1, sc.association_count + 1):
            if self._m.has_cache:
                s[_v("reg", a)] = NONE
                s[_v("admitted", a)] = NONE
            if self._m.static:
                s[_v("bound", a)] = NONE
        if self._m.has_cache:
            s["mismatch_seen"] = False
        return s

    def enabled(self, state: State) -> list[tuple[str, dict[str, int]]]:
        """The action instances enabled in ``state``, in a fixed order.

        For each w: worker w's actions in numbered order, then notifier w's, then the server's for session w.
        """
        self._check_state(state)
        result: list[tuple[str, dict[str, int]]] = []
        for w in self.scenario.worker_ids:
            for action in (*self._worker_actions, *self._notifier_actions, *self._server_actions):
                if action.why_not(state, w) is None:
                    result.append((action.name, {action.param: w}))
        return result

    def step(self, state: State, name: str, params: dict[str, int]) -> tuple[State, Labels]:
        """Take one action; returns a new state and the step's labels, or raises StepRefused."""
        action = self._by_name.get(name)
        if action is None:
            raise StepRefused(self._unknown(name))
        w = self._parameter(action, params)
        self._check_state(state)
        why = action.why_not(state, w)
        if why is not None:
            raise StepRefused(f"{name}({action.param}={w}) is not enabled: {why}")
        new_state = dict(state)
        labels = action.effect(new_state, w)
        return new_state, labels

    # Refusal details

    def _unknown(self, name: str) -> str:
        known = ", ".join(self._by_name)
        if name in ("EcDoAsyncWaitEx", "FetchNotifications", "Poll", "CompleteWait", "WaitTimeout"):
            why = "notifications are off (CONNECT_NO_NOTIFICATIONS is set in connect_flags)"
            return f"{name} is not an action of scenario {self.scenario.name!r}: {why}; its actions: {known}"
        return f"unknown action {name!r} for scenario {self.scenario.name!r}; its actions: {known}"

    def _parameter(self, action: Action, params: dict[str, int]) -> int:
        workers = len(self.scenario.worker_ids)
        expected = f"{action.name} takes one parameter {action.param}=1..{workers}"
        if not isinstance(params, dict) or set(params) != {action.param}:
            raise StepRefused(f"{expected}, got {params!r}")
        w = params[action.param]
        if not isinstance(w, int) or isinstance(w, bool) or not 1 <= w <= workers:
            raise StepRefused(f"{expected}, got {action.param}={w!r}: out of range")
        return w

    def _check_state(self, state: State) -> None:
        """A state from another scenario is a caller's bug, not a refused step: say so plainly."""
        if state.keys() != self._variables:
            missing = sorted(self._variables - state.keys())
            extra = sorted(state.keys() - self._variables)
            raise ValueError(
                f"not a state of scenario {self.scenario.name!r}: missing {missing}, unexpected {extra}"
            )
