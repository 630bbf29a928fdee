"""What a subcommand is declared with: a :class:`Command`, and the argument types that turn
the text users type into values (or a usage error that says what was expected)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dmlbench.backends import backend_names, is_int_at_least


@dataclass(frozen=True)
class Command:
    """One ``dmlbench`` subcommand: its texts, its arguments and what runs it.

    Attributes
    ----------
    name : str
        What users type (``dmlbench run``).
    help : str
        Its line in ``dmlbench --help``.
    description : str
        The paragraph ``dmlbench NAME --help`` starts with.
    epilog : str
        Examples, printed as written after the arguments.
    handler : callable, (argparse.Namespace) -> int
        Runs the command; its exit status.
    arguments : callable, (argparse.ArgumentParser) -> None, optional
        Adds the command's arguments to its parser.
    """

    name: str
    help: str
    description: str
    epilog: str
    handler: Callable[[argparse.Namespace], int]
    arguments: Callable[[argparse.ArgumentParser], None] | None = None


def backends_arg(text: str) -> list[str]:
    """``"local,dask"`` as a list of known backend names."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in backend_names()]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unrecognized backend {unknown[0]!r} must be one of: {backend_names()}"
        )
    return names


def patterns_arg(text: str) -> list[str]:
    """``"resident,tasks"`` as a list of the patterns the overhead benchmark knows."""
    from dmlbench.suites.bench.overhead import parse_patterns

    try:
        return parse_patterns(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def kernels_arg(text: str) -> list[str]:
    """``"kmeans,logistic"`` as a list of the kernels ``dmlbench kernels`` measures."""
    from dmlbench.suites.bench.kernel_timings import SETUPS

    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SETUPS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unrecognized kernel {(unknown or [text])[0]!r} must be one of: {list(SETUPS)}"
        )
    return names


def whole_number(text: str, low: int) -> int:
    """``text`` as an integer >= ``low`` (underscores allowed: 1_000_000), or a usage error."""
    expected = f"expected a whole number >= {low}"
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{expected}, got {text!r}") from None
    if not is_int_at_least(value, low):
        raise argparse.ArgumentTypeError(f"{expected}, got {value}")
    return value


def positive_int(text: str) -> int:
    """A whole number >= 1."""
    return whole_number(text, 1)


def count(text: str) -> int:
    """A whole number >= 0."""
    return whole_number(text, 0)


def positive_ints(text: str) -> list[int]:
    """``"1,2,4"`` as whole numbers >= 1."""
    return [positive_int(part) for part in text.split(",") if part.strip()]


def fraction(text: str) -> float:
    """A number >= 0 (a relative threshold)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def paths(text: str) -> list[Path]:
    """One run's path, or several comma-separated (a side of an interleaved comparison)."""
    found = [Path(part) for part in text.split(",") if part]
    if not found:
        raise argparse.ArgumentTypeError(f"expected a results path, got {text!r}")
    return found
