"""Table preprocessing written once: imputation, outlier clipping, one-hot encoding and
standardisation, from statistics aggregated on the workers (two rounds), applied to
every block where it lives (``map_blocks``: the result stays resident)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from dmlbench.algorithms.base import check_number, resolve_backend, split_blocks
from dmlbench.algorithms.table_kernels import (
    cleaned_stats,
    merge_column_stats,
    merge_raw_stats,
    raw_stats,
    transform_table,
)
from dmlbench.backends import Dataset


class TablePreprocessor(TransformerMixin, BaseEstimator):
    """Impute, clip, standardise numeric columns; impute and one-hot categorical ones.

    Fitting takes two aggregate rounds: (1) count, mean and variance of each numeric
    column's present values and the value counts of each categorical column; (2) mean
    and variance of the numeric columns after imputation and clipping. The output is
    what scikit-learn's ``SimpleImputer(strategy="mean")`` -> clip -> ``StandardScaler``
    on the numeric columns, beside ``SimpleImputer(strategy="most_frequent")`` ->
    ``OneHotEncoder`` on the categorical ones, gives on all the rows at once.

    Parameters
    ----------
    numeric : sequence of int
        Column indices of numeric features (NaN = missing).
    categorical : sequence of int
        Column indices of categorical features coded as numbers (NaN = missing).
    clip_sigmas : float, default=4.0
        Numeric values are clipped to mean ± ``clip_sigmas`` standard deviations of the
        column's present values (outliers); ``inf`` turns clipping off.
    backend : str or started backend, default="local"

    Attributes
    ----------
    fill_ : ndarray of shape (n_numeric,)
        Imputed value (mean of present values) per numeric column.
    low_, high_ : ndarray of shape (n_numeric,)
        Clipping bounds.
    mean_, scale_ : ndarray of shape (n_numeric,)
        Standardisation after imputation and clipping (scale 1 for a constant column).
    mode_ : list of float
        Imputed value (most frequent; the smallest on ties) per categorical column.
    categories_ : list of ndarray
        Sorted categories seen per categorical column (one output column each).
    n_features_out_ : int
    """

    def __init__(self, *, numeric=(), categorical=(), clip_sigmas=4.0, backend="local"):
        self.numeric = numeric
        self.categorical = categorical
        self.clip_sigmas = clip_sigmas
        self.backend = backend

    def fit(self, X, y=None):
        """Fit on numpy ``X`` (n_samples, n_columns) or a Dataset of raw blocks."""
        check_number(self, "clip_sigmas", 0.0, strict=True)
        numeric = np.asarray(self.numeric, dtype=np.int64)
        categorical = np.asarray(self.categorical, dtype=np.int64)
        if numeric.size + categorical.size == 0:
            raise ValueError("TablePreprocessor needs numeric or categorical columns")
        if np.intersect1d(numeric, categorical).size:
            raise ValueError("a column cannot be both numeric and categorical")
        be, ds, owned = self._data(X)
        try:
            stats, counts = be.aggregate(ds, raw_stats, merge_raw_stats, numeric, categorical)
            empty = [int(c) for c, n in zip(numeric, stats.n, strict=True) if n == 0]
            empty += [c for c in categorical.tolist() if not counts[c]]
            if empty:
                raise ValueError(f"columns {empty} have no values at all: nothing to impute")
            std = np.sqrt(stats.m2 / stats.n)
            self.fill_ = stats.mean
            self.low_ = stats.mean - self.clip_sigmas * std
            self.high_ = stats.mean + self.clip_sigmas * std
            cleaned = be.aggregate(
                ds, cleaned_stats, merge_column_stats, numeric, self.fill_, self.low_, self.high_
            )
            scale = np.sqrt(cleaned.m2 / cleaned.n)
            self.mean_, self.scale_ = cleaned.mean, np.where(scale > 0, scale, 1.0)
            self.mode_ = [float(_mode(counts[c])) for c in categorical.tolist()]
            self.categories_ = [np.array(sorted(counts[c])) for c in categorical.tolist()]
            self.n_features_out_ = numeric.size + sum(c.size for c in self.categories_)
        finally:
            if owned:
                be.free(ds)
        return self

    def params(self) -> dict[str, Any]:
        """The fitted statistics, as ``table_kernels.transform_table`` takes them."""
        check_is_fitted(self)
        return {
            "numeric": np.asarray(self.numeric, dtype=np.int64),
            "fill": self.fill_,
            "low": self.low_,
            "high": self.high_,
            "mean": self.mean_,
            "scale": self.scale_,
            "categorical": np.asarray(self.categorical, dtype=np.int64),
            "mode": self.mode_,
            "categories": self.categories_,
        }

    def transform(self, X):
        """Numpy in, numpy out; a Dataset in, a new resident Dataset out (the input stays)."""
        params = self.params()
        if isinstance(X, Dataset):
            be = resolve_backend(self.backend, type(self).__name__)
            return be.map_blocks(X, transform_table, be.broadcast(params))
        from dmlbench.backends import Block

        return transform_table(Block(np.asarray(X, dtype=np.float64)), params).X

    def _data(self, X):
        be = resolve_backend(self.backend, type(self).__name__)
        if isinstance(X, Dataset):
            return be, X, False
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"Expected a 2D array of shape (n_samples, n_columns); got {X.shape}")
        return be, be.from_blocks(split_blocks(X)), True


def _mode(counts: dict[float, int]) -> float:
    """The most frequent value; the smallest among ties (scikit-learn's rule)."""
    top = max(counts.values())
    return min(v for v, n in counts.items() if n == top)
