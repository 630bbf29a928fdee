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


def crash_on_launch(monkeypatch, n: int) -> list[str]:
    """Make the runner's ``n``-th launch raise (as a machine that went away would); the
    algorithms of the launches started, in order, are appended to the list returned.
    Undo with ``monkeypatch.setattr(runner, "_next_launch", real)``."""
    real = runner._next_launch
    calls: list[str] = []

    def crashing(run, engine, timeout, slot):
        calls.append(run.case.algorithm)
        if len(calls) == n:
            raise RuntimeError("the machine went away")
        real(run, engine, timeout, slot)

    monkeypatch.setattr(runner, "_next_launch", crashing)
    return calls


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
    calls = crash_on_launch(monkeypatch, 3)
    with pytest.raises(RuntimeError, match="went away"):
        run_suite(inline_suite(two_cases(2)), tmp_path, stream=io.StringIO())
    assert len(list((tmp_path / PENDING_DIR).glob("*/*.json"))) == 2  # one launch each
    with pytest.raises(FileExistsError, match="add --resume"):  # kept launches are not lost
        run_suite(inline_suite(two_cases(2)), tmp_path, stream=io.StringIO())
    calls.clear()
    path = run_suite(inline_suite(two_cases(2)), tmp_path, resume=True, stream=io.StringIO())
    assert sorted(calls) == ["kmeans", "linear_regression"]  # only the second launches
    records = read_records(path)
    assert len(records) == 2 and all(len(r["fit_s_by_launch"]) == 2 for r in records)
    assert not (tmp_path / PENDING_DIR).exists()


def test_launches_kept_with_other_settings_are_measured_again(tmp_path, monkeypatch):
    real = runner._next_launch
    crash_on_launch(monkeypatch, 2)
    with pytest.raises(RuntimeError):
        run_suite(inline_suite(two_cases(2)), tmp_path, stream=io.StringIO())
    monkeypatch.setattr(runner, "_next_launch", real)
    other = two_cases(2)
    other["suite"]["repeats"] = 3  # the same case ids, other settings
    stream = io.StringIO()
    path = run_suite(inline_suite(other), tmp_path, resume=True, stream=stream)
    assert "measured with other settings or code are measured again" in stream.getvalue()
    assert all(len(f) == 3 for r in read_records(path) for f in r["fit_s_by_launch"])


def test_resumed_launches_keep_their_rounds_and_pair_only_within_a_session(tmp_path, monkeypatch):
    from dmlbench.reports.results import interleaved

    real = runner._next_launch
    crash_on_launch(monkeypatch, 3)
    with pytest.raises(RuntimeError):  # round 0 done, round 1 cut before its first launch
        run_suite(inline_suite(two_cases(3)), tmp_path, stream=io.StringIO())
    monkeypatch.setattr(runner, "_next_launch", real)
    path = run_suite(inline_suite(two_cases(3)), tmp_path, resume=True, stream=io.StringIO())
    a, b = read_records(path)
    assert [x["round"] for x in a["launches"]] == [0, 1, 2] == [x["round"] for x in b["launches"]]
    sessions = [x["session"] for x in a["launches"]]
    assert sessions[0] != sessions[1] == sessions[2]  # launch 1 before the crash
    assert interleaved(a, b)  # every launch of each in the same session and round
    assert not interleaved(a, {**b, "launches": [{**x, "session": "other"} for x in b["launches"]]})
