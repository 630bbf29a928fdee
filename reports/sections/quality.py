"""Quality: every case's answer against its reference, per workload."""

from __future__ import annotations

from dmlbench.reports.results import Results
from dmlbench.reports.results import case_value as _c  # n_workers: what really ran
from dmlbench.reports.sections import Section
from dmlbench.reports.tables import Table, case_order

COLUMNS = ["impl", "backend", "workers", "n_samples", "metric", "value", "reference",
           "reference source", "check", "also measured (ours / reference)"]  # fmt: skip


def tables(results: Results) -> list[Table]:
    """Per workload, every case that produced an answer: its metric, the reference, pass or
    fail, and the secondary numbers (held-out metric, ROC AUC, silhouette, precision@10)
    beside theirs."""
    out = []
    for w in results.view.workloads:
        answered = [r for r in w.cases if r.get("quality")]
        if not answered:
            continue
        table = Table(f"Quality: {w.label}", list(COLUMNS))
        for r in sorted(answered, key=case_order):
            q = r["quality"]
            also = "; ".join(
                f"{name} {fmt_number(e['value'])} / {fmt_number(e.get('reference'))}"
                for name, e in (q.get("extras") or {}).items()
            )
            table.rows.append(
                [_c(r, "impl"), _c(r, "backend"), _c(r, "n_workers"), _c(r, "n_samples"),
                 q["metric"], q["value"], q["reference"], q["reference_source"],
                 "pass" if q["ok"] else "FAIL", also]
            )  # fmt: skip
        out.append(table)
    return out


def fmt_number(value: float | None) -> str:
    """A secondary metric in a text cell: 4 significant digits."""
    return "-" if value is None else f"{value:.4g}"


SECTION = Section(
    "Quality",
    tables,
    "Every case's answer against its reference (scikit-learn or the local backend), "
    "per workload; also in summary.csv.",
)
