"""``dmlbench overhead``: the command runs, its numbers are checked, its errors are clear."""

import json

import pytest

from dmlbench.backends import available_backends
from dmlbench.backends import patterns as offered_patterns
from dmlbench.suites.cli.commands import main


def run_cli(tmp_path, backends):
    out = tmp_path / "overhead.json"
    code = main(small_overhead_args(backends, out))
    return code, json.loads(out.read_text())


def small_overhead_args(backends: str, out) -> list[str]:
    """`dmlbench overhead` at test size: few rounds, 80k XᵀX rows."""
    return [
        "overhead",
        "--backends",
        backends,
        "--xtx-rows",
        "80000",
        "--rounds",
        "5",
        "--warmup",
        "2",
        "--xtx-rounds",
        "2",
        "--json",
        str(out),
    ]


def test_overhead_on_local(tmp_path, capsys):
    code, report = run_cli(tmp_path, "local")
    assert code == 0
    [rec] = report["results"]
    assert rec["backend"] == "local" and rec["info"]["n_workers"] == 1
    assert rec["round"]["rounds"] == 5 and 0 < rec["round"]["median_s"] < rec["round"]["p90_s"] * 10
    assert "bare_round" not in rec  # in-process: no engine to make a round trip with
    assert rec["xtx_max_rel_error"] < 1e-12  # the timed XᵀX is also the right XᵀX
    assert rec["xtx_ratio"] == pytest.approx(rec["xtx"]["median_s"] / rec["xtx_numpy"]["median_s"])
    assert rec["xtx_efficiency"] == pytest.approx(
        rec["xtx_numpy"]["median_s"] / rec["xtx"]["median_s"]  # 1 worker: ideal = numpy on 1
    )
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:4] == ["backend", "workers", "start", "s"]
    assert "local" in table


@pytest.mark.slow
def test_overhead_on_every_engine(tmp_path, dmlbench_cli):
    """The console script, as a user runs it (its own process: the session's shared Spark
    and Ray runtimes would otherwise be in the way)."""
    engines = [b for b in available_backends() if b != "local"]
    if not engines:
        pytest.skip("no engine installed: enabled by pip install 'dmlbench[all]'")
    out = tmp_path / "overhead.json"
    proc = dmlbench_cli(*small_overhead_args(",".join(engines), out))
    report = json.loads(out.read_text())
    # Every engine, in order, each in every pattern it offers (Dask and Ray: two).
    assert list(dict.fromkeys(r["backend"] for r in report["results"])) == engines
    for name in engines:
        ran = [r["pattern"] for r in report["results"] if r["backend"] == name]
        assert ran == (list(offered_patterns(name)) or [None]), (name, ran)
    for rec in report["results"]:
        assert rec["info"]["n_workers"] == 2, rec
        assert rec["xtx_max_rel_error"] < 1e-12, rec
        assert rec["startup_s"] > 0 and rec["shutdown_s"] >= 0
        # Ours beside the engine's bare round trip: 2 groups of 10 rounds each (5 asked).
        assert rec["round"]["rounds"] == rec["bare_round"]["rounds"] == 20, rec
        ratio = rec["round_vs_bare"]
        assert ratio["pairs"] == 2 and ratio["low"] <= ratio["value"] <= ratio["high"], rec
        assert ratio["n"] == 40 and ratio["level"] == 0.95, rec
    for name in engines:
        assert any(line.startswith(name) for line in proc.stdout.splitlines()), proc.stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["overhead", "--backends", "dask,sparc"], "unrecognized backend 'sparc' must be one of"),
        (["overhead", "--n-workers", "0"], "expected a whole number >= 1, got 0"),
        (["overhead", "--rounds", "many"], "expected a whole number >= 1, got 'many'"),
    ],
)
def test_bad_arguments_are_explained(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "command",
    ["run", "list", "doctor", "overhead", "export-benchmark", "report", "compare"],
)
def test_help_has_examples(capsys, command):
    with pytest.raises(SystemExit):
        main([command, "-h"])
    assert "example" in capsys.readouterr().out


def test_natives_suite_runs_and_reports(tmp_path, dmlbench_cli):
    """The built-in ``natives`` suite (its smoke profile, one core): every case checked,
    every native one naming its library; the results read like any suite's."""
    from dmlbench.reports.results import load

    out = tmp_path / "natives"
    dmlbench_cli("run", "natives", "--profile", "smoke", "--backends", "local", "--out", str(out))
    cases = load([out]).cases
    assert {c["case"]["impl"] for c in cases} == {"dmlbench", "native"}
    for c in cases:
        assert c["outcome"] == "ok", (c["case_id"], c.get("reason"))
        if c["case"]["impl"] == "native":
            assert c["native"]["impl"].startswith("scikit-learn "), c["native"]


@pytest.mark.slow
def test_natives_suite_on_the_engines(tmp_path, dmlbench_cli):
    """The ``natives`` smoke profile on one engine, two workers: its native library beside
    ours, every answer checked; the native linear regression finds ours' optimum. Dask's
    (dask-ml) where it is installed, else Spark's: dask-ml's logistic regression is checked
    here, MLlib's MLP in test_time_to_target, every other native of every engine one by one
    in ``test_native_comparators_solve_the_same_problems``."""
    from conftest import selected_backends

    from dmlbench.reports.results import load
    from dmlbench.suites.natives.comparator import no_native_reason

    engines = [b for b in ("dask", "spark") if b in selected_backends()]
    engines = [b for b in engines if b in available_backends()][:1]
    if not engines:
        pytest.skip("enabled by DMLBENCH_BACKENDS=local,dask (or spark) with that engine installed")
    out = tmp_path / "natives"
    dmlbench_cli(
        "run", "natives", "--profile", "smoke", "--backends", ",".join(engines),
        "--n-workers", "2", "--out", str(out), timeout=900,
    )  # fmt: skip
    cases = load([out]).cases
    assert {c["case"]["backend"] for c in cases} == set(engines)
    checked = set()
    for c in cases:
        if c["outcome"] == "skipped":  # only a pair the registry says has no native
            assert c["reason"] == no_native_reason(c["case"]["algorithm"], c["case"]["backend"])
            continue
        assert c["outcome"] == "ok", (c["case_id"], c.get("reason"))
        if c["case"]["impl"] == "native":
            assert c["native"]["impl"].startswith(("dask-ml", "MLlib")), c["native"]
            if c["case"]["algorithm"] == "linear_regression":
                q = c["quality"]
                assert q["value"] == pytest.approx(q["reference"], rel=1e-6)
            if c["native"]["impl"] == "dask-ml LogisticRegression(lbfgs)":
                # Its iterations, read from scipy's own report inside dask_glm.
                assert c["n_iter"] == c["native"]["lbfgs"]["nit"] > 0
                assert "excess" in c["native"]["tolerance"] and c["quality"]["tolerance"] > 1e-6
                checked.add(c["native"]["impl"])
    if "dask" in engines:
        assert checked == {"dask-ml LogisticRegression(lbfgs)"}


def test_overhead_pattern_flag_is_checked(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["overhead", "--pattern", "tasks,fast"])
    assert exit_info.value.code == 2
    assert "unknown pattern(s) ['fast']; valid choices: ['resident', 'tasks']" in (
        capsys.readouterr().err
    )


def test_overhead_runs_every_pattern_by_default():
    from dmlbench.suites.bench.overhead import runs_of

    assert runs_of("local", None) == [None] and runs_of("local", ["tasks"]) == [None]
    if "dask" in available_backends():
        assert runs_of("dask", None) == ["resident", "tasks"]
        assert runs_of("dask", ["tasks"]) == ["tasks"]


@pytest.mark.slow
def test_overhead_measures_each_pattern(tmp_path, dmlbench_cli):
    """One round per Dask pattern (a smoke check, not a measurement): one record each,
    labelled by its pattern, which the backend's own info confirms."""
    if "dask" not in available_backends():
        pytest.skip("dask is not installed: enabled by pip install 'dmlbench[dask]'")
    out = tmp_path / "overhead.json"
    proc = dmlbench_cli(
        "overhead", "--backends", "dask", "--xtx-rows", "0", "--rounds", "1", "--warmup", "0",
        "--json", str(out),
    )  # fmt: skip
    results = json.loads(out.read_text())["results"]
    assert [(r["backend"], r["pattern"]) for r in results] == [
        ("dask", "resident"),
        ("dask", "tasks"),
    ], results
    assert [r["info"]["pattern"] for r in results] == ["resident", "tasks"]
    rows = [line.split()[0] for line in proc.stdout.splitlines()[2:]]
    assert rows == ["dask/resident", "dask/tasks"], proc.stdout


def test_ours_and_bare_alternate_and_pair(monkeypatch):
    """Round by round, ours then bare, then bare then ours; the ratio is paired over groups
    of 10 (a clock that each side advances by its own cost: ours 3, bare 2)."""
    from dmlbench.suites.bench import overhead

    clock, calls = [0.0], []

    def side(name, cost):
        def run():
            calls.append(name)
            group = max(0, len(calls) - 5) // 20  # the 4 untimed calls, then 20 per group
            clock[0] += cost * (1 + 0.5 * group)  # a drift between groups, both sides see it
        return run

    monkeypatch.setattr(overhead.time, "perf_counter", lambda: clock[0])
    got = overhead.paired_timings(side("o", 3.0), side("b", 2.0), rounds=25, warmup=2)
    assert calls[:4] == ["o", "b", "o", "b"]  # cold, then one more warm-up round each
    timed = calls[4:]
    assert len(timed) == 2 * 30 and timed[:4] == ["o", "b", "b", "o"]
    assert got["pairs"] == 3 and got["ours"]["rounds"] == got["bare"]["rounds"] == 30
    assert got["ours"]["cold_s"] == 3.0 and got["bare"]["cold_s"] == 2.0
    assert got["ours"]["median_s"] == 4.5  # 3, 4.5, 6 by group: the drift is in the sides' own medians ...
    ratio = got["ratio"]  # ... and paired out of the ratio: 1.5 in every group
    assert ratio["low"] == pytest.approx(1.5) and ratio["high"] == pytest.approx(1.5), ratio
    assert ratio["n"] == 60


def test_the_table_prints_ours_bare_and_the_ratio():
    from dmlbench.suites.bench.overhead import format_table

    timing = {"median_s": 0.004, "p10_s": 0.0038, "p90_s": 0.0045}
    record = {"backend": "dask", "pattern": "resident", "startup_s": 1.5, "info": {"n_workers": 2},
              "round": timing, "bare_round": {**timing, "median_s": 0.0033},
              "round_vs_bare": {"value": 1.21, "low": 1.15, "high": 1.27, "pairs": 5}}  # fmt: skip
    line = format_table({"results": [record]}).splitlines()[2]
    assert line.split()[:8] == ["dask/resident", "2", "1.50", "4.00", "3.80-4.50", "3.30", "1.21",
                                "[1.15,"]  # fmt: skip
