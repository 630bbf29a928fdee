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
