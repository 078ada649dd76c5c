"""The protocol model's documents a report cites, and its citations of them made links.

A citation is a path of the package's documents, optionally with a section by its heading:
``regcheck/model/PROTOCOL.md, "What no source decides"``. The report carries a copy of each document
(in the report's folder ``sources``) from the installed package, so a reviewer reading the report offline
follows a citation to the very text it cites, at the heading it names.
"""

from __future__ import annotations

import re
from html import escape
from importlib import resources

DOCUMENTS = ("PROTOCOL.md", "SEMANTICS.md", "SOUNDNESS.md")
"""The documents of ``regcheck.model`` that the report's texts cite."""

FOLDER = "sources"
"""The report's folder that holds a copy of each of :data:`DOCUMENTS`."""

CITATION = re.compile(r'regcheck/model/(PROTOCOL\.md|SEMANTICS\.md|SOUNDNESS\.md)(?:, "([^"]+)")?')
"""A citation of one of the documents, with the heading of a section (its first words) or without."""


def text(document: str) -> str:
    """The document, as the installed package holds it."""
    return (resources.files("regcheck.model") / document).read_text(encoding="utf-8")


def slug(heading: str) -> str:
    """A heading's anchor as Markdown renderers make it: lower case, punctuation dropped, spaces as hyphens.

    >>> slug("What the server's logs show")
    'what-the-servers-logs-show'
    >>> slug("Observations: when a log is a behaviour of the model (`regcheck diagnose`)")
    'observations-when-a-log-is-a-behaviour-of-the-model-regcheck-diagnose'
    """
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def headings(markdown: str) -> list[str]:
    """The headings of a Markdown text, outside its fenced code blocks."""
    found, fenced = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (m := re.match(r"#{1,6} (.+)", line)):
            found.append(m.group(1).strip())
    return found


def section(markdown: str, name: str) -> str | None:
    """The anchor of the first heading of ``markdown`` that starts with ``name``, or None if none does."""
    return next((slug(h) for h in headings(markdown) if h.startswith(name)), None)


def target(document: str, name: str | None) -> str:
    """Where a citation of ``document`` (at section ``name``) leads in a report's folder."""
    anchor = section(text(document), name) if name else None
    return f"{FOLDER}/{document}" + (f"#{anchor}" if anchor else "")


def cite_html(words: str) -> str:
    """``words`` as HTML, every citation in it a link to the report's copy of the document it cites."""
    parts, last = [], 0
    for m in CITATION.finditer(words):
        parts += [escape(words[last:m.start()]),
                  f'<a href="{escape(target(m.group(1), m.group(2)))}">{escape(m.group())}</a>']
        last = m.end()
    return "".join(parts) + escape(words[last:])


def cite_markdown(words: str) -> str:
    """``words`` (Markdown already) with every citation in it a link to the report's copy of the document."""
    return CITATION.sub(lambda m: f"[{m.group()}]({target(m.group(1), m.group(2))})", words)
