"""What a dataset is to a suite: how to get its blocks, and what it is for.

A dataset is generated per block on the workers (``generate``) or, for the real data that
ships with scikit-learn, loaded on the driver and shipped (``from_blocks``). The number of
blocks is fixed per dataset, not per worker count, so strong scaling holds the work
constant. The datasets a suite can name are listed in
:data:`dmlbench.suites.define.workloads.DATASETS`; their block generators are in
:mod:`dmlbench.suites.define.datasets`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from dmlbench.algorithms.base import N_BLOCKS
from dmlbench.backends import Block

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
        """``i -> Block``: block ``i`` of a generated dataset of ``n_samples`` rows in all."""
        if self.make_block is None:
            raise ValueError(f"dataset {self.name!r} is loaded ({self.loader}), not generated")
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
        """``(X, y)`` of a real dataset, X of shape (n_samples, n_features) scaled."""
        import sklearn.datasets

        if self.loader is None:
            raise ValueError(f"dataset {self.name!r} is generated per block, not loaded")
        X, y = getattr(sklearn.datasets, self.loader)(return_X_y=True)
        if self.pixel_max is not None:
            X = X / self.pixel_max
        else:
            X = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
        return X.astype(np.float64), y


def table_preprocess(be: Any, ds: Any, numeric=(), categorical=()) -> tuple[Any, dict]:
    """Impute, clip, one-hot and standardise a raw table on the workers (written once)."""
    from dmlbench.algorithms.preprocessing import TablePreprocessor

    prep = TablePreprocessor(numeric=numeric, categorical=categorical, backend=be).fit(ds)
    return prep.transform(ds), prep.params()
