"""Compare two runs case by case: B's median fit time over A's, against the noise.

A change counts only beyond both the threshold and the runs' own measured noise (the
relative spread of each side's timed fits), so repeats make the verdict sharper. A case
that gave a verified answer in A and not in B is a regression too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dmlbench.reports.metrics import relative_spread
from dmlbench.reports.render import fmt
from dmlbench.reports.results import load

VERDICTS = ("regression", "improvement", "same", "only in A", "only in B", "not comparable")


@dataclass
class Change:
    """One case of the comparison."""

    case_id: str
    verdict: str  # one of VERDICTS
    a_s: float | None = None
    b_s: float | None = None
    ratio: float | None = None
    noise: float | None = None
    detail: str = ""


def compare(a_paths: list[Path], b_paths: list[Path], threshold: float = 0.10) -> list[Change]:
    """Per case present in either run: its verdict. ``threshold`` is relative (0.10 = 10 %)."""
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0; got {threshold}")
    a = {r["case_id"]: r for r in load(a_paths).cases}
    b = {r["case_id"]: r for r in load(b_paths).cases}
    changes = []
    for case_id in sorted(set(a) | set(b)):
        ra, rb = a.get(case_id), b.get(case_id)
        if ra is None or rb is None:
            side = "only in B" if ra is None else "only in A"
            only = rb or ra
            changes.append(Change(case_id, side, detail=only["outcome"]))
            continue
        if ra["outcome"] != "ok" or rb["outcome"] != "ok":
            verdict = "regression" if ra["outcome"] == "ok" else "not comparable"
            if rb["outcome"] == "ok":
                verdict = "improvement"
            detail = f"{ra['outcome']} -> {rb['outcome']}"
            if rb["outcome"] != "ok" and rb.get("reason"):
                detail += f": {rb['reason'][:120]}"
            changes.append(Change(case_id, verdict, detail=detail))
            continue
        ta, tb = ra["fit_median_s"], rb["fit_median_s"]
        noise = max(_noise(ra), _noise(rb))
        ratio = tb / ta
        bound = max(threshold, noise)
        verdict = "same"
        if ratio > 1 + bound:
            verdict = "regression"
        elif ratio < 1 / (1 + bound):
            verdict = "improvement"
        changes.append(Change(case_id, verdict, ta, tb, ratio, noise))
    return changes


def _noise(record: dict[str, Any]) -> float:
    return relative_spread(record["fit_median_s"], record["fit_spread_s"])


COLUMNS = ["case", "A median (s)", "B median (s)", "B/A", "noise", "verdict", "detail"]


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
