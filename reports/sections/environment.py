"""Environment: the machine and versions, and each backend's settings, as recorded."""

from __future__ import annotations

import json
from typing import Any

from dmlbench.reports.records import Environment, Limits
from dmlbench.reports.results import Results
from dmlbench.reports.sections import Section
from dmlbench.reports.tables import Table


def tables(results: Results) -> list[Table]:
    """Machine and versions, and each backend's settings, as recorded."""
    envs = {_json_key(r["environment"]): r["environment"] for r in results.cases}
    out = []
    for i, env in enumerate(envs.values(), 1):
        rows: list[list[Any]] = [
            ["python", env.get("python")],
            ["platform", env.get("platform")],
            ["cores", env.get("cores")],
            ["memory (GB)", env.get("memory_gb")],
            ["BLAS", ", ".join(env.get("blas") or [])],
            ["code", code_text(env)],
            *limit_rows(env.get("limits")),
            *[[name, version] for name, version in sorted((env.get("versions") or {}).items())],
        ]
        title = "Environment" if len(envs) == 1 else f"Environment {i} of {len(envs)}"
        out.append(Table(title, ["item", "value"], rows))
    return [*out, _settings(results)]


def _settings(results: Results) -> Table:
    """Each backend's settings (one row per backend, workers and settings)."""
    settings = Table("Backend settings", ["backend", "workers", "engine", "version", "settings"])
    seen = set()
    for r in results.cases:
        info = r.get("backend_info")
        if not info:
            continue
        key = (info["backend"], info.get("n_workers"), _json_key(info.get("settings")))
        if key in seen:
            continue
        seen.add(key)
        settings.rows.append(
            [
                info["backend"],
                info.get("n_workers"),
                info.get("engine", ""),
                info.get("version", ""),
                ", ".join(f"{k}={v}" for k, v in sorted((info.get("settings") or {}).items())),
            ]
        )
    settings.rows.sort(key=lambda row: (row[0], row[1] or 0))
    return settings


def code_text(env: Environment) -> str:
    """The code that measured: its commit, and whether the tree differed from it."""
    code = env.get("code") or {"commit": env.get("git_commit")}
    commit = code.get("commit")
    if not commit:
        return "unknown (not run from a git checkout)"
    if code.get("dirty"):
        return f"{commit} with uncommitted changes ({', '.join(code.get('dirty_files', []))})"
    return commit if code.get("dirty") is False else f"{commit} (clean or not: not recorded)"


def limit_rows(limits: Limits | None) -> list[list[Any]]:
    """The machine's measured limits as environment rows (none if not measured)."""
    if not limits:
        return []
    if "triad_gbs" not in limits:
        return [["machine limits", limits.get("error", "not measured")]]
    triad = ", ".join(
        f"{v:.1f} on {k} core{'s' if k != '1' else ''}" for k, v in limits["triad_gbs"].items()
    )
    return [
        ["memory bandwidth, numpy triad (GB/s)", triad],
        ["DGEMM, one core (GFLOP/s)", f"{limits['dgemm_gflops']:.1f}"],
    ]


def _json_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


SECTION = Section("Environment", tables)
