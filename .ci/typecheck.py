"""Type-check every package with mypy: ``dmlbench.algorithms``, ``backends``, ``suites``,
``reports``.

Run from anywhere with the project's Python (``python .ci/typecheck.py [mypy options]``);
exits with mypy's status. Tests run it too (``tests/test_types.py``), so CI does.

The code folders sit at the repository root but install as ``dmlbench.*`` through
setuptools' ``package-dir`` (an editable install resolves them with an import hook that
mypy cannot follow). So this script builds a link tree,
``build/typecheck/dmlbench/{algorithms,backends}`` -> the real folders (``build/`` is
git-ignored), and runs ``mypy -p dmlbench.algorithms -p dmlbench.backends`` against it
with the settings of ``[tool.mypy]`` in ``pyproject.toml``. Errors are reported with the
real paths (``algorithms/...``, ``backends/...``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("algorithms", "backends", "suites", "reports")


def link_tree(root: Path = ROOT) -> Path:
    """``build/typecheck`` holding ``dmlbench/<package>`` symlinks; returns its path."""
    tree = root / "build" / "typecheck"
    namespace = tree / "dmlbench"
    namespace.mkdir(parents=True, exist_ok=True)
    for name in PACKAGES:
        link = namespace / name
        target = root / name
        if link.is_symlink() and Path(os.readlink(link)) == target:
            continue
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target, target_is_directory=True)
    return tree


def main(argv: list[str] | None = None) -> int:
    try:
        from mypy import api
    except ImportError:
        print("mypy is not installed: pip install 'dmlbench[test]'", file=sys.stderr)
        return 2
    tree = link_tree()
    args = ["--config-file", str(ROOT / "pyproject.toml")]
    for name in PACKAGES:
        args += ["-p", f"dmlbench.{name}"]
    args += list(sys.argv[1:] if argv is None else argv)
    cwd = os.getcwd()
    os.chdir(tree)  # `dmlbench` (a namespace package) is found from here
    try:
        stdout, stderr, status = api.run(args)
    finally:
        os.chdir(cwd)
    # mypy names files by the link tree; show the repository's own paths.
    prefix = f"dmlbench{os.sep}"
    stdout = "\n".join(line.removeprefix(prefix) for line in stdout.splitlines()) + (
        "\n" if stdout else ""
    )
    sys.stdout.write(stdout)
    sys.stderr.write(stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
