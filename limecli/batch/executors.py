"""Where a batch's chunks run: in this process, in local processes (joblib), or on Dask.

An executor maps ``work`` (a picklable ``work(chunk) -> records``, the runner's
``run_chunk`` bound to a task) over an iterator of chunks and yields each
chunk's records in submission order, whatever order they finish in; that is
what makes a batch's output the same for any number of processes.

Local processes die with the batch's process (:mod:`limecli.batch.workers`).
A worker that dies under a chunk (a segfault or ``exit()`` in native model
code, the OOM killer) no longer ends the batch: the chunks that were in
flight run again one at a time, the one that kills its worker again input by
input, and each input that still kills its worker gets ``crashed(item, error)``
(the runner's error record, a PredictorCallError naming the signal or exit
code). A model that kills the worker on every input it is given stops the
batch after :data:`CRASH_LIMIT` of them instead of crawling through them all.
"""

from __future__ import annotations

import os
import re
import signal
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from limecli.errors import ParameterError, PredictorCallError

if TYPE_CHECKING:
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


def executor(jobs: int, backend: str, scheduler: str | None) -> AbstractContextManager[Executor]:
    """The executor for these options (checked first), as a context manager."""
    check_executor_options(jobs, backend, scheduler)
    if backend == "dask":
        return _DaskExecutor(jobs, scheduler)
    if jobs == 1:
        return nullcontext(_serial)
    return nullcontext(_local_executor(jobs))


def _serial(
    work: Work, chunks: Iterator[list[BatchInput]], crashed: Crashed
) -> Iterator[list[Any]]:
    # In-process: no pickling, and tracebacks stay readable under --debug.
    return (work(chunk) for chunk in chunks)


def _parallel(
    jobs: int,
    work: Callable[[list[BatchInput]], Any],
    chunks: Iterator[list[BatchInput]],
    **backend_kwargs: Any,
) -> Iterator[Any]:
    from joblib import Parallel, delayed

    # return_as="generator": results come back in submission order as they
    # finish, and pre_dispatch bounds how many chunks are in flight.
    parallel = Parallel(
        n_jobs=jobs,
        return_as="generator",
        pre_dispatch="2 * n_jobs",
        batch_size=1,
        **backend_kwargs,
    )
    yield from parallel(delayed(work)(chunk) for chunk in chunks)


def _local_executor(jobs: int) -> Executor:
    def execute(
        work: Work, chunks: Iterator[list[BatchInput]], crashed: Crashed
    ) -> Iterator[list[Any]]:
        return _LocalRun(jobs, work, crashed).run(chunks)

    return execute


def _worker_kwargs() -> dict[str, Any]:
    """The pool initializer (workers die with this process), for the loky backend only: a
    caller's ``joblib.parallel_config(backend="threading")`` still applies as before."""
    from joblib.parallel import LokyBackend, get_active_backend

    from limecli.batch.workers import worker_setup

    backend, _ = get_active_backend()
    if not isinstance(backend, LokyBackend):
        return {}
    return {"initializer": worker_setup, "initargs": (os.getpid(),)}


class _LocalRun:
    """One batch on local worker processes, going on when a worker dies under a chunk."""

    def __init__(self, jobs: int, work: Work, crashed: Crashed) -> None:
        from limecli.batch.workers import WithWarnings

        self.jobs = jobs
        self.work = WithWarnings(work)
        self.warned: set[tuple[type, str]] = set()
        self.crashed = crashed
        self.kwargs = _worker_kwargs()
        self.explained = False  # some chunk came back: the model can run in a worker
        self.crashes = 0

    def run(self, chunks: Iterator[list[BatchInput]]) -> Iterator[list[Any]]:
        from joblib.externals.loky.process_executor import TerminatedWorkerError

        in_flight: deque[list[BatchInput]] = deque()

        def tracked() -> Iterator[list[BatchInput]]:
            for chunk in chunks:  # joblib takes a chunk only to send it to a worker
                in_flight.append(chunk)
                yield chunk

        while True:
            try:
                for result in _parallel(self.jobs, self.work, tracked(), **self.kwargs):
                    in_flight.popleft()
                    self.explained = True
                    yield _relayed(result, self.warned)
                return
            except TerminatedWorkerError:
                # The pool is gone with every chunk in flight; which one killed it is unknown.
                lost = list(in_flight)
                in_flight.clear()
            for chunk in lost:
                yield self._isolated(chunk, guilty=len(lost) == 1)

    def _isolated(self, chunk: list[BatchInput], guilty: bool = False) -> list[Any]:
        """``work(chunk)`` alone in the pool; input by input if its worker dies (``guilty``:
        it was the only chunk in flight when a worker died, so go input by input at once)."""
        from joblib import Parallel, delayed
        from joblib.externals.loky.process_executor import TerminatedWorkerError

        if guilty and len(chunk) > 1:
            return [record for item in chunk for record in self._isolated([item])]
        try:
            (result,) = Parallel(n_jobs=self.jobs, batch_size=1, **self.kwargs)(
                [delayed(self.work)(chunk)]
            )
        except TerminatedWorkerError as e:
            if len(chunk) > 1:
                return [record for item in chunk for record in self._isolated([item])]
            return [self._crashed(chunk[0], e)]
        self.explained = True
        return _relayed(result, self.warned)

    def _crashed(self, item: BatchInput, error: BaseException) -> Any:
        crash = PredictorCallError(crash_message(str(error)))
        self.crashes += 1
        if not self.explained and self.crashes >= CRASH_LIMIT:
            raise PredictorCallError(
                f"{crash} on each of the first {self.crashes} inputs it was given: the batch stops"
            )
        return self.crashed(item, crash)


def _relayed(result: tuple[list[Any], list[Warning]], seen: set[tuple[type, str]]) -> list[Any]:
    from limecli.batch.workers import relay

    records, caught = result
    relay(caught, seen)
    return records


def crash_message(worker_error: str) -> str:
    """What killed a worker, from loky's TerminatedWorkerError text ("{SIGSEGV(-11)}",
    "{EXIT(3)}"), as a record's message."""
    found = re.search(r"\b(?:SIG[A-Z0-9]+\((-?\d+)\)|EXIT\((-?\d+)\))", worker_error)
    if found is None:
        return "the worker process running the model died"
    if found.group(2) is not None:
        return f"the model ended the worker process (exit code {found.group(2)})"
    number = abs(int(found.group(1)))
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


class _DaskExecutor:
    """Chunks sent to the Dask scheduler at ``scheduler`` through joblib's Dask backend."""

    def __init__(self, jobs: int, scheduler: str | None) -> None:
        if not scheduler:
            raise _needs_scheduler()
        try:
            from dask.distributed import Client
        except ImportError as e:
            raise ParameterError(
                "'backend' dask needs Dask: pip install 'limecli[dask]'", parameters=("backend",)
            ) from e
        self.jobs = jobs
        self.scheduler = scheduler
        self.client_class = Client
        self.client: Any = None

    def __enter__(self) -> Executor:
        try:
            self.client = self.client_class(self.scheduler, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:
            raise ParameterError(
                f"cannot reach the Dask scheduler at {self.scheduler}: {e}",
                parameters=("scheduler",),
            ) from e
        client = self.client

        def execute(
            work: Work, chunks: Iterator[list[BatchInput]], crashed: Crashed
        ) -> Iterator[list[Any]]:
            from joblib import parallel_config

            from limecli.batch.workers import WithWarnings

            warned: set[tuple[type, str]] = set()
            with parallel_config(backend="dask", client=client):
                for result in _parallel(self.jobs, WithWarnings(work), chunks):
                    yield _relayed(result, warned)

        return execute

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()
