"""MLP and CNN: gradients, held-out accuracy on real data, the same answer on every backend."""

import numpy as np
import pytest
from scipy.special import logsumexp, softmax
from sklearn import datasets, model_selection

from dmlbench.algorithms import CNNClassifier, MLPClassifier
from dmlbench.algorithms.base import split_blocks
from dmlbench.algorithms.nets import CNN, MLP, unflatten


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's digits (1797 real 8x8 images), split 75/25, stratified."""
    X, y = datasets.load_digits(return_X_y=True)
    return model_selection.train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


@pytest.mark.parametrize(
    "net",
    [
        MLP((5, 7, 4, 3)),
        CNN((8, 8), 3, 3, 6, 3),
        CNN((9, 7), 2, 2, 0, 3),
        CNN((9, 9), 2, 3, 4, 3),  # conv 7x7: the pool drops its last row and column
    ],
    ids=repr,
)
def test_gradients_match_finite_differences(net):
    rng = np.random.default_rng(0)
    n_features = net.sizes[0] if isinstance(net, MLP) else np.prod(net.image_shape)
    X, t = rng.standard_normal((9, n_features)), rng.integers(0, 3, 9)
    theta = net.init(rng)
    _, grad = net.loss_grad(theta, X, t)
    numeric = np.empty_like(theta)
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = 1e-6
        numeric[j] = (net.loss_grad(theta + e, X, t)[0] - net.loss_grad(theta - e, X, t)[0]) / 2e-6
    assert np.abs(numeric - grad).max() <= 1e-6 * np.abs(numeric).max()


def reference_cnn(net: CNN, theta, X, t) -> tuple[float, np.ndarray, np.ndarray, int]:
    """The CNN in plain numpy, written to be read: (Σ loss, flat gradient, scores of shape
    (n_samples, n_classes), windows whose maximum is above 0 at more than one position).

    The convolution by a sliding window and one product, the pool by a reshape (the
    last conv row or column dropped when odd); its gradient goes to every position equal
    to its window's maximum where that maximum is above 0.
    """
    Wc, bc, *dense = unflatten(theta, net.shapes)
    n, k, f = X.shape[0], net.kernel, net.n_filters
    (h, w), (ph, pw) = net.conv_shape, net.pooled_shape
    images = X.reshape(n, *net.image_shape)
    patches = np.lib.stride_tricks.sliding_window_view(images, (k, k), axis=(1, 2))
    patches = patches.reshape(n, h, w, k * k)
    Z = patches @ Wc + bc  # (n, h, w, f)
    windows = Z[:, : 2 * ph, : 2 * pw].reshape(n, ph, 2, pw, 2, f)
    top = windows.max(axis=(2, 4), keepdims=True)
    acts = [np.maximum(top, 0.0).reshape(n, -1)]  # (pool row, pool column, filter) order
    for i in range(0, len(dense), 2):
        A = acts[-1] @ dense[i] + dense[i + 1]
        acts.append(np.maximum(A, 0.0) if i + 2 < len(dense) else A)
    scores = acts[-1]
    loss = float((logsumexp(scores, axis=1) - scores[np.arange(n), t]).sum())
    delta = softmax(scores, axis=1)
    delta[np.arange(n), t] -= 1.0
    grads: list[np.ndarray] = []
    for i in range(len(dense) - 2, -1, -2):
        grads[:0] = [acts[i // 2].T @ delta, delta.sum(axis=0)]
        delta = (delta @ dense[i].T) * (acts[i // 2] > 0)  # i = 0: the pool's relu
    at_top = windows == top
    dZ = np.zeros((n, h, w, f))
    dZ[:, : 2 * ph, : 2 * pw] = (at_top * delta.reshape(n, ph, 1, pw, 1, f)).reshape(
        n, 2 * ph, 2 * pw, f
    )
    dW = patches.reshape(-1, k * k).T @ dZ.reshape(-1, f)
    grad = np.concatenate([dW.ravel(), dZ.sum(axis=(0, 1, 2)), *(g.ravel() for g in grads)])
    ties = int(((at_top.sum(axis=(2, 4)) > 1) & (top[:, :, 0, :, 0] > 0)).sum())
    return loss, grad, scores, ties


@pytest.mark.parametrize("data", ["noise", "strokes"])
@pytest.mark.parametrize(
    "net",
    [
        CNN((28, 28), 8, 5, 64, 10),  # the images suite's 28x28 case
        CNN((8, 8), 16, 3, 64, 10),  # CNNClassifier's defaults, on digits
        CNN((12, 9), 3, 3, 4, 3),  # conv 10x7: the pool drops the last column
        CNN((10, 11), 2, 4, 0, 3),  # conv 7x8: the last row; no hidden layer
    ],
    ids=repr,
)
def test_cnn_loss_and_gradient_are_the_numpy_references(net, data):
    """The compiled conv + relu + pool, forward and back, against :func:`reference_cnn`
    to 1e-12, on read-only arrays as Ray's object store hands them out. "strokes": 0/1
    images on a zero background with positive conv biases, so that windows tie (an
    all-zero patch gives exactly the bias) and the ties' gradient rule is checked."""
    rng = np.random.default_rng(0)
    n = 13
    X = rng.standard_normal((n, net.image_shape[0] * net.image_shape[1]))
    theta = net.init(rng)
    if data == "strokes":
        X = (X > 1.0).astype(float)
        biases = slice(net.n_conv - net.n_filters, net.n_conv)
        theta[biases] = np.abs(theta[biases]) + 0.1
    t = rng.integers(0, net.n_classes, n)
    X.setflags(write=False)
    theta.setflags(write=False)
    loss, grad = net.loss_grad(theta, X, t)
    ref_loss, ref_grad, ref_scores, ties = reference_cnn(net, theta, X, t)
    assert (ties > 0) == (data == "strokes")
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=0, atol=1e-12 * np.abs(ref_grad).max())
    scores = net.scores(theta, X)
    np.testing.assert_allclose(scores, ref_scores, rtol=0, atol=1e-12 * np.abs(ref_scores).max())


def test_the_cnn_kernels_are_compiled_once_for_every_input_kind():
    """The warm-up's two kinds (writable and read-only images) are all a fit needs: the
    parameters are copied, other layouts and dtypes converted."""
    from dmlbench.algorithms import compiled

    kernels = (compiled.conv_relu_pool, compiled.conv_relu_pool_grad)
    for writeable in (True, False):
        compiled.warm_up(writeable)
    warmed = [set(kernel.signatures) for kernel in kernels]
    net = CNN((9, 8), 3, 2, 5, 4)
    rng = np.random.default_rng(0)
    X, theta, t = rng.random((6, 72)), net.init(rng), rng.integers(0, 4, 6)
    frozen_X, frozen_theta = X.copy(), theta.copy()
    frozen_X.setflags(write=False)
    frozen_theta.setflags(write=False)
    for images in (X, frozen_X, np.asfortranarray(X), X[::2], X.astype(np.float32)):
        for params in (theta, frozen_theta):
            net.loss_grad(params, images, t[: images.shape[0]])
            net.scores(params, images)
    assert [set(kernel.signatures) for kernel in kernels] == warmed
    assert all(len(signatures) == 2 for signatures in warmed), warmed


AVERAGING = {"solver": "averaging", "max_iter": 10, "local_epochs": 5}
TRAINED = [
    (MLPClassifier, {"max_iter": 50}, 0.95),
    (MLPClassifier, {"solver": "lbfgs", "max_iter": 200}, 0.95),
    (MLPClassifier, {**AVERAGING, "learning_rate_init": 3e-3}, 0.95),
    (CNNClassifier, {}, 0.97),  # the defaults (3 seeds: 0.976, 0.984, 0.980)
    (CNNClassifier, {"max_iter": 40, "learning_rate_init": 3e-3}, 0.97),
    (CNNClassifier, {"solver": "lbfgs", "max_iter": 150}, 0.97),
    (CNNClassifier, {**AVERAGING, "learning_rate_init": 1e-2, "batch_size": 64}, 0.97),
]


@pytest.mark.parametrize(("cls", "params", "accuracy"), TRAINED, ids=lambda v: str(v))
def test_held_out_accuracy_on_digits(digits, cls, params, accuracy):
    Xtr, Xte, ytr, yte = digits
    model = cls(random_state=0, **params).fit(Xtr, ytr)
    assert model.score(Xte, yte) >= accuracy
    losses = [row["objective"] for row in model.trace_]
    assert len(losses) == model.n_iter_ and losses[-1] < losses[0]


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (MLPClassifier, {"max_iter": 2, "hidden_layer_sizes": (32,)}),
        (MLPClassifier, {"solver": "lbfgs", "max_iter": 5}),
        (CNNClassifier, {"max_iter": 2, "n_filters": 4}),
        (CNNClassifier, {**AVERAGING, "max_iter": 2, "local_epochs": 1, "n_filters": 4}),
    ],
    ids=lambda v: str(v),
)
def test_same_parameters_as_local_on_every_backend(backend, digits, cls, params):
    """Written once: the same data and seed give the local oracle's parameters."""
    Xtr, Xte, ytr, _ = digits
    model = cls(random_state=1, backend=backend, **params).fit(Xtr, ytr)
    oracle = cls(random_state=1, backend="local", **params).fit(Xtr, ytr)
    np.testing.assert_allclose(model.coefs_, oracle.coefs_, rtol=1e-9, atol=1e-12)
    ds = backend.from_blocks(split_blocks(Xte))
    np.testing.assert_array_equal(model.predict(ds), oracle.predict(Xte))
    backend.free(ds)


def test_model_averaging_on_every_backend_reaches_accuracy(backend, digits):
    """Few rounds, so cheap on every engine, Spark included."""
    Xtr, Xte, ytr, yte = digits
    model = MLPClassifier(random_state=0, backend=backend, learning_rate_init=3e-3, **AVERAGING)
    assert model.fit(Xtr, ytr).score(Xte, yte) >= 0.95


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (
            {"solver": "sgd"},
            r"'solver' parameter of MLPClassifier must be one of \['adam', 'lbfgs', 'averaging'\]. Got 'sgd'",
        ),
        ({"max_iter": 0}, r"'max_iter' parameter of MLPClassifier must be an int >= 1. Got 0"),
        (
            {"learning_rate_init": 0},
            r"'learning_rate_init' parameter of MLPClassifier must be a float > 0.0",
        ),
    ],
)
def test_bad_parameters(digits, params, match):
    with pytest.raises(ValueError, match=match):
        MLPClassifier(**params).fit(digits[0], digits[2])


def test_cnn_checks_the_image_shape(digits):
    with pytest.raises(
        ValueError, match=r"image_shape \(7, 7\) has 49 pixels but X has 64 features"
    ):
        CNNClassifier(image_shape=(7, 7)).fit(digits[0], digits[2])
    with pytest.raises(ValueError, match=r"too small for kernel=3"):
        CNNClassifier(image_shape=(2, 32)).fit(digits[0], digits[2])


def test_cnn_takes_images_of_shape_n_h_w(digits):
    """Images as an image library holds them, (n, height, width): their shape is the
    image shape, and the fit is the one on their flattened rows."""
    Xtr, Xte, ytr, _ = digits
    params = {"max_iter": 2, "n_filters": 4, "random_state": 0}
    rows = CNNClassifier(**params).fit(Xtr, ytr)
    images = CNNClassifier(image_shape=(4, 16), **params).fit(Xtr.reshape(-1, 8, 8), ytr)
    assert images.image_shape_ == rows.image_shape_ == (8, 8)
    assert np.array_equal(images.coefs_, rows.coefs_)
    assert np.array_equal(images.predict(Xte.reshape(-1, 8, 8)), rows.predict(Xte))
    assert np.array_equal(images.predict(Xte), rows.predict(Xte))  # rows still work
    assert images.score(Xte.reshape(-1, 8, 8), rows.predict(Xte)) == 1.0
    with pytest.raises(ValueError, match=r"fitted on 8x8 images; X holds 4x16 images"):
        images.predict(Xte.reshape(-1, 4, 16))
    wide = np.random.default_rng(0).random((40, 6, 10))
    assert CNNClassifier(max_iter=1).fit(wide, np.arange(40) % 2).image_shape_ == (6, 10)


def test_cnn_defaults_beat_the_mlp_defaults_on_digits(digits):
    """Real 8x8 images: the convolutional net, as it comes, above the MLP as it comes."""
    Xtr, Xte, ytr, yte = digits
    cnn = CNNClassifier(random_state=0).fit(Xtr.reshape(-1, 8, 8), ytr)
    mlp = MLPClassifier(random_state=0).fit(Xtr, ytr)
    assert cnn.score(Xte.reshape(-1, 8, 8), yte) > mlp.score(Xte, yte)
