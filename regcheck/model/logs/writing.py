"""What the writers of Exchange's logs share: a model execution's admitted and refused calls, and the
spellings a server would use for its identities, associations and times."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from regcheck.core.result import Trace
from regcheck.model.observations import CLIENT_CALLS, SUCCEEDED
from regcheck.model.scenario import SYSTEM, Scenario
from regcheck.model.story import association_guids

DOMAIN = "CONTOSO"
HOST = "EXSVC01"
"""The machine the service runs on: under LocalSystem its calls reach the server as ``CONTOSO\\EXSVC01$``."""
SERVER = "EXMBX01"
DOMAIN_SID = "S-1-5-21-1004336348-1177238915-682003330"
ORGANIZATION = "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients"
START = datetime(2013, 11, 4, 9, 12, 1, tzinfo=UTC)
BUILD = "15.00.1497.012"


@dataclass(frozen=True)
class Call:
    """One client call of an execution, with what the server's cache did with it."""

    step: int  # 0-based
    message: str
    identity: str | None  # the model's
    guid: str | None
    cache: str
    result: str
    session: int | None

    @property
    def succeeded(self) -> bool:
        return self.result in SUCCEEDED


def calls_of(trace: Trace, scenario: Scenario) -> list[Call]:
    """The client calls of ``trace`` (not the thread-token calls), in order."""
    guids = association_guids(scenario, trace)
    calls: list[Call] = []
    for index, step in enumerate(trace.steps):
        labels = step.labels
        message = str(labels.get("message", step.action))
        if message not in CLIENT_CALLS or step.action in ("Impersonate", "RevertToSelf"):
            continue
        context = str(labels.get("context", "-"))
        association = int(labels.get("association", 0))
        params = dict(step.params)
        session = params.get("session", params.get("worker"))
        calls.append(Call(index, message, None if context == "-" else context,
                          guid_of(guids[index][association]) if association in guids[index] else None,
                          str(labels.get("cache", "-")), str(labels.get("result", "ok")),
                          None if session is None else int(session)))
    return calls


def guid_of(name: str) -> str:
    """A GUID for the model's association name ``gN``, the same for the same name."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:regcheck:association:{name}"))


def time_of(step: int, *, clock: float = 0.0) -> str:
    """The UTC time of step ``step``, as Exchange writes it, on a clock ``clock`` seconds ahead of the server's."""
    moment = START + timedelta(milliseconds=73 * step + round(1000 * clock))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def account(identity: str) -> str:
    """``CONTOSO\\alice``; SYSTEM as the computer account it is on the network."""
    return f"{DOMAIN}\\{HOST}$" if identity == SYSTEM else f"{DOMAIN}\\{identity}"


def sid(identity: str, scenario: Scenario, *, network: bool = False) -> str:
    """A user's SID in the domain (its relative id from its place among the scenario's identities);
    SYSTEM's well-known ``S-1-5-18``, or on the network the computer account's SID."""
    if identity == SYSTEM:
        return f"{DOMAIN_SID}-1001" if network else "S-1-5-18"
    names = [n for n in scenario.identities if n != SYSTEM]
    rid = 1105 + (names.index(identity) if identity in names else len(names) + sum(map(ord, identity)))
    return f"{DOMAIN_SID}-{rid}"


def legacy_dn(identity: str) -> str:
    """The legacyExchangeDN of ``identity``'s mailbox."""
    return f"{ORGANIZATION}/cn={identity}"


def header(log_type: str, fields: Sequence[str]) -> str:
    """The header block of a log file, after a byte-order mark, as Exchange writes it."""
    return ("\ufeff#Software: Microsoft Exchange Server\r\n"
            f"#Version: {BUILD}\r\n#Log-type: {log_type}\r\n#Date: {time_of(0)}\r\n"
            f"#Fields: {','.join(fields)}\r\n")


def row(values: Sequence[str]) -> str:
    """One CSV row, quoted where a value holds a comma, a quote or a line break."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()
