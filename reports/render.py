"""Write a report: ``report.md`` with ``figures/*.png``, a self-contained ``report.html``
(figures embedded as data URIs; no script, no network) and ``summary.csv``.

Both documents are rendered from one list of parts (headings, paragraphs, tables,
figures), so they always say the same thing: the answer per workload first, then the
report's sections (:mod:`dmlbench.reports.sections`, walked in their listed order), their
figures together, then their tables. No section is named here.
"""

from __future__ import annotations

import base64
import gc
import html
import math
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from dmlbench.reports import answer, frame
from dmlbench.reports.figures import pyplot
from dmlbench.reports.records import PROBLEMS
from dmlbench.reports.results import Results, load
from dmlbench.reports.sections import Section, sections
from dmlbench.reports.stats import LEVEL, Interval
from dmlbench.reports.tables import Table


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Paragraph:
    text: str


@dataclass
class FigureRef:
    path: str  # relative to the report directory
    title: str
    caption: str = ""  # what to look at


@dataclass
class Check:
    """A workload's "N answers checked, N pass" line, and a line per case without one."""

    text: str
    good: bool
    problems: list[str]
    skipped: list[str]


@dataclass
class Block:
    """Parts shown together (the first screen's answer: a shaded box in HTML)."""

    kind: str
    parts: list[Part]


def fmt(value: Any) -> str:
    """A table cell: numbers to 4 significant digits, None as empty."""
    if value is None:
        return ""
    if isinstance(value, Interval):  # before float: an Interval is its estimate
        if value.low == value.high == float(value):
            return fmt(float(value))
        text = f"{fmt(float(value))} [{fmt(value.low)}, {fmt(value.high)}]"
        # Too few fits for 95 %: the interval says what it covers (75 % for 3 fits).
        return text if value.level >= LEVEL else f"{text} ({value.level:.0%})"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.4g}"
        return f"{value:.4g}" if abs(value) >= 1 else f"{value:.3g}"
    return str(value)


#: A piece of the document both renderers write.
Part = Heading | Paragraph | FigureRef | Check | Block | Table


def build(results: Results, out_dir: Path, *, log: TextIO | None = None) -> dict[str, Path]:
    """Write the report files of ``results`` into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    fig_dir = out_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    parts = _parts(results, fig_dir, out_dir, log)
    paths = {
        "markdown": out_dir / "report.md",
        "html": out_dir / "report.html",
        "csv": out_dir / "summary.csv",
    }
    paths["markdown"].write_text(to_markdown(parts))
    paths["html"].write_text(to_html(parts, out_dir))
    frame.cases_frame(results).to_csv(paths["csv"], index=False)
    return paths


def report(paths: list[Path], out_dir: Path, *, log: TextIO | None = None) -> dict[str, Path]:
    """Load results files and write their report (``dmlbench report``)."""
    return build(load(paths), out_dir, log=log)


def page(results: Results, out_dir: Path, *, log: TextIO | None = None) -> str:
    """The report as the Markdown of a page that says itself where its numbers come from
    (a docs results page): no title and no date, figures drawn into ``out_dir/figures``
    and referred to relative to ``out_dir``. The same results give the same page."""
    fig_dir = out_dir / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    return to_markdown(_parts(results, fig_dir, out_dir, log, titled=False))


def _parts(
    results: Results, fig_dir: Path, out_dir: Path, log: TextIO | None, titled: bool = True
) -> list[Part]:
    """The report, in reading order: the answer per workload, then every section's
    figures, then every section's tables (:data:`~dmlbench.reports.sections.ORDER`:
    the per-case quality tables last). ``titled``: the title and the date first.

    The tables are made before the figures are drawn: both read the same series, computed
    once (and, when the figures are drawn in other processes, inherited by them)."""
    shown = [s for s in sections() if results.cases or not s.needs_cases]
    # What exists now (the records above all) out of the cyclic collector's passes: it is
    # long-lived and made of plain values, and the passes over it cost a large report
    # more than its tables (and a forked drawing process would copy every page they touch).
    gc.freeze()
    try:
        parts = _front(results) if titled else _front(results)[2:]
        tables = [part for s in shown for part in _tables_of(s, results)]
        drawing = [s for s in shown if s.figures is not None]
        drawn = zip([s.figure_title or s.title for s in drawing],
                    _draw_every(drawing, results, fig_dir, out_dir, log), strict=True)  # fmt: skip
    finally:
        gc.unfreeze()
    drawn_refs = [(title, refs) for title, refs in drawn if refs]
    if drawn_refs:
        parts.append(Heading("Figures"))
        for title, refs in drawn_refs:
            parts += [Heading(title, 3), *refs]
    return parts + tables


def _front(results: Results) -> list[Part]:
    """The title, what the report is made of, and the answer box."""
    counts: dict[str, int] = {}
    for r in results.cases:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    suites = sorted({r["case"].get("suite", "?") for r in results.cases})
    parts: list[Part] = [
        Heading("dmlbench report" + (f": {', '.join(suites)}" if suites else ""), 1),
        Paragraph(
            f"{len(results.cases)} cases ("
            + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
            + f") from {', '.join(results.sources)}; written {time.strftime('%Y-%m-%d %H:%M')}."
        ),
    ]
    if results.replaced:
        parts.append(
            Paragraph(f"{results.replaced} case(s) were recorded twice; the later record is used.")
        )
    parts += [Paragraph(note) for note in results.notes]
    if results.cases:
        parts.append(_answer_block(results))
    return parts


def _tables_of(section: Section, results: Results) -> list[Part]:
    """A section's heading, what to look at and its tables; nothing without a row."""
    if section.tables is None:
        return []
    found = [t for t in section.tables(results) if t.rows]
    if not found:
        return []
    return [Heading(section.title), *([Paragraph(section.intro)] if section.intro else []), *found]


def _answer_block(results: Results) -> Block:
    """The first screen: per workload, its check line and its answer table."""
    inner: list[Part] = [Heading("The answer")]
    for a in answer.answers(results):
        inner.append(Heading(a.title, 3))
        inner.append(Check(a.check_line, a.all_good, a.problems, a.skipped))
        if a.table is not None:
            inner.append(Table("", a.table.columns, a.table.rows))
    inner.append(Paragraph(answer.LEGEND))
    return Block("answer", inner)


#: A report of at least this many cases draws its sections' figures in as many processes
#: as there are cores (one section at a time each, in reading order): drawing is most of a
#: large report's time (10,000 cases: ~19 of ~30 s in one process here).
PARALLEL_FROM_CASES = 500
#: What the drawing processes read: set only while they are forked.
_forked: tuple[list[Section], Results, Path, Path, TextIO | None] | None = None


def _draw_every(
    drawing: list[Section], results: Results, fig_dir: Path, out_dir: Path, log: TextIO | None
) -> list[list[FigureRef]]:
    """Every section's figures (:func:`_draw`), per section in order.

    In forked processes for a large report, when the platform forks and this process
    runs no other Python thread but idle ones (a fork copies only the calling thread: a
    lock another one held would stay held in the copy); here otherwise, and here again if
    a drawing process dies (killed for memory, say)."""
    global _forked
    processes = min(_cores(), len(drawing))
    if (len(results.cases) < PARALLEL_FROM_CASES or processes < 2 or not _only_idle_threads()
            or "fork" not in multiprocessing.get_all_start_methods()):  # fmt: skip
        return [_draw(s, results, fig_dir, out_dir, log) for s in drawing]
    if log:
        print(f"  drawing the figures of {len(drawing)} sections in {processes} processes",
              file=log, flush=True)  # fmt: skip
    _forked = (drawing, results, fig_dir, out_dir, log)
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(processes, mp_context=context) as pool:
            return list(pool.map(_draw_forked, range(len(drawing))))
    except BrokenProcessPool as exc:
        if log:
            print(f"  a drawing process died ({exc}): drawing here", file=log, flush=True)
        return [_draw(s, results, fig_dir, out_dir, log) for s in drawing]
    finally:
        _forked = None


def _cores() -> int:
    """The cores this process may run on (its affinity, where the platform tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _only_idle_threads() -> bool:
    """Whether every other Python thread of this process is one that only waits, holding
    no lock: the command line's signal watchers, named ``dmlbench-idle-...``
    (``dmlbench.suites.run.interrupts.IDLE_THREAD_PREFIX``). Native threads (a BLAS
    pool) are not seen here: OpenBLAS, the BLAS this project loads, stops its pool for a
    fork and starts it again after (``pthread_atfork``)."""
    me = threading.current_thread()
    return all(t is me or t.name.startswith("dmlbench-idle-") for t in threading.enumerate())


def _draw_forked(index: int) -> list[FigureRef]:
    """:func:`_draw` of section ``index``, in a process forked by :func:`_draw_every`."""
    assert _forked is not None, "only in a process forked by _draw_every"
    drawing, results, fig_dir, out_dir, log = _forked
    return _draw(drawing[index], results, fig_dir, out_dir, log)


def _draw(
    section: Section, results: Results, fig_dir: Path, out_dir: Path, log: TextIO | None
) -> list[FigureRef]:
    """Draw a section's figures into ``fig_dir``: their references, with its caption."""
    assert section.figures is not None
    plt = pyplot()
    refs = []
    for fig in section.figures(results):
        path = fig_dir / f"{fig.name}.png"
        # No "Software" stamp: the same figure is the same bytes (docs pages are checked).
        fig.figure.savefig(path, dpi=110, metadata={"Software": None})
        plt.close(fig.figure)
        refs.append(FigureRef(str(path.relative_to(out_dir)), fig.title, section.caption))
        if log:
            print(f"  drew {path}", file=log, flush=True)
    return refs


# -- Markdown ---------------------------------------------------------------------------
def to_markdown(parts: list[Part]) -> str:
    lines: list[str] = []
    for part in parts:
        if isinstance(part, Block):
            lines += [to_markdown(part.parts), ""]
        elif isinstance(part, Heading):
            lines += ["#" * part.level + " " + part.text, ""]
        elif isinstance(part, Paragraph):
            lines += [part.text, ""]
        elif isinstance(part, Check):
            lines += [f"**{'✓' if part.good else '✗'} {part.text}**", ""]
            lines += [f"- ✗ {line}" for line in part.problems]
            lines += [f"- {line}" for line in part.skipped]
            lines += [""] if part.problems or part.skipped else []
        elif isinstance(part, FigureRef):
            lines += [f"![{part.title}]({part.path})", ""]
            lines += [f"_{part.caption}_", ""] if part.caption else []
        elif isinstance(part, Table):
            lines += [f"**{part.title}**", ""] if part.title else []
            lines.append("| " + " | ".join(part.columns) + " |")
            lines.append("|" + "---|" * len(part.columns))
            for row in part.rows:
                lines.append("| " + " | ".join(fmt(v).replace("|", "\\|") for v in row) + " |")
            lines.append("")
            if part.note:
                lines += [f"_{part.note}_", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


# -- HTML -------------------------------------------------------------------------------
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.2em auto; max-width: 1150px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin: 0.3em 0; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
h3 { font-size: 1.05em; margin: 1em 0 0.25em; }
table { border-collapse: collapse; margin: 0.6em 0 1.4em; font-size: 12.5px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
tr.fail td { background: #fde8e0; }
figure { margin: 1em 0; } img { max-width: 100%; border: 1px solid #eee; }
figcaption, .note { color: #555; font-size: 12px; }
section.answer { background: #eef4fb; border: 1px solid #b9d0ea; border-radius: 4px;
                 padding: 0.1em 1em 0.4em; }
section.answer h2 { margin-top: 0.4em; border: none; }
section.answer h3 { margin: 0.7em 0 0.2em; }
section.answer table { margin: 0.2em 0 0.3em; background: #fff; }
p.check { display: inline-block; margin: 0.1em 0; padding: 1px 8px; border-radius: 3px; }
p.check.pass { background: #d3f0db; color: #135c2a; }
p.check.fail { background: #f9cfc7; color: #8a1c0c; font-weight: 600; }
ul.problems { margin: 0.2em 0; padding-left: 1.4em; font-size: 12.5px; }
ul.problems li.fail { color: #b3261e; } ul.problems li.skip { color: #666; }
"""


def to_html(parts: list[Part], out_dir: Path) -> str:
    title = next((p.text for p in parts if isinstance(p, Heading) and p.level == 1),
                 "dmlbench report")  # fmt: skip
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
        + _html_body(parts, out_dir)
        + "\n</body></html>\n"
    )


def _html_body(parts: list[Part], out_dir: Path) -> str:
    body: list[str] = []
    for part in parts:
        if isinstance(part, Block):
            body.append(f"<section class={part.kind}>{_html_body(part.parts, out_dir)}</section>")
        elif isinstance(part, Heading):
            body.append(f"<h{part.level}>{html.escape(part.text)}</h{part.level}>")
        elif isinstance(part, Paragraph):
            text = html.escape(part.text)
            while "**" in text:  # the one piece of Markdown paragraphs use
                text = text.replace("**", "<strong>", 1).replace("**", "</strong>", 1)
            body.append(f"<p>{text}</p>")
        elif isinstance(part, Check):
            mark, kind = ("✓", "pass") if part.good else ("✗", "fail")
            body.append(f"<p class='check {kind}'>{mark} {html.escape(part.text)}</p>")
            items = [f"<li class=fail>{html.escape(x)}</li>" for x in part.problems]
            items += [f"<li class=skip>{html.escape(x)}</li>" for x in part.skipped]
            if items:
                body.append(f"<ul class=problems>{''.join(items)}</ul>")
        elif isinstance(part, FigureRef):
            data = base64.b64encode((out_dir / part.path).read_bytes()).decode()
            alt = part.title + (f". {part.caption}" if part.caption else "")
            caption = f"<strong>{html.escape(part.title)}.</strong> {html.escape(part.caption)}"
            body.append(
                f'<figure><img alt="{html.escape(alt)}" '
                f'src="data:image/png;base64,{data}"><figcaption>{caption}'
                "</figcaption></figure>"
            )
        elif isinstance(part, Table):
            body.append(_html_table(part))
    return "\n".join(body)


def _html_table(table: Table) -> str:
    # A column of text reads from the left, its header too; numbers from the right.
    text = [any(v is not None and not isinstance(v, int | float) for v in col)
            for col in zip(*table.rows, strict=True)] or [False] * len(table.columns)  # fmt: skip
    head = "".join(f"<th{' class=text' if t else ''}>{html.escape(c)}</th>"
                   for c, t in zip(table.columns, text, strict=True))  # fmt: skip
    rows = []
    for row in table.rows:
        failed = any(v in ("FAIL", *PROBLEMS) for v in row if isinstance(v, str))
        cells = "".join(
            f"<td{'' if isinstance(v, int | float) else ' class=text'}>{html.escape(fmt(v))}</td>"
            for v in row
        )
        rows.append(f"<tr{' class=fail' if failed else ''}>{cells}</tr>")
    note = f"<p class=note>{html.escape(table.note)}</p>" if table.note else ""
    caption = f"<caption>{html.escape(table.title)}</caption>" if table.title else ""
    return (
        f"<table>{caption}<thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>{note}"
    )
