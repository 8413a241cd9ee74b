"""Batch explanations: many inputs, in parallel, streamed to a resumable output.

The package, by step (see :mod:`limecli.batch.runner` for how a kind plugs in
and what a batch guarantees):

``runner``
    :class:`BatchInput`, :func:`per_input`, :func:`run_batch`: chunks, seeds,
    retries, input order, :class:`BatchReport`.
``executors``
    Where chunks run: this process, local processes (joblib) or Dask.
``sinks``
    :func:`open_sink`, :class:`StreamSink`: JSONL, CSV, a JSON array or
    tables, one record at a time; error records.
``resume``
    What an earlier run's JSONL/CSV output already holds.
``lock``
    One writer per JSONL/CSV output: a second run on it is refused.
``fingerprint``
    The settings a batch's records depend on, kept beside its output
    (``out.jsonl.limecli``) and checked by a resume.
``tasks_tabular``, ``tasks_text``, ``tasks_image``
    Each kind's batch task and lazy inputs; imported from those modules (not
    re-exported here), so that ``import limecli.batch`` loads no explainer.

This is library code: it reports through return values and callbacks and
never prints; the command line's wrapper (progress, notes, exit code 6) is
:mod:`limecli.cli.batch_run`.
"""

from __future__ import annotations

from limecli.batch.executors import BACKENDS, check_executor_options
from limecli.batch.fingerprint import batch_settings
from limecli.batch.resume import csv_key, key_function
from limecli.batch.runner import (
    DEFAULT_CHUNK_SIZE,
    BatchInput,
    BatchReport,
    ChunkTask,
    Result,
    per_input,
    run_batch,
    run_chunk,
)
from limecli.batch.sinks import (
    CSV_EXTRA_COLUMNS,
    RESUMABLE_FORMATS,
    STREAM_FORMATS,
    RecordSink,
    StreamSink,
    check_sink,
    check_stream_format,
    csv_columns,
    error_record,
    is_error_record,
    open_sink,
    render_record,
)
from limecli.inputs.ref import InputRef, derive_seed, identity_key

__all__ = [
    "BACKENDS",
    "CSV_EXTRA_COLUMNS",
    "DEFAULT_CHUNK_SIZE",
    "RESUMABLE_FORMATS",
    "STREAM_FORMATS",
    "BatchInput",
    "BatchReport",
    "ChunkTask",
    "InputRef",
    "RecordSink",
    "Result",
    "StreamSink",
    "batch_settings",
    "check_executor_options",
    "check_sink",
    "check_stream_format",
    "csv_columns",
    "csv_key",
    "derive_seed",
    "error_record",
    "identity_key",
    "is_error_record",
    "key_function",
    "open_sink",
    "per_input",
    "render_record",
    "run_batch",
    "run_chunk",
]
