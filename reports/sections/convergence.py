"""Convergence: the objective against seconds, the same objective for every
implementation (a figure only: the traces are in the results file)."""

from __future__ import annotations

import statistics
from typing import Any

from dmlbench.reports.figures import IMPL_STYLE, Figure, color, finish, pyplot
from dmlbench.reports.records import Record
from dmlbench.reports.results import Results, series_label
from dmlbench.reports.results import case_value as _c  # n_workers: what really ran
from dmlbench.reports.sections import Section


def figures(results: Results) -> list[Figure]:
    """Objective vs seconds for iterative fits: median over repeats, min–max band."""
    plt = pyplot()
    out = []
    for w in results.view.workloads:
        records = [r for r in w.ok if len(r.get("trace") or []) >= 3]
        if not records:
            continue
        n = max(_c(r, "n_samples") for r in records)
        p = max(_c(r, "n_workers") for r in records if _c(r, "n_samples") == n)
        rs = [r for r in records if _c(r, "n_samples") == n and _c(r, "n_workers") == p]
        fig, ax = plt.subplots(figsize=(7.5, 4.5))
        for r in sorted(rs, key=lambda r: (_c(r, "backend"), _c(r, "impl"))):
            _curve(ax, r)
        ax.set(xlabel="seconds since the fit started", ylabel="objective (per the algorithm)")
        if min(min(t["objective"] for t in r["trace"]) for r in rs) > 0:
            ax.set_yscale("log")
        title = f"Convergence: {w.label}, n={n:,}, {p} worker(s)"
        out.append(finish(fig, ax, "convergence", title, w.key))
    return out


def _curve(ax: Any, r: Record) -> None:
    """One case's objective against the median seconds of its timed fits' traces, with
    their min–max band."""
    traces = [t for t in (r.get("timed_traces") or [r["trace"]]) if t]
    length = min(len(t) for t in traces)
    objective = [traces[0][i]["objective"] for i in range(length)]
    seconds = [[t[i]["seconds"] for t in traces] for i in range(length)]
    style: dict[str, Any] = dict(color=color(_c(r, "backend")),
                                 linestyle=IMPL_STYLE.get(_c(r, "impl")))  # fmt: skip
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


SECTION = Section(
    "Convergence",
    figures=figures,
    caption="The objective against seconds, the same objective for every "
    "implementation: lower sooner is better; the band is the timed fits' range.",
)
