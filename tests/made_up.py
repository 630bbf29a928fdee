"""Made-up records for the report tests, built as the runner builds them: made-up fits of
one launch (:class:`~dmlbench.suites.run.record_builder.Launch`) through the one record builder
(:func:`~dmlbench.suites.run.record_builder.build_record`), then the format's owner
(:func:`dmlbench.reports.records.make_record`); times chosen so every derived figure can
be checked by hand."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from dmlbench.backends.rounds import Round, RoundLog
from dmlbench.reports.records import append_record, make_record
from dmlbench.suites.run.record_builder import Check, Fits, Launch, build_record

ENV = {
    "python": "3.11.7",
    "platform": "Linux-x86_64",
    "cpu": "x86_64",
    "cores": 2,
    "memory_gb": 23.5,
    "blas": ["openblas 0.3.31 (2 threads)"],
    "versions": {"numpy": "2.4.6", "dask": "2026.8.0"},
    "git_commit": "abc123",
}


NATIVE_IMPL = {
    "local": "scikit-learn KMeans",
    "dask": "dask-ml KMeans",
    "spark": "MLlib KMeans (RDD)",
}


def record(
    algorithm="kmeans",
    backend="dask",
    workers=1,
    n=100_000,
    seconds=1.0,
    *,
    impl="dmlbench",
    dataset="blobs",
    params=None,
    outcome="ok",
    reason=None,
    trace=None,
    suite="t",
    fits=None,
    values=None,
    rebuilt=None,
    block_hosts=None,
    split=None,
    work=None,
    pattern=None,
):
    """One case record as the runner writes it, from one made-up launch.

    ``fits``: its timed fits (default: one fit of ``seconds``); the cold fit takes 1.5
    ``seconds``; every fit runs the 4 iterations of ``trace``. ``values``: each fit's
    answer, the cold one first (default: 100, the reference, for every fit); one off it
    by more than 2 % fails the check, and the builder calls the case a wrong answer.
    ``rebuilt``: resident blocks each fit rebuilt, the cold one first (default: none);
    ``block_hosts``: per block, the host that held it (default: none recorded). ``split``:
    each fit's ``RoundLog.split``, a dict (the same for every fit) or a function of the
    fit's seconds such as :func:`made_up_split` (default: none recorded, as for a native
    library); ``work``: one pass of the main kernel (``Fitted.work``). ``pattern``: the
    case's execution pattern. ``outcome``: a case the runner records without measuring
    it (a timeout, a failure, a skip; not a wrong answer, which ``values`` make).
    """
    if outcome == "wrong-answer":
        raise ValueError("a wrong answer is the builder's verdict: give the fits' values")
    params = {"n_clusters": 8} if params is None and algorithm == "kmeans" else params or {}
    case = {
        "suite": suite,
        "algorithm": algorithm,
        "dataset": dataset,
        "params": params,
        "backend": backend,
        "n_workers": workers,
        "impl": impl,
        "n_samples": n,
        "n_features": 20,
        "repeats": 3,
        "timeout": 300.0,
        "seed": 0,
        **({"pattern": pattern} if pattern is not None else {}),
    }
    common = {"environment": ENV, "finished_at": 0.0}
    if outcome != "ok":
        return make_record(case, outcome, reason=reason, **common)
    timed = fits or [seconds]
    trace = trace or [
        {"iteration": i + 1, "seconds": seconds * (i + 1) / 4, "objective": 10.0 / (i + 1)}
        for i in range(4)
    ]
    launch = made_up_launch(
        [seconds * 1.5, *timed], trace, n=n, values=values, rebuilt=rebuilt,
        block_hosts=block_hosts, split=split, work=work,
    )  # fmt: skip
    native = {"impl": NATIVE_IMPL[backend], "settings": {}} if impl == "native" else None
    info = {"backend": backend, "n_workers": workers, "engine": backend, "version": "1.0",
            "settings": {"threads_per_worker": 1}}  # fmt: skip
    built = build_record([replace(launch, native=native, backend_info=info)])
    return make_record(case, **built, **common)


def made_up_launch(
    seconds,
    trace,
    *,
    n=100_000,
    values=None,
    rebuilt=None,
    block_hosts=None,
    split=None,
    work=None,
) -> Launch:
    """One launch whose fits took ``seconds`` (the cold one first) in the iterations of
    ``trace``, scored in 0.1 s, each checked against the reference 100 within 2 %
    (relative).

    ``values``, ``rebuilt``: per fit, the cold one first (default: 100 and 0 for every
    fit); ``block_hosts``: per block; ``split``: each fit's ``RoundLog.split``, a dict or
    a function of the fit's seconds (None: none recorded, as for a native library).
    """
    every = len(seconds)
    values = [100.0] * every if values is None else list(values)
    rebuilt = [0] * every if rebuilt is None else list(rebuilt)
    if len(values) != every or len(rebuilt) != every:
        raise ValueError(f"{every} fits (the cold one first): one value and count each")
    splits = None
    if split is not None:
        splits = [split(s) if callable(split) else split for s in seconds]
    return Launch(
        n_samples=n,
        fits=Fits(
            seconds=list(seconds),
            values=values,
            n_iter=[len(trace)] * every,
            scoring_s=[0.1] * every,
            rebuilt=rebuilt,
            traces=[trace] * every,
            splits=splits,
            block_hosts=block_hosts,
            stop=f"{every - 1} repeats (fixed)",
        ),
        check=Check(
            metric="inertia",
            reference=100.0,
            reference_source="scikit-learn KMeans",
            tolerance=0.02,
            relative=True,
            passed=[abs(v - 100.0) <= 0.02 * 100.0 for v in values],
        ),
        phases={"generate_s": 0.5},
        work=work,
        engine_start_s=2.0,
        peak_memory_mb=500.0,
    )


def made_up_split(fit_s, *, rounds, workers=1, driver_s=0.0, straggler=1.0):
    """``RoundLog.split`` of one fit of ``fit_s`` seconds: ``rounds`` equal rounds and
    ``driver_s`` of the driver's outside them; in each round the slowest of ``workers``
    computes the whole round, ``straggler`` times the mean worker (the engine adds
    nothing), as the real log splits it."""
    wall = (fit_s - driver_s) / rounds
    mean = wall / straggler
    # Two workers around the mean (max/mean = straggler), any others at the mean.
    spread = [wall, 2 * mean - wall] if workers > 1 else [wall]
    compute = tuple(spread + [mean] * (workers - len(spread)))
    log = RoundLog()
    for _ in range(rounds):
        log.add(Round("aggregate", wall, compute, nbytes=8, fn="kernel"))
    return log.split(fit_s)


def write_results(path: Path, records) -> Path:
    """A results file written as the runner writes it (a fresh file each time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    for r in records:
        append_record(path, r)
    return path
