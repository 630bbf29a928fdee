"""Watching a running case: progress on the terminal, peak memory, the timeout watchdog."""

from __future__ import annotations

import threading
import time
from contextlib import suppress
from typing import TextIO

from dmlbench.backends import Cancelled
from dmlbench.reports.records import PROBLEMS, engine_name
from dmlbench.suites.define.spec import Case


class PeakMemory:
    """Peak resident memory of this process and its descendants while active."""

    def __init__(self, interval: float = 0.2):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()

    def _sample(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                with suppress(psutil.Error):
                    total += proc.memory_info().rss
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class Progress:
    """A one-line progress bar on a terminal; plain lines otherwise."""

    def __init__(self, total: int, stream: TextIO):
        self.total, self.done, self.stream = total, 0, stream
        self.t0, self.tty = time.monotonic(), stream.isatty()
        self.last, self.launch = "-", 1

    def start(self, case: Case, launch: int = 1) -> None:
        """``case``'s launch number ``launch`` (from 1) begins."""
        self.launch = launch
        self._show(
            f"{case.algorithm} {case.dataset} {case.impl} {engine_name(case.to_dict())} "
            f"w={case.n_workers} n={case.n_samples}{_of(launch, case.launches)}"
        )

    def finish(self, case: Case, outcome: str, seconds: float, reason: str | None = None) -> None:
        """The launch begun last ended: ``outcome`` ("measured" when the case has more to
        run); a case that ends before its last launch counts its launches left as done."""
        launch = self.launch
        self.done += 1 if outcome == "measured" else case.launches - launch + 1
        self.last = outcome
        label = (
            f"{case.algorithm} {case.impl} {engine_name(case.to_dict())} w={case.n_workers} "
            f"n={case.n_samples}{_of(launch, case.launches)}"
        )
        line = f"[{self.done}/{self.total}] {label}: {outcome} ({seconds:.1f} s)"
        if not self.tty:
            print(line, file=self.stream, flush=True)
        elif outcome in PROBLEMS:  # a problem stays on screen above the bar, not overwritten
            self.stream.write(f"\r\033[K{line}: {(reason or '')[:200]}\n")
            self._show(label)
        else:
            self._show(label)

    def _show(self, label: str) -> None:
        if not self.tty:
            return
        elapsed = time.monotonic() - self.t0
        eta = elapsed / self.done * (self.total - self.done) if self.done else float("nan")
        width = 20
        bar = "#" * int(width * self.done / max(self.total, 1))
        self.stream.write(
            f"\r[{bar:<{width}}] {self.done}/{self.total} {_clock(elapsed)} "
            f"ETA {_clock(eta)} last: {self.last} | {label[:50]:<50}"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")


def _clock(seconds: float) -> str:
    if seconds != seconds:  # nan
        return "--:--"
    m, s = divmod(int(seconds), 60)
    return f"{m:02d}:{s:02d}"


class Watchdog:
    """Cancels the backend's calls once ``timeout`` has passed, until the case ends."""

    def __init__(self, be, timeout: float):
        self.be, self.timeout, self.fired = be, timeout, False
        self._done = threading.Event()

    def _watch(self) -> None:
        if self._done.wait(self.timeout):
            return
        self.fired = True
        while not self._done.is_set():  # calls made after a cancel need cancelling too
            with suppress(Exception):
                self.be.cancel()
            self._done.wait(0.2)

    def __enter__(self) -> Watchdog:
        threading.Thread(target=self._watch, daemon=True).start()
        return self

    def __exit__(self, exc_type, *rest) -> None:
        self._done.set()
        if self.fired and exc_type is None:
            raise Cancelled("finished only after the timeout")


def _of(launch: int, launches: int) -> str:
    return f" launch {launch}/{launches}" if launches > 1 else ""
