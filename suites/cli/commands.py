"""The ``dmlbench`` command line: one table of subcommands, each declared beside the code
that runs it.

* :mod:`~dmlbench.suites.cli.run`: ``run``, whose cluster and engine flags come from the
  backend registry (:func:`dmlbench.backends.registry.run_flags`);
* :mod:`~dmlbench.suites.cli.results`: ``export-benchmark``, ``report``, ``compare``
  (stored results only);
* :mod:`~dmlbench.suites.cli.reproduce`: ``reproduce`` (one recorded case run again);
* :mod:`~dmlbench.suites.cli.publish`: ``publish`` (the docs site's generated pages);
* :mod:`~dmlbench.suites.cli.machine`: ``list``, ``doctor``, ``overhead``, ``kernels``.

A new subcommand is a :class:`~dmlbench.suites.cli.arguments.Command` in one of them and
a line in :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import sys

from dmlbench.suites.cli import machine, results
from dmlbench.suites.cli.arguments import Command
from dmlbench.suites.cli.publish import PUBLISH
from dmlbench.suites.cli.reproduce import REPRODUCE
from dmlbench.suites.cli.run import RUN

#: The subcommands, in the order ``dmlbench --help`` lists them.
COMMANDS: tuple[Command, ...] = (
    RUN,
    results.EXPORT,
    results.REPORT,
    results.COMPARE,
    REPRODUCE,
    PUBLISH,
    machine.LIST,
    machine.DOCTOR,
    machine.OVERHEAD,
    machine.KERNELS,
)


def build_parser() -> argparse.ArgumentParser:
    """The ``dmlbench`` parser: one subparser per entry of :data:`COMMANDS`, its
    ``handler`` set to the function that runs it."""
    parser = argparse.ArgumentParser(
        prog="dmlbench",
        description="Benchmark distributed machine learning on Dask, Spark, Ray and one machine.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        parsed = sub.add_parser(
            command.name,
            help=command.help,
            description=command.description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            epilog=command.epilog,
        )
        if command.arguments is not None:
            command.arguments(parsed)
        parsed.set_defaults(handler=command.handler)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``dmlbench`` with ``argv`` (default: the command line); its exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # what to repeat, with --resume, after an interrupt
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
