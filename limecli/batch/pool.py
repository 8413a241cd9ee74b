"""A batch's local worker processes: forked from a server that has the imports, sent the work once.

Workers used to be fresh interpreters (joblib's loky): each imported numpy,
pandas, scikit-learn and limecli (1.3-1.7 s of CPU, ~200 MB each) and was
sent the whole task (explainer, model, shared pool: megabytes) with every
chunk, so ``--jobs 2`` barely beat one process at 1,000 rows. Now:

* **A fork server** (``multiprocessing``'s ``forkserver``) imports what a
  worker of the batch's kind needs, once. :func:`start_server` starts it as
  soon as the command knows it will run workers, so it imports while this
  process reads the data and loads the model; each worker is then forked
  from it in milliseconds, its imports shared copy-on-write with the server
  and the other workers. Why not fork this process, where the model is
  already loaded? It has usually called the model (the shared pool), and a
  model that ran GNU OpenMP code (HistGradientBoosting, XGBoost, LightGBM)
  leaves a thread pool that a forked child waits on for ever. The server
  never runs a model.
* **The work** (task, explainer, model, pool) is pickled once and sent to
  each worker once, which loads it on its first chunk; each chunk then
  carries only its inputs, and the records come back.
* **Two chunks at a time per worker** (:data:`DEPTH`), handed out as workers
  finish (balanced however long each chunk takes): the one it runs, and the
  next, there as soon as it is done. A worker runs its chunks in order, so one
  that dies names the chunk that killed it (the oldest unanswered): that chunk
  is run again input by input, and an input that kills its worker again becomes
  a crash record (:mod:`limecli.batch.executors`); the chunk sent after it is
  handed out again. A new worker replaces the dead one.
* **Nothing is left behind**: workers are ended when the batch ends, however
  it ends, and the server is stopped with them if the batch started it.
  Each worker dies with its parent (:func:`~limecli.batch.workers.worker_setup`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from limecli.batch.workers import serve

#: What every worker imports at its first input unless the fork server has (the surrogate's
#: stability replicates, imported lazily elsewhere).
_COMMON = ("limecli.stability", "limecli.explainers.wide")
#: What a worker of each kind imports in the fork server: limecli's task, the modules its
#: first input would import (a worker importing them itself paid it once per worker: a
#: TF-IDF pipeline's modules 1.25 s of CPU, an image's readers, superpixels and pictures
#: 0.5 s), and those of the usual scikit-learn models of that kind (the ensembles bring most
#: of scikit-learn). Any other model's modules are imported by each worker as it loads the
#: work; a module that is not installed (or renamed by a later release) is skipped.
PRELOAD: dict[str | None, tuple[str, ...]] = {
    # pyarrow.pandas_compat: pandas imports it at a first table of text cells (pandas 3).
    "tabular": (
        "limecli.batch.tasks_tabular",
        *_COMMON,
        "sklearn.ensemble",
        "pyarrow.pandas_compat",
    ),
    "text": (
        "limecli.batch.tasks_text",
        *_COMMON,
        "sklearn.pipeline",
        "sklearn.feature_extraction.text",
        "sklearn.linear_model",
    ),
    "image": (
        "limecli.batch.tasks_image",
        *_COMMON,
        "limecli.render.overlay",
        "PIL.PngImagePlugin",
        "PIL.JpegImagePlugin",
        # scikit-image loads these lazily, at the first superpixels (0.4 s).
        "skimage.segmentation._quickshift",
        "skimage.segmentation.slic_superpixels",
        "skimage.segmentation._felzenszwalb",
    ),
    None: ("limecli.batch.runner",),
}

#: Chunks sent to a worker at a time: the one it runs and the next, already there when it
#: finishes (one at a time, a worker waited ~10 ms per 32-row chunk of ~90 ms for its next:
#: the records written, the chunk pickled, sent and unpickled).
DEPTH = 2

#: Seconds a worker has to end by itself once told to, before it is killed.
STOP_WAIT = 5.0

_users = 0  # batches (and early starts) using the fork server this module started; 0: none
_tracker_was_running = True  # multiprocessing's resource tracker ran before (else stop it too)


def start_server(kind: str | None = None) -> None:
    """Start the fork server the workers come from, preloading ``kind``'s imports; a running
    one is kept as it is (POSIX only: elsewhere workers start as fresh processes). Each call
    is matched by one :func:`stop_server`."""
    global _users, _tracker_was_running
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return
    from multiprocessing import forkserver, resource_tracker

    server: Any = forkserver._forkserver  # the process-wide server, as multiprocessing keeps it
    if _users:
        _users += 1
        return
    if _server_running(server):  # someone else's: used, never stopped here
        return
    modules = ["limecli.batch.server_init", "limecli.batch.pool", *PRELOAD.get(kind, PRELOAD[None])]
    before = getattr(server, "_preload_modules", None)
    server.set_forkserver_preload(modules)
    _tracker_was_running = getattr(resource_tracker._resource_tracker, "_fd", None) is not None
    try:
        forkserver.ensure_running()
    finally:  # a server started later by someone else preloads what they asked for
        if before is not None:
            server._preload_modules = before
    _users = 1


def stop_server() -> None:
    """Once the last user of the fork server :func:`start_server` started is done, stop it
    (and the resource tracker multiprocessing started with it); its workers have ended."""
    global _users
    if not _users:
        return
    _users -= 1
    if _users:
        return
    from multiprocessing import forkserver, resource_tracker

    server: Any = forkserver._forkserver
    # It would wait for every process it forked to end; the batch's workers have ended.
    with contextlib.suppress(OSError, TypeError):
        os.kill(server._forkserver_pid, signal.SIGKILL)
    for stop in (
        getattr(server, "_stop", None),
        None
        if _tracker_was_running
        else getattr(resource_tracker._resource_tracker, "_stop", None),
    ):
        if stop is not None:
            stop()


def _server_running(server: Any) -> bool:
    pid = getattr(server, "_forkserver_pid", None)
    if pid is None:
        return False
    try:
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return False


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


@dataclass
class Job:
    """A chunk (or one input of a chunk being isolated) to run in a worker."""

    seq: int  # the chunk's position in the batch
    part: int  # which input, when the chunk is run input by input (else 0)
    items: list[Any]


@dataclass
class Worker:
    process: Any
    conn: Any
    #: Chunks sent and not yet answered, oldest (the one running) first.
    jobs: deque[Job] = field(default_factory=deque)


@dataclass
class _Slot:
    """A chunk's records as they come back: one part, or one per input once isolated."""

    parts: list[list[Any] | None] = field(default_factory=lambda: [None])

    def done(self) -> bool:
        return all(p is not None for p in self.parts)


class LocalPool:
    """Runs ``work`` (pickled once as ``blob``) on chunks in ``jobs`` worker processes.

    :meth:`run` yields each chunk's ``(records, warnings)`` in submission order.
    ``died(job, exitcode)`` is called for a job whose worker died under it and returns the
    ``(records, warnings)`` to stand for it (a single input), or None to run its inputs one
    by one.
    """

    def __init__(self, jobs: int, blob: bytes, died: Callable[[Job, int | None], Any]) -> None:
        self.jobs = jobs
        self.blob = blob
        self.died = died
        self.context = _context()
        self.workers: list[Worker] = []
        self.idle_deaths = 0
        self.answered = False  # some chunk came back: the model can run in a worker

    def _start(self, send: bool = True) -> None:
        ours, theirs = self.context.Pipe()
        process = self.context.Process(
            target=serve, args=(theirs, os.getpid(), self.jobs), name="limecli-batch-worker"
        )
        process.daemon = True
        with _main_left_alone():
            process.start()
        theirs.close()
        self.workers.append(Worker(process, ours))  # before anything can fail: ended with the rest
        if send:
            ours.send_bytes(self.blob)

    def run(self, chunks: Iterator[list[Any]]) -> Iterator[tuple[list[Any], list[Any]]]:
        from multiprocessing.connection import wait

        queue: deque[Job] = deque()
        slots: dict[int, _Slot] = {}
        pulled = yielded = 0
        ahead: list[Any] | None = None
        exhausted = False
        window = (DEPTH + 1) * self.jobs  # chunks read but not yet yielded: memory stays flat
        try:
            # Every worker starting, the first chunk read meanwhile, then the work to each (a
            # send waits until the worker, once set up, has read it all).
            for _ in range(self.jobs):
                self._start(send=False)
            ahead = next(chunks, None)
            for worker in self.workers:
                worker.conn.send_bytes(self.blob)
            while True:
                # Read ahead: enough for every free place in the workers, and one more chunk
                # to know whether more inputs are coming.
                free = sum(DEPTH - len(w.jobs) for w in self.workers)
                while ahead is not None and len(queue) < free and pulled - yielded < window:
                    queue.append(Job(pulled, 0, ahead))
                    slots[pulled] = _Slot()
                    pulled += 1
                    ahead = next(chunks, None)
                exhausted = ahead is None
                # Chunks out before finished records are written (rendering and flushing
                # them would keep the workers waiting). Idle workers first; a next chunk only
                # while more inputs are coming (the last ones go to whichever worker is free:
                # none waits behind another's).
                for depth in range(1, 1 + (DEPTH if not exhausted else 1)):
                    for worker in self.workers:
                        if len(worker.jobs) < depth and queue:
                            worker.jobs.append(queue.popleft())
                            worker.conn.send(worker.jobs[-1].items)
                if yielded in slots and slots[yielded].done():
                    parts = slots.pop(yielded).parts
                    yielded += 1
                    yield _joined(parts)
                    continue  # room in the window: read and hand out again first
                busy = [w for w in self.workers if w.jobs]
                if exhausted and not queue and not busy and not slots:
                    return
                waiting = {w.conn: w for w in self.workers if w.jobs}
                if not waiting:  # nothing running, nothing to send, records missing: a bug
                    raise RuntimeError(
                        f"batch workers idle with chunks {sorted(slots)} unfinished "
                        f"(read {pulled}, written {yielded}, all read: {exhausted})"
                    )
                sentinels = {w.process.sentinel: w for w in self.workers}
                for ready in wait([*waiting, *sentinels]):
                    worker = waiting.get(ready) or sentinels[ready]
                    if worker not in self.workers:  # both its pipe and its sentinel were ready
                        continue
                    if ready not in waiting or not self._answer(worker, slots):
                        self._death(worker, slots, queue)
        finally:
            self.close()

    def _answer(self, worker: Worker, slots: dict[int, _Slot]) -> bool:
        """Take the worker's answer; False if it has ended instead."""
        try:
            status, value = worker.conn.recv()
        except (EOFError, OSError):
            return False
        if status == "raise":
            raise value
        job = worker.jobs.popleft()
        self.answered = True
        slots[job.seq].parts[job.part] = value
        return True

    def _death(self, worker: Worker, slots: dict[int, _Slot], queue: deque[Job]) -> None:
        # An answer sent just before the worker ended is still in the pipe: take it first.
        with contextlib.suppress(OSError):
            while worker.jobs and worker.conn.poll() and self._answer(worker, slots):
                pass
        worker.process.join()
        self.workers.remove(worker)
        worker.conn.close()
        job = worker.jobs.popleft() if worker.jobs else None
        queue.extendleft(reversed(worker.jobs))  # sent after the one it died on: not started
        if job is None:
            self.idle_deaths += 1
            if self.idle_deaths > 2 * self.jobs + 2:
                from limecli.errors import PredictorCallError

                raise PredictorCallError("the batch's worker processes keep dying before any work")
        else:
            stands_for = self.died(job, worker.process.exitcode)
            if stands_for is not None:
                slots[job.seq].parts[job.part] = stands_for
            else:  # its inputs one by one, before anything else: the output waits for them
                slots[job.seq].parts = [None] * len(job.items)
                singles = [Job(job.seq, i, [item]) for i, item in enumerate(job.items)]
                queue.extendleft(reversed(singles))
        self._start()

    def close(self) -> None:
        """End every worker: told to (its pipe closed) when idle, killed when busy."""
        for worker in self.workers:
            if worker.jobs:
                worker.process.kill()
            worker.conn.close()
        for worker in self.workers:
            worker.process.join(STOP_WAIT)
            if worker.process.exitcode is None:
                worker.process.kill()
                worker.process.join()
        self.workers = []


@contextlib.contextmanager
def _main_left_alone() -> Iterator[None]:
    """A worker does not import the program's ``__main__`` again, as multiprocessing would
    (running a script's unguarded top level once more in every worker): the work travels
    by cloudpickle, functions of ``__main__`` by value."""
    from multiprocessing import spawn

    original = spawn.get_preparation_data

    def preparation_data(name: str) -> dict[str, Any]:
        data = original(name)
        data.pop("init_main_from_name", None)
        data.pop("init_main_from_path", None)
        return data

    spawn.get_preparation_data = preparation_data
    try:
        yield
    finally:
        spawn.get_preparation_data = original


def _joined(parts: list[Any]) -> tuple[list[Any], list[Any]]:
    records: list[Any] = []
    caught: list[Any] = []
    for part_records, part_caught in parts:
        records += part_records
        caught += part_caught
    return records, caught
