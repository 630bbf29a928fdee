"""The results format, owned here on the reader's side: one JSON record per line.

Everything about a ``results.jsonl`` file lives in this module and nowhere else: the record
type (:class:`Record`) and its schema version, the outcome names, the case id, the builder
the runner and the tests make records with (:func:`make_record`), the writer
(:func:`append_record`) and the one reader (:func:`read_records`). The runner in
:mod:`dmlbench.suites.run.runner` writes through it, its measurements made from what each
launch of a case measured by :func:`dmlbench.suites.run.record_builder.build_record` (the tests'
made-up records too); :mod:`dmlbench.reports.results` reads through it. It sits in
``reports/`` because reports must not import the runner, while the runner may import
anything.

A record is appended and fsynced the moment its case ends, so a kill can cut off at most
the line being written: the reader tolerates exactly that (a cut-off last line) and
nothing else, and the next append removes it.
"""

from __future__ import annotations

import gc
import gzip
import json
import os
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any, Literal, NotRequired, Required, TypedDict, cast

#: Version of the record shape written today; bump it (and extend KNOWN_SCHEMAS) when
#: a field changes meaning or disappears, so old readers refuse new files loudly.
SCHEMA_VERSION = 1
#: Schema versions of records this reader understands.
KNOWN_SCHEMAS = (1,)
#: The file a suite run writes in its output directory.
RESULTS_NAME = "results.jsonl"
#: How a case can end. ``ok``: a verified answer; ``wrong-answer``: the quality check
#: against the reference failed; ``timeout``: cancelled past its time limit; ``failed``: an
#: error; ``skipped``: could not run here (the reason says how to enable it).
OUTCOMES = ("ok", "wrong-answer", "timeout", "failed", "skipped")
#: The outcomes a user must see: printed, listed and drawn wherever results are shown.
PROBLEMS = ("failed", "timeout", "wrong-answer")


class RecordsError(ValueError):
    """A results file, or a record, that is not what this reader understands.

    The message names the file and line, what was found and what was expected.
    """


class CaseFields(TypedDict):
    """What was run: ``Case.to_dict()`` of :class:`dmlbench.suites.define.spec.Case`."""

    suite: str
    algorithm: str
    dataset: str
    params: dict[str, Any]
    backend: str
    n_workers: int
    impl: str  # "dmlbench" or "native"
    n_samples: int  # requested rows (generated data); the record's own n_samples is real
    n_features: int
    repeats: int | str  # timed fits after the cold one, per launch, or "auto"
    timeout: float
    seed: int
    pattern: NotRequired[str | None]  # how the verbs ran (dask, ray); absent in old records
    launches: NotRequired[int]  # fresh engine launches per case (absent in old records: 1)
    budget: NotRequired[float]  # repeats = "auto": seconds of timed fits per launch
    max_repeats: NotRequired[int]  # repeats = "auto": the most timed fits per launch


class Phases(TypedDict, total=False):
    """Seconds spent in each phase of a case."""

    engine_start_s: float | None  # the case's engine (shared by its group) starting
    generate_s: float  # making (or shipping) the data on the workers
    preprocess_s: float  # only for datasets that are preprocessed on the workers
    prepare_s: float  # untimed: an implementation's input made resident in its library's form
    start_s: float  # untimed, once per case: the shared starting point (k-means' centres)
    compile_s: float  # ours, compiled kernels only: compiling (or loading) them on the workers
    compile_processes: int  # the worker processes that compile_s warmed
    search_s: float  # untimed: a time-to-target case's search for its budget
    fit_cold_s: float  # the first fit, kept apart from the timed ones
    fit_s: list[float]  # the timed fits, one per repeat
    predict_s: float  # computing the quality metric (median over the fits: each is scored)


class TimeToQuality(TypedDict):
    """Per fit, seconds from the start of its iterations until its trace's objective (the
    metric itself) was within ``within`` of the reference; None: never."""

    within: float  # a share of the reference (0.01: within 1 %)
    cold_s: float | None  # the cold fit's
    per_fit_s: list[float | None]  # every timed fit's


class Quality(TypedDict, total=False):
    """The answer's quality, checked against a reference on the same rows."""

    metric: str
    value: float  # of the last fit
    values: list[float]  # of every fit, the cold one first; ``ok`` only if all pass
    reference: float
    reference_source: str  # "scikit-learn KMeans", "dmlbench on the local backend", ...
    tolerance: float
    tolerance_reason: str  # only when a native library's own rule replaced the declared one
    ok: bool
    extras: dict[str, dict[str, float | None]]  # name -> {"value", "reference"}
    #: Only where the trace's objective is the metric itself.
    time_to_quality: TimeToQuality


class FitSplit(TypedDict):
    """One timed fit's seconds by term (``backends.rounds.RoundLog.split``): the terms sum
    to the fit's time."""

    rounds: int
    compute_s: float  # the mean worker's compute, summed over the fit's rounds
    imbalance_s: float  # max - mean worker compute
    protocol_s: NotRequired[float]  # dmlbench's own work in rounds (absent: older records)
    engine_s: float  # each round's wall - its slowest worker's compute (and own work)
    driver_s: float  # the fit's time outside rounds and the protocol's driver share
    unsplit_s: float  # rounds whose workers did not time themselves
    compute_cpu_s: NotRequired[float]  # thread CPU of compute_s's spans (absent: older)
    straggler: float | None  # median max/mean worker compute; None without split rounds
    bytes_back: int
    #: Per block function's name: ``[split rounds, worker-seconds of compute in them]``.
    compute_by_fn: NotRequired[dict[str, list[float]]]


#: The terms of a split that sum to the fit's time (``backends.rounds.TERMS``).
SplitTerm = Literal["compute_s", "imbalance_s", "protocol_s", "engine_s", "driver_s", "unsplit_s"]


class RoundSplit(TypedDict):
    """The typical iteration (``backends.rounds.per_iteration``): each term of
    :class:`FitSplit` per iteration, the median over the timed fits."""

    compute_s: float
    imbalance_s: float
    protocol_s: NotRequired[float]  # absent in records from before it was measured
    engine_s: float
    driver_s: float
    unsplit_s: float
    compute_cpu_s: NotRequired[float]  # absent in records from before it was measured
    straggler: float | None  # None when no fit had a split round with compute
    rounds_per_iter: float
    n_fits: int


class Achieved(TypedDict):
    """What one worker's main kernel achieved (``backends.rounds.achieved_rates``)."""

    kernel: str  # the block function's name
    bytes_per_s: float  # per worker-second of compute, median over the timed fits
    flops_per_s: float
    pass_bytes: float  # one pass over all rows (the estimator's ``pass_work``)
    pass_flops: float
    passes: float  # rounds of the kernel per fit (median)


class LaunchSummary(TypedDict):
    """One launch of several (``launches > 1``), in brief."""

    outcome: str  # "ok" or "wrong-answer"
    reason: str | None
    engine_start_s: float | None
    fit_cold_s: float
    fit_median_s: float  # of the launch's timed fits
    repeats_stop: str | None
    quality_values: list[float]  # every fit's, the cold one first
    rebuilt_blocks: list[int]  # per fit, the cold one first
    session: str | None  # the run that measured it (a resumed run is another)
    round: int | None  # its round of interleaved launches: same session and round, same time


class SharedStart(TypedDict, total=False):
    """The shared starting point every implementation and the reference ran from."""

    method: str  # "k-means++", ...
    rows: str  # which rows it was drawn from
    seed: int
    shape: list[int]
    digest: str  # sha1 of its float64 bytes, 12 hex
    shared: Required[bool]  # False: ours ran from the case's own ``init``
    reason: str  # only when not shared


class TargetTry(TypedDict):
    """One fit of a time-to-target case's budget search."""

    budget: int
    seconds: float
    value: float  # the held-out metric
    n_iter: int | None


class Target(TypedDict):
    """A time-to-target case's goal and the search for its budget."""

    metric: str  # "held_out_<metric>"
    target: float
    budget_param: str  # the parameter searched ("max_iter", ...)
    budget: int  # the smallest that reached the target (else the cap)
    reached: bool
    search: list[TargetTry]  # one row per fit tried


class Native(TypedDict, total=False):
    """A native library's run: its name and settings, and what else it reports (a
    library's own extras, such as MLlib's ``input``, sit beside these)."""

    impl: Required[str]  # "scikit-learn KMeans", "dask-ml KMeans", "MLlib ALS", ...
    settings: dict[str, Any]  # the estimator's own parameters: open-ended
    n_iter: int | None
    threads: int


class WorkerInfo(TypedDict, total=False):
    """One worker of a backend, as its adapter reports it."""

    address: str
    host: str
    node_id: str


class BackendInfo(TypedDict, total=False):
    """``Backend.info()``: what every adapter reports, and its own keys (an engine's
    version, address, pattern, settings; adapter-specific extras sit beside these)."""

    backend: Required[str]
    n_workers: Required[int]
    threads_per_worker: int
    worker_pids: list[int]
    blas_threads_per_worker: list[Any]
    blas: list[str]
    startup_seconds: float
    engine: str
    version: str
    address: str
    workers: list[WorkerInfo]
    pattern: str  # the pattern its verbs ran (the default one when the case named none)
    pattern_detail: str
    settings: dict[str, Any]  # the engine's settings: open-ended


class MachineState(TypedDict, total=False):
    """``machine_state()``: what else the machine was doing."""

    loadavg: list[float]  # 1, 5, 15 minutes
    cpu_mhz: int
    steal_s: float


class Machine(TypedDict):
    """The machine's state before and after a case."""

    before: MachineState
    after: MachineState


class Calibration(TypedDict):
    """The run's calibration kernel, timed at its start (its noise floor)."""

    kernel: str
    median_s: float
    spread: float
    times_s: list[float]


class Limits(TypedDict, total=False):
    """The machine's measured limits (``dmlbench doctor``), or why they were not."""

    triad_gbs: dict[str, float]  # cores (as text) -> GB/s
    dgemm_gflops: float  # one core
    cores: int
    machine: str
    measured_at: float
    method: str
    error: str


class CodeIdentity(TypedDict, total=False):
    """The code that measured a run (:func:`dmlbench.suites.run.environment.code_identity`)."""

    commit: str | None  # git commit of the checkout; None outside one
    dirty: bool | None  # tracked files differed from the commit
    dirty_files: list[str]  # those files (the first 20), only when dirty


class Environment(TypedDict, total=False):
    """What a run was measured on (the same for every record of a run)."""

    python: str
    platform: str
    cpu: str
    cores: int | None
    memory_gb: float
    blas: list[str]
    versions: dict[str, str]  # package -> version
    git_commit: str | None  # = code.commit (kept for older readers)
    code: CodeIdentity
    test_slowdown: str  # only when measured with the test-only slowdown
    calibration: Calibration
    limits: Limits


class Record(TypedDict, total=False):
    """One case's line in ``results.jsonl``.

    Every record has ``case_id``, ``case``, ``outcome`` and ``schema_version``
    (:func:`make_record` fills them); the runner adds ``environment`` and
    ``finished_at``. ``reason`` says why a case is not ``ok`` (``traceback`` too when it
    failed). The measurements, from ``n_samples`` on, are present on ``ok`` and
    ``wrong-answer`` records only.
    """

    schema_version: int
    case_id: str  # see case_id(); the key for resuming and comparing runs
    case: CaseFields
    outcome: str  # one of OUTCOMES
    reason: str | None
    traceback: str
    environment: Environment  # machine, BLAS, package versions, git commit
    finished_at: float  # Unix time
    n_samples: int  # rows really trained on
    n_workers: int  # workers really used (an existing cluster gives all of its workers)
    phases: Phases
    fit_median_s: float  # median of the timed fits
    fit_spread_s: list[float]  # [min, max] of the timed fits
    n_iter: int | None  # median over the timed fits (they may differ: n_iter_per_fit)
    n_iter_per_fit: list[int | None]  # every fit's iterations, the cold one first
    #: Per fit, the cold one first: resident blocks found missing on the workers and
    #: rebuilt from their recipe inside that fit's clock (0: the data stayed resident).
    rebuilt_blocks: list[int]
    #: Per block of the case's data, the host (address) of the worker that held it in the
    #: last timed fit's last round; ``""`` where the engine places blocks itself (the tasks
    #: patterns); None for a native library's case (its data is its own).
    block_hosts: list[str] | None
    #: The fit median over n_iter, for every implementation that reports its iterations.
    per_iteration_s: float | None
    #: Median time of one round of ours' trace (the iteration loop alone, without the fit's
    #: set-up and final passes); None for a library, which keeps no trace.
    per_round_s: float | None
    #: Per timed fit, ``RoundLog.split``: the fit's seconds as worker compute, imbalance,
    #: dmlbench's protocol, engine, driver (and unsplit) terms summed over its rounds, the
    #: rounds, the median straggler (max/mean worker compute) and the bytes sent back.
    #: None for a native (its engine's rounds are not the protocol's).
    round_split_per_fit: list[FitSplit] | None
    #: The typical iteration (``backends.rounds.per_iteration``): each term per
    #: iteration, median over the timed fits; the straggler; rounds per iteration.
    round_split: RoundSplit | None
    #: What one worker's kernel achieved (``backends.rounds.achieved_rates``):
    #: ``bytes_per_s``, ``flops_per_s`` (medians over the timed fits), ``kernel``,
    #: ``pass_bytes``, ``pass_flops``, ``passes``; None for a native, or an algorithm that
    #: does not count its work.
    achieved: Achieved | None
    trace: list[dict[str, float]]  # per iteration: iteration, seconds, objective, ...
    timed_traces: list[list[dict[str, float]]]  # one trace per timed fit
    quality: Quality
    native: Native  # a native library's impl and settings, when impl is native
    seed: Any  # the effective seed: the case's own random_state, else the suite's seed
    #: The shared starting point every implementation and the reference ran from: method,
    #: rows, seed, shape, digest (sha1 of its float64 bytes, 12 hex), and ``shared`` (False,
    #: with a ``reason``, when ours ran from the case's own ``init``).
    start: SharedStart
    #: A time-to-target case's goal: ``metric``, ``target``, ``budget_param``, ``budget``
    #: (the smallest that reached it), ``reached`` and the ``search`` (one row per fit).
    target: Target
    peak_memory_mb: float  # of the process tree during the case
    #: Why the timed fits stopped: a fixed count, or ``repeats = "auto"``'s reason.
    repeats_stop: str | None
    #: Timed fits per launch (``launches > 1``): ``phases.fit_s`` pools them.
    fit_s_by_launch: list[list[float]]
    #: One summary per launch (``launches > 1``): outcome, engine start, cold and median fit,
    #: why its repeats stopped, its answers, its rebuilt blocks.
    launches: list[LaunchSummary]
    #: ``machine_state()`` before and after the case: load averages, CPU MHz, steal time.
    machine: Machine
    backend_info: BackendInfo  # Backend.info(): engine, version, workers, threads


#: The fields every record has, whatever its outcome.
REQUIRED_FIELDS = ("schema_version", "case_id", "case", "outcome")


def case_id(case: Mapping[str, Any]) -> str:
    """The stable identity of a case: the same case in any run has the same id.

    Resuming skips the ids already recorded and comparing two runs pairs them by id, so
    this format must not change (or every existing results file would be rerun).

    Parameters
    ----------
    case : mapping
        The case's fields, as in :class:`CaseFields` (``Case.to_dict()``).

    Returns
    -------
    str
        ``algorithm/dataset/impl/backend/w<n_workers>/n<n_samples>/d<n_features>/<params>``
        with the parameters as JSON with sorted keys; the backend is
        ``backend:pattern`` (:func:`engine_name`) when the case names a pattern.
    """
    params = json.dumps(case["params"], sort_keys=True)
    return (
        f"{case['algorithm']}/{case['dataset']}/{case['impl']}/{engine_name(case)}/"
        f"w{case['n_workers']}/n{case['n_samples']}/d{case['n_features']}/{params}"
    )


def engine_name(case: Mapping[str, Any]) -> str:
    """The backend a case ran on, as results name it: ``"dask"``, or ``"dask:tasks"`` when
    the case names a pattern (records from before patterns have none)."""
    pattern = case.get("pattern")
    return case["backend"] if pattern is None else f"{case['backend']}:{pattern}"


def make_record(case: Mapping[str, Any], /, outcome: str, **fields: Any) -> Record:
    """A record of ``case`` with ``outcome`` and the given fields.

    Parameters
    ----------
    case : mapping
        The case's fields (``Case.to_dict()``); stored as ``case`` and identified by
        :func:`case_id`.
    outcome : str
        One of :data:`OUTCOMES`.
    **fields
        Any other field of :class:`Record` (``reason``, ``phases``, ``quality``, ...).

    Returns
    -------
    Record
        With ``case``, ``case_id``, ``outcome`` and ``schema_version`` filled in.

    Raises
    ------
    ValueError
        If ``outcome`` is not one of :data:`OUTCOMES`.
    TypeError
        If a field is not one of :class:`Record`'s (a new field is added there first, so
        the format stays documented in one place).
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {list(OUTCOMES)}; got {outcome!r}")
    allowed = set(Record.__annotations__) - set(REQUIRED_FIELDS)  # those are filled here
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise TypeError(
            f"make_record() got {unknown}, not fields it takes; valid: {sorted(allowed)} "
            "(a new field is added to Record in dmlbench/reports/records.py first)"
        )
    record = {
        "schema_version": SCHEMA_VERSION,
        "case_id": case_id(case),
        "case": dict(case),
        "outcome": outcome,
        **fields,
    }
    return cast(Record, record)


class ResultsWriteError(OSError):
    """A record could not be written (a full disk, a directory that cannot be written);
    the file is left as it was before the attempt."""

    def __str__(self) -> str:  # the message alone, without OSError's "[Errno 28] "
        return str(self.strerror)


def append_record(path: Path, record: Record | Mapping[str, Any]) -> None:
    """Append one record as a JSON line and make it durable before returning.

    If the file ends in a line cut off by a kill mid-write, that partial line is removed
    first: it never was a record (its case was not recorded, and a resume runs it), and the
    new record must not be glued onto it. A write that fails (a full disk) is undone: the
    file is truncated back to what it was, so a failure never leaves half a record.

    Parameters
    ----------
    path : Path
        The results file; created if missing.
    record : Record
        Numpy values in it are converted by :func:`to_json`.

    Raises
    ------
    ResultsWriteError
        If the record could not be written whole (the file is as it was).
    """
    line = (json.dumps(record, default=to_json) + "\n").encode("utf-8")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ResultsWriteError(exc.errno, f"{path}: cannot write results: {exc.strerror}") from exc
    try:
        size = os.fstat(fd).st_size
        try:
            size = _complete_size(fd)  # may end a whole last record with its newline
            os.ftruncate(fd, size)  # drops a cut-off last line (a no-op otherwise)
            view, at = memoryview(line), size
            while view:  # os.pwrite may write part of it (a disk filling up)
                written = os.pwrite(fd, view, at)
                view, at = view[written:], at + written
            os.fsync(fd)
        except OSError as exc:
            with suppress(OSError):
                os.ftruncate(fd, size)
            raise ResultsWriteError(
                exc.errno,
                f"{path}: cannot write a record: {exc.strerror}; the file is as it was before it",
            ) from exc
    finally:
        os.close(fd)


def _complete_size(fd: int) -> int:
    """Where the next record goes: after the file's last newline, unless what follows it
    is a whole record missing only its newline (kept: it is a finished case)."""
    size = os.fstat(fd).st_size
    end = size
    while end > 0:
        start = max(0, end - 65536)
        newline = os.pread(fd, end - start, start).rfind(b"\n")
        if newline >= 0:
            end = start + newline + 1
            break
        end = start
    if end < size:
        tail = os.pread(fd, size - end, end)
        with suppress(ValueError):
            json.loads(tail)
            os.pwrite(fd, b"\n", size)
            return size + 1
    return end


def read_records(path: Path, *, notes: list[str] | None = None) -> list[Record]:
    """Every record of a results file, in file order; strict about anything unexpected.

    Blank lines are skipped. A last line cut off by a kill in the middle of a write (the
    beginning of a JSON object that ends before the object closes) is skipped and
    described in ``notes`` (:func:`append_record` removes it before the next record). Any
    other line that is not a record of a known schema is an error naming it.

    Parameters
    ----------
    path : Path
        A ``results.jsonl`` file (or ``results.jsonl.gz``, as stored for the docs).
    notes : list of str, optional
        Receives one ``"{path}:{line}: ..."`` note for a skipped cut-off last line.

    Returns
    -------
    list of Record

    Raises
    ------
    RecordsError
        If the file does not exist, or naming ``file:line``, if a line is not JSON, not a
        JSON object, of an unknown ``schema_version``, without a required field or with an
        unknown outcome.
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            text = gzip.decompress(path.read_bytes()).decode("utf-8")
        else:
            text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecordsError(f"{path}: no such results file") from None
    lines = text.splitlines()
    last = max((n for n, line in enumerate(lines, 1) if line.strip()), default=0)
    # Parsed JSON holds no reference cycles, so the cyclic collector has nothing to find
    # while it is made; at 100,000 records its passes over the growing heap doubled the
    # read (39 s against 19 s here).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _parsed(path, lines, last, notes)
    finally:
        if collecting:
            gc.enable()


def _parsed(path: Path, lines: list[str], last: int, notes: list[str] | None) -> list[Record]:
    """The records of :func:`read_records`' ``lines`` (``last``: the last non-blank one)."""
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            if _cut_off(line) and number == last:
                if notes is not None:
                    notes.append(f"{where}: incomplete last line ignored (a run killed mid-write)")
                continue
            cut = _cut_off(line)
            what = (
                "an incomplete record, not on the last line (a killed run's, left by a "
                "dmlbench before 0.1's fault handling: delete that line to read the rest)"
                if cut
                else "not JSON"
            )
            raise RecordsError(
                f"{where}: {what} ({exc.msg}); expected one JSON record per line"
            ) from None
        records.append(_checked(record, where))
    return records


def _checked(record: Any, where: str) -> Record:
    """``record`` if it is a record this reader understands, else a RecordsError."""
    if not isinstance(record, dict):
        raise RecordsError(
            f"{where}: not a dmlbench case record: a JSON {type(record).__name__}, "
            "expected a JSON object"
        )
    version = record.get("schema_version")
    if version not in KNOWN_SCHEMAS:
        raise RecordsError(
            f"{where}: not a dmlbench case record of a known schema: schema_version "
            f"{version!r}; known: {list(KNOWN_SCHEMAS)} (a newer dmlbench may read it)"
        )
    missing = [name for name in REQUIRED_FIELDS if name not in record]
    if missing:
        raise RecordsError(
            f"{where}: not a dmlbench case record: no {missing}; "
            f"every record has {list(REQUIRED_FIELDS)}"
        )
    if record["outcome"] not in OUTCOMES:
        raise RecordsError(
            f"{where}: outcome must be one of {list(OUTCOMES)}; got {record['outcome']!r}"
        )
    return cast(Record, record)


def _cut_off(line: str) -> bool:
    """Whether ``line`` begins a JSON object and ends before the object closes: what a
    kill in the middle of a write leaves. Text that is not JSON in any other way (garbage,
    two records glued after a close) is not a cut-off line."""
    if not line.startswith("{"):
        return False
    depth, in_string, escaped = 0, False, False
    for char in line:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:  # the object closed: the error is elsewhere
                return False
    return True


def to_json(value: Any) -> Any:
    """The JSON form of what :func:`json.dumps` cannot write itself (its ``default=``).

    Numpy scalars become Python numbers and arrays lists; anything else its ``str``, so a
    record is always written (a label in place of an exotic value beats losing the case).
    """
    import numpy as np  # here: `dmlbench --help` imports this module and must start fast

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
