"""Against the machine's limits: how close each of ours' kernels ran to this machine's
memory bandwidth and one core's DGEMM."""

from __future__ import annotations

from dmlbench.reports.records import Limits, engine_name
from dmlbench.reports.results import Results, workload_key, workload_label
from dmlbench.reports.results import case_value as _c  # n_workers: what really ran
from dmlbench.reports.sections import Section
from dmlbench.reports.tables import Table, case_order


def table(results: Results) -> Table:
    """Each of ours' kernels against this machine's limits: the bytes/s and flop/s one
    worker achieved in its main kernel (``achieved``), as a share of the memory bandwidth
    its workers had together (the triad measured at that many processes) and of one core's
    DGEMM (the run's ``environment.limits``, from ``dmlbench doctor``)."""
    table = Table(
        "Against the machine's limits",
        [
            "workload",
            "backend",
            "workers",
            "n_samples",
            "kernel",
            "GB/s per worker",
            "of bandwidth",
            "GFLOP/s per worker",
            "of DGEMM",
        ],  # fmt: skip
        note="Per worker, over its compute time in the kernel's rounds only (median over "
        "timed fits). Bytes: the float64 input the kernel must read once per pass; flops: "
        "the arithmetic the algorithm needs (the estimator's pass_work). of bandwidth = "
        "workers x GB/s per worker / the triad bandwidth of that many processes; of DGEMM "
        "= GFLOP/s per worker / one core's DGEMM. A share near 1 of bandwidth: the kernel "
        "is memory-bound, more workers on this memory will not help; far below both: the "
        "kernel is neither, its code is the limit.",
    )
    for r in sorted(results.ok, key=case_order):
        got, limits = r.get("achieved"), r["environment"].get("limits") or {}
        if not got:
            continue
        p = _c(r, "n_workers")
        bandwidth = bandwidth_for(limits, p)
        dgemm = limits.get("dgemm_gflops")
        gbs, gflops = got["bytes_per_s"] / 1e9, got["flops_per_s"] / 1e9
        table.rows.append(
            [
                workload_label(workload_key(r)),
                engine_name(r["case"]),
                p,
                _c(r, "n_samples"),
                got["kernel"],
                gbs,
                p * gbs / bandwidth if bandwidth else None,
                gflops,
                gflops / dgemm if dgemm else None,
            ]  # fmt: skip
        )
    return table


def bandwidth_for(limits: Limits, workers: int) -> float | None:
    """The triad bandwidth (GB/s) the machine gives ``workers`` processes streaming at
    once: the figure measured at the nearest count at or above ``workers`` (1 core, all
    cores), the all-core figure for more workers than cores; None if not measured."""
    triad = {int(k): v for k, v in (limits.get("triad_gbs") or {}).items()}
    if not triad:
        return None
    above = [n for n in triad if n >= workers]
    return triad[min(above)] if above else triad[max(triad)]


SECTION = Section(
    "Against the machine's limits",
    lambda results: [table(results)],
    "How close each of ours' kernels ran to this machine's memory bandwidth "
    "and one core's DGEMM (measured by dmlbench doctor, stored with the run).",
)
