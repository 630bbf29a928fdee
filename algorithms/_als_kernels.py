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
    block: Block, other: np.ndarray, side: float, reg: float
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """(ids, factors, training SSE, ratings) of this block's entities on ``side``.

    Each entity ``e`` with training ratings ``r`` of other-side entities ``j`` solves
    ``(F_j^T F_j + reg * n_e * I) x_e = F_j^T r`` (ALS-WR's weighting, as in MLlib). The
    squared error of the solved factors on those ratings comes in the same round (the
    convergence trace costs no extra round). Blocks of the other partitioning contribute
    nothing.
    """
    rank = other.shape[1]
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
    b = np.add.reduceat(F * r[:, None], starts, axis=0)
    A = np.empty((uniq.size, rank, rank))
    lo = 0
    while lo < uniq.size:  # entity ranges of at most CHUNK_ROWS ratings (at least one entity)
        hi = max(lo + 1, int(np.searchsorted(starts, starts[lo] + CHUNK_ROWS)))
        s, e = starts[lo], (starts[hi] if hi < uniq.size else ids.size)
        outer = F[s:e, :, None] * F[s:e, None, :]
        A[lo:hi] = np.add.reduceat(outer, starts[lo:hi] - s, axis=0)
        lo = hi
    A += (reg * counts)[:, None, None] * np.eye(rank)
    solved = np.linalg.solve(A, b[..., None])[..., 0]
    err = np.einsum("nk,nk->n", np.repeat(solved, counts, axis=0), F) - r
    return uniq, solved, float(err @ err), int(r.size)


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
    block: Block, U: np.ndarray, V: np.ndarray, held_out: bool, known: tuple
) -> tuple[float, int]:
    """(sum of squared errors, count) over the user-side copy's training or held-out rows.

    ``known`` = (users, items) masks of entities with training ratings: a held-out rating
    of a user or item never seen in training is dropped (MLlib's coldStartStrategy="drop").
    """
    X = block.X
    if X.shape[0] == 0 or X[0, SIDE] != BY_USER:
        return 0.0, 0
    u, i = X[:, USER].astype(np.int64), X[:, ITEM].astype(np.int64)
    rows = ((X[:, TEST] != 0.0) == held_out) & known[0][u] & known[1][i]
    u, i = u[rows], i[rows]
    err = np.einsum("nk,nk->n", U[u], V[i]) - ratings_of(block)[rows]
    return float(err @ err), int(rows.sum())


def precision_at_k(
    block: Block, U: np.ndarray, V: np.ndarray, k: int, relevant: float, known: tuple
) -> tuple[int, int]:
    """(hits, users) for precision@k on held-out ratings >= ``relevant``.

    For each user of this user-side block with training ratings (``known[0]``) and a
    relevant held-out rating: the top ``k`` items by predicted score among those not rated
    in training; a hit is a recommended item the user rated ``relevant`` or more in the
    held-out set.
    """
    X = block.X
    if X.shape[0] == 0 or X[0, SIDE] != BY_USER:
        return 0, 0
    users = X[:, USER].astype(np.int64)
    items = X[:, ITEM].astype(np.int64)
    test = X[:, TEST] != 0.0
    liked = test & (ratings_of(block) >= relevant) & known[0][users]
    hits = counted = 0
    for u in np.unique(users[liked]):
        mine = users == u
        scores = V @ U[u]
        scores[items[mine & ~test]] = -np.inf  # already rated in training
        top = np.argpartition(-scores, k)[:k] if scores.size > k else np.arange(scores.size)
        hits += int(np.isin(top, items[mine & liked]).sum())
        counted += 1
    return hits, counted


def add_pairs(a: tuple, b: tuple) -> tuple:
    return a[0] + b[0], a[1] + b[1]
