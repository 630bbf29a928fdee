"""Shared starting points: one per case, computed once outside every clock and given to
ours, the scikit-learn reference and every native library, so that they solve one problem.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from dmlbench.algorithms.base import N_BLOCKS
from dmlbench.backends import Block


@dataclass(frozen=True)
class Start:
    """The starting point of one case, computed once outside every clock and shared.

    ``params`` are the estimator parameters that pin it (k-means: ``{"init": centres}``),
    given to ours, the scikit-learn reference and every native library; ``record`` says
    how it was made (method, rows, seed, a digest of its values), for the results record.
    """

    params: dict[str, Any]
    record: dict[str, Any]


def digest(values: np.ndarray) -> str:
    """A short fingerprint of an array's float64 values: the first 12 hex digits of the
    sha1 of its C-ordered bytes (equal digests: the same start, bit for bit)."""
    data = np.ascontiguousarray(values, dtype=np.float64).tobytes()
    return hashlib.sha1(data).hexdigest()[:12]


#: Rows of block 0 the shared k-means start is drawn from (k-means++ is quadratic-ish in k
#: x rows on the driver; 20,000 rows keep it well under a second).
KMEANS_START_ROWS = 20_000


def kmeans_start(case: Any, make_block: Callable[[int], Block], seed: int) -> Start:
    """The one k-means start: k-means++ (ours' ``kmeans_plusplus``, scikit-learn's greedy
    rule) on the first 20,000 rows of block 0, drawn with ``numpy.random.default_rng(seed)``.

    Computed once per case on the driver, outside every clock; ours, the scikit-learn
    reference and every native library then run Lloyd from these centres, so their
    iterations (and answers) can be compared one for one. ``n_clusters``: the case's, else
    our ``KMeans``' default.
    """
    from dmlbench.algorithms.kmeans import KMeans, kmeans_plusplus

    k = case.params.get("n_clusters", KMeans().get_params()["n_clusters"])
    X = make_block(0).X[:KMEANS_START_ROWS]
    if X.shape[0] < k:
        raise ValueError(
            f"the shared k-means start needs n_clusters={k} rows in block 0, which has "
            f"{X.shape[0]}; expected at least {k}: use more n_samples (block 0 holds "
            f"1/{N_BLOCKS} of them) or fewer n_clusters"
        )
    centres = kmeans_plusplus(X, k, np.random.default_rng(seed))
    return Start(
        {"init": centres},
        {
            "method": "k-means++",
            "rows": f"first {X.shape[0]} of block 0",
            "seed": seed,
            "shape": list(centres.shape),
            "digest": digest(centres),
        },
    )
