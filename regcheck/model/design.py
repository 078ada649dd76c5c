"""The design a scenario describes, worker by worker: whom each serves, whether it impersonates, as whom it calls.

A verdict is about this design, not about the switches as they were typed: the check's header, its
JSON, the evidence report, JUnit and SARIF show it, so that a reader sees what was checked (a per-worker
list decides over ``impersonate`` and ``jobs``; SEMANTICS.md, "Switches").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from regcheck.model.scenario import ANY_USER, Scenario


@dataclass(frozen=True)
class Worker:
    """One worker thread of the design (``number`` 0 stands for every worker of a ``workers = "any"`` design)."""

    number: int
    jobs: tuple[str, ...]
    impersonates: bool

    def serves(self, users: tuple[str, ...]) -> str:
        """Whose jobs this worker takes, in words."""
        count = f"{len(self.jobs)} job{'s' if len(self.jobs) != 1 else ''}"
        if self.jobs[0] == ANY_USER:
            return f"{count}, each for any of {', '.join(users)}"
        if len(set(self.jobs)) == 1:
            return f"{count} for {self.jobs[0]}"
        return f"{count}: for {', then '.join(self.jobs)}"


@dataclass(frozen=True)
class Design:
    """The resolved design: its workers, the process identity, and the deployment that decides admission."""

    workers: tuple[Worker, ...]
    every_number: bool
    users: tuple[str, ...]
    process_identity: str
    notifications: bool
    transport: str

    def lines(self) -> list[str]:
        """The design in a few lines of words, one per worker after the process's own."""
        notes = "notifications on: async waits run as the process identity" if self.notifications else (
            "notifications off (CONNECT_NO_NOTIFICATIONS)")
        lines = [f"process runs as {self.process_identity}; {notes}; transport {self.transport}"]
        for worker in self.workers:
            who = "every worker (any number of them)" if self.every_number else f"worker {worker.number}"
            calls = ("impersonates each job's user" if worker.impersonates
                     else f"does not impersonate: calls as {self.process_identity}")
            lines.append(f"{who}: {worker.serves(self.users)}; {calls}")
        return lines

    def as_json(self) -> dict[str, Any]:
        """The design as plain JSON values."""
        return {
            "every_number_of_workers": self.every_number,
            "process_identity": self.process_identity,
            "notifications": self.notifications,
            "transport": self.transport,
            "workers": [
                {"worker": w.number, "jobs": list(w.jobs), "impersonates": w.impersonates,
                 "calls_as": "each job's user" if w.impersonates else self.process_identity}
                for w in self.workers
            ],
        }


def design_of(scenario: Scenario) -> Design:
    """The design ``scenario`` describes, resolved worker by worker."""
    numbers = (1,) if scenario.parameterised else tuple(scenario.worker_ids)
    workers = tuple(
        Worker(0 if scenario.parameterised else w, scenario.jobs_of(w), scenario.impersonates(w)) for w in numbers
    )
    return Design(workers, scenario.parameterised, scenario.users, scenario.process_identity,
                  scenario.notifications, scenario.transport)
