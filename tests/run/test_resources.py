"""Engine resources sized from the cases (suites/run/resources.py), and what Spark records of them."""

from __future__ import annotations

import ctypes.util
import json
import subprocess
import sys
from types import SimpleNamespace

import pytest
from conftest import selected_backends

from dmlbench.backends.registry import BACKENDS, missing_modules
from dmlbench.suites.cli.commands import main
from dmlbench.suites.define.spec import Case, SuiteError
from dmlbench.suites.natives.mllib import _cached
from dmlbench.suites.run.resources import (
    CACHE_FACTOR,
    MIN_HEAP,
    SPARK_RESERVED,
    SPARK_STORAGE_SHARE,
    dataset_bytes,
    engine_options,
    parse_conf,
    spark_heap_bytes,
    spark_options,
)

GB = 10**9
MACHINE = 24 * 2**30


def case(n_samples: int, n_features: int = 20, backend: str = "spark") -> Case:
    return Case(
        suite="t",
        algorithm="linear_regression",
        dataset="regression",
        params={},
        backend=backend,
        n_workers=2,
        impl="native",
        n_samples=n_samples,
        n_features=n_features,
        repeats=1,
        timeout=60,
        seed=0,
    )


def test_dataset_bytes_counts_features_label_and_copies():
    assert dataset_bytes(4_000_000, 20) == 672_000_000
    assert dataset_bytes(10, 3, copies=2) == 10 * 4 * 8 * 2


def test_small_cases_keep_sparks_default_heap():
    assert spark_heap_bytes(20_000, 20, total=MACHINE) == MIN_HEAP


def test_natives_4m_case_gets_a_heap_whose_guaranteed_storage_holds_its_cache():
    heap = spark_heap_bytes(4_000_000, 20, total=MACHINE)
    cached = CACHE_FACTOR * dataset_bytes(4_000_000, 20)
    assert (heap - SPARK_RESERVED) * SPARK_STORAGE_SHARE >= cached
    assert 3 * GB < heap < 4 * GB
    assert heap % 2**20 == 0  # a whole number of MiB, as "NNNNm" says


def test_heap_is_capped_at_a_share_of_the_machine():
    assert spark_heap_bytes(16_000_000, 20, total=8 * 2**30) == 4 * 2**30
    # ... but never below Spark's default, even on a small machine.
    assert spark_heap_bytes(16_000_000, 20, total=2**30) == MIN_HEAP


def test_spark_options_size_from_the_largest_case_and_the_user_wins():
    cases = [case(250_000), case(4_000_000), case(1_000_000)]
    sized = spark_options(cases, {}, total=MACHINE)
    expected = f"{spark_heap_bytes(4_000_000, 20, total=MACHINE) // 2**20}m"
    assert sized == {"conf": {"spark.driver.memory": expected}}
    user = {"conf": {"spark.driver.memory": "8g", "spark.sql.shuffle.partitions": "4"}}
    assert spark_options(cases, user, total=MACHINE)["conf"] == user["conf"]


def test_executor_memory_only_for_a_standalone_master():
    cases = [case(4_000_000)]
    standalone = spark_options(cases, {"address": "spark://h:7077"}, total=MACHINE)
    conf = standalone["conf"]
    assert conf["spark.executor.memory"] == conf["spark.driver.memory"]
    assert standalone["address"] == "spark://h:7077"
    # local-cluster[n,cores,MB] fixes its executors' memory; more would start none.
    local_cluster = spark_options(cases, {"address": "local-cluster[2,1,1024]"}, total=MACHINE)
    assert "spark.executor.memory" not in local_cluster["conf"]


def test_engine_options_leave_other_backends_alone():
    opts = {"address": "tcp://127.0.0.1:8786"}
    assert engine_options("dask", [case(4_000_000, backend="dask")], opts) == opts
    assert "spark.driver.memory" in engine_options("spark", [case(4_000_000)], {})["conf"]


def test_parse_conf():
    flag = BACKENDS["spark"].conf
    assert parse_conf(["a=1", "b = x=y", "a=2"], flag) == {"a": "2", "b": "x=y"}
    with pytest.raises(
        SuiteError,
        match=r"--spark-conf must be KEY=VALUE \(such as spark.driver.memory=8g\); got 'spark.driver'",
    ):
        parse_conf(["spark.driver"], flag)
    with pytest.raises(SuiteError, match="got '=4g'"):
        parse_conf(["=4g"], flag)


def test_cli_refuses_a_malformed_spark_conf(tmp_path, capsys):
    code = main(["run", "quick", "--out", str(tmp_path / "o"), "--spark-conf", "oops"])
    assert code == 2
    assert "--spark-conf must be KEY=VALUE" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # refused before anything ran


class _Info:
    def __init__(self, rdd_id, parts, cached, mem, disk):
        self.values = (rdd_id, parts, cached, mem, disk)

    def id(self):
        return self.values[0]

    def name(self):
        return f"rdd{self.values[0]}"

    def numPartitions(self):  # noqa: N802 - Spark's names
        return self.values[1]

    def numCachedPartitions(self):  # noqa: N802
        return self.values[2]

    def memSize(self):  # noqa: N802
        return self.values[3]

    def diskSize(self):  # noqa: N802
        return self.values[4]


def _fake_sc(after: list[_Info]):
    """A SparkContext stand-in whose Storage info shows ``after`` once materialised."""
    state = {"infos": []}
    storage = SimpleNamespace(getRDDStorageInfo=lambda: state["infos"])
    conf = SimpleNamespace(get=lambda key, default=None: "1024m")
    sc = SimpleNamespace(_jsc=SimpleNamespace(sc=lambda: storage), getConf=lambda: conf)

    def materialise():
        state["infos"] = after
        return 100

    return sc, materialise


def test_native_input_records_memory_and_disk():
    sc, materialise = _fake_sc([_Info(1, 4, 4, 3 * 2**20, 0)])
    assert _cached(sc, materialise) == {
        "rdd_ids": [1],  # what _still_cached checks again after the last fit
        "rows": 100,
        "partitions": 4,
        "memory_mb": 3.0,
        "disk_mb": 0.0,
    }


def test_native_input_spilled_to_disk_fails_the_case():
    sc, materialise = _fake_sc([_Info(1, 4, 4, 3 * 2**20, 2**20)])
    with pytest.raises(
        RuntimeError, match=r"spilled 1.0 MB .* to disk .*spark.driver.memory=1024m"
    ):
        _cached(sc, materialise)


def test_native_input_dropped_partitions_fail_the_case():
    sc, materialise = _fake_sc([_Info(1, 4, 3, 3 * 2**20, 0)])
    with pytest.raises(RuntimeError, match=r"3 of 4 partitions.*--spark-conf"):
        _cached(sc, materialise)


@pytest.mark.parametrize(
    ("later", "message"),
    [
        ([], r"RDD 1 is no longer cached"),
        ([_Info(1, 4, 2, 2**20, 0)], r"rdd1: 2 of 4 partitions cached, 0.0 MB on disk"),
        ([_Info(1, 4, 4, 2**20, 2**21)], r"rdd1: 4 of 4 partitions cached, 2.0 MB on disk"),
    ],
)
def test_an_input_evicted_or_spilled_during_the_fits_fails_the_case(later, message):
    from dmlbench.suites.natives.mllib import _still_cached

    sc, materialise = _fake_sc([_Info(1, 4, 4, 3 * 2**20, 0)])
    cached = _cached(sc, materialise)
    _still_cached(sc, cached)  # unchanged: passes
    sc._jsc.sc().getRDDStorageInfo = lambda: later  # what Spark shows after the fits
    with pytest.raises(RuntimeError, match=r"did not stay in memory.*" + message):
        _still_cached(sc, cached)


# Two Spark backends in one process: the second asks for another heap, so the idle JVM of
# the first must be relaunched, and each records what its JVM really has.
SCRIPT = """
import json
from dmlbench.backends import get_backend
out = []
for conf in ({}, {"spark.driver.memory": "1536m"}):
    be = get_backend("spark", n_workers=1, conf=conf).start()
    out.append(be.info()["settings"])
    be.close()
print(json.dumps(out))
"""


@pytest.mark.slow
def test_spark_records_the_memory_and_blas_its_jvm_really_has():
    if "spark" not in selected_backends() or missing_modules("spark"):
        pytest.skip(
            "enabled by DMLBENCH_BACKENDS including spark and pip install 'dmlbench[spark]'"
        )
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, check=False
    )
    if "BackendUnavailable" in proc.stderr:
        pytest.skip(f"Spark cannot start here: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    default, sized = json.loads(proc.stdout.strip().splitlines()[-1])
    assert default["spark.driver.memory"] == "1g (Spark's default)"
    assert sized["spark.driver.memory"] == "1536m"
    # The heap really changed: the JVM was relaunched with the new setting.
    assert default["jvm_max_heap_mb"] < 1100 < sized["jvm_max_heap_mb"] <= 1536
    for settings in (default, sized):
        assert settings["jvm_env"]["OPENBLAS_NUM_THREADS"] == "1"
    if ctypes.util.find_library("blas") is None:
        pytest.skip(
            f"no libblas.so.3 here, so MLlib runs {sized['jvm_blas']}: enabled by "
            "apt-get install libopenblas0-pthread"
        )
    assert sized["jvm_blas"] == "dev.ludovic.netlib.blas.JNIBLAS", sized["jvm_blas"]
