"""``dmlbench reproduce``: one recorded case run again, and the verdict on the change."""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from pathlib import Path

from dmlbench.reports.thresholds import DEFAULT_THRESHOLD
from dmlbench.suites.cli.arguments import Command, fraction, positive_int


def reproduce(args: argparse.Namespace) -> int:
    """Exit status 0 when the new median is the same or faster, 1 when it is slower or
    gave no verified answer (or unstable, not comparable), 2 for bad input."""
    from dmlbench.suites.run.reproduce import ReproduceError, case_of, find_record
    from dmlbench.suites.run.reproduce import reproduce as run_again

    try:
        record = find_record(args.results, args.case_id)
        case = case_of(record, args.launches)
    except (ReproduceError, ValueError) as exc:
        print(f"dmlbench reproduce: {exc}", file=sys.stderr)
        return 2
    out = args.out or Path("results") / "reproduce" / time.strftime("%Y%m%d-%H%M%S")
    print(f"case {case.id}: {case.launches} launch(es) into {out}", file=sys.stderr)
    try:
        result = run_again(record, out, launches=args.launches, threshold=args.threshold)
    except (ReproduceError, FileExistsError) as exc:
        print(f"dmlbench reproduce: {exc}", file=sys.stderr)
        return 2
    print("this machine against the record's:")
    for line in result.differences or ["the same packages, BLAS, cores and code"]:
        print(f"  {line}")
    c = result.change
    old_n, new_n = _fits(result.old), _fits(result.new)
    print(f"recorded median: {c.a_s:.4g} s ({old_n})" if c.a_s else "recorded median: -")
    print(f"new median:      {c.b_s:.4g} s ({new_n})" if c.b_s else "new median: -")
    if c.ratio is not None:
        print(f"new / recorded:  {c.ratio.format('.3g', '×')}")
    print(f"verdict: {result.verdict}" + (f" ({c.detail})" if c.detail else ""))
    return 0 if result.verdict in ("same", "faster") else 1


def _fits(record) -> str:
    from dmlbench.reports.results import fit_times

    launches = fit_times(record)
    n = sum(len(x) for x in launches)
    return f"{n} timed fits in {len(launches)} launch{'es' if len(launches) > 1 else ''}"


def _arguments(rep: argparse.ArgumentParser) -> None:
    rep.add_argument(
        "results", metavar="RESULTS",
        help="a results.jsonl (or .jsonl.gz) file or its folder; - for one record on stdin",
    )  # fmt: skip
    rep.add_argument("case_id", nargs="?", default=None, metavar="CASE_ID",
                     help="the case to run again (not needed for a record on stdin)")  # fmt: skip
    rep.add_argument(
        "--launches",
        type=positive_int,
        default=None,
        help="fresh engine launches (default: the record's)",
    )
    rep.add_argument(
        "--out", type=Path, default=None, metavar="DIR",
        help="where the new record goes (default: results/reproduce/DATE-TIME)",
    )  # fmt: skip
    rep.add_argument(
        "--threshold",
        type=fraction,
        default=DEFAULT_THRESHOLD,
        help="smallest relative change that counts, as in compare (default %(default)s)",
    )


REPRODUCE = Command(
    "reproduce",
    help="run one recorded case again and judge the new median against the old",
    description="Re-run one case from its record: the same suite parameters, seed, start, "
    "settings, pattern and worker count. First says how this machine differs from the "
    "record's (the engines' and numeric packages' versions, BLAS, cores, the code), then "
    "prints the new median beside the recorded one with compare's calibrated verdict: "
    "same, faster, slower or unstable. Exit status 0 for same or faster, 1 otherwise.",
    epilog=textwrap.dedent("""\
        examples:
          dmlbench reproduce docs/results/natives 'kmeans/overlapping_blobs/dmlbench/dask/w2/...'
          grep '"dask:resident"' results/quick/results.jsonl | head -1 | dmlbench reproduce -
    """),
    handler=reproduce,
    arguments=_arguments,
)
