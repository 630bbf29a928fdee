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
from conftest import EXTRA, selected_backends
from sklearn import datasets

from dmlbench.algorithms import KMeans, LinearRegression
from dmlbench.backends import get_backend
from dmlbench.backends._registry import missing_modules
from dmlbench.backends.conformance import CHECKS, gaussian_block

ENGINES = [name for name in ("dask", "ray") if name in selected_backends()]


def start(name: str, pattern: str):
    """A started backend in ``pattern``, or a skip that says how to enable it."""
    if missing_modules(name):
        pytest.skip(f"{name} is not installed: enabled by pip install 'dmlbench[{EXTRA[name]}]'")
    # Not `import ray` here: the adapter sets Ray's loopback-only switch before the first
    # import, and an earlier import would make Ray listen on every interface.
    ray = sys.modules.get("ray")
    if name == "ray" and ray is not None:
        if ray.is_initialized():
            pytest.skip(
                "Ray allows one runtime per process and another one (the session's `backend` "
                "fixture) is alive: run DMLBENCH_BACKENDS=local,ray pytest tests/test_patterns.py"
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
        pytest.skip(f"{name} is not installed: enabled by pip install 'dmlbench[{EXTRA[name]}]'")
    with pytest.raises(
        ValueError,
        match=rf"The 'pattern' parameter of get_backend\('{name}'\) must be one of "
        r"\['resident', 'tasks'\]. Got 'task'",
    ):
        get_backend(name, pattern="task")
