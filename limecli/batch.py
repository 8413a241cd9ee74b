"""Batch explanations: many inputs, in parallel, streamed to a resumable output.

This module knows nothing about tables, texts or images. A kind plugs in with
two things:

``inputs``
    An iterable of :class:`BatchInput`, read lazily (a generator is fine, so a
    folder of images is never loaded at once). ``identity`` is a small
    JSON-able dict naming the input, e.g. ``{"source": "scored.csv", "row": 7}``
    or ``{"source": "photos/cat.png"}``; it becomes the record's ``input``
    object, it is what ``--resume`` matches on, and it seeds the input (see
    below). ``payload`` is whatever the task needs (a row, a path); it must
    pickle, and should be small: a path rather than the pixels.

``task``
    A picklable callable ``task(chunk: list[BatchInput]) -> list[result]``,
    one result per input, in order: an :class:`~limecli.explanation.Explanation`
    (its ``input`` becomes the identity, followed by any other keys the
    explainer put there, such as an image's mode and size) or an exception, which
    becomes an error record. An exception raised by the task itself is
    retried input by input, so one bad input only fails itself. A task that
    handles one input at a time is ``per_input(fn)`` with
    ``fn(item: BatchInput) -> Explanation``; a kind that gains from batching
    (the tabular shared sample pool) handles the whole chunk at once.

Then :func:`run_batch` (library) or :func:`run_cli_batch` (command line: format,
``-o``, ``--resume``, progress, exit code) does the rest. Text, for instance::

    items = (BatchInput({"source": str(p)}, str(p)) for p in paths)
    task = per_input(TextItemTask(explainer, options))   # calls explainer.explain(read(p), seed=item.seed, input_info=item.identity)
    run_cli_batch(kind="text", inputs=items, total=len(paths), task=task, ...)

Guarantees:

* **Seeds.** Each input's seed is derived from the global seed and its
  identity (:func:`derive_seed`: a SHA-256 of the canonical JSON identity fed
  to ``numpy.random.SeedSequence``; never Python's salted ``hash()``), not
  from its position or its worker.
* **Order.** Records are written in input order whatever ``jobs`` is: with
  the seeds above, the output is byte-identical for any ``--jobs`` and any
  backend, and a resumed file equals an uninterrupted one.
* **Streaming.** JSONL and CSV are written and flushed one whole record at a
  time; inputs are read ``chunk_size`` at a time and at most a few chunks per
  worker are in flight, so memory stays flat as the number of inputs grows.
* **Failures.** A failing input becomes an error record
  ``{"schema_version", "kind", "input", "error": {"type", "message", "exit_code"}}``
  (``limecli/schema/error.schema.json``) and the run goes on; the CLI then
  exits with code 6 (:class:`~limecli.errors.BatchInputsFailed`).
* **Resume.** With ``resume=True`` and an existing JSONL/CSV output, inputs
  whose identity is already there (explanation or error record) are skipped,
  a trailing partial line is dropped and the rest is appended. CSV also redoes
  the file's last input, whose rows may have been cut between two lines.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np

from limecli.atomic import finish_atomic
from limecli.errors import BatchInputsFailed, LimeCliError, ParameterError
from limecli.explanation import SCHEMA_VERSION, Explanation, _jsonable

#: Formats a batch can stream to a file and resume.
RESUMABLE_FORMATS = ("jsonl", "csv")
#: Inputs per task unless the kind says otherwise; fixed (never derived from
#: ``jobs``) so that chunking cannot change the output.
DEFAULT_CHUNK_SIZE = 8
BACKENDS = ("local", "dask")


@dataclass(frozen=True)
class BatchInput:
    """One input of a batch: its identity, what the task needs, and its derived seed."""

    identity: dict[str, Any]
    payload: Any = None
    seed: int | None = None


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


# -- identity and seeds -----------------------------------------------------
def identity_key(identity: dict[str, Any]) -> str:
    """Canonical JSON of an identity: the same input always gives the same key."""
    return json.dumps(
        _jsonable(identity), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def derive_seed(seed: int | None, identity: dict[str, Any]) -> int | None:
    """A 32-bit seed for one input from the global seed and the input's identity.

    ``None`` stays ``None`` (fresh randomness). Stable across processes,
    machines and Python versions.
    """
    if seed is None:
        return None
    digest = hashlib.sha256(identity_key(identity).encode("utf-8")).digest()
    words = tuple(int(w) for w in np.frombuffer(digest[:16], dtype="<u4"))
    sequence = np.random.SeedSequence(int(seed) % 2**64, spawn_key=words)
    return int(sequence.generate_state(1, np.uint32)[0])


def error_record(kind: str, identity: dict[str, Any], error: BaseException) -> dict[str, Any]:
    """The record written in place of an explanation for a failed input."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    code = error.exit_code if isinstance(error, LimeCliError) else 1
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "input": _jsonable(identity),
        "error": {"type": type(error).__name__, "message": message, "exit_code": code},
    }


def is_error_record(record: dict[str, Any]) -> bool:
    return "error" in record and "labels" not in record


# -- sinks --------------------------------------------------------------------
class RecordSink(Protocol):
    """Where finished records go, one at a time, in input order."""

    def write(self, kind: str, identity: dict[str, Any], result: Explanation | dict) -> None: ...

    def close(self, complete: bool) -> None: ...


CSV_EXTRA_COLUMNS = ["error"]


def csv_columns() -> list[str]:
    from limecli.render.csv_format import COLUMNS

    return [*COLUMNS, *CSV_EXTRA_COLUMNS]


class StreamSink:
    """JSONL, long-form CSV, a JSON array or tables, written record by record to a text stream.

    ``path``: the stream is a file there (opened by :func:`open_sink`);
    ``atomic``: it is a temporary file renamed onto ``path`` only when the run
    completes (JSON arrays and tables, which cannot be resumed).
    """

    def __init__(
        self,
        fmt: str,
        stream: IO[str],
        *,
        header: bool = True,
        path: Path | None = None,
        atomic_tmp: Path | None = None,
    ) -> None:
        self.fmt = fmt
        self.stream = stream
        self.path = path
        self.atomic_tmp = atomic_tmp
        self.count = 0
        if fmt == "csv" and header:
            self._put(_csv_line(csv_columns()))
        elif fmt == "json":
            self._put("[")

    def _put(self, text: str) -> None:
        # One write per record, then flush: a killed run leaves whole records
        # (at worst one trailing partial line, which --resume drops).
        self.stream.write(text)
        self.stream.flush()

    def write(self, kind: str, identity: dict[str, Any], result: Explanation | dict) -> None:
        self._put(render_record(self.fmt, result, first=self.count == 0))
        self.count += 1

    def close(self, complete: bool) -> None:
        if self.fmt == "json":
            self._put("\n]\n" if self.count else "]\n")
        if self.path is None:
            return
        self.stream.close()
        if self.atomic_tmp is not None:
            if complete:
                finish_atomic(self.atomic_tmp, self.path)
            else:
                self.atomic_tmp.unlink(missing_ok=True)


def render_record(fmt: str, result: Explanation | dict, *, first: bool = True) -> str:
    """One record in ``fmt`` (jsonl: a line; csv: its rows; json: an array element; table)."""
    error = isinstance(result, dict)
    if fmt == "jsonl":
        if error:
            return json.dumps(result, ensure_ascii=False) + "\n"
        assert isinstance(result, Explanation)
        return result.to_json(indent=None) + "\n"
    if fmt == "json":
        body = json.dumps(result, indent=2, ensure_ascii=False) if error else result.to_json()  # type: ignore[union-attr]
        body = "\n".join("  " + line for line in body.splitlines())
        return ("\n" if first else ",\n") + body
    if fmt == "csv":
        if error:
            assert isinstance(result, dict)
            return _csv_error_row(result)
        from limecli.render.csv_format import render_csv

        assert isinstance(result, Explanation)
        rows = list(csv.reader(io.StringIO(render_csv([result]))))[1:]
        return "".join(_csv_line([*row, ""]) for row in rows)
    if fmt == "table":
        prefix = "" if first else "\n"
        if error:
            assert isinstance(result, dict)
            where = _where(result["input"])
            err = result["error"]
            return f"{prefix}{result['kind']} input {where}: failed: {err['message']}\n"
        from limecli.render.terminal import render_table

        assert isinstance(result, Explanation)
        return prefix + render_table([result])
    raise ValueError(f"unknown format {fmt!r}")


def _where(identity: dict[str, Any]) -> str:
    source = identity.get("source") or "<data>"
    index = identity.get("row", identity.get("index"))
    return f"{source} row {index}" if index is not None else str(source)


def _csv_line(cells: Sequence[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


def _csv_error_row(record: dict[str, Any]) -> str:
    columns = csv_columns()
    row = dict.fromkeys(columns, "")
    row["kind"] = record["kind"]
    source, index = json.loads(csv_key(record["input"]))
    row["source"], row["index"] = source, index
    err = record["error"]
    row["error"] = f"{err['type']} (exit {err['exit_code']}): {err['message']}"
    return _csv_line([row[c] for c in columns])


def csv_key(identity: dict[str, Any]) -> str:
    """An input's key in the long-form CSV, from its ``source`` and ``row``/``index`` cells."""
    source = identity.get("source")
    index = identity.get("row", identity.get("index"))
    return json.dumps(["" if source is None else str(source), "" if index is None else str(index)])


def open_sink(
    fmt: str,
    output: Path | None,
    *,
    resume: bool = False,
    kind: str | None = None,
    identity_fields: Sequence[str] | None = None,
) -> tuple[StreamSink, set[str]]:
    """Open the output for a batch; with ``resume``, also the keys of inputs already done.

    Keys are :func:`identity_key` for JSONL and :func:`csv_key` for CSV;
    :func:`run_batch` takes ``key=`` accordingly (:func:`key_function`).
    ``identity_fields``: the keys of a record's ``input`` that make its
    identity, when the explainer adds others (default: all of them).
    """
    if resume and (output is None or fmt not in RESUMABLE_FORMATS):
        raise ParameterError(
            "--resume needs a JSONL or CSV output file: add -o FILE.jsonl or -o FILE.csv"
        )
    if output is None:
        return StreamSink(fmt, sys.stdout), set()
    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise ParameterError(f"folder {folder} (of -o) does not exist")
    if fmt not in RESUMABLE_FORMATS:
        # Not appendable: stream into a temporary file, renamed when complete.
        fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=folder)
        tmp_stream: IO[str] = os.fdopen(fd, "w", encoding="utf-8", newline="")
        return StreamSink(fmt, tmp_stream, path=output, atomic_tmp=Path(tmp)), set()
    done: set[str] = set()
    header = True
    if resume and output.exists() and output.stat().st_size > 0:
        done = (
            _scan_jsonl(output, kind, identity_fields)
            if fmt == "jsonl"
            else _scan_csv(output, kind)
        )
        header = False
    mode = "a" if resume else "w"
    stream = open(output, mode, encoding="utf-8", newline="")  # noqa: SIM115 - closed by the sink
    return StreamSink(fmt, stream, header=header, path=output), done


def key_function(fmt: str) -> Callable[[dict[str, Any]], str]:
    return csv_key if fmt == "csv" else identity_key


def _scan_jsonl(path: Path, kind: str | None, fields: Sequence[str] | None = None) -> set[str]:
    """Identities already in a JSONL output; drops a trailing partial line."""
    done: set[str] = set()
    good_end = 0
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.endswith(b"\n"):
                break  # cut mid-write by a kill: redone
            try:
                record = json.loads(line)
                identity = record["input"]
                record_kind = record.get("kind")
            except (ValueError, KeyError, TypeError) as e:
                raise ParameterError(
                    f"cannot resume: line {number} of {path} is not a limecli record"
                ) from e
            if kind is not None and record_kind != kind:
                raise ParameterError(
                    f"cannot resume: {path} holds {record_kind} records, not {kind}"
                )
            if fields is not None and isinstance(identity, dict):
                identity = {k: v for k, v in identity.items() if k in fields}
            done.add(identity_key(identity))
            good_end += len(line)
    _truncate(path, good_end)
    return done


def _scan_csv(path: Path, kind: str | None) -> set[str]:
    """Inputs already in a batch CSV; drops a partial tail and redoes the last input."""
    columns = csv_columns()
    done: set[str] = set()
    good_end = 0
    last_key: str | None = None
    last_start = 0
    pending = b""
    offset = 0
    header_seen = False
    with open(path, "rb") as handle:
        for line in handle:
            start_of_pending = offset - len(pending)
            offset += len(line)
            pending += line
            # A CSV record may span lines inside quotes: whole once its quotes balance.
            if not pending.endswith(b"\n") or pending.count(b'"') % 2:
                continue
            cells = next(csv.reader(io.StringIO(pending.decode("utf-8"))))
            pending = b""
            if not header_seen:
                if cells != columns:
                    raise ParameterError(f"cannot resume: {path} is not a limecli batch CSV")
                header_seen = True
                good_end = offset
                continue
            row = dict(zip(columns, cells, strict=False))
            if kind is not None and row.get("kind") != kind:
                raise ParameterError(
                    f"cannot resume: {path} holds {row.get('kind')} rows, not {kind}"
                )
            key = json.dumps([row.get("source", ""), row.get("index", "")])
            if key != last_key:
                if last_key is not None:
                    done.add(last_key)
                last_key, last_start = key, start_of_pending
            good_end = offset
    if not header_seen:
        raise ParameterError(f"cannot resume: {path} has no CSV header")
    # The last input's rows may be incomplete: drop them, it is redone.
    _truncate(path, last_start if last_key is not None else good_end)
    return done


def _truncate(path: Path, size: int) -> None:
    if path.stat().st_size != size:
        with open(path, "r+b") as handle:
            handle.truncate(size)


# -- running ------------------------------------------------------------------
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
    from threadpoolctl import threadpool_limits

    # One BLAS thread everywhere: a multi-threaded matrix product rounds
    # differently with the thread count, which would make output depend on
    # --jobs (and threads fight over cores when processes run side by side).
    with threadpool_limits(limits=1, user_api="blas"):
        return _run_chunk(task, kind, chunk)


def _run_chunk(task: ChunkTask, kind: str, chunk: list[BatchInput]) -> list[Any]:
    try:
        results = task(chunk)
        if len(results) != len(chunk):
            raise RuntimeError(f"the batch task returned {len(results)} results for {len(chunk)}")
    except Exception as e:
        if len(chunk) == 1:
            results = [e]
        else:  # isolate the input that broke the chunk
            results = [r for item in chunk for r in _run_chunk(task, kind, [item])]
    out: list[Any] = []
    for item, result in zip(chunk, results, strict=True):
        if isinstance(result, Explanation):
            extra = {k: v for k, v in (result.input or {}).items() if k not in item.identity}
            result.input = {**item.identity, **extra}
            out.append(result)
        elif isinstance(result, dict):
            out.append(result)  # already an error record (from the retry above)
        else:
            out.append(error_record(kind, item.identity, result))
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
    key: Callable[[dict[str, Any]], str] = identity_key,
    on_record: Callable[[int], None] | None = None,
) -> BatchReport:
    """Explain every input, writing records to ``sink`` in input order.

    ``done`` holds keys (``key(identity)``) to skip; ``on_record(n)`` is told
    after each chunk is written (progress). ``jobs``: processes (-1 all cores);
    ``backend="dask"`` sends chunks to the Dask scheduler at ``scheduler``.
    """
    if jobs == 0:
        raise ParameterError("--jobs must be a positive number of processes, or -1 for all cores")
    report = BatchReport()

    def todo() -> Iterator[BatchInput]:
        for item in inputs:
            if key(item.identity) in done:
                report.skipped += 1
                continue
            yield replace(item, seed=derive_seed(seed, item.identity))

    chunks = _chunks(todo(), chunk_size)
    with _executor(jobs, backend, scheduler) as execute:
        for records in execute(task, kind, chunks):
            for record in records:
                identity = record.input if isinstance(record, Explanation) else record["input"]
                sink.write(kind, identity, record)
                report.written += 1
                report.failed += isinstance(record, dict)
            if on_record is not None:
                on_record(len(records))
    return report


Executor = Callable[[ChunkTask, str, Iterator[list[BatchInput]]], Iterator[list[Any]]]


def check_executor_options(jobs: int, backend: str, scheduler: str | None) -> None:
    """--jobs, --backend and --scheduler that cannot work (ParameterError): checked up front."""
    if jobs == 0:
        raise ParameterError("--jobs must be a positive number of processes, or -1 for all cores")
    if backend not in BACKENDS:
        raise ParameterError(f"unknown backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if backend == "dask" and not scheduler:
        raise ParameterError("--backend dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")
    if backend != "dask" and scheduler is not None:
        raise ParameterError("--scheduler only goes with --backend dask")


def _executor(jobs: int, backend: str, scheduler: str | None) -> AbstractContextManager[Executor]:
    check_executor_options(jobs, backend, scheduler)
    if backend == "dask":
        return _dask_executor(jobs, scheduler)
    if jobs == 1:
        # In-process: no pickling, and tracebacks stay readable under --debug.
        def serial(
            task: ChunkTask, kind: str, chunks: Iterator[list[BatchInput]]
        ) -> Iterator[list[Any]]:
            return (run_chunk(task, kind, chunk) for chunk in chunks)

        return nullcontext(serial)
    return nullcontext(_joblib_executor(jobs))


def _joblib_executor(jobs: int) -> Executor:
    def execute(
        task: ChunkTask, kind: str, chunks: Iterator[list[BatchInput]]
    ) -> Iterator[list[Any]]:
        from joblib import Parallel, delayed

        # return_as="generator": results come back in submission order as they
        # finish, and pre_dispatch bounds how many chunks are in flight.
        parallel = Parallel(
            n_jobs=jobs, return_as="generator", pre_dispatch="2 * n_jobs", batch_size=1
        )
        yield from parallel(delayed(run_chunk)(task, kind, chunk) for chunk in chunks)

    return execute


class _dask_executor:
    def __init__(self, jobs: int, scheduler: str | None) -> None:
        if not scheduler:
            raise ParameterError("--backend dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")
        try:
            from dask.distributed import Client
        except ImportError as e:
            raise ParameterError("--backend dask needs Dask: pip install 'limecli[dask]'") from e
        self.jobs = jobs
        self.scheduler = scheduler
        self.client_class = Client
        self.client: Any = None

    def __enter__(self) -> Executor:
        try:
            self.client = self.client_class(self.scheduler, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:
            raise ParameterError(f"cannot reach the Dask scheduler at {self.scheduler}: {e}") from e
        client = self.client

        def execute(
            task: ChunkTask, kind: str, chunks: Iterator[list[BatchInput]]
        ) -> Iterator[list[Any]]:
            from joblib import Parallel, delayed, parallel_config

            with parallel_config(backend="dask", client=client):
                parallel = Parallel(
                    n_jobs=self.jobs, return_as="generator", pre_dispatch="2 * n_jobs", batch_size=1
                )
                yield from parallel(delayed(run_chunk)(task, kind, chunk) for chunk in chunks)

        return execute

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()


# -- the command-line runner ----------------------------------------------------
def progress_bar(total: int | None, description: str, enabled: bool) -> Any:
    """A rich progress bar on stderr (done/total, rate, ETA), or a no-op."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:.1f}/s" if speed else "-/s", style="progress.data.speed")

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(file=sys.stderr),
        disable=not enabled,
        transient=False,
    )


def run_cli_batch(
    *,
    kind: str,
    inputs: Iterable[BatchInput],
    total: int | None,
    task: ChunkTask,
    fmt: str,
    output: Path | None,
    resume: bool,
    jobs: int,
    backend: str,
    scheduler: str | None,
    seed: int | None,
    quiet: bool,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    identity_fields: Sequence[str] | None = None,
) -> BatchReport:
    """A batch from the command line; raises :class:`BatchInputsFailed` (exit 6) if inputs failed.

    ``fmt`` is already resolved (``jsonl``, ``csv``, ``json`` or ``table``).
    """
    from limecli.cli.common import note

    sink, done = open_sink(fmt, output, resume=resume, kind=kind, identity_fields=identity_fields)
    if resume:
        note(quiet, f"resuming {output}: {len(done)} input(s) already there are skipped")
    remaining = None if total is None else max(total - len(done), 0)
    complete = False
    progress = progress_bar(remaining, kind, enabled=not quiet)
    try:
        with progress:
            bar = progress.add_task(kind, total=remaining)
            report = run_batch(
                inputs,
                task,
                sink,
                kind=kind,
                seed=seed,
                jobs=jobs,
                chunk_size=chunk_size,
                backend=backend,
                scheduler=scheduler,
                done=done,
                key=key_function(fmt),
                on_record=lambda n: progress.advance(bar, n),
            )
        complete = True
    finally:
        sink.close(complete)
    if report.failed:
        where = output if output is not None else "the output"
        raise BatchInputsFailed(
            f"{report.failed} of {report.written} input(s) failed; "
            f"each has an error record in {where}"
        )
    return report
