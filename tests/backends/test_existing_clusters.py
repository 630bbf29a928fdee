"""Attaching to a cluster that dmlbench did not start (``address=``)."""

import contextlib
import importlib
import subprocess
import sys
import textwrap

import pytest
from conftest import inline_suite

from dmlbench.backends import get_backend
from dmlbench.backends.conformance import (
    check_aggregate_matches_numpy,
    check_from_blocks,
    indexed_block,
)
from dmlbench.backends.registry import missing_modules


def test_dask_existing_scheduler_is_used_and_left_clean():
    if missing_modules("dask"):
        pytest.skip("enabled by pip install 'dmlbench[dask]'")
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=3,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # no fixed port 8787
    ) as cluster:
        with get_backend("dask", address=cluster.scheduler_address) as be:
            assert be.info()["n_workers"] == 3  # the cluster's size, not the default 2
            assert be.info()["address"] == cluster.scheduler_address
            check_aggregate_matches_numpy(be)
            check_from_blocks(be)
            be.generate(indexed_block, 5)  # left resident on purpose: close() must clear it
            assert sum(client_counts(cluster).values()) == 5
        assert list(client_counts(cluster).values()) == [0, 0, 0]
        assert len(cluster.workers) == 3  # we detached; the cluster lives on


def client_counts(cluster):
    """Blocks held by each worker of ``cluster``."""
    from distributed import Client

    with Client(cluster) as client:
        return client.run(lambda: len(importlib.import_module("dmlbench.backends._worker").STORE))


SCRIPT = textwrap.dedent("""
    import sys
    from dmlbench.backends import get_backend
    from dmlbench.backends.conformance import check_aggregate_matches_numpy, check_combine_in_block_order
    with get_backend(sys.argv[1], address=sys.argv[2]) as be:
        check_aggregate_matches_numpy(be)
        check_combine_in_block_order(be)
        print("workers", be.info()["n_workers"])
""")


SUBSET_SCRIPT = textwrap.dedent("""
    import sys
    from dmlbench.backends import BackendUnavailable, get_backend
    from dmlbench.backends.conformance import check_aggregate_matches_numpy, check_combine_in_block_order
    with get_backend("spark", address=sys.argv[1]) as be:  # all of the cluster's workers
        check_aggregate_matches_numpy(be)
        check_combine_in_block_order(be)
        print("workers", be.info()["n_workers"])
    try:
        get_backend("spark", address=sys.argv[1], n_workers=3).start()
    except BackendUnavailable as exc:
        print("three", exc)
""")


@pytest.mark.slow
def test_spark_standalone_runs_on_the_executors_asked_for():
    """A standalone cluster (``local-cluster``: a real master and two one-core workers,
    executors in separate JVMs): all of its workers by default; more than the cluster
    has: unavailable, with why. (n_workers 1 and 2 across hosts: test_multihost.py.)"""
    if missing_modules("spark"):
        pytest.skip("enabled by pip install 'dmlbench[spark]'")
    out = subprocess.run(
        [sys.executable, "-c", SUBSET_SCRIPT, "local-cluster[2,1,1024]"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert "workers 2" in out.stdout
    assert ("three the Spark cluster at local-cluster[2,1,1024] granted 2 one-core executor(s) "
            "within 20 s; the case asks for 3") in out.stdout  # fmt: skip


@pytest.mark.slow
def test_ray_head_started_outside(tmp_path):
    """A ``ray start --head`` cluster on loopback, attached to by address."""
    if missing_modules("ray"):
        pytest.skip("enabled by pip install 'dmlbench[ray]'")
    import os
    import shutil
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    ray_cli = shutil.which("ray", path=os.path.dirname(sys.executable))
    # --block: the head lives as long as this process, and terminating it stops the
    # head's own processes only (``ray stop`` would also stop other Ray runtimes here).
    head = subprocess.Popen(
        [
            ray_cli,
            "start",
            "--head",
            "--block",
            f"--port={port}",
            "--num-cpus=2",
            "--include-dashboard=false",
            "--disable-usage-stats",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert head.poll() is None and time.monotonic() < deadline, "ray head did not start"
            time.sleep(0.5)
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT, "ray", f"127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env=env,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        assert "workers 2" in out.stdout
    finally:
        head.terminate()
        head.wait(60)


def test_dask_chooses_the_same_workers_spread_over_hosts():
    from dmlbench.backends._dask import choose_workers

    workers = [{"address": f"tcp://10.0.0.{h}:{p}", "host": f"10.0.0.{h}"}
               for h in (2, 1) for p in (4001, 4000)] + [
              {"address": "tcp://10.0.0.3:4000", "host": "10.0.0.3"}]  # fmt: skip
    assert choose_workers(workers, 1) == ["tcp://10.0.0.1:4000"]
    # one per host first, then a host's second worker
    assert choose_workers(workers, 3) == ["tcp://10.0.0.1:4000", "tcp://10.0.0.2:4000",
                                          "tcp://10.0.0.3:4000"]  # fmt: skip
    assert choose_workers(workers, 4) == ["tcp://10.0.0.1:4000", "tcp://10.0.0.1:4001",
                                          "tcp://10.0.0.2:4000", "tcp://10.0.0.3:4000"]  # fmt: skip
    assert choose_workers(list(reversed(workers)), 3) == choose_workers(workers, 3)
    assert len(choose_workers(workers, 9)) == 5


SWEEP_ON_A_CLUSTER = """
[suite]
name = "cluster-sweep"
repeats = 2
[grid]
backends = ["dask"]
n_workers = [1, 2, 4]
impl = ["dmlbench", "native"]
n_samples = [3000]
[[workload]]
algorithm = "kmeans"
dataset = "blobs"
params = { n_clusters = 3, random_state = 0 }
"""


def test_a_worker_sweep_on_an_existing_dask_cluster(tmp_path):
    """n_workers on a scheduler dmlbench did not start: that many of its workers, recorded
    by address; more than it has: skipped with why; dask-ml, which would run on all of
    them, skipped rather than mislabelled. Every answer checked as anywhere else."""
    if missing_modules("dask"):
        pytest.skip("enabled by pip install 'dmlbench[dask]'")
    from distributed import LocalCluster

    from dmlbench.reports.records import read_records
    from dmlbench.suites.run.runner import run_suite

    suite = inline_suite(SWEEP_ON_A_CLUSTER)
    with LocalCluster(n_workers=3, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None,
                      scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as cluster:  # fmt: skip
        every = sorted(cluster.scheduler.workers)
        path = run_suite(suite, tmp_path / "out",
                         options={"dask": {"address": cluster.scheduler_address}})  # fmt: skip
        assert list(client_counts(cluster).values()) == [0, 0, 0]  # left clean
    got = {(r["case"]["impl"], r["case"]["n_workers"]): r for r in read_records(path)}
    for p in (1, 2):
        r = got[("dmlbench", p)]
        assert r["outcome"] == "ok" and r["quality"]["ok"], r.get("reason")
        ran = [w["address"] for w in r["backend_info"]["workers"]]
        assert r["n_workers"] == len(ran) == p and ran == every[:p]  # one host: by address
        assert r["backend_info"]["settings"]["cluster_workers"] == 3
    too_many = got[("dmlbench", 4)]
    assert too_many["outcome"] == "skipped"
    assert "has 3 worker(s); the case asks for 4" in too_many["reason"]
    native = got[("native", 1)]
    assert native["outcome"] == "skipped"
    assert "dask-ml on an existing cluster runs on all of its 3 workers" in native["reason"]


def _netns_or_skip() -> None:
    import os
    import shutil

    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2's `ip` (network namespaces)")


def test_the_spark_driver_advertises_the_address_that_routes_to_a_remote_master():
    """A master in another network namespace (a veth pair on a private /24 this test makes
    and removes; nothing is sent): the driver advertises and binds this side's address;
    loopback stays the default for local[n] and a master on loopback; a given
    spark.driver.host wins."""
    _netns_or_skip()
    import uuid

    from dmlbench.backends._spark import SparkBackend

    tag = uuid.uuid4().hex[:6]
    ns, host_end, ns_end = f"dmlb-{tag}", f"dmh{tag}", f"dmn{tag}"  # veth names: 15 chars at most
    ip = ["ip"]

    def run(*args: str, netns: str | None = None) -> None:
        cmd = [*ip, "netns", "exec", netns, "ip", *args] if netns else [*ip, *args]
        subprocess.run(cmd, check=True, capture_output=True, timeout=10)

    try:
        run("netns", "add", ns)
        run("link", "add", host_end, "type", "veth", "peer", "name", ns_end)
        run("link", "set", ns_end, "netns", ns)
        run("addr", "add", "10.213.77.1/24", "dev", host_end)
        run("link", "set", host_end, "up")
        run("addr", "add", "10.213.77.2/24", "dev", ns_end, netns=ns)
        run("link", "set", ns_end, "up", netns=ns)
        remote = SparkBackend(address="spark://10.213.77.2:7077")
        assert remote._driver_address() == "10.213.77.1"
        assert SparkBackend()._driver_address() == "127.0.0.1"
        assert SparkBackend(address="spark://127.0.0.1:7077")._driver_address() == "127.0.0.1"
        assert SparkBackend(address="local-cluster[2,1,1024]")._driver_address() == "127.0.0.1"
        given = SparkBackend(address="spark://10.213.77.2:7077",
                             conf={"spark.driver.host": "10.213.77.9"})  # fmt: skip
        assert given._driver_address() == "10.213.77.9"
    finally:
        subprocess.run([*ip, "link", "del", host_end], capture_output=True, timeout=10)
        subprocess.run([*ip, "netns", "del", ns], capture_output=True, timeout=10)
    listed = subprocess.run([*ip, "netns", "list"], capture_output=True, text=True, timeout=10)
    assert ns not in listed.stdout  # nothing left
    links = subprocess.run([*ip, "-o", "link"], capture_output=True, text=True, timeout=10)
    assert host_end not in links.stdout


ONE_CASE = """
[suite]
name = "one"
repeats = 1
[grid]
backends = ["dask"]
n_workers = [1]
n_samples = [2000]
[[workload]]
algorithm = "linear_regression"
dataset = "regression"
"""


@pytest.mark.slow
def test_a_dask_cluster_that_speaks_tls_only(tmp_path, suite_file):
    """A `dask scheduler` and a `dask worker` on TLS with certificates of the test's own:
    dmlbench reaches them through Dask's own TLS settings (the
    ``DASK_DISTRIBUTED__COMM__TLS__*`` environment), passed through untouched, and the
    answer passes; without them the case fails at once, saying why, rather than hang."""
    if missing_modules("dask"):
        pytest.skip("enabled by pip install 'dmlbench[dask]'")
    import os
    import signal
    import socket
    import time
    from pathlib import Path

    from distributed.security import Security

    from dmlbench.reports.records import read_records

    made = Security.temporary()  # one self-signed certificate for every role
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text(made.tls_ca_file)
    key.write_text(made.tls_client_key)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tls://127.0.0.1:{port}"
    tls = ["--tls-ca-file", str(cert), "--tls-cert", str(cert), "--tls-key", str(key)]
    dask_cli = str(Path(sys.executable).with_name("dask"))
    log = tmp_path / "worker.log"
    suite = suite_file(ONE_CASE, "one.toml")
    procs = []
    try:
        procs.append(subprocess.Popen(
            [dask_cli, "scheduler", "--host", "127.0.0.1", "--port", str(port),
             "--protocol", "tls", "--no-dashboard", *tls],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        with log.open("w") as fh:
            procs.append(subprocess.Popen(
                [dask_cli, "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                 "--no-dashboard", *tls],
                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True))  # fmt: skip
        deadline = time.monotonic() + 60
        while "Registered to" not in log.read_text():
            assert time.monotonic() < deadline and procs[1].poll() is None, log.read_text()
            time.sleep(0.2)
        settings = {
            "DASK_DISTRIBUTED__COMM__TLS__CA_FILE": str(cert),
            "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT": str(cert),
            "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY": str(key),
            "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": "True",
        }
        script = str(Path(sys.executable).with_name("dmlbench"))
        runs = {}
        for name, env in (("with", settings), ("without", {})):
            runs[name] = subprocess.run(
                [script, "run", str(suite), "--dask-scheduler", address,
                 "--out", str(tmp_path / name)],
                capture_output=True, text=True, timeout=300, check=False,
                env={**os.environ, **env},
            )  # fmt: skip
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(30)
    assert runs["with"].returncode == 0, runs["with"].stderr[-2000:]
    (record,) = read_records(tmp_path / "with" / "results.jsonl")
    assert record["outcome"] == "ok" and record["backend_info"]["address"] == address
    assert runs["without"].returncode == 1, runs["without"].stderr[-2000:]
    (failed,) = read_records(tmp_path / "without" / "results.jsonl")
    assert failed["outcome"] == "failed" and "TLS" in failed["reason"], failed["reason"]
