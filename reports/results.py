"""Read stored results: suite records (``results.jsonl``) and overhead runs (JSON).

A report may be built from several files (runs on different days, the overhead command's
output). A case recorded twice keeps its later record; the count is reported, not hidden.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from dmlbench.reports import stats
from dmlbench.reports.records import (
    RESULTS_NAME,
    Record,
    RecordsError,
    engine_name,
    read_records,
)

if TYPE_CHECKING:
    from dmlbench.reports.series import SeriesView


class ReportError(RecordsError):
    """Results a report cannot be built from; the message names the file (and line).

    A :class:`~dmlbench.reports.records.RecordsError` of a results file reaches the caller
    of :func:`load` as a ReportError with the same message.
    """


@dataclass
class Results:
    """Everything a report is built from."""

    cases: list[Record] = field(default_factory=list)
    #: Rows of ``dmlbench overhead --json`` files (not case records): backend, n_workers,
    #: startup_s, round (median_s, p10_s, p90_s), or an error.
    overhead: list[dict[str, Any]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    replaced: int = 0  # cases recorded more than once (the later record kept)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> list[Record]:
        return [r for r in self.cases if r["outcome"] == "ok"]

    @cached_property
    def view(self) -> SeriesView:
        """The cases grouped into workloads and series, with their speedups, efficiencies
        and intervals (:class:`~dmlbench.reports.series.SeriesView`): computed on first
        use, once per report, and read by the answer, the tables, the figures and the
        DataFrames alike (so ``cases`` is not changed after it is asked for)."""
        from dmlbench.reports.series import SeriesView

        return SeriesView(self)


def load(paths: list[Path]) -> Results:
    """Read ``results.jsonl`` files, result directories and overhead JSON files."""
    out = Results()
    by_id: dict[str, Record] = {}
    for path in paths:
        path = Path(path)
        if path.is_dir():
            stored = path / f"{RESULTS_NAME}.gz"  # a run stored for the docs
            path = (
                stored
                if stored.exists() and not (path / RESULTS_NAME).exists()
                else path / RESULTS_NAME
            )
        if not path.exists():
            raise ReportError(f"{path}: no such results file")
        out.sources.append(str(path))
        if path.name.endswith((".jsonl", ".jsonl.gz")):
            try:
                records = read_records(path, notes=out.notes)
            except RecordsError as exc:
                raise ReportError(str(exc)) from None
            for record in records:
                if record["case_id"] in by_id:
                    out.replaced += 1
                by_id[record["case_id"]] = record
        else:
            out.overhead.extend(_overhead(path))
    out.cases = list(by_id.values())
    if not out.cases and not out.overhead:
        raise ReportError(f"no results in {', '.join(out.sources)}")
    return out


def _overhead(path: Path) -> list[dict[str, Any]]:
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: not JSON ({exc.msg})") from None
    rows = doc.get("results") if isinstance(doc, dict) else None
    if not isinstance(rows, list) or not all("backend" in r for r in rows):
        raise ReportError(
            f"{path}: neither results.jsonl nor the JSON of `dmlbench overhead --json`"
        )
    return rows


def case_value(record: Record, name: str) -> Any:
    """A field of the record's case; ``n_workers`` is the number of workers the case really
    ran on (recorded from the engine), which reports group by, else the number asked for;
    ``backend`` names the pattern too when the case has one (``"dask:tasks"``), so each
    pattern is its own engine in every table and figure."""
    if name == "n_workers" and record.get("n_workers") is not None:
        return record["n_workers"]
    if name == "backend":
        return engine_name(record["case"])
    return cast(Mapping[str, Any], record["case"])[name]  # any field, by its name


#: What was solved: (algorithm, dataset, params as sorted JSON).
WorkloadKey = tuple[str, str, str]


def workload_key(record: Record) -> WorkloadKey:
    """(algorithm, dataset, params as sorted JSON): what was solved, whatever the engine."""
    c = record["case"]
    return c["algorithm"], c["dataset"], json.dumps(c["params"], sort_keys=True)


def workload_label(key: WorkloadKey) -> str:
    """A short human title for a workload key."""
    algorithm, dataset, params = key
    shown = json.loads(params)
    extra = ", ".join(f"{k}={v}" for k, v in shown.items() if k in SHOWN_PARAMS)
    return f"{algorithm} on {dataset}" + (f" ({extra})" if extra else "")


#: Parameters worth showing in a title; the rest are in the results file.
SHOWN_PARAMS = ("n_clusters", "solver", "max_iter", "alpha", "C", "rank")


def is_single_core_baseline(record: Record) -> bool:
    """Whether a record is scikit-learn on one core: the native run of the in-process
    backend (its ``native`` field names the library)."""
    native = record.get("native")
    return (
        record["case"]["impl"] == "native"
        and native is not None
        and native["impl"].startswith("scikit-learn")
    )


def display_label(record: Record) -> str:
    """How an implementation is named where several meet (the first screen, reference
    lines): scikit-learn on one core by that name, else :func:`series_label`."""
    return "scikit-learn (1 core)" if is_single_core_baseline(record) else series_label(record)


def series_label(record: Record) -> str:
    """How a curve is named in legends: backend, and the implementation when native."""
    c, backend = record["case"], engine_name(record["case"])
    return backend if c["impl"] == "dmlbench" else f"{backend} native"


def interleaved(a: Record, b: Record) -> bool:
    """Whether launch i of ``a`` and of ``b`` ran in the same round of the same run, for
    every i (at least 2 launches each): the runner interleaves launches in rounds, so such
    launches saw the same machine and their ratios pair."""
    slots = [[(x.get("session"), x.get("round")) for x in r.get("launches") or []] for r in (a, b)]
    return (
        len(slots[0]) >= 2
        and slots[0] == slots[1]
        and all(session is not None and rnd is not None for session, rnd in slots[0])
    )


def ratio_of(numerator: Record, denominator: Record) -> stats.Interval:
    """``numerator``'s median fit over ``denominator``'s, with its interval: paired launch
    by launch when they ran interleaved (:func:`interleaved`; the geometric mean of the
    launches' ratios, :func:`~dmlbench.reports.stats.paired_ratio_interval`), else the
    two-level bootstrap over their pooled launches."""
    b, a = fit_times(numerator), fit_times(denominator)
    if interleaved(numerator, denominator):
        return stats.paired_ratio_interval(b, a)
    return stats.ratio_interval(b, a)


def fit_times(record: Record) -> list[list[float]]:
    """A record's raw timed fits as launches (``fit_s_by_launch``, else its one launch's
    ``phases.fit_s``; a record without them: its median alone), for the intervals."""
    by_launch = record.get("fit_s_by_launch")
    if by_launch:
        return [list(x) for x in by_launch]
    fits = (record.get("phases") or {}).get("fit_s")
    return [list(fits)] if fits else [[record["fit_median_s"]]]
