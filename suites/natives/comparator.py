"""Native comparators: what each engine ships for the same job, on the same rows.

This module is the interface and the registry; the comparators live one module per
library beside the workloads: :mod:`dmlbench.suites.natives.scikit_learn` (scikit-learn, for the
``local`` backend), :mod:`dmlbench.suites.natives.dask_ml` (dask-ml, ``dask``) and
:mod:`dmlbench.suites.natives.mllib` (Spark MLlib, ``spark``).

A comparator is one object per case (:class:`Comparator`): it says whether it supports the
case or why not (``skip_reason``), builds and caches exactly what its library needs and
checks that it is complete (``prepare``, untimed), fits (``fit``: the runner times this
call with the clock it times ours with, once cold and then ``repeats`` times), and frees
what it made (``release``). Its :class:`Fitted` answer is scored on the resident rows the
way ours is, and carries the library's name and every setting that makes the problem the
same as ours (penalty, tolerance, iterations, starting point), for the record. Where the
algorithm declares a start (k-means' initial centres), the runner computes it once per case
and hands it to every implementation as ``start`` before ``prepare``.

Adding a comparator is one module (or one class in its library's module) and one line in
:data:`NATIVES`; a pair with no comparator gets one line in :data:`NO_NATIVE` saying why.
Engines are reached only through the adapter's public handle, ``be.native()``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from dmlbench.backends.registry import BACKENDS

if TYPE_CHECKING:
    from dmlbench.backends import Block, Dataset
    from dmlbench.suites.define.algorithm_spec import AlgorithmSpec
    from dmlbench.suites.define.dataset_spec import DatasetSpec
    from dmlbench.suites.define.spec import Case
    from dmlbench.suites.define.starts import Start


class NativeUnsupported(Exception):
    """The native library cannot solve this case (for example, more classes than it takes)."""


@dataclass
class Fitted:
    """What the runner needs of any fitted implementation, ours or native."""

    #: The quality metric on a resident Dataset (the metric's own sign: inertia, R², ...).
    metric: Callable[[Dataset], float]
    n_iter: int | None = None
    #: Per iteration: iteration, seconds, objective, ... (when the implementation says).
    trace: list[dict[str, float]] | None = None
    #: A native library's name and settings, for the record: ``{"impl", "settings", ...}``.
    native: dict[str, Any] | None = None
    #: ``(dataset, held-out dataset or None) -> {name: value}``: secondary quality numbers.
    extras: Callable[[Dataset, Dataset | None], dict[str, float]] | None = None
    #: The held-out metric (the algorithm's ``held_out_metric``, accuracy for the MLP) on
    #: the case's resident held-out Dataset: what a time-to-target case is checked by.
    held_out: Callable[[Dataset], float] | None = None
    #: ``bytes`` and ``flops`` of one pass of the main kernel over all rows (ours: the
    #: estimator's ``pass_work``), what the achieved rates are computed from; None if unknown.
    work: dict[str, float] | None = None


@runtime_checkable
class Comparator(Protocol):
    """One implementation of one case: support, untimed preparation, timed fit, release.

    A fresh instance serves one case: ``prepare`` once, then ``fit`` 1 + repeats times
    (the runner's clock is around ``fit`` alone), then ``release``, also after a failure.
    """

    #: The library, as people name it ("dask-ml", "Spark MLlib", "scikit-learn").
    library: str
    #: The case ``prepare`` was given; ``fit`` reads its parameters. A time-to-target
    #: search sets it to a copy with another budget (``max_iter``) between fits.
    case: Case
    #: The case's shared starting point (``AlgorithmSpec.starts.shared``: k-means' initial
    #: centres in ``start.params["init"]``), set by the runner before ``prepare``; None
    #: when the algorithm declares none. Every implementation starts from it, natives
    #: included even when the case names its own ``init`` for ours.
    start: Start | None = None
    #: The case's resident held-out Dataset (None when the dataset has none), set by the
    #: runner before ``prepare``: a comparator that reports ``Fitted.held_out`` prepares
    #: its rows in its library's form there, untimed.
    held_out_rows: Dataset | None = None

    def skip_reason(self, case: Case) -> str | None:
        """None if this comparator can run ``case``, else why not (recorded as ``skipped``)."""
        return None

    def case_settings(self, case: Case, algo: AlgorithmSpec) -> dict[str, Any]:
        """What this comparator asks its library for ``case``, in the library's names where
        it has them, read from ours' parameters for the case (``algo.ours_params``: the
        case's own, else our estimator's defaults), never from a default typed here.

        Engine-free and untimed: ``prepare`` (or ``fit``, for what a time-to-target search
        changes between fits) reads it, then adds what the rows decide (a tolerance in the
        library's units, the layers' sizes).
        """
        return {}

    def prepare(
        self, case: Case, algo: AlgorithmSpec, data: DatasetSpec, be: Any, ds: Dataset
    ) -> None:
        """Untimed: build, convert and cache exactly the input the library needs, from the
        rows of the resident Dataset ``ds`` (made by ``data``), and check it is complete.

        May raise :class:`NativeUnsupported` when the rows show the case is out of reach.
        """
        ...

    def fit(self) -> Fitted:
        """The timed part: fit on the prepared input, nothing else."""
        ...

    def verify(self) -> None:
        """Untimed, after the last fit: raise if the prepared input did not stay resident
        through the fits (a cache evicted or spilled to disk meanwhile), so a fit that read
        it from disk or rebuilt it is never reported as a result."""
        return None

    def release(self) -> None:
        """Free what ``prepare`` made (safe after a partial ``prepare``)."""
        return None


#: (algorithm, backend) -> "module:Class" of its native comparator. Imported on demand.
NATIVES: dict[tuple[str, str], str] = {
    ("linear_regression", "local"): "dmlbench.suites.natives.scikit_learn:BaselineComparator",
    ("logistic_regression", "local"): "dmlbench.suites.natives.scikit_learn:BaselineComparator",
    ("kmeans", "local"): "dmlbench.suites.natives.scikit_learn:BaselineComparator",
    ("mlp", "local"): "dmlbench.suites.natives.scikit_learn:MLPComparator",
    ("kmeans", "dask"): "dmlbench.suites.natives.dask_ml:KMeansComparator",
    ("linear_regression", "dask"): "dmlbench.suites.natives.dask_ml:LinearRegressionComparator",
    ("logistic_regression", "dask"): "dmlbench.suites.natives.dask_ml:LogisticRegressionComparator",
    ("kmeans", "spark"): "dmlbench.suites.natives.mllib:KMeansComparator",
    ("linear_regression", "spark"): "dmlbench.suites.natives.mllib:LinearRegressionComparator",
    ("logistic_regression", "spark"): "dmlbench.suites.natives.mllib:LogisticRegressionComparator",
    ("mlp", "spark"): "dmlbench.suites.natives.mllib:MLPComparator",
    ("als", "spark"): "dmlbench.suites.natives.mllib:ALSComparator",
}

_NO_NEURAL_DASK = "dask-ml has no neural networks (it wraps scikit-learn/Keras models instead)"
#: Why a pair has no native comparator: the library has nothing for that job.
NO_NATIVE: dict[tuple[str, str], str] = {
    ("mlp", "dask"): _NO_NEURAL_DASK,
    ("cnn", "dask"): _NO_NEURAL_DASK,
    ("cnn", "spark"): "Spark MLlib has no convolutional network (only a dense MLP)",
    ("cnn", "local"): "scikit-learn has no convolutional network",
    ("als", "local"): "scikit-learn has no ALS (no matrix factorisation for ratings)",
    ("als", "dask"): "dask-ml has no ALS or other recommender",
}
#: Backends whose engine ships no machine-learning library at all (their registry entry says
#: why: ``BackendEntry.no_native_library``).
NO_NATIVE_LIBRARY: dict[str, str] = {
    name: entry.no_native_library
    for name, entry in BACKENDS.items()
    if entry.no_native_library is not None
}

#: The native MLPs train their own way (MLlib: full-batch L-BFGS); this many iterations,
#: MLlib's default, is what their users would run.
NATIVE_MLP_MAX_ITER = 100


def native_mlp_budget(algo: AlgorithmSpec, case: Case) -> int:
    """How long a native MLP trains: the case's budget in a time-to-target case (the
    search sets ``max_iter``), else :data:`NATIVE_MLP_MAX_ITER` (a fixed-work case's
    ``max_iter`` counts ours' rounds, which mean something else to another library)."""
    if algo.target_of(case) is not None and algo.budget_param in case.params:
        return int(case.params[algo.budget_param])
    return NATIVE_MLP_MAX_ITER


def comparator(algorithm: str, backend: str) -> Comparator:
    """A fresh native comparator for ``algorithm`` on ``backend``."""
    target = NATIVES.get((algorithm, backend))
    if target is None:
        raise ValueError(
            f"no native comparator for algorithm {algorithm!r} on backend {backend!r} "
            f"({no_native_reason(algorithm, backend)}); valid pairs: {sorted(NATIVES)}"
        )
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)()


def no_native_reason(algorithm: str, backend: str) -> str:
    """Why ``backend`` has no native comparator for ``algorithm``."""
    return (
        NO_NATIVE.get((algorithm, backend))
        or NO_NATIVE_LIBRARY.get(backend)
        or f"no native {algorithm} comparator for {backend} in "
        "dmlbench.suites.natives.comparator.NATIVES"
    )


# -- shared by the comparators ------------------------------------------------------------
def native_rule(algo, rule: dict[str, Any] | None, reference: float) -> dict[str, Any] | None:
    """A native library's own answer rule, ``{"value", "reason"}``, or None (ours').

    A library whose problem differs from ours by a known amount gives ``excess``: how much
    its own optimum may exceed ours in the metric's units; its rule is then ours' tolerance
    plus that excess (relative to the reference for a relative metric).
    """
    if not rule or "excess" not in rule:
        return rule
    excess = rule["excess"] / abs(reference) if algo.metric.relative else rule["excess"]
    return {**rule, "value": algo.tolerance_for(False) + excess}


def unpenalised_only(case: Case, library: str) -> str | None:
    """Why ``library``'s unpenalised least squares cannot run ``case`` (ours' ``alpha``, the
    case's or our estimator's default, is not 0: a ridge problem), or None."""
    from dmlbench.suites.define.workloads import ALGORITHMS

    alpha = ALGORITHMS[case.algorithm].ours_params(case.params)["alpha"]
    if alpha == 0:
        return None
    return (
        f"{library} solves unpenalised least squares here, but this case's ridge penalty "
        f"is alpha={alpha!r} (expected 0)"
    )


def block_source(case: Case, data: DatasetSpec) -> tuple[Callable[[int], Block], int]:
    """(make_block, n_blocks) giving the case's rows, for a native library to load.

    Generated data is rebuilt on the engine from the same recipe (prepared data from the
    prepared recipe); real data that ships with scikit-learn is split into the same blocks
    as the resident dataset.
    """
    if data.loader:
        from dmlbench.algorithms.base import split_blocks

        blocks = split_blocks(*data.split()[0])
        return blocks.__getitem__, len(blocks)
    return data.blocks_maker(case.n_samples, case.n_features, case.seed), data.n_blocks


def shared_centres(impl: Comparator) -> np.ndarray:
    """The initial centres of the case's shared start, which the runner sets as
    ``impl.start`` before ``prepare`` (a k-means comparator never draws its own)."""
    if impl.start is None or "init" not in impl.start.params:
        raise ValueError(
            f"{type(impl).__name__} needs the case's shared k-means start (centres in "
            f"start.params['init']); got start={impl.start!r}. Set comparator.start = "
            "AlgorithmSpec.starts.shared(case, make_block, seed) before prepare, as the "
            "runner does."
        )
    return np.asarray(impl.start.params["init"], dtype=np.float64)


def mean_variance(be: Any, ds: Dataset) -> float:
    """The mean column variance of the resident Dataset ``ds`` (``ddof=0``), computed as
    ours computes it: what scikit-learn-style relative tolerances are multiplied by."""
    from dmlbench.algorithms.kernels import block_moments, merge_moments

    m = be.aggregate(ds, block_moments, merge_moments)
    return float(np.mean(np.diag(m.cxx) / m.n))


def scored_by_ours(
    case: Case,
    algo: AlgorithmSpec,
    data: DatasetSpec,
    be: Any,
    fitted: Callable[[], dict[str, Any]],
    *,
    native: dict[str, Any],
    n_iter: int | None = None,
) -> Fitted:
    """The :class:`Fitted` of a native library's parameters, scored by our own estimator.

    ``fitted()`` gives the native's parameters under our estimator's attribute names
    (``coef_``, ``intercept_``, ``classes_``, ``cluster_centers_``); it is called when the
    metric is, after the clock. Scoring a native's coefficients (or centres) with our own
    ``score`` on the resident dataset keeps the metric identical for both implementations
    (and avoids dask-ml's ``score``, which breaks against scikit-learn 1.9); k-means
    inertia is recomputed from the native's centres, never taken from the library.
    """

    def metric(d: Dataset) -> float:
        model = algo.make(case.params, be, data)
        params = fitted()
        for name, value in params.items():
            setattr(model, name, value)
        first = params["coef_"] if "coef_" in params else params["cluster_centers_"]
        model.n_features_in_ = np.shape(first)[-1]
        return algo.score(model, d)

    return Fitted(metric, n_iter, native=native)
