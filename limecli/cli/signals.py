"""SIGTERM handled like Ctrl-C: the run unwinds, one ``Error:`` line, exit 143.

Schedulers (Slurm, Kubernetes, systemd, CI runners) and ``kill`` stop a
process with SIGTERM. Python's default for it is to die on the spot: no
line, exit -15, and a batch's worker processes left running. :func:`install`
makes SIGTERM take Ctrl-C's path instead: the handler passes it on to the
SIGINT handler in force (so model code running fenced sees it as a real
interrupt, see :mod:`limecli.model.guard`), which raises KeyboardInterrupt in
the main thread. Outputs are finished or dropped as on Ctrl-C (a batch's
stream keeps its whole records, an atomic file is not replaced), joblib stops
the workers, and the command maps the interrupt to ``Error: terminated
(SIGTERM)`` and exit 143 (:func:`stop_error`; a batch adds what its output
kept and that ``--resume`` goes on from there).

A second SIGTERM while the run unwinds ends the process at once (exit 143).
Once the command has returned (interpreter shutdown, the process pool's own
exit), there is nothing left to unwind: :func:`finishing` makes SIGTERM and
SIGINT end the process at once, quietly, with their codes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Any

#: Exit codes of a run stopped by a signal (128 + the signal's number, as shells report).
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

_terminated = False
_note: str | None = None
_installed = False


def install() -> None:
    """Handle SIGTERM like Ctrl-C for the rest of this process (the command line only)."""
    global _terminated, _note, _installed
    _terminated = False
    _note = None
    with contextlib.suppress(ValueError, OSError):  # not the main thread: leave it as it is
        signal.signal(signal.SIGTERM, _on_sigterm)
        _installed = True


def debug_crashes() -> None:
    """``--debug``: a crash in native code (a segfault in a model) prints Python's traceback,
    here and in batch workers (which otherwise turn it into an error record quietly).

    Only in the command's own process (after :func:`install`): the environment it sets is
    inherited by every process started later.
    """
    if not _installed:
        return
    import faulthandler

    os.environ.setdefault("PYTHONFAULTHANDLER", "1")
    with contextlib.suppress(Exception):  # no usable stderr: nothing to show it on
        faulthandler.enable()


def terminated() -> bool:
    """Whether SIGTERM arrived (and not only Ctrl-C)."""
    return _terminated


def note_stop(note: str) -> None:
    """What the user should know about a stopped run (e.g. what a batch kept): it ends the
    ``Error:`` line of :func:`stop_error`."""
    global _note
    _note = note


def stop_error() -> tuple[str, int]:
    """The ``Error:`` message and exit code of a run stopped by KeyboardInterrupt."""
    global _note
    note, _note = _note, None  # told once
    message, code = "interrupted", EXIT_INTERRUPTED
    if _terminated:
        message, code = "terminated (SIGTERM)", EXIT_TERMINATED
    return (f"{message}; {note}" if note else message), code


def finishing() -> None:
    """The command is over: a signal now ends the process quietly with its exit code."""
    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGTERM, _exit_now)
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            signal.signal(signal.SIGINT, _exit_now)


def _on_sigterm(signum: int, frame: Any) -> None:
    global _terminated
    if _terminated:  # a second SIGTERM while unwinding: the sender insists
        _exit_now(signum, frame)
    _terminated = True
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signal.SIGINT, frame)  # normally raises KeyboardInterrupt
    # SIGINT ignored (a background job of a script) or a handler that did not raise.
    raise KeyboardInterrupt


def _exit_now(signum: int, frame: Any) -> None:
    for stream in (sys.stdout, sys.stderr):  # what the command wrote is not lost
        with contextlib.suppress(Exception):
            stream.flush()
    _exit(EXIT_TERMINATED if signum == signal.SIGTERM else EXIT_INTERRUPTED)


# Captured at import: model code run fenced may replace os._exit (limecli.model.guard).
_exit = os._exit
