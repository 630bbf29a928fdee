"""Execution patterns: each engine's idiomatic way (tasks through its scheduler) against
the resident pattern, per fit and per round."""

from __future__ import annotations

from typing import Any

from dmlbench.reports.records import Record
from dmlbench.reports.results import Results, ratio_of
from dmlbench.reports.results import case_value as _c  # n_workers: what really ran
from dmlbench.reports.sections import Section
from dmlbench.reports.series import SeriesView, grouped
from dmlbench.reports.tables import Table, spread

COLUMNS = ["backend", "workers", "n_samples", "pattern", "fit median (s)", "spread (s)",
           "per round (s)", "fit / fastest", "round / fastest"]  # fmt: skip


def tables(results: Results) -> list[Table]:
    """Per engine with several patterns measured (``dask``: resident and tasks), what each
    pattern costs per fit and per round, and its ratio to the fastest of them."""
    out = []
    for w in results.view.workloads:
        ours = [r for r in w.ok if _c(r, "impl") == "dmlbench" and r["case"].get("pattern")]
        if not ours:
            continue
        table = Table(
            f"Execution patterns: {w.label}",
            list(COLUMNS),
            note="the same fit through each way the engine can run it: 'resident' (blocks kept "
            "in worker memory, one call per worker per round) and 'tasks' (the engine's "
            "idiomatic pattern: a task per block through its scheduler); a round is one "
            "iteration of ours' trace (median over the last fit's rounds).",
        )
        # The same fit through each pattern: one engine's patterns side by side.
        side_by_side = grouped(
            ours, lambda r: (r["case"]["backend"], _c(r, "n_workers"), _c(r, "n_samples"))
        )
        for (backend, p, n), rs in side_by_side.items():
            if len(rs) >= 2:
                table.rows += _rows(results.view, backend, p, n, rs)
        if table.rows:
            out.append(table)
    return out


def _rows(view: SeriesView, backend: str, p: int, n: int, rs: list[Record]) -> list[list[Any]]:
    """One engine's patterns at ``p`` workers and ``n`` rows, against the fastest."""
    fastest = min(rs, key=lambda r: r["fit_median_s"])
    rounds = [x for r in rs if (x := _per_round(r))]
    fastest_round = min(rounds) if rounds else None
    rows = []
    for r in sorted(rs, key=lambda r: r["case"].get("pattern") or ""):
        per, pt = _per_round(r), view.point(r)
        rows.append([
            backend, p, n, r["case"].get("pattern"), pt.median, spread(r), per,
            ratio_of(r, fastest),
            None if per is None or not fastest_round else per / fastest_round,
        ])  # fmt: skip
    return rows


def _per_round(r: Record) -> float | None:
    """One round of ours' trace (records before ``per_round_s`` kept it in
    ``per_iteration_s``)."""
    return r.get("per_round_s", r.get("per_iteration_s"))


SECTION = Section(
    "Execution patterns",
    tables,
    "Each engine's own idiomatic way (tasks through its scheduler) against the"
    " resident pattern, per fit and per round.",
)
