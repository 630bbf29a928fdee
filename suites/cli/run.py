"""``dmlbench run``: run a suite, then say where the results are and whether every answer
was right; an interrupted run says what is recorded and how to go on."""

from __future__ import annotations

import argparse
import shlex
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

from dmlbench.backends.registry import run_flags
from dmlbench.reports.records import Record
from dmlbench.suites.cli.arguments import Command, backends_arg, positive_int, positive_ints


def add_arguments(run: argparse.ArgumentParser) -> None:
    """The suite, the axes the command line replaces, and where and how long to run."""
    run.add_argument("suite", metavar="SUITE|FILE")
    run.add_argument("--profile", default=None, help="a named profile of the suite")
    run.add_argument(
        "--backends",
        type=backends_arg,
        default=None,
        help="replace the suite's backends axis (comma-separated)",
    )
    run.add_argument(
        "--n-workers", type=positive_ints, default=None, help="replace the n_workers axis, e.g. 1,2"
    )
    run.add_argument(
        "--launches",
        type=positive_int,
        default=None,
        help="replace the suite's launches per case (fresh engines, interleaved in time)",
    )
    run.add_argument(
        "--out", type=Path, default=None, help="results folder (default: results/SUITE)"
    )
    run.add_argument("--resume", action="store_true", help="run only cases not yet recorded")
    run.add_argument(
        "--report",
        action="store_true",
        help="write the report (OUT/report/report.html, .md, summary.csv) when the run ends",
    )
    run.add_argument("--timeout", type=float, default=None, help="seconds per case")
    add_backend_flags(run)


def add_backend_flags(run: argparse.ArgumentParser) -> None:
    """The flags the backends declare in their registry entries: an existing cluster's
    address (one value), engine settings (``KEY=VALUE``, repeated)."""
    for _, option, flag in run_flags():
        if option == "conf":
            run.add_argument(
                flag.flag, action="append", default=[], metavar=flag.metavar, help=flag.help
            )
        else:
            run.add_argument(flag.flag, default=None, metavar=flag.metavar, help=flag.help)


def backend_options(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The ``get_backend`` options the backends' flags set, per backend: the addresses,
    then the settings (a dict of the ``KEY=VALUE`` pairs, a later key winning).

    Raises
    ------
    SuiteError
        A setting is not ``KEY=VALUE``.
    """
    from dmlbench.suites.run.resources import parse_conf

    options: dict[str, dict[str, Any]] = {}
    for name, option, flag in run_flags():
        value = getattr(args, flag.dest)
        if option == "conf":
            value = parse_conf(value, flag)
        if value:
            options.setdefault(name, {})[option] = value
    return options


def run(args: argparse.Namespace) -> int:
    """``dmlbench run``, ending with one line on an interrupt."""
    from dmlbench.suites.run import interrupts

    with interrupts.interruptible():  # a no-op under the console script, which has one
        interrupts.farewell(lambda: _farewell(args))
        try:
            return _run_suite(args)
        except BaseException as exc:  # an interrupt ends with one line; anything else raises
            return interrupts.exit_status_after(exc, "dmlbench run")


def _run_suite(args: argparse.Namespace) -> int:
    from dmlbench.reports.records import RecordsError, ResultsWriteError, read_records
    from dmlbench.suites.define.spec import SuiteError, load_suite
    from dmlbench.suites.run.run_lock import RunLocked
    from dmlbench.suites.run.runner import run_suite

    try:
        suite = load_suite(
            args.suite,
            profile=args.profile,
            backends=args.backends,
            n_workers=args.n_workers,
            launches=args.launches,
        )
    except SuiteError as exc:
        print(f"dmlbench run: {exc}", file=sys.stderr)
        return 2
    if not suite.cases:
        why = "; ".join(suite.left_out) or "its grid is empty"
        print(f"dmlbench run: suite {suite.name} has no case to run here: {why}", file=sys.stderr)
        return 2
    args.case_ids = {c.id for c in suite.cases}  # for the line an interrupt ends with
    try:
        options = backend_options(args)
    except SuiteError as exc:
        print(f"dmlbench run: {exc}", file=sys.stderr)
        return 2
    out = args.out = args.out or Path("results") / suite.name
    print(f"suite {suite.name}: {len(suite.cases)} cases -> {out}/results.jsonl", file=sys.stderr)
    try:
        path = run_suite(suite, out, resume=args.resume, timeout=args.timeout, options=options)
    except (FileExistsError, SuiteError, RecordsError, RunLocked) as exc:
        print(f"dmlbench run: {exc}", file=sys.stderr)
        return 2
    except ResultsWriteError as exc:  # the run stopped at a record it could not write
        again = shlex.join([a for a in args.argv if a != "--resume"] + ["--resume"])
        print(f"dmlbench run: {exc}; {_recorded(args)}; once it can be written: "
              f"dmlbench {again}", file=sys.stderr)  # fmt: skip
        return 2
    records = [r for r in read_records(path) if r["case_id"] in args.case_ids]
    outcomes = Counter(r["outcome"] for r in records)
    print(f"results: {path} (" + ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())) + ")")
    print(f"report:  {_report_after_run(args, out)}")
    print(f"verdict: {_verdict(records)}")
    # 0 only when every answer is verified (or could not run here, with its reason).
    return 0 if set(outcomes) <= {"ok", "skipped"} else 1


def _report_after_run(args: argparse.Namespace, out: Path) -> str:
    """Write the run's report when asked (``--report``); where it is, or how to write it."""
    if not args.report:
        return f"not written (add --report, or: dmlbench report {out})"
    from dmlbench.reports.render import report

    try:  # the report reads the whole results file: earlier runs into --out included
        return str(report([out], out / "report")["html"])
    except Exception as exc:  # noqa: BLE001 - the results are safe; say why, go on
        return f"not written ({type(exc).__name__}: {exc}); dmlbench report {out}"


def _verdict(records: list[Record]) -> str:
    """One line: how many of the run's answers were verified, and what went wrong."""
    from dmlbench.reports.records import PROBLEMS

    checked = [quality for r in records if (quality := r.get("quality"))]
    right = sum(1 for quality in checked if quality.get("ok"))
    bad = Counter(r["outcome"] for r in records if r["outcome"] in PROBLEMS)
    skipped = sum(1 for r in records if r["outcome"] == "skipped")
    line = f"{right} of {len(checked)} answers checked are right"
    if bad:
        line = f"{sum(bad.values())} case(s) gave no verified answer (" + ", ".join(
            f"{n} {k}" for k, n in sorted(bad.items())) + f"); {line}"  # fmt: skip
    elif checked and right == len(checked):
        line = f"every answer checked is right ({right} of {len(checked)})"
    return line + (f"; {skipped} skipped (see their reasons)" if skipped else "")


def _farewell(args: argparse.Namespace) -> str:
    """The line an interrupted run ends with: what is recorded, how to go on."""
    from dmlbench.suites.run.interrupts import resume_line

    return resume_line(args.argv, _recorded(args))


def _recorded(args: argparse.Namespace) -> str:
    """``"3 of 8 cases recorded"`` for the run's suite (``"no cases recorded"`` before it
    was read)."""
    from dmlbench.reports.records import RESULTS_NAME, RecordsError, read_records

    out, ids = getattr(args, "out", None), getattr(args, "case_ids", None)
    if out is None or ids is None:
        return "no cases recorded"
    try:
        done = {r["case_id"] for r in read_records(Path(out) / RESULTS_NAME)}
    except RecordsError:  # none yet
        done = set()
    return f"{len(done & ids)} of {len(ids)} cases recorded"


RUN = Command(
    "run",
    help="run a suite: verified results, one JSONL record per case",
    description="Run a built-in suite (see `dmlbench list`) or a suite TOML file. Each "
    "finished case is appended to OUT/results.jsonl at once: an interrupted run loses "
    "nothing finished, and --resume runs only what is missing.",
    epilog=textwrap.dedent("""\
        examples:
          dmlbench run quick                              # the README's main command
          dmlbench run quick --profile smoke --backends local,dask
          dmlbench run my_suite.toml --out results/mine --timeout 60
          dmlbench run scaling --resume --out results/scaling --report
          dmlbench run natives && dmlbench report results/natives   # vs dask-ml, MLlib
          dmlbench run quick --dask-scheduler tcp://10.0.0.5:8786 --backends dask --n-workers 3
    """),
    handler=run,
    arguments=add_arguments,
)
