"""Worker-side functions of the table preprocessor (numpy only): column statistics that
merge exactly across blocks, and the per-block transform."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dmlbench.backends import Block


@dataclass
class ColumnStats:
    """Per column: non-missing count, mean and sum of squared deviations (Chan's merge)."""

    n: np.ndarray  # (n_columns,)
    mean: np.ndarray
    m2: np.ndarray


def column_stats(X: np.ndarray) -> ColumnStats:
    """Statistics of the non-missing values of each column of ``X`` (n_rows, n_columns)."""
    present = ~np.isnan(X)
    n = present.sum(axis=0).astype(np.float64)
    total = np.where(present, X, 0.0).sum(axis=0)
    mean = np.divide(total, n, out=np.zeros_like(total), where=n > 0)
    dev = np.where(present, X - mean, 0.0)
    return ColumnStats(n, mean, (dev * dev).sum(axis=0))


def merge_column_stats(a: ColumnStats, b: ColumnStats) -> ColumnStats:
    n = a.n + b.n
    delta = b.mean - a.mean
    safe = np.where(n > 0, n, 1.0)
    mean = a.mean + delta * b.n / safe
    m2 = a.m2 + b.m2 + delta * delta * a.n * b.n / safe
    return ColumnStats(n, mean, m2)


def raw_stats(block: Block, numeric: np.ndarray, categorical: np.ndarray) -> tuple:
    """(numeric column stats, {categorical column: {value: count}}) of a raw block."""
    X = block.X
    counts = {}
    for c in categorical.tolist():
        values, n = np.unique(X[~np.isnan(X[:, c]), c], return_counts=True)
        counts[c] = dict(zip(values.tolist(), n.tolist(), strict=True))
    return column_stats(X[:, numeric]), counts


def merge_raw_stats(a: tuple, b: tuple) -> tuple:
    counts = {c: dict(a[1][c]) for c in a[1]}
    for c, table in b[1].items():
        for value, n in table.items():
            counts[c][value] = counts[c].get(value, 0) + n
    return merge_column_stats(a[0], b[0]), counts


def impute_clip(X: np.ndarray, numeric: np.ndarray, fill: np.ndarray, low, high) -> np.ndarray:
    """Numeric columns of ``X``: missing values filled, then clipped to [low, high]."""
    out = X[:, numeric]
    out = np.where(np.isnan(out), fill, out)
    return np.clip(out, low, high)


def cleaned_stats(block: Block, numeric, fill, low, high) -> ColumnStats:
    """Statistics of the imputed and clipped numeric columns (for standardisation)."""
    return column_stats(impute_clip(block.X, numeric, fill, low, high))


def transform_table(block: Block, params: dict) -> Block:
    """The preprocessed block: standardised numeric columns, then one-hot categoricals.

    ``params`` holds the fitted statistics (see ``TablePreprocessor``); ``y`` is kept.
    A category not seen in fitting encodes as all zeros.
    """
    X = block.X
    numeric = impute_clip(X, params["numeric"], params["fill"], params["low"], params["high"])
    parts = [(numeric - params["mean"]) / params["scale"]]
    for c, mode, cats in zip(
        params["categorical"].tolist(), params["mode"], params["categories"], strict=True
    ):
        col = np.where(np.isnan(X[:, c]), mode, X[:, c])
        parts.append((col[:, None] == cats[None, :]).astype(np.float64))
    return Block(np.hstack(parts), block.y)


def prepared_block(i: int, *, raw, params: dict, **kwargs) -> Block:
    """Block ``i`` of a generated table, preprocessed: ``raw(i, **kwargs)`` then
    :func:`transform_table` (how a native library gets the same preprocessed rows)."""
    return transform_table(raw(i, **kwargs), params)
