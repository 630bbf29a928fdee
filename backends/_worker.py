"""What runs inside a worker process, whatever the engine.

Every adapter ships a :class:`Call` to its workers and gets back one *outcome* per worker.
This module holds the worker-resident state (blocks and large broadcast values, in
process-global dicts) and the loop over a worker's blocks. It imports no engine, so the
same code runs in a Dask worker, a PySpark Python worker, a Ray actor and in-process.

Outcomes are plain tuples, ``("ok", payload)`` or ``("err", exception)``: a user
function's exception is caught here, tagged with the block index, and sent back as a
value, so the engine never sees a failed task (no retries, no poisoned worker) and the
driver re-raises the original exception. A worker's whole share of a call (:func:`run`)
adds a third element, what it cost the worker and where it ran: ``(blocks rebuilt, compute
seconds, bytes sent back, CPU seconds, host, own seconds)``, the fields of
:class:`~dmlbench.backends.rounds.Cost` (:data:`Outcome`).
"""

from __future__ import annotations

import functools
import os
import pickle
import socket
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from dmlbench.backends._protocol import Block, Cancelled, RemoteError
from dmlbench.backends.rounds import payload_nbytes

# (dataset id, block index) -> Block. One per worker process.
STORE: dict[tuple[str, int], Block] = {}
# broadcast key -> value, for values too large to travel inline with each call.
BROADCASTS: dict[str, Any] = {}
# Generations of calls that the driver cancelled.
_CANCELLED: set[str] = set()
_process_ready = False
# Index of the block a verb's function is running on in this process (-1: none).
_current_index = -1
#: Test-only: the factor by which every block function of a resident ``aggregate`` or
#: ``map`` does more work (it runs again on the block's first ``(factor - 1) x n_samples``
#: rows, the result dropped), so that tests can inject a genuine, proportional slowdown
#: and check that ``dmlbench compare`` detects it. (A busy-wait of the same length made
#: the kernels themselves slower too, 1.3 giving about 1.45x.) Read once per process;
#: the environment record names it when set.
SLOWDOWN_ENV = "DMLBENCH_TEST_SLOWDOWN"
_SLOWDOWN = float(os.environ.get(SLOWDOWN_ENV) or 1.0)

#: What :func:`run` returns: ``(status, payload, cost)``, ``cost`` the fields of a
#: :class:`~dmlbench.backends.rounds.Cost` as a plain tuple. (A NamedTuple on the wire
#: made a Ray round 0.5-1 ms slower, measured: Ray deserialises custom classes slowly.)
Outcome = tuple[str, Any, tuple[int, float, int, float, str, float]]
#: Resident blocks this process had to rebuild from their recipe (held nowhere when a
#: call needed them: a restarted worker, or an engine that sent the task elsewhere).
_rebuilt = 0
#: (wall, thread CPU) clocks when the running call's loop over its blocks began (after its
#: broadcast arguments were fetched: that is the engine's transfer, not compute); None
#: for a call without blocks.
_loop_start: tuple[float, float] | None = None
#: Seconds the running call spent fetching its broadcast arguments (the engine's).
_fetch_s = 0.0

BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def setup_process() -> None:
    """Make this worker process use one BLAS thread; a no-op after the first call.

    threadpoolctl costs milliseconds a call, so it runs once per process, never per task.
    """
    global _process_ready
    if _process_ready:
        return
    for var in BLAS_ENV:
        os.environ[var] = "1"
    # numpy's BLAS loaded now, so the limit reaches it and describe_process sees it (this
    # module imports no numpy itself: the command line's --help imports it).
    import numpy  # noqa: F401
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    _process_ready = True


def local_address_towards(host: str, port: int = 9) -> str:
    """This machine's address on the route to ``host``: what a driver must advertise so
    that a cluster's workers there can reach it back, and the address a worker names
    itself by (``127.0.0.1`` for a loopback host).

    A UDP socket's ``connect`` only asks the kernel for the route; nothing is sent.
    Raises OSError when there is no route (or the name does not resolve).
    """
    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.connect(address)
        return str(probe.getsockname()[0])


@functools.lru_cache(maxsize=8)
def host_towards(address: str) -> str:
    """This worker's own address on the route to ``address`` (once per process): the
    host it reports with each call's cost; ``""`` when there is no route."""
    try:
        return local_address_towards(address)
    except OSError:
        return ""


def describe_process() -> dict[str, Any]:
    """Pid and BLAS threads of this process: what the engine really provisioned."""
    import numpy  # noqa: F401 - its BLAS loaded, so threadpoolctl can see it
    from threadpoolctl import threadpool_info

    blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    return {
        "pid": os.getpid(),
        "blas_threads": max((p["num_threads"] for p in blas), default=None),
        "blas": sorted({f"{p['internal_api']} {p.get('version')}" for p in blas}),
    }


class Handle:
    """A broadcast value that a worker looks up instead of receiving inline."""

    def get(self) -> Any:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class StoredHandle(Handle):
    """A broadcast value stored in :data:`BROADCASTS` on every worker."""

    key: str

    def get(self) -> Any:
        try:
            return BROADCASTS[self.key]
        except KeyError:
            raise RuntimeError(
                f"broadcast {self.key} is not on this worker (worker restarted?): "
                "call backend.broadcast(value) again"
            ) from None


@dataclass(frozen=True, slots=True)
class Call:
    """One verb, as shipped to a worker.

    Attributes
    ----------
    op : {"build", "map", "aggregate", "collect", "store", "free", "broadcast", "cancel",
        "describe"}
    ds_id, recipe : the dataset read (or built, for ``"build"``)
    fn, combine, args : the user's function, its combine, its extra arguments
    out_id : the dataset written by ``"map"``
    drop : dataset ids to forget before running (broadcasts the driver dropped)
    retain : ``(token, live ids)``: forget every dataset of the driver ``token`` that is
        not live (for engines whose frees cannot reach every worker process)
    generation : the driver's cancel generation when the call was made
    towards : an address the workers reach the driver (or its scheduler) at; each reports
        its own address on the route there, as its host (``""``: not asked)
    """

    op: str
    ds_id: str = ""
    recipe: tuple = ()
    fn: Callable | None = None
    combine: Callable | None = None
    args: tuple = ()
    out_id: str = ""
    drop: tuple[str, ...] = ()
    generation: str = ""
    blocks: dict[int, Block] | None = None
    retain: tuple[str, frozenset[str]] | None = None
    towards: str = ""


def build_block(recipe: tuple, i: int) -> Block:
    """Rebuild block ``i`` of a dataset from its recipe.

    Recipes are ``("generate", make_block)``, ``("blocks", source)`` where ``source[i]``
    (or ``source.value[i]`` for an engine's broadcast) is the block, ``("map", parent_id,
    parent_recipe, fn, args)``, and ``("resident",)`` for blocks that were shipped once
    and cannot be rebuilt on the worker.
    """
    kind = recipe[0]
    if kind == "generate":
        return _checked(recipe[1](i), recipe[1], i)
    if kind == "blocks":
        source = recipe[1]
        return (source.value if hasattr(source, "value") else source)[i]
    if kind == "map":
        _, parent_id, parent_recipe, fn, args = recipe
        parent = get_block(parent_id, parent_recipe, i, keep=False)
        return _checked(fn(parent, *resolve(args)), fn, i)
    raise RuntimeError(
        f"block {i} is no longer on this worker (it restarted?) and was shipped from the "
        "driver, so it cannot be rebuilt here: call from_blocks again"
    )


def block_index() -> int:
    """Index of the block the calling function was given, inside ``aggregate``,
    ``map_blocks`` or ``generate``: lets a function draw random numbers from
    ``(seed, block index)``, the same on every backend and worker count.

    Raises
    ------
    RuntimeError
        Outside a function run by a verb.
    """
    if _current_index < 0:
        raise RuntimeError("block_index() is only available inside a function run on a block")
    return _current_index


def get_block(ds_id: str, recipe: tuple, i: int, *, keep: bool = True) -> Block:
    """Block ``i`` of dataset ``ds_id``: resident if held, else rebuilt (and kept if asked)."""
    global _rebuilt
    block = STORE.get((ds_id, i))
    if block is None:
        block = build_block(recipe, i)
        _rebuilt += 1
        if keep:
            STORE[(ds_id, i)] = block
    return block


def resolve(args: tuple) -> tuple:
    """Replace broadcast handles among ``args`` (top level) by their values."""
    return tuple(a.get() if isinstance(a, Handle) else a for a in args)


def mark_cancelled(generation: str) -> None:
    """Stop, at the next block boundary, every call of this generation."""
    _CANCELLED.add(generation)


def forget(ds_ids: Iterable[str]) -> None:
    """Drop every block (and broadcast) of the given ids from this worker."""
    gone = set(ds_ids)
    if not gone:
        return
    for block_key in [k for k in STORE if k[0] in gone]:
        del STORE[block_key]
    for key in [k for k in BROADCASTS if k in gone]:
        del BROADCASTS[key]


def run(call: Call, indices: Sequence[int], entered: float | None = None) -> Outcome:
    """Run ``call`` over this worker's blocks ``indices`` (ascending); return an outcome
    ``(status, payload, cost)``. ``cost`` (the fields of a
    :class:`~dmlbench.backends.rounds.Cost`) holds the resident blocks the call found
    missing here and rebuilt from their recipe (always 0 for ``"build"``, whose blocks
    are new), so that a driver can tell a timed round that rebuilt data from one that did
    not; the seconds this worker spent on its blocks (wall and thread CPU, read once
    around the loop, not per block, after the call's broadcast arguments were fetched);
    and the bytes of an ``"aggregate"``'s partial it sends back; and the seconds of
    dmlbench's own work outside the loop and the broadcasts' fetch, from ``entered`` (the
    ``perf_counter`` when the engine handed the call to dmlbench's entry point, before any
    hand-off to a computing thread; default: now) to the return.

    Payloads: ``"build"``/``"map"``/``"store"`` -> list of (index, n_samples);
    ``"aggregate"`` -> ``(first_index, value)`` pre-combined in block order, or ``None``
    when this worker holds no block; ``"collect"`` -> list of (index, Block).
    Engine entry points call :func:`setup_process` first; the in-process ``local``
    backend does not (it limits BLAS threads only while it is started).
    """
    global _loop_start, _fetch_s
    if call.op == "cancel":
        # It may run beside the call it cancels (Dask's event loop, a Ray actor's second
        # thread): it touches none of that call's clocks.
        mark_cancelled(call.generation)
        return ("ok", None, (0, 0.0, 0, 0.0, "", 0.0))
    start = time.perf_counter() if entered is None else entered
    before, _loop_start, _fetch_s = _rebuilt, None, 0.0
    status, payload = _run_call(call, indices)
    wall = cpu = 0.0
    if _loop_start is not None:
        wall = time.perf_counter() - _loop_start[0]
        cpu = time.thread_time() - _loop_start[1]
    nbytes = payload_nbytes(payload) if call.op == "aggregate" and status == "ok" else 0
    host = host_towards(call.towards) if call.towards else ""
    rebuilt = 0 if call.op == "build" else _rebuilt - before
    own = max(time.perf_counter() - start - wall - _fetch_s, 0.0)
    return status, payload, (rebuilt, wall, nbytes, cpu, host, own)


#: An outcome travels as one pickled bytes object (:func:`packed`) unless it carries more
#: than this: the blocks of a ``"collect"``, or a partial this large, travel as the
#: engine's own objects, which Dask and Ray move without copying their arrays.
PACK_MAX_BYTES = 1 << 20


def packed(call: Call, outcome: Outcome, dumps: Callable[..., bytes]) -> bytes | Outcome:
    """``outcome`` as ``dumps(outcome)`` (an engine's cloudpickle), or as it is when it
    carries data (:data:`PACK_MAX_BYTES`). One bytes object per worker is what the
    engines pass back fastest: measured on Dask's ``Client.run`` and Ray's actors, a
    small outcome as bytes saved 0.1-0.4 ms a round against the tuple."""
    if call.op == "collect" or outcome[2][2] > PACK_MAX_BYTES:
        return outcome
    return dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)


def unpacked(result: bytes | Outcome) -> Outcome:
    """The outcome that :func:`packed` made of a worker's result."""
    return pickle.loads(result) if isinstance(result, bytes) else result


@dataclass(frozen=True, slots=True)
class ValueHandle(Handle):
    """A broadcast value the engine has already handed to this worker (Ray resolves an
    object ref passed as a task's argument): :meth:`get` returns it."""

    value: Any

    def get(self) -> Any:
        return self.value


def own_until_now(outcome: Outcome, entered: float) -> Outcome:
    """``outcome`` with its own seconds counted from ``entered`` to now (less the loop and
    the broadcasts' fetch of the call that made it, in this process): for an entry point
    that handed the call to another thread, so the hand-off back counts as ours too."""
    status, payload, (rebuilt, wall, nbytes, cpu, host, _) = outcome
    own = max(time.perf_counter() - entered - wall - _fetch_s, 0.0)
    return status, payload, (rebuilt, wall, nbytes, cpu, host, own)


def _run_call(call: Call, indices: Sequence[int]) -> tuple[str, Any]:
    global _current_index, _loop_start, _fetch_s
    forget(call.drop)
    if call.retain is not None:
        token, live = call.retain
        forget({k[0] for k in STORE if k[0].startswith(f"{token}-") and k[0] not in live})
    i = -1
    try:
        op = call.op
        if op == "describe":
            return ("ok", describe_process())
        if op == "free":
            forget((call.ds_id,))
            return ("ok", None)
        if op == "broadcast":
            BROADCASTS[call.ds_id] = call.args[0]
            return ("ok", None)
        if op == "store":
            for i, block in sorted((call.blocks or {}).items()):
                STORE[(call.ds_id, i)] = block
            return ("ok", [(i, b.n_samples) for i, b in sorted((call.blocks or {}).items())])
        fetching = time.perf_counter()
        args = resolve(call.args)
        _fetch_s = time.perf_counter() - fetching
        out: list = []
        acc: Any = None
        _loop_start = (time.perf_counter(), time.thread_time())
        for i in indices:
            if call.generation in _CANCELLED:
                raise Cancelled(f"cancelled before block {i}")
            _current_index = i
            block = get_block(call.ds_id, call.recipe, i)
            if op == "build":
                out.append((i, block.n_samples))
            elif op == "map":
                assert call.fn is not None, "a 'map' call carries fn"
                new = _checked(call.fn(block, *args), call.fn, i)
                if _SLOWDOWN != 1.0:
                    _more_work(call.fn, block, args)
                STORE[(call.out_id, i)] = new
                out.append((i, new.n_samples))
            elif op == "aggregate":
                assert call.fn is not None and call.combine is not None, "aggregate: fn, combine"
                value = call.fn(block, *args)
                if _SLOWDOWN != 1.0:
                    _more_work(call.fn, block, args)
                acc = value if not out else call.combine(acc, value)
                out.append(i)
            elif op == "collect":
                out.append((i, block))
            else:
                raise ValueError(f"unknown worker op {op!r}")
        if op == "aggregate":
            return ("ok", (out[0], acc) if out else None)
        return ("ok", out)
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the driver
        return ("err", _portable(exc, i, call))
    finally:
        _current_index = -1


def _more_work(fn: Callable, block: Block, args: tuple) -> None:
    """Run ``fn`` again on ``(_SLOWDOWN - 1) x`` the block's rows (whole blocks, then its
    first rows), dropping the results: the same kernel on the same data, more of it."""
    rows = round(block.n_samples * (_SLOWDOWN - 1))
    while rows > 0:
        take = min(rows, block.n_samples)
        fn(Block(block.X[:take], None if block.y is None else block.y[:take]), *args)
        rows -= take


def _checked(block: Any, fn: Callable, i: int) -> Block:
    if not isinstance(block, Block):
        raise TypeError(
            f"{_name(fn)} must return a backends.Block for block {i}. "
            f"Got {type(block).__name__} instead."
        )
    return block


def _name(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def _portable(exc: Exception, i: int, call: Call) -> Exception:
    """The exception, tagged with where it happened, in a form that survives pickling."""
    where = f"block {i}" if i >= 0 else "setup"
    note = (
        f"dmlbench: raised in {where} of a {call.op!r} call on worker pid {os.getpid()}; "
        f"worker traceback:\n{''.join(traceback.format_exception(exc)).rstrip()}"
    )
    if not isinstance(exc, Cancelled):
        exc.add_note(note)
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - unpicklable exception types are common enough
        err = RemoteError(f"{type(exc).__name__}: {exc}")
        err.add_note(note)
        return err


# -- the "tasks" pattern: one engine task per block ---------------------------------------
# Blocks are the results of engine tasks (Dask futures, Ray object refs) holding outcomes
# ``("ok", Block)``; every task below returns an outcome too, so a user function's error
# travels as a value (tagged by :func:`_portable`, as in :func:`run`) and the engine never
# sees a failed task. The driver half is ``dmlbench.backends._tasks``.
def _in_task(op: str, i: int, ds_id: str, block: Block | None, thunk: Callable[[], Any]):
    """Run ``thunk`` as the task of block ``i``; an outcome.

    While it runs, :func:`block_index` is ``i`` and the block is reachable as
    ``STORE[(ds_id, i)]``, the view a function has of its worker in the resident pattern
    (so worker-side functions see the same thing under both patterns); the entry goes when
    the task ends: between tasks the engine alone holds the block.
    """
    global _current_index
    setup_process()
    _current_index = i
    key = (ds_id, i)
    if block is not None:
        STORE[key] = block
    try:
        return ("ok", thunk())
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the driver
        return ("err", _portable(exc, i, Call(op)))
    finally:
        _current_index = -1
        if block is not None:
            STORE.pop(key, None)


def task_build(make_block: Callable[[int], Block], ds_id: str, i: int) -> tuple[str, Any]:
    """Task: block ``i`` of a generated dataset, ``("ok", make_block(i))``."""
    return _in_task("build", i, ds_id, None, lambda: _checked(make_block(i), make_block, i))


def task_map(
    fn: Callable[..., Block], ds_id: str, i: int, parent: tuple[str, Any], *args: Any
) -> tuple[str, Any]:
    """Task: ``("ok", fn(block, *args))`` for the block of outcome ``parent``."""
    if parent[0] == "err":
        return parent
    block = parent[1]
    return _in_task("map", i, ds_id, block, lambda: _checked(fn(block, *resolve(args)), fn, i))


def task_apply(
    fn: Callable[..., Any], ds_id: str, i: int, parent: tuple[str, Any], *args: Any
) -> tuple[str, Any]:
    """Task: ``("ok", (fn(block, *args), {pid: (wall, cpu)}))``, one partial of an
    ``aggregate`` and the seconds it took in this worker process (the tasks pattern's
    share of the per-round split: the engine places tasks, so time is kept per process).
    """
    if parent[0] == "err":
        return parent
    block = parent[1]

    def timed() -> tuple[Any, dict[int, tuple[float, float]]]:
        values = resolve(args)  # fetching a broadcast is transfer, not compute
        t0, c0 = time.perf_counter(), time.thread_time()
        value = fn(block, *values)
        return value, {os.getpid(): (time.perf_counter() - t0, time.thread_time() - c0)}

    return _in_task("aggregate", i, ds_id, block, timed)


def task_combine(combine: Callable[[Any, Any], Any], *parts: tuple[str, Any]) -> tuple[str, Any]:
    """Task: the outcomes ``parts`` (of consecutive blocks, each ``("ok", (value,
    times))`` from :func:`task_apply`) combined in the order given: ``("ok", (value,
    times))``, ``times`` merged per worker process with the combine's own.

    The first error among them (the lowest block's) is the outcome.
    """
    for part in parts:
        if part[0] == "err":
            return part
    t0, c0 = time.perf_counter(), time.thread_time()
    try:
        acc, first = parts[0][1]
        times = dict(first)
        for _, (value, more) in parts[1:]:
            acc = combine(acc, value)
            times = merge_times(times, more)
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the driver
        return ("err", _portable(exc, -1, Call("aggregate")))
    own = {os.getpid(): (time.perf_counter() - t0, time.thread_time() - c0)}
    return ("ok", (acc, merge_times(times, own)))


def merge_times(
    a: dict[int, tuple[float, float]], b: dict[int, tuple[float, float]]
) -> dict[int, tuple[float, float]]:
    """Per worker process, (wall, cpu) seconds of ``a`` and ``b`` added."""
    out = dict(a)
    for pid, (wall, cpu) in b.items():
        w0, c0 = out.get(pid, (0.0, 0.0))
        out[pid] = (w0 + wall, c0 + cpu)
    return out


def task_size(outcome: tuple[str, Any]) -> tuple[str, Any]:
    """Task: ``("ok", n_samples)`` of a block outcome (its error if it failed)."""
    return outcome if outcome[0] == "err" else ("ok", outcome[1].n_samples)


def noop(*_args: Any) -> None:
    """The body of an engine's bare round trip (``Backend.bare_round``): nothing."""


def task_noop(*_outcomes: Any) -> None:
    """Task: nothing, next to a block or over several tasks' results (the tasks
    pattern's bare round trip)."""


def task_describe(seconds: float = 0.0) -> Outcome:
    """Task: :func:`describe_process` of the process running it (after ``seconds``, so
    that concurrent describe tasks land in distinct worker processes), shaped like a
    :func:`run` outcome (it stands for one in ``start``)."""
    setup_process()
    time.sleep(seconds)
    return ("ok", describe_process(), (0, 0.0, 0, 0.0, "", 0.0))
