"""ALS for explicit ratings or implicit feedback, written once: each half-iteration solves
per-entity normal equations on the workers, where that entity's ratings already are.

A ratings dataset keeps every rating twice (see :mod:`dmlbench.algorithms.als_kernels`): in
user-partitioned blocks and in item-partitioned blocks. One iteration is two rounds:

1. broadcast the item factors ``V``; every user-side block solves its users, returns them;
2. broadcast the user factors ``U``; every item-side block solves its items, returns them.

Nothing but factors crosses the network, once per half-iteration; no shuffle (Spark
MLlib's ALS ships factors between its in- and out-blocks the same way).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from dmlbench.algorithms.als_kernels import (
    ANY_INTERACTION,
    BY_ITEM,
    BY_USER,
    ITEM,
    RANKING_METRICS,
    SIDE,
    TEST,
    USER,
    add_arrays,
    add_pairs,
    concat_arrays,
    concat_solutions,
    interaction_counts,
    merge_extent,
    objective_terms,
    ranking_sums,
    ratings_extent,
    solve_side,
    squared_error,
    training_users,
)
from dmlbench.algorithms.base import (
    N_BLOCKS,
    Trace,
    check_number,
    check_positive_ints,
    resolve_backend,
)
from dmlbench.algorithms.kernels import add_tuples
from dmlbench.backends import Backend, Block, Dataset


def ratings_blocks(
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    held_out: np.ndarray | None = None,
    n_blocks: int = N_BLOCKS,
) -> list[Block]:
    """A ratings dataset's blocks from triples: ``n_blocks`` by user and ``n_blocks`` by item.

    Parameters
    ----------
    users, items : ndarray of shape (n_ratings,), non-negative integer ids
    ratings : ndarray of shape (n_ratings,)
    held_out : ndarray of bool, shape (n_ratings,), optional
        Ratings kept out of training (scored by ``rmse`` and ``precision_at_k``).

    Returns
    -------
    list of Block, length 2 * n_blocks
        User and item blocks alternate; each holds whole entities (a user's ratings are
        never split between blocks).
    """
    held = np.zeros(users.shape[0]) if held_out is None else held_out.astype(np.float64)
    sides = []
    for side, key in ((BY_USER, users), (BY_ITEM, items)):
        order = np.argsort(key, kind="stable")
        X = np.column_stack(
            [users[order], items[order], held[order], np.full(order.size, side)]
        ).astype(np.float64)
        y = np.asarray(ratings, dtype=np.float64)[order]
        bounds = _entity_bounds(key[order], n_blocks)
        sides.append([Block(X[a:b], y[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)])
    # interleaved, user block j then item block j: each worker's contiguous blocks hold
    # both kinds, so both half-steps use every worker
    return [block for pair in zip(*sides, strict=True) for block in pair]


def _entity_bounds(sorted_ids: np.ndarray, n_blocks: int) -> np.ndarray:
    """Row bounds of ``n_blocks`` near-equal blocks that never split an entity's rows."""
    n = sorted_ids.size
    cuts = np.linspace(0, n, n_blocks + 1).astype(int)
    inner = [
        int(np.searchsorted(sorted_ids, sorted_ids[c], side="left")) if c < n else n
        for c in cuts[1:-1]
    ]
    return np.array([0, *inner, n])


class ALS(BaseEstimator):
    """Alternating least squares matrix factorisation of explicit ratings or of implicit
    feedback.

    Explicit (``implicit_prefs=False``): minimises ``sum over rated (u, i) of (r_ui -
    U_u . V_i)^2 + reg_param * (sum_u n_u |U_u|^2 + sum_i n_i |V_i|^2)`` (ALS-WR
    weighting: ``n_u`` ratings of user ``u``), Spark MLlib's objective for
    ``implicitPrefs=False``.

    Implicit (``implicit_prefs=True``; Hu, Koren & Volinsky 2008): the values are
    interaction strengths (views, carts, purchases); over *every* (u, i) pair it minimises
    ``sum c_ui (p_ui - U_u . V_i)^2 + reg_param * (sum_u n_u |U_u|^2 + sum_i n_i |V_i|^2)``
    with preference ``p_ui = 1`` where ``r_ui > 0`` (else 0), confidence ``c_ui = 1 +
    alpha * |r_ui|`` (1 for a pair without interaction) and ``n_u`` the user's positive
    interactions: MLlib's ``ALS(implicitPrefs=True)``. A user's solve costs its
    interactions, not the catalogue (``V^T V`` is formed once per half-step).

    Parameters
    ----------
    rank : int, default=10
        Number of latent factors.
    reg_param : float, default=0.1
    max_iter : int, default=10
        Iterations (each: a user half-step and an item half-step).
    implicit_prefs : bool, default=False
    alpha : float, default=1.0
        Confidence per unit of interaction (implicit only; MLlib's ``alpha``).
    random_state : int, default=0
        Seeds the initial item factors.
    backend : str or started backend, default="local"

    Attributes
    ----------
    user_factors_ : ndarray of shape (n_users, rank)
        Zero for a user without training ratings (ids run from 0 to the largest seen).
    item_factors_ : ndarray of shape (n_items, rank)
    user_known_, item_known_ : ndarray of bool, shapes (n_users,) and (n_items,)
        Which users and items had training ratings. Held-out ratings of the others are
        left out of ``rmse`` and ``precision_at_k`` (cold start; MLlib's
        ``coldStartStrategy="drop"``).
    n_iter_ : int
    trace_ : list of dict
        Per iteration, after the user half-step (``objective``): the training RMSE
        (explicit), or the confidence-weighted squared error per (user, item) pair
        (implicit); and seconds.
    """

    def __init__(
        self,
        *,
        rank=10,
        reg_param=0.1,
        max_iter=10,
        implicit_prefs=False,
        alpha=1.0,
        random_state=0,
        backend="local",
    ):
        self.rank = rank
        self.reg_param = reg_param
        self.max_iter = max_iter
        self.implicit_prefs = implicit_prefs
        self.alpha = alpha
        self.random_state = random_state
        self.backend = backend

    def fit(self, X, y=None):
        """Fit on ``X`` (n_ratings, 2) of (user id, item id) with ``y`` the ratings, or on a
        ratings Dataset (blocks from :func:`ratings_blocks` or a generator of that layout)."""
        check_positive_ints(self, "rank", "max_iter")
        check_number(self, "reg_param", 0.0, strict=False)
        check_number(self, "alpha", 0.0, strict=False)
        if not isinstance(self.implicit_prefs, (bool, np.bool_)):
            raise ValueError(f"implicit_prefs must be True or False; got {self.implicit_prefs!r}")
        be = resolve_backend(self.backend, "ALS")
        ds, owned = self._dataset(be, X, y)
        try:
            max_user, max_item, n_train, _, finite = be.aggregate(ds, ratings_extent, merge_extent)
            if not finite:
                raise ValueError("ratings contain NaN or infinity")
            if n_train == 0:
                raise ValueError("ALS needs at least one training rating; got none")
            n_users, n_items = max_user + 1, max_item + 1
            rng = np.random.default_rng(self.random_state)
            V = np.abs(rng.standard_normal((n_items, self.rank))) / np.sqrt(self.rank)
            U = np.zeros((n_users, self.rank))
            trace = Trace()
            for _ in range(self.max_iter):
                U, users_known, loss, count = self._half_step(be, ds, V, BY_USER, n_users)
                V, items_known, _, _ = self._half_step(be, ds, U, BY_ITEM, n_items)
                if self.implicit_prefs:  # over every pair of the users solved
                    trace.add(loss / (int(users_known.sum()) * n_items))
                else:
                    trace.add(np.sqrt(loss / count))
            self.user_factors_, self.item_factors_ = U, V
            self.user_known_, self.item_known_ = users_known, items_known
            self.n_iter_ = self.max_iter
            self.trace_ = trace.rows
        finally:
            if owned:
                be.free(ds)
        return self

    def _half_step(
        self, be: Backend, ds: Dataset, other: np.ndarray, side: float, n: int
    ) -> tuple[np.ndarray, np.ndarray, float, int]:
        """(factors of ``side``, which have training ratings, training loss, ratings)."""
        # Implicit feedback also ships alpha and the other side's Gram matrix VᵀV (formed
        # once here); explicit ratings ship neither.
        implicit = (float(self.alpha), other.T @ other) if self.implicit_prefs else ()
        ids, rows, sse, count = be.aggregate(
            ds,
            solve_side,
            concat_solutions,
            be.broadcast(other),
            side,
            float(self.reg_param),
            *implicit,
        )
        out = np.zeros((n, self.rank))  # entities without training ratings stay at zero
        out[ids] = rows
        known = np.zeros(n, dtype=bool)
        known[ids] = True
        return out, known, sse, count

    def _dataset(self, be: Backend, X: Any, y: Any) -> tuple[Dataset, bool]:
        if isinstance(X, Dataset):
            if y is not None:
                raise ValueError("ALS.fit takes ratings from the blocks of a Dataset; got y too.")
            return X, False
        users, items, ratings = _triples(X, y)
        if ratings is None:
            raise ValueError("ALS requires y to be passed, but the target y is None.")
        return be.from_blocks(ratings_blocks(users, items, ratings)), True

    def predict(self, X) -> np.ndarray:
        """Predicted ratings of (user, item) pairs ``X`` (n, 2), shape (n,)."""
        check_is_fitted(self)
        users, items, _ = _triples(X, None)
        if (
            users.max(initial=-1) >= self.user_factors_.shape[0]
            or items.max(initial=-1) >= self.item_factors_.shape[0]
        ):
            raise ValueError(
                f"ALS was fitted on {self.user_factors_.shape[0]} users and "
                f"{self.item_factors_.shape[0]} items; X has ids beyond them"
            )
        return np.einsum("nk,nk->n", self.user_factors_[users], self.item_factors_[items])

    def rmse(self, X, y=None, *, held_out: bool = True) -> float:
        """RMSE on pairs ``X`` with ratings ``y``, or on a ratings Dataset's held-out
        (``held_out=True``) or training ratings. Implicit feedback: of the predicted
        preferences (1 for an interaction with value > 0), not of the values."""
        check_is_fitted(self)
        if isinstance(X, Dataset):
            be = resolve_backend(self.backend, "ALS")
            sse, count = be.aggregate(
                X,
                squared_error,
                add_pairs,
                be.broadcast(self.user_factors_),
                be.broadcast(self.item_factors_),
                held_out,
                be.broadcast((self.user_known_, self.item_known_)),
                bool(self.implicit_prefs),
            )
            if count == 0:
                raise ValueError("the Dataset has no such ratings to score")
            return float(np.sqrt(sse / count))
        _, _, ratings = _triples(X, y)
        if ratings is None:
            raise ValueError("rmse on (user, item) pairs needs their ratings y")
        if self.implicit_prefs:
            ratings = (ratings > 0).astype(np.float64)
        err = self.predict(X) - ratings
        return float(np.sqrt(err @ err / err.size))

    def objective(self, ds: Dataset) -> float:
        """The objective :meth:`fit` minimises, at the fitted factors, on a ratings
        Dataset's training ratings: per pair for implicit feedback (over every pair of a
        user with training interactions and an item), per rating for explicit ratings.

        The penalty included, so it is the number that says how well factors solve the
        problem: ours', the local oracle's or a native library's (MLlib's, scored by this
        code), one function for all. Lower is better.
        """
        check_is_fitted(self)
        be = resolve_backend(self.backend, "ALS")
        U, V = self.user_factors_, self.item_factors_
        implicit = (float(self.alpha), V.T @ V) if self.implicit_prefs else ()
        total, users, ratings = be.aggregate(
            ds,
            objective_terms,
            add_tuples,  # one round: the sum and both counts
            be.broadcast(U),
            be.broadcast(V),
            float(self.reg_param),
            *implicit,
        )
        if users == 0:
            raise ValueError("the Dataset has no training ratings to score")
        per = users * V.shape[0] if self.implicit_prefs else ratings  # pairs, or ratings
        return float(total / per)

    def score(self, X, y=None) -> float:
        """Negative RMSE (greater is better), on the held-out ratings of a Dataset."""
        return -self.rmse(X, y)

    def precision_at_k(self, ds: Dataset, k: int = 10, relevant: float | None = None) -> float:
        """Mean precision@k over users with a held-out rating >= ``relevant`` (Dataset only;
        see :meth:`ranking_metrics`)."""
        return self.ranking_metrics(ds, k, relevant)["precision"]

    def ranking_metrics(
        self, ds: Dataset, k: int = 10, relevant: float | None = None
    ) -> dict[str, float]:
        """Precision@k, recall@k, NDCG@k and MAP@k of the top ``k`` recommendations on a
        ratings Dataset's held-out interactions (see
        :func:`~dmlbench.algorithms.als_kernels.ranking_sums`), averaged over users with
        training ratings and a held-out one >= ``relevant`` (default: 4.0 for explicit
        ratings, any interaction for implicit feedback); plus ``users``, how many."""
        check_is_fitted(self)
        be = resolve_backend(self.backend, "ALS")
        factors = be.broadcast(self.user_factors_), be.broadcast(self.item_factors_)
        return _ranking(be, ds, factors, k, self.relevant_threshold(relevant), self.user_known_)

    def relevant_threshold(self, relevant: float | None = None) -> float:
        """The held-out value that makes an item relevant: ``relevant``, else 4.0 for
        explicit ratings, any positive interaction for implicit feedback."""
        if relevant is not None:
            return float(relevant)
        return ANY_INTERACTION if self.implicit_prefs else 4.0


def popularity_metrics(
    ds: Dataset, k: int = 10, relevant: float = ANY_INTERACTION, *, backend="local"
) -> dict[str, float]:
    """The popularity baseline's :meth:`ALS.ranking_metrics` on the same held-out
    interactions: every user is recommended the ``k`` items with the most training
    interactions among those it has not interacted with. Scored over the users with
    training interactions (the same users an ALS model is scored on)."""
    be = resolve_backend(backend, "popularity_metrics")
    max_user, max_item, _, _, _ = be.aggregate(ds, ratings_extent, merge_extent)
    counts = be.aggregate(ds, interaction_counts, add_arrays, max_item + 1)
    known = _users_with_training(be, ds, max_user + 1)
    return _ranking(be, ds, (None, None), k, float(relevant), known, be.broadcast(counts))


def _users_with_training(be: Backend, ds: Dataset, n_users: int) -> np.ndarray:
    """Which users have a training rating: shape (n_users,) of bool."""
    ids = be.aggregate(ds, training_users, concat_arrays)
    known = np.zeros(n_users, dtype=bool)
    known[ids] = True
    return known


def _ranking(be, ds, factors, k, relevant, users_known, popularity=None) -> dict[str, float]:
    sums = be.aggregate(
        ds,
        ranking_sums,
        add_arrays,
        *factors,
        int(k),
        relevant,
        be.broadcast((users_known,)),
        popularity,
    )
    users = int(sums[-1])
    if users == 0:
        raise ValueError(f"no user has training ratings and a held-out one >= {relevant}")
    return {**dict(zip(RANKING_METRICS, (sums[:-1] / users).tolist(), strict=True)), "users": users}


def _triples(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validated (users, items, ratings) from X (n, 2) of non-negative integer ids."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be (n_ratings, 2) of (user id, item id); got shape {X.shape}")
    if not np.isfinite(X).all() or (X < 0).any() or (X != np.round(X)).any():
        raise ValueError("user and item ids must be non-negative integers")
    ratings = None
    if y is not None:
        ratings = np.asarray(y, dtype=np.float64)
        if ratings.shape != (X.shape[0],) or not np.isfinite(ratings).all():
            raise ValueError(f"y must be {X.shape[0]} finite ratings; got shape {ratings.shape}")
    return X[:, 0].astype(np.int64), X[:, 1].astype(np.int64), ratings


__all__ = ["ALS", "popularity_metrics", "ratings_blocks", "USER", "ITEM", "TEST", "SIDE"]
