"""scikit-learn's own estimator checks, on the local backend.

Every check passes; scikit-learn itself skips its 4 array-API checks unless
SCIPY_ARRAY_API=1 is set (our estimators take numpy only).
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from dmlbench.algorithms import KMeans, LinearRegression, LogisticRegression, MLPClassifier


@parametrize_with_checks(
    [
        LinearRegression(),
        LinearRegression(solver="lbfgs", alpha=1.0),
        LogisticRegression(),
        KMeans(n_clusters=3, random_state=0),
        MLPClassifier(hidden_layer_sizes=(16,), max_iter=100, random_state=0),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
