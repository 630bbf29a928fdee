"""MLP and CNN classifiers, written once, trained three ways on any backend.

``solver`` chooses what one round costs, the trade-off the suites must be able to show:

* ``"adam"``: synchronous data parallel. Each step broadcasts the parameters; every block
  returns the gradient sum of a mini-batch drawn from ``(random_state, step, block)``; the
  driver takes one Adam step. Many cheap rounds: an engine's per-round cost dominates.
* ``"lbfgs"``: full-batch loss and gradient per evaluation; scipy's L-BFGS on the driver.
* ``"averaging"``: each round, every block runs ``local_epochs`` of mini-batch Adam from
  the broadcast parameters and returns its parameters weighted by its rows; the driver
  averages. Few expensive rounds.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize
from scipy.special import softmax
from sklearn.base import ClassifierMixin
from sklearn.utils import check_random_state

from dmlbench.algorithms.base import (
    DistributedEstimator,
    Trace,
    check_choice,
    check_number,
    check_positive_ints,
    fit_classes,
    free_if,
    targets,
    targets_of,
)
from dmlbench.algorithms.kernels import (
    adam_state,
    adam_step,
    add_tuples,
    batch_grad,
    full_grad,
    local_train,
    net_scores,
)
from dmlbench.algorithms.nets import CNN, MLP
from dmlbench.backends import Backend, Dataset


class _NeuralClassifier(ClassifierMixin, DistributedEstimator):
    """The training loops; subclasses say which network (``_make_net``)."""

    def _make_net(self, n_features: int, n_classes: int):  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, X, y=None):
        """Train on numpy X of shape (n_samples, n_features) and y, or a Dataset."""
        check_choice(self, "solver", ("adam", "lbfgs", "averaging"))
        check_number(self, "alpha", 0.0)
        check_number(self, "learning_rate_init", 0.0, strict=True)
        check_positive_ints(self, "max_iter", "batch_size", "local_epochs")
        be, ds, owned = self._fit_data(X, y, supervised=True)
        try:
            y_all = targets(be, ds)
            fit_classes(self, y_all)
            net = self._make_net(self.n_features_in_, len(self.classes_))
            rng = check_random_state(self.random_state)
            theta = net.init(np.random.default_rng(rng.randint(2**31)))
            seed = int(rng.randint(2**31))
            trace = Trace()
            loop = {"adam": self._fit_adam, "lbfgs": self._fit_lbfgs, "averaging": self._fit_avg}
            theta = loop[self.solver](be, ds, net, theta, seed, trace, y_all.shape[0])
            self.net_, self.coefs_ = net, theta
            self.trace_ = trace.rows
        finally:
            free_if(be, ds, owned)
        return self

    def _fit_adam(self, be: Backend, ds: Dataset, net, theta, seed, trace, n) -> np.ndarray:
        mask, classes, state = net.weight_mask, be.broadcast(self.classes_), adam_state(theta)
        steps = max(1, -(-n // self.batch_size))
        batch = max(1, -(-self.batch_size // ds.n_blocks))  # per block
        step = 0
        for _ in range(self.max_iter):
            epoch_loss = 0.0
            for _ in range(steps):
                loss, grad, rows = be.aggregate(
                    ds, batch_grad, add_tuples, net, be.broadcast(theta), classes, batch, seed, step
                )
                epoch_loss += loss / rows
                theta = adam_step(
                    theta, (grad + self.alpha * mask * theta) / rows, state, self.learning_rate_init
                )
                step += 1
            trace.add(epoch_loss / steps)
        self.n_iter_ = self.max_iter
        return theta

    def _fit_lbfgs(self, be: Backend, ds: Dataset, net, theta, seed, trace, n) -> np.ndarray:
        mask, classes = net.weight_mask, be.broadcast(self.classes_)

        def fun(th):
            loss, grad, _ = be.aggregate(ds, full_grad, add_tuples, net, be.broadcast(th), classes)
            penalty = 0.5 * self.alpha * float((mask * th) @ th)
            return (loss + penalty) / n, (grad + self.alpha * mask * th) / n

        res = scipy.optimize.minimize(
            fun,
            theta,
            jac=True,
            method="L-BFGS-B",
            callback=lambda intermediate_result: trace.add(intermediate_result.fun),
            options={"maxiter": self.max_iter, "gtol": 1e-6},
        )
        self.n_iter_ = int(res.nit)
        return res.x

    def _fit_avg(self, be: Backend, ds: Dataset, net, theta, seed, trace, n) -> np.ndarray:
        mask, classes = be.broadcast(net.weight_mask), be.broadcast(self.classes_)
        batch = max(1, -(-self.batch_size // ds.n_blocks))
        for rnd in range(self.max_iter):
            summed, loss, rows = be.aggregate(
                ds,
                local_train,
                add_tuples,
                net,
                be.broadcast(theta),
                classes,
                mask,
                self.local_epochs,
                batch,
                self.learning_rate_init,
                self.alpha,
                seed,
                rnd,
            )
            theta = summed / rows
            trace.add(loss / rows)
        self.n_iter_ = self.max_iter
        return theta

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes)."""
        return softmax(self._per_block(X, net_scores, "net_", "coefs_"), axis=1)

    def predict(self, X):
        """Class labels, shape (n_samples,)."""
        scores = self._per_block(X, net_scores, "net_", "coefs_")
        return self.classes_[scores.argmax(axis=1)]

    def score(self, X, y=None):
        """Accuracy (y from the Dataset's blocks when X is one)."""
        return float((self.predict(X) == targets_of(self, X, y)).mean())


_COMMON_DOC = """
    alpha : float, default=1e-4
        L2 penalty on the weights (not the biases), scikit-learn's convention.
    solver : {"adam", "lbfgs", "averaging"}, default="adam"
        See the module docstring.
    batch_size : int, default=200
        Rows per step over all blocks (each block draws its share).
    learning_rate_init : float, default={learning_rate}
    max_iter : int, default=50
        Epochs ("adam"), iterations ("lbfgs") or rounds ("averaging").
    local_epochs : int, default=1
        Epochs per block per round ("averaging").
    random_state : int, RandomState or None, default=None
    backend : str or started backend, default="local"

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coefs_ : ndarray of shape (n_parameters,)
        The flat parameters (layout: ``net_.shapes``).
    net_ : the network
    n_iter_ : int
    trace_ : list of dict
        Per epoch / iteration / round: iteration, seconds, objective (mean training loss).
"""


class MLPClassifier(_NeuralClassifier):
    __doc__ = (
        """Multi-layer perceptron: dense relu layers, softmax cross-entropy.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(100,)
"""
        + _COMMON_DOC.replace("{learning_rate}", "1e-3")
    )

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        alpha=1e-4,
        solver="adam",
        batch_size=200,
        learning_rate_init=1e-3,
        max_iter=50,
        local_epochs=1,
        random_state=None,
        backend="local",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.alpha = alpha
        self.solver = solver
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.local_epochs = local_epochs
        self.random_state = random_state
        self.backend = backend

    def _make_net(self, n_features: int, n_classes: int) -> MLP:
        return MLP((n_features, *tuple(self.hidden_layer_sizes), n_classes))


class CNNClassifier(_NeuralClassifier):
    __doc__ = (
        """Small convolutional net for single-channel images.

    conv (``kernel`` x ``kernel``, ``n_filters``, valid) -> relu -> 2x2 max-pool ->
    dense (``hidden``, relu; none if 0) -> softmax. Kernels: the convolution, relu and pool
    one compiled pass forward and one back (``dmlbench.algorithms.compiled``), the dense
    layers numpy (see ``dmlbench.algorithms.nets``).

    X is either images of shape (n_samples, height, width), whose shape is then the image
    shape, or rows of images flattened in C order, (n_samples, height * width). The
    shape trained on is ``image_shape_`` after fitting.

    Parameters
    ----------
    image_shape : tuple of int, default=(8, 8)
        Height and width of flattened rows (images of shape (n, h, w) give their own).
    n_filters : int, default=16
    kernel : int, default=3
    hidden : int, default=64
"""
        + _COMMON_DOC.replace("{learning_rate}", "3e-3 (1e-3 left it below the MLP on digits)")
    )

    def __init__(
        self,
        image_shape=(8, 8),
        *,
        n_filters=16,
        kernel=3,
        hidden=64,
        alpha=1e-4,
        solver="adam",
        batch_size=200,
        learning_rate_init=3e-3,
        max_iter=50,
        local_epochs=1,
        random_state=None,
        backend="local",
    ):
        self.image_shape = image_shape
        self.n_filters = n_filters
        self.kernel = kernel
        self.hidden = hidden
        self.alpha = alpha
        self.solver = solver
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.local_epochs = local_epochs
        self.random_state = random_state
        self.backend = backend

    def fit(self, X, y=None):
        """Train on images X of shape (n_samples, height, width), on flattened rows
        (n_samples, height * width) with ``image_shape``, or on a Dataset of such rows."""
        images = _image_array(X)
        self._fit_shape = tuple(images.shape[1:]) if images is not None else None
        return super().fit(_flattened(images) if images is not None else X, y)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes); X as for :meth:`fit`."""
        return super().predict_proba(self._rows(X))

    def predict(self, X):
        """Class labels, shape (n_samples,); X as for :meth:`fit`."""
        return super().predict(self._rows(X))

    def score(self, X, y=None):
        """Accuracy; X as for :meth:`fit`."""
        return super().score(self._rows(X), y)

    def _rows(self, X):
        """X as the flattened rows the network takes; images must have the fitted shape."""
        images = _image_array(X)
        if images is None:
            return X
        fitted = getattr(self, "image_shape_", None)
        if fitted is not None and tuple(images.shape[1:]) != fitted:
            raise ValueError(
                f"CNNClassifier was fitted on {fitted[0]}x{fitted[1]} images; X holds "
                f"{images.shape[1]}x{images.shape[2]} images."
            )
        return _flattened(images)

    def _make_net(self, n_features: int, n_classes: int) -> CNN:
        fit_shape = getattr(self, "_fit_shape", None)
        h, w = fit_shape if fit_shape is not None else self.image_shape
        if h * w != n_features:
            raise ValueError(
                f"image_shape {tuple(self.image_shape)} has {h * w} pixels but X has "
                f"{n_features} features (pass images of shape (n, height, width) to "
                "take the shape from them)."
            )
        if min(h, w) < self.kernel + 1:
            raise ValueError(
                f"images of {h}x{w} are too small for kernel={self.kernel} and a 2x2 pool."
            )
        self.image_shape_ = (int(h), int(w))
        return CNN((h, w), self.n_filters, self.kernel, self.hidden, n_classes)


def _image_array(X) -> np.ndarray | None:
    """X as an array when it holds images (three dimensions), else None (rows, a Dataset)."""
    if isinstance(X, np.ndarray) or (hasattr(X, "__array__") and hasattr(X, "shape")):
        if len(X.shape) == 3:
            return np.asarray(X)
    elif isinstance(X, (list, tuple)) and X and np.ndim(X) == 3:
        return np.asarray(X)
    return None


def _flattened(images: np.ndarray) -> np.ndarray:
    """Images (n, h, w) as rows (n, h * w), C order (the network's layout)."""
    return images.reshape(images.shape[0], -1)
