"""Round overhead: one empty round per engine and worker count, from the JSON files of
``dmlbench overhead --json`` given to the report (shown in a report without cases too)."""

from __future__ import annotations

from dmlbench.reports.figures import Figure, color, finish, pyplot
from dmlbench.reports.results import Results
from dmlbench.reports.sections import Section
from dmlbench.reports.stats import Interval
from dmlbench.reports.tables import Table


def table(results: Results) -> Table:
    """Round overhead per backend from ``dmlbench overhead --json`` files: ours beside the
    engine's bare round trip, and their ratio."""
    table = Table(
        "Round overhead (one aggregate over resident blocks)",
        ["backend", "workers", "start-up (s)", "round median (ms)", "p10 (ms)", "p90 (ms)",
         "engine's bare round trip (ms)", "ours ÷ bare"],  # fmt: skip
        note="bare: the engine's own no-op round trip over the same workers (a Client.run, "
        "an actor method, one task per block, a Spark job of as many tasks), alternating "
        "with ours round by round; ours ÷ bare is the share of a round that is dmlbench's "
        "own work (1 is the floor), with its interval over groups of 10 rounds. The ratio "
        "holds across machines where milliseconds do not.",
    )
    for r in results.overhead:
        if "round" not in r:
            table.rows.append([_engine(r), None, None, None, None, r.get("error", "no data"),
                               None, None])  # fmt: skip
            continue
        rd = r["round"]
        bare, ratio = r.get("bare_round"), r.get("round_vs_bare")
        table.rows.append(
            [
                _engine(r),
                r.get("n_workers"),
                r.get("startup_s"),
                rd["median_s"] * 1e3,
                rd["p10_s"] * 1e3,
                rd["p90_s"] * 1e3,
                bare["median_s"] * 1e3 if bare else None,
                Interval(ratio["value"], ratio["low"], ratio["high"], ratio["n"], ratio["level"])
                if ratio
                else None,
            ]
        )
    return table


def xtx_table(results: Results) -> Table:
    """The XᵀX aggregate per backend, checked against numpy and timed against it."""
    table = Table(
        "XᵀX aggregate (checked against numpy)",
        [
            "backend",
            "workers",
            "XᵀX median (s)",
            "numpy, as many BLAS threads (s)",
            "÷ numpy",
            "efficiency vs 1-thread numpy",
            "max relative error",
        ],  # fmt: skip
        note="efficiency: 1-thread numpy's time ÷ workers over the engine's (the ideal is "
        "1); OpenBLAS barely parallelises a tall-skinny XᵀX, so the ÷ numpy column can be "
        "below 1 without any engine being faster than one core.",
    )
    for r in results.overhead:
        if "xtx" in r:
            table.rows.append([_engine(r), r.get("n_workers"), r["xtx"]["median_s"],
                               r["xtx_numpy"]["median_s"], r.get("xtx_ratio"),
                               r.get("xtx_efficiency"), r.get("xtx_max_rel_error")])  # fmt: skip
    return table


def _engine(r: dict) -> str:
    """``dask:tasks``: the backend, and its pattern when the measurement names one (a
    backend with one way of running records a sentence there instead)."""
    pattern = r.get("pattern") or ""
    return f"{r['backend']}:{pattern}" if pattern and " " not in pattern else r["backend"]


def figures(results: Results) -> list[Figure]:
    """Round overhead per backend: median with the p10–p90 range."""
    rows = [r for r in results.overhead if "round" in r]
    if not rows:
        return []
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 0.5 * len(rows) + 1.6))
    labels = [f"{_engine(r)}, {r.get('n_workers')}w" for r in rows]
    med = [r["round"]["median_s"] * 1e3 for r in rows]
    lo = [m - r["round"]["p10_s"] * 1e3 for m, r in zip(med, rows, strict=True)]
    hi = [r["round"]["p90_s"] * 1e3 - m for m, r in zip(med, rows, strict=True)]
    at = list(range(len(rows)))  # numbered: two files may measure the same engine
    ax.barh(
        at,
        med,
        xerr=[lo, hi],
        capsize=3,
        color=[color(r["backend"]) for r in rows],
        label="median (p10-p90 bar)",
    )
    bare = [(i, r["bare_round"]["median_s"] * 1e3) for i, r in enumerate(rows) if "bare_round" in r]
    if bare:
        ax.plot([b for _, b in bare], [i for i, _ in bare], "|", color="black", markersize=14,
                mew=2, label="the engine's bare round trip (median)")  # fmt: skip
    ax.set_yticks(at, labels)
    ax.set_xscale("log")
    ax.set(xlabel="milliseconds per round (log)")
    return [
        finish(fig, ax, "overhead", "Round overhead: one aggregate over resident blocks", None, "x")
    ]


SECTION = Section(
    "Round overhead",
    lambda results: [table(results), xtx_table(results)],
    figures=figures,
    caption="One empty round per engine and worker count: the floor below which no "
    "iteration on that engine can go.",
    needs_cases=False,
)
