"""One protocol, four engines: ``local`` (in-process oracle), ``dask``, ``spark``, ``ray``.

>>> from dmlbench.backends import Block, get_backend
>>> with get_backend("local") as be:                      # doctest: +SKIP
...     ds = be.generate(make_block, 8)
...     total = be.aggregate(ds, lambda b: b.X.sum(), operator.add)

:class:`Backend` is the contract (its docstrings document the verbs); any object that
satisfies it can be handed to the algorithms. Engines are imported only inside their
adapter, when a backend is started. :func:`check_int` is the one "integer >= 1" rule.
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
from dmlbench.backends._registry import (
    available_backends,
    backend_names,
    get_backend,
    max_workers,
    patterns,
)
from dmlbench.backends._worker import block_index

__all__ = [
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
