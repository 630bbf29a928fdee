"""This machine's limits (memory bandwidth, one core's DGEMM), measured by ``dmlbench
doctor``, cached per machine and stored with every run; each case's achieved bytes/s and
flop/s per worker, and the report's table of them as a share of those limits."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import inline_suite
from made_up import record

from dmlbench.backends.rounds import achieved_rates
from dmlbench.reports.records import read_records
from dmlbench.reports.render import report
from dmlbench.reports.results import load
from dmlbench.reports.sections.environment import limit_rows
from dmlbench.reports.sections.limits import table as limits_table
from dmlbench.suites.bench import limits
from dmlbench.suites.run.runner import run_suite


def test_the_measured_limits_are_a_real_machines():
    got = limits.measure()
    one, every = got["triad_gbs"]["1"], got["triad_gbs"][str(got["cores"])]
    # Any machine this runs on streams between 0.5 and 1000 GB/s and multiplies at
    # 0.5-1000 GFLOP/s on one core; zero or infinity would mean a broken clock or count.
    assert 0.5 < one < 1000 and 0.5 < every < 1000, got
    assert 0.5 < got["dgemm_gflops"] < 1000, got
    # All cores stream at least about as much as one (several processes really ran).
    assert every > 0.7 * one, got
    assert got["machine"] == limits.machine_key() and "triad" in got["method"]


def test_the_triad_counts_the_bytes_numpy_moves(monkeypatch):
    # A pass over 4M elements timed at exactly 0.1 s is 4M x 40 bytes / 0.1 s = 1.6 GB/s.
    ticks = iter(np.arange(0.0, 100.0, 0.1))
    monkeypatch.setattr(limits.time, "perf_counter", lambda: float(next(ticks)))
    assert limits.triad_gbs(repeats=2) == pytest.approx(
        limits.TRIAD_ELEMENTS * 40 / 0.1 / 1e9, rel=1e-6
    )


def test_limits_are_cached_per_machine_and_measured_once(tmp_path, monkeypatch):
    monkeypatch.setenv(limits.CACHE_ENV, str(tmp_path))
    calls = []
    fake = {"triad_gbs": {"1": 10.0, "2": 15.0}, "dgemm_gflops": 30.0,
            "machine": limits.machine_key()}  # fmt: skip
    monkeypatch.setattr(limits, "measure", lambda: calls.append(1) or dict(fake))
    assert limits.machine_limits() == fake and calls == [1]  # measured, then stored
    assert json.loads((tmp_path / "limits.json").read_text()) == fake
    assert limits.machine_limits() == fake and calls == [1]  # read back, not measured
    # Another machine's figures (a copied home folder) or a cut-off file: measured again.
    (tmp_path / "limits.json").write_text(json.dumps({**fake, "machine": "elsewhere"}))
    assert limits.cached() is None
    (tmp_path / "limits.json").write_text('{"triad_gbs": {"1": 1')
    assert limits.cached() is None
    assert limits.machine_limits() == fake and calls == [1, 1]


def split(by_fn: dict[str, list[float]]) -> dict:
    return {"compute_s": sum(s for _, s in by_fn.values()), "compute_by_fn": by_fn}


def test_achieved_rates_count_the_named_kernels_rounds_only():
    work = {"kernel": "lloyd_partial", "bytes": 8e9, "flops": 4e10}
    # 2 passes of the kernel in 8 worker-seconds (2 workers x 4 s): each worker did half
    # of 2 passes (8e9 bytes) in 4 s: 2e9 B/s, 1e10 flop/s. The set-up kernel's 10 s do
    # not count.
    fits = [split({"lloyd_partial": [2, 8.0], "cost": [3, 10.0]})] * 3
    got = achieved_rates(work, fits)
    assert got["bytes_per_s"] == pytest.approx(2e9) and got["flops_per_s"] == pytest.approx(1e10)
    assert got["kernel"] == "lloyd_partial" and got["passes"] == 2
    # The median over fits: one slow fit does not move it.
    slow = [*fits[:2], split({"lloyd_partial": [2, 80.0]})]
    assert achieved_rates(work, slow)["bytes_per_s"] == pytest.approx(2e9)
    assert achieved_rates(None, fits) is None  # an algorithm that does not count
    assert achieved_rates(work, [split({"cost": [3, 1.0]})]) is None  # kernel never ran


def test_every_run_stores_the_limits_and_each_case_its_kernels_rates(tmp_path):
    doc = {
        "suite": {"name": "limits", "repeats": 3},
        "grid": {"backends": ["local"], "n_workers": [1], "n_samples": [40_000]},
        "workload": [
            {"algorithm": "kmeans", "dataset": "overlapping_blobs",
             "params": {"n_clusters": 8, "max_iter": 10, "tol": 0.0}},  # fmt: skip
            {"algorithm": "logistic_regression", "dataset": "classification", "n_features": [20]},
            {"algorithm": "mlp", "dataset": "images", "n_features": [64],
             "n_samples": [2000], "params": {"max_iter": 5}},  # fmt: skip
        ],
    }
    path = run_suite(inline_suite(doc, "limits.toml"), tmp_path / "run")
    records = read_records(path)
    assert [r["outcome"] for r in records] == ["ok"] * 3, [r.get("reason") for r in records]
    kmeans, logistic, mlp = records
    env_limits = kmeans["environment"]["limits"]
    assert env_limits["triad_gbs"]["1"] > 0 and env_limits["dgemm_gflops"] > 0
    assert env_limits == limits.cached()  # the run stored what it measured, once
    got = kmeans["achieved"]
    d, k, n = 20, 8, kmeans["n_samples"]
    assert got["kernel"] == "lloyd_partial" and got["pass_bytes"] == 8 * n * d
    assert got["pass_flops"] == 2 * n * d * k + n * d
    # Every Lloyd step (and the final inertia pass if the centres moved in the last),
    # nothing else: not the k-means|| set-up rounds, not the input check.
    assert got["passes"] in (kmeans["n_iter"], kmeans["n_iter"] + 1), (got, kmeans["n_iter"])
    assert kmeans["n_iter"] >= 3
    # Achieved never beats the machine: a rate above the measured limits (with the
    # shared machine's drift) would mean a miscounted pass or a wrong clock.
    assert 0 < got["flops_per_s"] / 1e9 < 2 * env_limits["dgemm_gflops"], got
    assert 0 < got["bytes_per_s"] / 1e9 < 2 * env_limits["triad_gbs"]["1"], got
    assert logistic["achieved"]["kernel"] == "logistic_loss_grad"
    assert mlp["achieved"] is None  # its passes are mini-batches: not counted
    table = limits_table(load([path]))
    assert [row[4] for row in table.rows] == ["lloyd_partial", "logistic_loss_grad"]
    gbs, share, gflops, of_dgemm = table.rows[0][5:]
    assert share == pytest.approx(gbs / env_limits["triad_gbs"]["1"])
    assert of_dgemm == pytest.approx(gflops / env_limits["dgemm_gflops"])
    out = tmp_path / "report"
    report([path], out)
    md = (out / "report.md").read_text()
    assert "## Against the machine's limits" in md and "DGEMM, one core (GFLOP/s)" in md


def test_the_limits_table_uses_the_bandwidth_of_as_many_processes_as_workers():
    env = {"limits": {"triad_gbs": {"1": 10.0, "2": 16.0}, "dgemm_gflops": 40.0}}
    rows = []
    # Every fit: one Lloyd pass (4 bytes, 8 flops) in 1 ns of a worker's compute: 4 GB/s
    # and 8 GFLOP/s per worker; the driver spends the rest of the fit.
    work = {"kernel": "lloyd_partial", "bytes": 4.0, "flops": 8.0}

    def split(fit_s):
        return {"rounds": 1, "compute_s": 1e-9, "imbalance_s": 0.0, "protocol_s": 0.0, "engine_s": 0.0,
                "driver_s": fit_s - 1e-9, "unsplit_s": 0.0, "straggler": None,
                "compute_by_fn": {"lloyd_partial": [1, 1e-9]}}  # fmt: skip

    for workers in (1, 2, 4):
        r = record(backend="dask", workers=workers, n=1000, split=split, work=work)
        assert r["achieved"]["flops_per_s"] == pytest.approx(8e9)
        r["environment"] = env
        rows.append(r)
    from dmlbench.reports.results import Results

    table = limits_table(Results(rows))
    shares = [row[6] for row in table.rows]
    # 1 worker: 4 / 10; 2 workers: 8 / 16; 4 (oversubscribed on 2 cores): 16 / 16.
    assert shares == pytest.approx([0.4, 0.5, 1.0])
    assert [row[8] for row in table.rows] == pytest.approx([0.2] * 3)


def test_limits_that_cannot_be_measured_are_an_entry_not_a_failed_run(tmp_path, monkeypatch):
    monkeypatch.setenv(limits.CACHE_ENV, str(tmp_path))

    def broken():
        raise TimeoutError("a triad process never reported")

    monkeypatch.setattr(limits, "measure", broken)
    got = limits.machine_limits()
    assert got == {"error": "not measured: TimeoutError: a triad process never reported"}
    assert not (tmp_path / "limits.json").exists()  # nothing cached: measured next run
    assert limit_rows(got) == [["machine limits", got["error"]]]


def test_the_cache_key_is_the_same_in_every_process():
    # Whatever a process has imported (this one: scikit-learn, scipy's BLAS), `dmlbench
    # doctor` and a later `dmlbench run` must read one key, or the cache never hits.
    import subprocess
    import sys

    fresh = subprocess.run(
        [sys.executable, "-c", "from dmlbench.suites.bench.limits import machine_key as k; print(k())"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    import sklearn.cluster  # noqa: F401

    assert fresh == limits.machine_key()
