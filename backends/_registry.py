"""Lazy table of backends: nothing heavy is imported until a backend is asked for."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from dmlbench.backends._base import BaseBackend
from dmlbench.backends._protocol import Backend, BackendUnavailable

# name -> (adapter module, class, the extra that installs it, modules the engine needs)
_BACKENDS: dict[str, tuple[str, str, str | None, tuple[str, ...]]] = {
    "local": ("dmlbench.backends._local", "LocalBackend", None, ()),
    "dask": ("dmlbench.backends._dask", "DaskBackend", "dask", ("dask", "distributed")),
    "spark": ("dmlbench.backends._spark", "SparkBackend", "spark", ("pyspark",)),
    "ray": ("dmlbench.backends._ray", "RayBackend", "ray", ("ray",)),
}


def backend_names() -> list[str]:
    """Every backend dmlbench knows, installed or not."""
    return list(_BACKENDS)


def missing_modules(name: str) -> list[str]:
    """The engine modules a backend needs that are not installed here."""
    return [m for m in _BACKENDS[name][3] if importlib.util.find_spec(m) is None]


def available_backends() -> list[str]:
    """Backends whose engine is installed (Spark's Java is checked only at start)."""
    return [name for name in _BACKENDS if not missing_modules(name)]


def check_system(name: str) -> str:
    """The backend's own check of this machine (Spark: Java 17/21); raises if unusable."""
    return _adapter(name).check_system()


def max_workers(name: str) -> int | None:
    """The most workers backend ``name`` can have (``None``: no limit of its own)."""
    return _adapter(name).max_workers


def patterns(name: str) -> tuple[str, ...]:
    """The ways backend ``name`` can run the verbs (its ``pattern=`` values, the default
    first); empty when it has only one."""
    return _adapter(name).patterns


def cluster_endpoints(name: str, address: str) -> tuple[list[tuple[str, int]], str]:
    """The sockets an existing cluster's ``address`` names for backend ``name``, and how
    to start such a cluster (see ``BaseBackend.cluster_endpoints``)."""
    adapter = _adapter(name)
    return adapter.cluster_endpoints(address), adapter.cluster_hint


def _check_name(name: str) -> None:
    if name not in _BACKENDS:
        raise ValueError(f"unrecognized backend {name!r} must be one of: {list(_BACKENDS)}")


def _adapter(name: str) -> type[BaseBackend]:
    """The adapter class of backend ``name`` (importing its module, not its engine)."""
    _check_name(name)
    module, cls, _, _ = _BACKENDS[name]
    adapter: type[BaseBackend] = getattr(importlib.import_module(module), cls)
    return adapter


def get_backend(name: str, **options: Any) -> Backend:
    """A backend adapter, not started yet: use it as a context manager, or call ``.start()``.

    Parameters
    ----------
    name : {"local", "dask", "spark", "ray"}
    **options
        ``n_workers`` for all; ``address`` to attach to an existing cluster (Dask
        scheduler ``tcp://...``, Spark master ``spark://...``, Ray ``ray://...`` or
        ``auto``); adapter-specific options are documented on each adapter class.

    Returns
    -------
    Backend
        The adapter (a :class:`~dmlbench.backends._base.BaseBackend`), not started.

    Raises
    ------
    ValueError
        ``name`` is not a known backend (or an option is invalid).
    BackendUnavailable
        The backend's engine is not installed.
    """
    _check_name(name)
    extra = _BACKENDS[name][2]
    missing = missing_modules(name)
    if missing:
        raise BackendUnavailable(
            f"the {name!r} backend needs {', '.join(missing)}, which is not installed: "
            f"pip install 'dmlbench[{extra}]'"
        )
    return _adapter(name)(**options)
