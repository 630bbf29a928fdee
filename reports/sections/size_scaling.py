"""Size scaling: fixed workers, more data; the log-log slope and where two series cross."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from dmlbench.reports import metrics, stats
from dmlbench.reports.figures import (
    IMPL_STYLE,
    Figure,
    color,
    finish,
    log_if_wide,
    mark_failures,
    pyplot,
)
from dmlbench.reports.results import Results
from dmlbench.reports.results import case_value as _c  # n_workers: what really ran
from dmlbench.reports.sections import Section
from dmlbench.reports.series import SizeCurve, Workload
from dmlbench.reports.tables import Table

SLOPE_COLUMNS = ["series", "workers", "sizes", "fit at smallest (s)", "fit at largest (s)",
                 "log-log slope"]  # fmt: skip
CROSS_COLUMNS = ["workers", "series A", "series B", "crossover n_samples", "faster below",
                 "faster above"]  # fmt: skip


def tables(results: Results) -> list[Table]:
    """Time vs n_samples per series: the log-log slope, and where two series cross."""
    out = []
    for w in results.view.workloads:
        slopes = Table(
            f"Size scaling: {w.label}",
            list(SLOPE_COLUMNS),
            note="time ~ n_samples^slope, least squares in log-log; 1 = linear in the data; "
            "[95 % bootstrap interval].",
        )
        curves = _named_curves(w)
        for (label, _), curve in curves.items():
            times = [r["fit_median_s"] for r in curve.records]
            slopes.rows.append([label, curve.workers, len(curve.records), times[0],
                                times[-1], _slope(curve)])  # fmt: skip
        if not any(row[2] >= 2 for row in slopes.rows):
            continue
        out.append(slopes)
        cross = Table(f"Crossovers: {w.label}", list(CROSS_COLUMNS))
        for (la, pa), (lb, pb) in itertools.combinations(curves, 2):
            if pa != pb:
                continue
            a, b = _medians(curves[(la, pa)]), _medians(curves[(lb, pb)])
            common = sorted(set(a) & set(b))
            if len(common) < 2:
                continue
            ta, tb = [a[n] for n in common], [b[n] for n in common]
            for n in metrics.crossovers(common, ta, tb):
                below = la if a[common[0]] < b[common[0]] else lb
                above = la if a[common[-1]] < b[common[-1]] else lb
                cross.rows.append([pa, la, lb, n, below, above])
        if cross.rows:
            out.append(cross)
    return out


def _named_curves(w: Workload) -> dict[tuple[str, int], SizeCurve]:
    """(series label, workers) -> its size curve, in that order; a workload swept over
    several n_features names each curve's (``d=`` in the label): a size curve must hold
    everything but the row count fixed."""
    named = {(_label(w, c), c.workers): c for c in w.curves}
    return dict(sorted(named.items()))


def _label(w: Workload, curve: SizeCurve) -> str:
    return curve.label + (f", d={curve.n_features}" if w.several_features else "")


def _medians(curve: SizeCurve) -> dict[int, float]:
    """n_samples -> the fit median of a size curve."""
    return {_c(r, "n_samples"): r["fit_median_s"] for r in curve.records}


def _slope(curve: SizeCurve) -> stats.Interval | None:
    """The log-log slope of one size curve, with its bootstrap interval (each size's
    fits resampled on their own)."""
    if len(set(curve.sizes)) < 2:
        return None
    by_size = dict(zip(curve.sizes, curve.times, strict=True))
    xs = np.log(np.asarray(sorted(by_size), dtype=float))

    def slope(*medians: Sequence[float]) -> np.ndarray:  # on arrays of replicates too
        ys = np.log(np.stack(np.broadcast_arrays(*medians))).reshape(len(xs), -1)
        dx = (xs - xs.mean())[:, None]
        return ((dx * (ys - ys.mean(axis=0))).sum(axis=0) / (dx**2).sum()).squeeze()

    return stats.figure_interval(slope, *(by_size[n] for n in sorted(by_size)))


def figures(results: Results) -> list[Figure]:
    """Per workload: log-log fit time vs n_samples per series, slope in the legend."""
    plt = pyplot()
    out = []
    for w in results.view.workloads:
        if not any(len(set(c.sizes)) > 1 for c in w.curves):
            continue
        fig, ax = plt.subplots(figsize=(7.5, 4.5))
        for c in sorted(w.curves, key=lambda c: (c.engine, c.impl, c.workers, c.n_features)):
            ns, ts = c.sizes, [r["fit_median_s"] for r in c.records]
            slope = metrics.loglog_slope(ns, ts)
            p = c.workers
            label = f"{c.label}, {p} worker{'s' if p > 1 else ''}"
            label += f", d={c.n_features}" if w.several_features else ""
            if slope is not None:
                label += f" (slope {slope:.2f})"
            ax.plot(ns, ts, marker="o" if p > 1 else "s", color=color(c.engine),
                    linestyle=IMPL_STYLE.get(c.impl, ":"), alpha=1.0 if p > 1 else 0.6,
                    label=label)  # fmt: skip
        mark_failures(ax, w.problems, lambda r: _c(r, "n_samples"))
        ax.set_xscale("log")
        log_if_wide(ax)
        ax.set(xlabel="n_samples (rows)", ylabel="fit time, median (s)")
        out.append(finish(fig, ax, "size", f"Size scaling: {w.label}", w.key))
    return out


SECTION = Section(
    "Size scaling",
    tables,
    "Fixed workers, more data (log-log). A crossover is where one series overtakes another.",
    figures,
    caption="Fit time against rows, log-log: a slope of 1 is linear in the data, below 1 "
    "a fixed cost still dominates; where two curves cross, the faster engine changes.",
)
