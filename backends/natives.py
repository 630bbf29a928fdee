"""Engine-native comparators: what each engine ships for the same job, on the same data.

Each function takes a started backend of its engine, builds the engine's own data
structure from the same block function dmlbench uses (so the rows are bit-identical),
makes it resident (persisted / cached), then times only the fit. Settings that make the
comparison fair (iterations, tolerance, penalty, initial centres) are explicit arguments
and are returned with the result.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from dmlbench.backends._protocol import Block

#: Each engine's own machine-learning library, or why it has none.
NATIVE_LIBRARY = {
    "local": "scikit-learn",
    "dask": "dask-ml",
    "spark": "Spark MLlib",
    "ray": None,
}
NO_NATIVE_REASON = {
    "ray": "Ray ships no ML algorithms of its own (Ray Train runs other libraries' models)",
    ("mlp", "dask"): "dask-ml has no neural networks (it wraps scikit-learn/Keras models instead)",
    ("cnn", "dask"): "dask-ml has no neural networks (it wraps scikit-learn/Keras models instead)",
    ("cnn", "spark"): "Spark MLlib has no convolutional network (only a dense MLP)",
    ("cnn", "local"): "scikit-learn has no convolutional network",
    ("als", "local"): "scikit-learn has no ALS (no matrix factorisation for ratings)",
    ("als", "dask"): "dask-ml has no ALS or other recommender",
}


class NativeUnsupported(Exception):
    """The native library cannot solve this case (for example, more classes than it takes)."""


def no_native_reason(algorithm: str, backend: str) -> str:
    """Why ``backend`` has no native comparator for ``algorithm``."""
    specific = NO_NATIVE_REASON.get((algorithm, backend)) or NO_NATIVE_REASON.get(backend)
    return specific or (
        f"no {algorithm} comparator from {NATIVE_LIBRARY.get(backend)} wired in for {backend}"
    )


def dask_ml_kmeans(
    be,
    make_block: Callable[[int], Block],
    n_blocks: int,
    *,
    init: np.ndarray,
    max_iter: int,
    tol: float = 0.0,
) -> dict[str, Any]:
    """dask-ml ``KMeans`` from explicit centres: at most ``max_iter`` Lloyd steps, until the
    squared centre shift is below ``tol`` (absolute; scikit-learn's ``tol`` is relative to
    the mean feature variance, so the two agree on standardised data; 0: every step)."""
    from dask_ml.cluster import KMeans

    X, _ = _dask_arrays(be, make_block, n_blocks)
    t0 = time.perf_counter()
    model = KMeans(n_clusters=init.shape[0], init=init, max_iter=max_iter, tol=tol).fit(X)
    seconds = time.perf_counter() - t0
    return {
        "impl": "dask-ml KMeans",
        "seconds": seconds,
        "inertia": float(model.inertia_),
        "centers": np.asarray(model.cluster_centers_),
        "n_iter": int(model.n_iter_),
        "settings": {"init": "explicit", "tol": tol, "max_iter": max_iter},
    }


def mllib_kmeans(
    be,
    make_block: Callable[[int], Block],
    n_blocks: int,
    *,
    init: np.ndarray,
    max_iter: int,
    tol: float = 0.0,
) -> dict[str, Any]:
    """Spark MLlib ``KMeans.train`` (RDD API: the one that takes initial centres).

    It stops when every centre moves less than ``epsilon``; ``epsilon = sqrt(tol)`` bounds
    each centre's shift by what scikit-learn's ``tol`` allows all of them together on
    standardised data (0: every step)."""
    from pyspark.mllib.clustering import KMeans, KMeansModel

    rdd = (
        be.native().sparkContext.parallelize(range(n_blocks), n_blocks)
        .flatMap(lambda i: list(_block_X(make_block, i)))
        .cache()
    )
    rdd.count()
    t0 = time.perf_counter()
    model = KMeans.train(
        rdd,
        init.shape[0],
        maxIterations=max_iter,
        epsilon=float(np.sqrt(tol)),
        initialModel=KMeansModel([c for c in init]),
    )
    seconds = time.perf_counter() - t0
    inertia = float(model.computeCost(rdd))
    rdd.unpersist()
    return {
        "impl": "MLlib KMeans (RDD)",
        "seconds": seconds,
        "inertia": inertia,
        "centers": np.array(model.clusterCenters),
        "n_iter": None,  # the RDD API does not report it
        "settings": {"init": "explicit", "epsilon": float(np.sqrt(tol)), "maxIterations": max_iter},
    }


def mllib_linear_regression(
    be,
    make_block: Callable[[int], Block],
    n_blocks: int,
) -> dict[str, Any]:
    """Spark ML ``LinearRegression(solver="normal")``, no penalty, no standardisation."""
    from pyspark.ml.regression import LinearRegression

    df = _spark_frame(be, make_block, n_blocks)
    t0 = time.perf_counter()
    model = LinearRegression(
        solver="normal", regParam=0.0, standardization=False, fitIntercept=True
    ).fit(df)
    seconds = time.perf_counter() - t0
    df.unpersist()
    return {
        "impl": "MLlib LinearRegression(normal)",
        "seconds": seconds,
        "coef": model.coefficients.toArray(),
        "intercept": float(model.intercept),
        "settings": {"solver": "normal", "regParam": 0.0, "standardization": False},
    }


def dask_ml_linear_regression(
    be, make_block: Callable[[int], Block], n_blocks: int
) -> dict[str, Any]:
    """dask-ml ``LinearRegression(solver="newton")``: unpenalised least squares.

    dask-ml's default is ADMM with an L2 penalty of 1 on every coefficient, the intercept
    included; ``newton`` drops the penalty, and on a quadratic loss one Newton step is the
    normal-equations solution, so this solves the same problem as ours.
    """
    from dask_ml.linear_model import LinearRegression

    X, y = _dask_arrays(be, make_block, n_blocks)
    t0 = time.perf_counter()
    model = LinearRegression(solver="newton", fit_intercept=True).fit(X, y)
    seconds = time.perf_counter() - t0
    return {
        "impl": "dask-ml LinearRegression(newton)",
        "seconds": seconds,
        "coef": np.asarray(model.coef_),
        "intercept": float(model.intercept_),
        "settings": {"solver": "newton", "penalty": None, "fit_intercept": True},
    }


def dask_ml_logistic_regression(
    be, make_block: Callable[[int], Block], n_blocks: int, *, C: float, max_iter: int, tol: float
) -> dict[str, Any]:
    """dask-ml ``LogisticRegression(solver="lbfgs", C=C)``, binary labels only.

    dask-ml's objective is ``sum(log-loss) + ||[w, b]||^2 / (2 C)``: unlike scikit-learn
    and ours it also penalises the intercept ``b``; recorded in the settings.
    """
    from dask_ml.linear_model import LogisticRegression

    X, y = _dask_arrays(be, make_block, n_blocks)
    classes = np.unique(y.compute())
    if len(classes) != 2:
        raise NativeUnsupported(
            f"dask-ml LogisticRegression is binary only; this dataset has {len(classes)} classes"
        )
    y01 = (y == classes[1]).astype(np.float64)
    t0 = time.perf_counter()
    model = LogisticRegression(
        solver="lbfgs", C=C, max_iter=max_iter, tol=tol, fit_intercept=True
    ).fit(X, y01)
    seconds = time.perf_counter() - t0
    return {
        "impl": "dask-ml LogisticRegression(lbfgs)",
        "seconds": seconds,
        "coef": np.asarray(model.coef_).reshape(1, -1),
        "intercept": np.atleast_1d(float(model.intercept_)),
        "classes": classes,
        "settings": {
            "solver": "lbfgs",
            "C": C,
            "max_iter": max_iter,
            "tol": tol,
            "intercept_penalised": True,
        },
    }


def mllib_logistic_regression(
    be, make_block: Callable[[int], Block], n_blocks: int, *, C: float, max_iter: int, tol: float
) -> dict[str, Any]:
    """Spark ML ``LogisticRegression`` (L-BFGS), the same objective as scikit-learn's.

    MLlib minimises ``mean(log-loss) + regParam/2 ||w||^2`` (intercept not penalised), so
    ``regParam = 1 / (C n)`` matches scikit-learn's ``C sum(log-loss) + ||w||^2 / 2``.
    Standardisation is off so the penalty applies to the same coefficients.
    """
    from pyspark.ml.classification import LogisticRegression

    df = _spark_frame(be, make_block, n_blocks)
    n = df.count()
    t0 = time.perf_counter()
    model = LogisticRegression(
        regParam=1.0 / (C * n),
        elasticNetParam=0.0,
        standardization=False,
        maxIter=max_iter,
        tol=tol,
        fitIntercept=True,
    ).fit(df)
    seconds = time.perf_counter() - t0
    binary = model.numClasses == 2
    coef = model.coefficients.toArray().reshape(1, -1) if binary else model.coefficientMatrix
    intercept = np.atleast_1d(model.intercept) if binary else model.interceptVector.toArray()
    df.unpersist()
    return {
        "impl": "MLlib LogisticRegression",
        "seconds": seconds,
        "coef": np.asarray(coef.toArray() if hasattr(coef, "toArray") else coef),
        "intercept": np.asarray(intercept, dtype=np.float64),
        "classes": np.arange(model.numClasses, dtype=np.float64),
        "n_iter": int(model.summary.totalIterations),
        "settings": {
            "regParam": 1.0 / (C * n),
            "standardization": False,
            "maxIter": max_iter,
            "tol": tol,
        },
    }


def mllib_mlp(
    be,
    make_block: Callable[[int], Block],
    n_blocks: int,
    *,
    hidden_layer_sizes: tuple[int, ...],
    max_iter: int,
    seed: int,
) -> dict[str, Any]:
    """Spark ML ``MultilayerPerceptronClassifier`` (L-BFGS; sigmoid hidden layers).

    Its architecture differs from ours (sigmoid, not ReLU, hidden units), so the two are
    compared on accuracy, not parameters. Accuracy is computed by Spark on the same rows.
    """
    from pyspark.ml.classification import MultilayerPerceptronClassifier
    from pyspark.ml.evaluation import MulticlassClassificationEvaluator

    df = _spark_frame(be, make_block, n_blocks)
    first = make_block(0)
    n_classes = int(df.agg({"label": "max"}).collect()[0][0]) + 1
    layers = [first.X.shape[1], *hidden_layer_sizes, n_classes]
    t0 = time.perf_counter()
    model = MultilayerPerceptronClassifier(
        layers=layers, maxIter=max_iter, solver="l-bfgs", seed=seed
    ).fit(df)
    seconds = time.perf_counter() - t0
    accuracy = MulticlassClassificationEvaluator(metricName="accuracy").evaluate(
        model.transform(df)
    )
    df.unpersist()
    return {
        "impl": "MLlib MultilayerPerceptronClassifier",
        "seconds": seconds,
        "accuracy": float(accuracy),
        "settings": {"layers": layers, "maxIter": max_iter, "solver": "l-bfgs", "seed": seed},
    }


def mllib_als(
    be,
    make_block: Callable[[int], Block],
    n_blocks: int,
    *,
    rank: int,
    reg_param: float,
    max_iter: int,
    seed: int,
) -> dict[str, Any]:
    """Spark ML ``ALS`` (explicit ratings) on the same training ratings; held-out RMSE.

    ``n_blocks`` counts both partitionings of a ratings dataset; MLlib gets the
    user-partitioned copy only (the even blocks; it partitions by itself). Its
    regularisation is ALS-WR like ours; its random initial factors are its own, so it may
    end in another optimum.
    """
    from pyspark.ml.evaluation import RegressionEvaluator
    from pyspark.ml.recommendation import ALS

    half = n_blocks // 2  # user-partitioned blocks are the even ones
    rows = be.native().sparkContext.parallelize(range(half), half).flatMap(lambda j: _rating_rows(make_block, 2 * j))
    df = be.native().createDataFrame(rows, ["user", "item", "rating", "held_out"]).cache()
    train, test = df.filter("held_out = 0").cache(), df.filter("held_out = 1").cache()
    train.count(), test.count()
    # MLlib's ALS lineage grows with every iteration; without a checkpoint directory its
    # checkpointInterval is ignored and ~20 iterations overflow the JVM stack.
    checkpoints = tempfile.mkdtemp(prefix="dmlbench-als-")
    be.native().sparkContext.setCheckpointDir(checkpoints)
    t0 = time.perf_counter()
    model = ALS(
        rank=rank,
        regParam=reg_param,
        maxIter=max_iter,
        seed=seed,
        userCol="user",
        itemCol="item",
        ratingCol="rating",
        implicitPrefs=False,
        coldStartStrategy="drop",
        checkpointInterval=10,
    ).fit(train)
    seconds = time.perf_counter() - t0
    rmse = RegressionEvaluator(
        metricName="rmse", labelCol="rating", predictionCol="prediction"
    ).evaluate(model.transform(test))
    for frame in (train, test, df):
        frame.unpersist()
    shutil.rmtree(checkpoints, ignore_errors=True)
    return {
        "impl": "MLlib ALS",
        "seconds": seconds,
        "rmse": float(rmse),
        "settings": {
            "rank": rank,
            "regParam": reg_param,
            "maxIter": max_iter,
            "seed": seed,
            "implicitPrefs": False,
            "coldStartStrategy": "drop",
        },
    }


def _rating_rows(make_block, i: int) -> list:
    block = make_block(i)
    X = block.X
    return [
        (int(u), int(it), float(r), int(t))
        for (u, it, t), r in zip(X[:, :3].tolist(), block.y.tolist(), strict=True)
    ]


def _dask_arrays(be, make_block, n_blocks: int):
    """(X, y) as dask arrays of the same blocks, persisted on the workers; y may be None."""
    import dask
    import dask.array as da

    first = make_block(0)
    blocks = [dask.delayed(make_block)(i) for i in range(n_blocks)]
    X = da.concatenate(
        [
            da.from_delayed(b.X, shape=(np.nan, first.X.shape[1]), dtype=first.X.dtype)
            for b in blocks
        ],
        axis=0,
        allow_unknown_chunksizes=True,
    )
    y = None
    if first.y is not None:
        y = da.concatenate(
            [da.from_delayed(b.y, shape=(np.nan,), dtype=first.y.dtype) for b in blocks],
            allow_unknown_chunksizes=True,
        )
    X, y = be.native().persist([X, y]) if y is not None else (be.native().persist(X), None)
    X.compute_chunk_sizes()
    if y is not None:
        y.compute_chunk_sizes()
    return X, y


def _spark_frame(be, make_block, n_blocks: int):
    """A cached Spark DataFrame (features: dense vector, label: double) of the same blocks."""
    from pyspark.ml.linalg import Vectors

    rows = be.native().sparkContext.parallelize(range(n_blocks), n_blocks).flatMap(
        lambda i: _labelled_rows(make_block, i, Vectors)
    )
    df = be.native().createDataFrame(rows, ["features", "label"]).cache()
    df.count()
    return df


def _block_X(make_block, i: int) -> np.ndarray:
    return make_block(i).X


def _labelled_rows(make_block, i: int, vectors) -> list:
    block = make_block(i)
    return [(vectors.dense(x), float(y)) for x, y in zip(block.X, block.y, strict=True)]
