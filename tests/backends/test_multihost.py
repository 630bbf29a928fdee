"""A real cluster across hosts: Linux network namespaces joined by a bridge, each engine's
own daemons started with its own CLI inside them, and `dmlbench run` from a fourth
namespace (the driver), as a user with a cluster would run it.

The namespaces, the veth pairs and the private /24 are this test's own and are removed
afterwards, on failure too, within a bounded time; no other address is contacted. Needs
root and iproute2 (skipped with that reason otherwise).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dmlbench.backends.registry import missing_modules
from dmlbench.reports.records import read_records

#: Clusters of real daemons across network namespaces: tens of seconds each (CI runs them).
pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
SUBNET = "10.213.50"  # this test's own private /24
#: One thread of BLAS in every daemon, as the README asks of a cluster's workers.
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@contextmanager
def hosts(names: list[str]) -> Iterator[dict[str, str]]:
    """Network namespaces ``names`` on one bridge (in a switch namespace of its own):
    name -> its address on the /24. Removed on leaving, whatever happened."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2's `ip` (network namespaces)")
    tag = uuid.uuid4().hex[:5]
    switch = f"dmsw-{tag}"
    made: list[str] = []
    try:
        _ip("netns", "add", switch)
        made.append(switch)
        _ip("-n", switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", switch, "link", "set", "br0", "up")
        addresses = {}
        for k, name in enumerate(names, start=1):
            ns = f"dm{name}-{tag}"
            _ip("netns", "add", ns)
            made.append(ns)
            host_end, switch_end = f"dh{k}{tag}", f"ds{k}{tag}"
            _ip("link", "add", host_end, "type", "veth", "peer", "name", switch_end)
            _ip("link", "set", host_end, "netns", ns)
            _ip("link", "set", switch_end, "netns", switch)
            _ip("-n", switch, "link", "set", switch_end, "master", "br0")
            _ip("-n", switch, "link", "set", switch_end, "up")
            _ip("-n", ns, "link", "set", host_end, "name", "eth0")
            _ip("-n", ns, "addr", "add", f"{SUBNET}.{k}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            addresses[name] = f"{SUBNET}.{k}"
        yield {name: addresses[name] for name in names} | {
            f"{name}_ns": f"dm{name}-{tag}" for name in names
        } | {"switch_ns": switch}
    finally:
        for ns in reversed(made):  # deleting a namespace deletes the veth ends in it
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)


@contextmanager
def daemons() -> Iterator[list[subprocess.Popen]]:
    """Processes started in namespaces; each ended by its pid's own group (SIGTERM, then
    SIGKILL after 10 s), whatever happened."""
    started: list[subprocess.Popen] = []
    try:
        yield started
    finally:
        for sig, seconds in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            for proc in started:
                if _group_alive(proc):
                    os.killpg(proc.pid, sig)
            deadline = time.monotonic() + seconds
            while any(_group_alive(p) for p in started) and time.monotonic() < deadline:
                time.sleep(0.1)
        left = [p.pid for p in started if _group_alive(p)]
        assert not left, f"process groups still alive after SIGKILL: {left}"


def _group_alive(proc: subprocess.Popen) -> bool:
    """Whether anything of ``proc``'s process group lives on (its leader reaped first: a
    nanny's worker, a resource tracker stay in the group)."""
    proc.poll()
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return False
    return True


def cluster_environ() -> dict[str, str]:
    """This process's environment for a cluster's processes: one BLAS thread, and without
    the switch this session's own single-machine Ray runtime sets (which makes Ray refuse
    a cluster of more than one node)."""
    skip = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"}
    return {k: v for k, v in os.environ.items() if k not in skip} | ONE_THREAD


def in_ns(ns: str, argv: list[str], log: Path, started: list[subprocess.Popen],
          env: dict[str, str] | None = None) -> None:  # fmt: skip
    """Start ``argv`` in namespace ``ns`` (its own process group), output to ``log``."""
    env = {**cluster_environ(), **(env or {})}
    with log.open("w") as fh:
        started.append(subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdout=fh,
                                        stderr=subprocess.STDOUT, env=env,
                                        start_new_session=True))  # fmt: skip


def test_quick_on_a_dask_cluster_across_hosts(tmp_path):
    """`dask scheduler` on one host, a `dask worker` on each of two more, dmlbench on a
    fourth: the quick suite's smoke profile at 1 and 2 workers gives answers that pass
    their checks, records the workers' own hosts, and n_workers as the engine provided."""
    if missing_modules("dask"):
        pytest.skip("enabled by pip install 'dmlbench[dask]'")
    t0 = time.monotonic()
    with hosts(["sched", "w1", "w2", "drv"]) as net, daemons() as started:
        scheduler = f"tcp://{net['sched']}:8786"
        in_ns(net["sched_ns"], [str(BIN / "dask"), "scheduler", "--host", net["sched"],
                                "--port", "8786", "--no-dashboard"],
              tmp_path / "scheduler.log", started)  # fmt: skip
        for w in ("w1", "w2"):
            in_ns(net[f"{w}_ns"], [str(BIN / "dask"), "worker", scheduler, "--host", net[w],
                                   "--nthreads", "1", "--nworkers", "1", "--no-dashboard"],
                  tmp_path / f"{w}.log", started)  # fmt: skip
        ready = subprocess.run(
            ["ip", "netns", "exec", net["drv_ns"], sys.executable, "-c",
             "import json, sys; from distributed import Client; "
             "c = Client(sys.argv[1], timeout='30s'); c.wait_for_workers(2, timeout=60); "
             "print(json.dumps(sorted(w['host'] for w in "
             "c.scheduler_info(n_workers=-1)['workers'].values()))); c.close()", scheduler],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert ready.returncode == 0, ready.stderr[-2000:] + logs(tmp_path)
        assert json.loads(ready.stdout) == [net["w1"], net["w2"]]
        out = tmp_path / "out"
        run = subprocess.run(
            ["ip", "netns", "exec", net["drv_ns"], str(BIN / "dmlbench"), "run", "quick",
             "--profile", "smoke", "--backends", "dask", "--n-workers", "1,2",
             "--dask-scheduler", scheduler, "--out", str(out)],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:] + logs(tmp_path)
        records = read_records(out / "results.jsonl")
    assert len(records) == 12 and all(r["outcome"] == "ok" for r in records)
    seen = {}
    for r in records:
        assert r["quality"]["ok"], r["case_id"]
        hosts_ran = sorted(w["host"] for w in r["backend_info"]["workers"])
        assert r["n_workers"] == r["case"]["n_workers"] == len(hosts_ran)
        assert r["backend_info"]["settings"]["cluster_workers"] == 2
        seen.setdefault(r["n_workers"], set()).update(hosts_ran)
    assert seen == {1: {net["w1"]}, 2: {net["w1"], net["w2"]}}  # the same one at 1 worker
    assert_gone(net)
    assert time.monotonic() - t0 < 600


def assert_gone(net: dict[str, str]) -> None:
    """None of the test's namespaces (nor so the veth ends in them) is left."""
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10)
    left = [ns for key, ns in net.items() if key.endswith("_ns") and ns in listed.stdout]
    assert not left, left


def logs(tmp_path: Path) -> str:
    """The daemons' logs' tails, for a failure's message."""
    return "".join(f"\n--- {p.name}\n{p.read_text()[-1500:]}" for p in tmp_path.glob("*.log"))


#: Two workloads of the quick suite's smoke profile, as a suite file.
TWO_OF_QUICK = """
[suite]
name = "quick-two"
repeats = 1
timeout = 180
[grid]
n_samples = [4000]
n_features = [20]
[[workload]]
algorithm = "linear_regression"
dataset = "regression"
[[workload]]
algorithm = "kmeans"
dataset = "blobs"
params = { n_clusters = 8, random_state = 0 }
"""


def test_quick_on_a_spark_standalone_cluster_across_hosts(tmp_path, suite_file):
    """A Spark standalone master and two one-core workers (`spark-class` from pyspark's
    own bin/) in namespaces of their own, dmlbench on a fourth: the driver advertises the
    address that routes to the master, the executors on both other hosts connect back, and
    two of the quick suite's smoke workloads pass at 1 and 2 workers, each an application
    of that many one-core executors (two workloads, not six, to keep CI inside its time:
    an application's start alone is about 30 s here)."""
    if missing_modules("spark"):
        pytest.skip("enabled by pip install 'dmlbench[spark]'")
    from dmlbench.backends._spark import find_java

    find_java()
    spark_class = str(BIN.parent / "lib" / f"python{sys.version_info.major}."
                      f"{sys.version_info.minor}" / "site-packages" / "pyspark" / "bin"
                      / "spark-class")  # fmt: skip
    with hosts(["master", "w1", "w2", "drv"]) as net, daemons() as started:
        master = f"spark://{net['master']}:7077"
        base = {"SPARK_LOCAL_DIRS": str(tmp_path / "local"), "SPARK_WORKER_DIR": str(tmp_path)}
        in_ns(net["master_ns"], [spark_class, "org.apache.spark.deploy.master.Master",
                                 "--host", net["master"], "--port", "7077",
                                 "--webui-port", "18080"],
              tmp_path / "master.log", started, base | {"SPARK_LOCAL_IP": net["master"]})  # fmt: skip
        for w in ("w1", "w2"):
            in_ns(net[f"{w}_ns"], [spark_class, "org.apache.spark.deploy.worker.Worker",
                                   master, "--host", net[w], "--cores", "1", "--memory", "2g",
                                   "--webui-port", "18081"],
                  tmp_path / f"{w}.log", started, base | {"SPARK_LOCAL_IP": net[w]})  # fmt: skip
        deadline = time.monotonic() + 90
        while (tmp_path / "master.log").read_text().count("Registering worker") < 2:
            assert time.monotonic() < deadline, "the workers did not register" + logs(tmp_path)
            assert all(p.poll() is None for p in started), logs(tmp_path)
            time.sleep(0.5)
        out = tmp_path / "out"
        suite = suite_file(TWO_OF_QUICK, "two.toml")
        run = subprocess.run(
            ["ip", "netns", "exec", net["drv_ns"], str(BIN / "dmlbench"), "run", str(suite),
             "--backends", "spark", "--n-workers", "1,2",
             "--spark-master", master, "--out", str(out)],
            capture_output=True, text=True, timeout=600, check=False,
            env=cluster_environ(),
        )  # fmt: skip
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:] + logs(tmp_path)
        records = read_records(out / "results.jsonl")
        launched = [(tmp_path / f"{w}.log").read_text().count("Asked to launch executor")
                    for w in ("w1", "w2")]  # fmt: skip
    assert len(records) == 4 and all(r["outcome"] == "ok" for r in records)
    seen = {}
    for r in records:
        assert r["quality"]["ok"] and r["n_workers"] == r["case"]["n_workers"], r["case_id"]
        settings = r["backend_info"]["settings"]
        assert settings["spark.driver.host"] == net["drv"] == settings["spark.driver.bindAddress"]
        assert settings["spark.cores.max"] == str(r["n_workers"])
        hosts_ran = [w["host"] for w in r["backend_info"]["workers"]]  # not the driver's
        assert len(hosts_ran) == r["n_workers"] and set(r["block_hosts"]) <= set(hosts_ran)
        seen.setdefault(r["n_workers"], set()).update(hosts_ran)
    assert len(seen[1]) == 1 and seen[1] < {net["w1"], net["w2"]}
    assert seen[2] == {net["w1"], net["w2"]}
    assert sum(launched) == 3 and min(launched) >= 1  # 1 executor, then one on each host
    assert_gone(net)


def test_quick_on_a_ray_cluster_across_hosts(tmp_path, suite_file):
    """`ray start --head` on one host, a one-CPU node on each of two more and a node
    without CPUs on the driver's host (a Ray driver joins through a node on its own
    host), all with a token of the test's own (token authentication): two of the quick
    suite's smoke workloads at 1, 2 and 3 workers. 1 and 2 run in a SPREAD placement
    group of that many one-CPU bundles, pass their checks and record the worker hosts'
    own addresses for the actors and for every block; 3, more than the cluster's CPUs,
    is skipped with why."""
    if missing_modules("ray"):
        pytest.skip("enabled by pip install 'dmlbench[ray]'")
    import secrets
    import tempfile

    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    # Each node's sockets and logs in a folder of its own (a short path: socket names
    # are limited to 107 bytes), never the machine's /tmp/ray.
    temp = Path(tempfile.mkdtemp(prefix="dmr", dir="/tmp"))
    try:
        with hosts(["head", "w1", "w2", "drv"]) as net, daemons() as started:
            head = f"{net['head']}:6379"
            for name, cpus in (("head", 0), ("w1", 1), ("w2", 1), ("drv", 0)):
                role = (["--head", "--port", "6379", "--include-dashboard=false"]
                        if name == "head" else ["--address", head])  # fmt: skip
                in_ns(net[f"{name}_ns"], [str(BIN / "ray"), "start", *role, "--block",
                                          "--node-ip-address", net[name], "--num-cpus",
                                          str(cpus), "--temp-dir", str(temp / name),
                                          "--disable-usage-stats"],
                      tmp_path / f"{name}.log", started, auth)  # fmt: skip
                if name == "head":  # the others join it
                    _wait_for_log(tmp_path / "head.log", "Ray runtime started", started)
            for name in ("w1", "w2", "drv"):
                _wait_for_log(tmp_path / f"{name}.log", "Ray runtime started", started)
            out = tmp_path / "out"
            suite = suite_file(TWO_OF_QUICK, "two.toml")
            run = subprocess.run(
                ["ip", "netns", "exec", net["drv_ns"], str(BIN / "dmlbench"), "run",
                 str(suite), "--backends", "ray", "--n-workers", "1,2,3",
                 "--ray-address", head, "--out", str(out)],
                capture_output=True, text=True, timeout=600, check=False,
                env={**cluster_environ(), **auth},
            )  # fmt: skip
            assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:] + logs(tmp_path)
            records = read_records(out / "results.jsonl")
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    assert [r["outcome"] for r in records] == ["ok"] * 4 + ["skipped"] * 2
    assert all("has 2 CPU(s); the case asks for 3" in r["reason"] for r in records[4:])
    seen = {}
    for r in records[:4]:
        assert r["quality"]["ok"], r["case_id"]
        hosts_ran = [w["host"] for w in r["backend_info"]["workers"]]
        assert r["n_workers"] == r["case"]["n_workers"] == len(hosts_ran)
        assert set(r["block_hosts"]) == set(hosts_ran)  # every block on a worker's host
        settings = r["backend_info"]["settings"]
        assert (settings["cluster_cpus"], settings["cluster_nodes"]) == (2, 4)
        seen.setdefault(r["n_workers"], set()).update(hosts_ran)
    assert len(seen[1]) == 1 and seen[1] < {net["w1"], net["w2"]}
    assert seen[2] == {net["w1"], net["w2"]}  # spread: one actor on each worker host
    assert not temp.exists()
    assert_gone(net)


def _wait_for_log(log: Path, text: str, started: list[subprocess.Popen]) -> None:
    """Until ``text`` is in ``log`` (90 s at most; at once if a daemon died)."""
    deadline = time.monotonic() + 90
    while text not in log.read_text():
        assert time.monotonic() < deadline, f"{log.name}: no {text!r}" + logs(log.parent)
        assert all(p.poll() is None for p in started), logs(log.parent)
        time.sleep(0.2)
