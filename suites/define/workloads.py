"""What a suite can name: its algorithms and its datasets, one entry each.

A workload is an algorithm on a dataset of the same task. Each algorithm's entry
(:class:`~dmlbench.suites.define.algorithm_spec.AlgorithmSpec`) declares its estimator,
metric, reference and tolerance, and a small policy for each job only some algorithms have
(:mod:`~dmlbench.suites.define.policies`); the pieces the entries name live by job:
:mod:`~dmlbench.suites.define.metrics`, :mod:`~dmlbench.suites.define.starts`,
:mod:`~dmlbench.suites.define.references` (scikit-learn), :mod:`~dmlbench.suites.define.extras`.
Each dataset's entry (:class:`~dmlbench.suites.define.dataset_spec.DatasetSpec`) names its
block generator (:mod:`~dmlbench.suites.define.datasets`) or scikit-learn loader.

Adding an algorithm is its module in ``algorithms/``, one entry in :data:`ALGORITHMS` and its
natives' lines (the README's "Extending dmlbench" says each step).
"""

from __future__ import annotations

from functools import partial

from dmlbench.algorithms.kernels import warm_compiled
from dmlbench.suites.define.algorithm_spec import AlgorithmSpec
from dmlbench.suites.define.dataset_spec import DatasetSpec, table_preprocess
from dmlbench.suites.define.datasets import (
    CREDIT_CATEGORICAL,
    CREDIT_NUMERIC,
    CUSTOMER_COLUMNS,
    blobs_block,
    classification_block,
    credit_block,
    customers_block,
    images_block,
    interactions_block,
    ratings_block,
    regression_block,
    strokes_block,
)
from dmlbench.suites.define.extras import accuracy_and_roc_auc, ranking_at_10, silhouette
from dmlbench.suites.define.metrics import ACCURACY, INERTIA, OBJECTIVE, R2, RMSE, als_metric
from dmlbench.suites.define.policies import (
    CheckPolicy,
    ExtrasPolicy,
    NativePolicy,
    OursPolicy,
    StartPolicy,
    TargetPolicy,
)
from dmlbench.suites.define.references import (
    sklearn_kmeans,
    sklearn_linear,
    sklearn_logistic,
    sklearn_logistic_baseline,
)
from dmlbench.suites.define.starts import kmeans_start

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
    # Two classes: what every library's logistic regression takes (dask-ml's is binary only).
    "binary_classification": DatasetSpec(
        "binary_classification",
        "classification",
        partial(classification_block, n_classes=2),
        has_held_out=True,
    ),
    "images": DatasetSpec(
        "images", "classification", images_block, image_shape=(8, 8), has_held_out=True
    ),
    # Handwriting-like strokes, deformed and cluttered: hard enough to order the models.
    "images28": DatasetSpec(
        "images28", "classification", strokes_block, image_shape=(28, 28), has_held_out=True
    ),
    "ratings": DatasetSpec("ratings", "recommendation", ratings_block, copies=2),
    # Implicit feedback (views, carts, purchases) from users' tastes: ALS(implicit_prefs=True).
    "interactions": DatasetSpec("interactions", "recommendation", interactions_block, copies=2),
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

ALGORITHMS: dict[str, AlgorithmSpec] = {
    "linear_regression": AlgorithmSpec(
        "linear_regression",
        "dmlbench.algorithms.linear:LinearRegression",
        "regression",
        R2,
        supervised=True,
        reference=sklearn_linear,
        # Every implementation solves the same least-squares problem exactly (normal
        # equations, one Newton step, a solve): R² agrees to ~1e-13; an R² gap is second
        # order in the coefficients' error, so the check must be this tight to bite.
        tolerance=1e-9,
        # scikit-learn's lstsq stays the independent reference at the natives' 4M rows.
        reference_max_rows=10_000_000,
    ),
    "logistic_regression": AlgorithmSpec(
        "logistic_regression",
        "dmlbench.algorithms.linear:LogisticRegression",
        "classification",
        # Checked by the objective: an under-converged fit can be within 0.01 accuracy.
        OBJECTIVE,
        supervised=True,
        reference=sklearn_logistic,
        tolerance=1e-6,
        baseline=sklearn_logistic_baseline,
        # A lower objective than the strict reference's cannot be a wrong answer.
        check=CheckPolicy(one_sided=True, held_out_metric=ACCURACY, trace_is_metric=True),
        extras=ExtrasPolicy(accuracy_and_roc_auc, need_targets=True),
    ),
    "kmeans": AlgorithmSpec(
        "kmeans",
        "dmlbench.algorithms.kmeans:KMeans",
        "clustering",
        INERTIA,
        supervised=False,
        reference=sklearn_kmeans,
        # From the same start with the same stopping rule, the same iterations: the same
        # answer up to rounding.
        tolerance=1e-6,
        check=CheckPolicy(trace_is_metric=True),
        # A case's own init ("k-means||") may reach another local optimum; one a little
        # better than the reference's is right too.
        starts=StartPolicy(("random_state",), shared=kmeans_start, own_tolerance=0.02),
        extras=ExtrasPolicy(silhouette, need_sample=True),
        ours=OursPolicy(warm_up=warm_compiled),
    ),
    "mlp": AlgorithmSpec(
        "mlp",
        "dmlbench.algorithms.neural:MLPClassifier",
        "classification",
        ACCURACY,
        supervised=True,
        reference=None,
        tolerance=1e-9,
        starts=StartPolicy(("random_state",)),
        # Ours, scikit-learn's and MLlib's MLPs are different models (MLlib: sigmoid units,
        # L-BFGS): with a ``target`` they are compared by the time to one held-out accuracy.
        target=TargetPolicy("max_iter"),
        native=NativePolicy(0.05),
    ),
    "als": AlgorithmSpec(
        "als",
        "dmlbench.algorithms.als:ALS",
        "recommendation",
        RMSE,
        supervised=False,  # the ratings are the data: fit(ds), score(ds)
        reference=None,
        tolerance=1e-6,
        check=CheckPolicy(metric_for=als_metric),
        extras=ExtrasPolicy(ranking_at_10),
        native=NativePolicy(0.05),
    ),
    "cnn": AlgorithmSpec(
        "cnn",
        "dmlbench.algorithms.neural:CNNClassifier",
        "classification",
        ACCURACY,
        supervised=True,
        reference=None,
        tolerance=1e-9,
        # Its convolution, relu and pool are compiled (forward and back).
        ours=OursPolicy(dataset_params=("image_shape",), warm_up=warm_compiled),
    ),
}
