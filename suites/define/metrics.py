"""The quality metrics an answer is checked by: name, direction, how a tolerance is read,
and, for an objective, the function that scores any implementation's fitted parameters.

An objective is stated once, beside the algorithm that minimises it (``algorithms/``);
the metric here only hands it a fitted model's parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Metric:
    """A quality metric: its name, its direction and how its tolerance is read."""

    name: str  # "r2", "accuracy", "inertia", "rmse" or "objective"
    higher_is_better: bool
    relative: bool  # tolerances are a share of the reference's value (else absolute)
    #: ``(model, X, y) -> value`` from the fitted parameters, in the metric's own sign,
    #: instead of the estimator's ``score`` (an objective is nobody's ``score``). ``X`` is
    #: numpy rows or a resident Dataset.
    of: Callable[..., float] | None = None


R2 = Metric("r2", higher_is_better=True, relative=False)
ACCURACY = Metric("accuracy", higher_is_better=True, relative=False)
INERTIA = Metric("inertia", higher_is_better=False, relative=True)
RMSE = Metric("rmse", higher_is_better=False, relative=True)


def logistic_objective_of(model: Any, X: Any, y: Any = None) -> float:
    """Ours' objective (``algorithms.linear.logistic_objective``) at a fitted model's
    ``coef_``, ``intercept_``, ``classes_`` and ``C``: ours, scikit-learn's, or a native's
    scored by ours.

    ``X``: numpy rows with targets ``y``, or a resident Dataset on the model's backend.
    The value is comparable with the last ``objective`` of our trace.
    """
    from dmlbench.algorithms.linear import logistic_objective as objective

    return objective(
        model.coef_, model.intercept_, model.classes_, model.C, X, y,
        backend=getattr(model, "backend", "local"),
    )  # fmt: skip


#: Lower is better; relative, since the objective scales with C and the data.
OBJECTIVE = Metric("objective", higher_is_better=False, relative=True, of=logistic_objective_of)


def als_objective(model: Any, X: Any, y: Any = None) -> float:
    """ALS's objective at a fitted model's factors on the ratings Dataset ``X``
    (``ALS.objective``): ours', the oracle's and MLlib's factors scored by one kernel."""
    return float(model.objective(X))


#: Implicit feedback's check: the objective, not an RMSE of preferences (which predicting
#: 1 everywhere would win); relative, lower is better.
ALS_OBJECTIVE = Metric("objective", higher_is_better=False, relative=True, of=als_objective)


def als_metric(params: dict[str, Any]) -> Metric:
    """Explicit ratings are checked by their held-out RMSE, implicit feedback by its
    objective. ``params``: ours' parameters for the case, defaults included."""
    return ALS_OBJECTIVE if params["implicit_prefs"] else RMSE
