"""Text from strangers made safe to show: control characters made visible, long values cut.

Scenario names and descriptions, trace labels and file names come from files that anyone may
write. Shown raw, an ESC byte drives the terminal (colours, OSC 8 links, cursor moves) and a
megabyte value buries the message it sits in; shown as rich markup, ``[/x]`` is a crash. Every
piece of user text that reaches a terminal passes :func:`printable` (and is printed without
markup); every value echoed in an error message passes :func:`shown`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

__all__ = ["brief", "did_you_mean", "is_printable", "printable", "shorten", "shown"]

KEEP = 60
"""Characters of a long value that a message keeps."""

LONG = 200
"""Characters from which a value, or a word of an error message, is cut to :data:`KEEP`."""

MAX_BITS = 200
"""Bits from which a number is described by its size instead of its digits (which may not even print)."""

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""Control characters (C0 but tab and newline, DEL, C1) and the bidirectional controls that reorder text."""

_WORD = re.compile(r"\S{%d,}" % LONG)


def printable(text: str) -> str:
    """``text`` with each control character written as a visible escape (``\\x1b``); tab and newline kept."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def is_printable(text: str) -> bool:
    """Whether ``text`` holds no control character that :func:`printable` would make visible."""
    return _UNSAFE.search(text) is None


def shorten(text: str) -> str:
    """``text``, or its first :data:`KEEP` characters and how long it was, when it has :data:`LONG` or more."""
    return text if len(text) < LONG else f"{text[:KEEP]}…({len(text)} characters)"


def shown(value: object) -> str:
    """A bad value as an error message echoes it: ``repr``, made printable and cut to a readable length."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() >= MAX_BITS:
        return f"a {value.bit_length()}-bit number"
    return shorten(printable(repr(value)))


def brief(message: str) -> str:
    """An error message as one printable line, each overlong word (a value nobody cut before) cut."""
    line = " ".join(printable(message).split())
    return _WORD.sub(lambda m: shorten(m.group()), line)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices`` to a mistyped ``word``, else ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
