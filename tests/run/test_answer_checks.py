"""Answer checks that bite: logistic regression checked by its objective, every timed
repeat checked, and scikit-learn's one-core baseline timed at our stopping rule.

All on the ``local`` backend (small rows: seconds in all).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from dmlbench.backends import get_backend
from dmlbench.suites.define.metrics import OBJECTIVE, logistic_objective_of
from dmlbench.suites.define.spec import Case
from dmlbench.suites.define.workloads import ALGORITHMS
from dmlbench.suites.natives.comparator import Fitted
from dmlbench.suites.run import measure
from dmlbench.suites.run.record_builder import build_record

LOGISTIC = ALGORITHMS["logistic_regression"]


def logistic_case(impl: str = "dmlbench", repeats: int = 1, **params) -> Case:
    """Logistic regression on 2000 × 10 generated rows (3 classes), on ``local``."""
    return Case(
        "t", "logistic_regression", "classification", params, "local", 1, impl, 2000, 10,
        repeats, 60.0, 0,
    )  # fmt: skip


def measured(case: Case, be):
    """The record of one launch of ``case`` on ``be``, as the runner makes it."""
    return build_record([measure.measure_launch(case, be)])


@pytest.fixture(scope="module")
def local():
    with get_backend("local").start() as be:
        yield be


def test_logistic_is_checked_by_its_objective_one_sided_at_relative_1e_6():
    assert LOGISTIC.metric is OBJECTIVE and LOGISTIC.check.one_sided
    assert LOGISTIC.quality_ok(1.0 + 5e-7, 1.0)
    assert not LOGISTIC.quality_ok(1.0 + 2e-6, 1.0)
    assert LOGISTIC.quality_ok(0.9, 1.0)  # lower than the strict reference's: not wrong


def test_objective_is_ours_as_linear_py_minimises_it(local):
    """The metric equals the last objective L-BFGS saw in our fit (same scaling, same sum)."""
    from dmlbench.algorithms.linear import LogisticRegression
    from dmlbench.suites.define.datasets import classification_block

    block = classification_block(0, rows=500, n_features=5, seed=1)
    model = LogisticRegression(C=0.5, backend=local).fit(block.X, block.y)
    value = logistic_objective_of(model, block.X, block.y)
    assert value == pytest.approx(model.trace_[-1]["objective"], rel=1e-12)
    # On numpy rows or on the resident Dataset: the same value.
    ds = local.from_blocks([block])
    try:
        assert logistic_objective_of(model, ds) == pytest.approx(value, rel=1e-12)
    finally:
        local.free(ds)


def test_under_converged_fit_is_a_wrong_answer_although_its_accuracy_is_close(local):
    record = measured(logistic_case(max_iter=3), local)
    quality = record["quality"]
    accuracy = quality["extras"]["accuracy"]
    assert abs(accuracy["value"] - accuracy["reference"]) <= 0.01  # the old rule passed it
    assert record["outcome"] == "wrong-answer"
    assert quality["metric"] == "objective" and quality["ok"] is False
    assert quality["value"] > quality["reference"] * (1 + 1e-6)
    assert "objective" in record["reason"] and "cold fit" in record["reason"]


def test_converged_fit_passes_on_every_repeat(local):
    record = measured(logistic_case(repeats=2), local)
    assert record["outcome"] == "ok", record["reason"]
    assert len(record["quality"]["values"]) == 3  # the cold fit and two timed repeats


class _SecondRepeatStopsEarly(measure.Ours):
    """Ours, except that the second fit (the first timed repeat) stops after 3 iterations."""

    def fit(self) -> Fitted:
        self.calls = getattr(self, "calls", 0) + 1
        if self.calls == 2:
            saved = self.case
            self.case = replace(saved, params={**saved.params, "max_iter": 3})
            try:
                return super().fit()
            finally:
                self.case = saved
        return super().fit()


def test_a_wrong_timed_repeat_fails_the_case_and_is_named(local, monkeypatch):
    monkeypatch.setattr(measure, "Ours", _SecondRepeatStopsEarly)
    record = measured(logistic_case(repeats=2), local)
    assert record["outcome"] == "wrong-answer"
    reason = record["reason"]
    assert "1 of 3 fits" in reason and "timed repeat 1" in reason, reason
    assert "cold fit" not in reason and "timed repeat 2" not in reason, reason
    values, reference = record["quality"]["values"], record["quality"]["reference"]
    assert values[1] > reference * (1 + 1e-6)
    # The last fit is right: checking it alone (the old rule) would have passed the case.
    assert LOGISTIC.quality_ok(values[-1], reference) and record["quality"]["value"] == values[-1]


@pytest.mark.parametrize(
    ("params", "tol", "max_iter"),
    [
        ({}, 1e-8, 500),  # ours' defaults
        ({"tol": 1e-6, "max_iter": 40}, 1e-6, 40),  # the case's own
        ({"C": 4.0}, 1e-8 / 4.0, 500),  # scikit-learn's gradient is ours / C
    ],
)
def test_scikit_learn_baseline_is_timed_at_our_stopping_rule(local, params, tol, max_iter):
    record = measured(logistic_case("native", **params), local)
    assert record["outcome"] == "ok", record["reason"]
    native = record["native"]
    assert native["impl"] == "scikit-learn LogisticRegression"
    settings = native["settings"]
    assert settings["tol"] == pytest.approx(tol, rel=1e-12)
    assert settings["max_iter"] == max_iter
    assert settings["C"] == params.get("C", 1.0)
    assert native["n_iter"] == record["n_iter"] and 0 < record["n_iter"] <= max_iter
    # The strict reference only checks the answer: it is never the estimator timed.
    strict = LOGISTIC.make_reference(params).get_params()
    assert (strict["tol"], strict["max_iter"]) != (settings["tol"], settings["max_iter"])


def test_a_native_rule_replaces_the_tolerance_one_sided_only_when_given():
    assert LOGISTIC.quality_ok(1.0 + 5e-4, 1.0, native=True, tolerance=1e-3)
    assert not LOGISTIC.quality_ok(1.0 + 5e-4, 1.0, native=True)  # MLlib: ours' 1e-6
    assert LOGISTIC.quality_ok(0.5, 1.0, native=True, tolerance=1e-3)  # lower: one-sided


@pytest.mark.parametrize("n_samples", [455, 20_000])
def test_dask_ml_logistic_excess_bounds_the_gap_its_intercept_penalty_makes(n_samples):
    """dask-ml's problem (the intercept penalised too) solved exactly with scikit-learn on
    [X, 1] without an intercept: ours' objective at its optimum exceeds ours' optimum by
    more than ours' 1e-6 on small data, and by no more than the excess it records (b²/n)."""
    import numpy as np
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    from dmlbench.suites.natives import (
        dask_ml as native_dask_ml,  # imports dask-ml only when it fits
    )

    X, y = make_classification(n_samples, 8, weights=[0.8], flip_y=0.05, random_state=0)
    C = 1.0

    def ours(w, b):  # (C Σ log-loss + ½‖w‖²) / n: the intercept unpenalised
        z = X @ w + b
        return (C * np.sum(np.logaddexp(0, z) - y * z) + 0.5 * w @ w) / n_samples

    strict = {"C": C, "tol": 1e-12, "max_iter": 10_000}
    best = LogisticRegression(**strict).fit(X, y)
    penalised = LogisticRegression(fit_intercept=False, **strict).fit(
        np.column_stack([X, np.ones(n_samples)]), y
    )
    w_d, b_d = penalised.coef_[0, :-1], penalised.coef_[0, -1]
    f_star = ours(best.coef_[0], best.intercept_[0])
    gap = ours(w_d, b_d) - f_star
    excess = b_d**2 / n_samples  # what the comparator records as its "excess"
    assert 0 < gap <= excess
    if n_samples < 1000:
        assert gap / f_star > LOGISTIC.tolerance  # ours' rule alone would fail it
    assert "intercept" in native_dask_ml.DASK_ML_LOGISTIC_REASON


def test_a_native_excess_becomes_a_relative_tolerance_above_ours():
    from dmlbench.suites.natives.comparator import native_rule

    rule = native_rule(LOGISTIC, {"excess": 2e-3, "reason": "r"}, reference=4.0)
    assert rule["value"] == pytest.approx(LOGISTIC.tolerance + 2e-3 / 4.0)
    assert rule["reason"] == "r" and native_rule(LOGISTIC, None, reference=4.0) is None


def test_dask_glm_gets_ours_stopping_rule_in_its_own_units():
    """dask_glm's objective is n/C times ours, so is its gradient: ours' gtol scales up."""
    import numpy as np
    from sklearn.datasets import make_classification

    from dmlbench.algorithms.kernels import logistic_loss_grad
    from dmlbench.backends import Block
    from dmlbench.suites.natives.dask_ml import dask_glm_pgtol

    X, y = make_classification(500, 5, random_state=0)
    C, n = 0.5, X.shape[0]
    rng = np.random.default_rng(0)
    W = rng.normal(size=(1, 6))  # [w, b] of one binary problem
    beta = W.ravel()
    # dask_glm's gradient (algorithms.lbfgs, Logistic + L2 at lamduh=1/C) on [X, 1].
    Xi = np.column_stack([X, np.ones(n)])
    glm_grad = Xi.T @ (1 / (1 + np.exp(-Xi @ beta)) - y) + beta / C
    # Ours' gradient, as algorithms/linear.py forms it (intercept unpenalised there, so
    # compare the weights' part, where both penalise).
    _, g = logistic_loss_grad(Block(X, y.astype(float)), W, np.array([0.0, 1.0]))
    ours_grad = (C * np.ravel(g) + np.append(beta[:5], 0.0)) / n
    assert np.allclose(glm_grad[:5] * C / n, ours_grad[:5])
    assert dask_glm_pgtol(1e-8, n, C) == pytest.approx(1e-8 * n / C)
