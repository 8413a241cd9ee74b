"""Where a batch's chunks run: in this process, in local processes, or on Dask.

An executor maps ``work`` (a picklable ``work(chunk) -> records``, the runner's
``run_chunk`` bound to a task) over an iterator of chunks and yields each
chunk's records in submission order, whatever order they finish in; that is
what makes a batch's output the same for any number of processes.

Local processes (:mod:`limecli.batch.pool`) are forked from a server that
has the imports, are sent the work once, and die with the batch's process
(:mod:`limecli.batch.workers`). A worker that dies under a chunk (a segfault
or ``exit()`` in native model code, the OOM killer) does not end the batch:
each worker runs one chunk at a time, so the chunk that killed it is known;
it runs again input by input, and each input that kills its worker gets
``crashed(item, error)`` (the runner's error record, a PredictorCallError
naming the signal or exit code). A model that kills the worker on every input
it is given stops the batch after :data:`CRASH_LIMIT` of them instead of
crawling through them all.

Dask (:mod:`limecli.batch.dask_tasks`): the work is scattered to every worker
once and the chunks travel several to a task; the workers start importing what
the kind needs as soon as the client connects. :func:`start_early` lets a
command connect (or start the local fork server) before it loads its data and
model, so that this overlaps.
"""

from __future__ import annotations

import os
import pickle
import re
import signal
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from limecli.errors import ParameterError, PredictorCallError

if TYPE_CHECKING:
    from limecli.batch.pool import Job
    from limecli.batch.runner import BatchInput

from limecli.config import BACKENDS

Work = Callable[[list["BatchInput"]], list[Any]]
#: ``crashed(item, error) -> record``: the record of an input whose worker died under it.
Crashed = Callable[["BatchInput", PredictorCallError], Any]
Executor = Callable[[Work, Iterator[list["BatchInput"]], Crashed], Iterator[list[Any]]]

#: Inputs that kill their worker, with none explained yet, before the batch stops.
CRASH_LIMIT = 3


def check_executor_options(jobs: int, backend: str, scheduler: str | None) -> None:
    """``jobs``, ``backend`` and ``scheduler`` values that cannot work (ParameterError),
    checked before any work."""
    if jobs == 0:
        raise ParameterError(
            "'jobs' must be a positive number of processes, or -1 for all cores",
            parameters=("jobs",),
        )
    if backend not in BACKENDS:
        raise ParameterError(
            f"unknown backend {backend!r}: expected one of {', '.join(BACKENDS)}",
            parameters=("backend",),
        )
    if backend == "dask" and not scheduler:
        raise _needs_scheduler()
    if backend != "dask" and scheduler is not None:
        raise ParameterError(
            "'scheduler' only goes with 'backend' dask", parameters=("scheduler", "backend")
        )


def _needs_scheduler() -> ParameterError:
    return ParameterError(
        "'backend' dask needs 'scheduler' ADDRESS (e.g. tcp://host:8786)",
        parameters=("backend", "scheduler"),
    )


def executor(
    jobs: int, backend: str, scheduler: str | None, kind: str | None = None
) -> AbstractContextManager[Executor]:
    """The executor for these options (checked first), as a context manager (``kind``: what
    the workers import before they are needed)."""
    check_executor_options(jobs, backend, scheduler)
    if backend == "dask":
        from limecli.batch.dask_tasks import DaskExecutor

        assert scheduler is not None  # checked above
        return DaskExecutor(scheduler, _modules(kind), _early_clients.pop(scheduler, None))
    if jobs == 1:
        return nullcontext(_serial)
    return _LocalExecutor(processes(jobs), kind)


def processes(jobs: int) -> int:
    """Worker processes for ``jobs``: -1 is every core, -2 all but one, and so on."""
    return jobs if jobs > 0 else max(1, (os.cpu_count() or 1) + 1 + jobs)


#: Dask clients connected by :func:`start_early` (and their warming tasks), by scheduler
#: address, for the next batch.
_early_clients: dict[str, tuple[Any, list[Any]]] = {}
_early_servers = 0  # fork server starts by start_early, each ended by release_early


def start_early(jobs: int, backend: str, scheduler: str | None, kind: str | None) -> None:
    """Get a batch's workers ready while this process reads the data and loads the model:
    the fork server and its imports (``jobs`` > 1), or the Dask connection and the workers'
    imports. The batch run next with these options takes them over; :func:`release_early`
    ends what no batch took."""
    global _early_servers
    check_executor_options(jobs, backend, scheduler)
    if backend == "dask" and scheduler is not None:
        if scheduler not in _early_clients:
            from limecli.batch.dask_tasks import connect

            _early_clients[scheduler] = connect(scheduler, _modules(kind))
    elif jobs != 1:
        from limecli.batch.pool import start_server

        start_server(kind)
        _early_servers += 1


def release_early() -> None:
    """End what :func:`start_early` started and no batch took over (the fork server, once
    no batch uses it)."""
    global _early_servers
    from limecli.batch.pool import stop_server

    while _early_servers:
        _early_servers -= 1
        stop_server()
    while _early_clients:
        _early_clients.popitem()[1][0].close()


def _serial(
    work: Work, chunks: Iterator[list[BatchInput]], crashed: Crashed
) -> Iterator[list[Any]]:
    # In-process: no pickling, and tracebacks stay readable under --debug.
    return (work(chunk) for chunk in chunks)


class _LocalExecutor:
    """Local worker processes (:mod:`limecli.batch.pool`): the fork server is started on
    entering (or the one :func:`start_early` started is used), stopped on leaving once no one
    else uses it; workers end with the run."""

    def __init__(self, jobs: int, kind: str | None) -> None:
        self.jobs = jobs
        self.kind = kind

    def __enter__(self) -> Executor:
        from limecli.batch.pool import start_server

        start_server(self.kind)

        def execute(
            work: Work, chunks: Iterator[list[BatchInput]], crashed: Crashed
        ) -> Iterator[list[Any]]:
            return _LocalRun(self.jobs, work, crashed).run(chunks)

        return execute

    def __exit__(self, *exc: object) -> None:
        from limecli.batch.pool import stop_server

        stop_server()


class _LocalRun:
    """One batch on local worker processes, going on when a worker dies under a chunk."""

    def __init__(self, jobs: int, work: Work, crashed: Crashed) -> None:
        from limecli.batch.pool import LocalPool
        from limecli.batch.workers import WithWarnings

        self.warned: set[tuple[type, str]] = set()
        self.crashed = crashed
        self.crashes = 0
        # By cloudpickle, as joblib sent it: a script's functions travel by value.
        blob = _cloudpickle().dumps(WithWarnings(work), protocol=pickle.HIGHEST_PROTOCOL)
        self.pool = LocalPool(jobs, blob, self._died)

    def run(self, chunks: Iterator[list[BatchInput]]) -> Iterator[list[Any]]:
        from limecli.batch.workers import relayed

        for result in self.pool.run(chunks):
            yield relayed(result, self.warned)

    def _died(self, job: Job, exitcode: int | None) -> tuple[list[Any], list[Warning]] | None:
        """A chunk whose worker died: its inputs one by one (None), or, for one input, its
        crash record; the batch stops once :data:`CRASH_LIMIT` inputs crashed before any
        chunk came back."""
        if len(job.items) > 1:
            return None
        crash = PredictorCallError(exit_message(exitcode))
        self.crashes += 1
        if not self.pool.answered and self.crashes >= CRASH_LIMIT:
            raise PredictorCallError(
                f"{crash} on each of the first {self.crashes} inputs it was given: the batch stops"
            )
        return [self.crashed(job.items[0], crash)], []


def _cloudpickle() -> Any:
    try:
        import cloudpickle  # joblib >= 1.6 depends on it
    except ImportError:  # older joblib vendors it
        from joblib.externals import cloudpickle
    return cloudpickle


def _modules(kind: str | None) -> tuple[str, ...]:
    from limecli.batch.pool import PRELOAD

    return PRELOAD.get(kind, PRELOAD[None])


def exit_message(exitcode: int | None) -> str:
    """What ended a worker, from its exit code (negative: the signal that killed it), as a
    record's message."""
    if exitcode is None:
        return "the worker process running the model died"
    if exitcode >= 0:
        return f"the model ended the worker process (exit code {exitcode})"
    number = -exitcode
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    if number == signal.SIGKILL:
        return (
            f"the worker process running the model was killed (signal {number}, {name}), "
            "often for lack of memory"
        )
    return f"the model crashed the worker process (signal {number}, {name})"


def crash_message(worker_error: str) -> str:
    """What killed a worker, from an error text naming it as loky does ("{SIGSEGV(-11)}",
    "{EXIT(3)}"), as a record's message."""
    found = re.search(r"\b(?:SIG[A-Z0-9]+\((-?\d+)\)|EXIT\((-?\d+)\))", worker_error)
    if found is None:
        return exit_message(None)
    if found.group(2) is not None:
        return exit_message(int(found.group(2)))
    return exit_message(-abs(int(found.group(1))))
