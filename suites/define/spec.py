"""Suite files: TOML, validated where they are read, expanded into cases.

A suite is workloads (an algorithm on a dataset, with parameters) times a grid of sweep
axes; every list is an axis and the suite is their product. A named profile overrides
axes of the grid. Anything unknown, mistyped or impossible is a :class:`SuiteError`
naming the file, the key, what was expected, what was given and the valid choices.

Example::

    [suite]
    name = "example"
    repeats = 3              # timed fits after the first (cold) one, or "auto"
    launches = 1             # launches per case (interleaved in time), each with its own fits
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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from dmlbench.backends import backend_names, is_int_at_least, max_workers, patterns
from dmlbench.reports.records import case_id
from dmlbench.suites.define.policies import TARGET_PARAM
from dmlbench.suites.define.workloads import ALGORITHMS, DATASETS

BUILTIN_DIR = Path(__file__).with_name("builtin")
IMPLS = ("dmlbench", "native")
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


@dataclass(frozen=True)
class Key:
    """A suite-file key: its default (:data:`REQUIRED` when there is none) and meaning.

    The validator reads its defaults from these tables and the reference page
    (``docs/reference/suite-file.md``, written by ``dmlbench publish``) prints them.
    """

    default: Any
    meaning: str


#: A key without a default.
REQUIRED = object()

#: The ``[suite]`` table's keys.
SUITE_KEY_DOCS: dict[str, Key] = {
    "name": Key("the file's name without .toml", "the suite's name, in results and reports"),
    "description": Key("", "one line on what the suite answers (`dmlbench list` shows it)"),
    "repeats": Key(DEFAULT_REPEATS, 'timed fits after the cold one, per launch; or "auto": '
                   "fits until the 95 % interval of the median is within ±5 %, at least 6 "
                   "and at most `max_repeats`, shared between the launches"),
    "launches": Key(1, "launches per case, each with its own data, placement, cold fit and "
                    "timed fits; round i runs launch i of every case on engines started anew "
                    "(shared by the cases of one engine; Spark keeps its JVM), so the launches "
                    "of compared cases are interleaved in time"),
    "budget": Key(DEFAULT_BUDGET, 'seconds of timed fits a case may spend with repeats = "auto" '
                  "(shared between its launches)"),
    "max_repeats": Key(DEFAULT_MAX_REPEATS, 'the most timed fits a case makes with repeats = '
                       '"auto" (shared between its launches; at least 6)'),
    "timeout": Key(600, "seconds one launch of a case may take before it is cancelled"),
    "seed": Key(0, "the seed of every case's data and start"),
}  # fmt: skip
SUITE_KEYS = tuple(SUITE_KEY_DOCS)
AXES = ("backends", "n_workers", "impl", "n_samples", "n_features", "patterns")
WORKLOAD_KEYS = ("algorithm", "dataset", "params", *AXES)
PROFILE_KEYS = (*AXES, "repeats", "launches", "params")

#: The sweep axes: in ``[grid]``, in a ``[[workload]]`` (its own, over the grid's) or in
#: a profile (over both).
AXIS_DOCS: dict[str, Key] = {
    "backends": Key("every backend", "backends to run on (`dmlbench list`)"),
    "n_workers": Key([2], "worker processes per engine (local: 1)"),
    "impl": Key(["dmlbench"], '"dmlbench" (written once) and/or "native" (the engine\'s own '
                "library; scikit-learn on local)"),
    "n_samples": Key(REQUIRED, "rows of the data set (interactions for ALS)"),
    "n_features": Key([20], "columns of the data set (items for ALS)"),
    "patterns": Key("each backend's default", 'how dask and ray run the verbs: "resident", '
                    '"tasks"'),
}  # fmt: skip
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
    launches: int | None = None,
) -> Suite:
    """Read, validate and expand a built-in suite (by name) or a TOML file.

    ``backends`` and ``n_workers`` (from the command line) replace those axes, and
    ``launches`` the suite's launches per case.
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
    return expand(
        doc, str(path), profile=profile, backends=backends, n_workers=n_workers, launches=launches
    )


def expand(
    doc: dict[str, Any],
    source: str,
    *,
    profile: str | None = None,
    backends: list[str] | None = None,
    n_workers: list[int] | None = None,
    launches: int | None = None,
) -> Suite:
    """Validate a parsed suite and expand it into its cases.

    The steps, in the order their errors are raised: the top-level keys, the ``[suite]``
    settings, the ``[grid]``, the chosen profile, then each workload (its algorithm and
    dataset, its parameters, its axes) and the product of its axes. ``backends`` and
    ``n_workers`` (from the command line) replace those axes, ``launches`` the suite's (and
    its profile's) launches per case.
    """
    err = _Errors(source)
    err.keys(doc, TOP_KEYS, "")
    meta = doc.get("suite", {})
    settings = _suite_settings(err, meta, source)
    grid = dict(doc.get("grid", {}))
    err.table(grid, "grid")
    err.keys(grid, AXES, "grid")
    settings, overrides, profile_params = _profile(err, doc.get("profiles", {}), profile, settings)
    if launches is not None:
        settings = replace(settings, launches=err.count(launches, "--launches", low=1))
    workloads = doc.get("workload", [])
    if not isinstance(workloads, list) or not workloads:
        raise SuiteError(f"{source}: needs at least one [[workload]] table (algorithm, dataset)")
    if backends is not None:
        overrides["backends"] = backends  # the command line's axes win over the profile's
    if n_workers is not None:
        overrides["n_workers"] = n_workers
    expansion = _Expansion(settings)
    for w_index, w in enumerate(workloads):
        where = f"workload[{w_index}]"
        algo, data, params = _workload(err, w, where, profile_params)
        expansion.add(algo, data, params, _axes(err, w, where, grid, overrides))
    notes = expansion.notes()
    description = meta.get("description", SUITE_KEY_DOCS["description"].default)
    return Suite(settings.name, description, expansion.cases, source, notes)


@dataclass(frozen=True)
class _Settings:
    """The ``[suite]`` table's settings every case of the suite shares."""

    name: str
    repeats: int | str
    launches: int
    budget: float
    max_repeats: int
    timeout: float
    seed: int


def _suite_settings(err: _Errors, meta: Any, source: str) -> _Settings:
    """The ``[suite]`` table, validated, with the defaults a 2-core machine can afford
    (5 timed fits after the cold one, one launch)."""
    err.table(meta, "suite")
    err.keys(meta, SUITE_KEYS, "suite")
    name = err.typed(meta.get("name", Path(source).stem), str, "suite.name", "a string")
    given = {key: meta.get(key, doc.default) for key, doc in SUITE_KEY_DOCS.items()}
    repeats = err.repeats(given["repeats"], "suite.repeats")
    launches = err.count(given["launches"], "suite.launches", low=1)
    budget = err.number(given["budget"], "suite.budget")
    max_repeats = err.count(given["max_repeats"], "suite.max_repeats", low=AUTO_MIN_REPEATS)
    timeout = err.number(given["timeout"], "suite.timeout")
    seed = err.count(given["seed"], "suite.seed", low=0)
    return _Settings(name, repeats, launches, budget, max_repeats, timeout, seed)


def _profile(
    err: _Errors, profiles: Any, profile: str | None, settings: _Settings
) -> tuple[_Settings, dict[str, Any], dict[str, Any]]:
    """The settings after profile ``profile`` (its repeats and launches), the axes it
    overrides (in the grid and the workloads alike) and the parameter values it changes
    in the workloads that name them."""
    err.table(profiles, "profiles")
    if profile is None:
        return settings, {}, {}
    if profile not in profiles:
        raise SuiteError(f"{err.source}: no profile {profile!r}; this suite has {sorted(profiles)}")
    where = f"profiles.{profile}"
    err.table(profiles[profile], where)
    err.keys(profiles[profile], PROFILE_KEYS, where)
    overrides = dict(profiles[profile])
    if "repeats" in overrides:
        repeats = err.repeats(overrides.pop("repeats"), f"{where}.repeats")
        settings = replace(settings, repeats=repeats)
    if "launches" in overrides:
        launches = err.count(overrides.pop("launches"), f"{where}.launches", low=1)
        settings = replace(settings, launches=launches)
    # Parameter values a profile changes in the workloads that name them (a smoke
    # profile's reachable target on its few rows); never adds a parameter.
    profile_params = overrides.pop("params", {})
    err.table(profile_params, f"{where}.params")
    return settings, overrides, profile_params


def _workload(
    err: _Errors, w: Any, where: str, profile_params: dict[str, Any]
) -> tuple[str, str, dict[str, Any]]:
    """A workload's algorithm, dataset (for the same task) and parameters (with the
    profile's values for those it names)."""
    err.table(w, where)
    err.keys(w, WORKLOAD_KEYS, where)
    algo = err.choice(w.get("algorithm"), ALGORITHMS, f"{where}.algorithm")
    data = err.choice(w.get("dataset"), DATASETS, f"{where}.dataset")
    if ALGORITHMS[algo].task != DATASETS[data].task:
        valid = [d for d, spec in DATASETS.items() if spec.task == ALGORITHMS[algo].task]
        raise SuiteError(
            f"{err.source}: {where}: algorithm {algo!r} solves {ALGORITHMS[algo].task}, but "
            f"dataset {data!r} is for {DATASETS[data].task}; choose one of {valid}"
        )
    params = w.get("params", {})
    err.table(params, f"{where}.params")
    params = {k: profile_params.get(k, v) for k, v in params.items()}
    if TARGET_PARAM in params:
        _check_target(err, params[TARGET_PARAM], algo, data, f"{where}.params.target")
    return algo, data, params


def _axes(
    err: _Errors, w: dict[str, Any], where: str, grid: dict[str, Any], overrides: dict[str, Any]
) -> dict[str, list]:
    """A workload's sweep axes, validated: the overrides (profile, command line), else the
    workload's own, else the grid's, else the defaults (every backend, ``dmlbench``, 20
    features, 2 workers, the backend's default pattern)."""
    axes = {axis: overrides.get(axis, w.get(axis, grid.get(axis))) for axis in AXES}
    axes["backends"] = axes["backends"] or backend_names()
    for axis in ("impl", "n_features", "n_workers"):
        axes[axis] = axes[axis] or AXIS_DOCS[axis].default
    if axes["n_samples"] is None:
        raise SuiteError(f"{err.source}: {where}: no n_samples axis (in [grid] or the workload)")
    all_patterns = sorted({p for b in backend_names() for p in patterns(b)})
    return {
        "backends": err.list_of(axes["backends"], f"{where}.backends", choices=backend_names()),
        "n_workers": err.list_of(axes["n_workers"], f"{where}.n_workers", low=1),
        "impl": err.list_of(axes["impl"], f"{where}.impl", choices=IMPLS),
        "n_samples": err.list_of(axes["n_samples"], f"{where}.n_samples", low=1),
        "n_features": err.list_of(axes["n_features"], f"{where}.n_features", low=1),
        "patterns": [None]
        if axes["patterns"] is None
        else err.list_of(axes["patterns"], f"{where}.patterns", choices=all_patterns),
    }


class _Expansion:
    """The cases of the workloads so far, each once, and what their grids left out."""

    def __init__(self, settings: _Settings) -> None:
        self.settings = settings
        self.cases: list[Case] = []
        self.seen: set[str] = set()  # a case two workloads (or a collapsed axis) make runs once
        self.left_out: dict[tuple[str, int], int] = {}  # (backend, n_workers) -> cases
        self.left_out_patterns: dict[tuple[str, str], int] = {}  # (backend, pattern) -> cases

    def add(self, algo: str, data: str, params: dict[str, Any], lists: dict[str, list]) -> None:
        """Every case of one workload's axes (their product) that can exist."""
        s = self.settings
        for b, nw, impl, n, d, pattern in itertools.product(*(lists[a] for a in AXES)):
            limit = max_workers(b)
            if limit is not None and nw > limit:
                self.left_out[(b, nw)] = self.left_out.get((b, nw), 0) + 1
                continue
            offered = patterns(b)
            if pattern is not None and pattern not in offered and offered:
                key = (b, pattern)
                self.left_out_patterns[key] = self.left_out_patterns.get(key, 0) + 1
                continue
            if impl == "native" or not offered:
                pattern = None  # one way to run: the patterns axis collapses to one case
            case = Case(
                s.name, algo, data, dict(params), b, nw, impl, n, d, s.repeats, s.timeout,
                s.seed, pattern, s.launches, s.budget, s.max_repeats,
            )  # fmt: skip
            if case.id not in self.seen:
                self.seen.add(case.id)
                self.cases.append(case)

    def notes(self) -> list[str]:
        """What was left out and why, once per (backend, workers) and (backend, pattern)."""
        return [
            f"{count} case(s) of {b} with {nw} workers left out: the {b} backend has at most "
            f"{max_workers(b)} worker(s)"
            for (b, nw), count in self.left_out.items()
        ] + [
            f"{count} case(s) of {b} with pattern {p!r} left out: {b} runs {list(patterns(b))}"
            for (b, p), count in self.left_out_patterns.items()
        ]


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
