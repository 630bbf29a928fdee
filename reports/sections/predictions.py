"""Predicted scaling: fit time and speedup past the measured worker counts, each labelled
with the model it comes from."""

from __future__ import annotations

from collections import defaultdict
from functools import partial
from typing import Any

from dmlbench.reports import stats
from dmlbench.reports.records import Record, engine_name
from dmlbench.reports.results import Results
from dmlbench.reports.scaling_models import PREDICT_AT, Components
from dmlbench.reports.sections import Section
from dmlbench.reports.series import Series, table_order
from dmlbench.reports.tables import Table

COLUMNS = ["backend", "impl", "n_samples", "workers", "model", "predicted fit (s)",
           "predicted speedup", "model parameters"]  # fmt: skip
NOTE = (
    "PREDICTIONS, not measurements, with 95 % bootstrap intervals. usl: the "
    "Universal Scalability Law fitted to >= 4 measured worker counts; amdahl: "
    "Amdahl's law, to 3. components, per iteration: the 1-worker fit's driver time "
    "+ its worker compute (its time less the driver's and its rounds at the "
    "overhead measured at 1 worker) times the slowest worker's share at p (whole "
    "blocks per worker, times the straggler max/mean measured at the widest count "
    "beyond what block counts explain) + its rounds at the overhead `dmlbench "
    "overhead` measured at p (above the cores: oversubscribed); times the "
    "iterations. It assumes the driver's time and the straggler stay as measured, "
    "and its interval carries the noise of the 1-worker fits only (the overhead's "
    "is left out); 'components (check)' rows set it beside a measured count (whose "
    "straggler it used)."
)


def tables(results: Results) -> list[Table]:
    """Predicted fit time and speedup past the measured worker counts, per series.

    With at least three measured worker counts: the Universal Scalability Law fitted to
    the series (σ, κ, λ with bootstrap intervals; the peak ``N*``). With fewer (a 2-core
    machine measures 1 and 2): a component model from measured parts instead, never a
    curve through two points: per iteration, the measured 1-worker time minus one round
    of the engine's measured overhead is compute, divided evenly among ``p`` workers, plus
    the round overhead ``dmlbench overhead`` measured at ``p`` workers (oversubscribed
    above the cores), one round per iteration. Every row is a prediction, labelled with
    its model.
    """
    out = []
    rounds = _round_overheads(results)
    for w in results.view.workloads:
        table = Table(f"Predicted scaling: {w.label}", list(COLUMNS), note=NOTE)
        for s in table_order(w.series):
            table.rows += _model_rows(s) if s.scaling is not None else _component_rows(s, rounds)
        if table.rows:
            out.append(table)
    return out


def _model_rows(s: Series) -> list[list[Any]]:
    """The USL's or Amdahl's predictions past a series' most workers, with its
    parameters (and the peak ``N*`` when κ's interval is clear of 0)."""
    assert s.scaling is not None
    model, fit = s.scaling
    params = ", ".join(
        f"{k} {v:.3g} [{fit.intervals[k][0]:.3g}, {fit.intervals[k][1]:.3g}]"
        for k, v in fit.params.items()
    ) + (
        f"; peak N* = {fit.peak:.1f}"
        if fit.peak is not None and fit.intervals.get("kappa", (0.0,))[0] > 0
        else "; no peak (kappa's interval reaches 0)"
    )
    rows = []
    for w in (w for w in PREDICT_AT if w > max(s.by_workers)):
        pr = fit.predict(w)
        rows.append([
            s.engine, s.impl, s.n_samples, w, model,
            stats.Interval(pr["time"], pr["time_low"], pr["time_high"], 0),
            stats.Interval(pr["speedup"], pr["speedup_low"], pr["speedup_high"], 0),
            params,
        ])  # fmt: skip
    return rows


def _component_rows(s: Series, rounds: dict[str, dict[int, float]]) -> list[list[Any]]:
    """The component model's predictions for one of ours' series measured at too few
    worker counts for a fit: first beside every measured count above 1 (a model that
    misses there predicts nothing further), then past the most workers measured."""
    one = next((pt for pt in s.points if pt.workers == 1 and pt.record.get("n_iter")), None)
    if one is None or s.impl != "dmlbench":
        return []
    overheads = _overheads_of(rounds, one.record)
    if 1 not in overheads:
        return []
    by_workers = s.by_workers
    wide = max(s.points, key=lambda pt: pt.workers)
    split = wide.record.get("round_split")
    parts = Components.measured(
        one.record.get("n_iter") or 0,  # not 0: chosen for its iterations
        overheads,
        one.record.get("round_split"),
        (wide.workers, split) if wide.workers > 1 and split else None,
        len(one.record.get("block_hosts") or ()),
    )
    t1 = one.times
    if parts.compute(stats.median_of(t1)) <= 0:
        return []  # no compute left beside the rounds and the driver: nothing to divide
    rows = []
    for w in sorted(w for w in by_workers if w > 1 and w in overheads):
        predicted = parts.time(stats.median_of(t1), w)
        measured = stats.median_of(by_workers[w])
        rows.append([
            s.engine, s.impl, s.n_samples, w, "components (check)", predicted, None,
            f"measured {measured:.3g} s: the model is off by {predicted / measured - 1:+.0%}",
        ])  # fmt: skip
    for w in sorted(w for w in overheads if w > max(by_workers)):
        time_w = stats.figure_interval(partial(parts.time, p=w), t1)
        speedup = stats.figure_interval(partial(parts.speedup, p=w), t1)
        rows.append([s.engine, s.impl, s.n_samples, w, "components", time_w, speedup,
                     parts.describe(w)])  # fmt: skip
    return rows


def _round_overheads(results: Results) -> dict[str, dict[int, float]]:
    """engine name (``dask:tasks``) -> workers -> median round (s), from overhead files."""
    out: dict[str, dict[int, float]] = defaultdict(dict)
    for r in results.overhead:
        if "round" in r and r.get("n_workers"):
            name = engine_name({"backend": r["backend"], "pattern": r.get("pattern")})
            out[name][int(r["n_workers"])] = r["round"]["median_s"]
    return dict(out)


def _overheads_of(rounds: dict[str, dict[int, float]], record: Record) -> dict[int, float]:
    """The round overheads measured for the engine ``record`` ran on: its pattern's when
    the case names one; else, in order, a measurement naming no pattern, the pattern its
    backend recorded running (its default: ``"dask"`` ran ``"dask:resident"``), the
    backend's only measured pattern; none rather than a guess among several."""
    engine = engine_name(record["case"])
    if ":" in engine:
        return rounds.get(engine, {})
    info = record.get("backend_info")
    ran = None if info is None else info.get("pattern")
    for name in (engine, f"{engine}:{ran}"):
        if name in rounds:
            return rounds[name]
    same = [v for k, v in rounds.items() if k.split(":")[0] == engine]
    return same[0] if len(same) == 1 else {}


SECTION = Section(
    "Predicted scaling",
    tables,
    "Past the measured worker counts: predictions, with the model each comes "
    "from and its assumptions (see the table's note).",
)
