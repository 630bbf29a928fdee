"""The ``dmlbench`` command line."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import textwrap
from collections import Counter
from pathlib import Path

from dmlbench.backends import (
    BackendUnavailable,
    available_backends,
    backend_names,
    is_int_at_least,
)
from dmlbench.backends._registry import check_system
from dmlbench.reports.compare import DEFAULT_THRESHOLD, UNSTABLE_CV


def _backends_arg(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in backend_names()]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unrecognized backend {unknown[0]!r} must be one of: {backend_names()}"
        )
    return names


def _patterns_arg(text: str) -> list[str]:
    from dmlbench.suites.bench.overhead import parse_patterns

    try:
        return parse_patterns(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _whole_number(text: str, low: int) -> int:
    """``text`` as an integer >= ``low`` (underscores allowed: 1_000_000), or a usage error."""
    expected = f"expected a whole number >= {low}"
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{expected}, got {text!r}") from None
    if not is_int_at_least(value, low):
        raise argparse.ArgumentTypeError(f"{expected}, got {value}")
    return value


def _positive_ints(text: str) -> list[int]:
    return [_positive_int(part) for part in text.split(",") if part.strip()]


def _positive_int(text: str) -> int:
    return _whole_number(text, 1)


def _count(text: str) -> int:
    return _whole_number(text, 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dmlbench",
        description="Benchmark distributed machine learning on Dask, Spark, Ray and one machine.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="run a suite: verified results, one JSONL record per case",
        description="Run a built-in suite (see `dmlbench list`) or a suite TOML file. Each "
        "finished case is appended to OUT/results.jsonl at once: an interrupted run loses "
        "nothing finished, and --resume runs only what is missing.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=textwrap.dedent("""\
            examples:
              dmlbench run quick                              # the README's main command
              dmlbench run quick --profile smoke --backends local,dask
              dmlbench run my_suite.toml --out results/mine --timeout 60
              dmlbench run scaling --resume --out results/scaling --report
              dmlbench run natives && dmlbench report results/natives   # vs dask-ml, MLlib
              dmlbench run quick --dask-scheduler tcp://10.0.0.5:8786 --backends dask --n-workers 3
        """),
    )
    run.add_argument("suite", metavar="SUITE|FILE")
    run.add_argument("--profile", default=None, help="a named profile of the suite")
    run.add_argument(
        "--backends",
        type=_backends_arg,
        default=None,
        help="replace the suite's backends axis (comma-separated)",
    )
    run.add_argument(
        "--n-workers", type=_int_list, default=None, help="replace the n_workers axis, e.g. 1,2"
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
    run.add_argument(
        "--dask-scheduler", default=None, metavar="ADDRESS",
        help="run on an existing Dask cluster: each case on n_workers of its workers "
        "(the same ones every time, spread over its hosts; more than it has: skipped)",
    )  # fmt: skip
    run.add_argument(
        "--spark-master", default=None, metavar="URL",
        help="run on an existing Spark standalone cluster: each case an application of "
        "n_workers one-core executors (fewer granted: skipped)",
    )  # fmt: skip
    run.add_argument(
        "--ray-address", default=None, metavar="ADDRESS",
        help="run on an existing Ray cluster (its head's host:6379; this machine runs a "
        "node of it): each case n_workers one-CPU actors in a placement group spread over "
        "its nodes (not granted: skipped)",
    )  # fmt: skip
    run.add_argument(
        "--spark-conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a Spark setting, over the driver memory sized from the cases "
        "(repeat for more; e.g. spark.driver.memory=8g)",
    )
    run.set_defaults(handler=_run)

    exp = sub.add_parser(
        "export-benchmark",
        help="convert results.jsonl to pytest-benchmark JSON (for pytest-benchmark compare)",
        description="Write the timed fits of dmlbench results as a pytest-benchmark JSON file.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=textwrap.dedent("""\
            example:
              dmlbench export-benchmark results/quick/results.jsonl -o .benchmarks/quick.json
              pytest-benchmark compare .benchmarks/quick.json .benchmarks/other.json
        """),
    )
    exp.add_argument("results", type=Path, nargs="+", metavar="RESULTS")
    exp.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    exp.set_defaults(handler=_export)

    rep = sub.add_parser(
        "report",
        help="HTML and Markdown report (scaling, comparison, quality) from stored results",
        description="Build a report from results files only (no engine is started): "
        "OUT/report.html (one self-contained file), OUT/report.md with OUT/figures/*.png, and "
        "OUT/summary.csv. RESULTS are results.jsonl files or their directories, and JSON "
        "files written by `dmlbench overhead --json`.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=textwrap.dedent("""\
            examples:
              dmlbench report results/quick
              dmlbench report results/scaling/results.jsonl overhead.json -o reports/scaling
        """),
    )
    rep.add_argument("results", type=Path, nargs="+", metavar="RESULTS")
    rep.add_argument(
        "-o",
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="where to write (default: report/ beside the first results file)",
    )
    rep.set_defaults(handler=_report)

    cmp_ = sub.add_parser(
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
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=textwrap.dedent("""\
            examples:
              dmlbench compare results/before results/after
              dmlbench compare base.jsonl new.jsonl --threshold 0.2 --format markdown
              dmlbench compare results/a1,results/a2,results/a3 results/b1,results/b2,results/b3
        """),
    )
    cmp_.add_argument(
        "a", type=_paths, metavar="A",
        help="the baseline run (several, comma-separated: runs interleaved with B's, "
        "pooled as launches)",
    )  # fmt: skip
    cmp_.add_argument("b", type=_paths, metavar="B", help="the run(s) to judge, likewise")
    cmp_.add_argument(
        "--threshold",
        type=_fraction,
        default=DEFAULT_THRESHOLD,
        help="smallest relative change that counts, as a fraction (0.1 = 10 %%; default "
        "%(default)s, calibrated by A/A runs: see the README)",
    )
    cmp_.add_argument("--format", choices=("plain", "markdown"), default="plain")
    cmp_.set_defaults(handler=_compare)

    lst = sub.add_parser(
        "list",
        help="algorithms, datasets, backends (installed?), suites",
        description="What dmlbench can run here: algorithms, datasets, backends with their "
        "install state, and the built-in suites with their number of cases.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  dmlbench list\n",
    )
    lst.set_defaults(handler=_list)
    doc = sub.add_parser(
        "doctor",
        help="engines, Java, versions, cores, BLAS threads, memory bandwidth, DGEMM",
        description="Check this machine: Python, cores, memory, BLAS and its threads, package "
        "versions, each backend (Spark: Java 17/21), the git commit; then measure its limits "
        "(numpy triad memory bandwidth on 1 and all cores, one core's DGEMM GFLOP/s) and "
        "store them for every later run's environment (DMLBENCH_CACHE_DIR, default "
        "~/.cache/dmlbench). Exit 1 on a problem.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  dmlbench doctor\n",
    )
    doc.set_defaults(handler=_doctor)

    over = sub.add_parser(
        "overhead",
        help="time one round of the backend protocol on each engine",
        description="Per backend: start-up time, the median time of one aggregate round over "
        "resident blocks with a trivial function, and an XᵀX aggregate over real data compared "
        "with numpy in this process on as many BLAS threads as the backend has workers.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=textwrap.dedent("""\
            examples:
              dmlbench overhead                          # every installed backend, 2 workers
              dmlbench overhead --backends dask,ray --json overhead.json
              dmlbench overhead --xtx-rows 0 --rounds 100   # round trip only
              dmlbench overhead --backends dask,ray --pattern tasks   # idiomatic pattern only
        """),
    )
    over.add_argument(
        "--backends",
        type=_backends_arg,
        default=None,
        help=f"comma-separated, from {backend_names()} (default: every installed)",
    )
    over.add_argument(
        "--n-workers",
        type=_positive_ints,
        default=[2],
        help="worker processes per engine, or a comma-separated list (1,2,4,8,16: counts "
        "above the cores run oversubscribed, recorded as such); local always uses 1; "
        "default 2",
    )
    over.add_argument(
        "--pattern",
        type=_patterns_arg,
        default=None,
        help="comma-separated patterns (resident, tasks) for the backends that offer several "
        "(Dask, Ray); default: every pattern of each backend",
    )
    over.add_argument("--blocks", type=_positive_int, default=8, help="blocks (default 8)")
    over.add_argument(
        "--rounds", type=_positive_int, default=30, help="timed rounds after warm-up (default 30)"
    )
    over.add_argument("--warmup", type=_count, default=10, help="untimed rounds first (default 10)")
    over.add_argument(
        "--xtx-rows",
        type=_count,
        default=8_000_000,
        help="rows of the XᵀX measurement, 0 to skip (default 8_000_000: 1.3 GB)",
    )
    over.add_argument(
        "--xtx-rounds", type=_positive_int, default=5, help="timed XᵀX rounds (default 5)"
    )
    over.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write the full measurements as JSON",
    )
    over.set_defaults(handler=_overhead)

    ker = sub.add_parser(
        "kernels",
        help="our kernels against scikit-learn's, one core, per iteration",
        description="Per kernel (k-means Lloyd iteration, logistic loss + gradient, MLP and "
        "CNN forward + backward per sample): ours on the local backend and scikit-learn in "
        "this process, one BLAS thread, the same rows and start, per iteration by the "
        "difference of a short and a long fit; repeats alternate the implementations.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=textwrap.dedent("""\
            examples:
              dmlbench kernels                           # all four, 5 repeats
              dmlbench kernels --kernels kmeans,logistic --repeats 7 --json kernels.json
        """),
    )
    ker.add_argument(
        "--kernels",
        type=_kernels_arg,
        default=None,
        help="comma-separated, from kmeans, logistic, mlp, cnn (default: all)",
    )
    ker.add_argument("--repeats", type=_positive_int, default=5, help="repeats (default 5)")
    ker.add_argument("--json", type=Path, default=None, metavar="FILE",
                     help="also write the measurements as JSON")  # fmt: skip
    ker.set_defaults(handler=_kernels)

    return parser


def _kernels_arg(text: str) -> list[str]:
    from dmlbench.suites.bench.kernels import SETUPS

    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SETUPS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unrecognized kernel {(unknown or [text])[0]!r} must be one of: {list(SETUPS)}"
        )
    return names


def _kernels(args: argparse.Namespace) -> int:
    from dmlbench.suites.bench.kernels import SETUPS, format_table, measure
    from dmlbench.suites.run.environment import environment

    names = args.kernels or list(SETUPS)
    results = []
    for name in names:
        print(f"{name}: {SETUPS[name]}", file=sys.stderr)
        results.append(measure(name, args.repeats, log=lambda m: print(m, file=sys.stderr)))
    print(format_table(results))
    if args.json:
        doc = {"kind": "kernels", "environment": environment(), "results": results}
        args.json.write_text(json.dumps(doc, indent=2, default=str))
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def _int_list(text: str) -> list[int]:
    return [_positive_int(part) for part in text.split(",") if part.strip()]


def _run(args: argparse.Namespace) -> int:
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
    from dmlbench.suites.run.resources import parse_conf
    from dmlbench.suites.run.run_lock import RunLocked
    from dmlbench.suites.run.runner import run_suite

    try:
        suite = load_suite(
            args.suite, profile=args.profile, backends=args.backends, n_workers=args.n_workers
        )
    except SuiteError as exc:
        print(f"dmlbench run: {exc}", file=sys.stderr)
        return 2
    if not suite.cases:
        why = "; ".join(suite.left_out) or "its grid is empty"
        print(f"dmlbench run: suite {suite.name} has no case to run here: {why}", file=sys.stderr)
        return 2
    args.case_ids = {c.id for c in suite.cases}  # for the line an interrupt ends with
    options = {
        name: {"address": address}
        for name, address in (
            ("dask", args.dask_scheduler),
            ("spark", args.spark_master),
            ("ray", args.ray_address),
        )
        if address
    }
    try:
        spark_conf = parse_conf(args.spark_conf)
    except SuiteError as exc:
        print(f"dmlbench run: {exc}", file=sys.stderr)
        return 2
    if spark_conf:
        options.setdefault("spark", {})["conf"] = spark_conf
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


def _verdict(records: list[dict]) -> str:
    """One line: how many of the run's answers were verified, and what went wrong."""
    from dmlbench.reports.records import PROBLEMS

    checked = [r for r in records if r.get("quality")]
    right = sum(1 for r in checked if r["quality"].get("ok"))
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


def _export(args: argparse.Namespace) -> int:
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


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def _paths(text: str) -> list[Path]:
    """One run's path, or several comma-separated (a side of an interleaved comparison)."""
    paths = [Path(part) for part in text.split(",") if part]
    if not paths:
        raise argparse.ArgumentTypeError(f"expected a results path, got {text!r}")
    return paths


def _report(args: argparse.Namespace) -> int:
    from dmlbench.reports.render import report
    from dmlbench.reports.results import ReportError

    first = args.results[0]
    out = args.out or (first if first.is_dir() else first.parent) / "report"
    try:
        paths = report(args.results, out, log=sys.stderr)
    except ReportError as exc:
        print(f"dmlbench report: {exc}", file=sys.stderr)
        return 2
    for path in paths.values():
        print(f"wrote {path}", file=sys.stderr)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from dmlbench.reports.compare import compare, format_changes, machine_note
    from dmlbench.reports.results import ReportError

    try:
        changes = compare(args.a, args.b, args.threshold)
        note = machine_note(args.a, args.b)
    except ReportError as exc:
        print(f"dmlbench compare: {exc}", file=sys.stderr)
        return 2
    print(format_changes(changes, args.format), end="")
    if note:
        print(note)
    return 1 if any(c.verdict == "regression" for c in changes) else 0


def _list(args: argparse.Namespace) -> int:
    from dmlbench.suites.define.spec import builtin_suites, load_suite
    from dmlbench.suites.define.workloads import ALGORITHMS, DATASETS

    print("algorithms:")
    for name, spec in ALGORITHMS.items():
        chosen = " (by default; its parameters choose)" if spec.metric_for else ""
        metric = spec.metric.name + chosen
        print(f"  {name:<20} {spec.estimator_name:<20} {spec.task}, metric {metric}")
    print("datasets:")
    for name, spec in DATASETS.items():
        kind = f"real (scikit-learn {spec.loader})" if spec.loader else "generated per block"
        print(f"  {name:<20} {spec.task:<15} {kind}")
    print("backends:")
    installed = available_backends()
    for name in backend_names():
        state = (
            "installed" if name in installed else f"not installed: pip install 'dmlbench[{name}]'"
        )
        print(f"  {name:<20} {state}")
    print("suites:")
    for name, path in builtin_suites().items():
        suite = load_suite(str(path))
        print(f"  {name:<20} {len(suite.cases)} cases  {suite.description}")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from dmlbench.suites.bench.limits import measure as measure_limits
    from dmlbench.suites.bench.limits import store as store_limits
    from dmlbench.suites.run.environment import environment

    env = environment()
    print(f"python {env['python']} on {env['platform']}")
    print(f"cores {env['cores']}, memory {env['memory_gb']} GiB")
    print("BLAS: " + ("; ".join(env["blas"]) or "none found"))
    for pkg, version in env["versions"].items():
        print(f"  {pkg:<14} {version}")
    print("backends:")
    problems = 0
    for name in backend_names():
        if name not in available_backends():
            print(f"  {name:<6} not installed: pip install 'dmlbench[{name}]'")
            continue
        try:
            print(f"  {name:<6} {check_system(name)}")
        except BackendUnavailable as exc:
            problems += 1
            print(f"  {name:<6} PROBLEM: {exc}")
    print(f"git commit {env['git_commit']}")
    limits = measure_limits()
    triad = ", ".join(f"{gbs:.1f} GB/s on {n} core(s)" for n, gbs in limits["triad_gbs"].items())
    print(f"memory bandwidth (numpy triad): {triad}")
    print(f"DGEMM, one core: {limits['dgemm_gflops']:.1f} GFLOP/s")
    try:
        print(f"  stored in {store_limits(limits)}: every run's environment carries them")
    except OSError as exc:
        print(f"  not stored ({exc}): each run will measure them itself")
    return 1 if problems else 0


def _overhead(args: argparse.Namespace) -> int:
    from dmlbench.suites.bench.overhead import format_table, run_overhead

    names = args.backends or available_backends()
    missing = [n for n in names if n not in available_backends()]
    if missing:
        print(
            f"dmlbench overhead: not installed: {missing}; "
            f"pip install 'dmlbench[{','.join(missing)}]'",
            file=sys.stderr,
        )
        return 2
    report = run_overhead(
        names,
        n_workers=args.n_workers,
        n_blocks=args.blocks,
        rounds=args.rounds,
        warmup=args.warmup,
        xtx_rows=args.xtx_rows,
        xtx_rounds=args.xtx_rounds,
        patterns=args.pattern,
    )
    print(format_table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
        print(f"wrote {args.json}", file=sys.stderr)
    return 1 if any("error" in r for r in report["results"]) else 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # what to repeat, with --resume, after an interrupt
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
