"""One identity for each of a user's spellings in Exchange's logs, and SYSTEM for the process's.

A user appears as ``CONTOSO\\alice``, ``alice@contoso.com``, a SID or a legacyExchangeDN; the process
under LocalSystem as the computer account ``CONTOSO\\HOST$``, ``NT AUTHORITY\\SYSTEM`` or ``S-1-5-18``
(regcheck/model/SEMANTICS.md, "Observations from Exchange's logs"). A spelling nothing links to a name
stays an identity of its own, and is reported.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from regcheck.display import printable, printable_path, shown
from regcheck.errors import InvalidArgument
from regcheck.files import read_text_limited
from regcheck.model.scenario import SYSTEM

MAX_MAPPING_BYTES = 1024 * 1024
MAX_MAPPINGS = 10_000
MAX_SPELLING = 255
LOCAL_SYSTEM = ("nt authority\\system", "s-1-5-18", "system", "localsystem", "local system")
"""LocalSystem's spellings on its own machine (compared without case)."""
_COMPUTER = re.compile(r"[^\\/@\s]{1,64}\\[^\\/@\s]{1,64}\$")
_SID = re.compile(r"S-1-[0-9]{1,14}(-[0-9]{1,10}){1,15}", re.IGNORECASE)
_CN = re.compile(r"/cn=([^/]+)$", re.IGNORECASE)


@dataclass
class Identities:
    """How the spellings of one set of logs bind: SYSTEM's, the named process account's, the user's own."""

    mapping: dict[str, str] = field(default_factory=dict)  # spelling (lower) -> identity, from --identities
    process_account: str | None = None
    process_identity: str = SYSTEM
    computer: str | None = None  # the computer account taken as SYSTEM
    bound: dict[str, str | None] = field(default_factory=dict)  # every spelling read -> its identity
    unmapped: list[str] = field(default_factory=list)  # kept distinct: another machine's account
    unknown: list[str] = field(default_factory=list)  # SIDs no --identities names: the identity is left free

    def resolve(self, spelling: str) -> str | None:
        """The identity ``spelling`` binds to, or None where nothing tells whose it is (an unmapped SID: the
        event's identity is then free, as if the row did not give it); remembered, so the output can list them."""
        if spelling not in self.bound:
            identity, named = self._identity(spelling)
            self.bound[spelling] = identity
            if identity is None:
                self.unknown.append(spelling)
            elif not named:
                self.unmapped.append(spelling)
        return self.bound[spelling]

    def _identity(self, spelling: str) -> tuple[str | None, bool]:
        lowered = spelling.lower()
        if lowered in self.mapping:
            return self.mapping[lowered], True
        if lowered in LOCAL_SYSTEM:
            return SYSTEM, True
        short = _short(spelling)
        if self.process_account is not None and short == self.process_account.lower():
            return self.process_identity, True
        if _COMPUTER.fullmatch(spelling):
            if self.computer is None or self.computer == lowered:
                self.computer = lowered
                return SYSTEM, True
            return spelling, False  # another machine's account: another process
        if _SID.fullmatch(spelling):  # whose SID it is no log says (it may be the process's computer account)
            return None, False
        return short, True

    def words(self) -> list[str]:
        """The bindings, one line, and the spellings left unlinked, another."""
        said = [f"{printable(s)} is {printable(i)}{' (the process identity under LocalSystem)' if s.lower() == self.computer else ''}"
                for s, i in self.bound.items() if i is not None and s != i and s not in self.unmapped]
        lines = [f"Identities: {'; '.join(said)}"] if said else []
        if self.unmapped:
            lines.append(f"Identities linked to no name, each kept distinct: {', '.join(map(printable, self.unmapped))} "
                         "(map them with --identities FILE)")
        if self.unknown:
            lines.append(f"SIDs linked to no name, their rows' identity left free: {', '.join(map(printable, self.unknown))} "
                         "(map them with --identities FILE)")
        return lines


def _short(spelling: str) -> str:
    """``CONTOSO\\alice``, ``alice@contoso.com`` or a DN ending ``/cn=alice`` as the user's name: ``alice``."""
    match = _CN.search(spelling)
    if match is not None:
        return match.group(1).strip().lower()
    return spelling.rsplit("\\", 1)[-1].split("@", 1)[0].strip().lower()


def read_identities(path: Path, process_account: str | None, process_identity: str) -> Identities:
    """The mapping of ``--identities FILE``: a CSV ``spelling,identity`` (with that header row) or, for a
    ``.toml`` name, a table ``[identities]`` of ``"spelling" = "identity"``."""
    what = f"--identities {printable_path(path)}"
    text = read_text_limited(path, MAX_MAPPING_BYTES, what=what)
    pairs: list[tuple[str, str, str]] = []
    if path.suffix.lower() == ".toml":
        try:
            table = tomllib.loads(text).get("identities")
        except tomllib.TOMLDecodeError as exc:
            raise InvalidArgument(f"{what}: not TOML ({printable(str(exc))})") from None
        if not isinstance(table, dict):
            raise InvalidArgument(f"{what}: no [identities] table of \"spelling\" = \"identity\"")
        for key, value in table.items():
            if not isinstance(value, str):
                raise InvalidArgument(f"{what}: the identity of {shown(key)} must be text")
            pairs.append((key, value, f"{what}, {shown(key)}"))
    else:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        try:
            header = next(reader, None)
            if header is None or [h.strip().lower() for h in header] != ["spelling", "identity"]:
                raise InvalidArgument(f"{what}, line 1: the header must be spelling,identity")
            for row in reader:
                where = f"{what}, line {reader.line_num}"
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != 2:
                    raise InvalidArgument(f"{where}: {len(row)} values; a line is spelling,identity")
                pairs.append((row[0], row[1], where))
        except csv.Error as exc:
            raise InvalidArgument(f"{what}, line {reader.line_num}: not CSV ({printable(str(exc))})") from None
    mapping: dict[str, str] = {}
    for spelling, identity, where in pairs:
        spelling, identity = spelling.strip(), identity.strip()
        if not 0 < len(spelling) <= MAX_SPELLING or not 0 < len(identity) <= MAX_SPELLING:
            raise InvalidArgument(f"{where}: a spelling and an identity have 1 to {MAX_SPELLING} characters")
        if spelling.lower() in mapping:
            raise InvalidArgument(f"{where}: {shown(spelling)} is mapped twice")
        mapping[spelling.lower()] = SYSTEM if identity.lower() in LOCAL_SYSTEM else _short(identity)
        if len(mapping) > MAX_MAPPINGS:
            raise InvalidArgument(f"{what}: more than {MAX_MAPPINGS:,} spellings")
    return Identities(mapping, process_account, process_identity)
