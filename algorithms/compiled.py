"""Compiled inner loops (numba) where numpy cannot fuse the passes a kernel needs.

Why it exists: one Lloyd step in numpy is four passes over each chunk (the score product,
``argmin``, ``min``, the one-hot product for the per-cluster sums), and numpy's own
floor, the score product alone, already costs about scikit-learn's whole iteration
(README, "`dmlbench kernels`"). scikit-learn fuses them in Cython; this module does the
same in numba: the scores of a 256-row chunk by one BLAS product (a 256-row chunk's
scores stay in L1 while the loop reads them), then one compiled loop over the chunk's
rows for the argmin, the inertia and the sums. The CNN's convolution, relu and 2x2
max-pool are one pass over each image here, and so is their backward pass (the weight and
bias gradients), where numpy needs an im2col patch matrix k² times the images' size.

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


#: The convolution's multiply-adds contract to fused multiply-adds but are not reassociated:
#: every output position is then summed in one order, so equal patches give equal values
#: and the pool's ties (the gradient goes to every position equal to the maximum) are the
#: ones an exact-arithmetic reference finds, all-zero patches included (their value is the
#: bias, exactly).
CONV_FASTMATH = {"contract"}


@numba.njit(nogil=True, inline="always")
def _pool_window(z0: float, z1: float, z2: float, z3: float) -> tuple:
    """(relu of the max of a 2x2 window, its mask): bit ``2 r + s`` set where the value
    at (row r, column s) equals that maximum and the maximum is above 0."""
    p = max(max(max(z0, z1), max(z2, z3)), 0.0)
    bits = 0
    if p > 0.0:
        bits = (z0 == p) | ((z1 == p) << 1) | ((z2 == p) << 2) | ((z3 == p) << 3)
    return p, bits


@numba.njit(nogil=True, cache=True, fastmath=CONV_FASTMATH)
def conv_relu_pool(X: np.ndarray, width: int, kernel: int, W: np.ndarray, bias: np.ndarray):
    """Valid convolution, relu and 2x2 max-pool of one-channel images, fused.

    Parameters
    ----------
    X : ndarray of shape (n_samples, height * width)
        Images flattened in C order (read-only is fine).
    width : int
        Image width (the height is ``X.shape[1] // width``).
    kernel : int
        Kernel side ``k``.
    W : ndarray of shape (k * k, n_filters)
        Row ``a * k + b`` holds tap (a, b) of every filter (the parameters' layout).
    bias : ndarray of shape (n_filters,)

    Returns
    -------
    P : ndarray of shape (n_samples, ph, pw, n_filters)
        relu(max over each 2x2 window of conv + bias), ``ph = (height - k + 1) // 2``,
        ``pw = (width - k + 1) // 2`` (a last odd conv row or column is dropped); per
        image, (pool row, pool column, filter) order: the dense layer's input as it is.
    mask : ndarray of shape (n_samples, ph, pw, n_filters), uint8
        Per window, the positions the gradient goes to (:func:`_pool_window`), for
        :func:`conv_relu_pool_grad`.

    Notes
    -----
    Per image and filter, the convolution is ``k * k`` shifted axpys over the image's
    flattened rows: output position ``p = i * width + j`` reads input ``p + a * width + b``,
    so one contiguous loop of ``L = (2 ph - 1) * width + 2 pw`` positions covers every
    output row at once, two taps per pass. The columns ``j >= 2 pw`` of each row are
    computed and never read (the work is ``width / (2 pw)`` times the convolution's: 28/24
    at 28x28, 5x5): numba vectorises only such long innermost loops (its SLP vectoriser is
    off), and one output row (24 positions) is too short a loop. The taps are read through
    slices (``img[o : o + L]``), not as ``img[p + o]``: an index that may be negative gets
    numba's wrap-around per element, which stopped the vectoriser (the loop ran scalar).
    An image's buffer (L values) stays in L1 while its filters run, and no (k * k, n * h *
    w) patch matrix is written: 2.9 MB at 25 images of 28x28, fresh pages the earlier
    im2col version paid for on every call.
    """
    n, n_pixels = X.shape
    f = W.shape[1]
    height = n_pixels // width
    ph, pw = (height - kernel + 1) // 2, (width - kernel + 1) // 2
    L = (2 * ph - 1) * width + 2 * pw
    P = np.empty((n, ph, pw, f))
    mask = np.empty((n, ph, pw, f), np.uint8)
    z = np.empty(L)
    for m in range(n):
        img = X[m]
        for c in range(f):
            z[:] = bias[c]
            for a in range(kernel):
                row = a * kernel
                for b in range(0, kernel - 1, 2):
                    o = a * width + b
                    w0, w1 = W[row + b, c], W[row + b + 1, c]
                    x0, x1 = img[o : o + L], img[o + 1 : o + 1 + L]
                    for p in range(L):
                        z[p] = z[p] + w0 * x0[p] + w1 * x1[p]
                if kernel % 2:
                    o = a * width + kernel - 1
                    w0 = W[row + kernel - 1, c]
                    x0 = img[o : o + L]
                    for p in range(L):
                        z[p] = z[p] + w0 * x0[p]
            for i in range(ph):
                for j in range(pw):
                    t = 2 * i * width + 2 * j
                    P[m, i, j, c], mask[m, i, j, c] = _pool_window(
                        z[t], z[t + 1], z[t + width], z[t + width + 1]
                    )
    return P, mask


@numba.njit(nogil=True, cache=True, fastmath=FASTMATH)
def conv_relu_pool_grad(
    X: np.ndarray, width: int, kernel: int, mask: np.ndarray, dP: np.ndarray
) -> tuple:
    """d loss / d (W, bias) of :func:`conv_relu_pool` from d loss / d ``P``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, height * width)
        The images the forward pass ran on.
    width, kernel : int
        As for :func:`conv_relu_pool`.
    mask : ndarray of shape (n_samples, ph, pw, n_filters), uint8
        :func:`conv_relu_pool`'s.
    dP : ndarray of shape (n_samples, ph, pw, n_filters)

    Returns
    -------
    dW : ndarray of shape (k * k, n_filters)
    dbias : ndarray of shape (n_filters,)

    Notes
    -----
    Per image and filter, d loss / d conv goes into a buffer laid out as the forward
    pass's (each window's gradient at the positions its mask names, 0 elsewhere, the
    never-read columns included); each tap's weight gradient is then one dot product of
    that buffer with the same shifted slice of the image, two taps per pass (reassociated:
    numba vectorises the sums).
    """
    n, ph, pw, f = dP.shape
    L = (2 * ph - 1) * width + 2 * pw
    dW = np.zeros((kernel * kernel, f))
    dbias = np.zeros(f)
    dz = np.zeros(L)  # positions no window covers are never written: they stay 0
    for m in range(n):
        img = X[m]
        for c in range(f):
            total = 0.0
            for i in range(ph):
                for j in range(pw):
                    t = 2 * i * width + 2 * j
                    bits = mask[m, i, j, c]
                    g = dP[m, i, j, c]
                    dz[t] = g if bits & 1 else 0.0
                    dz[t + 1] = g if bits & 2 else 0.0
                    dz[t + width] = g if bits & 4 else 0.0
                    dz[t + width + 1] = g if bits & 8 else 0.0
                    total += dz[t] + dz[t + 1] + dz[t + width] + dz[t + width + 1]
            dbias[c] += total
            for a in range(kernel):
                row = a * kernel
                for b in range(0, kernel - 1, 2):
                    o = a * width + b
                    x0, x1 = img[o : o + L], img[o + 1 : o + 1 + L]
                    s0 = 0.0
                    s1 = 0.0
                    for p in range(L):
                        s0 += dz[p] * x0[p]
                        s1 += dz[p] * x1[p]
                    dW[row + b, c] += s0
                    dW[row + b + 1, c] += s1
                if kernel % 2:
                    o = a * width + kernel - 1
                    x0 = img[o : o + L]
                    s0 = 0.0
                    for p in range(L):
                        s0 += dz[p] * x0[p]
                    dW[row + kernel - 1, c] += s0
    return dW, dbias


def warm_up(writeable: bool = True) -> None:
    """Compile (or load from the on-disk cache) every kernel of this module, on a few rows,
    for blocks that are ``writeable`` or read-only (numba's array type includes it; Ray's
    object store gives read-only arrays): for the runner's ``compile_s`` phase, so no
    timed fit pays it. The CNN's kernels are compiled for both: its solvers pass a
    batch's rows, a fresh writeable copy, where its prediction passes the block itself."""
    rng = np.random.default_rng(0)
    X = rng.random((CHUNK_ROWS + 3, 2))  # a full chunk and a short one: both paths
    centers = X[:2].copy()
    X.setflags(write=writeable)
    lloyd_step(X, centers)
    for images_writeable in {writeable, True}:
        images = rng.random((2, 16))  # two 4x4 images: a 2x2 kernel, one pooled pixel
        images.setflags(write=images_writeable)
        # the parameters and gradients are the CNN's own copies: always writeable
        W, bias = rng.standard_normal((4, 3)), rng.standard_normal(3)
        P, mask = conv_relu_pool(images, 4, 2, W, bias)
        conv_relu_pool_grad(images, 4, 2, mask, P)
