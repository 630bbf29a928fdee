"""The one record builder: made-up launches of a case -> its record, every derived figure
checked by hand (one launch, several pooled, a failing fit, a native library's)."""

from __future__ import annotations

import pytest

from dmlbench.backends.rounds import TERMS
from dmlbench.reports.records import make_record
from dmlbench.suites.run.record_builder import Check, Fits, Launch, build_record

CASE = {
    "suite": "t", "algorithm": "kmeans", "dataset": "blobs", "params": {"n_clusters": 8},
    "backend": "local", "n_workers": 1, "impl": "dmlbench", "n_samples": 1000,
    "n_features": 20, "repeats": 2, "timeout": 60.0, "seed": 0, "launches": 2,
}  # fmt: skip
WORK = {"kernel": "lloyd_partial", "bytes": 4.0, "flops": 8.0}


def split(compute: float, kernel_s: float) -> dict:
    """One fit's ``RoundLog.split``: ``compute`` seconds of compute over 4 rounds, two of
    them the kernel's, in ``kernel_s`` worker-seconds (0: not timed)."""
    return {
        "rounds": 4, **dict.fromkeys(TERMS, 0.0), "compute_s": compute, "compute_cpu_s": compute,
        "straggler": 1.1, "bytes_back": 10, "compute_by_fn": {"lloyd_partial": [2, kernel_s]},
    }  # fmt: skip


def launch(timed, *, values=None, passed=None, n_iter=4, native=False, start_s=1.0):
    """A made-up launch: a cold fit of 2 s, then ``timed``; every answer 100 (passing)."""
    seconds = [2.0, *timed]
    every = len(seconds)
    values = values or [100.0] * every
    return Launch(
        n_samples=1000,
        fits=Fits(
            seconds=seconds,
            values=values,
            n_iter=[n_iter] * every,
            scoring_s=[0.1, 0.3, 0.2][:every] + [0.2] * (every - 3),
            rebuilt=[4] + [0] * (every - 1),
            traces=[[{"iteration": 1, "seconds": 0.5}, {"iteration": 2, "seconds": 0.8}]] * every,
            splits=None if native else [split(t / 2, 2e-9 * k) for k, t in enumerate(seconds)],
            block_hosts=None if native else ["127.0.0.1"] * 4,
            stop=f"{len(timed)} repeats (fixed)",
        ),
        check=Check(
            metric="inertia",
            reference=100.0,
            reference_source="scikit-learn KMeans",
            tolerance=0.02,
            relative=True,
            passed=passed or [True] * every,
        ),
        phases={"generate_s": 0.5, "prepare_s": 0.01},
        work=None if native else WORK,
        native={"impl": "scikit-learn KMeans", "settings": {}} if native else None,
        seed=0,
        engine_start_s=start_s,
        peak_memory_mb=100.0 * start_s,
        backend_info={"backend": "local", "n_workers": 1},
    )


def test_one_launch_makes_every_derived_figure():
    r = build_record([launch([1.0, 3.0])])
    assert r["outcome"] == "ok" and r["reason"] is None
    assert r["phases"] == {
        "generate_s": 0.5, "prepare_s": 0.01, "fit_cold_s": 2.0, "fit_s": [1.0, 3.0],
        "predict_s": 0.2, "engine_start_s": 1.0,
    }  # fmt: skip
    assert r["fit_median_s"] == 2.0 and r["fit_spread_s"] == [1.0, 3.0]
    assert r["n_iter"] == 4 and r["per_iteration_s"] == 0.5
    assert r["per_round_s"] == pytest.approx(0.4)  # the last trace: 0.5 then 0.3
    assert r["n_iter_per_fit"] == [4, 4, 4] and r["rebuilt_blocks"] == [4, 0, 0]
    # The timed fits' splits only, per iteration: compute t / 2 over 4 iterations.
    assert len(r["round_split_per_fit"]) == 2
    assert r["round_split"]["compute_s"] == pytest.approx(2.0 / 2 / 4)
    assert r["round_split"]["rounds_per_iter"] == 1.0 and r["round_split"]["n_fits"] == 2
    # Two kernel passes per fit in 2e-9, then 4e-9 worker-seconds: 1e9 and 0.5e9 passes
    # per worker-second, median 0.75e9, each pass 4 bytes and 8 flops.
    assert r["achieved"]["bytes_per_s"] == pytest.approx(4.0 * 0.75e9)
    assert r["achieved"]["flops_per_s"] == pytest.approx(8.0 * 0.75e9)
    assert r["achieved"]["passes"] == 2
    assert r["quality"]["values"] == [100.0] * 3 and r["quality"]["ok"] is True
    assert r["quality"]["extras"] == {} and "tolerance_reason" not in r["quality"]
    assert r["seed"] == 0 and "native" not in r and "start" not in r and "target" not in r
    assert r["n_workers"] == 1 and r["peak_memory_mb"] == 100.0
    assert "launches" not in r and "fit_s_by_launch" not in r
    make_record(CASE, **r)  # every field is one of the format's


def test_launches_are_pooled_with_the_first_ones_answer_and_settings():
    r = build_record([launch([1.0, 1.2]), launch([3.0, 3.4], start_s=2.0)])
    assert r["fit_s_by_launch"] == [[1.0, 1.2], [3.0, 3.4]]
    assert r["phases"]["fit_s"] == [1.0, 1.2, 3.0, 3.4]
    assert r["phases"]["fit_cold_s"] == 2.0 and r["phases"]["engine_start_s"] == 1.0
    assert r["fit_median_s"] == pytest.approx(2.1) and r["fit_spread_s"] == [1.0, 3.4]
    assert r["per_iteration_s"] == pytest.approx(2.1 / 4)
    # Every per-fit list spans both launches, each launch's cold fit first.
    assert r["n_iter_per_fit"] == [4] * 6 and r["rebuilt_blocks"] == [4, 0, 0] * 2
    assert len(r["quality"]["values"]) == 6 and len(r["timed_traces"]) == 4
    assert len(r["round_split_per_fit"]) == 4 and r["round_split"]["n_fits"] == 4
    assert r["peak_memory_mb"] == 200.0  # the most any launch used
    assert [x["fit_median_s"] for x in r["launches"]] == [pytest.approx(1.1), pytest.approx(3.2)]
    assert [x["engine_start_s"] for x in r["launches"]] == [1.0, 2.0]
    assert r["launches"][1]["rebuilt_blocks"] == [4, 0, 0] and r["outcome"] == "ok"
    make_record(CASE, **r)


def test_a_wrong_fit_in_any_launch_fails_the_case_naming_it():
    wrong = launch([1.0, 1.0], values=[100.0, 130.0, 100.0], passed=[True, False, True])
    alone = build_record([wrong])
    assert alone["outcome"] == "wrong-answer" and alone["quality"]["ok"] is False
    assert alone["reason"] == (
        "1 of 3 fits off the reference inertia 100 (tolerance 0.02, relative): "
        "timed repeat 1: inertia 130"
    )
    r = build_record([launch([1.0, 1.0]), wrong])
    assert r["outcome"] == "wrong-answer" and r["reason"] == f"launch 2: {alone['reason']}"
    assert [x["outcome"] for x in r["launches"]] == ["ok", "wrong-answer"]
    assert r["quality"]["ok"] is False and r["quality"]["value"] == 100.0  # the first's


def test_a_native_library_has_no_split_placement_or_rates_of_ours():
    r = build_record([launch([1.0, 1.0], native=True)])
    assert r["round_split_per_fit"] is None and r["round_split"] is None
    assert r["achieved"] is None and r["block_hosts"] is None
    assert r["native"]["impl"] == "scikit-learn KMeans"


def test_records_name_the_code_that_measured_them(tmp_path):
    """The commit of the checkout and whether its tree differed (and which files)."""
    import subprocess

    from dmlbench.suites.run.environment import code_identity

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                       cwd=tmp_path, check=True, capture_output=True)  # fmt: skip

    assert code_identity(tmp_path) == {"commit": None, "dirty": None}  # not a checkout
    (tmp_path / "kmeans.py").write_text("STEP = 1\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "one")
    clean = code_identity(tmp_path)
    assert len(clean["commit"]) == 40 and clean["dirty"] is False
    (tmp_path / "kmeans.py").write_text("STEP = 2\n")
    (tmp_path / "notes.txt").write_text("untracked files do not count\n")
    dirty = code_identity(tmp_path)
    assert dirty == {"commit": clean["commit"], "dirty": True, "dirty_files": ["kmeans.py"]}
