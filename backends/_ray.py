"""The ``ray`` backend, in one of two patterns (``pattern=``).

``"resident"`` (default): one actor per worker holds its blocks. ``n_workers`` actors,
each a process reserving one CPU, each holding a contiguous range of blocks in its memory;
a verb is one method call per actor and one ``ray.get``.
Measured here, a round is ~1-2 ms, against ~8-9 ms for tasks over object refs: tasks pay
for scheduling, and for fetching each block from the object store, on every round.

Actors are threaded (``max_concurrency=2``) so that ``cancel`` reaches an actor while it
computes; the driver never sends two computations to an actor at once. Broadcast values
go to the object store once (``ray.put``) and each actor reads them zero-copy.

``"tasks"``: Ray's idiomatic pattern (:class:`RayTasksBackend`): blocks are object refs
produced by ``@ray.remote(num_cpus=1)`` tasks, each verb is one task per block,
broadcasts are ``ray.put``; blocks are read zero-copy (read-only) from the object store.
"""

from __future__ import annotations

import functools
import io
import os
import pickle
import signal
import time
from typing import Any

from dmlbench.backends import _worker
from dmlbench.backends._base import (
    GRANT_TIMEOUT_S,
    BaseBackend,
    host_of,
    host_port,
    signal_handlers_kept,
    signal_interrupt,
)
from dmlbench.backends._protocol import BackendError, BackendUnavailable
from dmlbench.backends._tasks import TaskPattern, check_pattern
from dmlbench.backends._worker import (
    Call,
    Handle,
    Outcome,
    ValueHandle,
    local_address_towards,
)

#: The ways this adapter can run the verbs: ``pattern=`` of ``get_backend("ray")``.
PATTERNS = {
    "resident": "one threaded actor per worker holding its blocks; one method call per "
    "actor per verb; broadcast via ray.put",
    "tasks": "one @ray.remote(num_cpus=1) task per block over object refs; one combine task "
    "per contiguous block range, ranges combined in order on the driver; broadcast via "
    "ray.put",
}

# Worker-side functions run as Ray tasks in the "tasks" pattern.
_TASK_FUNCTIONS = (
    _worker.task_build,
    _worker.task_map,
    _worker.task_apply,
    _worker.task_combine,
    _worker.task_size,
    _worker.task_describe,
    _worker.task_noop,
)


def where() -> dict[str, Any]:
    """The node this process runs on: its address (``host``) and Ray node id."""
    import ray

    return {"host": ray.util.get_node_ip_address(),
            "node_id": ray.get_runtime_context().get_node_id()}  # fmt: skip


class BlockActor:
    """The actor's class (wrapped by ``ray.remote`` at start). Holds this worker's blocks."""

    def __init__(self) -> None:
        _worker.setup_process()

    def run(self, call: Call, indices: list[int]) -> Outcome:
        """``_worker.run``, arguments and outcome serialised by Ray: for calls that carry
        data (``"store"``), which Ray passes zero-copy through its object store."""
        return _worker.run(call, indices)

    def run_wire(self, wire: bytes, *values: Any) -> bytes | Outcome:
        """``_worker.run`` of one round's call on this actor's blocks, the call pickled
        by :func:`to_wire` (its broadcast values: ``values``, resolved by Ray from the
        refs passed beside it), the outcome
        :func:`~dmlbench.backends._worker.packed`."""
        from ray import cloudpickle

        entered = time.perf_counter()
        call_bytes, indices = pickle.loads(wire)
        call = _HandleUnpickler(io.BytesIO(call_bytes), values).load()
        return _worker.packed(call, _worker.run(call, indices, entered), cloudpickle.dumps)

    def where(self) -> dict[str, Any]:
        return where()

    def noop(self) -> None:
        """Nothing: the engine's bare round trip (``Backend.bare_round``)."""


def to_wire(call: Call, indices_per_actor: list[list[int]]) -> tuple[list[bytes], list[Any]]:
    """The arguments of :meth:`BlockActor.run_wire` for each actor: ``call`` pickled once
    (with Ray's cloudpickle: a function defined in a script travels by value) with that
    actor's block indices, and the object refs of the broadcasts it holds, passed beside
    it as Ray arguments (a ref pickled into bytes would never be released by Ray).

    Bytes, not the objects: Ray passes a bytes argument or result as it is, where a
    :class:`Call` and a list as two arguments, and an outcome tuple as the result, cost
    ~0.4 ms more per round on two actors here (measured, 600 interleaved rounds); the
    pickling is ~20 us.
    """
    refs: list[Any] = []
    buffer = io.BytesIO()
    _handle_pickler()(buffer, refs).dump(call)
    call_bytes = buffer.getvalue()
    wires = [pickle.dumps((call_bytes, r), protocol=pickle.HIGHEST_PROTOCOL)
             for r in indices_per_actor]  # fmt: skip
    return wires, refs


@functools.cache
def _handle_pickler() -> type:
    """Ray's CloudPickler that leaves each :class:`RayHandle` out of the bytes: its ref
    goes to a list, the bytes keep its place (``persistent_id``)."""
    from ray import cloudpickle

    class HandlePickler(cloudpickle.CloudPickler):
        def __init__(self, file: Any, refs: list[Any]) -> None:
            super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
            self.refs = refs

        def persistent_id(self, obj: Any) -> int | None:
            if isinstance(obj, RayHandle):
                self.refs.append(obj.ref)
                return len(self.refs) - 1
            return None

    return HandlePickler


class _HandleUnpickler(pickle.Unpickler):
    """Unpickles :func:`to_wire`'s call: each broadcast's place becomes a
    :class:`~dmlbench.backends._worker.ValueHandle` of the value Ray resolved."""

    def __init__(self, file: Any, values: tuple[Any, ...]) -> None:
        super().__init__(file)
        self.values = values

    def persistent_load(self, pid: Any) -> Any:
        return ValueHandle(self.values[pid])


def from_wire(results: list[Any]) -> list[Outcome]:
    """The outcomes :meth:`BlockActor.run_wire` returned."""
    return [_worker.unpacked(r) for r in results]


class RayHandle(Handle):
    """A broadcast value in Ray's object store."""

    def __init__(self, ref: Any) -> None:
        self.ref = ref

    def get(self) -> Any:
        import ray

        return ray.get(self.ref)


TOKEN_HELP = ("give the driver its token (RAY_AUTH_MODE=token and RAY_AUTH_TOKEN, or "
              "~/.ray/auth_token), or run every node and the driver with "
              "RAY_AUTH_MODE=disabled")  # fmt: skip


def _token_note() -> str:
    """Which token this process would send Ray, if any."""
    from pathlib import Path

    for var in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        if os.environ.get(var):
            return f"this driver sends the token from {var}"
    if (Path.home() / ".ray" / "auth_token").exists():
        return "this driver sends the token in ~/.ray/auth_token"
    return "this driver has no token"


def _is_loopback(address: str) -> bool:
    """Whether a Ray address (``ray://host:port``, ``host:port``) names this machine."""
    host = address.split("://")[-1].rsplit(":", 1)[0]
    return host in ("localhost", "::1", "[::1]") or host.startswith("127.")


class RayBackend(BaseBackend):
    """Ray: ``ray.init(num_cpus=n_workers)`` on this machine, or an existing cluster.

    Parameters
    ----------
    n_workers : int, default=2
        Actors (one process and one CPU each). With ``address``: that many one-CPU
        bundles of a placement group spread over the cluster's nodes (``SPREAD``),
        checked granted before the first case (not within :data:`GRANT_TIMEOUT_S`, or
        more than the cluster's CPUs: BackendUnavailable); the actors (or the tasks
        pattern's tasks) run in them, so a case uses n of the cluster's CPUs.
    address : str, optional
        ``host:6379`` of a cluster's head (this machine must run a Ray node of that
        cluster: ``ray start --address host:6379 --num-cpus 0``), ``ray://host:10001``
        (Ray Client) or ``"auto"``. This driver joins at its own address on the route to
        the head (loopback for a head on loopback). Ray 2.60 clusters use token
        authentication: the driver needs the cluster's token (or ``RAY_AUTH_MODE=disabled``
        on head and driver).
    dashboard : bool, default=False
        Start Ray's dashboard (on 127.0.0.1).
    pattern : {"resident", "tasks"}, default="resident"
        How the verbs run (see :data:`PATTERNS`): ``"tasks"`` gives a
        :class:`RayTasksBackend`, Ray tasks over object refs.
    """

    name = "ray"
    #: The values of ``pattern=`` (the first is the default).
    patterns: tuple[str, ...] = tuple(PATTERNS)

    def __new__(cls, *args: Any, **kwargs: Any) -> RayBackend:
        # One adapter name, one lifecycle: the pattern only swaps the verbs' half.
        if cls is RayBackend and kwargs.get("pattern") == "tasks":
            cls = RayTasksBackend
        return super().__new__(cls)

    def __init__(
        self,
        n_workers: int = 2,
        *,
        address: str | None = None,
        dashboard: bool = False,
        pattern: str = "resident",
    ):
        self.pattern = check_pattern(pattern, "ray", PATTERNS)
        super().__init__(n_workers)
        self.address = address
        self.dashboard = dashboard
        self._actors: list[Any] = []
        self._group: Any = None  # an existing cluster's placement group for this backend
        self._where: list[dict[str, Any]] = []  # per worker slot: its node's address, id
        self._ray: Any = None
        self._connected = False  # this backend's ray.init succeeded
        self._init_called = False  # this backend called ray.init (it may not have returned)

    cluster_hint = "start its head (`ray start --head --node-ip-address 127.0.0.1`)"

    @classmethod
    def cluster_endpoints(cls, address: str) -> list[tuple[str, int]]:
        if address in ("auto", "local"):
            return []  # found through RAY_ADDRESS or /tmp/ray: nothing to try here
        scheme, sep, rest = address.partition("://")
        found = host_port(rest if sep else address, 10001 if scheme == "ray" else 6379)
        return [found] if found else []

    def _start(self) -> None:
        if not self.address or _is_loopback(self.address):
            # Ray's switch for a single-machine runtime: every service binds to, and is
            # reached at, 127.0.0.1 (read when ray is first imported, so set before).
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        import ray

        self._ray = ray
        if ray.is_initialized():
            raise BackendError(
                "Ray is already initialised in this process; close the other Ray backend "
                "(or call ray.shutdown()) first"
            )
        env = {var: "1" for var in _worker.BLAS_ENV}
        options: dict[str, Any] = {
            "include_dashboard": self.dashboard,
            "log_to_driver": False,
            "runtime_env": {"env_vars": env},
            "configure_logging": True,
            "logging_level": "ERROR",
        }
        self._init_called = True
        # ray.init replaces the host's SIGTERM handler (with sys.exit(SIGTERM), and while
        # its node starts with one that exits 1): put the host's back, and report a SIGTERM
        # that one of Ray's ended the start with as the interrupt it is.
        with signal_handlers_kept(signal.SIGTERM):
            try:
                self._init(ray, options)
            except SystemExit as exc:
                raise signal_interrupt(signal.SIGTERM, "during ray.init") from exc
        self._connected = True
        # The head's host: every node has a route there to name itself by.
        self.towards = host_of(ray.get_runtime_context().gcs_address)
        self._start_workers(ray)

    def _init(self, ray: Any, options: dict[str, Any]) -> None:
        if self.address:
            # Ray Client (ray://) runs on the server's node; "auto" is found by Ray alone.
            driver = "" if self.address.startswith("ray://") else self._driver_address()
            if driver:
                options["_node_ip_address"] = driver
            try:
                ray.init(address=self.address, **options)
            except Exception as exc:
                if "AuthToken" in str(exc) or "Authentication" in type(exc).__name__:
                    raise BackendError(f"the Ray cluster at {self.address} uses token "
                                       f"authentication: {TOKEN_HELP}") from exc
                if isinstance(exc, ConnectionError):
                    # Ray says only that it could not connect (its log to stderr says
                    # InvalidAuthToken when that was why).
                    raise BackendError(f"{exc} ({_token_note()}: if the cluster uses token "
                                       f"authentication, {TOKEN_HELP})") from exc
                raise
        else:
            # address="local": always a new runtime, never one that a killed head left
            # behind in /tmp/ray/ray_current_cluster.
            ray.init(
                address="local", num_cpus=self.n_workers, dashboard_host="127.0.0.1", **options
            )

    def _driver_address(self) -> str:
        """The address this driver joins the cluster at: this machine's on the route to
        the head (Ray's own guess is the route to a public address, which a private
        network may not have)."""
        endpoints = self.cluster_endpoints(self.address or "")
        if not endpoints:
            return "127.0.0.1" if _is_loopback(self.address or "") else ""
        try:
            return local_address_towards(*endpoints[0])
        except OSError as exc:
            raise BackendError(f"no route from this machine to the Ray head {self.address} "
                               f"({exc})") from None  # fmt: skip

    def _reserve(self, ray: Any) -> list[Any]:
        """On an existing cluster, ``n_workers`` one-CPU bundles of a placement group
        spread over its nodes, granted (else BackendUnavailable): the scheduling strategy
        of each bundle, in order. On this backend's own runtime (exactly ``n_workers``
        CPUs), one SPREAD strategy per worker."""
        if not self.address:
            return ["SPREAD"] * self.n_workers
        from ray.util.placement_group import placement_group, remove_placement_group
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        cpus = ray.cluster_resources().get("CPU", 0)
        if cpus < self.n_workers:
            raise BackendUnavailable(f"the Ray cluster at {self.address} has {cpus:g} CPU(s); "
                                     f"the case asks for {self.n_workers}")  # fmt: skip
        self._group = placement_group([{"CPU": 1}] * self.n_workers, strategy="SPREAD")
        try:
            ray.get(self._group.ready(), timeout=GRANT_TIMEOUT_S)
        except ray.exceptions.GetTimeoutError:
            remove_placement_group(self._group)
            self._group = None
            free = ray.available_resources().get("CPU", 0)
            raise BackendUnavailable(
                f"the Ray cluster at {self.address} did not grant {self.n_workers} one-CPU "
                f"bundle(s) within {GRANT_TIMEOUT_S:g} s ({free:g} of its {cpus:g} CPUs "
                "free)"
            ) from None
        return [PlacementGroupSchedulingStrategy(self._group, placement_group_bundle_index=i)
                for i in range(self.n_workers)]  # fmt: skip

    def _start_workers(self, ray: Any) -> None:
        remote = ray.remote(num_cpus=1, max_concurrency=2)(BlockActor)
        self._actors = [remote.options(scheduling_strategy=strategy).remote()
                        for strategy in self._reserve(ray)]  # fmt: skip
        self._where = ray.get([a.where.remote() for a in self._actors])

    def _close(self) -> None:
        ray = self._ray
        if ray is None or not self._connected:
            if self._init_called:  # interrupted inside ray.init: what it started so far
                self._init_called = False
                ray.shutdown()
            return  # nothing of ours (and any ray.* call now would auto-start Ray)
        try:
            for actor in self._actors:
                ray.kill(actor)
            if self._group is not None:  # an existing cluster outlives us: its CPUs back
                from ray.util.placement_group import remove_placement_group

                remove_placement_group(self._group)
        finally:
            self._actors, self._group = [], None
            self._connected = False
            ray.shutdown()

    def _n_slots(self) -> int:
        return len(self._actors)

    def _run(self, call: Call, ranges: list[list[int]]) -> list[Outcome]:
        wires, values = to_wire(call, ranges)
        refs = [a.run_wire.remote(w, *values) for a, w in zip(self._actors, wires, strict=True)]
        try:
            return from_wire(self._ray.get(refs))
        except Exception as exc:
            raise BackendError(f"Ray failed running {call.op!r}: {exc}") from exc

    def _run_each(self, calls: list[Call]) -> None:
        for status, payload, _ in self._ray.get(
            [a.run.remote(c, []) for a, c in zip(self._actors, calls, strict=True)]
        ):
            if status == "err":
                raise payload

    def _broadcast(self, value: Any) -> Any:
        return RayHandle(self._ray.put(value))

    def _cancel(self, generation: str) -> None:
        wires, _ = to_wire(Call("cancel", generation=generation), [[]] * len(self._actors))
        self._ray.get([a.run_wire.remote(w) for a, w in zip(self._actors, wires, strict=True)])

    def _bare_round(self, ds: Any) -> Any:
        """A no-op method call on each actor, one ``ray.get``."""
        return lambda: self._ray.get([a.noop.remote() for a in self._actors])

    def native(self) -> Any:
        """The engine's own handle: the ``ray`` module, initialised and connected."""
        self._require_started()
        import ray

        return ray

    def _info(self) -> dict[str, Any]:
        ray = self._ray
        ctx = ray.get_runtime_context()
        return {
            "engine": "ray",
            "version": ray.__version__,
            "address": self.address or ctx.gcs_address,
            # the nodes this case's workers ran on, per worker slot
            "workers": [{"host": w["host"], "node_id": w["node_id"]} for w in self._where],
            "pattern": self.pattern,
            "pattern_detail": PATTERNS[self.pattern],
            "settings": {
                "pattern": self.pattern,
                **self._pattern_settings(),
                "runtime_env_vars": {var: "1" for var in _worker.BLAS_ENV},
                "dashboard": self.dashboard,
                "existing_cluster": bool(self.address),
                "cluster_cpus": ray.cluster_resources().get("CPU"),
                "cluster_nodes": sum(1 for n in ray.nodes() if n.get("Alive")),
                "placement_group": "SPREAD, one CPU per bundle" if self._group else None,
            },
        }

    def _pattern_settings(self) -> dict[str, Any]:
        return {"actor_num_cpus": 1, "actor_max_concurrency": 2}


class RayTasksBackend(TaskPattern, RayBackend):
    """The ``"tasks"`` pattern of the ``ray`` backend: ``get_backend("ray", pattern="tasks")``.

    Every block is the object ref of a ``num_cpus=1`` task; Ray's scheduler places the
    tasks (on one machine there is no worker-process affinity to ask for). Lifecycle and
    ``n_workers`` (= ``num_cpus`` of a local runtime) are :class:`RayBackend`'s.
    """

    def _start_workers(self, ray: Any) -> None:
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        strategies = self._reserve(ray)
        self._remote = {f: ray.remote(num_cpus=1)(f) for f in _TASK_FUNCTIONS}
        if self._group is not None:  # on a cluster: in the group, any of its bundles
            inside = PlacementGroupSchedulingStrategy(self._group)
            self._remote = {f: r.options(scheduling_strategy=inside)
                            for f, r in self._remote.items()}  # fmt: skip
        probe = ray.remote(num_cpus=1)(where)
        self._where = ray.get([probe.options(scheduling_strategy=s).remote() for s in strategies])

    def _n_slots(self) -> int:
        return self.n_workers

    def _run(self, call: Call, ranges: list[list[int]]) -> list[Outcome]:
        # Only start() gets here ("describe"): tasks that overlap in time, so that they
        # describe distinct worker processes.
        if call.op != "describe":
            raise BackendError(f"the Ray tasks pattern has no {call.op!r} call")
        describe = self._remote[_worker.task_describe]
        return self._ray.get([describe.remote(1.0) for _ in ranges])

    def _submit_each(self, func: Any, arg_tuples: Any, *, slot: int | None = None) -> list[Any]:
        remote = self._remote[func]
        return [remote.remote(*args) for args in arg_tuples]

    def _submit_one(self, func: Any, *args: Any) -> Any:
        return self._remote[func].remote(*args)

    def _put_each(self, values: list[Any], slot: int) -> list[Any]:
        return [self._ray.put(v) for v in values]

    def _fetch(self, refs: list[Any]) -> list[Any]:
        return self._ray.get(refs)

    def _cancel_refs(self, refs: list[Any]) -> None:
        for ref in refs:
            self._ray.cancel(ref)

    def _broadcast(self, value: Any) -> Any:
        # A top-level task argument: Ray resolves the ref to the value, zero-copy.
        return self._ray.put(value)

    def _pattern_settings(self) -> dict[str, Any]:
        return {
            "task_num_cpus": 1,
            "placement": "Ray's scheduler (one task per block)",
            "broadcast": "ray.put, a top-level task argument",
        }
