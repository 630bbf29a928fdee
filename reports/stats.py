"""Intervals on every figure: bootstrap of the raw fit times.

Variance lives at two levels: between engine launches (a fresh engine, fresh data
placement, a fresh JIT) and between the timed fits of one launch. A case's times are
therefore a list of launches, each a list of fit times; one launch is the common case.
A bootstrap replicate resamples launches with replacement, then fits within each chosen
launch, and takes the median of the pooled fits (the percentile bootstrap; Efron &
Tibshirani 1993, ch. 13). Every derived figure (speedup, efficiency, Karp–Flatt, ratios,
COST) is computed on the replicates of its inputs, series by series independently, so its
interval carries the noise of every median it is made of.

Pure numpy, no engine (the formulas themselves are :mod:`dmlbench.reports.metrics`'): the
runner calls :func:`median_interval` to stop adaptive repeats, and the reports and
``compare`` call the rest.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dmlbench.reports import metrics

#: Confidence level of every interval dmlbench prints.
LEVEL = 0.95
#: Bootstrap replicates per interval: the percentiles of 2,000 replicates move by well
#: under 1 % of a typical interval's width between seeds.
RESAMPLES = 2000

Times = Sequence[float] | Sequence[Sequence[float]]


class Interval(float):
    """An estimate with its bootstrap interval; it *is* the estimate (a float), so tables
    keep numbers in their cells and a renderer shows ``value [low, high]``.

    The value is the figure computed from the measured medians themselves (not the mean
    of the replicates); ``low``/``high`` the percentile interval at ``level``; ``n`` the
    timed fits behind it (all series together).
    """

    low: float
    high: float
    n: int
    level: float

    def __new__(
        cls, value: float, low: float, high: float, n: int, level: float = LEVEL
    ) -> Interval:
        self = super().__new__(cls, value)
        self.low, self.high, self.n, self.level = float(low), float(high), int(n), level
        return self

    def __reduce__(self) -> tuple[type[Interval], tuple[float, float, float, int, float]]:
        return (Interval, (float(self), self.low, self.high, self.n, self.level))

    @property
    def value(self) -> float:
        return float(self)

    def overlaps(self, other: Interval) -> bool:
        """Whether two intervals share a point: a tie, not a win."""
        return self.low <= other.high and other.low <= self.high

    def excludes(self, low: float, high: float) -> bool:
        """Whether the whole interval lies outside ``[low, high]``."""
        return self.low > high or self.high < low

    @property
    def half_width(self) -> float:
        """The interval's half width relative to its value (0.05: ±5 %)."""
        return (self.high - self.low) / 2 / abs(self.value) if self.value else float("inf")

    def format(self, spec: str = ".3g", suffix: str = "") -> str:
        """``1.84× [1.71, 1.97]`` style (``suffix="×"``)."""
        v, lo, hi = (format(x, spec) for x in (self.value, self.low, self.high))
        return f"{v}{suffix} [{lo}, {hi}]"

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n,
                "level": self.level}  # fmt: skip


def launches_of(times: Times) -> list[list[float]]:
    """``times`` as a list of launches (a flat list of fit times is one launch).

    Raises
    ------
    ValueError
        No fit time at all, or a launch without one.
    """
    if len(times) and not isinstance(times[0], (int, float, np.floating)):
        launches = [[float(t) for t in launch] for launch in times]  # type: ignore[union-attr]
    else:
        launches = [[float(t) for t in times]]  # type: ignore[arg-type]
    if not launches or any(not launch for launch in launches):
        raise ValueError(f"times must hold at least one fit time per launch; got {times!r}")
    return launches


def median_replicates(times: Times, *, resamples: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """Bootstrap replicates of the median fit time, shape (resamples,) (read-only: shared
    between the figures of one report, which ask for the same series many times).

    Two levels: launches drawn with replacement, then fits drawn with replacement within
    each drawn launch (each launch keeps its own number of fits); the replicate is the
    median of the pooled draws. One launch: the ordinary bootstrap of the median.
    """
    launches = tuple(tuple(launch) for launch in launches_of(times))
    return _median_replicates(launches, resamples, seed)


@functools.lru_cache(maxsize=4096)  # 16 kB each at 2,000 replicates: 64 MB at most
def _median_replicates(launches: tuple[tuple[float, ...], ...], resamples: int,
                       seed: int) -> np.ndarray:  # fmt: skip
    rng = np.random.default_rng(seed)
    n_launches = len(launches)
    picks = rng.integers(0, n_launches, size=(resamples, n_launches))
    if len({len(launch) for launch in launches}) == 1:  # vectorised: launches of equal size
        data = np.asarray(launches)  # (n_launches, m)
        m = data.shape[1]
        drawn = data[picks]  # (resamples, n_launches, m)
        fits = rng.integers(0, m, size=drawn.shape)
        pooled = np.take_along_axis(drawn, fits, axis=2).reshape(resamples, -1)
        out = np.median(pooled, axis=1)
    else:
        arrays = [np.asarray(launch) for launch in launches]
        out = np.empty(resamples)
        for r in range(resamples):
            chosen = (arrays[i] for i in picks[r])
            draws = [a[rng.integers(0, len(a), size=len(a))] for a in chosen]
            out[r] = np.median(np.concatenate(draws))
    out.flags.writeable = False
    return out


def median_of(times: Times) -> float:
    """The median of every fit time of every launch (``statistics.median``: the same
    value as numpy's, ~30x faster on the tens of values of a case)."""
    return float(statistics.median(t for launch in launches_of(times) for t in launch))


def n_fits(times: Times) -> int:
    return sum(len(x) for x in launches_of(times))


def _percentiles(replicates: np.ndarray, level: float) -> tuple[float, float]:
    """The central ``level`` range of the finite replicates: ``np.percentile``'s linear
    interpolation, on one sort (``np.percentile`` itself cost 0.4 ms a call, a report
    makes thousands)."""
    finite = np.sort(replicates[np.isfinite(replicates)])
    if finite.size == 0:
        return float("nan"), float("nan")
    tail = (1 - level) / 2

    def at(q: float) -> float:
        where = q * (finite.size - 1)
        lo = int(math.floor(where))
        hi = min(lo + 1, finite.size - 1)
        return float(finite[lo] + (finite[hi] - finite[lo]) * (where - lo))

    return at(tail), at(1 - tail)


#: The fewest fits whose order-statistic interval of the median reaches 95 %: with 5,
#: [min, max] covers the median only 1 - 2/32 = 93.75 % of the time; with 6, 96.9 %.
MIN_FITS_95 = 6


def order_statistic_interval(values: Sequence[float], level: float = LEVEL) -> Interval:
    """The distribution-free interval of a median: ``[x_(k), x_(n+1-k)]`` of the sorted
    values with the largest ``k`` whose exact coverage, ``1 - 2 P(Binomial(n, 1/2) < k)``,
    is at least ``level``. With too few values for that (fewer than :data:`MIN_FITS_95` at
    95 %), ``[min, max]``, whose true coverage the Interval's ``level`` then states (75 %
    for 3 values): a percentile bootstrap would print the same ends and claim 95 %.
    """
    xs = sorted(float(v) for v in values)
    n = len(xs)
    if n == 0:
        raise ValueError("order_statistic_interval needs at least one value")
    k, covered = _order_statistic_rank(n, level)
    return Interval(statistics.median(xs), xs[k - 1], xs[n - k], n, min(level, covered))


@functools.lru_cache(maxsize=1024)
def _order_statistic_rank(n: int, level: float) -> tuple[int, float]:
    """``(k, coverage)`` of :func:`order_statistic_interval` for ``n`` values (the same
    for every series of ``n`` fits: a report asks thousands of times)."""

    def coverage(k: int) -> float:  # of [x_(k), x_(n+1-k)], 1-indexed
        return 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2**n

    k = 1
    while k + 1 <= (n + 1) // 2 and coverage(k + 1) >= level:
        k += 1
    return k, coverage(k)


def median_interval(
    times: Times, *, level: float = LEVEL, resamples: int = RESAMPLES, seed: int = 0
) -> Interval:
    """The median fit time with its interval: the exact order-statistic interval for one
    launch (:func:`order_statistic_interval`), the two-level bootstrap for several."""
    launches = launches_of(times)
    if len(launches) == 1:
        return order_statistic_interval(launches[0], level)
    reps = median_replicates(times, resamples=resamples, seed=seed)
    low, high = _percentiles(reps, level)
    return Interval(median_of(times), low, high, n_fits(times), level)


def figure_interval(
    figure: Callable[..., float | np.ndarray],
    *series: Times,
    level: float = LEVEL,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> Interval:
    """The interval of ``figure(median_1, median_2, ...)`` of independent series.

    ``figure`` must work elementwise on numpy arrays (``lambda t1, tp: t1 / tp``): it is
    applied once to the measured medians (the value) and once to the replicates of every
    series, each bootstrapped on its own (different seeds: the series are independent
    measurements).
    """
    value = float(figure(*(median_of(s) for s in series)))
    # The same measurements passed twice (a series against itself) share their replicates:
    # a base row's speedup is exactly 1, not noise around it.
    keys = [launches_of(s) for s in series]
    reps = [
        median_replicates(s, resamples=resamples, seed=seed + keys.index(keys[k]))
        for k, s in enumerate(series)
    ]
    with np.errstate(divide="ignore", invalid="ignore"):
        replicated = np.asarray(figure(*reps), dtype=float)
    low, high = _percentiles(replicated, level)
    # A series of few fits cannot support the level (see order_statistic_interval): the
    # interval is labelled with the coverage its thinnest series' median interval has.
    thinnest = min(min(len(x) for x in launches_of(s)) for s in series)
    supported = order_statistic_interval([0.0] * thinnest, level).level
    return Interval(value, low, high, sum(n_fits(s) for s in series), min(level, supported))


def speedup_interval(base: Times, times: Times, **kw: Any) -> Interval:
    """Speedup ``t_base / t`` (:func:`~dmlbench.reports.metrics.speedup`) with its interval."""
    return figure_interval(metrics.speedup, base, times, **kw)


def efficiency_interval(
    base: Times, times: Times, workers: int, *, base_workers: int = 1, **kw: Any
) -> Interval:
    """Parallel efficiency (:func:`~dmlbench.reports.metrics.efficiency`) with its interval."""

    def figure(tb: float, t: float) -> float:
        return metrics.efficiency(tb, t, workers, base_workers=base_workers)

    return figure_interval(figure, base, times, **kw)


def karp_flatt_interval(base: Times, times: Times, workers: int, **kw: Any) -> Interval | None:
    """Karp–Flatt serial fraction (:func:`~dmlbench.reports.metrics.karp_flatt`) with its
    interval (against one worker; None for ``p = 1``)."""
    if workers <= 1:
        return None

    def figure(tb: float, t: float) -> float:
        serial = metrics.karp_flatt(metrics.speedup(tb, t), workers)
        assert serial is not None  # defined for workers > 1
        return serial

    return figure_interval(figure, base, times, **kw)


def ratio_interval(numerator: Times, denominator: Times, **kw: Any) -> Interval:
    """``median(numerator) / median(denominator)`` with its interval (B/A, ours/native)."""
    return figure_interval(lambda a, b: a / b, numerator, denominator, **kw)


def paired_ratio_interval(
    numerators: Sequence[Times], denominators: Sequence[Times], *, level: float = LEVEL
) -> Interval:
    """B/A from runs made in pairs, interleaved in time (A1, B1, A2, B2, ...): the
    geometric mean over the pairs of each pair's ``median(B_i) / median(A_i)``, with the
    Student-t interval of the mean log ratio, ``exp(mean ± t(level, k-1) s / sqrt(k))``.

    A pair's two runs saw the same machine, so its ratio is free of the drift between
    pairs; the spread of the pairs' ratios (each run's own noise and what drift is left)
    is what the interval carries. With few pairs it is wide, as it must be: a percentile
    bootstrap over 2 pairs would print about their [min, max] and claim 95 %.

    Parameters
    ----------
    numerators, denominators : sequence of Times, the same length k >= 2
        Run ``i`` of each side (its launches pooled): pair ``i``.
    """
    from scipy import stats as scipy_stats

    if len(numerators) != len(denominators) or len(numerators) < 2:
        raise ValueError("paired runs need the same number of runs (at least 2) on each side")
    logs = np.log([median_of(b) / median_of(a) for a, b in zip(denominators, numerators,
                                                                strict=True)])  # fmt: skip
    k = logs.size
    half = float(scipy_stats.t.ppf(0.5 + level / 2, k - 1) * logs.std(ddof=1) / np.sqrt(k))
    n = sum(n_fits(t) for t in (*numerators, *denominators))
    mean = float(logs.mean())
    return Interval(math.exp(mean), math.exp(mean - half), math.exp(mean + half), n, level)


@dataclass(frozen=True)
class CostRange:
    """COST (McSherry et al. 2015) with its uncertainty: the fewest measured workers whose
    time beats the one-core baseline, as the range of worker counts its bootstrap gives.

    ``low``/``high`` are worker counts, None meaning "not reached among the measured
    counts"; ``value`` is the COST of the measured medians (None: not reached).
    """

    value: int | None
    low: int | None
    high: int | None
    largest: int  # the largest worker count measured

    def format(self) -> str:
        def name(w: int | None) -> str:
            return f"> {self.largest}" if w is None else str(w)

        if self.value is None and self.low is None and self.high is None:
            return f"not reached (> {self.largest} workers)"
        if self.low == self.high:
            return name(self.value)
        return f"{name(self.value)} [{name(self.low)}, {name(self.high)}]"


def cost_range(
    by_workers: Mapping[int, Times],
    baseline: Times,
    *,
    level: float = LEVEL,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> CostRange:
    """COST of ``by_workers`` (worker count -> times) against ``baseline`` (one core),
    with the central ``level`` range of its bootstrap distribution."""
    counts = sorted(by_workers)
    found = metrics.cost({w: median_of(t) for w, t in by_workers.items()}, median_of(baseline))
    value = np.inf if found is None else float(found)
    reps = np.stack([median_replicates(by_workers[w], resamples=resamples, seed=seed + k)
                     for k, w in enumerate(counts)])  # (counts, resamples); fmt: skip
    base = median_replicates(baseline, resamples=resamples, seed=seed + len(counts))
    # metrics.cost of every replicate at once: the fewest workers (counts ascending) whose
    # replicate beats the baseline's, inf where none does.
    beats = reps < base
    dist = np.where(beats.any(axis=0), np.asarray(counts, dtype=float)[beats.argmax(axis=0)],
                    np.inf)  # fmt: skip
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(dist, [tail, 100 - tail], method="nearest")

    def count(x: float) -> int | None:
        return None if not np.isfinite(x) else int(x)

    return CostRange(count(value), count(low), count(high), counts[-1])


def coefficient_of_variation(times: Times) -> float:
    """Standard deviation over mean of every fit time (0 for a single fit)."""
    pooled = np.concatenate([np.asarray(x) for x in launches_of(times)])
    if pooled.size < 2 or pooled.mean() == 0:
        return 0.0
    return float(pooled.std(ddof=1) / pooled.mean())


def within_launch_cv(times: Times) -> float:
    """The coefficient of variation of the fits within launches: the pooled within-launch
    standard deviation (each launch's variance about its own mean, weighted by its
    degrees of freedom) over the mean of every fit. How noisy one engine launch's, one
    run's, fits are; the spread between launches (the machine's drift between runs) is
    not in it: the interval carries that. Launches of single fits have no spread of their
    own: then the plain coefficient of variation of every fit."""
    launches = [np.asarray(x, dtype=float) for x in launches_of(times)]
    dof = sum(x.size - 1 for x in launches)
    pooled = np.concatenate(launches)
    if dof == 0 or pooled.mean() == 0:
        return coefficient_of_variation(times)
    within = sum(((x - x.mean()) ** 2).sum() for x in launches) / dof
    return float(np.sqrt(within) / pooled.mean())


def mlperf_mean(values: Sequence[float | None]) -> tuple[float | None, int]:
    """MLPerf's aggregate of repeated times to quality: drop the fastest and the slowest,
    the mean of the rest (all of them when fewer than 3); ``(mean, n kept)``. A run that
    never reached the quality (None) counts as the slowest; (None, 0) when none reached it.
    """
    kept = _mlperf_kept(values)
    if kept is None:
        return None, 0 if all(v is None for v in values) else _mlperf_count(values)
    return float(np.mean(kept)), len(kept)


def mlperf_interval(values: Sequence[float | None], *, level: float = LEVEL) -> Interval | None:
    """:func:`mlperf_mean` with the Student-t interval of the kept times' mean,
    ``mean ± t(level, k-1) s / sqrt(k)`` (``n`` = k kept; low = high = the mean when one
    is kept); None when no mean exists (a miss among the kept, or nothing reached).

    The t-interval, not a bootstrap: a time to quality has few repeats (3-10), where a
    percentile bootstrap reports little more than the kept values' range.
    """
    from scipy import stats as scipy_stats

    kept = _mlperf_kept(values)
    if kept is None:
        return None
    x = np.asarray(kept, dtype=float)
    mean, k = float(x.mean()), x.size
    if k < 2:
        return Interval(mean, mean, mean, k, level)
    half = float(scipy_stats.t.ppf(0.5 + level / 2, k - 1) * x.std(ddof=1) / np.sqrt(k))
    return Interval(mean, mean - half, mean + half, k, level)


def _mlperf_count(values: Sequence[float | None]) -> int:
    """How many runs MLPerf's rule keeps (misses included), for a mean that cannot exist."""
    return len(values) - 2 if len(values) >= 3 else len(values)


def _mlperf_kept(values: Sequence[float | None]) -> list[float] | None:
    """The times MLPerf's rule keeps, or None when a miss is among them or none reached."""
    reached = sorted(v for v in values if v is not None)
    missed = len(values) - len(reached)
    if not reached:
        return None
    if len(values) >= 3:
        reached = reached[1:]  # the fastest
        if missed == 0:
            reached = reached[:-1]  # the slowest (else a miss was the slowest)
        else:
            missed -= 1
    if missed or not reached:  # a miss is left among the kept: no mean time exists
        return None
    return reached
