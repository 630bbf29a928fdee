"""The series view of a report's records, computed once per report and read by every part.

A report groups the same records the same ways everywhere: per **workload** (what was
solved: algorithm, dataset, parameters), per **series** (one implementation on one engine
at one data shape, over the worker counts it ran at: strong scaling) and per **size
curve** (the same at one worker count, over the data sizes: size scaling). The answer
box, the tables, the figures and the DataFrames read them from one
:class:`SeriesView` (``Results.view``), so a series' speedup, efficiency and their
bootstrap intervals are computed once, where its table row and its figure's point ask
for the same number.

Order: workloads by their key; a workload's series and curves in the order their first
record was recorded; a series' points fewest workers first (points at one count in the
order recorded). Each reader sorts them the way it shows them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

from dmlbench.reports import metrics, stats
from dmlbench.reports.records import PROBLEMS, Record, engine_name
from dmlbench.reports.results import (
    WorkloadKey,
    display_label,
    fit_times,
    is_single_core_baseline,
    series_label,
    workload_key,
    workload_label,
)
from dmlbench.reports.results import case_value as _c  # n_workers: what really ran

if TYPE_CHECKING:
    from dmlbench.reports.results import Results
    from dmlbench.reports.scaling_models import ScalingFit

K = TypeVar("K", bound=Hashable)


def grouped(records: Iterable[Record], key: Callable[[Record], K]) -> dict[K, list[Record]]:
    """``records`` grouped by ``key``, each group in the records' order, the groups in the
    order of their keys' text (``str(key)``): the order the report's tables list groups
    in (a size of 10,000 rows before one of 200)."""
    groups: dict[K, list[Record]] = defaultdict(list)
    for r in records:
        groups[key(r)].append(r)
    return dict(sorted(groups.items(), key=lambda kv: str(kv[0])))


class Point:
    """One record in its series: its worker count, its raw fit times (launches of fits)
    and the figures derived from them, each with its bootstrap interval, computed on
    first use."""

    def __init__(self, series: Series, record: Record) -> None:
        self.series = series
        self.record = record
        self.workers: int = _c(record, "n_workers")
        self.times: list[list[float]] = fit_times(record)

    @cached_property
    def median(self) -> stats.Interval:
        """The median fit time with its interval."""
        return stats.median_interval(self.times)

    @cached_property
    def speedup(self) -> stats.Interval:
        """Speedup over the series' base (its fewest workers)."""
        return stats.speedup_interval(self.series.base.times, self.times)

    @cached_property
    def efficiency(self) -> stats.Interval:
        """Parallel efficiency against the series' base."""
        base = self.series.base
        return stats.efficiency_interval(
            base.times, self.times, self.workers, base_workers=base.workers
        )

    @cached_property
    def karp_flatt(self) -> stats.Interval | None:
        """The Karp–Flatt serial fraction, against a 1-worker base only (else None)."""
        base = self.series.base
        if base.workers != 1:
            return None
        return stats.karp_flatt_interval(base.times, self.times, self.workers)

    @property
    def median_scaling(self) -> tuple[float, float] | None:
        """``(speedup, efficiency)`` of the recorded medians against the series' base;
        None at the base's own worker count (the DataFrames' columns)."""
        base = self.series.base
        if self.workers == base.workers:
            return None
        t0, t = base.record["fit_median_s"], self.record["fit_median_s"]
        return (
            metrics.speedup(t0, t),
            metrics.efficiency(t0, t, self.workers, base_workers=base.workers),
        )


class Series:
    """One implementation on one engine at one data shape (rows and features) of a
    workload, over the worker counts it ran at: its ``ok`` records as points (:class:`Point`),
    fewest workers first (the base of its speedups)."""

    def __init__(self, records: list[Record]) -> None:
        first = records[0]
        self.engine: str = engine_name(first["case"])  # the backend, with its pattern
        self.impl: str = first["case"]["impl"]
        self.n_samples: int = first["case"]["n_samples"]
        self.n_features: int = first["case"]["n_features"]
        points = [Point(self, r) for r in records]
        self.points: list[Point] = sorted(points, key=lambda pt: pt.workers)

    @property
    def key(self) -> tuple[str, str, int, int]:
        """(engine, impl, n_samples, n_features): what a series holds fixed."""
        return (self.engine, self.impl, self.n_samples, self.n_features)

    @property
    def base(self) -> Point:
        """The point at the fewest workers (the first recorded, if several)."""
        return self.points[0]

    @property
    def records(self) -> list[Record]:
        return [pt.record for pt in self.points]

    @property
    def label(self) -> str:
        """Its name in legends (:func:`~dmlbench.reports.results.series_label`)."""
        return series_label(self.base.record)

    @property
    def display(self) -> str:
        """Its name where implementations meet (scikit-learn on one core by that name)."""
        return display_label(self.base.record)

    @property
    def is_baseline(self) -> bool:
        """Whether it is scikit-learn on one core."""
        return is_single_core_baseline(self.base.record)

    @property
    def scales(self) -> bool:
        """Whether it ran at more than one worker count (a strong-scaling curve)."""
        return len({pt.workers for pt in self.points}) > 1

    @property
    def by_workers(self) -> dict[int, list[list[float]]]:
        """Worker count -> raw fit times (the last point recorded at a count)."""
        return {pt.workers: pt.times for pt in self.points}

    @cached_property
    def scaling(self) -> tuple[str, ScalingFit] | None:
        """``(model, fit)``: the scaling model its worker counts support, fitted once for
        its table and its figure (the USL from 4 counts, Amdahl from 3); None with
        fewer."""
        from dmlbench.reports.scaling_models import MIN_COUNTS, fit_scaling

        by_workers = self.by_workers
        model = next((m for m in ("usl", "amdahl") if len(by_workers) >= MIN_COUNTS[m]), None)
        return None if model is None else (model, fit_scaling(by_workers, model))


class SizeCurve:
    """One implementation on one engine at one worker count and one n_features, over the
    data sizes it ran at: its ``ok`` records, fewest rows first."""

    def __init__(self, records: list[Record]) -> None:
        first = records[0]
        self.engine: str = engine_name(first["case"])
        self.impl: str = first["case"]["impl"]
        self.workers: int = _c(first, "n_workers")
        self.n_features: int = first["case"]["n_features"]
        self.records: list[Record] = sorted(records, key=lambda r: _c(r, "n_samples"))

    @property
    def label(self) -> str:
        return series_label(self.records[0])

    @property
    def sizes(self) -> list[int]:
        return [_c(r, "n_samples") for r in self.records]

    @property
    def times(self) -> list[list[list[float]]]:
        """Each size's raw fit times (launches of fits)."""
        return [fit_times(r) for r in self.records]


class Workload:
    """Every case of one workload (what was solved, whatever the engine), and its ok
    cases as series and size curves."""

    def __init__(self, key: WorkloadKey, cases: list[Record]) -> None:
        self.key = key
        self.label = workload_label(key)
        self.cases = cases  # in the results' order
        self.ok = [r for r in cases if r["outcome"] == "ok"]
        #: The cases that gave no verified answer (drawn and listed, never dropped).
        self.problems = [r for r in cases if r["outcome"] in PROBLEMS]
        #: Whether its ok cases were swept over n_features (then labels name ``d=``).
        self.several_features = len({_c(r, "n_features") for r in self.ok}) > 1

    @cached_property
    def series(self) -> list[Series]:
        """Its series, in the order their first record was recorded."""
        return [Series(rs) for rs in _in_order(self.ok, _series_key).values()]

    @cached_property
    def curves(self) -> list[SizeCurve]:
        """Its size curves, in the order their first record was recorded."""
        return [SizeCurve(rs) for rs in _in_order(self.ok, _curve_key).values()]

    @cached_property
    def _points(self) -> dict[int, Point]:
        return {id(pt.record): pt for s in self.series for pt in s.points}

    def point(self, record: Record) -> Point:
        """The point of one of its ok records."""
        return self._points[id(record)]


class SeriesView:
    """The records of one report as workloads, series and size curves (see the module)."""

    def __init__(self, results: Results) -> None:
        self.results = results
        by_key = _in_order(results.cases, workload_key)
        self.workloads = [Workload(k, by_key[k]) for k in sorted(by_key)]
        self._by_key = {w.key: w for w in self.workloads}

    def workload(self, record: Record) -> Workload:
        """The workload a record belongs to."""
        return self._by_key[workload_key(record)]

    def point(self, record: Record) -> Point:
        """An ok record's point in its series (its median, speedup, efficiency)."""
        return self.workload(record).point(record)


def table_order(series: list[Series]) -> list[Series]:
    """Series in the order the report's tables list them: by the text of their key (as
    :func:`grouped` orders groups)."""
    return sorted(series, key=lambda s: str(s.key))


def _in_order(records: Iterable[Record], key: Callable[[Record], K]) -> dict[K, list[Record]]:
    """``records`` grouped by ``key``, groups in the order their first record came."""
    groups: dict[K, list[Record]] = {}
    for r in records:
        groups.setdefault(key(r), []).append(r)
    return groups


def _series_key(r: Record) -> tuple[str, str, int, int]:
    c = r["case"]
    return (engine_name(c), c["impl"], c["n_samples"], c["n_features"])


def _curve_key(r: Record) -> tuple[str, str, int, int]:
    c = r["case"]
    return (engine_name(c), c["impl"], _c(r, "n_workers"), c["n_features"])
