"""Defaults are typed once, in our estimators (``algorithms/``): change one there and every
scikit-learn factory and every native comparator asks its library for the new value, so
no comparator silently solves another problem. Engine-free: comparators' ``case_settings``
and the factories' estimators, no cluster."""

from __future__ import annotations

import inspect

import pytest

from dmlbench.suites.define.spec import Case
from dmlbench.suites.define.workloads import ALGORITHMS, DATASETS
from dmlbench.suites.natives.comparator import NATIVES, comparator

#: Per algorithm: new defaults for our estimator, each unlike the real one.
CHANGED = {
    "linear_regression": {"alpha": 0.25},
    "logistic_regression": {"C": 2.0, "max_iter": 123, "tol": 1e-6},
    "kmeans": {"n_clusters": 5, "max_iter": 77, "tol": 1e-3},
    "mlp": {
        "hidden_layer_sizes": (17,), "alpha": 3e-4, "batch_size": 64,
        "learning_rate_init": 0.01, "solver": "lbfgs",
    },
    "als": {"rank": 7, "reg_param": 0.3, "max_iter": 25, "implicit_prefs": True, "alpha": 2.0},
}  # fmt: skip

#: Per comparator: what it must ask its library for (its ``case_settings``) under CHANGED.
FOLLOWS = {
    # scikit-learn's estimators (the baseline factories), by their own get_params().
    ("linear_regression", "local"): {"alpha": 0.25},
    ("logistic_regression", "local"): {"C": 2.0, "max_iter": 123, "tol": 1e-6 / 2.0},
    ("kmeans", "local"): {"n_clusters": 5, "max_iter": 77, "tol": 1e-3},
    ("mlp", "local"): {
        "hidden_layer_sizes": (17,), "alpha": 3e-4, "batch_size": 64,
        "learning_rate_init": 0.01, "solver": "lbfgs",
    },
    ("kmeans", "dask"): {"max_iter": 77, "case_tol": 1e-3},
    ("logistic_regression", "dask"): {"C": 2.0, "max_iter": 123, "case_tol": 1e-6},
    ("kmeans", "spark"): {"maxIterations": 77, "tol": 1e-3},
    ("logistic_regression", "spark"): {"C": 2.0, "maxIter": 123, "tol": 1e-6},
    ("mlp", "spark"): {"hidden_layer_sizes": [17]},
    ("als", "spark"): {
        "rank": 7, "regParam": 0.3, "maxIter": 25, "implicitPrefs": True, "alpha": 2.0,
        "checkpointInterval": 10,  # 25 iterations: a lineage that needs checkpoints
    },
}  # fmt: skip

#: Comparators that cannot solve the changed problem: they skip, saying why.
SKIPS = {
    ("linear_regression", "dask"): "alpha=0.25",
    ("linear_regression", "spark"): "alpha=0.25",
}


def change_defaults(monkeypatch: pytest.MonkeyPatch, algorithm: str) -> None:
    """Give ``algorithm``'s estimator the defaults of :data:`CHANGED` for one test, by its
    ``__init__``'s own default values (positional and keyword-only)."""
    cls = ALGORITHMS[algorithm].estimator_class()
    init = cls.__init__
    params = inspect.signature(init).parameters.values()
    positional = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD and p.default is not p.empty]  # fmt: skip
    keyword, defaults = dict(init.__kwdefaults__ or {}), list(init.__defaults__ or ())
    for name, value in CHANGED[algorithm].items():
        if name in keyword:
            keyword[name] = value
        else:
            defaults[positional.index(name)] = value
    monkeypatch.setattr(init, "__kwdefaults__", keyword)
    monkeypatch.setattr(init, "__defaults__", tuple(defaults))
    got = cls().get_params()
    assert {name: got[name] for name in CHANGED[algorithm]} == CHANGED[algorithm]


def case_of(algorithm: str, backend: str = "local") -> Case:
    """A case naming no parameter: every value comes from our estimator's defaults."""
    task = ALGORITHMS[algorithm].task
    dataset = next(name for name, spec in DATASETS.items() if spec.task == task)
    return Case("t", algorithm, dataset, {}, backend, 1, "native", 1000, 4, 1, 60.0, 0)


def test_every_comparator_is_covered():
    assert set(FOLLOWS) | set(SKIPS) == set(NATIVES)


@pytest.mark.parametrize("pair", sorted(NATIVES), ids="/".join)
def test_every_comparator_follows_our_estimators_defaults(pair, monkeypatch):
    algorithm, backend = pair
    change_defaults(monkeypatch, algorithm)
    case, algo, impl = case_of(*pair), ALGORITHMS[algorithm], comparator(*pair)
    if pair in SKIPS:
        reason = impl.skip_reason(case)
        assert reason is not None and SKIPS[pair] in reason, reason
        return
    assert impl.skip_reason(case) is None
    settings = impl.case_settings(case, algo)
    want = FOLLOWS[pair]
    assert {key: settings.get(key) for key in want} == want, settings


@pytest.mark.parametrize("algorithm", ["linear_regression", "logistic_regression", "kmeans"])
def test_every_scikit_learn_factory_follows_our_estimators_defaults(algorithm, monkeypatch):
    change_defaults(monkeypatch, algorithm)
    algo = ALGORITHMS[algorithm]
    reference = algo.make_reference({}).get_params()
    baseline = algo.make_baseline({}).get_params()
    new = CHANGED[algorithm]
    if algorithm == "logistic_regression":
        # The reference is solved to precision at ours' C; the baseline at ours' rule.
        assert reference["C"] == new["C"]
        assert (baseline["C"], baseline["max_iter"]) == (new["C"], new["max_iter"])
        assert baseline["tol"] == pytest.approx(new["tol"] / new["C"])
    else:
        for params in (reference, baseline):
            assert {name: params[name] for name in new} == new


def test_the_shared_start_and_the_metric_follow_our_estimators_defaults(monkeypatch):
    change_defaults(monkeypatch, "kmeans")
    change_defaults(monkeypatch, "als")
    case = case_of("kmeans")
    make = DATASETS[case.dataset].blocks_maker(case.n_samples, case.n_features, case.seed)
    start = ALGORITHMS["kmeans"].starts.shared(case, make, 0)
    assert start.params["init"].shape == (CHANGED["kmeans"]["n_clusters"], case.n_features)
    # Implicit feedback by default: checked by its objective, not the ratings' RMSE.
    assert ALGORITHMS["als"].for_case({}).metric.name == "objective"
    assert ALGORITHMS["als"].for_case({"implicit_prefs": False}).metric.name == "rmse"
