"""What the numbers were measured on: the environment record stored with every result."""

from __future__ import annotations

import os
import platform
import subprocess
from contextlib import suppress
from pathlib import Path
from typing import Any

from dmlbench.backends import SLOWDOWN_ENV
from dmlbench.backends.registry import engine_packages
from dmlbench.reports.records import CodeIdentity, MachineState

#: Packages whose versions every environment record carries, around the engines' own
#: (each backend's extra, from the registry): what the algorithms and reports run on.
CORE_PACKAGES = ("numpy", "scipy", "scikit-learn")
REPORT_PACKAGES = ("pandas",)


def environment() -> dict[str, Any]:
    """What the numbers were measured on: machine, BLAS, package versions, the code
    (:func:`code_identity`)."""
    from importlib import metadata

    import psutil
    from threadpoolctl import threadpool_info

    code = code_identity()
    versions = {}
    for pkg in (*CORE_PACKAGES, *engine_packages(), *REPORT_PACKAGES):
        with suppress(metadata.PackageNotFoundError):
            versions[pkg] = metadata.version(pkg)
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
        "git_commit": code["commit"],
        "code": code,
        # A results file measured with the test-only slowdown says so (see SLOWDOWN_ENV).
        **({"test_slowdown": slowdown} if (slowdown := os.environ.get(SLOWDOWN_ENV)) else {}),
    }


def code_identity(root: Path | None = None) -> CodeIdentity:
    """The code that measures: the git commit of the checkout dmlbench runs from and
    whether its tree differs from that commit (tracked files changed, staged or not).

    A record measured on a dirty tree cannot be reproduced from its commit alone; the
    files that differed are named (at most :data:`DIRTY_FILES_SHOWN`). Outside a git
    checkout (an installed wheel) both are None.
    """
    root = root or Path(__file__).resolve().parents[2]
    identity: CodeIdentity = {"commit": None, "dirty": None}
    with suppress(Exception):
        identity["commit"] = _git(root, "rev-parse", "HEAD").strip()
        changed = _git(root, "status", "--porcelain", "--untracked-files=no").splitlines()
        identity["dirty"] = bool(changed)
        if changed:
            identity["dirty_files"] = [line[3:] for line in changed[:DIRTY_FILES_SHOWN]]
    return identity


#: Changed files a dirty record names.
DIRTY_FILES_SHOWN = 20


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], capture_output=True, text=True, cwd=root, timeout=10, check=True
    ).stdout


def machine_state() -> MachineState:
    """What else the machine was doing: load averages (1, 5, 15 min), the CPU frequency
    (MHz, where the OS gives it) and the CPU time stolen by a hypervisor so far (seconds,
    Linux): taken before and after each case, so a noisy case can be told from a slow one.
    """
    import psutil

    state: MachineState = {"loadavg": [round(x, 2) for x in os.getloadavg()]}
    with suppress(Exception):
        freq = psutil.cpu_freq()
        if freq is not None and freq.current:
            state["cpu_mhz"] = round(freq.current)
    steal = getattr(psutil.cpu_times(), "steal", None)
    if steal is not None:
        state["steal_s"] = round(steal, 2)
    return state


#: Times the calibration kernel runs at the start of a run.
CALIBRATION_ROUNDS = 7


def calibration(rounds: int = CALIBRATION_ROUNDS) -> dict[str, Any]:
    """The run's noise floor: a short fixed kernel (a 256×256 matrix product and a
    2M-element triad, one BLAS thread: compute and memory bandwidth), timed ``rounds`` times
    at the start of a run. Its median compares machines and runs; its spread is the
    machine's own noise before any engine starts.
    """
    import time

    import numpy as np
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a, b = rng.random((256, 256)), rng.random((256, 256))
    x, y = rng.random(2_000_000), rng.random(2_000_000)
    times = []
    with threadpool_limits(limits=1):
        for _ in range(rounds + 1):  # the first is a warm-up
            t0 = time.perf_counter()
            for _ in range(4):
                a @ b
                x + 2.5 * y
            times.append(time.perf_counter() - t0)
    timed = sorted(times[1:])
    median = timed[len(timed) // 2]
    return {
        "kernel": "4 x (256x256 matmul + 2M triad), 1 BLAS thread",
        "median_s": median,
        "spread": (timed[-1] - timed[0]) / median,
        "times_s": times[1:],
    }
