"""Algorithms written once against the backend protocol (numpy + ``backends`` only).

>>> from algorithms import LinearRegression, KMeans                # doctest: +SKIP
>>> KMeans(n_clusters=8, random_state=0, backend=be).fit(ds)      # ds: a Dataset of be

Every estimator takes a ``backend`` (a started backend or a name; default "local") and
numpy input or a Dataset resident on that backend. No engine is imported here.

Every module is public, and these are what other packages use besides the estimators:

* :mod:`~dmlbench.algorithms.base`: the blocks numpy input is split into (``N_BLOCKS``,
  ``split_blocks``), a Dataset's targets (``targets``), the backend from a name or an
  object (``resolve_backend``) and the estimators' base class;
* :mod:`~dmlbench.algorithms.kernels`: the block functions the workers run (moments,
  losses and gradients, Lloyd steps, row sampling) and ``warm_compiled``;
* :mod:`~dmlbench.algorithms.als_kernels` and :mod:`~dmlbench.algorithms.table_kernels`:
  ALS's and the table preprocessing's block functions;
* :mod:`~dmlbench.algorithms.nets` (the networks) and :mod:`~dmlbench.algorithms.compiled`
  (numba loops, imported on first use).

The estimators are loaded on first use: the workers import only the kernel modules (numpy
and scipy), never scikit-learn, whose import costs ~1 s per worker process. Block functions
travel by reference to their module, so a worker imports exactly the module that defines
them.
"""

import importlib

_ESTIMATORS = {
    "ALS": "dmlbench.algorithms.als",
    "CNNClassifier": "dmlbench.algorithms.neural",
    "KMeans": "dmlbench.algorithms.kmeans",
    "LinearRegression": "dmlbench.algorithms.linear",
    "LogisticRegression": "dmlbench.algorithms.linear",
    "MLPClassifier": "dmlbench.algorithms.neural",
}

__all__ = sorted(_ESTIMATORS)


def __getattr__(name: str):
    if name in _ESTIMATORS:
        return getattr(importlib.import_module(_ESTIMATORS[name]), name)
    raise AttributeError(f"module 'algorithms' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
