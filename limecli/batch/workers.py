"""What each local worker process of a batch does first: the process pool's initializer.

:func:`worker_setup` runs in every worker before it takes any work:

* **It dies with its parent.** A worker would notice a dead parent only when it
  next reads its pipe, so after ``kill -9`` of the parent (the OOM killer) or
  a parent that died mid-batch, workers lingered for minutes, each holding the
  model. On Linux the kernel sends the worker SIGKILL when the process that
  forked it ends (``prctl(PR_SET_PDEATHSIG)``): the batch's process, or the
  fork server (:mod:`limecli.batch.pool`), which ends with it. That reaches a
  worker stuck in native code holding the GIL. Everywhere, a daemon thread
  also checks twice a second that the batch's process is still there, and
  ends the worker when it is not.
* **Ctrl-C is the parent's.** A terminal sends SIGINT to the whole process
  group; the parent stops the run and the workers with it, so a worker ignores
  SIGINT (no tracebacks from idle workers, and a model's own
  ``KeyboardInterrupt`` is never taken for the user's).
* **No crash dump.** A model that crashed a worker with faulthandler on printed
  dozens of lines of C-level traceback; the crash becomes an error record
  instead (:mod:`limecli.batch.executors`). A ``PYTHONFAULTHANDLER`` the user
  set is respected.

:func:`serve` is a worker's life: the work once, then chunks, each answered.

:func:`in_worker` tells the runner it runs in such a worker, where any
``BaseException`` is the input's failure, not the user stopping the run.

:class:`WithWarnings` runs a chunk in a worker and returns the warnings it
raised with its records; :func:`relay` raises them again in the batch's own
process. A worker's warnings were printed raw by each worker (file, line and
source of the ``warnings.warn`` call); now they are shown as the same run with
one process shows them (the CLI's one ``Warning:`` line per message).
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import pickle
import queue
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable
from typing import IO, Any

from limecli.allocator import keep_freed_memory

#: How often a worker checks that its parent is alive (seconds).
PARENT_POLL = 0.5

#: ``prctl`` option: the signal the kernel sends this process when its parent ends.
_PR_SET_PDEATHSIG = 1

# Captured at import: model code run fenced may replace os._exit (limecli.model.guard).
_exit = os._exit
_parent: int | None = None
_dump_sink: IO[Any] | None = None  # kept open: faulthandler writes to its fd


def in_worker() -> bool:
    """Whether this process is a batch worker set up by :func:`worker_setup`."""
    return _parent is not None


def worker_setup(parent: int) -> None:
    """The pool initializer: ``parent`` is the pid of the process running the batch."""
    global _parent
    _parent = parent
    with contextlib.suppress(ValueError, OSError):  # not the main thread: nothing to change
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    _quiet_crashes()
    keep_freed_memory()
    direct = os.getppid() == parent
    # Direct or through the fork server, which itself ends when ``parent`` does.
    _kernel_kills_orphan()
    if not _parent_alive(parent, direct):  # it died before we got here
        _exit(1)
    watch = threading.Thread(
        target=_watch_parent, args=(parent, direct), name="limecli-parent-watch", daemon=True
    )
    watch.start()


def _quiet_crashes() -> None:
    global _dump_sink
    if "PYTHONFAULTHANDLER" in os.environ or faulthandler.is_enabled():
        return
    # Enabled on /dev/null, so that nothing else, seeing it enabled, points it elsewhere.
    with contextlib.suppress(OSError, ValueError, RuntimeError):
        _dump_sink = open(os.devnull, "w")  # noqa: SIM115 - must outlive this function
        faulthandler.enable(file=_dump_sink)


def _kernel_kills_orphan() -> None:
    """On Linux, SIGKILL from the kernel when the parent ends.

    The kernel ties this to the parent *thread* that started the worker: the
    fork server's only thread, or the thread running the batch.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # no libc or no prctl: the watch thread still covers it
        return


def _parent_alive(parent: int, direct: bool) -> bool:
    if direct:
        # An orphan is adopted by init or a subreaper: its parent pid changes.
        return os.getppid() == parent
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    try:  # a killed parent not yet reaped by its own parent is a zombie: it has ended
        with open(f"/proc/{parent}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _watch_parent(parent: int, direct: bool) -> None:
    while _parent_alive(parent, direct):
        time.sleep(PARENT_POLL)
    _exit(1)


class WithWarnings:
    """``work(chunk)`` returning ``(records, warnings)``: what the chunk warned, for :func:`relay`."""

    def __init__(self, work: Callable[[Any], list[Any]]) -> None:
        self.work = work

    def __call__(self, chunk: Any) -> tuple[list[Any], list[Warning]]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # the batch's process decides what to show
            records = self.work(chunk)
        return records, [_portable(w.message, w.category) for w in caught]


def relay(caught: list[Warning], seen: set[tuple[type, str]]) -> None:
    """Raise again, in this process, the warnings a worker caught, each distinct one once per
    batch (``seen``: what was relayed already). Python's own "once" cannot be relied on here:
    any change of the warning filters (joblib makes some) forgets what it has shown."""
    for message in caught:
        key = (type(message), str(message))
        if key not in seen:
            seen.add(key)
            warnings.warn(message, stacklevel=2)


def relayed(result: tuple[list[Any], list[Warning]], seen: set[tuple[type, str]]) -> list[Any]:
    """A worker's ``(records, warnings)``: the warnings relayed (:func:`relay`), the records."""
    records, caught = result
    relay(caught, seen)
    return records


def _portable(message: Warning | str, category: type[Warning]) -> Warning:
    """The warning as it can travel back to the parent (a class defined in a function or
    an attribute that does not pickle: its text, as a UserWarning)."""
    warning = message if isinstance(message, Warning) else category(str(message))
    try:
        pickle.loads(pickle.dumps(warning))
    except Exception:
        return UserWarning(str(message))
    return warning


def serve(conn: Any, parent: int, jobs: int) -> None:
    """A worker: the pickled work, then chunks in the order sent, each answered with
    ``("ok", (records, warnings))``, or ``("raise", error)`` if the work cannot load."""
    import gc

    from threadpoolctl import threadpool_limits

    from limecli.explainers import beside

    # What the fork server imported is shared with it and the other workers until written:
    # kept out of the garbage collector's passes, which would write to every object.
    gc.freeze()
    worker_setup(parent)
    # As loky did: the cores shared out, so OpenMP models do not oversubscribe them.
    cores = max(1, (os.cpu_count() or 1) // jobs)
    limits = threadpool_limits(cores, user_api="openmp")
    if cores == 1:  # no core to spare for work beside the model's calls
        beside.ENABLED = False
    blob = conn.recv_bytes()
    # The next chunk is sent while this one runs (limecli.batch.pool.DEPTH): read as it
    # comes, so that the batch's process never waits on a full pipe while this one is busy.
    inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
    threading.Thread(target=_receive, args=(conn, inbox), daemon=True).start()
    work: Callable[[Any], Any] | None = None
    while True:
        message = inbox.get()
        if message is _END:  # the batch is over
            break
        try:
            chunk = pickle.loads(message)  # here, not in the reader: no imports in two threads
            if work is None:
                work = pickle.loads(blob)
                del blob
            answer: tuple[str, Any] = ("ok", work(chunk))
        except Exception as e:
            answer = ("raise", e)
        try:
            conn.send(answer)
        except Exception as e:  # a record or error that does not pickle
            conn.send(("raise", RuntimeError(f"a worker's result could not be sent back: {e}")))
    limits.restore_original_limits()


_END = object()  # the end of a worker's chunks (its pipe closed)


def _receive(conn: Any, inbox: queue.SimpleQueue[Any]) -> None:
    try:
        while True:
            inbox.put(conn.recv_bytes())
    except (EOFError, OSError):
        inbox.put(_END)
