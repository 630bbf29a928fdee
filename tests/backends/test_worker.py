"""What runs inside a worker process (``backends/_worker.py``), called in this process:
the worker loop's own rules, whatever engine ships it."""

import operator

from dmlbench.backends import RemoteError
from dmlbench.backends._worker import Call, run
from dmlbench.backends.conformance import indexed_block


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
