"""How many timed fits a case gets (``repeats``: a count or "auto"), engine launches per
case, and the machine's state recorded with each case."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import inline_suite

from dmlbench.reports.records import read_records
from dmlbench.suites.define.spec import SuiteError
from dmlbench.suites.run.repeats import stop_reason
from dmlbench.suites.run.runner import run_suite


def suite_doc(**meta):
    return {
        "suite": {"name": "repeats", **meta},
        "grid": {"backends": ["local"], "n_workers": [1], "n_samples": [3000]},
        "workload": [{"algorithm": "linear_regression", "dataset": "regression"}],
    }


def one_case(**meta):
    return inline_suite(suite_doc(**meta), "repeats.toml").cases[0]


def test_repeats_is_a_count_or_auto():
    assert one_case(repeats="auto").repeats == "auto"
    assert one_case(repeats=4, launches=2).launches == 2
    with pytest.raises(
        SuiteError, match=r"suite.repeats must be an integer >= 1 or \"auto\"; got 'many'"
    ):
        one_case(repeats="many")
    with pytest.raises(SuiteError, match=r"suite.launches must be an integer >= 1; got 0"):
        one_case(launches=0)
    with pytest.raises(SuiteError, match=r"suite.max_repeats must be an integer >= 6; got 5"):
        one_case(repeats="auto", max_repeats=5)


def test_fixed_repeats_stop_at_their_count():
    case = one_case(repeats=2)
    assert stop_reason(case, [1.0]) is None
    assert stop_reason(case, [1.0, 1.0]) == "2 repeats (fixed)"


def test_auto_stops_when_the_interval_is_tight_or_a_bound_is_reached():
    case = one_case(repeats="auto")
    tight = [1.0, 1.01, 0.99, 1.0, 1.005, 0.995]
    # At least six: fewer cannot give a 95 % interval of the median, however tight.
    assert stop_reason(case, tight[:5]) is None
    assert "within ±" in stop_reason(case, tight)
    noisy = [1.0, 1.5, 0.7, 1.3, 0.8, 1.2]
    assert stop_reason(case, noisy) is None  # ±5 % not reached, budget and cap far away
    capped = replace(case, max_repeats=6)
    assert "max_repeats 6 reached" in stop_reason(capped, noisy)
    broke = replace(case, budget=5.0)
    assert "budget of 5 s" in stop_reason(broke, noisy)
    # Launches share the counts: the first of three stops at its share, the last judges.
    three = replace(case, launches=3)
    assert "launch 1 of 3" in stop_reason(three, tight[:3])
    assert stop_reason(three, tight[:2]) is None
    assert stop_reason(three, noisy[:3], earlier=[noisy[:3], noisy[1:4]]) is None
    # max_repeats and the budget count every launch's fits.
    capped3 = replace(three, max_repeats=9)
    assert "max_repeats 9" in stop_reason(capped3, noisy[:3], earlier=[noisy[:3], noisy[1:4]])
    # Earlier launches count: a tight launch after a distant one is not tight overall.
    assert stop_reason(case, tight, earlier=[[1.5, 1.52, 1.49, 1.5, 1.51, 1.5]]) is None


def test_auto_repeats_and_launches_end_to_end(tmp_path):
    doc = suite_doc(repeats="auto", launches=2, max_repeats=8, budget=30)
    records = read_records(run_suite(inline_suite(doc, "repeats.toml"), tmp_path))
    (r,) = records
    assert r["outcome"] == "ok", r.get("reason")
    by_launch = r["fit_s_by_launch"]
    # The auto rule's counts are shared: the first launch its share (3 of the 6), the last
    # what is left of max_repeats 8.
    assert len(by_launch) == 2 and len(by_launch[0]) == 3 and 3 <= len(by_launch[1]) <= 5
    assert "launch 1 of 2" in r["launches"][0]["repeats_stop"]
    assert r["repeats_stop"] == r["launches"][1]["repeats_stop"]  # the last launch judged
    assert r["phases"]["fit_s"] == by_launch[0] + by_launch[1]  # pooled, every fit kept
    assert len(r["launches"]) == 2 and all(
        x["repeats_stop"].startswith("auto") for x in r["launches"]
    )
    assert r["fit_spread_s"][0] <= r["fit_median_s"] <= r["fit_spread_s"][1]
    # Every per-fit list spans both launches (each launch's cold fit and its timed ones).
    n_fits = sum(len(f) + 1 for f in by_launch)
    assert len(r["quality"]["values"]) == len(r["n_iter_per_fit"]) == n_fits
    assert len(r["rebuilt_blocks"]) == n_fits and r["peak_memory_mb"] > 0
    # The machine before and after, and the run's noise floor.
    assert len(r["machine"]["before"]["loadavg"]) == 3 and "after" in r["machine"]
    cal = r["environment"]["calibration"]
    assert cal["median_s"] > 0 and len(cal["times_s"]) == 7
