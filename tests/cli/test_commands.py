"""The command line is built from tables: the subcommands from ``COMMANDS``, the backends'
flags and install hints from the backend registry (and the environment record's engine
versions too), so a new backend needs no edit here."""

import dataclasses
from importlib import metadata

import pytest

from dmlbench.backends import registry
from dmlbench.backends.registry import BACKENDS, BackendEntry, RunFlag
from dmlbench.suites.cli.commands import COMMANDS, build_parser, main
from dmlbench.suites.cli.run import backend_options
from dmlbench.suites.define.spec import SuiteError
from dmlbench.suites.run.environment import environment

#: A backend that exists only in this file: an adapter module is never imported for it.
TOY = BackendEntry(
    "toy_module", "ToyBackend", "toy", modules=("toy_engine",), packages=("pytest",),
    address=RunFlag("--toy-head", "HOST", "run on an existing toy cluster"),
    conf=RunFlag("--toy-conf", "KEY=VALUE", "a toy setting (repeat for more)", example="a=1"),
)  # fmt: skip


@pytest.fixture
def toy(monkeypatch):
    """The registry with one more entry, ``toy``, after the shipped ones."""
    monkeypatch.setitem(BACKENDS, "toy", TOY)
    return TOY


def _run_args(*argv: str):
    return build_parser().parse_args(["run", "quick", *argv])


def test_the_subcommands_are_the_table_in_its_order(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = capsys.readouterr().out
    names = [c.name for c in COMMANDS]
    assert names == ["run", "export-benchmark", "report", "compare", "reproduce", "publish", "list", "doctor",
                     "overhead", "kernels"]  # fmt: skip
    firsts = [
        line.split()[0] for line in listed.splitlines() if line[:5].strip() and line[:4] == "    "
    ]
    assert [f for f in firsts if f in names] == names, listed


def test_the_cluster_flags_set_each_backends_options():
    args = _run_args(
        "--ray-address", "auto", "--spark-conf", "a=1", "--dask-scheduler", "tcp://h:8786",
        "--spark-conf", "a=2", "--spark-master", "spark://m:7077",
    )  # fmt: skip
    options = backend_options(args)
    assert options == {
        "dask": {"address": "tcp://h:8786"},
        "spark": {"address": "spark://m:7077", "conf": {"a": "2"}},
        "ray": {"address": "auto"},
    }
    assert list(options) == ["dask", "spark", "ray"]  # the registry's order
    assert backend_options(_run_args()) == {}


def test_a_new_registry_entry_brings_its_run_flags(toy, capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    assert "--toy-head HOST" in text and "run on an existing toy cluster" in text
    # Addresses first, then settings: the order `dmlbench run --help` has always had.
    assert text.index("--ray-address") < text.index("--toy-head") < text.index("--spark-conf")
    assert text.index("--spark-conf") < text.index("--toy-conf")
    args = _run_args("--toy-head", "h:1", "--toy-conf", "x=2")
    assert backend_options(args)["toy"] == {"address": "h:1", "conf": {"x": "2"}}
    with pytest.raises(SuiteError, match=r"--toy-conf must be KEY=VALUE \(such as a=1\); got 'x'"):
        backend_options(_run_args("--toy-conf", "x"))


def test_a_missing_engine_is_listed_with_its_extra(toy, monkeypatch, capsys):
    monkeypatch.setitem(BACKENDS, "ray", dataclasses.replace(BACKENDS["ray"], extra="ray-extra"))
    real = registry.importlib.util.find_spec
    monkeypatch.setattr(
        registry.importlib.util, "find_spec", lambda m, *a: None if m == "ray" else real(m, *a)
    )
    monkeypatch.setattr("dmlbench.suites.define.spec.builtin_suites", dict)  # no suites
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "  ray                  not installed: pip install 'dmlbench[ray-extra]'" in out
    assert "  toy                  not installed: pip install 'dmlbench[toy]'" in out
    assert main(["overhead", "--backends", "ray,toy"]) == 2
    err = capsys.readouterr().err
    assert "not installed: ['ray', 'toy']; pip install 'dmlbench[ray-extra,toy]'" in err


def test_the_environment_records_the_registrys_engine_packages(toy):
    versions = environment()["versions"]
    assert versions["pytest"] == metadata.version("pytest")  # the toy entry's package
    assert list(versions)[:3] == ["numpy", "scipy", "scikit-learn"]
    assert list(versions)[-2:] == ["pytest", "pandas"]


def test_the_command_line_starts_without_numpy():
    """``dmlbench --help`` imports no numerical library: it started in 0.26-0.33 s when
    it imported numpy, 0.12 s without (measured on the 2-core machine)."""
    import subprocess
    import sys

    probe = ("import sys; from dmlbench.suites.cli.commands import build_parser; "
             "build_parser(); print(sorted({'numpy', 'scipy', 'pandas'} & set(sys.modules)))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out
