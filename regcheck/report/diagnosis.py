"""A diagnosis of an observed log (``regcheck diagnose``) as HTML and Markdown, for reports and notebooks.

Each explaining group is a line that opens (``<details>``; collapsed in a report) on its completed
execution as the story table, with the event each observed step matched (the others marked inferred),
and its sequence chart; then what the execution violates and what each fix does to the observed
failure. The settings ruled out, and why, follow.
"""

from __future__ import annotations

import itertools
from html import escape

from regcheck.core.result import Trace
from regcheck.diagnosis import Diagnosis, Group, stories
from regcheck.model.scenario import Scenario
from regcheck.model.story import cause, rows
from regcheck.report.evidence import CaseTable
from regcheck.report.html import chart_bytes, inline_svg
from regcheck.report.markdown import literal

_charts = itertools.count(1)

HEAD = ("step", "event", "thread", "runs as", "call", "association", "registration cache", "result")


def _marks(trace: Trace) -> dict[int, str]:
    """Step index -> the events it matched (``"3"``, ``"4,5"``); steps absent were inferred."""
    return {int(k): ",".join(str(e) for e in v) for k, v in trace.meta.get("observed", {}).items()}


def _summary(d: Diagnosis, timing: str = "{}") -> list[str]:
    total, explained = d.searched, d.explaining
    lines = [f"{len(d.events)} events; scenario {d.base.name}"
             + (f"; design facts from the log: {', '.join(d.facts)}" if d.facts else ""),
             *(f"The log implies: {line}" for line in d.implied),
             "Varied: " + "; ".join(f"{k} ({', '.join(v)})" for k, v in d.varied)
             + f": {total} settings, searched in " + timing.format(f"{d.seconds:.1f} s")]
    if d.explained:
        told = len(stories(d))
        lines.append(f"Explained by {explained} of {total} settings, in {told} {'story' if told == 1 else 'stories'} "
                     "(a story's settings may overlap another's).")
    else:
        first = d.events[d.longest].describe() if d.longest < len(d.events) else ""
        lines.append(f"No setting explains the log. The longest prefix some setting explains: events 1 to "
                     f"{d.longest}; the first event none can reach: {first}" if d.exact else
                     f"No setting explains the log. No setting reaches this event in order: {first}")
    return [*d.warnings, *lines]


def _settings(groups: list[Group]) -> str:
    """The settings of one story: its groups' descriptions, and how many settings they hold."""
    count = len({o.setting.values for g in groups for o in g.outcomes})
    return f"{'; or '.join(g.words() for g in groups)} ({count} settings)"


def _fixes(group: Group) -> list[str]:
    out = []
    for fix in group.fixes:
        verdicts = ", ".join(f"{p} {v}" for p, v in fix.verdicts)
        out.append(f"{fix.fix}: {'rules the observed failure out' if fix.rules_out else 'does not rule it out'} "
                   f"({verdicts})")
    return out


def diagnosis_html(title: str, d: Diagnosis, *, prefix: str = "", collapsed: bool = False) -> str:
    """The diagnosis as an HTML fragment (a ``<section>``), each explaining group's execution in a ``<details>``
    section, open unless ``collapsed`` (a report's long page). Its charts' element ids start with ``prefix``,
    which a page gives each diagnosis so that the same inputs give the same page; without one, a fresh number."""
    prefix = prefix or f"dg{next(_charts)}"
    state = "" if collapsed else " open"
    parts = [f"<section class=\"diagnosis\"><h2>Diagnosis of {escape(title)}</h2>"]
    timing = "\x00{}\x01"  # the run time, kept apart so that two reports of the same inputs compare equal
    for line in _summary(d, timing):
        text = escape(line).replace("\x00", '<span class="timing">').replace("\x01", "</span>")
        parts.append(f"<p>{text}</p>")
    for number, groups in enumerate(stories(d), start=1):
        group = groups[0]
        outcome = group.outcomes[0]
        assert outcome.trace is not None
        scenario, trace = outcome.setting.scenario, outcome.trace
        parts.append(f'<details class="result"{state}><summary>{number}. {escape(_settings(groups))}</summary>')
        parts.append(f"<p>An execution of {len(trace)} steps, replayed on the reference simulator, under "
                     f"{escape(outcome.setting.words())}. Observed steps carry their event's number.</p>")
        parts.append(_story_html(scenario, trace))
        if group.violated:
            parts.append(f"<p><b>Why:</b> {escape(cause(scenario, trace))}</p>")
        parts.append(inline_svg(chart_bytes(scenario, trace), prefix=f"{prefix}-{number}"))
        violated = ", ".join(f"{p} (at step {s})" for p, s in group.violated) or "no safety property"
        parts.append(f"<p><b>Violates:</b> {escape(violated)}</p>")
        if group.fixes:
            parts.append("<ul>" + "".join(f"<li>{escape(line)}</li>" for line in _fixes(group)) + "</ul>")
        parts.append("</details>")
    if d.ruled_out:
        parts.append("<h3>Ruled out</h3><ul>")
        for event, why, group in d.ruled_out:
            parts.append(f"<li>{escape(group.words())} ({len(group.outcomes)} settings): "
                         f"{escape(d.events[event - 1].describe())}; {escape(why)}</li>")
        parts.append("</ul>")
    if d.unknown:
        parts.append(f"<p>Not decided for {len(d.unknown)} settings: {escape(d.unknown[0].reason)}</p>")
    parts.append("</section>")
    return "\n".join(parts)


def _story_html(scenario: Scenario, trace: Trace) -> str:
    marks = _marks(trace)
    lines = ['<table class="story">', "<tr>" + "".join(f"<th>{h}</th>" for h in HEAD) + "</tr>"]
    for row in rows(scenario, trace):
        mark = marks.get(row.step - 1, "(inferred)")
        cells = (str(row.step), mark, row.thread, row.identity, row.call, row.guid, row.cache or "-", row.result)
        style = ' class="failed"' if row.failed else (' class="muted"' if mark == "(inferred)" else "")
        lines.append(f"<tr{style}>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    lines.append("</table>")
    return "\n".join(lines)


def diagnosis_markdown(title: str, d: Diagnosis) -> str:
    """The diagnosis as Markdown (a level-2 section)."""
    out = [f"## Diagnosis of {literal(title)}", ""]
    out += [literal(line) + "  " for line in _summary(d)]
    for number, groups in enumerate(stories(d), start=1):
        group = groups[0]
        outcome = group.outcomes[0]
        assert outcome.trace is not None
        scenario, trace = outcome.setting.scenario, outcome.trace
        out += ["", f"### {number}. {literal(_settings(groups))}", ""]
        marks = _marks(trace)
        out += ["| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
        for row in rows(scenario, trace):
            cells = [str(row.step), marks.get(row.step - 1, "(inferred)"), row.thread, row.identity, row.call,
                     row.guid, row.cache or "-", row.result]
            out.append("| " + " | ".join(literal(c).replace("|", "\\|") for c in cells) + " |")
        out.append("")
        out.append("Violates: " + (", ".join(f"{p} (at step {s})" for p, s in group.violated) or "no safety property"))
        out += [f"- {literal(line)}" for line in _fixes(group)]
    if d.ruled_out:
        out += ["", "### Ruled out", ""]
        out += [f"- {literal(g.words())} ({len(g.outcomes)} settings): {literal(d.events[e - 1].describe())}; "
                f"{literal(why)}" for e, why, g in d.ruled_out]
    return "\n".join(out) + "\n"


def cases_html(table: CaseTable) -> str:
    """An Exchange log's cases as an HTML table (a ``<section>``), above their diagnoses."""
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in table.rows)
    return (f'<section class="cases"><h2>Cases of {escape(table.title)}</h2><p>{escape(table.heading)}</p>'
            f'<table class="story"><tr>{head}</tr>{body}</table></section>')


def cases_markdown(table: CaseTable) -> str:
    """An Exchange log's cases as Markdown (a level-2 section with a table)."""
    out = [f"## Cases of {literal(table.title)}", "", literal(table.heading), "",
           "| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    out += ["| " + " | ".join(literal(cell).replace("|", "\\|") for cell in row) + " |" for row in table.rows]
    return "\n".join(out) + "\n"
