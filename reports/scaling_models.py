"""Scaling models fitted to measured throughput, to predict past the measured workers.

* Amdahl: ``X(N) = λ N / (1 + σ (N − 1))``: a serial fraction σ.
* The Universal Scalability Law (Gunther 1993, 2007):
  ``X(N) = λ N / (1 + σ (N − 1) + κ N (N − 1))``: contention σ and coherency κ (the
  cost of workers exchanging data, which makes throughput peak at
  ``N* = sqrt((1 − σ) / κ)`` and then fall).

Throughput is fits per second (1 / fit time). Both are fitted by scipy's least squares on
the throughput itself (what the published fits do), with σ, κ ≥ 0. A curve through its
points is not a model: a fit needs one more distinct worker count than it has
parameters (:data:`MIN_COUNTS`: 4 for the USL, 3 for Amdahl), else
:class:`TooFewPoints`. Intervals on σ, κ, λ and on every prediction come from refitting
bootstrap replicates of each worker count's median time (:mod:`dmlbench.reports.stats`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from dmlbench.reports.records import RoundSplit
from dmlbench.reports.stats import (
    LEVEL,
    RESAMPLES,
    Times,
    launches_of,
    median_of,
    median_replicates,
)

#: Distinct worker counts each model needs: one more than its parameters (USL: σ, κ, λ;
#: Amdahl: σ, λ), since a model with as many parameters as points goes through all of them
#: and predicts nothing.
MIN_COUNTS = {"usl": 4, "amdahl": 3}
#: Worker counts a report predicts at.
PREDICT_AT = (4, 8, 16, 32, 64)


class TooFewPoints(ValueError):
    """Fewer distinct worker counts than a model can be fitted to; says how many."""


#: A parameter or a count: one number, or an array of them (bootstrap replicates).
Value = float | np.ndarray


def usl(n: Value, sigma: Value, kappa: Value, lam: Value) -> np.ndarray:
    """USL throughput at ``n`` workers (arrays broadcast; numbers give a numpy number)."""
    n = np.asarray(n, dtype=float)
    return lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1))


def amdahl(n: Value, sigma: Value, lam: Value) -> np.ndarray:
    """Amdahl throughput at ``n`` workers (USL with κ = 0)."""
    return usl(n, sigma, 0.0, lam)


@dataclass(frozen=True)
class ScalingFit:
    """A fitted model: its name, parameters, their intervals, and what it predicts."""

    model: str  # "usl" or "amdahl"
    params: dict[str, float]  # sigma, kappa (usl), lam
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    counts: tuple[int, ...] = ()  # the measured worker counts it was fitted to
    level: float = LEVEL
    replicates: np.ndarray | None = field(default=None, repr=False, compare=False)

    def throughput(self, n: Value) -> np.ndarray:
        """Fits per second at ``n`` workers (arrays broadcast)."""
        p = self.params
        return usl(n, p["sigma"], p.get("kappa", 0.0), p["lam"])

    @property
    def peak(self) -> float | None:
        """``N* = sqrt((1 − σ) / κ)``, where throughput peaks; None when κ = 0."""
        kappa = self.params.get("kappa", 0.0)
        if kappa <= 0:
            return None
        return math.sqrt((1 - self.params["sigma"]) / kappa)

    @property
    def max_workers(self) -> int | None:
        """The whole number of workers at or just below the peak (``N_max``)."""
        return None if self.peak is None else int(math.floor(self.peak))

    @property
    def max_throughput(self) -> float | None:
        """Throughput at ``N_max`` (``X_max``)."""
        return None if self.max_workers is None else float(self.throughput(self.max_workers))

    def predict(self, n: int) -> dict[str, float]:
        """Predicted fit time and speedup over one worker at ``n`` workers, with the
        bootstrap interval of each (``time_low`` ...), when the fit has replicates."""
        x, x1 = float(self.throughput(n)), float(self.throughput(1))
        out = {"workers": n, "time": 1 / x, "speedup": x / x1}
        if self.replicates is not None and len(self.replicates):
            reps = self.replicates
            kappa = reps[:, 1] if self.model == "usl" else 0.0
            lam = reps[:, -1]
            xs = usl(n, reps[:, 0], kappa, lam)
            x1s = usl(1, reps[:, 0], kappa, lam)
            tail = (1 - self.level) / 2 * 100
            out["time_low"], out["time_high"] = np.percentile(1 / xs, [tail, 100 - tail])
            out["speedup_low"], out["speedup_high"] = np.percentile(xs / x1s, [tail, 100 - tail])
        return out


def _least_squares(model: str, n: np.ndarray, x: np.ndarray) -> np.ndarray:
    from scipy.optimize import least_squares

    if model == "usl":

        def residual(p: np.ndarray) -> np.ndarray:
            return usl(n, p[0], p[1], p[2]) - x

        start, low, high = [0.01, 1e-4, x[0] / n[0]], [0, 0, 0], [1, 1, np.inf]
    else:

        def residual(p: np.ndarray) -> np.ndarray:
            return amdahl(n, p[0], p[1]) - x

        start, low, high = [0.01, x[0] / n[0]], [0, 0], [1, np.inf]
    tight = {"xtol": 1e-15, "ftol": 1e-15, "gtol": 1e-15}
    return least_squares(residual, start, bounds=(low, high), x_scale="jac", **tight).x


def _model_and_jacobian(
    model: str, n: np.ndarray, theta: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Throughput of every row of ``theta`` (R, params) at ``n`` (k,), shape (R, k), and
    its Jacobian, shape (R, k, params)."""
    sigma, lam = theta[:, :1], theta[:, -1:]
    kappa = theta[:, 1:2] if model == "usl" else 0.0
    d = 1 + sigma * (n - 1) + kappa * n * (n - 1)
    x = lam * n / d
    columns = [-lam * n * (n - 1) / d**2]  # d/d sigma
    if model == "usl":
        columns.append(-lam * n * n * (n - 1) / d**2)  # d/d kappa
    columns.append(n / d)  # d/d lambda
    return x, np.stack(columns, axis=2)


def refit_many(model: str, n: np.ndarray, throughput: np.ndarray, start: np.ndarray,
               *, iterations: int = 200) -> np.ndarray:  # fmt: skip
    """Least-squares fits of ``model`` to every row of ``throughput`` (R, k) at once, within
    the same bounds as :func:`fit_throughput` (σ, κ in [0, 1], λ >= 0), from ``start``
    (the fit of the measured medians): projected Levenberg–Marquardt, batched over rows.

    The bootstrap's hundreds of refits, each a small perturbation of the measured fit;
    scipy's ``least_squares`` costs about 10 ms a call here, this all of them together
    (checked against it replicate by replicate in the tests). Returns (R, params).
    """
    rows = throughput.shape[0]
    low = np.zeros(len(start))
    high = np.array([1.0, 1.0, np.inf] if model == "usl" else [1.0, np.inf])
    theta = np.tile(start, (rows, 1)).astype(float)
    x, jac = _model_and_jacobian(model, n, theta)
    residual = x - throughput
    cost = (residual**2).sum(axis=1)
    damping = np.full(rows, 1e-3)
    done = np.zeros(rows, dtype=bool)
    eye = np.eye(len(start))
    for _ in range(iterations):
        gradient = np.einsum("rkp,rk->rp", jac, residual)
        hessian = np.einsum("rkp,rkq->rpq", jac, jac)
        # A parameter at a bound that the descent would push past it is held there (the
        # active set): its row and column leave the system.
        held = ((theta <= low) & (gradient > 0)) | ((theta >= high) & (gradient < 0))
        free = ~held
        hessian = hessian * free[:, :, None] * free[:, None, :] + held[:, :, None] * eye
        gradient = gradient * free
        scale = np.einsum("rpp->rp", hessian) + 1e-300  # Marquardt's scaling by the diagonal
        step = np.linalg.solve(hessian + damping[:, None, None] * scale[:, :, None] * eye,
                               -gradient[:, :, None])[:, :, 0]  # fmt: skip
        candidate = np.clip(theta + step, low, high)
        x_c, jac_c = _model_and_jacobian(model, n, candidate)
        residual_c = x_c - throughput
        cost_c = (residual_c**2).sum(axis=1)
        better = cost_c < cost
        theta[better], residual[better], jac[better] = (
            candidate[better], residual_c[better], jac_c[better])  # fmt: skip
        cost = np.where(better, cost_c, cost)
        damping = np.where(better, damping / 3, damping * 4)
        # A row is done when a step it took moved no parameter by a part in 1e10, or when
        # it cannot improve even with short steps (its damping grown past 100).
        moved = (np.abs(step) > 1e-10 * np.maximum(np.abs(theta), 1e-12)).any(axis=1)
        done |= (better & ~moved) | (~better & (damping > 1e2))
        if done.all():
            break
    for row in np.flatnonzero(~done):  # not settled within the iterations: scipy's own fit
        theta[row] = _least_squares(model, n, throughput[row])
    return theta


def fit_throughput(
    counts: Sequence[float], throughput: Sequence[float], model: str = "usl"
) -> ScalingFit:
    """Fit ``model`` ("usl" or "amdahl") to measured throughput at ``counts`` workers.

    Raises
    ------
    TooFewPoints
        Fewer than :data:`MIN_COUNTS` distinct worker counts.
    ValueError
        An unknown model.
    """
    if model not in ("usl", "amdahl"):
        raise ValueError(f"model must be 'usl' or 'amdahl'; got {model!r}")
    n, x = np.asarray(counts, dtype=float), np.asarray(throughput, dtype=float)
    distinct = sorted({int(c) for c in counts})
    if len(distinct) < MIN_COUNTS[model]:
        raise TooFewPoints(
            f"{model} needs at least {MIN_COUNTS[model]} distinct worker counts; got "
            f"{distinct}: a curve through {len(distinct)} point(s) is not a model"
        )
    p = _least_squares(model, n, x)
    names = ("sigma", "kappa", "lam") if model == "usl" else ("sigma", "lam")
    return ScalingFit(model, dict(zip(names, map(float, p), strict=True)), counts=tuple(distinct))


def fit_scaling(
    by_workers: Mapping[int, Times],
    model: str = "usl",
    *,
    level: float = LEVEL,
    resamples: int = RESAMPLES // 4,
    seed: int = 0,
) -> ScalingFit:
    """Fit ``model`` to fit times per worker count (throughput = 1 / median time), with
    percentile intervals on its parameters from refitting bootstrap replicates (computed
    once per series and report: its table and its figure ask for the same fit)."""
    key = tuple((w, tuple(map(tuple, launches_of(by_workers[w])))) for w in sorted(by_workers))
    return _fit_scaling(key, model, level, resamples, seed)


@functools.lru_cache(maxsize=1024)
def _fit_scaling(key: tuple, model: str, level: float, resamples: int, seed: int) -> ScalingFit:
    by_workers = {w: [list(x) for x in launches] for w, launches in key}
    counts = sorted(by_workers)
    fitted = fit_throughput(counts, [1 / median_of(by_workers[w]) for w in counts], model)
    reps = np.column_stack(
        [
            median_replicates(by_workers[w], resamples=resamples, seed=seed + k)
            for k, w in enumerate(counts)
        ]  # fmt: skip
    )
    start = np.array(list(fitted.params.values()))
    params = refit_many(model, np.asarray(counts, float), 1 / reps, start)
    tail = (1 - level) / 2 * 100
    intervals = {
        name: tuple(float(v) for v in np.percentile(params[:, i], [tail, 100 - tail]))
        for i, name in enumerate(fitted.params)
    }
    return ScalingFit(model, fitted.params, intervals, fitted.counts, level, params)  # type: ignore[arg-type]


# -- the component model, for series measured at fewer worker counts than a fit needs ----
@dataclass(frozen=True)
class Components:
    """A fit's time at ``p`` workers built from its measured parts, per iteration:

    ``driver + compute * share(p) + rounds_per_iter * overhead(p)``

    where ``compute = t1 / n_iter - driver - rounds_per_iter * overhead(1)`` is what the
    1-worker fit spent on the workers, ``driver`` the 1-worker fit's time between rounds
    (it does not divide), ``overhead(p)`` the engine's round measured by ``dmlbench
    overhead`` at ``p`` workers, and ``share(p)`` the slowest worker's part of the compute:
    ``ceil(blocks / p) / blocks`` (whole blocks are dealt to workers: past ``blocks``
    workers some idle) times the ``straggler`` that block counts do not explain, measured
    at the largest worker count measured (max / mean worker compute per round, over its
    block-count part; at least 1). Unmeasured parts default to the plain model: no driver
    time, one round per iteration, even work.
    """

    n_iter: int
    overheads: Mapping[int, float]
    rounds_per_iter: float = 1.0
    driver: float = 0.0
    straggler: float = 1.0
    blocks: int | None = None

    def share(self, p: int) -> float:
        """The slowest of ``p`` workers' share of the compute."""
        even = 1 / p if not self.blocks else math.ceil(self.blocks / p) / self.blocks
        return self.straggler * even

    def compute(self, t1: float) -> float:
        """Seconds per iteration of worker compute in a 1-worker fit of ``t1`` seconds."""
        return t1 / self.n_iter - self.driver - self.rounds_per_iter * self.overheads[1]

    def time(self, t1: float, p: int) -> float:
        """The predicted fit time at ``p`` workers from a 1-worker fit of ``t1`` seconds."""
        per_iter = (
            self.driver
            + self.compute(t1) * self.share(p)
            + self.rounds_per_iter * self.overheads[p]
        )
        return per_iter * self.n_iter

    def speedup(self, t1: float, p: int) -> float:
        """The predicted speedup at ``p`` workers over the 1-worker fit of ``t1`` seconds."""
        return t1 / self.time(t1, p)

    @classmethod
    def measured(
        cls,
        n_iter: int,
        overheads: Mapping[int, float],
        one: RoundSplit | None = None,
        widest: tuple[int, RoundSplit] | None = None,
        blocks: int | None = None,
    ) -> Components:
        """The model from records' ``round_split`` (per iteration): ``one`` the 1-worker
        fit's (driver time, rounds per iteration), ``widest`` ``(p, split)`` at the
        largest measured worker count (its straggler); ``blocks`` the case's blocks."""
        straggler = 1.0
        if widest is not None and widest[1]["straggler"]:
            p, measured = widest[0], float(widest[1]["straggler"])
            dealt = math.ceil(blocks / p) * p / blocks if blocks else 1.0
            straggler = max(1.0, measured / dealt)
        return cls(
            n_iter,
            overheads,
            rounds_per_iter=float((one and one["rounds_per_iter"]) or 1.0),
            driver=max(0.0, float((one and one["driver_s"]) or 0.0)),
            straggler=straggler,
            blocks=blocks or None,
        )

    def describe(self, p: int) -> str:
        """The model's measured parts at ``p`` workers, for a report."""
        blocks = f"{self.blocks} blocks" if self.blocks else "blocks not recorded"
        return (
            f"{self.n_iter} iterations of {self.rounds_per_iter:.3g} round(s); round "
            f"{self.overheads[1] * 1e3:.2f} ms at 1 worker, {self.overheads[p] * 1e3:.2f} ms "
            f"at {p}; driver {self.driver * 1e3:.2f} ms/iteration; {blocks}, straggler "
            f"{self.straggler:.2f} (slowest worker's share {self.share(p):.3f})"
        )
