"""The results format, owned here on the reader's side: one JSON record per line.

The runner writes through :func:`append_record`; reports read through the loader in
:mod:`dmlbench.reports.results`. (Being completed: the record type, the outcome names
and the case id move here too.)
"""

from __future__ import annotations

import json
import os
from contextlib import suppress
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA_VERSION = 1
RESULTS_NAME = "results.jsonl"


def read_results(path: Path) -> list[dict[str, Any]]:
    """Every complete record of a results file (a line cut by a kill is ignored)."""
    records = []
    if path.exists():
        for line in path.read_text().splitlines():
            with suppress(json.JSONDecodeError):
                records.append(json.loads(line))
    return records


def append_record(path: Path, record: dict[str, Any]) -> None:
    """Append one record and make it durable before returning."""
    line = json.dumps(record, default=to_json) + "\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def to_json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
