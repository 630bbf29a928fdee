"""One engine per backend per test session, shared by every test that asks for it.

Choose backends with ``DMLBENCH_BACKENDS=local,dask`` (tox does, per env); by default
every installed backend runs. A backend whose engine is missing is skipped with the
command that installs it.
"""

from __future__ import annotations

import os

import pytest

from dmlbench.backends import BackendUnavailable, backend_names, get_backend, max_workers
from dmlbench.backends.registry import install_hint, missing_modules

N_WORKERS = 2


@pytest.fixture(scope="session", autouse=True)
def machine_limits_cache(tmp_path_factory):
    """The machine's limits (memory bandwidth, DGEMM) cached in the session's own folder,
    not the user's: measured by the first run of the session, read by every later one
    (the ``dmlbench`` subprocesses inherit the setting)."""
    from dmlbench.suites.bench.limits import CACHE_ENV

    old = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("cache"))
    yield os.environ[CACHE_ENV]
    if old is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = old


def selected_backends() -> list[str]:
    wanted = os.environ.get("DMLBENCH_BACKENDS")
    names = [n.strip() for n in wanted.split(",") if n.strip()] if wanted else backend_names()
    unknown = sorted(set(names) - set(backend_names()))
    if unknown:
        raise pytest.UsageError(f"DMLBENCH_BACKENDS names unknown backends {unknown}")
    return names


def start_backend(name: str):
    """A started backend, or a skip that says how to enable it."""
    if missing_modules(name):
        pytest.skip(f"{name} is not installed: enabled by {install_hint(name)}")
    be = get_backend(name, n_workers=min(N_WORKERS, max_workers(name) or N_WORKERS))
    try:
        return be.start()
    except BackendUnavailable as exc:
        pytest.skip(f"{name} cannot start here: {exc}")


@pytest.fixture(scope="session", params=selected_backends())
def backend(request):
    """A started backend, once per session per backend name."""
    be = start_backend(request.param)
    yield be
    be.close()


@pytest.fixture
def dmlbench_cli():
    """Run the installed ``dmlbench`` console script as a user would; fail on a non-zero exit."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).with_name("dmlbench")

    def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [str(script), *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc

    return run
