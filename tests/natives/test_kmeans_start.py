"""One k-means problem: a shared start computed once per case, seeds from the suite, and
tolerances converted into each library's units."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import write_suite

from dmlbench.reports.records import read_records
from dmlbench.suites.define.spec import Case, load_suite
from dmlbench.suites.define.starts import digest, kmeans_start
from dmlbench.suites.define.workloads import ALGORITHMS, DATASETS
from dmlbench.suites.natives.dask_ml import dask_ml_kmeans_tol
from dmlbench.suites.natives.mllib import mllib_kmeans_epsilon
from dmlbench.suites.run.runner import run_suite

KMEANS = ALGORITHMS["kmeans"]

#: No random_state: every draw comes from the suite's seed.
SUITE = """
[suite]
name = "kstart"
repeats = 1
timeout = 120
seed = 7

[grid]
backends = ["local"]
n_workers = [1]
impl = ["dmlbench", "native"]
n_samples = [4000]
n_features = [6]

[[workload]]
algorithm = "kmeans"
dataset = "overlapping_blobs"
params = { n_clusters = 5, max_iter = 50 }
"""


def kcase(params=None, seed=3, impl="dmlbench", n_samples=4000) -> Case:
    return Case(
        "s", "kmeans", "blobs", dict(params or {"n_clusters": 4}), "local", 1, impl,
        n_samples, 5, 1, 60.0, seed,
    )  # fmt: skip


def maker(case: Case):
    return DATASETS[case.dataset].blocks_maker(case.n_samples, case.n_features, case.seed)


def run(tmp_path, text: str, name: str) -> list[dict]:
    path = write_suite(tmp_path, text, f"{name}.toml")
    return read_records(run_suite(load_suite(str(path)), tmp_path / name))


def test_the_seed_comes_from_the_suite_unless_the_case_names_one():
    assert KMEANS.seed_of(kcase(seed=3)) == 3
    assert KMEANS.run_params(kcase(seed=3))["random_state"] == 3
    named = kcase({"n_clusters": 4, "random_state": 11}, seed=3)
    assert KMEANS.seed_of(named) == 11 and KMEANS.run_params(named)["random_state"] == 11
    # An algorithm that declares no seed parameter is run with the case's params as given.
    linear = dataclasses.replace(kcase(), algorithm="linear_regression", params={})
    assert ALGORITHMS["linear_regression"].run_params(linear) == {}


def test_the_start_is_seeded_recorded_and_reproducible():
    case = kcase(seed=3)
    a = kmeans_start(case, maker(case), 3)
    b = kmeans_start(case, maker(case), 3)
    other = kmeans_start(case, maker(case), 4)
    centres = a.params["init"]
    assert centres.shape == (4, 5)
    assert np.array_equal(centres, b.params["init"])
    assert a.record == {
        "method": "k-means++",
        "rows": "first 500 of block 0",  # 4000 rows in 8 blocks
        "seed": 3,
        "shape": [4, 5],
        "digest": digest(centres),
    }
    assert len(a.record["digest"]) == 12 and other.record["digest"] != a.record["digest"]


def test_the_start_refuses_a_block_with_fewer_rows_than_clusters():
    case = kcase({"n_clusters": 20}, n_samples=80)  # 10 rows per block
    with pytest.raises(ValueError, match=r"needs n_clusters=20 rows in block 0, which has 10"):
        kmeans_start(case, maker(case), 0)


def test_ours_keeps_its_own_init_while_the_reference_and_natives_take_the_shared_start():
    case = kcase({"n_clusters": 4, "init": "k-means||"})
    start = kmeans_start(case, maker(case), 0)
    assert KMEANS.run_params(case, start, ours=True)["init"] == "k-means||"
    assert KMEANS.run_params(case, start)["init"] is start.params["init"]
    assert not KMEANS.starts_shared(case, start)
    assert KMEANS.starts_shared(kcase(), start)
    # ... and is then checked one-sided at the looser tolerance, a better optimum is right.
    tol = KMEANS.starts.own_tolerance
    assert KMEANS.quality_ok(90.0, 100.0, tolerance=tol)
    assert not KMEANS.quality_ok(103.0, 100.0, tolerance=tol)
    # The same start: two-sided at relative 1e-6.
    assert not KMEANS.quality_ok(99.99, 100.0) and KMEANS.quality_ok(100.00005, 100.0)


def test_dask_ml_tol_is_absolute():
    assert dask_ml_kmeans_tol(1e-4, 2.5) == pytest.approx(2.5e-4)
    assert dask_ml_kmeans_tol(0.0, 2.5) == 0.0


def test_mllib_epsilon_never_stops_mllib_before_ours():
    tol, mean_var, k = 1e-3, 4.0, 8
    eps = mllib_kmeans_epsilon(tol, mean_var, k)
    threshold = tol * mean_var  # ours: stop when the summed squared shifts <= this
    rng = np.random.default_rng(0)
    for _ in range(2000):
        # Shifts that MLlib accepts (every centre moved at most epsilon) ...
        shifts = rng.uniform(0, eps, size=k)
        shifts[rng.integers(k)] = eps  # ... up to the worst case
        assert (shifts**2).sum() <= threshold * (1 + 1e-12)  # ... ours accepts too
    # The other direction does not hold: ours can stop while MLlib goes on.
    assert np.sqrt(threshold) > eps
    assert mllib_kmeans_epsilon(0.0, mean_var, k) == 0.0


@pytest.mark.slow
def test_the_same_suite_twice_gives_the_same_answers_from_one_start(tmp_path):
    first, second = run(tmp_path, SUITE, "a"), run(tmp_path, SUITE, "b")
    assert [r["outcome"] for r in first] == ["ok", "ok"], [r.get("reason") for r in first]
    for a, b in zip(first, second, strict=True):
        assert a["quality"]["values"] == b["quality"]["values"]
        assert a["start"] == b["start"] and a["seed"] == 7
        assert a["start"]["shared"] and a["start"]["seed"] == 7
        assert a["phases"]["start_s"] >= 0
        q = a["quality"]
        # The same start and stopping rule as scikit-learn's reference: the same answer.
        assert q["tolerance"] == 1e-6
        assert q["value"] == pytest.approx(q["reference"], rel=1e-6)
    ours, native = first
    assert native["native"]["settings"]["init"] == f"array {ours['start']['digest']}"
    assert native["native"]["settings"]["random_state"] == 7
    # One problem, one path: the same number of Lloyd iterations.
    assert ours["n_iter"] == native["n_iter"] == native["native"]["n_iter"]
    # Time per iteration for both: ours from its trace, the library's from its n_iter.
    # Time per iteration measured one way for both: the fit median over the iterations.
    for r in (ours, native):
        assert r["per_iteration_s"] == pytest.approx(r["fit_median_s"] / r["n_iter"])
    assert 0 < ours["per_round_s"] and native["per_round_s"] is None  # ours' trace only


@pytest.mark.slow
def test_a_case_with_its_own_init_records_that_the_starts_differ(tmp_path):
    text = SUITE.replace("max_iter = 50 }", 'max_iter = 50, init = "k-means||" }')
    ours, native = run(tmp_path, text, "own")
    assert ours["start"]["shared"] is False
    assert "ours starts from the case's own {'init': 'k-means||'}" in ours["start"]["reason"]
    assert ours["quality"]["tolerance"] == KMEANS.starts.own_tolerance
    assert ours["quality"]["tolerance_reason"] == ours["start"]["reason"]
    # The native keeps the shared start: still the reference's problem.
    assert native["start"]["shared"] is True and native["quality"]["tolerance"] == 1e-6


def test_a_kmeans_comparator_refuses_to_run_without_the_shared_start():
    from dmlbench.suites.natives.comparator import shared_centres
    from dmlbench.suites.natives.dask_ml import KMeansComparator

    with pytest.raises(ValueError, match=r"KMeansComparator needs the case's shared k-means start"):
        shared_centres(KMeansComparator())
