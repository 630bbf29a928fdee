"""Synthetic datasets generated per block from ``(seed, block index)``.

Each function builds one block; pass it (with ``functools.partial`` for its parameters)
to ``backend.generate`` so the rows are made on the workers. The same function feeds the
engine-native comparators, so every implementation sees bit-identical data.
"""

from __future__ import annotations

import numpy as np

from backends import Block


def blob_centers(n_clusters: int, n_features: int, seed: int) -> np.ndarray:
    """The true centres of :func:`blobs_block`, shape (n_clusters, n_features)."""
    return np.random.default_rng([seed, 2**31]).uniform(-10, 10, size=(n_clusters, n_features))


def blobs_block(
    i: int,
    *,
    rows: int,
    n_features: int = 20,
    n_clusters: int = 8,
    spread: float = 1.0,
    seed: int = 0,
) -> Block:
    """Block ``i`` of Gaussian blobs, ``rows`` x ``n_features``; y = blob index.

    Centres are uniform in [-10, 10]^n_features; ``spread`` is each blob's standard
    deviation (large values overlap the blobs, so Lloyd needs many iterations).
    """
    rng = np.random.default_rng([seed, i])
    labels = rng.integers(0, n_clusters, size=rows)
    noise = spread * rng.standard_normal((rows, n_features))
    X = blob_centers(n_clusters, n_features, seed)[labels] + noise
    return Block(X, labels.astype(float))


def regression_block(
    i: int, *, rows: int, n_features: int = 20, noise: float = 1.0, seed: int = 0
) -> Block:
    """Block ``i`` of a linear model: X standard normal, y = X w + 3 + noise."""
    w = np.random.default_rng([seed, 2**31]).uniform(-5, 5, size=n_features)
    rng = np.random.default_rng([seed, i])
    X = rng.standard_normal((rows, n_features))
    return Block(X, X @ w + 3.0 + noise * rng.standard_normal(rows))
