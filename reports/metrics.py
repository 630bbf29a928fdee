"""The numbers of a scaling report, as plain functions of measured times.

Each takes medians (seconds) and returns a float, or None where the quantity is undefined
(Karp–Flatt on one worker, a slope from one point). No engine, no plotting: the tests
check these against hand-computed values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def speedup(t_base: float, t: float) -> float:
    """How many times faster ``t`` is than ``t_base`` (the time on the base worker count)."""
    return t_base / t


def efficiency(t_base: float, t: float, workers: int, *, base_workers: int = 1) -> float:
    """Parallel efficiency: speedup over the ideal ``workers / base_workers``.

    1.0 is perfect scaling; 0.5 means half of the added workers' time was lost.
    """
    return speedup(t_base, t) * base_workers / workers


def karp_flatt(speedup_value: float, workers: int) -> float | None:
    """Experimentally determined serial fraction ``e = (1/S - 1/p) / (1 - 1/p)``.

    Karp & Flatt (1990). Defined against one worker and for ``p > 1`` only: a fraction
    that grows with ``p`` points at overhead (rounds, the driver), a constant one at
    serial work.
    """
    if workers <= 1:
        return None
    return (1.0 / speedup_value - 1.0 / workers) / (1.0 - 1.0 / workers)


def loglog_slope(sizes: Sequence[float], times: Sequence[float]) -> float | None:
    """Least-squares slope of log(time) against log(size): time ~ size**slope.

    1.0 is linear in the data size; below 1, fixed costs still dominate.
    """
    if len(sizes) < 2 or len(set(sizes)) < 2:
        return None
    xs = [math.log(n) for n in sizes]
    ys = [math.log(t) for t in times]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def crossovers(
    sizes: Sequence[float], times_a: Sequence[float], times_b: Sequence[float]
) -> list[float]:
    """Sizes where curve a and curve b cross, interpolated linearly in log-log space.

    Both curves are measured at the same ``sizes`` (ascending). A crossing at a measured
    size (a tie) is reported once, at that size.
    """
    points = sorted(zip(sizes, times_a, times_b, strict=True))
    logs = [(math.log(n), math.log(a) - math.log(b)) for n, a, b in points]
    found: list[float] = []
    for (x0, d0), (x1, d1) in zip(logs, logs[1:], strict=False):
        if d0 == 0:
            found.append(math.exp(x0))
        elif d0 * d1 < 0:
            found.append(math.exp(x0 + (x1 - x0) * d0 / (d0 - d1)))
    if logs and logs[-1][1] == 0 and len(logs) > 1:
        found.append(math.exp(logs[-1][0]))
    return found


def cost(times_by_workers: Mapping[int, float], baseline: float) -> int | None:
    """COST (McSherry et al., 2015): the fewest workers whose time beats ``baseline``.

    ``baseline`` is one core of scikit-learn/numpy; None when no measured worker count
    beats it (the report then says "more than" the largest count measured).
    """
    beating = [w for w, t in times_by_workers.items() if t < baseline]
    return min(beating) if beating else None
