"""Linear and logistic regression, written once against the backend protocol.

Per round the workers compute partial sums over their blocks and one small value comes
back: for the normal equations, the moments of (X, y) (one round in all); for L-BFGS, the
loss and its gradient at the broadcast parameters (one round per evaluation). The driver
solves a d x d system or takes scipy's L-BFGS step.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

import numpy as np
import scipy.linalg
import scipy.optimize
from scipy.special import expit, logsumexp
from sklearn.base import ClassifierMixin, RegressorMixin

from dmlbench.algorithms.base import (
    DistributedEstimator,
    Trace,
    check_choice,
    check_number,
    fit_classes,
    free_if,
    resolve_backend,
    split_blocks,
    targets,
    targets_of,
)
from dmlbench.algorithms.kernels import (
    add_tuples,
    block_moments,
    linear_predict,
    logistic_loss_grad,
    merge_moments,
    squared_loss_grad,
)
from dmlbench.backends import Backend, Dataset


class LinearRegression(RegressorMixin, DistributedEstimator):
    """Least squares (``alpha=0``) or ridge regression on any backend.

    Parameters
    ----------
    alpha : float, default=0.0
        L2 penalty on the coefficients (not the intercept), as in scikit-learn's ``Ridge``:
        minimises ``||y - X w - b||² + alpha ||w||²``.
    solver : {"normal", "lbfgs"}, default="normal"
        "normal": one round of moments, then a d x d solve on the driver.
        "lbfgs": loss + gradient aggregated per evaluation, scipy's L-BFGS on the driver.
    max_iter : int, default=500
        L-BFGS iterations at most.
    tol : float, default=1e-10
        L-BFGS gradient tolerance (on the objective scaled by 1/n_samples).
    backend : str or started backend, default="local"

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_iter_ : int
    trace_ : list of dict
        One entry per iteration: iteration, seconds since the fit began, objective
        (mean squared error / 2 plus the penalty).
    """

    def __init__(self, *, alpha=0.0, solver="normal", max_iter=500, tol=1e-10, backend="local"):
        self.alpha = alpha
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.backend = backend

    def fit(self, X, y=None):
        """Fit on numpy ``X`` of shape (n_samples, n_features) and ``y`` of shape
        (n_samples,), or on a Dataset whose blocks carry y."""
        check_choice(self, "solver", ("normal", "lbfgs"))
        check_number(self, "alpha", 0.0)
        be, ds, owned = self._fit_data(X, y, supervised=True, y_numeric=True)
        try:
            trace = Trace()
            m = be.aggregate(ds, block_moments, merge_moments)
            if self.solver == "normal":
                self.coef_ = _solve_psd(m.cxx + self.alpha * np.eye(m.cxx.shape[0]), m.cxy)
                w = self.coef_
                self.intercept_ = float(m.mean_y - m.mean_x @ w)
                # The lbfgs objective at the solution, from the moments alone.
                ssr = m.cyy - 2 * m.cxy @ w + w @ m.cxx @ w
                trace.add((0.5 * ssr + 0.5 * self.alpha * w @ w) / m.n)
                self.n_iter_ = 1
            else:
                self._fit_lbfgs(be, ds, m.n, trace)
            self.trace_ = trace.rows
        finally:
            free_if(be, ds, owned)
        return self

    def _fit_lbfgs(self, be: Backend, ds: Dataset, n: int, trace: Trace) -> None:
        d = self.n_features_in_

        def fun(theta):
            w, b = theta[:d], theta[d]
            sse, grad_w, grad_b = be.aggregate(
                ds, squared_loss_grad, add_tuples, be.broadcast(w), b
            )
            f = (0.5 * sse + 0.5 * self.alpha * w @ w) / n
            g = np.append(grad_w + self.alpha * w, grad_b) / n
            return f, g

        res = scipy.optimize.minimize(
            fun,
            np.zeros(d + 1),
            jac=True,
            method="L-BFGS-B",
            callback=lambda intermediate_result: trace.add(intermediate_result.fun),
            options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 0.0},
        )
        self.coef_, self.intercept_ = res.x[:d], float(res.x[d])
        self.n_iter_ = int(res.nit)

    def pass_work(self, n_samples: int) -> dict[str, Any]:
        """One pass: the normal solver's moments (the centred Gram matrix X_cᵀ X_c and
        X_cᵀ y: (d + 1)(d + 2) / 2 products and sums per row, the Gram being symmetric),
        or one L-BFGS evaluation (``X @ w`` and ``Xᵀ r``: 4 d per row); both read X and y."""
        n, d = n_samples, self.n_features_in_
        if self.solver == "normal":
            return {"kernel": "block_moments", "bytes": 8 * n * (d + 1),
                    "flops": n * (d + 1) * (d + 2)}  # fmt: skip
        return {"kernel": "squared_loss_grad", "bytes": 8 * n * (d + 1), "flops": 4 * n * d}

    def predict(self, X):
        """Predictions of shape (n_samples,) for numpy X or a Dataset (on its workers)."""
        return self._per_block(X, linear_predict, "coef_", "intercept_")

    def score(self, X, y=None):
        """R² of the predictions (y from the Dataset's blocks when X is one)."""
        y_true = targets_of(self, X, y)
        resid = y_true - self.predict(X)
        ss_tot = ((y_true - y_true.mean()) ** 2).sum()
        return 1.0 - (resid @ resid) / ss_tot if ss_tot > 0 else 0.0


class LogisticRegression(ClassifierMixin, DistributedEstimator):
    """L2-penalised logistic regression, binary or multinomial, on any backend.

    Minimises ``C Σ log-loss + ½ ||W||²`` (intercepts unpenalised), scikit-learn's
    objective: binary problems use the sigmoid, more classes the softmax. Divided by
    ``n_samples``, it is :func:`logistic_objective` (the trace's ``objective``).

    Parameters
    ----------
    C : float, default=1.0
        Inverse of the regularisation strength.
    max_iter : int, default=500
    tol : float, default=1e-8
        L-BFGS gradient tolerance (on the objective scaled by 1/n_samples).
    backend : str or started backend, default="local"

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_ : int
    trace_ : list of dict
    """

    def __init__(self, *, C=1.0, max_iter=500, tol=1e-8, backend="local"):
        self.C = C
        self.max_iter = max_iter
        self.tol = tol
        self.backend = backend

    def fit(self, X, y=None):
        """Fit on numpy ``X`` (n_samples, n_features), ``y`` (n_samples,), or a Dataset."""
        check_number(self, "C", 0.0, strict=True)
        be, ds, owned = self._fit_data(X, y, supervised=True)
        try:
            y_all = targets(be, ds)
            k = len(fit_classes(self, y_all))
            n, d = y_all.shape[0], self.n_features_in_
            rows = 1 if k == 2 else k
            trace = Trace()
            classes = be.broadcast(self.classes_)

            def fun(theta):
                W = theta.reshape(rows, d + 1)
                loss, grad = be.aggregate(
                    ds, logistic_loss_grad, add_tuples, be.broadcast(W), classes
                )
                f, g = _penalised(W, loss, grad, self.C, n)
                return f, g.ravel()

            res = scipy.optimize.minimize(
                fun,
                np.zeros(rows * (d + 1)),
                jac=True,
                method="L-BFGS-B",
                callback=lambda intermediate_result: trace.add(intermediate_result.fun),
                options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 0.0},
            )
            W = res.x.reshape(rows, d + 1)
            self.coef_, self.intercept_ = W[:, :d].copy(), W[:, d].copy()
            self.n_iter_ = int(res.nit)
            self.trace_ = trace.rows
        finally:
            free_if(be, ds, owned)
        return self

    def pass_work(self, n_samples: int) -> dict[str, Any]:
        """One loss + gradient evaluation: ``X @ Wᵀ`` and ``Rᵀ X`` (4 d flops per row and
        weight row: one row for two classes, one per class otherwise); reads X and y."""
        n, d, rows = n_samples, self.n_features_in_, self.coef_.shape[0]
        return {"kernel": "logistic_loss_grad", "bytes": 8 * n * (d + 1),
                "flops": 4 * n * d * rows}  # fmt: skip

    def decision_function(self, X):
        """Scores of shape (n_samples,) for two classes, else (n_samples, n_classes)."""
        scores = self._per_block(X, linear_predict, "coef_", "intercept_")
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes)."""
        s = self.decision_function(X)
        if s.ndim == 1:
            p = expit(s)
            return np.column_stack([1 - p, p])
        return np.exp(s - logsumexp(s, axis=1, keepdims=True))

    def predict(self, X):
        """Class labels, shape (n_samples,)."""
        s = self.decision_function(X)
        idx = (s > 0).astype(int) if s.ndim == 1 else s.argmax(axis=1)
        return self.classes_[idx]

    def score(self, X, y=None):
        """Accuracy (y from the Dataset's blocks when X is one)."""
        return float((self.predict(X) == targets_of(self, X, y)).mean())


def logistic_objective(
    coef: Any,
    intercept: Any,
    classes: Any,
    C: float,
    X: Any,
    y: Any = None,
    *,
    backend: Any = "local",
) -> float:
    """:class:`LogisticRegression`'s objective, ``(C Σ log-loss + ½ ||W||²) / n_samples``
    (intercepts unpenalised), at any implementation's fitted parameters.

    The one function that states the objective: the fit minimises it (through
    :func:`_penalised`), and ours', scikit-learn's or a native library's coefficients are
    scored by it, so the value is comparable with the last ``objective`` of our trace.

    Parameters
    ----------
    coef : array-like of shape (n_features,), (1, n_features) or (n_classes, n_features)
    intercept : array-like of shape (1,) or (n_classes,), or a float
    classes : array-like of shape (n_classes,)
        The labels in the order of ``coef``'s rows (two classes: one row, for the second).
    C : float
        Inverse of the regularisation strength.
    X : ndarray of shape (n_samples, n_features), or a Dataset whose blocks carry y
        Numpy rows are summed over the same contiguous blocks as a fit's (in block order);
        a resident Dataset on ``backend`` through ``aggregate``.
    y : ndarray of shape (n_samples,), optional
        The labels of numpy ``X``.
    backend : str or started backend, default="local"
        Where a Dataset ``X`` lives.

    Returns
    -------
    float
    """
    coef = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    W = np.column_stack([coef, np.ravel(np.asarray(intercept, dtype=np.float64))])
    classes = np.asarray(classes)
    if isinstance(X, Dataset):
        be = resolve_backend(backend, "logistic_objective")
        loss, grad = be.aggregate(
            X, logistic_loss_grad, add_tuples, be.broadcast(W), be.broadcast(classes)
        )
        n = X.n_samples
    else:
        blocks = split_blocks(np.asarray(X), np.asarray(y))
        loss, grad = reduce(add_tuples, (logistic_loss_grad(b, W, classes) for b in blocks))
        n = np.asarray(X).shape[0]
    return float(_penalised(W, loss, grad, C, n)[0])


def _penalised(
    W: np.ndarray, loss: float, grad: np.ndarray, C: float, n: int
) -> tuple[float, np.ndarray]:
    """Ours' objective and its gradient from the summed log-loss and its gradient.

    Parameters
    ----------
    W : ndarray of shape (n_rows, n_features + 1)
        Coefficients with the intercepts as the last column (one row for two classes).
    loss : float
        Σ log-loss over the rows, at ``W``.
    grad : ndarray of shape (n_rows, n_features + 1)
        Its gradient with respect to ``W``.
    C : float
    n : int
        The number of rows.

    Returns
    -------
    objective : float
        ``(C loss + ½ ||W[:, :-1]||²) / n``.
    gradient : ndarray of shape (n_rows, n_features + 1)
    """
    d = W.shape[1] - 1
    f = (C * loss + 0.5 * (W[:, :d] ** 2).sum()) / n
    g = C * grad
    g[:, :d] += W[:, :d]
    return f, g / n


def _solve_psd(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve A x = b for symmetric positive (semi)definite A; least squares if singular."""
    try:
        return scipy.linalg.solve(A, b, assume_a="pos")
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        return scipy.linalg.lstsq(A, b)[0]
