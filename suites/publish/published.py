"""What the docs site publishes: one entry per stored run under ``docs/results/<name>/``."""

from __future__ import annotations

from dataclasses import dataclass

#: The code every run measures (the algorithms, the engines' adapters, the comparators,
#: the runner and the built-in suites and data sets): a change here after a run makes its
#: page stale.
MEASURED_CODE = ("algorithms", "backends", "suites/natives", "suites/run",
                 "suites/define/builtin", "suites/define/datasets.py")  # fmt: skip


@dataclass(frozen=True)
class Published:
    """One published run.

    Parameters
    ----------
    name : str
        Its folder under ``docs/results/`` (and its page, ``docs/results/<name>/index.md``).
    title : str
        The page's title.
    kind : str
        ``"suite"`` (a ``results.jsonl``, stored gzipped), ``"overhead"`` (the JSON of
        ``dmlbench overhead --json``) or ``"kernels"`` (of ``dmlbench kernels --json``).
    command : str
        How it is measured, as typed (``OUT`` is the folder or file it writes).
    look_at : str
        What to look at on the page: prose, never its numbers.
    measures : tuple of str
        The code it measures (paths from the repository's root): a commit touching them
        after the run makes the page stale.
    """

    name: str
    title: str
    kind: str
    command: str
    look_at: str
    measures: tuple[str, ...] = MEASURED_CODE

    @property
    def stored_name(self) -> str:
        """The stored file in ``docs/results/<name>/``."""
        return {"suite": "results.jsonl.gz"}.get(self.kind, f"{self.kind}.json")


PUBLISHED: tuple[Published, ...] = (
    Published(
        "natives", "Written once against each engine's own library", "suite",
        "dmlbench run natives --out OUT",
        "The answer box first: per job, which implementation is fastest at 2 workers and "
        "the written-once ÷ native ratio with its interval over interleaved launches. Then "
        "the comparison tables (each native beside ours on the same engine, the same data "
        "and start, every answer checked) and the patterns table (resident against tasks "
        "on Dask and Ray).",
    ),
    Published(
        "quick", "Every algorithm on every backend", "suite", "dmlbench run quick --out OUT",
        "The answer per workload: the fastest backend at 1 and 2 workers and each answer's "
        "check. Small sizes: engine overheads dominate, which is what this suite shows.",
    ),
    Published(
        "rounds", "Where the time goes, round by round", "suite", "dmlbench run rounds --out OUT",
        "The rounds table: each iteration split into worker compute, imbalance, engine and "
        "driver time, per engine and pattern at 1 and 2 workers; the engine term is what "
        "each engine's own round costs beside the same kernel.",
    ),
    Published(
        "calibration", "Calibration runs of compare", "suite",
        "dmlbench run calibration --out OUT",
        "One core, one process: the spread of repeated fits of the same work, the noise "
        "floor `dmlbench compare` must see through.",
        ("algorithms",),
    ),
    Published(
        "overhead", "The engines' round trip and an XᵀX aggregate", "overhead",
        "dmlbench overhead --json OUT",
        "Per backend: start-up, one aggregate round over 8 resident blocks with a trivial "
        "function, and an XᵀX aggregate checked against numpy and timed against it.",
        ("backends", "suites/bench/overhead.py"),
    ),
    Published(
        "kernels", "Our kernels against scikit-learn's, one core", "kernels",
        "dmlbench kernels --json OUT",
        "Per kernel: ours and scikit-learn's on one core, and their ratio with its range; "
        "above 1 ours is slower.",
        ("algorithms", "suites/bench/kernel_timings.py"),
    ),
    Published(
        "credit", "The book's credit-risk case", "suite", "dmlbench run credit --out OUT",
        "Logistic regression (default) and linear regression (next bill) on the credit "
        "table: ours against dask-ml, MLlib and scikit-learn at 1 and 2 workers.",
    ),
    Published(
        "ecommerce", "The book's e-commerce case", "suite", "dmlbench run ecommerce --out OUT",
        "Implicit ALS recommendations and k-means customer segments: ours against MLlib's "
        "ALS and each engine's k-means.",
    ),
    Published(
        "images", "The book's image-recognition case", "suite", "dmlbench run images --out OUT",
        "The MLP and CNN on digits and synthetic 28×28 strokes: ours on each engine against "
        "scikit-learn's and MLlib's MLP.",
    ),
)  # fmt: skip


def published(name: str) -> Published:
    """The entry called ``name``; a ValueError listing the names otherwise."""
    for entry in PUBLISHED:
        if entry.name == name:
            return entry
    raise ValueError(f"no published run {name!r}; one of {[p.name for p in PUBLISHED]}")
