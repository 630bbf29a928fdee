"""Spark MLlib, the ``spark`` backend's native library, on the backend's own SparkSession.

``prepare`` rebuilds the case's rows in the JVM from the same block recipe (so they are
bit-identical to ours), in the form each estimator runs on (a DataFrame of dense vectors,
or MLlib's ``RDD[Vector]``), caches them and checks that every partition is cached: a
partition that is not would be rebuilt (from our Python ``make_block``) inside the timed
fit. Only the MLlib ``fit`` is timed.
"""

from __future__ import annotations

import shutil
import tempfile
from functools import cache, partial
from typing import Any

import numpy as np

from dmlbench.suites.natives.comparator import (
    Comparator,
    Fitted,
    NativeUnsupported,
    block_source,
    mean_variance,
    native_mlp_budget,
    scored_by_ours,
    shared_centres,
    unpenalised_only,
)


def require_native_blas(be) -> None:
    """Refuse (``NativeUnsupported``: the case is skipped, with the fix) an MLlib run on
    Java BLAS: ours and every other native call OpenBLAS, so MLlib must too.

    The Spark adapter records which BLAS the JVM loaded (``settings.jvm_blas``): netlib's
    ``JNIBLAS`` calls the machine's ``libblas.so.3``; ``VectorBLAS``/``F2jBLAS`` are Java.
    """
    blas = str(be.info()["settings"].get("jvm_blas", "unknown"))
    if "JNIBLAS" not in blas:
        raise NativeUnsupported(
            f"MLlib would run on Java BLAS ({blas}) while ours runs OpenBLAS: not the same "
            "resources. Install a native BLAS that provides libblas.so.3 (Debian/Ubuntu: "
            "apt-get install libopenblas0-pthread) and run again"
        )


class _MLlib(Comparator):
    """A cached, verified DataFrame (``features``: dense vector, ``label``: double) of the
    case's rows; subclasses fit."""

    library = "Spark MLlib"

    def prepare(self, case, algo, data, be, ds) -> None:
        require_native_blas(be)
        self.case, self.algo, self.data, self.be = case, algo, data, be
        self.spark = be.native()
        self.make, n_blocks = block_source(case, data)
        self.frames: list[Any] = []
        self.df = self._frame(self.make, n_blocks)

    def _frame(self, make_block, n_blocks: int):
        from pyspark.ml.linalg import Vectors

        rows = self.spark.sparkContext.parallelize(range(n_blocks), n_blocks).flatMap(
            partial(_labelled_rows, make_block, vectors=Vectors)
        )
        df = self.spark.createDataFrame(rows, ["features", "label"]).cache()
        self.frames.append(df)
        self.cached = _cached(self.spark.sparkContext, df.count)
        self.n_samples = self.cached["rows"]
        return df

    def verify(self) -> None:
        _still_cached(self.be.native().sparkContext, self.cached)

    def release(self) -> None:
        for frame in getattr(self, "frames", []):
            frame.unpersist()
        self.frames = []

    def _scored(self, fitted, native, n_iter=None) -> Fitted:
        native["input"] = self.cached
        return scored_by_ours(
            self.case, self.algo, self.data, self.be, fitted, native=native, n_iter=n_iter
        )


def mllib_kmeans_epsilon(tol: float, mean_var: float, k: int) -> float:
    """MLlib ``KMeans``' ``epsilon`` for scikit-learn's ``tol``, never stopping earlier.

    Ours (and scikit-learn) stop when the SUM over the ``k`` centres of the squared shifts
    ``d_j²`` is at most ``T = tol * mean_var``; MLlib stops when EVERY centre moved at most
    ``epsilon`` (a distance: ``d_j <= epsilon`` for all j). With ``epsilon = sqrt(T / k)``,
    MLlib stopping (all ``d_j² <= T / k``) implies ``sum d_j² <= T``: ours would have stopped
    at that step too, so MLlib never stops before ours (it may run a few steps more, which
    only lowers its inertia). ``sqrt(T)`` would be the other direction: ours stopping
    implies MLlib stopping, so MLlib could stop earlier than ours. ``tol = 0`` gives 0:
    both run until no centre moves, or ``max_iter``.
    """
    return float(np.sqrt(tol * mean_var / k))


#: Why MLlib stopped by a positive ``tol`` is checked one-sided.
MLLIB_KMEANS_REASON = (
    "MLlib stops when every centre moved at most epsilon = sqrt(tol * mean variance / k), "
    "which implies ours' rule (summed squared shifts <= tol * mean variance) but not "
    "conversely: from the same start it runs at least ours' Lloyd steps, so its inertia may "
    "only be lower; checked one-sided at 1e-6 (with tol = 0: the same steps, two-sided)"
)


class KMeansComparator(_MLlib):
    """Spark MLlib ``KMeans`` (RDD API: the one that takes initial centres), from the
    case's shared start (``start.params["init"]``).

    It stops when every centre moves less than ``epsilon``; the case's scikit-learn-style
    ``tol`` is converted so that MLlib never stops before ours (:func:`mllib_kmeans_epsilon`;
    0: until no centre moves, or ``max_iter``).

    ``pyspark.mllib``'s ``KMeans.train`` converts the Python rows to JVM vectors inside
    the call, every call (and uncaches them after), so the conversion would be timed as
    k-means: ``prepare`` builds and caches the JVM ``RDD[Vector]`` itself, and ``fit``
    runs MLlib's ``KMeans`` on it, the estimator ``KMeans.train`` runs.
    """

    def case_settings(self, case, algo) -> dict[str, Any]:
        params = algo.ours_params(case.params)
        return {"maxIterations": params["max_iter"], "tol": params["tol"]}

    def prepare(self, case, algo, data, be, ds) -> None:
        from pyspark.mllib.common import _py2java, _to_java_object_rdd
        from pyspark.mllib.linalg import _convert_to_vector

        require_native_blas(be)
        self.case, self.algo, self.data, self.be = case, algo, data, be
        self.frames = []
        sc = be.native().sparkContext
        make, n_blocks = block_source(case, data)
        rows = sc.parallelize(range(n_blocks), n_blocks).flatMap(partial(_block_X, make))
        self.vectors = _to_java_object_rdd(rows.map(_convert_to_vector))
        memory_and_disk = sc._jvm.org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK()
        self.cached = _cached(sc, self.vectors.persist(memory_and_disk).count)
        self.init = shared_centres(self)
        self.java_init = _py2java(sc, [_convert_to_vector(c) for c in self.init])
        settings = self.case_settings(case, algo)
        self.max_iter, self.tol = settings["maxIterations"], settings["tol"]
        # Untimed, from the same rows; not needed when tol is 0.
        mean_var = mean_variance(be, ds) if self.tol else 0.0
        self.epsilon = mllib_kmeans_epsilon(self.tol, mean_var, self.init.shape[0])
        self.sc = sc

    def fit(self) -> Fitted:
        from pyspark.mllib.common import callJavaFunc

        mllib = self.sc._jvm.org.apache.spark.mllib.clustering
        model = (
            mllib.KMeans()
            .setK(self.init.shape[0])
            .setMaxIterations(self.max_iter)
            .setEpsilon(self.epsilon)
            .setInitialModel(mllib.KMeansModel(self.java_init))
            .run(self.vectors.rdd())
        )
        n_iter = int(model.numIter())  # the training's Lloyd iterations
        native: dict[str, Any] = {
            "impl": "MLlib KMeans (RDD)",
            "settings": {
                "init": f"shared start {self.start.record['digest']}" if self.start else None,
                "epsilon": self.epsilon,  # MLlib's units: each centre's distance moved
                "tol": self.tol,  # the case's, scikit-learn's units
                "maxIterations": self.max_iter,
            },
            "n_iter": n_iter,
            "reported": {"inertia": float(model.trainingCost())},
        }
        if self.tol > 0:
            native["tolerance"] = {"value": self.algo.tolerance, "reason": MLLIB_KMEANS_REASON}
        sc = self.sc
        return self._scored(
            lambda: {
                "cluster_centers_": np.array(
                    [c.toArray() for c in callJavaFunc(sc, model.clusterCenters)]
                )
            },
            native,
            n_iter,
        )

    def release(self) -> None:
        vectors = getattr(self, "vectors", None)
        if vectors is not None:
            vectors.unpersist()
        self.vectors = None


class LinearRegressionComparator(_MLlib):
    """Spark ML ``LinearRegression(solver="normal")``, no penalty, no standardisation: a
    case with a ridge penalty (ours' ``alpha``) is skipped."""

    def skip_reason(self, case) -> str | None:
        return unpenalised_only(case, "MLlib's LinearRegression(regParam=0)")

    def fit(self) -> Fitted:
        from pyspark.ml.regression import LinearRegression

        model = LinearRegression(
            solver="normal", regParam=0.0, standardization=False, fitIntercept=True
        ).fit(self.df)
        native = {
            "impl": "MLlib LinearRegression(normal)",
            "settings": {"solver": "normal", "regParam": 0.0, "standardization": False},
        }
        return self._scored(
            lambda: {
                "coef_": model.coefficients.toArray(),
                "intercept_": float(model.intercept),
            },
            native,
        )


class LogisticRegressionComparator(_MLlib):
    """Spark ML ``LogisticRegression`` (L-BFGS), the same objective as scikit-learn's.

    MLlib minimises ``mean(log-loss) + regParam/2 ||w||^2`` (intercept not penalised), so
    ``regParam = 1 / (C n)`` matches scikit-learn's ``C sum(log-loss) + ||w||^2 / 2``.
    Standardisation is off so the penalty applies to the same coefficients.
    """

    def case_settings(self, case, algo) -> dict[str, Any]:
        # Ours' C (regParam = 1 / (C n) once the rows are counted), iteration cap and
        # tolerance: Breeze's tolerance is relative, so the number is the same but the rule
        # is not (recorded).
        params = algo.ours_params(case.params)
        return {
            "C": float(params["C"]),
            "maxIter": int(params["max_iter"]),
            "tol": float(params["tol"]),
        }

    def prepare(self, case, algo, data, be, ds) -> None:
        super().prepare(case, algo, data, be, ds)
        settings = self.case_settings(case, algo)
        self.C, self.max_iter, self.tol = settings["C"], settings["maxIter"], settings["tol"]

    def fit(self) -> Fitted:
        from pyspark.ml.classification import LogisticRegression

        reg_param = 1.0 / (self.C * self.n_samples)
        model = LogisticRegression(
            regParam=reg_param,
            elasticNetParam=0.0,
            standardization=False,
            maxIter=self.max_iter,
            tol=self.tol,
            fitIntercept=True,
        ).fit(self.df)
        native = {
            "impl": "MLlib LogisticRegression",
            "settings": {
                "regParam": reg_param,
                "standardization": False,
                "maxIter": self.max_iter,
                # Breeze L-BFGS's tolerance (relative objective change, or gradient norm
                # relative to the objective), not ours' absolute gradient max-norm: its
                # answer is checked by our objective at 1e-6 all the same.
                "tol": self.tol,
                "case_tol": self.tol,  # ours' (the max-norm of ours' gradient), unconverted
            },
        }

        def fitted() -> dict[str, Any]:
            binary = model.numClasses == 2
            if binary:
                coef = model.coefficients.toArray().reshape(1, -1)
                intercept = np.atleast_1d(model.intercept)
            else:
                coef = model.coefficientMatrix.toArray()
                intercept = model.interceptVector.toArray()
            return {
                "coef_": np.asarray(coef),
                "intercept_": np.asarray(intercept, dtype=np.float64),
                "classes_": np.arange(model.numClasses, dtype=np.float64),
            }

        return self._scored(fitted, native, int(model.summary.totalIterations))


class MLPComparator(_MLlib):
    """Spark ML ``MultilayerPerceptronClassifier`` (L-BFGS; sigmoid hidden layers).

    Its architecture differs from ours (sigmoid, not ReLU, hidden units), so the two are
    compared on accuracy, not parameters. Accuracy is computed by Spark on the same rows.
    """

    def case_settings(self, case, algo) -> dict[str, Any]:
        # Ours' hidden layers (the input and output sizes come from the rows); its own
        # budget and solver; the case's seed.
        params = algo.ours_params(case.params)
        return {
            "hidden_layer_sizes": list(params["hidden_layer_sizes"]),
            "maxIter": native_mlp_budget(algo, case),
            "solver": "l-bfgs",
            "seed": algo.seed_of(case),
        }

    def prepare(self, case, algo, data, be, ds) -> None:
        super().prepare(case, algo, data, be, ds)
        n_classes = int(self.df.agg({"label": "max"}).collect()[0][0]) + 1
        self.settings = self.case_settings(case, algo)  # untimed; fit() sets the budget
        self.layers = [self.make(0).X.shape[1], *self.settings["hidden_layer_sizes"], n_classes]
        self.held_out_df = None
        if self.held_out_rows is not None:  # untimed: scored after each clock stops
            from pyspark.ml.linalg import Vectors

            rows = [
                (Vectors.dense(x), float(label))
                for b in be.collect(self.held_out_rows)
                for x, label in zip(b.X, b.y, strict=True)
            ]
            self.held_out_df = self.spark.createDataFrame(rows, ["features", "label"]).cache()
            self.frames.append(self.held_out_df)
            self.held_out_df.count()

    def fit(self) -> Fitted:
        from pyspark.ml.classification import MultilayerPerceptronClassifier
        from pyspark.ml.evaluation import MulticlassClassificationEvaluator

        # Per fit: a time-to-target search changes the budget between fits.
        settings = {**self.settings, "maxIter": native_mlp_budget(self.algo, self.case)}
        seed, max_iter, solver = settings["seed"], settings["maxIter"], settings["solver"]
        model = MultilayerPerceptronClassifier(
            layers=self.layers, maxIter=max_iter, solver=solver, seed=seed
        ).fit(self.df)
        df, held_out_df = self.df, self.held_out_df
        n_iter = _total_iterations(model)
        native = {
            "impl": "MLlib MultilayerPerceptronClassifier",
            "settings": {
                "layers": self.layers,
                "maxIter": max_iter,
                "solver": solver,
                "seed": seed,
            },
            "n_iter": n_iter,
            "input": self.cached,
        }
        evaluator = MulticlassClassificationEvaluator(metricName="accuracy")
        return Fitted(
            lambda d: float(evaluator.evaluate(model.transform(df))),
            n_iter,
            native=native,
            held_out=None
            if held_out_df is None
            else lambda test: float(evaluator.evaluate(model.transform(held_out_df))),
        )


#: MLlib's ALS checkpoints from this many iterations on (fewer: its lineage is short
#: enough, and a checkpoint is a write to disk inside the timed fit).
CHECKPOINT_FROM_ITER = 20


class ALSComparator(_MLlib):
    """Spark ML ``ALS`` on the same training ratings; held-out RMSE.

    A ratings dataset keeps every rating twice (user- and item-partitioned blocks); MLlib
    gets the user-partitioned copy only (the even blocks; it partitions by itself). Its
    regularisation is ALS-WR like ours; its random initial factors are its own, so it may
    end in another optimum. Explicit ratings are scored by MLlib's own evaluator;
    implicit feedback (``implicit_prefs``: ``ALS(implicitPrefs=True, alpha=...)``, the
    same objective as ours) by our code on MLlib's factors (collected after the clock),
    so that its objective and its ranking metrics are ours' to the letter.
    """

    def case_settings(self, case, algo) -> dict[str, Any]:
        params = algo.ours_params(case.params)
        settings = {
            "rank": int(params["rank"]),
            "regParam": float(params["reg_param"]),
            "maxIter": int(params["max_iter"]),
            "seed": case.seed,
            "implicitPrefs": bool(params["implicit_prefs"]),
            "coldStartStrategy": "drop",
        }
        if settings["implicitPrefs"]:
            settings["alpha"] = float(params["alpha"])
        # Checkpoint (to disk, inside the timed fit) only where the lineage needs it: at
        # 10 iterations and an interval of 10 MLlib wrote one on its last iteration.
        settings["checkpointInterval"] = 10 if settings["maxIter"] >= CHECKPOINT_FROM_ITER else -1
        return settings

    def prepare(self, case, algo, data, be, ds) -> None:
        require_native_blas(be)
        self.case, self.algo, self.data, self.be = case, algo, data, be
        self.spark = spark = be.native()
        self.frames = []
        make, n_blocks = block_source(case, data)
        half = n_blocks // 2  # user-partitioned blocks are the even ones
        rows = spark.sparkContext.parallelize(range(half), half).flatMap(
            partial(_rating_rows, make)
        )
        df = spark.createDataFrame(rows, ["user", "item", "rating", "held_out"]).cache()
        self.train = df.filter("held_out = 0").cache()
        self.test = df.filter("held_out = 1").cache()
        self.frames = [self.train, self.test, df]
        self.cached = _cached(spark.sparkContext, lambda: (self.train.count(), self.test.count()))
        # MLlib's ALS lineage grows with every iteration; without a checkpoint directory its
        # checkpointInterval is ignored and ~20 iterations overflow the JVM stack.
        self.checkpoints = tempfile.mkdtemp(prefix="dmlbench-als-")
        spark.sparkContext.setCheckpointDir(self.checkpoints)
        self.settings = self.case_settings(case, algo)
        self.ds = ds

    def fit(self) -> Fitted:
        from pyspark.ml.evaluation import RegressionEvaluator
        from pyspark.ml.recommendation import ALS

        model = ALS(
            **self.settings,
            userCol="user",
            itemCol="item",
            ratingCol="rating",
        ).fit(self.train)
        test = self.test
        native = {"impl": "MLlib ALS", "settings": dict(self.settings), "input": self.cached}
        if self.settings["implicitPrefs"]:
            from dmlbench.suites.define.extras import ranking_at_10

            # After the clock: our estimator of the case's problem, with MLlib's factors.
            make = partial(self.algo.make, self.case.params, self.be, self.data)
            ours = cache(lambda: _as_ours(model, make(), self.be, self.ds))
            return Fitted(
                lambda d: self.algo.score(ours(), d),  # the case's metric: the objective
                native=native,
                extras=lambda d, held_out: ranking_at_10(ours(), d),
            )
        evaluator = RegressionEvaluator(
            metricName="rmse", labelCol="rating", predictionCol="prediction"
        )
        return Fitted(lambda d: float(evaluator.evaluate(model.transform(test))), native=native)

    def release(self) -> None:
        super().release()
        checkpoints = getattr(self, "checkpoints", None)
        if checkpoints:
            shutil.rmtree(checkpoints, ignore_errors=True)


def _as_ours(model: Any, est: Any, be: Any, ds: Any) -> Any:
    """MLlib's fitted factors set on ``est``, one of our ALS estimators with the case's
    parameters (the objective they are scored by is the case's), fitted attributes only, so
    that our code scores them: ids without a factor (no training rating) are zero and not
    known, as ours leaves them."""
    from dmlbench.algorithms.als_kernels import merge_extent, ratings_extent

    max_user, max_item, _, _, _ = be.aggregate(ds, ratings_extent, merge_extent)
    for side, frame, n in (("user", model.userFactors, max_user + 1),
                           ("item", model.itemFactors, max_item + 1)):  # fmt: skip
        rows = frame.collect()
        factors, known = np.zeros((n, est.rank)), np.zeros(n, dtype=bool)
        ids = np.array([row["id"] for row in rows], dtype=np.int64)
        if ids.size:
            factors[ids] = np.array([row["features"] for row in rows], dtype=np.float64)
            known[ids] = True
        setattr(est, f"{side}_factors_", factors)
        setattr(est, f"{side}_known_", known)
    return est


def _total_iterations(model: Any) -> int | None:
    """The L-BFGS iterations of a fitted Spark ML model, from its training summary (one
    py4j call; None when the model keeps no summary)."""
    if not model.hasSummary:
        return None
    summary = model.summary
    summary = summary() if callable(summary) else summary  # a method on some models
    return int(summary.totalIterations)


def _cached(sc: Any, materialise) -> dict[str, Any]:
    """Run ``materialise`` (which caches and counts), then check that every RDD it cached
    holds all of its partitions; returns its row count and the cache's size.

    Spark drops what does not fit (and spills what it may): an incomplete cache means the
    timed fit would rebuild partitions from the recipe, so the case fails here instead.
    """
    storage = sc._jsc.sc()
    before = {info.id() for info in storage.getRDDStorageInfo()}
    rows = materialise()
    new = [info for info in storage.getRDDStorageInfo() if info.id() not in before]
    missing = [
        f"{info.name()}: {info.numCachedPartitions()} of {info.numPartitions()} partitions"
        for info in new
        if info.numCachedPartitions() < info.numPartitions()
    ]
    heap = f"spark.driver.memory={sc.getConf().get('spark.driver.memory', '1g')}"
    if not new or missing:
        raise RuntimeError(
            "Spark did not cache the native library's input completely "
            f"({'; '.join(missing) or 'nothing cached'}; {heap}): the timed fit would "
            "rebuild it. Give the driver more memory (dmlbench run --spark-conf "
            "spark.driver.memory=8g) or use fewer rows."
        )
    cached = {
        "rdd_ids": sorted(info.id() for info in new),
        "rows": rows if isinstance(rows, int) else sum(rows),
        "partitions": sum(info.numPartitions() for info in new),
        "memory_mb": round(sum(info.memSize() for info in new) / 2**20, 1),
        "disk_mb": round(sum(info.diskSize() for info in new) / 2**20, 1),
    }
    if any(info.diskSize() for info in new):
        # Spilled partitions are complete but read from disk (and deserialised) inside the
        # timed fit, while ours reads memory: not the same resources.
        raise RuntimeError(
            f"Spark spilled {cached['disk_mb']} MB of the native library's input to disk "
            f"({cached['memory_mb']} MB in memory; {heap}): the timed fit would read it "
            "back from disk. Expected all of it in memory; give the driver more memory "
            "(dmlbench run --spark-conf spark.driver.memory=8g) or use fewer rows."
        )
    return cached


def _still_cached(sc: Any, cached: dict[str, Any]) -> None:
    """Raise unless every RDD :func:`_cached` checked still holds all of its partitions in
    memory and none on disk (Spark may evict or spill a cache while a fit runs)."""
    infos = {info.id(): info for info in sc._jsc.sc().getRDDStorageInfo()}
    problems = []
    for rdd_id in cached["rdd_ids"]:
        info = infos.get(rdd_id)
        if info is None:
            problems.append(f"RDD {rdd_id} is no longer cached")
        elif info.numCachedPartitions() < info.numPartitions() or info.diskSize():
            problems.append(
                f"{info.name()}: {info.numCachedPartitions()} of {info.numPartitions()} "
                f"partitions cached, {round(info.diskSize() / 2**20, 1)} MB on disk"
            )
    if problems:
        raise RuntimeError(
            "the native library's input did not stay in memory through the timed fits "
            f"({'; '.join(problems)}): those fits rebuilt or re-read it. Give Spark more "
            "memory (dmlbench run --spark-conf spark.driver.memory=8g) or use fewer rows."
        )


def _block_X(make_block, i: int) -> list:
    return list(make_block(i).X)


def _labelled_rows(make_block, i: int, *, vectors) -> list:
    block = make_block(i)
    return [(vectors.dense(x), float(y)) for x, y in zip(block.X, block.y, strict=True)]


def _rating_rows(make_block, j: int) -> list:
    block = make_block(2 * j)
    X = block.X
    return [
        (int(u), int(it), float(r), int(t))
        for (u, it, t), r in zip(X[:, :3].tolist(), block.y.tolist(), strict=True)
    ]
