"""Positions: a state of a scenario and the path that reached it, stepped on the reference simulator.

A position is where a protocol engineer stands to ask "what else could happen here?" (SEMANTICS.md,
"Positions"): the initial state, or the state after step k of a trace. Its enabled actions are the
simulator's, each told in the protocol's words with the labels it would carry; taking one appends it
to the path. Checking from a position is the composition roots' (``compose.run_checks_from``); this
module runs no engine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from regcheck.core.expr import Value
from regcheck.core.result import STUTTER, Step, Trace
from regcheck.display import brief, shown
from regcheck.errors import InvalidArgument
from regcheck.model import system
from regcheck.model.replay import replay
from regcheck.model.scenario import Scenario
from regcheck.model.simulator import OPEN_PCS, Simulator
from regcheck.model.story import association_guids, current_user, session_owner, worker_identity
from regcheck.model.views import notifier_thread, step_views
from regcheck.render.chart import StepView

_WORD = re.compile(r"[A-Za-z0-9_*.@-]+")


@dataclass(frozen=True)
class Choice:
    """One enabled action of a position: its number in the list (from 1), the step it makes, and its view."""

    number: int
    step: Step
    view: StepView

    @property
    def label(self) -> str:
        return self.step.label

    def words(self) -> str:
        """The step in the protocol's words: thread and identity, call, association, admission, result."""
        v = self.view
        if not v.thread:
            return self.label
        who = f"{v.thread} (as {v.identity})" if v.identity else v.thread
        text = f"{who}: {v.message}"
        if v.carried and v.carried != v.identity:
            text += f" carrying {v.carried}"
        if v.association:
            text += f" on {v.association}"
        if v.gateway:
            text += f"; {v.gateway}"
        if v.result and v.result != "ok":
            text += f" -> {v.result}"
        return text

    def _tokens(self) -> set[str]:
        v = self.view
        text = f"{v.thread} {v.message} {self.step.action} {self.label}"
        return {w.lower() for w in _WORD.findall(text)}


@dataclass(frozen=True)
class Table:
    """One table of a position's state: a title, its column names and its rows, in the protocol's words."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Position:
    """A state of ``scenario`` (a fixed number of workers) and the path of steps from its initial state."""

    scenario: Scenario
    path: Trace

    @property
    def state(self) -> Mapping[str, Value]:
        return self.path.states[-1]

    @property
    def index(self) -> int:
        """The number of steps taken to reach this position."""
        return len(self.path)

    def enabled(self) -> list[Choice]:
        """The enabled actions, in the simulator's fixed order, each with the labels it would carry."""
        sim = Simulator(self.scenario)
        state = dict(self.state)
        choices = []
        for number, (name, params) in enumerate(sim.enabled(state), start=1):
            after, labels = sim.step(state, name, params)
            step = Step(name, tuple(params.items()), labels)
            longer = _extended(self.path, step, after)
            choices.append(Choice(number, step, step_views(self.scenario, longer)[-1]))
        return choices

    def choose(self, choice: int | str) -> Choice:
        """The enabled action ``choice`` names: its number, its call label, or a short description whose every
        word occurs in its thread, message and label; anything else is an error listing what is enabled."""
        enabled = self.enabled()
        if isinstance(choice, bool) or not isinstance(choice, (int, str)):
            raise InvalidArgument(f"step: expected a number, a call label or a description, got {shown(choice)}")
        if isinstance(choice, int):
            if 1 <= choice <= len(enabled):
                return enabled[choice - 1]
            raise InvalidArgument(f"step: there is no action {choice} here; {_listing(enabled)}")
        wanted = " ".join(choice.split())
        exact = [c for c in enabled if c.label == wanted]
        if exact:
            return exact[0]
        words = {w.lower() for w in _WORD.findall(wanted)}
        if not words:
            raise InvalidArgument(f"step: {shown(choice)} names no action; {_listing(enabled)}")
        found = [c for c in enabled if words <= c._tokens()]
        if len(found) == 1:
            return found[0]
        if found:
            raise InvalidArgument(f"step: {shown(choice)} matches {len(found)} enabled actions: "
                                  + "; ".join(f"{c.number}. {c.label}" for c in found) + "; say which")
        raise InvalidArgument(f"step: {shown(choice)} is not enabled here; {_listing(enabled)}")

    def step(self, choice: int | str) -> Position:
        """The position after taking the enabled action ``choice`` (see :meth:`choose`)."""
        chosen = self.choose(choice)
        after, _ = Simulator(self.scenario).step(dict(self.state), chosen.step.action, dict(chosen.step.params))
        return Position(self.scenario, _extended(self.path, chosen.step, after))

    def tables(self) -> list[Table]:
        """Each thread's identity and job, each session, the registration cache per association: the state told."""
        return tables(self.scenario, self.path)


def _extended(path: Trace, step: Step, after: Mapping[str, Value]) -> Trace:
    """``path`` with one more step, its meta kept (the loop of a lasso is not part of a path)."""
    state = {name: after[name] for name in path.vars}
    return Trace(path.vars, (*path.states, state), (*path.steps, step), None, dict(path.meta))


def _listing(enabled: Sequence[Choice]) -> str:
    if not enabled:
        return "no action is enabled in this state"
    return "enabled: " + "; ".join(f"{c.number}. {c.label} ({c.words()})" for c in enabled)


def start(scenario: Scenario) -> Position:
    """The initial state of ``scenario`` (a fixed number of workers), as a position of no steps."""
    if scenario.parameterised:
        raise InvalidArgument("a position needs a fixed number of workers; set workers=N")
    names = system.build(scenario).names
    initial = Simulator(scenario).initial_state()
    trace = Trace(names, ({n: initial[n] for n in names},), (), None,
                  {"scenario": scenario.name, "switches": scenario.switches()})
    return Position(scenario, trace)


def at(scenario: Scenario, trace: Trace, k: int) -> Position:
    """The state after step ``k`` of ``trace`` (0: its initial state), a trace of ``scenario`` (a fixed number of
    workers): its first k steps must replay on the reference simulator, else the error says where not."""
    if isinstance(k, bool) or not isinstance(k, int):
        raise InvalidArgument(f"at: expected a step number, got {shown(k)}")
    if not 0 <= k <= len(trace):
        raise InvalidArgument(f"at: step {k} is out of range; the trace has steps 0 to {len(trace)}")
    if any(step.action == STUTTER for step in trace.steps[:k]):
        raise InvalidArgument(f"at: step {k} is past the stutter that closes the trace's lasso; "
                              f"choose a step before it")
    first = start(scenario)
    prefix = Trace(trace.vars, trace.states[: k + 1], trace.steps[:k], None, {})
    if set(trace.vars) != set(first.path.vars):
        raise InvalidArgument(f"at: the trace is not one of scenario {shown(scenario.name)}: its variables differ "
                              "from the scenario's")
    report = replay(scenario, prefix)
    if not report.ok:
        raise InvalidArgument(brief(f"at: the trace's first {k} steps do not replay on the reference simulator of "
                                    f"scenario {scenario.name}: {report}"))
    states = tuple({n: s[n] for n in first.path.vars} for s in prefix.states)
    return Position(scenario, Trace(first.path.vars, states, prefix.steps, None, dict(first.path.meta)))


def tables(scenario: Scenario, path: Trace) -> list[Table]:
    """The last state of ``path`` as tables: threads, sessions and their notification threads, associations."""
    state = path.states[-1]
    out = []
    workers = []
    for w in scenario.worker_ids:
        job = str(state.get(system.job(w), 1))
        user = current_user(scenario, state, w)
        workers.append((f"worker {w}", worker_identity(scenario, state, w), str(state[system.pc(w)]),
                        f"{job} ({user})", str(state[system.done(w)])))
    out.append(Table("threads", ("thread", "runs as", "stage", "job (user)", "requests done"), tuple(workers)))
    sessions = []
    for s in scenario.session_ids:
        notify = str(state.get(system.notify(s), "off"))
        parked = "parked" if state.get(system.parked(s)) else "-"
        pending = "pending" if state.get(system.pending(s)) else "-"
        sessions.append((f"session {s}", _logged_on(scenario, state, s), notifier_thread(scenario, s), notify,
                         parked, pending))
    out.append(Table("sessions", ("session", "logged on for", "notification thread", "notification state",
                                  "EcDoAsyncWaitEx", "notification"), tuple(sessions)))
    guids = association_guids(scenario, path)[-1]
    associations = []
    for a in range(1, scenario.association_count + 1):
        if system.reg(a) not in state and system.bound(a) not in state:
            continue
        associations.append((guids.get(a, f"g{a}"), str(state.get(system.reg(a), "-")),
                             str(state.get(system.admitted(a), "-")), str(state.get(system.bound(a), "-"))))
    if associations:
        out.append(Table("registration cache", ("association", "registered to", "last admitted", "binding snapshot"),
                         tuple(associations)))
    if system.MISMATCH_SEEN in state:
        seen = "yes" if state[system.MISMATCH_SEEN] else "no"
        out.append(Table("front end", ("Registration of the Association GUID failed",), ((seen,),)))
    return out


def _logged_on(scenario: Scenario, state: Mapping[str, Value], s: int) -> str:
    """Who session s is logged on for, or ``not logged on`` (SEMANTICS.md: when a session is open)."""
    if scenario.tracks_sessions:
        opened = state.get(system.owner(s), "none") != "none"
    else:
        opened = state.get(system.pc(s)) in OPEN_PCS
    return session_owner(scenario, state, s) if opened else "not logged on"


def text(position: Position) -> str:
    """The position's state tables and its enabled actions as plain text (what ``regcheck show --at`` prints)."""
    lines = [f"State after step {position.index} of scenario {position.scenario.name}:"]
    for table in position.tables():
        lines.append(f"  {table.title}:")
        for row in table.rows:
            lines.append("    " + ", ".join(f"{c}: {v}" for c, v in zip(table.columns, row)))
    enabled = position.enabled()
    lines.append("Enabled actions:" if enabled else "No action is enabled: this state repeats for ever.")
    lines += [f"  {c.number}. {c.label}: {c.words()}" for c in enabled]
    return "\n".join(lines)
