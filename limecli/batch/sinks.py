"""Where a batch's records go: JSONL, long-form CSV, a JSON array or tables, one record at a time.

A record is an :class:`~limecli.explanation.Explanation` or, for an input that
failed, an error record (:func:`error_record`). :func:`open_sink` opens the
output (stdout, a file, or with ``resume`` an existing JSONL/CSV file to
append to) and refuses, before any work, a format that cannot be streamed.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from limecli.atomic import finish_atomic, is_direct_target, make_temp, means_stdout, write_error
from limecli.batch.fingerprint import check_settings, forget_settings, settings_path, write_settings
from limecli.batch.lock import check_unlocked, open_locked
from limecli.batch.resume import check_head, csv_key, scan
from limecli.errors import LimeCliError, ParameterError
from limecli.explanation import SCHEMA_VERSION, Explanation
from limecli.inputs.ref import InputRef
from limecli.jsonable import jsonable

#: Formats a batch can write record by record.
STREAM_FORMATS = ("jsonl", "csv", "json", "table")
#: Formats a batch can append to, and so resume.
RESUMABLE_FORMATS = ("jsonl", "csv")
#: The batch CSV's columns after a single explanation's (empty unless the input failed): a
#: batch row is the row a single run writes for the same input and seed, plus its error cell.
CSV_EXTRA_COLUMNS = ["error"]


def error_record(kind: str, ref: InputRef, error: BaseException) -> dict[str, Any]:
    """The record written in place of an explanation for a failed input."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    code = error.exit_code if isinstance(error, LimeCliError) else 1
    record = {
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "input": jsonable(ref.to_dict()),
        "error": {"type": type(error).__name__, "message": message, "exit_code": code},
    }
    parameters = getattr(error, "parameters", ())
    if parameters:
        # Travels with the record to the runner, which may spell them (and always drops
        # the key before the record is written): see run_batch's ``spell``.
        record[PARAMETERS_KEY] = list(parameters)
    return record


#: An error record's parameters on its way from a worker to the runner (never written).
PARAMETERS_KEY = "_parameters"


def is_error_record(record: dict[str, Any]) -> bool:
    return "error" in record and "labels" not in record


class RecordSink(Protocol):
    """Where finished records go, one at a time, in input order."""

    def write(self, kind: str, identity: dict[str, Any], result: Explanation | dict) -> None: ...

    def close(self, complete: bool) -> None: ...


def csv_columns() -> list[str]:
    from limecli.render.csv_format import ALL_COLUMNS

    return [*ALL_COLUMNS, *CSV_EXTRA_COLUMNS]


class StreamSink:
    """JSONL, long-form CSV, a JSON array or tables, written record by record to a text stream.

    ``path``: the stream is a file there (opened by :func:`open_sink`);
    ``atomic_tmp``: it is a temporary file renamed onto ``path`` only when the
    run completes (JSON arrays and tables, which cannot be resumed).
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
        check_stream_format(fmt)
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
        # (at worst one trailing partial line, which a resume drops).
        try:
            self.stream.write(text)
            self.stream.flush()
        except OSError as e:  # a full disk: exit 7 (on stdout, a gone reader stays a broken pipe)
            if self.path is None:
                raise
            raise write_error(self.path, e) from e

    def write(self, kind: str, identity: dict[str, Any], result: Explanation | dict) -> None:
        self._put(render_record(self.fmt, result, first=self.count == 0))
        self.count += 1

    def close(self, complete: bool) -> None:
        end = ("\n]\n" if self.count else "]\n") if self.fmt == "json" else ""
        if self.path is None:
            if end:
                self._put(end)
            return
        try:
            self.stream.write(end)
            self.stream.close()
        except OSError as e:  # a full disk at the end: nothing replaced, no temporary file left
            with contextlib.suppress(OSError):
                self.stream.close()
            if self.atomic_tmp is not None:
                self.atomic_tmp.unlink(missing_ok=True)
            if complete:
                raise write_error(self.path, e) from e
            return
        if self.atomic_tmp is not None:
            if complete:
                finish_atomic(self.atomic_tmp, self.path)
            else:
                self.atomic_tmp.unlink(missing_ok=True)


def check_stream_format(fmt: str) -> None:
    """ParameterError (exit 2) for a format a batch cannot write record by record (html)."""
    if fmt not in STREAM_FORMATS:
        raise ParameterError(
            f"a batch writes jsonl, csv, json or table, not {fmt}", parameters=("fmt",)
        )


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
            err = result["error"]
            return f"{prefix}{result['kind']} input {_where(result['input'])}: failed: {err['message']}\n"
        from limecli.render.terminal import render_table

        assert isinstance(result, Explanation)
        return prefix + render_table([result])
    check_stream_format(fmt)
    raise ValueError(f"unknown format {fmt!r}")


def _where(identity: Mapping[str, Any]) -> str:
    # Any position reads "row" here (a text's index too): the batch table's wording.
    ref = InputRef.from_dict(identity)
    source = ref.source or "<data>"
    return f"{source} row {ref.position}" if ref.position is not None else source


def _csv_line(cells: Sequence[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


def _csv_error_row(record: dict[str, Any]) -> str:
    columns = csv_columns()
    row = dict.fromkeys(columns, "")
    row["kind"] = record["kind"]
    row["source"], row["index"] = json.loads(csv_key(InputRef.from_dict(record["input"])))
    err = record["error"]
    row["error"] = f"{err['type']} (exit {err['exit_code']}): {err['message']}"
    return _csv_line([row[c] for c in columns])


def check_sink(
    fmt: str,
    output: Path | None,
    *,
    resume: bool = False,
    settings: Mapping[str, Any] | None = None,
) -> None:
    """What :func:`open_sink` would refuse, checked without writing anything: a caller
    can run this before any work. ParameterError (exit 2) for a format or folder that
    cannot work, or a resume onto a file of another kind or written with other
    ``settings``; OutputWriteError (exit 7) for a JSONL/CSV file another run is writing."""
    check_stream_format(fmt)
    if resume and (output is None or fmt not in RESUMABLE_FORMATS):
        raise ParameterError(
            "'resume' needs a JSONL or CSV output file: add 'output' FILE.jsonl "
            "or 'output' FILE.csv",
            parameters=("resume", "output"),
        )
    if output is None:
        return
    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise ParameterError(
            f"folder {folder} (of 'output') does not exist", parameters=("output",)
        )
    if fmt not in RESUMABLE_FORMATS:
        return
    if is_direct_target(output):
        if resume:
            raise ParameterError(
                f"'resume' needs a file as 'output', and {output} is not a regular file",
                parameters=("resume", "output"),
            )
        return
    check_unlocked(output)
    if resume and _size(output) > 0:
        check_head(output, fmt, None if settings is None else settings.get("kind"), csv_columns())
        if settings is not None:
            check_settings(output, settings)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def open_sink(
    fmt: str,
    output: Path | None,
    *,
    resume: bool = False,
    kind: str | None = None,
    settings: Mapping[str, Any] | None = None,
    notes: Callable[[str], None] | None = None,
) -> tuple[StreamSink, set[str]]:
    """Open the output for a batch; with ``resume``, also the keys of inputs already done.

    Nothing is written, and no file created, when the output cannot work
    (:func:`check_sink`). Keys are those of
    :func:`~limecli.batch.resume.key_function` (``fmt``), which
    :func:`~limecli.batch.runner.run_batch` takes as ``key=``.

    A JSONL/CSV file is locked while the sink is open (:mod:`limecli.batch.lock`), so
    a second run on it is refused. ``settings``
    (:func:`~limecli.batch.fingerprint.batch_settings`) are recorded beside it, and a
    resume is refused if they differ from those recorded
    (:mod:`limecli.batch.fingerprint`); ``notes`` hears of a resume that could not be
    checked (nothing recorded).
    """
    check_sink(fmt, output, resume=resume, settings=settings)
    if output is None or means_stdout(output):
        return StreamSink(fmt, sys.stdout), set()
    if fmt not in RESUMABLE_FORMATS:
        # Not appendable: stream into a temporary file, renamed when complete.
        fd, tmp = make_temp(output)  # a short name if need be; a device's goes elsewhere
        tmp_stream: IO[str] = os.fdopen(fd, "w", encoding="utf-8", newline="")
        return StreamSink(fmt, tmp_stream, path=output, atomic_tmp=tmp), set()
    if is_direct_target(output):
        # A device or FIFO (/dev/null): written straight through, never created or locked.
        try:
            fd = os.open(output, os.O_WRONLY | os.O_APPEND)
        except OSError as e:
            raise write_error(output, e) from e
        return StreamSink(fmt, os.fdopen(fd, "a", encoding="utf-8", newline=""), path=output), set()
    fd = open_locked(output)
    try:
        done, header = _prepare(fd, fmt, output, resume, kind, settings, notes)
    except BaseException:
        os.close(fd)
        raise
    stream = os.fdopen(fd, "a", encoding="utf-8", newline="")
    return StreamSink(fmt, stream, header=header, path=output), done


def _prepare(
    fd: int,
    fmt: str,
    output: Path,
    resume: bool,
    kind: str | None,
    settings: Mapping[str, Any] | None,
    notes: Callable[[str], None] | None,
) -> tuple[set[str], bool]:
    """Under the lock: check and scan a file to resume, or empty it; record the settings.
    Returns the inputs already done and whether a CSV header is due."""
    done: set[str] = set()
    header = True
    checked = False
    if resume and os.fstat(fd).st_size > 0:
        # Again, now that the file is ours: another run may have rewritten it meanwhile.
        checked = settings is not None and check_settings(output, settings)
        done = scan(output, fmt, kind, csv_columns())
        header = False
        if settings is not None and not checked and notes is not None:
            notes(
                f"{output} has no record of the settings it was written with "
                f"({settings_path(output).name}; written by an older limecli?): "
                "resumed without checking them"
            )
    elif not resume:
        os.ftruncate(fd, 0)
    if settings is None:
        if not resume:
            forget_settings(output)  # it would describe records no longer there
    elif not checked:
        write_settings(output, settings)
    return done, header
