"""``dmlbench compare`` on real runs: an A/A comparison (the same suite run twice) flags
at most one of its 2 cases (the ``test`` profile: both workloads at one size, for CI's
time), and a genuine doubling of the work (the test-only DMLBENCH_TEST_SLOWDOWN=2, which
runs every block function again on all of its rows) is flagged as a regression on every
case where it is judged (on both by the interval rule).

The detection rate of a small change (1.3x) is a property of the machine's noise, not a
pass/fail fact: it is measured by the ``calibration`` suite and given in the README (187 of
192 single-run comparisons at the default threshold on a quiet machine; a noisy one calls
most of them ``unstable``), never asserted here. A 1.3x slowdown asserted on 3 of 4 cases
failed about one run in four (0.75 detection per case), which is why this test uses 2x:
its fits measure about 2.0-2.7x the plain ones, far beyond the 1.15 the default threshold
needs, so only a broken ``compare`` or runner misses it. Each case is asserted only beyond
that 1.15, their geometric mean beyond 1.5: the runs are minutes apart on a shared machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dmlbench.reports import compare as compare_module
from dmlbench.reports.compare import DEFAULT_THRESHOLD, compare, rates

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


def test_compare_flags_nothing_on_an_a_a_run_and_a_genuine_slowdown_on_every_case(
    tmp_path, monkeypatch
):
    a1 = run_calibration(tmp_path / "a1")
    a2 = run_calibration(tmp_path / "a2")
    slow = run_calibration(tmp_path / "slow", slowdown=2)
    from dmlbench.reports.results import load

    # Cases of at least 0.5 s per fit, as the calibration is stated for.
    assert min(r["fit_median_s"] for r in load([a1]).ok) >= 0.5
    # At the default threshold, calibrated on this kind of machine (README: 1 of 1440 A/A
    # cases flagged on a quiet one).
    same = rates(compare([a1], [a2]))
    # At most one of two: this shared machine's speed drifts between runs (README).
    assert same["judged"] == 2 and same["flagged"] <= 1, same
    # Every case's fits measure far more than 1.2x the plain ones; none is called "same"
    # or an improvement. A side whose fits vary by over 10 % is "unstable" and not judged
    # (this shared machine sometimes gets there), so the interval rule itself is checked
    # on the same real fits with that guard lifted: it calls both regressions.
    changes = compare([a1], [slow])
    described = [(c.verdict, round(float(c.ratio or 0), 2), c.noise) for c in changes]
    ratios = sorted(float(c.ratio) for c in changes if c.ratio is not None)
    # Each case beyond the default threshold, and the typical case far beyond it. Not
    # every case above 1.5: the plain run and the slowed one are minutes apart, and this
    # shared machine's speed drifts by that much between them (one CI rehearsal measured
    # a case at no more than 1.5x while another was 2.27x).
    assert len(ratios) == 2 and ratios[0] > 1 + DEFAULT_THRESHOLD, described
    assert ratios[0] * ratios[1] > 1.5**2, described  # their geometric mean, squared
    assert {c.verdict for c in changes} <= {"regression", "unstable"}, described
    monkeypatch.setattr(compare_module, "UNSTABLE_CV", float("inf"))
    assert rates(compare([a1], [slow]))["regressions"] == 2, described
    # The slow run says it was made with the slowdown; the others do not.
    assert {r["environment"].get("test_slowdown") for r in load([slow]).cases} == {"2"}
    assert all("test_slowdown" not in r["environment"] for r in load([a1]).cases)
