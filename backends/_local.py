"""The ``local`` backend: the verbs run in this process on numpy.

It is the oracle of the tests (the same worker code, no engine in between) and the floor
of the performance reports: the cost of a round when there is no engine at all.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dmlbench.backends import _worker
from dmlbench.backends._base import BaseBackend
from dmlbench.backends._protocol import Block, Dataset
from dmlbench.backends._worker import Call, Outcome


class LocalBackend(BaseBackend):
    """All blocks in this process; one worker, one BLAS thread while started.

    Parameters
    ----------
    n_workers : int, default=1
        Must be 1: in-process means one core.
    """

    name = "local"
    max_workers = 1  # in-process means one core; the engines give more

    def __init__(self, n_workers: int = 1) -> None:
        super().__init__(n_workers)
        self._limiter: Any = None

    def _start(self) -> None:
        from threadpoolctl import threadpool_limits

        # One worker = one core, as on every engine. Restored by close(), so the rest of
        # the user's process keeps its own BLAS threads.
        self._limiter = threadpool_limits(limits=1)

    def _close(self) -> None:
        _worker.forget(tuple(self._live))
        if self._limiter is not None:
            self._limiter.restore_original_limits()
            self._limiter = None

    towards = "127.0.0.1"  # in this process: its blocks are on this machine

    def _run(self, call: Call, ranges: list[list[int]]) -> list[Outcome]:
        return [_worker.run(call, r) for r in ranges]

    def _ship(self, ds_id: str, blocks: list[Block]) -> tuple:
        # In-process: the blocks themselves are the recipe; nothing is copied.
        return ("blocks", tuple(blocks))

    def _free(self, ds: Dataset) -> None:
        _worker.forget((ds.id,))

    def _cancel(self, generation: str) -> None:
        _worker.mark_cancelled(generation)

    def native(self) -> Any:
        """No engine in between: ``None`` (in-process libraries need no handle)."""
        self._require_started()
        return None

    def _info(self) -> dict[str, Any]:
        return {
            "engine": "numpy (in-process)",
            "version": np.__version__,
            "address": "in-process",
            "pattern": "worker code called in this process; blocks in a process-global dict",
            "settings": {"blas_threads": 1},
        }
