"""MLP and CNN: gradients, held-out accuracy on real data, the same answer on every backend."""

import numpy as np
import pytest
from sklearn import datasets, model_selection

from dmlbench.algorithms import CNNClassifier, MLPClassifier
from dmlbench.algorithms.base import split_blocks
from dmlbench.algorithms.nets import CNN, MLP


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's digits (1797 real 8x8 images), split 75/25, stratified."""
    X, y = datasets.load_digits(return_X_y=True)
    return model_selection.train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


@pytest.mark.parametrize(
    "net", [MLP((5, 7, 4, 3)), CNN((8, 8), 3, 3, 6, 3), CNN((9, 7), 2, 2, 0, 3)], ids=repr
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
