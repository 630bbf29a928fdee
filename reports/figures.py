"""The report's figures (matplotlib, imported only when a report is drawn; Agg backend).

Every figure is titled, has labelled axes with units and a legend, and draws a backend in
the same colour everywhere. Cases that failed (timeout, failed, wrong-answer) are drawn as
red crosses on the curves they belong to, labelled with their outcome, never left out.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from dmlbench.reports import metrics, stats
from dmlbench.reports.records import PROBLEMS
from dmlbench.reports.results import (
    Results,
    display_label,
    fit_times,
    is_single_core_baseline,
    series_label,
    workload_key,
    workload_label,
)
from dmlbench.reports.results import case_value as _c  # n_workers: what really ran
from dmlbench.reports.tables import ROUND_TERMS

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

    @property
    def caption(self) -> str:
        """What to look at in it (its kind's :data:`CAPTIONS` entry)."""
        return CAPTIONS.get(self.name.split("-")[0], "")


#: What to look at, per kind of figure (the file stem's first word): each figure's caption.
CAPTIONS = {
    "strong": "One column per data size. Top: fit time against workers, every engine, with "
    "dotted reference lines for what ran at one worker count only (the local oracle, "
    "scikit-learn on one core); a curve that flattens is where adding workers stops paying. "
    "Bottom: speedup over the fewest workers against the grey ideal line.",
    "size": "Fit time against rows, log-log: a slope of 1 is linear in the data, below 1 a "
    "fixed cost still dominates; where two curves cross, the faster engine changes.",
    "compare": "Each bar is a time over scikit-learn's on one core (grey line): left of it "
    "faster, right slower; hatched bars are the engines' own libraries; whiskers are "
    "95 % intervals.",
    "rounds": "A typical iteration split: the workers' compute, the wait for the slowest, "
    "the engine's own cost and the driver's. Long non-compute segments are overhead "
    "more workers will not remove.",
    "phases": "Everything a case cost beside the timed fit: the engine's start, data "
    "generation and preparation happen before the clock; the fit is the median.",
    "convergence": "The objective against seconds, the same objective for every "
    "implementation: lower sooner is better; the band is the timed fits' range.",
    "overhead": "One empty round per engine and worker count: the floor below which no "
    "iteration on that engine can go.",
}


def pyplot():
    """matplotlib's pyplot on the non-interactive Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def color(backend: str) -> str:
    """The backend's colour; a pattern of it (``"dask:tasks"``) keeps the backend's."""
    return BACKEND_COLORS.get(backend.split(":")[0], OTHER_COLOR)


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")[:80]


def _failed(results: Results, wkey) -> list[dict[str, Any]]:
    return [r for r in results.cases if r["outcome"] in PROBLEMS and workload_key(r) == wkey]


def _mark_failures(ax, failed, x_of) -> None:
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


def _by_workload(records) -> list[tuple[Any, list[dict[str, Any]]]]:
    """Records grouped by workload key, in a stable order."""
    groups: dict[Any, list] = defaultdict(list)
    for r in records:
        groups[workload_key(r)].append(r)
    return sorted(groups.items())


def _finish(fig, ax, kind: str, title: str, wkey, grid: str = "both") -> Figure:
    """Title, grid, legend and layout; the Figure named ``kind-<workload>``."""
    ax.set_title(title)
    ax.grid(alpha=0.3, axis=grid)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return Figure(f"{kind}-{_slug(workload_label(wkey))}" if wkey else kind, title, fig)


def _log_if_wide(*axes) -> None:
    """Log y axes when the times of any of ``axes`` span more than 10x; linear reads
    better otherwise."""
    limits = [(ax.dataLim.y0, ax.dataLim.y1) for ax in axes]  # the data, not the margins
    if all(lo > 0 for lo, _ in limits) and any(hi / lo > 10 for lo, hi in limits):
        for ax in axes:
            ax.set_yscale("log")


def _yerr(intervals, scale: float = 1.0) -> list[list[float]]:
    """matplotlib's ``[below, above]`` error bars of :class:`~dmlbench.reports.stats.Interval`
    values (``scale`` multiplies the interval's ends, as it did the values)."""
    return [
        [max(0.0, (float(i) - i.low) * scale) for i in intervals],
        [max(0.0, (i.high - float(i)) * scale) for i in intervals],
    ]


def strong_scaling(results: Results) -> list[Figure]:
    """Per workload, small multiples per data size: fit time vs workers (top) and speedup
    vs workers with the ideal line (bottom), every engine in each panel; a series measured
    at one worker count only (the local oracle, scikit-learn on one core) is drawn as a
    horizontal reference line in the time panel."""
    plt = pyplot()
    out = []
    for wkey, records in _by_workload(results.ok):
        series: dict[tuple, list] = defaultdict(list)
        for r in records:
            series[(_c(r, "backend"), _c(r, "impl"), _c(r, "n_samples"))].append(r)
        scaled = {k: v for k, v in series.items() if len({_c(r, "n_workers") for r in v}) > 1}
        if not scaled:
            continue
        every_size = sorted({n for _, _, n in scaled})
        sizes = _spread_out(every_size, MAX_PANELS)
        max_p = max(_c(r, "n_workers") for rs in scaled.values() for r in rs)
        fig, axes = plt.subplots(2, len(sizes), figsize=(max(6.0, 3.9 * len(sizes)), 6.6),
                                 squeeze=False, sharex=True)  # fmt: skip
        failed = _failed(results, wkey)
        for j, n in enumerate(sizes):
            ax_t, ax_s = axes[0][j], axes[1][j]
            for (backend, impl, m), rs in sorted(series.items()):
                if m != n:
                    continue
                rs = sorted(rs, key=lambda r: _c(r, "n_workers"))
                label = series_label(rs[0])
                if (backend, impl, m) not in scaled:  # a reference, not a curve
                    baseline = is_single_core_baseline(rs[0])
                    ax_t.axhline(rs[0]["fit_median_s"], color=color(backend),
                                 linestyle="-." if baseline else ":", linewidth=1.2,
                                 label=f"{display_label(rs[0])}, {_c(rs[0], 'n_workers')}w "
                                 "(reference)")  # fmt: skip
                    continue
                ps = [_c(r, "n_workers") for r in rs]
                # 95 % intervals of the median and of the speedup, from the raw fits
                times = [stats.median_interval(fit_times(r)) for r in rs]
                # speedup over the fewest workers, drawn as if from 1 (x ps[0])
                speedups = [stats.speedup_interval(fit_times(rs[0]), fit_times(r)) for r in rs]
                style = dict(color=color(backend), linestyle=IMPL_STYLE.get(impl, ":"),
                             marker="o")  # fmt: skip
                ax_t.errorbar(ps, times, yerr=_yerr(times), capsize=3, label=label, **style)
                ax_s.errorbar(
                    ps, [float(x) * ps[0] for x in speedups], yerr=_yerr(speedups, scale=ps[0]),
                    capsize=3, label=label, **style,
                )  # fmt: skip
                ahead = _prediction(rs)
                if ahead is not None:  # past the measured workers: marked as a prediction
                    model, ws, bands = ahead
                    kw = dict(color=color(backend), alpha=0.15, linewidth=0)
                    for ax, (mid, low, high) in ((ax_t, bands["time"]), (ax_s, bands["speedup"])):
                        ax.fill_between(ws, low, high, **kw)
                        ax.plot(ws, mid, color=color(backend), linestyle=(0, (2, 2)),
                                linewidth=1, label=f"{label}: {model} prediction")  # fmt: skip
                    max_p = max(max_p, ws[-1])
            ideal = np.geomspace(1, max_p, 40)  # many points: straight on either x scale
            ax_s.plot(ideal, ideal, color="grey", linewidth=1, label="ideal")
            if max_p > 8:  # predictions reach far: workers on a log scale
                for ax in (ax_t, ax_s):
                    ax.set_xscale("log", base=2)
            _mark_failures(ax_t, [r for r in failed if _c(r, "n_samples") == n],
                           lambda r: _c(r, "n_workers"))  # fmt: skip
            ax_t.set(title=f"n={n:,}", ylabel="fit time, median (s)" if j == 0 else None)
            ax_s.set(xlabel="workers", ylabel="speedup (x)" if j == 0 else None)
            for ax in (ax_t, ax_s):
                ticks = (list(range(1, max_p + 1)) if max_p <= 8
                         else [2**k for k in range(max_p.bit_length())])  # fmt: skip
                ax.set_xticks(ticks, [str(t) for t in ticks])
                ax.grid(alpha=0.3)
        _log_if_wide(*axes[0])  # one scale for every panel, so they read alike
        axes[0][-1].legend(fontsize=7)
        axes[1][-1].legend(fontsize=7)
        title = f"Strong scaling: {workload_label(wkey)}"
        shown = "" if sizes == every_size else f", {len(sizes)} of {len(every_size)} sizes"
        # two lines: a long workload label in one would run off a one-size figure
        fig.suptitle(f"{title}\n(95 % intervals{shown})", fontsize="medium")
        fig.tight_layout()
        out.append(Figure(f"strong-{_slug(workload_label(wkey))}", title, fig))
    return out


#: Panels side by side in a figure of small multiples: more sizes than this are shown at
#: the smallest, the largest and evenly between (the tables have every size).
MAX_PANELS = 4


def _spread_out(values: list[Any], most: int) -> list[Any]:
    """At most ``most`` of the sorted ``values``: both ends and evenly between."""
    if len(values) <= most:
        return values
    picks = np.linspace(0, len(values) - 1, most).round().astype(int)
    return [values[i] for i in sorted(set(picks))]


#: How far past the most workers measured a figure's prediction reaches (x that count).
PREDICTION_REACH = 4


def _prediction(rs: list[dict[str, Any]]):
    """``(model, workers, {"time": (mid, low, high), "speedup": ...})`` past the most
    workers of one series (records sorted by workers), from the scaling model its counts
    support (USL from 4, Amdahl from 3: :mod:`~dmlbench.reports.scaling_models`); None
    with fewer."""
    from dmlbench.reports.scaling_models import MIN_COUNTS, fit_scaling

    by_workers = {_c(r, "n_workers"): fit_times(r) for r in rs}
    model = next((m for m in ("usl", "amdahl") if len(by_workers) >= MIN_COUNTS[m]), None)
    if model is None:
        return None
    fit = fit_scaling(by_workers, model)
    last = max(by_workers)
    ws = sorted({last, *(int(round(w)) for w in np.geomspace(last, last * PREDICTION_REACH, 9))})
    pr = [fit.predict(w) for w in ws]
    base = min(by_workers)  # the speedup panel is over the fewest workers, drawn from it
    scale = float(fit.throughput(1) / fit.throughput(base)) * base
    bands = {
        "time": tuple([p[k] for p in pr] for k in ("time", "time_low", "time_high")),
        "speedup": tuple([p[k] * scale for p in pr]
                         for k in ("speedup", "speedup_low", "speedup_high")),
    }  # fmt: skip
    return model, ws, bands


def size_scaling(results: Results) -> list[Figure]:
    """Per workload: log-log fit time vs n_samples per series, slope in the legend."""
    plt = pyplot()
    out = []
    for wkey, records in _by_workload(results.ok):
        curves: dict[tuple, list] = defaultdict(list)
        several = len({_c(r, "n_features") for r in records}) > 1
        for r in records:
            curves[
                (_c(r, "backend"), _c(r, "impl"), _c(r, "n_workers"), _c(r, "n_features"))
            ].append(r)
        if not any(len({_c(r, "n_samples") for r in rs}) > 1 for rs in curves.values()):
            continue
        fig, ax = plt.subplots(figsize=(7.5, 4.5))
        for (backend, impl, p, d), rs in sorted(curves.items()):
            rs = sorted(rs, key=lambda r: _c(r, "n_samples"))
            ns = [_c(r, "n_samples") for r in rs]
            ts = [r["fit_median_s"] for r in rs]
            slope = metrics.loglog_slope(ns, ts)
            label = f"{series_label(rs[0])}, {p} worker{'s' if p > 1 else ''}"
            label += f", d={d}" if several else ""
            if slope is not None:
                label += f" (slope {slope:.2f})"
            ax.plot(
                ns,
                ts,
                marker="o" if p > 1 else "s",
                color=color(backend),
                linestyle=IMPL_STYLE.get(impl, ":"),
                alpha=1.0 if p > 1 else 0.6,
                label=label,
            )
        _mark_failures(ax, _failed(results, wkey), lambda r: _c(r, "n_samples"))
        ax.set_xscale("log")
        _log_if_wide(ax)
        ax.set(xlabel="n_samples (rows)", ylabel="fit time, median (s)")
        out.append(_finish(fig, ax, "size", f"Size scaling: {workload_label(wkey)}", wkey))
    return out


def comparison(results: Results) -> list[Figure]:
    """Per workload at its largest size: fit time relative to scikit-learn on one core."""
    plt = pyplot()
    out = []
    for wkey, records in _by_workload(results.ok):
        n = max(_c(r, "n_samples") for r in records)
        at_n = [r for r in records if _c(r, "n_samples") == n]
        base = [r for r in at_n if is_single_core_baseline(r)]
        others = sorted(
            (r for r in at_n if r not in base),
            key=lambda r: (_c(r, "backend"), _c(r, "impl"), _c(r, "n_workers")),
        )
        if not base or not others:
            continue
        t0 = fit_times(base[0])
        fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(others) + 1.6))
        labels = [f"{series_label(r)}, {_c(r, 'n_workers')}w" for r in others]
        ratios = [stats.ratio_interval(fit_times(r), t0) for r in others]
        # bars grow from 1 (as fast as scikit-learn): left of it faster, right slower; the
        # whiskers are each ratio's 95 % bootstrap interval
        colors = [color(_c(r, "backend")) for r in others]
        bars = ax.barh(
            labels, [q - 1 for q in ratios], left=1, color=colors, xerr=_yerr(ratios), capsize=3
        )
        for bar, r, q in zip(bars, others, ratios, strict=True):
            if _c(r, "impl") == "native":
                bar.set_hatch("//")
            ax.annotate(
                f"{q:.2g}x", (q, bar.get_y() + bar.get_height() / 2), fontsize=7,
                xytext=(3 if q >= 1 else -3, 0), textcoords="offset points",
                ha="left" if q >= 1 else "right", va="center",
            )  # fmt: skip
        lo = min([q.low for q in ratios] + [1.0])
        hi = max([q.high for q in ratios] + [1.0])
        ax.set_xlim(lo / 1.6, hi * 1.6)
        ax.axvline(1.0, color="grey", linewidth=1, label="scikit-learn, 1 core")
        ax.set_xscale("log")
        ax.set(xlabel="fit time / scikit-learn's on 1 core (log; < 1 is faster)")
        title = f"Against scikit-learn: {workload_label(wkey)}, n={n:,}"
        out.append(_finish(fig, ax, "compare", title, wkey, grid="x"))
    return out


PHASE_KEYS = (
    ("engine start", "engine_start_s", "#999999"),
    ("data generation", "generate_s", "#56B4E9"),
    ("preprocessing", "preprocess_s", "#CC79A7"),
    ("fit (median)", None, "#0072B2"),
    ("predict/score", "predict_s", "#F0E442"),
)


def _stacked(records, segments, sort_key, xlabel: str, kind: str, title: str) -> list[Figure]:
    """Per workload at its largest size: one horizontal bar per series x workers, stacked
    from ``segments``: ``(name, colour, value of a record)``."""
    plt = pyplot()
    out = []
    for wkey, group in _by_workload(records):
        n = max(_c(r, "n_samples") for r in group)
        rs = sorted((r for r in group if _c(r, "n_samples") == n), key=sort_key)
        fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rs) + 1.8))
        labels = [f"{series_label(r)}, {_c(r, 'n_workers')}w" for r in rs]
        left = [0.0] * len(rs)
        for name, shade, value in segments:
            widths = [value(r) for r in rs]
            ax.barh(labels, widths, left=left, color=shade, label=name, edgecolor="white")
            left = [a + b for a, b in zip(left, widths, strict=True)]
        for tick, r in zip(ax.get_yticklabels(), rs, strict=True):
            tick.set_color(color(_c(r, "backend")))
        ax.set(xlabel=xlabel)
        out.append(_finish(fig, ax, kind, f"{title}: {workload_label(wkey)}\nn={n:,}", wkey,
                           grid="x"))  # fmt: skip
    return out


def phases(results: Results) -> list[Figure]:
    """Per workload at its largest size: stacked phases per backend and workers."""

    def phase(key):
        return lambda r: (r["fit_median_s"] if key is None else r["phases"].get(key)) or 0.0

    segments = [(name, shade, phase(key)) for name, key, shade in PHASE_KEYS]
    order = lambda r: (_c(r, "backend"), _c(r, "impl"), _c(r, "n_workers"))  # noqa: E731
    return _stacked(results.ok, segments, order, "seconds", "phases", "Phases")


ROUND_COLORS = ("#0072B2", "#E69F00", "#D55E00", "#999999", "#CC79A7")  # ROUND_TERMS' order


def rounds(results: Results) -> list[Figure]:
    """Per workload at its largest size: each series x workers, the typical iteration as
    stacked compute, imbalance, engine, driver (and unsplit) milliseconds."""

    def term(key):
        # A term can come out a hair below zero (clocks read in two processes): drawn as
        # none here; the table shows it as measured.
        return lambda r: max(r["round_split"][key], 0.0) * 1e3

    segments = [(name, shade, term(key)) for (name, key), shade in
                zip(ROUND_TERMS, ROUND_COLORS, strict=True)]  # fmt: skip
    order = lambda r: (_c(r, "backend"), series_label(r), _c(r, "n_workers"))  # noqa: E731
    with_split = [r for r in results.ok if r.get("round_split")]
    return _stacked(with_split, segments, order,
                    "milliseconds per iteration (median over timed fits)", "rounds",
                    "Where an iteration goes")  # fmt: skip


def convergence(results: Results) -> list[Figure]:
    """Objective vs seconds for iterative fits: median over repeats, min–max band."""
    plt = pyplot()
    out = []
    iterative = [r for r in results.ok if len(r.get("trace") or []) >= 3]
    for wkey, records in _by_workload(iterative):
        n = max(_c(r, "n_samples") for r in records)
        p = max(_c(r, "n_workers") for r in records if _c(r, "n_samples") == n)
        rs = [r for r in records if _c(r, "n_samples") == n and _c(r, "n_workers") == p]
        fig, ax = plt.subplots(figsize=(7.5, 4.5))
        for r in sorted(rs, key=lambda r: (_c(r, "backend"), _c(r, "impl"))):
            traces = [t for t in (r.get("timed_traces") or [r["trace"]]) if t]
            length = min(len(t) for t in traces)
            objective = [traces[0][i]["objective"] for i in range(length)]
            seconds = [[t[i]["seconds"] for t in traces] for i in range(length)]
            style = dict(color=color(_c(r, "backend")), linestyle=IMPL_STYLE.get(_c(r, "impl")))
            ax.plot(
                [statistics.median(s) for s in seconds],
                objective,
                label=f"{series_label(r)} ({len(traces)} run{'s' if len(traces) > 1 else ''})",
                **style,
            )
            if len(traces) > 1:
                ax.fill_betweenx(
                    objective,
                    [min(s) for s in seconds],
                    [max(s) for s in seconds],
                    color=style["color"],
                    alpha=0.2,
                )
        ax.set(xlabel="seconds since the fit started", ylabel="objective (per the algorithm)")
        if min(min(t["objective"] for t in r["trace"]) for r in rs) > 0:
            ax.set_yscale("log")
        title = f"Convergence: {workload_label(wkey)}, n={n:,}, {p} worker(s)"
        out.append(_finish(fig, ax, "convergence", title, wkey))
    return out


def overhead(results: Results) -> list[Figure]:
    """Round overhead per backend: median with the p10–p90 range."""
    rows = [r for r in results.overhead if "round" in r]
    if not rows:
        return []
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 0.5 * len(rows) + 1.6))
    labels = [f"{r['backend']}, {r.get('n_workers')}w" for r in rows]
    med = [r["round"]["median_s"] * 1e3 for r in rows]
    lo = [m - r["round"]["p10_s"] * 1e3 for m, r in zip(med, rows, strict=True)]
    hi = [r["round"]["p90_s"] * 1e3 - m for m, r in zip(med, rows, strict=True)]
    ax.barh(
        labels,
        med,
        xerr=[lo, hi],
        capsize=3,
        color=[color(r["backend"]) for r in rows],
        label="median (p10-p90 bar)",
    )
    ax.set_xscale("log")
    ax.set(xlabel="milliseconds per round (log)")
    return [
        _finish(
            fig, ax, "overhead", "Round overhead: one aggregate over resident blocks", None, "x"
        )
    ]
