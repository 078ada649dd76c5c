"""Design-review evidence: ``regcheck report`` gathers verdicts into a page a reviewer reads offline.

Like ``regcheck/cli.py`` this package is a composition module: it knows the protocol model and its
properties. :func:`evidence.collect` runs the checks; :func:`write` puts the bundle in a folder:

- ``index.html``: one self-contained page (inline styles and SVG charts; see ``html``);
- ``report.md``: the same content as Markdown (see ``markdown``);
- ``charts/ANCHOR.svg`` and ``traces/ANCHOR.itf.json``: each counterexample's chart and its ITF
  trace, which records its scenario so that ``regcheck replay`` needs nothing else.

Every file is written atomically. The same evidence gives the same bytes, apart from run times.
"""

from __future__ import annotations

from pathlib import Path

from regcheck.files import write_atomic
from regcheck.report import html, markdown
from regcheck.report.evidence import Evidence, Run, Settings, collect
from regcheck.result import Verdict
from regcheck.trace import itf

__all__ = ["Evidence", "Run", "Settings", "collect", "write"]


def write(evidence: Evidence, folder: Path) -> list[Path]:
    """Write the report bundle into ``folder``; returns the files written, the HTML page first."""
    from regcheck import compose

    ids = html.anchors(evidence)
    written = [folder / "index.html", folder / "report.md"]
    files: dict[str, tuple[str, str]] = {}
    charts: dict[str, bytes] = {}
    for index, run in enumerate(evidence.runs):
        for result in run.results:
            if result.verdict is not Verdict.VIOLATED or result.trace is None:
                continue
            anchor = ids[index, result.property]
            concrete = compose.scenario_of(run.scenario, result.trace)
            trace = result.trace.with_meta(scenario=run.scenario.name, switches=concrete.switches())
            chart, trace_file = f"charts/{anchor}.svg", f"traces/{anchor}.itf.json"
            charts[anchor] = html.chart_bytes(concrete, trace)
            write_atomic(folder / chart, charts[anchor])
            itf.write(trace, folder / trace_file)
            files[anchor] = (chart, trace_file)
            written += [folder / chart, folder / trace_file]
    write_atomic(folder / "report.md", markdown.document(evidence, files))
    write_atomic(folder / "index.html", html.page(evidence, charts))
    return written
