"""What a suite can name: algorithms (with their quality check) and datasets.

A dataset is generated per block on the workers (``generate``) or, for the real data that
ships with scikit-learn, loaded on the driver and shipped (``from_blocks``). The number of
blocks is fixed per dataset, not per worker count, so strong scaling holds the work
constant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from backends import Block
from suites.datasets import blobs_block, classification_block, images_block, regression_block

N_BLOCKS = 8


@dataclass(frozen=True)
class DatasetSpec:
    """How to get a dataset's blocks, and what it is for."""

    name: str
    task: str  # "regression", "classification" or "clustering"
    make_block: Callable[..., Block] | None = None  # generated: make_block(i, rows=, n_features=)
    loader: str | None = None  # real: sklearn.datasets loader name
    image_shape: tuple[int, int] | None = None

    def blocks_maker(self, n_samples: int, n_features: int, seed: int) -> Callable[[int], Block]:
        rows = max(1, n_samples // N_BLOCKS)
        return partial(self.make_block, rows=rows, n_features=n_features, seed=seed)

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        import sklearn.datasets

        X, y = getattr(sklearn.datasets, self.loader)(return_X_y=True)
        if self.name == "digits":
            X = X / 16.0
        else:
            X = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
        return X.astype(np.float64), y


DATASETS: dict[str, DatasetSpec] = {
    "regression": DatasetSpec("regression", "regression", regression_block),
    "blobs": DatasetSpec("blobs", "clustering", blobs_block),
    "classification": DatasetSpec("classification", "classification", classification_block),
    "images": DatasetSpec("images", "classification", images_block, image_shape=(8, 8)),
    "digits": DatasetSpec("digits", "classification", loader="load_digits", image_shape=(8, 8)),
    "diabetes": DatasetSpec("diabetes", "regression", loader="load_diabetes"),
    "breast_cancer": DatasetSpec("breast_cancer", "classification", loader="load_breast_cancer"),
    "iris": DatasetSpec("iris", "classification", loader="load_iris"),
    "wine": DatasetSpec("wine", "classification", loader="load_wine"),
}


@dataclass(frozen=True)
class AlgorithmSpec:
    """An algorithm: its estimator, the task it solves, its metric and its reference."""

    name: str
    estimator: str  # class name in ``algorithms``
    task: str
    metric: str  # "r2", "accuracy" or "inertia"
    # The reference on the same data: a scikit-learn estimator (name, params) or None
    # for "the local backend" (no scikit-learn equivalent).
    sklearn: tuple[str, dict[str, Any]] | None
    tolerance: float  # allowed |ours - reference| (relative for inertia)
    # A native library that trains a different model (MLlib's MLP has sigmoid units) is
    # checked one-sided: accuracy at most this much below the reference. None: same rule.
    native_tolerance: float | None = None

    def make(self, params: dict[str, Any], backend: Any, dataset: DatasetSpec):
        import algorithms

        params = dict(params)
        if self.estimator == "CNNClassifier" and dataset.image_shape:
            params.setdefault("image_shape", dataset.image_shape)
        return getattr(algorithms, self.estimator)(backend=backend, **params)


ALGORITHMS: dict[str, AlgorithmSpec] = {
    "linear_regression": AlgorithmSpec(
        "linear_regression",
        "LinearRegression",
        "regression",
        "r2",
        ("sklearn.linear_model.LinearRegression", {}),
        1e-6,
    ),
    "logistic_regression": AlgorithmSpec(
        "logistic_regression",
        "LogisticRegression",
        "classification",
        "accuracy",
        ("sklearn.linear_model.LogisticRegression", {"max_iter": 5000, "tol": 1e-10}),
        0.01,
    ),
    "kmeans": AlgorithmSpec(
        "kmeans",
        "KMeans",
        "clustering",
        "inertia",
        ("sklearn.cluster.KMeans", {"n_init": 1, "random_state": 0}),
        0.02,
    ),
    "mlp": AlgorithmSpec(
        "mlp",
        "MLPClassifier",
        "classification",
        "accuracy",
        None,
        1e-9,
        native_tolerance=0.05,
    ),
    "cnn": AlgorithmSpec(
        "cnn",
        "CNNClassifier",
        "classification",
        "accuracy",
        None,
        1e-9,
    ),
}

# Parameters the scikit-learn reference takes from ours, so both solve the same problem.
SHARED_PARAMS = {
    "sklearn.linear_model.LinearRegression": (),
    "sklearn.linear_model.LogisticRegression": ("C",),
    "sklearn.cluster.KMeans": ("n_clusters", "max_iter", "tol"),
}


def sklearn_reference(algo: AlgorithmSpec, params: dict[str, Any]):
    """The scikit-learn estimator that solves the same problem, or None."""
    if algo.sklearn is None:
        return None
    import importlib

    path, fixed = algo.sklearn
    module, cls = path.rsplit(".", 1)
    shared = {k: params[k] for k in SHARED_PARAMS[path] if k in params}
    if path.endswith("LinearRegression") and params.get("alpha"):
        module, cls, shared = "sklearn.linear_model", "Ridge", {"alpha": params["alpha"]}
    return getattr(importlib.import_module(module), cls)(**{**fixed, **shared})


def metric_of(algo: AlgorithmSpec, model, X, y) -> float:
    """The algorithm's quality metric of a fitted model on (X, y) or a Dataset X."""
    if algo.metric == "inertia":
        return float(-model.score(X))
    return float(model.score(X, y))


def quality_ok(
    algo: AlgorithmSpec, value: float, reference: float, *, native: bool = False
) -> bool:
    """Whether a metric matches the reference's within the algorithm's tolerance."""
    if native and algo.native_tolerance is not None:
        return value >= reference - algo.native_tolerance
    if algo.metric == "inertia":  # lower is better: no worse than reference + tolerance
        return value <= reference * (1 + algo.tolerance)
    return abs(value - reference) <= algo.tolerance
