"""Resuming a batch: which inputs an earlier (maybe killed) run already wrote.

A JSONL output is read line by line, a CSV output record by record; each
record's ``input`` gives its key, and a trailing partial record (cut by a
kill mid-write) is truncated away so the rest can be appended. The keys are
:meth:`InputRef.key <limecli.inputs.ref.InputRef.key>` for JSONL and
:func:`csv_key` for CSV (whose cells hold only the source and position), and
the runner matches inputs with the same function (:func:`key_function`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from limecli.errors import ParameterError
from limecli.inputs.ref import InputRef, identity_key


def csv_key(ref: InputRef) -> str:
    """An input's key in the long-form CSV, from its ``source`` and ``index`` cells."""
    source = "" if ref.source is None else str(ref.source)
    position = "" if ref.position is None else str(ref.position)
    return json.dumps([source, position])


def key_function(fmt: str) -> Callable[[InputRef], str]:
    """How inputs are matched against what :func:`scan` found in a ``fmt`` output."""
    return csv_key if fmt == "csv" else InputRef.key


def scan(path: Path, fmt: str, kind: str | None, csv_columns: Sequence[str]) -> set[str]:
    """The keys of the inputs already in the output at ``path`` (see :func:`key_function`);
    truncates what must be redone."""
    return scan_jsonl(path, kind) if fmt == "jsonl" else scan_csv(path, kind, csv_columns)


def scan_jsonl(path: Path, kind: str | None) -> set[str]:
    """Inputs already in a JSONL output; drops a trailing partial line."""
    done: set[str] = set()
    good_end = 0
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.endswith(b"\n"):
                break  # cut mid-write by a kill: redone
            done.add(_record_key(_jsonl_identity(line, number, path, kind)))
            good_end += len(line)
    truncate(path, good_end)
    return done


def _jsonl_identity(line: bytes, number: int, path: Path, kind: str | None) -> Any:
    """The ``input`` of the JSONL record ``line``; ParameterError if it is no limecli
    record, or one of another kind than ``kind``."""
    try:
        record = json.loads(line)
        identity = record["input"]
        record_kind = record.get("kind")
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ParameterError(
            f"cannot resume: line {number} of {path} is not a limecli record"
        ) from e
    if kind is not None and record_kind != kind:
        raise ParameterError(f"cannot resume: {path} holds {record_kind} records, not {kind}")
    return identity


#: How much of a file :func:`check_head` reads at most: a first record longer than this
#: (no line end in sight) is left to :func:`scan`.
HEAD_LIMIT = 64 * 1024 * 1024


def check_head(path: Path, fmt: str, kind: str | None, csv_columns: Sequence[str]) -> None:
    """What :func:`scan` would refuse in the file's first record, read without changing
    anything (cheap enough to run before any work): a file that is not limecli's JSONL
    or batch CSV, or records of another kind."""
    with open(path, "rb") as handle:
        first = handle.readline(HEAD_LIMIT)
        second = handle.readline(HEAD_LIMIT) if fmt == "csv" else b""
    if not first.endswith(b"\n"):
        return  # a cut or huge first line: the scan judges it
    if fmt == "jsonl":
        _jsonl_identity(first, 1, path, kind)
        return
    try:
        header = next(csv.reader(io.StringIO(first.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error, StopIteration) as e:
        raise ParameterError(f"cannot resume: {path} is not a limecli batch CSV") from e
    check_csv_header(header, csv_columns, path)
    row_kind = second.split(b",", 1)[0].decode("utf-8", "replace")
    if kind is not None and second.endswith(b"\n") and row_kind != kind:
        raise ParameterError(f"cannot resume: {path} holds {row_kind} rows, not {kind}")


def check_csv_header(header: Sequence[str], columns: Sequence[str], path: Path) -> None:
    """ParameterError (exit 2) unless ``header`` is this limecli's batch CSV header.

    A header with only some of today's columns, starting the same way, is an older
    limecli's (before the interval and stability columns): appending rows with more
    cells would make a ragged table, so such a file is refused with what to do
    rather than as "not a limecli batch CSV".
    """
    header, columns = list(header), list(columns)
    if header == columns:
        return
    if header and header[0] == columns[0] and set(header) < set(columns):
        missing = [c for c in columns if c not in header]
        raise ParameterError(
            f"cannot resume: {path} was written by an older limecli, without the columns "
            f"{', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}: "
            "write to a new 'output' file, or run again without 'resume'",
            parameters=("resume", "output"),
        )
    raise ParameterError(f"cannot resume: {path} is not a limecli batch CSV")


def _record_key(identity: Any) -> str:
    # Only the source and position name an input; an explainer's extra keys
    # (an image's mode and size) do not.
    if isinstance(identity, Mapping):
        try:
            return InputRef.from_dict(identity).key()
        except (TypeError, ValueError):
            pass  # a position that is not a number: matches no input
    return identity_key(identity) if isinstance(identity, Mapping) else json.dumps(identity)


def scan_csv(path: Path, kind: str | None, columns: Sequence[str]) -> set[str]:
    """Inputs already in a batch CSV with header ``columns``; drops a partial tail and
    redoes the last input."""
    columns = list(columns)
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
                check_csv_header(cells, columns, path)
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
    truncate(path, last_start if last_key is not None else good_end)
    return done


def truncate(path: Path, size: int) -> None:
    """Cut the file at ``path`` to ``size`` bytes (no write when it already has that size)."""
    if path.stat().st_size != size:
        with open(path, "r+b") as handle:
            handle.truncate(size)
