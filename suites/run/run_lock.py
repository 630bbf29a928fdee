"""One run per results directory: a lock the kernel holds for the running command.

Two runs pointed at the same ``--out`` would interleave their records (and each would
resume the other's cases). The lock is an exclusive ``flock`` on ``OUT/.dmlbench.lock``,
held for the whole run: the kernel releases it when the holder exits or dies, so a lock
is never stale and a reused pid can never look like a live run. The file itself says who
holds it (pid, host, start time, command) for the message a second run prints; it is left
in place when the run ends (removing a locked file lets a third run lock a new one while a
second waits on the old), emptied of its holder.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

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
        Receives a line when the last run into it ended without releasing the lock
        (killed): its lock is the kernel's, gone with it.

    Raises
    ------
    RunLocked
        If a live process holds it (its pid, host and command named).
    ResultsWriteError
        If the directory cannot be made or written (the lock is the run's first write).
    """
    path = Path(out_dir) / LOCK_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise _unwritable(out_dir, exc) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            where = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"
            raise RunLocked(
                f"{out_dir} is in use by another dmlbench run ({where}: "
                f"{holder.get('command', '?')}); wait for it to finish, or choose another --out"
            ) from None
        previous = _read(fd)
        if previous.get("pid") and notes is not None:
            notes.append(
                f"the last run into {out_dir} (pid {previous['pid']}) was killed before it "
                "finished; its lock went with it"
            )
        mine = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "at": time.time(),
            "command": "dmlbench " + " ".join(sys.argv[1:]),
        }
        try:
            _write(fd, json.dumps(mine))
        except OSError as exc:  # a full disk
            raise _unwritable(out_dir, exc) from exc
        try:
            yield path
        finally:
            with suppress(OSError):
                _write(fd, "")  # released: nobody holds it
    finally:
        os.close(fd)  # releases the flock


def _write(fd: int, text: str) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, text.encode(), 0)


def _read(fd: int) -> dict:
    try:
        info = json.loads(os.pread(fd, 65536, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _unwritable(out_dir: Path, exc: OSError) -> ResultsWriteError:
    return ResultsWriteError(
        exc.errno, f"{out_dir}: cannot write results there: {exc.strerror or exc}"
    )
