"""Design-review evidence: ``regcheck report`` gathers verdicts into a page a reviewer reads offline.

Like ``regcheck.cli`` this package is a composition module: it knows the protocol model and its
properties. :func:`evidence.collect` runs the checks; :func:`write` puts the bundle in a folder:

- ``index.html``: one self-contained page (inline styles and SVG charts; see ``html``);
- ``report.md``: the same content as Markdown (see ``markdown``);
- ``charts/ANCHOR.svg`` and ``traces/ANCHOR.itf.json``: each counterexample's chart and its ITF
  trace, which records its scenario so that ``regcheck replay`` needs nothing else;
- ``sources/``: the protocol's sources, the model's semantics and what its verdicts rest on, as the
  installed package holds them; the pages' citations link there (see ``sources``).

The same evidence gives the same bytes, apart from run times. The folder must be new, empty, or
hold an earlier report and nothing else (:func:`earlier`). The bundle is written into a temporary
folder beside it, which then replaces it as a whole: no stale chart or trace of the earlier report
sits beside the new page, and a failure part way (a full disk) leaves the earlier report as it was.
"""

from __future__ import annotations

import stat
from pathlib import Path

from regcheck.core.result import Verdict
from regcheck.display import printable_path
from regcheck.errors import InvalidArgument
from regcheck.files import read_limited, write_atomic
from regcheck.formats import itf
from regcheck.outputs import staged
from regcheck.report import html, markdown, sources
from regcheck.report.evidence import CaseTable, Evidence, Run, Settings, collect, with_diagnoses

__all__ = ["CaseTable", "Evidence", "Run", "Settings", "collect", "earlier", "with_diagnoses", "write"]

MARK = b"<title>regcheck evidence"
"""What the head of a report's ``index.html`` says: the page is regcheck's."""

FOLDERS = {"charts": ".svg", "traces": ".itf.json", sources.FOLDER: ".md"}
"""A report's folders, with the ending of the files each holds; beside them it writes only :data:`PAGES`."""

PAGES = ("index.html", "report.md")


def earlier(folder: Path) -> list[Path]:
    """The files of an earlier report in ``folder`` (none if it is new or empty); anything else there is refused."""
    if not folder.exists():
        return []
    files = []
    for path in folder.rglob("*"):  # lazily: a folder of other things is refused at its first entry
        if not _in_layout(folder, path):
            raise _not_a_report(folder, path)
        if not path.is_dir():
            files.append(path)
    index = folder / "index.html"
    if files and (index not in files or MARK not in read_limited(index, 4096, what=str(index), whole=False)):
        raise _not_a_report(folder, index if index in files else files[0])
    return files


def _not_a_report(folder: Path, example: Path) -> InvalidArgument:
    """The error for an output folder that holds ``example``, which no report of regcheck's wrote."""
    return InvalidArgument(
        f"--out {printable_path(folder)}: the folder holds files that are not an earlier regcheck report "
        f"(such as {printable_path(example)}); give a new or empty folder"
    )


def _in_layout(folder: Path, path: Path) -> bool:
    """Whether ``path`` in ``folder`` is one a report writes: a page or a folder of it, or a file in that folder."""
    parts, mode = path.relative_to(folder).parts, path.lstat().st_mode
    if len(parts) == 1:
        return stat.S_ISREG(mode) if parts[0] in PAGES else parts[0] in FOLDERS and stat.S_ISDIR(mode)
    return len(parts) == 2 and parts[0] in FOLDERS and parts[1].endswith(FOLDERS[parts[0]]) and stat.S_ISREG(mode)


def write(evidence: Evidence, folder: Path) -> list[Path]:
    """Write the report bundle as ``folder``; returns the files written, the HTML page first.

    The bundle is written into a temporary folder beside ``folder`` and then takes its place as a whole
    (:func:`regcheck.outputs.staged`): an earlier report there is replaced at once, never mixed with the new."""
    with staged(folder, whole=True) as stage:
        written = _write_into(evidence, stage)
    return [folder / path for path in written]


def _write_into(evidence: Evidence, folder: Path) -> list[Path]:
    """Write the bundle into the empty ``folder``; the files written, relative to it, the HTML page first."""
    from regcheck import compose

    ids = html.anchors(evidence)
    written = [Path("index.html"), Path("report.md")]
    files: dict[str, tuple[str, str]] = {}
    charts: dict[str, bytes] = {}
    for index, run in enumerate(evidence.runs):
        for result in run.results:
            if result.verdict is not Verdict.VIOLATED or result.trace is None:
                continue
            anchor = ids[index, result.property]
            concrete = compose.scenario_of(run.scenario, result.trace)
            trace = compose.replayable(run.scenario, result.trace)
            chart, trace_file = f"charts/{anchor}.svg", f"traces/{anchor}.itf.json"
            charts[anchor] = html.chart_bytes(concrete, trace)
            write_atomic(folder / chart, charts[anchor])
            itf.write(trace, folder / trace_file)
            files[anchor] = (chart, trace_file)
            written += [Path(chart), Path(trace_file)]
    for document in sources.DOCUMENTS:
        write_atomic(folder / sources.FOLDER / document, sources.text(document))
        written.append(Path(sources.FOLDER, document))
    write_atomic(folder / "report.md", markdown.document(evidence, files))
    write_atomic(folder / "index.html", html.page(evidence, charts))
    return written
