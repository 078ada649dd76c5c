"""The design-review report as one self-contained HTML page, and the HTML fragments notebooks reuse.

The page needs no network and no other file: styles are inline and every sequence chart is an
inline SVG (its element ids prefixed per chart, so that several charts share one page). It opens
with its summary (the verdicts counted, then the verdict matrix), then the properties, then per
scenario its design and one line per property; each line opens (``<details>``) on its evidence:
the counterexample (the story table, why it fails, the chart) or the proof's certificate. What was
not checked and the provenance close it. Every verdict states its reach plainly (``proved``,
``bounded to k steps``, ``violated``, ``unknown``) and links the command that reproduces it.

Output is deterministic for the same evidence; run times are the only thing that varies between
two runs, and each sits in a ``<span class="timing">`` so that a comparison can drop it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from html import escape

from regcheck.core import evidence as proofs
from regcheck.core.evidence import Certificate
from regcheck.core.result import CheckResult, Trace, Verdict, scope_words
from regcheck.display import printable
from regcheck.model import variants
from regcheck.model.design import design_of
from regcheck.model.scenario import Scenario, meets
from regcheck.model.story import cause, rows
from regcheck.outputs import shortened
from regcheck.properties import catalogue
from regcheck.report import sources
from regcheck.report.evidence import Evidence, Run

STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1b1b; margin: 0 auto;
       max-width: 1200px; padding: 1.5em 2em 4em; }
h1 { font-size: 1.7em; margin-bottom: .2em; } h2 { margin-top: 2em; border-bottom: 2px solid #ccd; }
h3 { margin: 1.6em 0 .4em; } h4 { margin: 1.2em 0 .3em; }
code, pre { font: 13px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
pre { background: #f4f5f7; padding: .6em .8em; white-space: pre-wrap; word-break: break-word; border-radius: 4px; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border: 1px solid #d5d8de; padding: .3em .55em; text-align: left; vertical-align: top; }
th { background: #eef0f4; }
table.matrix th.property { font-weight: 600; font-size: .85em; max-width: 9em; }
table.matrix td { text-align: center; min-width: 7em; }
.verdict { font-weight: 700; }
.v-violated { background: #fbd5d5; } .v-proved { background: #d3efd6; }
.v-bounded { background: #fff1c7; } .v-unknown { background: #e3e3e3; }
td.unexpected { outline: 3px solid #c00000; outline-offset: -3px; }
.detail { display: block; font-size: .8em; font-weight: 400; color: #333; }
.failed td { color: #b00000; font-weight: 600; }
.changed { font-weight: 700; } .muted { color: #666; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; }
dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; }
.chart svg { max-width: 100%; height: auto; border: 1px solid #e2e4e8; }
details.result { border-left: 5px solid #ccd; padding: .1em 0 .2em 1em; margin: .5em 0; background: none; }
details.v-violated { border-color: #d04040; } details.v-proved { border-color: #3c9d4c; }
details.v-bounded { border-color: #d9a400; } details.v-unknown { border-color: #888; }
nav ol { columns: 2; }
details.result > summary { cursor: pointer; font-weight: 600; padding: .2em 0; }
details.result > summary .verdict-words { font-weight: 400; }
details.result[open] > summary { margin-bottom: .4em; }
p.summary { font-size: 1.1em; }
"""

_SVG_ID = re.compile(r'\bid="([^"]+)"')
_SVG_REF = re.compile(r'(url\(#|href="#)([^)"]+)')
_CODE = re.compile(r"`([^`]+)`")


# --------------------------------------------------------------------------------------------
# Fragments (also used by regcheck.notebook)


def verdict_words(result: CheckResult) -> str:
    """The verdict and its reach in plain words: ``proved``, ``bounded to 12 steps``, ``violated (5 steps)``."""
    scope = f" {scope_words(result)}" if scope_words(result) else ""
    if result.verdict is Verdict.VIOLATED:
        return f"violated ({len(result.trace) if result.trace is not None else result.depth} steps){scope}"
    if result.verdict is Verdict.BOUNDED:
        return f"bounded to {result.depth} steps{scope}"
    if result.verdict is Verdict.UNKNOWN:
        return "unknown"
    return f"proved{scope}"


def verdict_cell(result: CheckResult, expected: str | None = None, *, href: str = "") -> str:
    """One ``<td>`` of a verdict matrix, coloured by verdict, flagged when it differs from ``expected``."""
    word = result.verdict.value
    detail = {
        Verdict.VIOLATED: f"{len(result.trace) if result.trace else result.depth} steps",
        Verdict.BOUNDED: f"to {result.depth} steps",
        Verdict.PROVED: "all reachable states",
        Verdict.UNKNOWN: "not decided",
    }[result.verdict]
    if scope_words(result):
        detail += f", {scope_words(result)}"
    unexpected = result.verdict is not Verdict.UNKNOWN and meets(result.verdict.value, expected) is False
    if unexpected:
        detail += f"; expected: {expected}"
    text = f'<span class="verdict">{escape(word)}</span><span class="detail">{escape(detail)}</span>'
    if href:
        text = f'<a href="#{escape(href)}">{text}</a>'
    classes = f"v-{word}" + (" unexpected" if unexpected else "")
    return f'<td class="{classes}">{text}</td>'


def story_html(scenario: Scenario, trace: Trace) -> str:
    """The counterexample as a step table in the protocol's words; failed calls in red."""
    head = ("step", "thread", "runs as", "call", "association", "registration cache", "result")
    lines = ["<table class=\"story\">", "<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for row in rows(scenario, trace):
        cells = (str(row.step), row.thread, row.identity, row.call, row.guid, row.cache or "-", row.result)
        style = ' class="failed"' if row.failed else ""
        lines.append(f"<tr{style}>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    lines.append("</table>")
    return "\n".join(lines)


def why(scenario: Scenario, result: CheckResult) -> str:
    """Why the counterexample violates the property: its cause (safety), or the repeating cycle (liveness)."""
    trace = result.trace
    assert trace is not None
    if trace.loop is not None:
        return (
            f"A lasso: from step {trace.loop + 1} on, the run repeats for ever, every action under weak fairness "
            f"getting its turn, and this never comes true: {catalogue.spec(result.property).description}"
        )
    return cause(scenario, trace)


def chart_bytes(scenario: Scenario, trace: Trace) -> bytes:
    """The counterexample's sequence chart as an SVG document."""
    from regcheck.model import views
    from regcheck.render import draw

    return draw.render(draw.chart_figure(views.chart(scenario, trace)), "svg")


def inline_svg(svg: bytes, *, prefix: str) -> str:
    """An SVG document as markup for inside a page: no XML prolog, element ids prefixed with ``prefix``."""
    text = svg.decode("utf-8")
    markup = text[text.index("<svg"):]
    markup = _SVG_ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', markup)
    markup = _SVG_REF.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", markup)
    return f'<div class="chart">{markup}</div>'


def evidence_html(evidence: proofs.Evidence | None) -> str:
    """A proof's evidence: the certificate in the model's names and who re-checked it, or the engine's facts."""
    if isinstance(evidence, Certificate):
        text = f"<pre>{escape(evidence.describe())}</pre>"
        notes = [f"re-checked by {evidence.rechecks()}"] if evidence.rechecked_by else []
        notes += [f"{key}: {value}" for key, value in sorted(evidence.notes.items())]
        return text + _list(notes)
    if evidence is not None:
        return _list(f"{key}: {value}" for key, value in evidence.to_json().items())
    return "<p>no certificate recorded</p>"


def switches_html(scenario: Scenario) -> str:
    """Every switch of ``scenario`` with its value; values that differ from the defaults in bold."""
    defaults = Scenario().switches()
    lines = ["<table class=\"switches\">", "<tr><th>switch</th><th>value</th><th>default</th></tr>"]
    for key, value in scenario.switches().items():
        if key in ("name", "description"):
            continue
        changed = value != defaults.get(key)
        mark = ' class="changed"' if changed else ""
        lines.append(
            f"<tr{mark}><td><code>{escape(key)}</code></td><td>{escape(switch_value(key, value))}</td>"
            f"<td class=\"muted\">{escape(switch_value(key, defaults.get(key)))}</td></tr>"
        )
    lines.append("</table>")
    return "\n".join(lines)


def switch_value(key: str, value: object) -> str:
    """A switch's value as a reviewer reads it: flags in hex, booleans and lists as TOML writes them."""
    if key == "connect_flags" and isinstance(value, int):
        return f"0x{value:X}" + (" (CONNECT_NO_NOTIFICATIONS)" if value & 0x20 else "")
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _list(items: Iterable[str]) -> str:
    items = list(items)
    return "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>" if items else ""


# --------------------------------------------------------------------------------------------
# The page


def anchors(evidence: Evidence) -> dict[tuple[int, str], str]:
    """A unique, readable anchor per (run index, property), and per run under the property ``""``."""
    found: dict[tuple[int, str], str] = {}
    seen: dict[str, int] = {}
    for index, run in enumerate(evidence.runs):
        base = shortened(re.sub(r"[^A-Za-z0-9_-]+", "-", run.scenario.name).strip("-") or "scenario",
                         key=run.scenario.name)  # an anchor is a file name too: charts/ANCHOR.svg
        seen[base] = seen.get(base, 0) + 1
        stem = base if seen[base] == 1 else f"{base}-{seen[base]}"
        found[index, ""] = stem
        for result in run.results:
            found[index, result.property] = f"{stem}--{result.property}"
    return found


def page(evidence: Evidence, charts: Mapping[str, bytes]) -> str:
    """The whole report as one HTML document; ``charts`` maps a counterexample's anchor to its SVG chart."""
    ids = anchors(evidence)
    names = ", ".join(run.scenario.name for run in evidence.runs)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>regcheck evidence: {escape(names)}</title>",
        f"<style>{STYLE}</style></head><body>",
        "<header>",
        "<h1>Design-review evidence: the Exchange 2013 Outlook Anywhere registration model</h1>",
        f'<p class="summary">{escape(summary(evidence))}</p>',
        "</header>",
        _matrix(evidence, ids),
        "<p>Every counterexample was replayed on the reference simulator (an independent "
        "implementation of the model) before it was reported; every proof's certificate was re-checked by a "
        "fresh solver instance. <em>Bounded</em> means no violation in any execution of at most that many "
        "steps: it is not a proof. <em>Unknown</em> is never a pass. Each scenario below lists its properties "
        "one per line: open a line for its counterexample or its certificate.</p>",
        _meta(evidence),
        _contents(evidence, ids),
        _properties(evidence),
    ]
    for index, run in enumerate(evidence.runs):
        parts.append(_scenario_section(evidence, index, run, ids, charts))
    if evidence.diagnoses:
        from regcheck.report.diagnosis import cases_html, diagnosis_html  # it draws on this module's fragments

        parts += [cases_html(table) for table in evidence.case_tables]
        parts += [diagnosis_html(title, d, prefix=f"dg{i}", collapsed=True) for i, (title, d) in enumerate(evidence.diagnoses, 1)]
    parts += [_not_checked(evidence), _provenance(evidence), "</body></html>"]
    return printable("\n".join(parts) + "\n")  # scenario text may hold control characters


def summary(evidence: Evidence) -> str:
    """The report in one sentence: what was checked, the verdicts counted, and those that differ from what
    their scenario expects (shared with Markdown)."""
    results = [(run, r) for run in evidence.runs for r in run.results]
    counts = {v: sum(r.verdict is v for _, r in results) for v in Verdict}
    words = ", ".join(f"{n} {v.value}" for v, n in counts.items() if n)
    unexpected = [f"{run.scenario.name}: {r.property}" for run, r in results
                  if r.verdict is not Verdict.UNKNOWN and meets(r.verdict.value, run.scenario.expected.get(r.property)) is False]
    text = (f"{len(evidence.runs)} scenario(s) x {len(evidence.properties)} properties: {len(results)} verdicts, "
            f"{words or 'none'}. ")
    text += (f"{len(unexpected)} differ from what their scenario expects ({'; '.join(unexpected)})." if unexpected
             else "Every decided verdict is as its scenario expects, where it states one.")
    if evidence.diagnoses:
        text += f" {len(evidence.diagnoses)} log(s) diagnosed, below the scenarios."
    return text


def _meta(evidence: Evidence) -> str:
    s = evidence.settings
    rows_ = [
        ("regenerate", f"<code>{escape(evidence.command)}</code>"),
        ("settings", escape(f"engine {s.engine}, depth {s.depth}, timeout {s.timeout:g} s, "
                            f"certificates re-checked by {s.recheck}")),
        ("versions", escape(", ".join(f"{k} {v}" for k, v in evidence.versions.items()))),
        ("model fingerprint", f"<code>{evidence.model_fingerprint[:16]}</code> "
                              "<span class=\"muted\">(sha256 of regcheck/model/ and regcheck/properties/, see provenance)</span>"),
    ]
    return '<dl class="meta">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows_) + "</dl>"


def _contents(evidence: Evidence, ids: Mapping[tuple[int, str], str]) -> str:
    items = ['<li><a href="#verdicts">Verdicts</a></li>', '<li><a href="#properties">Properties</a></li>']
    items += [
        f'<li><a href="#{ids[i, ""]}">Scenario {escape(run.scenario.name)}</a></li>'
        for i, run in enumerate(evidence.runs)
    ]
    items += [
        '<li><a href="#not-checked">What was not checked</a></li>',
        '<li><a href="#provenance">Provenance</a></li>',
    ]
    return f"<nav><h2>Contents</h2><ol>{''.join(items)}</ol></nav>"


def _matrix(evidence: Evidence, ids: Mapping[tuple[int, str], str]) -> str:
    head = "".join(f'<th class="property" scope="col">{escape(p)}</th>' for p in evidence.properties)
    lines = [
        '<section id="verdicts"><h2>Verdicts</h2>',
        "<p>Scenarios down, properties across. A red outline marks a verdict that differs from what the "
        "scenario expects. Each cell links to its evidence.</p>",
        f'<table class="matrix"><tr><th scope="col">scenario</th>{head}</tr>',
    ]
    for index, run in enumerate(evidence.runs):
        by_name = {r.property: r for r in run.results}
        cells = []
        for name in evidence.properties:
            result = by_name.get(name)
            if result is None:
                cells.append('<td class="muted">not checked</td>')
            else:
                cells.append(verdict_cell(result, run.scenario.expected.get(name), href=ids[index, name]))
        lines.append(f'<tr><th scope="row"><a href="#{ids[index, ""]}">{escape(run.scenario.name)}</a></th>'
                     + "".join(cells) + "</tr>")
    lines.append("</table></section>")
    return "\n".join(lines)


def _properties(evidence: Evidence) -> str:
    lines = ['<section id="properties"><h2>Properties</h2>',
             f"<details><summary>What each of the {len(evidence.properties)} properties means, and its source</summary>",
             "<table><tr><th>property</th><th>kind</th><th>meaning</th><th>source</th></tr>"]
    for name in evidence.properties:
        spec = catalogue.spec(name)
        lines.append(f"<tr><td><code>{escape(name)}</code></td><td>{spec.kind.value}</td>"
                     f"<td>{escape(spec.description)}</td><td>{sources.cite_html(spec.source)}</td></tr>")
    lines.append("</table></details></section>")
    return "\n".join(lines)


def _scenario_section(
    evidence: Evidence, index: int, run: Run, ids: Mapping[tuple[int, str], str], charts: Mapping[str, bytes]
) -> str:
    from regcheck import compose

    scenario = run.scenario
    lines = [
        f'<section class="scenario" id="{ids[index, ""]}">',
        f"<h2>Scenario {escape(scenario.name)}</h2>",
        f"<p>{escape(scenario.description)}</p>" if scenario.description else "",
        f"<p>Reproduce every row: <code>{escape(run.command(evidence.settings))}</code><br>"
        f"Scenario fingerprint <code>{run.fingerprint[:16]}</code> "
        "<span class=\"muted\">(sha256 of the resolved switches)</span></p>",
        "<p>The design checked:</p>",
        _list(design_of(scenario).lines()),
        "<details><summary>Switches</summary>",
        switches_html(scenario),
        "</details>",
    ]
    certificates: dict[str, list[str]] = {}
    for result in run.results:
        if result.verdict is Verdict.PROVED and isinstance(result.evidence, Certificate):
            certificates.setdefault(result.evidence.describe(), []).append(result.property)
    for result in run.results:
        anchor = ids[index, result.property]
        expected = scenario.expected.get(result.property)
        lines += [
            f'<details class="result v-{result.verdict.value}" id="{anchor}">',
            f'<summary><code>{escape(result.property)}</code>: <span class="verdict-words">'
            f"{escape(verdict_words(result))}</span></summary>",
            f"<p>{escape(catalogue.spec(result.property).description)}"
            + (f" <span class=\"muted\">Expected: {escape(expected)}.</span>" if expected else "")
            + "</p>",
            f"<p>Engine {escape(result.engine)}, <span class=\"timing\">{result.time_s:.2f} s</span>. "
            f"Reproduce: <code>{escape(run.command(evidence.settings, result.property))}</code></p>",
        ]
        if result.note:
            lines.append(f"<p class=\"muted\">{escape(result.note)}</p>")
        if result.verdict is Verdict.VIOLATED and result.trace is not None:
            concrete = compose.scenario_of(scenario, result.trace)
            lines += [
                "<h4>Counterexample (shortest; replayed on the reference simulator)</h4>",
                story_html(concrete, result.trace),
                f"<p><strong>Why:</strong> {escape(why(concrete, result))}</p>",
                inline_svg(charts[anchor], prefix=anchor),
            ]
        elif result.verdict is Verdict.PROVED:
            certified = isinstance(result.evidence, Certificate)
            shared = certificates.get(result.evidence.describe(), []) if isinstance(result.evidence, Certificate) else []
            lines.append("<h4>Certificate</h4>" if certified else "<h4>Evidence</h4>")
            if shared and shared[0] != result.property:
                first = ids[index, shared[0]]
                lines.append(f'<p>The same certificate as <a href="#{first}"><code>{escape(shared[0])}</code></a> '
                             "(properties proved together share one invariant).</p>")
            else:
                if len(shared) > 1:
                    lines.append(f"<p>Proves together: {escape(', '.join(shared))}.</p>")
                lines.append(evidence_html(result.evidence))
        elif result.verdict is Verdict.BOUNDED:
            lines.append(f"<p>No violation in any execution of at most {result.depth} steps. Longer executions "
                         "were not checked: this is not a proof.</p>")
        lines.append("</details>")
    lines.append("</section>")
    return "\n".join(line for line in lines if line)


def not_checked(evidence: Evidence, name: Callable[[str], str] = str) -> list[tuple[str, list[str]]]:
    """What the report's verdicts do not cover, in headed groups of sentences (shared with Markdown).

    ``name`` writes a scenario's name into a sentence (Markdown escapes it; HTML escapes whole sentences).
    """
    groups: list[tuple[str, list[str]]] = []
    bounds = [
        f"{name(run.scenario.name)}: {r.property} only for executions of at most {r.depth} steps (bounded, not proved)."
        for run in evidence.runs for r in run.results if r.verdict is Verdict.BOUNDED
    ]
    bounds += [
        f"{name(run.scenario.name)}: {r.property} was not decided" + (f" ({r.note})." if r.note else ".")
        for run in evidence.runs for r in run.results if r.verdict is Verdict.UNKNOWN
    ]
    groups.append(("Bounds and undecided verdicts", bounds or ["Every verdict is decided: proved or violated."]))
    if evidence.requested:
        skipped = [n for n in catalogue.NAMES if n not in evidence.requested]
        if skipped:
            groups.append(("Properties not checked", [f"{n}: not requested." for n in skipped]))
    scenarios = [run.scenario for run in evidence.runs]
    workers = sorted({str(s.workers) for s in scenarios})
    sizes = [f"Numbers of workers checked: {', '.join(workers)}."]
    if "any" not in workers:
        sizes.append("No claim is made for other numbers of workers (workers=any checks every number at once).")
    sizes.append(f"Requests per worker checked: {', '.join(sorted({str(s.requests) for s in scenarios}))}.")
    groups.append(("Sizes", sizes))
    unexplored = [
        f"{v.id} {v.title} ({v.switch}): never {', '.join(values)}. {v.question}"
        for v, values in variants.unexplored(scenarios)
    ]
    unexplored = unexplored or ["Every modelled value was used."]
    groups.append(('Protocol variants not explored (regcheck/model/PROTOCOL.md, "What no source decides")', unexplored))
    groups.append(("Protocol variants the model cannot express",
                   [f"{v.id} {v.title}: {v.question}" for v in variants.not_modelled()]))
    groups.append(('Deliberate simplifications of the model (regcheck/model/SEMANTICS.md, "Deliberate simplifications")',
                   variants.simplifications()))
    return groups


def _not_checked(evidence: Evidence) -> str:
    lines = ['<section id="not-checked"><h2>What was not checked</h2>']
    for heading, items in not_checked(evidence):
        code = [_CODE.sub(r"<code>\1</code>", escape(item)) for item in items]
        lines += [f"<h3>{sources.cite_html(heading)}</h3>", "<ul>" + "".join(f"<li>{c}</li>" for c in code) + "</ul>"]
    lines.append("</section>")
    return "\n".join(lines)


def _provenance(evidence: Evidence) -> str:
    lines = ['<section id="provenance"><h2>Provenance</h2>', "<dl class=\"meta\">"]
    lines += [f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in evidence.versions.items()]
    lines.append(f"<dt>model fingerprint</dt><dd><code>{evidence.model_fingerprint}</code> (sha256 over the "
                 "source of regcheck/model/ and regcheck/properties/)</dd>")
    for run in evidence.runs:
        lines.append(f"<dt>scenario {escape(run.scenario.name)}</dt><dd><code>{run.fingerprint}</code> "
                     "(sha256 of its resolved switches)</dd>")
    lines.append(f"<dt>command</dt><dd><code>{escape(evidence.command)}</code></dd>")
    lines.append(f"<dt>checking time</dt><dd><span class=\"timing\">{evidence.elapsed_s:.1f} s</span></dd>")
    lines.append("</dl></section>")
    return "\n".join(lines)
