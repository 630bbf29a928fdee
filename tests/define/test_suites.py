"""Suites: validation messages, expansion, and the runner's guarantees (append-only
results that survive a kill, resume, timeout, a failing case that does not stop the suite)."""

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from conftest import inline_suite

from dmlbench.reports.records import read_records
from dmlbench.suites.define.spec import SuiteError, builtin_suites, load_suite
from dmlbench.suites.run.runner import run_suite

GOOD = """
[suite]
name = "t"
repeats = 2
timeout = 60

[grid]
backends = ["local"]
n_workers = [1]
n_samples = [400, 800]

[[workload]]
algorithm = "linear_regression"
dataset = "regression"

[[workload]]
algorithm = "kmeans"
dataset = "blobs"
params = { n_clusters = 3, random_state = 0 }
n_samples = [600]

[profiles.smoke]
n_samples = [200]
"""


def test_expansion_is_the_product_of_the_axes(suite_file):
    suite = load_suite(str(suite_file(GOOD)))
    assert [(c.algorithm, c.n_samples) for c in suite.cases] == [
        ("linear_regression", 400),
        ("linear_regression", 800),
        ("kmeans", 600),
    ]
    assert all(c.repeats == 2 and c.timeout == 60 for c in suite.cases)
    assert len({c.id for c in suite.cases}) == 3
    smoke = load_suite(str(suite_file(GOOD)), profile="smoke")
    assert [c.n_samples for c in smoke.cases] == [200, 200]  # a profile overrides workloads too
    more = load_suite(str(suite_file(GOOD)), backends=["local", "dask"], n_workers=[1, 2])
    assert len(more.cases) == 3 * 2 * 2 - 3  # local with 2 workers is left out, and said once
    assert more.left_out == [
        "3 case(s) of local with 2 workers left out: the local backend has at most 1 worker(s)"
    ]


BAD = [
    (
        "[suite]\nnmae = 'x'\n",
        r"unknown key 'suite.nmae'; valid keys in \[suite\]: \['name', 'description'",
    ),
    (
        "bogus = 1\n",
        r"unknown key 'bogus'; valid keys: \['suite', 'grid', 'workload', 'profiles'\]",
    ),
    (
        "[grid]\nworkers = [1]\n",
        r"unknown key 'grid.workers'; valid keys in \[grid\]: \['backends', 'n_workers'",
    ),
    ("[suite]\nrepeats = 0\n", r"suite.repeats must be an integer >= 1 or \"auto\"; got 0"),
    ("[suite]\ntimeout = 'soon'\n", r"suite.timeout must be a number of seconds > 0; got 'soon'"),
    ("[grid]\nn_samples = [100]\n", r"needs at least one \[\[workload\]\] table"),
    (
        "[grid]\nn_samples = [100]\n[[workload]]\nalgorithm = 'svm'\ndataset = 'blobs'\n",
        r"workload\[0\].algorithm must be one of the known names; got 'svm'; valid choices: \['linear_regression'",
    ),
    (
        "[grid]\nn_samples = [100]\n[[workload]]\nalgorithm = 'kmeans'\ndataset = 'blob'\n",
        r"workload\[0\].dataset must be one of the known names; got 'blob'; valid choices: \['regression', 'blobs'",
    ),
    (
        "[grid]\nn_samples = [100]\n[[workload]]\nalgorithm = 'kmeans'\ndataset = 'regression'\n",
        r"algorithm 'kmeans' solves clustering, but dataset 'regression' is for regression; choose one of \['blobs', 'overlapping_blobs', 'customers'\]",
    ),
    (
        "[grid]\nn_samples = [100]\nbackends = ['dsk']\n[[workload]]\nalgorithm = 'kmeans'\ndataset = 'blobs'\n",
        r"workload\[0\].backends must be a list of known names; got 'dsk'; valid choices: \['local', 'dask', 'spark', 'ray'\]",
    ),
    (
        "[grid]\nn_samples = [0]\n[[workload]]\nalgorithm = 'kmeans'\ndataset = 'blobs'\n",
        r"workload\[0\].n_samples must be an integer >= 1; got 0",
    ),
    (
        "[grid]\nn_samples = 100\n[[workload]]\nalgorithm = 'kmeans'\ndataset = 'blobs'\n",
        r"workload\[0\].n_samples must be a non-empty list; got 100",
    ),
    (
        "[grid]\nn_samples = [100]\nimpl = ['mine']\n[[workload]]\nalgorithm = 'kmeans'\ndataset = 'blobs'\n",
        r"must be a list of known names; got 'mine'; valid choices: \['dmlbench', 'native'\]",
    ),
    ("[[workload]]\nalgorithm = 'kmeans'\ndataset = 'blobs'\n", r"no n_samples axis"),
    (
        "[[workload]]\nalgorithm = 'kmeans'\ndataset = 'blobs'\nn_samples = [10]\nseed = 1\n",
        r"unknown key 'workload\[0\].seed'",
    ),
    ("[suite\n", r"not valid TOML"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_malformed_suites_are_explained(suite_file, text, message):
    path = suite_file(text)
    with pytest.raises(SuiteError, match=message) as info:
        load_suite(str(path))
    assert str(path) in str(info.value)  # always names the file


def test_unknown_profile_and_unknown_suite():
    with pytest.raises(SuiteError, match=r"no profile 'huge'; this suite has \['smoke'\]"):
        load_suite("quick", profile="huge")
    with pytest.raises(
        SuiteError,
        match=r"no suite 'quik': not a built-in suite \(\['calibration', 'credit', 'ecommerce', 'images', 'natives', 'quick', 'rounds', 'scaling'\]\) and not a file",
    ):
        load_suite("quik")


def test_builtin_suites_are_valid_and_cover_every_algorithm():
    from dmlbench.suites.define.workloads import ALGORITHMS

    assert set(builtin_suites()) >= {"quick", "scaling"}
    quick = load_suite("quick")
    assert {c.algorithm for c in quick.cases} == set(ALGORITHMS)
    assert {c.n_workers for c in quick.cases} == {1, 2}
    for path in builtin_suites().values():
        for profile in [None, *tomllib.loads(path.read_text()).get("profiles", {})]:
            assert load_suite(str(path), profile=profile).cases


def test_run_records_verified_results_and_resumes(tmp_path, suite_file):
    suite = load_suite(str(suite_file(GOOD)))
    out = tmp_path / "out"
    path = run_suite(suite, out)
    records = read_records(path)
    assert [r["outcome"] for r in records] == ["ok", "ok", "ok"]
    r = records[0]
    assert r["schema_version"] == 1 and r["case_id"] == suite.cases[0].id
    assert len(r["phases"]["fit_s"]) == 2 and r["phases"]["fit_cold_s"] > 0  # cold kept apart
    assert r["fit_spread_s"][0] <= r["fit_median_s"] <= r["fit_spread_s"][1]
    assert r["quality"]["ok"] and r["quality"]["reference_source"].startswith("scikit-learn")
    assert r["environment"]["versions"]["numpy"] and r["backend_info"]["backend"] == "local"
    assert r["peak_memory_mb"] > 0
    with pytest.raises(FileExistsError, match=r"add --resume"):
        run_suite(suite, out)
    run_suite(suite, out, resume=True)  # nothing missing: nothing added
    assert len(read_records(path)) == 3


def test_a_failing_case_does_not_stop_the_suite(tmp_path, suite_file):
    text = GOOD.replace(
        "params = { n_clusters = 3, random_state = 0 }",
        'params = { n_clusters = 3, init = "best" }',
    )
    path = run_suite(load_suite(str(suite_file(text))), tmp_path / "out")
    outcomes = [(r["case"]["algorithm"], r["outcome"]) for r in read_records(path)]
    assert outcomes == [
        ("linear_regression", "ok"),
        ("linear_regression", "ok"),
        ("kmeans", "failed"),
    ]
    assert "'init' parameter of KMeans must be one of" in read_records(path)[2]["reason"]


def test_a_case_over_its_timeout_is_cancelled_and_the_suite_goes_on(tmp_path, suite_file):
    text = GOOD.replace("timeout = 60", "timeout = 3") + (
        '[[workload]]\nalgorithm = "mlp"\ndataset = "images"\nn_features = [64]\n'
        "n_samples = [4000]\nparams = { max_iter = 3000, random_state = 0 }\n"
    )
    t0 = time.monotonic()
    path = run_suite(load_suite(str(suite_file(text))), tmp_path / "out")
    outcomes = {r["case"]["algorithm"]: r["outcome"] for r in read_records(path)}
    assert outcomes == {"linear_regression": "ok", "kmeans": "ok", "mlp": "timeout"}
    assert time.monotonic() - t0 < 60  # 3000 epochs would take many minutes


@pytest.mark.slow
def test_a_killed_run_loses_nothing_finished_and_resumes(tmp_path, suite_file, dmlbench_cli):
    """A real SIGKILL of `dmlbench run` mid-suite, then --resume."""
    text = GOOD.replace("n_samples = [400, 800]", "n_samples = [400, 800, 1600, 3200, 6400, 12800]")
    path = suite_file(text)
    out = tmp_path / "out"
    script = Path(sys.executable).with_name("dmlbench")
    proc = subprocess.Popen(
        [str(script), "run", str(path), "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    results = out / "results.jsonl"
    deadline = time.monotonic() + 120
    while not results.exists() or len(read_records(results)) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, "no progress to kill"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = read_records(results)
    assert 2 <= len(before) < 7 and all(r["outcome"] == "ok" for r in before)
    dmlbench_cli("run", str(path), "--out", str(out), "--resume", timeout=300)
    after = read_records(results)
    assert [r["case_id"] for r in after[: len(before)]] == [r["case_id"] for r in before]
    assert sorted(r["case_id"] for r in after) == sorted(
        c.id for c in load_suite(str(path)).cases
    )
    # A line cut by a kill is skipped by the reader (and noted), never fatal.
    with open(results, "a") as f:
        f.write('{"case_id": "half a rec')
    notes: list[str] = []
    assert len(read_records(results, notes=notes)) == len(after)
    # (the kill above may have cut a line too: resume went on past it on a fresh line)
    assert notes[-1].startswith(f"{results}:") and "incomplete last line ignored" in notes[-1]


def test_expand_accepts_parsed_documents():
    suite = inline_suite(GOOD)  # (tomllib.loads, then expand)
    assert len(suite.cases) == 3
    assert json.dumps(suite.cases[0].to_dict())


@pytest.mark.slow
def test_quick_smoke_on_every_installed_backend(tmp_path, dmlbench_cli):
    """`dmlbench run quick --profile smoke`: every algorithm on every installed engine, at
    two workers (one worker, and the local backend, run in the book smokes and the
    per-backend algorithm tests: CI's 30 minutes)."""
    from dmlbench.backends import available_backends

    out = tmp_path / "quick"
    dmlbench_cli(
        "run",
        "quick",
        "--profile",
        "smoke",
        "--backends",
        ",".join(available_backends()),
        "--n-workers",
        "2",
        "--out",
        str(out),
        timeout=900,
    )
    records = read_records(out / "results.jsonl")
    by_outcome = {}
    for r in records:
        by_outcome.setdefault(r["outcome"], []).append(r)
    assert set(by_outcome) <= {"ok", "skipped"}, [
        (r["case_id"], r["reason"]) for r in records if r["outcome"] not in ("ok", "skipped")
    ]
    engines = {r["case"]["backend"] for r in by_outcome["ok"]}
    assert engines == set(available_backends()) - {"local"}
    assert all(  # (the local backend's two-worker cases are not even listed)
        r["reason"] == "the local backend has at most 1 worker(s)"
        for r in by_outcome.get("skipped", [])
    )
    # the report of this real run: every verified answer in its quality table
    report = out / "report"
    dmlbench_cli("report", str(out), "-o", str(report))
    md = (report / "report.md").read_text()
    assert md.count("| pass |") == len(by_outcome["ok"]) and "| FAIL |" not in md
    assert (report / "report.html").stat().st_size > 10_000


def test_cli_run_explains_a_bad_suite_without_a_traceback(tmp_path, suite_file, capsys):
    from dmlbench.suites.cli.commands import main

    bad = suite_file(
        "[grid]\nn_samples = [10]\n[[workload]]\nalgorithm = 'kmeans'\ndataset = 'blob'\n"
    )
    assert main(["run", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "dmlbench run:" in err and "dataset must be one of the known names; got 'blob'" in err
    assert "Traceback" not in err


def test_a_run_ends_with_its_results_report_and_verdict(tmp_path, suite_file, capsys):
    """`dmlbench run ... --report`: the report is written at the end, and the last three
    lines say where the results and the report are, and whether every answer is right."""
    from dmlbench.suites.cli.commands import main

    out = tmp_path / "o"
    assert main(["run", str(suite_file(GOOD)), "--out", str(out), "--report"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-3:]
    assert last == [
        f"results: {out / 'results.jsonl'} (3 ok)",
        f"report:  {out / 'report' / 'report.html'}",
        "verdict: every answer checked is right (3 of 3)",
    ]
    html = (out / "report" / "report.html").read_text()
    assert "3 answers checked, 3 pass" not in html  # per workload, not in all
    assert html.count("answers checked, ") + html.count("answer checked, ") == 2  # 2 workloads
    # Without --report: how to write it.
    again = ["run", str(suite_file(GOOD)), "--out", str(out), "--resume"]
    assert main(again) == 0
    assert f"report:  not written (add --report, or: dmlbench report {out})" in capsys.readouterr().out
    # A suite with no case left to run here says why, and runs nothing.
    none = GOOD.replace("n_workers = [1]", "n_workers = [2]")
    assert main(["run", str(suite_file(none, "none.toml")), "--out", str(tmp_path / "n")]) == 2
    err = capsys.readouterr().err
    assert "has no case to run here: 3 case(s) of local with 2 workers left out" in err
    assert not (tmp_path / "n").exists()


def test_cli_run_list_doctor(tmp_path, suite_file, capsys):
    from dmlbench.suites.cli.commands import main

    assert main(["run", str(suite_file(GOOD)), "--out", str(tmp_path / "o")]) == 0
    assert "3 ok" in capsys.readouterr().out
    assert main(["run", str(suite_file(GOOD)), "--out", str(tmp_path / "o")]) == 2
    assert "add --resume" in capsys.readouterr().err
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for section in ("algorithms:", "datasets:", "backends:", "suites:"):
        assert section in out
    assert "quick" in out and "kmeans" in out and "digits" in out
    main(["doctor"])
    out = capsys.readouterr().out
    assert "cores" in out and "BLAS" in out and "local  ok" in out
    # The machine's limits, measured and stored for every later run's environment.
    from dmlbench.suites.bench.limits import cached

    stored = cached()
    assert stored is not None and f"{stored['dgemm_gflops']:.1f} GFLOP/s" in out, out
    assert "memory bandwidth (numpy triad)" in out and f"on {os.cpu_count()} core(s)" in out, out


def test_progress_bar_on_a_real_terminal(tmp_path, suite_file):
    """On a tty (a real pseudo-terminal) the bar redraws in place and problems stay on screen."""
    import pty

    text = GOOD.replace(
        "params = { n_clusters = 3, random_state = 0 }",
        'params = { n_clusters = 3, init = "best" }',
    )
    script = Path(sys.executable).with_name("dmlbench")
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [str(script), "run", str(suite_file(text)), "--out", str(tmp_path / "out")],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    screen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the terminal's other side is closed
            break
        if not chunk:
            break
        screen += chunk
    os.close(master)
    assert proc.wait(timeout=120) == 1  # a case failed: the exit code says so
    screen = screen.decode()
    assert "\r[" in screen and "ETA" in screen and "last: ok" in screen  # redrawn in place
    assert "[1/3] linear_regression" not in screen  # no plain lines for cases that went well
    assert "kmeans dmlbench local w=1 n=600: failed" in screen  # a problem is kept, with its reason
    assert "'init' parameter of KMeans must be one of" in screen


NATIVE_SUITE = """
[suite]
name = "natives"
repeats = 1
timeout = 300

[grid]
n_workers = [1]
impl = ["native"]
n_samples = [2000]
n_features = [10]

[[workload]]
algorithm = "linear_regression"
dataset = "regression"

[[workload]]
algorithm = "logistic_regression"
dataset = "classification"

[[workload]]
algorithm = "logistic_regression"
dataset = "breast_cancer"
# dask-ml's logistic (binary only): test_overhead's natives suite; MLlib's: the one above
backends = ["local"]

[[workload]]
algorithm = "kmeans"
dataset = "blobs"
params = { n_clusters = 8, max_iter = 20, random_state = 0 }

[[workload]]
algorithm = "mlp"
dataset = "images"
n_features = [64]
params = { hidden_layer_sizes = [16], solver = "adam", max_iter = 5, random_state = 0 }
# MLlib's MLP (a minute here) is checked in test_time_to_target, timed to a target
backends = ["local", "dask"]

[[workload]]
algorithm = "cnn"
dataset = "images"
n_features = [64]
params = { max_iter = 1, n_filters = 4, random_state = 0 }

[[workload]]
algorithm = "als"
dataset = "ratings"
n_features = [200]
n_samples = [40000]
params = { rank = 4, max_iter = 10 }
"""

#: (algorithm, dataset, backend) -> the native library's implementation, or why it has none.
NATIVE_EXPECTED = {
    ("linear_regression", "regression", "local"): "scikit-learn LinearRegression",
    ("linear_regression", "regression", "dask"): "dask-ml LinearRegression(newton)",
    ("linear_regression", "regression", "spark"): "MLlib LinearRegression(normal)",
    ("logistic_regression", "classification", "local"): "scikit-learn LogisticRegression",
    (
        "logistic_regression",
        "classification",
        "dask",
    ): "skipped: dask-ml LogisticRegression is binary only",
    ("logistic_regression", "classification", "spark"): "MLlib LogisticRegression",
    ("logistic_regression", "breast_cancer", "local"): "scikit-learn LogisticRegression",
    ("logistic_regression", "breast_cancer", "dask"): "dask-ml LogisticRegression(lbfgs)",
    ("logistic_regression", "breast_cancer", "spark"): "MLlib LogisticRegression",
    ("kmeans", "blobs", "local"): "scikit-learn KMeans",
    ("kmeans", "blobs", "dask"): "dask-ml KMeans",
    ("kmeans", "blobs", "spark"): "MLlib KMeans (RDD)",
    ("mlp", "images", "local"): "scikit-learn MLPClassifier",
    ("mlp", "images", "dask"): "skipped: dask-ml has no neural networks",
    ("mlp", "images", "spark"): "MLlib MultilayerPerceptronClassifier",
    ("cnn", "images", "local"): "skipped: scikit-learn has no convolutional network",
    ("cnn", "images", "dask"): "skipped: dask-ml has no neural networks",
    ("cnn", "images", "spark"): "skipped: Spark MLlib has no convolutional network",
    ("als", "ratings", "local"): "skipped: scikit-learn has no ALS",
    ("als", "ratings", "dask"): "skipped: dask-ml has no ALS",
    ("als", "ratings", "spark"): "MLlib ALS",
}
#: Left out of the run for CI's time, each checked elsewhere (see NATIVE_SUITE).
NOT_IN_THIS_RUN = {
    ("logistic_regression", "breast_cancer", "dask"),
    ("logistic_regression", "breast_cancer", "spark"),
    ("mlp", "images", "spark"),
}


@pytest.mark.slow
def test_native_comparators_solve_the_same_problems(tmp_path, suite_file, dmlbench_cli):
    """Every engine's own library on the same rows, verified like ours, or skipped with why."""
    from conftest import selected_backends

    from dmlbench.backends import available_backends

    backends = [b for b in available_backends() if b != "ray" and b in selected_backends()]
    out = tmp_path / "out"
    # The grid's backends (a --backends would replace the workloads' own lists too).
    grid = "[grid]\nbackends = [" + ", ".join(f'"{b}"' for b in backends) + "]"
    suite = suite_file(NATIVE_SUITE.replace("[grid]", grid))
    dmlbench_cli("run", str(suite), "--out", str(out))
    records = [r for r in read_records(out / "results.jsonl") if r["case"]["backend"] in backends]
    expected_cases = {k for k in NATIVE_EXPECTED if k[2] in backends} - NOT_IN_THIS_RUN
    assert sorted((r["case"]["algorithm"], r["case"]["dataset"], r["case"]["backend"])
                  for r in records) == sorted(expected_cases)  # fmt: skip
    for r in records:
        c = r["case"]
        expected = NATIVE_EXPECTED[(c["algorithm"], c["dataset"], c["backend"])]
        if expected.startswith("skipped: "):
            assert r["outcome"] == "skipped" and r["reason"].startswith(expected[9:]), r
            continue
        assert r["outcome"] == "ok", (r["case_id"], r.get("reason"))
        assert r["native"]["impl"] == expected and r["native"]["settings"]
        q = r["quality"]
        assert q["tolerance"] is not None and q["ok"]
        if c["algorithm"] in ("linear_regression", "kmeans"):  # the same optimum as ours
            assert q["value"] == pytest.approx(q["reference"], rel=1e-6)
        # Every fit's iterations and residency recorded; a native's input stays resident.
        assert len(r["n_iter_per_fit"]) == len(r["rebuilt_blocks"]) == 1 + c["repeats"]
        assert r["rebuilt_blocks"] == [0] * (1 + c["repeats"])
        if c["backend"] == "spark":  # MLlib on the native BLAS ours uses, as loaded
            settings = r["backend_info"]["settings"]
            assert "JNIBLAS" in settings["jvm_blas"], settings
            assert any("blas" in lib for lib in settings["jvm_blas_libraries"]), settings


def test_ray_explains_it_has_no_native_library(suite_file):
    on_ray_only = NATIVE_SUITE.replace("[grid]", '[grid]\nbackends = ["ray"]')
    suite = load_suite(str(suite_file(on_ray_only)))
    from dmlbench.suites.run.runner import skip_reason

    on_ray = [c for c in suite.cases if c.backend == "ray"]  # (a workload may name others)
    assert len(on_ray) >= 5
    assert {skip_reason(c) for c in on_ray} <= {
        "Ray ships no ML algorithms of its own (Ray Train runs other libraries' models)",
        "ray is not installed: pip install 'dmlbench[ray]'",
    }


@pytest.mark.parametrize("name", ["natives", "credit", "ecommerce", "images"])
def test_comparison_suites_run_three_interleaved_launches_a_side(name):
    """A suite that compares implementations carries the run-to-run drift in its
    intervals: at least 3 launches a case by default, one in its smoke profile."""
    assert {c.launches for c in load_suite(name).cases} == {3}
    assert {c.launches for c in load_suite(name, profile="smoke").cases} == {1}
    assert {c.launches for c in load_suite(name, launches=2).cases} == {2}  # --launches
    with pytest.raises(SuiteError, match="--launches must be an integer >= 1; got 0"):
        load_suite(name, launches=0)
