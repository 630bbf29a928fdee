"""``dmlbench kernels``: our kernels against scikit-learn's, on one core, per unit of work.

The engines' overhead is what dmlbench measures, so our own kernels must not be what
makes a fit slow. This benchmark puts each of them beside scikit-learn's on the same
rows (k-means from the same centres), every thread pool at one thread (BLAS and
scikit-learn's OpenMP, checked and recorded), in this process (the ``local`` backend: the
kernel and a 0.02 ms round, nothing else):

* **k-means**: one Lloyd iteration (ours: the compiled ``lloyd_partial`` round and the driver's
  division; scikit-learn: ``KMeans(algorithm="lloyd")``), 2M x 20, k = 8;
* **logistic**: one loss + gradient evaluation (ours: the ``logistic_loss_grad`` round)
  against one L-BFGS iteration of ``LogisticRegression``, as issue 13 states the goal,
  2M x 30, two classes (an iteration is at least one evaluation plus the optimiser's
  step and line search: this flatters ours by whatever that adds);
* **mlp**: forward + backward + Adam per sample over one epoch in mini-batches of 200
  (ours: ``MLPClassifier(solver="adam")``, one ``batch_grad`` round and an Adam step on
  the driver per batch; scikit-learn: ``MLPClassifier(solver="adam")``), 50k 8 x 8
  images, one hidden layer of 32 ReLU units on both sides, the same ``alpha``;
* **cnn**: the same for ours' CNN (scikit-learn has none: its figure is stated alone).

Per iteration (or epoch) by the difference of two fits, ``(t(long) - t(short)) /
(iterations(long) - iterations(short))``, so that neither side's set-up (input checks,
``x_squared_norms``, the final labelling pass) counts as iteration time; the two fits of
one implementation run back to back and the implementations alternate, ``repeats`` times
(median, spread and n reported). Everything here is a benchmark: no target is asserted.
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

#: Per kernel: rows, features and what the two fits run (iterations or epochs).
#: ``blocks``: the rows in 8 blocks, as a suite makes them; the networks' in one, so that
#: ours trains on mini-batches of 200 rows like scikit-learn (with 8 blocks each block's
#: share of a batch would be 25 rows: the algorithm's choice, not the kernel's speed).
SETUPS: dict[str, dict[str, Any]] = {
    "kmeans": {"rows": 2_000_000, "features": 20, "blocks": 8, "short": 2, "long": 12},
    "logistic": {"rows": 2_000_000, "features": 30, "blocks": 8, "short": 3, "long": 13},
    "mlp": {"rows": 50_000, "features": 64, "blocks": 1, "short": 1, "long": 4},
    "cnn": {"rows": 20_000, "features": 64, "blocks": 1, "short": 1, "long": 3},
}


def _blocks(dataset: str, setup: dict[str, Any], be):
    from dmlbench.suites.define.workloads import DATASETS

    data = DATASETS[dataset]
    ds = be.generate(data.blocks_maker(setup["rows"], setup["features"], 0), setup["blocks"])
    X = np.concatenate([b.X for b in be.collect(ds)])
    y = np.concatenate([b.y for b in be.collect(ds)])
    return ds, X, y


def _kmeans(be, setup) -> dict[str, Callable[[int], int]]:
    from sklearn.cluster import KMeans as SkKMeans

    from dmlbench.algorithms import KMeans

    ds, X, _ = _blocks("overlapping_blobs", setup, be)
    start = X[:: X.shape[0] // 8][:8].copy()  # the same 8 rows for both

    def ours(n):
        model = KMeans(8, init=start, max_iter=n, tol=0.0, backend=be).fit(ds)
        return model.n_iter_

    def sklearn(n):
        # copy_x=False: the default copies X (320 MB) into fresh pages every fit, a cost
        # that varies by more than the 10 iterations the difference measures. (It centres
        # X in place and restores it: the same rows to the last bit or two.)
        model = SkKMeans(8, init=start, n_init=1, max_iter=n, tol=0.0, algorithm="lloyd",
                         copy_x=False)  # fmt: skip
        return model.fit(X).n_iter_

    return {"ours": ours, "scikit-learn": sklearn}


def _logistic(be, setup) -> dict[str, Callable[[int], int]]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression as SkLogistic

    from dmlbench.algorithms.kernels import add_tuples, logistic_loss_grad

    ds, X, y = _blocks("binary_classification", setup, be)
    classes = np.unique(y)
    W = np.zeros((1, X.shape[1] + 1))

    def ours(n):  # n evaluations, as an L-BFGS fit would run them
        for _ in range(n):
            be.aggregate(ds, logistic_loss_grad, add_tuples, W, classes)
        return n

    def sklearn(n):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = SkLogistic(C=1.0, tol=1e-30, max_iter=n).fit(X, y)
        return int(model.n_iter_[0])

    return {"ours": ours, "scikit-learn": sklearn}


def _neural(be, setup, cnn: bool) -> dict[str, Callable[[int], int]]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier as SkMLP

    from dmlbench.algorithms import CNNClassifier, MLPClassifier

    ds, X, y = _blocks("images", setup, be)
    common = {"solver": "adam", "batch_size": 200, "learning_rate_init": 0.01,
              "random_state": 0, "backend": be}  # fmt: skip

    def ours(n):  # the same network as scikit-learn's below (our default has 100 units)
        model = (
            CNNClassifier(max_iter=n, **common)
            if cnn
            else MLPClassifier(hidden_layer_sizes=(32,), max_iter=n, **common)
        )
        return model.fit(ds).n_iter_

    out = {"ours": ours}
    if not cnn:

        def sklearn(n):
            model = SkMLP(hidden_layer_sizes=(32,), solver="adam", batch_size=200,
                          learning_rate_init=0.01, max_iter=n, tol=0.0,
                          n_iter_no_change=10**9, random_state=0)  # fmt: skip
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                return model.fit(X, y).n_iter_

        out["scikit-learn"] = sklearn
    return out


def _implementations(name: str, be, setup) -> dict[str, Callable[[int], int]]:
    if name == "kmeans":
        return _kmeans(be, setup)
    if name == "logistic":
        return _logistic(be, setup)
    return _neural(be, setup, cnn=name == "cnn")


def measure(
    name: str, repeats: int = 5, *, setup: dict[str, Any] | None = None, log=print
) -> dict[str, Any]:
    """One kernel's per-iteration seconds (per sample for the networks) for ours and
    scikit-learn, and ours over scikit-learn; ``repeats`` alternating rounds.

    ``setup`` replaces :data:`SETUPS`' entry (smaller rows for a quick check).

    Returns
    -------
    dict
        ``kernel``, ``setup``, per implementation ``{"per_unit_s": [repeats],
        "median_s", "spread_s", "n"}``, and ``ratio`` (medians, ours / scikit-learn;
        per repeat in ``ratios``) when scikit-learn has one.
    """
    # Every library with a thread pool is loaded before the limit is set: threadpoolctl
    # limits the pools loaded when it is entered, and scikit-learn's OpenMP runtime
    # comes with its first estimator import (left out, it would run on every core).
    import sklearn.cluster
    import sklearn.linear_model
    import sklearn.neural_network  # noqa: F401
    from threadpoolctl import threadpool_info, threadpool_limits

    from dmlbench.backends import get_backend

    setup = setup or SETUPS[name]
    per_sample = name in ("mlp", "cnn")
    with threadpool_limits(limits=1), get_backend("local") as be:
        impls = _implementations(name, be, setup)
        for fit in impls.values():  # warm-up: imports, first-touch of the data
            fit(setup["short"])
        pools = threadpool_info()
        if any(p["num_threads"] != 1 for p in pools):
            raise RuntimeError(f"a thread pool is not at one thread: {pools}")
        times: dict[str, list[float]] = {impl: [] for impl in impls}
        for k in range(repeats):
            # Alternate which implementation goes first, repeat by repeat.
            for impl, fit in sorted(impls.items(), reverse=bool(k % 2)):
                t0 = time.perf_counter()
                short = fit(setup["short"])
                t1 = time.perf_counter()
                long = fit(setup["long"])
                t2 = time.perf_counter()
                unit = ((t2 - t1) - (t1 - t0)) / max(long - short, 1)
                times[impl].append(unit / setup["rows"] if per_sample else unit)
            scale, label = (1e6, "us/sample") if per_sample else (1e3, "ms/iter")
            last = ", ".join(f"{i} {t[-1] * scale:.4g} {label}" for i, t in times.items())
            log(f"  {name}: {last}")
    out: dict[str, Any] = {"kernel": name, "setup": setup, "per_sample": per_sample,
                           "threads": pools}  # fmt: skip
    for impl, ts in times.items():
        out[impl] = {"per_unit_s": ts, "median_s": statistics.median(ts),
                     "spread_s": [min(ts), max(ts)], "n": len(ts)}  # fmt: skip
    if "scikit-learn" in times:
        ratios = [a / b for a, b in zip(times["ours"], times["scikit-learn"], strict=True)]
        out["ratios"] = ratios
        out["ratio"] = out["ours"]["median_s"] / out["scikit-learn"]["median_s"]
    return out


def _cell(m: dict[str, Any] | None, scale: float) -> str:
    if m is None:
        return "-"
    lo, hi = (x * scale for x in m["spread_s"])
    return f"{m['median_s'] * scale:.4g} [{lo:.4g}, {hi:.4g}] n={m['n']}"


def format_table(results: list[dict[str, Any]]) -> str:
    """The measurements as an aligned text table (median [min, max], n; the ratio)."""
    lines = [f"{'kernel':<9} {'unit':<10} {'ours':>26} {'scikit-learn':>26} {'ours/sklearn':>20}"]
    for r in results:
        scale, unit = (1e6, "us/sample") if r["per_sample"] else (1e3, "ms/iter")
        ours, sk = (_cell(r.get(impl), scale) for impl in ("ours", "scikit-learn"))
        ratio = "-"
        if "ratio" in r:
            ratio = f"{r['ratio']:.3g} [{min(r['ratios']):.3g}, {max(r['ratios']):.3g}]"
        lines.append(f"{r['kernel']:<9} {unit:<10} {ours:>26} {sk:>26} {ratio:>20}")
    return "\n".join(lines)


__all__ = ["SETUPS", "format_table", "measure"]
