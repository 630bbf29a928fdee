"""Suite files: TOML, validated where they are read, expanded into cases.

A suite is workloads (an algorithm on a dataset, with parameters) times a grid of sweep
axes; every list is an axis and the suite is their product. A named profile overrides
axes of the grid. Anything unknown, mistyped or impossible is a :class:`SuiteError`
naming the file, the key, what was expected, what was given and the valid choices.

Example::

    [suite]
    name = "example"
    repeats = 3              # timed fits after the first (cold) one, or "auto"
    launches = 1             # fresh engine launches per case, each with its own fits
    timeout = 300            # seconds per case

    [grid]
    backends = ["local", "dask"]
    n_workers = [1, 2]
    impl = ["dmlbench"]
    n_samples = [10000, 100000]
    n_features = [20]
    patterns = ["resident", "tasks"]   # optional: how dask and ray run the verbs

    [[workload]]
    algorithm = "kmeans"
    dataset = "blobs"
    params = { n_clusters = 8, max_iter = 20 }

    [profiles.smoke]         # overrides grid axes (and repeats; params a workload names)
    n_samples = [2000]
    repeats = 1
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dmlbench.backends import backend_names, is_int_at_least, max_workers, patterns
from dmlbench.reports.records import case_id
from dmlbench.suites.define.workloads import ALGORITHMS, DATASETS, TARGET_PARAM

BUILTIN_DIR = Path(__file__).with_name("builtin")
AXES = ("backends", "n_workers", "impl", "n_samples", "n_features", "patterns")
IMPLS = ("dmlbench", "native")
SUITE_KEYS = ("name", "description", "repeats", "launches", "budget", "max_repeats", "timeout",
              "seed")  # fmt: skip
WORKLOAD_KEYS = ("algorithm", "dataset", "params", *AXES)
PROFILE_KEYS = (*AXES, "repeats", "launches", "params")
#: ``repeats = "auto"``: timed fits are added until the 95 % interval of the median fit time
#: is within ±AUTO_HALF_WIDTH, at least AUTO_MIN_REPEATS, at most ``max_repeats`` and
#: within ``budget`` seconds of timed fits per launch.
AUTO = "auto"
# 6: the fewest fits whose median interval can reach 95 % (reports.stats.MIN_FITS_95).
AUTO_MIN_REPEATS = 6
AUTO_HALF_WIDTH = 0.05
#: 5 timed fits: [min, max] then covers the median 93.75 % of the time (3 fits: 75 %).
DEFAULT_REPEATS = 5
#: Defaults of the two bounds of ``repeats = "auto"``.
DEFAULT_MAX_REPEATS = 30
DEFAULT_BUDGET = 60.0
TOP_KEYS = ("suite", "grid", "workload", "profiles")


class SuiteError(ValueError):
    """A suite file that cannot be run, with what to change."""


@dataclass(frozen=True)
class Case:
    """One run: an algorithm on a dataset, on one backend at one size."""

    suite: str
    algorithm: str
    dataset: str
    params: dict[str, Any] = field(hash=False)
    backend: str
    n_workers: int
    impl: str
    n_samples: int
    n_features: int
    #: Timed fits after the cold one, per launch, or "auto" (see :data:`AUTO`).
    repeats: int | str
    timeout: float
    seed: int
    #: How the backend runs the verbs (``get_backend(..., pattern=)``: "resident" or
    #: "tasks" on dask and ray); None: the backend's default, and always for backends
    #: with one way and for native libraries, which do not run through our verbs.
    pattern: str | None = None
    #: Fresh engine launches per case (each generates its data and times its own fits):
    #: variance between launches is measured, not only between fits of one launch.
    launches: int = 1
    #: ``repeats = "auto"``: seconds of timed fits per launch it may spend, and the most
    #: timed fits it may run.
    budget: float = DEFAULT_BUDGET
    max_repeats: int = DEFAULT_MAX_REPEATS

    @property
    def id(self) -> str:
        """Stable identity for resuming (the same case in any run has the same id)."""
        return case_id(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Suite:
    """A validated, expanded suite: its cases, and what the expansion left out and why."""

    name: str
    description: str
    cases: list[Case]
    source: str
    #: Combinations of the grid that cannot exist (``local`` with 2 workers), said once in
    #: the run's header instead of as a skipped record per case.
    left_out: list[str] = field(default_factory=list)


def builtin_suites() -> dict[str, Path]:
    """Suites shipped with dmlbench, by name."""
    return {p.stem: p for p in sorted(BUILTIN_DIR.glob("*.toml"))}


def load_suite(
    name_or_path: str,
    *,
    profile: str | None = None,
    backends: list[str] | None = None,
    n_workers: list[int] | None = None,
) -> Suite:
    """Read, validate and expand a built-in suite (by name) or a TOML file.

    ``backends`` and ``n_workers`` (from the command line) replace those axes.
    """
    path = builtin_suites().get(name_or_path) or Path(name_or_path)
    if not path.is_file():
        raise SuiteError(
            f"no suite {name_or_path!r}: not a built-in suite ({sorted(builtin_suites())}) "
            "and not a file"
        )
    try:
        doc = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{path}: not valid TOML: {exc}") from None
    return expand(doc, str(path), profile=profile, backends=backends, n_workers=n_workers)


def expand(
    doc: dict[str, Any],
    source: str,
    *,
    profile: str | None = None,
    backends: list[str] | None = None,
    n_workers: list[int] | None = None,
) -> Suite:
    """Validate a parsed suite and expand it into its cases."""
    err = _Errors(source)
    err.keys(doc, TOP_KEYS, "")
    meta = doc.get("suite", {})
    err.table(meta, "suite")
    err.keys(meta, SUITE_KEYS, "suite")
    name = err.typed(meta.get("name", Path(source).stem), str, "suite.name", "a string")
    # Defaults a 2-core machine can afford: 5 timed fits after the cold one, one launch.
    repeats = err.repeats(meta.get("repeats", DEFAULT_REPEATS), "suite.repeats")
    launches = err.count(meta.get("launches", 1), "suite.launches", low=1)
    budget = err.number(meta.get("budget", DEFAULT_BUDGET), "suite.budget")
    max_repeats = err.count(
        meta.get("max_repeats", DEFAULT_MAX_REPEATS), "suite.max_repeats", low=AUTO_MIN_REPEATS
    )
    timeout = err.number(meta.get("timeout", 600), "suite.timeout")
    seed = err.count(meta.get("seed", 0), "suite.seed", low=0)
    grid = dict(doc.get("grid", {}))
    err.table(grid, "grid")
    err.keys(grid, AXES, "grid")
    profiles = doc.get("profiles", {})
    err.table(profiles, "profiles")
    overrides: dict[str, Any] = {}  # a profile overrides the grid and the workloads' axes
    profile_params: dict[str, Any] = {}
    if profile is not None:
        if profile not in profiles:
            raise SuiteError(f"{source}: no profile {profile!r}; this suite has {sorted(profiles)}")
        err.table(profiles[profile], f"profiles.{profile}")
        err.keys(profiles[profile], PROFILE_KEYS, f"profiles.{profile}")
        overrides = dict(profiles[profile])
        if "repeats" in overrides:
            repeats = err.repeats(overrides.pop("repeats"), f"profiles.{profile}.repeats")
        if "launches" in overrides:
            launches = err.count(overrides.pop("launches"), f"profiles.{profile}.launches", low=1)
        # Parameter values a profile changes in the workloads that name them (a smoke
        # profile's reachable target on its few rows); never adds a parameter.
        profile_params = overrides.pop("params", {})
        err.table(profile_params, f"profiles.{profile}.params")
    workloads = doc.get("workload", [])
    if not isinstance(workloads, list) or not workloads:
        raise SuiteError(f"{source}: needs at least one [[workload]] table (algorithm, dataset)")
    cases = []
    left_out: dict[tuple[str, int], int] = {}  # (backend, n_workers) -> cases left out
    left_out_patterns: dict[tuple[str, str], int] = {}  # (backend, pattern) -> cases left out
    all_patterns = sorted({p for b in backend_names() for p in patterns(b)})
    seen: set[str] = set()  # a case two workloads (or a collapsed axis) make runs once
    for w_index, w in enumerate(workloads):
        where = f"workload[{w_index}]"
        err.table(w, where)
        err.keys(w, WORKLOAD_KEYS, where)
        algo = err.choice(w.get("algorithm"), ALGORITHMS, f"{where}.algorithm")
        data = err.choice(w.get("dataset"), DATASETS, f"{where}.dataset")
        if ALGORITHMS[algo].task != DATASETS[data].task:
            valid = [d for d, spec in DATASETS.items() if spec.task == ALGORITHMS[algo].task]
            raise SuiteError(
                f"{source}: {where}: algorithm {algo!r} solves {ALGORITHMS[algo].task}, but "
                f"dataset {data!r} is for {DATASETS[data].task}; choose one of {valid}"
            )
        params = w.get("params", {})
        err.table(params, f"{where}.params")
        params = {k: profile_params.get(k, v) for k, v in params.items()}
        if TARGET_PARAM in params:
            _check_target(err, params[TARGET_PARAM], algo, data, f"{where}.params.target")
        axes = {axis: overrides.get(axis, w.get(axis, grid.get(axis))) for axis in AXES}
        if backends is not None:
            axes["backends"] = backends
        if n_workers is not None:
            axes["n_workers"] = n_workers
        axes["backends"] = axes["backends"] or backend_names()
        axes["impl"] = axes["impl"] or ["dmlbench"]
        axes["n_features"] = axes["n_features"] or [20]
        axes["n_workers"] = axes["n_workers"] or [2]
        if axes["n_samples"] is None:
            raise SuiteError(f"{source}: {where}: no n_samples axis (in [grid] or the workload)")
        lists = {
            "backends": err.list_of(axes["backends"], f"{where}.backends", choices=backend_names()),
            "n_workers": err.list_of(axes["n_workers"], f"{where}.n_workers", low=1),
            "impl": err.list_of(axes["impl"], f"{where}.impl", choices=IMPLS),
            "n_samples": err.list_of(axes["n_samples"], f"{where}.n_samples", low=1),
            "n_features": err.list_of(axes["n_features"], f"{where}.n_features", low=1),
            "patterns": [None]
            if axes["patterns"] is None
            else err.list_of(axes["patterns"], f"{where}.patterns", choices=all_patterns),
        }
        for b, nw, impl, n, d, pattern in itertools.product(*(lists[a] for a in AXES)):
            limit = max_workers(b)
            if limit is not None and nw > limit:
                left_out[(b, nw)] = left_out.get((b, nw), 0) + 1
                continue
            offered = patterns(b)
            if pattern is not None and pattern not in offered and offered:
                left_out_patterns[(b, pattern)] = left_out_patterns.get((b, pattern), 0) + 1
                continue
            if impl == "native" or not offered:
                pattern = None  # one way to run: the patterns axis collapses to one case
            case = Case(
                name, algo, data, dict(params), b, nw, impl, n, d, repeats, timeout, seed,
                pattern, launches, budget, max_repeats,
            )  # fmt: skip
            if case.id not in seen:
                seen.add(case.id)
                cases.append(case)
    notes = [
        f"{count} case(s) of {b} with {nw} workers left out: the {b} backend has at most "
        f"{max_workers(b)} worker(s)"
        for (b, nw), count in left_out.items()
    ] + [
        f"{count} case(s) of {b} with pattern {p!r} left out: {b} runs {list(patterns(b))}"
        for (b, p), count in left_out_patterns.items()
    ]
    return Suite(name, meta.get("description", ""), cases, source, notes)


def _check_target(err: _Errors, target: Any, algo: str, data: str, key: str) -> None:
    """A time-to-target case needs an algorithm with a budget and held-out rows."""
    spec, dataset = ALGORITHMS[algo], DATASETS[data]
    if spec.budget_param is None:
        valid = [a for a, s in ALGORITHMS.items() if s.budget_param is not None]
        err.fail(key, f"absent: {algo} trains a fixed problem (a target is for {valid})", target)
    if not (dataset.has_held_out or dataset.loader):
        err.fail(key, f"absent: dataset {data!r} has no held-out rows to reach it on", target)
    if isinstance(target, bool) or not isinstance(target, (int, float)):
        err.fail(key, "a number: the held-out metric to reach", target)


class _Errors:
    """Validation helpers that raise SuiteError with the file and the key."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, expected: str, got: Any, choices: Any = None) -> None:
        hint = f"; valid choices: {list(choices)}" if choices is not None else ""
        raise SuiteError(f"{self.source}: {key} must be {expected}; got {got!r}{hint}")

    def keys(self, table: dict, valid: tuple[str, ...], where: str) -> None:
        for key in table:
            if key not in valid:
                name = f"{where}.{key}" if where else key
                raise SuiteError(
                    f"{self.source}: unknown key {name!r}; valid keys"
                    f"{' in [' + where + ']' if where else ''}: {list(valid)}"
                )

    def table(self, value: Any, key: str) -> None:
        if not isinstance(value, dict):
            self.fail(key, "a table", value)

    def typed(self, value: Any, kind: type, key: str, expected: str) -> Any:
        if not isinstance(value, kind):
            self.fail(key, expected, value)
        return value

    def repeats(self, value: Any, key: str) -> int | str:
        if value != AUTO and not is_int_at_least(value, 1):
            self.fail(key, f'an integer >= 1 or "{AUTO}"', value)
        return value

    def count(self, value: Any, key: str, *, low: int) -> int:
        if not is_int_at_least(value, low):
            self.fail(key, f"an integer >= {low}", value)
        return value

    def number(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            self.fail(key, "a number of seconds > 0", value)
        return float(value)

    def choice(self, value: Any, choices: Any, key: str) -> str:
        if value not in choices:
            self.fail(key, "one of the known names", value, choices)
        return value

    def list_of(self, value: Any, key: str, *, choices: Any = None, low: int | None = None):
        if not isinstance(value, list) or not value:
            self.fail(key, "a non-empty list", value)
        for item in value:
            if choices is not None and item not in choices:
                self.fail(key, "a list of known names", item, choices)
            if low is not None:
                self.count(item, key, low=low)
        return value
