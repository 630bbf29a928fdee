"""Run a command on a real pseudo-terminal, signal it when a condition holds, and count
the processes it left behind. Run as a script (``python _signal_harness.py SPEC``); prints
one JSON object.

The harness is a child subreaper (Linux ``prctl``), so every process the command starts,
even one orphaned during its shutdown, stays a descendant of the harness: the census after
the command's exit sees all of them, not only those it happened to list before. It is a
separate process so that the test session itself never becomes a subreaper.

SPEC is JSON: ``argv`` (the command), ``when`` (``"descendant"``: as soon as the command
has a process of ``engine``'s (``ENGINE_PROCESSES``), i.e. its engine is starting; ``"records"``: once ``results`` holds
``n_records`` lines, plus ``delay`` seconds; ``"after"``: ``delay`` seconds after the
command started), ``signals`` (``"INT"``: Ctrl-C typed on the
terminal, which reaches its whole foreground process group, as a user's does; ``"TERM"``:
SIGTERM to the command alone), ``gap`` (seconds between signals) and ``limit`` (seconds).
"""

from __future__ import annotations

import ctypes
import json
import os
import pty
import select
import signal
import sys
import time
from pathlib import Path

import psutil


def alive(procs: list[psutil.Process]) -> list[dict]:
    left = []
    for proc in procs:
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                left.append({"pid": proc.pid, "cmd": " ".join(proc.cmdline())[:160]})
        except psutil.Error:
            continue
    return left


#: What each engine's first processes are called (not a helper such as ``git`` or the
#: resource tracker, which a run also starts).
ENGINE_PROCESSES = {"dask": "spawn_main", "spark": "SparkSubmit", "ray": "gcs_server"}


def engine_process(proc: psutil.Process, engine: str) -> bool:
    """A process the command's engine started."""
    try:
        return ENGINE_PROCESSES[engine] in " ".join(proc.cmdline())
    except psutil.Error:
        return False


def main(spec: dict) -> dict:
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    pid, fd = pty.fork()
    if pid == 0:  # the command, on the terminal's slave side, in its own session
        os.execv(spec["argv"][0], spec["argv"])
    me = psutil.Process()
    t0 = time.monotonic()
    out, sent, seen = b"", [], set()
    results = Path(spec["results"]) if spec.get("results") else None
    signals = list(spec["signals"])
    ready_at = None
    exit_status = None
    while time.monotonic() - t0 < spec["limit"]:
        readable, _, _ = select.select([fd], [], [], 0.05)
        if readable:
            try:
                data = os.read(fd, 65536)
            except OSError:  # the command closed the terminal
                data = b""
            out += data
        descendants = [p for p in me.children(recursive=True)]
        seen |= {p.pid for p in descendants if p.pid != pid}
        if ready_at is None:
            engine = spec.get("engine")
            if spec["when"] == "descendant" and any(engine_process(p, engine) for p in descendants):
                ready_at = time.monotonic()
            elif spec["when"] == "after":
                ready_at = t0 + spec["delay"]
            elif spec["when"] == "records" and results is not None and results.exists():
                if len(results.read_text().splitlines()) >= spec["n_records"]:
                    ready_at = time.monotonic() + spec.get("delay", 0.0)
        gap_ok = not sent or time.monotonic() - sent[-1]["t"] >= spec.get("gap", 0.0)
        if signals and ready_at is not None and time.monotonic() >= ready_at and gap_ok:
            name = signals.pop(0)
            if name == "INT":
                os.write(fd, b"\x03")  # the terminal's Ctrl-C: SIGINT to its process group
            else:
                os.kill(pid, getattr(signal, f"SIG{name}"))
            sent.append({"signal": name, "t": time.monotonic(), "census": len(seen)})
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            exit_status = os.waitstatus_to_exitcode(status)
            break
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    ended = time.monotonic()
    with_output = out
    while True:  # what it wrote just before exiting
        try:
            readable, _, _ = select.select([fd], [], [], 0.1)
            if not readable:
                break
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        with_output += data
    # The census: every process the command started must be gone within 10 s of the first
    # signal, whether it was ever listed or not (we are the subreaper of all of them).
    deadline = (sent[0]["t"] if sent else ended) + 10.0
    left = alive(me.children(recursive=True))
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = alive(me.children(recursive=True))
    for proc in me.children(recursive=True):  # leave nothing behind us either
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(me.children(recursive=True), timeout=5)
    return {
        "exit_status": exit_status,
        "output": with_output.decode("utf-8", "replace"),
        "signals": [{"signal": s["signal"], "census": s["census"]} for s in sent],
        "seconds_after_first_signal": round(ended - sent[0]["t"], 2) if sent else None,
        "processes_seen": len(seen),
        "left": left,
    }


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
