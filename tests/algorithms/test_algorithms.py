"""Each algorithm on every installed backend, checked against scikit-learn and `local`."""

import os
from functools import partial

import numpy as np
import pytest
from sklearn import cluster, datasets, linear_model

from dmlbench.algorithms import KMeans, LinearRegression, LogisticRegression
from dmlbench.algorithms.base import split_blocks
from dmlbench.backends.conformance import either, gaussian_block, indexed_block, pulls_in


def rel(a, b):
    return np.abs(np.asarray(a) - np.asarray(b)).max() / max(np.abs(np.asarray(b)).max(), 1e-300)


@pytest.fixture(scope="module")
def regression():
    return datasets.make_regression(3000, 12, noise=5.0, bias=3.0, random_state=0)


@pytest.fixture(scope="module")
def blobs():
    X, _ = datasets.make_blobs(6000, n_features=6, centers=8, cluster_std=1.5, random_state=3)
    return X


def standardized(X):
    return (X - X.mean(axis=0)) / X.std(axis=0)


@pytest.mark.parametrize(
    ("params", "reference", "tolerance"),
    [
        ({}, linear_model.LinearRegression(), 1e-6),
        ({"alpha": 10.0}, linear_model.Ridge(alpha=10.0), 1e-6),
        ({"solver": "lbfgs"}, linear_model.LinearRegression(), 1e-4),
        ({"solver": "lbfgs", "alpha": 10.0}, linear_model.Ridge(alpha=10.0), 1e-4),
    ],
    ids=["normal", "ridge", "lbfgs", "lbfgs-ridge"],
)
def test_linear_regression_matches_sklearn(backend, regression, params, reference, tolerance):
    X, y = regression
    model = LinearRegression(backend=backend, **params).fit(X, y)
    ref = reference.fit(X, y)
    assert rel(model.coef_, ref.coef_) <= tolerance
    assert abs(model.intercept_ - ref.intercept_) <= tolerance * abs(ref.intercept_)
    assert model.score(X, y) == pytest.approx(ref.score(X, y), rel=1e-9)
    np.testing.assert_allclose(model.predict(X), ref.predict(X), rtol=1e-3, atol=1e-6)
    assert model.n_iter_ == len(model.trace_) or params.get("solver") == "lbfgs"


def test_linear_regression_on_data_generated_on_workers(backend):
    make = partial(gaussian_block, seed=21, rows=400)
    ds = backend.generate(make, 8)
    X = np.vstack([make(i).X for i in range(8)])
    y = np.concatenate([make(i).y for i in range(8)])
    model = LinearRegression(backend=backend).fit(ds)
    oracle = LinearRegression(backend="local").fit(X, y)
    assert rel(model.coef_, oracle.coef_) <= 1e-9  # same data, same answer, any engine
    assert rel(model.coef_, linear_model.LinearRegression().fit(X, y).coef_) <= 1e-6
    np.testing.assert_allclose(model.predict(ds), model.predict(X), rtol=1e-12)
    assert model.score(ds) == pytest.approx(model.score(X, y), rel=1e-12)
    backend.free(ds)


@pytest.mark.parametrize("dataset", ["binary", "multinomial"])
def test_logistic_regression_matches_sklearn(backend, dataset):
    loader = datasets.load_breast_cancer if dataset == "binary" else datasets.load_wine
    X, y = loader(return_X_y=True)
    X = standardized(X)
    model = LogisticRegression(C=0.5, backend=backend).fit(X, y)
    ref = linear_model.LogisticRegression(C=0.5, tol=1e-10, max_iter=10_000).fit(X, y)
    assert model.coef_.shape == ref.coef_.shape
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-3)
    np.testing.assert_allclose(model.intercept_, ref.intercept_, atol=1e-3)
    np.testing.assert_allclose(model.predict_proba(X), ref.predict_proba(X), atol=1e-4)
    assert (model.predict(X) == ref.predict(X)).mean() >= 0.99
    objective = [row["objective"] for row in model.trace_]
    assert len(objective) == model.n_iter_ and objective[-1] <= objective[0]


@pytest.mark.parametrize("dataset", ["binary", "multinomial"])
def test_logistic_objective_scores_any_implementations_coefficients(backend, dataset):
    """The objective the fit minimises, stated once: it is the trace's last value at ours'
    coefficients, on numpy rows and on a resident Dataset, and scikit-learn's optimum of
    the same problem scores the same to its precision."""
    from dmlbench.algorithms.linear import logistic_objective

    loader = datasets.load_breast_cancer if dataset == "binary" else datasets.load_wine
    X, y = loader(return_X_y=True)
    X = standardized(X)
    model = LogisticRegression(C=0.5, tol=1e-10, backend=backend).fit(X, y)
    ours = logistic_objective(model.coef_, model.intercept_, model.classes_, 0.5, X, y)
    assert ours == pytest.approx(model.trace_[-1]["objective"], rel=1e-12)
    ds = backend.from_blocks(split_blocks(X, y.astype(float)))
    try:
        on_dataset = logistic_objective(
            model.coef_, model.intercept_, model.classes_, 0.5, ds, backend=backend
        )
    finally:
        backend.free(ds)
    assert on_dataset == pytest.approx(ours, rel=1e-12)
    ref = linear_model.LogisticRegression(C=0.5, tol=1e-10, max_iter=10_000).fit(X, y)
    theirs = logistic_objective(ref.coef_, ref.intercept_, ref.classes_, 0.5, X, y)
    assert theirs == pytest.approx(ours, rel=1e-7)
    # Away from the optimum it is larger: the function is the objective, not a constant.
    assert logistic_objective(0 * ref.coef_, ref.intercept_, ref.classes_, 0.5, X, y) > ours


def test_logistic_regression_keeps_label_values(backend):
    X, y = datasets.load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    model = LogisticRegression(backend=backend).fit(standardized(X), names)
    assert list(model.classes_) == list(names[np.sort(np.unique(y, return_index=True)[1])])
    assert set(model.predict(standardized(X))) <= set(names)


def test_kmeans_from_explicit_centres_matches_sklearn_lloyd(backend, blobs):
    init = blobs[::750][:8]
    model = KMeans(8, init=init, backend=backend).fit(blobs)
    ref = cluster.KMeans(8, init=init, n_init=1, algorithm="lloyd").fit(blobs)
    np.testing.assert_allclose(model.cluster_centers_, ref.cluster_centers_, rtol=0, atol=1e-6)
    assert model.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)
    assert model.n_iter_ == ref.n_iter_
    assert (model.predict(blobs) == ref.predict(blobs)).all()
    inertia = [row["objective"] for row in model.trace_]
    assert all(b <= a * (1 + 1e-12) for a, b in zip(inertia, inertia[1:], strict=False))


@pytest.mark.parametrize("init", ["k-means||", "k-means++"])
def test_kmeans_init_reaches_sklearn_inertia(backend, blobs, init):
    model = KMeans(8, init=init, n_init=3, random_state=0, backend=backend).fit(blobs)
    ref = cluster.KMeans(8, n_init=3, random_state=0).fit(blobs)
    assert model.inertia_ <= 1.02 * ref.inertia_


def test_kmeans_is_the_same_on_every_backend(backend, blobs):
    """Same data, same seed: the same centres as the in-process oracle."""
    model = KMeans(8, random_state=7, backend=backend).fit(blobs)
    oracle = KMeans(8, random_state=7, backend="local").fit(blobs)
    assert rel(model.cluster_centers_, oracle.cluster_centers_) <= 1e-9
    assert model.n_iter_ == oracle.n_iter_
    ds = backend.from_blocks(split_blocks(blobs))
    np.testing.assert_array_equal(model.predict(ds), oracle.predict(blobs))
    assert model.score(ds) == pytest.approx(oracle.score(blobs), rel=1e-12)
    backend.free(ds)


def test_workers_never_import_scikit_learn(backend, blobs):
    """Workers import only algorithms.kernels: scikit-learn would cost ~1 s per process."""
    if backend.info()["worker_pids"] == [os.getpid()]:
        pytest.skip("in-process backend: the driver imports scikit-learn itself")
    KMeans(3, random_state=0, backend=backend).fit(blobs[:500])
    LogisticRegression(backend=backend).fit(blobs[:500], (blobs[:500, 0] > 0).astype(int))
    ds = backend.generate(indexed_block, 4)
    assert not backend.aggregate(ds, pulls_in, either, "dmlbench.algorithms.kernels", "sklearn")
    assert backend.aggregate(ds, pulls_in, either, "dmlbench.algorithms.linear", "sklearn")  # control
    backend.free(ds)
