"""How many timed fits a case gets: a fixed count, or ``repeats = "auto"``.

Auto adds timed fits after the cold one until the 95 % interval of the median fit time
(the exact order-statistic interval of this launch's fits, or the two-level bootstrap
over every launch's so far) is within ±5 %, with at least 6 fits (the fewest whose median
interval can reach 95 %: stopping earlier on a lucky tight range would overstate it) and
at most the case's ``max_repeats``, and stops earlier when one more fit
would pass the case's ``budget`` of timed-fit seconds. Why it stopped is
recorded with the case (``repeats_stop``), and every fit's time is kept.

With several launches the counts and the budget are the case's, shared: each launch but
the last makes its share of the 6 fits (at least 3), and the last one adds fits until the
interval over every launch reaches ±5 %, or the case's ``max_repeats`` or budget (every
launch's fits counted) is spent.
A case's launches (fresh engines, each with its own fits) become one record in
:func:`dmlbench.suites.run.record_builder.build_record`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from dmlbench.reports.stats import median_interval
from dmlbench.suites.define.spec import AUTO, AUTO_HALF_WIDTH, AUTO_MIN_REPEATS, Case

#: The fewest timed fits one launch of an auto case makes.
AUTO_MIN_PER_LAUNCH = 3


def stop_reason(
    case: Case, timed: Sequence[float], earlier: Sequence[Sequence[float]] = ()
) -> str | None:
    """None while ``case`` needs another timed fit, else why its timed fits are done.

    Parameters
    ----------
    case : Case
        Its ``repeats`` (an int, or "auto"), ``budget`` and ``max_repeats``.
    timed : sequence of float
        This launch's timed fits so far (the cold fit is not among them).
    earlier : sequence of sequences of float
        Earlier launches' timed fits: the interval is over all of them.
    """
    if case.repeats != AUTO:
        return None if len(timed) < int(case.repeats) else f"{case.repeats} repeats (fixed)"
    launches = max(case.launches, 1)
    # The auto rule's counts are the case's, shared between its launches: each launch makes
    # its share of the 6 fits (at least 3: a launch's first timed fits are its warmest),
    # the last one judges the interval over all and has what the others left.
    least = max(AUTO_MIN_PER_LAUNCH, math.ceil(AUTO_MIN_REPEATS / launches))
    if len(timed) < least:
        return None
    if len(earlier) < launches - 1:  # not the last launch: it has its share, the last judges
        return f"auto: launch {len(earlier) + 1} of {launches}: its share of {least} fits"
    interval = median_interval([*earlier, list(timed)])
    if interval.half_width <= AUTO_HALF_WIDTH:
        return (
            f"auto: 95 % interval of the median within ±{interval.half_width:.1%} "
            f"(goal ±{AUTO_HALF_WIDTH:.0%}) after {len(timed) + sum(map(len, earlier))} fits"
        )
    if len(timed) + sum(map(len, earlier)) >= case.max_repeats:
        return f"auto: max_repeats {case.max_repeats} reached at ±{interval.half_width:.1%}"
    spent = sum(timed) + sum(map(sum, earlier))
    if spent + statistics.median(timed) > case.budget:
        return (
            f"auto: budget of {case.budget:g} s of timed fits reached at "
            f"±{interval.half_width:.1%} after {len(timed) + sum(map(len, earlier))} fits"
        )
    return None
