"""The Backend Protocol is the contract: a type checker holds the code to it, and the
algorithms accept any object that satisfies it (not only dmlbench's own adapters)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest

from dmlbench.algorithms import KMeans, LinearRegression
from dmlbench.backends import (
    Backend,
    Block,
    Dataset,
    check_int,
    get_backend,
    is_int_at_least,
)
from dmlbench.backends.rounds import RoundLog

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")

X = np.random.default_rng(0).standard_normal((60, 3))
y = X @ np.array([1.0, -2.0, 0.5]) + 0.25


def test_type_checker_is_clean():
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed: enabled by pip install 'dmlbench[test]'")
    proc = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "typecheck.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, f"mypy found errors:\n{proc.stdout}\n{proc.stderr}"


class Delegating:
    """A backend by the Protocol alone: not a BaseBackend, every verb handed to ``inner``."""

    name = "delegating"

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.n_workers = inner.n_workers
        self.calls: list[str] = []

    @property
    def started(self) -> bool:
        return self.inner.started

    @property
    def rebuilt_blocks(self) -> int:
        return self.inner.rebuilt_blocks

    def start(self) -> Delegating:
        self.inner.start()
        self.n_workers = self.inner.n_workers
        return self

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> Delegating:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def engine_alive(self) -> bool:
        return self.inner.engine_alive()

    def generate(self, make_block: Callable[[int], Block], n_blocks: int) -> Dataset:
        self.calls.append("generate")
        return self.inner.generate(make_block, n_blocks)

    def from_blocks(self, blocks: Sequence[Block]) -> Dataset:
        self.calls.append("from_blocks")
        return self.inner.from_blocks(blocks)

    def map_blocks(self, ds: Dataset, fn: Callable[..., Block], *args: Any) -> Dataset:
        self.calls.append("map_blocks")
        return self.inner.map_blocks(ds, fn, *args)

    def aggregate(
        self, ds: Dataset, fn: Callable[..., T], combine: Callable[[T, T], T], *args: Any
    ) -> T:
        self.calls.append("aggregate")
        return self.inner.aggregate(ds, fn, combine, *args)

    def broadcast(self, value: Any) -> Any:
        return self.inner.broadcast(value)

    def collect(self, ds: Dataset) -> list[Block]:
        return self.inner.collect(ds)

    def free(self, ds: Dataset) -> None:
        self.calls.append("free")
        self.inner.free(ds)

    def block_hosts(self, ds: Dataset) -> tuple[str, ...]:
        return self.inner.block_hosts(ds)

    def info(self) -> dict[str, Any]:
        return {**self.inner.info(), "backend": self.name}

    def cancel(self) -> None:
        self.inner.cancel()

    def native(self) -> Any:
        return self.inner.native()

    def record_rounds(self) -> AbstractContextManager[RoundLog]:
        return self.inner.record_rounds()


def test_adapters_satisfy_the_protocol():
    be = get_backend("local")
    # Adapters subclass the Protocol explicitly, so the type checker holds them to it.
    assert isinstance(be, Backend) and Backend in type(be).__mro__
    assert be.started is False
    with be:
        assert be.started is True and be.n_workers == 1
    assert be.started is False


def test_algorithms_run_on_any_object_that_satisfies_the_protocol():
    with get_backend("local") as inner, Delegating(get_backend("local")) as wrapped:
        assert isinstance(wrapped, Backend) and Backend not in type(wrapped).__mro__
        want = LinearRegression(backend=inner).fit(X, y)
        got = LinearRegression(backend=wrapped).fit(X, y)
        np.testing.assert_array_equal(got.coef_, want.coef_)
        assert got.intercept_ == want.intercept_
        assert {"from_blocks", "aggregate", "free"} <= set(wrapped.calls)

        blocks = [Block(X[:30]), Block(X[30:])]
        ds, ref_ds = wrapped.from_blocks(blocks), inner.from_blocks(blocks)
        km = KMeans(2, random_state=0, backend=wrapped).fit(ds)
        ref = KMeans(2, random_state=0, backend=inner).fit(ref_ds)
        np.testing.assert_array_equal(km.cluster_centers_, ref.cluster_centers_)
        np.testing.assert_array_equal(km.predict(ds), ref.predict(ref_ds))
        wrapped.free(ds)


def test_an_unstarted_backend_gets_a_clear_error():
    wrapped = Delegating(get_backend("local"))
    with pytest.raises(
        RuntimeError,
        match=r"The 'backend' parameter of LinearRegression must be a started backend. Got "
        r"<.*Delegating.*>, which is not started: use `with get_backend\(...\) as be:` or call "
        r"\.start\(\) first",
    ):
        LinearRegression(backend=wrapped).fit(X, y)


def test_an_object_missing_verbs_is_not_a_backend():
    class Partial:
        name = "partial"
        n_workers = 1
        started = True

        def aggregate(self, *args: Any) -> None: ...

    assert not isinstance(Partial(), Backend)
    with pytest.raises(
        TypeError,
        match=r"The 'backend' parameter of KMeans must be a started backend \(an object that "
        r"satisfies dmlbench.backends.Backend\) or one of \[.*\]. Got <.*Partial.*> of type Partial",
    ):
        KMeans(2, backend=Partial()).fit(X)


@pytest.mark.parametrize(
    ("value", "low", "ok"),
    [
        (1, 1, True),
        (np.int64(3), 1, True),
        (0, 1, False),
        (0, 0, True),
        (-1, 0, False),
        (2.0, 1, False),
        ("2", 1, False),
        (True, 1, False),
        (None, 1, False),
    ],
)
def test_is_int_at_least(value, low, ok):
    assert is_int_at_least(value, low) is ok


def test_check_int_messages():
    assert check_int(np.int64(4), "n_blocks", "generate") == 4
    assert type(check_int(np.int64(4), "n_blocks", "generate")) is int
    assert check_int(0, "repeats", "suite", low=0) == 0
    with pytest.raises(
        ValueError,
        match=r"^The 'n_workers' parameter of get_backend\('dask'\) must be an int >= 1. Got 0.$",
    ):
        check_int(0, "n_workers", "get_backend('dask')")
    with pytest.raises(
        TypeError,
        match=r"^The 'max_iter' parameter of KMeans must be an int >= 1. Got 2.5 of type float instead.$",
    ):
        check_int(2.5, "max_iter", "KMeans")
    with pytest.raises(TypeError, match=r"Got True of type bool"):
        check_int(True, "max_iter", "KMeans")
    with pytest.raises(ValueError, match=r"must be an int >= 2. Got 1."):
        check_int(1, "n_clusters", "KMeans", low=2)


def test_algorithms_need_only_the_protocol():
    """Algorithms type their backends as the Protocol and never reach into an adapter."""
    for path in sorted((ROOT / "algorithms").glob("*.py")):
        source = path.read_text()
        assert "BaseBackend" not in source and "backends._base" not in source, path.name
        assert "_require_started" not in source, path.name
