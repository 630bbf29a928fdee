"""What the report's figures share (matplotlib, imported only when a report is drawn;
Agg backend). Each section (:mod:`dmlbench.reports.sections`) draws its own figures.

Every figure is titled, has labelled axes with units and a legend, and draws a backend in
the same colour everywhere. Cases that failed (timeout, failed, wrong-answer) are drawn as
red crosses on the curves they belong to, labelled with their outcome, never left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dmlbench.reports import stats
from dmlbench.reports.records import Record
from dmlbench.reports.results import Results, WorkloadKey, series_label, workload_label
from dmlbench.reports.results import case_value as _c  # n_workers: what really ran

#: One colour per backend, everywhere (colour-blind-safe Okabe–Ito palette).
BACKEND_COLORS = {
    "local": "#000000",
    "dask": "#0072B2",
    "spark": "#E69F00",
    "ray": "#009E73",
}
OTHER_COLOR = "#CC79A7"
IMPL_STYLE = {"dmlbench": "-", "native": "--"}
FAILURE_COLOR = "#D55E00"


@dataclass
class Figure:
    """A drawn figure: file stem, title and the matplotlib figure."""

    name: str
    title: str
    figure: Any


def pyplot() -> Any:
    """matplotlib's pyplot on the non-interactive Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def color(backend: str) -> str:
    """The backend's colour; a pattern of it (``"dask:tasks"``) keeps the backend's."""
    return BACKEND_COLORS.get(backend.split(":")[0], OTHER_COLOR)


def slug(text: str) -> str:
    """``text`` as a file-name stem: lower case, anything but letters and digits a dash."""
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")[:80]


def mark_failures(ax: Any, failed: list[Record], x_of: Callable[[Record], Any]) -> None:
    """Red crosses at the failed cases' x positions, at the top of the axes, labelled
    (labels at the same x stacked, so none hides another)."""
    seen: dict[Any, int] = defaultdict(int)
    for r in failed:
        x = x_of(r)
        ax.plot(
            x, 0.96, "x", color=FAILURE_COLOR, markersize=10, mew=2,
            transform=ax.get_xaxis_transform(), clip_on=False,
        )  # fmt: skip
        ax.annotate(
            f"{series_label(r)}, {_c(r, 'n_workers')}w: {r['outcome']}", (x, 0.96),
            xycoords=ax.get_xaxis_transform(), textcoords="offset points",
            xytext=(0, -14 - 10 * seen[x]), ha="center", fontsize=7, color=FAILURE_COLOR,
        )  # fmt: skip
        seen[x] += 1
    if failed:
        ax.plot([], [], "x", color=FAILURE_COLOR, mew=2, label="failed / timeout / wrong")
        ax.margins(x=0.15)  # room for labels at the edges


def finish(
    fig: Any, ax: Any, kind: str, title: str, wkey: WorkloadKey | None, grid: str = "both"
) -> Figure:
    """Title, grid, legend and layout; the Figure named ``kind-<workload>``."""
    ax.set_title(title)
    ax.grid(alpha=0.3, axis=grid)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return Figure(f"{kind}-{slug(workload_label(wkey))}" if wkey else kind, title, fig)


def log_if_wide(*axes: Any) -> None:
    """Log y axes when the times of any of ``axes`` span more than 10x; linear reads
    better otherwise."""
    limits = [(ax.dataLim.y0, ax.dataLim.y1) for ax in axes]  # the data, not the margins
    if all(lo > 0 for lo, _ in limits) and any(hi / lo > 10 for lo, hi in limits):
        for ax in axes:
            ax.set_yscale("log")


def yerr(intervals: Sequence[stats.Interval], scale: float = 1.0) -> list[list[float]]:
    """matplotlib's ``[below, above]`` error bars of :class:`~dmlbench.reports.stats.Interval`
    values (``scale`` multiplies the interval's ends, as it did the values)."""
    return [
        [max(0.0, (float(i) - i.low) * scale) for i in intervals],
        [max(0.0, (i.high - float(i)) * scale) for i in intervals],
    ]


#: A stacked bar's segment: its name, colour and value of a record.
Segment = tuple[str, str, Callable[[Record], float]]


def stacked(
    results: Results,
    keep: Callable[[Record], Any],
    segments: Sequence[Segment],
    sort_key: Callable[[Record], Any],
    labels: tuple[str, str, str],
) -> list[Figure]:
    """Per workload at its largest size: one horizontal bar per series x workers of its
    ok cases that ``keep`` accepts, stacked from ``segments``; ``labels`` are the x
    label, the file stem's kind and the title."""
    xlabel, kind, title = labels
    plt = pyplot()
    out = []
    for w in results.view.workloads:
        group = [r for r in w.ok if keep(r)]
        if not group:
            continue
        n = max(_c(r, "n_samples") for r in group)
        rs, left_out = thin_workers(
            sorted((r for r in group if _c(r, "n_samples") == n), key=sort_key), MAX_BARS
        )
        fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rs) + 1.8))
        # Numbered positions, not category names: bars whose names coincide (the same case
        # in two results files) would share one category and one tick.
        at = list(range(len(rs)))
        left = [0.0] * len(rs)
        for name, shade, value in segments:
            widths = [value(r) for r in rs]
            ax.barh(at, widths, left=left, color=shade, label=name, edgecolor="white")
            left = [a + b for a, b in zip(left, widths, strict=True)]
        ax.set_yticks(at, bar_labels(rs))
        for tick, r in zip(ax.get_yticklabels(), rs, strict=True):
            tick.set_color(color(_c(r, "backend")))
        ax.set(xlabel=xlabel)
        heading = f"{title}: {w.label}\nn={n:,}" + (f"\n{left_out}" if left_out else "")
        out.append(finish(fig, ax, kind, heading, w.key, grid="x"))
    return out


#: The most bars one figure of bars draws: past it, worker counts are thinned (see
#: :func:`thin_workers`) and the figure says what it left out; the tables keep every case.
MAX_BARS = 40


def thin_workers(rs: list[Record], limit: int) -> tuple[list[Record], str]:
    """At most ``limit`` of ``rs`` (in their order): every case of evenly spaced worker
    counts, the smallest and largest always among them, else the first ``limit``; and a
    sentence saying what was left out (``""``: nothing)."""
    if len(rs) <= limit:
        return rs, ""
    counts = sorted({_c(r, "n_workers") for r in rs})
    for keep_n in range(len(counts) - 1, 1, -1):  # the most evenly spaced counts that fit
        kept = {counts[round(i * (len(counts) - 1) / (keep_n - 1))] for i in range(keep_n)}
        thinned = [r for r in rs if _c(r, "n_workers") in kept]
        if len(thinned) <= limit:
            gone = ", ".join(str(c) for c in counts if c not in kept)
            return thinned, f"{len(rs) - len(thinned)} of {len(rs)} bars left out: {gone} workers"
    return rs[:limit], f"the first {limit} of {len(rs)} bars; the table lists every case"


def bar_labels(rs: list[Record]) -> list[str]:
    """One name per bar: series and the workers the case ran on, then whatever case field
    tells apart bars that would share a name (``d=``, ``asked=`` workers where fewer were
    granted), then ``#2``, ``#3`` for bars nothing tells apart."""
    names = [f"{series_label(r)}, {_c(r, 'n_workers')}w" for r in rs]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(names):
        groups[name].append(i)
    for name, where in groups.items():
        if len(where) < 2:
            continue
        cases = [rs[i]["case"] for i in where]
        keys = {k for c in cases for k in c}
        differ = sorted(k for k in keys if len({repr(c.get(k)) for c in cases}) > 1)
        seen: dict[str, int] = defaultdict(int)
        for i, case in zip(where, cases, strict=True):
            shown = "".join(f", {_short(k)}={case.get(k)}" for k in differ if k != "case_id")
            seen[shown] += 1
            names[i] = name + shown + (f" #{seen[shown]}" if seen[shown] > 1 else "")
    return names


def _short(key: str) -> str:
    """A case field's name as a bar label shows it (``n_features``: ``d``)."""
    return {"n_features": "d", "n_workers": "asked"}.get(key, key)
