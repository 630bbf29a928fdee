"""Time to a target: the smallest training budget at which an implementation reaches a
held-out quality, found before the clock, so that models that differ (MLlib's sigmoid MLP,
scikit-learn's Adam, ours' averaging rounds) are timed at the same answer quality; and the
time to quality read from a fit's trace.
"""

from __future__ import annotations

import time
from dataclasses import replace

from dmlbench.reports.records import Target, TargetTry, TimeToQuality
from dmlbench.suites.define.spec import Case
from dmlbench.suites.natives.comparator import Comparator, Fitted

#: The most a time-to-target case trains when it names no budget of its own.
DEFAULT_TARGET_BUDGET = 512


def time_to_target(impl: Comparator, case: Case, algo, test, target: float) -> Target:
    """Find the smallest budget at which ``impl`` reaches ``target`` on the held-out rows,
    and leave ``impl.case`` at it: the fits the runner then times.

    The budget (``algo.budget_param``: the MLP's ``max_iter``, epochs for Adam and
    iterations for L-BFGS) doubles from 1 until a fit's held-out metric reaches the
    target, then bisects between the last budget that missed and the first that reached
    it: the smallest budget when the held-out metric grows with the budget (one less is
    then known to miss; it is recorded, not assumed). Every fit of the search is a whole
    fit from the case's seed (untimed, recorded); the held-out rows that choose the budget
    also grade the timed fits, for every implementation alike. It never goes beyond the case's
    own ``max_iter`` (else :data:`DEFAULT_TARGET_BUDGET`): a target not reached there
    leaves the budget at that ceiling, and the timed fits then fail their check.

    Returns
    -------
    dict
        ``metric``, ``target``, ``budget_param``, ``budget`` (chosen), ``reached`` and
        ``search``: one ``{"budget", "seconds", "value", "n_iter"}`` per fit tried.
    """
    name, metric = algo.budget_param, algo.held_out
    cap = int(case.params.get(name, DEFAULT_TARGET_BUDGET))
    if test is None:
        raise ValueError(
            f"a time-to-target case needs held-out rows; dataset {case.dataset!r} has none "
            "(expected a generated dataset with held-out blocks, or a real one)"
        )
    search: list[TargetTry] = []

    def reaches(budget: int) -> bool:
        impl.case = replace(case, params={**case.params, name: budget})
        t0 = time.perf_counter()
        model = impl.fit()
        seconds = time.perf_counter() - t0
        value = held_out(model, test)
        search.append({"budget": budget, "seconds": seconds, "value": value,
                       "n_iter": model.n_iter})  # fmt: skip
        return reaches_target(algo, value, target)

    missed, budget = 0, 1  # the largest budget known to miss, the one tried next
    while not reaches(budget):
        missed = budget
        if budget >= cap:
            break
        budget = min(2 * budget, cap)
    reached = budget != missed
    while reached and budget - missed > 1:  # reached at budget, not at missed: bisect
        mid = (missed + budget) // 2
        missed, budget = (missed, mid) if reaches(mid) else (mid, budget)
    impl.case = replace(case, params={**case.params, name: budget})
    return {"metric": f"held_out_{metric.name}", "target": target, "budget_param": name,
            "budget": budget, "reached": reached, "search": search}  # fmt: skip


def reaches_target(algo, value: float, target: float) -> bool:
    """Whether a held-out value reaches the target, in the held-out metric's direction."""
    metric = algo.held_out
    return value >= target if metric.higher_is_better else value <= target


def held_out(model: Fitted, test) -> float:
    """A fit's held-out metric, or a clear error when its implementation gives none."""
    if model.held_out is None:
        raise ValueError(
            f"{(model.native or {}).get('impl', 'this implementation')} reports no held-out "
            "metric (Fitted.held_out): a time-to-target case cannot check it"
        )
    return float(model.held_out(test))


#: The time to quality is the time until the trace's objective is within this share of
#: the reference answer.
QUALITY_WITHIN = 0.01


def time_to_quality(algo, traces: list[list[dict]], reference: float) -> TimeToQuality:
    """Per fit: the seconds, from the start of its iteration loop, until its trace's
    objective (the metric itself: ``trace_is_metric``) came within :data:`QUALITY_WITHIN`
    of the reference, in the metric's direction; None when it never did. ``traces``: the
    cold fit's first (``cold_s``), then the timed fits' (``per_fit_s``)."""
    bound = abs(reference) * QUALITY_WITHIN
    better = algo.metric.higher_is_better

    def reached(value: float) -> bool:
        return value >= reference - bound if better else value <= reference + bound

    per_fit = [
        next((row["seconds"] for row in trace if reached(row["objective"])), None)
        for trace in traces
    ]
    return {"within": QUALITY_WITHIN, "cold_s": per_fit[0], "per_fit_s": per_fit[1:]}
