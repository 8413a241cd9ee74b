"""A batch on Dask: the work scattered to every worker once, chunks sent as tasks of a size
that pays for the task.

Each Dask task costs the client, the scheduler and the worker tens of milliseconds of
CPU whatever it carries; on a 2-core machine with 32-row tabular chunks (~0.1 s each)
that overhead, paid once per chunk, made 2 local workers slower than one process.
So a task carries as many consecutive chunks as last about :data:`TASK_SECONDS`, by
the time the chunks that came back took (:class:`TaskSizes`), and fewer once every
input is read, so that no worker thread waits at the end while another works through a
long task. Chunks stay the unit of work: grouping changes only how they travel, never a
record.

The chunks travel pickled (bytes): the scheduler unpickles every task it is sent, and
with rows as arguments it imported pandas and limecli and unpickled every row.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import pickle
import statistics
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from limecli.errors import ParameterError

if TYPE_CHECKING:
    from limecli.batch.runner import BatchInput

#: Seconds a task should last, about: several times its own overhead.
TASK_SECONDS = 0.5
#: Chunks in one task at most (a batch's first tasks carry one: nothing is timed yet).
MAX_GROUP = 8
#: The chunk times the size is taken from: the latest ones.
TIMED = 16


class TaskSizes:
    """How many chunks the next task carries, for a cluster of ``threads`` worker threads."""

    def __init__(self, threads: int) -> None:
        self.threads = max(1, threads)
        self.seconds: deque[float] = deque(maxlen=TIMED)

    def timed(self, seconds_per_chunk: float) -> None:
        """A task came back: its chunks took this long each, on average."""
        self.seconds.append(seconds_per_chunk)

    def next(self, left: int | None) -> int:
        """The next task's chunks; ``left``: chunks still to send once every input is read
        (None while more are coming)."""
        size = 1
        if self.seconds:
            each = max(statistics.median(self.seconds), 1e-6)
            size = min(MAX_GROUP, max(1, math.ceil(TASK_SECONDS / each)))
        if left is not None:  # the end: shared out so that every thread has some till the last
            size = min(size, max(1, math.ceil(left / (2 * self.threads))))
        return size


def connect(scheduler: str, modules: tuple[str, ...]) -> tuple[Any, list[Any]]:
    """A client of the scheduler at ``scheduler``, and one task on each of its workers that
    imports ``modules``, submitted without waiting (kept, or Dask cancels it)."""
    try:
        from dask.distributed import Client
    except ImportError as e:
        raise ParameterError(
            "'backend' dask needs Dask: pip install 'limecli[dask]'", parameters=("backend",)
        ) from e
    try:
        client = Client(scheduler, timeout="20s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        raise ParameterError(
            f"cannot reach the Dask scheduler at {scheduler}: {e}", parameters=("scheduler",)
        ) from e
    warming = [
        client.submit(_warm, modules, workers=[worker], pure=False)
        for worker in client.scheduler_info().get("workers", {})
    ]
    return client, warming


def _warm(modules: tuple[str, ...]) -> None:
    for module in modules:
        # A head start only: an import that fails, or meets the same import by the scattered
        # work's unpickling in another thread (Python's deadlock check), is done again there.
        with contextlib.suppress(Exception):
            importlib.import_module(module)


def _call(work: Callable[[Any], Any], chunks: bytes) -> tuple[list[Any], float]:
    """A Dask task: ``work`` is the copy scattered to this worker, ``chunks`` the pickled
    chunks it runs; their results, and the seconds each took on average."""
    from limecli.allocator import kept_while

    with kept_while():
        start = time.perf_counter()
        group = pickle.loads(chunks)
        results = [work(chunk) for chunk in group]
        return results, (time.perf_counter() - start) / len(group)


def dask_run(
    client: Any, work: Callable[[Any], Any], chunks: Iterator[list[BatchInput]]
) -> Iterator[Any]:
    """``work`` scattered to every worker once, then the chunks in tasks (:class:`TaskSizes`),
    three tasks per worker thread in flight (the cluster's size decides, not ``jobs``); each
    chunk's result in submission order.

    A task is sent as soon as any finishes, not only the oldest: waiting on the oldest left
    a worker idle whenever it was done before another worker's earlier task."""
    from dask.distributed import as_completed

    threads = max(1, sum(client.nthreads().values()))
    limit = 3 * threads
    ahead: deque[list[BatchInput]] = deque()
    exhausted = False
    # The work reaches the workers while the first chunks are read here: a worker still
    # importing (a cluster just started) took ~0.5 s to take it.
    with ThreadPoolExecutor(1) as thread:
        scattering = thread.submit(client.scatter, [work], broadcast=True, hash=False)
        while not scattering.done() and not exhausted and len(ahead) < limit * MAX_GROUP:
            exhausted = _read(chunks, ahead, len(ahead) + 1)
        [remote] = scattering.result()
    sizes = TaskSizes(threads)
    running: dict[Any, int] = {}  # future -> its task's place in the batch
    completed = as_completed(loop=client.loop)  # this client's: it is not Dask's default
    finished: dict[int, list[Any]] = {}  # results back, waiting for those before them
    sent = written = 0
    try:
        while True:
            # Finished tasks held back are bounded: memory stays flat behind a slow one.
            while len(running) < limit and sent - written < 2 * limit:
                size = sizes.next(len(ahead) if exhausted else None)
                exhausted = _read(chunks, ahead, size) or exhausted
                if not ahead:
                    break
                size = sizes.next(len(ahead) if exhausted else None)
                group = [ahead.popleft() for _ in range(min(size, len(ahead)))]
                packed = pickle.dumps(group, protocol=pickle.HIGHEST_PROTOCOL)
                future = client.submit(_call, remote, packed, pure=False)
                running[future] = sent
                completed.add(future)
                sent += 1
            # While the tasks run, read past what the next ones take, a chunk at a time (a
            # task that finishes meanwhile gets its successor at once): the end of the
            # inputs is seen coming, and the tasks are made smaller before it.
            if not exhausted and len(ahead) < limit * MAX_GROUP and not completed.has_ready():
                exhausted = _read(chunks, ahead, len(ahead) + 1)
                continue
            if written in finished:
                yield from finished.pop(written)
                written += 1
                continue
            if not running:
                return
            future = next(completed)
            results, seconds = future.result()  # a task's error is raised here
            sizes.timed(seconds)
            finished[running.pop(future)] = results
    finally:
        client.cancel([*running, remote])


def _read(chunks: Iterator[list[BatchInput]], ahead: deque[list[BatchInput]], count: int) -> bool:
    """Chunks read into ``ahead`` until it holds ``count``; whether the inputs are all read."""
    while len(ahead) < count:
        chunk = next(chunks, None)
        if chunk is None:
            return True
        ahead.append(chunk)
    return False


class DaskExecutor:
    """Chunks sent as tasks to the Dask scheduler at ``scheduler``, the work scattered once;
    ``early``: the client (and warming tasks) connected before, if any."""

    def __init__(
        self, scheduler: str, modules: tuple[str, ...], early: tuple[Any, list[Any]] | None
    ) -> None:
        self.scheduler = scheduler
        self.modules = modules
        self.early = early
        self.client: Any = None
        self.warming: list[Any] = []

    def __enter__(self) -> Callable[..., Iterator[Any]]:
        from limecli.batch.workers import WithWarnings, relayed

        self.client, self.warming = self.early or connect(self.scheduler, self.modules)
        client = self.client

        def execute(work: Callable[[Any], Any], chunks: Iterator[Any], crashed: Any) -> Any:
            warned: set[tuple[type, str]] = set()
            for result in dask_run(client, WithWarnings(work), chunks):
                yield relayed(result, warned)

        return execute

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()
