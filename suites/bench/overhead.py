"""``dmlbench overhead``: what one round of the backend protocol costs on each engine.

Two measurements per backend, both on blocks resident on the workers:

* **round**: ``aggregate`` of a trivial function over ``n_blocks`` small blocks — the fixed
  cost an iterative learner pays every iteration (median of ``rounds`` after ``warmup``) —
  beside the engine's **bare** round trip over the same workers (``Backend.bare_round``:
  a no-op ``Client.run``, actor method, task per block or Spark job), the two alternating
  round by round, and ours ÷ bare with its interval, paired over groups of
  :data:`PAIR_ROUNDS` rounds: the share of a round that is dmlbench's, as a ratio that
  holds across machines where milliseconds do not;
* **XᵀX**: ``aggregate`` of the Gram matrix over ``xtx_rows`` x 20 float64 rows, divided by
  the time of in-process numpy on as many BLAS threads as the backend has workers — how
  close the engine gets to the machine on real work. The first (cold) round is reported
  apart; Spark's first rounds also rebuild blocks in Python workers that have not seen
  them yet (see ``backends/_spark.py``).

Backends that run the verbs in more than one way (``pattern=``: Dask and Ray, whose
``"tasks"`` pattern is each engine's idiomatic one, beside the ``"resident"`` default)
are measured in each pattern asked for, one engine alive at a time, so the cost of the
idiomatic pattern per round stands next to the fastest one.
"""

from __future__ import annotations

import operator
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TextIO

import numpy as np

from dmlbench.backends import Block, backend_names, get_backend, max_workers
from dmlbench.backends import patterns as offered_patterns

XTX_FEATURES = 20


def small_block(i: int, rows: int = 1000) -> Block:
    """A small block: the data of the round-trip measurement (its content is irrelevant)."""
    return Block(np.random.default_rng([7, i]).standard_normal((rows, XTX_FEATURES)))


def gaussian_rows(i: int, rows: int) -> Block:
    """Block ``i`` of the XᵀX measurement: ``rows`` x 20 standard normal, from seed (8, i)."""
    return Block(np.random.default_rng([8, i]).standard_normal((rows, XTX_FEATURES)))


def one(block: Block) -> int:
    """The trivial per-block function: the round trip is all that is measured."""
    return 1


def gram_of(X: np.ndarray) -> np.ndarray:
    """XᵀX, shape (n_features, n_features)."""
    return X.T @ X


def gram(block: Block) -> np.ndarray:
    """XᵀX of one block, shape (n_features, n_features)."""
    return block.X.T @ block.X


def parse_patterns(text: str) -> list[str]:
    """``--pattern``: comma-separated pattern names, each offered by some backend."""
    known = sorted({p for name in backend_names() for p in offered_patterns(name)})
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [n for n in names if n not in known]
    if not names or unknown:
        raise ValueError(f"unknown pattern(s) {unknown or [text]}; valid choices: {known}")
    return names


def runs_of(name: str, wanted: Sequence[str] | None) -> list[str | None]:
    """The patterns to measure backend ``name`` in: those asked for that it offers (every
    one it offers by default); ``[None]`` (its only way) for a backend without patterns."""
    offered = offered_patterns(name)
    if not offered:
        return [None]
    chosen: list[str | None] = [p for p in offered if wanted is None or p in wanted]
    if not chosen:
        raise ValueError(
            f"the {name!r} backend offers none of the patterns {list(wanted or [])}; "
            f"it offers {list(offered)}: add one to --pattern"
        )
    return chosen


#: Rounds of each side in one pair of the interleaved ours-vs-bare measurement: the
#: ratio's interval is over the pairs (:func:`paired_timings`).
PAIR_ROUNDS = 10


def timings(fn: Callable[[], Any], rounds: int, warmup: int) -> dict[str, Any]:
    """Run ``fn`` ``warmup`` + ``rounds`` times; the cold first run is kept apart."""
    seconds = []
    for _ in range(warmup + rounds):
        seconds.append(_timed(fn))
    return summary(seconds[0], seconds[warmup:], warmup)


def summary(cold_s: float, timed: Sequence[float], warmup: int) -> dict[str, Any]:
    """The cold first run, median, p10, p90 and minimum of ``timed`` (seconds)."""
    q = statistics.quantiles(timed, n=10) if len(timed) > 1 else [timed[0]] * 9
    return {
        "cold_s": cold_s,
        "median_s": statistics.median(timed),
        "p10_s": q[0],
        "p90_s": q[-1],
        "min_s": min(timed),
        "rounds": len(timed),
        "warmup": warmup,
    }


def paired_timings(
    ours: Callable[[], Any], bare: Callable[[], Any], rounds: int, warmup: int
) -> dict[str, Any]:
    """``ours`` and ``bare`` alternating round by round (ours first, then bare first, so
    neither always follows the other), after ``warmup`` rounds of each (the first of
    each kept as its ``cold_s``: bare's follows ours', on an engine ours has warmed).

    Returns
    -------
    dict
        ``ours`` and ``bare``: :func:`summary` of each; ``ratio``: ours ÷ bare, the
        geometric mean over groups of :data:`PAIR_ROUNDS` rounds of each group's median
        ratio with its Student-t interval (``reports.stats.paired_ratio_interval``), as
        ``{value, low, high, n, level}``; ``pairs``: the number of groups (at least 2).
    """
    from dmlbench.reports.stats import paired_ratio_interval

    cold = {"ours": _timed(ours), "bare": _timed(bare)}
    for _ in range(warmup - 1):
        ours()
        bare()
    pairs = max(2, -(-rounds // PAIR_ROUNDS))
    groups: dict[str, list[list[float]]] = {"ours": [], "bare": []}
    for _ in range(pairs):
        got: dict[str, list[float]] = {"ours": [], "bare": []}
        for step in range(PAIR_ROUNDS):
            sides = [("ours", ours), ("bare", bare)]
            for side, fn in sides if step % 2 == 0 else sides[::-1]:
                got[side].append(_timed(fn))
        for side in groups:
            groups[side].append(got[side])
    flat = {side: [t for g in gs for t in g] for side, gs in groups.items()}
    return {
        "ours": summary(cold["ours"], flat["ours"], warmup),
        "bare": summary(cold["bare"], flat["bare"], warmup),
        "ratio": paired_ratio_interval(groups["ours"], groups["bare"]).as_dict(),
        "pairs": pairs,
    }


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def numpy_xtx(n_rows: int, n_blocks: int, threads: Sequence[int], rounds: int) -> dict[int, Any]:
    """In-process numpy ``X.T @ X`` on the same data, on each number of BLAS threads.

    The 1-thread time divided by ``n`` is the ideal for ``n`` workers: :func:`measure_backend`
    reports the engine's parallel efficiency against it, since OpenBLAS barely
    parallelises a tall-skinny XᵀX (and threads calling single-threaded OpenBLAS in one
    process serialise), so no in-process baseline uses both cores here.
    """
    from threadpoolctl import threadpool_limits

    rows = n_rows // n_blocks
    X = np.vstack([gaussian_rows(i, rows).X for i in range(n_blocks)])
    out = {}
    for n in sorted(set(threads) | {1}):
        with threadpool_limits(limits=n):
            out[n] = timings(partial(gram_of, X), rounds, warmup=1)
            out[n]["result"] = gram_of(X)
    return out


def measure_backend(
    name: str,
    *,
    n_workers: int,
    n_blocks: int,
    rounds: int,
    warmup: int,
    xtx_rows: int,
    xtx_rounds: int,
    reference: dict[int, Any] | None,
    options: dict[str, Any] | None = None,
    log: TextIO | None = None,
) -> dict[str, Any]:
    """Start ``name``, time its round and its XᵀX, close it; one record."""
    log = log or sys.stderr
    workers = min(n_workers, max_workers(name) or n_workers)
    record: dict[str, Any] = {"backend": name, "n_workers": workers, "n_blocks": n_blocks}
    # More worker processes than cores: they time-share the cores (an engine's own cost
    # per worker, not a speedup), and the record says so.
    record["oversubscribed"] = workers > (os.cpu_count() or 1)
    options = options or {}
    record["pattern"] = options.get("pattern")
    with get_backend(name, n_workers=workers, **options) as be:
        started = be.info()
        # A pattern's name; a backend with one way of running (local, spark) describes
        # it in a sentence under the same key, which names nothing here.
        record["pattern"] = started.get("pattern") if offered_patterns(name) else None
        name = label(record)
        record["startup_s"] = started["startup_seconds"]
        print(f"  {name}: started in {record['startup_s']:.2f} s", file=log, flush=True)
        ds = be.generate(small_block, n_blocks)
        assert be.aggregate(ds, one, operator.add) == n_blocks
        ours = partial(be.aggregate, ds, one, operator.add)
        try:  # an adapter's own hook, not the protocol's (a third-party one may lack it)
            bare = getattr(be, "bare_round", None)
            if bare is None:
                raise NotImplementedError
            bare = bare(ds)
        except NotImplementedError:  # no engine (local): ours alone
            record["round"] = timings(ours, rounds, warmup)
        else:
            paired = paired_timings(ours, bare, rounds, warmup)
            record["round"], record["bare_round"] = paired["ours"], paired["bare"]
            record["round_vs_bare"] = {**paired["ratio"], "pairs": paired["pairs"]}
        print(f"  {name}: {describe_round(record)}", file=log, flush=True)
        be.free(ds)
        workers_got = be.info()["n_workers"]
        references = reference or {}
        ref = references.get(workers_got)
        if xtx_rows and ref is not None:
            t0 = time.perf_counter()
            big = be.generate(partial(gaussian_rows, rows=xtx_rows // n_blocks), n_blocks)
            record["xtx_generate_s"] = time.perf_counter() - t0
            got = be.aggregate(big, gram, operator.add)
            record["xtx_max_rel_error"] = float(
                np.abs(got - ref["result"]).max() / np.abs(ref["result"]).max()
            )
            record["xtx"] = timings(lambda: be.aggregate(big, gram, operator.add), xtx_rounds, 2)
            record["xtx_numpy"] = {k: v for k, v in ref.items() if k != "result"}
            record["xtx_ratio"] = record["xtx"]["median_s"] / ref["median_s"]
            ideal = references[1]["median_s"] / workers_got
            record["xtx_efficiency"] = ideal / record["xtx"]["median_s"]
            print(
                f"  {name}: XᵀX {record['xtx']['median_s']:.3f} s; numpy on {workers_got} BLAS "
                f"thread(s) {ref['median_s']:.3f} s (ratio {record['xtx_ratio']:.2f}); parallel "
                f"efficiency vs 1-thread numpy {record['xtx_efficiency']:.0%}",
                file=log,
                flush=True,
            )
            be.free(big)
        record["info"] = be.info()
        t0 = time.perf_counter()
    record["shutdown_s"] = time.perf_counter() - t0
    return record


def run_overhead(
    backends: Sequence[str],
    *,
    n_workers: int | Sequence[int] = 2,
    n_blocks: int = 8,
    rounds: int = 50,
    warmup: int = 10,
    xtx_rows: int = 8_000_000,
    xtx_rounds: int = 5,
    options: dict[str, dict[str, Any]] | None = None,
    patterns: Sequence[str] | None = None,
    log: TextIO | None = None,
) -> dict[str, Any]:
    """Measure every backend in turn (one engine alive at a time); a JSON-ready dict.

    ``n_workers``: one count or several (``[1, 2, 4, 8, 16]``: the round's cost per worker
    count, for the report's component predictions; counts above the cores run
    oversubscribed, recorded as such). ``patterns``: for backends with a ``pattern=``
    option, the patterns to measure (None: every one each offers); one record per backend,
    pattern and worker count.
    """
    log = log or sys.stderr
    counts = [n_workers] if isinstance(n_workers, int) else sorted(set(n_workers))
    reference = None
    if xtx_rows:
        print(
            f"numpy XᵀX on {xtx_rows:,} x {XTX_FEATURES} in this process ...", file=log, flush=True
        )
        reference = numpy_xtx(xtx_rows, n_blocks, [1, *counts], xtx_rounds)
    results = []
    runs = [
        (name, pattern, workers)
        for name in backends
        for pattern in runs_of(name, patterns)
        # local has one worker: measured once, whatever the counts
        for workers in sorted({min(w, max_workers(name) or w) for w in counts})
    ]
    for name, pattern, workers in runs:
        run_options = dict((options or {}).get(name) or {})
        if pattern is not None:
            run_options["pattern"] = pattern
        what = label({"backend": name, "pattern": pattern})
        print(f"{what} ...", file=log, flush=True)
        try:
            results.append(
                measure_backend(
                    name,
                    n_workers=workers,
                    n_blocks=n_blocks,
                    rounds=rounds,
                    warmup=warmup,
                    xtx_rows=xtx_rows,
                    xtx_rounds=xtx_rounds,
                    reference=reference,
                    options=run_options,
                    log=log,
                )
            )
        except Exception as exc:  # noqa: BLE001 - one engine failing must not hide the others
            print(f"  {what}: FAILED {type(exc).__name__}: {exc}", file=log, flush=True)
            error = f"{type(exc).__name__}: {exc}"
            results.append(
                {"backend": name, "pattern": pattern, "n_workers": workers, "error": error}
            )
    return {
        "kind": "dmlbench-overhead",
        "schema_version": 1,
        "parameters": {
            "n_workers": counts if len(counts) > 1 else counts[0],
            "n_blocks": n_blocks,
            "rounds": rounds,
            "warmup": warmup,
            "xtx_rows": xtx_rows,
            "xtx_features": XTX_FEATURES,
            "xtx_rounds": xtx_rounds,
            "patterns": None if patterns is None else list(patterns),
        },
        "results": results,
    }


def describe_round(record: dict[str, Any]) -> str:
    """What a record says of its round: ours' median, the engine's bare round trip and
    ours ÷ bare with its interval (ours alone where the backend has no engine)."""
    ours = record["round"]
    text = f"round {ours['median_s'] * 1e3:.2f} ms (median of {ours['rounds']})"
    if "bare_round" in record:
        r = record["round_vs_bare"]
        text += (f"; the engine's bare round trip {record['bare_round']['median_s'] * 1e3:.2f} ms; "
                 f"ours ÷ bare {r['value']:.2f} [{r['low']:.2f}, {r['high']:.2f}] "
                 f"({r['pairs']} pairs of {PAIR_ROUNDS} rounds)")  # fmt: skip
    return text


def label(record: dict[str, Any]) -> str:
    """``backend`` or ``backend/pattern`` (for backends measured in a named pattern)."""
    pattern = record.get("pattern")
    return f"{record['backend']}/{pattern}" if pattern else record["backend"]


def format_table(report: dict[str, Any]) -> str:
    """A plain-text table of a :func:`run_overhead` report."""
    head = (
        f"{'backend':<14} {'workers':>7} {'start s':>8} {'round ms':>9} {'p10-p90 ms':>13} "
        f"{'bare ms':>8} {'ours/bare [95% CI]':>19} "
        f"{'XtX s':>7} {'numpy s':>8} {'ratio':>6} {'effic.':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in report["results"]:
        if "error" in r:
            lines.append(f"{label(r):<14} failed: {r['error']}")
            continue
        rnd = r["round"]
        spread = f"{rnd['p10_s'] * 1e3:.2f}-{rnd['p90_s'] * 1e3:.2f}"
        xtx = r.get("xtx")
        ref = r.get("xtx_numpy")
        lines.append(
            f"{label(r):<14} {r['info']['n_workers']:>7} {r['startup_s']:>8.2f} "
            f"{rnd['median_s'] * 1e3:>9.2f} {spread:>13} {_bare_columns(r)} "
            + (
                f"{xtx['median_s']:>7.3f} {ref['median_s']:>8.3f} {r['xtx_ratio']:>6.2f} "
                f"{r['xtx_efficiency']:>6.0%}"
                if xtx
                else f"{'-':>7} {'-':>8} {'-':>6} {'-':>6}"
            )
        )
    return "\n".join(lines)


def _bare_columns(record: dict[str, Any]) -> str:
    """The bare round trip's median and ours ÷ bare, or dashes (no engine)."""
    if "bare_round" not in record:
        return f"{'-':>8} {'-':>19}"
    r = record["round_vs_bare"]
    ratio = f"{r['value']:.2f} [{r['low']:.2f}, {r['high']:.2f}]"
    return f"{record['bare_round']['median_s'] * 1e3:>8.2f} {ratio:>19}"
