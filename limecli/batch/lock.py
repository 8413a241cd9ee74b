"""One writer per batch output: an exclusive ``flock`` on the JSONL/CSV file itself.

Two runs appending to one file would interleave or truncate each other's
records, and both would exit 0. The lock is taken on the output file (no
lock file to leave behind); the kernel drops it when the file is closed or
the process dies, a ``kill -9`` included, so a crashed run never blocks the
next one. Only regular files are locked: a device or a FIFO (``/dev/null``)
is shared by nature. Where there is no ``flock`` (Windows), nothing is locked.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

from limecli.atomic import write_error
from limecli.errors import OutputWriteError


def busy_error(path: Path) -> OutputWriteError:
    return OutputWriteError(
        f"'output' {path} is being written by another limecli run; wait for it to end "
        "or write to another file",
        parameters=("output",),
    )


def check_unlocked(path: Path) -> None:
    """Refuse (:class:`OutputWriteError`, exit 7), without waiting and without writing,
    an existing output that another run holds; a look only, the lock is taken by
    :func:`open_locked`."""
    if fcntl is None:
        return
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return  # missing or unreadable: nothing to look at
    try:
        # Shared: two runs looking at once do not see each other, only a writer's
        # exclusive lock stands in the way.
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        raise busy_error(path) from None
    finally:
        os.close(fd)  # drops the lock just taken, if any


def open_locked(path: Path) -> int:
    """A write descriptor on ``path`` (created if missing, never truncated here, every
    write appended), holding its exclusive lock; :class:`OutputWriteError` if another
    run holds it. Closing the descriptor releases the lock."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
    except OSError as e:
        raise write_error(path, e) from e
    try:
        if fcntl is not None and stat.S_ISREG(os.fstat(fd).st_mode):
            _lock(fd, path)
    except BaseException:
        os.close(fd)
        raise
    return fd


#: How long a lock is tried for: another run's look (:func:`check_unlocked`) holds it
#: for microseconds, a writer for its whole run.
PATIENCE = 0.5


def _lock(fd: int, path: Path) -> None:
    deadline = time.monotonic() + PATIENCE
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise busy_error(path) from None
            time.sleep(0.02)
