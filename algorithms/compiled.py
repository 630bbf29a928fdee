"""Compiled inner loops (numba) where numpy cannot fuse the passes a kernel needs.

Why it exists: one Lloyd step in numpy is four passes over each chunk (the score product,
``argmin``, ``min``, the one-hot product for the per-cluster sums), and numpy's own
floor, the score product alone, already costs about scikit-learn's whole iteration
(README, "`dmlbench kernels`"). scikit-learn fuses them in Cython; this module does the
same in numba: the scores of a 256-row chunk by one BLAS product (a 256-row chunk's
scores stay in L1 while the loop reads them), then one compiled loop over the chunk's
rows for the argmin, the inertia and the sums. The CNN's relu and 2x2 max-pool, forward
and back, are one pass each here where numpy takes four strided passes and a mask.

How it is run (issue 13's rules for a compiled kernel):

* Compiled once per worker process, with numba's on-disk cache (``cache=True``: beside
  this file, or under ``NUMBA_CACHE_DIR``), so a later process loads instead of compiling.
* :func:`warm_up` compiles (or loads) every kernel here on a few rows, for the kind of
  block the worker holds (writable, or read-only as Ray's object store gives them: numba
  compiles each separately); the benchmark runner runs it on every block before a case's
  first fit and reports its time as the ``compile_s`` phase.
* Every backend runs it: the block functions of :mod:`dmlbench.algorithms.kernels` call
  it, the local oracle included. Workers import this module on first use, so a worker
  that runs no k-means or CNN never imports numba.
* ``nogil``: a Dask worker's thread releases the GIL while it runs.
"""

from __future__ import annotations

import numba
import numpy as np

#: Rows per chunk: scikit-learn's, 256 rows x k scores fit in L1 beside the chunk's rows.
CHUNK_ROWS = 256


#: Reassociation and fused multiply-adds only: the per-row ``||x||²`` is then a vector sum,
#: not a chain of dependent adds (it cost a third of the step, 89 -> 77 ms over 2M x 20
#: rows, k = 8: README); without numba's other fast-math flags NaN and infinity keep their
#: IEEE meaning in the comparisons.
FASTMATH = {"reassoc", "contract"}


@numba.njit(nogil=True, cache=True, fastmath=FASTMATH)
def lloyd_step(X: np.ndarray, centers: np.ndarray) -> tuple:
    """(sums (k, d), counts (k,), inertia) of the rows ``X`` (n, d) against ``centers``
    (k, d): one Lloyd step's partial results.

    Per 256-row chunk, the scores ``-2 x·c`` by one BLAS product (d, k layout, so the loop
    reads each row's k scores contiguously); then per row its nearest centre by
    ``||c||² - 2 x·c`` (ties to the lowest index, as numpy's ``argmin``), its squared
    distance (clipped at 0, adding ``||x||²`` per row, not per chunk: no cancellation far
    from the origin) into the inertia, and the row into its cluster's sum.
    """
    n, d = X.shape
    k = centers.shape[0]
    neg2ct = np.ascontiguousarray(-2.0 * centers.T)  # (d, k)
    c_sq = np.zeros(k)
    for j in range(k):
        for t in range(d):
            c_sq[j] += centers[j, t] * centers[j, t]
    sums = np.zeros((k, d))
    counts = np.zeros(k)
    inertia = 0.0
    scores = np.empty((CHUNK_ROWS, k))
    for start in range(0, n, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, n)
        chunk = X[start:stop]
        if stop - start == CHUNK_ROWS:
            np.dot(chunk, neg2ct, scores)
            s = scores
        else:  # the last, shorter chunk
            s = np.dot(chunk, neg2ct)
        for i in range(stop - start):
            best, label = s[i, 0] + c_sq[0], 0
            for j in range(1, k):
                v = s[i, j] + c_sq[j]
                if v < best:
                    best, label = v, j
            x_sq = 0.0
            for t in range(d):
                x = chunk[i, t]
                x_sq += x * x
                sums[label, t] += x
            inertia += max(best + x_sq, 0.0)
            counts[label] += 1.0
    return sums, counts, inertia


@numba.njit(nogil=True, cache=True)
def relu_pool(Z: np.ndarray) -> np.ndarray:
    """relu of the 2x2 max-pool of ``Z`` (f, n, h, w): shape (f, n, h // 2, w // 2).

    One pass over ``Z`` where numpy needs three maxima of strided views and a relu.
    """
    f, n, h, w = Z.shape
    ph, pw = h // 2, w // 2
    P = np.empty((f, n, ph, pw))
    for c in range(f):
        for m in range(n):
            for i in range(ph):
                for j in range(pw):
                    a = max(Z[c, m, 2 * i, 2 * j], Z[c, m, 2 * i, 2 * j + 1])
                    b = max(Z[c, m, 2 * i + 1, 2 * j], Z[c, m, 2 * i + 1, 2 * j + 1])
                    P[c, m, i, j] = max(max(a, b), 0.0)
    return P


@numba.njit(nogil=True, cache=True)
def relu_pool_grad(Z: np.ndarray, P: np.ndarray, dP: np.ndarray) -> np.ndarray:
    """d loss / d ``Z`` (f, n, h, w) from d loss / d ``P`` = :func:`relu_pool` (Z):
    each window's gradient to every position equal to its maximum (ties included) where
    that maximum is above 0; rows and columns past the last whole window get 0."""
    f, n, h, w = Z.shape
    ph, pw = P.shape[2], P.shape[3]
    dZ = np.zeros((f, n, h, w))
    for c in range(f):
        for m in range(n):
            for i in range(ph):
                for j in range(pw):
                    p = P[c, m, i, j]
                    if p > 0.0:
                        g = dP[c, m, i, j]
                        for a in range(2):
                            for b in range(2):
                                if Z[c, m, 2 * i + a, 2 * j + b] == p:
                                    dZ[c, m, 2 * i + a, 2 * j + b] = g
    return dZ


def warm_up(writeable: bool = True) -> None:
    """Compile (or load from the on-disk cache) every kernel of this module, on a few rows,
    for blocks that are ``writeable`` or read-only (numba's array type includes it; Ray's
    object store gives read-only arrays): for the runner's ``compile_s`` phase, so no
    timed fit pays it."""
    rng = np.random.default_rng(0)
    X = rng.random((CHUNK_ROWS + 3, 2))  # a full chunk and a short one: both paths
    centers = X[:2].copy()
    X.setflags(write=writeable)
    lloyd_step(X, centers)
    Z = rng.standard_normal((1, 1, 4, 4))  # the CNN's arrays are its own: always writeable
    P = relu_pool(Z)
    relu_pool_grad(Z, P, P)
