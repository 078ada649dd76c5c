"""JUnit XML, the test-report format every CI server reads: suites of cases, each passed, failed, errored or skipped.

The document follows the JUnit schema of Jenkins and Maven Surefire (``junit-10.xsd``): a
``testsuites`` root, one ``testsuite`` per group with its counts, one ``testcase`` per check,
holding at most one of ``failure``, ``error`` or ``skipped`` and then its ``system-out``. Text
that XML 1.0 cannot hold (control characters, lone surrogates) is replaced by U+FFFD, so any
scenario or log text makes a well-formed file. This module knows no protocol: callers say what
each case is.
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

OUTCOMES = ("passed", "failure", "error", "skipped")
"""What a case can be: JUnit's three ways of not passing, and passing."""

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters that XML 1.0 documents cannot hold, escaped or not."""
_CR = "\ufffe"
"""Stands for a carriage return in element text until the document is serialised: XML readers turn a raw CR
into LF, so it must be written as ``&#13;``, which ElementTree does not do in text; U+FFFE cannot be in
:func:`xml_text`'s output, so it stands for nothing else."""


@dataclass(frozen=True)
class Case:
    """One test case: its name, the group it is reported under, and how it ended.

    ``message`` is the one line a CI view shows; ``body`` the detail under it (for a case that did
    not pass); ``output`` what the case printed (its ``system-out``), shown for every outcome.
    """

    name: str
    classname: str
    outcome: str = "passed"
    message: str = ""
    body: str = ""
    output: str = ""
    kind: str = ""
    time_s: float = 0.0

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"a case is one of {', '.join(OUTCOMES)}, not {self.outcome!r}")


@dataclass(frozen=True)
class Suite:
    """A group of cases (one scenario's properties, one log's diagnosis) with properties to record."""

    name: str
    cases: tuple[Case, ...]
    properties: tuple[tuple[str, str], ...] = ()
    file: str = ""

    def count(self, outcome: str) -> int:
        return sum(case.outcome == outcome for case in self.cases)


def xml_text(text: str) -> str:
    """``text`` with every character XML 1.0 cannot hold replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def document(suites: Sequence[Suite], *, name: str = "regcheck", timestamp: datetime | None = None) -> bytes:
    """The JUnit XML of ``suites``, UTF-8 with its declaration, indented for reading."""
    stamp = (timestamp or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S")
    host = xml_text(socket.gethostname() or "localhost")
    root = ET.Element("testsuites", _attributes(name, suites))
    for index, suite in enumerate(suites):
        element = ET.SubElement(root, "testsuite", {
            **_attributes(suite.name, [suite]),
            "skipped": str(suite.count("skipped")),
            "timestamp": stamp,
            "hostname": host,
            "id": str(index),
            **({"file": xml_text(suite.file)} if suite.file else {}),
        })
        if suite.properties:
            table = ET.SubElement(element, "properties")
            for key, value in suite.properties:
                ET.SubElement(table, "property", {"name": xml_text(key), "value": xml_text(value)})
        for case in suite.cases:
            _case(element, case)
    ET.indent(root, space="  ")
    text: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return text.replace(_CR.encode("utf-8"), b"&#13;") + b"\n"


def _attributes(name: str, suites: Sequence[Suite]) -> dict[str, str]:
    return {
        "name": xml_text(name),
        "tests": str(sum(len(s.cases) for s in suites)),
        "failures": str(sum(s.count("failure") for s in suites)),
        "errors": str(sum(s.count("error") for s in suites)),
        "time": f"{sum(c.time_s for s in suites for c in s.cases):.3f}",
    }


def _case(parent: ET.Element, case: Case) -> None:
    element = ET.SubElement(parent, "testcase", {
        "name": xml_text(case.name),
        "classname": xml_text(case.classname),
        "time": f"{case.time_s:.3f}",
    })
    if case.outcome != "passed":
        attributes = {"message": xml_text(case.message)}
        if case.kind:
            attributes["type"] = xml_text(case.kind)
        ET.SubElement(element, case.outcome, attributes).text = _element_text(case.body) or None
    if case.output:
        ET.SubElement(element, "system-out").text = _element_text(case.output)


def _element_text(text: str) -> str:
    return xml_text(text).replace("\r", _CR)


__all__ = ["OUTCOMES", "Case", "Suite", "document", "xml_text"]
