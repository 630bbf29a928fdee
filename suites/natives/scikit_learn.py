"""scikit-learn, the ``local`` backend's native library: one core, rows in memory.

The rows are collected from the resident dataset before the clock, and BLAS/OpenMP are
held at one thread from ``prepare`` to ``release`` (the ``local`` backend is one worker),
so the timed window is scikit-learn's ``fit`` alone.
"""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any

import numpy as np

from dmlbench.suites.define.starts import digest
from dmlbench.suites.define.workloads import ALGORITHMS
from dmlbench.suites.natives.comparator import Comparator, Fitted, native_mlp_budget


class _OneCore(Comparator):
    """Collects the resident rows and pins one thread; subclasses fit."""

    library = "scikit-learn"

    def prepare(self, case, algo, data, be, ds) -> None:
        from threadpoolctl import threadpool_limits

        self.case, self.algo = case, algo
        blocks = be.collect(ds)
        # (n_samples, n_features) and (n_samples,) or None; None again after release.
        self.X: np.ndarray | None = np.vstack([b.X for b in blocks])
        self.y = None if blocks[0].y is None else np.concatenate([b.y for b in blocks])
        self._threads: Any = threadpool_limits(limits=1)
        self.threads = one_thread_pools()

    def release(self) -> None:
        threads = getattr(self, "_threads", None)
        if threads is not None:
            threads.restore_original_limits()
        self._threads = self.X = self.y = None


def one_thread_pools() -> list[dict[str, Any]]:
    """The thread pools (BLAS, OpenMP) this process has, checked at one thread each: what
    a one-core native really ran with, for its record.

    Raises
    ------
    RuntimeError
        A pool that ``threadpool_limits(1)`` did not bring down to one thread.
    """
    from threadpoolctl import threadpool_info

    pools = [
        {k: p.get(k) for k in ("user_api", "internal_api", "version", "num_threads")}
        for p in threadpool_info()
    ]
    many = [p for p in pools if p["num_threads"] != 1]
    if many:
        raise RuntimeError(
            f"scikit-learn must run on one core, but these thread pools have more than one "
            f"thread after threadpool_limits(1): {many}"
        )
    return pools


class BaselineComparator(_OneCore):
    """scikit-learn's estimator for the algorithm as a rival: ``AlgorithmSpec.baseline``,
    else its ``reference``.

    It solves the same problem at ours' stopping rule (the same ``C``, ``alpha``,
    ``n_clusters``, ``max_iter``, and ``tol`` in scikit-learn's units), as a user would run
    it; where the reference is solved tighter to check answers (logistic regression), the
    strict fit is never the one timed.
    """

    def skip_reason(self, case) -> str | None:
        if ALGORITHMS[case.algorithm].make_baseline(case.params) is None:
            return f"scikit-learn has no estimator for {case.algorithm} declared as its baseline"
        return None

    def _baseline(self, case, algo) -> Any:
        """scikit-learn's estimator for ``case``, or None: the case's seed and shared start
        applied as for ours (k-means: ``KMeans(init=centres, n_init=1)``), ours' defaults
        where the case names none."""
        return algo.make_baseline(algo.run_params(case, self.start))

    def case_settings(self, case, algo) -> dict[str, Any]:
        est = self._baseline(case, algo)
        return {} if est is None else est.get_params()

    def prepare(self, case, algo, data, be, ds) -> None:
        super().prepare(case, algo, data, be, ds)
        # Its settings worked out untimed: the clock holds scikit-learn's own constructor
        # and fit, as a user's would, and none of ours (reading ours' defaults).
        est = self._baseline(case, algo)
        self._build = partial(est.__class__, **est.get_params())

    def fit(self) -> Fitted:
        algo, X, y = self.algo, self.X, self.y
        est = self._build()
        algo.fit(est, X, y)
        n_iter = getattr(est, "n_iter_", None)  # per class for some (LogisticRegression)
        n_iter = None if n_iter is None else int(np.max(n_iter))
        return Fitted(
            lambda d: algo.score(est, X, y),
            n_iter,
            native={
                "impl": f"scikit-learn {type(est).__name__}",
                # An array setting (the shared start's centres) by its digest.
                "settings": {
                    k: f"array {digest(v)}" if isinstance(v, np.ndarray) else v
                    for k, v in est.get_params().items()
                },
                "n_iter": n_iter,
                "threads": self.threads,
            },
        )


class MLPComparator(_OneCore):
    """scikit-learn's ``MLPClassifier`` (ReLU, like ours) on the collected rows, one core."""

    def case_settings(self, case, algo) -> dict[str, Any]:
        return self._estimator(case, algo, algo.ours_params(case.params)).get_params()

    def _estimator(self, case, algo, params: dict[str, Any]) -> Any:
        """scikit-learn's MLP for ``case`` (a time-to-target search changes its budget
        between fits), with ours' parameters ``params``: the case's, else ours' defaults."""
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(
            hidden_layer_sizes=tuple(params["hidden_layer_sizes"]),
            solver="lbfgs" if params["solver"] == "lbfgs" else "adam",
            max_iter=native_mlp_budget(algo, case),
            # The hyperparameters both estimators name alike (scikit-learn's convention).
            **{k: params[k] for k in ("learning_rate_init", "batch_size", "alpha")},
            random_state=algo.seed_of(case),
        )

    def fit(self) -> Fitted:
        from sklearn.exceptions import ConvergenceWarning

        algo, X, y = self.algo, self.X, self.y
        ref = self._estimator(self.case, algo, self._ours)
        with warnings.catch_warnings():  # not converging in max_iter is a result, not an error
            warnings.simplefilter("ignore", ConvergenceWarning)
            ref.fit(X, y)
        return Fitted(
            lambda d: algo.score(ref, X, y),
            ref.n_iter_,
            native={
                "impl": "scikit-learn MLPClassifier",
                "settings": ref.get_params(),
                "n_iter": ref.n_iter_,
                "threads": self.threads,
            },  # fmt: skip
            held_out=lambda test: float(ref.score(*self.held_out_arrays)),
        )

    def prepare(self, case, algo, data, be, ds) -> None:
        super().prepare(case, algo, data, be, ds)
        self._ours = algo.ours_params(case.params)  # untimed: only the budget changes
        # The held-out rows as numpy too, untimed (scored after each clock stops).
        if self.held_out_rows is not None:
            blocks = be.collect(self.held_out_rows)
            self.held_out_arrays = (
                np.vstack([b.X for b in blocks]),
                np.concatenate([b.y for b in blocks]),
            )
