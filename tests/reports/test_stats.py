"""Intervals (``dmlbench.reports.stats``) and scaling models
(``dmlbench.reports.scaling_models``): against hand-computed values, a simulated coverage
check, and the published USL fit of the Cisco benchmark."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dmlbench.reports import metrics, stats
from dmlbench.reports.scaling_models import (
    TooFewPoints,
    fit_scaling,
    fit_throughput,
    usl,
)

CISCO = Path(__file__).resolve().parents[3] / "shared" / "data" / "usl_cisco.csv"


def test_the_published_usl_fit_of_the_cisco_benchmark():
    """Schwartz (2015): σ = 0.02671591, κ = 7.690945e-4, λ = 995.6486, N_max = 35,
    X_max = 12341; the fit must agree within 0.02 %."""
    if not CISCO.exists():
        pytest.skip(f"the golden data is shipped beside the repository: {CISCO} is missing")
    data = np.loadtxt(CISCO, delimiter=",", comments="#", skiprows=6)
    fit = fit_throughput(data[:, 0], data[:, 1], "usl")
    published = {"sigma": 0.02671591, "kappa": 7.690945e-4, "lam": 995.6486}
    for name, value in published.items():
        assert fit.params[name] == pytest.approx(value, rel=2e-4), name
    assert fit.max_workers == 35
    assert fit.max_throughput == pytest.approx(12341, abs=1)


def test_a_model_needs_one_more_worker_count_than_parameters():
    with pytest.raises(TooFewPoints, match=r"usl needs at least 4 distinct worker counts; got \[1, 2, 4\]"):
        fit_throughput([1, 2, 4, 4], [1.0, 1.9, 3.0, 3.0])
    with pytest.raises(TooFewPoints, match=r"amdahl needs at least 3 .* got \[1, 2\]"):
        fit_throughput([1, 2], [1.0, 1.9], "amdahl")
    with pytest.raises(ValueError, match="model must be 'usl' or 'amdahl'"):
        fit_throughput([1, 2, 4], [1, 2, 3], "gustafson")


def test_usl_recovers_its_parameters_from_noisy_times_with_intervals_that_cover_them():
    rng = np.random.default_rng(1)
    truth = (0.05, 0.002, 2.0)  # σ, κ, λ (fits per second on one worker)
    by_workers = {
        w: list(1 / usl(w, *truth) * rng.normal(1, 0.01, size=7)) for w in (1, 2, 4, 8, 16)
    }  # five counts for three parameters
    fit = fit_scaling(by_workers, "usl", resamples=200)
    for name, true in zip(("sigma", "kappa", "lam"), truth, strict=True):
        low, high = fit.intervals[name]
        assert low <= true <= high, (name, low, true, high)
    pred = fit.predict(32)
    assert pred["time_low"] <= 1 / usl(32, *truth) <= pred["time_high"]
    assert fit.peak == pytest.approx(np.sqrt((1 - 0.05) / 0.002), rel=0.2)


@pytest.mark.parametrize(
    ("model", "medians"),
    [("usl", {1: 1.0, 2: 0.55, 4: 0.31, 8: 0.2, 16: 0.22}),  # peaked
     ("usl", {1: 1.0, 2: 0.5, 4: 0.25, 8: 0.126}),  # near linear: κ held at its bound 0
     ("usl", {1: 1.0, 2: 1.0, 4: 1.01, 8: 1.0}),  # flat: σ near its bound 1
     ("amdahl", {1: 1.0, 2: 0.6, 4: 0.4})],
)  # fmt: skip
def test_the_batched_refits_are_scipys_least_squares(model, medians):
    """The bootstrap's refits (refit_many, all replicates at once) land where scipy's
    least_squares does, replicate by replicate, bounds included."""
    from dmlbench.reports.scaling_models import _least_squares, _model_and_jacobian, refit_many

    rng = np.random.default_rng(1)
    by_workers = {w: [t * rng.uniform(0.95, 1.05) for _ in range(7)] for w, t in medians.items()}
    counts = np.array(sorted(by_workers), dtype=float)
    reps = np.column_stack([stats.median_replicates(by_workers[w], resamples=40, seed=k)
                            for k, w in enumerate(sorted(by_workers))])  # fmt: skip
    fitted = fit_throughput(counts, [1 / np.median(by_workers[w]) for w in sorted(by_workers)],
                            model)  # fmt: skip
    ours = refit_many(model, counts, 1 / reps, np.array(list(fitted.params.values())))
    scipy = np.array([_least_squares(model, counts, 1 / row) for row in reps])

    def cost(theta):
        x, _ = _model_and_jacobian(model, counts, theta)
        return ((x - 1 / reps) ** 2).sum(axis=1)

    assert cost(ours) == pytest.approx(cost(scipy), rel=1e-9)
    scale = np.abs(scipy).max(axis=0)  # κ is tiny: differences relative to its range
    assert (np.abs(ours - scipy).max(axis=0) <= 1e-4 * scale + 1e-8).all()  # σ at 0: absolute


def test_amdahl_has_no_peak():
    fit = fit_throughput([1, 2, 4, 8], [1.0, 1.8, 3.0, 4.4], "amdahl")
    assert fit.peak is None and 0 < fit.params["sigma"] < 1


def test_median_interval_of_one_and_of_several_launches():
    one = stats.median_interval([1.0, 1.1, 0.9, 1.05, 1.02])
    # Five fits: [min, max], which covers the median 1 - 2/2**5 of the time, says so.
    assert (one.value, one.low, one.high, one.n) == (1.02, 0.9, 1.1, 5)
    assert one.level == pytest.approx(0.9375)
    ten = stats.median_interval([1.0, 1.1, 0.9, 1.05, 1.02, 0.97, 1.01, 0.99, 1.03, 1.2])
    assert (ten.low, ten.high, ten.level) == (0.97, 1.1, 0.95)  # x_(2), x_(9) of ten
    # Two launches that disagree: the interval spans both (launch-level variance).
    two = stats.median_interval([[1.0, 1.01, 0.99], [1.3, 1.31, 1.29]])
    assert two.low < 1.01 and two.high > 1.29 and two.n == 6
    with pytest.raises(ValueError, match="at least one fit time per launch"):
        stats.median_interval([[1.0], []])


@pytest.mark.parametrize("n", [3, 6, 10])
def test_median_intervals_cover_the_true_median_as_often_as_they_say(n):
    """Simulated coverage of a log-normal's median (1.0): at least the stated level, for
    one launch (order statistics) and for two launches (the two-level bootstrap)."""
    rng = np.random.default_rng(n)
    one = [stats.median_interval(list(np.exp(rng.normal(0, 0.1, n)))) for _ in range(400)]
    covered = np.mean([not iv.excludes(1.0, 1.0) for iv in one])
    assert covered >= one[0].level - 0.04, (covered, one[0].level)
    two = [
        stats.median_interval([list(np.exp(rng.normal(0, 0.1, n))) for _ in range(2)],
                              resamples=400, seed=k)  # fmt: skip
        for k in range(200)
    ]
    assert np.mean([not iv.excludes(1.0, 1.0) for iv in two]) >= 0.85


def test_derived_figures_and_their_intervals():
    t1, t2 = [2.0, 2.1, 1.9, 2.05, 1.95], [1.1, 1.0, 1.2, 1.05, 1.08]
    s = stats.speedup_interval(t1, t2)
    assert s.value == pytest.approx(2.0 / 1.08) and s.low < s.value < s.high
    e = stats.efficiency_interval(t1, t2, 2)
    assert e.value == pytest.approx(s.value / 2)
    kf = stats.karp_flatt_interval(t1, t2, 2)
    assert kf.value == pytest.approx((1 / s.value - 0.5) / 0.5)
    assert stats.karp_flatt_interval(t1, t1, 1) is None
    r = stats.ratio_interval(t2, t1)
    assert r.value == pytest.approx(1 / s.value) and r.format(".2f", "×").endswith("]")
    assert s.overlaps(stats.speedup_interval(t1, t2, seed=5))
    itself = stats.speedup_interval(t1, list(t1))  # a base row against itself: exactly 1
    assert (itself.value, itself.low, itself.high) == (1.0, 1.0, 1.0)
    assert not s.overlaps(stats.Interval(5.0, 4.9, 5.1, 3))


def test_cost_is_a_range_of_worker_counts_or_not_reached():
    clear = stats.cost_range({1: [2.0, 2.1, 2.05], 2: [1.1, 1.2, 1.15]}, [1.5, 1.6, 1.55])
    assert (clear.value, clear.low, clear.high) == (2, 2, 2) and clear.format() == "2"
    never = stats.cost_range({1: [2.0, 2.1], 2: [1.9, 1.95]}, [1.5, 1.6])
    assert never.value is None and never.format() == "not reached (> 2 workers)"
    edge = stats.cost_range({1: [2.0, 2.1], 2: [1.5, 1.7]}, [1.55, 1.6])
    assert edge.high is None and edge.format().endswith("> 2]")


def test_coefficient_of_variation():
    assert stats.coefficient_of_variation([1.0]) == 0.0
    assert stats.coefficient_of_variation([1.0, 1.2]) == pytest.approx(np.std([1, 1.2], ddof=1) / 1.1)


def test_mlperf_mean_drops_the_fastest_and_the_slowest():
    assert stats.mlperf_mean([3.0, 1.0, 2.0, 10.0, 2.5]) == (2.5, 3)
    assert stats.mlperf_mean([1.0, 2.0]) == (1.5, 2)  # too few to drop any
    assert stats.mlperf_mean([1.0, 2.0, None]) == (2.0, 1)  # the miss was the slowest
    assert stats.mlperf_mean([1.0, None, None]) == (None, 1)
    assert stats.mlperf_mean([None, None]) == (None, 0)


def test_mlperf_interval_is_the_t_interval_of_the_kept_times():
    from scipy import stats as scipy_stats

    iv = stats.mlperf_interval([3.0, 1.0, 2.0, 10.0, 2.5])  # keeps 2.0, 2.5, 3.0
    half = scipy_stats.t.ppf(0.975, 2) * np.std([2.0, 2.5, 3.0], ddof=1) / np.sqrt(3)
    assert (iv.value, iv.n) == (2.5, 3)
    assert (iv.low, iv.high) == pytest.approx((2.5 - half, 2.5 + half))
    assert iv.low < 2.0 and iv.high > 3.0  # 3 kept: wider than their range, as it must be
    one = stats.mlperf_interval([1.0, 2.0, None])  # one kept: no spread to speak of
    assert (one.value, one.low, one.high, one.n) == (2.0, 2.0, 2.0, 1)
    assert stats.mlperf_interval([1.0, None, None]) is None  # a miss among the kept
    assert stats.mlperf_interval([None]) is None


def test_cost_range_is_the_cost_of_every_replicate():
    """The vectorised COST equals metrics.cost applied to each bootstrap replicate (worker
    counts out of order, times that beat the baseline at some counts and not others)."""
    rng = np.random.default_rng(3)
    by_workers = {w: list(rng.normal(1.0 + 0.1 * (w % 3), 0.1, 5)) for w in (8, 1, 4, 2)}
    baseline = list(rng.normal(1.1, 0.1, 5))
    got = stats.cost_range(by_workers, baseline, resamples=500)
    counts = sorted(by_workers)
    reps = {w: stats.median_replicates(by_workers[w], resamples=500, seed=k)
            for k, w in enumerate(counts)}  # fmt: skip
    base = stats.median_replicates(baseline, resamples=500, seed=len(counts))
    found = [metrics.cost({w: reps[w][r] for w in counts}, base[r]) for r in range(500)]
    dist = np.array([np.inf if c is None else c for c in found])
    low, high = np.percentile(dist, [2.5, 97.5], method="nearest")
    assert (got.low, got.high) == tuple(None if not np.isfinite(x) else int(x) for x in (low, high))
