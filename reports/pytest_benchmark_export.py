"""dmlbench results as pytest-benchmark JSON, so ``pytest-benchmark compare`` reads them.

Each ``ok`` case becomes one benchmark (a wrong answer, a failure or a timeout is not a
result and is left out): its timed fits (the cold one left out) are the rounds, every one
kept in ``stats.data``; backend, workers, size, outcome and quality go in ``extra_info``. The
statistics are computed by pytest-benchmark's own ``Stats``.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from dmlbench.reports.records import Record


def to_pytest_benchmark(records: Sequence[Record]) -> dict[str, Any]:
    """A pytest-benchmark JSON document of the records that have timed fits."""
    try:
        import pytest_benchmark
        from pytest_benchmark.stats import Stats
    except ImportError as exc:  # pragma: no cover - the test extra has it
        raise ImportError("needs pytest-benchmark: pip install 'dmlbench[test]'") from exc
    benchmarks = []
    for r in records:
        fits = (r.get("phases") or {}).get("fit_s")
        # Only verified answers: a wrong answer's time is not a result to compare.
        if not fits or r["outcome"] != "ok":
            continue
        case = r["case"]
        stats = Stats()
        for seconds in fits:
            stats.update(seconds)
        name = (
            f"{case['algorithm']}[{case['dataset']}-{case['impl']}-{case['backend']}-"
            f"w{case['n_workers']}-n{case['n_samples']}]"
        )
        benchmarks.append(
            {
                "group": f"{case['suite']}:{case['algorithm']}",
                "name": name,
                "fullname": f"{case['suite']}::{name}",
                "params": {
                    "backend": case["backend"],
                    "n_workers": case["n_workers"],
                    "n_samples": case["n_samples"],
                    "impl": case["impl"],
                },
                "param": f"{case['backend']}-w{case['n_workers']}-n{case['n_samples']}",
                "extra_info": {
                    "case_id": r["case_id"],
                    "outcome": r["outcome"],
                    "quality": r.get("quality"),
                    "fit_cold_s": r["phases"].get("fit_cold_s"),
                    "n_iter": r.get("n_iter"),
                    "backend": case["backend"],
                    "n_workers": case["n_workers"],
                    "n_samples": case["n_samples"],
                },
                "options": {"timer": "perf_counter", "min_rounds": len(fits), "warmup": 1},
                # "data": every timed fit, so pytest-benchmark's own statistics (and
                # `compare --histogram`) see the raw times, not only the summary.
                "stats": {**stats.as_dict(), "iterations": 1, "data": list(fits)},
            }
        )
    env = records[0]["environment"] if records else {}
    return {
        "machine_info": {
            "node": platform.node(),
            "processor": env.get("cpu"),
            "python_version": env.get("python"),
            "cpu": {"count": env.get("cores")},
            "dmlbench_environment": env,
        },
        "commit_info": {"id": env.get("git_commit")},
        "benchmarks": benchmarks,
        "datetime": datetime.now(UTC).isoformat(),
        "version": pytest_benchmark.__version__,
    }
