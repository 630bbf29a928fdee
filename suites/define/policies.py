"""The parts of an algorithm's spec that only some algorithms have: one small policy per
job of the runner, declared in :data:`~dmlbench.suites.define.workloads.ALGORITHMS`
beside the algorithm it serves, and read through
:class:`~dmlbench.suites.define.algorithm_spec.AlgorithmSpec`.

* :class:`CheckPolicy` (every algorithm; a default): how the answer is read beyond
  its metric and tolerance;
* :class:`StartPolicy` (k-means, the MLP): the seed every implementation takes, and a
  start they share;
* :class:`TargetPolicy` (the MLP): the budget a time-to-target case searches;
* :class:`ExtrasPolicy` (several): the secondary quality numbers and what they need;
* :class:`NativePolicy` (the MLP, ALS): the rule for a native library that trains
  another model;
* :class:`OursPolicy` (every algorithm; a default): how ours is built and warmed up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dmlbench.backends import Block
from dmlbench.suites.define.metrics import Metric
from dmlbench.suites.define.starts import Start

#: The case parameter naming a time-to-target case's held-out metric to reach (read by the
#: runner, never passed to an estimator).
TARGET_PARAM = "target"


@dataclass(frozen=True)
class CheckPolicy:
    """How an answer is read beyond its metric and tolerance."""

    #: Only "no worse than the reference by more than the tolerance": a better answer than
    #: the reference's is right too.
    one_sided: bool = False
    #: The metric reported on held-out rows (``held_out_<name>``); None: the metric. An
    #: objective of the training problem means nothing on other rows.
    held_out_metric: Metric | None = None
    #: ``params -> Metric``: when the problem, and so the metric that checks its answer,
    #: depends on the case's parameters (ours', defaults included: ALS's ratings RMSE, or
    #: the implicit-feedback objective); None: always the metric.
    metric_for: Callable[[dict[str, Any]], Metric] | None = None
    #: Whether ours' trace ``objective`` is the quality metric itself (k-means: the inertia;
    #: logistic regression: ours' objective), so the time to quality can be read from it.
    trace_is_metric: bool = False


@dataclass(frozen=True)
class StartPolicy:
    """How every implementation of a case starts: from the suite's seed, and from one
    starting point shared by all of them."""

    #: Parameters that take the case's seed (``case.seed``: the suite's ``seed``) when the
    #: case names none, for ours, the reference and the natives alike.
    seed_params: tuple[str, ...] = ()
    #: ``(case, make_block, seed) -> Start``: the one starting point every implementation
    #: and the reference use, computed by the runner once per case before any ``prepare``
    #: (untimed, ``phases.start_s``) from the case's rows (``make_block(i)``: block ``i``).
    #: None: each implementation starts its own way (a seeded one, see ``seed_params``).
    shared: Callable[..., Start] | None = None
    #: Checked one-sided with this tolerance when ours does not start from the shared
    #: start (the case names its own ``init``): not the same problem any more.
    own_tolerance: float | None = None


@dataclass(frozen=True)
class TargetPolicy:
    """A time-to-target case (one that names a ``target``, :data:`TARGET_PARAM`) is timed
    at the smallest training budget whose held-out metric reaches it, for ours and a
    native alike."""

    #: The parameter that sets how much an implementation trains (the MLP's ``max_iter``:
    #: epochs, or L-BFGS iterations).
    budget_param: str

    def target_of(self, case: Any) -> float | None:
        """The held-out metric ``case`` must reach, or None: a fixed-work case."""
        target = case.params.get(TARGET_PARAM)
        return None if target is None else float(target)


@dataclass(frozen=True)
class ExtrasPolicy:
    """Secondary quality numbers (:mod:`dmlbench.suites.define.extras`) and their input."""

    #: ``(model, X, y, sample) -> {name: value}``; ``X`` rows or a Dataset.
    metrics: Callable[..., dict[str, float]]
    #: ``y``: the targets of all rows.
    need_targets: bool = False
    #: ``sample``: numpy rows from the head of every block.
    need_sample: bool = False


@dataclass(frozen=True)
class NativePolicy:
    """A native library that trains a different model (MLlib's MLP has sigmoid units, its
    ALS its own random start) is checked one-sided with its own tolerance."""

    tolerance: float


@dataclass(frozen=True)
class OursPolicy:
    """How ours is built and warmed up."""

    #: Attributes of the DatasetSpec passed to the estimator when set (CNN: image_shape).
    dataset_params: tuple[str, ...] = ()
    #: A block function that compiles (or loads) ours' compiled kernels in the worker that
    #: runs it, returning ``{its pid}``: run on every block before ours' cold fit, timed as
    #: the ``compile_s`` phase. None for an algorithm without compiled kernels.
    warm_up: Callable[[Block], frozenset[int]] | None = None
