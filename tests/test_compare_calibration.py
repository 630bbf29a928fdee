"""``dmlbench compare`` calibrated on real runs: an A/A comparison (the same suite run
twice) flags at most one of its 4 cases, and a genuine 1.3x slowdown (the test-only DMLBENCH_TEST_SLOWDOWN,
which makes every block function take 1.3x as long) is flagged on at least 3 of the 4
cases. The README gives the rates measured with the suite's full profile (36 cases)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dmlbench.reports.compare import compare, rates

pytestmark = pytest.mark.slow


def run_calibration(out: Path, slowdown: float | None = None) -> Path:
    env = {k: v for k, v in os.environ.items() if k != "DMLBENCH_TEST_SLOWDOWN"}
    if slowdown is not None:
        env["DMLBENCH_TEST_SLOWDOWN"] = str(slowdown)
    script = Path(sys.executable).with_name("dmlbench")
    proc = subprocess.run(
        [str(script), "run", "calibration", "--profile", "test", "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_compare_flags_nothing_on_an_a_a_run_and_a_genuine_slowdown_on_most_cases(tmp_path):
    a1 = run_calibration(tmp_path / "a1")
    a2 = run_calibration(tmp_path / "a2")
    slow = run_calibration(tmp_path / "slow", slowdown=1.3)
    from dmlbench.reports.results import load

    # Cases of at least 0.5 s per fit, as the calibration is stated for.
    assert min(r["fit_median_s"] for r in load([a1]).ok) >= 0.5
    # At the default threshold, calibrated on this machine (README: 1 of 36 A/A cases
    # flagged, 31 of 36 slowed cases found).
    same = rates(compare([a1], [a2]))
    # At most one of four: this shared machine's speed drifts between runs (README).
    assert same["judged"] == 4 and same["flagged"] <= 1, same
    changes = compare([a1], [slow])
    found = rates(changes)
    assert found["regressions"] >= 3, [  # of 4: the suite-level rate is in the README
        (c.case_id, c.verdict, float(c.ratio or 0)) for c in changes
    ]
    # The slow run says it was made with the slowdown; the others do not.
    assert {r["environment"].get("test_slowdown") for r in load([slow]).cases} == {"1.3"}
    assert all("test_slowdown" not in r["environment"] for r in load([a1]).cases)
