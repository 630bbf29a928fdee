"""The networks: forward and backward passes in numpy on flat parameter vectors.

A network maps flat parameters ``theta`` to losses, gradients and scores. Parameters
travel flat because that is what every training loop needs: one array to broadcast, to
average, to hand to L-BFGS.

Kernels are numpy on purpose: every worker of every engine already has numpy and a BLAS,
and the images here are small (8x8 to 28x28), where im2col + one matrix product per
layer is as fast as a framework's kernels without shipping a framework to each worker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def glorot(rng, shapes: list[tuple[int, ...]], fans: list[tuple[int, int]]) -> np.ndarray:
    """Flat initial parameters: Glorot-uniform weights and biases (scikit-learn's MLP)."""
    parts = []
    for shape, (fan_in, fan_out) in zip(shapes, fans, strict=True):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        parts.append(rng.uniform(-bound, bound, size=int(np.prod(shape))))
    return np.concatenate(parts)


def unflatten(theta: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Views of ``theta`` with the given shapes."""
    out, start = [], 0
    for shape in shapes:
        size = math.prod(shape)  # np.prod costs microseconds a call: this runs every step
        out.append(theta[start : start + size].reshape(shape))
        start += size
    return out


def logsumexp_rows(scores: np.ndarray) -> np.ndarray:
    """log Σ exp over each row, shape (n_samples, 1); stable (the row's maximum first).

    scipy's ``logsumexp`` costs about 230 µs a call here whatever the size (its input
    checks): more than a 25-row step of the networks' whole forward pass.
    """
    top = scores.max(axis=1, keepdims=True)
    return top + np.log(np.exp(scores - top).sum(axis=1, keepdims=True))


def softmax_xent(scores: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Σ cross-entropy of softmax(scores) vs class indices; d loss / d scores.

    Parameters
    ----------
    scores : ndarray of shape (n_samples, n_classes)
    target : ndarray of shape (n_samples,), int
    """
    lse = logsumexp_rows(scores)
    loss = float((lse[:, 0] - scores[np.arange(len(target)), target]).sum())
    grad = np.exp(scores - lse)
    grad[np.arange(len(target)), target] -= 1.0
    return loss, grad


@dataclass(frozen=True)
class MLP:
    """Dense layers with relu, softmax output. ``sizes`` = (n_features, *hidden, n_classes)."""

    sizes: tuple[int, ...]

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        pairs = zip(self.sizes[:-1], self.sizes[1:], strict=True)
        return [s for a, b in pairs for s in ((a, b), (b,))]

    @property
    def weight_mask(self) -> np.ndarray:
        """1 on weights, 0 on biases (the L2 penalty's support), flat."""
        return np.concatenate([np.full(int(np.prod(s)), float(len(s) == 2)) for s in self.shapes])

    def init(self, rng) -> np.ndarray:
        fans = [
            (a, b) for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=True) for _ in (0, 1)
        ]
        return glorot(rng, self.shapes, fans)

    def scores(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        params = unflatten(theta, self.shapes)
        A = X
        for i in range(0, len(params), 2):
            A = A @ params[i] + params[i + 1]
            if i + 2 < len(params):
                A = np.maximum(A, 0.0)
        return A

    def loss_grad(
        self, theta: np.ndarray, X: np.ndarray, t: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Σ loss over the rows and its gradient (flat, same layout as theta)."""
        loss, grad, _ = self.backprop(theta, X, t)
        return loss, grad

    def backprop(self, theta, X, t, *, input_grad: bool = False):
        """(Σ loss, flat gradient, d loss / d X of shape X.shape or None)."""
        params = unflatten(theta, self.shapes)
        acts = [X]
        for i in range(0, len(params), 2):
            Z = acts[-1] @ params[i] + params[i + 1]
            acts.append(np.maximum(Z, 0.0) if i + 2 < len(params) else Z)
        loss, delta = softmax_xent(acts[-1], t)
        grads: list[np.ndarray] = []  # built from the last layer back, in params order
        for i in range(len(params) - 2, -1, -2):
            grads[:0] = [acts[i // 2].T @ delta, delta.sum(axis=0)]
            if i or input_grad:
                delta = delta @ params[i].T
                if i:
                    delta = delta * (acts[i // 2] > 0)
        return loss, np.concatenate([g.ravel() for g in grads]), delta if input_grad else None


@dataclass(frozen=True)
class CNN:
    """conv (k x k, n_filters, valid) -> relu -> 2x2 max-pool -> dense (relu) -> softmax.

    One input channel; rows of X are images flattened in C order (``image_shape``).
    """

    image_shape: tuple[int, int]
    n_filters: int
    kernel: int
    hidden: int
    n_classes: int

    @property
    def conv_shape(self) -> tuple[int, int]:
        return (self.image_shape[0] - self.kernel + 1, self.image_shape[1] - self.kernel + 1)

    @property
    def pooled_shape(self) -> tuple[int, int]:
        return (self.conv_shape[0] // 2, self.conv_shape[1] // 2)

    @property
    def dense(self) -> MLP:
        flat = self.pooled_shape[0] * self.pooled_shape[1] * self.n_filters
        sizes = (flat, self.hidden, self.n_classes) if self.hidden else (flat, self.n_classes)
        return MLP(sizes)

    @property
    def n_conv(self) -> int:
        return self.kernel * self.kernel * self.n_filters + self.n_filters

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        return [(self.kernel * self.kernel, self.n_filters), (self.n_filters,), *self.dense.shapes]

    @property
    def weight_mask(self) -> np.ndarray:
        conv = np.concatenate([np.ones(self.kernel**2 * self.n_filters), np.zeros(self.n_filters)])
        return np.concatenate([conv, self.dense.weight_mask])

    def init(self, rng) -> np.ndarray:
        fan = self.kernel * self.kernel
        conv = glorot(rng, self.shapes[:2], [(fan, self.n_filters)] * 2)
        return np.concatenate([conv, self.dense.init(rng)])

    def _features(self, theta: np.ndarray, X: np.ndarray):
        """Pooled conv features (flat), with what the backward pass needs.

        Channels first: the patches are ``k * k`` rows of every output pixel (one slice
        copy each, where a sliding-window view's copy is strided) and the convolution one
        wide product ``Wc.T @ patches`` of shape (n_filters, n * h * w); the relu and the
        2x2 max-pool are one compiled pass (numpy's reduce over two strided axes, then a
        mask to go back, cost more than the products). Measured against the earlier
        im2col rows and numpy pool, loss and gradient per sample, median of 7 (README,
        "Image recognition"): 28x28, 5x5, 8 filters 369 -> 186 us at batches of 25;
        8x8, 3x3, 16 filters 45 -> 20 us.
        """
        from dmlbench.algorithms.compiled import relu_pool  # numba: only where a CNN runs

        Wc, bc = unflatten(theta[: self.n_conv], self.shapes[:2])
        n, (h, w), k = X.shape[0], self.conv_shape, self.kernel
        images = X.reshape(n, *self.image_shape)
        stacked = np.empty((k * k, n, h, w))
        for a in range(k):
            for b in range(k):
                stacked[a * k + b] = images[:, a : a + h, b : b + w]
        patches = stacked.reshape(k * k, n * h * w)
        Z = (Wc.T @ patches).reshape(self.n_filters, n, h, w)
        Z += bc[:, None, None, None]
        P = relu_pool(Z)
        # features in (pool row, pool column, filter) order, image by image
        return P.transpose(1, 2, 3, 0).reshape(n, -1), (patches, Z, P)

    def scores(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        features, _ = self._features(theta, X)
        return self.dense.scores(theta[self.n_conv :], features)

    def loss_grad(
        self, theta: np.ndarray, X: np.ndarray, t: np.ndarray
    ) -> tuple[float, np.ndarray]:
        from dmlbench.algorithms.compiled import relu_pool_grad

        features, (patches, Z, P) = self._features(theta, X)
        dense_theta = theta[self.n_conv :]
        loss, g_dense, d_features = self.dense.backprop(dense_theta, features, t, input_grad=True)
        n, (ph, pw), f = X.shape[0], self.pooled_shape, self.n_filters
        dP = d_features.reshape(n, ph, pw, f).transpose(3, 0, 1, 2)
        dZ = relu_pool_grad(Z, P, np.ascontiguousarray(dP))
        dZ = dZ.reshape(f, -1)
        g_conv = np.concatenate([(patches @ dZ.T).ravel(), dZ.sum(axis=1)])
        return loss, np.concatenate([g_conv, g_dense])
