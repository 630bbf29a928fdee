"""What a suite can name: algorithms (with their quality check) and datasets.

A dataset is generated per block on the workers (``generate``) or, for the real data that
ships with scikit-learn, loaded on the driver and shipped (``from_blocks``). The number of
blocks is fixed per dataset, not per worker count, so strong scaling holds the work
constant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np

from dmlbench.algorithms._common import N_BLOCKS
from dmlbench.algorithms._kernels import warm_compiled
from dmlbench.backends import Block
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


@dataclass(frozen=True)
class Metric:
    """A quality metric: its name, its direction and how its tolerance is read."""

    name: str  # "r2", "accuracy", "inertia", "rmse" or "objective"
    higher_is_better: bool
    relative: bool  # tolerances are a share of the reference's value (else absolute)
    #: ``(model, X, y) -> value`` from the fitted parameters, in the metric's own sign,
    #: instead of the estimator's ``score`` (an objective is nobody's ``score``). ``X`` is
    #: numpy rows or a resident Dataset.
    of: Callable[..., float] | None = None


R2 = Metric("r2", higher_is_better=True, relative=False)
ACCURACY = Metric("accuracy", higher_is_better=True, relative=False)
INERTIA = Metric("inertia", higher_is_better=False, relative=True)
RMSE = Metric("rmse", higher_is_better=False, relative=True)


def logistic_objective(model, X, y=None) -> float:
    """Ours' objective at a fitted model's coefficients, exactly as ``algorithms/linear.py``
    minimises it: ``(C Σ log-loss + ½ ||W||²) / n_samples`` (intercepts unpenalised).

    Evaluated with our kernel (``logistic_loss_grad``), summed in block order: on the
    resident Dataset ``X`` through ``be.aggregate`` (the model's backend), on numpy rows
    over the same contiguous blocks. Any implementation's ``coef_``, ``intercept_``,
    ``classes_`` and ``C`` (ours, scikit-learn's, a native's scored by ours) are so scored
    by one function, and the value is comparable with the last ``objective`` of our trace.
    """
    from functools import reduce

    from dmlbench.algorithms._common import resolve_backend, split_blocks
    from dmlbench.algorithms._kernels import add_tuples, logistic_loss_grad
    from dmlbench.backends import Dataset

    coef = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))
    W = np.column_stack([coef, np.ravel(np.asarray(model.intercept_, dtype=np.float64))])
    classes = np.asarray(model.classes_)
    if isinstance(X, Dataset):
        be = resolve_backend(model.backend, type(model).__name__)
        loss, _ = be.aggregate(
            X, logistic_loss_grad, add_tuples, be.broadcast(W), be.broadcast(classes)
        )
        n = X.n_samples
    else:
        blocks = split_blocks(np.asarray(X), np.asarray(y))
        loss, _ = reduce(add_tuples, (logistic_loss_grad(b, W, classes) for b in blocks))
        n = np.asarray(X).shape[0]
    return float((model.C * loss + 0.5 * (coef**2).sum()) / n)


#: Lower is better; relative, since the objective scales with C and the data.
OBJECTIVE = Metric("objective", higher_is_better=False, relative=True, of=logistic_objective)


def als_objective(model, X, y=None) -> float:
    """ALS's objective at a fitted model's factors on the ratings Dataset ``X``
    (``ALS.objective``): ours', the oracle's and MLlib's factors scored by one kernel."""
    return float(model.objective(X))


#: Implicit feedback's check: the objective, not an RMSE of preferences (which predicting
#: 1 everywhere would win); relative, lower is better.
ALS_OBJECTIVE = Metric("objective", higher_is_better=False, relative=True, of=als_objective)


def als_metric(params: dict[str, Any]) -> Metric:
    """Explicit ratings are checked by their held-out RMSE, implicit feedback by its
    objective."""
    return ALS_OBJECTIVE if params.get("implicit_prefs") else RMSE


@dataclass(frozen=True)
class Start:
    """The starting point of one case, computed once outside every clock and shared.

    ``params`` are the estimator parameters that pin it (k-means: ``{"init": centres}``),
    given to ours, the scikit-learn reference and every native library; ``record`` says
    how it was made (method, rows, seed, a digest of its values), for the results record.
    """

    params: dict[str, Any]
    record: dict[str, Any]


def digest(values: np.ndarray) -> str:
    """A short fingerprint of an array's float64 values: the first 12 hex digits of the
    sha1 of its C-ordered bytes (equal digests: the same start, bit for bit)."""
    import hashlib

    data = np.ascontiguousarray(values, dtype=np.float64).tobytes()
    return hashlib.sha1(data).hexdigest()[:12]


#: The case parameter naming a time-to-target case's held-out metric to reach (read by the
#: runner, never passed to an estimator).
TARGET_PARAM = "target"


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
    #: ``params -> estimator``: the scikit-learn rival as its user would run it at OUR
    #: stopping rule (the one-core baseline that is timed); None: the same as ``reference``.
    #: The reference itself may be solved tighter: it only checks answers.
    baseline: Callable[[dict[str, Any]], Any] | None = None
    #: The metric reported on held-out rows (``held_out_<name>``); None: ``metric``. An
    #: objective of the training problem means nothing on other rows.
    held_out_metric: Metric | None = None
    #: Only "no worse than the reference by more than the tolerance": a better answer than
    #: the reference's is right too.
    one_sided: bool = False
    # A native library that trains a different model (MLlib's MLP has sigmoid units, its ALS
    # its own random start) is checked one-sided with this tolerance instead. None: the same
    # rule as ours.
    native_tolerance: float | None = None
    #: Parameters that take the case's seed (``case.seed``: the suite's ``seed``) when the
    #: case names none, for ours, the reference and the natives alike (:meth:`run_params`).
    seed_params: tuple[str, ...] = ()
    #: ``(case, make_block, seed) -> Start``: the one starting point every implementation
    #: and the reference use, computed by the runner once per case before any ``prepare``
    #: (untimed, ``phases.start_s``) from the case's rows (``make_block(i)``: block ``i``).
    #: None: each implementation starts its own way (a seeded one, see ``seed_params``).
    start: Callable[..., Start] | None = None
    #: Checked one-sided with this tolerance when ours does not start from the shared
    #: start (the case names its own ``init``): not the same problem any more.
    own_start_tolerance: float | None = None
    #: The parameter that sets how much an implementation trains (the MLP's ``max_iter``:
    #: epochs, or L-BFGS iterations), varied by a time-to-target case: one that names a
    #: ``target`` (:data:`TARGET_PARAM`) is timed at the smallest budget whose held-out
    #: metric reaches it, for ours and a native alike (:meth:`target_of`). None: no target.
    budget_param: str | None = None
    #: Attributes of the DatasetSpec passed to the estimator when set (CNN: image_shape).
    dataset_params: tuple[str, ...] = ()
    #: ``(model, X, y, sample) -> {name: value}``: secondary quality numbers; ``X`` rows or a
    #: Dataset, ``y`` targets when ``extras_need_targets``, ``sample`` numpy rows when
    #: ``extras_need_sample``.
    extras: Callable[..., dict[str, float]] | None = None
    extras_need_targets: bool = False
    extras_need_sample: bool = False
    #: Above this many rows the reference is dmlbench on the local backend instead of
    #: ``reference`` on a driver-side copy of the rows (memory, and the reference's time).
    reference_max_rows: int = 2_000_000
    #: Whether ours' trace ``objective`` is the quality metric itself (k-means: the inertia;
    #: logistic regression: ours' objective), so the time to quality can be read from it.
    trace_is_metric: bool = False
    #: A block function that compiles (or loads) ours' compiled kernels in the worker that
    #: runs it, returning ``{its pid}``: run on every block before ours' cold fit, timed as
    #: the ``compile_s`` phase. None for an algorithm without compiled kernels.
    warm_up: Callable[[Block], frozenset[int]] | None = None
    #: ``params -> Metric``: when the problem, and so the metric that checks its answer,
    #: depends on the case's parameters (ALS: ratings' RMSE, or the implicit-feedback
    #: objective); None: always ``metric``. Read through :meth:`for_case`.
    metric_for: Callable[[dict[str, Any]], Metric] | None = None

    def for_case(self, params: dict[str, Any]) -> AlgorithmSpec:
        """This algorithm as a case with ``params`` runs it: its metric for those."""
        return self if self.metric_for is None else replace(self, metric=self.metric_for(params))

    def make(self, params: dict[str, Any], backend: Any, dataset: DatasetSpec):
        """Our estimator with the case's parameters, on ``backend``."""
        import importlib

        params = dict(params)
        for name in self.dataset_params:
            if getattr(dataset, name) is not None:
                params.setdefault(name, getattr(dataset, name))
        module, cls = self.estimator.split(":")
        return getattr(importlib.import_module(module), cls)(backend=backend, **params)

    def seed_of(self, case) -> Any:
        """The seed the case's randomness comes from: the first of ``seed_params`` the case
        names, else the suite's ``case.seed``; None when the algorithm takes no seed."""
        for name in self.seed_params:
            if name in case.params:
                return case.params[name]
        return case.seed if self.seed_params else None

    def run_params(self, case, start: Start | None = None, *, ours: bool = False) -> dict:
        """The parameters ``case`` is run with, the one place seeds and starts are applied.

        Every ``seed_params`` the case does not name takes :meth:`seed_of`; the ``start``'s
        parameters are added. Ours (``ours=True``) keeps a start parameter the case names
        itself (``init = "k-means||"``: the suite asked for ours' own start); the reference
        and the native libraries always take the shared start, so they stay one problem.
        """
        params = {k: v for k, v in case.params.items() if k != TARGET_PARAM}
        for name in self.seed_params:
            params.setdefault(name, self.seed_of(case))
        for name, value in (start.params if start else {}).items():
            if not (ours and name in case.params):
                params[name] = value
        return params

    def target_of(self, case) -> float | None:
        """The held-out metric ``case`` must reach (its ``target``), or None: a fixed-work
        case. A different model (a native MLP) is compared by the time to the same
        held-out accuracy, not by a number of iterations that means another thing."""
        target = case.params.get(TARGET_PARAM)
        return None if target is None or self.budget_param is None else float(target)

    def starts_shared(self, case, start: Start | None) -> bool:
        """Whether ours starts from ``start`` in ``case`` (False: the case names its own)."""
        return start is None or not any(name in case.params for name in start.params)

    @property
    def estimator_name(self) -> str:
        """The estimator's class name."""
        return self.estimator.rsplit(":", 1)[-1]

    def fit(self, model, X, y=None):
        """Fit any implementation (ours on numpy, scikit-learn) on numpy rows."""
        return model.fit(X, y) if self.supervised else model.fit(X)

    def score(self, model, X, y=None, metric: Metric | None = None) -> float:
        """The metric (or ``metric``) of a fitted model on numpy rows ``(X, y)`` or on a
        Dataset ``X``, in the metric's own sign.

        Every estimator's ``score`` is "higher is better"; a lower-is-better metric (inertia,
        RMSE) is its negative. A metric with its own function (``Metric.of``) uses that.
        """
        metric = metric or self.metric
        if metric.of is not None:
            return float(metric.of(model, X, y))
        value = float(model.score(X) if y is None or not self.supervised else model.score(X, y))
        return value if metric.higher_is_better else -value

    def held_out_score(self, model, X, y=None) -> dict[str, float]:
        """``{"held_out_<metric>": value}`` of a fitted model on held-out rows."""
        metric = self.held_out_metric or self.metric
        return {f"held_out_{metric.name}": self.score(model, X, y, metric)}

    def make_baseline(self, params: dict[str, Any]):
        """The scikit-learn estimator timed as the one-core baseline (``baseline``, else
        ``reference``), or None."""
        make = self.baseline or self.reference
        return None if make is None else make(params)

    def tolerance_for(self, native: bool) -> float:
        """The tolerance the answer of ours (or of a native library) is checked with."""
        return (
            self.native_tolerance
            if native and self.native_tolerance is not None
            else self.tolerance
        )

    def quality_ok(
        self,
        value: float,
        reference: float,
        *,
        native: bool = False,
        tolerance: float | None = None,
    ) -> bool:
        """Whether a metric value matches the reference's within the tolerance.

        ``tolerance`` (a recorded rule for a problem that differs from the reference's: a
        native comparator's own, or ``own_start_tolerance`` when ours starts elsewhere)
        replaces the declared one and is checked one-sided.
        """
        different_model = tolerance is not None or (native and self.native_tolerance is not None)
        tol = tolerance if tolerance is not None else self.tolerance_for(native)
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


#: Ours' defaults (``algorithms/linear.py LogisticRegression``), unless a case sets them.
OURS_LOGISTIC_TOL, OURS_LOGISTIC_MAX_ITER = 1e-8, 500


def sklearn_logistic_baseline(params: dict[str, Any]):
    """scikit-learn's ``LogisticRegression`` stopped by ours' rule: the timed rival.

    scikit-learn 1.9 (``_logistic.py``, lbfgs path; ``_linear_loss.py``) minimises
    ``mean(log-loss) + ||w||² / (2 C n)`` (``l2_reg_strength = 1 / (C sw_sum)``), i.e.
    ours' ``(C Σ log-loss + ½ ||w||²) / n`` divided by ``C``, with scipy's L-BFGS-B and
    ``gtol=tol`` (the max-norm of that gradient), ``ftol=64·eps``, ``maxls=50``,
    ``maxiter=max_iter``. Ours stops at ``||∇ ours||∞ <= tol`` (``ftol=0``), so the same
    rule is ``tol / C`` in scikit-learn's units (equal at ``C=1``), and the same
    ``max_iter`` (both count L-BFGS iterations). Left different, and recorded: its
    ``ftol=64·eps`` (ours 0) and ``maxls=50`` (ours 20).
    """
    from sklearn.linear_model import LogisticRegression

    C = params.get("C", 1.0)
    tol = params.get("tol", OURS_LOGISTIC_TOL)
    max_iter = params.get("max_iter", OURS_LOGISTIC_MAX_ITER)
    return LogisticRegression(C=C, tol=tol / C, max_iter=max_iter)


def sklearn_kmeans(params: dict[str, Any]):
    """One start (the case's shared ``init`` centres when the runner gives them, else
    k-means++) with the case's ``n_clusters``, ``max_iter``, ``tol`` and ``random_state``.

    scikit-learn's ``tol`` has ours' meaning (relative to the mean column variance, on the
    sum of squared centre shifts) and its Lloyd loop stops where ours does, so from the same
    centres both run the same iterations.
    """
    from sklearn.cluster import KMeans

    shared = {k: params[k] for k in ("n_clusters", "max_iter", "tol", "init") if k in params}
    return KMeans(n_init=1, random_state=params.get("random_state", 0), **shared)


#: Rows of block 0 the shared k-means start is drawn from (k-means++ is quadratic-ish in k
#: x rows on the driver; 20,000 rows keep it well under a second).
KMEANS_START_ROWS = 20_000


def kmeans_start(case, make_block: Callable[[int], Block], seed: int) -> Start:
    """The one k-means start: k-means++ (ours' ``kmeans_plusplus``, scikit-learn's greedy
    rule) on the first 20,000 rows of block 0, drawn with ``numpy.random.default_rng(seed)``.

    Computed once per case on the driver, outside every clock; ours, the scikit-learn
    reference and every native library then run Lloyd from these centres, so their
    iterations (and answers) can be compared one for one.
    """
    from dmlbench.algorithms.kmeans import kmeans_plusplus

    k = case.params.get("n_clusters", 8)
    X = make_block(0).X[:KMEANS_START_ROWS]
    if X.shape[0] < k:
        raise ValueError(
            f"the shared k-means start needs n_clusters={k} rows in block 0, which has "
            f"{X.shape[0]}; expected at least {k}: use more n_samples (block 0 holds "
            f"1/{N_BLOCKS} of them) or fewer n_clusters"
        )
    centres = kmeans_plusplus(X, k, np.random.default_rng(seed))
    return Start(
        {"init": centres},
        {
            "method": "k-means++",
            "rows": f"first {X.shape[0]} of block 0",
            "seed": seed,
            "shape": list(centres.shape),
            "digest": digest(centres),
        },
    )


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


def accuracy_and_roc_auc(model, X, y, sample=None) -> dict[str, float]:
    """Training accuracy and (binary) ROC AUC over all rows ``X`` with targets ``y``."""
    return {"accuracy": float(model.score(X, y)), **roc_auc(model, X, y)}


def silhouette(model, X, y=None, sample=None) -> dict[str, float]:
    """The silhouette score of the numpy rows ``sample``."""
    return {"silhouette": silhouette_of(model.predict, sample)}


def ranking_at_10(model, X, y=None, sample=None) -> dict[str, float]:
    """Precision, recall, NDCG and MAP at 10 on the held-out ratings of the ratings
    Dataset ``X`` (explicit: those >= 4; implicit: every interaction), and for implicit
    feedback the popularity baseline's on the same users (``popularity_<metric>_at_10``)."""
    from dmlbench.algorithms._als_kernels import RANKING_METRICS
    from dmlbench.algorithms.als import popularity_metrics

    found = model.ranking_metrics(X, 10)
    out = {f"{name}_at_10": found[name] for name in RANKING_METRICS}
    if model.implicit_prefs:
        base = popularity_metrics(X, 10, model.relevant_threshold(), backend=model.backend)
        out.update({f"popularity_{name}_at_10": base[name] for name in RANKING_METRICS})
    return out


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
        # A lower objective than the strict reference's cannot be a wrong answer.
        one_sided=True,
        baseline=sklearn_logistic_baseline,
        held_out_metric=ACCURACY,
        extras=accuracy_and_roc_auc,
        extras_need_targets=True,
        trace_is_metric=True,
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
        seed_params=("random_state",),
        start=kmeans_start,
        trace_is_metric=True,
        # A case's own init ("k-means||") may reach another local optimum; one a little
        # better than the reference's is right too.
        own_start_tolerance=0.02,
        extras=silhouette,
        extras_need_sample=True,
        warm_up=warm_compiled,
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
        # Ours, scikit-learn's and MLlib's MLPs are different models (MLlib: sigmoid units,
        # L-BFGS): with a ``target`` they are compared by the time to one held-out accuracy.
        budget_param="max_iter",
        seed_params=("random_state",),
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
        extras=ranking_at_10,
        metric_for=als_metric,
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
        warm_up=warm_compiled,  # its relu and pool are compiled
    ),
}
