"""Model code runs fenced: what it prints goes to stderr; its exits and interrupts become errors.

Loading a model and every call of it run inside :func:`fenced`. For that time:

* file descriptor 1 points at stderr and ``sys.stdout`` is ``sys.stderr``, so a
  ``print("loading weights... done")`` in a predict script, a pickled class or a
  C extension cannot corrupt the JSON/JSONL results limecli writes to stdout
  (what was written before is flushed first; the model's buffered writes are
  flushed to stderr before stdout comes back);
* ``sys.argv`` is ``[the model's path]``, as if the script ran alone: a script
  that parses arguments at import does not read limecli's, and its usage text
  names the script, not limecli;
* ``os._exit(code)`` called by the model in the fenced thread (not in a process
  it forks, nor in a thread it starts) raises :class:`ModelExit` instead of
  ending limecli without a word;
* in the main thread, a SIGINT handler notes a real Ctrl-C, so a
  ``KeyboardInterrupt`` the model raises itself is told apart from one.

:func:`escaped` says in words how model code left by a ``BaseException`` that
is not an ``Exception`` (``sys.exit``, ``os._exit``, its own
``KeyboardInterrupt``); the loaders and the Predictor turn that into
ModelLoadError (exit 4) and PredictorCallError (exit 5).

Stdout is one per process: while any thread runs fenced code, every thread's
stdout goes to stderr. A call abandoned by ``timeout`` keeps running after its
fence is gone; what it prints later is not redirected.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

from limecli.errors import ModelLoadError, PredictorCallError

__all__ = [
    "ModelExit",
    "Packed",
    "call_error",
    "escaped",
    "fenced",
    "interrupted",
    "model_thread",
    "one_line",
    "packed",
    "program_name",
]

#: The longest model error message shown (whole, on one line); longer ones end in "...".
MESSAGE_LIMIT = 400


class ModelExit(BaseException):
    """Raised in place of ``os._exit(code)`` called by fenced model code.

    A BaseException, as ``SystemExit``: the model's own ``except Exception`` does not stop it.
    """

    def __init__(self, code: Any) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class _Saved:
    fd: int | None  # a duplicate of the real fd 1, None when it could not be moved
    stdout: Any
    argv: list[str]
    exit: Any  # os._exit as it was
    pid: int


_lock = threading.RLock()
_depth = 0  # fenced scopes open in this process, all threads together
_saved: _Saved | None = None
_local = threading.local()  # .depth: fenced scopes open in this thread
_interrupted = False  # a real SIGINT arrived while the main thread was fenced
_previous_sigint: Any = None
_watching = False  # _on_sigint is installed (main thread, outermost fence)
_libc: Any = None
_REAL_EXIT = os._exit


@contextlib.contextmanager
def fenced(argv0: str) -> Iterator[None]:
    """Run model code (a load or a call) with stdout on stderr and ``sys.argv == [argv0]``.

    Nested and concurrent scopes share one redirection, undone when the last ends.
    """
    _open(argv0)
    main = threading.current_thread() is threading.main_thread()
    outer_main = main and _thread_depth() == 0
    if outer_main:
        _watch_sigint()
    _local.depth = _thread_depth() + 1
    try:
        yield
    finally:
        _local.depth -= 1
        if outer_main:
            _unwatch_sigint()
        _close()


@contextlib.contextmanager
def model_thread() -> Iterator[None]:
    """Mark a helper thread that runs model code for a fenced caller (its ``os._exit``)."""
    _local.depth = _thread_depth() + 1
    try:
        yield
    finally:
        _local.depth -= 1


def interrupted() -> bool:
    """Whether a real SIGINT (Ctrl-C) arrived during the last fenced scope of the main thread."""
    return _interrupted


def escaped(e: BaseException) -> str | None:
    """How model code left by ``e`` (not an Exception), e.g. "called sys.exit(7)".

    None for a KeyboardInterrupt that a real Ctrl-C raised: that one is the user's, re-raise it.
    """
    if isinstance(e, SystemExit):
        return f"called sys.exit({'' if e.code is None else _short(repr(e.code))})"
    if isinstance(e, ModelExit):
        return f"called os._exit({_short(repr(e.code))})"
    if isinstance(e, KeyboardInterrupt):
        return None if _interrupted else "raised KeyboardInterrupt (not a Ctrl-C)"
    message = _short(" ".join(str(e).split()))
    return f"raised {type(e).__name__}" + (f": {message}" if message else "")


def call_error(source: str, e: BaseException) -> PredictorCallError | None:
    """What the model ``source`` raising ``e`` when called becomes; None for a real Ctrl-C."""
    if isinstance(e, Exception):
        message = one_line(str(e))  # whole: the useful part is often on a later line
        detail = f": {message}" if message else ""
        return PredictorCallError(f"the model {source} raised {type(e).__name__}{detail}")
    how = escaped(e)  # sys.exit, os._exit, its own KeyboardInterrupt
    return None if how is None else PredictorCallError(f"the model {source} {how} while predicting")


def one_line(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """A message whole on one line (its lines joined by " / "), cut with "..." past ``limit``."""
    joined = " / ".join(line.strip() for line in str(text).splitlines() if line.strip())
    return joined if len(joined) <= limit else joined[: limit - 3].rstrip() + "..."


class Packed:
    """A model pickled into bytes (inside a Predictor's pickle), unpickled fenced.

    A batch worker unpickles its task before any code of limecli runs there: a
    model class that prints as it is unpickled would write into the results.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data

    def unpack(self, argv0: str) -> Any:
        import pickle

        with fenced(argv0):
            try:
                return pickle.loads(self.data)
            except Exception:
                raise
            except BaseException as e:
                how = escaped(e)
                if how is None:
                    raise
                raise ModelLoadError(f"the model {argv0} {how} while being unpickled") from e


def packed(fn: Any) -> Any:
    """``fn`` as a :class:`Packed` (by cloudpickle, as joblib sends it), else ``fn`` as it is."""
    try:
        import cloudpickle  # joblib >= 1.6 depends on it
    except ImportError:
        try:
            from joblib.externals import cloudpickle  # older joblib vendors it
        except ImportError:
            return fn
    try:
        return Packed(cloudpickle.dumps(fn))
    except Exception:  # not picklable here: the outer pickler says why, as before
        return fn


def program_name(spec: str) -> str:
    """What ``sys.argv[0]`` is for a model: a script's path (before ``:function``), or ``spec``."""
    left, _, right = spec.rpartition(":")
    return left if left and right.isidentifier() else spec


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _thread_depth() -> int:
    return int(getattr(_local, "depth", 0))


def _open(argv0: str) -> None:
    global _depth, _saved
    with _lock:
        if _depth == 0:
            # Results written so far belong on stdout: out before fd 1 moves
            # (a reader gone away shows here as BrokenPipeError, the CLI's to handle).
            for stream in (sys.stdout, sys.__stdout__):  # a sink may hold the original
                if stream is not None:
                    with contextlib.suppress(ValueError):  # a stdout closed by its owner
                        stream.flush()
            _flush_c_stdio()
            _saved = _Saved(_move_stdout(), sys.stdout, sys.argv, os._exit, os.getpid())
            sys.stdout = sys.stderr
            sys.argv = [argv0]
            os._exit = _fenced_exit
        _depth += 1


def _close() -> None:
    global _depth, _saved
    with _lock:
        _depth -= 1
        if _depth or _saved is None:
            return
        saved, _saved = _saved, None
        try:
            # The model's writes still buffered (sys.stdout, sys.__stdout__, C stdio) go
            # out while fd 1 is still stderr.
            for stream in (sys.stdout, sys.stderr, saved.stdout, sys.__stdout__):
                with contextlib.suppress(Exception):
                    if stream is not None:
                        stream.flush()
            _flush_c_stdio()
        finally:  # given back even if a Ctrl-C lands here
            if saved.fd is not None:
                with contextlib.suppress(OSError):
                    os.dup2(saved.fd, 1)
                os.close(saved.fd)
            sys.stdout = saved.stdout
            sys.argv = saved.argv
            os._exit = saved.exit


def _move_stdout() -> int | None:
    """Point fd 1 at fd 2; the duplicate of the old fd 1 (None if either is closed)."""
    try:
        kept = os.dup(1)
    except OSError:
        return None
    try:
        os.dup2(2, 1)
    except OSError:
        os.close(kept)
        return None
    return kept


def _flush_c_stdio() -> None:
    """fflush(NULL): text a C extension buffered in stdio goes out to the current fd 1."""
    global _libc
    if os.name != "posix":
        return
    try:
        if _libc is None:
            import ctypes

            _libc = ctypes.CDLL(None)
        _libc.fflush(None)
    except Exception:  # no libc to ask: nothing buffered we could reach
        _libc = False


def _fenced_exit(status: int) -> NoReturn:
    saved = _saved
    if saved is not None and _thread_depth() and os.getpid() == saved.pid:
        raise ModelExit(status)
    # Another thread, a process the model forked, or after the fence: a real exit.
    real_exit = _REAL_EXIT if saved is None else saved.exit
    real_exit(status)
    raise AssertionError("os._exit returned")  # pragma: no cover


def _watch_sigint() -> None:
    global _interrupted, _previous_sigint, _watching
    _interrupted = False
    try:
        _previous_sigint = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, _on_sigint)
        _watching = True
    except (ValueError, OSError):  # signals cannot be handled here (embedded interpreter)
        _watching = False


def _unwatch_sigint() -> None:
    global _watching
    if not _watching:
        return
    _watching = False
    # None: a handler not set from Python; the default is what Python starts with.
    previous = signal.default_int_handler if _previous_sigint is None else _previous_sigint
    with contextlib.suppress(ValueError, OSError, TypeError):
        signal.signal(signal.SIGINT, previous)


def _on_sigint(signum: int, frame: Any) -> None:
    global _interrupted
    _interrupted = True
    previous = _previous_sigint
    if callable(previous):
        previous(signum, frame)
    elif previous != signal.SIG_IGN:
        raise KeyboardInterrupt
