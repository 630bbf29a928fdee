"""Where it ran: the hosts each case's workers ran on, its blocks per host, and the
blocks its timed fits rebuilt from their recipe inside the clock."""

from __future__ import annotations

from collections import defaultdict

from dmlbench.reports.records import Record, engine_name
from dmlbench.reports.results import Results, workload_key, workload_label
from dmlbench.reports.results import case_value as _c  # n_workers: what really ran
from dmlbench.reports.sections import Section
from dmlbench.reports.tables import Table, case_order


def table(results: Results) -> Table:
    """Where ours ran: per case, its workers' hosts, its blocks per host (in its last timed
    fit) and the blocks its timed fits rebuilt from their recipe inside the clock.

    Every case when any ran off this machine; otherwise (every block at 127.0.0.1) only
    the cases whose timed fits rebuilt blocks."""
    table = Table(
        "Where it ran",
        ["workload", "backend", "workers", "hosts", "blocks per host", "rebuilt in timed fits"],
    )
    ours = [r for r in results.cases if r.get("block_hosts") is not None]
    remote = any(not host.startswith("127.") for r in ours for host in _hosts(r) if host)
    for r in sorted(ours, key=case_order):
        timed = (r.get("rebuilt_blocks") or [])[1:]
        rebuilt = sum(timed)
        if not remote and not rebuilt:
            continue
        per_host: dict[str, int] = defaultdict(int)
        for host in r.get("block_hosts") or []:
            per_host[host or "placed by the engine"] += 1
        table.rows.append(
            [
                workload_label(workload_key(r)),
                engine_name(r["case"]),
                _c(r, "n_workers"),
                ", ".join(sorted(set(_hosts(r)))),
                ", ".join(f"{host}: {n}" for host, n in sorted(per_host.items())),
                f"{rebuilt} in {sum(1 for n in timed if n)} of {len(timed)} fits" if rebuilt else 0,
            ]
        )
    return table


def _hosts(r: Record) -> list[str]:
    """The hosts of a case's workers (as its backend recorded them), else of its blocks."""
    info = r.get("backend_info")
    workers = (None if info is None else info.get("workers")) or []
    return [w["host"] for w in workers if w.get("host")] or [
        h for h in r.get("block_hosts") or [] if h
    ]


SECTION = Section(
    "Where it ran",
    lambda results: [table(results)],
    "The hosts each case's workers ran on and its blocks per host (in its last "
    "timed fit). A timed fit that rebuilt blocks from their recipe (a worker "
    "that lost them, a task the engine ran elsewhere) includes that work in its "
    "time.",
)
