"""``dmlbench natives``: written-once algorithms vs each engine's own, on the same data.

Three comparisons (issue 3's speed targets), each on data generated on the workers from
the same block function, resident before the clock starts, and only the fit timed:

* k-means, k=8, 20 Lloyd iterations from the same initial centres: dmlbench on Dask vs
  dask-ml, dmlbench on Spark vs MLlib, and scikit-learn on one core, with inertias;
* linear regression by the normal equations: dmlbench on Spark vs MLlib's "normal";
* k-means per-iteration time at 1 vs 2 Dask workers.
"""

from __future__ import annotations

import statistics
import sys
import time
from functools import partial
from typing import Any, TextIO

import numpy as np

from dmlbench.algorithms import KMeans, LinearRegression
from dmlbench.algorithms._kernels import nearest
from dmlbench.algorithms.kmeans import kmeans_plusplus
from dmlbench.backends import get_backend, natives
from dmlbench.suites.datasets import blobs_block, regression_block

N_BLOCKS = 8
K = 8
ITERATIONS = 20
SPREAD = 8.0  # overlapping blobs: Lloyd does not converge within 20 iterations
SPARK_CONF = {"spark.driver.memory": "8g"}  # MLlib caches the rows in the driver's JVM


def _timed_fit(model, ds) -> tuple[Any, float]:
    t0 = time.perf_counter()
    model.fit(ds)
    return model, time.perf_counter() - t0


def _ours_kmeans(be, make, init) -> dict[str, Any]:
    ds = be.generate(make, N_BLOCKS)
    model, seconds = _timed_fit(KMeans(K, init=init, max_iter=ITERATIONS, tol=0.0, backend=be), ds)
    be.free(ds)
    return {
        "centers": model.cluster_centers_,
        "impl": f"dmlbench KMeans on {be.name}",
        "seconds": seconds,
        "inertia": model.inertia_,
        "n_iter": model.n_iter_,
    }


def kmeans_comparison(rows: int, log: TextIO) -> list[dict[str, Any]]:
    make = partial(blobs_block, rows=rows // N_BLOCKS, spread=SPREAD)
    init = kmeans_plusplus(make(0).X[:20_000], K, np.random.default_rng(0))
    out = []
    X = np.vstack([make(i).X for i in range(N_BLOCKS)])
    from sklearn.cluster import KMeans as SkKMeans
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        t0 = time.perf_counter()
        sk = SkKMeans(K, init=init, n_init=1, max_iter=ITERATIONS, tol=0.0, algorithm="lloyd").fit(
            X
        )
        out.append(
            {
                "impl": "scikit-learn KMeans, 1 core",
                "seconds": time.perf_counter() - t0,
                "inertia": float(sk.inertia_),
                "n_iter": int(sk.n_iter_),
                "centers": sk.cluster_centers_,
            }
        )
    print(f"  {_brief(out[-1])}", file=log, flush=True)
    with get_backend("dask", n_workers=2) as be:
        out.append(_ours_kmeans(be, make, init))
        print(f"  {_brief(out[-1])}", file=log, flush=True)
        out.append(natives.dask_ml_kmeans(be, make, N_BLOCKS, init=init, max_iter=ITERATIONS))
        print(f"  {_brief(out[-1])}", file=log, flush=True)
    with get_backend("spark", n_workers=2, conf=SPARK_CONF) as be:
        out.append(_ours_kmeans(be, make, init))
        print(f"  {_brief(out[-1])}", file=log, flush=True)
        out.append(natives.mllib_kmeans(be, make, N_BLOCKS, init=init, max_iter=ITERATIONS))
        print(f"  {_brief(out[-1])}", file=log, flush=True)
    # Every answer checked the same way: the inertia of each one's centres on the data.
    for r in out:
        r["inertia_recomputed"] = float(nearest(X, r.pop("centers"))[1].sum())
    return out


def _brief(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in r.items() if k != "centers"}


def linear_comparison(rows: int, log: TextIO) -> list[dict[str, Any]]:
    make = partial(regression_block, rows=rows // N_BLOCKS)
    with get_backend("spark", n_workers=2, conf=SPARK_CONF) as be:
        ds = be.generate(make, N_BLOCKS)
        LinearRegression(backend=be).fit(ds)  # first fit: the Python workers warm up
        model, seconds = _timed_fit(LinearRegression(backend=be), ds)
        ours = {
            "impl": "dmlbench LinearRegression(normal) on spark",
            "seconds": seconds,
            "coef": model.coef_,
            "intercept": model.intercept_,
        }
        print(f"  {ours['impl']}: {seconds:.2f} s", file=log, flush=True)
        be.free(ds)
        native = natives.mllib_linear_regression(be, make, N_BLOCKS)
        print(f"  {native['impl']}: {native['seconds']:.2f} s", file=log, flush=True)
    native["max_rel_coef_diff"] = float(
        np.abs(native["coef"] - ours["coef"]).max() / np.abs(ours["coef"]).max()
    )
    return [ours, native]


def scaling_comparison(rows: int, log: TextIO) -> list[dict[str, Any]]:
    make = partial(blobs_block, rows=rows // N_BLOCKS, spread=SPREAD)
    init = kmeans_plusplus(make(0).X[:20_000], K, np.random.default_rng(0))
    out = []
    for workers in (1, 2):
        with get_backend("dask", n_workers=workers) as be:
            ds = be.generate(make, N_BLOCKS)
            model = KMeans(K, init=init, max_iter=10, tol=0.0, backend=be).fit(ds)
            seconds = [r["seconds"] for r in model.trace_]
            per_iter = float(statistics.median(np.diff(seconds)))
            out.append(
                {
                    "impl": f"dmlbench KMeans on dask, {workers} worker(s)",
                    "per_iteration_s": per_iter,
                    "n_iter": model.n_iter_,
                }
            )
            print(f"  {_brief(out[-1])}", file=log, flush=True)
    out[1]["ratio_to_1_worker"] = out[1]["per_iteration_s"] / out[0]["per_iteration_s"]
    return out


def run_natives(
    kmeans_rows: int, lr_rows: int, scaling_rows: int, log: TextIO | None = None
) -> dict[str, Any]:
    log = log or sys.stderr
    report: dict[str, Any] = {
        "kind": "dmlbench-natives",
        "schema_version": 1,
        "parameters": {
            "kmeans_rows": kmeans_rows,
            "lr_rows": lr_rows,
            "scaling_rows": scaling_rows,
            "k": K,
            "iterations": ITERATIONS,
            "spread": SPREAD,
        },
    }
    print(f"k-means, {kmeans_rows:,} x 20, k={K}, {ITERATIONS} iterations ...", file=log)
    report["kmeans"] = kmeans_comparison(kmeans_rows, log)
    print(f"linear regression (normal), {lr_rows:,} x 20 ...", file=log)
    report["linear"] = linear_comparison(lr_rows, log)
    print(f"k-means per iteration, {scaling_rows:,} x 20, 1 vs 2 workers ...", file=log)
    report["scaling"] = scaling_comparison(scaling_rows, log)
    return report


def format_natives(report: dict[str, Any]) -> str:
    lines = [f"{'implementation':<44} {'fit s':>8} {'inertia (recomputed)':>24}"]
    for r in report["kmeans"]:
        it = "?" if r["n_iter"] is None else r["n_iter"]
        lines.append(
            f"{r['impl']:<44} {r['seconds']:>8.2f} {r['inertia_recomputed']:>16.10g} it={it}"
            f"  reported {r['inertia']:.10g}"
        )
    for r in report["linear"]:
        note = f"coef diff {r['max_rel_coef_diff']:.1e}" if "max_rel_coef_diff" in r else ""
        lines.append(f"{r['impl']:<44} {r['seconds']:>8.2f} {note:>24}")
    for r in report["scaling"]:
        note = f"ratio {r['ratio_to_1_worker']:.2f}" if "ratio_to_1_worker" in r else ""
        lines.append(f"{r['impl']:<44} {r['per_iteration_s']:>8.3f} {note:>24}  (per iteration)")
    return "\n".join(lines)
