"""Results as pandas DataFrames: one row per case (:func:`cases_frame`, also
``summary.csv``) and one row per timed fit (:func:`fits_frame`), for notebooks.

    >>> from dmlbench.reports import load_results, load_fits
    >>> df = load_results("results/quick")          # doctest: +SKIP
    >>> df.groupby(["algorithm", "backend", "n_workers"]).fit_median_s.min()  # doctest: +SKIP

The columns are documented in :data:`CASE_COLUMNS` and :data:`FIT_COLUMNS` (the README
lists them too); a column a record has no value for is empty (NaN / None), never left
out, so code written against one run works on another.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dmlbench.reports.results import Results, fit_times, load
from dmlbench.reports.results import case_value as _c  # n_workers: what really ran

if TYPE_CHECKING:
    import pandas as pd

#: One row per case: column -> what it holds (times in seconds).
CASE_COLUMNS: dict[str, str] = {
    "case_id": "the case's id (algorithm/dataset/impl/backend/workers/size/features/params)",
    "suite": "the suite it was run from",
    "algorithm": "what was fitted (kmeans, linear_regression, ...)",
    "dataset": "the generator of its data",
    "params": "the estimator's parameters, as sorted JSON",
    "impl": "dmlbench (written once) or native (the engine's own library; scikit-learn for local)",
    "backend": "the engine, with its pattern when it has one (dask:tasks)",
    "n_workers": "the workers the case really ran on (the engine's own count)",
    "n_samples": "rows of training data",
    "n_features": "columns of training data",
    "outcome": "ok, wrong-answer, timeout, failed or skipped",
    "reason": "why the outcome is not ok (empty when it is)",
    "fit_median_s": "median of the timed fits (the cold first fit is not among them)",
    "fit_min_s": "fastest timed fit",
    "fit_max_s": "slowest timed fit",
    "n_fits": "number of timed fits (all launches)",
    "n_launches": "engine launches the fits came from",
    "fit_cold_s": "the first, untimed-for-the-median fit",
    "generate_s": "generating the data (before the clock)",
    "prepare_s": "making the blocks resident on the workers (before the clock)",
    "n_iter": "iterations of a timed fit (their median)",
    "per_iteration_s": "fit median over its iterations",
    "metric": "the quality metric its answer was checked by",
    "value": "that metric of our answer",
    "reference": "the reference's value (scikit-learn or the local backend)",
    "quality_ok": "whether the answer passed its check",
    "speedup": "fit median of the series' fewest workers over this one's (same backend, "
    "impl, size)",
    "efficiency": "speedup per worker added (1 is perfect)",
    "peak_memory_mb": "the driver's peak resident memory",
    "finished_at": "when the case finished (pandas Timestamp, UTC)",
}

#: One row per timed fit (ok and wrong-answer cases: those that have timed fits).
FIT_COLUMNS: dict[str, str] = {
    "case_id": "the case (join with the cases frame)",
    "suite": "as in the cases frame",
    "algorithm": "as in the cases frame",
    "dataset": "as in the cases frame",
    "params": "as in the cases frame (workloads differ by it too)",
    "impl": "as in the cases frame",
    "backend": "as in the cases frame",
    "n_workers": "as in the cases frame",
    "n_samples": "as in the cases frame",
    "n_features": "as in the cases frame",
    "outcome": "ok or wrong-answer (a wrong answer's fits are timed too)",
    "launch": "which engine launch (0, 1, ...)",
    "fit": "the fit's place within its launch (0, 1, ...)",
    "fit_s": "its time in seconds",
}


def cases_frame(results: Results) -> pd.DataFrame:
    """One row per case of ``results``, columns :data:`CASE_COLUMNS`, in a stable order
    (workload, impl, backend, workers, size)."""
    import pandas as pd

    rows = []
    for r in results.cases:
        c, q, phases = r["case"], r.get("quality") or {}, r.get("phases") or {}
        low, high = r.get("fit_spread_s") or (None, None)
        timed = fit_times(r) if r.get("fit_median_s") is not None else []
        rows.append(
            {
                "case_id": r["case_id"],
                "suite": c.get("suite"),
                "algorithm": c["algorithm"],
                "dataset": c["dataset"],
                "params": json.dumps(c["params"], sort_keys=True),
                "impl": c["impl"],
                "backend": _c(r, "backend"),
                "n_workers": _c(r, "n_workers"),
                "n_samples": c["n_samples"],
                "n_features": c.get("n_features"),
                "outcome": r["outcome"],
                "reason": r.get("reason") or "",
                "fit_median_s": r.get("fit_median_s"),
                "fit_min_s": low,
                "fit_max_s": high,
                "n_fits": sum(len(x) for x in timed) or None,
                "n_launches": len(timed) or None,
                "fit_cold_s": phases.get("fit_cold_s"),
                "generate_s": phases.get("generate_s"),
                "prepare_s": phases.get("prepare_s"),
                "n_iter": r.get("n_iter"),
                "per_iteration_s": r.get("per_iteration_s"),
                "metric": q.get("metric"),
                "value": q.get("value"),
                "reference": q.get("reference"),
                "quality_ok": q.get("ok"),
                "peak_memory_mb": r.get("peak_memory_mb"),
                "finished_at": r.get("finished_at"),
            }
        )
    df = pd.DataFrame(rows, columns=[c for c in CASE_COLUMNS if c not in ("speedup", "efficiency")])
    df["finished_at"] = pd.to_datetime(df["finished_at"], unit="s", utc=True)
    for name in ("n_workers", "n_samples", "n_features", "n_fits", "n_launches", "n_iter"):
        df[name] = df[name].astype("Int64")  # integers, with room for "none"
    speedups, efficiencies = _scaling_columns(results)
    df["speedup"] = pd.Series(speedups, index=df.index, dtype="float64")
    df["efficiency"] = pd.Series(efficiencies, index=df.index, dtype="float64")
    order = ["algorithm", "dataset", "params", "impl", "backend", "n_workers", "n_samples"]
    return df.sort_values(order, kind="stable").reset_index(drop=True)[list(CASE_COLUMNS)]


def _scaling_columns(results: Results) -> tuple[list[float], list[float]]:
    """Per case (in ``results.cases``' order): speedup and efficiency of the recorded
    medians against its series' fewest workers, from the report's series view; NaN for
    that base row itself and for cases that are not ok."""
    speedups, efficiencies = [], []
    for r in results.cases:
        scaling = results.view.point(r).median_scaling if r["outcome"] == "ok" else None
        speedup, efficiency = scaling if scaling is not None else (math.nan, math.nan)
        speedups.append(speedup)
        efficiencies.append(efficiency)
    return speedups, efficiencies


def fits_frame(results: Results) -> pd.DataFrame:
    """One row per timed fit of every case that has them, columns :data:`FIT_COLUMNS`."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for r in results.cases:
        if r.get("fit_median_s") is None:
            continue
        c = r["case"]
        keys = {
            "case_id": r["case_id"], "suite": c.get("suite"), "algorithm": c["algorithm"],
            "dataset": c["dataset"], "params": json.dumps(c["params"], sort_keys=True),
            "impl": c["impl"], "backend": _c(r, "backend"), "n_workers": _c(r, "n_workers"),
            "n_samples": c["n_samples"], "n_features": c.get("n_features"),
            "outcome": r["outcome"],
        }  # fmt: skip
        for launch, fits in enumerate(fit_times(r)):
            rows += [{**keys, "launch": launch, "fit": k, "fit_s": t} for k, t in enumerate(fits)]
    return pd.DataFrame(rows, columns=list(FIT_COLUMNS))


def load_results(*paths: str | Path) -> pd.DataFrame:
    """The cases of results files or folders (``results.jsonl``) as a DataFrame, one row
    per case (:data:`CASE_COLUMNS`); a case recorded twice keeps its later record.

    Raises :class:`~dmlbench.reports.results.ReportError` naming the file for a missing
    or unreadable one.
    """
    return cases_frame(load([Path(p) for p in paths]))


def load_fits(*paths: str | Path) -> pd.DataFrame:
    """Every timed fit of those results as a long DataFrame (:data:`FIT_COLUMNS`)."""
    return fits_frame(load([Path(p) for p in paths]))
