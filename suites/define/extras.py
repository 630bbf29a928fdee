"""Secondary quality numbers of a fitted model: recorded beside the checked metric, never
what a case passes or fails by.

Each is ``(model, X, y, sample) -> {name: value}`` (``X``: numpy rows or a resident
Dataset; ``y`` and ``sample`` only when the algorithm's ``ExtrasPolicy`` asks for them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

#: Rows of the sample a silhouette score is computed on (it is quadratic in rows).
SILHOUETTE_SAMPLE = 4000


def sample_rows(n_blocks: int) -> int:
    """Rows taken from the head of every block for a silhouette sample."""
    return -(-SILHOUETTE_SAMPLE // n_blocks)


def silhouette_of(predict: Callable, X: np.ndarray) -> float:
    """Silhouette score of ``predict``'s labels on the rows ``X`` of shape
    (n_samples, n_features) (-1 to 1; higher is better)."""
    from sklearn.metrics import silhouette_score

    labels = predict(X)
    return float(silhouette_score(X, labels)) if len(set(labels.tolist())) > 1 else float("nan")


def roc_auc(model: Any, X: Any, y: Any, sample: Any = None) -> dict[str, float]:
    """ROC AUC over all rows ``X`` (numpy or Dataset) with targets ``y``: binary only."""
    if len(model.classes_) != 2:
        return {}
    from sklearn.metrics import roc_auc_score

    return {"roc_auc": float(roc_auc_score(y, model.decision_function(X)))}


def accuracy_and_roc_auc(model: Any, X: Any, y: Any, sample: Any = None) -> dict[str, float]:
    """Training accuracy and (binary) ROC AUC over all rows ``X`` with targets ``y``."""
    return {"accuracy": float(model.score(X, y)), **roc_auc(model, X, y)}


def silhouette(model: Any, X: Any, y: Any = None, sample: Any = None) -> dict[str, float]:
    """The silhouette score of the numpy rows ``sample``."""
    return {"silhouette": silhouette_of(model.predict, sample)}


def ranking_at_10(model: Any, X: Any, y: Any = None, sample: Any = None) -> dict[str, float]:
    """Precision, recall, NDCG and MAP at 10 on the held-out ratings of the ratings
    Dataset ``X`` (explicit: those >= 4; implicit: every interaction), and for implicit
    feedback the popularity baseline's on the same users (``popularity_<metric>_at_10``)."""
    from dmlbench.algorithms.als import popularity_metrics
    from dmlbench.algorithms.als_kernels import RANKING_METRICS

    found = model.ranking_metrics(X, 10)
    out = {f"{name}_at_10": found[name] for name in RANKING_METRICS}
    if model.implicit_prefs:
        base = popularity_metrics(X, 10, model.relevant_threshold(), backend=model.backend)
        out.update({f"popularity_{name}_at_10": base[name] for name in RANKING_METRICS})
    return out
