"""Where a fit's time goes: each round split into compute, imbalance, protocol, engine, driver.

A *round* is one verb's trip to the workers: the driver sends one call to every worker
slot, each worker runs its blocks and sends back one outcome. Each worker times its own
part (wall and thread-CPU clocks read once around its loop over its blocks: the user's
functions, block lookups and its pre-combine; after its broadcast arguments were
fetched, which is the engine's transfer) and counts the bytes of the arrays it sends
back, and returns them with its outcome (:class:`Cost`); the driver times the round's
wall clock around the engine call. From those, per round (:class:`Round`):

* **compute** = the mean worker's compute time (what perfect balance would cost); its
  thread CPU time is kept beside it (``compute_cpu_s``): wall above CPU is time the
  worker was descheduled or waited for a lock, not computing;
* **imbalance** = max − mean worker compute (the wait for the slowest worker);
* **protocol** = dmlbench's own Python work in the round: on the driver, just around the
  engine call (the call's last fields, the outcomes' costs and placement); on the
  workers, from dmlbench's entry point to its return outside the loop over the blocks
  and the fetch of broadcasts (dropping freed ids, the hand-off to the computing thread
  and back, the outcome's making), as far as it lies on the slowest worker's path:
  max(compute + own) − max compute;
* **engine** = wall − max(worker compute + own) (scheduling, serialisation, transfer,
  fetching broadcasts, the engine's own bookkeeping: all the slowest worker did not
  spend on its blocks or in dmlbench). The engine serialises dmlbench's call and its
  outcomes inside its own call, so their (de)serialisation is in this term: what
  ``dmlbench overhead``'s ours ÷ bare round trip measures, beside it.

A broadcast is a round of its own (all engine) when it calls the engine from the
driver (Ray's ``ray.put``, Dask's scatter, Spark's ``SparkContext.broadcast``, which
hands the value to the JVM at once; Spark's executors fetch it with the next job, in that
round's engine term). An inline broadcast (a small value on Dask's resident pattern, the
local backend) travels inside the next call: that round's engine term. A fit's
**driver** time is its wall time minus the sum of its rounds' walls: the optimiser's
step, the driver-side combine of the workers' partials, anything between rounds), less
the driver's share of protocol. So compute + imbalance + protocol + engine + driver is
the fit time exactly, with no term estimated.
A round whose workers did not time themselves (the ``"tasks"`` pattern's ``map_blocks``,
whose per-block tasks run wherever the engine's scheduler puts them) is *unsplit*: its
wall time is reported as such, never guessed. In the tasks pattern each task reports
its worker process, so compute is per worker process, wherever the scheduler put it; its
protocol term is the driver's share alone (a task's own set-up is not timed apart).

Costs are a few clock reads and a walk of the result's arrays per worker and call (not
per block), and one small tuple per round on the driver while a :class:`RoundLog`
records.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class Cost(NamedTuple):
    """What one worker's share of one call cost it; its fields travel back with the
    worker's outcome as a plain tuple (cheaper to deserialise), made a Cost on the driver.

    Attributes
    ----------
    rebuilt : int
        Resident blocks the call found missing and rebuilt from their recipe.
    compute_s : float
        Seconds the worker spent on its blocks (functions, lookups, pre-combine).
    nbytes : int
        Bytes of the arrays (and numbers) in what it sends back.
    cpu_s : float
        Thread CPU seconds of the same span as ``compute_s``.
    host : str
        The worker's own address on the route to the driver (``Call.towards``); ``""``
        when not asked.
    own_s : float
        Seconds of dmlbench's own work on the worker for this call, outside the loop over
        the blocks and the fetch of broadcasts (see the module's **protocol**).
    """

    rebuilt: int = 0
    compute_s: float = 0.0
    nbytes: int = 0
    cpu_s: float = 0.0
    host: str = ""
    own_s: float = 0.0


def payload_nbytes(value: Any) -> int:
    """Bytes of the arrays and numbers in ``value`` (tuples, lists, dicts walked); 0 for
    anything else. What the worker ships back, without pickling it a second time."""
    import numpy as np  # here, not at the top: `dmlbench --help` imports this module

    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (float, int, np.generic)):
        return 8
    if isinstance(value, (tuple, list)):
        return sum(payload_nbytes(v) for v in value)
    if isinstance(value, dict):
        return sum(payload_nbytes(v) for v in value.values())
    return 0


@dataclass(frozen=True, slots=True)
class Round:
    """One verb's trip to the workers, as the driver saw it.

    Attributes
    ----------
    op : str
        The worker call (``"aggregate"``, ``"map"``, ``"broadcast"``, ...).
    wall_s : float
        Driver-side wall time of the engine call (send, run, receive, deserialise).
    compute_s : tuple of float, length n_slots, or empty
        Each worker slot's compute time, in slot order; empty when the workers did not
        time themselves (the round is *unsplit*).
    nbytes : int
        Bytes sent back by all workers together.
    cpu_s : tuple of float, length n_slots, or empty
        Each slot's thread CPU time over the span of its ``compute_s``.
    fn : str
        The block function's name (``""`` for a round without one): which kernel ran.
    own_s : tuple of float, length n_slots, or empty
        Each slot's :attr:`Cost.own_s` (empty: not timed).
    driver_own_s : float
        The driver's protocol seconds around the engine call (outside ``wall_s``).
    """

    op: str
    wall_s: float
    compute_s: tuple[float, ...]
    nbytes: int
    cpu_s: tuple[float, ...] = ()
    fn: str = ""
    own_s: tuple[float, ...] = ()
    driver_own_s: float = 0.0

    @property
    def split(self) -> bool:
        """Whether the workers timed themselves (compute, imbalance and engine known)."""
        return bool(self.compute_s)

    @property
    def mean_compute_s(self) -> float:
        return statistics.fmean(self.compute_s) if self.compute_s else 0.0

    @property
    def max_compute_s(self) -> float:
        return max(self.compute_s, default=0.0)

    @property
    def max_finish_s(self) -> float:
        """The slowest worker's compute and own work together: where its part ended."""
        if not self.own_s:
            return self.max_compute_s
        return max(c + o for c, o in zip(self.compute_s, self.own_s, strict=True))

    @property
    def protocol_s(self) -> float:
        """dmlbench's own seconds in this round: the driver's, and the workers' on the
        slowest one's path (``max_finish_s - max_compute_s``)."""
        on_path = self.max_finish_s - self.max_compute_s if self.split else 0.0
        return self.driver_own_s + on_path


@dataclass
class RoundLog:
    """The rounds a backend ran while this log recorded (see ``Backend.record_rounds``)."""

    rounds: list[Round] = field(default_factory=list)

    def add(self, r: Round) -> None:
        self.rounds.append(r)

    def split(self, fit_s: float) -> dict[str, Any]:
        """A fit's time in four terms that sum to ``fit_s`` (plus unsplit rounds, if any).

        Parameters
        ----------
        fit_s : float
            The fit's wall time, measured around the rounds of this log.

        Returns
        -------
        dict
            ``rounds`` (count), ``compute_s``, ``imbalance_s``, ``protocol_s``,
            ``engine_s``, ``driver_s``, ``unsplit_s`` (seconds, summed over rounds; they
            sum to ``fit_s``), ``compute_cpu_s`` (the mean worker's CPU seconds over the same
            spans as ``compute_s``: not a term of the sum), ``straggler`` (the median
            over split rounds with compute of max/mean worker compute; None without such
            rounds), ``bytes_back`` and ``compute_by_fn`` (per block function's name:
            ``[split rounds, the worker-seconds of compute in them]``, every worker's
            compute summed: what a kernel's achieved rate is from).
        """
        split = [r for r in self.rounds if r.split]
        busy = [r.max_compute_s / r.mean_compute_s for r in split if r.mean_compute_s > 0]
        by_fn: dict[str, list[float]] = {}
        for r in split:
            if r.fn:
                count, seconds = by_fn.get(r.fn, (0, 0.0))
                by_fn[r.fn] = [count + 1, seconds + sum(r.compute_s)]
        return {
            "rounds": len(self.rounds),
            "compute_s": sum(r.mean_compute_s for r in split),
            "imbalance_s": sum(r.max_compute_s - r.mean_compute_s for r in split),
            "protocol_s": sum(r.protocol_s for r in self.rounds),
            "engine_s": sum(r.wall_s - r.max_finish_s for r in split),
            "driver_s": fit_s - sum(r.wall_s + r.driver_own_s for r in self.rounds),
            "unsplit_s": sum((r.wall_s for r in self.rounds if not r.split), 0.0),
            "compute_cpu_s": sum(statistics.fmean(r.cpu_s) for r in split if r.cpu_s),
            "straggler": statistics.median(busy) if busy else None,
            "bytes_back": sum(r.nbytes for r in self.rounds),
            "compute_by_fn": by_fn,
        }


#: The terms of :meth:`RoundLog.split` that sum to the fit time, in drawing order.
TERMS = ("compute_s", "imbalance_s", "protocol_s", "engine_s", "driver_s", "unsplit_s")


def per_iteration(splits: list[dict[str, Any]], n_iters: list[int | None]) -> dict[str, Any]:
    """The typical iteration of a case: each term of :meth:`RoundLog.split` over the fit's
    iterations, the median over fits (and the median straggler and rounds per iteration).

    Parameters
    ----------
    splits : list of dict, length n_fits
        :meth:`RoundLog.split` of each timed fit.
    n_iters : list of int or None, length n_fits
        Each fit's iterations (a fit without a count counts as one).

    Returns
    -------
    dict
        Seconds per iteration for each of :data:`TERMS`, ``straggler`` (None when no fit
        had one), ``rounds_per_iter`` and ``n_fits``.
    """
    per = [max(n or 1, 1) for n in n_iters]
    out: dict[str, Any] = {
        term: statistics.median(s[term] / n for s, n in zip(splits, per, strict=True))
        for term in TERMS
    }
    busy = [s["straggler"] for s in splits if s["straggler"] is not None]
    out["compute_cpu_s"] = statistics.median(
        s.get("compute_cpu_s", 0.0) / n for s, n in zip(splits, per, strict=True)
    )
    out["straggler"] = statistics.median(busy) if busy else None
    out["rounds_per_iter"] = statistics.median(
        s["rounds"] / n for s, n in zip(splits, per, strict=True)
    )
    out["n_fits"] = len(splits)
    return out


def achieved_rates(
    work: dict[str, Any] | None, splits: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """What a worker's main kernel achieved: bytes/s and flop/s per second of a worker's
    compute.

    Only the rounds of the kernel ``work`` names count (k-means' Lloyd steps, not its
    k-means|| set-up or the input check): each is one pass over all rows, done in the
    worker-seconds of compute of that round, every worker's summed. So the rate is per
    worker whatever the number of processes that ran the round's tasks (the tasks
    patterns' schedulers may use more processes than workers, each for less).

    Parameters
    ----------
    work : dict or None
        The estimator's ``pass_work``: ``kernel`` (the block function's name), ``bytes``
        and ``flops`` of one pass over all rows.
    splits : list of dict, length n_fits
        :meth:`RoundLog.split` of each timed fit.

    Returns
    -------
    dict or None
        ``bytes_per_s`` and ``flops_per_s`` per worker (medians over the fits), and the
        ``kernel``, ``pass_bytes``, ``pass_flops`` and ``passes`` (rounds of the kernel per
        fit, median) they come from; None without work or without a fit whose workers
        timed that kernel.
    """
    if not work:
        return None
    kernel = work["kernel"]
    timed = [
        s["compute_by_fn"][kernel]
        for s in splits
        if (s.get("compute_by_fn") or {}).get(kernel, (0, 0.0))[1] > 0
    ]
    if not timed:
        return None
    # Passes per worker-second of compute.
    rate = statistics.median(count / worker_seconds for count, worker_seconds in timed)
    return {
        "kernel": kernel,
        "bytes_per_s": work["bytes"] * rate,
        "flops_per_s": work["flops"] * rate,
        "pass_bytes": work["bytes"],
        "pass_flops": work["flops"],
        "passes": statistics.median(count for count, _ in timed),
    }
