"""Blocks stay resident, and a block rebuilt from its recipe inside a fit is counted:
``Backend.rebuilt_blocks`` on the driver, ``rebuilt_blocks`` per fit in every record."""

from __future__ import annotations

import operator

import numpy as np
from conftest import inline_suite

from dmlbench.backends import Block, _worker, get_backend
from dmlbench.reports.records import read_records
from dmlbench.suites.run.runner import run_suite


def make_block(i: int) -> Block:
    rng = np.random.default_rng(i)
    return Block(rng.normal(size=(50, 3)), None)


def _rows(block: Block) -> int:
    return block.n_samples


def test_a_block_missing_on_its_worker_is_rebuilt_once_and_counted():
    with get_backend("local") as be:
        ds = be.generate(make_block, 4)
        assert be.rebuilt_blocks == 0  # the first build is not a rebuild
        assert be.aggregate(ds, _rows, operator.add) == 200
        assert be.rebuilt_blocks == 0
        # What a restarted worker (or a Spark task sent to another Python worker) sees.
        for i in (1, 3):
            del _worker.STORE[(ds.id, i)]
        assert be.aggregate(ds, _rows, operator.add) == 200
        assert be.rebuilt_blocks == 2
        assert be.aggregate(ds, _rows, operator.add) == 200  # kept once rebuilt
        assert be.rebuilt_blocks == 2


def test_every_fit_records_its_iterations_and_rebuilt_blocks(tmp_path):
    doc = {
        "suite": {"name": "residency", "repeats": 2},
        "grid": {"backends": ["local"], "n_workers": [1], "n_samples": [3000]},
        "workload": [
            {"algorithm": "kmeans", "dataset": "blobs", "params": {"n_clusters": 3},
             "impl": ["dmlbench", "native"]},  # fmt: skip
        ],
    }
    records = read_records(run_suite(inline_suite(doc, "residency.toml"), tmp_path))
    assert [r["outcome"] for r in records] == ["ok", "ok"]
    for r in records:
        assert r["rebuilt_blocks"] == [0, 0, 0]  # the cold fit and two repeats
        assert len(r["n_iter_per_fit"]) == 3 and r["n_iter"] in r["n_iter_per_fit"][1:]
    ours = next(r for r in records if r["case"]["impl"] == "dmlbench")
    # The time to quality, read from each fit's trace: within 1 % of the reference inertia.
    ttq = ours["quality"]["time_to_quality"]
    assert ttq["within"] == 0.01 and len(ttq["per_fit_s"]) == 2  # the timed fits
    last = ours["trace"][-1]["seconds"]
    assert all(t is not None and 0 < t <= last * 5 for t in [ttq["cold_s"], *ttq["per_fit_s"]])
    native = next(r for r in records if r["case"]["impl"] == "native")["native"]
    # scikit-learn on one core, checked: every thread pool it has at one thread.
    assert native["threads"] and {p["num_threads"] for p in native["threads"]} == {1}
