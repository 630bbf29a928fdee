"""The report's tables, computed from case records (medians of the timed fits).

Each function returns :class:`Table` objects: a title, column names and rows of plain
values (numbers stay numbers; formatting is the renderer's job), so the tests can check
the numbers and both renderers show the same thing.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from dmlbench.reports import metrics, stats
from dmlbench.reports.records import PROBLEMS, engine_name
from dmlbench.reports.results import (
    Results,
    fit_times,
    is_single_core_baseline,
    series_label,
    workload_key,
    workload_label,
)
from dmlbench.reports.results import case_value as _c  # n_workers: what really ran


@dataclass
class Table:
    """A titled table: ``rows`` are lists aligned with ``columns``."""

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""


def _group(records, key) -> dict[Any, list[dict[str, Any]]]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[key(r)].append(r)
    return dict(sorted(groups.items(), key=lambda kv: str(kv[0])))


# -- environment and quality ------------------------------------------------------------
def environment(results: Results) -> list[Table]:
    """Machine and versions, and each backend's settings, as recorded."""
    envs = {json_key(r["environment"]): r["environment"] for r in results.cases}
    tables = []
    for i, env in enumerate(envs.values(), 1):
        rows = [
            ["python", env.get("python")],
            ["platform", env.get("platform")],
            ["cores", env.get("cores")],
            ["memory (GB)", env.get("memory_gb")],
            ["BLAS", ", ".join(env.get("blas") or [])],
            ["git commit", env.get("git_commit")],
            *_limit_rows(env.get("limits")),
            *[[name, version] for name, version in sorted((env.get("versions") or {}).items())],
        ]
        title = "Environment" if len(envs) == 1 else f"Environment {i} of {len(envs)}"
        tables.append(Table(title, ["item", "value"], rows))
    settings = Table("Backend settings", ["backend", "workers", "engine", "version", "settings"])
    seen = set()
    for r in results.cases:
        info = r.get("backend_info")
        if not info:
            continue
        key = (info["backend"], info.get("n_workers"), json_key(info.get("settings")))
        if key in seen:
            continue
        seen.add(key)
        settings.rows.append(
            [
                info["backend"],
                info.get("n_workers"),
                info.get("engine", ""),
                info.get("version", ""),
                ", ".join(f"{k}={v}" for k, v in sorted((info.get("settings") or {}).items())),
            ]
        )
    settings.rows.sort(key=lambda row: (row[0], row[1] or 0))
    return [*tables, settings]


def _bandwidth_for(limits: dict[str, Any], workers: int) -> float | None:
    """The triad bandwidth (GB/s) the machine gives ``workers`` processes streaming at
    once: the figure measured at the nearest count at or above ``workers`` (1 core, all
    cores), the all-core figure for more workers than cores; None if not measured."""
    triad = {int(k): v for k, v in (limits.get("triad_gbs") or {}).items()}
    if not triad:
        return None
    above = [n for n in triad if n >= workers]
    return triad[min(above)] if above else triad[max(triad)]


def _limit_rows(limits: dict[str, Any] | None) -> list[list[Any]]:
    """The machine's measured limits as environment rows (none if not measured)."""
    if not limits:
        return []
    if "triad_gbs" not in limits:
        return [["machine limits", limits.get("error", "not measured")]]
    triad = ", ".join(
        f"{v:.1f} on {k} core{'s' if k != '1' else ''}" for k, v in limits["triad_gbs"].items()
    )
    return [
        ["memory bandwidth, numpy triad (GB/s)", triad],
        ["DGEMM, one core (GFLOP/s)", f"{limits['dgemm_gflops']:.1f}"],
    ]


def json_key(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=str)


def quality(results: Results) -> list[Table]:
    """Per workload, every case that produced an answer: its metric, the reference, pass or
    fail, and the secondary numbers (held-out metric, ROC AUC, silhouette, precision@10)
    beside theirs."""
    out = []
    for wkey, records in _group([r for r in results.cases if r.get("quality")],
                                workload_key).items():  # fmt: skip
        table = Table(
            f"Quality: {workload_label(wkey)}",
            ["impl", "backend", "workers", "n_samples", "metric", "value", "reference",
             "reference source", "check", "also measured (ours / reference)"],
        )  # fmt: skip
        for r in sorted(records, key=_case_order):
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


def fmt_number(value) -> str:
    """A secondary metric in a text cell: 4 significant digits."""
    return "-" if value is None else f"{value:.4g}"


def _case_order(r: dict[str, Any]) -> tuple:
    c = r["case"]
    return (workload_key(r), c["impl"], _c(r, "backend"), _c(r, "n_workers"), c["n_samples"])


# -- strong scaling ---------------------------------------------------------------------
def strong_scaling(results: Results) -> list[Table]:
    """Time vs workers at a fixed size: speedup, efficiency and Karp–Flatt serial fraction.

    The base is the fewest workers measured for that series; Karp–Flatt needs a 1-worker
    base and is left empty otherwise.
    """
    tables = []
    by_workload = _group(results.ok, workload_key)
    for wkey, records in by_workload.items():
        table = Table(
            f"Strong scaling: {workload_label(wkey)}",
            [
                "backend",
                "impl",
                "n_samples",
                "workers",
                "fit median (s)",
                "speedup",
                "efficiency",
                "Karp-Flatt e",
            ],
            note="speedup and efficiency against the fewest workers measured; "
            "Karp-Flatt e = (1/S - 1/p) / (1 - 1/p), against 1 worker; each with its 95 % "
            "bootstrap interval [low, high] from the raw fit times (launches, then fits).",
        )
        series = _group(
            records,
            lambda r: (_c(r, "backend"), _c(r, "impl"), _c(r, "n_samples"), _c(r, "n_features")),
        )
        for (backend, impl, n, _), rs in series.items():
            rs = sorted(rs, key=lambda r: _c(r, "n_workers"))
            if len({_c(r, "n_workers") for r in rs}) < 2:
                continue
            base = rs[0]
            p0, t0 = _c(base, "n_workers"), fit_times(base)
            for r in rs:
                p, t = _c(r, "n_workers"), fit_times(r)
                s = stats.speedup_interval(t0, t)
                e = stats.efficiency_interval(t0, t, p, base_workers=p0)
                kf = stats.karp_flatt_interval(t0, t, p) if p0 == 1 else None
                table.rows.append([backend, impl, n, p, stats.median_interval(t), s, e, kf])
        if table.rows:
            tables.append(table)
    return tables


# -- predictions past the measured workers ----------------------------------------------
def predictions(results: Results) -> list[Table]:
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
    from dmlbench.reports.scaling_models import MIN_COUNTS, PREDICT_AT, Components, fit_scaling

    tables = []
    rounds = _round_overheads(results)
    for wkey, records in _group(results.ok, workload_key).items():
        table = Table(
            f"Predicted scaling: {workload_label(wkey)}",
            ["backend", "impl", "n_samples", "workers", "model", "predicted fit (s)",
             "predicted speedup", "model parameters"],  # fmt: skip
            note="PREDICTIONS, not measurements, with 95 % bootstrap intervals. usl: the "
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
            "straggler it used).",
        )
        series = _group(
            records, lambda r: (_c(r, "backend"), _c(r, "impl"), _c(r, "n_samples"))
        )
        for (backend, impl, n), rs in series.items():
            by_workers = {_c(r, "n_workers"): fit_times(r) for r in rs}
            model = next((m for m in ("usl", "amdahl") if len(by_workers) >= MIN_COUNTS[m]), None)
            if model is not None:
                fit = fit_scaling(by_workers, model)
                params = ", ".join(
                    f"{k} {v:.3g} [{fit.intervals[k][0]:.3g}, {fit.intervals[k][1]:.3g}]"
                    for k, v in fit.params.items()
                ) + (
                    f"; peak N* = {fit.peak:.1f}"
                    if fit.peak is not None and fit.intervals.get("kappa", (0.0,))[0] > 0
                    else "; no peak (kappa's interval reaches 0)"
                )
                for w in (w for w in PREDICT_AT if w > max(by_workers)):
                    pr = fit.predict(w)
                    table.rows.append([
                        backend, impl, n, w, model,
                        stats.Interval(pr["time"], pr["time_low"], pr["time_high"], 0),
                        stats.Interval(pr["speedup"], pr["speedup_low"], pr["speedup_high"], 0),
                        params,
                    ])  # fmt: skip
                continue
            one = next((r for r in rs if _c(r, "n_workers") == 1 and r.get("n_iter")), None)
            overheads = _overheads_of(rounds, one) if one else {}
            if one is None or 1 not in overheads or impl != "dmlbench":
                continue
            wide = max(rs, key=lambda r: _c(r, "n_workers"))
            parts = Components.measured(
                one["n_iter"],
                overheads,
                one.get("round_split"),
                (_c(wide, "n_workers"), wide["round_split"])
                if _c(wide, "n_workers") > 1 and wide.get("round_split")
                else None,
                len(one.get("block_hosts") or ()),
            )
            t1 = fit_times(one)
            if parts.compute(stats.median_of(t1)) <= 0:
                continue  # no compute left beside the rounds and the driver: nothing to divide
            # The model checks itself first: at every measured count above 1 it is set
            # beside the measurement (a model that misses there predicts nothing further).
            for w in sorted(w for w in by_workers if w > 1 and w in overheads):
                predicted = parts.time(stats.median_of(t1), w)
                measured = stats.median_of(by_workers[w])
                table.rows.append([
                    backend, impl, n, w, "components (check)", predicted, None,
                    f"measured {measured:.3g} s: the model is off by "
                    f"{predicted / measured - 1:+.0%}",
                ])  # fmt: skip
            for w in sorted(w for w in overheads if w > max(by_workers)):
                time_w = stats.figure_interval(partial(parts.time, p=w), t1)
                speedup = stats.figure_interval(partial(parts.speedup, p=w), t1)
                table.rows.append([
                    backend, impl, n, w, "components", time_w, speedup, parts.describe(w),
                ])  # fmt: skip
        if table.rows:
            tables.append(table)
    return tables


def _round_overheads(results: Results) -> dict[str, dict[int, float]]:
    """engine name (``dask:tasks``) -> workers -> median round (s), from overhead files."""
    out: dict[str, dict[int, float]] = defaultdict(dict)
    for r in results.overhead:
        if "round" in r and r.get("n_workers"):
            name = engine_name({"backend": r["backend"], "pattern": r.get("pattern")})
            out[name][int(r["n_workers"])] = r["round"]["median_s"]
    return dict(out)


def _overheads_of(rounds: dict[str, dict[int, float]], record: dict[str, Any]) -> dict[int, float]:
    """The round overheads measured for the engine ``record`` ran on: its pattern's when
    the case names one; else, in order, a measurement naming no pattern, the pattern its
    backend recorded running (its default: ``"dask"`` ran ``"dask:resident"``), the
    backend's only measured pattern; none rather than a guess among several."""
    engine = _c(record, "backend")
    if ":" in engine:
        return rounds.get(engine, {})
    ran = (record.get("backend_info") or {}).get("pattern")
    for name in (engine, f"{engine}:{ran}"):
        if name in rounds:
            return rounds[name]
    same = [v for k, v in rounds.items() if k.split(":")[0] == engine]
    return same[0] if len(same) == 1 else {}


# -- size scaling -----------------------------------------------------------------------
def size_scaling(results: Results) -> list[Table]:
    """Time vs n_samples per series: the log-log slope, and where two series cross."""
    tables = []
    for wkey, records in _group(results.ok, workload_key).items():
        slopes = Table(
            f"Size scaling: {workload_label(wkey)}",
            [
                "series",
                "workers",
                "sizes",
                "fit at smallest (s)",
                "fit at largest (s)",
                "log-log slope",
            ],
            note="time ~ n_samples^slope, least squares in log-log; 1 = linear in the data; "
            "[95 % bootstrap interval].",
        )
        curves = _size_curves(records)
        for (label, p), points in curves.items():
            sizes = [n for n, _ in points]
            times = [t for _, t in points]
            slopes.rows.append(
                [label, p, len(sizes), times[0], times[-1], _slope(records, label, p, sizes)]
            )
        if not any(row[2] >= 2 for row in slopes.rows):
            continue
        tables.append(slopes)
        cross = Table(
            f"Crossovers: {workload_label(wkey)}",
            [
                "workers",
                "series A",
                "series B",
                "crossover n_samples",
                "faster below",
                "faster above",
            ],
        )
        for (la, pa), (lb, pb) in itertools.combinations(curves, 2):
            if pa != pb:
                continue
            a, b = dict(curves[(la, pa)]), dict(curves[(lb, pb)])
            common = sorted(set(a) & set(b))
            if len(common) < 2:
                continue
            ta, tb = [a[n] for n in common], [b[n] for n in common]
            for n in metrics.crossovers(common, ta, tb):
                below = la if a[common[0]] < b[common[0]] else lb
                above = la if a[common[-1]] < b[common[-1]] else lb
                cross.rows.append([pa, la, lb, n, below, above])
        if cross.rows:
            tables.append(cross)
    return tables


def _slope(records, label: str, workers: int, sizes: list[int]) -> stats.Interval | None:
    """The log-log slope of one size curve, with its bootstrap interval (each size's
    fits resampled on their own)."""
    if len(set(sizes)) < 2:
        return None
    several = len({_c(r, "n_features") for r in records}) > 1
    by_size = {
        _c(r, "n_samples"): fit_times(r)
        for r in records
        if _c(r, "n_workers") == workers
        and series_label(r) + (f", d={_c(r, 'n_features')}" if several else "") == label
    }
    xs = np.log(np.asarray(sorted(by_size), dtype=float))

    def slope(*medians):  # least squares in log-log, on arrays of replicates too
        ys = np.log(np.stack(np.broadcast_arrays(*medians))).reshape(len(xs), -1)
        dx = (xs - xs.mean())[:, None]
        return ((dx * (ys - ys.mean(axis=0))).sum(axis=0) / (dx**2).sum()).squeeze()

    return stats.figure_interval(slope, *(by_size[n] for n in sorted(by_size)))


def _size_curves(records) -> dict[tuple[str, int], list[tuple[int, float]]]:
    """(series label, workers) -> [(n_samples, fit median)] ascending.

    A workload swept over several n_features gets one curve per n_features (``d=`` in
    the label): a size curve must hold everything but the row count fixed.
    """
    curves: dict[tuple[str, int], list[tuple[int, float]]] = defaultdict(list)
    several = len({_c(r, "n_features") for r in records}) > 1
    for r in records:
        label = series_label(r) + (f", d={_c(r, 'n_features')}" if several else "")
        curves[(label, _c(r, "n_workers"))].append((_c(r, "n_samples"), r["fit_median_s"]))
    return {k: sorted(v) for k, v in sorted(curves.items())}


# -- engine comparison ------------------------------------------------------------------
def comparison(results: Results) -> list[Table]:
    """Written-once vs native vs single-process scikit-learn, as ratios; and COST."""
    tables = []
    for wkey, records in _group(results.ok, workload_key).items():
        table = Table(
            f"Engine comparison: {workload_label(wkey)}",
            [
                "n_samples",
                "backend",
                "impl",
                "workers",
                "fit median (s)",
                "spread (s)",
                "n",
                "iterations",
                "per iteration (s)",
                "x scikit-learn 1 core",
                "written-once / native",
                "verdict",
                "time to 1 % (s)",
            ],
            note="median [95 % bootstrap interval] and [min, max] of n timed fits, after one "
            "cold fit, each fit's answer checked; iterations: the timed fits' median; per "
            "iteration: the fit median over them, the same way for every implementation. "
            "x scikit-learn: this time over scikit-learn's on one core (below 1 is faster); "
            "written-once / native: dmlbench's time over the engine's own library's, same "
            "backend and workers (below 1: dmlbench is faster); verdict: faster or slower "
            "only when the ratio's interval excludes 1, else a tie. time to 1 %: from the "
            "trace, seconds until the objective was within 1 % of the reference, MLPerf-style "
            "over the timed fits (fastest and slowest dropped, mean of the rest) with the "
            "95 % Student-t interval of that mean; n kept.",
        )
        costs = Table(
            f"COST: {workload_label(wkey)}",
            ["n_samples", "backend", "impl", "workers measured", "COST"],
            note="the fewest workers that beat scikit-learn on one core (McSherry et al.), "
            "with the range of worker counts its 95 % bootstrap gives ([low, high]).",
        )
        for n, rs in _group(records, lambda r: _c(r, "n_samples")).items():
            baseline = _sklearn_times(rs)
            # A native library runs on the engine whatever pattern ours used: keyed by the
            # plain backend, so "dask:tasks" and "dask" both compare with dask-ml.
            native = {
                (r["case"]["backend"], _c(r, "n_workers")): fit_times(r)
                for r in rs
                if _c(r, "impl") == "native"
            }
            for r in sorted(rs, key=_case_order):
                backend, impl, p = _c(r, "backend"), _c(r, "impl"), _c(r, "n_workers")
                t = fit_times(r)
                vs_native = native.get((r["case"]["backend"], p)) if impl == "dmlbench" else None
                ratio = None if vs_native is None else stats.ratio_interval(t, vs_native)
                table.rows.append(
                    [
                        n,
                        backend,
                        impl,
                        p,
                        stats.median_interval(t),
                        _spread(r),
                        stats.n_fits(t),
                        r.get("n_iter"),
                        _per_iteration(r, t),
                        None if baseline is None else stats.ratio_interval(t, baseline),
                        ratio,
                        None if ratio is None else verdict(ratio),
                        _time_to_quality(r),
                    ]
                )
            if baseline is None:
                continue
            for (backend, impl), srs in _group(
                rs, lambda r: (_c(r, "backend"), _c(r, "impl"))
            ).items():
                if any(is_single_core_baseline(r) for r in srs):
                    continue
                times = {_c(r, "n_workers"): fit_times(r) for r in srs}
                costs.rows.append(
                    [
                        n,
                        backend,
                        impl,
                        ", ".join(map(str, sorted(times))),
                        stats.cost_range(times, baseline).format(),
                    ]
                )
        tables.append(table)
        if costs.rows:
            tables.append(costs)
    return tables


def _per_iteration(r: dict[str, Any], times) -> stats.Interval | float | None:
    """The fit's median interval over its iterations (``per_iteration_s`` with its
    interval); the recorded number where the record has no iterations."""
    n_iter = r.get("n_iter")
    if not n_iter:
        return r.get("per_iteration_s")
    iv = stats.median_interval(times)
    return stats.Interval(iv / n_iter, iv.low / n_iter, iv.high / n_iter, iv.n, iv.level)


def _time_to_quality(r: dict[str, Any]) -> str | None:
    """MLPerf-style time to quality of the timed fits, as text, or None without a trace."""
    ttq = (r.get("quality") or {}).get("time_to_quality")
    if not ttq:
        return None
    iv = stats.mlperf_interval(ttq["per_fit_s"])
    if iv is None:
        return "not reached"
    return f"{iv.format()} (n={iv.n})" if iv.n > 1 else f"{iv.value:.3g} (n=1)"


def verdict(ratio: stats.Interval) -> str:
    """``faster``/``slower`` for a time ratio whose interval excludes 1, else ``tie``."""
    if ratio.high < 1:
        return "faster"
    return "slower" if ratio.low > 1 else "tie"


def _spread(r: dict[str, Any]) -> str | None:
    """``[min, max]`` of a record's timed fits, as text (seconds, 3 significant digits)."""
    lo_hi = r.get("fit_spread_s")
    return None if not lo_hi else f"[{lo_hi[0]:.3g}, {lo_hi[1]:.3g}]"


# -- execution patterns -----------------------------------------------------------------
def patterns(results: Results) -> list[Table]:
    """Per engine with several patterns measured (``dask``: resident and tasks), what each
    pattern costs per fit and per round, and its ratio to the fastest of them."""
    tables = []
    ours = [r for r in results.ok if _c(r, "impl") == "dmlbench" and r["case"].get("pattern")]
    for wkey, records in _group(ours, workload_key).items():
        table = Table(
            f"Execution patterns: {workload_label(wkey)}",
            [
                "backend",
                "workers",
                "n_samples",
                "pattern",
                "fit median (s)",
                "spread (s)",
                "per round (s)",
                "fit / fastest",
                "round / fastest",
            ],
            note="the same fit through each way the engine can run it: 'resident' (blocks kept "
            "in worker memory, one call per worker per round) and 'tasks' (the engine's "
            "idiomatic pattern: a task per block through its scheduler); a round is one "
            "iteration of ours' trace (median over the last fit's rounds).",
        )
        groups = _group(
            records,
            lambda r: (r["case"]["backend"], _c(r, "n_workers"), _c(r, "n_samples")),
        )
        for (backend, p, n), rs in groups.items():
            if len(rs) < 2:
                continue
            fastest = fit_times(min(rs, key=lambda r: r["fit_median_s"]))
            rounds = [_per_round(r) for r in rs if _per_round(r)]
            fastest_round = min(rounds) if rounds else None
            for r in sorted(rs, key=lambda r: r["case"]["pattern"]):
                per = _per_round(r)
                table.rows.append(
                    [
                        backend,
                        p,
                        n,
                        r["case"]["pattern"],
                        stats.median_interval(fit_times(r)),
                        _spread(r),
                        per,
                        stats.ratio_interval(fit_times(r), fastest),
                        None if per is None or not fastest_round else per / fastest_round,
                    ]
                )
        if table.rows:
            tables.append(table)
    return tables


def _per_round(r: dict[str, Any]) -> float | None:
    """One round of ours' trace (records before ``per_round_s`` kept it in
    ``per_iteration_s``)."""
    return r.get("per_round_s", r.get("per_iteration_s"))


def _sklearn_times(records) -> list[list[float]] | None:
    """scikit-learn's fits on one core (the native implementation on the local backend)."""
    for r in records:
        if is_single_core_baseline(r):
            return fit_times(r)
    return None


# -- phases, overhead, failures ---------------------------------------------------------
#: The per-iteration split's terms as the report names them (``backends._rounds.TERMS``).
ROUND_TERMS = (
    ("compute", "compute_s"),
    ("imbalance", "imbalance_s"),
    ("engine", "engine_s"),
    ("driver", "driver_s"),
    ("unsplit", "unsplit_s"),
)


def rounds(results: Results) -> list[Table]:
    """Where an iteration's time goes, per workload: compute, imbalance, engine, driver.

    From each record's ``round_split`` (medians over the timed fits of each term per
    iteration). Beside it, a cost model that checks itself: predicted per-iteration time
    = the series' 1-worker compute / p x the straggler measured at p + the engine and
    driver terms measured at p. It differs from the measured time exactly where the
    workers' compute did not shrink as 1/p (``compute x p / 1-worker``: 1 is perfect;
    above 1, each worker computes slower beside the others, as on shared memory
    bandwidth), so that column names the missing term. The engine and driver terms are
    the ones measured at p: the model tests whether compute divides by p, nothing else.
    """
    tables = []
    with_split = [r for r in results.ok if r.get("round_split")]
    for wkey, records in _group(with_split, workload_key).items():
        table = Table(
            f"Where an iteration goes: {workload_label(wkey)}",
            ["backend", "n_samples", "workers", "measured (ms/iter)",
             *[f"{name} (ms)" for name, _ in ROUND_TERMS], "compute on CPU (ms)",
             "straggler (max/mean)", "rounds/iter", "predicted (ms/iter)", "error",
             "compute x p / 1-worker"],  # fmt: skip
            note="Per iteration, the median over timed fits of each term (so the terms sum "
            "to about the measured time): compute = the mean worker's time on its blocks; "
            "imbalance = max - mean worker; engine = each round's wall - the slowest "
            "worker; driver = the fit's time outside rounds (optimiser, combine); unsplit "
            "= rounds whose workers do not time themselves (tasks-pattern maps); compute "
            "on CPU = the thread CPU time of the compute (below it: the worker waited). "
            "predicted = 1-worker compute / p x straggler + engine + driver + unsplit, "
            "at p; error = predicted / measured - 1.",
        )
        series = _group(
            records, lambda r: (engine_name(r["case"]), _c(r, "n_samples"), _c(r, "n_features"))
        )
        for (engine, n, _), rs in series.items():
            rs = sorted(rs, key=lambda r: _c(r, "n_workers"))
            one = next((r for r in rs if _c(r, "n_workers") == 1), None)
            for r in rs:
                sp, p = r["round_split"], _c(r, "n_workers")
                measured = r.get("per_iteration_s")
                predicted = inflation = error = None
                if one is not None:
                    c1 = one["round_split"]["compute_s"]
                    straggler = sp["straggler"] or 1.0
                    rest = sp["engine_s"] + sp["driver_s"] + sp["unsplit_s"]
                    predicted = c1 / p * straggler + rest
                    inflation = sp["compute_s"] * p / c1 if c1 > 0 else None
                    error = predicted / measured - 1 if measured else None
                table.rows.append(
                    [engine, n, p, _ms(measured), *[_ms(sp[k]) for _, k in ROUND_TERMS],
                     _ms(sp.get("compute_cpu_s")), sp["straggler"], sp["rounds_per_iter"],
                     _ms(predicted), error, inflation]  # fmt: skip
                )
        tables.append(table)
    return tables


def machine_limits(results: Results) -> Table:
    """Each of ours' kernels against this machine's limits: the bytes/s and flop/s one
    worker achieved in its main kernel (``achieved``), as a share of the memory bandwidth
    its workers had together (the triad measured at that many processes) and of one core's
    DGEMM (the run's ``environment.limits``, from ``dmlbench doctor``)."""
    table = Table(
        "Against the machine's limits",
        ["workload", "backend", "workers", "n_samples", "kernel", "GB/s per worker",
         "of bandwidth", "GFLOP/s per worker", "of DGEMM"],  # fmt: skip
        note="Per worker, over its compute time in the kernel's rounds only (median over "
        "timed fits). Bytes: the float64 input the kernel must read once per pass; flops: "
        "the arithmetic the algorithm needs (the estimator's pass_work). of bandwidth = "
        "workers x GB/s per worker / the triad bandwidth of that many processes; of DGEMM "
        "= GFLOP/s per worker / one core's DGEMM. A share near 1 of bandwidth: the kernel "
        "is memory-bound, more workers on this memory will not help; far below both: the "
        "kernel is neither, its code is the limit.",
    )
    for r in sorted(results.ok, key=_case_order):
        got, limits = r.get("achieved"), r["environment"].get("limits") or {}
        if not got:
            continue
        p = _c(r, "n_workers")
        bandwidth = _bandwidth_for(limits, p)
        dgemm = limits.get("dgemm_gflops")
        gbs, gflops = got["bytes_per_s"] / 1e9, got["flops_per_s"] / 1e9
        table.rows.append(
            [workload_label(workload_key(r)), engine_name(r["case"]), p, _c(r, "n_samples"),
             got["kernel"], gbs, p * gbs / bandwidth if bandwidth else None, gflops,
             gflops / dgemm if dgemm else None]  # fmt: skip
        )
    return table


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1e3


PHASES = (
    ("engine start", "engine_start_s"),
    ("data generation", "generate_s"),
    ("preprocessing", "preprocess_s"),
    ("shared start", "start_s"),
    ("kernels compiled", "compile_s"),
    ("input prepared (untimed)", "prepare_s"),
    ("first (cold) fit", "fit_cold_s"),
    ("fit (median)", None),
    ("predict/score", "predict_s"),
)


def phases(results: Results) -> Table:
    """Where each case's wall time went."""
    table = Table(
        "Phases (seconds)",
        ["workload", "backend", "impl", "workers", "n_samples", *[name for name, _ in PHASES]],
        note="engine start is paid once per (backend, workers) group of cases.",
    )
    for r in sorted(results.ok, key=_case_order):
        ph = r["phases"]
        values = [r["fit_median_s"] if key is None else ph.get(key) for _, key in PHASES]
        table.rows.append(
            [
                workload_label(workload_key(r)),
                _c(r, "backend"),
                _c(r, "impl"),
                _c(r, "n_workers"),
                _c(r, "n_samples"),
                *values,
            ]
        )
    return table


def overhead(results: Results) -> Table:
    """Round overhead per backend from ``dmlbench overhead --json`` files."""
    table = Table(
        "Round overhead (one aggregate over resident blocks)",
        ["backend", "workers", "start-up (s)", "round median (ms)", "p10 (ms)", "p90 (ms)"],
    )
    for r in results.overhead:
        if "round" not in r:
            table.rows.append([r["backend"], None, None, None, None, r.get("error", "no data")])
            continue
        rd = r["round"]
        table.rows.append(
            [
                r["backend"],
                r.get("n_workers"),
                r.get("startup_s"),
                rd["median_s"] * 1e3,
                rd["p10_s"] * 1e3,
                rd["p90_s"] * 1e3,
            ]
        )
    return table


def failures(results: Results) -> Table:
    """Every case that did not give a verified answer, with its reason; never dropped."""
    table = Table(
        "Failures and skipped cases",
        ["outcome", "workload", "backend", "impl", "workers", "n_samples", "reason"],
    )
    order = {name: i for i, name in enumerate((*PROBLEMS, "skipped"))}
    bad = [r for r in results.cases if r["outcome"] != "ok"]
    for r in sorted(bad, key=lambda r: (order.get(r["outcome"], 9), _case_order(r))):
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


def placement(results: Results) -> Table:
    """Where ours ran: per case, its workers' hosts, its blocks per host (in its last timed
    fit) and the blocks its timed fits rebuilt from their recipe inside the clock.

    Every case when any ran off this machine; otherwise (every block at 127.0.0.1) only
    the cases whose timed fits rebuilt blocks."""
    table = Table(
        "Where it ran",
        ["workload", "backend", "workers", "hosts", "blocks per host", "rebuilt in timed fits"],
    )
    ours = [r for r in results.cases if r.get("block_hosts") is not None]
    remote = any(not host.startswith("127.") for r in ours for host in _hosts(r) if host)
    for r in sorted(ours, key=_case_order):
        timed = (r.get("rebuilt_blocks") or [])[1:]
        rebuilt = sum(timed)
        if not remote and not rebuilt:
            continue
        per_host: dict[str, int] = defaultdict(int)
        for host in r["block_hosts"]:
            per_host[host or "placed by the engine"] += 1
        table.rows.append(
            [
                workload_label(workload_key(r)),
                engine_name(r["case"]),
                _c(r, "n_workers"),
                ", ".join(sorted(set(_hosts(r)))),
                ", ".join(f"{host}: {n}" for host, n in sorted(per_host.items())),
                f"{rebuilt} in {sum(1 for n in timed if n)} of {len(timed)} fits"
                if rebuilt
                else 0,
            ]
        )
    return table


def _hosts(r: dict[str, Any]) -> list[str]:
    """The hosts of a case's workers (as its backend recorded them), else of its blocks."""
    workers = (r.get("backend_info") or {}).get("workers") or []
    return [w["host"] for w in workers if w.get("host")] or [
        h for h in r.get("block_hosts") or [] if h
    ]
