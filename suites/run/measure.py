"""Measuring one launch of a case on a started backend, step by step.

:func:`measure_launch` is the sequence; each step is a function with one job, in this order:

1. make the case's rows resident (:func:`~dmlbench.suites.run.resident.resident_data`);
2. the shared start every implementation and the reference begin from (:func:`_start`);
3. warm up: ours' compiled kernels loaded on the workers (:func:`_warm_up`);
4. prepare: the input in the form the implementation needs, untimed (:func:`_prepare`);
5. search the budget of a time-to-target case, untimed (:func:`_search_budget`);
6. the fit loop: the cold fit, then timed fits until enough (:func:`_fit_loop`);
7. check every fit's answer (:func:`_check_answers`) against the reference, by its
   tolerance rule (:func:`_reference_rule`);
8. the launch's facts (:class:`~dmlbench.suites.run.record_builder.Launch`), from which
   :func:`~dmlbench.suites.run.record_builder.build_record` makes the record.

Only ``fit()`` is inside a clock; what the implementation and the reference made is
released, and the resident rows freed, whatever happens.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dmlbench.reports.records import Target
from dmlbench.suites.define.spec import Case
from dmlbench.suites.define.workloads import ALGORITHMS
from dmlbench.suites.natives.comparator import (
    Comparator,
    Fitted,
    block_source,
    comparator,
    native_rule,
)
from dmlbench.suites.run.record_builder import Check, Fits, Launch
from dmlbench.suites.run.reference import extras_on, reference_metric
from dmlbench.suites.run.repeats import stop_reason
from dmlbench.suites.run.resident import resident_data
from dmlbench.suites.run.target import held_out, reaches_target, time_to_quality, time_to_target

if TYPE_CHECKING:
    from dmlbench.backends import Dataset
    from dmlbench.suites.define.algorithm_spec import AlgorithmSpec
    from dmlbench.suites.define.dataset_spec import DatasetSpec
    from dmlbench.suites.define.starts import Start


@dataclass
class _Setup:
    """What every step of one launch works with."""

    case: Case
    algo: AlgorithmSpec  # the algorithm's spec for the case's parameters
    be: Any  # the started backend
    data: DatasetSpec  # rebuilds exactly the resident blocks
    ds: Dataset  # the resident training rows
    test: Dataset | None  # the resident held-out rows, if the dataset has them
    phases: dict[str, Any]  # the untimed phases' seconds, filled step by step

    @property
    def native(self) -> bool:
        return self.case.impl == "native"


def measure_launch(case: Case, be, earlier: Sequence[Sequence[float]] = ()) -> Launch:
    """Measure one launch of ``case`` on the started ``be``.

    Parameters
    ----------
    case : Case
    be : Backend
        Started; the case's rows are made resident on it and freed before returning.
    earlier : sequence of sequences of float
        Earlier launches' timed fits: they count toward a ``repeats = "auto"`` interval.

    Returns
    -------
    Launch
        Every fit's time and answer, the check of the answers, what the case ran from.
    """
    algo = ALGORITHMS[case.algorithm].for_case(case.params)
    phases: dict[str, Any] = {}
    ds, test, data = resident_data(case, be, phases)
    s = _Setup(case, algo, be, data, ds, test, phases)
    impl: Comparator = comparator(case.algorithm, case.backend) if s.native else Ours()
    try:
        start, started = _start(s)
        impl.start = start  # every implementation (and the reference) starts from it
        _warm_up(s)
        _prepare(impl, s)
        goal = _search_budget(impl, s)
        fits, model = _fit_loop(impl, s, goal, earlier)
        impl.verify()  # the input is still resident and complete after the last fit
        check = _check_answers(s, model, fits, start, started, goal)
        return Launch(
            n_samples=ds.n_samples,
            fits=fits,
            check=check,
            phases=phases,
            work=model.work,
            native=model.native,
            seed=algo.seed_of(case),
            start=started,
            target=goal,
        )
    finally:
        _release(impl, s)


def _start(s: _Setup) -> tuple[Start | None, dict[str, Any] | None]:
    """(the case's shared Start or None, its record or None), ``phases["start_s"]`` set.

    Computed once per case, before any implementation's ``prepare`` and outside every
    clock, from the case's rows (block 0 rebuilt on the driver from the resident recipe).
    The record says how it was made and whether ours started from it too.
    """
    case, algo = s.case, s.algo
    if algo.starts.shared is None:
        return None, None
    t0 = time.perf_counter()
    start = algo.starts.shared(case, block_source(case, s.data)[0], algo.seed_of(case))
    s.phases["start_s"] = time.perf_counter() - t0
    # Natives and the reference keep the shared start whatever the case says for ours.
    shared = s.native or algo.starts_shared(case, start)
    record = {**start.record, "shared": shared}
    if not shared:
        own = {k: case.params[k] for k in start.params if k in case.params}
        tol = algo.starts.own_tolerance
        record["reason"] = (
            f"ours starts from the case's own {own!r}, the reference from the shared start "
            f"{start.record.get('digest', '')}: not the same problem"
            + ("" if tol is None else f", checked one-sided at {tol:g}")
        )
    return start, record


def _warm_up(s: _Setup) -> None:
    """Ours' compiled kernels, loaded in every worker process that holds a block, before
    any fit (``phases["compile_s"]``; the tasks patterns: the processes the scheduler gave
    the warm-up's tasks; the cold fit then warms any other it uses)."""
    if s.native or s.algo.ours.warm_up is None:
        return
    t0 = time.perf_counter()
    warmed = s.be.aggregate(s.ds, s.algo.ours.warm_up, operator.or_)
    s.phases["compile_s"] = time.perf_counter() - t0
    s.phases["compile_processes"] = len(warmed)


def _prepare(impl: Comparator, s: _Setup) -> None:
    """Untimed (``phases["prepare_s"]``): the input in the form the implementation needs,
    cached and complete."""
    t0 = time.perf_counter()
    impl.held_out_rows = s.test
    impl.prepare(s.case, s.algo, s.data, s.be, s.ds)
    s.phases["prepare_s"] = time.perf_counter() - t0


def _search_budget(impl: Comparator, s: _Setup) -> Target | None:
    """A time-to-target case's goal: untimed (``phases["search_s"]``), the smallest budget
    that reaches the target, left set on ``impl``; None for a case without a target."""
    target = s.algo.target_of(s.case)
    if target is None:
        return None
    t0 = time.perf_counter()
    goal = time_to_target(impl, s.case, s.algo, s.test, target)
    s.phases["search_s"] = time.perf_counter() - t0
    return goal


def _fit_loop(
    impl: Comparator, s: _Setup, goal: Target | None, earlier: Sequence[Sequence[float]]
) -> tuple[Fits, Fitted]:
    """The cold fit, then timed fits until :func:`~dmlbench.suites.run.repeats.stop_reason`
    says enough: (every fit, the last fit's model)."""
    be, ds = s.be, s.ds
    seconds: list[float] = []
    values: list[float] = []
    scoring: list[float] = []
    n_iter: list[int | None] = []
    rebuilt: list[int] = []
    traces: list[list[dict[str, float]]] = []
    splits: list[dict[str, Any]] = []
    stop = None
    while stop is None:  # the first (cold) fit is kept apart from the timed ones
        rebuilt_before = be.rebuilt_blocks
        with be.record_rounds() as rounds:
            t0 = time.perf_counter()
            model = impl.fit()  # one clock for ours and the natives: around fit() alone
            seconds.append(time.perf_counter() - t0)
        # Where the fit's time went, round by round.
        splits.append(rounds.split(seconds[-1]))
        # Blocks a fit found missing on its workers were rebuilt inside its clock.
        rebuilt.append(be.rebuilt_blocks - rebuilt_before)
        placement = be.block_hosts(ds)  # as the fit left them, before it is scored
        traces.append(model.trace or [])
        n_iter.append(model.n_iter)
        # Every fit's answer is checked, scored after its clock stopped: a repeat that
        # came out fast because it stopped early must not hide behind a good last one.
        t0 = time.perf_counter()
        values.append(model.metric(ds) if goal is None else held_out(model, s.test))
        scoring.append(time.perf_counter() - t0)
        stop = stop_reason(s.case, seconds[1:], earlier) if len(seconds) > 1 else None
    # A native's rounds are its own engine's, not the protocol's, and its data is its
    # library's own: neither is recorded.
    fits = Fits(
        seconds=seconds,
        values=values,
        n_iter=n_iter,
        scoring_s=scoring,
        rebuilt=rebuilt,
        traces=traces,
        splits=None if s.native else splits,
        block_hosts=None if s.native else list(placement),
        stop=stop,
    )
    return fits, model


def _check_answers(
    s: _Setup,
    model: Fitted,
    fits: Fits,
    start: Start | None,
    started: dict[str, Any] | None,
    goal: Target | None,
) -> Check:
    """Every fit's answer checked against the reference by the case's rule (a
    time-to-target case: every fit must reach the target), the last fit's extras beside
    the reference's, and the time to quality where the trace is the metric."""
    algo = s.algo
    extras = model.extras(s.ds, s.test) if model.extras else {}
    reference, source, ref_extras, rule = _reference_rule(s, model, start, started, goal)
    if goal is None:
        tolerance = rule["value"] if rule else None
        passed = [
            algo.quality_ok(v, reference, native=s.native, tolerance=tolerance) for v in fits.values
        ]
    else:
        passed = [reaches_target(algo, v, reference) for v in fits.values]
    reached = algo.check.trace_is_metric and goal is None and any(fits.traces)
    return Check(
        metric=algo.metric.name if goal is None else goal["metric"],
        reference=reference,
        reference_source=source,
        tolerance=rule["value"] if rule else algo.tolerance_for(s.native),
        relative=algo.metric.relative,
        passed=passed,
        tolerance_reason=rule["reason"] if rule else None,
        extras={
            name: {"value": v, "reference": ref_extras.get(name)} for name, v in extras.items()
        },
        time_to_quality=time_to_quality(algo, fits.traces, reference) if reached else None,
    )


def _reference_rule(
    s: _Setup,
    model: Fitted,
    start: Start | None,
    started: dict[str, Any] | None,
    goal: Target | None,
) -> tuple[float, str, dict[str, float], dict[str, Any] | None]:
    """(reference, its source, its extras, the rule ``{"value", "reason"}`` that replaces
    the declared tolerance or None)."""
    if goal is None:
        reference, source, extras = reference_metric(
            s.case, s.algo, s.data, s.be, s.ds, s.test, start
        )
        # A native whose problem differs from ours (dask-ml penalises the intercept)
        # brings its own rule, with its reason, into the record; ours never does.
        rule = native_rule(s.algo, (model.native or {}).get("tolerance"), reference)
    else:  # every fit must reach the target: ours and a native, one rule
        reference, source, extras = goal["target"], "the case's target", {}
        rule = {"value": 0.0, "reason": f"time to target: every fit's {goal['metric']} at "
                f"least {reference:g}, at {goal['budget_param']}={goal['budget']}"}  # fmt: skip
    # Ours from the case's own init is not the reference's problem: the spec's rule.
    if started and not started["shared"] and s.algo.starts.own_tolerance is not None:
        rule = {"value": s.algo.starts.own_tolerance, "reason": started["reason"]}
    return reference, source, extras, rule


def _release(impl: Comparator, s: _Setup) -> None:
    """Free what the implementation made and the resident rows, whatever happened."""
    with suppress(Exception):
        impl.release()
    for resident in (s.ds, s.test):
        if resident is not None:
            with suppress(Exception):
                s.be.free(resident)


class Ours(Comparator):
    """dmlbench's written-once estimator, behind the interface of the native comparators."""

    library = "dmlbench"

    def prepare(self, case: Case, algo, data, be, ds) -> None:
        # Nothing to convert: the resident dataset is what ours trains on.
        self.case, self.algo, self.data, self.be, self.ds = case, algo, data, be, ds

    def fit(self) -> Fitted:
        algo, be = self.algo, self.be
        # The case's seed and the shared start (unless the case names its own init).
        est = algo.make(algo.run_params(self.case, self.start, ours=True), be, self.data)
        est.fit(self.ds)
        held_out = algo.held_out
        return Fitted(
            lambda d: algo.score(est, d),
            getattr(est, "n_iter_", None),
            getattr(est, "trace_", None),
            extras=lambda d, test: extras_on(algo, est, be, d, test),
            held_out=lambda test: algo.score(est, test, metric=held_out),
            # What one pass of its main kernel costs; an estimator that does not count
            # it (ALS, the table preprocessor: not DistributedEstimators) has none.
            work=getattr(est, "pass_work", lambda n_samples: None)(self.ds.n_samples),
        )
