"""The runner: cases -> verified results, one JSONL record per case, written at once.

* Cases are grouped by (backend, n_workers); an engine starts once per group.
* Each case records its phases (engine start, data generation, fit, predict), the cold
  fit apart from the timed repeats (median and spread), iterations and per-iteration
  time, its quality metric checked against a reference (scikit-learn on the same data,
  else the local backend), peak memory of the process tree, and an outcome: ``ok``,
  ``wrong-answer``, ``timeout``, ``failed`` or ``skipped`` with its reason.
* A record is appended, flushed and fsynced the moment its case ends: a crash or kill
  loses nothing finished, and ``resume`` runs only the cases not yet recorded.
* A case past its timeout is cancelled on the engine (``Backend.cancel``) and the suite
  goes on; an engine failure marks the case ``failed`` and the next case gets a new engine.

Measuring is its only job: the results format is :mod:`dmlbench.reports.records`; progress,
peak memory and the watchdog :mod:`~dmlbench.suites.run.monitor`; the environment record
:mod:`~dmlbench.suites.run.environment`; the reference answer :mod:`~dmlbench.suites.run.reference`;
native libraries :mod:`~dmlbench.suites.natives.common`; what an algorithm is, its spec
(:mod:`~dmlbench.suites.define.workloads`).
"""

from __future__ import annotations

import json
import operator
import socket
import statistics
import sys
import time
import traceback
from contextlib import suppress
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from dmlbench.backends import BackendError, BackendUnavailable, Cancelled, get_backend, max_workers
from dmlbench.backends import patterns as offered_patterns
from dmlbench.backends._registry import cluster_endpoints, missing_modules
from dmlbench.backends._rounds import achieved_rates, per_iteration
from dmlbench.reports.records import (
    RESULTS_NAME,
    append_record,
    make_record,
    read_records,
    to_json,
)
from dmlbench.suites.bench.limits import machine_limits
from dmlbench.suites.define.spec import Case, Suite, SuiteError
from dmlbench.suites.define.workloads import ALGORITHMS
from dmlbench.suites.natives.common import (
    NATIVES,
    Comparator,
    Fitted,
    NativeUnsupported,
    block_source,
    comparator,
    native_rule,
    no_native_reason,
)
from dmlbench.suites.run import interrupts
from dmlbench.suites.run.environment import calibration, environment, machine_state
from dmlbench.suites.run.monitor import PeakMemory, Progress, Watchdog
from dmlbench.suites.run.reference import extras_on, reference_metric
from dmlbench.suites.run.repeats import merge_launches, stop_reason
from dmlbench.suites.run.resident import resident_data
from dmlbench.suites.run.resources import engine_options
from dmlbench.suites.run.run_lock import run_lock
from dmlbench.suites.run.target import held_out, reaches_target, time_to_quality, time_to_target

#: Seconds an engine gets to shut down after an interrupt, before its processes are ended.
CLOSE_AFTER_INTERRUPT_S = 4.0


# -- running ----------------------------------------------------------------------------
def skip_reason(case: Case) -> str | None:
    """Why a case cannot run here, or None."""
    if missing_modules(case.backend):
        return f"{case.backend} is not installed: pip install 'dmlbench[{case.backend}]'"
    limit = max_workers(case.backend)
    if limit is not None and case.n_workers > limit:
        return f"the {case.backend} backend has at most {limit} worker(s)"
    if case.impl == "native":
        if (case.algorithm, case.backend) not in NATIVES:
            return no_native_reason(case.algorithm, case.backend)
        return comparator(case.algorithm, case.backend).skip_reason(case)
    return None


def run_suite(
    suite: Suite,
    out_dir: Path,
    *,
    resume: bool = False,
    timeout: float | None = None,
    options: dict[str, dict] | None = None,
    stream: TextIO | None = None,
) -> Path:
    """Run every case of ``suite`` not yet in ``out_dir/results.jsonl``; return its path.

    Raises
    ------
    SuiteError
        A cluster address that nothing answers at (refused before the first case; see
        :func:`check_clusters_reachable`).
    dmlbench.reports.records.RecordsError
        Resuming onto a results file with a line that is not a record (file:line named).
    dmlbench.reports.records.ResultsWriteError
        ``out_dir`` cannot be written (before the first case), or a record could not be
        written (a full disk): the run stops there, the file as it was before that record.
    dmlbench.suites.run.run_lock.RunLocked
        Another live run is writing to ``out_dir``.
    """
    stream = stream or sys.stderr
    check_clusters_reachable(suite, options or {})
    for note in suite.left_out:
        print(f"note: {note}", file=stream)
    notes: list[str] = []
    with run_lock(out_dir, notes):  # the run's first write: an unwritable --out fails here
        for note in notes:
            print(f"note: {note}", file=stream)
        return _run_cases(suite, out_dir / RESULTS_NAME, resume, timeout, options, stream)


def _run_cases(
    suite: Suite,
    path: Path,
    resume: bool,
    timeout: float | None,
    options: dict[str, dict] | None,
    stream: TextIO,
) -> Path:
    if path.exists() and not resume:
        raise FileExistsError(
            f"{path} exists: add --resume to run only what is missing, or choose another --out"
        )
    done = {r["case_id"] for r in read_records(path)} if path.exists() else set()
    todo = [c for c in suite.cases if c.id not in done]
    env = environment()
    env["calibration"] = calibration()  # the run's noise floor, before any engine starts
    env["limits"] = machine_limits()  # memory bandwidth and DGEMM: cached per machine
    progress = Progress(len(todo), stream)
    groups: dict[tuple[str, int, str | None], list[Case]] = {}
    for case in todo:
        # A native case (and one naming no pattern) runs on the engine of the backend's
        # default pattern: dask-ml shares the cluster of ours' "resident" cases.
        default = next(iter(offered_patterns(case.backend)), None)
        key = (case.backend, case.n_workers, case.pattern or default)
        groups.setdefault(key, []).append(case)
    try:
        for (backend, n_workers, pattern), cases in groups.items():
            # Resources (Spark's memory) sized from the group's largest case, the user's
            # settings on top: ours and the native get the same engine.
            opts = engine_options(backend, cases, (options or {}).get(backend, {}))
            if pattern is not None:
                opts = {**opts, "pattern": pattern}
            engine = _Engine(backend, n_workers, opts)
            try:
                for case in cases:
                    progress.start(case)
                    t0 = time.perf_counter()
                    before = machine_state()
                    result = _run_one(case, engine, timeout or case.timeout)
                    # An interrupt an engine swallowed (wrapped in an error of its own) is
                    # not a failure of this case: the case is not recorded.
                    interrupts.check()
                    result["machine"] = {"before": before, "after": machine_state()}
                    record = make_record(
                        case.to_dict(), **result, environment=env, finished_at=time.time()
                    )
                    with interrupts.deferred():  # a finished case is never half-written
                        append_record(path, record)
                    progress.finish(
                        case, record["outcome"], time.perf_counter() - t0, record.get("reason")
                    )
            finally:
                engine.close()
    finally:
        progress.close()
    return path


def check_clusters_reachable(suite: Suite, options: dict[str, dict], seconds: float = 3.0) -> None:
    """Refuse, before anything runs, a cluster address nothing answers at.

    Without this each engine waits its own timeout per case (Dask 30 s, Spark's master
    about a minute, Ray's GCS for good) before the case fails.
    """
    used = {c.backend for c in suite.cases}
    for backend, opts in options.items():
        address = opts.get("address")
        if not address or backend not in used:
            continue
        endpoints, hint = cluster_endpoints(backend, address)
        errors = []
        for host, port in endpoints:
            try:
                socket.create_connection((host, port), timeout=seconds).close()
                break  # one master answering is enough (Spark's standby masters)
            except OSError as exc:
                errors.append(f"{host}:{port}: {exc.strerror or type(exc).__name__}")
        else:
            if errors:
                raise SuiteError(
                    f"cannot reach the {backend} cluster at {address} ({'; '.join(errors)}): "
                    f"{hint}, or check the address"
                )


class _Engine:
    """A backend started on first use, restarted after an engine failure."""

    def __init__(self, name: str, n_workers: int, options: dict):
        self.name, self.n_workers, self.options = name, n_workers, options
        self.be: Any = None
        self.start_s: float | None = None
        self.start_error: Exception | None = None  # why it could not start, once

    def get(self):
        if self.start_error is not None:  # it did not start for an earlier case: no retry
            raise self.start_error
        if self.be is None:
            t0 = time.perf_counter()
            try:
                self.be = get_backend(self.name, n_workers=self.n_workers, **self.options).start()
            except Exception as exc:
                # Starting again for every case would wait out the same timeout each time
                # (a cluster that does not answer, a runtime that refuses to start).
                self.start_error = exc
                raise
            self.start_s = time.perf_counter() - t0
        return self.be

    def close(self) -> None:
        if self.be is not None:
            if interrupts.received() is not None:  # a shutdown that hangs must not stop us
                interrupts.bounded(self.be.close, CLOSE_AFTER_INTERRUPT_S)
            else:
                with suppress(Exception):
                    self.be.close()
        self.be = None


def _run_one(case: Case, engine: _Engine, timeout: float) -> dict[str, Any]:
    """One case: each of its ``launches`` on a fresh engine (the first on the group's),
    merged into one record; a launch that does not measure ends the case with its outcome."""
    reason = skip_reason(case)
    if reason:
        return {"outcome": "skipped", "reason": reason}
    launches: list[dict[str, Any]] = []
    for k in range(case.launches):
        if k:
            engine.close()  # launch-level variance: a new engine, new data placement
        earlier = [r["phases"]["fit_s"] for r in launches]
        result = _one_launch(case, engine, timeout, earlier)
        if "phases" not in result or case.launches == 1:  # did not measure: the case ends
            return result if not launches else {**result, "reason": f"launch {k + 1}: "
                                                f"{result.get('reason')}"}  # fmt: skip
        launches.append(result)
    return merge_launches(launches)


def _one_launch(
    case: Case, engine: _Engine, timeout: float, earlier: list[list[float]]
) -> dict[str, Any]:
    """One launch of ``case`` on ``engine`` (started here if it is not running)."""
    failed_before = engine.start_error is not None
    try:
        be = engine.get()
    except Exception as exc:  # noqa: BLE001 - an engine that cannot start fails its case only
        engine.close()
        again = " (not retried: it did not start for an earlier case)" if failed_before else ""
        return {
            "outcome": "skipped" if isinstance(exc, BackendUnavailable) else "failed",
            "reason": f"engine did not start: {type(exc).__name__}: {exc}{again}",
        }
    watchdog = Watchdog(be, timeout)
    try:
        with PeakMemory() as memory, watchdog:
            record = _measure(case, be, earlier)
        record["peak_memory_mb"] = round(memory.peak / 2**20, 1)
        record["phases"]["engine_start_s"] = engine.start_s
        record["backend_info"] = _plain(be.info())
        # What the case really ran on (an existing cluster gives all of its workers).
        record["n_workers"] = record["backend_info"]["n_workers"]
        return record
    except Cancelled:
        return {"outcome": "timeout", "reason": f"over the {timeout:g} s timeout; cancelled"}
    except NativeUnsupported as exc:
        return {"outcome": "skipped", "reason": str(exc)}
    except BackendError as exc:  # the engine itself failed: the next case gets a new one
        engine.close()
        return {
            "outcome": "failed",
            "reason": f"engine failure: {exc}",
            "traceback": traceback.format_exc(limit=5),
        }
    except Exception as exc:  # noqa: BLE001 - one failing case must not stop the suite
        if watchdog.fired:
            return {"outcome": "timeout", "reason": f"over the {timeout:g} s timeout; cancelled"}
        if not be.engine_alive():  # an error outside a verb's round, from a dead engine
            engine.close()
            return {
                "outcome": "failed",
                "reason": f"engine failure: {type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=5),
            }
        return {
            "outcome": "failed",
            "reason": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(limit=5),
        }


def _measure(case: Case, be, earlier: list[list[float]] | None = None) -> dict[str, Any]:
    """Measure one launch of ``case`` on the started ``be``: data made resident, the
    implementation prepared (untimed), the cold fit, the timed fits (until
    :func:`~dmlbench.suites.run.repeats.stop_reason`; ``earlier`` launches' fits count toward
    an auto interval), every fit's answer checked."""
    algo = ALGORITHMS[case.algorithm].for_case(case.params)
    phases: dict[str, Any] = {}
    ds, test, data = resident_data(case, be, phases)
    impl: Comparator = comparator(case.algorithm, case.backend) if case.impl == "native" else Ours()
    try:
        start, started = _start(case, algo, data, phases)
        impl.start = start  # every implementation (and the reference) starts from it
        if case.impl != "native" and algo.warm_up is not None:
            # Ours' compiled kernels, loaded in every worker process that holds a block
            # (the tasks patterns: those the scheduler gave the warm-up's tasks; the cold
            # fit then warms any other it uses), before any fit.
            t0 = time.perf_counter()
            warmed = be.aggregate(ds, algo.warm_up, operator.or_)
            phases["compile_s"] = time.perf_counter() - t0
            phases["compile_processes"] = len(warmed)
        # Untimed: the input in the form the implementation needs, cached and complete.
        t0 = time.perf_counter()
        impl.held_out_rows = test
        impl.prepare(case, algo, data, be, ds)
        phases["prepare_s"] = time.perf_counter() - t0
        target = algo.target_of(case)
        goal = None
        if target is not None:  # untimed: the smallest budget that reaches the target
            t0 = time.perf_counter()
            goal = time_to_target(impl, case, algo, test, target)
            phases["search_s"] = time.perf_counter() - t0
        metric_name = algo.metric.name if goal is None else goal["metric"]
        fits, traces, values, scoring, n_iters, rebuilt = [], [], [], [], [], []
        splits: list[dict[str, Any]] = []
        stop = None
        while stop is None:  # the first (cold) fit is kept apart from the timed ones
            rebuilt_before = be.rebuilt_blocks
            with be.record_rounds() as rounds:
                t0 = time.perf_counter()
                model = impl.fit()  # one clock for ours and the natives: around fit() alone
                fits.append(time.perf_counter() - t0)
            # Where the fit's time went, round by round (a native's rounds are its own
            # engine's, not the protocol's: none recorded).
            splits.append(rounds.split(fits[-1]))
            # Blocks a fit found missing on its workers were rebuilt inside its clock.
            rebuilt.append(be.rebuilt_blocks - rebuilt_before)
            placement = be.block_hosts(ds)  # as the fit left them, before it is scored
            traces.append(model.trace or [])
            n_iters.append(model.n_iter)
            # Every fit's answer is checked, scored after its clock stopped: a repeat that
            # came out fast because it stopped early must not hide behind a good last one.
            t0 = time.perf_counter()
            values.append(model.metric(ds) if goal is None else held_out(model, test))
            scoring.append(time.perf_counter() - t0)
            stop = stop_reason(case, fits[1:], earlier or ()) if len(fits) > 1 else None
        impl.verify()  # the input is still resident and complete after the last fit
        phases["fit_cold_s"], timed = fits[0], fits[1:]
        phases["fit_s"] = timed
        phases["predict_s"] = statistics.median(scoring)
        value = values[-1]
        extras = model.extras(ds, test) if model.extras else {}
        native = case.impl == "native"
        if goal is None:
            reference, ref_source, ref_extras = reference_metric(
                case, algo, data, be, ds, test, start
            )
            # A native whose problem differs from ours (dask-ml penalises the intercept)
            # brings its own rule, with its reason, into the record; ours never does.
            rule = native_rule(algo, (model.native or {}).get("tolerance"), reference)
        else:  # every fit must reach the target: ours and a native, one rule
            reference, ref_source, ref_extras = target, "the case's target", {}
            rule = {"value": 0.0, "reason": f"time to target: every fit's {metric_name} at "
                    f"least {target:g}, at {goal['budget_param']}={goal['budget']}"}  # fmt: skip
        # Ours from the case's own init is not the reference's problem: the spec's rule.
        if started and not started["shared"] and algo.own_start_tolerance is not None:
            rule = {"value": algo.own_start_tolerance, "reason": started["reason"]}
        tolerance = rule["value"] if rule else algo.tolerance_for(native)
        passed = [
            algo.quality_ok(v, reference, native=native, tolerance=rule and rule["value"])
            if goal is None
            else reaches_target(algo, v, target)
            for v in values
        ]
        ok = all(passed)
        failed = [
            f"{_fit_name(i)}: {metric_name} {v:.10g}"
            for i, (v, p) in enumerate(zip(values, passed, strict=True))
            if not p
        ]
        trace = getattr(model, "trace", None) or []
        timed_iters = [n for n in n_iters[1:] if n]
        n_iter = statistics.median_low(timed_iters) if timed_iters else None
        # One way for everyone: the timed median over the timed fits' median iterations
        # (set-up and final passes included, as in a library's fit). Ours' trace also
        # gives the rounds alone.
        per_iter = statistics.median(timed) / n_iter if n_iter else None
        per_round = (
            statistics.median(np.diff([0.0] + [r["seconds"] for r in trace])) if trace else None
        )
        split = None if native else per_iteration(splits[1:], n_iters[1:])
        achieved = None if native else achieved_rates(model.work, splits[1:])
        return {
            "outcome": "ok" if ok else "wrong-answer",
            "reason": None
            if ok
            else (
                f"{len(failed)} of {len(values)} fits off the reference {metric_name} "
                f"{reference:.10g} (tolerance {tolerance:g}, "
                f"{'relative' if algo.metric.relative else 'absolute'}): {'; '.join(failed)}"
            ),
            "n_samples": ds.n_samples,
            "phases": phases,
            "fit_median_s": statistics.median(timed),
            "repeats_stop": stop,
            "fit_spread_s": [min(timed), max(timed)],
            "n_iter": n_iter,
            "n_iter_per_fit": n_iters,  # the cold fit first; None where a library hides it
            "rebuilt_blocks": rebuilt,  # per fit, the cold one first: 0 when all resident
            # Per block of the case's data, the host that held it in the last fit's last
            # round ("": the engine places it); a native's data is its library's own.
            "block_hosts": None if native else list(placement),
            # Per timed fit, then the typical iteration: compute, imbalance, engine, driver.
            "round_split_per_fit": None if native else splits[1:],
            "round_split": split,
            "achieved": achieved,  # per worker: its kernel's bytes/s and flop/s
            "per_iteration_s": per_iter,
            "per_round_s": per_round,
            "trace": trace,
            "timed_traces": traces[1:],  # one per timed fit: convergence bands
            "quality": {
                "metric": metric_name,
                "value": value,
                "values": values,  # one per fit, the cold one first
                "reference": reference,
                "reference_source": ref_source,
                "tolerance": tolerance,
                **({"tolerance_reason": rule["reason"]} if rule else {}),
                "ok": ok,
                **(
                    {"time_to_quality": time_to_quality(algo, traces, reference)}
                    if algo.trace_is_metric and goal is None and any(traces)
                    else {}
                ),
                "extras": {
                    name: {"value": v, "reference": ref_extras.get(name)}
                    for name, v in extras.items()
                },
            },
            **({"native": model.native} if model.native else {}),
            **({"seed": seed} if (seed := algo.seed_of(case)) is not None else {}),
            **({"start": started} if started else {}),
            **({"target": goal} if goal else {}),
        }
    finally:
        with suppress(Exception):
            impl.release()
        for resident in (ds, test):
            if resident is not None:
                with suppress(Exception):
                    be.free(resident)


def _start(case: Case, algo, data, phases: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
    """(the case's shared Start or None, its record or None), ``phases["start_s"]`` set.

    Computed once per case, before any implementation's ``prepare`` and outside every
    clock, from the case's rows (block 0 rebuilt on the driver from the resident recipe).
    The record says how it was made and whether ours started from it too.
    """
    if algo.start is None:
        return None, None
    t0 = time.perf_counter()
    start = algo.start(case, block_source(case, data)[0], algo.seed_of(case))
    phases["start_s"] = time.perf_counter() - t0
    # Natives and the reference keep the shared start whatever the case says for ours.
    shared = case.impl == "native" or algo.starts_shared(case, start)
    record = {**start.record, "shared": shared}
    if not shared:
        own = {k: case.params[k] for k in start.params if k in case.params}
        tol = algo.own_start_tolerance
        record["reason"] = (
            f"ours starts from the case's own {own!r}, the reference from the shared start "
            f"{start.record.get('digest', '')}: not the same problem"
            + ("" if tol is None else f", checked one-sided at {tol:g}")
        )
    return start, record


def _fit_name(index: int) -> str:
    """How a reason names fit ``index`` of a case (0 is the cold fit)."""
    return "cold fit" if index == 0 else f"timed repeat {index}"


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
        held_out = algo.held_out_metric or algo.metric
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


def _plain(info: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(info, default=to_json))
