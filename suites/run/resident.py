"""A case's rows made resident on a backend: generated (or shipped) on the workers,
preprocessed there when the dataset asks for it, and its held-out rows beside them.

The runner calls :func:`resident_data` once per case, before any implementation's
``prepare``; the spec it returns rebuilds exactly the resident blocks, so native libraries
and the reference see the rows ours trains on.
"""

from __future__ import annotations

import time
from contextlib import suppress
from dataclasses import replace
from functools import partial
from typing import Any

from dmlbench.suites.define.dataset_spec import HELD_OUT_BLOCKS
from dmlbench.suites.define.datasets import shifted_block
from dmlbench.suites.define.spec import Case
from dmlbench.suites.define.workloads import DATASETS


def resident_data(case: Case, be, phases: dict[str, Any]):
    """(training Dataset, held-out Dataset or None, DatasetSpec) of ``case`` on ``be``.

    Generated data is made on the workers (real data shipped); raw tables are preprocessed
    there; ``phases`` gets the generation and preprocessing times. The returned spec makes
    exactly the resident (prepared) blocks, for native libraries and the reference.
    """
    data = DATASETS[case.dataset]
    t0 = time.perf_counter()
    if data.loader:
        from dmlbench.algorithms.base import split_blocks

        (X, y), (X_test, y_test) = data.split()
        ds = be.from_blocks(split_blocks(X, y))
    else:
        ds = be.generate(
            data.blocks_maker(case.n_samples, case.n_features, case.seed), data.n_blocks
        )
    phases["generate_s"] = time.perf_counter() - t0
    if data.preprocess:
        ds, data = _prepared(be, ds, data, phases)
    test = None
    if data.loader:
        test = be.from_blocks(split_blocks(X_test, y_test))
    elif data.has_held_out:  # generated after preprocessing: transformed with its fit
        maker = data.blocks_maker(case.n_samples, case.n_features, case.seed)
        shifted = partial(shifted_block, make=maker, offset=data.n_blocks)
        test = be.generate(shifted, HELD_OUT_BLOCKS)
    return ds, test, data


def _prepared(be, raw, data, phases: dict[str, Any]):
    """Preprocess the raw resident Dataset on the workers (timed as its own phase).

    Returns the prepared Dataset, and a DatasetSpec whose blocks are the prepared ones
    (rebuilt from the raw recipe and the fitted parameters), so native libraries and the
    reference see exactly the rows ours trains on.
    """
    from dmlbench.algorithms.table_kernels import prepared_block

    t0 = time.perf_counter()
    try:
        ds, params = data.preprocess(be, raw)
    finally:
        with suppress(Exception):
            be.free(raw)
    phases["preprocess_s"] = time.perf_counter() - t0
    maker = partial(prepared_block, raw=data.make_block, params=params)
    return ds, replace(data, make_block=maker, preprocess=None)
