"""The reference answer of a case: what every implementation's metric is checked against.

scikit-learn on the same rows where it has the algorithm (the spec's ``reference``) and
the rows fit in memory (the spec's ``reference_max_rows``); else dmlbench on the ``local``
backend, from the same blocks (or rebuilt from the same recipe). Also the secondary
quality numbers of a fitted model.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from dmlbench.backends import get_backend
from dmlbench.suites.define.dataset_spec import HELD_OUT_BLOCKS
from dmlbench.suites.define.datasets import shifted_block
from dmlbench.suites.define.extras import sample_rows
from dmlbench.suites.define.spec import Case
from dmlbench.suites.natives.comparator import block_source


def extras_on(algo, model, be, ds, test=None) -> dict[str, float]:
    """:func:`extra_metrics` of a model fitted on the resident Dataset ``ds``, and its
    held-out metric on the Dataset ``test`` (``held_out_<metric>``) when there is one."""
    from dmlbench.algorithms.base import targets
    from dmlbench.algorithms.kernels import head_rows, vstack

    extras = algo.extras  # the ExtrasPolicy says what its numbers need
    y = targets(be, ds) if extras and extras.need_targets else None
    per = sample_rows(ds.n_blocks)
    sample = be.aggregate(ds, head_rows, vstack, per) if extras and extras.need_sample else None
    out = algo.extra_metrics(model, ds, y, sample)
    if test is not None:
        out.update(algo.held_out_score(model, test))
    return out


def driver_rows(case: Case, data, be, ds) -> list:
    """The case's blocks on the driver, for the reference: generated data rebuilt here from
    its recipe (bit-identical, and nothing funnels through an engine whose driver was sized
    to cache the rows, not to collect them: 4M rows collected through Spark killed its JVM),
    real data (small) collected from the resident dataset."""
    if data.loader:
        return be.collect(ds)
    make, n_blocks = block_source(case, data)
    return [make(i) for i in range(n_blocks)]


def reference_metric(
    case: Case, algo, data, be, ds, test=None, start=None
) -> tuple[float, str, dict[str, float]]:
    """(metric, source, extra metrics) of the reference implementation on the same rows.

    scikit-learn where it has the algorithm and the rows fit in memory; else dmlbench on
    the local backend, from the same blocks (or regenerated from the same recipe). The
    extras include the metric on the held-out Dataset ``test`` when there is one. It runs
    with the case's seed and from the case's shared ``start`` (a
    :class:`~dmlbench.suites.define.starts.Start`, always: a case's own ``init`` is ours'
    alone), so the check can be as tight as the problem is the same.
    """
    small = ds.n_samples <= algo.reference_max_rows
    params = algo.run_params(case, start)
    ref = algo.make_reference(params)
    if small and ref is not None:
        blocks = driver_rows(case, data, be, ds)
        X = np.vstack([b.X for b in blocks])
        y = None if blocks[0].y is None else np.concatenate([b.y for b in blocks])
        algo.fit(ref, X, y)
        value = algo.score(ref, X, y)
        sample = np.vstack([b.X[: sample_rows(len(blocks))] for b in blocks])
        extras = algo.extra_metrics(ref, X, y, sample)
        if test is not None:
            held = be.collect(test)
            X_test, y_test = np.vstack([b.X for b in held]), np.concatenate([b.y for b in held])
            extras.update(algo.held_out_score(ref, X_test, y_test))
        return value, f"scikit-learn {type(ref).__name__}", extras
    with get_backend("local") as local:
        local_test = None
        if small:
            local_ds = local.from_blocks(driver_rows(case, data, be, ds))
            local_test = None if test is None else local.from_blocks(be.collect(test))
        else:
            maker = data.blocks_maker(case.n_samples, case.n_features, case.seed)
            local_ds = local.generate(maker, data.n_blocks)
            if test is not None:
                shifted = partial(shifted_block, make=maker, offset=data.n_blocks)
                local_test = local.generate(shifted, HELD_OUT_BLOCKS)
        est = algo.make(params, local, data).fit(local_ds)
        value = algo.score(est, local_ds)
        extras = extras_on(algo, est, local, local_ds, local_test)
        return value, "dmlbench on the local backend", extras
