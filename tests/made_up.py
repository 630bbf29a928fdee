"""Made-up records for the report tests, built as the runner builds them: made-up fits of
one launch (:class:`~dmlbench.suites.run.record.Launch`) through the one record builder
(:func:`~dmlbench.suites.run.record.build_record`), then the format's owner
(:func:`dmlbench.reports.records.make_record`); times chosen so every derived figure can
be checked by hand."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from dmlbench.reports.records import append_record, make_record
from dmlbench.suites.run.record import Check, Fits, Launch, build_record

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
    spread=None,
    trace=None,
    suite="t",
    fits=None,
    split=None,
    work=None,
    pattern=None,
):
    """One case record as the runner writes it, from one made-up launch.

    ``fits``: its timed fits (default: one fit of ``seconds``; ``spread``: the ``[min,
    max]`` shown instead of theirs); the cold fit takes 1.5 ``seconds``; every fit scores
    100 (the reference) and runs the 4 iterations of ``trace``. ``split``: one fit's
    ``RoundLog.split``, the same for every fit (default: none recorded, as for a native
    library); ``work``: one pass of the main kernel (``Fitted.work``). ``pattern``: the
    case's execution pattern.
    """
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
    launch = made_up_launch([seconds * 1.5, *timed], trace, n=n, split=split, work=work)
    native = {"impl": NATIVE_IMPL[backend], "settings": {}} if impl == "native" else None
    info = {"backend": backend, "n_workers": workers, "engine": backend, "version": "1.0",
            "settings": {"threads_per_worker": 1}}  # fmt: skip
    built = build_record([replace(launch, native=native, backend_info=info)])
    if spread:  # a range the report shows, around one fit (not the fits' own [min, max])
        built["fit_spread_s"] = spread
    return make_record(case, **built, **common)


def made_up_launch(seconds, trace, *, n=100_000, split=None, work=None) -> Launch:
    """One launch whose fits took ``seconds`` (the cold one first), each answering 100
    (the reference) in the iterations of ``trace``, scored in 0.1 s; ``split``: each fit's
    ``RoundLog.split`` (None: none recorded, as for a native library)."""
    every = len(seconds)
    return Launch(
        n_samples=n,
        fits=Fits(
            seconds=list(seconds),
            values=[100.0] * every,
            n_iter=[len(trace)] * every,
            scoring_s=[0.1] * every,
            rebuilt=[0] * every,
            traces=[trace] * every,
            splits=None if split is None else [split] * every,
            stop=f"{every - 1} repeats (fixed)",
        ),
        check=Check(
            metric="inertia",
            reference=100.0,
            reference_source="scikit-learn KMeans",
            tolerance=0.02,
            relative=True,
            passed=[True] * every,
        ),
        phases={"generate_s": 0.5},
        work=work,
        engine_start_s=2.0,
        peak_memory_mb=500.0,
    )


def write_results(path: Path, records) -> Path:
    """A results file written as the runner writes it (a fresh file each time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    for r in records:
        append_record(path, r)
    return path
