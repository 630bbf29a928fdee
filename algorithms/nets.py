"""The networks: forward and backward passes in numpy on flat parameter vectors.

A network maps flat parameters ``theta`` to losses, gradients and scores. Parameters
travel flat because that is what every training loop needs: one array to broadcast, to
average, to hand to L-BFGS.

Kernels are numpy on purpose: every worker of every engine already has numpy and a BLAS,
and the images here are small (8x8 to 28x28). The dense layers are one matrix product
each; the convolution, with its relu and pool, is a direct loop compiled with numba
(:mod:`dmlbench.algorithms.compiled`, already a dependency for k-means): at one input
channel its products are too thin for a BLAS to pay for an im2col patch matrix.
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

    def backprop(self, theta, X, t, *, input_grad: bool = False, out=None):
        """(Σ loss, flat gradient, d loss / d X of shape X.shape or None).

        ``out``: an array of theta's shape to write the gradient into (and return), such
        as the dense part of a CNN's gradient: no gradient-sized copy (a 28x28 CNN's
        dense weights are 590 kB, fresh pages each time at that size).
        """
        params = unflatten(theta, self.shapes)
        grad = np.empty(theta.shape) if out is None else out
        grads = unflatten(grad, self.shapes)
        acts = [X]
        for i in range(0, len(params), 2):
            Z = acts[-1] @ params[i] + params[i + 1]
            acts.append(np.maximum(Z, 0.0) if i + 2 < len(params) else Z)
        loss, delta = softmax_xent(acts[-1], t)
        for i in range(len(params) - 2, -1, -2):  # from the last layer back
            np.matmul(acts[i // 2].T, delta, out=grads[i])
            delta.sum(axis=0, out=grads[i + 1])
            if i or input_grad:
                delta = delta @ params[i].T
                if i:
                    delta = delta * (acts[i // 2] > 0)
        return loss, grad, delta if input_grad else None


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

    def _conv_params(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The filters (k * k, n_filters) and biases (n_filters,), copied (208 numbers at
        28x28): theta arrives read-only from Ray's object store, and a read-only array is
        another type to numba, so the kernels would compile again for it."""
        Wc, bc = unflatten(theta[: self.n_conv], self.shapes[:2])
        return np.array(Wc, dtype=np.float64), np.array(bc, dtype=np.float64)

    def _features(self, theta: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pooled conv features, shape (n_samples, ph * pw * n_filters) in (pool row,
        pool column, filter) order image by image, and the pool's mask for the backward
        pass, shape (n_samples, ph, pw, n_filters).

        One compiled pass per image (``compiled.conv_relu_pool``, which says why a direct
        loop and not an im2col product). FLOPs per sample of :meth:`loss_grad`, counted
        as a dense implementation performs them: ``2 k² f h w`` for the convolution and
        as many for its weight gradient (h x w: the conv output), ``2 in out`` per dense
        layer forward and ``4 in out`` back (weights and input); 907,008 at the images
        suite's 28x28, 5x5, 8 filters, 64 hidden units, 10 classes. The seconds are
        measured, not quoted here: by ``dmlbench kernels`` (its cnn row); issue 32's
        closing note has them against the im2col code this replaced and one core's DGEMM.
        """
        from dmlbench.algorithms.compiled import conv_relu_pool  # numba: only where a CNN runs

        Wc, bc = self._conv_params(theta)
        P, mask = conv_relu_pool(_image_rows(X), self.image_shape[1], self.kernel, Wc, bc)
        return P.reshape(P.shape[0], -1), mask

    def scores(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        features, _ = self._features(theta, X)
        return self.dense.scores(theta[self.n_conv :], features)

    def loss_grad(
        self, theta: np.ndarray, X: np.ndarray, t: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Σ loss over the rows and its gradient (flat, same layout as theta)."""
        from dmlbench.algorithms.compiled import conv_relu_pool_grad

        X = _image_rows(X)  # once, for both passes
        features, mask = self._features(theta, X)
        grad = np.empty(theta.shape)
        loss, _, d_features = self.dense.backprop(
            theta[self.n_conv :], features, t, input_grad=True, out=grad[self.n_conv :]
        )
        dW, db = conv_relu_pool_grad(
            X, self.image_shape[1], self.kernel, mask, d_features.reshape(mask.shape)
        )
        grad[: dW.size] = dW.ravel()
        grad[dW.size : self.n_conv] = db
        return loss, grad


def _image_rows(X: np.ndarray) -> np.ndarray:
    """X as the compiled kernels take it: float64, C order (no copy when it already is;
    read-only stays read-only: ``compiled.warm_up`` compiles the kernels for both)."""
    return np.ascontiguousarray(X, dtype=np.float64)
