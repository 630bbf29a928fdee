"""Bad input to the estimators: scikit-learn-style messages (what, expected, got)."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from dmlbench.algorithms import KMeans, LinearRegression, LogisticRegression
from dmlbench.backends import Block, get_backend

X = np.random.default_rng(0).standard_normal((40, 3))
y = X @ np.array([1.0, 2.0, 3.0])


def test_unknown_backend_name():
    with pytest.raises(
        ValueError,
        match=r"'backend' parameter of KMeans must be a started backend or one of \['local', 'dask', 'spark', 'ray'\]. Got 'dsak'",
    ):
        KMeans(3, backend="dsak").fit(X)


def test_backend_of_the_wrong_type():
    with pytest.raises(
        TypeError, match=r"'backend' parameter of LinearRegression .* Got 3 of type int"
    ):
        LinearRegression(backend=3).fit(X, y)


def test_backend_object_must_be_started():
    with pytest.raises(RuntimeError, match=r"not started"):
        LinearRegression(backend=get_backend("local")).fit(X, y)


@pytest.mark.parametrize(
    ("estimator", "args", "error", "match"),
    [
        (
            LinearRegression(),
            (X[:, 0], y),
            ValueError,
            r"Expected 2D array, got 1D array instead",
        ),
        (
            LinearRegression(),
            (X, y[:-1]),
            ValueError,
            r"inconsistent numbers of samples: \[40, 39\]",
        ),
        (LinearRegression(), (np.where(X > 1, np.nan, X), y), ValueError, r"Input X contains NaN"),
        (LinearRegression(), (X, None), ValueError, r"LinearRegression requires y to be passed"),
        (
            LinearRegression(solver="qr"),
            (X, y),
            ValueError,
            r"'solver' parameter of LinearRegression must be one of \['normal', 'lbfgs'\]. Got 'qr'",
        ),
        (
            LinearRegression(alpha=-1),
            (X, y),
            ValueError,
            r"'alpha' parameter of LinearRegression must be a float >= 0.0. Got -1",
        ),
        (
            LogisticRegression(C=0),
            (X, y > 0),
            ValueError,
            r"'C' parameter of LogisticRegression must be a float > 0.0. Got 0",
        ),
        (
            LogisticRegression(),
            (X, np.zeros(40)),
            ValueError,
            r"LogisticRegression needs samples of at least 2 classes in the data, but the data contains only one class: 0.0",
        ),
        (LogisticRegression(), (X, y), ValueError, r"Unknown label type: continuous"),
        (KMeans(50), (X,), ValueError, r"n_samples=40 should be >= n_clusters=50"),
        (
            KMeans(0),
            (X,),
            ValueError,
            r"'n_clusters' parameter of KMeans must be an int >= 1. Got 0",
        ),
        (
            KMeans(3, init="best"),
            (X,),
            ValueError,
            r"'init' parameter of KMeans must be one of \['k-means\|\|', 'k-means\+\+', 'random'\]. Got 'best'",
        ),
        (
            KMeans(3, init=np.zeros((2, 3))),
            (X,),
            ValueError,
            r"initial centers \(2, 3\) does not match \(n_clusters, n_features\) = \(3, 3\)",
        ),
        (KMeans(3), (np.where(X > 1, np.inf, X),), ValueError, r"Input X contains infinity"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_input(estimator, args, error, match):
    with pytest.raises(error, match=match):
        estimator.fit(*args)


def test_predict_checks_fitted_and_n_features():
    with pytest.raises(NotFittedError):
        LinearRegression().predict(X)
    model = LinearRegression().fit(X, y)
    with pytest.raises(
        ValueError, match=r"X has 2 features, but LinearRegression is expecting 3 features"
    ):
        model.predict(X[:, :2])


def test_dataset_input_is_checked_on_the_workers():
    with get_backend("local") as be:
        no_y = be.from_blocks([Block(X)])
        with pytest.raises(
            ValueError, match=r"LinearRegression needs targets: the Dataset's blocks have y=None"
        ):
            LinearRegression(backend=be).fit(no_y)
        with pytest.raises(
            ValueError, match=r"takes y from the blocks of a Dataset; got a separate y too"
        ):
            LinearRegression(backend=be).fit(no_y, y)
        bad = be.from_blocks([Block(np.where(X > 1, np.nan, X), y)])
        with pytest.raises(ValueError, match=r"Input X contains NaN or infinity \(in a block of"):
            LinearRegression(backend=be).fit(bad)
        mixed = be.from_blocks([Block(X, y), Block(X[:, :2], y)])
        with pytest.raises(ValueError, match=r"blocks disagree on n_features: 3 vs 2"):
            KMeans(2, backend=be).fit(mixed)


def test_a_backend_name_starts_one_shared_engine():
    a = LinearRegression(backend="local").fit(X, y)
    b = KMeans(2, backend="local").fit(X)
    assert a._backend() is b._backend()
