"""Where a batch's records go: JSONL, long-form CSV, a JSON array or tables, one record at a time.

A record is an :class:`~limecli.explanation.Explanation` or, for an input that
failed, an error record (:func:`error_record`). :func:`open_sink` opens the
output (stdout, a file, or with ``resume`` an existing JSONL/CSV file to
append to) and refuses, before any work, a format that cannot be streamed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from limecli.atomic import finish_atomic
from limecli.batch.resume import csv_key, scan
from limecli.errors import LimeCliError, ParameterError
from limecli.explanation import SCHEMA_VERSION, Explanation
from limecli.inputs.ref import InputRef
from limecli.jsonable import jsonable

#: Formats a batch can write record by record.
STREAM_FORMATS = ("jsonl", "csv", "json", "table")
#: Formats a batch can append to, and so resume.
RESUMABLE_FORMATS = ("jsonl", "csv")
#: The batch CSV's columns after an explanation's own (empty unless the input failed).
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
    from limecli.render.csv_format import COLUMNS

    return [*COLUMNS, *CSV_EXTRA_COLUMNS]


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


def check_sink(fmt: str, output: Path | None, *, resume: bool = False) -> None:
    """What :func:`open_sink` would refuse (ParameterError), checked without touching anything:
    a caller can run this before any work."""
    check_stream_format(fmt)
    if resume and (output is None or fmt not in RESUMABLE_FORMATS):
        raise ParameterError(
            "'resume' needs a JSONL or CSV output file: add 'output' FILE.jsonl "
            "or 'output' FILE.csv",
            parameters=("resume", "output"),
        )
    if output is not None:
        folder = output.parent if str(output.parent) else Path(".")
        if not folder.is_dir():
            raise ParameterError(
                f"folder {folder} (of 'output') does not exist", parameters=("output",)
            )


def open_sink(
    fmt: str, output: Path | None, *, resume: bool = False, kind: str | None = None
) -> tuple[StreamSink, set[str]]:
    """Open the output for a batch; with ``resume``, also the keys of inputs already done.

    Nothing is written, and no file created, when the output cannot work
    (:func:`check_sink`). Keys are those of
    :func:`~limecli.batch.resume.key_function` (``fmt``), which
    :func:`~limecli.batch.runner.run_batch` takes as ``key=``.
    """
    check_sink(fmt, output, resume=resume)
    if output is None:
        return StreamSink(fmt, sys.stdout), set()
    folder = output.parent if str(output.parent) else Path(".")
    if fmt not in RESUMABLE_FORMATS:
        # Not appendable: stream into a temporary file, renamed when complete.
        fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=folder)
        tmp_stream: IO[str] = os.fdopen(fd, "w", encoding="utf-8", newline="")
        return StreamSink(fmt, tmp_stream, path=output, atomic_tmp=Path(tmp)), set()
    done: set[str] = set()
    header = True
    if resume and output.exists() and output.stat().st_size > 0:
        done = scan(output, fmt, kind, csv_columns())
        header = False
    mode = "a" if resume else "w"
    stream = open(output, mode, encoding="utf-8", newline="")  # noqa: SIM115 - closed by the sink
    return StreamSink(fmt, stream, header=header, path=output), done
