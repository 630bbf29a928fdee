"""Wrong names, missing engines, missing Java, bad arguments: each says what and how to fix."""

import operator

import numpy as np
import pytest

import dmlbench.backends.registry as registry
from dmlbench.backends import (
    BackendError,
    BackendUnavailable,
    Block,
    available_backends,
    get_backend,
    max_workers,
)
from dmlbench.backends.conformance import check_aggregate_matches_numpy, indexed_block


def test_unknown_backend_lists_the_valid_names():
    with pytest.raises(
        ValueError,
        match=r"unrecognized backend 'daks' must be one of: \['local', 'dask', 'spark', 'ray'\]",
    ):
        get_backend("daks")


@pytest.mark.parametrize(
    ("name", "module", "extra"),
    [
        ("dask", "distributed", "dask"),
        ("spark", "pyspark", "spark"),
        ("ray", "ray", "ray"),
    ],
)
def test_missing_engine_names_the_extra(monkeypatch, name, module, extra):
    real = registry.importlib.util.find_spec
    monkeypatch.setattr(
        registry.importlib.util, "find_spec", lambda m, *a: None if m == module else real(m, *a)
    )
    with pytest.raises(BackendUnavailable, match=rf"pip install 'dmlbench\[{extra}\]'"):
        get_backend(name)
    assert name not in available_backends()


def test_spark_without_java_says_so(monkeypatch, tmp_path):
    pytest.importorskip("pyspark", reason="enabled by pip install 'dmlbench[spark]'")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    be = get_backend("spark", n_workers=1)
    with pytest.raises(
        BackendUnavailable, match=r"Spark needs Java 17 or 21.*apt-get install openjdk-17"
    ):
        be.start()


def test_spark_with_old_java_says_so(monkeypatch, tmp_path):
    pytest.importorskip("pyspark", reason="enabled by pip install 'dmlbench[spark]'")
    fake = tmp_path / "bin" / "java"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n")
    fake.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(BackendUnavailable, match=r"Java 17 or 21.*11\.0\.2"):
        get_backend("spark").start()


def test_spark_connect_is_refused():
    pytest.importorskip("pyspark", reason="enabled by pip install 'dmlbench[spark]'")
    with pytest.raises(ValueError, match=r"Spark Connect .* has no RDDs"):
        get_backend("spark", address="sc://127.0.0.1:15002")


@pytest.mark.parametrize(
    ("value", "error"),
    [(0, ValueError), (-2, ValueError), (1.5, TypeError), ("2", TypeError), (True, TypeError)],
)
def test_n_workers_must_be_a_positive_int(value, error):
    with pytest.raises(
        error, match=r"The 'n_workers' parameter of get_backend\('local'\) must be an int >= 1"
    ):
        get_backend("local", n_workers=value)


def test_local_has_one_worker():
    assert max_workers("local") == 1 and max_workers("dask") is None
    with pytest.raises(ValueError, match=r"get_backend\('local'\) must be at most 1. Got 2"):
        get_backend("local", n_workers=2)
    with pytest.raises(ValueError, match=r"unrecognized backend 'x'"):
        max_workers("x")


def test_verbs_need_a_started_backend():
    be = get_backend("local")
    with pytest.raises(RuntimeError, match=r"not started: use `with get_backend"):
        be.generate(indexed_block, 2)


def test_bad_arguments_to_the_verbs():
    with get_backend("local") as be:
        with pytest.raises(
            ValueError, match=r"'n_blocks' parameter of generate must be an int >= 1. Got 0"
        ):
            be.generate(indexed_block, 0)
        with pytest.raises(TypeError, match=r"'make_block' argument of generate must be callable"):
            be.generate("not a function", 2)
        with pytest.raises(
            TypeError,
            match=r"from_blocks expects backends.Block objects. Got ndarray at position 1",
        ):
            be.from_blocks([Block(np.zeros((2, 2))), np.zeros((2, 2))])
        with pytest.raises(ValueError, match=r"from_blocks needs at least one Block"):
            be.from_blocks([])
        with pytest.raises(TypeError, match=r"expected a Dataset of this backend. Got ndarray"):
            be.aggregate(np.zeros(3), len, operator.add)
        ds = be.generate(indexed_block, 2)
        with pytest.raises(TypeError, match=r"'combine' argument of aggregate must be callable"):
            be.aggregate(ds, len, None)


def test_a_dataset_of_another_backend_is_refused():
    with get_backend("local") as a, get_backend("local") as b:
        ds = a.generate(indexed_block, 2)
        with pytest.raises(ValueError, match=r"not held by this 'local' backend"):
            b.collect(ds)


def test_make_block_must_return_a_block():
    with get_backend("local") as be:
        with pytest.raises(
            TypeError, match=r"must return a backends.Block for block 0. Got ndarray"
        ):
            be.generate(np.zeros, 2)


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        ([[1.0]], None, r"Block.X must be a numpy ndarray. Got list"),
        (
            np.zeros((3, 2)),
            np.zeros(2),
            r"same number of rows. Got X of shape \(3, 2\) and y of shape \(2,\)",
        ),
        (np.zeros((3, 2)), [1, 2, 3], r"Block.y must be a numpy ndarray or None. Got list"),
    ],
)
def test_block_validates_its_arrays(X, y, match):
    with pytest.raises((TypeError, ValueError), match=match):
        Block(X, y)


def test_a_second_runtime_in_one_process_is_refused_and_harmless(backend):
    """Spark and Ray allow one runtime per process: a second backend must neither start
    nor, while failing, stop the one in use."""
    if backend.name not in ("spark", "ray"):
        pytest.skip("only Spark and Ray have one runtime per process")
    with pytest.raises(BackendError, match=r"already (active|initialised) in this process"):
        get_backend(backend.name).start()
    check_aggregate_matches_numpy(backend)
