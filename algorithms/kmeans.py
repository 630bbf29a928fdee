"""K-means, written once: k-means‖ initialisation and Lloyd iterations on the workers.

Each Lloyd iteration is ONE aggregate: every block returns per-cluster sums of shape
(n_clusters, n_features), counts of shape (n_clusters,) and its inertia against the
broadcast centres; the driver divides. Convergence follows scikit-learn: stop when the
squared centre shift falls to ``tol`` x the mean feature variance (identical centres,
i.e. unchanged labels, always stop). A cluster that loses all its points keeps its
centre (Spark MLlib's rule; scikit-learn relocates it instead).

Random draws come from ``(random_state, step, block index)``, so the result is the same
on every backend and every worker count.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClusterMixin, TransformerMixin
from sklearn.utils import check_random_state

from dmlbench.algorithms.base import (
    DistributedEstimator,
    Trace,
    check_choice,
    check_positive_ints,
    free_if,
)
from dmlbench.algorithms.kernels import (
    add,
    add_tuples,
    block_moments,
    cost,
    labels_of,
    lloyd_partial,
    merge_moments,
    nearest_counts,
    oversample,
    sq_distances,
    take_rows,
    vstack,
)
from dmlbench.backends import Backend, Dataset


def kmeans_plusplus(X: np.ndarray, k: int, rng, weights: np.ndarray | None = None) -> np.ndarray:
    """Greedy weighted k-means++ seeding on the driver (small X: a sample or candidates).

    As scikit-learn: each step draws ``2 + ln k`` candidates with probability
    proportional to weight x squared distance, and keeps the one that lowers the
    potential most.

    Returns
    -------
    centers : ndarray of shape (k, n_features)
    """
    w = np.ones(X.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    trials = 2 + int(np.log(k))
    first = rng.choice(X.shape[0], p=w / w.sum())
    centers = [X[first]]
    d2 = sq_distances(X, X[first][None, :])[:, 0]
    for _ in range(1, k):
        p = w * d2
        total = p.sum()
        if total <= 0:  # every point already is a centre: any will do
            idx = rng.integers(X.shape[0], size=trials)
        else:
            idx = rng.choice(X.shape[0], size=trials, p=p / total)
        cand_d2 = np.minimum(d2[None, :], sq_distances(X[idx], X).reshape(trials, -1))
        best = int(np.argmin(cand_d2 @ w))
        centers.append(X[idx[best]])
        d2 = cand_d2[best]
    return np.array(centers)


def weighted_lloyd(X, weights, centers, n_iter: int = 30) -> np.ndarray:
    """A few weighted Lloyd iterations on the driver (to refine k-means‖ candidates)."""
    for _ in range(n_iter):
        labels = labels_of(X, centers)
        k = centers.shape[0]
        wsum = np.bincount(labels, weights=weights, minlength=k)
        new = centers.copy()
        for j in range(k):
            if wsum[j] > 0:
                new[j] = (weights[labels == j, None] * X[labels == j]).sum(axis=0) / wsum[j]
        if np.array_equal(new, centers):
            break
        centers = new
    return centers


class KMeans(TransformerMixin, ClusterMixin, DistributedEstimator):
    """K-means clustering on any backend.

    Parameters
    ----------
    n_clusters : int, default=8
    init : {"k-means||", "k-means++", "random"} or ndarray of shape (n_clusters, n_features)
        "k-means||": oversampling rounds on the workers, candidates weighted and reduced
        by weighted k-means++ on the driver (Bahmani et al.; Spark's default).
        "k-means++": scikit-learn's seeding on a uniform sample of ``sample_size`` rows.
        "random": ``n_clusters`` distinct rows drawn uniformly.
    n_init : int, default=1
        Initialisations tried; the one of lowest inertia is kept.
    max_iter : int, default=300
    tol : float, default=1e-4
        Relative to the mean feature variance, as in scikit-learn.
    init_steps : int, default=2
        k-means‖ oversampling rounds (Spark's default).
    oversampling_factor : float, default=2.0
        k-means‖ expected candidates per round, in multiples of ``n_clusters``.
    sample_size : int, default=10000
        Rows sampled for "k-means++".
    random_state : int, RandomState or None, default=None
    backend : str or started backend, default="local"

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,)
        Only for numpy input (a resident Dataset's labels stay on the workers until
        ``predict(ds)`` asks for them).
    inertia_ : float
        Sum of squared distances of the rows to their closest centre.
    n_iter_ : int
        Lloyd iterations of the kept initialisation.
    trace_ : list of dict
        Per Lloyd iteration of the kept initialisation: iteration, seconds, objective
        (inertia against the centres the iteration started from), center_shift.
    """

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means||",
        n_init=1,
        max_iter=300,
        tol=1e-4,
        init_steps=2,
        oversampling_factor=2.0,
        sample_size=10_000,
        random_state=None,
        backend="local",
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.init_steps = init_steps
        self.oversampling_factor = oversampling_factor
        self.sample_size = sample_size
        self.random_state = random_state
        self.backend = backend

    def fit(self, X, y=None):
        """Cluster numpy X of shape (n_samples, n_features), or a Dataset.

        ``y`` is ignored (scikit-learn's convention, so pipelines can pass it); so are
        the targets of a Dataset's blocks.
        """
        self._check_params()
        be, ds, owned = self._fit_data(X, y, supervised=False)
        try:
            m = be.aggregate(ds, block_moments, merge_moments)
            if m.n < self.n_clusters:
                raise ValueError(f"n_samples={m.n} should be >= n_clusters={self.n_clusters}.")
            tol = self.tol * float(np.mean(np.diag(m.cxx) / m.n))
            rng = check_random_state(self.random_state)
            best: tuple | None = None
            for _ in range(self.n_init):
                seed = int(rng.randint(np.iinfo(np.int32).max))
                centers = self._initial_centers(be, ds, m.n, seed)
                run = self._lloyd(be, ds, centers, tol)
                if best is None or run[1] < best[1]:
                    best = run
            assert best is not None  # n_init >= 1 runs (checked)
            self.cluster_centers_, self.inertia_, self.n_iter_, self.trace_ = best
            if owned:  # numpy input: labels_ as in scikit-learn, computed on the workers
                self.labels_ = self._per_block(ds, labels_of, "cluster_centers_")
        finally:
            free_if(be, ds, owned)
        return self

    def _check_params(self) -> None:
        check_positive_ints(self, "n_clusters", "n_init", "max_iter", "init_steps", "sample_size")
        if not isinstance(self.init, np.ndarray) and not hasattr(self.init, "__array__"):
            check_choice(self, "init", ("k-means||", "k-means++", "random"))

    def _initial_centers(self, be: Backend, ds: Dataset, n: int, seed: int) -> np.ndarray:
        k, rng = self.n_clusters, np.random.default_rng(seed)
        if not isinstance(self.init, str):
            centers = np.asarray(self.init, dtype=np.float64)
            if centers.shape != (k, self.n_features_in_):
                raise ValueError(
                    f"The shape of the initial centers {centers.shape} does not match "
                    f"(n_clusters, n_features) = {(k, self.n_features_in_)}."
                )
            return centers.copy()
        if self.init == "random":
            return self._sample(be, ds, rng, k)
        if self.init == "k-means++":
            sample = self._sample(be, ds, rng, min(n, self.sample_size))
            return kmeans_plusplus(sample, k, rng)
        # k-means||
        centers = self._sample(be, ds, rng, 1)
        for step in range(self.init_steps):
            potential = be.aggregate(ds, cost, add, be.broadcast(centers))
            if potential == 0:
                break
            scale = self.oversampling_factor * k / potential
            new = be.aggregate(ds, oversample, vstack, be.broadcast(centers), scale, seed, step)
            centers = np.vstack([centers, new])
        if centers.shape[0] < k:  # too few candidates: top up uniformly
            centers = np.vstack([centers, self._sample(be, ds, rng, k - centers.shape[0])])
        weights = be.aggregate(ds, nearest_counts, add, be.broadcast(centers))
        seeds = kmeans_plusplus(centers, k, rng, weights=np.maximum(weights, 1e-12))
        return weighted_lloyd(centers, weights, seeds)

    def _sample(self, be: Backend, ds: Dataset, rng, size: int) -> np.ndarray:
        """``size`` distinct rows drawn uniformly, in block order."""
        picks = np.sort(rng.choice(ds.n_samples, size=size, replace=False))
        bounds = np.cumsum((0,) + ds.block_sizes)
        owner = np.searchsorted(bounds, picks, side="right") - 1
        by_block = {int(b): picks[owner == b] - bounds[b] for b in np.unique(owner)}
        return be.aggregate(ds, take_rows, vstack, by_block)

    def _lloyd(self, be: Backend, ds: Dataset, centers: np.ndarray, tol: float) -> tuple:
        trace = Trace()
        inertia_at_centers = None
        n_iter = 0
        for n_iter in range(1, self.max_iter + 1):  # noqa: B007 - n_iter is used after
            sums, counts, inertia = be.aggregate(
                ds, lloyd_partial, add_tuples, be.broadcast(centers)
            )
            # An emptied cluster keeps its centre.
            new = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], centers)
            shift = float(((new - centers) ** 2).sum())
            trace.add(inertia, center_shift=shift)
            if shift == 0.0:
                inertia_at_centers = inertia
                break
            centers = new
            if shift <= tol:
                break
        if inertia_at_centers is None:  # the centres moved since the last inertia
            _, _, inertia_at_centers = be.aggregate(
                ds, lloyd_partial, add_tuples, be.broadcast(centers)
            )
        return centers, inertia_at_centers, n_iter, trace.rows

    def pass_work(self, n_samples: int) -> dict[str, Any]:
        """One Lloyd step: the scores against k centres (one d-long product and sum per
        row and centre: 2 d k flops, the expansion ||x||² - 2 x·c + ||c||²) and the
        per-cluster sums (d adds per row); reads X. Not counted: our one-hot product for
        the sums (k x those adds), an implementation's choice, not the algorithm's need."""
        n, d, k = n_samples, self.n_features_in_, self.cluster_centers_.shape[0]
        return {"kernel": "lloyd_partial", "bytes": 8 * n * d, "flops": 2 * n * d * k + n * d}

    def predict(self, X):
        """Index of the closest centre, shape (n_samples,), for numpy X or a Dataset."""
        return self._per_block(X, labels_of, "cluster_centers_")

    def fit_predict(self, X, y=None):
        return self.fit(X).predict(X)

    def transform(self, X):
        """Distances to each centre, shape (n_samples, n_clusters)."""
        return np.sqrt(self._per_block(X, sq_distances, "cluster_centers_"))

    def score(self, X, y=None):
        """Minus the inertia of X against the fitted centres (scikit-learn's sign)."""
        X = self._predict_data(X)
        if isinstance(X, Dataset):
            be = self._backend()
            return -be.aggregate(X, cost, add, be.broadcast(self.cluster_centers_))
        return -float(sq_distances(X, self.cluster_centers_).min(axis=1).sum())
