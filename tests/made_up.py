"""Made-up records for the report tests, built by the format's owner
(:func:`dmlbench.reports.records.make_record`): times chosen so every derived figure can
be checked by hand."""

from __future__ import annotations

from pathlib import Path

from dmlbench.reports.records import append_record, make_record

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
):
    """One case record as the runner writes it (built by the format's owner); ``fits``:
    its timed fits (default: one fit of ``seconds``)."""
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
    }
    common = {"reason": reason, "environment": ENV, "finished_at": 0.0}
    if outcome != "ok":
        return make_record(case, outcome, **common)
    fits = fits or [seconds]
    spread = spread or [min(fits), max(fits)]
    trace = trace or [
        {"iteration": i + 1, "seconds": seconds * (i + 1) / 4, "objective": 10.0 / (i + 1)}
        for i in range(4)
    ]
    return make_record(
        case,
        outcome,
        **common,
        n_samples=n,
        phases={
            "generate_s": 0.5,
            "fit_cold_s": seconds * 1.5,
            "fit_s": fits,
            "predict_s": 0.1,
            "engine_start_s": 2.0,
        },
        fit_median_s=seconds,
        fit_spread_s=spread,
        n_iter=len(trace),
        per_iteration_s=seconds / len(trace),
        trace=trace,
        timed_traces=[trace],
        quality={
            "metric": "inertia",
            "value": 100.0,
            "reference": 100.0,
            "reference_source": "scikit-learn KMeans",
            "tolerance": 0.02,
            "ok": True,
        },
        peak_memory_mb=500.0,
        **({"native": {"impl": NATIVE_IMPL[backend], "settings": {}}} if impl == "native" else {}),
        backend_info={
            "backend": backend,
            "n_workers": workers,
            "engine": backend,
            "version": "1.0",
            "settings": {"threads_per_worker": 1},
        },
    )


def write_results(path: Path, records) -> Path:
    """A results file written as the runner writes it (a fresh file each time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    for r in records:
        append_record(path, r)
    return path
