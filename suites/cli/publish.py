"""``dmlbench publish``: store a run for the docs site and regenerate its generated pages,
or check that they are what the code and the stored runs give."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from dmlbench.suites.cli.arguments import Command


def publish(args: argparse.Namespace) -> int:
    """Exit status 0; 1 when ``--check`` finds a page that differs (or, with
    ``--fail-stale``, a stale run); 2 for bad input."""
    from dmlbench.suites.publish.generate import check, generate, stale
    from dmlbench.suites.publish.published import published
    from dmlbench.suites.publish.results_pages import PublishError, store

    docs: Path = args.docs
    if not (docs / "index.md").exists():
        print(f"dmlbench publish: {docs} is not the docs folder (no index.md); give --docs",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.check:
        problems = check(docs)
        for line in problems:
            print(line)
        old = stale(docs)
        for line in old:
            print(f"stale: {line}")
        fine = not problems and not (args.fail_stale and old)
        print(f"{'ok' if not problems else 'FAILED'}: generated pages checked against the "
              f"code and the stored runs ({len(problems)} differ, {len(old)} stale)")  # fmt: skip
        return 0 if fine else 1
    try:
        if args.run is not None:
            if args.name is None:
                raise PublishError("give --name NAME: which published run this is")
            stored = store(args.run, published(args.name), docs)
            print(f"stored {stored}", file=sys.stderr)
        written = generate(docs, docs)
    except (PublishError, ValueError) as exc:
        print(f"dmlbench publish: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} generated files under {docs}", file=sys.stderr)
    return 0


def _arguments(pub: argparse.ArgumentParser) -> None:
    pub.add_argument("run", type=Path, nargs="?", default=None, metavar="RUN",
                     help="a results folder or file (or the JSON of overhead/kernels) to "
                     "store as published run NAME")  # fmt: skip
    pub.add_argument("--name", default=None, help="the published run RUN is (see the table)")
    pub.add_argument("--docs", type=Path, default=Path("docs"), metavar="DIR",
                     help="the docs folder (default: docs)")  # fmt: skip
    pub.add_argument("--check", action="store_true",
                     help="regenerate into a temporary folder and fail on any difference; "
                     "name the runs older than the code they measure")  # fmt: skip
    pub.add_argument("--fail-stale", action="store_true",
                     help="with --check, fail on a stale run too")  # fmt: skip


def _epilog() -> str:
    from dmlbench.suites.publish.published import PUBLISHED

    rows = "\n".join(f"  {p.name:<12} {p.command}" for p in PUBLISHED)
    return (
        textwrap.dedent("""\
        published runs (NAME, and how each is measured):
        """)
        + rows
        + textwrap.dedent("""

        examples:
          dmlbench run natives --out results/natives
          dmlbench publish results/natives --name natives
          dmlbench publish --check
    """)
    )


PUBLISH = Command(
    "publish",
    help="store a run for the docs site and regenerate its pages; --check them",
    description="The docs site's results and reference pages are generated, never typed: "
    "RUN is stored under DIR/results/NAME/ (a results file gzipped) and every generated "
    "page is written again from the stored runs and the code (the command line from its "
    "parser, the suite keys from the spec, the record fields from the record types). Each "
    "results page says which commit, machine and engine versions measured it. --check "
    "writes them into a temporary folder and fails on any difference.",
    epilog=_epilog(),
    handler=publish,
    arguments=_arguments,
)
