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


def classification_block(
    i: int, *, rows: int, n_features: int = 20, n_classes: int = 3, seed: int = 0
) -> Block:
    """Block ``i`` of a classification problem: y from a noisy linear softmax of X."""
    W = np.random.default_rng([seed, 2**31]).normal(size=(n_features, n_classes))
    rng = np.random.default_rng([seed, i])
    X = rng.standard_normal((rows, n_features))
    scores = X @ W + rng.gumbel(size=(rows, n_classes))
    return Block(X, scores.argmax(axis=1).astype(float))


def image_templates(n_classes: int, side: int, seed: int) -> np.ndarray:
    """Smooth class templates, shape (n_classes, side, side), values in [0, 1]."""
    rng = np.random.default_rng([seed, 2**31])
    coarse = rng.random((n_classes, 4, 4))
    idx = np.minimum((np.arange(side) * 4) // side, 3)
    return coarse[:, idx][:, :, idx]


def images_block(
    i: int, *, rows: int, n_features: int = 64, n_classes: int = 10, seed: int = 0
) -> Block:
    """Block ``i`` of image-like data: a class template, shifted by up to one pixel,
    scaled, plus noise; images of ``sqrt(n_features)`` squared pixels, flattened."""
    side = int(round(np.sqrt(n_features)))
    if side * side != n_features:
        raise ValueError(f"images need a square number of features; got {n_features}")
    rng = np.random.default_rng([seed, i])
    labels = rng.integers(0, n_classes, size=rows)
    images = image_templates(n_classes, side, seed)[labels]
    shifts = rng.integers(-1, 2, size=(rows, 2))
    for axis in (0, 1):
        for s in (-1, 1):
            rows_s = shifts[:, axis] == s
            images[rows_s] = np.roll(images[rows_s], s, axis=axis + 1)
    images = images * rng.uniform(0.7, 1.3, size=(rows, 1, 1))
    images += 0.3 * rng.standard_normal(images.shape)
    return Block(images.reshape(rows, n_features), labels.astype(float))
