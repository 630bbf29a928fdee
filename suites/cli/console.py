"""The ``dmlbench`` console script, interruptible from its first instruction.

Its own imports are the signal handling's alone: a Ctrl-C while the command's modules are
still importing (numpy, an engine) ends it as cleanly as one at any later moment.

``dmlbench run`` runs *supervised* (POSIX): this process stays in the terminal's foreground
process group and runs the command itself in a child in a process group of its own. A
Ctrl-C typed on a terminal is sent to the whole foreground group; without this, it would
reach every engine process too (Dask's workers, the multiprocessing resource tracker),
which die mid-import printing tracebacks while the driver is still shutting them down in
order. Supervised, only this process receives it and forwards it to the run alone, which
ends its engines itself (:mod:`dmlbench.suites.run.interrupts`). The child dies with this
process (``PR_SET_PDEATHSIG``), so a SIGKILL of the command still ends the run, and the
supervisor is the subreaper of what the run leaves (ended when the run has exited).
"""

from __future__ import annotations

import os
import sys

#: Set in the supervised child's environment: run the command, do not supervise again.
SUPERVISED_ENV = "DMLBENCH_SUPERVISED"
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def main(argv: list[str] | None = None) -> int:
    """Run ``dmlbench`` with ``argv`` (default: the command line); its exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["run"] and os.name == "posix" and not os.environ.get(SUPERVISED_ENV):
        return supervise(argv)
    from dmlbench.suites.run import interrupts

    with interrupts.interruptible(exiting=True):
        if argv[:1] == ["run"]:  # until `dmlbench run` has read its suite and says more
            interrupts.farewell(lambda: interrupts.resume_line(argv, "no cases recorded"))
        try:
            from dmlbench.suites.cli.commands import main as command

            return command(argv)
        except BaseException as exc:  # `dmlbench run` handles its own; this, any moment else
            return interrupts.exit_status_after(exc, "dmlbench")


def supervise(argv: list[str]) -> int:
    """Run ``dmlbench *argv`` in a child process group; forward SIGINT, SIGTERM and SIGHUP
    to it; its exit status (128 + N if a signal N ended it)."""
    import signal
    import subprocess

    from dmlbench.suites.run import interrupts

    forwarded = tuple(interrupts.EXIT_STATUS)
    pending: list[int] = []
    child: subprocess.Popen | None = None

    def forward(signum: int, frame: object) -> None:
        if child is None:
            pending.append(signum)  # before the child exists: sent as soon as it does
        else:
            child.send_signal(signum)  # the second one too: the child then forces its exit

    for sig in forwarded:  # first of all: no moment of this command is unprotected
        signal.signal(sig, forward)
    # Orphans of a run that crashed come to us (not init), to be ended below.
    interrupts.become_subreaper()
    parent = os.getpid()
    child = subprocess.Popen(
        [sys.executable, "-m", "dmlbench.suites.cli.console", *argv],
        env={**os.environ, SUPERVISED_ENV: "1"},
        process_group=0,  # not in the terminal's foreground group: its Ctrl-C is ours
        preexec_fn=lambda: _prepare_child(parent, forwarded),
    )
    for signum in pending:
        child.send_signal(signum)
    status = child.wait()  # retried after each forwarded signal (PEP 475)
    interrupts.end_started(before=set())  # anything the run left (it ends its own)
    return status if status >= 0 else 128 - status


def _prepare_child(parent: int, signals: tuple[int, ...]) -> None:
    """In the child before it runs: SIGKILL when the supervisor dies (Linux), no run at all
    if it died already, and the forwarded signals blocked until the run's handlers are in
    place (``interrupts.interruptible`` unblocks them; one sent earlier waits, pending)."""
    import signal

    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)


if __name__ == "__main__":
    sys.exit(main())
