"""Algorithms written once against the backend protocol (numpy + ``backends`` only).

>>> from algorithms import LinearRegression, KMeans                # doctest: +SKIP
>>> KMeans(n_clusters=8, random_state=0, backend=be).fit(ds)      # ds: a Dataset of be

Every estimator takes a ``backend`` (a started backend or a name; default "local") and
numpy input or a Dataset resident on that backend. No engine is imported here.
"""

from algorithms.kmeans import KMeans
from algorithms.linear import LinearRegression, LogisticRegression
from algorithms.neural import CNNClassifier, MLPClassifier

__all__ = ["CNNClassifier", "KMeans", "LinearRegression", "LogisticRegression", "MLPClassifier"]
