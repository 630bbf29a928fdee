"""The backend protocol: the contract every adapter keeps, and the plain types it speaks.

:class:`Backend` (a :class:`typing.Protocol`) declares the verbs and documents them; it is
the contract algorithms are written against (the README's "The backend protocol" section
shows them at work). Data is a list of :class:`Block` objects that live on the workers. A
driver-side :class:`Dataset` is only a handle: its id, its number of blocks, the number of
rows in each, and a *recipe* that can rebuild any block (a worker that lost a block, or
never had it, rebuilds it instead of failing).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar, runtime_checkable

if TYPE_CHECKING:  # numpy is imported where a Block is made: `dmlbench --help` skips it
    import numpy as np

from dmlbench.backends.rounds import RoundLog

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Block:
    """One block of a dataset: a slice of rows that lives on one worker.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The features. ``n_samples`` may be 0 (an empty block).
    y : ndarray of shape (n_samples,) or (n_samples, n_targets), default=None
        The targets, if any.

    Blocks are treated as read-only everywhere (Ray hands them out zero-copy and
    read-only; Spark would silently lose an in-place change): a function that needs a
    changed block returns a new one.
    """

    X: np.ndarray
    y: np.ndarray | None = None

    def __post_init__(self) -> None:
        import numpy as np

        if not isinstance(self.X, np.ndarray):
            raise TypeError(
                f"Block.X must be a numpy ndarray. Got {type(self.X).__name__} instead."
            )
        if self.y is not None:
            if not isinstance(self.y, np.ndarray):
                raise TypeError(
                    f"Block.y must be a numpy ndarray or None. Got {type(self.y).__name__} instead."
                )
            if self.X.ndim >= 1 and self.y.shape[:1] != self.X.shape[:1]:
                raise ValueError(
                    "Block.X and Block.y must have the same number of rows. "
                    f"Got X of shape {self.X.shape} and y of shape {self.y.shape}."
                )

    @property
    def n_samples(self) -> int:
        """Number of rows in the block."""
        return int(self.X.shape[0]) if self.X.ndim else 0


@dataclass(frozen=True, eq=False)
class Dataset:
    """Driver-side handle of a dataset whose blocks are resident on a backend's workers.

    Attributes
    ----------
    backend_name : str
        The backend that holds the blocks; a dataset is only valid on it.
    id : str
        Unique: a per-backend-instance token and a counter (workers of a shared cluster
        may hold datasets of several drivers).
    block_sizes : tuple of int, length n_blocks
        Rows in each block, in block order.
    recipe : tuple
        How a worker rebuilds block ``i`` when it does not hold it (see
        ``dmlbench.backends._worker.build_block``).
    """

    backend_name: str
    id: str
    block_sizes: tuple[int, ...]
    recipe: tuple = field(repr=False)

    @property
    def n_blocks(self) -> int:
        """Number of blocks (fixed per dataset, whatever the number of workers)."""
        return len(self.block_sizes)

    @property
    def n_samples(self) -> int:
        """Total number of rows."""
        return sum(self.block_sizes)


class BackendError(RuntimeError):
    """The engine itself failed (not the user's function)."""


class BackendUnavailable(ImportError):
    """A backend cannot start here: its extra is not installed, or a system need is missing."""


class Cancelled(RuntimeError):
    """The call was stopped by :meth:`Backend.cancel`."""


class RemoteError(RuntimeError):
    """A user function raised an exception that could not be sent back as itself."""


@runtime_checkable
class Backend(Protocol):
    """What every engine adapter provides: the contract algorithms are written against.

    Data is a list of :class:`Block` objects resident on the workers, reached through
    :class:`Dataset` handles. Adapters (``local``, ``dask``, ``spark``, ``ray``) subclass
    :class:`~dmlbench.backends._base.BaseBackend`, which subclasses this Protocol, but any
    object with these members is a backend: algorithms check ``isinstance(obj, Backend)``
    and ``obj.started``, nothing else. The README's "The backend protocol" section shows
    the verbs at work; ``dmlbench.backends.conformance`` checks an adapter keeps these
    rules:

    * A block depends only on its index (and the parameters of the function that builds
      it), so the data are bit-identical on every backend and worker count, and any worker
      can rebuild a block it lost.
    * ``combine`` runs in block order: the same bits run to run.
    * Each worker is one process with one BLAS thread; ``n_workers`` means ``n`` cores.
    * An exception in a user function reaches the driver as itself (or as
      :class:`RemoteError` if it cannot travel), with a note naming the block and the
      worker's traceback; the backend stays usable.
    * Functions travel with cloudpickle: by reference from an installed module
      (cheapest), by value from ``__main__``.

    Examples
    --------
    >>> with get_backend("local") as be:                  # doctest: +SKIP
    ...     ds = be.generate(make_block, 8)
    ...     total = be.aggregate(ds, lambda b: b.X.sum(), operator.add)
    """

    #: The backend's registry name (``"local"``, ``"dask"``, ...); :attr:`Dataset.backend_name`.
    name: str
    #: Worker processes (one core each). Asked for before :meth:`start`; what the engine
    #: really provides once started (an existing cluster's own size).
    n_workers: int
    #: Resident blocks the workers found missing and rebuilt from their recipe since the
    #: backend was made (a restarted worker; an engine that ran a task where its blocks
    #: are not): read it around a timed fit to tell whether the fit rebuilt data.
    rebuilt_blocks: int

    @property
    def started(self) -> bool:
        """Whether the backend is started (between :meth:`start` and :meth:`close`): the
        verbs need a started backend."""

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> Self:
        """Start (or attach to) the engine and check its workers; idempotent.

        Returns
        -------
        Self
            The backend, started (so ``be = get_backend("dask").start()`` works).

        Raises
        ------
        BackendUnavailable
            The engine cannot run here (a missing system need, such as Spark's Java).
        BackendError
            The engine failed to start, or has no workers.
        """

    def close(self) -> None:
        """Free every dataset and stop the engine (or detach from an existing cluster).

        Idempotent; a closed backend can be started again.
        """

    def __enter__(self) -> Self:
        """:meth:`start`; ``with get_backend(name) as be:`` closes it on exit."""

    def __exit__(self, *exc: object) -> None:
        """:meth:`close`."""

    def engine_alive(self) -> bool:
        """Whether the engine's own processes are still running and answer.

        Asked after an error that did not come through a verb's round (a broadcast, a
        native library's call), to tell a dead engine (the next case needs a new one) from
        a failing case. Cheap: no round, no task on the workers.

        Returns
        -------
        bool
            False when not started, or when the engine died under the backend (Spark: its
            driver JVM is gone or refuses its gateway); True otherwise.
        """

    # -- the verbs ----------------------------------------------------------------------
    def generate(self, make_block: Callable[[int], Block], n_blocks: int) -> Dataset:
        """Build block ``i`` as ``make_block(i)`` on the worker that will hold it.

        Parameters
        ----------
        make_block : callable, (int) -> Block
            Depends only on ``i`` and its own parameters (bind them with
            ``functools.partial``), so any worker can rebuild any block. Shipped with
            cloudpickle: by reference from an installed module (cheapest), by value from
            ``__main__``.
        n_blocks : int >= 1
            Number of blocks, fixed per dataset whatever the number of workers (so a
            strong-scaling sweep really holds the work constant).

        Returns
        -------
        Dataset
            Resident on the workers: blocks ``0 .. n_blocks-1`` in contiguous ranges,
            ``block_sizes`` known on the driver.

        Raises
        ------
        TypeError
            ``make_block`` is not callable, or returned something other than a Block.
        ValueError
            ``n_blocks < 1``.
        """

    def from_blocks(self, blocks: Sequence[Block]) -> Dataset:
        """Ship small driver-side blocks (a real dataset) to the workers, keeping their order.

        Parameters
        ----------
        blocks : sequence of Block, length n_blocks >= 1
            ``Block(X, y)`` with ``X`` of shape (n_samples_i, n_features) and ``y`` of
            shape (n_samples_i,) or (n_samples_i, n_targets), or None.

        Returns
        -------
        Dataset
            Resident on the workers, block ``i`` being ``blocks[i]``.

        Raises
        ------
        ValueError
            ``blocks`` is empty.
        TypeError
            An element is not a :class:`Block`.
        """

    def map_blocks(self, ds: Dataset, fn: Callable[..., Block], *args: Any) -> Dataset:
        """``fn(block, *args) -> Block`` on every block; the result stays resident.

        Parameters
        ----------
        ds : Dataset
            A dataset of this backend.
        fn : callable, (Block, *args) -> Block
            Must not change its input block (blocks are read-only); returns a new one,
            of any number of rows.
        *args
            Extra arguments for ``fn``; a handle from :meth:`broadcast` arrives as its value.

        Returns
        -------
        Dataset
            A new dataset with as many blocks as ``ds``; ``ds`` stays valid.
        """

    def aggregate(
        self, ds: Dataset, fn: Callable[..., T], combine: Callable[[T, T], T], *args: Any
    ) -> T:
        """``fn(block, *args)`` per block, combined in block order; one value on the driver.

        Parameters
        ----------
        ds : Dataset
            A dataset of this backend.
        fn : callable, (Block, *args) -> T
            Typically partial sums: ``(X.T @ X, X.T @ y)``, a loss and its gradient.
        combine : callable, (T, T) -> T
            Associative. Applied in block order (each worker pre-combines its contiguous
            range of blocks, then the driver combines the workers' partials in order), so
            the result has the same bits run to run.
        *args
            Extra arguments for ``fn``; a handle from :meth:`broadcast` arrives as its value.

        Returns
        -------
        T
            ``combine(...combine(fn(b0), fn(b1))..., fn(b_last))``.
        """

    def broadcast(self, value: Any) -> Any:
        """A handle to pass among ``*args`` of a verb; ``fn`` receives ``value`` itself.

        Ships a model once per round (or once for good) instead of once per block.

        Parameters
        ----------
        value : object
            Any picklable value (typically ndarrays).

        Returns
        -------
        object
            Opaque: valid on this backend while it is referenced on the driver.
        """

    def collect(self, ds: Dataset) -> list[Block]:
        """All blocks on the driver, in block order (small data only).

        Returns
        -------
        list of Block, length ds.n_blocks
        """

    def free(self, ds: Dataset) -> None:
        """Drop ``ds`` from the workers' memory; the handle is unusable afterwards.

        Datasets built from it by :meth:`map_blocks` stay valid.
        """

    def block_hosts(self, ds: Dataset) -> tuple[str, ...]:
        """Where each block of ``ds`` is held, as its worker reported in the last round
        that touched it.

        Returns
        -------
        tuple of str, length ds.n_blocks
            The host (address) per block, ``""`` where not known (a pattern whose blocks
            the engine places, a block not touched yet).
        """

    def info(self) -> dict[str, Any]:
        """What really runs, for the results: plain JSON-able values.

        Returns
        -------
        dict
            At least ``backend``, ``engine``, ``version``, ``n_workers`` (provisioned),
            ``threads_per_worker``, ``worker_pids``, ``blas_threads_per_worker``,
            ``blas``, ``address``, ``pattern`` (how the verbs are executed),
            ``settings`` (the adapter's tuning knobs) and ``startup_seconds``.
        """

    def cancel(self) -> None:
        """Stop the calls in flight; meant to be called from another thread.

        They raise :class:`Cancelled` at the next block boundary (Spark: the engine kills
        the tasks). The backend, and the datasets it holds, stay usable. A no-op when not
        started.
        """

    def record_rounds(self) -> AbstractContextManager[RoundLog]:
        """Record every round (one verb's trip to the workers) run inside a ``with``.

        ``with be.record_rounds() as log: model.fit(ds)``, then ``log.split(fit_s)``: the
        fit's time as worker compute, imbalance, protocol, engine and driver terms
        (:mod:`dmlbench.backends.rounds`). Each worker times its own blocks; the
        driver times each round's wall.

        Returns
        -------
        context manager of RoundLog
        """

    def native(self) -> Any:
        """The engine's own handle, for engine-native libraries (dask-ml, Spark MLlib).

        Returns
        -------
        object
            A ``distributed.Client`` (dask), a ``SparkSession`` (spark; ``.sparkContext``
            for RDDs), the initialised ``ray`` module (ray), ``None`` (local: in-process
            libraries need no handle).
        """
