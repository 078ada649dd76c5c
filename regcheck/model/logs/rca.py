"""The RPC Client Access log (``RCA_*.LOG``, Exchange 2010's 17 columns or 2013's 24): its ``Connect`` and
``Disconnect`` rows as EcDoConnectEx and EcDoDisconnect, with the caller from the ``Connect`` row's ``SID=``.

The MAPI over HTTP mailbox log has the same columns and is read here too (``regcheck.model.logs.mapimb``
names its operations). What each row observes is in regcheck/model/SEMANTICS.md, "Observations from
Exchange's logs".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping

from regcheck.core.result import Trace
from regcheck.display import shown
from regcheck.errors import InvalidArgument
from regcheck.model.logs.exchange import Row, need
from regcheck.model.logs.identities import Identities
from regcheck.model.logs.writing import SERVER, Call, calls_of, header, legacy_dn, row, sid, time_of
from regcheck.model.observations import CODES, OK, Event
from regcheck.model.scenario import Scenario

LOG_TYPE = "RCA Protocol Logs"
COLUMNS = ("date-time", "session-id", "client-name", "operation", "rpc-status", "operation-specific")
"""The columns a reader needs (both column sets have them)."""
FIELDS_2013 = (
    "date-time", "session-id", "seq-number", "client-name", "organization-info", "client-software",
    "client-software-version", "client-mode", "client-ip", "client-connection-info", "server-ip", "protocol",
    "application-id", "request-ids", "session-cookie", "operation", "rpc-status", "processing-time",
    "operation-specific", "failures", "performance-data", "activity-context-data", "user-email", "passport-unique-id",
)
"""The columns Exchange 2013 writes, in its order (the writer's; the reader goes by ``#Fields:``)."""
OPERATIONS = {"connect": "EcDoConnectEx", "disconnect": "EcDoDisconnect"}
CONTEXT_NOT_FOUND = "contextnotfound"
_SID = re.compile(r"(?:^|,)\s*SID=(S-1-[0-9-]{1,200})\s*(?:,|$)", re.IGNORECASE)
_GUID = re.compile(r"GUID:\s*([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})")
_STATUS = re.compile(r"(0[xX][0-9A-Fa-f]{1,8}|[0-9]{1,10}|[A-Za-z][A-Za-z0-9_]{0,63})(?:\s+\(.{0,200}\))?", re.DOTALL)

Rows = Callable[[], Iterator[Row]]


def caller(each: Row) -> str | None:
    """The SID a ``Connect`` row's ``operation-specific`` names, or None."""
    match = _SID.search(each.get("operation-specific"))
    return match.group(1) if match else None


def result_of(each: Row) -> str:
    """The row's ``rpc-status`` as a result: ``ok`` for 0, ContextNotFound as ``ecAccessDenied`` (the model's
    MAPI/HTTP identity mismatch), else its leading code: a known code's name, a number as hex, or a name."""
    status, failures = each.get("rpc-status"), each.get("failures")
    if CONTEXT_NOT_FOUND in (status + failures).lower().replace(" ", ""):
        return "ecAccessDenied"
    match = _STATUS.fullmatch(status)
    if match is None:
        raise InvalidArgument(f"{each.where}: rpc-status {shown(status[:80])} is not a code")
    code = match.group(1)
    if not code[0].isdigit():
        return code
    value = int(code, 16) if code.lower().startswith("0x") else int(code)
    if value == 0:
        return OK
    if value > 0xFFFFFFFF:
        raise InvalidArgument(f"{each.where}: rpc-status {shown(code)} is larger than 32 bits")
    return next((name for name, known in CODES.items() if known == value), f"0x{value:08X}")


def events(rows: Iterator[Row], identities: Identities, skipped: Counter[str],
           operations: Mapping[str, str] = OPERATIONS) -> Iterator[Event]:
    """The calls the rows observe (``operations``: operation, lowered, to the model's call)."""
    for each in rows:
        need(COLUMNS, each)
        operation = each.get("operation")
        call = operations.get(operation.lower())
        if call is None:
            skipped[f"{operation or 'empty'} rows" if len(operation) <= 40 else "rows of other operations"] += 1
            continue
        found = caller(each) if operation.lower() == "connect" else None
        guid = _GUID.search(each.get("client-connection-info"))
        session = each.get("session-id")
        yield Event(0, each.line, call, identity=None if found is None else identities.resolve(found),
                    result=result_of(each), association=guid.group(1).lower() if guid else None,
                    session=session[:255] or None, time=each.get("date-time")[:255] or None)


def write(scenario: Scenario, trace: Trace, *, protocol: str = "ncacn_http", log_type: str = LOG_TYPE,
          operations: Mapping[str, str] | None = None) -> str:
    """The RCA log of ``trace``: a ``Connect`` row (and the logon after it) for each EcDoConnectEx, a
    ``Disconnect`` row for each EcDoDisconnect (``operations``: the model's call to the row's operation)."""
    wanted = operations or {"EcDoConnectEx": "Connect", "EcDoDisconnect": "Disconnect"}
    text = [header(log_type, FIELDS_2013)]
    sequence: dict[int, int] = {}
    mailbox: dict[int | None, str] = {}  # session -> the mailbox its connect opened
    for call in calls_of(trace, scenario):
        operation = wanted.get(call.message)
        if operation is None:
            continue
        if operation == "Connect":
            mailbox[call.session] = call.identity or scenario.process_identity
        owner = mailbox.get(call.session, call.identity or scenario.process_identity)
        text.append(_row(call, operation, owner, scenario, sequence, protocol))
        if operation == "Connect" and call.succeeded:
            text.append(_row(call, "OwnerLogon", owner, scenario, sequence, protocol))
    return "".join(text)


def status_of(call: Call) -> tuple[str, str]:
    """``rpc-status`` and ``failures`` for the call's result, as Exchange writes them."""
    if call.succeeded:
        return "0", ""
    if call.result == "ecAccessDenied":
        return ("10 (rpc::ContextNotFound)",
                "MapiHttpEndPoint: [ContextNotFoundException] Unable to find user context based on user "
                "authentication identifier -> at SessionContextManager.GetContext()")
    code = CODES.get(call.result)
    written = f"{code} (rpc::{call.result})" if code is not None else call.result
    return written, f"RpcDispatch: [RpcServerException] {call.result}, call failed"


def _row(call: Call, operation: str, identity: str, scenario: Scenario, sequence: dict[int, int], protocol: str) -> str:
    caller = call.identity or scenario.process_identity
    session = 1000 + (call.session or 0)
    sequence[session] = sequence.get(session, -1) + 1
    status, failures = status_of(call) if operation != "OwnerLogon" else ("0", "")
    specific = f"SID={sid(caller, scenario)}, Flags=None" if operation == "Connect" else ""
    http = protocol == "MapiHttp"
    connection = f"Connection Info[GUID:{call.guid}, Attempts:1, Flags:0, Ctx:]" if call.guid else ""
    values = {
        "date-time": time_of(call.step), "session-id": str(session), "seq-number": str(sequence[session]),
        "client-name": legacy_dn(identity), "organization-info": "", "client-software": "ContosoSync.exe",
        "client-software-version": "15.0.4569.1506", "client-mode": "Classic", "client-ip": "10.0.4.21",
        "client-connection-info": connection, "server-ip": f"{SERVER}.contoso.com", "protocol": protocol,
        "application-id": "", "operation": operation,
        "request-ids": f"{{5f1c0e2a-7d43-4b8e-9a61-{session:012d}}}:{sequence[session]}" if http else "",
        "session-cookie": f"MapiContext={session:08X}" if http else "",
        "rpc-status": status, "processing-time": "15", "operation-specific": specific, "failures": failures,
        "performance-data": "", "activity-context-data": "", "user-email": f"{identity}@contoso.com",
        "passport-unique-id": "",
    }
    return row([values[name] for name in FIELDS_2013])
