"""The backends dmlbench knows: one entry each, a lazy table of import strings.

A new backend is its adapter module plus one entry in :data:`BACKENDS`. Everything outside
the adapter that names backends reads the entry: :func:`get_backend` and the install hints
(the extra), the ``dmlbench run`` flags that attach to an existing cluster or pass engine
settings (``--dask-scheduler``, ``--spark-master``, ``--ray-address``, ``--spark-conf``),
the engine packages whose versions each result records, and the test fixtures.
``pyproject.toml``'s extras and ``tox.ini``'s factors cannot be generated from it:
``tests/test_package.py`` checks that they agree with it.

Nothing heavy is imported until a backend is asked for: the table holds import strings,
and an engine is imported only inside its adapter, when the backend starts.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any

from dmlbench.backends._base import BaseBackend
from dmlbench.backends._protocol import Backend, BackendUnavailable


@dataclass(frozen=True)
class RunFlag:
    """A ``dmlbench run`` flag that sets one ``get_backend`` option of one backend.

    Attributes
    ----------
    flag : str
        What users type, such as ``"--spark-master"``.
    metavar : str
        The value's name in ``--help``.
    help : str
        The flag's help text, as ``dmlbench run --help`` prints it.
    example : str, default=""
        A valid value, quoted by the error for a malformed ``KEY=VALUE`` pair.
    """

    flag: str
    metavar: str
    help: str
    example: str = ""

    @property
    def dest(self) -> str:
        """The attribute argparse stores the value in (``--spark-master``: ``spark_master``)."""
        return self.flag.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class BackendEntry:
    """What dmlbench needs to know about a backend without importing it.

    Attributes
    ----------
    module, cls : str
        The adapter class (a :class:`~dmlbench.backends._base.BaseBackend` subclass) and
        the module that defines it; importing the module must not import the engine.
    extra : str or None, default=None
        The ``pip install 'dmlbench[extra]'`` that installs the engine (None: nothing to
        install). ``pyproject.toml`` declares it, listing exactly :attr:`packages`.
    modules : tuple of str, default=()
        The engine modules the adapter imports: missing ones make the backend unavailable.
    packages : tuple of str, default=()
        The distributions the extra installs, whose versions each result's environment
        records (the engine's native comparator library included).
    address : RunFlag or None, default=None
        The ``dmlbench run`` flag that attaches the backend to an existing cluster (the
        ``address`` option of :func:`get_backend`).
    conf : RunFlag or None, default=None
        A repeatable ``dmlbench run`` flag of ``KEY=VALUE`` engine settings (the ``conf``
        option of :func:`get_backend`, a dict).
    no_native_library : str or None, default=None
        Why the engine has no machine-learning library of its own to compare with (its
        cases with ``impl = "native"`` are skipped with this reason). None: its library's
        comparators are listed in ``dmlbench.suites.natives.comparator.NATIVES``, with a reason
        for each algorithm it lacks.
    """

    module: str
    cls: str
    extra: str | None = None
    modules: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    address: RunFlag | None = None
    conf: RunFlag | None = None
    no_native_library: str | None = None


#: Every backend, in the order dmlbench lists and sweeps them.
BACKENDS: dict[str, BackendEntry] = {
    "local": BackendEntry("dmlbench.backends._local", "LocalBackend"),
    "dask": BackendEntry(
        "dmlbench.backends._dask", "DaskBackend", "dask",
        modules=("dask", "distributed"), packages=("dask", "distributed", "dask-ml"),
        address=RunFlag(
            "--dask-scheduler", "ADDRESS",
            "run on an existing Dask cluster: each case on n_workers of its workers "
            "(the same ones every time, spread over its hosts; more than it has: skipped)",
        ),
    ),
    "spark": BackendEntry(
        "dmlbench.backends._spark", "SparkBackend", "spark",
        modules=("pyspark",), packages=("pyspark",),
        address=RunFlag(
            "--spark-master", "URL",
            "run on an existing Spark standalone cluster: each case an application of "
            "n_workers one-core executors (fewer granted: skipped)",
        ),
        conf=RunFlag(
            "--spark-conf", "KEY=VALUE",
            "a Spark setting, over the driver memory sized from the cases "
            "(repeat for more; e.g. spark.driver.memory=8g)",
            example="spark.driver.memory=8g",
        ),
    ),
    "ray": BackendEntry(
        "dmlbench.backends._ray", "RayBackend", "ray",
        modules=("ray",), packages=("ray",),
        address=RunFlag(
            "--ray-address", "ADDRESS",
            "run on an existing Ray cluster (its head's host:6379; this machine runs a "
            "node of it): each case n_workers one-CPU actors in a placement group spread "
            "over its nodes (not granted: skipped)",
        ),
        no_native_library="Ray ships no ML algorithms of its own (Ray Train runs other "
        "libraries' models)",
    ),
}  # fmt: skip


def backend_names() -> list[str]:
    """Every backend dmlbench knows, installed or not."""
    return list(BACKENDS)


def missing_modules(name: str) -> list[str]:
    """The engine modules a backend needs that are not installed here."""
    return [m for m in _entry(name).modules if importlib.util.find_spec(m) is None]


def available_backends() -> list[str]:
    """Backends whose engine is installed (Spark's Java is checked only at start)."""
    return [name for name in BACKENDS if not missing_modules(name)]


def install_hint(*names: str) -> str:
    """The command that installs the engines of backends ``names``:
    ``"pip install 'dmlbench[dask,spark]'"`` (a backend without an extra adds nothing)."""
    extras = [e for e in (_entry(n).extra for n in names) if e is not None]
    return f"pip install 'dmlbench[{','.join(extras)}]'"


def engine_packages() -> list[str]:
    """The distributions of every backend's extra, in registry order (for the environment
    record: which engine versions a result was measured with)."""
    return [pkg for entry in BACKENDS.values() for pkg in entry.packages]


def run_flags() -> list[tuple[str, str, RunFlag]]:
    """The ``dmlbench run`` flags the backends declare, as ``(backend, option, flag)``:
    every cluster address first, then every setting flag, each in registry order (the
    order ``dmlbench run --help`` lists them)."""
    addresses = [(n, "address", f) for n, e in BACKENDS.items() if (f := e.address) is not None]
    confs = [(n, "conf", f) for n, e in BACKENDS.items() if (f := e.conf) is not None]
    return addresses + confs


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


def _entry(name: str) -> BackendEntry:
    """The entry of backend ``name``, or the error that lists the known names."""
    if name not in BACKENDS:
        raise ValueError(f"unrecognized backend {name!r} must be one of: {list(BACKENDS)}")
    return BACKENDS[name]


def _adapter(name: str) -> type[BaseBackend]:
    """The adapter class of backend ``name`` (importing its module, not its engine)."""
    entry = _entry(name)
    adapter: type[BaseBackend] = getattr(importlib.import_module(entry.module), entry.cls)
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
    missing = missing_modules(name)
    if missing:
        raise BackendUnavailable(
            f"the {name!r} backend needs {', '.join(missing)}, which is not installed: "
            f"{install_hint(name)}"
        )
    return _adapter(name)(**options)
