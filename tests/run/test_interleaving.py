"""Launches interleaved in time: round k runs every case's k-th launch, compared cases
alternate (A, B, B, A, A, B: the order reverses every round), and a launch measured before
a crash is kept for ``--resume``."""

from __future__ import annotations

import io
import re

import pytest
from conftest import inline_suite

from dmlbench.reports.records import read_records
from dmlbench.suites.run import runner
from dmlbench.suites.run.pending import PENDING_DIR
from dmlbench.suites.run.runner import run_suite


def two_cases(launches: int) -> dict:
    return {
        "suite": {"name": "interleave", "repeats": 2, "launches": launches},
        "grid": {"backends": ["local"], "n_workers": [1], "n_samples": [3000]},
        "workload": [
            {"algorithm": "linear_regression", "dataset": "regression"},
            {"algorithm": "kmeans", "dataset": "blobs", "params": {"n_clusters": 3}},
        ],
    }


def test_launches_alternate_and_reverse_each_round(tmp_path):
    stream = io.StringIO()
    path = run_suite(inline_suite(two_cases(3)), tmp_path, stream=stream)
    order = re.findall(r"\] (\w+) dmlbench local w=1 n=3000 launch (\d)/3", stream.getvalue())
    assert order == [("linear_regression", "1"), ("kmeans", "1"), ("kmeans", "2"),
                     ("linear_regression", "2"), ("linear_regression", "3"), ("kmeans", "3")]  # fmt: skip
    records = read_records(path)
    assert [r["outcome"] for r in records] == ["ok", "ok"]
    assert all(len(r["fit_s_by_launch"]) == 3 for r in records)
    assert not (tmp_path / PENDING_DIR).exists()  # nothing kept once recorded


def test_a_crash_keeps_measured_launches_and_resume_runs_only_the_rest(tmp_path, monkeypatch):
    real = runner._next_launch
    calls: list[str] = []

    def crash_on_third(run, engine, timeout):
        calls.append(run.case.algorithm)
        if len(calls) == 3:
            raise RuntimeError("the machine went away")
        real(run, engine, timeout)

    monkeypatch.setattr(runner, "_next_launch", crash_on_third)
    with pytest.raises(RuntimeError, match="went away"):
        run_suite(inline_suite(two_cases(2)), tmp_path, stream=io.StringIO())
    assert len(list((tmp_path / PENDING_DIR).glob("*/*.pkl"))) == 2  # one launch each
    calls.clear()
    path = run_suite(inline_suite(two_cases(2)), tmp_path, resume=True, stream=io.StringIO())
    assert sorted(calls) == ["kmeans", "linear_regression"]  # only the second launches
    records = read_records(path)
    assert len(records) == 2 and all(len(r["fit_s_by_launch"]) == 2 for r in records)
    assert not (tmp_path / PENDING_DIR).exists()


def test_a_fresh_run_forgets_launches_kept_by_another(tmp_path, monkeypatch):
    (tmp_path / PENDING_DIR / "stale").mkdir(parents=True)
    run_suite(inline_suite(two_cases(1)), tmp_path, stream=io.StringIO())
    assert not (tmp_path / PENDING_DIR).exists()
