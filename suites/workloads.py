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

from dmlbench.backends import Block
from dmlbench.suites.datasets import (
    CREDIT_CATEGORICAL,
    CREDIT_NUMERIC,
    CUSTOMER_COLUMNS,
    blobs_block,
    classification_block,
    credit_block,
    customers_block,
    images_block,
    ratings_block,
    regression_block,
)

N_BLOCKS = 8
#: Held-out rows: of a real dataset, this share; of a generated one, this many more blocks
#: (the blocks after the training ones: the same distribution, never trained on).
HELD_OUT_SHARE = 0.2
HELD_OUT_BLOCKS = 2


@dataclass(frozen=True)
class DatasetSpec:
    """How to get a dataset's blocks, and what it is for."""

    name: str
    task: str  # "regression", "classification", "clustering" or "recommendation"
    make_block: Callable[..., Block] | None = None  # generated: make_block(i, rows=, n_features=)
    loader: str | None = None  # real: sklearn.datasets loader name
    image_shape: tuple[int, int] | None = None

    # Blocks per dataset: ratings keep every rating twice (by user, by item).
    copies: int = 1
    # Raw data that needs preparing on the workers first: preprocess(be, ds) returns the
    # prepared resident Dataset and the fitted parameters of ``prepared_block``.
    preprocess: Callable[[Any, Any], tuple[Any, dict]] | None = None

    @property
    def n_blocks(self) -> int:
        return N_BLOCKS * self.copies

    def blocks_maker(self, n_samples: int, n_features: int, seed: int) -> Callable[[int], Block]:
        rows = max(1, n_samples // N_BLOCKS)
        return partial(self.make_block, rows=rows, n_features=n_features, seed=seed)

    @property
    def has_held_out(self) -> bool:
        """Supervised data with rows kept out of training (ratings hold theirs inside)."""
        return self.task in ("classification", "regression")

    def split(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """(training rows, held-out rows) of a real dataset: a fixed random 20 % held out."""
        X, y = self.load()
        order = np.random.default_rng(0).permutation(y.shape[0])
        cut = int(round(y.shape[0] * (1 - HELD_OUT_SHARE)))
        train, test = order[:cut], order[cut:]
        return (X[train], y[train]), (X[test], y[test])

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        import sklearn.datasets

        X, y = getattr(sklearn.datasets, self.loader)(return_X_y=True)
        if self.name == "digits":
            X = X / 16.0
        else:
            X = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
        return X.astype(np.float64), y


def table_preprocess(be, ds, numeric=(), categorical=()) -> tuple[Any, dict]:
    """Impute, clip, one-hot and standardise a raw table on the workers (written once)."""
    from dmlbench.algorithms.preprocessing import TablePreprocessor

    prep = TablePreprocessor(numeric=numeric, categorical=categorical, backend=be).fit(ds)
    return prep.transform(ds), prep.params()


credit_preparation = partial(
    table_preprocess, numeric=CREDIT_NUMERIC, categorical=CREDIT_CATEGORICAL
)

DATASETS: dict[str, DatasetSpec] = {
    "regression": DatasetSpec("regression", "regression", regression_block),
    "blobs": DatasetSpec("blobs", "clustering", blobs_block),
    "classification": DatasetSpec("classification", "classification", classification_block),
    "images": DatasetSpec("images", "classification", images_block, image_shape=(8, 8)),
    "images28": DatasetSpec("images28", "classification", images_block, image_shape=(28, 28)),
    "ratings": DatasetSpec("ratings", "recommendation", ratings_block, copies=2),
    "credit": DatasetSpec(
        "credit",
        "classification",
        partial(credit_block, target="default"),
        preprocess=credit_preparation,
    ),
    "credit_bill": DatasetSpec(
        "credit_bill",
        "regression",
        partial(credit_block, target="bill"),
        preprocess=credit_preparation,
    ),
    "customers": DatasetSpec(
        "customers",
        "clustering",
        customers_block,
        preprocess=partial(table_preprocess, numeric=tuple(range(len(CUSTOMER_COLUMNS)))),
    ),
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
    metric: str  # "r2", "accuracy", "inertia" or "rmse" (held-out)
    # The reference on the same data: a scikit-learn estimator (name, params) or None
    # for "the local backend" (no scikit-learn equivalent).
    sklearn: tuple[str, dict[str, Any]] | None
    tolerance: float  # allowed |ours - reference| (relative for inertia and rmse)
    # A native library that trains a different model (MLlib's MLP has sigmoid units, its ALS
    # its own random start) is checked one-sided: accuracy at most this much below the
    # reference, or RMSE at most this share above it. None: the same rule as ours.
    native_tolerance: float | None = None

    def make(self, params: dict[str, Any], backend: Any, dataset: DatasetSpec):
        from dmlbench import algorithms

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
    "als": AlgorithmSpec(
        "als",
        "ALS",
        "recommendation",
        "rmse",
        None,
        1e-6,
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
    if algo.metric in ("inertia", "rmse"):  # lower is better; score() is its negative
        return float(-model.score(X))
    return float(model.score(X, y))


#: Rows of the sample a silhouette score is computed on (it is quadratic in rows).
SILHOUETTE_SAMPLE = 4000


def extra_metrics(algo: AlgorithmSpec, model, X, y, sample) -> dict[str, float]:
    """Secondary quality numbers of a fitted model (ours or scikit-learn's).

    ALS: precision@10 on the held-out ratings >= 4 of the ratings Dataset ``X``. Logistic
    regression on two classes: ROC AUC over all rows ``X`` (numpy or Dataset) with
    targets ``y``. k-means: the silhouette score of the numpy rows ``sample``.
    """
    if algo.name == "als":
        return {"precision_at_10": model.precision_at_k(X, 10)}
    if algo.name == "logistic_regression" and len(model.classes_) == 2:
        from sklearn.metrics import roc_auc_score

        return {"roc_auc": float(roc_auc_score(y, model.decision_function(X)))}
    if algo.name == "kmeans":
        return {"silhouette": silhouette_of(model.predict, sample)}
    return {}


def sample_rows(n_blocks: int) -> int:
    """Rows taken from the head of every block for a silhouette sample."""
    return -(-SILHOUETTE_SAMPLE // n_blocks)


def silhouette_of(predict: Callable, X: np.ndarray) -> float:
    """Silhouette score of ``predict``'s labels on the rows ``X`` (-1 to 1; higher is better)."""
    from sklearn.metrics import silhouette_score

    labels = predict(X)
    return float(silhouette_score(X, labels)) if len(set(labels.tolist())) > 1 else float("nan")


def quality_ok(
    algo: AlgorithmSpec, value: float, reference: float, *, native: bool = False
) -> bool:
    """Whether a metric matches the reference's within the algorithm's tolerance."""
    if native and algo.native_tolerance is not None:  # one-sided: no worse by more than this
        if algo.metric == "rmse":
            return value <= reference * (1 + algo.native_tolerance)
        return value >= reference - algo.native_tolerance
    if algo.metric == "inertia":  # lower is better: no worse than reference + tolerance
        return value <= reference * (1 + algo.tolerance)
    if algo.metric == "rmse":  # the same algorithm as the reference: equal within tolerance
        return abs(value - reference) <= algo.tolerance * reference
    return abs(value - reference) <= algo.tolerance
