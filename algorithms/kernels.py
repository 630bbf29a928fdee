"""Everything the estimators ship to the workers: numpy and scipy, and the compiled loops
of :mod:`dmlbench.algorithms.compiled` (numba, imported on first use).

Workers import this module (functions travel by reference), so it must stay light: no
scikit-learn (whose import costs ~1 s per worker process), no estimator classes. The
driver-side halves live in the estimator modules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from dmlbench.algorithms.nets import logsumexp_rows
from dmlbench.backends import Block, block_index

BETA1, BETA2, EPS = 0.9, 0.999, 1e-8  # Adam's constants


@dataclass(frozen=True)
class Moments:
    """Count, means and centred cross-products of (X, y), merged exactly (Chan et al.).

    Attributes
    ----------
    n : int
    mean_x : ndarray of shape (n_features,)
    mean_y : float
    cxx : ndarray of shape (n_features, n_features)
        Σ (x - mean_x)(x - mean_x)ᵀ
    cxy : ndarray of shape (n_features,)
        Σ (x - mean_x)(y - mean_y)
    cyy : float
        Σ (y - mean_y)²
    finite : bool
    """

    n: int
    mean_x: np.ndarray
    mean_y: float
    cxx: np.ndarray
    cxy: np.ndarray
    cyy: float
    finite: bool


def block_moments(block: Block) -> Moments:
    """:class:`Moments` of one block (y taken as 0 when the block has none)."""
    X = block.X
    n, d = X.shape
    y = block.y if block.y is not None else np.zeros(n)
    if n == 0:
        return Moments(0, np.zeros(d), 0.0, np.zeros((d, d)), np.zeros(d), 0.0, True)
    mx, my = X.mean(axis=0), float(y.mean())
    Xc, yc = X - mx, y - my
    finite = bool(np.isfinite(mx).all() and np.isfinite(my))
    return Moments(n, mx, my, Xc.T @ Xc, Xc.T @ yc, float(yc @ yc), finite)


def merge_moments(a: Moments, b: Moments) -> Moments:
    """Associative merge of two :class:`Moments`."""
    if a.n == 0:
        return b if b.n else a
    if b.n == 0:
        return a
    n = a.n + b.n
    dx, dy = b.mean_x - a.mean_x, b.mean_y - a.mean_y
    w = a.n * b.n / n
    return Moments(
        n,
        a.mean_x + dx * (b.n / n),
        a.mean_y + dy * (b.n / n),
        a.cxx + b.cxx + w * np.outer(dx, dx),
        a.cxy + b.cxy + w * dx * dy,
        a.cyy + b.cyy + w * dy * dy,
        a.finite and b.finite,
    )


def block_stats(block: Block) -> tuple[int, int, bool, bool]:
    finite = bool(np.isfinite(block.X).all()) and (
        block.y is None or bool(np.isfinite(block.y).all())
    )
    return block.n_samples, block.X.shape[1], block.y is not None, finite


def merge_stats(a: tuple, b: tuple) -> tuple:
    if a[1] != b[1]:
        raise ValueError(f"blocks disagree on n_features: {a[1]} vs {b[1]}")
    return a[0] + b[0], a[1], a[2] and b[2], a[3] and b[3]


def apply_to_X(block: Block, fn: Callable, *args: Any) -> np.ndarray:
    return fn(block.X, *args)


def concat(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.concatenate([a, b])


def block_y(block: Block) -> np.ndarray:
    """The block's targets; a clear error for a block without them (``y=None``)."""
    if block.y is None:
        raise ValueError(
            "this step needs the targets of every block, but a block has y=None: "
            "build the Dataset from Blocks with y"
        )
    return block.y


def add_tuples(a: tuple, b: tuple) -> tuple:
    """Element-wise sum of two tuples of partial sums (the usual ``combine``)."""
    return tuple(x + y for x, y in zip(a, b, strict=True))


def add(a, b):
    return a + b


def head_rows(block: Block, n: int) -> np.ndarray:
    """The block's first ``n`` rows of X (a sample that costs no shuffle)."""
    return block.X[:n]


def vstack(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.vstack([a, b])


def linear_predict(X: np.ndarray, coef: np.ndarray, intercept: Any) -> np.ndarray:
    return X @ coef.T + intercept


def squared_loss_grad(block: Block, w: np.ndarray, b: float) -> tuple:
    """Σ r², Xᵀr, Σ r for r = X w + b - y: shapes (), (n_features,), ()."""
    r = block.X @ w + b - block_y(block)
    return float(r @ r), block.X.T @ r, float(r.sum())


#: Rows per chunk in the numpy kernels (k-means' nearest centres, the logistic loss):
#: bounds the temporaries and keeps a chunk (1.3 MB at 20 features, 2 MB at 30) in cache
#: for the passes over it, whatever the block size. Measured on 2M x 20, k = 8, one core
#: (medians of 5, one run each): 8192 rows 201-230 ms per numpy Lloyd iteration, 32768
#: rows 228-266 ms, 2048 rows 237-321 ms; the logistic loss + gradient over 2M x 30
#: (medians of 7): 8192 rows 227 ms, 2048 rows 238, 32768 rows 249, unchunked 332.
CHUNK_ROWS = 8192


def logistic_loss_grad(block: Block, W: np.ndarray, classes: np.ndarray) -> tuple:
    """Σ log-loss and its gradient w.r.t. ``W`` of shape (rows, n_features + 1).

    In chunks of :data:`CHUNK_ROWS` rows: each chunk's two matrix products (``X @ w`` and
    ``r @ X``) read it while it is still in cache, so X crosses the memory bus once per
    evaluation, not twice (1.46x faster on one core, 2M x 30, 7 interleaved repeats;
    README). Binary (``rows == 1``): with the margin ``m = -z`` for the positive class and
    ``z`` for the other (``z = X w + b``), the loss is ``softplus(m) = max(m, 0) +
    log1p(e)`` and the residual ``expit(z) - t`` is ``±expit(m)``, both from one
    ``e = exp(-|m|)``: one exponential and one ``log1p`` per row, stable for any ``|z|``
    (scipy's ``log_expit`` twice and ``expit`` once cost 1.25x as much here).
    Multinomial: softmax, the same chunks.
    """
    X, y, d = block.X, block_y(block), block.X.shape[1]
    rows = W.shape[0]
    loss, grad = 0.0, np.zeros((rows, d + 1))
    for start in range(0, X.shape[0], CHUNK_ROWS):
        chunk, yc = X[start : start + CHUNK_ROWS], y[start : start + CHUNK_ROWS]
        if rows == 1:  # binary: y in {0, 1}, sigmoid
            z = chunk @ W[0, :d] + W[0, d]
            positive = yc == classes[1]
            m = np.where(positive, -z, z)
            e = np.exp(-np.abs(m))
            loss += float((np.maximum(m, 0.0) + np.log1p(e)).sum())
            s = np.where(m >= 0, 1.0, e) / (1.0 + e)  # expit(m)
            r = np.where(positive, -s, s)  # expit(z) - t
            grad[0, :d] += r @ chunk
            grad[0, d] += r.sum()
            continue
        Z = chunk @ W[:, :d].T + W[:, d]  # (rows, n_classes)
        T = (yc[:, None] == classes[None, :]).astype(float)
        lse = logsumexp_rows(Z)
        loss += float((lse[:, 0] - (Z * T).sum(axis=1)).sum())
        R = np.exp(Z - lse) - T
        grad[:, :d] += R.T @ chunk
        grad[:, d] += R.sum(axis=0)
    return loss, grad



def sq_distances(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances, shape (n_samples, n_centers), clipped at 0."""
    d2 = X @ (-2.0 * centers.T)
    d2 += np.einsum("ij,ij->i", X, X)[:, None]
    d2 += np.einsum("ij,ij->i", centers, centers)
    return np.maximum(d2, 0.0, out=d2)


def _scores(chunk: np.ndarray, neg2c: np.ndarray, c_sq: np.ndarray) -> np.ndarray:
    """``||c||² - 2 c·x`` for every centre and row, shape (n_centers, n_rows): the squared
    distance less ``||x||²``, which is the same for every centre (the argmin needs none).

    Centres first: numpy's argmin and min down axis 0 compare whole contiguous rows (3x
    faster than along the short axis 1 of the (rows, centres) layout)."""
    scores = neg2c @ chunk.T
    scores += c_sq
    return scores


def nearest(X: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closest centre of each row and the squared distance to it, in row chunks.

    Returns
    -------
    labels : ndarray of shape (n_samples,), int
    min_d2 : ndarray of shape (n_samples,)
    """
    labels = np.empty(X.shape[0], dtype=np.intp)
    min_d2 = np.empty(X.shape[0])
    neg2c = -2.0 * centers
    c_sq = np.einsum("ij,ij->i", centers, centers)[:, None]
    for start in range(0, X.shape[0], CHUNK_ROWS):
        chunk = X[start : start + CHUNK_ROWS]
        scores = _scores(chunk, neg2c, c_sq)
        labels[start : start + CHUNK_ROWS] = scores.argmin(axis=0)
        best = scores.min(axis=0) + np.einsum("ij,ij->i", chunk, chunk)
        min_d2[start : start + CHUNK_ROWS] = np.maximum(best, 0.0)
    return labels, min_d2


def labels_of(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Index of the closest centre for each row, shape (n_samples,)."""
    return nearest(X, centers)[0]


def lloyd_partial(block: Block, centers: np.ndarray) -> tuple:
    """(sums (k, d), counts (k,), inertia) of one block against ``centers``: compiled
    (:func:`dmlbench.algorithms.compiled.lloyd_step`, scikit-learn's fused chunk loop),
    on C-ordered float64 arrays only, the centres writable: the specialisations
    :func:`warm_compiled` made, so a fit compiles none."""
    from dmlbench.algorithms.compiled import lloyd_step  # numba: on first use only

    X = np.ascontiguousarray(block.X, dtype=np.float64)
    # The centres always as a fresh writable copy (k x d: nothing to save): a broadcast
    # one may be read-only, another type to numba, another compile.
    return lloyd_step(X, np.array(centers, dtype=np.float64, order="C"))


def warm_compiled(block: Block) -> frozenset[int]:
    """Compile (or load from the on-disk cache) the compiled kernels in this worker
    process, for the block's own array (its writability is part of numba's type: Ray's
    object store hands out read-only arrays): what the runner's ``compile_s`` phase times,
    once per case, before any fit. Returns ``{this process's pid}`` (combined by union)."""
    import os

    from dmlbench.algorithms.compiled import warm_up

    warm_up(block.X.flags.writeable)
    return frozenset({os.getpid()})


def lloyd_partial_numpy(block: Block, centers: np.ndarray) -> tuple:
    """(sums (k, d), counts (k,), inertia) of one block against ``centers``, in numpy: the
    compiled kernel's check (same sums to about 1e-14) and what it replaced.

    Per chunk: the scores (one matrix product), their argmin and min, and the per-cluster
    sums as one more product with the one-hot labels (k x the flops of a scatter-add, but
    BLAS; numpy has no fast scatter-add). The inertia is each row's squared distance,
    clipped at 0, as :func:`nearest` gives it (adding ``Σ ||x||²`` once per chunk instead
    would lose digits to cancellation on data far from the origin).
    """
    X = block.X
    k = centers.shape[0]
    sums, counts, inertia = np.zeros(centers.shape), np.zeros(k), 0.0
    ids = np.arange(k)[:, None]
    neg2c = -2.0 * centers
    c_sq = np.einsum("ij,ij->i", centers, centers)[:, None]
    for start in range(0, X.shape[0], CHUNK_ROWS):
        chunk = X[start : start + CHUNK_ROWS]
        scores = _scores(chunk, neg2c, c_sq)
        onehot = ids == scores.argmin(axis=0)  # (k, rows)
        best = scores.min(axis=0) + np.einsum("ij,ij->i", chunk, chunk)
        inertia += float(np.maximum(best, 0.0).sum())
        sums += onehot.astype(np.float64) @ chunk
        counts += onehot.sum(axis=1)
    return sums, counts, inertia


def cost(block: Block, centers: np.ndarray) -> float:
    """Σ min squared distance to ``centers`` over the block."""
    if block.X.shape[0] == 0:
        return 0.0
    return float(nearest(block.X, centers)[1].sum())


def oversample(block: Block, centers: np.ndarray, scale: float, seed: int, step: int):
    """k-means‖ step: keep each row with probability min(1, scale · d²(x, centers))."""
    X = block.X
    if X.shape[0] == 0:
        return X
    rng = np.random.default_rng([seed, step, block_index()])
    p = scale * nearest(X, centers)[1]
    return X[rng.random(X.shape[0]) < p]


def nearest_counts(block: Block, centers: np.ndarray) -> np.ndarray:
    """How many rows of the block each centre is closest to, shape (n_centers,)."""
    if block.X.shape[0] == 0:
        return np.zeros(centers.shape[0])
    return np.bincount(labels_of(block.X, centers), minlength=centers.shape[0]).astype(float)


def take_rows(block: Block, picks: dict[int, np.ndarray]) -> np.ndarray:
    """The rows of this block named in ``picks[block index]``."""
    return block.X[picks.get(block_index(), np.empty(0, dtype=int))]


def class_index(block: Block, classes: np.ndarray) -> np.ndarray:
    return np.searchsorted(classes, block_y(block))


def batch_grad(block, net, theta, classes, batch: int, seed: int, step: int) -> tuple:
    """(Σ loss, Σ gradient, rows) over a mini-batch of ``batch`` rows of this block."""
    n = block.n_samples
    if n == 0:
        return 0.0, np.zeros_like(theta), 0
    rng = np.random.default_rng([seed, step, block_index()])
    rows = rng.choice(n, size=min(batch, n), replace=False)
    # The batch's class indices only: the whole block's, per batch, was a search over
    # every row for 200 of them.
    labels = np.searchsorted(classes, block_y(block)[rows])
    loss, grad = net.loss_grad(theta, block.X[rows], labels)
    return loss, grad, len(rows)


def full_grad(block, net, theta, classes) -> tuple:
    """(Σ loss, Σ gradient, rows) over the whole block."""
    if block.n_samples == 0:
        return 0.0, np.zeros_like(theta), 0
    loss, grad = net.loss_grad(theta, block.X, class_index(block, classes))
    return loss, grad, block.n_samples


def adam_step(theta, grad, state: dict, lr: float) -> np.ndarray:
    """One Adam update; ``state`` holds the moments and the step count."""
    state["t"] += 1
    state["m"] = BETA1 * state["m"] + (1 - BETA1) * grad
    state["v"] = BETA2 * state["v"] + (1 - BETA2) * grad * grad
    m_hat = state["m"] / (1 - BETA1 ** state["t"])
    v_hat = state["v"] / (1 - BETA2 ** state["t"])
    return theta - lr * m_hat / (np.sqrt(v_hat) + EPS)


def adam_state(theta) -> dict:
    return {"t": 0, "m": np.zeros_like(theta), "v": np.zeros_like(theta)}


def local_train(block, net, theta, classes, mask, epochs, batch, lr, alpha, seed, rnd):
    """Local epochs of Adam on this block from ``theta``: (rows x theta, Σ loss, rows)."""
    n = block.n_samples
    if n == 0:
        return np.zeros_like(theta), 0.0, 0
    rng = np.random.default_rng([seed, rnd, block_index()])
    t, theta, state, loss_sum = class_index(block, classes), theta.copy(), adam_state(theta), 0.0
    for _ in range(epochs):
        loss_sum = 0.0
        for rows in np.array_split(rng.permutation(n), max(1, -(-n // batch))):
            loss, grad = net.loss_grad(theta, block.X[rows], t[rows])
            loss_sum += loss
            theta = adam_step(theta, (grad + alpha * mask * theta) / len(rows), state, lr)
    return n * theta, loss_sum, n


def net_scores(X: np.ndarray, net, theta: np.ndarray) -> np.ndarray:
    return net.scores(theta, X)
