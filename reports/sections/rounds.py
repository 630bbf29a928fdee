"""Where an iteration goes: each of ours' iterations split into the workers' compute, the
wait for the slowest worker, dmlbench's own protocol work, the engine's cost and the
driver's, beside a cost model that checks itself."""

from __future__ import annotations

from typing import Any

from dmlbench.reports.figures import Figure, Segment, stacked
from dmlbench.reports.records import Record, RoundSplit, SplitTerm
from dmlbench.reports.results import Results, series_label
from dmlbench.reports.results import case_value as _c  # n_workers: what really ran
from dmlbench.reports.sections import Section
from dmlbench.reports.series import Point, table_order
from dmlbench.reports.tables import Table

#: The per-iteration split's terms as the report names them (``backends.rounds.TERMS``).
ROUND_TERMS: tuple[tuple[str, SplitTerm], ...] = (
    ("compute", "compute_s"),
    ("imbalance", "imbalance_s"),
    ("dmlbench", "protocol_s"),
    ("engine", "engine_s"),
    ("driver", "driver_s"),
    ("unsplit", "unsplit_s"),
)
#: ROUND_TERMS' colours, in order.
ROUND_COLORS = ("#0072B2", "#E69F00", "#F0E442", "#D55E00", "#999999", "#CC79A7")

COLUMNS = ["backend", "n_samples", "workers", "measured (ms/iter)",
           *[f"{name} (ms)" for name, _ in ROUND_TERMS], "compute on CPU (ms)",
           "straggler (max/mean)", "rounds/iter", "predicted (ms/iter)", "error",
           "compute x p / 1-worker"]  # fmt: skip
NOTE = (
    "Per iteration, the median over timed fits of each term (so the terms sum "
    "to about the measured time): compute = the mean worker's time on its blocks; "
    "imbalance = max - mean worker; dmlbench = our own protocol's work around each "
    "call, on the driver and on the slowest worker's path (empty in records from before "
    "it was measured, where it is inside engine and driver); engine = each round's wall - the "
    "slowest worker's compute and own work; driver = the fit's time outside rounds "
    "(optimiser, combine); unsplit "
    "= rounds whose workers do not time themselves (tasks-pattern maps); compute "
    "on CPU = the thread CPU time of the compute (below it: the worker waited). "
    "predicted = 1-worker compute / p x straggler + dmlbench + engine + driver + "
    "unsplit, "
    "at p; error = predicted / measured - 1."
)


def tables(results: Results) -> list[Table]:
    """Where an iteration's time goes, per workload: compute, imbalance, protocol, engine, driver.

    From each record's ``round_split`` (medians over the timed fits of each term per
    iteration). Beside it, a cost model that checks itself: predicted per-iteration time
    = the series' 1-worker compute / p x the straggler measured at p + the engine and
    driver terms measured at p. It differs from the measured time exactly where the
    workers' compute did not shrink as 1/p (``compute x p / 1-worker``: 1 is perfect;
    above 1, each worker computes slower beside the others, as on shared memory
    bandwidth), so that column names the missing term. The engine and driver terms are
    the ones measured at p: the model tests whether compute divides by p, nothing else.
    """
    out = []
    for w in results.view.workloads:
        table = Table(f"Where an iteration goes: {w.label}", list(COLUMNS), note=NOTE)
        for s in table_order(w.series):
            split = [pt for pt in s.points if pt.record.get("round_split")]
            one = next((pt for pt in split if pt.workers == 1), None)
            table.rows += [_row(pt, one) for pt in split]
        if table.rows:
            out.append(table)
    return out


def _row(pt: Point, one: Point | None) -> list[Any]:
    """One point's split, and the cost model's prediction from the 1-worker compute."""
    sp, p = _split(pt.record), pt.workers
    measured = pt.record.get("per_iteration_s")
    predicted = inflation = error = None
    if one is not None:
        c1 = _split(one.record)["compute_s"]
        straggler = sp["straggler"] or 1.0
        rest = sp.get("protocol_s", 0.0) + sp["engine_s"] + sp["driver_s"] + sp["unsplit_s"]
        predicted = c1 / p * straggler + rest
        inflation = sp["compute_s"] * p / c1 if c1 > 0 else None
        error = predicted / measured - 1 if measured else None
    return [pt.series.engine, _c(pt.record, "n_samples"), p, _ms(measured),
            *[_ms(sp.get(k)) for _, k in ROUND_TERMS], _ms(sp.get("compute_cpu_s")),
            sp["straggler"], sp["rounds_per_iter"], _ms(predicted), error,
            inflation]  # fmt: skip


def _split(r: Record) -> RoundSplit:
    """A record's typical iteration (``round_split``; only records that have one)."""
    split = r.get("round_split")
    if split is None:
        raise ValueError(f"{r['case_id']}: no round_split (expected only records with one)")
    return split


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1e3


def figures(results: Results) -> list[Figure]:
    """Per workload at its largest size: each series x workers, the typical iteration as
    stacked compute, imbalance, protocol, engine, driver (and unsplit) milliseconds."""

    def term(key: SplitTerm) -> Any:
        # A term can come out a hair below zero (clocks read in two processes): drawn as
        # none here; the table shows it as measured.
        return lambda r: max(_split(r).get(key) or 0.0, 0.0) * 1e3

    segments: list[Segment] = [(name, shade, term(key)) for (name, key), shade in
                               zip(ROUND_TERMS, ROUND_COLORS, strict=True)]  # fmt: skip
    return stacked(
        results,
        lambda r: r.get("round_split"),
        segments,
        lambda r: (_c(r, "backend"), series_label(r), _c(r, "n_workers")),
        ("milliseconds per iteration (median over timed fits)", "rounds",
         "Where an iteration goes"),
    )  # fmt: skip


SECTION = Section(
    "Where an iteration goes",
    tables,
    "Each of ours' iterations split, round by round, into the workers' compute, "
    "the wait for the slowest worker, dmlbench's own protocol work, the engine's own "
    "cost and the driver's; "
    "beside it a cost model from 1-worker compute, checked against the measured "
    "time (the last column names what it misses).",
    figures,
    caption="A typical iteration split: the workers' compute, the wait for the slowest, "
    "dmlbench's own protocol work, the engine's own cost and the driver's. Long "
    "non-compute segments are overhead "
    "more workers will not remove.",
)
