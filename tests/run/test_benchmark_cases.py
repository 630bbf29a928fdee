"""Suite cases under pytest-benchmark (pedantic mode), each answer checked.

    pytest tests/run/test_benchmark_cases.py --benchmark-json out.json
    DMLBENCH_BENCH_SUITE=scaling DMLBENCH_BENCH_PROFILE=smoke \\
    DMLBENCH_BENCH_BACKENDS=dask,ray DMLBENCH_BENCH_WORKERS=2 pytest tests/run/test_benchmark_cases.py

Defaults (the quick suite's smoke profile, local backend, 3 rounds) keep CI fast. Not for
pytest-xdist: timings need the machine to themselves.
"""

import os

import pytest

from dmlbench.backends import get_backend
from dmlbench.suites.define.spec import load_suite
from dmlbench.suites.define.workloads import ALGORITHMS
from dmlbench.suites.run.reference import reference_metric
from dmlbench.suites.run.resident import resident_data

SUITE = os.environ.get("DMLBENCH_BENCH_SUITE", "quick")
PROFILE = os.environ.get("DMLBENCH_BENCH_PROFILE", "smoke")
BACKENDS = os.environ.get("DMLBENCH_BENCH_BACKENDS", "local").split(",")
WORKERS = [int(w) for w in os.environ.get("DMLBENCH_BENCH_WORKERS", "1").split(",")]
ROUNDS = int(os.environ.get("DMLBENCH_BENCH_ROUNDS", "3"))
CASES = [
    c
    for c in load_suite(SUITE, profile=PROFILE, backends=BACKENDS, n_workers=WORKERS).cases
    if c.impl == "dmlbench"
]


@pytest.fixture(scope="module")
def engines():
    started = {}

    def get(name, n_workers):
        if (name, n_workers) not in started:
            for be in started.values():  # one engine at a time (Spark and Ray need it)
                be.close()
            started.clear()
            started[(name, n_workers)] = get_backend(name, n_workers=n_workers).start()
        return started[(name, n_workers)]

    yield get
    for be in started.values():
        be.close()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id.rsplit("/", 1)[0])
def test_case(benchmark, engines, case):
    be = engines(case.backend, case.n_workers)
    algo = ALGORITHMS[case.algorithm]
    ds, test, data = resident_data(case, be, {})
    fitted = {}

    def fit():
        fitted["model"] = algo.make(case.params, be, data).fit(ds)

    benchmark.pedantic(fit, rounds=ROUNDS, warmup_rounds=1, iterations=1)
    value = algo.score(fitted["model"], ds)
    reference, source, _ = reference_metric(case, algo, data, be, ds)
    benchmark.extra_info.update(
        backend=case.backend,
        n_workers=case.n_workers,
        n_samples=case.n_samples,
        impl=case.impl,
        quality={
            "metric": algo.metric.name,
            "value": value,
            "reference": reference,
            "source": source,
        },
    )
    for resident in (ds, test):
        if resident is not None:
            be.free(resident)
    assert algo.quality_ok(value, reference), (value, reference, source)
