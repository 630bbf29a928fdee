"""The registry of native comparators: every entry loads and has the interface, every
(algorithm, backend) pair has a comparator or a reason, unknown pairs are refused loudly,
and comparators reach engines through ``be.native()`` only."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from dmlbench.backends import backend_names
from dmlbench.suites.define.spec import Case
from dmlbench.suites.define.workloads import ALGORITHMS
from dmlbench.suites.natives.comparator import (
    NATIVES,
    NO_NATIVE,
    NO_NATIVE_LIBRARY,
    Comparator,
    NativeUnsupported,
    comparator,
    no_native_reason,
)
from dmlbench.suites.run.runner import skip_reason

SUITES = Path(__file__).resolve().parents[2] / "suites"


def native_case(algorithm: str, backend: str, dataset: str = "blobs", **params) -> Case:
    return Case("t", algorithm, dataset, params, backend, 1, "native", 1000, 4, 1, 60.0, 0)


@pytest.mark.parametrize("pair", sorted(NATIVES), ids="/".join)
def test_every_entry_loads_and_has_the_interface(pair):
    native = comparator(*pair)
    assert isinstance(native, Comparator)
    assert isinstance(native.library, str) and native.library
    for method in ("skip_reason", "prepare", "fit", "release"):
        assert callable(getattr(native, method)), method
    assert comparator(*pair) is not native  # a fresh instance per case
    assert native.skip_reason(native_case(*pair)) is None


def test_every_pair_has_a_comparator_or_a_reason():
    for algorithm in ALGORITHMS:
        for backend in backend_names():
            pair = (algorithm, backend)
            reasons = pair in NO_NATIVE or backend in NO_NATIVE_LIBRARY
            assert (pair in NATIVES) != reasons, pair  # exactly one of the two
    assert set(NATIVES) | set(NO_NATIVE) <= {(a, b) for a in ALGORITHMS for b in backend_names()}


def test_every_scikit_learn_reference_is_a_local_comparator():
    for name, spec in ALGORITHMS.items():
        if spec.reference is not None:
            assert NATIVES[(name, "local")].endswith(":BaselineComparator"), name


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        (
            ("cnn", "local"),
            r"no native comparator for algorithm 'cnn' on backend 'local' \(scikit-learn has no "
            r"convolutional network\); valid pairs: \[\('als', 'spark'\),",
        ),
        (("svm", "dask"), r"algorithm 'svm' on backend 'dask' \(no native svm comparator for"),
        (("kmeans", "ray"), r"\(Ray ships no ML algorithms of its own"),
    ],
)
def test_an_unknown_pair_is_refused_with_the_valid_ones(pair, message):
    with pytest.raises(ValueError, match=message):
        comparator(*pair)


def test_the_runner_skips_with_the_registry_reason():
    assert skip_reason(native_case("cnn", "local", "images")) == (
        "scikit-learn has no convolutional network"
    )
    assert skip_reason(native_case("kmeans", "local")) is None
    assert no_native_reason("als", "dask") == "dask-ml has no ALS or other recommender"


def test_comparators_reach_engines_through_the_public_handle_only():
    """Adapters' private handles (``_client``, ``_sc``, ``_spark``) are theirs alone."""
    sources = sorted(p for p in (SUITES / "natives").glob("*.py") if p.name != "__init__.py")
    assert len(sources) == 4, sources
    for path in sources:
        found = re.findall(r"\._(?:client|sc|spark)\b", path.read_text())
        assert not found, f"{path.name} uses {found}; use be.native()"


def test_the_registry_imports_no_engine():
    code = (
        "import sys\n"
        "from dmlbench.suites.natives.comparator import NATIVES, comparator\n"
        "for pair in NATIVES: comparator(*pair)\n"
        "print(sorted(m for m in ('dask', 'distributed', 'dask_ml', 'pyspark', 'ray') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_dask_ml_logistic_on_three_classes_is_skipped_with_its_reason(backend):
    """dask-ml's LogisticRegression is binary only: the comparator finds out from the rows
    and the runner records the case as skipped, with that reason."""
    if backend.name != "dask":
        pytest.skip("a dask-ml comparator: runs on the dask backend only")
    pytest.importorskip("dask_ml")
    from dmlbench.suites.run.resident import resident_data
    from dmlbench.suites.run.runner import _CaseRun, _Engine, _next_launch, _Slot

    case = native_case("logistic_regression", "dask", "iris")
    ds, _, data = resident_data(case, backend, {})
    native = comparator("logistic_regression", "dask")
    try:
        with pytest.raises(NativeUnsupported, match="binary only; this dataset has 3 classes"):
            native.prepare(case, ALGORITHMS["logistic_regression"], data, backend, ds)
    finally:
        native.release()
        backend.free(ds)
    engine = _Engine("dask", backend.n_workers, {})
    engine.be = backend  # the session's engine: no second cluster
    run = _CaseRun(case, [])
    _next_launch(run, engine, 120.0, _Slot("session", 0, [case]))
    assert run.result == {
        "outcome": "skipped",
        "reason": "dask-ml LogisticRegression is binary only; this dataset has 3 classes",
    }
