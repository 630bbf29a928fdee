"""dask-ml KMeans reports a sum of (unsquared) distances as ``inertia_``.

Standalone reproducer (dask-ml, numpy, scikit-learn): when the Lloyd loop ends with its
last centre shift above 1e-7 (here: ``max_iter`` reached), ``_kmeans_single_lloyd``
recomputes the distances without ``squared=True`` and sums them. Prints the reported
inertia, the inertia recomputed from the fitted centres (sum of squared distances, as
scikit-learn defines it), and the sum of unsquared distances; exits 1 when the reported
and recomputed inertia disagree.

    python dask_ml_kmeans_inertia_repro.py
"""

import sys

import dask.array as da
import numpy as np
from dask.distributed import Client, LocalCluster
from sklearn.datasets import make_blobs
from sklearn.metrics import pairwise_distances


def main() -> int:
    import dask_ml
    from dask_ml.cluster import KMeans

    X, _ = make_blobs(n_samples=20_000, n_features=20, centers=8, cluster_std=8.0, random_state=0)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False) as cluster:
        with Client(cluster):
            km = KMeans(n_clusters=8, max_iter=5, tol=0.0, random_state=0)
            km.fit(da.from_array(X, chunks=5_000))
    d2 = pairwise_distances(X, km.cluster_centers_, metric="sqeuclidean").min(axis=1)
    recomputed = float(d2.sum())
    unsquared = float(np.sqrt(d2).sum())
    print(f"dask-ml {dask_ml.__version__}, n_iter_={km.n_iter_}")
    print(f"reported inertia_                        {km.inertia_:.6f}")
    print(f"recomputed: sum of squared distances     {recomputed:.6f}")
    print(f"sum of unsquared distances               {unsquared:.6f}")
    print(
        f"reported / sqrt(n * recomputed)          {km.inertia_ / np.sqrt(len(X) * recomputed):.6f}"
    )
    if not np.isclose(km.inertia_, recomputed, rtol=1e-6):
        print("FAIL: inertia_ is not the sum of squared distances to the fitted centres")
        return 1
    print("ok: inertia_ matches")
    return 0


if __name__ == "__main__":
    sys.exit(main())
