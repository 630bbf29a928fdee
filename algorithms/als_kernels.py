"""ALS worker-side functions (numpy only): per-entity normal equations and their solves.

A ratings block is ``Block(X, y)`` with ``X[:, 0]`` the user id, ``X[:, 1]`` the item id,
``X[:, 2]`` 1.0 for a held-out rating (0.0 for training) and ``X[:, 3]`` the side it is
partitioned by (0.0: by user, 1.0: by item); ``y`` the rating. A ratings dataset holds every
rating twice, once in a user-partitioned block and once in an item-partitioned one (the
two kinds alternate, so every worker holds both), so each
half-iteration solves its entities' normal equations where their ratings already are: no
shuffle, as in Spark MLlib's blocked ALS (its in-/out-blocks).
"""

from __future__ import annotations

import numpy as np

from dmlbench.backends import Block

USER, ITEM, TEST, SIDE = 0, 1, 2, 3
BY_USER, BY_ITEM = 0.0, 1.0
#: Rows of rank x rank outer products built at once (bounds the temporary to ~50 MB at rank 10).
CHUNK_ROWS = 65_536


def ratings_of(block: Block) -> np.ndarray:
    """The block's ratings (its ``y``); a clear error for a block without them."""
    if block.y is None:
        raise ValueError(
            "an ALS ratings block needs its ratings as y, but this block has y=None "
            "(build ratings datasets with dmlbench.algorithms.als.ratings_blocks)"
        )
    return block.y


def empty_solution(rank: int) -> tuple[np.ndarray, np.ndarray, float, int]:
    return np.empty(0, dtype=np.int64), np.empty((0, rank)), 0.0, 0


def solve_side(
    block: Block,
    other: np.ndarray,
    side: float,
    reg: float,
    alpha: float | None = None,
    gram: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """(ids, factors, training loss, ratings) of this block's entities on ``side``.

    Explicit ratings (``alpha`` None): each entity ``e`` with training ratings ``r`` of
    other-side entities ``j`` solves ``(F_j^T F_j + reg * n_e * I) x_e = F_j^T r``
    (ALS-WR's weighting, as in MLlib); the loss is the squared error on those ratings.

    Implicit feedback (Hu, Koren & Volinsky 2008; MLlib's ``implicitPrefs=True``): every
    other-side entity counts, with preference 1 where ``e`` interacted (``r > 0``) and 0
    elsewhere, and confidence ``1 + alpha * |r|`` (1 where it did not). With ``gram`` =
    ``F^T F`` over all of ``other`` (computed once, on the driver), ``e`` solves
    ``(gram + sum_j alpha |r_j| F_j F_j^T + reg * n_e * I) x_e = sum_{r_j > 0}
    (1 + alpha r_j) F_j``, ``n_e`` its interactions with ``r > 0`` (MLlib's weighting), so
    a solve costs ``e``'s interactions, not the catalogue. The loss is the weighted
    squared error over every pair of ``e``: ``x^T gram x`` less the interactions' plain
    squares plus their weighted ones.

    The loss comes in the same round (the convergence trace costs no extra round).
    Blocks of the other partitioning contribute nothing.

    Parameters
    ----------
    other : ndarray of shape (n_other, rank)
    gram : ndarray of shape (rank, rank), required with ``alpha``
    """
    rank = other.shape[1]
    if alpha is not None and gram is None:
        raise ValueError("implicit feedback needs gram = other.T @ other")
    X = block.X
    if X.shape[0] == 0 or X[0, SIDE] != side:
        return empty_solution(rank)
    train = X[:, TEST] == 0.0
    own_col, other_col = (USER, ITEM) if side == BY_USER else (ITEM, USER)
    ids = X[train, own_col].astype(np.int64)
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    F = other[X[train, other_col].astype(np.int64)[order]]
    r = ratings_of(block)[train][order]
    if ids.size == 0:
        return empty_solution(rank)
    uniq, starts, counts = np.unique(ids, return_index=True, return_counts=True)
    if alpha is None:
        weight, target, n_reg = None, r, counts
    else:
        weight = alpha * np.abs(r)  # confidence - 1
        target = np.where(r > 0, 1.0 + weight, 0.0)  # confidence * preference
        n_reg = np.add.reduceat((r > 0).astype(np.float64), starts)
    b = np.add.reduceat(F * target[:, None], starts, axis=0)
    A = _outer_sums(F, starts, weight)
    if gram is not None and alpha is not None:
        A += gram
    A += (reg * n_reg)[:, None, None] * np.eye(rank)
    solved = np.linalg.solve(A, b[..., None])[..., 0]
    score = np.einsum("nk,nk->n", np.repeat(solved, counts, axis=0), F)
    if alpha is None or gram is None:
        err = score - r
        return uniq, solved, float(err @ err), int(r.size)
    pref = (r > 0).astype(np.float64)
    everywhere = float(np.einsum("nk,kl,nl->", solved, gram, solved))  # every pair, weight 1
    confidence = 1.0 + alpha * np.abs(r)
    observed = float((confidence * (pref - score) ** 2 - score**2).sum())
    return uniq, solved, everywhere + observed, int(r.size)


def _outer_sums(F: np.ndarray, starts: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
    """Per entity (rows ``starts[e]:starts[e+1]`` of ``F``), the sum of ``w F_j F_j^T``;
    ``weight`` None: ``w = 1``. Shape (n_entities, rank, rank)."""
    n, rank = F.shape
    A = np.empty((starts.size, rank, rank))
    W = F if weight is None else F * weight[:, None]
    lo = 0
    while lo < starts.size:  # entity ranges of at most CHUNK_ROWS rows (at least one entity)
        hi = max(lo + 1, int(np.searchsorted(starts, starts[lo] + CHUNK_ROWS)))
        s, e = starts[lo], (starts[hi] if hi < starts.size else n)
        outer = W[s:e, :, None] * F[s:e, None, :]
        A[lo:hi] = np.add.reduceat(outer, starts[lo:hi] - s, axis=0)
        lo = hi
    return A


def concat_solutions(a: tuple, b: tuple) -> tuple[np.ndarray, np.ndarray, float, int]:
    return np.concatenate([a[0], b[0]]), np.vstack([a[1], b[1]]), a[2] + b[2], a[3] + b[3]


def ratings_extent(block: Block) -> tuple[int, int, int, int, bool]:
    """(max user id, max item id, training ratings, held-out ratings, finite) on the user side."""
    X = block.X
    if X.shape[0] == 0:
        return -1, -1, 0, 0, True
    finite = bool(np.isfinite(X).all() and np.isfinite(ratings_of(block)).all())
    mine = X[:, SIDE] == BY_USER
    test = int((X[mine, TEST] != 0.0).sum())
    return (
        int(X[:, USER].max()),
        int(X[:, ITEM].max()),
        int(mine.sum()) - test,
        test,
        finite,
    )


def merge_extent(a: tuple, b: tuple) -> tuple:
    return max(a[0], b[0]), max(a[1], b[1]), a[2] + b[2], a[3] + b[3], a[4] and b[4]


def squared_error(
    block: Block,
    U: np.ndarray,
    V: np.ndarray,
    held_out: bool,
    known: tuple,
    implicit: bool = False,
) -> tuple[float, int]:
    """(sum of squared errors, count) over the user-side copy's training or held-out rows.

    ``known`` = (users, items) masks of entities with training ratings: a held-out rating
    of a user or item never seen in training is dropped (MLlib's coldStartStrategy="drop").
    ``implicit``: the error of the predicted preference (1 where the value is > 0, else 0),
    not of the value.
    """
    X = block.X
    if X.shape[0] == 0 or X[0, SIDE] != BY_USER:
        return 0.0, 0
    u, i = X[:, USER].astype(np.int64), X[:, ITEM].astype(np.int64)
    rows = ((X[:, TEST] != 0.0) == held_out) & known[0][u] & known[1][i]
    u, i = u[rows], i[rows]
    target = ratings_of(block)[rows]
    if implicit:
        target = (target > 0).astype(np.float64)
    err = np.einsum("nk,nk->n", U[u], V[i]) - target
    return float(err @ err), int(rows.sum())


def objective_terms(
    block: Block,
    U: np.ndarray,
    V: np.ndarray,
    reg: float,
    alpha: float | None = None,
    gram: np.ndarray | None = None,
) -> tuple[float, int, int]:
    """(the objective's share of this block, its users with training ratings, its training
    ratings), on the user-side copy's training rows; factors ``U`` (n_users, rank), ``V``
    (n_items, rank).

    Explicit (``alpha`` None): the squared error of the ratings plus ``reg * (|U_u|^2 +
    |V_i|^2)`` per rating, which sums to ALS-WR's ``reg * (sum_u n_u |U_u|^2 + sum_i n_i
    |V_i|^2)`` over all blocks. Implicit (``gram`` = ``V^T V`` over every item): the
    confidence-weighted squared error over *every* pair of this block's users,
    ``sum_u U_u^T gram U_u`` (each pair at weight 1 and preference 0) corrected on the
    interactions, plus the same penalty over the interactions with a value > 0: the
    objective :func:`solve_side` minimises, at any factors (ours, or a native library's).
    """
    X = block.X
    if X.shape[0] == 0 or X[0, SIDE] != BY_USER:
        return 0.0, 0, 0
    train = X[:, TEST] == 0.0
    u, i = X[train, USER].astype(np.int64), X[train, ITEM].astype(np.int64)
    r = ratings_of(block)[train]
    users = np.unique(u)
    n_users = int(users.size)
    score = np.einsum("nk,nk->n", U[u], V[i])
    squares = np.einsum("nk,nk->n", U[u], U[u]) + np.einsum("nk,nk->n", V[i], V[i])
    if alpha is None:
        err = score - r
        return float(err @ err + reg * squares.sum()), n_users, int(r.size)
    if gram is None:
        raise ValueError("the implicit objective needs gram = V.T @ V")
    pref = (r > 0).astype(np.float64)
    everywhere = float(np.einsum("nk,kl,nl->", U[users], gram, U[users]))
    observed = float(((1.0 + alpha * np.abs(r)) * (pref - score) ** 2 - score**2).sum())
    return everywhere + observed + reg * float(squares @ pref), n_users, int(r.size)


def add_pairs(a: tuple, b: tuple) -> tuple:
    return a[0] + b[0], a[1] + b[1]


#: ``relevant`` for implicit feedback: any positive interaction (a value of 0 is no
#: preference, as in training).
ANY_INTERACTION = float(np.nextafter(0.0, 1.0))
#: The ranking metrics :func:`ranking_sums` adds up, in its order.
RANKING_METRICS = ("precision", "recall", "ndcg", "map")


def ranking_sums(
    block: Block,
    U: np.ndarray | None,
    V: np.ndarray | None,
    k: int,
    relevant: float,
    known: tuple,
    popularity: np.ndarray | None = None,
) -> np.ndarray:
    """Sums over this user-side block's users of precision@k, recall@k, NDCG@k and
    AP@k (:data:`RANKING_METRICS`), then the number of users: shape (5,).

    A user counts when it has training interactions (``known[0]``) and a held-out one
    with value >= ``relevant`` (its relevant set ``R``; :data:`ANY_INTERACTION`: any
    positive value, as the implicit model's preference is). Recommended: the ``k`` items
    of highest score among those it has no training interaction with, scored by
    ``U[u] . V`` or, with ``popularity`` (shape (n_items,)), by popularity alone (the
    baseline: the same list for everyone). Binary gains: precision ``hits / k``, recall
    ``hits / |R|``, NDCG ``DCG / ideal DCG`` with ``1 / log2(position + 1)``, AP the mean
    over hits of the precision at each hit's position, divided by ``min(k, |R|)``.
    """
    out = np.zeros(len(RANKING_METRICS) + 1)
    X = block.X
    if X.shape[0] == 0 or X[0, SIDE] != BY_USER:
        return out
    order = np.argsort(X[:, USER], kind="stable")  # one user's rows together
    users = X[order, USER].astype(np.int64)
    items = X[order, ITEM].astype(np.int64)
    test = X[order, TEST] != 0.0
    liked = test & (ratings_of(block)[order] >= relevant) & known[0][users]
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    wanted = np.unique(users[liked])
    first = np.searchsorted(users, wanted, side="left")
    last = np.searchsorted(users, wanted, side="right")
    for u, lo, hi in zip(wanted.tolist(), first.tolist(), last.tolist(), strict=True):
        its, seen, relevant_items = items[lo:hi], ~test[lo:hi], liked[lo:hi]  # u's rows
        if popularity is not None:
            scores = popularity.astype(np.float64)  # a copy: this user's exclusions below
        else:
            scores = np.asarray(V) @ np.asarray(U)[u]
        scores[its[seen]] = -np.inf  # interacted with in training: not recommended
        top = _top(scores, k)
        out[-1] += 1.0
        if top.size == 0:  # nothing left to recommend: zero on every metric
            continue
        hit = np.isin(top, its[relevant_items])
        n_rel = int(np.unique(its[relevant_items]).size)
        ideal = discount[: min(k, n_rel)].sum()
        hits = np.cumsum(hit)
        precision_at = hits / np.arange(1, top.size + 1)
        out[:-1] += (
            hits[-1] / k,
            hits[-1] / n_rel,
            discount[: top.size][hit].sum() / ideal,
            precision_at[hit].sum() / min(k, n_rel),
        )
    return out


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest finite scores, best first, ties to the lower index
    (a popularity count ties often: the list must not depend on the sort's whims)."""
    if scores.size > k:
        kth = np.partition(scores, scores.size - k)[scores.size - k]  # the k-th largest
        candidates = np.flatnonzero(scores >= kth)
    else:
        candidates = np.arange(scores.size)
    top = candidates[np.argsort(-scores[candidates], kind="stable")][:k]
    return top[np.isfinite(scores[top])]


def add_arrays(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a + b


def interaction_counts(block: Block, n_items: int) -> np.ndarray:
    """Training interactions per item (value > 0) on the user-side copy: shape (n_items,)."""
    X = block.X
    if X.shape[0] == 0 or X[0, SIDE] != BY_USER:
        return np.zeros(n_items)
    rows = (X[:, TEST] == 0.0) & (ratings_of(block) > 0)
    return np.bincount(X[rows, ITEM].astype(np.int64), minlength=n_items).astype(np.float64)



def training_users(block: Block) -> np.ndarray:
    """Ids of the users with a training rating in this user-side block."""
    X = block.X
    if X.shape[0] == 0 or X[0, SIDE] != BY_USER:
        return np.empty(0, dtype=np.int64)
    return np.unique(X[X[:, TEST] == 0.0, USER].astype(np.int64))


def concat_arrays(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.concatenate([a, b])
