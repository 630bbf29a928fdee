"""The ``"tasks"`` pattern: each verb is engine tasks over per-block futures / object refs.

This is how most users drive Dask (``client.map`` over persisted futures, the scheduler
placing each task where its data is) and Ray (``@ray.remote`` tasks over object refs). It
sits beside each adapter's ``"resident"`` pattern (blocks resident in worker process
memory, one broadcast per verb), so a benchmark can show what each engine costs in its
idiomatic pattern next to the fastest one we found.

The answers are the same bits under both patterns: blocks are placed in the same
contiguous ranges (:func:`~dmlbench.backends._base.block_ranges`), ``aggregate``
combines each range's partials in block order in one task, and the driver combines the
ranges in order: the parenthesisation of the resident pattern.

An adapter mixes :class:`TaskPattern` in before its engine class and supplies the
engine's primitives (``_submit_each``, ``_submit_one``, ``_put_each``, ``_fetch``,
``_cancel_refs``, ``_release``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from dmlbench.backends import _worker
from dmlbench.backends._base import BaseBackend, _check_callable, block_ranges
from dmlbench.backends._checks import check_int
from dmlbench.backends._protocol import BackendError, Block, Cancelled, Dataset
from dmlbench.backends.rounds import payload_nbytes

T = TypeVar("T")

#: The recipe of a dataset held as engine tasks' results: the engine keeps the blocks.
TASKS_RECIPE = ("tasks",)


def check_pattern(pattern: Any, backend: str, patterns: dict[str, str]) -> str:
    """``pattern`` if it names one of ``patterns``; else an error listing them."""
    if pattern not in patterns:
        raise ValueError(
            f"The 'pattern' parameter of get_backend({backend!r}) must be one of "
            f"{list(patterns)}. Got {pattern!r}. "
            + "; ".join(f"{name!r}: {detail}" for name, detail in patterns.items())
        )
    return str(pattern)


class TaskPattern(BaseBackend):
    """Driver half of the ``"tasks"`` pattern; the engine's primitives are left abstract.

    Every dataset is a list of engine references (one per block, in block order) to
    outcomes ``("ok", Block)`` computed by :mod:`dmlbench.backends._worker`'s ``task_*``
    functions, which return a user function's error as a value tagged with its block.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._refs: dict[str, list[Any]] = {}
        self._in_flight: list[Any] = []
        self._flight_lock = threading.Lock()

    # -- engine primitives (the adapter supplies them) ----------------------------------
    def _submit_each(
        self, func: Callable, arg_tuples: Sequence[tuple], *, slot: int | None = None
    ) -> list[Any]:
        """One task ``func(*args)`` per tuple; on worker slot ``slot`` if given, else
        where the engine's scheduler puts it (next to its data)."""
        raise NotImplementedError

    def _submit_one(self, func: Callable, *args: Any) -> Any:
        """One task ``func(*args)``, placed by the engine's scheduler."""
        raise NotImplementedError

    def _put_each(self, values: list[Any], slot: int) -> list[Any]:
        """Driver values into the engine (on worker slot ``slot`` where it can place)."""
        raise NotImplementedError

    def _fetch(self, refs: list[Any]) -> list[Any]:
        """The tasks' results, in order (blocking)."""
        raise NotImplementedError

    def _cancel_refs(self, refs: list[Any]) -> None:
        """Ask the engine to cancel these tasks."""
        raise NotImplementedError

    def _release(self, refs: list[Any]) -> None:
        """Tell the engine the driver no longer needs these results."""

    # -- the verbs ----------------------------------------------------------------------
    def generate(self, make_block: Callable[[int], Block], n_blocks: int) -> Dataset:
        """One task per block, pinned to the slot of its contiguous range."""
        self._require_started()
        _check_callable(make_block, "make_block", "generate")
        n_blocks = check_int(n_blocks, "n_blocks", "generate")
        ds_id = self._new_id()
        refs: list[Any] = []
        for slot, indices in enumerate(block_ranges(n_blocks, self._n_slots())):
            if indices:
                args = [(make_block, ds_id, i) for i in indices]
                refs += self._submit_each(_worker.task_build, args, slot=slot)
        return self._hold(ds_id, refs, None)

    def _ship(self, ds_id: str, blocks: list[Block]) -> tuple:
        refs: list[Any] = []
        for slot, indices in enumerate(block_ranges(len(blocks), self._n_slots())):
            if indices:
                refs += self._put_each([("ok", blocks[i]) for i in indices], slot)
        self._refs[ds_id] = refs
        return TASKS_RECIPE

    def map_blocks(self, ds: Dataset, fn: Callable[..., Block], *args: Any) -> Dataset:
        """One task per block, next to its parent block (an *unsplit* round: the tasks
        run wherever the scheduler puts them and do not time themselves)."""
        self._check_dataset(ds)
        _check_callable(fn, "fn", "map_blocks")
        out_id = self._new_id()
        parents = self._refs[ds.id]
        calls = [(fn, out_id, i, parent, *args) for i, parent in enumerate(parents)]
        t0 = time.perf_counter()
        out = self._hold(out_id, self._submit_each(_worker.task_map, calls), None)
        self._note_round("map", time.perf_counter() - t0, (), 0)
        return out

    def aggregate(
        self, ds: Dataset, fn: Callable[..., T], combine: Callable[[T, T], T], *args: Any
    ) -> T:
        """One task per block, one combine task per contiguous range (block order inside
        it), the ranges' results combined here in order: the resident pattern's order.

        Each task reports the worker process it ran in, so the round's split has each
        worker process's compute (its tasks' functions and combines), wherever the
        scheduler put them; worker processes that ran none count as idle."""
        self._check_dataset(ds)
        _check_callable(fn, "fn", "aggregate")
        _check_callable(combine, "combine", "aggregate")
        entered = time.perf_counter()
        refs = self._refs[ds.id]
        calls = [(fn, ds.id, i, block, *args) for i, block in enumerate(refs)]
        ranges = [r for r in block_ranges(ds.n_blocks, self._n_slots()) if r]
        t0 = time.perf_counter()
        parts = self._submit_each(_worker.task_apply, calls)
        per_range = [
            parts[r[0]]
            if len(r) == 1
            else self._submit_one(_worker.task_combine, combine, *(parts[i] for i in r))
            for r in ranges
        ]
        timed = self._fetch_checked(per_range, parts)
        t1 = time.perf_counter()
        wall_s = t1 - t0
        times: dict[int, tuple[float, float]] = {}
        for _, per_process in timed:
            times = _worker.merge_times(times, per_process)
        idle = [(0.0, 0.0)] * max(self._n_slots() - len(times), 0)
        per_worker = [*times.values(), *idle]
        self._note_round(
            "aggregate",
            wall_s,
            [w for w, _ in per_worker],
            sum(payload_nbytes(value) for value, _ in timed),
            [c for _, c in per_worker],
            getattr(fn, "__name__", ""),
            # the calls' making and the times' merge: the engine's own is in wall
            driver_own_s=(t0 - entered) + (time.perf_counter() - t1),
        )
        acc = timed[0][0]
        for value, _ in timed[1:]:
            acc = combine(acc, value)
        return acc

    def collect(self, ds: Dataset) -> list[Block]:
        """The blocks' results, in block order."""
        self._check_dataset(ds)
        return self._fetch_checked(self._refs[ds.id])

    def _bare_round(self, ds: Dataset) -> Callable[[], Any]:
        """The graph of this pattern's aggregate with no-ops: one task per block, given
        the block (so the scheduler puts it next to it), one task per worker's contiguous
        range over those, and the ranges' results fetched; without the user's function,
        the outcomes or the timing this pattern's aggregate carries."""
        refs = [(ref,) for ref in self._refs[ds.id]]
        ranges = [r for r in block_ranges(ds.n_blocks, self._n_slots()) if r]

        def bare() -> Any:
            parts = self._submit_each(_worker.task_noop, refs)
            per_range = [parts[r[0]] if len(r) == 1
                         else self._submit_one(_worker.task_noop, *(parts[i] for i in r))
                         for r in ranges]  # fmt: skip
            return self._fetch(per_range)

        return bare

    def _free(self, ds: Dataset) -> None:
        self._release(self._refs.pop(ds.id, []))

    def _close(self) -> None:
        self._refs.clear()
        super()._close()

    def _cancel(self, generation: str) -> None:
        with self._flight_lock:
            refs = list(self._in_flight)
        if refs:
            self._cancel_refs(refs)

    # -- plumbing -----------------------------------------------------------------------
    def _hold(self, ds_id: str, refs: list[Any], sizes: tuple[int, ...] | None) -> Dataset:
        """Keep ``refs`` as dataset ``ds_id`` once every block is known to be built."""
        try:
            if sizes is None:
                size_refs = self._submit_each(_worker.task_size, [(r,) for r in refs])
                sizes = tuple(self._fetch_checked(size_refs, refs))
        except BaseException:
            self._release(refs)
            raise
        self._refs[ds_id] = refs
        self._live.add(ds_id)
        return Dataset(self.name, ds_id, sizes, TASKS_RECIPE)

    def _fetch_checked(self, refs: list[Any], also: Sequence[Any] = ()) -> list[Any]:
        """Fetch the outcomes of ``refs``; raise the first error (lowest block), else the
        payloads. ``cancel()`` meanwhile cancels ``refs`` and ``also`` (the tasks they
        wait on) and raises :class:`Cancelled` here."""
        generation = self._generation
        with self._flight_lock:
            self._in_flight = [*also, *refs]
        try:
            outcomes = self._fetch(refs)
        except Exception as exc:
            if generation != self._generation:  # cancel() ran while we waited
                raise Cancelled(f"cancelled ({type(exc).__name__} from the engine)") from exc
            raise BackendError(f"{self.name} tasks failed: {exc}") from exc
        finally:
            with self._flight_lock:
                self._in_flight = []
        for status, payload in outcomes:
            if status == "err":
                raise payload
        return [payload for _, payload in outcomes]
