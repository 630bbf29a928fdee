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
from dmlbench.reports.records import PROBLEMS
from dmlbench.reports.results import (
    Results,
    display_label,
    fit_times,
    is_single_core_baseline,
    workload_key,
    workload_label,
)
from dmlbench.reports.results import case_value as _c  # n_workers: what really ran
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
        return line


def answers(results: Results) -> list[Answer]:
    """One :class:`Answer` per workload, in the report's workload order."""
    by_workload: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for r in results.cases:
        by_workload[workload_key(r)].append(r)
    return [_answer(wkey, records) for wkey, records in sorted(by_workload.items())]


def _answer(wkey, records: list[dict[str, Any]]) -> Answer:
    checked = [r for r in records if r.get("quality")]
    answer = Answer(
        workload_label(wkey),
        checked=len(checked),
        passed=sum(1 for r in checked if r["quality"].get("ok")),
        problems=[_why(r) for r in sorted(records, key=_where) if r["outcome"] in PROBLEMS],
        skipped=_skipped([r for r in sorted(records, key=_where) if r["outcome"] == "skipped"]),
    )
    ok = [r for r in records if r["outcome"] == "ok"]
    if ok:
        answer.table = _table(answer.title, ok)
    return answer


def _where(r: dict[str, Any]) -> tuple:
    return (_c(r, "n_samples"), _c(r, "n_workers"), _label(r))


def _why(r: dict[str, Any]) -> str:
    """``"ray, 2 workers, 80,000 rows: timeout (over the 300 s timeout)"``."""
    reason = (r.get("reason") or "").strip().splitlines()
    text = f"{_label(r)}, {_workers(_c(r, 'n_workers'))}, {_c(r, 'n_samples'):,} rows: "
    text += r["outcome"]
    return text + (f" ({reason[0][:160]})" if reason else "")


def _skipped(records: list[dict[str, Any]]) -> list[str]:
    """Skipped cases, one line per implementation and reason (an engine without a native
    library is skipped at every size and worker count: said once)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
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


def _label(r: dict[str, Any]) -> str:
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


def _table(title: str, ok: list[dict[str, Any]]) -> Table:
    workers = sorted({_c(r, "n_workers") for r in ok})
    several = len({_c(r, "n_features") for r in ok}) > 1  # then a row per (rows, features)
    columns = ["n_samples", *(["n_features"] if several else []),
               *(f"fastest, {_workers(p)}" for p in workers),
               "best speedup", "its efficiency", "COST", "written-once / native"]  # fmt: skip
    table = Table(f"The answer: {title}", columns)
    by_size: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for r in ok:
        by_size[(_c(r, "n_samples"), _c(r, "n_features"))].append(r)
    for (n, d), rs in sorted(by_size.items()):
        row: list[Any] = [n, *([d] if several else [])]
        row += [_fastest([r for r in rs if _c(r, "n_workers") == p]) for p in workers]
        row += _best_speedup(rs)
        row += [_cost(rs), _vs_native(rs)]
        table.rows.append(row)
    # Columns nothing filled (no scikit-learn run, no native, one worker count) go.
    keep = [i for i, _ in enumerate(columns) if any(row[i] not in (None, "") for row in table.rows)]
    table.columns = [columns[i] for i in keep]
    table.rows = [[row[i] for i in keep] for row in table.rows]
    return table


def _fastest(rs: list[dict[str, Any]]) -> str | None:
    """The fastest implementation among ``rs`` (one size, one worker count) with its median
    interval, and the ones tied with it."""
    if not rs:
        return None
    timed = sorted(((stats.median_interval(fit_times(r)), _label(r)) for r in rs),
                   key=lambda x: float(x[0]))  # fmt: skip
    best, name = timed[0]
    if len(timed) > 1 and (best.n < 2 or any(iv.n < 2 for iv, _ in timed[1:])):
        # One fit has no interval: a lead it shows may be noise, so no winner is named.
        return f"{name} {_seconds(best)} (1 fit: no interval, no winner called)"
    ties = [label for iv, label in timed[1:] if iv.overlaps(best)]
    text = f"{name} {_seconds(best)}"
    return text + (f"; tie: {', '.join(ties)}" if ties else "")


def _series(rs: list[dict[str, Any]]) -> dict[str, dict[int, dict[str, Any]]]:
    """label -> workers -> record, for one size."""
    out: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    for r in rs:
        out[_label(r)][_c(r, "n_workers")] = r
    return out


def _best_speedup(rs: list[dict[str, Any]]) -> list[str | None]:
    """``[speedup text, efficiency text]`` of the series that sped up most from the size's
    fewest workers to its own most (series that start above that count are not compared:
    their speedup has another base)."""
    best = None
    fewest = min(_c(r, "n_workers") for r in rs)
    for label, by_p in _series(rs).items():
        if len(by_p) < 2 or min(by_p) != fewest:
            continue
        p0, p1 = min(by_p), max(by_p)
        t0, t1 = fit_times(by_p[p0]), fit_times(by_p[p1])
        s = stats.speedup_interval(t0, t1)
        if best is None or float(s) > float(best[1]):
            e = stats.efficiency_interval(t0, t1, p1, base_workers=p0)
            best = (label, s, e, p0, p1)
    if best is None:
        return [None, None]
    label, s, e, p0, p1 = best
    # Above 1 beyond its interval is more than the added workers can give: usually the
    # fewest workers' time was slowed (a busy machine, a cold cache), not a real gain.
    odd = " (super-linear: check the fewest workers' fits)" if e.low > 1 else ""
    return [f"{label}: {_text(s, '.3g', '×')}, {p1} vs {p0} workers", _text(e, ".2f") + odd]


def _cost(rs: list[dict[str, Any]]) -> str | None:
    """COST of each series against scikit-learn at this size: those that reached it, then
    how many did not within the workers measured."""
    baseline = next((fit_times(r) for r in rs if is_single_core_baseline(r)), None)
    if baseline is None:
        return None
    reached, not_reached, largest = [], 0, 1
    for label, by_p in sorted(_series(rs).items()):
        if label.startswith("scikit-learn"):
            continue
        cost = stats.cost_range({p: fit_times(r) for p, r in by_p.items()}, baseline)
        if cost.value is None and cost.low is None:
            not_reached += 1
            largest = max(largest, cost.largest)
        else:
            reached.append(f"{label} {cost.format()}")
    if not_reached:
        others = "the others" if reached else f"all {not_reached}"
        reached.append(f"{others}: not reached within {_workers(largest)}")
    return "; ".join(reached) or None


def _vs_native(rs: list[dict[str, Any]]) -> str | None:
    """Per series of ours with a native beside it: ours over the engine's own library at
    the largest worker count both ran."""
    # A native library runs on the engine whatever pattern ours used: keyed by the plain
    # backend, so "dask:tasks" and "dask" both compare with dask-ml.
    natives = {
        (r["case"]["backend"], _c(r, "n_workers")): r
        for r in rs
        if r["case"]["impl"] == "native" and not is_single_core_baseline(r)
    }
    ours = [r for r in rs if r["case"]["impl"] == "dmlbench"]
    parts = []
    for label, by_p in sorted(_series(ours).items()):
        shared = [p for p, r in by_p.items() if (r["case"]["backend"], p) in natives]
        if not shared:
            continue
        p = max(shared)
        native = natives[(by_p[p]["case"]["backend"], p)]
        ratio = stats.ratio_interval(fit_times(by_p[p]), fit_times(native))
        parts.append(f"{label}: {_text(ratio, '.2g', '×')} {verdict(ratio)} ({_workers(p)})")
    return "; ".join(parts) or None
