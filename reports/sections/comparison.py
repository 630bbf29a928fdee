"""Engine comparison: written once (dmlbench) against each engine's own library and
against scikit-learn on one core, as ratios with their intervals; and COST."""

from __future__ import annotations

from typing import Any

from dmlbench.reports import stats
from dmlbench.reports.figures import Figure, color, finish, pyplot, yerr
from dmlbench.reports.records import Record
from dmlbench.reports.results import (
    Results,
    fit_times,
    is_single_core_baseline,
    ratio_of,
    series_label,
)
from dmlbench.reports.results import case_value as _c  # n_workers: what really ran
from dmlbench.reports.sections import Section
from dmlbench.reports.series import SeriesView, Workload, grouped, table_order
from dmlbench.reports.tables import Table, case_order, spread, verdict

COLUMNS = ["n_samples", "backend", "impl", "workers", "fit median (s)", "spread (s)", "n",
           "iterations", "per iteration (s)", "x scikit-learn 1 core",
           "written-once / native", "verdict", "time to 1 % (s)"]  # fmt: skip
NOTE = (
    "median [95 % bootstrap interval] and [min, max] of n timed fits, after one "
    "cold fit, each fit's answer checked; iterations: the timed fits' median; per "
    "iteration: the fit median over them, the same way for every implementation. "
    "x scikit-learn: this time over scikit-learn's on one core (below 1 is faster); "
    "a ratio of two cases that ran the same interleaved launches is paired launch by "
    "launch (the geometric mean of the launches' ratios, Student-t interval), else "
    "bootstrapped; "
    "written-once / native: dmlbench's time over the engine's own library's, same "
    "backend and workers (below 1: dmlbench is faster); verdict: faster or slower "
    "only when the ratio's interval excludes 1, else a tie. time to 1 %: from the "
    "trace, seconds until the objective was within 1 % of the reference, MLPerf-style "
    "over the timed fits (fastest and slowest dropped, mean of the rest) with the "
    "95 % Student-t interval of that mean; n kept."
)


def tables(results: Results) -> list[Table]:
    """Written-once vs native vs single-process scikit-learn, as ratios; and COST."""
    out = []
    for w in results.view.workloads:
        if not w.ok:
            continue
        table = Table(f"Engine comparison: {w.label}", list(COLUMNS), note=NOTE)
        costs = Table(
            f"COST: {w.label}",
            ["n_samples", "backend", "impl", "workers measured", "COST"],
            note="the fewest workers that beat scikit-learn on one core (McSherry et al.), "
            "with the range of worker counts its 95 % bootstrap gives ([low, high]).",
        )
        for n, rs in grouped(w.ok, lambda r: _c(r, "n_samples")).items():
            baseline = next((r for r in rs if is_single_core_baseline(r)), None)
            table.rows += _rows(results.view, rs, baseline)
            if baseline is not None:
                costs.rows += _cost_rows(w, n, fit_times(baseline))
        out.append(table)
        if costs.rows:
            out.append(costs)
    return out


def _rows(view: SeriesView, rs: list[Record], baseline: Record | None) -> list[list[Any]]:
    """One size's rows: every case's median, its ratio to scikit-learn on one core and,
    for ours, to the engine's own library on the same backend and workers."""
    # A native library runs on the engine whatever pattern ours used: keyed by the plain
    # backend, so "dask:tasks" and "dask" both compare with dask-ml.
    native = {
        (r["case"]["backend"], _c(r, "n_workers")): r for r in rs if _c(r, "impl") == "native"
    }
    rows = []
    for r in sorted(rs, key=case_order):
        pt = view.point(r)
        impl, t = r["case"]["impl"], pt.times
        vs_native = native.get((r["case"]["backend"], pt.workers)) if impl == "dmlbench" else None
        ratio = None if vs_native is None else ratio_of(r, vs_native)
        rows.append([
            r["case"]["n_samples"], pt.series.engine, impl, pt.workers, pt.median, spread(r),
            stats.n_fits(t), r.get("n_iter"), _per_iteration(r, t),
            None if baseline is None else ratio_of(r, baseline),
            ratio, None if ratio is None else verdict(ratio), _time_to_quality(r),
        ])  # fmt: skip
    return rows


def _cost_rows(w: Workload, n: int, baseline: Any) -> list[list[Any]]:
    """COST of each series at ``n`` rows against scikit-learn on one core."""
    rows = []
    for s in table_order(w.series):
        if s.n_samples != n or any(is_single_core_baseline(r) for r in s.records):
            continue
        times = s.by_workers
        rows.append([n, s.engine, s.impl, ", ".join(map(str, sorted(times))),
                     stats.cost_range(times, baseline).format()])  # fmt: skip
    return rows


def _per_iteration(r: Record, times: stats.Times) -> stats.Interval | float | None:
    """The fit's median interval over its iterations (``per_iteration_s`` with its
    interval); the recorded number where the record has no iterations."""
    n_iter = r.get("n_iter")
    if not n_iter:
        return r.get("per_iteration_s")
    iv = stats.median_interval(times)
    return stats.Interval(iv / n_iter, iv.low / n_iter, iv.high / n_iter, iv.n, iv.level)


def _time_to_quality(r: Record) -> str | None:
    """MLPerf-style time to quality of the timed fits, as text, or None without a trace."""
    ttq = (r.get("quality") or {}).get("time_to_quality")
    if not ttq:
        return None
    iv = stats.mlperf_interval(ttq["per_fit_s"])
    if iv is None:
        return "not reached"
    return f"{iv.format()} (n={iv.n})" if iv.n > 1 else f"{iv.value:.3g} (n=1)"


def figures(results: Results) -> list[Figure]:
    """Per workload at its largest size: fit time relative to scikit-learn on one core."""
    return [fig for w in results.view.workloads if w.ok and (fig := _figure(w)) is not None]


def _figure(w: Workload) -> Figure | None:
    """One workload's bars at its largest size; None without scikit-learn or another."""
    n = max(_c(r, "n_samples") for r in w.ok)
    at_n = [r for r in w.ok if _c(r, "n_samples") == n]
    base = [r for r in at_n if is_single_core_baseline(r)]
    others = sorted(
        (r for r in at_n if r not in base),
        key=lambda r: (_c(r, "backend"), _c(r, "impl"), _c(r, "n_workers")),
    )
    if not base or not others:
        return None
    fig, ax = pyplot().subplots(figsize=(7.5, 0.45 * len(others) + 1.6))
    labels = [f"{series_label(r)}, {_c(r, 'n_workers')}w" for r in others]
    ratios = [ratio_of(r, base[0]) for r in others]
    # bars grow from 1 (as fast as scikit-learn): left of it faster, right slower; the
    # whiskers are each ratio's 95 % interval (paired over interleaved launches)
    colors = [color(_c(r, "backend")) for r in others]
    bars = ax.barh(
        labels, [q - 1 for q in ratios], left=1, color=colors, xerr=yerr(ratios), capsize=3
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
    title = f"Against scikit-learn: {w.label}, n={n:,}"
    return finish(fig, ax, "compare", title, w.key, grid="x")


SECTION = Section(
    "Engine comparison",
    tables,
    "Written once (dmlbench) vs each engine's own library (native) vs scikit-learn on"
    " one core. Times are the median of the timed fits (the first, cold fit is kept"
    " apart).",
    figures,
    figure_title="Against scikit-learn and the engines' own libraries",
    caption="Each bar is a time over scikit-learn's on one core (grey line): left of it "
    "faster, right slower; hatched bars are the engines' own libraries; whiskers are "
    "95 % intervals.",
)
