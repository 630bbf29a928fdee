"""The report's sections, one module each, listed once below in reading order.

A section module defines ``SECTION``, a :class:`Section`: its title, what to look at, the
function that makes its tables and the one that draws its figures (either may be left
out). The renderer (:mod:`dmlbench.reports.render`) walks :data:`ORDER`: the figures of
every section under one "Figures" heading, then each section's tables under its title.
Adding a section is one module here and one line in :data:`ORDER`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dmlbench.reports.figures import Figure
    from dmlbench.reports.results import Results
    from dmlbench.reports.tables import Table

#: The sections in reading order: module names in this package.
ORDER = (
    "failures",
    "strong_scaling",
    "predictions",
    "size_scaling",
    "comparison",
    "patterns",
    "rounds",
    "convergence",
    "limits",
    "placement",
    "phases",
    "overhead",
    "environment",
    "quality",
)


@dataclass(frozen=True)
class Section:
    """One section of the report.

    Parameters
    ----------
    title : str
        The heading of its tables (and of its figures, unless ``figure_title``).
    tables : callable, optional
        ``tables(results) -> list[Table]``; tables without rows are left out, and a
        section without a table with rows has no heading among the details.
    intro : str
        What to look at in its tables: a paragraph under its title.
    figures : callable, optional
        ``figures(results) -> list[Figure]``, drawn under the "Figures" heading.
    figure_title : str
        Its heading among the figures, when not ``title``.
    caption : str
        What to look at in each of its figures: the caption under every one.
    needs_cases : bool
        False for a section made from more than case records (the round overhead, from
        ``dmlbench overhead`` files): shown even in a report without cases.
    """

    title: str
    tables: Callable[[Results], list[Table]] | None = None
    intro: str = ""
    figures: Callable[[Results], list[Figure]] | None = None
    figure_title: str = ""
    caption: str = ""
    needs_cases: bool = True


def sections() -> list[Section]:
    """The ``SECTION`` of every module in :data:`ORDER`, in that order."""
    return [import_module(f"{__name__}.{name}").SECTION for name in ORDER]
