"""Everything the runner knows of an algorithm, declared once: no name is ever compared.

An :class:`AlgorithmSpec` holds what every algorithm has (its estimator, task, metric,
reference and tolerance) and, for what only some have, a small policy each
(:mod:`dmlbench.suites.define.policies`). The algorithms a suite can name are listed in
:data:`dmlbench.suites.define.workloads.ALGORITHMS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from dmlbench.suites.define.dataset_spec import DatasetSpec
from dmlbench.suites.define.metrics import Metric
from dmlbench.suites.define.policies import (
    TARGET_PARAM,
    CheckPolicy,
    ExtrasPolicy,
    NativePolicy,
    OursPolicy,
    StartPolicy,
    TargetPolicy,
)
from dmlbench.suites.define.starts import Start


@dataclass(frozen=True)
class AlgorithmSpec:
    """Everything the runner knows of an algorithm, declared once.

    Adding an algorithm: its module in ``algorithms/``, one entry in
    :data:`~dmlbench.suites.define.workloads.ALGORITHMS` and its natives' lines (the
    README's "Extending dmlbench" says each step).
    """

    name: str
    estimator: str  # "module:Class" of our estimator, written once in ``algorithms/``
    task: str  # the DatasetSpec.task it solves
    metric: Metric
    #: Fitted with targets: ``fit(X, y)`` and ``score(X, y)`` on numpy rows (else ``fit(X)``).
    supervised: bool
    #: ``params -> estimator``: scikit-learn solving the same problem, or None for "dmlbench
    #: on the local backend" (no scikit-learn equivalent). Called with :meth:`ours_params`
    #: (:meth:`make_reference`), so it reads ours' defaults, never its own.
    reference: Callable[[dict[str, Any]], Any] | None
    tolerance: float  # allowed distance to the reference (relative or absolute: the metric's)
    #: ``params -> estimator``: the scikit-learn rival as its user would run it at OUR
    #: stopping rule (the one-core baseline that is timed); None: the same as ``reference``.
    #: The reference itself may be solved tighter: it only checks answers.
    baseline: Callable[[dict[str, Any]], Any] | None = None
    #: Above this many rows the reference is dmlbench on the local backend instead of
    #: ``reference`` on a driver-side copy of the rows (memory, and the reference's time).
    reference_max_rows: int = 2_000_000
    # -- what only some algorithms have: one small policy each ------------------------
    check: CheckPolicy = CheckPolicy()
    starts: StartPolicy = StartPolicy()
    target: TargetPolicy | None = None  # None: no time-to-target case
    extras: ExtrasPolicy | None = None  # None: no secondary numbers
    native: NativePolicy | None = None  # None: natives are checked by ours' rule
    ours: OursPolicy = OursPolicy()

    # -- our estimator ---------------------------------------------------------------
    @property
    def estimator_name(self) -> str:
        """The estimator's class name."""
        return self.estimator.rsplit(":", 1)[-1]

    def estimator_class(self) -> type:
        """Our estimator's class (imported on first use)."""
        module, cls = self.estimator.split(":")
        return getattr(importlib.import_module(module), cls)

    def ours_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Every parameter of our estimator for a case with ``params``: the case's value
        where it names one, else our estimator's default (its ``get_params()``), without
        ``backend``. What the references, the baselines and the native comparators read,
        so a default is typed once, in ``algorithms/``."""
        defaults = self.estimator_class()().get_params()
        defaults.pop("backend", None)
        return {**defaults, **params}

    def for_case(self, params: dict[str, Any]) -> AlgorithmSpec:
        """This algorithm as a case with ``params`` runs it: its metric for those."""
        metric_for = self.check.metric_for
        return self if metric_for is None else replace(
            self, metric=metric_for(self.ours_params(params))
        )  # fmt: skip

    def make(self, params: dict[str, Any], backend: Any, dataset: DatasetSpec) -> Any:
        """Our estimator with the case's parameters, on ``backend``."""
        params = dict(params)
        for name in self.ours.dataset_params:
            if getattr(dataset, name) is not None:
                params.setdefault(name, getattr(dataset, name))
        return self.estimator_class()(backend=backend, **params)

    # -- a case's parameters: seeds, starts, targets -----------------------------------
    def seed_of(self, case: Any) -> Any:
        """The seed the case's randomness comes from: the first of the start policy's
        ``seed_params`` the case names, else the suite's ``case.seed``; None when the
        algorithm takes no seed."""
        for name in self.starts.seed_params:
            if name in case.params:
                return case.params[name]
        return case.seed if self.starts.seed_params else None

    def run_params(self, case: Any, start: Start | None = None, *, ours: bool = False) -> dict:
        """The parameters ``case`` is run with, the one place seeds and starts are applied.

        Every ``seed_params`` the case does not name takes :meth:`seed_of`; the ``start``'s
        parameters are added. Ours (``ours=True``) keeps a start parameter the case names
        itself (``init = "k-means||"``: the suite asked for ours' own start); the reference
        and the native libraries always take the shared start, so they stay one problem.
        """
        params = {k: v for k, v in case.params.items() if k != TARGET_PARAM}
        for name in self.starts.seed_params:
            params.setdefault(name, self.seed_of(case))
        for name, value in (start.params if start else {}).items():
            if not (ours and name in case.params):
                params[name] = value
        return params

    def starts_shared(self, case: Any, start: Start | None) -> bool:
        """Whether ours starts from ``start`` in ``case`` (False: the case names its own)."""
        return start is None or not any(name in case.params for name in start.params)

    def target_of(self, case: Any) -> float | None:
        """The held-out metric ``case`` must reach (its ``target``), or None: a fixed-work
        case. A different model (a native MLP) is compared by the time to the same
        held-out accuracy, not by a number of iterations that means another thing."""
        return None if self.target is None else self.target.target_of(case)

    # -- fitting and scoring any implementation ----------------------------------------
    def fit(self, model: Any, X: Any, y: Any = None) -> Any:
        """Fit any implementation (ours on numpy, scikit-learn) on numpy rows."""
        return model.fit(X, y) if self.supervised else model.fit(X)

    def score(self, model: Any, X: Any, y: Any = None, metric: Metric | None = None) -> float:
        """The metric (or ``metric``) of a fitted model on numpy rows ``(X, y)`` or on a
        Dataset ``X``, in the metric's own sign.

        Every estimator's ``score`` is "higher is better"; a lower-is-better metric (inertia,
        RMSE) is its negative. A metric with its own function (``Metric.of``) uses that.
        """
        metric = metric or self.metric
        if metric.of is not None:
            return float(metric.of(model, X, y))
        value = float(model.score(X) if y is None or not self.supervised else model.score(X, y))
        return value if metric.higher_is_better else -value

    @property
    def held_out(self) -> Metric:
        """The metric reported (and reached by a target) on held-out rows."""
        return self.check.held_out_metric or self.metric

    def held_out_score(self, model: Any, X: Any, y: Any = None) -> dict[str, float]:
        """``{"held_out_<metric>": value}`` of a fitted model on held-out rows."""
        return {f"held_out_{self.held_out.name}": self.score(model, X, y, self.held_out)}

    def extra_metrics(self, model: Any, X: Any, y: Any = None, sample: Any = None) -> dict:
        """Secondary quality numbers of a fitted model (ours or scikit-learn's)."""
        return self.extras.metrics(model, X, y, sample) if self.extras else {}

    def make_reference(self, params: dict[str, Any]) -> Any:
        """The scikit-learn estimator that checks answers (``reference``) with ours'
        parameters for ``params`` (:meth:`ours_params`), or None."""
        return None if self.reference is None else self.reference(self.ours_params(params))

    def make_baseline(self, params: dict[str, Any]) -> Any:
        """The scikit-learn estimator timed as the one-core baseline (``baseline``, else
        ``reference``) with ours' parameters for ``params``, or None."""
        make = self.baseline or self.reference
        return None if make is None else make(self.ours_params(params))

    # -- the answer check ---------------------------------------------------------------
    def tolerance_for(self, native: bool) -> float:
        """The tolerance the answer of ours (or of a native library) is checked with."""
        return self.native.tolerance if native and self.native else self.tolerance

    def quality_ok(
        self,
        value: float,
        reference: float,
        *,
        native: bool = False,
        tolerance: float | None = None,
    ) -> bool:
        """Whether a metric value matches the reference's within the tolerance.

        ``tolerance`` (a recorded rule for a problem that differs from the reference's: a
        native comparator's own, or the start policy's ``own_tolerance`` when ours starts
        elsewhere) replaces the declared one and is checked one-sided, as is a native
        library's under a :class:`NativePolicy`.
        """
        different_model = tolerance is not None or (native and self.native is not None)
        tol = tolerance if tolerance is not None else self.tolerance_for(native)
        margin = tol * abs(reference) if self.metric.relative else tol
        if self.check.one_sided or different_model:
            worse = reference - value if self.metric.higher_is_better else value - reference
            return worse <= margin
        return abs(value - reference) <= margin

    # -- a shortcut ---------------------------------------------------------------------
    @property
    def budget_param(self) -> str | None:
        """The target policy's budget parameter; None: no time-to-target case."""
        return None if self.target is None else self.target.budget_param
