"""One protocol, four engines: ``local`` (in-process oracle), ``dask``, ``spark``, ``ray``.

>>> from dmlbench.backends import Block, get_backend
>>> with get_backend("local") as be:                      # doctest: +SKIP
...     ds = be.generate(make_block, 8)
...     total = be.aggregate(ds, lambda b: b.X.sum(), operator.add)

:class:`Backend` is the contract (its docstrings document the verbs); any object that
satisfies it can be handed to the algorithms. Engines are imported only inside their
adapter, when a backend is started. :func:`check_int` is the one "integer >= 1" rule.

The public surface is this namespace and three modules: :mod:`~dmlbench.backends.registry`
(the table of backends: a new backend is its adapter plus one entry there),
:mod:`~dmlbench.backends.rounds` (a fit's time split by round, what ``record_rounds``
returns) and :mod:`~dmlbench.backends.conformance` (the checks every adapter passes).
Modules whose name starts with ``_`` are the adapters' own: no other package imports
them (``tests/test_package.py`` checks it). :data:`SLOWDOWN_ENV` names the test-only
setting that slows every block function down (the environment record notes it).
"""

from dmlbench.backends._base import block_ranges
from dmlbench.backends._checks import check_int, is_int_at_least
from dmlbench.backends._protocol import (
    Backend,
    BackendError,
    BackendUnavailable,
    Block,
    Cancelled,
    Dataset,
    RemoteError,
)
from dmlbench.backends._worker import SLOWDOWN_ENV, block_index
from dmlbench.backends.registry import (
    available_backends,
    backend_names,
    get_backend,
    max_workers,
    patterns,
)

__all__ = [
    "SLOWDOWN_ENV",
    "Backend",
    "BackendError",
    "BackendUnavailable",
    "Block",
    "Cancelled",
    "Dataset",
    "RemoteError",
    "available_backends",
    "backend_names",
    "block_index",
    "block_ranges",
    "check_int",
    "get_backend",
    "is_int_at_least",
    "max_workers",
    "patterns",
]
