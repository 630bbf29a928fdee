"""How many timed fits a case gets: a fixed count, or ``repeats = "auto"``; and how a
case's launches (fresh engines, each with its own fits) become one record.

Auto adds timed fits after the cold one until the 95 % interval of the median fit time
(the exact order-statistic interval of this launch's fits, or the two-level bootstrap
over every launch's so far) is within ±5 %, with at least 6 fits (the fewest whose median
interval can reach 95 %: stopping earlier on a lucky tight range would overstate it) and
at most the case's ``max_repeats``, and stops earlier when one more fit
would pass the case's ``budget`` of timed-fit seconds for this launch. Why it stopped is
recorded with the case (``repeats_stop``), and every fit's time is kept.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from dmlbench.backends._rounds import achieved_rates, per_iteration
from dmlbench.reports.stats import median_interval
from dmlbench.suites.define.spec import AUTO, AUTO_HALF_WIDTH, AUTO_MIN_REPEATS, Case


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
    if len(timed) < AUTO_MIN_REPEATS:
        return None
    interval = median_interval([*earlier, list(timed)])
    if interval.half_width <= AUTO_HALF_WIDTH:
        return (
            f"auto: 95 % interval of the median within ±{interval.half_width:.1%} "
            f"(goal ±{AUTO_HALF_WIDTH:.0%}) after {len(timed)} fits"
        )
    if len(timed) >= case.max_repeats:
        return f"auto: max_repeats {case.max_repeats} reached at ±{interval.half_width:.1%}"
    if sum(timed) + statistics.median(timed) > case.budget:
        return (
            f"auto: budget of {case.budget:g} s of timed fits reached at "
            f"±{interval.half_width:.1%} after {len(timed)} fits"
        )
    return None


def merge_launches(launches: list[dict[str, Any]]) -> dict[str, Any]:
    """One record of a case's launches: the first's answer and settings, every launch's
    timed fits pooled (``phases.fit_s``; per launch in ``fit_s_by_launch``), and a summary
    per launch; ``ok`` only if every launch is (else the first failing one's reason)."""
    by_launch = [r["phases"]["fit_s"] for r in launches]
    pooled = [t for fits in by_launch for t in fits]
    merged = {**launches[0], "phases": {**launches[0]["phases"], "fit_s": pooled}}
    merged["fit_s_by_launch"] = by_launch
    # Every per-fit list runs over every launch's fits (each launch's cold fit first).
    for key in ("n_iter_per_fit", "rebuilt_blocks", "timed_traces"):
        merged[key] = [x for r in launches for x in r.get(key) or []]
    if merged.get("round_split_per_fit") is not None:  # timed fits only: no cold one
        splits = [x for r in launches for x in r["round_split_per_fit"]]
        timed_iters = [n for r in launches for n in r["n_iter_per_fit"][1:]]
        merged["round_split_per_fit"] = splits
        merged["round_split"] = per_iteration(splits, timed_iters)
        if merged.get("achieved"):
            a = merged["achieved"]
            work = {"kernel": a["kernel"], "bytes": a["pass_bytes"], "flops": a["pass_flops"]}
            merged["achieved"] = achieved_rates(work, splits)
    quality = {**merged["quality"]}
    quality["values"] = [v for r in launches for v in r["quality"]["values"]]
    if "time_to_quality" in quality:
        per_fit = [t for r in launches for t in r["quality"]["time_to_quality"]["per_fit_s"]]
        quality["time_to_quality"] = {**quality["time_to_quality"], "per_fit_s": per_fit}
    merged["quality"] = quality
    merged["peak_memory_mb"] = max(r.get("peak_memory_mb") or 0.0 for r in launches)
    merged["fit_median_s"] = statistics.median(pooled)
    merged["fit_spread_s"] = [min(pooled), max(pooled)]
    if merged.get("n_iter"):
        merged["per_iteration_s"] = merged["fit_median_s"] / merged["n_iter"]
    merged["launches"] = [
        {
            "outcome": r["outcome"],
            "reason": r.get("reason"),
            "engine_start_s": r["phases"].get("engine_start_s"),
            "fit_cold_s": r["phases"]["fit_cold_s"],
            "fit_median_s": r["fit_median_s"],
            "repeats_stop": r.get("repeats_stop"),
            "quality_values": r["quality"]["values"],
            "rebuilt_blocks": r.get("rebuilt_blocks"),
        }
        for r in launches
    ]
    bad = next(((k, r) for k, r in enumerate(launches) if r["outcome"] != "ok"), None)
    if bad is not None:
        k, r = bad
        merged.update(outcome=r["outcome"], reason=f"launch {k + 1}: {r['reason']}")
        merged["quality"]["ok"] = False
    return merged
