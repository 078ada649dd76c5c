"""The MAPI over HTTP mailbox log (``MAPIMB_*.LOG``): RCA's columns, one row per request; its ``Connect``,
``Execute``, ``Disconnect`` and ``NotificationWait`` rows are the model's MAPI/HTTP requests of that name,
and a ContextNotFound failure is the MAPI/HTTP identity mismatch (regcheck/model/SEMANTICS.md,
"Observations from Exchange's logs")."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from regcheck.core.result import Trace
from regcheck.model.logs import rca
from regcheck.model.logs.exchange import Row
from regcheck.model.logs.identities import Identities
from regcheck.model.observations import MAPI_HTTP, Event
from regcheck.model.scenario import Scenario

LOG_TYPE = "MAPI Mailbox Protocol Logs"
OPERATIONS = {call.lower(): call for call in MAPI_HTTP}
"""Each row's operation, lowered, to the request type it observes."""

def events(rows: Iterator[Row], identities: Identities, skipped: Counter[str]) -> Iterator[Event]:
    """The MAPI/HTTP requests the rows observe."""
    return rca.events(rows, identities, skipped, OPERATIONS)


def write(scenario: Scenario, trace: Trace) -> str:
    """The MAPI over HTTP mailbox log of ``trace``: a row for each request, a logon after each connect."""
    return rca.write(scenario, trace, protocol="MapiHttp", log_type=LOG_TYPE,
                     operations={call: call for call in MAPI_HTTP})
