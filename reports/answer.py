"""The report's first screen: per workload, the answer to "which is fastest here, how does
it scale, and is its answer right?".

For each workload, one :class:`Answer`: how many answers were checked and passed (and
every case that gave none, with its reason), and one table with a row per data size: the
fastest implementation at each worker count (a tie where the intervals of the median fit
overlap), the best speedup with its efficiency, COST against scikit-learn on one core, and
written-once against each engine's own library. Every figure carries its 95 % interval.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from dmlbench.reports import stats
from dmlbench.reports.records import PROBLEMS, Record
from dmlbench.reports.results import (
    Results,
    display_label,
    fit_times,
    is_single_core_baseline,
    ratio_of,
)
from dmlbench.reports.results import case_value as _c  # n_workers: what really ran
from dmlbench.reports.series import Point, Series, SeriesView, Workload
from dmlbench.reports.tables import Table, verdict

#: What the answer tables' figures are (shown once, under them).
LEGEND = (
    "Times: median fit [95 % interval] of the timed fits (after one cold fit), every fit's "
    "answer checked; fewer than 6 fits cannot give 95 %, and the coverage they give is "
    "printed beside the interval. A tie lists each implementation whose interval overlaps "
    "the fastest's; with one fit no winner is called. "
    "Speedup and efficiency: a series' most workers against the size's fewest. COST: the "
    "fewest "
    "workers that beat scikit-learn on one core. Written-once / native: dmlbench's time over "
    "the engine's own library's at the most workers both ran (below 1: dmlbench is faster). "
    "Figures, then the details and every case's check, follow."
)


@dataclass
class Answer:
    """One workload's first-screen summary."""

    title: str
    checked: int  # cases whose answer was checked (ok and wrong-answer)
    passed: int
    problems: list[str] = field(default_factory=list)  # one line per case without an answer
    skipped: list[str] = field(default_factory=list)
    table: Table | None = None
    coverage: str = ""  # what each interval covers: launches and timed fits a case

    @property
    def all_good(self) -> bool:
        return not self.problems and self.checked > 0 and self.checked == self.passed

    @property
    def check_line(self) -> str:
        """``"12 answers checked, 12 pass"``, with what did not."""
        plural = "" if self.checked == 1 else "s"
        line = f"{self.checked} answer{plural} checked, {self.passed} pass"
        if self.problems:
            line += f"; {len(self.problems)} without a verified answer"
        if self.skipped:
            line += f"; {len(self.skipped)} skipped"
        return line + (f". {self.coverage}" if self.coverage else "")


def answers(results: Results) -> list[Answer]:
    """One :class:`Answer` per workload, in the report's workload order."""
    return [_answer(results.view, w) for w in results.view.workloads]


def _answer(view: SeriesView, w: Workload) -> Answer:
    checked = [r for r in w.cases if r.get("quality")]
    answer = Answer(
        w.label,
        checked=len(checked),
        passed=sum(1 for r in checked if r["quality"].get("ok")),
        problems=[_why(r) for r in sorted(w.cases, key=_where) if r["outcome"] in PROBLEMS],
        skipped=_skipped([r for r in sorted(w.cases, key=_where) if r["outcome"] == "skipped"]),
    )
    if w.ok:
        answer.table = _table(answer.title, view, w)
        answer.coverage = _coverage(w.ok)
    return answer


def _coverage(records: list[Record]) -> str:
    """``"Each interval covers 3 launches (interleaved in time, engines started anew each
    round) of 3-4 timed fits each"``: what the run-to-run drift in the intervals is
    measured over."""
    launches = sorted({len(fit_times(r)) for r in records})
    fits = sorted({len(f) for r in records for f in fit_times(r)})
    span = lambda xs: str(xs[0]) if len(xs) == 1 else f"{xs[0]}-{xs[-1]}"  # noqa: E731
    each = f"{span(fits)} timed fit" + ("" if fits == [1] else "s")
    if launches == [1]:
        return f"Each interval covers one launch of {each}"
    return (
        f"Each interval covers {span(launches)} launches (interleaved in time, engines "
        "started anew each round) "
        f"of {each} each"
    )


def _where(r: Record) -> tuple:
    return (_c(r, "n_samples"), _c(r, "n_workers"), _label(r))


def _why(r: Record) -> str:
    """``"ray, 2 workers, 80,000 rows: timeout (over the 300 s timeout)"``."""
    reason = (r.get("reason") or "").strip().splitlines()
    text = f"{_label(r)}, {_workers(_c(r, 'n_workers'))}, {_c(r, 'n_samples'):,} rows: "
    text += r["outcome"]
    return text + (f" ({reason[0][:160]})" if reason else "")


def _skipped(records: list[Record]) -> list[str]:
    """Skipped cases, one line per implementation and reason (an engine without a native
    library is skipped at every size and worker count: said once)."""
    groups: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for r in records:
        groups[(_label(r), (r.get("reason") or "").strip())].append(r)
    lines = []
    for rs in groups.values():
        if len(rs) == 1:
            lines.append(_why(rs[0]))
            continue
        workers = sorted({_c(r, "n_workers") for r in rs})
        sizes = sorted({_c(r, "n_samples") for r in rs})
        span = _workers(workers[0]) if len(workers) == 1 else f"{workers[0]}-{workers[-1]} workers"
        rows = f"{sizes[0]:,}" + (f"-{sizes[-1]:,}" if len(sizes) > 1 else "")
        lines.append(_why(rs[0]).replace(
            f"{_workers(_c(rs[0], 'n_workers'))}, {_c(rs[0], 'n_samples'):,} rows",
            f"{len(rs)} cases ({span}, {rows} rows)", 1))  # fmt: skip
    return lines


def _label(r: Record) -> str:
    """How an implementation is named on the first screen."""
    return display_label(r)


def _workers(p: int) -> str:
    return f"{p} worker" + ("" if p == 1 else "s")


def _text(iv: stats.Interval, spec: str = ".3g", suffix: str = "") -> str:
    """``1.84× [1.71, 1.97]``, with the coverage when few fits cannot give 95 %
    (``(75 %)`` for 3); the value alone when there is no spread to show (one fit)."""
    if iv.low == iv.high:
        return f"{float(iv):{spec}}{suffix}"
    text = iv.format(spec, suffix)
    return text if iv.level >= stats.LEVEL else f"{text} ({iv.level:.0%})"


def _seconds(iv: stats.Interval) -> str:
    return _text(iv) + " s"


def _table(title: str, view: SeriesView, w: Workload) -> Table:
    workers = sorted({_c(r, "n_workers") for r in w.ok})
    several = w.several_features  # then a row per (rows, features)
    columns = ["n_samples", *(["n_features"] if several else []),
               *(f"fastest, {_workers(p)}" for p in workers),
               "best speedup", "its efficiency", "COST", "written-once / native"]  # fmt: skip
    table = Table(f"The answer: {title}", columns)
    by_size: dict[tuple[int, int], list[Record]] = defaultdict(list)
    for r in w.ok:
        by_size[(_c(r, "n_samples"), _c(r, "n_features"))].append(r)
    for (n, d), rs in sorted(by_size.items()):
        series = [s for s in w.series if (s.n_samples, s.n_features) == (n, d)]
        row: list[Any] = [n, *([d] if several else [])]
        row += [_fastest(view, [r for r in rs if _c(r, "n_workers") == p]) for p in workers]
        row += _best_speedup(series)
        row += [_cost(rs, series), _vs_native(series)]
        table.rows.append(row)
    # Columns nothing filled (no scikit-learn run, no native, one worker count) go.
    keep = [i for i, _ in enumerate(columns) if any(row[i] not in (None, "") for row in table.rows)]
    table.columns = [columns[i] for i in keep]
    table.rows = [[row[i] for i in keep] for row in table.rows]
    return table


def _fastest(view: SeriesView, rs: list[Record]) -> str | None:
    """The fastest implementation among ``rs`` (one size, one worker count) with its median
    interval, and the ones tied with it."""
    if not rs:
        return None
    timed = sorted(((view.point(r).median, _label(r)) for r in rs),
                   key=lambda x: float(x[0]))  # fmt: skip
    best, name = timed[0]
    if len(timed) > 1 and (best.n < 2 or any(iv.n < 2 for iv, _ in timed[1:])):
        # One fit has no interval: a lead it shows may be noise, so no winner is named.
        return f"{name} {_seconds(best)} (1 fit: no interval, no winner called)"
    ties = [label for iv, label in timed[1:] if iv.overlaps(best)]
    text = f"{name} {_seconds(best)}"
    return text + (f"; tie: {', '.join(ties)}" if ties else "")


def _best_speedup(series: list[Series]) -> list[str | None]:
    """``[speedup text, efficiency text]`` of the series (of one size) that sped up most
    from the size's fewest workers to its own most (series that start above that count
    are not compared: their speedup has another base)."""
    best: Point | None = None
    fewest = min(s.base.workers for s in series)
    for s in series:
        if not s.scales or s.base.workers != fewest:
            continue
        last = s.points[-1]
        if best is None or float(last.speedup) > float(best.speedup):
            best = last
    if best is None:
        return [None, None]
    speedup, e = best.speedup, best.efficiency
    p0, p1 = best.series.base.workers, best.workers
    # Above 1 beyond its interval is more than the added workers can give: usually the
    # fewest workers' time was slowed (a busy machine, a cold cache), not a real gain.
    odd = " (super-linear: check the fewest workers' fits)" if e.low > 1 else ""
    return [
        f"{best.series.display}: {_text(speedup, '.3g', '×')}, {p1} vs {p0} workers",
        _text(e, ".2f") + odd,
    ]


def _cost(rs: list[Record], series: list[Series]) -> str | None:
    """COST of each series against scikit-learn at this size: those that reached it, then
    how many did not within the workers measured."""
    baseline = next((fit_times(r) for r in rs if is_single_core_baseline(r)), None)
    if baseline is None:
        return None
    reached, not_reached, largest = [], 0, 1
    for s in sorted(series, key=lambda s: s.display):
        if s.display.startswith("scikit-learn"):
            continue
        cost = stats.cost_range(s.by_workers, baseline)
        if cost.value is None and cost.low is None:
            not_reached += 1
            largest = max(largest, cost.largest)
        else:
            reached.append(f"{s.display} {cost.format()}")
    if not_reached:
        others = "the others" if reached else f"all {not_reached}"
        reached.append(f"{others}: not reached within {_workers(largest)}")
    return "; ".join(reached) or None


def _vs_native(series: list[Series]) -> str | None:
    """Per series of ours with a native beside it: ours over the engine's own library at
    the largest worker count both ran."""
    # A native library runs on the engine whatever pattern ours used: keyed by the plain
    # backend, so "dask:tasks" and "dask" both compare with dask-ml.
    natives = {
        (pt.record["case"]["backend"], pt.workers): pt
        for s in series
        if s.impl == "native"
        for pt in s.points
        if not is_single_core_baseline(pt.record)
    }
    parts = []
    for s in sorted((s for s in series if s.impl == "dmlbench"), key=lambda s: s.display):
        by_p = {pt.workers: pt for pt in s.points}
        shared = [p for p, pt in by_p.items() if (pt.record["case"]["backend"], p) in natives]
        if not shared:
            continue
        p = max(shared)
        native = natives[(by_p[p].record["case"]["backend"], p)]
        ratio = ratio_of(by_p[p].record, native.record)
        parts.append(f"{s.display}: {_text(ratio, '.2g', '×')} {verdict(ratio)} ({_workers(p)})")
    return "; ".join(parts) or None
