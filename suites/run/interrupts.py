"""Ctrl-C and SIGTERM during a long command: one line, the shell's exit status, nothing left.

A suite run starts engines that start processes of their own (Dask's nannies and workers,
Spark's JVM and Python workers, Ray's GCS, raylet, dashboard and actors). Interrupted at
the wrong moment, inside ``ray.init`` say, an engine has no handle yet on what it started,
and its processes outlive the command. So :func:`interruptible`:

* makes this process a *child subreaper* (Linux ``prctl``): a process whose parent dies
  during the shutdown is re-parented to us, not to init, and stays ours to find;
* turns the first SIGINT or SIGTERM into :class:`Interrupted` (a ``KeyboardInterrupt``,
  so no ``except Exception`` of an engine or of ours records it as a failed case), except
  inside :func:`deferred` (a record being written), where it is raised when the write is
  done;
* on a second signal, or when the shutdown after the first one takes longer than
  :data:`FORCE_AFTER_S`, kills every process started since it was entered and exits at
  once with the signal's status (the user's way out, and ours, of a shutdown that hangs:
  a JVM stuck in a job, a cluster that no longer answers);
* and :func:`end_started` ends whatever the run started that is still alive: SIGTERM,
  then SIGKILL after a grace period.

Only processes that appeared as our descendants after :func:`interruptible` was entered
are touched: never the caller's own (a test session's engines), never anyone else's. The
console script runs ``dmlbench run`` supervised (:mod:`dmlbench.suites.cli.console`), so that
a terminal's Ctrl-C reaches the run alone and not every engine process at once.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import psutil

#: Exit statuses, as a shell reports a process ended by the signal: 128 + its number.
#: SIGHUP: the terminal was closed (the supervisor forwards it).
EXIT_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}
#: Seconds from the first signal until the exit is forced, whatever is still shutting down
#: (the issue's bound is 10 s for every process to be gone).
FORCE_AFTER_S = 8.0
#: The names of this module's threads start so: threads that only wait on an event, with
#: no lock held, which a fork may leave behind (the report's drawing processes are forked
#: only beside threads so named: ``dmlbench.reports.render``).
IDLE_THREAD_PREFIX = "dmlbench-idle-"
_PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


class Interrupted(KeyboardInterrupt):
    """The run was interrupted by ``signum`` (SIGINT, SIGTERM or SIGHUP).

    A ``KeyboardInterrupt``, so that engines treat SIGTERM as they treat Ctrl-C (Dask's
    client cancels what it was waiting for), and no ``except Exception`` catches it.
    """

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        return _status(self.signum)


def _status(signum: int) -> int:
    return EXIT_STATUS.get(signal.Signals(signum), 128 + signum)


class _State:
    """What :func:`interruptible` is watching (one at a time per process)."""

    def __init__(self, exiting: bool) -> None:
        self.exiting = exiting  # the process ends after the block: forcing is allowed
        self.signum: int | None = None  # the first signal received
        self.defer = 0  # depth of deferred() sections
        self.before: set[int] = set()  # descendants that existed before: never touched
        self.farewell: Callable[[], str] | None = None  # the line a forced exit prints
        self.said = False  # the farewell line was printed
        self.lock = threading.Lock()  # one farewell, from the main thread or the watcher
        self.first = threading.Event()  # set by the first signal: the watcher's clock
        self.swallowed = threading.Event()  # Python ignored our Interrupted: raise it again
        self.again = False  # the next signal is our own redelivery, not the user's second
        self.done = False  # the block was left: the redeliverer ends
        self.forcing = False  # a forced exit is under way: other threads' errors are not news


_state: _State | None = None
_last: _State | None = None  # the state of the last interruptible(), for a forced exit


def received(exc: BaseException | None = None) -> int | None:
    """The signal that interrupted the run inside :func:`interruptible`, or None.

    ``exc``, the exception that is ending the command, counts too when an engine's own
    handler raised it: ``sys.exit(SIGTERM)`` (Ray's, while ``ray.init`` runs), a
    ``KeyboardInterrupt`` (Python's own before ours was installed, or an adapter's
    ``signal_interrupt`` with its ``.signum``).
    """
    if _state is None:
        return None
    if _state.signum is None:
        if isinstance(exc, SystemExit) and exc.code == signal.SIGTERM:
            _mark(_state, signal.SIGTERM)
        elif isinstance(exc, KeyboardInterrupt):
            _mark(_state, getattr(exc, "signum", signal.SIGINT))
    return _state.signum


def exit_status_after(exc: BaseException, command: str) -> int:
    """For ``except BaseException as exc`` around a command inside :func:`interruptible`:
    if a signal ended it, end what it started, print the farewell line and return the
    shell's status for the signal; otherwise re-raise ``exc``."""
    signum = received(exc)
    if signum is None:
        raise exc
    left = end_started()  # what the engines' own shutdown did not end
    if left:
        print(f"{command}: still running, not ended: pids {left}", file=sys.stderr)
    say_farewell()
    return _status(signum)


def farewell(line: Callable[[], str]) -> None:
    """Set what a forced exit prints (the command's own "interrupted: ..." line)."""
    if _state is not None:
        _state.farewell = line


def say_farewell(file=None) -> None:
    """Print the farewell line once (:func:`farewell`), clearing a progress bar first."""
    state = _state or _last
    if state is None:
        return
    with state.lock:
        if state.said:
            return
        state.said = True
    stream = file or sys.stderr
    try:
        line = state.farewell() if state.farewell else "interrupted"
    except Exception:  # noqa: BLE001 - the exit must not fail on its message
        line = "interrupted"
    print(f"\r\033[K{line}" if stream.isatty() else line, file=stream, flush=True)


def check() -> None:
    """Raise :class:`Interrupted` if a signal was received (for code that may have
    swallowed it: a library that wrapped it in an exception of its own)."""
    if _state is not None and _state.signum is not None:
        raise Interrupted(_state.signum)


@contextmanager
def interruptible(*, exiting: bool = False) -> Iterator[None]:
    """Watch for SIGINT, SIGTERM and SIGHUP in the ``with`` block (main thread only).

    ``exiting``: the process ends after the block (the console script). Only then is the
    exit ever forced (a second signal, or FORCE_AFTER_S after the first), and the handlers
    stay installed through the interpreter's own shutdown. Otherwise (a test calling
    ``main``) a second signal only raises again, and the previous handlers come back on
    leaving: the caller is never ended by us. Outside the main thread (where Python cannot
    take signals) it does nothing.
    """
    global _state, _last
    if threading.current_thread() is not threading.main_thread() or _state is not None:
        yield
        return
    state = _State(exiting)
    state.before = _descendants()
    subreaper = _set_subreaper(True)
    previous = {sig: signal.getsignal(sig) for sig in EXIT_STATUS}
    if exiting:  # started now: the handler must not start a thread (it may run mid-start)
        threading.Thread(target=_watch, args=(state,), daemon=True,
                         name=f"{IDLE_THREAD_PREFIX}watch").start()  # fmt: skip

    def handler(signum: int, frame: object) -> None:
        if state.again:  # our redelivery of a first signal Python swallowed
            state.again = False
            if not state.defer:  # (else deferred() raises it when the section ends)
                raise Interrupted(state.signum or signum)
            return
        if state.signum is not None:  # the second signal
            if state.exiting:
                _force(state)
            raise Interrupted(state.signum)
        _mark(state, signum)
        if not state.defer:
            raise Interrupted(signum)

    _state = _last = state
    for sig in EXIT_STATUS:
        signal.signal(sig, handler)
    # The supervised run starts with these blocked (so none lands before this point).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, set(EXIT_STATUS))
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _unraisable_hook(state, previous_hook)
    threading.Thread(target=_redeliver, args=(state,), daemon=True,
                     name=f"{IDLE_THREAD_PREFIX}redeliver").start()  # fmt: skip
    try:
        yield
    finally:
        state.done = True
        state.swallowed.set()  # ends the redeliverer
        if sys.unraisablehook is not previous_hook and not exiting:
            sys.unraisablehook = previous_hook
        if not exiting:
            for sig, old in previous.items():
                signal.signal(sig, old)
            if state.signum is not None:
                logging.disable(logging.NOTSET)
            if subreaper:
                _set_subreaper(False)
        _state = None


@contextmanager
def deferred() -> Iterator[None]:
    """A section a signal must not cut (a record being written): the interrupt is raised
    when it ends."""
    if _state is None:
        yield
        return
    _state.defer += 1
    try:
        yield
    finally:
        _state.defer -= 1
    if not _state.defer:
        check()


def _mark(state: _State, signum: int) -> None:
    """The first signal: remember it, quiet the engines' logs (their shutdown errors are
    not the user's news), start the watcher's clock."""
    state.signum = signum
    logging.disable(logging.CRITICAL)
    state.first.set()


def _unraisable_hook(state: _State, previous: Callable) -> Callable:
    """``sys.unraisablehook`` while watching: an :class:`Interrupted` raised where Python
    cannot propagate it (a weakref callback: importlib's module locks, mid-import) is not
    printed as "Exception ignored ... Traceback" but raised again, from the main thread's
    next step (:func:`_redeliver`)."""

    def hook(unraisable) -> None:
        if state.forcing:  # an engine's finalizer, cut short by our exit: not the user's news
            return
        if isinstance(unraisable.exc_value, Interrupted) and not state.done:
            state.swallowed.set()
            return
        previous(unraisable)

    return hook


def _redeliver(state: _State) -> None:
    """Send the first signal again after Python swallowed its :class:`Interrupted` (a
    thread, so that it lands after the callback that swallowed it has returned)."""
    state.swallowed.wait()
    main_thread = threading.main_thread().ident  # None only before it started: never here
    if state.done or state.signum is None or main_thread is None:
        return
    state.again = True
    with suppress(Exception):
        signal.pthread_kill(main_thread, state.signum)


def _watch(state: _State) -> None:
    """Force the exit FORCE_AFTER_S after the first signal if the shutdown is not done
    (a daemon thread: it also runs during the interpreter's shutdown, an atexit that
    hangs)."""
    state.first.wait()
    time.sleep(FORCE_AFTER_S)
    _force(state)


def _force(state: _State) -> None:
    """Kill what the run started, print the farewell, exit with the signal's status now."""
    signum = state.signum or signal.SIGINT
    # Other threads (an engine's shutdown) go on running finalizers meanwhile.
    state.forcing = True
    with suppress(Exception):
        end_started(grace=0.0, before=state.before)
    with suppress(Exception):
        _release_semaphores()
    with suppress(Exception):
        _let_trackers_finish()
    with suppress(Exception):
        say_farewell()
    os._exit(_status(signum))


def bounded(fn: Callable[[], object], seconds: float) -> bool:
    """Call ``fn`` in a daemon thread and wait at most ``seconds``; whether it returned.

    For an engine's shutdown after an interrupt: a shutdown that hangs (a JVM stuck in a
    job, a Ray runtime half started) must not keep the command from exiting.
    """
    done = threading.Event()

    def call() -> None:
        with suppress(Exception):
            fn()
        done.set()

    threading.Thread(target=call, daemon=True, name="dmlbench-close").start()
    return done.wait(seconds)


def end_started(grace: float = 2.0, before: set[int] | None = None) -> list[int]:
    """End every process started since :func:`interruptible` was entered (not one of
    ``before``, by default the descendants that existed then); return the pids still
    alive after it (an empty list: nothing left).

    SIGTERM first, then SIGKILL to what is left after ``grace`` seconds.
    """
    if before is None:
        before = _state.before if _state is not None else _descendants()
    before = before | _own_helpers()
    procs = [p for p in _descendant_procs() if p.pid not in before]
    for proc in procs:
        with suppress(psutil.Error):
            proc.kill() if grace <= 0 else proc.terminate()
    _, alive = psutil.wait_procs(procs, timeout=grace) if grace > 0 else ([], procs)
    for proc in alive:
        with suppress(psutil.Error):
            proc.kill()
    _, alive = psutil.wait_procs(alive, timeout=2.0)
    # Re-parented orphans of the ones just ended (we are their subreaper) are ours too.
    late = [p for p in _descendant_procs() if p.pid not in before and p not in procs]
    for proc in late:
        with suppress(psutil.Error):
            proc.kill()
    _, still = psutil.wait_procs(late, timeout=2.0)
    return sorted(p.pid for p in [*alive, *still] if _running(p))


#: Where this process's resource trackers live (multiprocessing's, and joblib's loky's).
_TRACKER_MODULES = (
    "multiprocessing.resource_tracker",
    "joblib.externals.loky.backend.resource_tracker",
)


def _trackers() -> list[tuple[int | None, int]]:
    """``(fd, pid)`` of each resource tracker this process started (modules not imported
    are not imported here)."""
    found = []
    for name in _TRACKER_MODULES:
        tracker = getattr(sys.modules.get(name), "_resource_tracker", None)
        fd, pid = getattr(tracker, "_fd", None), getattr(tracker, "_pid", None)
        if isinstance(pid, int):
            found.append((fd if isinstance(fd, int) else None, pid))
    return found


def _own_helpers() -> set[int]:
    """This process's resource trackers: they end by themselves when we exit, and our exit
    still talks to them; ending them first makes them print tracebacks as they are
    relaunched."""
    return {pid for _, pid in _trackers()}


def _release_semaphores() -> None:
    """Before a forced exit: unlink this process's named semaphores (a Dask nanny's queues
    and locks) as their finalizers would, while the resource tracker still listens.

    Otherwise the tracker unlinks them when its pipe closes, and a finalizer that another
    thread runs meanwhile fails ("Exception ignored ... sem_unlink", a warning from the
    tracker). Each finalizer runs once: a later garbage collection does nothing.
    """
    from multiprocessing import synchronize, util

    # multiprocessing's own private names, which its type stubs do not declare.
    finalizers = getattr(util, "_finalizer_registry", {})
    cleanup = getattr(synchronize.SemLock, "_cleanup", None)
    for finalizer in list(finalizers.values()):
        if cleanup is not None and getattr(finalizer, "_callback", None) is cleanup:
            with suppress(Exception):
                finalizer()


def _let_trackers_finish(seconds: float = 1.0) -> None:
    """Before a forced exit: tell our resource trackers we are gone (end their pipe) and
    wait for them to free what the skipped shutdown left, so their notes come before our
    last line, not after it."""
    procs = []
    for fd, pid in _trackers():
        if fd is not None:
            # /dev/null over the pipe, not a close: a finalizer still running in another
            # thread writes into nothing, not into EBADF or a file that reused the number.
            with suppress(OSError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, fd)
                os.close(devnull)
        with suppress(psutil.Error):
            procs.append(psutil.Process(pid))
    psutil.wait_procs(procs, timeout=seconds)


def resume_line(argv: list[str], recorded: str) -> str:
    """The line an interrupted ``dmlbench run`` ends with: what is recorded, how to go on."""
    import shlex

    again = [a for a in argv if a != "--resume"] + ["--resume"]
    return f"interrupted: {recorded}; resume with `dmlbench {shlex.join(again)}`"


def _descendant_procs() -> list[psutil.Process]:
    try:
        return [p for p in psutil.Process().children(recursive=True) if _running(p)]
    except psutil.Error:
        return []


def _descendants() -> set[int]:
    return {p.pid for p in _descendant_procs()}


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def become_subreaper() -> bool:
    """Make this process the subreaper of its descendants (Linux); whether it worked."""
    return _set_subreaper(True)


def _set_subreaper(on: bool) -> bool:
    """Make this process the subreaper of its descendants (Linux); whether it worked."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False
