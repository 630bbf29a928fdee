"""The results directory as a shared, finite resource: one run at a time (a lock naming
its holder), an output that cannot be written refused before the first case, a full disk
stopping the run at the record that did not fit with the file as it was, and an exit
status that says whether every answer was verified."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write_suite

from dmlbench.reports.records import RESULTS_NAME, read_records
from dmlbench.suites.cli.commands import main
from dmlbench.suites.run.run_lock import LOCK_NAME

ONE_CASE = """
[suite]
name = "one"
repeats = 1
[grid]
backends = ["local"]
n_workers = [1]
[[workload]]
algorithm = "linear_regression"
dataset = "regression"
n_samples = [{n}]
"""


def suite(tmp_path: Path, n: int = 400, name: str = "suite.toml") -> Path:
    return write_suite(tmp_path, ONE_CASE.format(n=n), name)


@contextlib.contextmanager
def tmpfs(where: Path, options: str):
    """A real small filesystem mounted at ``where`` (root only), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    where.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if proc.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


HOLDER = """
import fcntl, json, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, json.dumps({"pid": os.getpid(), "host": "here", "command": "dmlbench run quick"}).encode())
print("held", flush=True)
time.sleep(60)
"""


def test_a_second_run_into_the_same_directory_is_refused(tmp_path, capsys):
    """A live holder of the lock: refused, naming it. Killed (SIGKILL, as a crash): the
    kernel released its lock, and the next run goes ahead with a note."""
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out / LOCK_NAME)],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main(["run", str(suite(tmp_path)), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        expected = f"in use by another dmlbench run (pid {holder.pid} on here: dmlbench run quick)"
        assert expected in err, err
        assert not (out / RESULTS_NAME).exists()
    finally:
        holder.kill()
        holder.wait()
    assert main(["run", str(suite(tmp_path)), "--out", str(out)]) == 0
    assert f"(pid {holder.pid}) was killed before it finished" in capsys.readouterr().err
    assert [r["outcome"] for r in read_records(out / RESULTS_NAME)] == ["ok"]
    assert (out / LOCK_NAME).read_text() == ""  # released: nobody holds it


def test_two_real_runs_at_once_do_not_interleave(tmp_path, suite_file):
    """Two `dmlbench run` started together into one directory: one runs, the other
    refuses with the holder's pid; the file holds one run's records only."""
    dmlbench = str(Path(sys.executable).with_name("dmlbench"))
    out = tmp_path / "out"
    mlp = ONE_CASE.format(n=4000).replace('"linear_regression"\ndataset = "regression"',
                                          '"mlp"\ndataset = "images"\nn_features = [64]\n'
                                          'params = { max_iter = 30 }')  # fmt: skip
    long = suite_file(mlp, "long.toml")  # a case that lasts while the second run starts
    args = [dmlbench, "run", str(long), "--out", str(out)]
    first = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out / LOCK_NAME).exists():
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    second = subprocess.run([*args, "--resume"], capture_output=True, text=True, check=False)
    assert first.poll() is None, "the first run ended before the second started: no overlap"
    first.communicate(timeout=120)
    assert first.returncode == 0
    assert second.returncode == 2 and "in use by another dmlbench run (pid " in second.stderr
    assert len(read_records(out / RESULTS_NAME)) == 1


def test_an_output_that_cannot_be_written_is_refused_before_the_first_case(tmp_path, capsys):
    with tmpfs(tmp_path / "ro", "ro,size=1m") as ro:
        t0 = time.monotonic()
        assert main(["run", str(suite(tmp_path)), "--out", str(ro / "out")]) == 2
        err = capsys.readouterr().err
        assert f"{ro / 'out'}: cannot write results there: Read-only file system" in err
        assert "[1/1]" not in err and "Traceback" not in err
        assert time.monotonic() - t0 < 10  # before any engine or case


def test_a_full_disk_stops_the_run_with_the_file_as_it_was(tmp_path, suite_file, capsys):
    """A real 1 MiB filesystem, filled: the lock fits, the next record does not. The run
    stops at that record with a one-line error; the file is byte for byte as before."""
    with tmpfs(tmp_path / "disk", "size=1m") as disk:
        out = disk / "out"
        assert main(["run", str(suite(tmp_path)), "--out", str(out)]) == 0
        before = (out / RESULTS_NAME).read_bytes()
        fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
        with contextlib.suppress(OSError):  # every byte left, then one page back for the lock
            while os.write(fd, b"\0" * 4096):
                pass
        os.close(fd)
        pages = os.path.getsize(disk / "filler") // 4096  # (the last write may be partial)
        os.truncate(disk / "filler", (pages - 1) * 4096)
        kmeans = ONE_CASE.format(n=800).replace(
            '"linear_regression"\ndataset = "regression"',
            '"kmeans"\ndataset = "blobs"\nparams = { n_clusters = 3, random_state = 0 }',
        )
        more = suite_file(kmeans, "more.toml")  # k-means: a record (its traces) over a page long
        capsys.readouterr()
        assert main(["run", str(more), "--out", str(out), "--resume"]) == 2
        err = capsys.readouterr().err
        assert f"{out / RESULTS_NAME}: cannot write a record: No space left on device" in err
        assert "0 of 1 cases recorded; once it can be written: dmlbench run " in err
        assert "Traceback" not in err
        assert (out / RESULTS_NAME).read_bytes() == before  # nothing half-written
        assert (out / LOCK_NAME).read_text() == ""  # released on the way out


def test_a_timeout_makes_the_exit_status_1(tmp_path, suite_file, capsys):
    text = ONE_CASE.format(n=400) + (
        '[[workload]]\nalgorithm = "mlp"\ndataset = "images"\nn_features = [64]\n'
        "n_samples = [4000]\nparams = { max_iter = 3000, random_state = 0 }\n"
    )
    path = suite_file(text.replace('name = "one"', 'name = "one"\ntimeout = 3'), "t.toml")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 1
    assert "1 ok, 1 timeout" in capsys.readouterr().out
