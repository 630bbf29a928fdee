"""What runs inside a worker process (``backends/_worker.py``), called in this process:
the worker loop's own rules, whatever engine ships it."""

import operator

from dmlbench.backends import RemoteError
from dmlbench.backends._worker import Call, run
from dmlbench.backends.conformance import block_index_list, indexed_block


def test_unpicklable_exception_still_reaches_the_driver():
    class Local(Exception):  # defined in a function: cannot be pickled
        pass

    def boom(block):
        raise Local("cannot travel")

    status, exc, cost = run(
        Call("aggregate", "x", ("generate", indexed_block), boom, operator.add), [0]
    )
    # Block 0 of "x" was not resident: built from its recipe (Cost's first field).
    assert cost[0] == 1
    assert status == "err" and isinstance(exc, RemoteError)
    assert "Local: cannot travel" in str(exc)


def test_the_outcome_counts_dmlbenchs_own_time_from_the_entry_point():
    """Own seconds: from ``entered`` (when the engine handed over the call) to the return,
    less the loop over the blocks; a hand-off before ``run`` (Dask's thread) counts."""
    import time

    from dmlbench.backends._worker import own_until_now

    call = Call("aggregate", "own-test", ("generate", indexed_block), block_index_list, operator.add)
    status, _, cost = run(call, [0, 1])
    assert status == "ok" and len(cost) == 6 and 0.0 <= cost[5] < 0.04, cost
    entered = time.perf_counter() - 0.05  # a hand-off of 50 ms before run() started
    *_, cost = run(call, [0, 1], entered)
    assert 0.05 <= cost[5] < 0.05 + 0.04, cost  # (the bound: a loaded machine's slack)
    time.sleep(0.02)  # the way back to the engine, after run() returned
    *_, later = own_until_now((status, None, cost), entered)
    assert later[:5] == cost[:5] and later[5] >= cost[5] + 0.02, later


def thread_name(block):
    """The name of the thread a block function runs in, as a one-item list."""
    import threading

    return [threading.current_thread().name]


def slow_thread_name(block):
    """:func:`thread_name`, after longer than a call may take on Dask's event loop."""
    import time

    from dmlbench.backends._dask import LOOP_CALL_S

    time.sleep(LOOP_CALL_S)
    return thread_name(block)


def test_dask_runs_a_short_call_on_the_event_loop_and_a_long_one_off_it(backend):
    """A call not seen before runs on the worker's own thread (it may be long); one
    whose last run was short runs on the event loop; a long one stays on the thread."""
    import pytest

    from dmlbench.backends.conformance import indexed_block

    if backend.name != "dask" or getattr(backend, "pattern", "") != "resident":
        pytest.skip("Dask's resident pattern only")
    ds = backend.generate(indexed_block, 2)
    try:
        first, second = (backend.aggregate(ds, thread_name, operator.add) for _ in range(2))
        slow = [backend.aggregate(ds, slow_thread_name, operator.add) for _ in range(2)]
    finally:
        backend.free(ds)
    assert all(name.startswith("dmlbench") for name in first), first
    assert not any(name.startswith("dmlbench") for name in second), second
    assert all(name.startswith("dmlbench") for s in slow for name in s), slow


def test_ray_releases_a_broadcast_once_its_handle_is_dropped(backend):
    """A round's call travels to Ray's actors pickled, its broadcasts' object refs beside
    it as Ray arguments: Ray counts them, so a dropped handle's object is released (a ref
    pickled into the bytes would be held until Ray shuts down)."""
    import gc

    import numpy as np
    import pytest

    from dmlbench.backends.conformance import indexed_block

    if backend.name != "ray" or getattr(backend, "pattern", "") != "resident":
        pytest.skip("Ray's resident pattern only")

    def scaled_sum(block, factor):  # local: travels by value (Ray's workers lack tests/)
        return float(block.X.sum() * factor.sum())

    ray = backend.native()
    counts = ray._private.worker.global_worker.core_worker.get_all_reference_counts
    ds = backend.generate(indexed_block, 2)
    try:
        handle = backend.broadcast(np.full(1000, 2.0))
        object_id = handle.ref.hex().encode()  # how Ray's counts name it
        total = backend.aggregate(ds, scaled_sum, operator.add, handle)
        expected = backend.aggregate(ds, scaled_sum, operator.add, np.full(1000, 2.0))
        assert total == expected
        assert object_id in counts(), "the broadcast is counted"
        del handle
        gc.collect()
        assert object_id not in counts(), "still held after the drop"
    finally:
        backend.free(ds)
