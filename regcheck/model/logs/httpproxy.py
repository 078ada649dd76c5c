"""The front end's HttpProxy log (``HttpProxy_*.LOG``): each RPC over HTTP request with its authenticated
caller and status, but no association; its ``RPC_OUT_DATA`` requests as registration failures and
admissions (regcheck/model/SEMANTICS.md, "Observations from Exchange's logs")."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from regcheck.core.result import Trace
from regcheck.display import shown
from regcheck.errors import InvalidArgument
from regcheck.model.logs.exchange import Row, need
from regcheck.model.logs.identities import Identities
from regcheck.model.logs.writing import SERVER, account, calls_of, header, row, time_of
from regcheck.model.observations import ADMITTED, MISMATCHED, REGISTRATION_ADMITTED, REGISTRATION_FAILED, Event
from regcheck.model.scenario import Scenario

LOG_TYPE = "HttpProxy Logs"
COLUMNS = ("DateTime", "Method", "AuthenticatedUser", "HttpStatus")
"""The columns a reader needs; ``ErrorCode`` and ``GenericErrors`` are read when there."""
FIELDS = (
    "DateTime", "RequestId", "MajorVersion", "MinorVersion", "BuildVersion", "RevisionVersion", "ClientRequestId",
    "Protocol", "UrlHost", "UrlStem", "ProtocolAction", "AuthenticationType", "IsAuthenticated", "AuthenticatedUser",
    "Organization", "AnchorMailbox", "UserAgent", "ClientIpAddress", "ServerHostName", "FrontEndServer",
    "HttpStatus", "BackEndStatus", "ErrorCode", "Method", "TargetServer", "TargetServerVersion", "RoutingType",
    "TotalRequestTime", "GenericInfo", "GenericErrors",
)
"""The columns the writer writes (a subset of the about 71 a front end writes)."""
REGISTRATION_TEXT = "connection registration failed"
_STATUS = re.compile(r"[1-5][0-9]{2}")


def events(rows: Iterator[Row], identities: Identities, skipped: Counter[str]) -> Iterator[Event]:
    """The registration failures and admissions of the rows' ``RPC_OUT_DATA`` requests."""
    for each in rows:
        need(COLUMNS, each)
        method = each.get("Method")
        if method != "RPC_OUT_DATA":
            skipped[f"{method} requests" if method in ("RPC_IN_DATA", "") else "requests of other methods"] += 1
            continue
        status = each.get("HttpStatus")
        if not _STATUS.fullmatch(status):
            raise InvalidArgument(f"{each.where}: HttpStatus {shown(status[:80])} is not an HTTP status")
        text = (each.get("ErrorCode") + " " + each.get("GenericErrors")).lower()
        if status == "500" and REGISTRATION_TEXT in text:
            call = REGISTRATION_FAILED
        elif status.startswith("2"):
            call = REGISTRATION_ADMITTED
        else:
            skipped[f"RPC_OUT_DATA requests ending {status}"] += 1
            continue
        user = each.get("AuthenticatedUser")
        if not user or len(user) > 255:
            raise InvalidArgument(f"{each.where}: AuthenticatedUser must have 1 to 255 characters")
        yield Event(0, each.line, call, identity=identities.resolve(user), time=each.get("DateTime")[:255] or None)


def write(scenario: Scenario, trace: Trace) -> str:
    """The HttpProxy log of ``trace``: an ``RPC_OUT_DATA`` row for each call the cache admitted or refused."""
    text = [header(LOG_TYPE, FIELDS)]
    for number, call in enumerate(calls_of(trace, scenario), start=1):
        if call.cache not in (*ADMITTED, *MISMATCHED) or call.identity is None:
            continue
        failed = call.cache in MISMATCHED
        values = {name: "" for name in FIELDS}
        values.update({
            "DateTime": time_of(call.step), "RequestId": f"5d2e{number:04x}-1c0b-4f7e-a1d2-6b3c{number:08x}",
            "MajorVersion": "15", "MinorVersion": "0", "BuildVersion": "1497", "RevisionVersion": "12",
            "Protocol": "RpcHttp", "UrlHost": "mail.contoso.com", "UrlStem": "/rpc/rpcproxy.dll",
            "AuthenticationType": "Negotiate", "IsAuthenticated": "True", "AuthenticatedUser": account(call.identity),
            "UserAgent": "MSRPC", "ClientIpAddress": "10.0.4.21", "ServerHostName": "EXCAS01",
            "FrontEndServer": "EXCAS01.contoso.com", "HttpStatus": "500" if failed else "200",
            "BackEndStatus": "500" if failed else "200", "Method": "RPC_OUT_DATA", "TargetServer": f"{SERVER}.contoso.com",
            "RoutingType": "Server", "TotalRequestTime": "12",
            "GenericErrors": "Connection Registration Failed:64, the association is registered to another user"
            if failed else "",
        })
        text.append(row([values[name] for name in FIELDS]))
    return "".join(text)
