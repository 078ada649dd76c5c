"""The design-review report as Markdown: the same content as the HTML page, for diffs and code review.

Charts are not inlined: each counterexample links its SVG chart and its ITF trace, which
:func:`regcheck.report.write` puts beside the Markdown file. Run times are the only content that
varies between two runs of the same report.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from regcheck.core.evidence import Certificate
from regcheck.core.result import Trace, Verdict
from regcheck.display import printable
from regcheck.model.design import design_of
from regcheck.model.scenario import Scenario, meets
from regcheck.model.story import rows
from regcheck.properties import catalogue
from regcheck.report import sources
from regcheck.report.evidence import Evidence
from regcheck.report.html import anchors, not_checked, summary, switch_value, verdict_words, why

_SPECIAL = re.compile(r"[\\`*_\[\]<>|&~#!]")
"""Characters that Markdown or the HTML inside it reads, anywhere in a line."""

_LINE_START = re.compile(r"^([0-9]*)([-+=.)])")
"""What makes a line a list item, a rule or a heading underline when it starts the line."""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def literal(text: str) -> str:
    """User text (a scenario's name or description) as Markdown that shows it as written: one line, no markup."""
    line = _SPECIAL.sub(lambda m: "\\" + m.group(), " ".join(printable(text).split()))
    return _LINE_START.sub(r"\1\\\2", line)


def code(text: str) -> str:
    """``text`` (a command, which may name any file) as one Markdown code span, whatever backticks it holds."""
    line = printable(text).replace("\n", "\\n")
    fence = "`" * (max((len(run) for run in re.findall("`+", line)), default=0) + 1)
    return f"{fence} {line} {fence}" if line.startswith("`") or line.endswith("`") else f"{fence}{line}{fence}"


def story_markdown(scenario: Scenario, trace: Trace) -> str:
    """The counterexample's step table in the protocol's words; failed calls in bold."""
    head = ("step", "thread", "runs as", "call", "association", "registration cache", "result")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows(scenario, trace):
        cells = [str(row.step), row.thread, row.identity, row.call, row.guid, row.cache or "-", row.result]
        if row.failed:
            cells = [f"**{c}**" for c in cells]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def document(evidence: Evidence, files: Mapping[str, tuple[str, str]]) -> str:
    """The report as Markdown; ``files`` maps an anchor to its counterexample's (chart, trace) relative paths."""
    from regcheck import compose

    ids = anchors(evidence)
    s = evidence.settings
    out = [
        "# Design-review evidence: the Exchange 2013 Outlook Anywhere registration model",
        "",
        literal(summary(evidence)),
        "",
        "## Verdicts",
        "",
        "| scenario | " + " | ".join(evidence.properties) + " |",
        "|---|" + "---|" * len(evidence.properties),
    ]
    for index, run in enumerate(evidence.runs):
        by_name = {r.property: r for r in run.results}
        cells = []
        for name in evidence.properties:
            result = by_name.get(name)
            if result is None:
                cells.append("not checked")
                continue
            expected = run.scenario.expected.get(name)
            text = verdict_words(result)
            if result.verdict is not Verdict.UNKNOWN and meets(result.verdict.value, expected) is False:
                text = f"**{text}; expected: {expected}**"
            cells.append(f"[{text}](#{ids[index, name]})")
        out.append(f"| {literal(run.scenario.name)} | " + " | ".join(cells) + " |")
    out += [
        "",
        "Every counterexample was replayed on the reference simulator before it was reported; every proof's "
        "certificate was re-checked by a fresh solver instance. *Bounded* means no violation in any execution "
        "of at most that many steps: it is not a proof. *Unknown* is never a pass.",
        "",
        f"- Regenerate: {code(evidence.command)}",
        f"- Settings: engine {s.engine}, depth {s.depth}, timeout {s.timeout:g} s, "
        f"certificates re-checked by {s.recheck}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in evidence.versions.items()),
        f"- Model fingerprint: `{evidence.model_fingerprint}` (sha256 of regcheck/model/ and regcheck/properties/)",
    ]
    out += ["", "## Properties", "", "| property | kind | meaning | source |", "|---|---|---|---|"]
    for name in evidence.properties:
        spec = catalogue.spec(name)
        out.append(f"| `{name}` | {spec.kind.value} | {_cell(spec.description)} | {sources.cite_markdown(_cell(spec.source))} |")
    for index, run in enumerate(evidence.runs):
        scenario = run.scenario
        out += ["", f'<a id="{ids[index, ""]}"></a>', "", f"## Scenario {literal(scenario.name)}", ""]
        if scenario.description:
            out += [literal(scenario.description), ""]
        out += [
            f"Reproduce every row: {code(run.command(evidence.settings))}  ",
            f"Scenario fingerprint: `{run.fingerprint}`",
            "",
            "The design checked:",
            "",
            *(f"- {_cell(line)}" for line in design_of(scenario).lines()),
            "",
            "| switch | value |",
            "|---|---|",
        ]
        out += [
            f"| `{k}` | {_cell(switch_value(k, v))} |"
            for k, v in scenario.switches().items()
            if k not in ("name", "description")
        ]
        shown: dict[str, str] = {}
        for result in run.results:
            anchor = ids[index, result.property]
            out += [
                "",
                f'<a id="{anchor}"></a>',
                "",
                f"### `{result.property}`: {verdict_words(result)}",
                "",
                f"Engine {result.engine}, {result.time_s:.2f} s. "
                f"Reproduce: {code(run.command(evidence.settings, result.property))}",
            ]
            if result.note:
                out += ["", result.note]
            if result.verdict is Verdict.VIOLATED and result.trace is not None:
                concrete = compose.scenario_of(scenario, result.trace)
                chart, trace = files[anchor]
                out += ["", story_markdown(concrete, result.trace), "", f"**Why:** {why(concrete, result)}", "",
                        f"![sequence chart]({chart})", "", f"Trace: [{trace}]({trace}) "
                        f"(replay it with `regcheck replay {trace}`)"]
            elif result.verdict is Verdict.PROVED:
                out.append("")
                if isinstance(result.evidence, Certificate):
                    text = result.evidence.describe()
                    if text in shown:
                        out.append(f"The same certificate as [`{shown[text]}`](#{ids[index, shown[text]]}).")
                        continue
                    shown[text] = result.property
                    rechecked = result.evidence.rechecks()
                    out += ["Certificate" + (f" (re-checked by {rechecked})" if rechecked else "")
                            + ":", "", "```", text, "```"]
                    out += [f"- {k}: {v}" for k, v in sorted(result.evidence.notes.items())]
                elif result.evidence is not None:
                    out += [f"- {k}: {v}" for k, v in result.evidence.to_json().items()]
            elif result.verdict is Verdict.BOUNDED:
                out += ["", f"No violation in any execution of at most {result.depth} steps; not a proof."]
    if evidence.diagnoses:
        from regcheck.report.diagnosis import cases_markdown, diagnosis_markdown  # it draws on this module's fragments

        for table in evidence.case_tables:
            out += ["", cases_markdown(table).rstrip("\n")]
        for title, diagnosed in evidence.diagnoses:
            out += ["", diagnosis_markdown(title, diagnosed).rstrip("\n")]
    out += ["", "## What was not checked"]
    for heading, items in not_checked(evidence, literal):
        out += ["", f"### {sources.cite_markdown(heading)}", ""] + [f"- {item}" for item in items]
    out += ["", "## Provenance", ""]
    out += [f"- {k}: {v}" for k, v in evidence.versions.items()]
    out.append(f"- model fingerprint: `{evidence.model_fingerprint}`")
    out += [f"- scenario {literal(run.scenario.name)}: `{run.fingerprint}`" for run in evidence.runs]
    out += [f"- command: {code(evidence.command)}", f"- checking time: {evidence.elapsed_s:.1f} s"]
    return "\n".join(out) + "\n"
