"""The ``spark`` backend: PySpark RDDs, blocks kept deserialized in the Python workers.

Pattern: a verb is one job of ``n_workers`` tasks over ``parallelize(range(n_workers))``;
task ``s`` works on slot ``s``'s contiguous range of blocks and pre-combines them in
block order. Blocks are NOT an RDD ``.cache()``: PySpark caches Python objects pickled in
the JVM, so every job would re-ship and unpickle every block (a full copy of the data per
round). Instead each reused Python worker keeps the blocks it has seen in a process-global
dict, and a worker that lacks one rebuilds it from the dataset's recipe (blocks are a
pure function of their index, or come from a Spark broadcast).

What that costs, and is recorded in :meth:`info`: Spark does not pin a task to a Python
worker, so after a few rounds each of the ``n_workers`` Python workers can hold every
block (memory up to ``n_workers`` x the dataset), and the first rounds pay for rebuilding
blocks a worker has not seen. Spark also stops Python workers idle for a minute; their
blocks are rebuilt on the next round. Spark's ``reduce``/``treeAggregate`` combine in
task-completion order, so partials come back with ``collect`` and are combined on the
driver in block order.

The JVM: settings it reads only at launch (``spark.driver.memory``, the driver's Java
options) are in effect only in a JVM launched with them, and pyspark keeps one JVM per
Python process across sessions; a backend asking for other launch settings than the idle
JVM's relaunches it. The JVM is launched with one BLAS thread (``OPENBLAS_NUM_THREADS=1``,
like every worker process): MLlib calls the machine's ``libblas.so.3`` from each task slot.
:meth:`info` reads back the driver memory, heap and BLAS the running JVM really has.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import warnings
from contextlib import contextmanager, suppress
from dataclasses import replace
from functools import partial
from typing import Any

from dmlbench.backends import _worker
from dmlbench.backends._base import (
    GRANT_TIMEOUT_S,
    INLINE_BROADCAST_BYTES,
    BaseBackend,
    block_ranges,
    host_port,
    signal_handlers_kept,
    travels_inline,
)
from dmlbench.backends._protocol import BackendError, BackendUnavailable, Block, Cancelled, Dataset
from dmlbench.backends._worker import Call, Handle, Outcome, local_address_towards

JAVA_HELP = (
    "Spark needs Java 17 or 21 (OpenJDK). On Debian/Ubuntu: "
    "apt-get install openjdk-17-jre-headless; or set JAVA_HOME to a Java 17/21 installation."
)


#: Spark settings a JVM reads only when it is launched.
_LAUNCH_KEYS = ("spark.driver.memory", "spark.driver.extraJavaOptions", "spark.driver.cores")
#: The launch settings of the JVM this process launched last (None: none launched by us).
_launched: dict[str, str | None] | None = None


def _on_worker(call: Call, ranges: list[list[int]], slot: int, _rows: Any) -> list:
    """Task body: this slot's share of ``call``, as one outcome (dmlbench's own time from
    here: the process set-up check included)."""
    entered = time.perf_counter()
    _worker.setup_process()
    return [_worker.run(call, ranges[slot], entered)]


def _no_rows(_rows: Any) -> list:
    """Task body of the bare round trip: no rows back."""
    return []


class SparkHandle(Handle):
    """A broadcast value held by Spark (``SparkContext.broadcast``)."""

    def __init__(self, bc: Any) -> None:
        self.bc = bc

    def get(self) -> Any:
        return self.bc.value


def find_java() -> str:
    """Path of a usable ``java`` (17 or newer), or :class:`BackendUnavailable` saying why."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        where = f"JAVA_HOME={home} has no bin/java" if home else "java is not on PATH"
        raise BackendUnavailable(f"{JAVA_HELP} ({where})")
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        ).stderr
    except OSError as exc:
        raise BackendUnavailable(f"{JAVA_HELP} ({java} does not run: {exc})") from exc
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):  # "1.8.0" style
        major = int(match.group(2))
    if major < 17:
        raise BackendUnavailable(f"{JAVA_HELP} (found {java}: {out.strip().splitlines()[:1]})")
    return java


class SparkBackend(BaseBackend):
    """Spark: ``local[n_workers]`` on this machine, or an existing classic master.

    Parameters
    ----------
    n_workers : int, optional
        Cores of ``local[n]`` (default 2). With a standalone ``address`` (``spark://``,
        ``local-cluster[...]``): an application of that many one-core executors
        (``spark.cores.max``), checked granted before the first case (fewer within
        :data:`GRANT_TIMEOUT_S`: BackendUnavailable); default the cluster's whole default
        parallelism.
    address : str, optional
        A classic master URL (``spark://host:7077``, ``local-cluster[2,1,1024]``).
        Spark Connect (``sc://``) has no RDDs and is refused.
    ui : bool, default=False
        Serve the Spark UI (on 127.0.0.1).
    conf : dict, optional
        Extra Spark settings, applied last.
    """

    name = "spark"

    @classmethod
    def check_system(cls) -> str:
        return f"ok, java at {find_java()}"

    cluster_hint = "start its master (`start-master.sh --host 127.0.0.1`) and workers"

    @classmethod
    def cluster_endpoints(cls, address: str) -> list[tuple[str, int]]:
        if not address.startswith("spark://"):
            return []  # local-cluster[...], yarn, k8s://: not one master socket to try
        hosts = address.removeprefix("spark://").split(",")  # standby masters too
        return [hp for hp in (host_port(h, 7077) for h in hosts) if hp]

    def __init__(
        self,
        n_workers: int | None = None,
        *,
        address: str | None = None,
        ui: bool = False,
        conf: dict[str, str] | None = None,
    ):
        super().__init__(2 if n_workers is None else n_workers)
        self.asked = None if n_workers is None else self.n_workers  # None: all (address)
        if address and address.startswith("sc://"):
            raise ValueError(
                f"Spark Connect ({address}) has no RDDs, which this backend needs: "
                "give a classic master URL such as spark://host:7077"
            )
        self.address = address
        self.ui = ui
        self.conf = dict(conf or {})
        self._spark: Any = None
        self._sc: Any = None
        self._settings: dict[str, str] = {}

    def _start(self) -> None:
        find_java()
        # The Python workers must run this interpreter (with dmlbench and numpy in it).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        driver = self.towards = self._driver_address()  # executors connect back there
        os.environ.setdefault("SPARK_LOCAL_IP", driver)
        from pyspark import SparkContext
        from pyspark.sql import SparkSession

        if SparkContext._gateway is not None and not _jvm_alive():
            _forget_dead_jvm()  # killed by the OS or a crash: its context is gone with it
        active = SparkContext._active_spark_context
        if active is not None:
            # getOrCreate would hand us that session, settings and all, and our close()
            # would stop it under its owner.
            raise BackendError(
                f"a SparkContext ({active.master}) is already active in this process: close "
                "the other Spark backend (or stop that session) first"
            )
        master = self.address or f"local[{self.n_workers}]"
        self._settings = {
            "spark.app.name": "dmlbench",
            "spark.master": master,
            "spark.ui.enabled": str(self.ui).lower(),
            "spark.ui.showConsoleProgress": "false",
            "spark.driver.host": driver,
            "spark.driver.bindAddress": driver,
            "spark.python.worker.reuse": "true",
            "spark.task.maxFailures": "1",
            **{f"spark.executorEnv.{var}": "1" for var in _worker.BLAS_ENV},
            **self._subset_settings(),
            **self.conf,
        }
        builder = SparkSession.builder
        for key, value in self._settings.items():
            builder = builder.config(key, value)
        launch = {key: self._settings.get(key) for key in _LAUNCH_KEYS}
        global _launched
        if SparkContext._gateway is not None and (launch != _launched or not _jvm_alive()):
            # Idle (no active context, checked above) but launched otherwise, or dead (a
            # JVM killed by the OS or a crash): pyspark would hand us the dead gateway.
            _stop_jvm()
        # SparkContext installs its own SIGINT handler (cancel the jobs, then a bare
        # KeyboardInterrupt): the host's stays, so Ctrl-C keeps meaning what the host says.
        with warnings.catch_warnings(), _one_blas_thread(), signal_handlers_kept(signal.SIGINT):
            # pyspark warns that pandas 3 is not fully supported; this backend moves numpy
            # blocks through RDDs and never touches pandas.
            warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas")
            self._spark = builder.getOrCreate()
        _launched = launch
        self._sc = self._spark.sparkContext
        _quiet_about_a_dead_jvm(self._sc)
        # FATAL, not ERROR: a failed task's Java stack trace would go to the terminal; its
        # first line is in the case's record (the reason).
        self._sc.setLogLevel("FATAL")
        if self.address:
            self.n_workers = self._granted() if self._subset_settings() else (
                self._sc.defaultParallelism)  # fmt: skip

    def _subset_settings(self) -> dict[str, str]:
        """On a standalone cluster asked for ``n`` workers: an application of ``n``
        one-core executors (nothing otherwise: ``local[n]``, or all of a cluster)."""
        if not self.address or self.asked is None:
            return {}
        return {"spark.cores.max": str(self.asked), "spark.executor.cores": "1"}

    def _granted(self) -> int:
        """Wait until the cluster has granted the ``n`` executors asked for; their number.
        A cluster with fewer free cores grants fewer, and never more: BackendUnavailable
        after :data:`GRANT_TIMEOUT_S`."""
        import time

        deadline = time.monotonic() + GRANT_TIMEOUT_S
        while True:
            # the block managers registered, the driver's own among them
            executors = self._sc._jsc.sc().getExecutorMemoryStatus().size() - 1
            if executors >= self.asked or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if executors < self.asked:
            raise BackendUnavailable(
                f"the Spark cluster at {self.address} granted {executors} one-core "
                f"executor(s) within {GRANT_TIMEOUT_S:g} s; the case asks for {self.asked}"
            )
        return executors

    def _driver_address(self) -> str:
        """Where the driver listens and what it tells executors: loopback for ``local[n]``
        (and a master on loopback); for a remote ``spark://`` master, this machine's
        address on the route to it (executors there must connect back), unless
        ``spark.driver.host`` is given in ``conf``."""
        given = self.conf.get("spark.driver.host")
        endpoints = self.cluster_endpoints(self.address) if self.address else []
        if given or not endpoints:
            return given or "127.0.0.1"
        try:
            return local_address_towards(*endpoints[0])
        except OSError as exc:
            raise BackendError(
                f"no route from this machine to the Spark master {self.address} ({exc}); "
                "give the address executors should reach the driver at with --spark-conf "
                "spark.driver.host=ADDRESS"
            ) from None

    def _close(self) -> None:
        try:
            if self._spark is not None:
                self._spark.stop()
        finally:
            self._spark = self._sc = None
            if not _jvm_alive():  # stop() cannot reach a dead JVM to clear its session
                _forget_dead_jvm()

    def _run(self, call: Call, ranges: list[list[int]]) -> list[Outcome]:
        # A job cannot address every Python worker, so each carries what is still live and
        # every worker that runs a task forgets the rest (datasets freed since).
        call = replace(call, retain=(self._token, frozenset(self._live)))
        n = len(ranges)
        rdd = self._sc.parallelize(range(n), n).mapPartitionsWithIndex(
            partial(_on_worker, call, ranges)
        )
        try:
            return rdd.collect()
        except Exception as exc:
            if "cancel" in str(exc).lower():
                raise Cancelled(f"Spark job for {call.op!r} was cancelled") from None
            raise BackendError(f"Spark failed running {call.op!r}: {_first_line(exc)}") from exc

    def _ship(self, ds_id: str, blocks: list[Block]) -> tuple:
        # A broadcast reaches each Python worker once; the blocks are then built from it
        # by whichever worker needs them (the recipe), like generated blocks.
        recipe = ("blocks", self._sc.broadcast(tuple(blocks)))
        self._run_checked(Call("build", ds_id, recipe), block_ranges(len(blocks), self._n_slots()))
        return recipe

    def _broadcast(self, value: Any) -> Any:
        if travels_inline(value):
            return value  # inside the job's closure, shipped with its tasks
        return SparkHandle(self._sc.broadcast(value))

    def _free(self, ds: Dataset) -> None:
        # No job here: the Python workers forget it with the next one (see _run).
        if ds.recipe[0] == "blocks":
            ds.recipe[1].unpersist()

    def _cancel(self, generation: str) -> None:
        self._sc.cancelAllJobs()

    def _bare_round(self, ds: Any) -> Any:
        """The job of ours' round without its call: one no-op task per worker slot over
        ``parallelize(range(n), n)``, collected."""
        n = self._n_slots()
        return lambda: self._sc.parallelize(range(n), n).mapPartitions(_no_rows).collect()

    def engine_alive(self) -> bool:
        """Whether the driver's JVM (in ``local[n]``, the executor too) is still running
        and answers: a JVM killed a moment ago may not be reaped yet (its launcher still
        running), while its gateway already refuses connections."""
        if not (self._started and _jvm_alive()):
            return False
        try:
            self._sc._jvm.java.lang.System.nanoTime()
        except Exception:  # noqa: BLE001 - any failure to answer is a dead engine
            return False
        return True

    def native(self) -> Any:
        """The engine's own handle: this backend's ``SparkSession``
        (``.sparkContext`` for RDDs)."""
        self._require_started()
        return self._spark

    def _info(self) -> dict[str, Any]:
        import pyspark

        return {
            "engine": "spark",
            "version": pyspark.__version__,
            "address": self._sc.master,
            "workers": [{"host": host} for host in self._executor_hosts()],
            "pattern": "one job of n_workers tasks per verb; blocks kept deserialized in the "
            "reused Python workers (rebuilt from the recipe where missing); partials "
            "collected and combined on the driver in block order",
            "settings": {**self._settings, **self._jvm_settings(), "java": find_java(),
                         "inline_broadcast_bytes": INLINE_BROADCAST_BYTES},  # fmt: skip
        }

    def _executor_hosts(self) -> list[str]:
        """The host of every executor, sorted (``local[n]``: the driver's, which runs the
        tasks; on a cluster the driver's own entry is not an executor)."""
        infos = self._sc._jsc.sc().statusTracker().getExecutorInfos()
        hosts = sorted(str(info.host()) for info in infos)
        driver = self._settings.get("spark.driver.host")
        if self.address and driver in hosts and len(hosts) > 1:
            hosts.remove(driver)
        return hosts

    def _jvm_settings(self) -> dict[str, Any]:
        """What the running driver JVM really has (in ``local[n]`` it runs the tasks too):
        the driver memory read back from its SparkConf, its maximum heap, the BLAS MLlib
        calls (``...JNIBLAS``: the native ``libblas.so.3``; ``...VectorBLAS`` or
        ``...F2jBLAS``: Java) and the BLAS threads of its environment."""
        jvm = self._sc._jvm
        conf = self._sc.getConf()
        try:
            blas = str(jvm.dev.ludovic.netlib.blas.BLAS.getInstance().getClass().getName())
        except Exception as exc:  # noqa: BLE001 - a record says why, it never fails a case
            blas = f"unknown ({_first_line(exc)})"
        return {
            "spark.driver.memory": conf.get("spark.driver.memory", "1g (Spark's default)"),
            "jvm_max_heap_mb": round(jvm.java.lang.Runtime.getRuntime().maxMemory() / 2**20),
            "jvm_blas": blas,
            "jvm_blas_libraries": _blas_libraries(int(jvm.java.lang.ProcessHandle.current().pid())),
            "jvm_env": {var: jvm.java.lang.System.getenv(var) for var in _worker.BLAS_ENV},
        }


@contextmanager
def _one_blas_thread():
    """The environment pyspark launches a JVM with: one BLAS thread (each task slot calls
    BLAS itself); this process's own environment is restored after."""
    saved = {var: os.environ.get(var) for var in _worker.BLAS_ENV}
    os.environ.update(dict.fromkeys(_worker.BLAS_ENV, "1"))
    try:
        yield
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


def _quiet_about_a_dead_jvm(sc: Any) -> None:
    """Keep pyspark's and py4j's tracebacks of a JVM that died off the terminal.

    When the JVM dies (killed by the OS, a crash), pyspark's accumulator server prints the
    EOF of its socket as a traceback, and py4j logs every failed command with
    ``logging.exception`` on the root logger. The case that was running records the
    failure (``engine failure: ...``, with its traceback) and the next case gets a new JVM;
    on the terminal they are noise that hides the progress line.
    """
    server = getattr(sc, "_accumulatorServer", None)
    if server is not None:
        server.handle_error = lambda request, client_address: None
    root = logging.getLogger()
    if not any(isinstance(f, _Py4JFilter) for f in root.filters):
        root.addFilter(_Py4JFilter())


class _Py4JFilter(logging.Filter):
    """Drops records py4j logs on the root logger (only those: its own loggers are
    py4j.*, silent by default)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return f"{os.sep}py4j{os.sep}" not in record.pathname


def _jvm_alive() -> bool:
    """Whether pyspark's JVM (the gateway's process) is still running."""
    from pyspark import SparkContext

    proc = getattr(SparkContext._gateway, "proc", None)
    return proc is None or proc.poll() is None


def _forget_dead_jvm() -> None:
    """Drop pyspark's process-wide handles on a JVM that died (its context, session and
    gateway), which ``stop()`` cannot clear without reaching it: the next backend then
    launches a new JVM instead of refusing or hanging on the dead one."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    with SparkContext._lock:
        SparkContext._active_spark_context = None
    SparkSession._instantiatedSession = None
    SparkSession._activeSession = None
    _stop_jvm()


def _stop_jvm() -> None:
    """Stop pyspark's idle JVM so the next session launches one with its own settings."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    proc = getattr(gateway, "proc", None)
    with suppress(Exception):
        gateway.shutdown()
    if proc is not None:
        # The gateway server exits when its stdin closes (PythonGatewayServer).
        with suppress(Exception):
            proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    SparkContext._gateway = None
    SparkContext._jvm = None


def _blas_libraries(pid: int) -> list[str] | None:
    """The BLAS shared libraries process ``pid`` has mapped (``/proc/PID/maps``), resolved
    to their files: which ``libblas.so.3`` a JNIBLAS really calls (OpenBLAS, or the slow
    reference BLAS). None where the process is not on this host or maps are unreadable."""
    try:
        with open(f"/proc/{pid}/maps") as maps:
            paths = {line.split()[-1] for line in maps if "blas" in line.lower()}
    except OSError:
        return None
    return sorted({os.path.realpath(p) for p in paths if p.startswith("/")})


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
