"""The resources an engine gets, sized from the cases it will run: one rule, in one place.

The runner starts one engine per (backend, n_workers) group; :func:`engine_options` turns
the group's cases and the user's options into the adapter's options. Today only Spark needs
it: its default 1 GB driver heap (in ``local[n]`` the executors ARE the driver JVM) cannot
hold a 4M x 20 cached DataFrame, and a cache that spills or drops partitions is re-read or
rebuilt inside the timed fit. Both implementations of a group (ours and the native) get the
same engine, so the same memory.

The rule (:func:`spark_heap_bytes`)::

    data  = n_samples x (n_features + 1) x 8 bytes      (float64 rows and their label)
    heap  = 300 MiB + CACHE_FACTOR x data / (0.6 x 0.5)
    heap  = min(max(1 GiB, heap), MACHINE_SHARE x this machine's memory)

300 MiB is Spark's reserved memory; 0.6 is ``spark.memory.fraction`` (the unified region)
and 0.5 ``spark.memory.storageFraction`` (the part of it execution cannot evict cached
blocks from), so the cached input fits in the storage Spark guarantees.
``CACHE_FACTOR`` is measured: a cached DataFrame of dense vectors and a double label,
400,000 x 20, takes 87.0 MB in Spark's Storage info for 64.1 MB of float64 rows (1.36);
MLlib's cached ``RDD[Vector]`` of the same rows 74.8 MB (1.17). Spark 4.x, this machine.
The natives suite's 4M x 20 gets a 3.45 GB heap: 0.94 GB of guaranteed storage (1.88 GB
when no fit runs) for its 0.91 GB cached DataFrame.

Users override any of it: ``dmlbench run ... --spark-conf spark.driver.memory=8g``
(repeated for more keys); what is in effect is read back from the running engine into each
record's ``backend_info.settings``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from typing import Any

from dmlbench.backends.registry import RunFlag
from dmlbench.suites.define.spec import Case, SuiteError

#: Spark's reserved heap (``RESERVED_SYSTEM_MEMORY_BYTES``), outside its unified region.
SPARK_RESERVED = 300 * 2**20
#: ``spark.memory.fraction`` x ``spark.memory.storageFraction`` (Spark's defaults): the
#: share of the rest that cached blocks keep however much execution memory a fit takes.
SPARK_STORAGE_SHARE = 0.6 * 0.5
#: Bytes Spark's cache takes per byte of float64 rows (measured 1.36 for a DataFrame of
#: dense vectors, 1.17 for an ``RDD[Vector]``; rounded up for a margin).
CACHE_FACTOR = 1.4
#: Never below Spark's own default.
MIN_HEAP = 2**30
#: At most this share of the machine: the Python workers hold our copy of the data too.
MACHINE_SHARE = 0.5


def dataset_bytes(n_samples: int, n_features: int, copies: int = 1) -> int:
    """Bytes of ``copies`` copies of a case's rows as float64 (features and one label)."""
    return n_samples * (n_features + 1) * 8 * copies


def machine_memory() -> int:
    """This machine's physical memory, in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def spark_heap_bytes(n_samples: int, n_features: int, *, total: int | None = None) -> int:
    """The JVM heap that holds a case's rows cached by Spark (see the module's rule).

    Parameters
    ----------
    n_samples, n_features : int
        The largest case the engine will run.
    total : int, optional
        The machine's memory in bytes (default: :func:`machine_memory`).

    Returns
    -------
    int
        Heap size in bytes, a whole number of MiB.
    """
    cached = CACHE_FACTOR * dataset_bytes(n_samples, n_features)
    need = SPARK_RESERVED + cached / SPARK_STORAGE_SHARE
    cap = MACHINE_SHARE * (machine_memory() if total is None else total)
    heap = min(max(MIN_HEAP, need), max(MIN_HEAP, cap))
    return math.ceil(heap / 2**20) * 2**20


def spark_options(cases: list[Case], options: dict[str, Any], total: int | None = None) -> dict:
    """The Spark adapter's options for ``cases``: memory sized by the rule, then the user's
    ``conf`` on top (the user always wins)."""
    largest = max(cases, key=lambda c: dataset_bytes(c.n_samples, c.n_features))
    heap = f"{spark_heap_bytes(largest.n_samples, largest.n_features, total=total) // 2**20}m"
    sized = {"spark.driver.memory": heap}
    address = options.get("address") or ""
    if address.startswith("spark://"):
        # A standalone cluster's executors hold the cache; each gets what one JVM needs
        # for the whole case (a cluster of one executor must still fit it). local-cluster
        # URLs carry their own executor memory, which a larger setting would exceed.
        sized["spark.executor.memory"] = heap
    return {**options, "conf": {**sized, **(options.get("conf") or {})}}


#: Backends whose resources are sized from their cases; the others get the user's options.
SIZERS: dict[str, Callable[[list[Case], dict[str, Any]], dict]] = {"spark": spark_options}


def engine_options(backend: str, cases: list[Case], options: dict[str, Any]) -> dict[str, Any]:
    """The adapter options for the engine that runs ``cases`` (one (backend, n_workers)
    group): the user's ``options`` with the backend's resources sized from the cases."""
    sizer = SIZERS.get(backend)
    return sizer(cases, options) if sizer and cases else dict(options)


def parse_conf(pairs: Iterable[str], flag: RunFlag) -> dict[str, str]:
    """``["KEY=VALUE", ...]`` (a backend's settings flag, such as ``--spark-conf``,
    repeated) as a dict; a later key wins.

    Parameters
    ----------
    pairs : iterable of str
        The flag's values, in the order given.
    flag : RunFlag
        The flag (its registry entry's ``conf``), named by the error with its example.

    Raises
    ------
    SuiteError
        A pair without ``=`` or with an empty key.
    """
    conf: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SuiteError(
                f"{flag.flag} must be KEY=VALUE (such as {flag.example}); got {pair!r}"
            )
        conf[key.strip()] = value.strip()
    return conf
