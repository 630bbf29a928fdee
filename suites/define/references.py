"""scikit-learn solving the same problem as ours: the references that check answers and
the one-core baselines that are timed.

Each factory is ``params -> estimator``, called by :class:`AlgorithmSpec` with ours'
parameters for the case (``AlgorithmSpec.ours_params``: the case's own, else our
estimator's defaults from its ``get_params()``), so no default of ours is typed here: when
ours' changes, scikit-learn follows.
"""

from __future__ import annotations

from typing import Any


def sklearn_linear(params: dict[str, Any]) -> Any:
    """Least squares; Ridge with the same ``alpha`` when ours is penalised."""
    from sklearn.linear_model import LinearRegression, Ridge

    return Ridge(alpha=params["alpha"]) if params["alpha"] else LinearRegression()


def sklearn_logistic(params: dict[str, Any]) -> Any:
    """The same objective (``C``), solved to precision: the reference, not a rival."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=params["C"], max_iter=5000, tol=1e-10)


def sklearn_logistic_baseline(params: dict[str, Any]) -> Any:
    """scikit-learn's ``LogisticRegression`` stopped by ours' rule: the timed rival.

    scikit-learn 1.9 (``_logistic.py``, lbfgs path; ``_linear_loss.py``) minimises
    ``mean(log-loss) + ||w||² / (2 C n)`` (``l2_reg_strength = 1 / (C sw_sum)``), i.e.
    ours' ``(C Σ log-loss + ½ ||w||²) / n`` divided by ``C``, with scipy's L-BFGS-B and
    ``gtol=tol`` (the max-norm of that gradient), ``ftol=64·eps``, ``maxls=50``,
    ``maxiter=max_iter``. Ours stops at ``||∇ ours||∞ <= tol`` (``ftol=0``), so the same
    rule is ``tol / C`` in scikit-learn's units (equal at ``C=1``), and the same
    ``max_iter`` (both count L-BFGS iterations). Left different, and recorded: its
    ``ftol=64·eps`` (ours 0) and ``maxls=50`` (ours 20).
    """
    from sklearn.linear_model import LogisticRegression

    C = params["C"]
    return LogisticRegression(C=C, tol=params["tol"] / C, max_iter=params["max_iter"])


def sklearn_kmeans(params: dict[str, Any]) -> Any:
    """One start with ours' ``n_clusters``, ``max_iter``, ``tol`` and ``random_state``:
    the case's shared ``init`` centres when the runner gives them, else k-means++ (ours'
    named inits, k-means‖ by default, are not scikit-learn's).

    scikit-learn's ``tol`` has ours' meaning (relative to the mean column variance, on the
    sum of squared centre shifts) and its Lloyd loop stops where ours does, so from the same
    centres both run the same iterations.
    """
    from sklearn.cluster import KMeans

    init = "k-means++" if isinstance(params["init"], str) else params["init"]
    return KMeans(
        params["n_clusters"], init=init, n_init=1, max_iter=params["max_iter"],
        tol=params["tol"], random_state=params["random_state"],
    )  # fmt: skip
