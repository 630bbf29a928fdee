"""This machine's limits: memory bandwidth (a STREAM-triad-like numpy kernel on 1 and on
all cores) and one core's DGEMM GFLOP/s, what a case's achieved rates are a fraction of.

Measured by ``dmlbench doctor`` and stored in a per-machine cache file (a few seconds of
measuring, too long to repeat at every run); every run copies the cached figures into its
environment record, measuring them first if this machine has none. The run's own
``calibration`` kernel, timed at its start, says how the machine's speed that hour compares.

Why the kernels are written the way they are:

* **Triad** ``a = b + s * c`` over arrays of :data:`TRIAD_ELEMENTS` doubles (3 x 32 MB,
  beyond the 32 MB L3 of this project's machine), as numpy runs it without temporaries:
  ``t = s * c`` then ``a = b + t`` into preallocated arrays. Counted as the bytes numpy
  moves, 5 arrays of 8 bytes per element (read c, write t, read b and t, write a), not
  STREAM's 3: the figure is numpy's streaming rate, the limit a numpy kernel meets.
* **All cores** run the same triad at once, one process each (spawned, so no engine or
  BLAS pool is inherited), started together by a barrier; the machine's bandwidth is the
  sum of their rates.
* **DGEMM** is a 1024 x 1024 matrix product on one BLAS thread (2 n^3 flops).
* Each limit is the **best** of its repeats after a warm-up: a limit is what the machine
  can do, and noise only ever slows a kernel down.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

#: Elements per triad array (32 MB each).
TRIAD_ELEMENTS = 4_000_000
#: Bytes numpy moves per triad element (see the module docstring).
TRIAD_BYTES_PER_ELEMENT = 5 * 8
#: Timed repeats of each kernel, after one warm-up.
REPEATS = 5
#: The DGEMM's matrix order.
DGEMM_N = 1024
#: Where the measured limits are cached, unless DMLBENCH_CACHE_DIR names another folder.
CACHE_ENV = "DMLBENCH_CACHE_DIR"


def triad_gbs(repeats: int = REPEATS, barrier: Any = None) -> float:
    """One process's best triad rate, GB/s (10^9 bytes), on one BLAS thread.

    Parameters
    ----------
    repeats : int
        Timed passes after one warm-up.
    barrier : multiprocessing.Barrier, optional
        Waited on before every pass, so that processes measuring together stream together.
    """
    import numpy as np

    rng = np.random.default_rng(0)
    b, c = rng.random(TRIAD_ELEMENTS), rng.random(TRIAD_ELEMENTS)
    a, t = np.empty_like(b), np.empty_like(b)
    best = float("inf")
    for i in range(repeats + 1):
        if barrier is not None:
            barrier.wait()
        t0 = time.perf_counter()
        np.multiply(c, 3.0, out=t)
        np.add(b, t, out=a)
        elapsed = time.perf_counter() - t0
        if i:  # the first pass is a warm-up (page faults on the fresh arrays)
            best = min(best, elapsed)
    return TRIAD_ELEMENTS * TRIAD_BYTES_PER_ELEMENT / best / 1e9


def _triad_in_child(barrier: Any, results: Any, repeats: int) -> None:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        results.put(triad_gbs(repeats, barrier))


def triad_all_cores_gbs(processes: int, repeats: int = REPEATS) -> float:
    """The machine's triad bandwidth, GB/s: ``processes`` triads at once, rates summed."""
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    procs = [
        ctx.Process(target=_triad_in_child, args=(barrier, results, repeats), daemon=True)
        for _ in range(processes)
    ]
    for p in procs:
        p.start()
    try:
        rates = [results.get(timeout=120) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
    return sum(rates)


def dgemm_gflops(repeats: int = REPEATS, n: int = DGEMM_N) -> float:
    """One BLAS thread's best n x n matrix product rate, GFLOP/s (2 n^3 flops)."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a, b = rng.random((n, n)), rng.random((n, n))
    out = np.empty((n, n))
    best = float("inf")
    with threadpool_limits(limits=1):
        for i in range(repeats + 1):
            t0 = time.perf_counter()
            np.matmul(a, b, out=out)
            elapsed = time.perf_counter() - t0
            if i:
                best = min(best, elapsed)
    return 2 * n**3 / best / 1e9


def measure() -> dict[str, Any]:
    """This machine's limits, measured now (about 2-4 s).

    Returns
    -------
    dict
        ``triad_gbs`` (``{"1": GB/s on one core, "<cores>": on all}``), ``dgemm_gflops``
        (one core), ``cores``, ``machine`` (what the cache is keyed by), ``measured_at``
        (Unix time) and ``method``.
    """
    from threadpoolctl import threadpool_limits

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    with threadpool_limits(limits=1):
        one = triad_gbs()
    triad = {"1": one}
    if cores > 1:
        triad[str(cores)] = triad_all_cores_gbs(cores)
    return {
        "triad_gbs": triad,
        "dgemm_gflops": dgemm_gflops(),
        "cores": cores,
        "machine": machine_key(),
        "measured_at": time.time(),
        "method": f"numpy triad a = b + 3c over {TRIAD_ELEMENTS} doubles, "
        f"{TRIAD_BYTES_PER_ELEMENT} bytes counted per element; "
        f"{DGEMM_N}x{DGEMM_N} DGEMM on one BLAS thread; best of {REPEATS}",
    }


def machine_key() -> str:
    """What a cached measurement belongs to: host, CPU model, the cores this process may
    use, memory and the BLAS (another of any of them is another machine)."""
    import numpy  # noqa: F401 - their BLAS loaded, so every process reads the same key
    import psutil
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_info

    mem = round(psutil.virtual_memory().total / 2**30)
    model = platform.processor() or platform.machine()
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    blas = sorted(f"{p['internal_api']} {p.get('version')}" for p in threadpool_info()
                  if p.get("user_api") == "blas")  # fmt: skip
    return f"{platform.node()}|{model}|{cores} cores|{mem} GiB|{','.join(blas)}"


def cache_path() -> Path:
    """The cache file: ``$DMLBENCH_CACHE_DIR/limits.json``, else ``~/.cache/dmlbench/``."""
    base = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "dmlbench"
    return Path(base) / "limits.json"


def cached() -> dict[str, Any] | None:
    """The cached limits of this machine, or None (none cached, unreadable, or another
    machine's)."""
    try:
        limits = json.loads(cache_path().read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(limits, dict) or limits.get("machine") != machine_key():
        return None
    return limits


def store(limits: dict[str, Any]) -> Path:
    """Write ``limits`` to the cache (atomically: a reader never sees half a file)."""
    path = cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(limits, indent=1))
    tmp.replace(path)
    return path


def machine_limits() -> dict[str, Any]:
    """This machine's limits for a run's environment: cached, or measured and cached now;
    ``{"error": why}`` if they could not be measured (a run never fails for them)."""
    limits = cached()
    if limits is None:
        try:
            limits = measure()
        except Exception as exc:  # noqa: BLE001 - e.g. a triad process that never reported
            return {"error": f"not measured: {type(exc).__name__}: {exc}"}
        with suppress(OSError):  # a read-only home still gets its limits, measured each run
            store(limits)
    return limits
