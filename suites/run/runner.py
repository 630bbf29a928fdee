"""The runner: cases -> verified results, one JSONL record per case, written at once.

* Cases are grouped by (backend, n_workers, pattern); an engine starts once per group.
* Each case records its phases (engine start, data generation, fit, predict), the cold
  fit apart from the timed repeats (median and spread), iterations and per-iteration
  time, its quality metric checked against a reference (scikit-learn on the same data,
  else the local backend), peak memory of the process tree, and an outcome: ``ok``,
  ``wrong-answer``, ``timeout``, ``failed`` or ``skipped`` with its reason.
* A record is appended, flushed and fsynced the moment its case ends: a crash or kill
  loses nothing finished, and ``resume`` runs only the cases not yet recorded.
* A case past its timeout is cancelled on the engine (``Backend.cancel``) and the suite
  goes on; an engine failure marks the case ``failed`` and the next case gets a new engine.

Running cases is its only job: one launch is measured step by step in
:mod:`~dmlbench.suites.run.measure`, and its launches made into the record by
:mod:`~dmlbench.suites.run.record_builder`; the results format is :mod:`dmlbench.reports.records`;
progress, peak memory and the watchdog :mod:`~dmlbench.suites.run.monitor`; the environment
record :mod:`~dmlbench.suites.run.environment`; native libraries
:mod:`~dmlbench.suites.natives.comparator`; what an algorithm is, its spec
(:mod:`~dmlbench.suites.define.workloads`).
"""

from __future__ import annotations

import json
import socket
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from dmlbench.backends import BackendError, BackendUnavailable, Cancelled, get_backend, max_workers
from dmlbench.backends import patterns as offered_patterns
from dmlbench.backends.registry import cluster_endpoints, install_hint, missing_modules
from dmlbench.reports.records import (
    RESULTS_NAME,
    Record,
    append_record,
    make_record,
    read_records,
    to_json,
)
from dmlbench.suites.bench.limits import machine_limits
from dmlbench.suites.define.spec import Case, Suite, SuiteError
from dmlbench.suites.natives.comparator import (
    NATIVES,
    NativeUnsupported,
    comparator,
    no_native_reason,
)
from dmlbench.suites.run import interrupts
from dmlbench.suites.run.environment import calibration, environment, machine_state
from dmlbench.suites.run.measure import measure_launch
from dmlbench.suites.run.monitor import PeakMemory, Progress, Watchdog
from dmlbench.suites.run.pending import PendingLaunches
from dmlbench.suites.run.record_builder import Launch, build_record
from dmlbench.suites.run.resources import engine_options
from dmlbench.suites.run.run_lock import run_lock

#: Seconds an engine gets to shut down after an interrupt, before its processes are ended.
CLOSE_AFTER_INTERRUPT_S = 4.0


# -- running ----------------------------------------------------------------------------
def skip_reason(case: Case) -> str | None:
    """Why a case cannot run here, or None."""
    if missing_modules(case.backend):
        return f"{case.backend} is not installed: {install_hint(case.backend)}"
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
    pending = PendingLaunches(path)
    if pending.exists() and not resume:
        raise FileExistsError(
            f"{pending.root} holds launches of an interrupted run: add --resume to go on from "
            "them, or choose another --out"
        )
    env = environment()
    env["calibration"] = calibration()  # the run's noise floor, before any engine starts
    env["limits"] = machine_limits()  # memory bandwidth and DGEMM: cached per machine
    code = (env.get("code") or {}).get("commit")
    notes: list[str] = []
    runs = {c.id: _CaseRun(c, pending.load(c, code, notes)) for c in todo}
    for note in notes:
        print(f"note: {note}", file=stream)
    progress = Progress(sum(r.left for r in runs.values()), stream)
    session = uuid.uuid4().hex[:12]  # this run's launches, told apart from a resumed run's
    groups = _groups(todo)
    try:
        # Interleaved in time: round k runs launch k of every case, engine by engine, so
        # compared cases alternate (A, B, A, B, ...) and a drift of the machine between
        # rounds falls on both sides. Within an engine the cases' order reverses every round
        # and the engines' order rotates, so no case always meets a just-started engine.
        for k in range(max((c.launches for c in todo), default=0)):
            keys = list(groups)
            for key in keys[k % len(keys) :] + keys[: k % len(keys)]:
                due = [runs[c.id] for c in groups[key]
                       if not runs[c.id].finished and len(runs[c.id].launches) == k]  # fmt: skip
                if due:
                    slot = _Slot(session, k, groups[key])
                    _run_round(key, due[:: -1 if k % 2 else 1], slot, options, timeout, progress,
                               lambda run: _keep(path, run, env, pending))  # fmt: skip
    finally:
        progress.close()
    return path


def _groups(cases: list[Case]) -> dict[tuple[str, int, str | None], list[Case]]:
    """Cases by the engine they run on: (backend, n_workers, pattern)."""
    groups: dict[tuple[str, int, str | None], list[Case]] = {}
    for case in cases:
        # A native case (and one naming no pattern) runs on the engine of the backend's
        # default pattern: dask-ml shares the cluster of ours' "resident" cases.
        default = next(iter(offered_patterns(case.backend)), None)
        groups.setdefault((case.backend, case.n_workers, case.pattern or default), []).append(case)
    return groups


class _Slot(NamedTuple):
    """Where a round's launches ran: the run (session), the round, the engine's cases."""

    session: str
    round: int
    group: list[Case]  # every case of the engine's group: its resources are sized for all


class _CaseRun:
    """One case across its rounds: its launches so far, and its outcome once it ends."""

    def __init__(self, case: Case, kept: list[Launch]):
        self.case, self.launches, self.kept = case, list(kept), len(kept)
        self.result: Record | None = None  # set when the case ends
        self.before: Any = None  # the machine's state at its first launch here

    @property
    def finished(self) -> bool:
        return self.result is not None

    @property
    def left(self) -> int:
        return max(self.case.launches - len(self.launches), 1)


def _run_round(
    key: tuple[str, int, str | None],
    due: list[_CaseRun],
    slot: _Slot,
    options: dict[str, dict] | None,
    timeout: float | None,
    progress: Progress,
    keep: Callable[[_CaseRun], None],
) -> None:
    """The next launch of every case in ``due`` on one newly started engine (``key``'s),
    each kept (``keep``) the moment it ends."""
    backend, n_workers, pattern = key
    # Resources (Spark's memory) sized from the group's largest case, the user's settings
    # on top: ours and the native get the same engine, in every round.
    opts = engine_options(backend, slot.group, (options or {}).get(backend, {}))
    if pattern is not None:
        opts = {**opts, "pattern": pattern}
    engine = _Engine(backend, n_workers, opts)
    try:
        for run in due:
            progress.start(run.case, len(run.launches) + 1)
            t0 = time.perf_counter()
            run.before = run.before or machine_state()
            _next_launch(run, engine, timeout or run.case.timeout, slot)
            # An interrupt an engine swallowed (wrapped in an error of its own) is not a
            # failure of this case: the case is not recorded.
            interrupts.check()
            outcome = run.result["outcome"] if run.result else "measured"
            reason = run.result.get("reason") if run.result else None
            keep(run)
            progress.finish(run.case, outcome, time.perf_counter() - t0, reason)
    finally:
        engine.close()


def _keep(path: Path, run: _CaseRun, env: dict[str, Any], pending: PendingLaunches) -> None:
    """A finished case's record appended (flushed and fsynced) and its kept launches
    dropped; an unfinished case's newest launch kept for ``--resume``."""
    if run.result is None:
        if len(run.launches) > run.kept:
            code = (env.get("code") or {}).get("commit")
            pending.add(run.case, run.kept, run.launches[-1], code)
            run.kept += 1
        return
    result: dict[str, Any] = {**run.result}
    result["machine"] = {"before": run.before, "after": machine_state()}
    record = make_record(run.case.to_dict(), **result, environment=env, finished_at=time.time())
    with interrupts.deferred():  # a finished case is never half-written
        append_record(path, record)
    pending.clear(run.case.id)


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


def _next_launch(run: _CaseRun, engine: _Engine, timeout: float, slot: _Slot) -> None:
    """The next launch of ``run``'s case on ``engine``; the case ends (``run.result``) after
    its last launch, or at a launch that does not measure, with that launch's outcome."""
    case = run.case
    reason = skip_reason(case)
    if reason:
        run.result = {"outcome": "skipped", "reason": reason}
        return
    measured = _one_launch(case, engine, timeout, [x.fits.timed for x in run.launches])
    if not isinstance(measured, Launch):  # it did not measure: the case ends here
        if run.launches:
            measured["reason"] = f"launch {len(run.launches) + 1}: {measured.get('reason')}"
        run.result = measured
        return
    run.launches.append(replace(measured, session=slot.session, round=slot.round))
    if len(run.launches) >= case.launches:
        run.result = build_record(run.launches)


def _one_launch(
    case: Case, engine: _Engine, timeout: float, earlier: list[list[float]]
) -> Launch | Record:
    """One launch of ``case`` on ``engine`` (started here if it is not running): what it
    measured, or the outcome of a launch that could not measure."""
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
            launch = measure_launch(case, be, earlier)
        return replace(
            launch,
            peak_memory_mb=round(memory.peak / 2**20, 1),
            engine_start_s=engine.start_s,
            backend_info=_plain(be.info()),
        )
    except Cancelled:
        return {"outcome": "timeout", "reason": f"over the {timeout:g} s timeout; cancelled"}
    except NativeUnsupported as exc:
        return {"outcome": "skipped", "reason": str(exc)}
    except BackendError as exc:  # the engine itself failed: the next case gets a new one
        engine.close()
        return _failed(f"engine failure: {exc}")
    except Exception as exc:  # noqa: BLE001 - one failing case must not stop the suite
        if watchdog.fired:
            return {"outcome": "timeout", "reason": f"over the {timeout:g} s timeout; cancelled"}
        if not be.engine_alive():  # an error outside a verb's round, from a dead engine
            engine.close()
            return _failed(f"engine failure: {type(exc).__name__}: {exc}")
        return _failed(f"{type(exc).__name__}: {exc}")


def _failed(reason: str) -> Record:
    """A ``failed`` outcome with its reason and the traceback of the error being handled."""
    return {"outcome": "failed", "reason": reason, "traceback": traceback.format_exc(limit=5)}


def _plain(info: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(info, default=to_json))
