"""Launches of cases not yet recorded, kept beside the results file.

Interleaved launches (:func:`dmlbench.suites.run.runner.run_suite`) finish a case only in
its last round; a launch measured before an interrupt or a crash is kept here (one JSON
file per launch, in ``.launches/`` beside ``results.jsonl``, with the case's settings and
the code's commit) so ``--resume`` goes on from it instead of measuring it again. A kept
launch of other settings or other code is not reused. A case's launches are removed once
its record is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dmlbench.reports.records import to_json
from dmlbench.suites.define.spec import Case
from dmlbench.suites.run.record_builder import Check, Fits, Launch

#: The folder beside the results file.
PENDING_DIR = ".launches"


class PendingLaunches:
    """The measured launches of unrecorded cases, by case id.

    Parameters
    ----------
    results : Path
        The run's ``results.jsonl``; the launches live in ``.launches/`` beside it.
    """

    def __init__(self, results: Path):
        self.root = results.parent / PENDING_DIR

    def exists(self) -> bool:
        """Whether any launch is kept (an interrupted run's)."""
        return self.root.is_dir() and any(self.root.glob("*/*.json"))

    def load(self, case: Case, code: str | None, notes: list[str]) -> list[Launch]:
        """The kept launches of ``case``, in the order they were measured; none (and a
        note) when they were measured with other settings or at another commit."""
        folder = self._folder(case.id)
        kept = []
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                doc = json.loads(path.read_text())
                launch = _launch(doc["launch"])
            except (ValueError, KeyError, TypeError):  # cut off mid-write: measured again
                break
            if doc.get("case") != _plain(case.to_dict()) or doc.get("code") != code:
                notes.append(
                    f"{case.id}: {len(list(folder.glob('*.json')))} kept launch(es) measured "
                    "with other settings or code are measured again"
                )
                shutil.rmtree(folder, ignore_errors=True)
                return []
            kept.append(launch)
        return kept[: case.launches]

    def add(self, case: Case, index: int, launch: Launch, code: str | None) -> None:
        """Keep launch number ``index`` (from 0) of ``case``, written whole or not at all."""
        folder = self._folder(case.id)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            doc = {"case": _plain(case.to_dict()), "code": code, "launch": _plain(asdict(launch))}
            tmp = folder / f"{index:04d}.tmp"
            tmp.write_text(json.dumps(doc))
            os.replace(tmp, folder / f"{index:04d}.json")
        except OSError as exc:  # the launch stays in memory; only --resume loses it
            print(f"note: launch {index + 1} of {case.id} not kept for --resume: {exc}",
                  file=sys.stderr)  # fmt: skip

    def clear(self, case_id: str) -> None:
        """Drop ``case_id``'s launches: its record is written."""
        shutil.rmtree(self._folder(case_id), ignore_errors=True)
        if self.root.is_dir() and not any(self.root.iterdir()):
            self.root.rmdir()

    def _folder(self, case_id: str) -> Path:
        return self.root / hashlib.sha1(case_id.encode()).hexdigest()[:16]


def _plain(value: Any) -> Any:
    """``value`` as JSON gives it back (numpy values and tuples as JSON holds them)."""
    return json.loads(json.dumps(value, default=to_json))


def _launch(doc: dict[str, Any]) -> Launch:
    return Launch(**{**doc, "fits": Fits(**doc["fits"]), "check": Check(**doc["check"])})
