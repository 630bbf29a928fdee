"""Algorithms written once against the backend protocol (numpy + ``backends`` only).

>>> from algorithms import LinearRegression, KMeans                # doctest: +SKIP
>>> KMeans(n_clusters=8, random_state=0, backend=be).fit(ds)      # ds: a Dataset of be

Every estimator takes a ``backend`` (a started backend or a name; default "local") and
numpy input or a Dataset resident on that backend. No engine is imported here.

The estimators are loaded on first use: the workers import only ``dmlbench.algorithms._kernels``
(numpy and scipy), never scikit-learn, whose import costs ~1 s per worker process.
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
