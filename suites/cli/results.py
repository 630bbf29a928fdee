"""The commands that read stored results and start no engine: ``dmlbench report``,
``dmlbench compare`` and ``dmlbench export-benchmark``."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from dmlbench.reports.thresholds import DEFAULT_THRESHOLD, UNSTABLE_CV
from dmlbench.suites.cli.arguments import Command, fraction, paths


def export(args: argparse.Namespace) -> int:
    """``dmlbench export-benchmark``: the timed fits as a pytest-benchmark JSON file."""
    from dmlbench.reports.pytest_benchmark_export import to_pytest_benchmark
    from dmlbench.reports.records import RecordsError, read_records

    try:
        records = [r for path in args.results for r in read_records(path)]
    except RecordsError as exc:
        print(f"dmlbench export-benchmark: {exc}", file=sys.stderr)
        return 2
    if not records:
        print(f"dmlbench export-benchmark: no records in {args.results}", file=sys.stderr)
        return 2
    doc = to_pytest_benchmark(records)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(doc, indent=2))
    print(f"wrote {len(doc['benchmarks'])} benchmarks to {args.output}", file=sys.stderr)
    return 0


def report(args: argparse.Namespace) -> int:
    """``dmlbench report``: HTML, Markdown and CSV from results files."""
    from dmlbench.reports.render import report as write_report
    from dmlbench.reports.results import ReportError

    first = args.results[0]
    out = args.out or (first if first.is_dir() else first.parent) / "report"
    try:
        written = write_report(args.results, out, log=sys.stderr)
    except ReportError as exc:
        print(f"dmlbench report: {exc}", file=sys.stderr)
        return 2
    for path in written.values():
        print(f"wrote {path}", file=sys.stderr)
    return 0


def compare(args: argparse.Namespace) -> int:
    """``dmlbench compare``: exit status 1 when a case regressed."""
    from dmlbench.reports.compare import compare as compare_runs
    from dmlbench.reports.compare import format_changes, machine_note
    from dmlbench.reports.results import ReportError

    try:
        changes = compare_runs(args.a, args.b, args.threshold)
        note = machine_note(args.a, args.b)
    except ReportError as exc:
        print(f"dmlbench compare: {exc}", file=sys.stderr)
        return 2
    print(format_changes(changes, args.format), end="")
    if note:
        print(note)
    return 1 if any(c.verdict == "regression" for c in changes) else 0


def _export_arguments(exp: argparse.ArgumentParser) -> None:
    exp.add_argument("results", type=Path, nargs="+", metavar="RESULTS")
    exp.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")


def _report_arguments(rep: argparse.ArgumentParser) -> None:
    rep.add_argument("results", type=Path, nargs="+", metavar="RESULTS")
    rep.add_argument(
        "-o",
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="where to write (default: report/ beside the first results file)",
    )


def _compare_arguments(cmp_: argparse.ArgumentParser) -> None:
    cmp_.add_argument(
        "a", type=paths, metavar="A",
        help="the baseline run (several, comma-separated: runs interleaved with B's, "
        "pooled as launches)",
    )  # fmt: skip
    cmp_.add_argument("b", type=paths, metavar="B", help="the run(s) to judge, likewise")
    cmp_.add_argument(
        "--threshold",
        type=fraction,
        default=DEFAULT_THRESHOLD,
        help="smallest relative change that counts, as a fraction (0.1 = 10 %%; default "
        "%(default)s, calibrated by A/A runs: see the README)",
    )
    cmp_.add_argument("--format", choices=("plain", "markdown"), default="plain")


EXPORT = Command(
    "export-benchmark",
    help="convert results.jsonl to pytest-benchmark JSON (for pytest-benchmark compare)",
    description="Write the timed fits of dmlbench results as a pytest-benchmark JSON file.",
    epilog=textwrap.dedent("""\
        example:
          dmlbench export-benchmark results/quick/results.jsonl -o .benchmarks/quick.json
          pytest-benchmark compare .benchmarks/quick.json .benchmarks/other.json
    """),
    handler=export,
    arguments=_export_arguments,
)

REPORT = Command(
    "report",
    help="HTML and Markdown report (scaling, comparison, quality) from stored results",
    description="Build a report from results files only (no engine is started): "
    "OUT/report.html (one self-contained file), OUT/report.md with OUT/figures/*.png, and "
    "OUT/summary.csv. RESULTS are results.jsonl files or their directories, and JSON "
    "files written by `dmlbench overhead --json`.",
    epilog=textwrap.dedent("""\
        examples:
          dmlbench report results/quick
          dmlbench report results/scaling/results.jsonl overhead.json -o reports/scaling
    """),
    handler=report,
    arguments=_report_arguments,
)

COMPARE = Command(
    "compare",
    help="compare two runs case by case; exit 1 on a regression",
    description="Per case: B's median fit time over A's, with its 95 % bootstrap "
    "interval from both sides' raw fit times. A change counts only when the whole "
    "interval lies beyond 1 + threshold (regression) or below 1 / (1 + threshold) "
    f"(improvement); a side whose fits vary by more than {UNSTABLE_CV * 100:.0f} % "
    "(coefficient of variation) is 'unstable', not judged; a case that was ok in A and "
    "not in B is a regression. A note says when the two runs' machines ran at different "
    "speeds (their calibration kernels). Exit status 1 if any case regressed, 0 "
    "otherwise (for CI).",
    epilog=textwrap.dedent("""\
        examples:
          dmlbench compare results/before results/after
          dmlbench compare base.jsonl new.jsonl --threshold 0.2 --format markdown
          dmlbench compare results/a1,results/a2,results/a3 results/b1,results/b2,results/b3
    """),
    handler=compare,
    arguments=_compare_arguments,
)
