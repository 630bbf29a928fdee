"""One record builder: what launches of a case measured (:class:`Launch`, raw facts) ->
the case's record (:func:`build_record`).

The runner measures each launch of a case (a fresh engine, its own cold fit and timed
fits) as a :class:`Launch`: every fit's time, answer, iterations, round split and rebuilt
blocks, the check of those answers, and what the launch ran on. Every figure the record
derives from them (the fit median and spread, the iteration count, the time per iteration
and per round, the typical round split, the kernel's achieved rates, the outcome) is
computed here, once, whether the case had one launch or several; the tests build their
made-up records through it too. The record's format itself is owned by
:mod:`dmlbench.reports.records` (:class:`~dmlbench.reports.records.Record`).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from dmlbench.backends.rounds import achieved_rates, per_iteration
from dmlbench.reports.records import (
    Achieved,
    BackendInfo,
    FitSplit,
    LaunchSummary,
    Native,
    Phases,
    Quality,
    Record,
    RoundSplit,
    SharedStart,
    Target,
    TimeToQuality,
)


@dataclass(frozen=True)
class Fits:
    """Every fit of one launch, the cold one first, as the fit loop saw it.

    Attributes
    ----------
    seconds : list of float, length n_fits
        Each fit's time, the clock around ``fit()`` alone.
    values : list of float, length n_fits
        Each fit's quality metric (the held-out metric in a time-to-target case).
    n_iter : list of int or None, length n_fits
        Each fit's iterations (None where a library hides them).
    scoring_s : list of float, length n_fits
        Seconds to score each fit (after its clock stopped).
    rebuilt : list of int, length n_fits
        Resident blocks each fit found missing and rebuilt inside its clock.
    traces : list of list of dict, length n_fits
        Each fit's trace (iteration, seconds, objective, ...; empty without one).
    splits : list of dict or None
        ``RoundLog.split`` of each fit (length n_fits); None for a native library, whose
        rounds are its own engine's, not the protocol's.
    block_hosts : list of str or None
        Per block, the host that held it in the last fit's last round (``""``: the engine
        places it); None for a native library (its data is its own).
    stop : str or None
        Why the timed fits stopped (``stop_reason``).
    """

    seconds: list[float]
    values: list[float]
    n_iter: list[int | None]
    scoring_s: list[float]
    rebuilt: list[int]
    traces: list[list[dict[str, float]]]
    splits: list[dict[str, Any]] | None = None
    block_hosts: list[str] | None = None
    stop: str | None = None

    @property
    def timed(self) -> list[float]:
        """The timed fits' seconds (every fit but the cold one)."""
        return self.seconds[1:]


@dataclass(frozen=True)
class Check:
    """How one launch's answers were checked: against what, by which rule, with what result.

    Attributes
    ----------
    metric : str
        The metric's name (``held_out_<metric>`` in a time-to-target case).
    reference : float
        The reference answer (a time-to-target case: the target).
    reference_source : str
        Where the reference came from ("scikit-learn KMeans", "the case's target", ...).
    tolerance : float
        The tolerance the answers were checked at.
    relative : bool
        Whether the tolerance is relative to the reference (else absolute).
    passed : list of bool, length n_fits
        Each fit's verdict, the cold one first.
    tolerance_reason : str or None
        Why a rule of its own replaced the declared tolerance (a native library's, or ours
        from the case's own start); None when none did.
    extras : dict
        Secondary quality numbers of the last fit: name -> ``{"value", "reference"}``.
    time_to_quality : dict or None
        ``time_to_quality`` of the launch's traces, where the trace is the metric itself.
    """

    metric: str
    reference: float
    reference_source: str
    tolerance: float
    relative: bool
    passed: list[bool]
    tolerance_reason: str | None = None
    extras: dict[str, dict[str, float | None]] = field(default_factory=dict)
    time_to_quality: TimeToQuality | None = None


@dataclass(frozen=True)
class Launch:
    """The raw facts of one launch of a case; :func:`build_record` makes the record.

    Attributes
    ----------
    n_samples : int
        Rows really trained on.
    fits : Fits
        Every fit, the cold one first.
    check : Check
        How their answers were checked.
    phases : dict
        The untimed phases' seconds (generate, preprocess, start, compile, prepare,
        search; :class:`~dmlbench.reports.records.Phases`).
    work : dict or None
        One pass of the main kernel (``Fitted.work``): what achieved rates come from.
    native : dict or None
        A native library's impl and settings.
    seed : any
        The effective seed (None: the algorithm has none).
    start : dict or None
        The shared start's record.
    target : dict or None
        A time-to-target case's goal and search.
    engine_start_s, peak_memory_mb, backend_info
        What the launch ran on, added around the measurement: the seconds its engine took
        to start (the same for every case of a group that shares the engine), the process
        tree's peak memory, ``Backend.info()``.
    session, round
        When it ran: the run (an id per ``dmlbench run``, a resumed one has its own) and
        the round of interleaved launches; launches of two cases with the same session and
        round saw the same machine, and their ratios pair.
    """

    n_samples: int
    fits: Fits
    check: Check
    phases: dict[str, Any] = field(default_factory=dict)
    work: dict[str, Any] | None = None
    native: dict[str, Any] | None = None
    seed: Any = None
    start: dict[str, Any] | None = None
    target: Target | None = None
    engine_start_s: float | None = None
    peak_memory_mb: float | None = None
    backend_info: dict[str, Any] | None = None
    session: str | None = None
    round: int | None = None


def build_record(launches: Sequence[Launch]) -> Record:
    """The measurements of a case's record from its launches (one or more).

    The first launch gives the answer and the settings (its phases, trace, reference,
    extras, placement, engine); every launch's fits are pooled: the timed fits
    (``phases.fit_s``; per launch in ``fit_s_by_launch``), every per-fit list (each
    launch's cold fit first) and every figure derived from them. The case is ``ok`` only
    if every launch's every fit is (else the first failing launch's reason).

    Parameters
    ----------
    launches : sequence of Launch, length n_launches >= 1

    Returns
    -------
    Record
        Every field from ``outcome`` to ``n_workers`` (``fit_s_by_launch`` and
        ``launches`` with more than one launch); :func:`~dmlbench.reports.records.make_record`
        adds the case, and the runner the machine, environment and finish time.
    """
    first = launches[0]
    pooled = [t for launch in launches for t in launch.fits.timed]
    timed_iters = [n for launch in launches for n in launch.fits.n_iter[1:]]
    counted = [n for n in timed_iters if n]
    n_iter = statistics.median_low(counted) if counted else None
    median = statistics.median(pooled)
    splits = _timed_splits(launches)
    trace = first.fits.traces[-1]
    outcome, reason = _outcome(launches)
    record: Record = {
        "outcome": outcome,
        "reason": reason,
        "n_samples": first.n_samples,
        "phases": _phases(first, pooled),
        "fit_median_s": median,
        "repeats_stop": launches[-1].fits.stop,  # the last launch judged the interval
        "fit_spread_s": [min(pooled), max(pooled)],
        "n_iter": n_iter,
        "n_iter_per_fit": [n for launch in launches for n in launch.fits.n_iter],
        "rebuilt_blocks": [n for launch in launches for n in launch.fits.rebuilt],
        "block_hosts": first.fits.block_hosts,
        # Per timed fit, then the typical iteration: compute, imbalance, protocol, engine, driver.
        # (backends.rounds' plain dicts, of the shapes reports.records declares.)
        "round_split_per_fit": cast("list[FitSplit] | None", splits),
        "round_split": (
            None if splits is None else cast(RoundSplit, per_iteration(splits, timed_iters))
        ),
        # Per worker: its kernel's bytes/s and flop/s.
        "achieved": (
            None if splits is None else cast("Achieved | None", achieved_rates(first.work, splits))
        ),
        # One way for everyone: the timed median over the timed fits' median iterations
        # (set-up and final passes included, as in a library's fit). Ours' trace also
        # gives the rounds alone.
        "per_iteration_s": median / n_iter if n_iter else None,
        "per_round_s": (
            statistics.median(np.diff([0.0] + [r["seconds"] for r in trace])) if trace else None
        ),
        "trace": trace,
        "timed_traces": [t for launch in launches for t in launch.fits.traces[1:]],
        "quality": _quality(launches, ok=outcome == "ok"),
    }
    _add_settings(record, first)
    if first.peak_memory_mb is not None:
        record["peak_memory_mb"] = max(launch.peak_memory_mb or 0.0 for launch in launches)
    if first.backend_info is not None:
        record["backend_info"] = cast(BackendInfo, first.backend_info)  # Backend.info()
        # What the case really ran on (an existing cluster gives all of its workers).
        record["n_workers"] = first.backend_info["n_workers"]
    if len(launches) > 1:
        record["fit_s_by_launch"] = [launch.fits.timed for launch in launches]
        record["launches"] = [_summary(launch) for launch in launches]
    return record


def _timed_splits(launches: Sequence[Launch]) -> list[dict[str, Any]] | None:
    """Every launch's timed fits' round splits (no cold one); None for a native library."""
    if launches[0].fits.splits is None:
        return None
    return [s for launch in launches for s in (launch.fits.splits or [])[1:]]


def _phases(first: Launch, pooled: list[float]) -> Phases:
    """The first launch's phases, every launch's timed fits, the engine's start last."""
    return cast(
        Phases,
        {
            **first.phases,
            "fit_cold_s": first.fits.seconds[0],
            "fit_s": pooled,
            "predict_s": statistics.median(first.fits.scoring_s),
            "engine_start_s": first.engine_start_s,
        },
    )


def _quality(launches: Sequence[Launch], *, ok: bool) -> Quality:
    """The first launch's check, every launch's values (each launch's cold fit first)."""
    first, check = launches[0], launches[0].check
    quality: Quality = {
        "metric": check.metric,
        "value": first.fits.values[-1],
        "values": [v for launch in launches for v in launch.fits.values],
        "reference": check.reference,
        "reference_source": check.reference_source,
        "tolerance": check.tolerance,
    }
    if check.tolerance_reason is not None:
        quality["tolerance_reason"] = check.tolerance_reason
    quality["ok"] = ok
    if check.time_to_quality is not None:
        per_fit = [
            t
            for launch in launches
            if launch.check.time_to_quality is not None
            for t in launch.check.time_to_quality["per_fit_s"]
        ]
        quality["time_to_quality"] = {**check.time_to_quality, "per_fit_s": per_fit}
    quality["extras"] = check.extras
    return quality


def _add_settings(record: Record, first: Launch) -> None:
    """The first launch's native settings, seed, shared start and target, where it has them
    (the native's and the start's as their producers made them: the shapes declared in
    :mod:`dmlbench.reports.records`, with a library's own extras beside)."""
    if first.native:
        record["native"] = cast(Native, first.native)
    if first.seed is not None:
        record["seed"] = first.seed
    if first.start:
        record["start"] = cast(SharedStart, first.start)
    if first.target:
        record["target"] = first.target


def _outcome(launches: Sequence[Launch]) -> tuple[str, str | None]:
    """``("ok", None)``, else ``wrong-answer`` with the first failing launch's reason
    (named ``launch k:`` when the case had several)."""
    for k, launch in enumerate(launches):
        reason = _failures(launch)
        if reason is not None:
            return "wrong-answer", reason if len(launches) == 1 else f"launch {k + 1}: {reason}"
    return "ok", None


def _failures(launch: Launch) -> str | None:
    """Which fits of ``launch`` are off the reference, and by what rule; None if none is."""
    check, values = launch.check, launch.fits.values
    failed = [
        f"{fit_name(i)}: {check.metric} {v:.10g}"
        for i, (v, passed) in enumerate(zip(values, check.passed, strict=True))
        if not passed
    ]
    if not failed:
        return None
    return (
        f"{len(failed)} of {len(values)} fits off the reference {check.metric} "
        f"{check.reference:.10g} (tolerance {check.tolerance:g}, "
        f"{'relative' if check.relative else 'absolute'}): {'; '.join(failed)}"
    )


def _summary(launch: Launch) -> LaunchSummary:
    """One launch of several, in brief: its outcome, engine start, fits, answers."""
    outcome, reason = _outcome([launch])
    return {
        "outcome": outcome,
        "reason": reason,
        "engine_start_s": launch.engine_start_s,
        "fit_cold_s": launch.fits.seconds[0],
        "fit_median_s": statistics.median(launch.fits.timed),
        "repeats_stop": launch.fits.stop,
        "quality_values": launch.fits.values,
        "rebuilt_blocks": launch.fits.rebuilt,
        "session": launch.session,
        "round": launch.round,
    }


def fit_name(index: int) -> str:
    """How a reason names fit ``index`` of a launch (0 is the cold fit)."""
    return "cold fit" if index == 0 else f"timed repeat {index}"
