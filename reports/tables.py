"""The report's tables: :class:`Table` and what the sections' tables share.

Each section (:mod:`dmlbench.reports.sections`) makes its own tables: a title, column
names and rows of plain values (numbers stay numbers; formatting is the renderer's job),
so the tests can check the numbers and both renderers show the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dmlbench.reports import stats
from dmlbench.reports.records import Record
from dmlbench.reports.results import case_value as _c  # n_workers: what really ran
from dmlbench.reports.results import workload_key


@dataclass
class Table:
    """A titled table: ``rows`` are lists aligned with ``columns``."""

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""


def case_order(r: Record) -> tuple[Any, ...]:
    """The order cases are listed in: workload, impl, backend, workers, rows."""
    c = r["case"]
    return (workload_key(r), c["impl"], _c(r, "backend"), _c(r, "n_workers"), c["n_samples"])


def verdict(ratio: stats.Interval) -> str:
    """``faster``/``slower`` for a time ratio whose interval excludes 1, else ``tie``."""
    if ratio.high < 1:
        return "faster"
    return "slower" if ratio.low > 1 else "tie"


def spread(r: Record) -> str | None:
    """``[min, max]`` of a record's timed fits, as text (seconds, 3 significant digits)."""
    lo_hi = r.get("fit_spread_s")
    return None if not lo_hi else f"[{lo_hi[0]:.3g}, {lo_hi[1]:.3g}]"
