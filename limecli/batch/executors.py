"""Where a batch's chunks run: in this process, in local processes (joblib), or on Dask.

An executor maps ``work`` (a picklable ``work(chunk) -> records``, the runner's
``run_chunk`` bound to a task) over an iterator of chunks and yields each
chunk's records in submission order, whatever order they finish in; that is
what makes a batch's output the same for any number of processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from limecli.errors import ParameterError

if TYPE_CHECKING:
    from limecli.batch.runner import BatchInput

from limecli.config import BACKENDS

Work = Callable[[list["BatchInput"]], list[Any]]
Executor = Callable[[Work, Iterator[list["BatchInput"]]], Iterator[list[Any]]]


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
    return nullcontext(_joblib_executor(jobs))


def _serial(work: Work, chunks: Iterator[list[BatchInput]]) -> Iterator[list[Any]]:
    # In-process: no pickling, and tracebacks stay readable under --debug.
    return (work(chunk) for chunk in chunks)


def _parallel(jobs: int, work: Work, chunks: Iterator[list[BatchInput]]) -> Iterator[list[Any]]:
    from joblib import Parallel, delayed

    # return_as="generator": results come back in submission order as they
    # finish, and pre_dispatch bounds how many chunks are in flight.
    parallel = Parallel(n_jobs=jobs, return_as="generator", pre_dispatch="2 * n_jobs", batch_size=1)
    yield from parallel(delayed(work)(chunk) for chunk in chunks)


def _joblib_executor(jobs: int) -> Executor:
    def execute(work: Work, chunks: Iterator[list[BatchInput]]) -> Iterator[list[Any]]:
        return _parallel(jobs, work, chunks)

    return execute


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

        def execute(work: Work, chunks: Iterator[list[BatchInput]]) -> Iterator[list[Any]]:
            from joblib import parallel_config

            with parallel_config(backend="dask", client=client):
                yield from _parallel(self.jobs, work, chunks)

        return execute

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()
