"""Re-run one recorded case and judge the new measurement against the old.

``dmlbench reproduce`` (:mod:`dmlbench.suites.cli.reproduce`) reads a record, says how this
machine and its packages differ from the ones the record names (the engines' versions,
BLAS, cores, the code), runs the same case — its suite parameters, seed (and so its data
and start), settings, pattern, worker count and launches — into a results file of its
own, and gives the calibrated ``compare`` verdict on the two medians.

The case runs alone, on an engine sized for it: settings given to the original run on its
command line (``--spark-conf``, a cluster's address, ``--timeout``) are not in the record
and are not repeated; the record's ``backend_info.settings`` shows what it ran with.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, TextIO

from dmlbench.reports.compare import DEFAULT_THRESHOLD, Change, judge
from dmlbench.reports.records import Record, RecordsError, read_records
from dmlbench.reports.results import fit_times
from dmlbench.suites.define.spec import Case, Suite
from dmlbench.suites.run.environment import environment

#: ``compare``'s verdicts as ``reproduce`` says them (B = the new run, A = the record).
VERDICT_WORDS = {"same": "same", "improvement": "faster", "regression": "slower"}


class ReproduceError(ValueError):
    """A record that cannot be re-run, with what to do."""


@dataclass
class Reproduction:
    """The old record, the new one, and what was said about them."""

    old: Record
    new: Record
    change: Change
    differences: list[str]

    @property
    def verdict(self) -> str:
        """same / faster / slower / unstable / not comparable / failed (the new run's
        outcome when it gave no verified answer)."""
        if self.new["outcome"] != "ok":
            return self.new["outcome"]
        return VERDICT_WORDS.get(self.change.verdict, self.change.verdict)


def find_record(source: str, case_id: str | None, stdin: TextIO | None = None) -> Record:
    """The record of ``case_id`` in results file ``source`` (a results file or its folder),
    or the one record on ``stdin`` when ``source`` is ``-``."""
    if source == "-":
        lines = [line for line in (stdin or sys.stdin).read().splitlines() if line.strip()]
        records = [json.loads(line) for line in lines]
    else:
        path = Path(source)
        if path.is_dir():
            found = [p for p in (path / "results.jsonl", path / "results.jsonl.gz") if p.exists()]
            path = found[0] if found else path / "results.jsonl"
        try:
            records = read_records(path)
        except RecordsError as exc:
            raise ReproduceError(str(exc)) from None
    if case_id is not None:
        records = [r for r in records if r.get("case_id") == case_id]
    if len(records) != 1:
        what = f"no record of case {case_id!r}" if not records else f"{len(records)} records"
        hint = "give a case id from the file" if case_id is None or not records else ""
        raise ReproduceError(f"{source}: {what}; {hint or 'give exactly one'}")
    return records[0]


def case_of(record: Record, launches: int | None = None) -> Case:
    """The case a record measured, as the runner ran it (``launches`` replaced if given)."""
    known = {f.name for f in fields(Case)}
    stored: dict[str, Any] = dict(record.get("case") or {})
    missing = {"suite", "algorithm", "dataset", "backend", "n_workers"} - stored.keys()
    if missing:
        raise ReproduceError(f"the record has no {', '.join(sorted(missing))}: not a case record")
    case = Case(**{k: v for k, v in stored.items() if k in known})
    if case.id != record.get("case_id"):
        raise ReproduceError(
            f"the record's case fields give id {case.id!r}, not its case_id "
            f"{record.get('case_id')!r}: recorded by another version of dmlbench"
        )
    return replace(case, launches=launches) if launches else case


def differences(old_env: dict[str, Any], new_env: dict[str, Any]) -> list[str]:
    """What differs between the environment a record names and this one: package versions
    (the engines' and the numeric stack's), BLAS, cores, CPU, memory, the code."""
    out = []
    for key in ("cores", "cpu", "memory_gb", "python", "platform", "test_slowdown"):
        if old_env.get(key) != new_env.get(key):
            out.append(f"{key}: {old_env.get(key)} recorded, {new_env.get(key)} here")
    if sorted(old_env.get("blas") or []) != sorted(new_env.get("blas") or []):
        out.append(f"BLAS: {old_env.get('blas')} recorded, {new_env.get('blas')} here")
    old_v, new_v = old_env.get("versions") or {}, new_env.get("versions") or {}
    for pkg in sorted(set(old_v) | set(new_v)):
        if old_v.get(pkg) != new_v.get(pkg):
            out.append(f"{pkg}: {old_v.get(pkg, 'not installed')} recorded, "
                       f"{new_v.get(pkg, 'not installed')} here")  # fmt: skip
    old_c, new_c = old_env.get("code") or {}, new_env.get("code") or {}
    old_commit = old_c.get("commit", old_env.get("git_commit"))
    if old_commit != new_c.get("commit"):
        out.append(f"code: commit {old_commit} recorded, {new_c.get('commit')} here")
    for side, c in (("recorded", old_c), ("here", new_c)):
        if c.get("dirty"):
            out.append(f"code {side}: uncommitted changes ({', '.join(c.get('dirty_files', []))})")
    return out


def reproduce(
    record: Record,
    out_dir: Path,
    *,
    launches: int | None = None,
    stream: TextIO | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> Reproduction:
    """Run ``record``'s case again into ``out_dir``; the old and new record and the verdict.

    Raises
    ------
    ReproduceError
        The record is not a case this dmlbench can run, or it gave no measurement to
        compare with (its outcome is not ``ok``).
    """
    from dmlbench.suites.run.runner import run_suite

    if record.get("outcome") != "ok":
        raise ReproduceError(
            f"case {record.get('case_id')} was {record.get('outcome')}, not ok: no median to "
            "reproduce"
        )
    case = case_of(record, launches)
    diffs = differences(dict(record.get("environment") or {}), dict(environment()))
    suite = Suite(case.suite, f"reproduce {case.id}", [case], "reproduce")
    (new,) = read_records(run_suite(suite, out_dir, stream=stream))
    diffs += _speed(record, new)
    if new["outcome"] != "ok":
        change = Change(case.id, "not comparable", detail=new.get("reason") or new["outcome"])
    else:
        change = judge(case.id, fit_times(record), fit_times(new), threshold)
    return Reproduction(record, new, change, diffs)


def _speed(old: Record, new: Record) -> list[str]:
    """The calibration kernel's median then and now (each run times it before any engine
    starts), when they differ by more than 10 %: the machine's own speed moved."""
    then = _calibration(old)
    now = _calibration(new)
    if not then or not now or abs(now / then - 1) <= 0.10:
        return []
    return [f"machine speed: the calibration kernel took {now / then:.2f}× its recorded time"]


def _calibration(record: Record) -> float | None:
    env: dict[str, Any] = dict(record.get("environment") or {})
    median: float | None = (env.get("calibration") or {}).get("median_s")
    return median
