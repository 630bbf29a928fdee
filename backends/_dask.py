"""The ``dask`` backend: dask.distributed, in one of two patterns (``pattern=``).

``"resident"`` (default): blocks resident in each worker process; every verb is ONE
``Client.run`` broadcast. Each worker process keeps its blocks in a process-global dict
(``dmlbench.backends._worker.STORE``) and works on its contiguous range of blocks in a
single thread of its own, so the worker's event loop stays free (heartbeats and ``cancel``
get through while a long round computes). Measured here, a round is a few milliseconds,
against ~15 ms for ``client.map`` + ``gather`` over persisted futures and
~45 ms for a tree of reduce tasks: futures pay for the scheduler's task bookkeeping on
every round of an iterative learner, and that is not what we want to measure.

``"tasks"``: Dask's idiomatic pattern, through the scheduler (:class:`DaskTasksBackend`):
blocks are persisted futures placed on the workers in the same contiguous ranges, each
verb is ``client.map`` over them, broadcasts are ``client.scatter(broadcast=True)``.

Settings recorded by :meth:`info`: one thread per worker, BLAS threads pinned to 1 in the
nanny's pre-spawn environment, and ``MALLOC_TRIM_THRESHOLD_`` left unset (the nanny's
default of 65536 made numpy-heavy rounds ~2.8x slower on this kind of machine).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from functools import partial
from typing import Any

from dmlbench.backends import _worker
from dmlbench.backends._base import (
    INLINE_BROADCAST_BYTES,
    BaseBackend,
    host_of,
    host_port,
    travels_inline,
)
from dmlbench.backends._protocol import BackendError, BackendUnavailable
from dmlbench.backends._tasks import TaskPattern, check_pattern
from dmlbench.backends._worker import Call, Outcome, StoredHandle

#: The ways this adapter can run the verbs: ``pattern=`` of ``get_backend("dask")``.
PATTERNS = {
    "resident": "Client.run broadcast per verb; blocks resident in worker processes; "
    "pre-combined per worker in block order",
    "tasks": "client.map over persisted futures (one task per block) through the scheduler; "
    "one combine task per worker's contiguous range, ranges combined in order on the "
    "driver; broadcast via client.scatter(broadcast=True)",
}

PRE_SPAWN_ENVIRON = {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1}

_executor: ThreadPoolExecutor | None = None

#: Seconds to reach an existing scheduler. A scheduler answers in milliseconds; Dask's
#: own timeout does not bound the handshake, so a port held by something that accepts and
#: never speaks Dask would hold the run for good.
CONNECT_TIMEOUT_S = 15.0
#: The driver's connect timeout on the LocalCluster it owns (Dask's default: 30 s). A
#: call to a worker whose process died retries the dead loopback port until this runs
#: out, so a killed worker failed its case after 60 s (two calls); on loopback a live
#: worker answers at once. Set after the workers are spawned: theirs stays the default.
OWN_CLUSTER_CONNECT_TIMEOUT_S = 5.0


@contextmanager
def _no_orphans() -> Iterator[None]:
    """A ``LocalCluster`` interrupted while it starts (Ctrl-C) is closed here: it was never
    handed to us, and distributed's exit hook would close it at exit with a traceback."""
    from distributed.deploy.spec import SpecCluster

    instances = getattr(SpecCluster, "_instances", None)  # distributed's registry of them
    if instances is None:
        yield
        return
    before = set(instances)
    try:
        yield
    except BaseException:
        for cluster in set(instances) - before:
            with suppress(Exception):
                cluster.close(timeout=2)
            instances.discard(cluster)
        raise


def _connect(client_class: Any, address: str, seconds: float) -> Any:
    """``Client(address)``, or BackendError if it has not connected within ``seconds``
    (the attempt is left behind in a daemon thread: nothing can interrupt it)."""
    box: dict[str, Any] = {}
    done, abandoned = threading.Event(), threading.Event()

    def attempt() -> None:
        try:
            client = client_class(address, timeout=f"{seconds:g}s")
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc
        else:
            box["client"] = client
            if abandoned.is_set():  # connected after we gave up: not ours to keep
                with suppress(Exception):
                    client.close()
        done.set()

    threading.Thread(target=attempt, daemon=True, name="dmlbench-dask-connect").start()
    if not done.wait(seconds + 1.0):
        abandoned.set()
        raise BackendError(
            f"no Dask scheduler answered at {address} within {seconds:g} s (something "
            "else holds that port, or the scheduler is stuck)"
        )
    if "error" in box:
        raise box["error"]
    return box["client"]


#: A call whose last run on this worker (the same op, dataset and function) took less
#: than this runs on the worker's event loop, as ``Client.run`` runs any function; a
#: longer one, or one not seen yet, on the worker's own thread, so that the loop stays
#: free for heartbeats and ``cancel``. The hop to the thread and back cost ~0.4-0.7 ms a
#: round here (measured, 600 interleaved rounds on 2 workers), a tenth of a round this
#: long at most.
LOOP_CALL_S = 0.005
#: :func:`_call_key` -> wall seconds of its last successful run's blocks on this worker.
_last_wall: dict[tuple, float] = {}


async def _on_worker(call: Call, workers: list[str], ranges: list[list[int]], dask_worker=None):
    """Worker side of every verb: this worker's share of ``call``, on the event loop when
    its last run was short (:data:`LOOP_CALL_S`), else off it (the hand-off to the thread
    and back is dmlbench's own time: timed from ``entered``); the outcome
    :func:`~dmlbench.backends._worker.packed`."""
    global _executor
    import cloudpickle

    entered = time.perf_counter()
    _worker.setup_process()
    if call.op == "cancel":  # must not queue behind the computation it cancels
        return _worker.packed(call, _worker.run(call, ()), cloudpickle.dumps)
    indices = ranges[workers.index(dask_worker.address)]
    key = _call_key(call)
    if _last_wall.get(key, LOOP_CALL_S) < LOOP_CALL_S:
        outcome = _worker.run(call, indices, entered)
    else:
        if _executor is None:
            _executor = ThreadPoolExecutor(1, thread_name_prefix="dmlbench")
        loop = asyncio.get_running_loop()
        outcome = await loop.run_in_executor(_executor, _worker.run, call, indices, entered)
        outcome = _worker.own_until_now(outcome, entered)
    if len(_last_wall) > 4096:  # datasets come and go: forget the old ones
        _last_wall.clear()
    if outcome[0] == "ok":
        _last_wall[key] = outcome[2][1]  # its blocks' wall seconds (Cost.compute_s)
    else:  # failed or cancelled part way: its time says nothing of the next one's
        _last_wall.pop(key, None)
    return _worker.packed(call, outcome, cloudpickle.dumps)


def _call_key(call: Call) -> tuple:
    """What makes two calls alike in cost: the op, the dataset, the function (a
    ``partial``'s own function) and the kinds and shapes of the arguments."""
    fn = getattr(call.fn, "func", call.fn)
    shapes = tuple(getattr(a, "shape", type(a).__name__) for a in call.args)
    return (call.op, call.ds_id, getattr(fn, "__qualname__", ""), shapes)


def choose_workers(workers: list[dict[str, str]], n: int) -> list[str]:
    """``n`` worker addresses of ``workers`` (``{"address", "host"}``), the same ones
    every time: hosts in sorted order, one worker from each in turn (so 2 of a cluster of
    two hosts use both hosts), each host's workers by address. Returned sorted."""
    by_host: dict[str, list[str]] = {}
    for w in sorted(workers, key=lambda w: (w["host"], w["address"])):
        by_host.setdefault(w["host"], []).append(w["address"])
    order = [a for k in range(max(map(len, by_host.values()), default=0))
             for host in sorted(by_host) for a in by_host[host][k:k + 1]]  # fmt: skip
    return sorted(order[:n])


class DaskBackend(BaseBackend):
    """dask.distributed: a ``LocalCluster`` of worker processes, or an existing scheduler.

    Parameters
    ----------
    n_workers : int, optional
        Worker processes of one thread each (default 2). With ``address``: how many of
        the cluster's workers to use, chosen deterministically and spread across its hosts
        (:func:`choose_workers`; default all of them); more than it has raises
        BackendUnavailable.
    address : str, optional
        ``tcp://host:port`` of an existing scheduler; dmlbench must be installed on its
        workers.
    dashboard : bool, default=False
        Serve the dashboard on 127.0.0.1 (a free port).
    pattern : {"resident", "tasks"}, default="resident"
        How the verbs run (see :data:`PATTERNS`): ``"tasks"`` gives a
        :class:`DaskTasksBackend`, Dask's idiomatic pattern through its scheduler.
    """

    name = "dask"
    #: The values of ``pattern=`` (the first is the default).
    patterns: tuple[str, ...] = tuple(PATTERNS)

    def __new__(cls, *args: Any, **kwargs: Any) -> DaskBackend:
        # One adapter name, one lifecycle: the pattern only swaps the verbs' half.
        if cls is DaskBackend and kwargs.get("pattern") == "tasks":
            cls = DaskTasksBackend
        return super().__new__(cls)


    def __init__(
        self,
        n_workers: int | None = None,
        *,
        address: str | None = None,
        dashboard: bool = False,
        pattern: str = "resident",
    ):
        self.pattern = check_pattern(pattern, "dask", PATTERNS)
        super().__init__(2 if n_workers is None else n_workers)
        self.asked = None if n_workers is None else self.n_workers  # None: all (address)
        self.address = address
        self.cluster_workers: list[dict[str, str]] = []  # an existing cluster's, all
        self.dashboard = dashboard
        self._cluster: Any = None
        self._client: Any = None
        self._connect_timeout: Any = None  # the dask.config.set it holds on its own cluster
        self._workers: list[str] = []

    cluster_hint = "start its scheduler (`dask scheduler --host 127.0.0.1`) and workers"

    @classmethod
    def cluster_endpoints(cls, address: str) -> list[tuple[str, int]]:
        scheme, sep, rest = address.partition("://")
        if sep and scheme not in ("tcp", "tls"):
            return []  # inproc://, ucx://: not a TCP socket to try
        found = host_port(rest if sep else address, 8786)
        return [found] if found else []

    def _start(self) -> None:
        import dask
        from distributed import Client, LocalCluster

        if self.address:
            self._client = _connect(Client, self.address, CONNECT_TIMEOUT_S)
        else:
            environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
            environ.pop("MALLOC_TRIM_THRESHOLD_", None)
            environ.update(PRE_SPAWN_ENVIRON)
            with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}), _no_orphans():
                self._cluster = LocalCluster(
                    n_workers=self.n_workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address="127.0.0.1:8787" if self.dashboard else None,
                    # Without a dashboard the scheduler still serves /health and /metrics:
                    # on a free loopback port, not 8787 (another cluster's dashboard).
                    scheduler_kwargs=None
                    if self.dashboard
                    else {"dashboard_address": "127.0.0.1:0"},
                    silence_logs=logging.ERROR,
                )
            self._client = Client(self._cluster)
            self._client.wait_for_workers(self.n_workers)
            self._connect_timeout = dask.config.set(
                {"distributed.comm.timeouts.connect": f"{OWN_CLUSTER_CONNECT_TIMEOUT_S}s"}
            )
        info = self._client.scheduler_info(n_workers=-1)
        every = info["workers"]
        # The scheduler's own address (not the one dialled, which a tunnel makes
        # localhost): every worker has a route there to name itself by.
        self.towards = host_of(info.get("address") or self._client.scheduler.address)
        if not every:
            raise BackendError(
                f"the Dask scheduler at {self._client.scheduler.address} has no workers"
            )
        self.cluster_workers = [{"address": a, "host": w.get("host", "")}
                                for a, w in sorted(every.items())]  # fmt: skip
        wanted = len(every) if self.asked is None or not self.address else self.asked
        if wanted > len(every):
            raise BackendUnavailable(
                f"the Dask cluster at {self._client.scheduler.address} has {len(every)} "
                f"worker(s); the case asks for {wanted}"
            )
        self._workers = choose_workers(self.cluster_workers, wanted)
        self.n_workers = len(self._workers)

    def _close(self) -> None:
        if self._client is not None:
            if self.address:  # an existing cluster outlives us: leave it clean
                try:
                    self._run_checked(
                        Call("free", drop=tuple(self._live)), [[]] * len(self._workers)
                    )
                except Exception:  # noqa: BLE001 - closing must not fail on a dying cluster
                    pass
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        if self._connect_timeout is not None:  # the process's own setting again
            self._connect_timeout.__exit__(None, None, None)
        self._client = self._cluster = self._connect_timeout = None

    def _n_slots(self) -> int:
        return len(self._workers)

    def _run(self, call: Call, ranges: list[list[int]]) -> list[Outcome]:
        try:
            out = self._client.run(_on_worker, call, self._workers, ranges, workers=self._workers)
            return [_worker.unpacked(out[w]) for w in self._workers]
        except Exception as exc:
            raise BackendError(f"Dask failed running {call.op!r}: {exc}") from exc

    def _run_each(self, calls: list[Call]) -> None:
        for worker, call in zip(self._workers, calls, strict=True):
            outcomes = self._client.run(_on_worker, call, [worker], [[]], workers=[worker])
            status, payload, _ = _worker.unpacked(outcomes[worker])
            if status == "err":
                raise payload

    def _broadcast(self, value: Any) -> Any:
        if travels_inline(value):
            return value  # one copy per worker per call, inside the call itself
        key = self._new_id()
        self._run_checked(Call("broadcast", key, args=(value,)), [[]] * len(self._workers))
        handle = StoredHandle(key)
        # When the driver drops the handle, the workers drop the value with the next call.
        weakref.finalize(handle, self._pending_drop.append, key)
        return handle

    def _cancel(self, generation: str) -> None:
        self._client.run(_on_worker, Call("cancel", generation=generation), self._workers, [])

    def _bare_round(self, ds: Any) -> Any:
        """``Client.run`` of a no-op on the same workers (its result a dict of ``None``)."""
        return partial(self._client.run, _worker.noop, workers=self._workers)

    def native(self) -> Any:
        """The engine's own handle: the ``distributed.Client`` of this backend's cluster."""
        self._require_started()
        return self._client

    def _info(self) -> dict[str, Any]:
        import dask
        import distributed

        return {
            "engine": "dask.distributed",
            "version": distributed.__version__,
            "dask_version": dask.__version__,
            "address": self._client.scheduler.address,
            # the workers this case ran on, by address and host (a subset of an existing
            # cluster's, or all of its own)
            "workers": [w for w in self.cluster_workers if w["address"] in self._workers],
            "pattern": self.pattern,
            "pattern_detail": PATTERNS[self.pattern],
            "settings": {
                "pattern": self.pattern,
                "processes": True,
                "threads_per_worker": 1,
                "pre_spawn_environ": PRE_SPAWN_ENVIRON,
                "MALLOC_TRIM_THRESHOLD_": "unset",
                "dashboard": self.dashboard,
                "existing_cluster": bool(self.address),
                "cluster_workers": len(self.cluster_workers),
                "driver_connect_timeout_s": None
                if self.address
                else OWN_CLUSTER_CONNECT_TIMEOUT_S,
                **self._pattern_settings(),
            },
        }

    def _pattern_settings(self) -> dict[str, Any]:
        return {"inline_broadcast_bytes": INLINE_BROADCAST_BYTES}


class DaskTasksBackend(TaskPattern, DaskBackend):
    """The ``"tasks"`` pattern of the ``dask`` backend: ``get_backend("dask", pattern="tasks")``.

    Blocks are persisted futures built by ``client.map(..., workers=[w])`` on the worker
    ``w`` of their contiguous range (so strong scaling holds the same placement as the
    resident pattern); the other verbs' tasks are placed by the scheduler, which puts a
    task next to its block. Lifecycle, cluster settings and ``n_workers`` are
    :class:`DaskBackend`'s.
    """

    def _submit_each(self, func: Any, arg_tuples: Any, *, slot: int | None = None) -> list[Any]:
        # Explicit keys: no tokenising of the arguments (blocks, models) on every round.
        base = f"{func.__name__}-{self._new_id()}"
        return self._client.map(
            func,
            *zip(*arg_tuples, strict=True),
            key=[f"{base}-{j}" for j in range(len(arg_tuples))],
            workers=None if slot is None else [self._workers[slot]],
        )

    def _submit_one(self, func: Any, *args: Any) -> Any:
        return self._client.submit(func, *args, key=f"{func.__name__}-{self._new_id()}")

    def _put_each(self, values: list[Any], slot: int) -> list[Any]:
        return self._client.scatter(values, workers=[self._workers[slot]], hash=False)

    def _fetch(self, refs: list[Any]) -> list[Any]:
        return self._client.gather(refs)

    def _cancel_refs(self, refs: list[Any]) -> None:
        self._client.cancel(refs)

    def _release(self, refs: list[Any]) -> None:
        for future in refs:
            future.release()

    def _broadcast(self, value: Any) -> Any:
        # hash=False: scattering an equal value twice with hashing lost dependencies
        # (ENGINE_NOTES); the future travels among a task's arguments, Dask resolves it.
        return self._client.scatter(value, broadcast=True, hash=False)

    def _pattern_settings(self) -> dict[str, Any]:
        return {
            "placement": "generate/from_blocks pinned to each worker's contiguous block "
            "range; map/aggregate tasks placed by the scheduler (data locality)",
            "broadcast": "client.scatter(broadcast=True, hash=False)",
        }
