"""Each engine also in its idiomatic pattern: ``pattern="tasks"`` on Dask and Ray.

The ``"tasks"`` pattern (Dask futures through the scheduler, Ray tasks over object refs)
must pass the same conformance kit as the default ``"resident"`` pattern and give the same
bits. One engine runs at a time: each module-scoped fixture fits on ``"resident"``, closes
it, then starts ``"tasks"`` once for every test of the module.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest
from conftest import inline_suite, selected_backends
from sklearn import datasets

from dmlbench.algorithms import KMeans, LinearRegression
from dmlbench.backends import get_backend
from dmlbench.backends.conformance import CHECKS, gaussian_block
from dmlbench.backends.registry import install_hint, missing_modules

ENGINES = [name for name in ("dask", "ray") if name in selected_backends()]


def start(name: str, pattern: str):
    """A started backend in ``pattern``, or a skip that says how to enable it."""
    if missing_modules(name):
        pytest.skip(f"{name} is not installed: enabled by {install_hint(name)}")
    # Not `import ray` here: the adapter sets Ray's loopback-only switch before the first
    # import, and an earlier import would make Ray listen on every interface.
    ray = sys.modules.get("ray")
    if name == "ray" and ray is not None:
        if ray.is_initialized():
            pytest.skip(
                "Ray allows one runtime per process and another one (the session's `backend` "
                "fixture) is alive: run DMLBENCH_BACKENDS=local,ray pytest tests/backends/test_patterns.py"
            )
    return get_backend(name, n_workers=2, pattern=pattern).start()


def fitted(be) -> dict[str, np.ndarray]:
    """Parameters of a LinearRegression and a KMeans fit on numpy input (fixed seeds)."""
    X, y = datasets.make_regression(2000, 8, noise=3.0, bias=2.0, random_state=0)
    blobs, _ = datasets.make_blobs(3000, n_features=5, centers=6, random_state=1)
    lr = LinearRegression(backend=be).fit(X, y)
    km = KMeans(6, random_state=0, backend=be).fit(blobs)
    return {
        "coef_": lr.coef_,
        "intercept_": np.asarray(lr.intercept_),
        "cluster_centers_": km.cluster_centers_,
        "inertia_": np.asarray(km.inertia_),
        "n_iter_": np.asarray(km.n_iter_),
    }


@pytest.fixture(scope="module", params=ENGINES)
def tasks(request):
    """``(backend started with pattern="tasks", fitted() under "resident")``."""
    resident = start(request.param, "resident")
    try:
        resident_fit = fitted(resident)
    finally:
        resident.close()
    be = start(request.param, "tasks")
    yield be, resident_fit
    be.close()


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_tasks_pattern_passes_the_conformance_kit(tasks, check):
    check(tasks[0])


def test_same_bits_under_both_patterns(tasks):
    be, resident_fit = tasks
    got = fitted(be)
    for name, want in resident_fit.items():
        assert np.array_equal(got[name], want), (name, got[name], want)


def test_info_names_the_pattern(tasks):
    be, _ = tasks
    info = be.info()
    assert info["pattern"] == "tasks" and info["settings"]["pattern"] == "tasks", info
    assert "task" in info["pattern_detail"] and "broadcast" in info["pattern_detail"], info
    assert info["n_workers"] == 2 and len(info["worker_pids"]) == 2, info


def test_free_releases_the_futures(tasks):
    """Dask: once freed, the scheduler forgets every block of the dataset."""
    be, _ = tasks
    if be.name != "dask":
        pytest.skip("checks Dask's scheduler state; Ray frees an object when its refs go")
    client = be.native()
    before = {k for keys in client.has_what().values() for k in keys}
    ds = be.generate(gaussian_block, 4)
    now = {k for keys in client.has_what().values() for k in keys} - before
    held = {k for k in now if k.startswith("task_build-")}  # (size tasks come and go)
    assert len(held) == 4, now  # positive control: one resident future per block
    be.free(ds)
    deadline = time.monotonic() + 10
    while held & {k for keys in client.has_what().values() for k in keys}:
        assert time.monotonic() < deadline, "freed blocks are still held by the workers"
        time.sleep(0.05)


@pytest.mark.parametrize("name", ["dask", "ray"])
def test_unknown_pattern_is_refused(name):
    if missing_modules(name):
        pytest.skip(f"{name} is not installed: enabled by {install_hint(name)}")
    with pytest.raises(
        ValueError,
        match=rf"The 'pattern' parameter of get_backend\('{name}'\) must be one of "
        r"\['resident', 'tasks'\]. Got 'task'",
    ):
        get_backend(name, pattern="task")


# -- the pattern as a suite axis ----------------------------------------------------------
PATTERN_SUITE = """
[suite]
name = "patterns"
repeats = 1
[grid]
backends = ["local", "dask", "spark", "ray"]
n_workers = [2]
impl = ["dmlbench", "native"]
n_samples = [4000]
patterns = ["resident", "tasks"]
[[workload]]
algorithm = "kmeans"
dataset = "blobs"
params = { n_clusters = 3, max_iter = 5 }
"""


def test_patterns_axis_expands_only_where_an_engine_has_several_ways():
    suite = inline_suite(
        PATTERN_SUITE.replace('["local", "dask", "spark", "ray"]', '["dask", "spark", "ray"]')
    )
    got = sorted((c.backend, c.impl, c.pattern) for c in suite.cases)
    assert got == [
        ("dask", "dmlbench", "resident"),
        ("dask", "dmlbench", "tasks"),
        ("dask", "native", None),  # dask-ml does not run through our verbs: one case
        ("ray", "dmlbench", "resident"),
        ("ray", "dmlbench", "tasks"),
        ("ray", "native", None),
        ("spark", "dmlbench", None),  # one way to run: the axis collapses
        ("spark", "native", None),
    ]
    ids = [c.id for c in suite.cases]
    assert len(set(ids)) == len(ids)
    assert any("/dask:tasks/" in i for i in ids) and any("/spark/" in i for i in ids)
    # Without the axis, ids stay what they were (resuming old results keeps working).
    plain = inline_suite(PATTERN_SUITE.replace('patterns = ["resident", "tasks"]', ""), "x")
    assert all(c.pattern is None and f"/{c.backend}/" in c.id for c in plain.cases)


def test_an_unknown_pattern_is_refused_with_the_valid_ones():
    from dmlbench.suites.define.spec import SuiteError

    text = PATTERN_SUITE.replace('"tasks"]', '"actors"]')
    with pytest.raises(SuiteError, match=r"patterns.*'actors'.*\['resident', 'tasks'\]"):
        inline_suite(text)


def test_the_report_puts_each_pattern_beside_the_fastest():
    from made_up import record as made_up

    from dmlbench.reports.results import Results
    from dmlbench.reports.sections.comparison import tables as comparison
    from dmlbench.reports.sections.patterns import tables as patterns

    def record(pattern, impl, fit, per_round):
        """Three fits of ``fit`` seconds, each 10 rounds of ``per_round``."""
        trace = [{"iteration": i + 1, "seconds": per_round * (i + 1)} for i in range(10)]
        return made_up("kmeans", "dask", 2, 1000, fit, impl=impl, params={}, suite="s",
                       fits=[fit] * 3, trace=trace, pattern=pattern)  # fmt: skip

    results = Results(
        cases=[
            record("resident", "dmlbench", 1.0, 0.1),
            record("tasks", "dmlbench", 1.5, 0.14),
            record(None, "native", 3.0, 0.3),
        ]
    )
    (table,) = patterns(results)
    rows = {row[3]: row for row in table.rows}
    assert rows["resident"][7] == 1.0 and rows["tasks"][7] == pytest.approx(1.5)
    assert rows["tasks"][8] == pytest.approx(1.4)
    # Each pattern is its own engine in the comparison, both against the one dask-ml.
    (comp,) = comparison(results)
    ratio = comp.columns.index("written-once / native")
    mine = {row[1]: row[ratio] for row in comp.rows if row[2] == "dmlbench"}
    assert mine == {"dask:resident": pytest.approx(1 / 3), "dask:tasks": pytest.approx(0.5)}


@pytest.mark.slow
def test_a_suite_runs_both_dask_patterns_and_records_them(tmp_path):
    from dmlbench.reports.records import read_records
    from dmlbench.suites.run.runner import run_suite

    if "dask" not in selected_backends() or missing_modules("dask"):
        pytest.skip("enabled by DMLBENCH_BACKENDS including dask and pip install 'dmlbench[dask]'")
    suite = inline_suite(
        PATTERN_SUITE.replace('["local", "dask", "spark", "ray"]', '["dask"]').replace(
            '["dmlbench", "native"]', '["dmlbench"]'
        )
    )
    records = read_records(run_suite(suite, tmp_path / "out"))
    assert [r["outcome"] for r in records] == ["ok", "ok"]
    assert sorted(r["backend_info"]["pattern"] for r in records) == ["resident", "tasks"]
    assert sorted(r["case"]["pattern"] for r in records) == ["resident", "tasks"]
    # The same start, the same steps: the same answer either way.
    a, b = (r["quality"]["value"] for r in records)
    assert a == pytest.approx(b, rel=1e-9)
