"""Compare two runs case by case: B's median fit time over A's, with its interval.

The rule (chosen over a rank test with a multiple-comparison correction, because it says
by how much, not only whether): per case, the ratio B/A of the median fit times and its
95 % bootstrap interval from both sides' raw fit times (launches, then fits;
:mod:`dmlbench.reports.stats`). A change is reported only when the whole interval lies
beyond the threshold, above ``1 + threshold`` (a regression) or below
``1 / (1 + threshold)`` (an improvement); otherwise the case is the ``same``. A side whose
fits vary by more than :data:`UNSTABLE_CV` (coefficient of variation) is ``unstable``
instead: its median is not a number to gate on; a side with fewer than :data:`MIN_FITS`
timed fits is ``not comparable`` (no interval worth the name). The threshold is
calibrated by A/A runs (the README gives the measured false-positive and detection
rates). A case that gave a verified answer in A and not in B is a regression whatever its
times.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dmlbench.reports import stats
from dmlbench.reports.records import Record
from dmlbench.reports.render import fmt
from dmlbench.reports.results import fit_times, load
from dmlbench.reports.thresholds import DEFAULT_THRESHOLD, UNSTABLE_CV

VERDICTS = (
    "regression",
    "improvement",
    "same",
    "unstable",
    "only in A",
    "only in B",
    "not comparable",
)
# UNSTABLE_CV and DEFAULT_THRESHOLD live in their own module, which imports nothing: the
# command line's --help shows them without importing numpy.
#: Fewer timed fits than this on a side and there is no interval worth the name (one fit
#: has none; [min, max] of 4 covers the median 87.5 % of the time): not judged.
MIN_FITS = 5


@dataclass
class Change:
    """One case of the comparison."""

    case_id: str
    verdict: str  # one of VERDICTS
    a_s: float | None = None
    b_s: float | None = None
    ratio: stats.Interval | None = None  # B/A of the medians, with its interval
    noise: float | None = None  # the larger coefficient of variation of the two sides
    detail: str = ""


def compare(
    a_paths: list[Path], b_paths: list[Path], threshold: float = DEFAULT_THRESHOLD
) -> list[Change]:
    """Per case present on either side: its verdict. ``threshold`` is relative (0.10 =
    10 %). Each path is one run. Several runs a side, as many on each, are taken as pairs
    run interleaved in time (A1, B1, A2, B2, ...): run i of A with run i of B, for each i
    where both hold the case (at least 2). The ratio is the geometric mean of the pairs'
    ratios, with a Student-t interval over the pairs, so the machine's drift between pairs
    cancels within each pair and what is left of it widens the interval. Unequal numbers
    of runs pool each side's runs as launches of one series.
    """
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0; got {threshold}")
    a_runs, b_runs = _runs(a_paths), _runs(b_paths)
    a = {case_id: _verdict_record(list(rs.values())) for case_id, rs in a_runs.items()}
    b = {case_id: _verdict_record(list(rs.values())) for case_id, rs in b_runs.items()}
    changes = []
    for case_id in sorted(set(a) | set(b)):
        ra, rb = a.get(case_id), b.get(case_id)
        if ra is None or rb is None:
            side, only = ("only in B", b[case_id]) if ra is None else ("only in A", a[case_id])
            changes.append(Change(case_id, side, detail=only["outcome"]))
            continue
        if ra["outcome"] != "ok" or rb["outcome"] != "ok":
            verdict = "regression" if ra["outcome"] == "ok" else "not comparable"
            if rb["outcome"] == "ok":
                verdict = "improvement"
            detail = f"{ra['outcome']} -> {rb['outcome']}"
            reason = rb.get("reason")
            if rb["outcome"] != "ok" and reason:
                detail += f": {reason[:120]}"
            changes.append(Change(case_id, verdict, detail=detail))
            continue
        ra_runs, rb_runs = a_runs[case_id], b_runs[case_id]
        pairs = _pairs(ra_runs, rb_runs) if len(a_paths) == len(b_paths) else None
        changes.append(judge(case_id, _launches(list(ra_runs.values())),
                             _launches(list(rb_runs.values())), threshold, pairs))  # fmt: skip
    return changes


def _pairs(
    a: dict[int, Record], b: dict[int, Record]
) -> tuple[list[stats.Times], list[stats.Times]] | None:
    """Run i of A with run i of B (runs given in the order they were made, interleaved),
    for every i where both hold the case; None for fewer than 2 such pairs."""
    both = sorted(set(a) & set(b))
    if len(both) < 2:
        return None
    return [fit_times(a[i]) for i in both], [fit_times(b[i]) for i in both]


def _runs(paths: list[Path]) -> dict[str, dict[int, Record]]:
    """Per case id, its record in each run of one side: run index (the path's position)
    -> record."""
    runs: dict[str, dict[int, Record]] = {}
    for i, path in enumerate(paths):
        for r in load([path]).cases:
            runs.setdefault(r["case_id"], {})[i] = r
    return runs


def _verdict_record(records: list[Record]) -> Record:
    """The record a side's outcome is read from: its first run's that gave no verified
    answer, else its first run's."""
    return next((r for r in records if r["outcome"] != "ok"), records[0])


def _launches(records: list[Record]) -> list[list[float]]:
    """Every launch of every run of a case on one side: the units the interval resamples."""
    return [launch for r in records for launch in fit_times(r)]


def judge(
    case_id: str,
    a: stats.Times,
    b: stats.Times,
    threshold: float,
    pairs: tuple[list[stats.Times], list[stats.Times]] | None = None,
) -> Change:
    """The verdict on one case from both sides' raw fit times (see the module's rule);
    with ``pairs`` (each side's runs, interleaved in time), the ratio is the paired one
    (:func:`~dmlbench.reports.stats.paired_ratio_interval`)."""
    ratio = stats.paired_ratio_interval(pairs[1], pairs[0]) if pairs else stats.ratio_interval(b, a)
    noise = max(stats.within_launch_cv(a), stats.within_launch_cv(b))
    change = Change(case_id, "same", stats.median_of(a), stats.median_of(b), ratio, noise)
    fewest = min(stats.n_fits(a), stats.n_fits(b))
    if fewest < MIN_FITS:
        change.verdict = "not comparable"
        change.detail = (
            f"too few timed fits ({stats.n_fits(a)} in A, {stats.n_fits(b)} in B; at least "
            f'{MIN_FITS} to judge: run with repeats >= {MIN_FITS} or "auto")'
        )
    elif noise > UNSTABLE_CV:
        change.verdict = "unstable"
        change.detail = f"fit times vary by {noise:.0%} (over {UNSTABLE_CV:.0%}): not judged"
    elif ratio.low > 1 + threshold:
        change.verdict = "regression"
    elif ratio.high < 1 / (1 + threshold):
        change.verdict = "improvement"
    return change


COLUMNS = ["case", "A median (s)", "B median (s)", "B/A [95 % interval]", "noise (CV)",
           "verdict", "detail"]  # fmt: skip


def format_changes(changes: list[Change], style: str = "plain") -> str:
    """The comparison as a Markdown table (``style="markdown"``) or aligned plain text."""
    rows = [
        [
            c.case_id,
            fmt(c.a_s),
            fmt(c.b_s),
            fmt(c.ratio),
            "" if c.noise is None else f"{c.noise:.1%}",
            c.verdict,
            c.detail,
        ]
        for c in changes
    ]
    counts: dict[str, int] = {}
    for c in changes:
        counts[c.verdict] = counts.get(c.verdict, 0) + 1
    summary = ", ".join(f"{counts[k]} {k}" for k in VERDICTS if k in counts)
    if style == "markdown":
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(v.replace("|", "\\|") for v in row) + " |" for row in rows]
        return "\n".join(lines) + f"\n\n{summary}\n"
    widths = [max(len(str(x)) for x in col) for col in zip(COLUMNS, *rows, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(COLUMNS, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines) + f"\n\n{summary}\n"


#: Calibration kernels (``environment.calibration``) that differ by more than this share
#: mean the two runs' machines ran at different speeds.
MACHINE_DRIFT = 0.20


def machine_note(a_paths: list[Path], b_paths: list[Path]) -> str | None:
    """A warning when the two runs' machines differed: their calibration kernels (timed at
    each run's start) more than :data:`MACHINE_DRIFT` apart. On a shared machine most
    A/A false alarms come from such runs (a neighbour's load), not from the code."""

    def kernel(paths: list[Path]) -> tuple[float, float] | None:
        for r in load(paths).cases:
            env, machine = r.get("environment"), r.get("machine")
            cal = None if env is None else env.get("calibration")
            if cal:
                load_1 = 0.0 if machine is None else machine["before"].get("loadavg", [0.0])[0]
                return cal["median_s"], load_1
        return None

    ka, kb = kernel(a_paths), kernel(b_paths)
    if ka is None or kb is None or abs(kb[0] / ka[0] - 1) <= MACHINE_DRIFT:
        return None
    return (
        f"note: the machine ran at a different speed in the two runs: the calibration "
        f"kernel took {ka[0] * 1e3:.1f} ms in A (load {ka[1]:.1f}) and {kb[0] * 1e3:.1f} ms "
        f"in B (load {kb[1]:.1f}); changes may be the machine's, not the code's"
    )


def rates(changes: list[Change]) -> dict[str, Any]:
    """How many compared cases got each verdict, and the share called a change (for
    calibration: an A/A comparison's ``flagged`` share is its false-positive rate)."""
    judged = [c for c in changes if c.ratio is not None]
    flagged = [c for c in judged if c.verdict in ("regression", "improvement")]
    return {
        "judged": len(judged),
        "flagged": len(flagged),
        "regressions": sum(c.verdict == "regression" for c in judged),
        "unstable": sum(c.verdict == "unstable" for c in judged),
        "flagged_share": len(flagged) / len(judged) if judged else 0.0,
    }
