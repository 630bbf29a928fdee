"""The commands about this machine and its engines: ``dmlbench list``, ``dmlbench doctor``,
and the side benchmarks ``dmlbench overhead`` and ``dmlbench kernels``."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
from pathlib import Path

from dmlbench.backends import BackendUnavailable, available_backends, backend_names
from dmlbench.backends.registry import check_system, install_hint
from dmlbench.suites.cli.arguments import (
    Command,
    backends_arg,
    count,
    kernels_arg,
    patterns_arg,
    positive_int,
    positive_ints,
)


def list_all(args: argparse.Namespace) -> int:
    """``dmlbench list``: algorithms, datasets, backends and built-in suites."""
    from dmlbench.suites.define.spec import builtin_suites, load_suite
    from dmlbench.suites.define.workloads import ALGORITHMS, DATASETS

    print("algorithms:")
    for name, spec in ALGORITHMS.items():
        chosen = " (by default; its parameters choose)" if spec.check.metric_for else ""
        metric = spec.metric.name + chosen
        print(f"  {name:<20} {spec.estimator_name:<20} {spec.task}, metric {metric}")
    print("datasets:")
    for name, data in DATASETS.items():
        kind = f"real (scikit-learn {data.loader})" if data.loader else "generated per block"
        print(f"  {name:<20} {data.task:<15} {kind}")
    print("backends:")
    installed = available_backends()
    for name in backend_names():
        state = "installed" if name in installed else f"not installed: {install_hint(name)}"
        print(f"  {name:<20} {state}")
    print("suites:")
    for name, path in builtin_suites().items():
        suite = load_suite(str(path))
        print(f"  {name:<20} {len(suite.cases)} cases  {suite.description}")
    return 0


def doctor(args: argparse.Namespace) -> int:
    """``dmlbench doctor``: exit status 1 when a backend cannot run here."""
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
            print(f"  {name:<6} not installed: {install_hint(name)}")
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


def overhead(args: argparse.Namespace) -> int:
    """``dmlbench overhead``: exit status 1 when a backend failed its measurement."""
    from dmlbench.suites.bench.overhead import format_table, run_overhead

    names = args.backends or available_backends()
    missing = [n for n in names if n not in available_backends()]
    if missing:
        print(f"dmlbench overhead: not installed: {missing}; {install_hint(*missing)}",
              file=sys.stderr)  # fmt: skip
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
        from dmlbench.suites.run.environment import environment

        report["environment"] = environment()  # what it was measured on, the code included
        report["measured_at"] = time.time()
        args.json.write_text(json.dumps(report, indent=2, default=str))
        print(f"wrote {args.json}", file=sys.stderr)
    return 1 if any("error" in r for r in report["results"]) else 0


def kernels(args: argparse.Namespace) -> int:
    """``dmlbench kernels``: ours against scikit-learn's, per kernel."""
    from dmlbench.suites.bench.kernel_timings import SETUPS, format_table, measure
    from dmlbench.suites.run.environment import environment

    names = args.kernels or list(SETUPS)
    results = []
    for name in names:
        print(f"{name}: {SETUPS[name]}", file=sys.stderr)
        results.append(measure(name, args.repeats, log=lambda m: print(m, file=sys.stderr)))
    print(format_table(results))
    if args.json:
        doc = {"kind": "kernels", "environment": environment(), "measured_at": time.time(),
               "results": results}  # fmt: skip
        args.json.write_text(json.dumps(doc, indent=2, default=str))
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def _overhead_arguments(over: argparse.ArgumentParser) -> None:
    over.add_argument(
        "--backends",
        type=backends_arg,
        default=None,
        help=f"comma-separated, from {backend_names()} (default: every installed)",
    )
    over.add_argument(
        "--n-workers",
        type=positive_ints,
        default=[2],
        help="worker processes per engine, or a comma-separated list (1,2,4,8,16: counts "
        "above the cores run oversubscribed, recorded as such); local always uses 1; "
        "default 2",
    )
    over.add_argument(
        "--pattern",
        type=patterns_arg,
        default=None,
        help="comma-separated patterns (resident, tasks) for the backends that offer several "
        "(Dask, Ray); default: every pattern of each backend",
    )
    over.add_argument("--blocks", type=positive_int, default=8, help="blocks (default 8)")
    over.add_argument(
        "--rounds",
        type=positive_int,
        default=50,
        help="timed rounds of ours after warm-up, each followed or preceded by one of the "
        "engine's bare round trip, in groups of 10 (rounded up; at least 2 groups; default 50)",
    )
    over.add_argument("--warmup", type=count, default=10, help="untimed rounds first (default 10)")
    over.add_argument(
        "--xtx-rows",
        type=count,
        default=8_000_000,
        help="rows of the XᵀX measurement, 0 to skip (default 8_000_000: 1.3 GB)",
    )
    over.add_argument(
        "--xtx-rounds", type=positive_int, default=5, help="timed XᵀX rounds (default 5)"
    )
    over.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write the full measurements as JSON",
    )


def _kernels_arguments(ker: argparse.ArgumentParser) -> None:
    ker.add_argument(
        "--kernels",
        type=kernels_arg,
        default=None,
        help="comma-separated, from kmeans, logistic, mlp, cnn (default: all)",
    )
    ker.add_argument("--repeats", type=positive_int, default=5, help="repeats (default 5)")
    ker.add_argument("--json", type=Path, default=None, metavar="FILE",
                     help="also write the measurements as JSON")  # fmt: skip


LIST = Command(
    "list",
    help="algorithms, datasets, backends (installed?), suites",
    description="What dmlbench can run here: algorithms, datasets, backends with their "
    "install state, and the built-in suites with their number of cases.",
    epilog="example:\n  dmlbench list\n",
    handler=list_all,
)

DOCTOR = Command(
    "doctor",
    help="engines, Java, versions, cores, BLAS threads, memory bandwidth, DGEMM",
    description="Check this machine: Python, cores, memory, BLAS and its threads, package "
    "versions, each backend (Spark: Java 17/21), the git commit; then measure its limits "
    "(numpy triad memory bandwidth on 1 and all cores, one core's DGEMM GFLOP/s) and "
    "store them for every later run's environment (DMLBENCH_CACHE_DIR, default "
    "~/.cache/dmlbench). Exit 1 on a problem.",
    epilog="example:\n  dmlbench doctor\n",
    handler=doctor,
)

OVERHEAD = Command(
    "overhead",
    help="time one round of the backend protocol on each engine",
    description="Per backend: start-up time, the median time of one aggregate round over "
    "resident blocks with a trivial function beside the engine's own bare round trip over "
    "the same workers (a no-op Client.run, actor call, task per block or Spark job), "
    "alternating, and ours ÷ bare with its 95% interval over groups of 10 rounds; then an "
    "XᵀX aggregate over real data compared with numpy in this process on as many BLAS "
    "threads as the backend has workers.",
    epilog=textwrap.dedent("""\
        examples:
          dmlbench overhead                          # every installed backend, 2 workers
          dmlbench overhead --backends dask,ray --json overhead.json
          dmlbench overhead --xtx-rows 0 --rounds 100   # round trip only
          dmlbench overhead --backends dask,ray --pattern tasks   # idiomatic pattern only
    """),
    handler=overhead,
    arguments=_overhead_arguments,
)

KERNELS = Command(
    "kernels",
    help="our kernels against scikit-learn's, one core, per iteration",
    description="Per kernel (k-means Lloyd iteration, logistic loss + gradient, MLP and "
    "CNN forward + backward per sample): ours on the local backend and scikit-learn in "
    "this process, one BLAS thread, the same rows and start, per iteration by the "
    "difference of a short and a long fit; repeats alternate the implementations.",
    epilog=textwrap.dedent("""\
        examples:
          dmlbench kernels                           # all four, 5 repeats
          dmlbench kernels --kernels kmeans,logistic --repeats 7 --json kernels.json
    """),
    handler=kernels,
    arguments=_kernels_arguments,
)
