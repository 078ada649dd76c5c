"""Text from strangers made safe to show: control and invisible characters made visible, long values cut.

Scenario names and descriptions, trace labels and file names come from files that anyone may
write. Shown raw, an ESC byte drives the terminal (colours, OSC 8 links, cursor moves) and a
megabyte value buries the message it sits in; shown as rich markup, ``[/x]`` is a crash. Every
piece of user text that reaches a terminal passes :func:`printable` (and is printed without
markup); every value echoed in an error message passes :func:`shown`; every file name printed passes
:func:`printable_path`, so that a newline in it cannot forge a line of output.

Invisible characters (a zero-width space, a soft hyphen, a byte-order mark, any other Unicode format
character, and whitespace other than the ASCII space) are made visible as ``\\u200b``-style escapes:
``alice`` and ``alice\\u200b`` are two identities, and a person must be able to see that.
:func:`mixed_scripts` tells a name whose letters come from several scripts (a Cyrillic ``а`` among
Latin letters), which looks like another name and is not.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable

__all__ = [
    "brief", "did_you_mean", "is_printable", "mixed_scripts", "printable", "printable_path", "script_warning",
    "shorten", "shown",
]

KEEP = 60
"""Characters of a long value that a message keeps."""

LONG = 200
"""Characters from which a value, or a word of an error message, is cut to :data:`KEEP`."""

MAX_BITS = 200
"""Bits from which a number is described by its size instead of its digits (which may not even print)."""

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""Control characters (C0 but tab and newline, DEL, C1) and the bidirectional controls that reorder text."""

_WORD = re.compile(r"\S{%d,}" % LONG)

SCRIPTS_READ = 1_000
"""Characters of a value that :func:`shown` reads for letters of mixed scripts (a value is shown cut anyway)."""

_MAYBE = re.compile("[^\t\n\x20-\x7e]")
"""Characters that may need an escape: every one but tab, newline and printable ASCII."""
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})
"""Unicode categories shown as escapes: controls, format characters (zero-width and bidirectional ones,
the soft hyphen, the byte-order mark), surrogates, private-use and unassigned code points, and
whitespace other than the ASCII space."""
_SAME_SCRIPT = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "HANGUL": "CJK", "BOPOMOFO": "CJK"}
"""Scripts that one name may mix without looking like another (Japanese and Korean writing)."""


def _escape(char: str) -> str:
    return char.encode("unicode_escape").decode("ascii")


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    return _escape(char) if unicodedata.category(char) in _HIDDEN else char


def printable(text: str) -> str:
    """``text`` with each control or invisible character written as a visible escape (``\\x1b``,
    ``\\u200b``); tab and newline kept."""
    return _MAYBE.sub(_visible, text)


def printable_path(path: object) -> str:
    """A file name as it may be printed: :func:`printable`, and tab and newline escaped too, so that a
    name cannot start a line of its own."""
    return printable(str(path)).replace("\t", "\\t").replace("\n", "\\n")


def _script(char: str) -> str | None:
    """The script of a letter, by the first word of its Unicode name (``CYRILLIC``); None for a non-letter."""
    if not unicodedata.category(char).startswith("L"):
        return None
    word = unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]
    return _SAME_SCRIPT.get(word, word)


def mixed_scripts(name: str) -> tuple[str, ...]:
    """The scripts of ``name``'s letters in order of first use, when there are two or more (else ``()``):
    ``('LATIN', 'CYRILLIC')`` for ``al\u0456ce``."""
    scripts = tuple(dict.fromkeys(s for s in map(_script, name) if s is not None))
    return scripts if len(scripts) > 1 else ()


def script_warning(what: str, name: str) -> str | None:
    """``"warning: identity 'аlice' mixes scripts ..."`` for a name that mixes scripts or holds invisible
    characters (it looks like a name it is not), else None."""
    scripts = mixed_scripts(name)
    if scripts:
        letters = [s for s in map(_script, name) if s is not None]
        usual = max(scripts, key=letters.count)
        odd = next(c for c in name if _script(c) not in (None, usual))
        return (f"warning: {what} {_echo(name)} mixes scripts ({', '.join(s.title() for s in scripts)}): {odd!r} is "
                f"U+{ord(odd):04X} {unicodedata.name(odd, 'unnamed')}, so it is not the name it looks like")
    if printable(name) != name:
        return f"warning: {what} {_echo(name)} holds invisible characters, so it is not the name it looks like"
    return None


def is_printable(text: str) -> bool:
    """Whether ``text`` holds no control character (C0 but tab and newline, DEL, C1, bidirectional controls)."""
    return _UNSAFE.search(text) is None


def shorten(text: str) -> str:
    """``text``, or its first :data:`KEEP` characters and how long it was, when it has :data:`LONG` or more."""
    return text if len(text) < LONG else f"{text[:KEEP]}…({len(text)} characters)"


def shown(value: object) -> str:
    """A bad value as an error message echoes it: ``repr``, made printable and cut to a readable length; a
    text whose letters mix scripts (a Cyrillic ``а`` among Latin letters) says so, as it looks like another."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() >= MAX_BITS:
        return f"a {value.bit_length()}-bit number"
    text = _echo(value)
    scripts = mixed_scripts(value[:SCRIPTS_READ]) if isinstance(value, str) else ()
    return f"{text} (its letters mix scripts: {', '.join(s.title() for s in scripts)})" if scripts else text


def _echo(value: object) -> str:
    """``repr(value)``, made printable and cut."""
    return shorten(printable(repr(value)))


def brief(message: str) -> str:
    """An error message as one printable line, each overlong word (a value nobody cut before) cut."""
    line = " ".join(printable(message).split())
    return _WORD.sub(lambda m: shorten(m.group()), line)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices`` to a mistyped ``word``, else ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
