"""``dmlbench overhead``: the command runs, its numbers are checked, its errors are clear."""

import json

import pytest

from dmlbench.backends import available_backends
from dmlbench.suites.cli import main


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
    assert [r["backend"] for r in report["results"]] == engines
    for rec in report["results"]:
        assert rec["info"]["n_workers"] == 2, rec
        assert rec["xtx_max_rel_error"] < 1e-12, rec
        assert rec["startup_s"] > 0 and rec["shutdown_s"] >= 0
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
    ["run", "list", "doctor", "overhead", "natives", "export-benchmark", "report", "compare"],
)
def test_help_has_examples(capsys, command):
    with pytest.raises(SystemExit):
        main([command, "-h"])
    assert "example" in capsys.readouterr().out


@pytest.mark.slow
def test_natives_agree_with_dmlbench(tmp_path, dmlbench_cli):
    """dask-ml, MLlib and scikit-learn from the same centres reach dmlbench's inertia;
    MLlib's normal equations give dmlbench's coefficients."""
    if not {"dask", "spark"} <= set(available_backends()):
        pytest.skip("enabled by pip install 'dmlbench[all]'")
    out = tmp_path / "natives.json"
    dmlbench_cli(
        "natives",
        "--kmeans-rows",
        "40000",
        "--lr-rows",
        "40000",
        "--scaling-rows",
        "40000",
        "--json",
        str(out),
        timeout=900,
    )
    report = json.loads(out.read_text())
    inertias = [r["inertia_recomputed"] for r in report["kmeans"]]
    assert len(inertias) == 5
    assert max(inertias) <= min(inertias) * (1 + 1e-9), report["kmeans"]
    assert report["linear"][1]["max_rel_coef_diff"] < 1e-9
    assert report["scaling"][1]["ratio_to_1_worker"] > 0
