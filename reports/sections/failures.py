"""Failures: every case that did not give a verified answer, with its reason."""

from __future__ import annotations

from dmlbench.reports.records import PROBLEMS
from dmlbench.reports.results import Results, workload_key, workload_label
from dmlbench.reports.results import case_value as _c  # n_workers: what really ran
from dmlbench.reports.sections import Section
from dmlbench.reports.tables import Table, case_order


def table(results: Results) -> Table:
    """Every case that did not give a verified answer, with its reason; never dropped."""
    table = Table(
        "Failures and skipped cases",
        ["outcome", "workload", "backend", "impl", "workers", "n_samples", "reason"],
    )
    order = {name: i for i, name in enumerate((*PROBLEMS, "skipped"))}
    bad = [r for r in results.cases if r["outcome"] != "ok"]
    for r in sorted(bad, key=lambda r: (order.get(r["outcome"], 9), case_order(r))):
        table.rows.append(
            [
                r["outcome"],
                workload_label(workload_key(r)),
                _c(r, "backend"),
                _c(r, "impl"),
                _c(r, "n_workers"),
                _c(r, "n_samples"),
                (r.get("reason") or "")[:300],
            ]
        )
    return table


SECTION = Section("Failures", lambda results: [table(results)])
