"""The shape of the distribution: top-level packages, lazy engines, the console script."""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINES = ("dask", "distributed", "dask_ml", "pyspark", "ray")


def test_top_level_packages_are_pinned():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = meta["tool"]["setuptools"]["packages"]
    assert {p.split(".")[0] for p in packages} == {"algorithms", "backends", "suites", "reports"}
    assert set(packages) - {"algorithms", "backends", "suites", "reports"} == {"suites.builtin"}
    on_disk = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert on_disk == {"algorithms", "backends", "suites", "reports"}


def test_importing_dmlbench_imports_no_engine():
    code = (
        "import sys, algorithms, backends, suites, reports, suites.cli, backends.conformance\n"
        "import backends.natives, suites.natives_bench, suites.datasets, suites.overhead\n"
        "from algorithms import KMeans, LinearRegression, MLPClassifier\n"
        "from backends import get_backend\n"
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
    assert meta["project"]["scripts"] == {"dmlbench": "suites.cli:main"}
    assert set(meta["project"]["optional-dependencies"]) >= {"dask", "spark", "ray", "all", "test"}


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("Run the tests", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    [command] = [line for line in block.splitlines() if line.strip()]
    assert "pytest" in command
    assert command in (ROOT / ".ci" / "run").read_text().splitlines()
