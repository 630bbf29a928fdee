"""What every adapter shares: dataset handles, validation, block placement, ordered combine.

The verbs' contract is documented on the :class:`~dmlbench.backends.Backend` Protocol,
which :class:`BaseBackend` subclasses explicitly (so a type checker holds it to it); the
docstrings here are implementation notes.

An adapter subclasses :class:`BaseBackend` and supplies how to start and stop its engine
and how to run one :class:`~dmlbench.backends._worker.Call` on each of its worker *slots*
(``_run``). Blocks are placed on slots in contiguous ranges, so pre-combining on a
worker and then combining the workers' partials in slot order is combining in block
order: the same parenthesisation every run, hence the same bits every run.
"""

from __future__ import annotations

import contextlib
import itertools
import pickle
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any, Self, TypeVar

from dmlbench.backends._checks import check_int
from dmlbench.backends._protocol import Backend, Block, Cancelled, Dataset
from dmlbench.backends._worker import Call, Outcome
from dmlbench.backends.rounds import Cost, Round, RoundLog

T = TypeVar("T")

_call_generations = itertools.count(1)


def block_ranges(n_blocks: int, n_slots: int) -> list[list[int]]:
    """Split blocks ``0..n_blocks-1`` into ``n_slots`` contiguous, balanced ranges.

    Examples
    --------
    >>> block_ranges(5, 2)
    [[0, 1], [2, 3, 4]]
    >>> block_ranges(1, 3)
    [[], [], [0]]
    """
    return [
        list(range(s * n_blocks // n_slots, (s + 1) * n_blocks // n_slots)) for s in range(n_slots)
    ]


@contextlib.contextmanager
def signal_handlers_kept(*signums: int) -> Iterator[None]:
    """Put the host application's handlers of ``signums`` back after the block: for an
    engine's start that installs handlers of its own (``ray.init``: SIGTERM; a
    SparkContext: SIGINT). Only in the main thread, where handlers live."""
    main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.getsignal(sig) for sig in signums} if main else {}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            if handler is not None:
                signal.signal(sig, handler)


def signal_interrupt(signum: int, where: str) -> KeyboardInterrupt:
    """A ``KeyboardInterrupt`` that says which signal it stands for (``.signum``): what an
    adapter raises when an engine's own handler ended its start on a signal."""
    exc = KeyboardInterrupt(f"{signal.Signals(signum).name} {where}")
    exc.signum = signum  # type: ignore[attr-defined]
    return exc


def host_port(text: str, default_port: int | None = None) -> tuple[str, int] | None:
    """``(host, port)`` of ``host:port`` (IPv6 in brackets), or None if it has no port."""
    host, sep, port = text.rpartition(":")
    if not sep or host.count("[") != host.count("]") or text.endswith("]"):
        host, port = text, ""  # no port, or a bare IPv6 address in brackets
    if not port.isdigit():
        return (host.strip("[]"), default_port) if default_port and host else None
    return host.strip("[]") or "127.0.0.1", int(port)


def host_of(address: str) -> str:
    """The host of ``scheme://host:port`` or ``host:port`` (``""`` if it has none)."""
    found = host_port(address.rpartition("://")[2])
    return found[0] if found else ""


#: Broadcast values larger than this (pickled) are stored on the workers once (Dask) or
#: sent by the engine's own broadcast (Spark); smaller ones travel inline with each call
#: that uses them, as any task's arguments do (a Spark broadcast costs a file and a fetch
#: per worker: about 25 ms of a 140 ms round, measured on local[2]).
INLINE_BROADCAST_BYTES = 1 << 20


def travels_inline(value: Any) -> bool:
    """Whether ``value`` is small enough to travel inline (:data:`INLINE_BROADCAST_BYTES`),
    measured without copying its arrays' data (pickle's out-of-band buffers)."""
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(value, protocol=5, buffer_callback=buffers.append)
    return len(head) + sum(b.raw().nbytes for b in buffers) <= INLINE_BROADCAST_BYTES


#: How long an existing cluster may take to grant the workers a case asks for (Spark's
#: executors, Ray's placement group) before the case is skipped as unavailable.
GRANT_TIMEOUT_S = 20.0


#: Worker calls that run on a dataset's blocks, so say where they are.
_PLACING = frozenset({"build", "map", "aggregate", "collect", "store"})


class BaseBackend(Backend):
    """Shared driver-side half of every adapter. Subclasses implement the ``_`` hooks.

    Parameters
    ----------
    n_workers : int
        Worker processes to start (ignored when attaching to an existing cluster, where
        the cluster's own size is used and reported by :meth:`info`).
    """

    name: str = "base"
    #: The most workers this backend can have (None: no limit of its own).
    max_workers: int | None = None
    #: The values of ``pattern=`` this adapter takes, the default first (empty: one way).
    patterns: tuple[str, ...] = ()
    #: An address every worker reaches (the driver's, its scheduler's), set at start:
    #: each worker reports its own address on the route there as its host ("": not asked).
    towards: str = ""

    def __init__(self, n_workers: int = 2) -> None:
        self.n_workers = check_int(n_workers, "n_workers", f"get_backend({self.name!r})")
        if self.max_workers is not None and self.n_workers > self.max_workers:
            raise ValueError(
                f"The 'n_workers' parameter of get_backend({self.name!r}) must be at most "
                f"{self.max_workers}. Got {n_workers!r}."
            )
        self._token = uuid.uuid4().hex[:8]
        self._ids = itertools.count()
        self._live: set[str] = set()
        self._generation = f"{self._token}:{next(_call_generations)}"
        self._started = False
        self.startup_seconds: float | None = None
        self._workers_seen: list[dict[str, Any]] = []
        # Ids the workers should forget with the next call (broadcasts the driver dropped,
        # frees that an engine cannot address to every worker directly).
        self._pending_drop: list[str] = []
        self.rebuilt_blocks = 0
        self._round_logs: list[RoundLog] = []  # the recording ones, outermost first
        # Where each live dataset's blocks were in the last round that touched them:
        # dataset id -> {block index: the host its worker reported}.
        self._placement: dict[str, dict[int, str]] = {}

    @classmethod
    def check_system(cls) -> str:
        """What this machine offers the backend beyond its Python packages ("ok" if it
        needs nothing); raises BackendUnavailable when something is missing."""
        return "ok"

    @classmethod
    def cluster_endpoints(cls, address: str) -> list[tuple[str, int]]:
        """The ``(host, port)`` an existing cluster's ``address`` is reached at, for a
        reachability check before anything starts ([] when the address names no socket:
        Ray's ``"auto"``, Spark's ``local-cluster[...]``)."""
        return []

    #: How to start the cluster an ``address`` names, for the error when it is unreachable.
    cluster_hint = "start the cluster first"

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def started(self) -> bool:
        """Whether :meth:`start` succeeded and :meth:`close` has not run since."""
        return self._started

    def start(self) -> Self:
        """``_start`` the engine, then ask every worker slot to describe itself (pid,
        BLAS threads) for :meth:`info`; closes what did start if either fails."""
        if self._started:
            return self
        t0 = time.perf_counter()
        try:
            self._start()
        except BaseException:
            self._close()  # whatever part of the engine did start
            raise
        self._started = True
        try:
            self._workers_seen = self._run_checked(Call("describe"), [[]] * self._n_slots())
        except BaseException:
            self.close()
            raise
        self.startup_seconds = time.perf_counter() - t0
        return self

    def close(self) -> None:
        """``_close`` the engine; forgets the live datasets even if that fails."""
        if not self._started:
            return
        self._started = False
        try:
            self._close()
        finally:
            self._live.clear()
            self._placement.clear()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "started" if self._started else "not started"
        return f"<{type(self).__name__} n_workers={self.n_workers} {state}>"

    # -- the verbs ----------------------------------------------------------------------
    def generate(self, make_block: Callable[[int], Block], n_blocks: int) -> Dataset:
        """One ``"build"`` call per slot over its block range; the recipe rebuilds lost
        blocks."""
        self._require_started()
        _check_callable(make_block, "make_block", "generate")
        n_blocks = check_int(n_blocks, "n_blocks", "generate")
        ds_id = self._new_id()
        recipe = ("generate", make_block)
        return self._materialise(Call("build", ds_id, recipe), ds_id, recipe, n_blocks)

    def from_blocks(self, blocks: Sequence[Block]) -> Dataset:
        """The adapter's ``_ship`` places them (default: a ``"store"`` call per slot)."""
        self._require_started()
        blocks = list(blocks)
        if not blocks:
            raise ValueError("from_blocks needs at least one Block. Got an empty sequence.")
        for i, b in enumerate(blocks):
            if not isinstance(b, Block):
                raise TypeError(
                    f"from_blocks expects backends.Block objects. "
                    f"Got {type(b).__name__} at position {i}."
                )
        ds_id = self._new_id()
        recipe = self._ship(ds_id, blocks)
        self._live.add(ds_id)
        return Dataset(self.name, ds_id, tuple(b.n_samples for b in blocks), recipe)

    def map_blocks(self, ds: Dataset, fn: Callable[..., Block], *args: Any) -> Dataset:
        """One ``"map"`` call per slot; the new recipe rebuilds from the parent's."""
        self._check_dataset(ds)
        _check_callable(fn, "fn", "map_blocks")
        out_id = self._new_id()
        call = Call("map", ds.id, ds.recipe, fn, args=args, out_id=out_id)
        recipe = ("map", ds.id, ds.recipe, fn, args)
        return self._materialise(call, out_id, recipe, ds.n_blocks)

    def aggregate(
        self, ds: Dataset, fn: Callable[..., T], combine: Callable[[T, T], T], *args: Any
    ) -> T:
        """Each slot pre-combines its contiguous block range; the partials are combined
        here in slot order, which is block order."""
        self._check_dataset(ds)
        _check_callable(fn, "fn", "aggregate")
        _check_callable(combine, "combine", "aggregate")
        call = Call("aggregate", ds.id, ds.recipe, fn, combine, args)
        parts = self._run_checked(call, block_ranges(ds.n_blocks, self._n_slots()))
        parts = [p for p in parts if p is not None]  # slots that hold no block
        acc = parts[0][1]
        for _, value in parts[1:]:
            acc = combine(acc, value)
        return acc

    def broadcast(self, value: Any) -> Any:
        """The adapter's ``_broadcast`` (default: the value itself, inline in each call).

        When it calls the engine without a worker call of its own (``ray.put``, Dask's
        scatter), that time is recorded as a round with no compute: engine time."""
        self._require_started()
        if not self._round_logs:
            return self._broadcast(value)
        log, before = self._round_logs[-1], len(self._round_logs[-1].rounds)
        t0 = time.perf_counter()
        handle = self._broadcast(value)
        wall_s = time.perf_counter() - t0
        if len(log.rounds) == before and handle is not value:  # not inline, no call recorded
            self._note_round("broadcast", wall_s, [0.0] * self._n_slots(), 0)
        return handle

    def collect(self, ds: Dataset) -> list[Block]:
        """One ``"collect"`` call per slot, concatenated in slot order."""
        self._check_dataset(ds)
        call = Call("collect", ds.id, ds.recipe)
        parts = self._run_checked(call, block_ranges(ds.n_blocks, self._n_slots()))
        return [b for part in parts for _, b in part]

    def free(self, ds: Dataset) -> None:
        """Forget the id on the driver at once, then the adapter's ``_free``."""
        self._check_dataset(ds)
        self._live.discard(ds.id)
        self._placement.pop(ds.id, None)
        self._free(ds)

    def block_hosts(self, ds: Dataset) -> tuple[str, ...]:
        """Where each block of ``ds`` is held: the host (address) of the worker that ran
        it in the last round that touched it, ``""`` where not known (not touched yet, or
        a pattern whose blocks the engine places)."""
        self._check_dataset(ds)
        where = self._placement.get(ds.id, {})
        return tuple(where.get(i, "") for i in range(ds.n_blocks))

    def bare_round(self, ds: Dataset) -> Callable[[], Any]:
        """The engine's own round trip over the workers that hold ``ds``, with none of
        dmlbench's work in it: what ``dmlbench overhead`` measures a round of ours against.
        Not part of the :class:`~dmlbench.backends.Backend` protocol (algorithms never
        need it): the adapters here offer it through their ``_bare_round``.

        Returns
        -------
        callable
            Each call runs one round trip and returns when every worker has answered:
            for a resident pattern, one no-op call on each worker by the engine's own
            means; for a tasks pattern, one no-op task per block, next to it.

        Raises
        ------
        NotImplementedError
            A backend with no engine (``local``): there is no round trip to compare with.
        """
        self._check_dataset(ds)
        return self._bare_round(ds)

    def cancel(self) -> None:
        """Start a new call generation and ask the adapter to ``_cancel`` the old one."""
        if not self._started:
            return
        cancelled, self._generation = self._generation, f"{self._token}:{next(_call_generations)}"
        self._cancel(cancelled)

    def engine_alive(self) -> bool:
        """Whether :meth:`start` succeeded and :meth:`close` has not run since (see
        ``Backend.engine_alive``): adapters whose engine can die under them override it."""
        return self._started

    def info(self) -> dict[str, Any]:
        """What every adapter reports, updated with the adapter's ``_info``."""
        self._require_started()
        pids = sorted({w["pid"] for w in self._workers_seen})
        base = {
            "backend": self.name,
            "n_workers": self.n_workers,
            "threads_per_worker": 1,
            "worker_pids": pids,
            "blas_threads_per_worker": sorted(
                {w["blas_threads"] for w in self._workers_seen}, key=str
            ),
            "blas": sorted({x for w in self._workers_seen for x in w["blas"]}),
            "startup_seconds": self.startup_seconds,
        }
        base.update(self._info())
        return base

    def native(self) -> Any:
        """Adapters override it (after ``_require_started``)."""
        raise NotImplementedError

    @contextlib.contextmanager
    def record_rounds(self) -> Iterator[RoundLog]:
        """Every round run inside the ``with`` block, in a :class:`RoundLog` (a nested
        one records them too: every recording log gets every round)."""
        log = RoundLog()
        self._round_logs.append(log)
        try:
            yield log
        finally:
            self._round_logs.remove(log)

    def _note_round(
        self,
        op: str,
        wall_s: float,
        compute_s: Sequence[float],
        nbytes: int,
        cpu_s: Sequence[float] = (),
        fn: str = "",
        own_s: Sequence[float] = (),
        driver_own_s: float = 0.0,
    ) -> None:
        """Add a round to every recording log (``fn``: the block function's name;
        ``own_s``, ``driver_own_s``: the protocol's seconds, see :class:`Round`)."""
        if self._round_logs:
            r = Round(op, wall_s, tuple(compute_s), nbytes, tuple(cpu_s), fn, tuple(own_s),
                      driver_own_s)  # fmt: skip
            for log in self._round_logs:
                log.add(r)

    # -- shared plumbing ----------------------------------------------------------------
    def _materialise(self, call: Call, ds_id: str, recipe: tuple, n_blocks: int) -> Dataset:
        parts = self._run_checked(call, block_ranges(n_blocks, self._n_slots()))
        sizes = dict(pair for part in parts for pair in part)
        self._live.add(ds_id)
        return Dataset(self.name, ds_id, tuple(sizes[i] for i in range(n_blocks)), recipe)

    def _run_checked(self, call: Call, ranges: list[list[int]]) -> list[Any]:
        """Run ``call`` on every slot; raise the first (lowest-block) error, else payloads.

        The round records the driver's own seconds before and after the engine call (the
        protocol term's driver share) apart from the engine call's wall time."""
        entered = time.perf_counter()
        drops, self._pending_drop[:] = tuple(self._pending_drop), []
        call = replace(
            call, generation=self._generation, drop=call.drop + drops, towards=self.towards
        )
        t0 = time.perf_counter()
        outcomes = self._run(call, ranges)
        t1 = time.perf_counter()
        wall_s = t1 - t0
        costs = [Cost(*cost) for _, _, cost in outcomes]
        self.rebuilt_blocks += sum(c.rebuilt for c in costs)
        if call.ds_id and call.op in _PLACING:
            self._note_placement(call, ranges, costs)
        self._note_round(
            call.op,
            wall_s,
            [c.compute_s for c in costs],
            sum(c.nbytes for c in costs),
            [c.cpu_s for c in costs],
            getattr(call.fn, "__name__", ""),
            [c.own_s for c in costs],
            (t0 - entered) + (time.perf_counter() - t1),
        )
        for status, payload, _ in outcomes:
            if status == "err":
                raise payload
        return [payload for _, payload, _ in outcomes]

    def _note_placement(self, call: Call, ranges: list[list[int]], costs: list[Cost]) -> None:
        """Each block of the call's dataset (and of what a ``"map"`` wrote) is where the
        worker that ran it says it is."""
        for ds_id in (call.ds_id, call.out_id) if call.out_id else (call.ds_id,):
            where = self._placement.setdefault(ds_id, {})
            for indices, cost in zip(ranges, costs, strict=True):
                for i in indices:
                    where[i] = cost.host

    def _new_id(self) -> str:
        return f"{self._token}-{next(self._ids)}"

    def _require_started(self) -> None:
        if not self._started:
            raise RuntimeError(
                f"the {self.name!r} backend is not started: use `with get_backend(...) as be:` "
                "or call .start() first"
            )

    def _check_dataset(self, ds: Any) -> None:
        self._require_started()
        if not isinstance(ds, Dataset):
            raise TypeError(f"expected a Dataset of this backend. Got {type(ds).__name__}.")
        if ds.id not in self._live:
            where = (
                "was freed" if ds.backend_name == self.name else f"belongs to {ds.backend_name!r}"
            )
            raise ValueError(
                f"dataset {ds.id} is not held by this {self.name!r} backend (it {where} or "
                "comes from another backend instance)"
            )

    # -- hooks for adapters -------------------------------------------------------------
    def _start(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def _n_slots(self) -> int:
        """Number of worker slots blocks are spread over."""
        return self.n_workers

    def _run(self, call: Call, ranges: list[list[int]]) -> list[Outcome]:
        """One outcome per slot, in slot order; slot ``s`` works on blocks ``ranges[s]``."""
        raise NotImplementedError

    def _ship(self, ds_id: str, blocks: list[Block]) -> tuple:
        """Make ``blocks`` resident; return the dataset's recipe."""
        calls = [
            Call("store", ds_id, blocks={i: blocks[i] for i in r})
            for r in block_ranges(len(blocks), self._n_slots())
        ]
        self._run_each(calls)
        return ("resident",)

    def _run_each(self, calls: list[Call]) -> None:
        """Run a different call on each slot (used to ship each worker its own blocks)."""
        raise NotImplementedError

    def _broadcast(self, value: Any) -> Any:
        return value

    def _free(self, ds: Dataset) -> None:
        self._run_checked(Call("free", ds.id), [[]] * self._n_slots())

    def _cancel(self, generation: str) -> None:
        raise NotImplementedError

    def _bare_round(self, ds: Dataset) -> Callable[[], Any]:
        raise NotImplementedError(
            f"the {self.name!r} backend has no engine of its own to make a round trip with"
        )

    def _info(self) -> dict[str, Any]:
        return {}


def _check_callable(fn: Any, name: str, verb: str) -> None:
    if not callable(fn):
        raise TypeError(f"The {name!r} argument of {verb} must be callable. Got {fn!r}.")


__all__ = ["BaseBackend", "Cancelled", "block_ranges"]
