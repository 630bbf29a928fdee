"""The conformance kit: checks every backend adapter must pass.

Each ``check_*`` takes a started backend and raises ``AssertionError`` (or the expected
exception's absence) on failure; ``tests/backends/test_conformance.py`` runs them all on every
installed backend. They live in the package, not in ``tests/``, because the functions
they ship to workers must be importable in every engine's worker processes.

A new adapter passes when ``pytest tests/backends/test_conformance.py`` passes for it.
"""

from __future__ import annotations

import operator
import os
import threading
import time
from functools import partial

import numpy as np

from dmlbench.backends._protocol import Backend, Block, Cancelled

N_FEATURES = 6


# -- functions shipped to the workers (module level: importable everywhere) -------------
def gaussian_block(i: int, *, seed: int = 0, sizes: tuple[int, ...] = (), rows: int = 500) -> Block:
    """Block ``i``: standard normal ``X`` of shape (rows_i, 6) and a linear ``y`` + noise.

    ``rows_i`` is ``sizes[i]`` when ``sizes`` is given (uneven and empty blocks), else
    ``rows + 7 * i`` (slightly uneven).
    """
    n = sizes[i] if sizes else rows + 7 * i
    rng = np.random.default_rng([seed, i])
    X = rng.standard_normal((n, N_FEATURES))
    y = X @ np.arange(1.0, N_FEATURES + 1) + 0.1 * rng.standard_normal(n)
    return Block(X, y)


def gram(block: Block) -> tuple[np.ndarray, np.ndarray, int]:
    """Partial normal equations: (XᵀX of shape (d, d), Xᵀy of shape (d,), n_samples)."""
    return block.X.T @ block.X, block.X.T @ block.y, block.n_samples


def add_gram(a: tuple, b: tuple) -> tuple:
    """Combine two :func:`gram` partials."""
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


def project(block: Block, w: np.ndarray) -> float:
    """sum(X @ w) over the block."""
    return float((block.X @ w).sum())


def scale(block: Block, factor: float) -> Block:
    """A new block with ``X * factor`` (never in place)."""
    return Block(block.X * factor, block.y)


def not_a_block(block: Block) -> np.ndarray:
    """A map function that breaks the contract (returns an array)."""
    return block.X


def block_index_list(block: Block) -> list[int]:
    """The block's index (first column of X holds it, see :func:`indexed_block`)."""
    return [int(block.X[0, 0])]


def indexed_block(i: int) -> Block:
    """A one-row block whose value is its own index."""
    return Block(np.full((1, 1), float(i)))


def process_id(block: Block, seconds: float = 0.0) -> frozenset[int]:
    """The pid of the process holding the block (after sleeping, so workers overlap)."""
    time.sleep(seconds)
    return frozenset({os.getpid()})


def union(a: frozenset, b: frozenset) -> frozenset:
    return a | b


def fail_on(block: Block, bad_index: int) -> int:
    """Raise on block ``bad_index`` (block index = rounded first value, see indexed_block)."""
    if int(block.X[0, 0]) == bad_index:
        raise ValueError(f"deliberate failure on block {bad_index}")
    return 1


def blocks_held(block: Block, ds_id: str) -> int:
    """How many blocks of dataset ``ds_id`` this worker process still holds."""
    from dmlbench.backends._worker import STORE

    return sum(1 for key in STORE if key[0] == ds_id)


def pulls_in(block: Block, module: str, other: str) -> bool:
    """In the worker process holding this block: does importing ``module`` load ``other``?"""
    import importlib
    import sys

    importlib.import_module(module)
    return other in sys.modules


def either(a: bool, b: bool) -> bool:
    return a or b


def sleep_then_count(block: Block, seconds: float) -> int:
    time.sleep(seconds)
    return 1


# -- the checks -------------------------------------------------------------------------
def _all(blocks: list[Block]) -> tuple[np.ndarray, np.ndarray]:
    return np.vstack([b.X for b in blocks]), np.concatenate([b.y for b in blocks])


def check_generate_bit_identical(be: Backend) -> None:
    """Blocks built on the workers equal, bit for bit, blocks built in this process."""
    make = partial(gaussian_block, seed=11)
    ds = be.generate(make, 8)
    got = be.collect(ds)
    assert len(got) == 8
    for i, block in enumerate(got):
        want = make(i)
        assert block.y is not None and want.y is not None, i
        assert np.array_equal(block.X, want.X) and np.array_equal(block.y, want.y), i
    assert ds.block_sizes == tuple(make(i).n_samples for i in range(8))
    be.free(ds)


def check_aggregate_matches_numpy(be: Backend) -> None:
    """XᵀX and Xᵀy aggregated over blocks equal numpy on the whole data (rel <= 1e-12)."""
    make = partial(gaussian_block, seed=1)
    ds = be.generate(make, 8)
    xtx, xty, n = be.aggregate(ds, gram, add_gram)
    X, y = _all([make(i) for i in range(8)])
    assert n == X.shape[0] == ds.n_samples
    np.testing.assert_allclose(xtx, X.T @ X, rtol=1e-12, atol=1e-12 * np.abs(X.T @ X).max())
    np.testing.assert_allclose(xty, X.T @ y, rtol=1e-12, atol=1e-12 * np.abs(X.T @ y).max())
    be.free(ds)


def check_combine_in_block_order(be: Backend) -> None:
    """A non-commutative combine sees blocks in order; float results repeat bit for bit."""
    ds = be.generate(indexed_block, 9)
    assert be.aggregate(ds, block_index_list, operator.add) == list(range(9))
    be.free(ds)
    ds = be.generate(partial(gaussian_block, seed=2), 8)
    first = be.aggregate(ds, gram, add_gram)
    for _ in range(3):
        again = be.aggregate(ds, gram, add_gram)
        assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    be.free(ds)


def check_broadcast(be: Backend) -> None:
    """A broadcast handle among the args arrives as its value, small or large (~2 MB)."""
    make = partial(gaussian_block, seed=3)
    ds = be.generate(make, 8)
    X, _ = _all([make(i) for i in range(8)])
    w = np.linspace(-1.0, 1.0, N_FEATURES)
    got = be.aggregate(ds, project, operator.add, be.broadcast(w))
    np.testing.assert_allclose(got, (X @ w).sum(), rtol=1e-12)
    large = np.arange(250_000, dtype=np.float64)
    handle = be.broadcast(large)
    for _ in range(2):  # a handle serves many calls
        assert be.aggregate(ds, _sum_arg, operator.add, handle) == 8 * float(large.sum())
    be.free(ds)


def _sum_arg(block: Block, value: np.ndarray) -> float:
    return float(value.sum())


def check_map_blocks(be: Backend) -> None:
    """map_blocks gives a resident dataset; chains work; the parent can be freed."""
    make = partial(gaussian_block, seed=4)
    ds = be.generate(make, 8)
    doubled = be.map_blocks(ds, scale, 2.0)
    sixfold = be.map_blocks(doubled, scale, 3.0)
    be.free(ds)
    got = be.collect(sixfold)
    for i, block in enumerate(got):
        np.testing.assert_array_equal(block.X, make(i).X * 6.0)
        np.testing.assert_array_equal(block.y, make(i).y)
    assert sixfold.block_sizes == doubled.block_sizes
    be.free(doubled)
    be.free(sixfold)


def check_map_blocks_must_return_block(be: Backend) -> None:
    ds = be.generate(indexed_block, 3)
    try:
        be.map_blocks(ds, not_a_block)  # type: ignore[arg-type]  # wrong on purpose
    except TypeError as exc:
        assert "must return a backends.Block" in str(exc), exc
    else:
        raise AssertionError("map_blocks accepted a function that returns an ndarray")
    be.free(ds)


def check_from_blocks(be: Backend) -> None:
    """Driver-side blocks go to the workers and come back in order."""
    blocks = [gaussian_block(i, seed=5, rows=30) for i in range(5)]
    ds = be.from_blocks(blocks)
    assert ds.block_sizes == tuple(b.n_samples for b in blocks)
    for got, want in zip(be.collect(ds), blocks, strict=True):
        np.testing.assert_array_equal(got.X, want.X)
    xtx, _, n = be.aggregate(ds, gram, add_gram)
    X, _ = _all(blocks)
    np.testing.assert_allclose(xtx, X.T @ X, rtol=1e-12)
    be.free(ds)


def check_uneven_and_empty_blocks(be: Backend) -> None:
    sizes = (0, 1, 50, 0, 17, 3, 0)
    make = partial(gaussian_block, seed=6, sizes=sizes)
    ds = be.generate(make, len(sizes))
    assert ds.block_sizes == sizes
    xtx, xty, n = be.aggregate(ds, gram, add_gram)
    X, y = _all([make(i) for i in range(len(sizes))])
    assert n == sum(sizes)
    np.testing.assert_allclose(xtx, X.T @ X, rtol=1e-12)
    assert [b.n_samples for b in be.collect(ds)] == list(sizes)
    be.free(ds)


def check_fewer_blocks_than_workers(be: Backend) -> None:
    make = partial(gaussian_block, seed=7)
    ds = be.generate(make, 1)
    xtx, _, n = be.aggregate(ds, gram, add_gram)
    assert n == make(0).n_samples
    np.testing.assert_allclose(xtx, make(0).X.T @ make(0).X, rtol=1e-12)
    be.free(ds)


def check_distinct_worker_processes(be: Backend) -> None:
    """n_workers means n distinct processes (other than the driver, for an engine)."""
    info = be.info()
    n = info["n_workers"]
    ds = be.generate(indexed_block, 2 * n)
    pids = be.aggregate(ds, process_id, union, 0.3)
    assert len(pids) == n, (pids, info)
    assert set(info["blas_threads_per_worker"]) == {1}, info
    if n > 1:
        assert os.getpid() not in pids
    be.free(ds)


def check_user_error_reaches_driver(be: Backend) -> None:
    """The original exception and message, the block index, and a backend still usable."""
    ds = be.generate(indexed_block, 8)
    try:
        be.aggregate(ds, fail_on, operator.add, 5)
    except ValueError as exc:
        assert "deliberate failure on block 5" in str(exc)
        assert any("block 5" in note for note in getattr(exc, "__notes__", [])), exc
    else:
        raise AssertionError("the user's ValueError did not reach the driver")
    assert be.aggregate(ds, fail_on, operator.add, -1) == 8
    be.free(ds)


def check_freed_dataset_is_refused(be: Backend) -> None:
    ds = be.generate(indexed_block, 2)
    be.free(ds)
    try:
        be.aggregate(ds, block_index_list, operator.add)
    except ValueError as exc:
        assert "was freed" in str(exc), exc
    else:
        raise AssertionError("a freed dataset was accepted")


def check_free_releases_worker_memory(be: Backend) -> None:
    """After free(ds), no worker that runs the next call holds a block of ds."""
    kept = be.generate(indexed_block, 4)
    gone = be.generate(partial(gaussian_block, seed=9), 4)
    # Positive control: a worker running a task of `gone` holds that block.
    assert be.aggregate(gone, blocks_held, operator.add, gone.id) >= 1
    be.free(gone)
    for _ in range(3):
        assert be.aggregate(kept, blocks_held, operator.add, gone.id) == 0
    be.free(kept)


def check_cancel(be: Backend) -> None:
    """cancel() from another thread stops a long call; the backend stays usable."""
    n_blocks, seconds = 8, 0.5
    ds = be.generate(indexed_block, n_blocks)
    full = n_blocks * seconds / be.info()["n_workers"]
    timer = threading.Timer(0.3, be.cancel)
    t0 = time.perf_counter()
    timer.start()
    try:
        be.aggregate(ds, sleep_then_count, operator.add, seconds)
    except Cancelled:
        elapsed = time.perf_counter() - t0
    else:
        raise AssertionError("cancel() did not stop the call")
    finally:
        timer.cancel()
    assert elapsed < full, (elapsed, full)
    # Usable afterwards, with the same dataset (rebuilt where the engine lost it).
    assert be.aggregate(ds, block_index_list, operator.add) == list(range(n_blocks))
    be.free(ds)


def check_listens_on_loopback_only(be: Backend) -> None:
    """Every listening socket of this process and its descendants (the engine's servers,
    workers, JVM) is bound to loopback. Needs psutil (the ``test`` extra)."""
    import ipaddress

    import psutil

    me = psutil.Process()
    exposed = []
    for proc in [me, *me.children(recursive=True)]:
        try:
            conns = proc.net_connections(kind="inet")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        for c in conns:
            if c.status != psutil.CONN_LISTEN:
                continue
            ip = ipaddress.ip_address(c.laddr.ip)
            ip = getattr(ip, "ipv4_mapped", None) or ip
            if not ip.is_loopback:
                exposed.append((proc.name(), c.laddr))
    assert not exposed, f"listening beyond loopback: {exposed}"


def index_of_block(block: Block) -> list[int]:
    """The index the worker reports for this block."""
    from dmlbench.backends import block_index

    return [block_index()]


def check_block_index(be: Backend) -> None:
    """Inside a verb's function, block_index() is the block's index."""
    ds = be.generate(indexed_block, 7)
    assert be.aggregate(ds, index_of_block, operator.add) == list(range(7))
    be.free(ds)


def check_block_hosts(be: Backend) -> None:
    """``block_hosts``: one host per block, after a round, the address of the worker that
    ran it (127.0.0.1 on this machine, where the conformance kit runs); ``""`` for every
    block where the engine places them itself (the tasks patterns)."""
    ds = be.generate(indexed_block, 5)
    be.aggregate(ds, index_of_block, operator.add)
    hosts = be.block_hosts(ds)
    assert len(hosts) == 5 and set(hosts) in ({"127.0.0.1"}, {""}), hosts
    be.free(ds)


def check_info(be: Backend) -> None:
    info = be.info()
    for key in ("engine", "version", "n_workers", "threads_per_worker", "address", "pattern"):
        assert key in info, (key, info)
    assert info["threads_per_worker"] == 1


def check_engine_alive(be: Backend) -> None:
    """A started backend's engine answers as alive without running a round, and the
    backend stays usable (an engine killed under it: ``tests/backends/test_worker_death.py``)."""
    with be.record_rounds() as log:
        t0 = time.perf_counter()
        assert be.engine_alive() is True
        seconds = time.perf_counter() - t0
    assert log.rounds == [], log.rounds
    assert seconds < 5.0, f"engine_alive took {seconds:.1f} s: it must be cheap"
    ds = be.generate(indexed_block, 2)
    assert be.aggregate(ds, block_index_list, operator.add) == [0, 1]
    be.free(ds)


def sleep_on_first(block: Block, seconds: float) -> int:
    """Sleep ``seconds`` on block 0 only (see :func:`indexed_block`): one straggler."""
    if int(block.X[0, 0]) == 0:
        time.sleep(seconds)
    return 1


def check_rounds_are_split(be: Backend) -> None:
    """``record_rounds`` records each round: one compute time per worker slot, measured
    by the workers themselves (a 0.2 s straggler shows as the slowest worker's compute and,
    with more than one worker, as imbalance), a wall at least the slowest worker's, and
    terms that sum to the time measured around the rounds; nothing outside the ``with``."""
    from dmlbench.backends.rounds import TERMS

    seconds, p = 0.2, be.info()["n_workers"]
    ds = be.generate(indexed_block, 2 * p)
    with be.record_rounds() as log:
        t0 = time.perf_counter()
        assert be.aggregate(ds, sleep_on_first, operator.add, seconds) == 2 * p
        fit_s = time.perf_counter() - t0
    be.aggregate(ds, sleep_on_first, operator.add, 0.0)  # after the with: not recorded
    (r,) = log.rounds
    # One compute time per worker slot (the tasks pattern: per worker process that ran a
    # task, at least one per slot).
    assert r.op == "aggregate" and len(r.compute_s) >= p and len(r.cpu_s) == len(r.compute_s), r
    assert all(c <= w + 1e-3 for c, w in zip(r.cpu_s, r.compute_s, strict=True)), r
    assert seconds <= r.max_compute_s <= r.max_finish_s <= r.wall_s <= fit_s, r
    split = log.split(fit_s)
    # dmlbench's own work in the round: measured, and milliseconds at most.
    assert 0.0 <= split["protocol_s"] < 0.25 * seconds, split
    assert abs(sum(split[t] for t in TERMS) - fit_s) < 1e-9, split
    assert split["rounds"] == 1 and split["bytes_back"] > 0, split
    # Which kernel ran is named, with its compute: what a kernel's achieved rate is from.
    assert r.fn == "sleep_on_first", r
    assert split["compute_by_fn"] == {"sleep_on_first": [1, sum(r.compute_s)]}, split
    if p == 1:
        assert split["imbalance_s"] == 0.0 and split["straggler"] == 1.0, split
    else:  # the other workers' compute is a few microseconds
        assert split["imbalance_s"] >= 0.9 * seconds * (1 - 1 / p), split
        assert split["straggler"] >= 0.9 * p, split
    with be.record_rounds() as log:
        be.free(be.map_blocks(ds, scale, 2.0))
    assert [x.op for x in log.rounds if x.op == "map"] == ["map"], log.rounds
    be.free(ds)


def check_bare_round(be: Backend) -> None:
    """The engine's bare round trip runs again and again, records no round of ours, and
    leaves the dataset as it was; a backend without an engine says so (NotImplementedError)."""
    ds = be.generate(partial(gaussian_block, seed=4), 6)
    want = be.aggregate(ds, gram, add_gram)
    try:  # an adapter's hook, not the protocol's: a third-party backend may lack it
        bare = getattr(be, "bare_round", None)
        if bare is None:
            raise NotImplementedError
        bare = bare(ds)
    except NotImplementedError:
        be.free(ds)
        return
    with be.record_rounds() as log:
        for _ in range(3):
            bare()
    assert log.rounds == [], log.rounds  # the engine's, none of ours
    got = be.aggregate(ds, gram, add_gram)
    assert all(np.array_equal(a, b) for a, b in zip(got[:2], want[:2], strict=True))
    be.free(ds)
    try:
        be.bare_round(ds)  # type: ignore[attr-defined]
    except ValueError as exc:
        assert "was freed" in str(exc), exc
    else:
        raise AssertionError("a bare round over a freed dataset was accepted")


CHECKS = [
    check_generate_bit_identical,
    check_aggregate_matches_numpy,
    check_combine_in_block_order,
    check_broadcast,
    check_map_blocks,
    check_map_blocks_must_return_block,
    check_from_blocks,
    check_uneven_and_empty_blocks,
    check_fewer_blocks_than_workers,
    check_distinct_worker_processes,
    check_user_error_reaches_driver,
    check_freed_dataset_is_refused,
    check_free_releases_worker_memory,
    check_cancel,
    check_listens_on_loopback_only,
    check_block_index,
    check_block_hosts,
    check_info,
    check_engine_alive,
    check_rounds_are_split,
    check_bare_round,
]
