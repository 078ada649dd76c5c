"""The mailbox server's RpcHttp log: each RPC over HTTP channel request, who made it, on which association,
and how it ended; its registration failures and admissions as server events.

Rows are ``TimeStamp,ServerName,EventId,EventData`` with ``EventData`` a ``;``-separated list of
``S:Key=Value`` pairs; one request gives a row per stage it reaches, sharing its ``RequestId``. A request
is placed where it first appears, and the last stage it reached decides what it observes
(regcheck/model/SEMANTICS.md, "Observations from Exchange's logs").
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field

from regcheck.core.result import Trace
from regcheck.display import shown
from regcheck.errors import InvalidArgument
from regcheck.model.logs.exchange import Row, need
from regcheck.model.logs.identities import Identities
from regcheck.model.logs.writing import SERVER, Call, account, calls_of, header, row, sid, time_of
from regcheck.model.observations import ADMITTED, MISMATCHED, REGISTRATION_ADMITTED, REGISTRATION_FAILED, Event
from regcheck.model.scenario import Scenario

LOG_TYPE = "RpcHttp Log"
COLUMNS = ("TimeStamp", "ServerName", "EventId", "EventData")
STAGES = ("BeginRequest", "PostAuthorizeRequest", "EndRequest")
MAX_OPEN = 100_000
"""Requests begun and not yet placed in order, at most (a long ``RPC_OUT_DATA`` holds back those after it)."""
MAX_VALUE = 2_048
_PAIR = re.compile(r"([A-Z]):([A-Za-z][A-Za-z0-9]{0,63})=(.*)", re.DOTALL)
_STATUS = re.compile(r"([1-5][0-9]{2})(?:\.([0-9]{1,5}))?(?:\..*)?", re.DOTALL)
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass
class _Request:
    line: int
    time: str
    values: dict[str, str] = field(default_factory=dict)
    ended: bool = False


def pairs(text: str, where: str) -> dict[str, str]:
    """``S:Stage=BeginRequest;S:HttpVerb=RPC_OUT_DATA`` as ``{"Stage": ..., "HttpVerb": ...}``."""
    found: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        match = _PAIR.fullmatch(part.strip())
        if match is None:
            raise InvalidArgument(f"{where}: EventData {shown(part[:80])} is not T:Key=Value")
        key, value = match.group(2), match.group(3).strip()
        if key in found:
            raise InvalidArgument(f"{where}: EventData names {key} twice")
        if len(value) > MAX_VALUE:
            raise InvalidArgument(f"{where}: EventData's {key} is longer than {MAX_VALUE:,} characters")
        found[key] = value
    return found


def events(rows: Iterator[Row], identities: Identities, skipped: Counter[str]) -> Iterator[Event]:
    """The server events of the rows' requests, in the order the requests first appear."""
    pending: OrderedDict[str, _Request] = OrderedDict()
    for each in rows:
        need(COLUMNS, each)
        if each.get("EventId") != "RpcHttp":
            skipped["rows of another event"] += 1
            continue
        data = pairs(each.get("EventData"), each.where)
        stage, request = data.get("Stage", ""), data.get("RequestId", "")
        if stage not in STAGES:
            raise InvalidArgument(f"{each.where}: Stage {shown(stage)} is none of {', '.join(STAGES)}")
        if not request:
            raise InvalidArgument(f"{each.where}: no RequestId in EventData")
        if request not in pending:
            if len(pending) >= MAX_OPEN:
                raise InvalidArgument(f"{each.where}: more than {MAX_OPEN:,} requests open at once")
            pending[request] = _Request(each.line, each.get("TimeStamp"))
        known = pending[request]
        if known.ended:
            raise InvalidArgument(f"{each.where}: request {shown(request)} goes on after its EndRequest")
        for key, value in data.items():
            if value:
                known.values.setdefault(key, value)
        known.ended = stage == "EndRequest"
        if stage == "EndRequest" and "Status" not in data:
            raise InvalidArgument(f"{each.where}: an EndRequest with no Status")
        while pending and next(iter(pending.values())).ended:
            _, first = pending.popitem(last=False)
            event = _event(first, identities, skipped, each.where)
            if event is not None:
                yield event
    if pending:
        skipped["requests that never ended"] += len(pending)


def _event(request: _Request, identities: Identities, skipped: Counter[str], where: str) -> Event | None:
    values = request.values
    if values.get("HttpVerb") != "RPC_OUT_DATA":
        skipped[f"{values.get('HttpVerb', 'other')} requests"] += 1
        return None
    status = _STATUS.fullmatch(values["Status"])
    if status is None:
        raise InvalidArgument(f"{where}: Status {shown(values['Status'][:80])} is not <http status>.<sub-status>...")
    code, sub = int(status.group(1)), int(status.group(2) or 0)
    if code == 500 and sub == 64:
        call = REGISTRATION_FAILED
    elif 200 <= code < 300:
        call = REGISTRATION_ADMITTED
    else:
        skipped[f"RPC_OUT_DATA requests ending {code}.{sub}"] += 1
        return None
    user = values.get("RpcHttpUserName")
    association = values.get("AssociationGuid")
    if association is not None and not GUID.fullmatch(association):
        raise InvalidArgument(f"{where}: AssociationGuid {shown(association[:80])} is not a GUID")
    return Event(0, request.line, call, identity=None if user is None else identities.resolve(user),
                 association=None if association is None else association.lower(), time=request.time or None)


def write(scenario: Scenario, trace: Trace) -> str:
    """The RpcHttp log of ``trace``: one ``RPC_OUT_DATA`` request for each call the cache admitted or refused,
    and an ``RPC_IN_DATA`` request when an association first appears."""
    text = [header(LOG_TYPE, COLUMNS)]
    owners: dict[str, str] = {}
    opened: set[str] = set()
    number = 0
    for call in calls_of(trace, scenario):
        if call.cache not in (*ADMITTED, *MISMATCHED) or call.identity is None:
            continue
        if call.guid is not None and call.guid not in opened:
            opened.add(call.guid)
            number += 1
            text += _request(number, call, "RPC_IN_DATA", "200.0.")
        number += 1
        status = "200.0."
        if call.cache in MISMATCHED:
            owner = owners.get(call.guid or "")
            refused = sid(call.identity, scenario, network=True)
            status = (f"500.64.Connection Registration Failed:64 (AssociationGroupId '{call.guid}' already exists with "
                      f"user sid '{owner}'.  Cannot replace with user sid '{refused}'.)"
                      if owner else "500.64.Connection Registration Failed:64")
        elif call.guid is not None:
            owners.setdefault(call.guid, sid(call.identity, scenario, network=True))
        text += _request(number, call, "RPC_OUT_DATA", status)
    return "".join(text)


def _request(number: int, call: Call, verb: str, status: str) -> list[str]:
    user = account(call.identity or "")
    common = (f"S:HttpVerb={verb};S:UriQueryString=?{SERVER}.contoso.com:6001;S:RequestId=a3c5{number:04x}-"
              f"77e2-4d1b-9c3e-5b1f{number:08x};S:ClientIp=10.0.4.21")
    stamp = time_of(call.step)
    guid = f";S:AssociationGuid={call.guid}" if call.guid else ""
    stages = (
        f"S:Stage=BeginRequest;{common}",
        f"S:Stage=PostAuthorizeRequest;S:UserName={user};S:AuthType=Negotiate;S:RpcHttpUserName={user};"
        f"S:ServerTarget={SERVER}.contoso.com;S:FEServer=EXCAS01;{common}{guid};"
        f"S:OutlookSessionId={{{call.session or 0:08X}-0000-0000-0000-000000000000}}",
        f"S:Stage=EndRequest;S:Status={status};{common}",
    )
    return [row((stamp, SERVER, "RpcHttp", data)) for data in stages]
