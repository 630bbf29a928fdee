"""Synthetic datasets generated per block from ``(seed, block index)``.

Each function builds one block; pass it (with ``functools.partial`` for its parameters)
to ``backend.generate`` so the rows are made on the workers. The same function feeds the
engine-native comparators, so every implementation sees bit-identical data.
"""

from __future__ import annotations

import numpy as np

from dmlbench.backends import Block


def shifted_block(i: int, *, make, offset: int) -> Block:
    """Block ``i + offset`` of ``make``: fresh rows of the same generator (held-out data)."""
    return make(i + offset)


def blob_centers(n_clusters: int, n_features: int, seed: int) -> np.ndarray:
    """The true centres of :func:`blobs_block`, shape (n_clusters, n_features)."""
    return np.random.default_rng([seed, 2**31]).uniform(-10, 10, size=(n_clusters, n_features))


def blobs_block(
    i: int,
    *,
    rows: int,
    n_features: int = 20,
    n_clusters: int = 8,
    spread: float = 1.0,
    seed: int = 0,
) -> Block:
    """Block ``i`` of Gaussian blobs, ``rows`` x ``n_features``; y = blob index.

    Centres are uniform in [-10, 10]^n_features; ``spread`` is each blob's standard
    deviation (large values overlap the blobs, so Lloyd needs many iterations).
    """
    rng = np.random.default_rng([seed, i])
    labels = rng.integers(0, n_clusters, size=rows)
    noise = spread * rng.standard_normal((rows, n_features))
    X = blob_centers(n_clusters, n_features, seed)[labels] + noise
    return Block(X, labels.astype(float))


def regression_block(
    i: int, *, rows: int, n_features: int = 20, noise: float = 1.0, seed: int = 0
) -> Block:
    """Block ``i`` of a linear model: X standard normal, y = X w + 3 + noise."""
    w = np.random.default_rng([seed, 2**31]).uniform(-5, 5, size=n_features)
    rng = np.random.default_rng([seed, i])
    X = rng.standard_normal((rows, n_features))
    return Block(X, X @ w + 3.0 + noise * rng.standard_normal(rows))


def classification_block(
    i: int, *, rows: int, n_features: int = 20, n_classes: int = 3, seed: int = 0
) -> Block:
    """Block ``i`` of a classification problem: y from a noisy linear softmax of X."""
    W = np.random.default_rng([seed, 2**31]).normal(size=(n_features, n_classes))
    rng = np.random.default_rng([seed, i])
    X = rng.standard_normal((rows, n_features))
    scores = X @ W + rng.gumbel(size=(rows, n_classes))
    return Block(X, scores.argmax(axis=1).astype(float))


def image_templates(n_classes: int, side: int, seed: int) -> np.ndarray:
    """Smooth class templates, shape (n_classes, side, side), values in [0, 1]."""
    rng = np.random.default_rng([seed, 2**31])
    coarse = rng.random((n_classes, 4, 4))
    idx = np.minimum((np.arange(side) * 4) // side, 3)
    return coarse[:, idx][:, :, idx]


def images_block(
    i: int, *, rows: int, n_features: int = 64, n_classes: int = 10, seed: int = 0
) -> Block:
    """Block ``i`` of image-like data: a class template, shifted by up to ``side // 10``
    pixels (at least one), its intensity scaled by 0.7–1.3, plus noise; images of
    ``side = sqrt(n_features)`` squared pixels (8x8 like digits, 28x28 like MNIST),
    flattened."""
    side = int(round(np.sqrt(n_features)))
    if side * side != n_features:
        raise ValueError(f"images need a square number of features; got {n_features}")
    rng = np.random.default_rng([seed, i])
    labels = rng.integers(0, n_classes, size=rows)
    images = image_templates(n_classes, side, seed)[labels]
    reach = max(1, side // 10)  # shifts of up to 1 pixel at 8x8, 2 at 28x28
    shifts = rng.integers(-reach, reach + 1, size=(rows, 2))
    for axis in (0, 1):
        for s in range(-reach, reach + 1):
            rows_s = shifts[:, axis] == s
            if s:
                images[rows_s] = np.roll(images[rows_s], s, axis=axis + 1)
    images = images * rng.uniform(0.7, 1.3, size=(rows, 1, 1))
    images += 0.3 * rng.standard_normal(images.shape)
    return Block(images.reshape(rows, n_features), labels.astype(float))


# -- strokes: 28x28 handwriting-like images, hard enough to separate the models ----------
#: Strokes in the pool the class templates are drawn from (classes share strokes: no
#: single pixel tells two classes apart).
N_STROKES = 14
STROKES_PER_CLASS = 3


def stroke_templates(n_classes: int, side: int, seed: int) -> np.ndarray:
    """Class templates, shape (n_classes, side, side) in [0, 1]: each class is
    :data:`STROKES_PER_CLASS` strokes (smooth curves through four random points, drawn
    with a soft pen) out of a shared pool of :data:`N_STROKES`."""
    rng = np.random.default_rng([seed, 2**31, 28])
    t = np.linspace(0.0, 1.0, 40)[:, None]
    pool = []
    for _ in range(N_STROKES):  # a cubic Bezier curve inside the middle 70 % of the canvas
        p0, p1, p2, p3 = rng.uniform(0.15, 0.85, size=(4, 2)) * (side - 1)
        pool.append(
            (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3
        )
    yy, xx = np.mgrid[0:side, 0:side]
    grid = np.column_stack([yy.ravel(), xx.ravel()]).astype(np.float64)
    pen = 0.9 + side / 40  # pixels
    templates = np.empty((n_classes, side * side))
    for c in range(n_classes):
        strokes = rng.choice(N_STROKES, STROKES_PER_CLASS, replace=False)
        points = np.vstack([pool[k] for k in strokes])
        d2 = ((grid[:, None, :] - points[None, :, :]) ** 2).sum(axis=2).min(axis=1)
        templates[c] = np.exp(-d2 / (2 * pen**2))
    return templates.reshape(n_classes, side, side)


def _smooth_field(rng: np.random.Generator, rows: int, side: int, coarse: int) -> np.ndarray:
    """Random smooth fields, shape (rows, side, side): a ``coarse`` x ``coarse`` grid of
    standard normals, bilinearly upsampled."""
    grid = rng.standard_normal((rows, coarse, coarse))
    at = np.linspace(0, coarse - 1, side)
    lo = np.minimum(at.astype(int), coarse - 2)
    w = at - lo
    rows_i = grid[:, lo] * (1 - w)[None, :, None] + grid[:, lo + 1] * w[None, :, None]
    return rows_i[:, :, lo] * (1 - w)[None, None, :] + rows_i[:, :, lo + 1] * w[None, None, :]


def _bilinear(images: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``images`` (rows, side, side) sampled at per-image coordinates ``y``, ``x`` (same
    shape), zero outside."""
    rows, side, _ = images.shape
    # a zero border: every neighbour outside the image reads 0, no masks needed
    padded = np.zeros((rows, side + 2, side + 2))
    padded[:, 1:-1, 1:-1] = images
    flat = padded.ravel()
    y = np.clip(y + 1.0, 0.0, side + 0.999)
    x = np.clip(x + 1.0, 0.0, side + 0.999)
    y0, x0 = y.astype(np.int64), x.astype(np.int64)
    wy, wx = y - y0, x - x0
    base = (np.arange(rows) * (side + 2) ** 2)[:, None, None] + y0 * (side + 2) + x0
    top = flat[base] * (1 - wx) + flat[base + 1] * wx
    bottom = flat[base + side + 2] * (1 - wx) + flat[base + side + 3] * wx
    return top * (1 - wy) + bottom * wy


def strokes_block(
    i: int, *, rows: int, n_features: int = 784, n_classes: int = 10, seed: int = 0
) -> Block:
    """Block ``i`` of handwriting-like images: a class's strokes
    (:func:`stroke_templates`), moved by a random affine map (rotation up to 15 degrees,
    scale 0.85-1.15, shift up to 3 pixels at 28x28) and an elastic deformation (a smooth
    random displacement of up to about 2 pixels), plus clutter (a stroke of another class,
    fainter, on half of the images), intensity scaling and pixel noise. Hard on purpose:
    a linear model cannot undo the deformations, an MLP partly, a convolutional net best;
    none is perfect. Images of ``side = sqrt(n_features)`` squared pixels, flattened."""
    side = int(round(np.sqrt(n_features)))
    if side * side != n_features:
        raise ValueError(f"images need a square number of features; got {n_features}")
    rng = np.random.default_rng([seed, i, 28])
    labels = rng.integers(0, n_classes, size=rows)
    templates = stroke_templates(n_classes, side, seed)
    scale = side / 28.0
    angle = np.deg2rad(rng.uniform(-12, 12, rows))[:, None, None]
    zoom = rng.uniform(0.85, 1.15, rows)[:, None, None]
    shift = rng.uniform(-3, 3, size=(rows, 2, 1, 1)) * scale
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float64) - (side - 1) / 2
    # inverse map: where in the template each output pixel comes from
    src_y = (np.cos(angle) * yy - np.sin(angle) * xx) / zoom + (side - 1) / 2 - shift[:, 0]
    src_x = (np.sin(angle) * yy + np.cos(angle) * xx) / zoom + (side - 1) / 2 - shift[:, 1]
    src_y = src_y + 1.5 * scale * _smooth_field(rng, rows, side, 5)
    src_x = src_x + 1.5 * scale * _smooth_field(rng, rows, side, 5)
    images = _bilinear(templates[labels], src_y, src_x)
    other = (labels + rng.integers(1, n_classes, rows)) % n_classes
    clutter = rng.random(rows) < 0.4
    dy, dx = rng.uniform(-6, 6, size=(2, rows, 1, 1)) * scale
    faint = (
        0.4
        * clutter[:, None, None]
        * _bilinear(templates[other], yy + (side - 1) / 2 + dy, xx + (side - 1) / 2 + dx)
    )
    images = np.maximum(images, faint) * rng.uniform(0.7, 1.3, size=(rows, 1, 1))
    images += 0.2 * rng.standard_normal(images.shape)
    return Block(images.reshape(rows, n_features), labels.astype(float))


# -- ratings (e-commerce): user-item interactions from latent factors --------------------
RATINGS_PER_USER = 40  # mean ratings per user; n_users = n_ratings // RATINGS_PER_USER


def _hash_uniform(seed: int, stream: int, u: np.ndarray, i: np.ndarray, n_items: int):
    """Uniform [0, 1) from (seed, stream, user, item) by SplitMix64: the same value on any
    block that asks, so user- and item-partitioned blocks agree on every rating."""
    with np.errstate(over="ignore"):
        x = (u.astype(np.uint64) * np.uint64(n_items) + i.astype(np.uint64)) ^ np.uint64(
            (seed * 0x9E3779B97F4A7C15 + stream * 0xD1B54A32D192ED03) % 2**64
        )
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) * 2.0**-53


def ratings_model(n_users: int, n_items: int, rank: int, seed: int):
    """(user factors, item factors, user activity, item popularity) of the generator."""
    rng = np.random.default_rng([seed, 2**31])
    P = rng.standard_normal((n_users, rank)) / rank**0.25
    Q = rng.standard_normal((n_items, rank)) / rank**0.25
    activity = rng.lognormal(0.0, 0.5, n_users)
    activity /= activity.mean()
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.9  # power law: item 0 the most popular
    return P, Q, activity, popularity / popularity.sum()


def ratings_block(
    i: int,
    *,
    rows: int,
    n_features: int = 1000,
    rank: int = 8,
    n_blocks: int = 8,
    held_out: float = 0.2,
    seed: int = 0,
) -> Block:
    """Block ``i`` of explicit 1–5 ratings (layout of :mod:`dmlbench.algorithms.als_kernels`).

    ``n_features`` items; ``rows * n_blocks / RATINGS_PER_USER`` users. User ``u`` rates
    item ``j`` with probability ``min(1, RATINGS_PER_USER * activity_u * popularity_j)``
    (power-law popularity); the rating is ``3.2 + P_u . Q_j`` plus noise, rounded and
    clipped to 1..5; a ``held_out`` share is marked for testing. There are
    ``2 * n_blocks`` blocks: even block ``2 j`` holds the ``j``-th range of users, odd
    block ``2 j + 1`` the ``j``-th range of items (ranges of equal expected ratings, as
    popular items have many), so a worker's contiguous blocks hold both kinds and both
    half-steps of ALS use every worker. Every rating is decided by a hash of (seed, user,
    item), so the two partitionings agree without ever meeting.
    """
    n_items = n_features
    n_users = max(1, rows * n_blocks // RATINGS_PER_USER)
    P, Q, activity, popularity = ratings_model(n_users, n_items, rank, seed)
    by_item, j = i % 2 == 1, i // 2
    if by_item:
        expected = np.cumsum(np.minimum(1.0, RATINGS_PER_USER * popularity))
        cuts = np.searchsorted(expected / expected[-1], np.arange(1, n_blocks) / n_blocks)
        bounds = np.concatenate([[0], cuts, [n_items]])
        lo, hi = int(bounds[j]), int(bounds[j + 1])
    else:
        lo, hi = n_users * j // n_blocks, n_users * (j + 1) // n_blocks
    if by_item:
        user_grid, item_grid = np.meshgrid(np.arange(n_users), np.arange(lo, hi), indexing="xy")
    else:
        item_grid, user_grid = np.meshgrid(np.arange(n_items), np.arange(lo, hi), indexing="xy")
    u, it = user_grid.ravel(), item_grid.ravel()
    p = np.minimum(1.0, RATINGS_PER_USER * activity[u] * popularity[it])
    keep = _hash_uniform(seed, 1, u, it, n_items) < p
    u, it = u[keep], it[keep]
    a, b = _hash_uniform(seed, 2, u, it, n_items), _hash_uniform(seed, 3, u, it, n_items)
    noise = np.sqrt(-2.0 * np.log1p(-a)) * np.cos(2 * np.pi * b)  # Box–Muller
    score = 3.2 + np.einsum("nk,nk->n", P[u], Q[it]) + 0.5 * noise
    rating = np.clip(np.round(score), 1.0, 5.0)
    test = (_hash_uniform(seed, 4, u, it, n_items) < held_out).astype(np.float64)
    X = np.column_stack([u, it, test, np.full(u.size, float(by_item))]).astype(np.float64)
    return Block(X, rating)


# -- interactions (e-commerce, implicit): views, carts, purchases from users' tastes -------
INTERACTIONS_PER_USER = 40  # mean interactions per user; n_users = n_interactions // this
#: Interaction strengths (a view, an add to cart, a purchase) and how often each happens.
STRENGTHS = np.array([1.0, 3.0, 5.0])
STRENGTH_SHARES = np.array([0.75, 0.17, 0.08])
#: Of a user's interactions, the share drawn from its own tastes (the rest: what is popular).
TASTE_SHARE = 0.7


def interactions_model(n_users: int, n_items: int, rank: int, seed: int):
    """The generator's latent structure: ``rank`` taste segments.

    Returns
    -------
    segments : ndarray of shape (n_users, 2), int
        Each user's two tastes (segments), the first its main one.
    main_weight : ndarray of shape (n_users,)
        The share of a user's taste-driven interactions drawn from its main segment.
    activity : ndarray of shape (n_users,)
        Relative number of interactions (lognormal, mean 1).
    cdfs : ndarray of shape (rank + 1, n_items)
        Cumulative item distributions: one per segment (items it likes, each weighted by
        a power law of its own), and the last one, popularity over everyone.
    """
    rng = np.random.default_rng([seed, 2**31, 7])
    segments = rng.integers(0, rank, size=(n_users, 2))
    main_weight = rng.uniform(0.6, 1.0, n_users)
    activity = rng.lognormal(0.0, 0.5, n_users)
    activity /= activity.mean()
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.9  # item 0 the most popular
    likes = rng.random((rank, n_items)) < 0.08  # each segment likes about 8 % of the items
    likes[np.arange(rank), rng.integers(0, n_items, rank)] = True  # at least one
    # each segment's own favourites: the power law's weights in an order of its own
    taste = likes * rng.permuted(np.tile(popularity, (rank, 1)), axis=1)
    weights = np.vstack([taste, popularity])
    cdfs = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    cdfs[:, -1] = 1.0
    return segments, main_weight, activity, cdfs


def _user_chunk_interactions(j, n_users, n_items, n_blocks, rank, held_out, seed, model):
    """(users, items, strengths, held-out) of the ``j``-th user range, in user order.

    A user draws ``Poisson(INTERACTIONS_PER_USER * activity)`` interactions, each from
    one of its tastes (:data:`TASTE_SHARE`) or from popularity; an item drawn twice is
    one interaction, the strongest. Decided by a generator seeded with (seed, j) alone,
    so any block can rebuild the range: O(interactions) work.
    """
    segments, main_weight, activity, cdfs = model
    lo, hi = n_users * j // n_blocks, n_users * (j + 1) // n_blocks
    rng = np.random.default_rng([seed, 11, j])
    users = np.arange(lo, hi)
    counts = rng.poisson(INTERACTIONS_PER_USER * activity[lo:hi])
    u = np.repeat(users, counts)
    from_taste = rng.random(u.size) < TASTE_SHARE
    main = rng.random(u.size) < main_weight[u]
    segment = np.where(main, segments[u, 0], segments[u, 1])
    which = np.where(from_taste, segment, rank)  # row of cdfs: a taste, or popularity
    draw = rng.random(u.size)
    items = np.empty(u.size, dtype=np.int64)
    for row in np.unique(which):
        pick = which == row
        items[pick] = np.searchsorted(cdfs[row], draw[pick], side="right")
    np.minimum(items, n_items - 1, out=items)
    strength = rng.choice(STRENGTHS, size=u.size, p=STRENGTH_SHARES)
    # One interaction per (user, item): the strongest.
    order = np.lexsort((-strength, items, u))
    u, items, strength = u[order], items[order], strength[order]
    first = np.ones(u.size, dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (items[1:] != items[:-1])
    u, items, strength = u[first], items[first], strength[first]
    test = rng.random(u.size) < held_out
    return u, items, strength, test


def interactions_block(
    i: int,
    *,
    rows: int,
    n_features: int = 1000,
    rank: int = 8,
    n_blocks: int = 8,
    held_out: float = 0.2,
    seed: int = 0,
) -> Block:
    """Block ``i`` of implicit feedback (views 1, carts 3, purchases 5), in the ratings
    layout of :mod:`dmlbench.algorithms.als_kernels`.

    ``n_features`` items; ``rows * n_blocks / INTERACTIONS_PER_USER`` users, each with
    two of ``rank`` taste segments (:func:`interactions_model`): most of a user's
    interactions are items its tastes like, the rest what is popular (power law), so a
    recommender that learns tastes beats one that recommends the popular. A
    ``held_out`` share is marked for testing. Even block ``2 j`` holds the ``j``-th range
    of users; odd block ``2 j + 1`` the ``j``-th range of items (ranges of about equal
    interactions). A user block costs its own interactions; an item block rebuilds every
    user range and keeps its items (the two partitionings agree by construction).
    """
    n_items = n_features
    n_users = max(n_blocks, rows * n_blocks // INTERACTIONS_PER_USER)
    model = interactions_model(n_users, n_items, rank, seed)
    by_item, j = i % 2 == 1, i // 2
    args = (n_users, n_items, n_blocks, rank, held_out, seed, model)
    if not by_item:
        u, it, strength, test = _user_chunk_interactions(j, *args)
    else:
        segments, main_weight, activity, cdfs = model
        # each segment's share of the taste-driven draws, weighted by activity
        shares = np.bincount(segments[:, 0], weights=activity * main_weight, minlength=rank)
        shares += np.bincount(segments[:, 1], weights=activity * (1 - main_weight), minlength=rank)
        shares = shares / shares.sum()
        expected = TASTE_SHARE * shares @ np.diff(cdfs[:rank], prepend=0.0, axis=1)
        expected += (1 - TASTE_SHARE) * np.diff(cdfs[rank], prepend=0.0)
        cuts = np.searchsorted(np.cumsum(expected), np.arange(1, n_blocks) / n_blocks)
        bounds = np.concatenate([[0], cuts, [n_items]])
        lo, hi = int(bounds[j]), int(bounds[j + 1])
        parts = [_user_chunk_interactions(c, *args) for c in range(n_blocks)]
        u, it, strength, test = (np.concatenate(col) for col in zip(*parts, strict=True))
        keep = (it >= lo) & (it < hi)
        u, it, strength, test = u[keep], it[keep], strength[keep], test[keep]
        order = np.argsort(it, kind="stable")
        u, it, strength, test = u[order], it[order], strength[order], test[order]
    X = np.column_stack([u, it, test, np.full(u.size, float(by_item))]).astype(np.float64)
    return Block(X, strength)


#: Columns of :func:`customers_block`: one row per user of the interactions generator.
CUSTOMER_COLUMNS = (
    "log_interactions",  # log(1 + number of interactions)
    "mean_strength",  # views 1, carts 3, purchases 5
    "strength_std",
    "mainstream_share",  # share of interactions with the top 1 % most popular items
    "niche_index",  # mean log popularity rank of the items interacted with
    "purchase_share",  # share of interactions that are purchases
)


def customers_block(
    i: int, *, rows: int, n_features: int = 1000, rank: int = 8, n_blocks: int = 8, seed: int = 0
) -> Block:
    """Block ``i`` of per-user features (:data:`CUSTOMER_COLUMNS`) for segmentation.

    ``rows`` users per block, summarised from their interactions in
    :func:`interactions_block` (same seed and layout: the same users and interactions;
    time linear in them); ``n_features`` is the number of items there. A user with no
    interaction has NaN features (left to the preprocessing).
    """
    block = interactions_block(
        2 * i,
        rows=rows * INTERACTIONS_PER_USER,
        n_features=n_features,
        rank=rank,
        n_blocks=n_blocks,
        held_out=0.0,
        seed=seed,
    )
    lo, size = rows * i, rows
    users = block.X[:, 0].astype(np.int64) - lo
    items, r = block.X[:, 1], block.y
    assert r is not None  # a ratings block always carries its ratings

    def per_user(values: np.ndarray) -> np.ndarray:
        return np.bincount(users, weights=values, minlength=size)

    count = per_user(np.ones_like(r))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = per_user(r) / count
        std = np.sqrt(np.maximum(per_user(r * r) / count - mean**2, 0.0))
        top = per_user((items < max(1, n_features // 100)).astype(np.float64)) / count
        niche = per_user(np.log1p(items)) / count
        bought = per_user((r >= STRENGTHS[-1]).astype(np.float64)) / count
    X = np.column_stack([np.log1p(count), mean, std, top, niche, bought])
    return Block(X, None)


# -- credit risk: a credit-card-default table ---------------------------------------------
#: Columns of :func:`credit_block`, as in the UCI "default of credit card clients" data.
CREDIT_COLUMNS = (
    "LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE",
    "PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6",
    "BILL_AMT1", "BILL_AMT2", "BILL_AMT3", "BILL_AMT4", "BILL_AMT5", "BILL_AMT6",
    "PAY_AMT1", "PAY_AMT2", "PAY_AMT3", "PAY_AMT4", "PAY_AMT5", "PAY_AMT6",
)  # fmt: skip
CREDIT_CATEGORICAL = (1, 2, 3)  # SEX, EDUCATION, MARRIAGE
CREDIT_NUMERIC = tuple(c for c in range(len(CREDIT_COLUMNS)) if c not in CREDIT_CATEGORICAL)
CREDIT_MISSING = {"AGE": 0.03, "EDUCATION": 0.02, "LIMIT_BAL": 0.01, "BILL_AMT1": 0.02}
CREDIT_OUTLIERS = 0.005  # share of bill and payment amounts multiplied by 10 to 50


def credit_table(rng: np.random.Generator, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X raw with NaN and outliers, default next month 0/1, next month's bill in NT$ 1000).

    One latent risk factor drives education, limit, repayment status, utilisation and
    payments, so the columns correlate as in the real data (about 22 % default; limits
    of NT$ 10k to 1M; status -2 = no use, -1 = paid duly, 0 = revolving, k = k months late).
    """
    risk = rng.standard_normal(rows)
    sex = np.where(rng.random(rows) < 0.6, 2.0, 1.0)  # 1 male, 2 female
    edu_score = -0.5 * risk + rng.standard_normal(rows)
    education = np.select(
        [edu_score > 0.4, edu_score > -0.9, edu_score > -2.0], [1.0, 2.0, 3.0], 4.0
    )  # 1 graduate school, 2 university, 3 high school, 4 others
    age = np.clip(np.round(21 + rng.gamma(3.0, 4.8, rows)), 21, 79)
    marriage = np.where(
        rng.random(rows) < 0.013,
        3.0,
        np.where(rng.random(rows) < 0.2 + 0.015 * (age - 21), 1.0, 2.0),
    )  # 1 married, 2 single, 3 others
    log_limit = (
        11.7
        - 0.45 * risk
        - 0.25 * (education - 2)
        + 0.012 * (age - 35)
        + 0.5 * rng.standard_normal(rows)
    )
    limit = np.clip(np.round(np.exp(log_limit), -4), 10_000, 1_000_000)
    # repayment status over 6 months, most recent first (PAY_0), an AR(1) of the risk
    state = 0.8 * risk + 0.6 * rng.standard_normal(rows)
    latent = np.empty((rows, 6))
    for t in range(5, -1, -1):
        state = 0.7 * state + 0.35 * risk + 0.5 * rng.standard_normal(rows)
        latent[:, t] = state
    status = np.select(
        [latent < -1.3, latent < -0.4, latent < 0.8],
        [-2.0, -1.0, 0.0],
        np.minimum(np.floor(latent - 0.8) + 1.0, 8.0),
    )
    utilisation = 1 / (
        1 + np.exp(-(0.6 * risk[:, None] - 0.3 + 0.8 * rng.standard_normal((rows, 1))))
    )
    bill = utilisation * limit[:, None] * rng.uniform(0.85, 1.15, (rows, 6))
    bill = np.where(status == -2.0, 0.0, np.round(bill))
    share = 1 / (1 + np.exp(-(-1.0 * risk[:, None] - 1.0 + 0.7 * rng.standard_normal((rows, 6)))))
    share = np.where(status >= 1.0, 0.2 * share, share)
    payment = np.round(share * np.roll(bill, -1, axis=1))  # PAY_AMT_t pays BILL_AMT_{t+1}
    payment[:, 5] = np.round(share[:, 5] * bill[:, 5])
    logit = -1.75 + 1.0 * risk + 0.45 * np.maximum(status[:, 0], 0) + 0.15 * (education == 3)
    default = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.float64)
    next_bill = (
        np.maximum(
            0.0,
            0.9 * bill[:, 0]
            + 0.3 * (bill[:, 0] - bill[:, 1])
            - 0.8 * payment[:, 0]
            + 0.05 * limit * rng.standard_normal(rows),
        )
        / 1000.0
    )
    X = np.column_stack([limit, sex, education, marriage, age, status, bill, payment])
    for name, share_missing in CREDIT_MISSING.items():
        col = CREDIT_COLUMNS.index(name)
        X[rng.random(rows) < share_missing, col] = np.nan
    amounts = X[:, 11:23]  # a view: outliers land in X
    outlier = rng.random(amounts.shape) < CREDIT_OUTLIERS
    amounts[outlier] *= rng.uniform(10, 50, outlier.sum())
    return X, default, next_bill


def credit_block(
    i: int, *, rows: int, n_features: int = 23, target: str = "default", seed: int = 0
) -> Block:
    """Block ``i`` of the raw credit table (:data:`CREDIT_COLUMNS`, NaN = missing).

    ``target="default"``: y = default next month (0/1); ``"bill"``: y = next month's bill
    in NT$ 1000. ``n_features`` must be 23 (the table's columns).
    """
    if n_features != len(CREDIT_COLUMNS):
        raise ValueError(f"the credit table has {len(CREDIT_COLUMNS)} columns; got {n_features}")
    X, default, next_bill = credit_table(np.random.default_rng([seed, i]), rows)
    return Block(X, default if target == "default" else next_bill)
