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

from dmlbench.algorithms._common import N_BLOCKS
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
    # Real data scaled by this maximum (pixels); None: standardised column by column.
    pixel_max: float | None = None

    # Blocks per dataset: ratings keep every rating twice (by user, by item).
    copies: int = 1
    # Generated supervised data: HELD_OUT_BLOCKS more blocks are the held-out rows (ratings
    # hold theirs inside; real data holds out a share).
    has_held_out: bool = False
    # Raw data that needs preparing on the workers first: preprocess(be, ds) returns the
    # prepared resident Dataset and the fitted parameters of ``prepared_block``.
    preprocess: Callable[[Any, Any], tuple[Any, dict]] | None = None

    @property
    def n_blocks(self) -> int:
        return N_BLOCKS * self.copies

    def blocks_maker(self, n_samples: int, n_features: int, seed: int) -> Callable[[int], Block]:
        rows = max(1, n_samples // N_BLOCKS)
        return partial(self.make_block, rows=rows, n_features=n_features, seed=seed)

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
        if self.pixel_max is not None:
            X = X / self.pixel_max
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
    "regression": DatasetSpec("regression", "regression", regression_block, has_held_out=True),
    "blobs": DatasetSpec("blobs", "clustering", blobs_block),
    "overlapping_blobs": DatasetSpec(
        "overlapping_blobs", "clustering", partial(blobs_block, spread=8.0)
    ),
    "classification": DatasetSpec(
        "classification", "classification", classification_block, has_held_out=True
    ),
    "images": DatasetSpec(
        "images", "classification", images_block, image_shape=(8, 8), has_held_out=True
    ),
    "images28": DatasetSpec(
        "images28", "classification", images_block, image_shape=(28, 28), has_held_out=True
    ),
    "ratings": DatasetSpec("ratings", "recommendation", ratings_block, copies=2),
    "credit": DatasetSpec(
        "credit",
        "classification",
        partial(credit_block, target="default"),
        has_held_out=True,
        preprocess=credit_preparation,
    ),
    "credit_bill": DatasetSpec(
        "credit_bill",
        "regression",
        partial(credit_block, target="bill"),
        has_held_out=True,
        preprocess=credit_preparation,
    ),
    "customers": DatasetSpec(
        "customers",
        "clustering",
        customers_block,
        preprocess=partial(table_preprocess, numeric=tuple(range(len(CUSTOMER_COLUMNS)))),
    ),
    "digits": DatasetSpec(
        "digits", "classification", loader="load_digits", image_shape=(8, 8), pixel_max=16.0
    ),
    "diabetes": DatasetSpec("diabetes", "regression", loader="load_diabetes"),
    "breast_cancer": DatasetSpec("breast_cancer", "classification", loader="load_breast_cancer"),
    "iris": DatasetSpec("iris", "classification", loader="load_iris"),
    "wine": DatasetSpec("wine", "classification", loader="load_wine"),
}


@dataclass(frozen=True)
class Metric:
    """A quality metric: its name, its direction and how its tolerance is read."""

    name: str  # "r2", "accuracy", "inertia" or "rmse"
    higher_is_better: bool
    relative: bool  # tolerances are a share of the reference's value (else absolute)


R2 = Metric("r2", higher_is_better=True, relative=False)
ACCURACY = Metric("accuracy", higher_is_better=True, relative=False)
INERTIA = Metric("inertia", higher_is_better=False, relative=True)
RMSE = Metric("rmse", higher_is_better=False, relative=True)


@dataclass(frozen=True)
class AlgorithmSpec:
    """Everything the runner knows of an algorithm, declared once (no name is ever compared).

    Adding an algorithm is its module in ``algorithms/`` plus one entry in
    :data:`ALGORITHMS`.
    """

    name: str
    estimator: str  # "module:Class" of our estimator, written once in ``algorithms/``
    task: str  # the DatasetSpec.task it solves
    metric: Metric
    #: Fitted with targets: ``fit(X, y)`` and ``score(X, y)`` on numpy rows (else ``fit(X)``).
    supervised: bool
    #: ``params -> estimator``: scikit-learn solving the same problem, or None for "dmlbench
    #: on the local backend" (no scikit-learn equivalent).
    reference: Callable[[dict[str, Any]], Any] | None
    tolerance: float  # allowed distance to the reference (relative or absolute: the metric's)
    #: Only "no worse than the reference by more than the tolerance": a local optimum
    #: better than the reference's is right too (k-means).
    one_sided: bool = False
    # A native library that trains a different model (MLlib's MLP has sigmoid units, its ALS
    # its own random start) is checked one-sided with this tolerance instead. None: the same
    # rule as ours.
    native_tolerance: float | None = None
    #: Attributes of the DatasetSpec passed to the estimator when set (CNN: image_shape).
    dataset_params: tuple[str, ...] = ()
    #: ``(model, X, y, sample) -> {name: value}``: secondary quality numbers; ``X`` rows or a
    #: Dataset, ``y`` targets when ``extras_need_targets``, ``sample`` numpy rows when
    #: ``extras_need_sample``.
    extras: Callable[..., dict[str, float]] | None = None
    extras_need_targets: bool = False
    extras_need_sample: bool = False

    def make(self, params: dict[str, Any], backend: Any, dataset: DatasetSpec):
        """Our estimator with the case's parameters, on ``backend``."""
        import importlib

        params = dict(params)
        for name in self.dataset_params:
            if getattr(dataset, name) is not None:
                params.setdefault(name, getattr(dataset, name))
        module, cls = self.estimator.split(":")
        return getattr(importlib.import_module(module), cls)(backend=backend, **params)

    @property
    def estimator_name(self) -> str:
        """The estimator's class name."""
        return self.estimator.rsplit(":", 1)[-1]

    def fit(self, model, X, y=None):
        """Fit any implementation (ours on numpy, scikit-learn) on numpy rows."""
        return model.fit(X, y) if self.supervised else model.fit(X)

    def score(self, model, X, y=None) -> float:
        """The metric of a fitted model on numpy rows ``(X, y)`` or on a Dataset ``X``.

        Every estimator's ``score`` is "higher is better"; a lower-is-better metric (inertia,
        RMSE) is its negative.
        """
        value = float(model.score(X) if y is None or not self.supervised else model.score(X, y))
        return value if self.metric.higher_is_better else -value

    def tolerance_for(self, native: bool) -> float:
        """The tolerance the answer of ours (or of a native library) is checked with."""
        return (
            self.native_tolerance
            if native and self.native_tolerance is not None
            else self.tolerance
        )

    def quality_ok(self, value: float, reference: float, *, native: bool = False) -> bool:
        """Whether a metric value matches the reference's within the tolerance."""
        different_model = native and self.native_tolerance is not None
        tol = self.tolerance_for(native)
        margin = tol * abs(reference) if self.metric.relative else tol
        if self.one_sided or different_model:
            worse = reference - value if self.metric.higher_is_better else value - reference
            return worse <= margin
        return abs(value - reference) <= margin

    def extra_metrics(self, model, X, y=None, sample=None) -> dict[str, float]:
        """Secondary quality numbers of a fitted model (ours or scikit-learn's)."""
        return self.extras(model, X, y, sample) if self.extras else {}


# -- references: scikit-learn solving the same problem --------------------------------------
def sklearn_linear(params: dict[str, Any]):
    """Least squares; Ridge with the same ``alpha`` when ours is penalised."""
    from sklearn.linear_model import LinearRegression, Ridge

    return Ridge(alpha=params["alpha"]) if params.get("alpha") else LinearRegression()


def sklearn_logistic(params: dict[str, Any]):
    """The same objective (``C``), solved to precision: the reference, not a rival."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=params.get("C", 1.0), max_iter=5000, tol=1e-10)


def sklearn_kmeans(params: dict[str, Any]):
    """One k-means++ start with the case's ``n_clusters``, ``max_iter`` and ``tol``."""
    from sklearn.cluster import KMeans

    shared = {k: params[k] for k in ("n_clusters", "max_iter", "tol") if k in params}
    return KMeans(n_init=1, random_state=0, **shared)


# -- secondary quality numbers ----------------------------------------------------------
#: Rows of the sample a silhouette score is computed on (it is quadratic in rows).
SILHOUETTE_SAMPLE = 4000


def sample_rows(n_blocks: int) -> int:
    """Rows taken from the head of every block for a silhouette sample."""
    return -(-SILHOUETTE_SAMPLE // n_blocks)


def silhouette_of(predict: Callable, X: np.ndarray) -> float:
    """Silhouette score of ``predict``'s labels on the rows ``X`` (-1 to 1; higher is better)."""
    from sklearn.metrics import silhouette_score

    labels = predict(X)
    return float(silhouette_score(X, labels)) if len(set(labels.tolist())) > 1 else float("nan")


def roc_auc(model, X, y, sample=None) -> dict[str, float]:
    """ROC AUC over all rows ``X`` (numpy or Dataset) with targets ``y``: binary only."""
    if len(model.classes_) != 2:
        return {}
    from sklearn.metrics import roc_auc_score

    return {"roc_auc": float(roc_auc_score(y, model.decision_function(X)))}


def silhouette(model, X, y=None, sample=None) -> dict[str, float]:
    """The silhouette score of the numpy rows ``sample``."""
    return {"silhouette": silhouette_of(model.predict, sample)}


def precision_at_10(model, X, y=None, sample=None) -> dict[str, float]:
    """Precision@10 on the held-out ratings >= 4 of the ratings Dataset ``X``."""
    return {"precision_at_10": model.precision_at_k(X, 10)}


ALGORITHMS: dict[str, AlgorithmSpec] = {
    "linear_regression": AlgorithmSpec(
        "linear_regression",
        "dmlbench.algorithms.linear:LinearRegression",
        "regression",
        R2,
        supervised=True,
        reference=sklearn_linear,
        tolerance=1e-6,
    ),
    "logistic_regression": AlgorithmSpec(
        "logistic_regression",
        "dmlbench.algorithms.linear:LogisticRegression",
        "classification",
        ACCURACY,
        supervised=True,
        reference=sklearn_logistic,
        tolerance=0.01,
        extras=roc_auc,
        extras_need_targets=True,
    ),
    "kmeans": AlgorithmSpec(
        "kmeans",
        "dmlbench.algorithms.kmeans:KMeans",
        "clustering",
        INERTIA,
        supervised=False,
        reference=sklearn_kmeans,
        tolerance=0.02,
        one_sided=True,
        extras=silhouette,
        extras_need_sample=True,
    ),
    "mlp": AlgorithmSpec(
        "mlp",
        "dmlbench.algorithms.neural:MLPClassifier",
        "classification",
        ACCURACY,
        supervised=True,
        reference=None,
        tolerance=1e-9,
        native_tolerance=0.05,
    ),
    "als": AlgorithmSpec(
        "als",
        "dmlbench.algorithms.als:ALS",
        "recommendation",
        RMSE,
        supervised=False,  # the ratings are the data: fit(ds), score(ds)
        reference=None,
        tolerance=1e-6,
        native_tolerance=0.05,
        extras=precision_at_10,
    ),
    "cnn": AlgorithmSpec(
        "cnn",
        "dmlbench.algorithms.neural:CNNClassifier",
        "classification",
        ACCURACY,
        supervised=True,
        reference=None,
        tolerance=1e-9,
        dataset_params=("image_shape",),
    ),
}
