"""Where a fit's time goes: every timed fit of ours split, round by round, into worker
compute, imbalance, protocol, engine and driver terms (``round_split_per_fit``, ``round_split``);
the report's "Where an iteration goes" table and its self-checking cost model.

The adapters' side (one compute time per worker slot, a straggler seen as imbalance) is
``check_rounds_are_split`` of the conformance kit, run on every engine and pattern."""

from __future__ import annotations

import pytest
from conftest import inline_suite, selected_backends
from made_up import record

from dmlbench.backends.registry import missing_modules
from dmlbench.backends.rounds import TERMS, Round, RoundLog
from dmlbench.reports.records import append_record, read_records
from dmlbench.reports.render import report
from dmlbench.reports.results import load
from dmlbench.reports.sections.rounds import tables as round_tables
from dmlbench.suites.run.runner import run_suite


def suite(backend: str, n_workers: list[int], n_samples: int, repeats: int = 3) -> dict:
    return {
        "suite": {"name": "rounds", "repeats": repeats},
        "grid": {"backends": [backend], "n_workers": n_workers, "n_samples": [n_samples]},
        "workload": [
            {"algorithm": "kmeans", "dataset": "blobs",
             "params": {"n_clusters": 4, "max_iter": 10, "tol": 0.0}},  # fmt: skip
        ],
    }


def test_every_timed_fit_of_ours_records_where_its_time_went(tmp_path):
    doc = suite("local", [1], 20_000)
    doc["workload"][0]["impl"] = ["dmlbench", "native"]
    records = read_records(run_suite(inline_suite(doc, "rounds.toml"), tmp_path))
    assert [r["outcome"] for r in records] == ["ok", "ok"]
    ours = next(r for r in records if r["case"]["impl"] == "dmlbench")
    splits, fits = ours["round_split_per_fit"], ours["phases"]["fit_s"]
    assert len(splits) == len(fits) == 3  # the timed fits, not the cold one
    for split, fit_s, n_iter in zip(splits, fits, ours["n_iter_per_fit"][1:], strict=True):
        # The four terms (and the unsplit rounds) are the fit's time, nothing estimated.
        assert sum(split[t] for t in TERMS) == pytest.approx(fit_s, rel=1e-9, abs=1e-12)
        assert split["rounds"] >= n_iter and split["compute_s"] > 0.5 * fit_s, split
        # One in-process worker: no imbalance, a straggler of exactly 1.
        assert split["imbalance_s"] == 0.0 and split["straggler"] == 1.0
        # dmlbench's own work around the calls: measured, a small share of the fit.
        assert 0.0 < split["protocol_s"] < 0.1 * fit_s, split
        # Its CPU time over the same spans: positive, never above the wall (a thread
        # clock's resolution aside).
        assert 0 < split["compute_cpu_s"] <= split["compute_s"] + 1e-3, split
    typical = ours["round_split"]
    assert typical["n_fits"] == 3 and typical["rounds_per_iter"] >= 1
    assert sum(typical[t] for t in TERMS) == pytest.approx(ours["per_iteration_s"], rel=0.25)
    # A native's rounds are its own engine's, not the protocol's: none claimed.
    native = next(r for r in records if r["case"]["impl"] == "native")
    assert native["round_split"] is None and native["round_split_per_fit"] is None
    # Ours' compiled kernels were loaded on the workers before the cold fit, as a phase of
    # their own; a native runs none of ours.
    assert ours["phases"]["compile_s"] > 0 and "compile_s" not in native["phases"]


def test_the_protocol_term_is_ours_on_the_slowest_workers_path():
    """Worker 0 computes 5 and spends 1 of its own, worker 1 computes 4 and spends 3: the
    slowest finishes at 7, so 2 of the 7 are ours on its path (not worker 0's 1, not the
    largest own 3); the driver adds its 0.5 around the call, outside the wall of 10."""
    r = Round("aggregate", 10.0, (5.0, 4.0), 8, own_s=(1.0, 3.0), driver_own_s=0.5)
    assert r.max_finish_s == 7.0 and r.protocol_s == 2.5
    log = RoundLog([r])
    split = log.split(12.0)
    assert split["compute_s"] == 4.5 and split["imbalance_s"] == 0.5
    assert split["protocol_s"] == 2.5 and split["engine_s"] == 3.0
    assert split["driver_s"] == 1.5  # 12 - 10 of wall - 0.5 of ours
    assert sum(split[t] for t in TERMS) == 12.0
    # A round its workers did not time (a tasks-pattern map): the driver's share alone.
    unsplit = RoundLog([Round("map", 2.0, (), 0, driver_own_s=0.25)]).split(3.0)
    assert unsplit["protocol_s"] == 0.25 and unsplit["unsplit_s"] == 2.0
    assert sum(unsplit[t] for t in TERMS) == 3.0


def with_split(workers: int, compute: float, imbalance: float, engine: float, driver: float):
    """A record whose every fit is 4 iterations of one round split this way."""
    per_iter = {"compute_s": compute, "imbalance_s": imbalance, "protocol_s": 0.0,
                "engine_s": engine, "driver_s": driver, "unsplit_s": 0.0}  # fmt: skip
    split = {
        **{term: 4 * s for term, s in per_iter.items()}, "rounds": 4,
        "straggler": (compute + imbalance) / compute,
    }  # fmt: skip
    r = record("kmeans", "dask", workers, seconds=sum(split[t] for t in TERMS), split=split)
    assert r["round_split"]["rounds_per_iter"] == 1.0 and r["round_split"]["n_fits"] == 1
    assert r["round_split"]["compute_s"] == compute
    return r


def test_the_cost_model_predicts_from_one_worker_compute_and_names_what_it_misses(tmp_path):
    one = with_split(1, compute=0.100, imbalance=0.0, engine=0.002, driver=0.001)
    # Two workers that each compute 0.060 s, not 0.050 s: 1.2x slower beside each other.
    two = with_split(2, compute=0.060, imbalance=0.006, engine=0.004, driver=0.001)
    path = tmp_path / "results.jsonl"
    for r in (one, two):
        append_record(path, r)
    (table,) = round_tables(load([tmp_path]))
    rows = {row[2]: dict(zip(table.columns, row, strict=True)) for row in table.rows}
    assert rows[1]["predicted (ms/iter)"] == pytest.approx(103.0)
    assert rows[1]["error"] == pytest.approx(0.0)
    # 0.100 / 2 x the measured straggler 1.1, + engine and driver at 2 workers.
    assert rows[2]["predicted (ms/iter)"] == pytest.approx(100 / 2 * 1.1 + 5)
    assert rows[2]["measured (ms/iter)"] == pytest.approx(71.0)
    assert rows[2]["error"] == pytest.approx((55 + 5) / 71 - 1)
    assert rows[2]["compute x p / 1-worker"] == pytest.approx(1.2)  # the missing term
    out = report([tmp_path], tmp_path / "report")
    text = out["markdown"].read_text()
    assert "## Where an iteration goes" in text
    assert list((tmp_path / "report" / "figures").glob("rounds-*"))


def test_a_record_without_a_split_is_left_out_of_the_table(tmp_path):
    append_record(tmp_path / "results.jsonl", record("kmeans", "dask", 1))
    assert round_tables(load([tmp_path])) == []


@pytest.mark.slow
def test_two_workers_on_a_real_engine_split_and_predict(tmp_path, suite_file, dmlbench_cli):
    engines = [b for b in ("dask", "spark") if b in selected_backends() and not missing_modules(b)]
    if not engines:
        pytest.skip("needs dask or spark: DMLBENCH_BACKENDS including one of them")
    # In a process of its own: this session's shared Spark engine (one SparkContext per
    # process) may be up.
    path = suite_file(suite(engines[0], [1, 2], 400_000), "rounds.toml")
    dmlbench_cli("run", str(path), "--out", str(tmp_path))
    records = read_records(tmp_path / "results.jsonl")
    assert [r["outcome"] for r in records] == ["ok", "ok"]
    by_workers = {r["case"]["n_workers"]: r for r in records}
    for r in records:
        typical = r["round_split"]
        assert sum(typical[t] for t in TERMS) == pytest.approx(r["per_iteration_s"], rel=0.25)
        assert typical["engine_s"] > 0 and typical["straggler"] >= 1.0
    assert by_workers[1]["round_split"]["imbalance_s"] == 0.0
    assert by_workers[2]["round_split"]["imbalance_s"] > 0.0  # two clocks never agree exactly
    (table,) = round_tables(load([tmp_path]))
    row = next(dict(zip(table.columns, x, strict=True)) for x in table.rows if x[2] == 2)
    assert row["predicted (ms/iter)"] > 0 and abs(row["error"]) < 1.0, row
