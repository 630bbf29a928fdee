"""What every estimator shares: the backend, the input as a dataset, the trace.

Estimators run on any :class:`dmlbench.backends.Backend` (the Protocol: an adapter from
``get_backend``, or any object that satisfies it) and accept either a
:class:`dmlbench.backends.Dataset` already resident on the backend
(the benchmark path: data generated on the workers) or numpy arrays, which are split into
:data:`N_BLOCKS` blocks and shipped with ``from_blocks`` for the duration of the call.
"""

from __future__ import annotations

import atexit
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from dmlbench.algorithms.kernels import (
    apply_to_X,
    block_stats,
    block_y,
    concat,
    merge_stats,
)
from dmlbench.backends import Backend, Block, Dataset, backend_names, check_int, get_backend

#: Blocks numpy input is split into: fixed, so every backend and worker count combines
#: the same partial sums in the same order.
N_BLOCKS = 8

_SHARED: dict[str, Backend] = {}


def resolve_backend(backend: Any, caller: str) -> Backend:
    """A started backend from a backend object or a name.

    ``backend`` is any object that satisfies the :class:`~dmlbench.backends.Backend`
    Protocol and is started, or a backend name. A name starts that backend once per
    process (closed at exit) and shares it among estimators, so ``KMeans(backend="dask")``
    does not start a cluster per fit.
    """
    if isinstance(backend, str):
        if backend not in _SHARED:
            if backend not in backend_names():
                raise ValueError(
                    f"The 'backend' parameter of {caller} must be a started backend or one of "
                    f"{backend_names()}. Got {backend!r} instead."
                )
            _SHARED[backend] = get_backend(backend).start()
            atexit.register(_SHARED[backend].close)
        return _SHARED[backend]
    if isinstance(backend, Backend):
        if not backend.started:
            raise RuntimeError(
                f"The 'backend' parameter of {caller} must be a started backend. Got "
                f"{backend!r}, which is not started: use `with get_backend(...) as be:` or "
                "call .start() first."
            )
        return backend
    raise TypeError(
        f"The 'backend' parameter of {caller} must be a started backend (an object that "
        f"satisfies dmlbench.backends.Backend) or one of {backend_names()}. Got {backend!r} "
        f"of type {type(backend).__name__} instead."
    )


@dataclass
class Trace:
    """Per-iteration record of a fit: the raw material of convergence curves."""

    t0: float = field(default_factory=time.perf_counter)
    rows: list[dict[str, float]] = field(default_factory=list)

    def add(self, objective: float, **extra: float) -> None:
        self.rows.append(
            {
                "iteration": len(self.rows) + 1,
                "seconds": time.perf_counter() - self.t0,
                "objective": float(objective),
                **extra,
            }
        )


class DistributedEstimator(BaseEstimator):
    """Base of the written-once estimators: input handling on a backend."""

    def _backend(self) -> Backend:
        return resolve_backend(self.backend, type(self).__name__)

    def pass_work(self, n_samples: int) -> dict[str, float] | None:
        """The work of one pass of this fitted estimator's main kernel over ``n_samples``
        rows: ``kernel`` (the block function's name), ``bytes`` (the float64 input it
        must read, once) and ``flops`` (the arithmetic the algorithm needs, not what an
        implementation spends beyond it), for the achieved rates a benchmark reports. None
        where the estimator does not count them."""
        return None

    def _fit_data(
        self, X: Any, y: Any = None, *, supervised: bool, dtype: Any = np.float64, **check: Any
    ) -> tuple[Backend, Dataset, bool]:
        """(backend, dataset, whether we shipped it and must free it) for a fit.

        numpy input is validated the scikit-learn way (shapes, NaN, dtypes) and sets
        ``n_features_in_``; a Dataset is checked on the workers by :func:`dataset_stats`.
        """
        be = self._backend()
        name = type(self).__name__
        if isinstance(X, Dataset):
            if y is not None:
                raise ValueError(
                    f"{name}.fit takes y from the blocks of a Dataset; got a separate y too."
                )
            stats = dataset_stats(be, X)
            if supervised and not stats.has_y:
                raise ValueError(f"{name} needs targets: the Dataset's blocks have y=None.")
            if not stats.finite:
                raise ValueError(f"Input X contains NaN or infinity (in a block of {X.id}).")
            self.n_features_in_ = stats.n_features
            return be, X, False
        if supervised:
            if y is None:
                raise ValueError(f"{name} requires y to be passed, but the target y is None.")
            X, y = validate_data(self, X, y, dtype=dtype, **check)
        else:  # y is ignored: scikit-learn's convention for unsupervised estimators
            X = validate_data(self, X, dtype=dtype, **check)
        return be, be.from_blocks(split_blocks(X, y if supervised else None)), True

    def _predict_data(self, X: Any) -> np.ndarray | Dataset:
        """Validated numpy X (checked against ``n_features_in_``), or a Dataset as is."""
        check_is_fitted(self)
        if isinstance(X, Dataset):
            return X
        return validate_data(self, X, reset=False, dtype=np.float64)

    def _per_block(self, X: Any, fn: Callable, *attrs: str) -> np.ndarray:
        """``fn(X_block, *fitted attributes named attrs)`` over numpy X, or over a Dataset's
        blocks on the workers, concatenated in block order."""
        X = self._predict_data(X)
        args = [getattr(self, name) for name in attrs]
        if isinstance(X, Dataset):
            be = self._backend()
            return be.aggregate(X, apply_to_X, concat, fn, *[be.broadcast(a) for a in args])
        return fn(X, *args)


def split_blocks(X: np.ndarray, y: np.ndarray | None = None) -> list[Block]:
    """Rows of ``X`` (and ``y``) in :data:`N_BLOCKS` contiguous blocks (fewer if few rows)."""
    n = max(1, min(N_BLOCKS, X.shape[0]))
    bounds = np.linspace(0, X.shape[0], n + 1).astype(int)
    return [
        Block(X[a:b], None if y is None else y[a:b])
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]


def fit_classes(est: BaseEstimator, y: np.ndarray) -> np.ndarray:
    """Set and return ``est.classes_`` (sorted labels of y); at least two are needed."""
    check_classification_targets(y)
    est.classes_ = np.unique(y)
    if len(est.classes_) < 2:
        raise ValueError(
            f"{type(est).__name__} needs samples of at least 2 classes in the data, but the "
            f"data contains only one class: {est.classes_.tolist()[0]!r}"
        )
    return est.classes_


def targets(be: Backend, ds: Dataset) -> np.ndarray:
    """All of a dataset's ``y`` on the driver, in block order."""
    return be.aggregate(ds, block_y, concat)


# -- moments: the associative statistics several algorithms start from ------------------


@dataclass(frozen=True)
class DatasetStats:
    n_samples: int
    n_features: int
    has_y: bool
    finite: bool


def dataset_stats(be: Backend, ds: Dataset) -> DatasetStats:
    """Shape, presence of y and finiteness of a resident dataset (one round)."""
    n, d, has_y, finite = be.aggregate(ds, block_stats, merge_stats)
    return DatasetStats(n, d, has_y, finite)


def free_if(be: Backend, ds: Dataset, owned: bool) -> None:
    """Free ``ds`` if the estimator shipped it."""
    if owned:
        be.free(ds)


# -- parameter and target checks shared by the estimators ------------------------------
def targets_of(est: DistributedEstimator, X: Any, y: Any) -> np.ndarray:
    if y is not None:
        return np.asarray(y)
    if isinstance(X, Dataset):
        return targets(est._backend(), X)
    raise ValueError(f"{type(est).__name__}.score needs y with numpy X.")


def check_choice(est: BaseEstimator, name: str, choices: tuple) -> None:
    value = getattr(est, name)
    if value not in choices:
        raise ValueError(
            f"The {name!r} parameter of {type(est).__name__} must be one of {list(choices)}. "
            f"Got {value!r} instead."
        )


def check_number(est: BaseEstimator, name: str, low: float, *, strict: bool = False) -> None:
    value = getattr(est, name)
    ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    ok = ok and (value > low if strict else value >= low)
    if not ok:
        bound = f"> {low}" if strict else f">= {low}"
        raise ValueError(
            f"The {name!r} parameter of {type(est).__name__} must be a float {bound}. "
            f"Got {value!r} instead."
        )


def check_positive_ints(est: BaseEstimator, *names: str) -> None:
    """Each named parameter of ``est`` is an int >= 1 (:func:`dmlbench.backends.check_int`:
    TypeError for a non-integer, ValueError below 1)."""
    for name in names:
        check_int(getattr(est, name), name, type(est).__name__)
