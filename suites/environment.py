"""What the numbers were measured on: the environment record stored with every result."""

from __future__ import annotations

import os
import platform
import subprocess
from contextlib import suppress
from pathlib import Path
from typing import Any


def environment() -> dict[str, Any]:
    """What the numbers were measured on: machine, BLAS, package versions, git commit."""
    from importlib import metadata

    import psutil
    from threadpoolctl import threadpool_info

    versions = {}
    for pkg in (
        "numpy",
        "scipy",
        "scikit-learn",
        "dask",
        "distributed",
        "dask-ml",
        "pyspark",
        "ray",
        "pandas",
    ):
        with suppress(metadata.PackageNotFoundError):
            versions[pkg] = metadata.version(pkg)
    commit = None
    with suppress(Exception):
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            timeout=5,
            check=True,
        ).stdout.strip()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "blas": [
            f"{p['internal_api']} {p.get('version')} ({p['num_threads']} threads)"
            for p in threadpool_info()
            if p.get("user_api") == "blas"
        ],
        "versions": versions,
        "git_commit": commit,
    }
