"""The shape of the distribution: one `dmlbench` namespace, the import arrows, lazy
engines, the console script, CI running the README's test command."""

import ast
import configparser
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from dmlbench.backends.registry import BACKENDS, backend_names

ROOT = Path(__file__).resolve().parents[1]
#: What the backends' extras install, by import name (dask-ml imports as dask_ml): none
#: of it may be imported before a backend is asked for.
ENGINES = tuple(
    dict.fromkeys(
        [m for e in BACKENDS.values() for m in e.modules]
        + [p.replace("-", "_") for e in BACKENDS.values() for p in e.packages]
    )
)
FOLDERS = ("algorithms", "backends", "suites", "reports")
#: Who may import whom (DESIGN.md): the arrows only go down.
MAY_IMPORT = {
    "algorithms": {"algorithms", "backends"},
    "backends": {"backends"},
    "reports": {"reports"},
    "suites": set(FOLDERS),
}


def test_packages_install_under_one_namespace():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    setuptools = meta["tool"]["setuptools"]
    assert {p.split(".")[0] for p in setuptools["packages"]} == {"dmlbench"}
    assert setuptools["package-dir"] == {f"dmlbench.{f}": f for f in FOLDERS}
    on_disk = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert on_disk == set(FOLDERS)


def test_installed_top_level_name_is_dmlbench_alone():
    tops = {name for name, dists in metadata.packages_distributions().items() if "dmlbench" in dists}
    assert tops == {"dmlbench"}, tops


def test_generic_names_are_not_importable_outside_the_repository(tmp_path):
    code = (
        "import importlib.util, dmlbench.algorithms, dmlbench.backends, dmlbench.suites, "
        "dmlbench.reports\n"
        f"print([n for n in {FOLDERS!r} if importlib.util.find_spec(n) is not None])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.strip() == "[]", out.stdout


def _imports_of_ours(path: Path) -> set[str]:
    """The folders of ours that a source file imports (``dmlbench.X`` or a bare ``X``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "dmlbench":  # from dmlbench import algorithms
                names = [f"dmlbench.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            assert parts[0] not in FOLDERS, f"{path}: bare `{name}`; import dmlbench.{name}"
            if parts[0] == "dmlbench" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_import_arrows_only_go_down():
    for folder, allowed in MAY_IMPORT.items():
        for path in (ROOT / folder).rglob("*.py"):
            wrong = _imports_of_ours(path) - allowed
            assert not wrong, f"{path.relative_to(ROOT)} imports dmlbench.{sorted(wrong)}"


def _private_reaches(path: Path, folder: str) -> list[str]:
    """What a source file of ``folder`` takes from another folder's ``_``-modules (or
    ``_``-names): ``import dmlbench.backends._worker``, ``from dmlbench.backends._rounds
    import x``, ``from dmlbench.backends import _worker``, or an import string."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] if _private(node.module) else [
                f"{node.module}.{a.name}" for a in node.names
            ]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = [node.value] if node.value.startswith("dmlbench.") else []
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "dmlbench" and len(parts) > 2 and parts[1] != folder:
                if _private(name):
                    found.append(name)
    return found


def _private(name: str) -> bool:
    """Whether a dotted name goes through a ``_``-module or ``_``-name (not a dunder)."""
    return any(p.startswith("_") and not p.startswith("__") for p in name.split(".")[2:])


def test_no_package_imports_another_packages_private_modules():
    """What crosses a package boundary is public: a ``_``-module (or ``_``-name) is its
    package's own. (Tests of a package, under ``tests/<package>/``, may look inside it.)"""
    wrong = {
        str(path.relative_to(ROOT)): reached
        for folder in FOLDERS
        for path in sorted((ROOT / folder).rglob("*.py"))
        if (reached := _private_reaches(path, folder))
    }
    assert not wrong, wrong


def _requirement_names(requirements: list[str]) -> set[str]:
    """``["dask[array]>=2024.8", ...]`` -> ``{"dask", ...}``."""
    return {re.match(r"[A-Za-z0-9._-]+", r).group(0).lower() for r in requirements}


#: The most lines a function may have (``def`` to its end, docstring included): one that
#: grows past it is doing more than one job.
MAX_FUNCTION_LINES = 80


def test_no_function_is_longer_than_80_lines():
    long = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines = node.end_lineno - node.lineno + 1
                    if lines > MAX_FUNCTION_LINES:
                        long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} {lines}")
    assert not long, f"split these into named steps of at most {MAX_FUNCTION_LINES} lines: {long}"


def test_the_extras_agree_with_the_backend_registry():
    """pyproject.toml cannot read the registry: each backend's extra installs exactly the
    packages its entry names (the ones the environment record versions), ``all`` is every
    backend's extra, and no other extra than ``all``, ``test`` and ``docs`` exists."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    entries = {e.extra: e for e in BACKENDS.values() if e.extra is not None}
    assert set(extras) == {*entries, "all", "test", "docs"}, sorted(extras)
    for extra, entry in entries.items():
        assert _requirement_names(extras[extra]) == set(entry.packages), (extra, extras[extra])
    assert extras["all"] == [f"dmlbench[{','.join(entries)}]"], extras["all"]


def test_tox_has_one_env_per_backend_of_the_registry():
    """tox.ini cannot read the registry: its factors are the backends, each installs its
    backend's extra and tests it beside ``local``."""
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    factors = re.search(r"py311-\{([^}]*)\}", tox["tox"]["env_list"]).group(1).split(",")
    assert factors == backend_names(), factors
    extras = [line.strip() for line in tox["testenv"]["extras"].strip().splitlines()]
    assert extras == ["test"] + [
        f"{name}: {e.extra}" for name, e in BACKENDS.items() if e.extra is not None
    ], extras
    set_env = [line.strip() for line in tox["testenv"]["set_env"].strip().splitlines()]
    assert set_env == [
        f"{name}: DMLBENCH_BACKENDS = " + ("local" if name == "local" else f"local,{name}")
        for name in BACKENDS
    ], set_env


def test_tests_use_the_installed_names():
    for path in (ROOT / "tests").rglob("*.py"):
        _imports_of_ours(path)


def test_importing_dmlbench_imports_no_engine():
    code = (
        "import sys\n"
        "import dmlbench.algorithms, dmlbench.backends, dmlbench.suites, dmlbench.reports\n"
        "import dmlbench.suites.cli.commands, dmlbench.backends.conformance, dmlbench.suites.run.runner\n"
        "import dmlbench.suites.natives.comparator, dmlbench.suites.define.datasets, dmlbench.suites.bench.overhead\n"
        "from dmlbench.algorithms import KMeans, LinearRegression, MLPClassifier\n"
        "from dmlbench.backends import get_backend\n"
        "get_backend('local')\n"
        f"print(sorted(m for m in {ENGINES!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_algorithms_and_reports_import_no_engine_in_source():
    """Reports read results files only; algorithms reach engines through backends only."""
    for path in [*(ROOT / "algorithms").rglob("*.py"), *(ROOT / "reports").rglob("*.py")]:
        text = path.read_text()
        for engine in ENGINES:
            assert f"import {engine}" not in text and f"from {engine}" not in text, path


def test_console_script_is_declared():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["scripts"] == {"dmlbench": "dmlbench.suites.cli.console:main"}
    assert set(meta["project"]["optional-dependencies"]) >= {"dask", "spark", "ray", "all", "test"}


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("Run the tests", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    [command] = [line for line in block.splitlines() if line.strip()]
    assert "pytest" in command
    assert command in (ROOT / ".ci" / "run").read_text().splitlines()


@pytest.mark.slow
def test_a_regular_install_has_one_namespace_and_the_builtin_suites(tmp_path):
    """A wheel (not the editable install): only `dmlbench/`, suite files included, importable."""
    import zipfile

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    [wheel] = tmp_path.glob("dmlbench-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"dmlbench", wheel.name.split("-py3")[0] + ".dist-info"}
    assert "dmlbench/suites/define/builtin/quick.toml" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import dmlbench.suites.define.spec as spec\n"
        f"print(spec.__file__.startswith({str(site)!r}), sorted(spec.builtin_suites()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=tmp_path, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert out.stdout.startswith("True ") and "'quick'" in out.stdout, out.stdout
