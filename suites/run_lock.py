"""One run per results directory: a lock file holding the running command's pid.

Two runs pointed at the same ``--out`` would interleave their records (and each would
resume the other's cases). The lock is ``OUT/.dmlbench.lock``, created exclusively
(``O_EXCL``), holding the holder's pid, process start time and command line. A lock whose
process is gone (killed, the machine rebooted, the pid reused by another program) is
stale: the next run takes it over and says so.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psutil

from dmlbench.reports.records import ResultsWriteError

LOCK_NAME = ".dmlbench.lock"


class RunLocked(RuntimeError):
    """Another live run holds the results directory."""


@contextmanager
def run_lock(out_dir: Path, notes: list[str] | None = None) -> Iterator[Path]:
    """Hold ``out_dir``'s lock for the ``with`` block.

    Parameters
    ----------
    out_dir : Path
        The results directory (made if missing).
    notes : list of str, optional
        Receives a line when a stale lock was taken over.

    Raises
    ------
    RunLocked
        If a live process holds it (its pid and command named).
    ResultsWriteError
        If the directory cannot be made or written (the lock is the run's first write).
    """
    path = Path(out_dir) / LOCK_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(out_dir, exc) from exc
    me = psutil.Process()
    mine = {"pid": me.pid, "started": me.create_time(), "command": sys.argv, "at": time.time()}
    for _ in range(3):  # a stale lock removed by a racing run: try again
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(path)
            if holder is not None:
                command = " ".join(holder.get("command") or []) or "?"
                raise RunLocked(
                    f"{out_dir} is in use by another dmlbench run (pid {holder['pid']}: "
                    f"{command}); wait for it to finish, or choose another --out"
                ) from None
            with suppress(FileNotFoundError):
                path.unlink()
            if notes is not None:
                notes.append(f"took over the stale lock {path} (its process is gone)")
            continue
        except OSError as exc:
            raise _unwritable(out_dir, exc) from exc
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(mine, f)
        except OSError as exc:  # a full disk
            with suppress(OSError):
                path.unlink()
            raise _unwritable(out_dir, exc) from exc
        break
    else:
        raise RunLocked(f"{out_dir}: could not take {path} (runs starting at once?)")
    try:
        yield path
    finally:
        with suppress(OSError):
            if _read(path).get("pid") == me.pid:
                path.unlink()


def _unwritable(out_dir: Path, exc: OSError) -> ResultsWriteError:
    return ResultsWriteError(
        exc.errno, f"{out_dir}: cannot write results there: {exc.strerror or exc}"
    )


def _holder(path: Path) -> dict | None:
    """The lock's holder if that process is alive (the same process, not a reused pid)."""
    info = _read(path)
    pid = info.get("pid")
    if not isinstance(pid, int):
        # Being written this instant by a run that just created it, or garbage: a lock
        # younger than a few seconds is respected, an older one is stale.
        with suppress(OSError):
            if time.time() - path.stat().st_mtime < 5:
                return {"pid": "?", "command": ["(starting)"]}
        return None
    try:
        proc = psutil.Process(pid)
        if abs(proc.create_time() - float(info.get("started", 0))) > 1.0:
            return None  # the pid was reused by another process
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
    except (psutil.Error, TypeError, ValueError):
        return None
    return info


def _read(path: Path) -> dict:
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}
