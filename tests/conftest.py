"""One engine per backend per test session, shared by every test that asks for it.

Choose backends with ``DMLBENCH_BACKENDS=local,dask`` (tox does, per env); by default
every installed backend runs. A backend whose engine is missing is skipped with the
command that installs it.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from dmlbench.backends import BackendUnavailable, backend_names, get_backend, max_workers
from dmlbench.backends.registry import install_hint, missing_modules

if TYPE_CHECKING:
    from dmlbench.suites.define.spec import Suite

N_WORKERS = 2


@pytest.fixture(scope="session", autouse=True)
def machine_limits_cache(tmp_path_factory):
    """The machine's limits (memory bandwidth, DGEMM) cached in the session's own folder,
    not the user's: measured by the first run of the session, read by every later one
    (the ``dmlbench`` subprocesses inherit the setting)."""
    from dmlbench.suites.bench.limits import CACHE_ENV

    old = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("cache"))
    yield os.environ[CACHE_ENV]
    if old is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = old


def selected_backends() -> list[str]:
    wanted = os.environ.get("DMLBENCH_BACKENDS")
    names = [n.strip() for n in wanted.split(",") if n.strip()] if wanted else backend_names()
    unknown = sorted(set(names) - set(backend_names()))
    if unknown:
        raise pytest.UsageError(f"DMLBENCH_BACKENDS names unknown backends {unknown}")
    return names


def start_backend(name: str):
    """A started backend, or a skip that says how to enable it."""
    if missing_modules(name):
        pytest.skip(f"{name} is not installed: enabled by {install_hint(name)}")
    be = get_backend(name, n_workers=min(N_WORKERS, max_workers(name) or N_WORKERS))
    try:
        return be.start()
    except BackendUnavailable as exc:
        pytest.skip(f"{name} cannot start here: {exc}")


@pytest.fixture(scope="session", params=selected_backends())
def backend(request):
    """A started backend, once per session per backend name."""
    be = start_backend(request.param)
    yield be
    be.close()


@pytest.fixture
def dmlbench_cli():
    """Run the installed ``dmlbench`` console script as a user would; fail on a non-zero exit."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).with_name("dmlbench")

    def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [str(script), *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc

    return run


# -- suites written inline by a test ------------------------------------------------------
#: A suite as a test writes it: TOML text, or the parsed document as a dict.
SuiteDoc = str | Mapping[str, Any]
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def suite_toml(doc: Mapping[str, Any]) -> str:
    """A suite given as a dict, as the TOML a user would write: ``[suite]``, ``[grid]``
    and ``[profiles.X]`` tables, ``[[workload]]`` arrays of tables, everything deeper
    (``params``) as inline tables. ``tomllib.loads`` of the text gives ``doc`` back."""
    lines: list[str] = []
    _table(lines, [], doc, depth=0)
    return "\n".join(lines) + "\n"


def _table(lines: list[str], path: list[str], table: Mapping[str, Any], depth: int) -> None:
    """``table`` at ``path``: its own pairs, then its sub-tables and arrays of tables (only
    the top two levels are written as tables, the way suites are)."""
    tables = {k: v for k, v in table.items() if depth < 2 and isinstance(v, Mapping)}
    arrays = {
        k: v for k, v in table.items()
        if depth < 2 and isinstance(v, list) and v and all(isinstance(x, Mapping) for x in v)
    }  # fmt: skip
    pairs = {k: v for k, v in table.items() if k not in tables and k not in arrays}
    if path and (pairs or not (tables or arrays)):  # (an empty table still needs its header)
        lines.append(f"[{'.'.join(map(_key, path))}]")
    lines.extend(f"{_key(k)} = {_value(v)}" for k, v in pairs.items())
    for key, sub in tables.items():
        _table(lines, [*path, key], sub, depth + 1)
    for key, items in arrays.items():
        for item in items:  # each element's own tables inline: its pairs only
            lines.append(f"[[{'.'.join(map(_key, [*path, key]))}]]")
            lines.extend(f"{_key(k)} = {_value(v)}" for k, v in item.items())


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04x}", escaped) + '"'


def _value(value: Any) -> str:
    """One TOML value: a bool, number, string, array or inline table."""
    if isinstance(value, bool):  # (before int: a bool is an int)
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # TOML reads Python's repr: 0.5, 1e-05, inf, nan
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(map(_value, value)) + "]"
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    raise TypeError(f"a suite file holds bools, numbers, strings, lists and tables; got {value!r}")


def suite_text(doc: SuiteDoc) -> str:
    """``doc`` as the text of a suite file (TOML text is kept as written; a dict is written
    and read back, so that a test's suite is always one a file can hold)."""
    if isinstance(doc, str):
        return doc
    text = suite_toml(doc)
    if tomllib.loads(text) != doc:
        raise AssertionError(f"the suite written as TOML reads back differently:\n{text}")
    return text


def write_suite(folder: Path, doc: SuiteDoc, name: str = "suite.toml") -> Path:
    """Write ``doc`` (TOML text or a dict) to ``folder / name``; its path."""
    path = folder / name
    path.write_text(suite_text(doc))
    return path


def inline_suite(doc: SuiteDoc, name: str = "inline", **options: Any) -> Suite:
    """The expanded suite of ``doc`` (TOML text or a dict) as a suite file holding it would
    give, ``name`` standing for the file in its messages; ``options`` are ``expand``'s
    (``profile``, ``backends``, ``n_workers``)."""
    from dmlbench.suites.define.spec import expand

    return expand(tomllib.loads(suite_text(doc)), name, **options)


@pytest.fixture
def suite_file(tmp_path: Path) -> Callable[..., Path]:
    """``suite_file(doc, name="suite.toml")``: ``doc`` (TOML text or a dict) written as a
    suite file in the test's own folder; its path, for ``load_suite`` or ``dmlbench run``."""

    def write(doc: SuiteDoc, name: str = "suite.toml") -> Path:
        return write_suite(tmp_path, doc, name)

    return write
