"""Phases: where each case's wall time went, beside the timed fit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from dmlbench.reports.figures import Figure, Segment, stacked
from dmlbench.reports.records import Record
from dmlbench.reports.results import Results, workload_key, workload_label
from dmlbench.reports.results import case_value as _c  # n_workers: what really ran
from dmlbench.reports.sections import Section
from dmlbench.reports.tables import Table, case_order

#: The phases of :class:`~dmlbench.reports.records.Phases` drawn or listed (seconds).
PhaseKey = Literal[
    "engine_start_s", "generate_s", "preprocess_s", "start_s", "compile_s", "prepare_s",
    "fit_cold_s", "predict_s",
]  # fmt: skip
#: The table's columns: phase name, its key in the record's ``phases`` (None: the median).
PHASES: tuple[tuple[str, PhaseKey | None], ...] = (
    ("engine start", "engine_start_s"),
    ("data generation", "generate_s"),
    ("preprocessing", "preprocess_s"),
    ("shared start", "start_s"),
    ("kernels compiled", "compile_s"),
    ("input prepared (untimed)", "prepare_s"),
    ("first (cold) fit", "fit_cold_s"),
    ("fit (median)", None),
    ("predict/score", "predict_s"),
)
#: The figure's segments: phase name, its key, its colour.
PHASE_KEYS: tuple[tuple[str, PhaseKey | None, str], ...] = (
    ("engine start", "engine_start_s", "#999999"),
    ("data generation", "generate_s", "#56B4E9"),
    ("preprocessing", "preprocess_s", "#CC79A7"),
    ("fit (median)", None, "#0072B2"),
    ("predict/score", "predict_s", "#F0E442"),
)


def table(results: Results) -> Table:
    """Where each case's wall time went."""
    table = Table(
        "Phases (seconds)",
        ["workload", "backend", "impl", "workers", "n_samples", *[name for name, _ in PHASES]],
        note="engine start is paid once per (backend, workers) group of cases.",
    )
    for r in sorted(results.ok, key=case_order):
        values = [r["fit_median_s"] if key is None else _phase(r, key) for _, key in PHASES]
        table.rows.append(
            [
                workload_label(workload_key(r)),
                _c(r, "backend"),
                _c(r, "impl"),
                _c(r, "n_workers"),
                _c(r, "n_samples"),
                *values,
            ]
        )
    return table


def _phase(r: Record, key: PhaseKey) -> float | None:
    """Seconds a case spent in one phase (None: a phase it did not have)."""
    return r["phases"].get(key)


def figures(results: Results) -> list[Figure]:
    """Per workload at its largest size: stacked phases per backend and workers."""

    def phase(key: PhaseKey | None) -> Callable[[Record], float]:
        return lambda r: (r["fit_median_s"] if key is None else _phase(r, key)) or 0.0

    segments: list[Segment] = [(name, shade, phase(key)) for name, key, shade in PHASE_KEYS]
    return stacked(
        results,
        lambda r: True,
        segments,
        lambda r: (_c(r, "backend"), _c(r, "impl"), _c(r, "n_workers")),
        ("seconds", "phases", "Phases"),
    )


SECTION = Section(
    "Phases",
    lambda results: [table(results)],
    figures=figures,
    caption="Everything a case cost beside the timed fit: the engine's start, data "
    "generation and preparation happen before the clock; the fit is the median.",
)
