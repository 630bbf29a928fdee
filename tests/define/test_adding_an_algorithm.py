"""The README's "Adding an algorithm" steps 1-3, walked with a toy algorithm: nothing but
its module, its entry in ``ALGORITHMS`` and its line per native library, and it runs, is
checked, is compared with scikit-learn and is reported like every other algorithm. (Step
4 is for a real algorithm: the built-in ``quick`` suite and the defaults test name it.)"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import inline_suite
from sklearn.base import RegressorMixin

from dmlbench.algorithms.base import DistributedEstimator, free_if, targets_of
from dmlbench.backends import Block, backend_names
from dmlbench.reports.records import read_records
from dmlbench.reports.render import report
from dmlbench.suites.cli.commands import main
from dmlbench.suites.define import workloads
from dmlbench.suites.define.algorithm_spec import AlgorithmSpec
from dmlbench.suites.define.metrics import R2
from dmlbench.suites.natives import comparator as natives
from dmlbench.suites.run.runner import run_suite


# -- step 1: the algorithm, written once against the backend protocol ---------------------
def target_sums(block: Block) -> tuple[float, int]:
    """(Σ y, rows) of one block: what the workers send back."""
    return float(block.y.sum()), block.y.shape[0]


def add_pairs(a: tuple[float, int], b: tuple[float, int]) -> tuple[float, int]:
    return a[0] + b[0], a[1] + b[1]


class MeanRegressor(RegressorMixin, DistributedEstimator):
    """Predicts the training targets' mean: one round of sums on any backend.

    Parameters
    ----------
    shift : float, default=0.0
        Added to the mean (0: scikit-learn's ``DummyRegressor``; anything else a wrong
        answer, which the answer check must catch).
    backend : str or started backend, default="local"
    """

    def __init__(self, *, shift=0.0, backend="local"):
        self.shift = shift
        self.backend = backend

    def fit(self, X, y=None):
        be, ds, owned = self._fit_data(X, y, supervised=True, y_numeric=True)
        try:
            total, n = be.aggregate(ds, target_sums, add_pairs)
        finally:
            free_if(be, ds, owned)
        self.mean_ = total / n + self.shift
        self.n_iter_ = 1
        return self

    def predict(self, X):
        """The mean, once per row of numpy ``X`` of shape (n_samples, n_features)."""
        return np.full(np.asarray(X).shape[0], self.mean_)

    def score(self, X, y=None):
        """R² of the constant prediction (y from the Dataset's blocks when X is one)."""
        y_true = targets_of(self, X, y)
        ss_tot = ((y_true - y_true.mean()) ** 2).sum()
        return 1.0 - ((y_true - self.mean_) ** 2).sum() / ss_tot


def dummy_regressor(params):
    """The scikit-learn reference: the same problem, solved by scikit-learn."""
    from sklearn.dummy import DummyRegressor

    return DummyRegressor(strategy="mean")


TOY = "mean_regressor"


@pytest.fixture
def toy_algorithm(monkeypatch):
    """Steps 2 and 3, as a user adds them to the registries (undone after the test)."""
    # Step 2: one entry in ALGORITHMS.
    spec = AlgorithmSpec(
        TOY,
        f"{__name__}:MeanRegressor",
        "regression",
        R2,
        supervised=True,
        reference=dummy_regressor,
        tolerance=1e-9,
    )
    monkeypatch.setitem(workloads.ALGORITHMS, TOY, spec)
    # Step 3: per backend with a native library, its comparator or why there is none.
    monkeypatch.setitem(natives.NATIVES, (TOY, "local"), natives.NATIVES[("kmeans", "local")])
    monkeypatch.setitem(natives.NO_NATIVE, (TOY, "dask"), "dask-ml has no mean regressor")
    monkeypatch.setitem(natives.NO_NATIVE, (TOY, "spark"), "MLlib has no mean regressor")
    return spec


def suite_doc(**params) -> dict:
    return {
        "suite": {"name": "toy", "repeats": 2},
        "grid": {"backends": ["local"], "n_workers": [1], "n_samples": [4000],
                 "impl": ["dmlbench", "native"]},  # fmt: skip
        "workload": [{"algorithm": TOY, "dataset": "regression", "params": params}],
    }


def test_a_new_algorithm_is_its_module_and_its_entries(toy_algorithm, tmp_path, capsys):
    # Every (algorithm, backend) pair has a comparator or a stated reason, as
    # tests/natives/test_natives.py requires of every algorithm.
    for backend in backend_names():
        pair = (TOY, backend)
        reason = pair in natives.NO_NATIVE or backend in natives.NO_NATIVE_LIBRARY
        assert (pair in natives.NATIVES) != reason, pair

    # A suite names it; ours and scikit-learn run, every fit's answer checked.
    records = read_records(run_suite(inline_suite(suite_doc(), "toy.toml"), tmp_path / "run"))
    assert [(r["case"]["impl"], r["outcome"]) for r in records] == [
        ("dmlbench", "ok"),
        ("native", "ok"),
    ]
    for r in records:
        assert r["quality"]["metric"] == "r2"
        assert r["quality"]["reference_source"].startswith("scikit-learn DummyRegressor")
        assert len(r["quality"]["values"]) == 3  # the cold fit and both repeats, each checked
    assert records[0]["n_iter"] == 1  # ours says how many rounds it took

    # The command line lists it, and the report shows it beside the others.
    assert main(["list"]) == 0
    assert f"{TOY:<20} MeanRegressor" in capsys.readouterr().out
    written = report([tmp_path / "run" / "results.jsonl"], tmp_path / "report")
    assert TOY in written["markdown"].read_text() and TOY in written["csv"].read_text()


def test_a_wrong_answer_of_the_new_algorithm_is_caught(toy_algorithm, tmp_path):
    records = read_records(run_suite(inline_suite(suite_doc(shift=0.5)), tmp_path / "run"))
    ours = next(r for r in records if r["case"]["impl"] == "dmlbench")
    assert ours["outcome"] == "wrong-answer", ours.get("reason")
    assert "off the reference r2" in ours["reason"]
