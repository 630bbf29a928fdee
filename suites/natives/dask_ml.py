"""dask-ml, the ``dask`` backend's native library, on the backend's own ``Client``.

``prepare`` rebuilds the case's rows as dask arrays from the same block recipe (so they
are bit-identical to ours), persists them on the workers and waits until every chunk is
there; only the dask-ml ``fit`` is timed.
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager
from typing import Any

import numpy as np

from dmlbench.suites.natives.comparator import (
    Comparator,
    Fitted,
    NativeUnsupported,
    block_source,
    mean_variance,
    scored_by_ours,
    shared_centres,
    unpenalised_only,
)


class _DaskML(Comparator):
    """Persisted ``(X, y)`` dask arrays of the case's rows; subclasses fit."""

    library = "dask-ml"
    supervised = True  # whether y is loaded too

    def prepare(self, case, algo, data, be, ds) -> None:
        from distributed import futures_of

        self.case, self.algo, self.data, self.be = case, algo, data, be
        settings = be.info()["settings"]
        if settings.get("existing_cluster") and be.n_workers < settings["cluster_workers"]:
            # dask-ml's graphs go wherever the scheduler puts them: on every worker.
            raise NativeUnsupported(
                f"dask-ml on an existing cluster runs on all of its {settings['cluster_workers']}"
                f" workers, not the {be.n_workers} this case uses (not restricted yet)"
            )
        self.make, n_blocks = block_source(case, data)
        client = be.native()
        self.X, self.y = _dask_arrays(client, self.make, n_blocks, self.supervised)
        arrays = [self.X] if self.y is None else [self.X, self.y]
        self.placement = _chunks_per_worker(client, futures_of(arrays))

    def verify(self) -> None:
        # Spilled chunks would be read back from disk inside the timed fits; ours' blocks
        # live outside Dask's spillable store, so only this side can spill.
        spilled = {w: n for w, n in self.be.native().run(_spilled).items() if n}
        if spilled:
            raise RuntimeError(
                f"Dask spilled the native library's input to disk during the fits ({spilled} "
                "keys per worker): those fits read it back from disk. Expected it all in "
                "worker memory; use fewer rows or workers with more memory."
            )

    def release(self) -> None:
        # Dropping the last reference releases the persisted chunks on the workers.
        self.X = self.y = None

    def _scored(self, fitted, native, n_iter=None) -> Fitted:
        # Where its input sits: chunks of X (and y) per worker, sorted.
        native["input"] = {"chunks_per_worker": self.placement}
        return scored_by_ours(
            self.case, self.algo, self.data, self.be, fitted, native=native, n_iter=n_iter
        )


def dask_ml_kmeans_tol(tol: float, mean_var: float) -> float:
    """dask-ml ``KMeans``' ``tol`` for scikit-learn's ``tol``.

    scikit-learn (and ours) stop when the sum of squared centre shifts is at most ``tol``
    times the mean column variance of X; dask-ml compares the same sum with ``tol`` as an
    absolute number (``shift < tol``), so it gets ``tol * mean_var``.
    """
    return tol * mean_var


#: Why dask-ml stopped by a positive ``tol`` is not ours' problem any more.
DASK_ML_KMEANS_REASON = (
    "dask-ml, stopping by tol > 0, keeps the centres from before its last Lloyd step "
    "(dask_ml/cluster/k_means.py: it breaks before 'centers = new_centers'), one step "
    "behind ours from the same start: checked one-sided at the tolerance of a different "
    "start instead of 1e-6 (with tol = 0 it runs every max_iter step and is checked at 1e-6)"
)


class KMeansComparator(_DaskML):
    """dask-ml ``KMeans`` from the case's shared start (``start.params["init"]``): at most
    ``max_iter`` Lloyd steps, until the summed squared centre shift is below ``tol`` in
    dask-ml's absolute units (:func:`dask_ml_kmeans_tol`; 0: every step)."""

    supervised = False

    def case_settings(self, case, algo) -> dict[str, Any]:
        params = algo.ours_params(case.params)
        return {"max_iter": params["max_iter"], "case_tol": params["tol"]}

    def prepare(self, case, algo, data, be, ds) -> None:
        super().prepare(case, algo, data, be, ds)
        self.init = shared_centres(self)
        settings = self.case_settings(case, algo)
        self.max_iter, self.tol = settings["max_iter"], settings["case_tol"]
        # Untimed, from the same rows; not needed when tol is 0 (every step runs).
        self.tol_abs = dask_ml_kmeans_tol(self.tol, mean_variance(be, ds) if self.tol else 0.0)

    def fit(self) -> Fitted:
        from dask_ml.cluster import KMeans

        model = KMeans(
            n_clusters=self.init.shape[0], init=self.init, max_iter=self.max_iter, tol=self.tol_abs
        ).fit(self.X)
        n_iter = int(model.n_iter_)
        native: dict[str, Any] = {
            "impl": "dask-ml KMeans",
            "settings": {
                "init": f"shared start {self.start.record['digest']}" if self.start else None,
                "tol": self.tol_abs,  # dask-ml's absolute units
                "case_tol": self.tol,  # scikit-learn's (relative to the mean variance)
                "max_iter": self.max_iter,
            },
            "n_iter": n_iter,
            # Its own inertia_, kept to show it: unsquared distances when the loop ends by
            # max_iter (dask-ml 2025.1.0). The metric is recomputed from its centres.
            "reported": {"inertia": float(model.inertia_)},
        }
        if self.tol > 0 and self.algo.starts.own_tolerance is not None:
            native["tolerance"] = {
                "value": self.algo.starts.own_tolerance,
                "reason": DASK_ML_KMEANS_REASON,
            }
        centers = model.cluster_centers_
        return self._scored(lambda: {"cluster_centers_": np.asarray(centers)}, native, n_iter)


class LinearRegressionComparator(_DaskML):
    """dask-ml ``LinearRegression(solver="newton")``: unpenalised least squares.

    dask-ml's default is ADMM with an L2 penalty of 1 on every coefficient, the intercept
    included; ``newton`` drops the penalty, and on a quadratic loss one Newton step is the
    normal-equations solution, so this solves the same problem as ours: a case with a
    ridge penalty (ours' ``alpha``) is skipped.
    """

    def skip_reason(self, case) -> str | None:
        return unpenalised_only(case, "dask-ml's LinearRegression(solver='newton')")

    def fit(self) -> Fitted:
        from dask_ml.linear_model import LinearRegression

        model = LinearRegression(solver="newton", fit_intercept=True).fit(self.X, self.y)
        native = {
            "impl": "dask-ml LinearRegression(newton)",
            "settings": {"solver": "newton", "penalty": None, "fit_intercept": True},
        }
        return self._scored(
            lambda: {"coef_": np.asarray(model.coef_), "intercept_": float(model.intercept_)},
            native,
        )


DASK_ML_LOGISTIC_REASON = (
    "dask-ml minimises ours' objective plus b²/(2n) in ours' units (dask_glm penalises the "
    "intercept b too: Σ log-loss + ||[w, b]||²/(2C) is n/C times ours plus that term), so "
    "at its optimum ours' objective exceeds our optimum by at most (b*² - b²)/(2n) (b*: "
    "our optimum's intercept, b: dask-ml's); checked one-sided at ours' relative 1e-6 plus "
    "b²/n, twice the penalty at its own intercept (a bound while the penalty shrinks the "
    "intercept by less than 42 %; measured at 1M rows it adds 9e-11: tolerance 1.00009e-6)"
)


def dask_glm_pgtol(tol: float, n_samples: int, C: float) -> float:
    """dask_glm's L-BFGS ``pgtol`` for ours' gradient tolerance ``tol``.

    dask_glm (``algorithms.lbfgs``) minimises ``Σ log-loss + ||β||² / (2 C)`` with scipy's
    ``fmin_l_bfgs_b(pgtol=tol)``, the max-norm of that objective's gradient; ours minimises
    ``(C Σ log-loss + ½ ||W||²) / n``, which is ``C / n`` times it. So ours' rule
    ``||∇ ours||∞ <= tol`` is ``||∇ dask_glm||∞ <= tol · n / C``: passing ``tol`` unchanged
    would ask dask-ml for a gradient ``n / C`` times smaller than ours.
    """
    return tol * n_samples / C


class LogisticRegressionComparator(_DaskML):
    """dask-ml ``LogisticRegression(solver="lbfgs", C=C)``, binary labels only.

    dask-ml's objective is ``sum(log-loss) + ||[w, b]||^2 / (2 C)``: unlike scikit-learn
    and ours it also penalises the intercept ``b``; recorded in the settings.
    """

    def case_settings(self, case, algo) -> dict[str, Any]:
        params = algo.ours_params(case.params)
        return {
            "C": float(params["C"]),
            "max_iter": int(params["max_iter"]),
            "case_tol": float(params["tol"]),
        }

    def prepare(self, case, algo, data, be, ds) -> None:
        from distributed import futures_of, wait

        super().prepare(case, algo, data, be, ds)
        self.classes = np.unique(self.y.compute())
        if len(self.classes) != 2:
            raise NativeUnsupported(
                "dask-ml LogisticRegression is binary only; this dataset has "
                f"{len(self.classes)} classes"
            )
        # Labels as 0/1, computed and resident before the clock like X.
        self.y = be.native().persist((self.y == self.classes[1]).astype(np.float64))
        wait(futures_of(self.y))
        settings = self.case_settings(case, algo)
        self.C, self.max_iter, self.tol = settings["C"], settings["max_iter"], settings["case_tol"]
        self.pgtol = dask_glm_pgtol(self.tol, int(self.X.shape[0]), self.C)

    def fit(self) -> Fitted:
        from dask_ml.linear_model import LogisticRegression

        with _lbfgs_info() as lbfgs:
            model = LogisticRegression(
                solver="lbfgs",
                C=self.C,
                max_iter=self.max_iter,
                tol=self.pgtol,
                fit_intercept=True,
                # dask_glm standardises the columns by default, which moves the penalty
                # onto w·std: off, so only the intercept's penalty differs from ours.
                solver_kwargs={"normalize": False},
            ).fit(self.X, self.y)
        intercept = float(model.intercept_)
        n_samples = int(self.X.shape[0])
        native = {
            "impl": "dask-ml LogisticRegression(lbfgs)",
            "settings": {
                "solver": "lbfgs",
                "C": self.C,
                "max_iter": self.max_iter,
                "tol": self.pgtol,  # dask_glm's pgtol, on its own objective's gradient
                "case_tol": self.tol,  # ours' (the max-norm of ours' gradient)
                # scipy's other stopping rule, which dask_glm leaves at its default: a
                # relative objective decrease below factr * eps (about 2.2e-9); ours has
                # none (ftol = 0), so dask-ml may stop earlier, never later.
                "factr": SCIPY_DEFAULT_FACTR,
                "intercept_penalised": True,
                "normalize": False,
            },
            # What stopped scipy's L-BFGS inside dask_glm, read from its own report.
            "lbfgs": {k: lbfgs.get(k) for k in ("nit", "funcalls", "warnflag", "task")},
            # Excess objective its own problem allows, in ours' units (see the reason).
            "tolerance": {"excess": intercept**2 / n_samples, "reason": DASK_ML_LOGISTIC_REASON},
        }
        classes = self.classes
        n_iter = lbfgs.get("nit")
        return self._scored(
            lambda: {
                "coef_": np.asarray(model.coef_).reshape(1, -1),
                "intercept_": np.atleast_1d(intercept),
                "classes_": classes,
            },
            native,
            None if n_iter is None else int(n_iter),
        )


#: ``scipy.optimize.fmin_l_bfgs_b``'s default ``factr``.
SCIPY_DEFAULT_FACTR = 1e7


@contextmanager
def _lbfgs_info():
    """Capture the ``info`` dict of the ``fmin_l_bfgs_b`` call dask_glm's ``lbfgs`` makes
    (iterations, evaluations, why it stopped), which dask-ml throws away.

    dask_glm calls the name it imported, ``dask_glm.algorithms.fmin_l_bfgs_b``; it is
    wrapped for the duration of one fit (one extra Python call per fit, inside the clock)
    and restored after.
    """
    # dask-ml's dependency, without type information.
    glm: Any = importlib.import_module("dask_glm.algorithms")
    info: dict[str, Any] = {}
    real = glm.fmin_l_bfgs_b

    def recording(*args: Any, **kwargs: Any):
        x, f, d = real(*args, **kwargs)
        info.update(d)
        return x, f, d

    glm.fmin_l_bfgs_b = recording
    try:
        yield info
    finally:
        glm.fmin_l_bfgs_b = real


def _dask_arrays(client: Any, make_block, n_blocks: int, with_y: bool = True):
    """(X, y) as dask arrays of the same blocks, persisted on the workers and complete
    (every chunk computed, chunk sizes known); y is None without ``with_y`` or labels."""
    import dask
    import dask.array as da
    from distributed import futures_of, wait

    first = make_block(0)
    blocks = [dask.delayed(make_block)(i) for i in range(n_blocks)]
    X = da.concatenate(
        [
            da.from_delayed(b.X, shape=(np.nan, first.X.shape[1]), dtype=first.X.dtype)
            for b in blocks
        ],
        axis=0,
        allow_unknown_chunksizes=True,
    )
    y = None
    if with_y and first.y is not None:
        y = da.concatenate(
            [da.from_delayed(b.y, shape=(np.nan,), dtype=first.y.dtype) for b in blocks],
            allow_unknown_chunksizes=True,
        )
    X, y = client.persist([X, y]) if y is not None else (client.persist(X), None)
    futures = futures_of([X] if y is None else [X, y])
    wait(futures)
    counts = _chunks_per_worker(client, futures)
    if counts[-1] - counts[0] > 2:
        # The scheduler placed the chunks unevenly, while ours holds an even contiguous
        # share per worker: balanced before the clock (one X and one y chunk per block).
        client.rebalance(futures)
    X.compute_chunk_sizes()
    if y is not None:
        y.compute_chunk_sizes()
    return X, y


def _spilled(dask_worker: Any) -> int:
    """How many keys this worker holds on disk (its spill buffer's ``slow`` store; a
    worker without a memory limit keeps a plain dict and never spills)."""
    return len(getattr(dask_worker.data, "slow", ()))


def _chunks_per_worker(client: Any, futures) -> list[int]:
    """How many of ``futures``' chunks each worker holds, sorted (every worker counted)."""
    counts = dict.fromkeys(client.scheduler_info()["workers"], 0)
    for holders in client.who_has(futures).values():
        for worker in holders[:1]:
            counts[worker] = counts.get(worker, 0) + 1
    return sorted(counts.values())
