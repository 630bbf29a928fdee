"""Write a report: ``report.md`` with ``figures/*.png``, a self-contained ``report.html``
(figures embedded as data URIs; no script, no network) and ``summary.csv``.

Both documents are rendered from one list of parts (headings, paragraphs, tables,
figures), so they always say the same thing.
"""

from __future__ import annotations

import base64
import csv
import html
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dmlbench.reports import figures as figs
from dmlbench.reports import tables
from dmlbench.reports.records import PROBLEMS
from dmlbench.reports.results import Results, load
from dmlbench.reports.stats import LEVEL, Interval


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


def build(results: Results, out_dir: Path, *, log=None) -> dict[str, Path]:
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
    with paths["csv"].open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=tables.SUMMARY_COLUMNS)
        writer.writeheader()
        writer.writerows(tables.summary_rows(results))
    return paths


def report(paths: list[Path], out_dir: Path, *, log=None) -> dict[str, Path]:
    """Load results files and write their report (``dmlbench report``)."""
    return build(load(paths), out_dir, log=log)


def _parts(results: Results, fig_dir: Path, out_dir: Path, log) -> list[Any]:
    counts: dict[str, int] = {}
    for r in results.cases:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    suites = sorted({r["case"].get("suite", "?") for r in results.cases})
    parts: list[Any] = [
        Heading("dmlbench report" + (f": {', '.join(suites)}" if suites else ""), 1),
        Paragraph(
            f"{len(results.cases)} cases ("
            + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
            + f") from {', '.join(results.sources)}; written {time.strftime('%Y-%m-%d %H:%M')}."
            " Times are the median of the timed fits (the first, cold fit is kept apart);"
            " every answer is checked against scikit-learn or the local backend."
        ),
    ]
    bad = sum(counts.get(k, 0) for k in PROBLEMS)
    if bad:
        parts.append(Paragraph(f"**{bad} case(s) did not give a verified answer**: see Failures."))
    if results.replaced:
        parts.append(
            Paragraph(f"{results.replaced} case(s) were recorded twice; the later record is used.")
        )
    parts += [Paragraph(note) for note in results.notes]

    def section(title: str, table_list, figure_fn=None, intro: str = "") -> None:
        table_list = [t for t in table_list if t.rows]
        drawn = _draw(figure_fn, results, fig_dir, out_dir, log) if figure_fn else []
        if not table_list and not drawn:
            return
        parts.append(Heading(title))
        if intro:
            parts.append(Paragraph(intro))
        parts.extend(drawn)
        parts.extend(table_list)

    if results.cases:
        section("Quality", [tables.quality(results)])
        section(
            "Strong scaling",
            tables.strong_scaling(results),
            figs.strong_scaling,
            "Fixed data size, more workers. Efficiency 1 is perfect scaling.",
        )
        section(
            "Predicted scaling",
            tables.predictions(results),
            intro="Past the measured worker counts: predictions, with the model each comes "
            "from and its assumptions (see the table's note).",
        )
        section(
            "Size scaling",
            tables.size_scaling(results),
            figs.size_scaling,
            "Fixed workers, more data (log-log). A crossover is where one series overtakes"
            " another.",
        )
        section(
            "Engine comparison",
            tables.comparison(results),
            figs.comparison,
            "Written once (dmlbench) vs each engine's own library (native; hatched) vs"
            " scikit-learn on one core.",
        )
        section(
            "Execution patterns",
            tables.patterns(results),
            intro="Each engine's own idiomatic way (tasks through its scheduler) against the"
            " resident pattern, per fit and per round.",
        )
        section(
            "Where an iteration goes",
            tables.rounds(results),
            figs.rounds,
            "Each of ours' iterations split, round by round, into the workers' compute, "
            "the wait for the slowest worker, the engine's own cost and the driver's; "
            "beside it a cost model from 1-worker compute, checked against the measured "
            "time (the last column names what it misses).",
        )
        section(
            "Against the machine's limits",
            [tables.machine_limits(results)],
            intro="How close each of ours' kernels ran to this machine's memory bandwidth "
            "and one core's DGEMM (measured by dmlbench doctor, stored with the run).",
        )
        section("Phases", [tables.phases(results)], figs.phases)
        section("Convergence", [], figs.convergence)
    section("Round overhead", [tables.overhead(results)], figs.overhead)
    if results.cases:
        section("Failures", [tables.failures(results)])
        section("Environment", tables.environment(results))
    return parts


def _draw(figure_fn, results: Results, fig_dir: Path, out_dir: Path, log) -> list[FigureRef]:
    plt = figs.pyplot()
    refs = []
    for fig in figure_fn(results):
        path = fig_dir / f"{fig.name}.png"
        fig.figure.savefig(path, dpi=110)
        plt.close(fig.figure)
        refs.append(FigureRef(str(path.relative_to(out_dir)), fig.title))
        if log:
            print(f"  drew {path}", file=log, flush=True)
    return refs


# -- Markdown ---------------------------------------------------------------------------
def to_markdown(parts: list[Any]) -> str:
    lines: list[str] = []
    for part in parts:
        if isinstance(part, Heading):
            lines += ["#" * part.level + " " + part.text, ""]
        elif isinstance(part, Paragraph):
            lines += [part.text, ""]
        elif isinstance(part, FigureRef):
            lines += [f"![{part.title}]({part.path})", ""]
        elif isinstance(part, tables.Table):
            lines += [f"**{part.title}**", ""]
            lines.append("| " + " | ".join(part.columns) + " |")
            lines.append("|" + "---|" * len(part.columns))
            for row in part.rows:
                lines.append("| " + " | ".join(fmt(v).replace("|", "\\|") for v in row) + " |")
            lines.append("")
            if part.note:
                lines += [f"_{part.note}_", ""]
    return "\n".join(lines)


# -- HTML -------------------------------------------------------------------------------
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1150px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.6em 0 1.4em; font-size: 12.5px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; } td.text { text-align: left; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
tr.fail td { background: #fde8e0; }
figure { margin: 1em 0; } img { max-width: 100%; border: 1px solid #eee; }
figcaption, .note { color: #555; font-size: 12px; }
"""


def to_html(parts: list[Any], out_dir: Path) -> str:
    body: list[str] = []
    title = "dmlbench report"
    for part in parts:
        if isinstance(part, Heading):
            if part.level == 1:
                title = part.text
            body.append(f"<h{part.level}>{html.escape(part.text)}</h{part.level}>")
        elif isinstance(part, Paragraph):
            text = html.escape(part.text)
            while "**" in text:  # the one piece of Markdown paragraphs use
                text = text.replace("**", "<strong>", 1).replace("**", "</strong>", 1)
            body.append(f"<p>{text}</p>")
        elif isinstance(part, FigureRef):
            data = base64.b64encode((out_dir / part.path).read_bytes()).decode()
            body.append(
                f'<figure><img alt="{html.escape(part.title)}" '
                f'src="data:image/png;base64,{data}"><figcaption>{html.escape(part.title)}'
                "</figcaption></figure>"
            )
        elif isinstance(part, tables.Table):
            body.append(_html_table(part))
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _html_table(table: tables.Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    rows = []
    for row in table.rows:
        failed = any(v in ("FAIL", *PROBLEMS) for v in row if isinstance(v, str))
        cells = "".join(
            f"<td{'' if isinstance(v, int | float) else ' class=text'}>{html.escape(fmt(v))}</td>"
            for v in row
        )
        rows.append(f"<tr{' class=fail' if failed else ''}>{cells}</tr>")
    note = f"<p class=note>{html.escape(table.note)}</p>" if table.note else ""
    return (
        f"<table><caption>{html.escape(table.title)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>{note}"
    )
