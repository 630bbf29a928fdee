"""Strong scaling: a fixed data size, more workers; speedup, efficiency and Karp–Flatt."""

from __future__ import annotations

from typing import Any

import numpy as np

from dmlbench.reports.figures import (
    IMPL_STYLE,
    Figure,
    color,
    log_if_wide,
    mark_failures,
    pyplot,
    slug,
    yerr,
)
from dmlbench.reports.results import Results
from dmlbench.reports.results import case_value as _c  # n_workers: what really ran
from dmlbench.reports.sections import Section
from dmlbench.reports.series import Series, Workload, table_order
from dmlbench.reports.tables import Table

COLUMNS = ["backend", "impl", "n_samples", "workers", "fit median (s)", "speedup",
           "efficiency", "Karp-Flatt e"]  # fmt: skip


def tables(results: Results) -> list[Table]:
    """Time vs workers at a fixed size: speedup, efficiency and Karp–Flatt serial fraction.

    The base is the fewest workers measured for that series; Karp–Flatt needs a 1-worker
    base and is left empty otherwise.
    """
    out = []
    for w in results.view.workloads:
        table = Table(
            f"Strong scaling: {w.label}",
            list(COLUMNS),
            note="speedup and efficiency against the fewest workers measured; "
            "Karp-Flatt e = (1/S - 1/p) / (1 - 1/p), against 1 worker; each with its 95 % "
            "bootstrap interval [low, high] from the raw fit times (launches, then fits).",
        )
        for s in table_order(w.series):
            if not s.scales:
                continue
            for pt in s.points:
                table.rows.append([s.engine, s.impl, s.n_samples, pt.workers, pt.median,
                                   pt.speedup, pt.efficiency, pt.karp_flatt])  # fmt: skip
        if table.rows:
            out.append(table)
    return out


#: Panels side by side in a figure of small multiples: more sizes than this are shown at
#: the smallest, the largest and evenly between (the tables have every size).
MAX_PANELS = 4
#: How far past the most workers measured a figure's prediction reaches (x that count).
PREDICTION_REACH = 4


def figures(results: Results) -> list[Figure]:
    """Per workload, small multiples per data size: fit time vs workers (top) and speedup
    vs workers with the ideal line (bottom), every engine in each panel; a series measured
    at one worker count only (the local oracle, scikit-learn on one core) is drawn as a
    horizontal reference line in the time panel."""
    return [fig for w in results.view.workloads if (fig := _figure(w)) is not None]


def _figure(w: Workload) -> Figure | None:
    """One workload's figure; None when none of its series scales."""
    scaled = [s for s in w.series if s.scales]
    if not scaled:
        return None
    plt = pyplot()
    every_size = sorted({s.n_samples for s in scaled})
    sizes = _spread_out(every_size, MAX_PANELS)
    max_p = max(pt.workers for s in scaled for pt in s.points)
    fig, axes = plt.subplots(2, len(sizes), figsize=(max(6.0, 3.9 * len(sizes)), 6.6),
                             squeeze=False, sharex=True)  # fmt: skip
    in_panel = sorted(w.series, key=lambda s: (s.engine, s.impl, s.n_features))
    for j, n in enumerate(sizes):
        ax_t, ax_s = axes[0][j], axes[1][j]
        max_p = _panel(ax_t, ax_s, [s for s in in_panel if s.n_samples == n], max_p)
        ideal = np.geomspace(1, max_p, 40)  # many points: straight on either x scale
        ax_s.plot(ideal, ideal, color="grey", linewidth=1, label="ideal")
        if max_p > 8:  # predictions reach far: workers on a log scale
            for ax in (ax_t, ax_s):
                ax.set_xscale("log", base=2)
        mark_failures(ax_t, [r for r in w.problems if _c(r, "n_samples") == n],
                      lambda r: _c(r, "n_workers"))  # fmt: skip
        ax_t.set(title=f"n={n:,}", ylabel="fit time, median (s)" if j == 0 else None)
        ax_s.set(xlabel="workers", ylabel="speedup (x)" if j == 0 else None)
        for ax in (ax_t, ax_s):
            ticks = (list(range(1, max_p + 1)) if max_p <= 8
                     else [2**k for k in range(max_p.bit_length())])  # fmt: skip
            ax.set_xticks(ticks, [str(t) for t in ticks])
            ax.grid(alpha=0.3)
    log_if_wide(*axes[0])  # one scale for every panel, so they read alike
    axes[0][-1].legend(fontsize=7)
    axes[1][-1].legend(fontsize=7)
    title = f"Strong scaling: {w.label}"
    shown = "" if sizes == every_size else f", {len(sizes)} of {len(every_size)} sizes"
    # two lines: a long workload label in one would run off a one-size figure
    fig.suptitle(f"{title}\n(95 % intervals{shown})", fontsize="medium")
    fig.tight_layout()
    return Figure(f"strong-{slug(w.label)}", title, fig)


def _panel(ax_t: Any, ax_s: Any, series: list[Series], max_p: int) -> int:
    """One data size's time (``ax_t``) and speedup (``ax_s``) panels: every series with
    its 95 % intervals and its prediction; the most workers drawn so far, returned."""
    for s in series:
        if not s.scales:  # a reference, not a curve
            base = s.base.record
            ax_t.axhline(base["fit_median_s"], color=color(s.engine),
                         linestyle="-." if s.is_baseline else ":", linewidth=1.2,
                         label=f"{s.display}, {s.base.workers}w (reference)")  # fmt: skip
            continue
        ps = [pt.workers for pt in s.points]
        times = [pt.median for pt in s.points]
        # speedup over the fewest workers, drawn as if from 1 (x ps[0])
        speedups = [pt.speedup for pt in s.points]
        style: dict[str, Any] = dict(color=color(s.engine),
                                     linestyle=IMPL_STYLE.get(s.impl, ":"), marker="o")  # fmt: skip
        ax_t.errorbar(ps, times, yerr=yerr(times), capsize=3, label=s.label, **style)
        ax_s.errorbar(
            ps, [float(x) * ps[0] for x in speedups], yerr=yerr(speedups, scale=ps[0]),
            capsize=3, label=s.label, **style,
        )  # fmt: skip
        ahead = _prediction(s)
        if ahead is not None:  # past the measured workers: marked as a prediction
            model, ws, bands = ahead
            kw = dict(color=color(s.engine), alpha=0.15, linewidth=0)
            for ax, (mid, low, high) in ((ax_t, bands["time"]), (ax_s, bands["speedup"])):
                ax.fill_between(ws, low, high, **kw)
                ax.plot(ws, mid, color=color(s.engine), linestyle=(0, (2, 2)),
                        linewidth=1, label=f"{s.label}: {model} prediction")  # fmt: skip
            max_p = max(max_p, ws[-1])
    return max_p


def _spread_out(values: list[Any], most: int) -> list[Any]:
    """At most ``most`` of the sorted ``values``: both ends and evenly between."""
    if len(values) <= most:
        return values
    picks = np.linspace(0, len(values) - 1, most).round().astype(int)
    return [values[i] for i in sorted(set(picks))]


Bands = dict[str, tuple[list[float], list[float], list[float]]]


def _prediction(s: Series) -> tuple[str, list[int], Bands] | None:
    """``(model, workers, {"time": (mid, low, high), "speedup": ...})`` past the most
    workers of one series, from the scaling model its counts support (USL from 4, Amdahl
    from 3: :mod:`~dmlbench.reports.scaling_models`); None with fewer."""
    if s.scaling is None:
        return None
    model, fit = s.scaling
    by_workers = s.by_workers
    last = max(by_workers)
    ws = sorted({last, *(int(round(w)) for w in np.geomspace(last, last * PREDICTION_REACH, 9))})
    pr = [fit.predict(w) for w in ws]
    base = min(by_workers)  # the speedup panel is over the fewest workers, drawn from it
    scale = float(fit.throughput(1) / fit.throughput(base)) * base
    bands: Bands = {
        "time": ([p["time"] for p in pr], [p["time_low"] for p in pr],
                 [p["time_high"] for p in pr]),
        "speedup": ([p["speedup"] * scale for p in pr], [p["speedup_low"] * scale for p in pr],
                    [p["speedup_high"] * scale for p in pr]),
    }  # fmt: skip
    return model, ws, bands


SECTION = Section(
    "Strong scaling",
    tables,
    "Fixed data size, more workers. Efficiency 1 is perfect scaling.",
    figures,
    caption="One column per data size. Top: fit time against workers, every engine, with "
    "dotted reference lines for what ran at one worker count only (the local oracle, "
    "scikit-learn on one core); a curve that flattens is where adding workers stops "
    "paying. Bottom: speedup over the fewest workers against the grey ideal line.",
)
