"""Engines that cannot start, as a user meets them: an unreachable cluster address, a
port held by something that is not the engine, Java missing, the Ray runtime refusing to
start. Each is a one-line error with the fix before anything runs, or a classified case
with its reason; never a traceback, never the same timeout waited out case after case."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import selected_backends, write_suite

from dmlbench.backends.registry import install_hint, missing_modules
from dmlbench.reports.records import read_records
from dmlbench.suites.cli.commands import main

DMLBENCH = str(Path(sys.executable).with_name("dmlbench"))
SUITE = """
[suite]
name = "start"
repeats = 1
[grid]
backends = ["{engine}"]
n_workers = [{workers}]
[[workload]]
algorithm = "linear_regression"
dataset = "regression"
n_samples = [400, 800]
"""


def suite(tmp_path: Path, engine: str, workers: int = 2) -> Path:
    return write_suite(tmp_path, SUITE.format(engine=engine, workers=workers))


def installed(engine: str) -> None:
    if missing_modules(engine):
        pytest.skip(f"enabled by {install_hint(engine)}")


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "engine, flag, address",
    [
        ("dask", "--dask-scheduler", "tcp://127.0.0.1:{port}"),
        ("spark", "--spark-master", "spark://127.0.0.1:{port}"),
        ("ray", "--ray-address", "127.0.0.1:{port}"),
    ],
)
def test_an_unreachable_cluster_is_one_line_with_the_fix(tmp_path, capsys, engine, flag,
                                                         address):  # fmt: skip
    installed(engine)
    address = address.format(port=closed_port())
    t0 = time.monotonic()
    out = tmp_path / "out"
    argv = ["run", str(suite(tmp_path, engine)), "--n-workers", "2", flag, address]
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"cannot reach the {engine} cluster at {address}" in err, err
    assert "Connection refused" in err and "start its " in err and "Traceback" not in err
    assert time.monotonic() - t0 < 10  # refused before any engine waits its timeout
    assert not (out / "results.jsonl").exists()


def test_a_port_held_by_something_else_fails_once_not_per_case(tmp_path, capsys):
    """A listener that accepts and never speaks Dask's protocol: the first case fails
    after the 15 s connect bound (Dask's own timeout does not bound its handshake); the
    second is not tried again."""
    installed("dask")
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(server.accept()[0]), daemon=True).start()
    address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    out = tmp_path / "out"
    t0 = time.monotonic()
    try:
        code = main(["run", str(suite(tmp_path, "dask")), "--n-workers", "2",
                     "--dask-scheduler", address, "--out", str(out)])  # fmt: skip
    finally:
        server.close()
        for conn in held:
            conn.close()
    assert code == 1 and "2 failed" in capsys.readouterr().out
    first, second = read_records(out / "results.jsonl")
    assert first["outcome"] == second["outcome"] == "failed"
    assert first["reason"].startswith("engine did not start: BackendError: no Dask scheduler")
    assert second["reason"].endswith("(not retried: it did not start for an earlier case)")
    assert time.monotonic() - t0 < 40  # one timeout, not one per case


def test_spark_without_java_is_skipped_with_how_to_install_it(tmp_path):
    installed("spark")
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(Path(sys.executable).parent)  # no java on it
    out = tmp_path / "out"
    proc = subprocess.run([DMLBENCH, "run", str(suite(tmp_path, "spark")), "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr  # skipped: it cannot run here, and says why
    assert "Traceback" not in proc.stderr
    records = read_records(out / "results.jsonl")
    assert [r["outcome"] for r in records] == ["skipped", "skipped"]
    assert "openjdk-17-jre-headless" in records[0]["reason"], records[0]["reason"]


@pytest.mark.slow
def test_a_ray_runtime_that_refuses_to_start_fails_its_cases(tmp_path):
    """Ray's session directory under a path that is a file: ray.init fails at once."""
    installed("ray")
    if "ray" not in selected_backends():
        pytest.skip("enabled by DMLBENCH_BACKENDS including ray")
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    out = tmp_path / "out"
    proc = subprocess.run([DMLBENCH, "run", str(suite(tmp_path, "ray")), "--out", str(out)],
                          env={**os.environ, "RAY_TMPDIR": str(not_a_dir)},
                          capture_output=True, text=True, timeout=180)  # fmt: skip
    assert proc.returncode == 1 and "2 failed" in proc.stdout, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    first, second = read_records(out / "results.jsonl")
    assert first["reason"].startswith("engine did not start: NotADirectoryError")
    assert "not retried" in second["reason"]
