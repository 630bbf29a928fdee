"""Launches of cases not yet recorded, kept beside the results file.

Interleaved launches (:func:`dmlbench.suites.run.runner.run_suite`) finish a case only in
its last round; a launch measured before an interrupt or a crash is kept here (one pickle
per launch, in ``.launches/`` beside ``results.jsonl``) so ``--resume`` goes on from it
instead of measuring it again. A case's launches are removed once its record is written.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
from pathlib import Path

from dmlbench.suites.run.record_builder import Launch

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

    def reset(self) -> None:
        """Forget every kept launch (a run that is not resumed starts from none)."""
        shutil.rmtree(self.root, ignore_errors=True)

    def load(self, case_id: str) -> list[Launch]:
        """The kept launches of ``case_id``, in the order they were measured."""
        folder = self._folder(case_id)
        if not folder.is_dir():
            return []
        kept = []
        for path in sorted(folder.glob("*.pkl")):
            try:
                kept.append(pickle.loads(path.read_bytes()))
            except Exception:  # noqa: BLE001 - a launch cut off mid-write is measured again
                break
        return kept

    def add(self, case_id: str, index: int, launch: Launch) -> None:
        """Keep launch number ``index`` (from 0) of ``case_id``, written whole or not at all."""
        folder = self._folder(case_id)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{index:04d}.tmp"
        tmp.write_bytes(pickle.dumps(launch))
        os.replace(tmp, folder / f"{index:04d}.pkl")

    def clear(self, case_id: str) -> None:
        """Drop ``case_id``'s launches: its record is written."""
        shutil.rmtree(self._folder(case_id), ignore_errors=True)
        if self.root.is_dir() and not any(self.root.iterdir()):
            self.root.rmdir()

    def _folder(self, case_id: str) -> Path:
        return self.root / hashlib.sha1(case_id.encode()).hexdigest()[:16]
