"""Work done beside the model's call: what needs the samples but not the model's answers.

A tabular explanation waits on the model for most of its time (a 100-tree forest
on 5000 samples: about 20 ms), with one core busy. The samples' kernel weights
and their label-independent moments (about 1 ms of the rest, see
:func:`~limecli.explainers.common.prepare_labels`) need only the samples, so on a
machine with a second core a thread computes them while the model runs (numpy
releases the GIL in those array operations). The result is the same whichever
thread computes it; on one core, in a batch worker with no core to spare, or
when :data:`ENABLED` is False, it is computed after the call, as before. Wide
tables (see :mod:`limecli.explainers.wide`) too: their one Gram matrix is
seconds of BLAS work that would compete with the model for the cores. Text
and image explanations compute it after the call: there the float samples would
be held through the model's calls, for little gain beside long model calls.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from functools import partial
from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")

#: Set to False to compute everything in the calling thread (the tests compare both).
ENABLED = True


def spare_core() -> bool:
    """Whether this process may run on more than one core."""
    try:
        return len(os.sched_getaffinity(0)) > 1
    except AttributeError:  # not on Linux
        return (os.cpu_count() or 1) > 1


class Beside(Generic[T]):
    """``fn()`` run in a thread from now on; :meth:`result` waits for it (or runs it there
    and then, when no thread was started), re-raising what it raised."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self._fn: Callable[[], T] | None = fn
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if ENABLED and spare_core():
            # A daemon: a model that exits the process, or hangs past its timeout, is not
            # kept waiting on a thread that finishes in a millisecond anyway.
            self._thread = threading.Thread(target=self._run, name="limecli-beside", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        fn, self._fn = self._fn, None
        assert fn is not None
        try:
            self._value = fn()
        except BaseException as e:  # handed to the caller in result()
            self._error = e

    @classmethod
    def start(cls, fn: Callable[[np.ndarray], T] | None, data: np.ndarray) -> Beside[T] | None:
        """``fn(data)`` begun in a thread beside what the caller does next; None when there
        is no ``fn`` or no thread to run it in (the caller then computes it later, its own
        way: under :func:`~limecli.surrogate.single_threaded_blas`, as explain_labels does)."""
        if fn is None or not (ENABLED and spare_core()):
            return None
        return cls(partial(fn, data))

    @staticmethod
    def finish(work: Beside[T] | None) -> T | None:
        """What :meth:`start` began, once done (None if nothing was)."""
        return None if work is None else work.result()

    def result(self) -> T:
        if self._thread is not None:
            self._thread.join()
        else:
            self._run()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]
