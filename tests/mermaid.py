"""A strict structural check of Mermaid ``sequenceDiagram`` text, for the statements regcheck writes.

It follows Mermaid's sequence-diagram grammar (``sequenceDiagram.jison``): a message is
``ACTOR ARROW ACTOR: TEXT``, a note ``Note over|left of|right of ACTOR[,ACTOR]: TEXT``, blocks
such as ``rect COLOUR`` close with ``end``; message and note text runs to the end of the line and
may not contain ``;`` or ``#`` (both end the text in Mermaid's lexer) except as entity codes such
as ``#59;``. Anything else is rejected with the line number, so a test failure says what broke.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ARROWS = ("-->>", "->>", "--x", "-x", "-->", "->", "--)", "-)")
_ID = r"[A-Za-z][A-Za-z0-9_]*"
_PARTICIPANT = re.compile(rf"participant ({_ID}) as (.+)")
_MESSAGE = re.compile(rf"({_ID})({'|'.join(re.escape(a) for a in ARROWS)})({_ID}): (.+)")
_NOTE = re.compile(rf"Note (over|left of|right of) ({_ID})(?:,({_ID}))?: (.+)")
_RECT = re.compile(r"rect rgba?\(\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*(?:,\s*[0-9.]+\s*)?\)")
_TEXT = re.compile(r"(?:[^#;\n]|#(?:[0-9]+|[a-z]+);)+")


@dataclass
class Diagram:
    participants: dict[str, str] = field(default_factory=dict)
    messages: list[tuple[str, str, str, str]] = field(default_factory=list)
    notes: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    blocks: int = 0


def _text(text: str, number: int) -> str:
    if not _TEXT.fullmatch(text) or text.strip() != text or not text:
        raise ValueError(f"line {number}: text {text!r} has a raw ';' or '#', or stray spaces")
    return text


def parse(source: str) -> Diagram:
    """Parse ``source`` or raise ValueError naming the first line that is not valid."""
    lines = source.splitlines()
    if not lines or lines[0].strip() != "sequenceDiagram":
        raise ValueError("line 1: a sequence diagram starts with 'sequenceDiagram'")
    diagram = Diagram()
    depth = 0
    declared_all = False
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.strip()
        if not line or line.startswith("%%"):
            continue
        if m := _PARTICIPANT.fullmatch(line):
            if declared_all:
                raise ValueError(f"line {number}: participants are declared before the first message")
            if m.group(1) in diagram.participants:
                raise ValueError(f"line {number}: participant {m.group(1)} declared twice")
            diagram.participants[m.group(1)] = _text(m.group(2), number)
            continue
        declared_all = True
        if m := _MESSAGE.fullmatch(line):
            source_id, arrow, target, text = m.groups()
            for actor in (source_id, target):
                if actor not in diagram.participants:
                    raise ValueError(f"line {number}: {actor} is not a declared participant")
            diagram.messages.append((source_id, arrow, target, _text(text, number)))
        elif m := _NOTE.fullmatch(line):
            actors = tuple(a for a in (m.group(2), m.group(3)) if a)
            for actor in actors:
                if actor not in diagram.participants:
                    raise ValueError(f"line {number}: {actor} is not a declared participant")
            diagram.notes.append((actors, _text(m.group(4), number)))
        elif _RECT.fullmatch(line):
            depth += 1
            diagram.blocks += 1
        elif line == "end":
            if depth == 0:
                raise ValueError(f"line {number}: 'end' closes no block")
            depth -= 1
        else:
            raise ValueError(f"line {number}: not a sequence-diagram statement: {line!r}")
    if depth:
        raise ValueError(f"{depth} block(s) left open at the end")
    return diagram
