"""Reports built from stored results files only: never an engine, never a run.

``load_results`` and ``load_fits`` (:mod:`dmlbench.reports.frame`) give results as pandas
DataFrames; pandas is imported when they are first used, not by the command line.
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_fits", "load_results"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from dmlbench.reports import frame

        return getattr(frame, name)
    raise AttributeError(f"module 'dmlbench.reports' has no attribute {name!r}")
