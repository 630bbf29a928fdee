"""The backend protocol: the plain types every adapter speaks.

Data is a list of :class:`Block` objects that live on the workers. A driver-side
:class:`Dataset` is only a handle: its id, its number of blocks, the number of rows in
each, and a *recipe* that can rebuild any block (a worker that lost a block, or never had
it, rebuilds it instead of failing).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

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
    id: int
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
    """What every engine adapter provides. See ``DESIGN.md`` for the verbs' contract."""

    name: str

    def start(self) -> Backend: ...

    def close(self) -> None: ...

    def __enter__(self) -> Backend: ...

    def __exit__(self, *exc: object) -> None: ...

    def generate(self, make_block: Callable[[int], Block], n_blocks: int) -> Dataset: ...

    def from_blocks(self, blocks: Sequence[Block]) -> Dataset: ...

    def map_blocks(self, ds: Dataset, fn: Callable[..., Block], *args: Any) -> Dataset: ...

    def aggregate(
        self, ds: Dataset, fn: Callable[..., T], combine: Callable[[T, T], T], *args: Any
    ) -> T: ...

    def broadcast(self, value: Any) -> Any: ...

    def collect(self, ds: Dataset) -> list[Block]: ...

    def free(self, ds: Dataset) -> None: ...

    def info(self) -> dict[str, Any]: ...

    def cancel(self) -> None: ...

    def native(self) -> Any: ...
