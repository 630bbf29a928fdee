"""Engine-native comparators: what each engine ships for the same job, on the same data.

Each function takes a started backend of its engine, builds the engine's own data
structure from the same block function dmlbench uses (so the rows are bit-identical),
makes it resident (persisted / cached), then times only the fit. Settings that make the
comparison fair (iterations, tolerance, penalty, initial centres) are explicit arguments
and are returned with the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from backends._protocol import Block

#: Each engine's own machine-learning library, or why it has none.
NATIVE_LIBRARY = {
    "local": "scikit-learn",
    "dask": "dask-ml",
    "spark": "Spark MLlib",
    "ray": None,
}
NO_NATIVE_REASON = {"ray": "Ray has no native classical ML library (no LR, k-means or ALS)"}


def dask_ml_kmeans(
    be, make_block: Callable[[int], Block], n_blocks: int, *, init: np.ndarray, max_iter: int
) -> dict[str, Any]:
    """dask-ml ``KMeans`` from explicit centres, ``max_iter`` Lloyd steps (tol=0)."""
    import dask
    import dask.array as da
    from dask_ml.cluster import KMeans

    first = make_block(0).X
    parts = [
        da.from_delayed(
            dask.delayed(_block_X)(make_block, i), shape=(np.nan, first.shape[1]), dtype=first.dtype
        )
        for i in range(n_blocks)
    ]
    X = be._client.persist(da.concatenate(parts, axis=0, allow_unknown_chunksizes=True))
    X.compute_chunk_sizes()
    t0 = time.perf_counter()
    model = KMeans(n_clusters=init.shape[0], init=init, max_iter=max_iter, tol=0.0).fit(X)
    seconds = time.perf_counter() - t0
    return {
        "impl": "dask-ml KMeans",
        "seconds": seconds,
        "inertia": float(model.inertia_),
        "centers": np.asarray(model.cluster_centers_),
        "n_iter": int(model.n_iter_),
        "settings": {"init": "explicit", "tol": 0.0, "max_iter": max_iter},
    }


def mllib_kmeans(
    be, make_block: Callable[[int], Block], n_blocks: int, *, init: np.ndarray, max_iter: int
) -> dict[str, Any]:
    """Spark MLlib ``KMeans.train`` (RDD API: the one that takes initial centres)."""
    from pyspark.mllib.clustering import KMeans, KMeansModel

    rdd = (
        be._sc.parallelize(range(n_blocks), n_blocks)
        .flatMap(lambda i: list(_block_X(make_block, i)))
        .cache()
    )
    rdd.count()
    t0 = time.perf_counter()
    model = KMeans.train(
        rdd,
        init.shape[0],
        maxIterations=max_iter,
        epsilon=0.0,
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
        "settings": {"init": "explicit", "epsilon": 0.0, "maxIterations": max_iter},
    }


def mllib_linear_regression(
    be,
    make_block: Callable[[int], Block],
    n_blocks: int,
) -> dict[str, Any]:
    """Spark ML ``LinearRegression(solver="normal")``, no penalty, no standardisation."""
    from pyspark.ml.linalg import Vectors
    from pyspark.ml.regression import LinearRegression

    spark = be._spark
    rows = be._sc.parallelize(range(n_blocks), n_blocks).flatMap(
        lambda i: _labelled_rows(make_block, i, Vectors)
    )
    df = spark.createDataFrame(rows, ["features", "label"]).cache()
    df.count()
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


def _block_X(make_block, i: int) -> np.ndarray:
    return make_block(i).X


def _labelled_rows(make_block, i: int, vectors) -> list:
    block = make_block(i)
    return [(vectors.dense(x), float(y)) for x, y in zip(block.X, block.y, strict=True)]
