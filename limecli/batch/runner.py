"""Running a batch: inputs read lazily, chunked, explained in parallel, written in input order.

This module knows nothing about tables, texts or images. A kind plugs in with
two things:

``inputs``
    An iterable of :class:`BatchInput`, read lazily (a generator is fine, so a
    folder of images is never loaded at once). ``ref`` is the input's
    :class:`~limecli.inputs.ref.InputRef` (``InputRef.row("scored.csv", 7)``,
    ``InputRef.file("photos/cat.png")``): its ``to_dict()`` becomes the
    record's ``input`` object, its key is what a resume matches on, and it
    seeds the input (see below). ``payload`` is whatever the task needs (a
    row, a path); it must pickle, and should be small: a path rather than the
    pixels.

``task``
    A picklable callable ``task(chunk: list[BatchInput]) -> list[result]``,
    one result per input, in order: an :class:`~limecli.explanation.Explanation`
    (its ``input`` becomes the identity, followed by any other keys the
    explainer put there, such as an image's mode and size) or an exception,
    which becomes an error record. An exception raised by the task itself is
    retried input by input, so one bad input only fails itself. A task that
    handles one input at a time is ``per_input(fn)`` with
    ``fn(item: BatchInput) -> Explanation``; a kind that gains from batching
    (the tabular shared sample pool) handles the whole chunk at once. The
    per-kind tasks are in ``tasks_tabular``, ``tasks_text`` and ``tasks_image``.

Then :func:`run_batch` writes every record to a sink (:mod:`limecli.batch.sinks`)::

    sink, done = open_sink("jsonl", Path("out.jsonl"), resume=True, kind="text")
    complete = False
    try:
        report = run_batch(text_batch_inputs(paths), per_input(TextBatchTask(explainer)),
                           sink, kind="text", seed=0, jobs=2, done=done,
                           key=key_function("jsonl"))
        complete = True
    finally:
        sink.close(complete)  # a JSON array or table file is kept only when complete

Guarantees:

* **Seeds.** Each input's seed is derived from the global seed and its
  identity (:meth:`InputRef.seed`: a SHA-256 of the canonical JSON identity
  fed to ``numpy.random.SeedSequence``; never Python's salted ``hash()``),
  not from its position or its worker.
* **Order.** Records are written in input order whatever ``jobs`` is: with
  the seeds above, the output is byte-identical for any ``jobs`` and any
  backend, and a resumed file equals an uninterrupted one.
* **Streaming.** JSONL and CSV are written and flushed one whole record at a
  time; inputs are read ``chunk_size`` at a time and at most a few chunks per
  worker are in flight, so memory stays flat as the number of inputs grows.
* **Failures.** A failing input becomes an error record
  ``{"schema_version", "kind", "input", "error": {"type", "message", "exit_code"}}``
  (``limecli/schema/error.schema.json``) and the run goes on; the report
  counts them (the CLI then exits with code 6).
* **Resume.** With ``resume=True`` and an existing JSONL/CSV output, inputs
  whose identity is already there (explanation or error record) are skipped,
  a trailing partial line is dropped and the rest is appended
  (:mod:`limecli.batch.resume`). CSV also redoes the file's last input, whose
  rows may have been cut between two lines.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from limecli.batch.executors import check_executor_options, executor
from limecli.batch.sinks import PARAMETERS_KEY, RecordSink, error_record
from limecli.batch.workers import in_worker
from limecli.errors import PredictorCallError
from limecli.explanation import Explanation
from limecli.inputs.ref import InputRef

#: Inputs per task unless the kind says otherwise; fixed (never derived from
#: ``jobs``) so that chunking cannot change the output.
DEFAULT_CHUNK_SIZE = 8


@dataclass(frozen=True)
class BatchInput:
    """One input of a batch: which input it is, what the task needs, and its derived seed."""

    ref: InputRef
    payload: Any = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.ref, InputRef):
            # A bare identity dict was the old form: say what to write instead.
            raise TypeError(
                f"BatchInput takes an InputRef (limecli.inputs.ref), not {type(self.ref).__name__}"
            )

    @property
    def identity(self) -> dict[str, Any]:
        """The identity as records carry it (``ref.to_dict()``)."""
        return self.ref.to_dict()


Result = Any  # Explanation | BaseException, as returned by a task
ChunkTask = Callable[[list[BatchInput]], list[Result]]


class per_input:
    """Adapt ``fn(item) -> Explanation`` to a chunk task; each input's failure stays its own."""

    def __init__(self, fn: Callable[[BatchInput], Explanation]) -> None:
        self.fn = fn

    def __call__(self, chunk: list[BatchInput]) -> list[Result]:
        out: list[Result] = []
        for item in chunk:
            try:
                out.append(self.fn(item))
            except Exception as e:  # recorded, the batch goes on
                out.append(e)
        return out


@dataclass
class BatchReport:
    """What a batch run did: inputs written, of which failed, and skipped (resume)."""

    written: int = 0
    failed: int = 0
    skipped: int = 0


def _chunks(items: Iterator[BatchInput], size: int) -> Iterator[list[BatchInput]]:
    while True:
        chunk = list(itertools.islice(items, size))
        if not chunk:
            return
        yield chunk


def run_chunk(task: ChunkTask, kind: str, chunk: list[BatchInput]) -> list[Any]:
    """Run ``task`` on a chunk (in a worker); exceptions become error records here."""
    from limecli.surrogate import single_threaded_blas

    # One BLAS thread everywhere: a multi-threaded matrix product rounds
    # differently with the thread count, which would make output depend on
    # ``jobs`` (and threads fight over cores when processes run side by side).
    with single_threaded_blas():
        return _run_chunk(task, kind, chunk)


def _run_chunk(task: ChunkTask, kind: str, chunk: list[BatchInput]) -> list[Any]:
    try:
        results = task(chunk)
        if len(results) != len(chunk):
            raise RuntimeError(f"the batch task returned {len(results)} results for {len(chunk)}")
    except BaseException as e:
        if not isinstance(e, Exception):
            if not in_worker():  # here a KeyboardInterrupt is the user's: stop the run
                raise
            # In a worker, Ctrl-C is ignored (the parent stops the run): a SystemExit or
            # KeyboardInterrupt is the input's failure, not the user stopping the batch.
            e = PredictorCallError(f"{type(e).__name__} raised in the worker process")
        if len(chunk) == 1:
            results = [e]
        else:  # isolate the input that broke the chunk
            results = [r for item in chunk for r in _run_chunk(task, kind, [item])]
    out: list[Any] = []
    for item, result in zip(chunk, results, strict=True):
        if isinstance(result, Explanation):
            identity = item.identity
            extra = {k: v for k, v in (result.input or {}).items() if k not in identity}
            result.input = {**identity, **extra}
            out.append(result)
        elif isinstance(result, dict):
            out.append(result)  # already an error record (from the retry above)
        else:
            out.append(error_record(kind, item.ref, result))
    return out


def run_batch(
    inputs: Iterable[BatchInput],
    task: ChunkTask,
    sink: RecordSink,
    *,
    kind: str,
    seed: int | None,
    jobs: int = 1,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    backend: str = "local",
    scheduler: str | None = None,
    done: set[str] | frozenset[str] = frozenset(),
    key: Callable[[InputRef], str] = InputRef.key,
    on_record: Callable[[int], None] | None = None,
    spell: Callable[[str, Sequence[str]], str] | None = None,
) -> BatchReport:
    """Explain every input, writing records to ``sink`` in input order.

    ``spell(message, parameters)``: rewrites an error record's message, whose
    parameters are named as ``'name'`` (the CLI spells them as its flags).

    ``done`` holds keys (``key(item.ref)``) to skip; ``on_record(n)`` is told
    after each chunk is written (progress). ``jobs``: processes (-1 all cores);
    ``backend="dask"`` sends chunks to the Dask scheduler at ``scheduler``.
    """
    check_executor_options(jobs, backend, scheduler)  # before any input is read
    report = BatchReport()

    def todo() -> Iterator[BatchInput]:
        for item in inputs:
            if key(item.ref) in done:
                report.skipped += 1
                continue
            yield replace(item, seed=item.ref.seed(seed))

    work = functools.partial(run_chunk, task, kind)

    def crashed(item: BatchInput, error: Exception) -> dict[str, Any]:
        return error_record(kind, item.ref, error)

    with executor(jobs, backend, scheduler, kind) as execute:
        for records in execute(work, _chunks(todo(), chunk_size), crashed):
            for record in records:
                if isinstance(record, dict):
                    _spell_error(record, spell)
                identity = record.input if isinstance(record, Explanation) else record["input"]
                sink.write(kind, identity, record)
                report.written += 1
                report.failed += isinstance(record, dict)
            if on_record is not None:
                on_record(len(records))
    return report


def _spell_error(record: dict[str, Any], spell: Callable[[str, Sequence[str]], str] | None) -> None:
    parameters = record.pop(PARAMETERS_KEY, None)
    if spell is not None and parameters:
        record["error"]["message"] = spell(record["error"]["message"], parameters)
