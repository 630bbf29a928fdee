"""A worker process killed with SIGKILL mid-fit, on every engine, as the OS or a crash
kills one: the case is ``failed`` with the engine's reason, the next case runs on a fresh
engine, the suite finishes, and nothing finished is lost.

Each test runs the installed ``dmlbench`` in a subprocess (Spark and Ray allow one runtime
per process, and the session's own may be running), waits until the first case is
recorded and the second has run for 1 s, then kills the engine's processes named in
``VICTIMS``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import selected_backends

from dmlbench.backends.registry import install_hint, missing_modules
from dmlbench.reports.records import read_records

DMLBENCH = str(Path(sys.executable).with_name("dmlbench"))

#: Three cases: one that finishes, one long enough to be killed in, one after it.
SUITE = """
[suite]
name = "dead"
timeout = 180
repeats = 1
[grid]
backends = ["{engine}"]
n_workers = [2]
[[workload]]
algorithm = "kmeans"
dataset = "blobs"
n_samples = [2000]
params = {{ n_clusters = 4, random_state = 0 }}
[[workload]]
algorithm = "mlp"
dataset = "images"
n_features = [64]
n_samples = [4000]
params = {{ max_iter = {epochs}, random_state = 0 }}
[[workload]]
algorithm = "kmeans"
dataset = "blobs"
n_samples = [3000]
params = {{ n_clusters = 4, random_state = 0 }}
"""


def parent_cmd(proc: psutil.Process) -> str:
    parent = proc.parent()
    return " ".join(parent.cmdline()) if parent is not None else ""


def dask_worker(proc: psutil.Process, cmd: str) -> bool:
    # LocalCluster's nannies live in the driver; each spawns its worker process.
    return "spawn_main" in cmd


def spark_python_worker(proc: psutil.Process, cmd: str) -> bool:
    # pyspark.daemon forks one Python worker per task slot; a worker's parent is the daemon.
    return "pyspark.daemon" in cmd and "pyspark.daemon" in parent_cmd(proc)


def spark_executor(proc: psutil.Process, cmd: str) -> bool:
    # local[n]: the executor runs inside the driver's JVM, so the JVM is the one to kill.
    return proc.name() == "java" and "SparkSubmit" in cmd


def ray_actor(proc: psutil.Process, cmd: str) -> bool:
    return cmd.startswith("ray::BlockActor")


#: victim -> (engine, which process, epochs of the case it is killed in (Spark's rounds
#: are slower: fewer of them), what the case becomes).
VICTIMS = {
    "dask-worker": ("dask", dask_worker, 10, "failed"),
    "spark-python-worker": ("spark", spark_python_worker, 2, "failed or recovered"),
    "spark-executor": ("spark", spark_executor, 2, "failed"),
    "ray-actor": ("ray", ray_actor, 10, "failed"),
}


def victims(root: psutil.Process, match) -> list[psutil.Process]:
    found = []
    for proc in root.children(recursive=True):
        try:
            if match(proc, " ".join(proc.cmdline())):
                found.append(proc)
        except psutil.Error:  # exited (or a zombie) since it was listed
            continue
    return found


@pytest.mark.slow
@pytest.mark.parametrize("victim", list(VICTIMS))
def test_a_worker_killed_mid_case_fails_that_case_only(tmp_path, suite_file, victim):
    """Killed 1 s into the second case (its fit, or its data being made): that case fails
    with the engine's reason. A Spark Python worker is the one process an engine may
    replace by itself: killed between two tasks, Spark starts another, the blocks it held
    are rebuilt from their recipe inside the fit's clock (counted in ``rebuilt_blocks``),
    and the case ends ``ok``; killed inside a task, the task and the case fail."""
    engine, match, epochs, expected = VICTIMS[victim]
    if engine not in selected_backends():
        pytest.skip(f"enabled by DMLBENCH_BACKENDS including {engine}")
    if missing_modules(engine):
        pytest.skip(f"enabled by {install_hint(engine)}")
    suite = suite_file(SUITE.format(engine=engine, epochs=epochs))
    out = tmp_path / "out"
    log = (tmp_path / "stderr").open("w")
    proc = subprocess.Popen([DMLBENCH, "run", str(suite), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=log, text=True)  # fmt: skip
    root = psutil.Process(proc.pid)
    results = out / "results.jsonl"
    deadline = time.monotonic() + 180
    while not results.exists() or not results.read_text().strip():
        assert proc.poll() is None and time.monotonic() < deadline, "no first case"
        time.sleep(0.05)
    time.sleep(1.0)
    seen = {p.pid for p in root.children(recursive=True)}
    killed = []
    for target in victims(root, match):
        try:
            target.kill()
            killed.append(target.pid)
        except psutil.Error:
            continue
    stdout, _ = proc.communicate(timeout=300)
    stderr = (tmp_path / "stderr").read_text()
    assert killed, f"found no {victim} process to kill"
    records = read_records(results)
    second = records[1]["outcome"] if expected == "failed or recovered" else expected
    outcomes = [(r["case"]["algorithm"], r["outcome"]) for r in records]
    assert outcomes == [("kmeans", "ok"), ("mlp", second), ("kmeans", "ok")], (
        [r.get("reason") for r in records], stderr[-2000:])  # fmt: skip
    if second == "ok":
        assert sum(records[1]["rebuilt_blocks"]) > 0  # the lost blocks, rebuilt and counted
        assert proc.returncode == 0 and "3 ok" in stdout
    else:
        assert records[1]["reason"].startswith("engine failure: "), records[1]["reason"]
        # A fresh engine for the next case: other worker processes than the first case's.
        pids = [set(r["backend_info"]["worker_pids"]) for r in (records[0], records[2])]
        assert not pids[0] & pids[1], pids
        assert proc.returncode == 1 and "1 failed, 2 ok" in stdout  # a failed case
    assert "Traceback" not in stderr, stderr[-3000:]
    ended = time.monotonic() + 10  # the last ones (a JVM shutting down) may need a moment
    while [pid for pid in seen if running(pid)] and time.monotonic() < ended:
        time.sleep(0.1)
    assert not [pid for pid in seen if running(pid)]  # nothing the run started is left


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
