"""regcheck.display: control and invisible characters made visible, file names kept on their line, names
that mix scripts told apart."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regcheck.display import mixed_scripts, printable, printable_path, script_warning, shown

HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"}


@pytest.mark.parametrize("text, seen", [
    ("a\u200bb", "a\\u200bb"),
    ("zero\u200c\u200d\u2060joiners", "zero\\u200c\\u200d\\u2060joiners"),
    ("\ufeffbom", "\\ufeffbom"),
    ("soft\u00adhyphen", "soft\\xadhyphen"),
    ("no\u00a0break", "no\\xa0break"),
    ("em\u2003space and ideographic\u3000space", "em\\u2003space and ideographic\\u3000space"),
    ("line\u2028separator", "line\\u2028separator"),
    ("\x1b[31mred\x7f", "\\x1b[31mred\\x7f"),
    ("right-to-left \u202eoverride", "right-to-left \\u202eoverride"),
    ("tab\tand\nnewline kept", "tab\tand\nnewline kept"),
    ("élan, Поток, 会話, ü", "élan, Поток, 会話, ü"),
])
def test_printable_makes_invisible_characters_visible(text: str, seen: str) -> None:
    assert printable(text) == seen


@given(st.text())
def test_printable_leaves_nothing_invisible_but_tab_and_newline(text: str) -> None:
    assert all(c in "\t\n" or unicodedata.category(c) not in HIDDEN or c == " " for c in printable(text))
    assert all(unicodedata.category(c) not in HIDDEN or c == " " for c in printable_path(text))


def test_a_file_name_cannot_start_a_line_of_its_own() -> None:
    assert printable_path(Path("a\nerror: forged\t.itf.json")) == "a\\nerror: forged\\t.itf.json"


def test_shown_escapes_an_invisible_character() -> None:
    assert shown("alice\u200b") == "'alice\\u200b'"


@pytest.mark.parametrize("name, scripts", [
    ("\u0430lice", ("CYRILLIC", "LATIN")),
    ("p\u0430ypal", ("LATIN", "CYRILLIC")),
    ("\u03bfmega-o", ("GREEK", "LATIN")),
    ("\uff41lice", ("FULLWIDTH", "LATIN")),
    ("alice", ()),
    ("Поток 7", ()),
    ("会話ひとつカタカナ", ()),
    ("T1-4412", ()),
])
def test_mixed_scripts(name: str, scripts: tuple[str, ...]) -> None:
    assert mixed_scripts(name) == scripts


def test_the_warning_names_the_odd_letter() -> None:
    assert script_warning("identity", "\u0430lice") == (
        "warning: identity 'аlice' mixes scripts (Cyrillic, Latin): 'а' is U+0430 CYRILLIC SMALL LETTER A, so it "
        "is not the name it looks like"
    )
    assert script_warning("thread", "T1\u200b") == (
        "warning: thread 'T1\\u200b' holds invisible characters, so it is not the name it looks like"
    )
    assert script_warning("thread", "T1") is None


def test_shown_says_that_a_value_mixes_scripts() -> None:
    assert shown("\u0455eed") == "'ѕeed' (its letters mix scripts: Cyrillic, Latin)"
    assert shown("seed") == "'seed'"
