"""What a suite means: algorithm knowledge declared once, `n_workers` meaning one thing,
impossible grid points left out (and said once)."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest
from conftest import inline_suite

from dmlbench.reports.records import read_records
from dmlbench.reports.results import case_value
from dmlbench.suites.define import workloads
from dmlbench.suites.define.algorithm_spec import AlgorithmSpec
from dmlbench.suites.define.metrics import R2
from dmlbench.suites.define.references import sklearn_linear
from dmlbench.suites.define.workloads import ALGORITHMS
from dmlbench.suites.run.runner import run_suite

ROOT = Path(__file__).resolve().parents[2]

SWEEP = """
[suite]
name = "sweep"
repeats = 1
[grid]
backends = ["local", "dask"]
n_workers = [1, 2]
n_samples = [2000]
[[workload]]
algorithm = "linear_regression"
dataset = "regression"
"""


def test_local_beyond_its_workers_is_left_out_and_said_once(tmp_path):
    suite = inline_suite(SWEEP.replace('["local", "dask"]', '["local"]'))
    assert [(c.backend, c.n_workers) for c in suite.cases] == [("local", 1)]
    assert suite.left_out == [
        "1 case(s) of local with 2 workers left out: the local backend has at most 1 worker(s)"
    ]
    stream = io.StringIO()
    path = run_suite(suite, tmp_path / "out", stream=stream)
    records = read_records(path)
    assert [r["outcome"] for r in records] == ["ok"]  # no skipped record for local w=2
    assert stream.getvalue().count("left out") == 1
    # n_workers is what the engine really provided, recorded from backend_info
    assert records[0]["n_workers"] == records[0]["backend_info"]["n_workers"] == 1


def test_reports_group_by_the_workers_that_really_ran():
    record = {"case": {"n_workers": 2, "backend": "dask"}, "n_workers": 3}
    assert case_value(record, "n_workers") == 3
    assert case_value(record, "backend") == "dask"
    assert case_value({"case": {"n_workers": 2}}, "n_workers") == 2  # never started


def _names_compared(path: Path) -> set[str]:
    """String constants compared with ``==``/``!=``/``in`` anywhere in a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                if isinstance(side, ast.Constant) and isinstance(side.value, str):
                    found.add(side.value)
                if isinstance(side, ast.Tuple):
                    found |= {e.value for e in side.elts if isinstance(e, ast.Constant)}
    return found


#: The modules of ``suites/define`` that declare algorithms and what they are checked by.
DECLARING = (
    "workloads", "algorithm_spec", "policies", "metrics", "starts", "references", "extras",
    "dataset_spec",
)  # fmt: skip


def test_no_branching_on_algorithm_estimator_or_metric_names():
    spec_names = {
        *ALGORITHMS,
        *(a.estimator_name for a in ALGORITHMS.values()),
        *(a.metric.name for a in ALGORITHMS.values()),
        *workloads.DATASETS,
    }
    # The runner, everything that declares what an algorithm is, and the comparators.
    modules = [ROOT / "suites" / "run" / "runner.py"]
    modules += [ROOT / "suites" / "define" / f"{name}.py" for name in DECLARING]
    modules += sorted((ROOT / "suites" / "natives").glob("*.py"))
    for path in modules:
        compared = _names_compared(path) & spec_names
        assert not compared, f"{path.name} compares names {sorted(compared)}; declare it in the spec"


def test_a_new_algorithm_is_one_spec_entry(tmp_path, monkeypatch):
    """The runner needs nothing but the entry: here ridge regression under a new name."""
    spec = AlgorithmSpec(
        "ridge", "dmlbench.algorithms.linear:LinearRegression", "regression", R2, supervised=True,
        reference=sklearn_linear, tolerance=1e-6,
    )  # fmt: skip
    monkeypatch.setitem(ALGORITHMS, "ridge", spec)
    suite = inline_suite(
        SWEEP.replace('["local", "dask"]', '["local"]')
        .replace("n_workers = [1, 2]", "n_workers = [1]")
        .replace('"linear_regression"', '"ridge"\nparams = { alpha = 10.0 }')
    )
    path = run_suite(suite, tmp_path / "out", stream=io.StringIO())
    [record] = read_records(path)
    assert record["outcome"] == "ok", record.get("reason")
    assert record["quality"]["reference_source"] == "scikit-learn Ridge"


@pytest.mark.parametrize(
    ("metric_sign", "value", "reference", "ok"),
    [
        ("inertia", 100.0 * (1 + 5e-7), 100.0, True),  # the same start: relative 1e-6
        ("inertia", 100.0 * (1 + 2e-6), 100.0, False),
        ("inertia", 99.0, 100.0, False),  # two-sided: from the same start, not the same path
        ("r2", 0.9, 0.9 + 2e-9, False),  # two-sided, absolute 1e-9
        ("r2", 0.9 + 2e-9, 0.9, False),
        ("r2", 0.9, 0.9 + 5e-10, True),
        ("objective", 0.4 * (1 + 2e-6), 0.4, False),  # one-sided, relative 1e-6
        ("objective", 0.4 * (1 + 5e-7), 0.4, True),
        ("objective", 0.3, 0.4, True),  # below the strict reference's minimum: not wrong
    ],
)
def test_quality_rules_come_from_the_declared_metric(metric_sign, value, reference, ok):
    algo = {
        "inertia": ALGORITHMS["kmeans"],
        "r2": ALGORITHMS["linear_regression"],
        "objective": ALGORITHMS["logistic_regression"],
    }[metric_sign]
    assert algo.quality_ok(value, reference) is ok


def test_native_rule_is_one_sided_with_its_own_tolerance():
    als, mlp = ALGORITHMS["als"], ALGORITHMS["mlp"]
    assert als.quality_ok(1.04, 1.0, native=True) and not als.quality_ok(1.06, 1.0, native=True)
    assert not als.quality_ok(1.04, 1.0)  # ours must equal the reference to 1e-6
    assert mlp.quality_ok(0.91, 0.95, native=True) and not mlp.quality_ok(0.89, 0.95, native=True)
    assert mlp.tolerance_for(native=True) == 0.05 and mlp.tolerance_for(native=False) == 1e-9


def test_every_declared_estimator_and_reference_exists():
    import importlib

    for algo in ALGORITHMS.values():
        module, cls = algo.estimator.split(":")
        assert hasattr(importlib.import_module(module), cls), algo.estimator
        if algo.reference is not None:
            assert hasattr(algo.make_reference({}), "fit")
