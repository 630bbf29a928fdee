"""Native comparators: each engine's own library on the same rows (being restructured)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from dmlbench.suites.runner import _Fitted
from dmlbench.suites.spec import Case
from dmlbench.suites.workloads import ALGORITHMS, sklearn_reference


def _native_sklearn(case: Case, algo, data, be, ds) -> tuple[float, _Fitted]:
    blocks = be.collect(ds)
    X = np.vstack([b.X for b in blocks])
    y = None if blocks[0].y is None else np.concatenate([b.y for b in blocks])
    ref = sklearn_reference(algo, case.params)
    t0 = time.perf_counter()
    ref.fit(X) if algo.metric == "inertia" else ref.fit(X, y)
    seconds = time.perf_counter() - t0
    native = {"impl": f"scikit-learn {type(ref).__name__}", "settings": ref.get_params()}
    n_iter = getattr(ref, "n_iter_", None)
    if algo.metric == "inertia":
        return seconds, _Fitted(lambda d: float(-ref.score(X)), n_iter, native=native)
    return seconds, _Fitted(lambda d: float(ref.score(X, y)), n_iter, native=native)


def _block_source(case: Case, data) -> tuple[Callable[[int], Any], int]:
    """(make_block, n_blocks) giving the case's rows, for a native library to load.

    Generated data is rebuilt on the engine from the same recipe; real data that ships
    with scikit-learn is split into the same blocks as the resident dataset.
    """
    if data.loader:
        from dmlbench.algorithms._common import split_blocks

        blocks = split_blocks(*data.split()[0])
        return blocks.__getitem__, len(blocks)
    return data.blocks_maker(case.n_samples, case.n_features, case.seed), data.n_blocks


def _described(out: dict[str, Any]) -> dict[str, Any]:
    return {"impl": out["impl"], "settings": out["settings"]}


def _native_kmeans(native: Callable) -> Callable:
    def fit(case: Case, algo, data, be, ds) -> tuple[float, _Fitted]:
        from dmlbench.algorithms._kernels import add, cost
        from dmlbench.algorithms.kmeans import kmeans_plusplus

        make, n_blocks = _block_source(case, data)
        k = case.params.get("n_clusters", 8)
        init = kmeans_plusplus(make(0).X[:20_000], k, np.random.default_rng(case.seed))
        p = case.params
        out = native(
            be, make, n_blocks, init=init, max_iter=p.get("max_iter", 300), tol=p.get("tol", 1e-4)
        )
        centers = be.broadcast(out["centers"])
        return out["seconds"], _Fitted(
            lambda d: float(be.aggregate(d, cost, add, centers)),
            out.get("n_iter"),
            native=_described(out),
        )

    return fit


def _native_linear(native: Callable, estimator: str, **params: Callable[[Case], Any]) -> Callable:
    """A native fit that returns coefficients, scored by our estimator holding them.

    Scoring the native coefficients with our own ``score`` on the resident dataset keeps
    the metric identical for both implementations (and avoids dask-ml's ``score``, which
    breaks against scikit-learn 1.9).
    """

    def fit(case: Case, algo, data, be, ds) -> tuple[float, _Fitted]:
        from dmlbench import algorithms

        make, n_blocks = _block_source(case, data)
        out = native(be, make, n_blocks, **{k: get(case) for k, get in params.items()})
        model = getattr(algorithms, estimator)(backend=be)
        model.coef_, model.intercept_ = out["coef"], out["intercept"]
        model.n_features_in_ = np.shape(out["coef"])[-1]
        if "classes" in out:
            model.classes_ = out["classes"]
        return out["seconds"], _Fitted(
            lambda d: float(model.score(d)), out.get("n_iter"), native=_described(out)
        )

    return fit


def _native_mllib_mlp(case: Case, algo, data, be, ds) -> tuple[float, _Fitted]:
    from dmlbench.backends.natives import mllib_mlp

    make, n_blocks = _block_source(case, data)
    out = mllib_mlp(
        be,
        make,
        n_blocks,
        hidden_layer_sizes=tuple(case.params.get("hidden_layer_sizes", (100,))),
        max_iter=NATIVE_MLP_MAX_ITER,
        seed=case.seed,
    )
    return out["seconds"], _Fitted(lambda d: out["accuracy"], native=_described(out))


def _native_sklearn_mlp(case: Case, algo, data, be, ds) -> tuple[float, _Fitted]:
    """scikit-learn's ``MLPClassifier`` (ReLU, like ours) on the collected rows, one core."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    blocks = be.collect(ds)
    X, y = np.vstack([b.X for b in blocks]), np.concatenate([b.y for b in blocks])
    solver = "lbfgs" if case.params.get("solver") == "lbfgs" else "adam"
    ref = MLPClassifier(
        hidden_layer_sizes=tuple(case.params.get("hidden_layer_sizes", (100,))),
        solver=solver,
        max_iter=NATIVE_MLP_MAX_ITER,
        random_state=case.seed,
    )
    t0 = time.perf_counter()
    with warnings.catch_warnings():  # not converging in max_iter is a result, not an error
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref.fit(X, y)
    seconds = time.perf_counter() - t0
    native = {"impl": "scikit-learn MLPClassifier", "settings": ref.get_params()}
    return seconds, _Fitted(lambda d: float(ref.score(X, y)), ref.n_iter_, native=native)


def _native_mllib_als(case: Case, algo, data, be, ds) -> tuple[float, _Fitted]:
    from dmlbench.backends.natives import mllib_als

    make, n_blocks = _block_source(case, data)
    p = case.params
    out = mllib_als(
        be,
        make,
        n_blocks,
        rank=int(p.get("rank", 10)),
        reg_param=float(p.get("reg_param", 0.1)),
        max_iter=int(p.get("max_iter", 10)),
        seed=case.seed,
    )
    return out["seconds"], _Fitted(lambda d: out["rmse"], native=_described(out))


#: The native MLPs train their own way (MLlib: full-batch L-BFGS); this many iterations,
#: MLlib's default, is what their users would run.
NATIVE_MLP_MAX_ITER = 100


def _natives() -> dict[tuple[str, str], Callable]:
    from dmlbench.backends import natives

    def logistic(native):
        return _native_linear(
            native,
            "LogisticRegression",
            C=lambda c: float(c.params.get("C", 1.0)),
            max_iter=lambda c: int(c.params.get("max_iter", 500)),
            tol=lambda c: 1e-8,
        )

    table: dict[tuple[str, str], Callable] = {
        (name, "local"): _native_sklearn
        for name, spec in ALGORITHMS.items()
        if spec.sklearn is not None
    }
    table[("kmeans", "dask")] = _native_kmeans(natives.dask_ml_kmeans)
    table[("kmeans", "spark")] = _native_kmeans(natives.mllib_kmeans)
    table[("linear_regression", "dask")] = _native_linear(
        natives.dask_ml_linear_regression, "LinearRegression"
    )
    table[("linear_regression", "spark")] = _native_linear(
        natives.mllib_linear_regression, "LinearRegression"
    )
    table[("logistic_regression", "dask")] = logistic(natives.dask_ml_logistic_regression)
    table[("logistic_regression", "spark")] = logistic(natives.mllib_logistic_regression)
    table[("mlp", "local")] = _native_sklearn_mlp
    table[("mlp", "spark")] = _native_mllib_mlp
    table[("als", "spark")] = _native_mllib_als
    return table


NATIVES = _natives()
