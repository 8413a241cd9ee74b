"""Reading tables into DataFrames, with errors that name the file, the row and the column.

Formats, by suffix (a compression suffix first, then the format's):

* **CSV**: any suffix not named below (``.csv``, ``.tsv``, ``.txt``, ...), plain
  or compressed (``.gz``, ``.bz2``, ``.xz``, ``.zst``; zstd needs ``zstandard``).
  Checked record by record before pandas parses it (encoding, delimiter
  sniffing, duplicate names, ragged rows: :mod:`limecli.inputs.table_csv`).
* **Parquet** (``.parquet``, ``.pq``) and **Feather/Arrow IPC** (``.feather``,
  ``.arrow``, ``.ipc``): read with pyarrow, an optional dependency
  (``pip install 'limecli[parquet]'``); columns keep their stored dtypes
  (:mod:`limecli.inputs.table_arrow`).
* **JSON Lines** (``.jsonl``, ``.ndjson``, plain or compressed): one object
  per line (:mod:`limecli.inputs.table_jsonl`).
* ``-``: stdin, copied to a temporary file and recognised by its first bytes
  (Parquet, Arrow, a compressed stream, JSON Lines; else CSV).

:func:`read_csv` reads a table whole (or its first ``nrows`` rows: a CSV is
then never read past them); :func:`open_table` checks it and then streams it
in chunks with one dtype per column (:mod:`limecli.inputs.table_stream`), so
a batch over a huge file holds one chunk at a time.

Empty, ``NaN`` and ``inf`` cells are read as missing/infinite numbers.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from limecli.errors import InputDataError, PredictorCallError
from limecli.inputs.table_csv import COMPRESSIONS, DELIMITERS, sniff_delimiter
from limecli.inputs.table_stream import CHUNK_ROWS, ChunkReader, Table

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DELIMITERS",
    "STDIN",
    "STDIN_NAME",
    "TABLE_SUFFIXES",
    "Table",
    "TableSource",
    "check_numeric_columns",
    "locate",
    "open_table",
    "read_csv",
    "read_table",
    "select_row",
    "sniff_delimiter",
    "text_column_hint",
    "text_columns",
]

STDIN = "-"
STDIN_NAME = "<stdin>"
#: Table formats by suffix; anything else is read as CSV.
TABLE_SUFFIXES = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".feather": "feather",
    ".arrow": "feather",
    ".ipc": "feather",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
#: First bytes -> (format, compression), for stdin.
_MAGIC = (
    (b"PAR1", ("parquet", None)),
    (b"ARROW1", ("feather", None)),
    (b"\xff\xff\xff\xff", ("feather", None)),  # an Arrow IPC stream
    (b"\x1f\x8b", ("csv", "gz")),
    (b"BZh", ("csv", "bz2")),
    (b"\xfd7zXZ\x00", ("csv", "xz")),
    (b"\x28\xb5\x2f\xfd", ("csv", "zst")),
)


@dataclass(frozen=True)
class TableSource:
    """Where a table's bytes are, how messages name it, and how to read it."""

    path: Path
    name: str
    fmt: str  # csv, parquet, feather, jsonl
    compression: str | None = None
    #: stdin's temporary copy, removed when the last holder goes.
    keep: Any = None


def table_format(name: str) -> tuple[str, str | None]:
    """(format, compression) from a file name's suffixes."""
    suffixes = [s.lower() for s in Path(name).suffixes]
    compression = None
    if suffixes and suffixes[-1][1:] in COMPRESSIONS:
        compression = suffixes.pop()[1:]
    fmt = TABLE_SUFFIXES.get(suffixes[-1], "csv") if suffixes else "csv"
    return fmt, compression


def locate(data: str | Path, stdin: Any = None) -> TableSource:
    """The table named ``data`` (``-``: stdin, copied to a temporary file), checked to exist."""
    import stat

    if str(data) == STDIN:
        return _spool_stdin(stdin)
    path = Path(data)
    fmt, compression = table_format(path.name)
    if not path.exists():
        raise InputDataError(f"data file not found: {path}")
    what = "a CSV file" if fmt == "csv" else "a table file"
    if path.is_dir():
        raise InputDataError(f"data path is a directory, not {what}: {path}")
    mode = path.stat().st_mode
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):  # /dev/zero, a terminal, a disk: no table
        raise InputDataError(f"data path is a device, not {what}: {path}")
    if not stat.S_ISREG(mode):  # a pipe (<(zcat ...)) can be read once: copied, as stdin is
        try:
            with open(path, "rb") as stream:
                return _spool(stream, str(path))
        except OSError as e:
            raise InputDataError(f"cannot read {path}: {e.strerror or e}") from e
    if compression is not None and fmt in ("parquet", "feather"):
        raise InputDataError(
            f"{path}: a compressed {fmt} file is not read; decompress it first "
            "(Parquet and Feather compress their columns themselves)"
        )
    return TableSource(path, str(path), fmt, compression)


class _Spool:
    """stdin's temporary copy: removed when the last table reading it goes (or at exit)."""

    def __init__(self) -> None:
        import os
        import tempfile
        import weakref

        handle, name = tempfile.mkstemp(prefix="limecli-stdin-")
        os.close(handle)
        self.path = Path(name)
        self.remove = weakref.finalize(self, self.path.unlink, missing_ok=True)


def _spool_stdin(stdin: Any) -> TableSource:
    import sys

    if stdin is None:
        stdin = getattr(sys.stdin, "buffer", sys.stdin)
    if hasattr(stdin, "isatty") and stdin.isatty():
        raise InputDataError("DATA is - (stdin) but stdin is a terminal: pipe a table into it")
    return _spool(stdin, STDIN_NAME)


def _spool(stream: Any, name: str) -> TableSource:
    """A stream copied to a temporary file, its format recognised by its first bytes."""
    spool = _Spool()
    head = b""
    try:
        with open(spool.path, "wb") as out:
            while block := stream.read(1 << 20):
                block = block.encode("utf-8") if isinstance(block, str) else block
                if not head:
                    head = block[: 1 << 16]
                    _refuse_binary(head, name)  # before copying an endless stream of zeros
                out.write(block)
    except OSError as e:  # a full disk
        spool.remove()
        raise InputDataError(f"cannot copy {name} to a temporary file: {e.strerror or e}") from e
    fmt, compression = next(
        (kind for magic, kind in _MAGIC if head.startswith(magic)), ("csv", None)
    )
    if fmt == "csv" and _looks_like_jsonl(spool.path, compression):
        fmt = "jsonl"
    return TableSource(spool.path, name, fmt, compression, keep=spool)


def _refuse_binary(head: bytes, name: str) -> None:
    """InputDataError for bytes that are no table: NUL bytes in what is not Parquet, Arrow
    or a compressed stream (those hold NULs by design)."""
    if b"\x00" in head and not any(head.startswith(magic) for magic, _ in _MAGIC):
        raise InputDataError(f"{name} looks like a binary file, not a table (it holds NUL bytes)")


def _looks_like_jsonl(path: Path, compression: str | None) -> bool:
    """Whether the first non-blank character is ``{``: a JSON object, not a CSV header."""
    from limecli.inputs.table_csv import reading

    with reading(path, compression, STDIN_NAME) as handle:
        head = handle.read(1 << 12)
    return head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n").startswith("{")


def read_csv(
    path: str | Path,
    *,
    nrows: int | None = None,
    notes: list[str] | None = None,
    stdin: Any = None,
) -> pd.DataFrame:
    """Read a table (any format above; the name is historical) with a header or named
    columns; raise InputDataError on anything unreadable.

    ``nrows`` reads only the first ``nrows`` data rows. Notes for the user
    (a sniffed delimiter) are appended to ``notes`` when given.
    """
    from limecli.inputs.table_csv import read_csv_file

    source = locate(path, stdin)
    try:
        if source.fmt == "csv":
            return read_csv_file(
                source.path, source.name, compression=source.compression, nrows=nrows, notes=notes
            )
        chunks = []
        count = 0
        for chunk in _reader(source)(()):
            chunks.append(chunk)
            count += len(chunk)
            if nrows is not None and count >= nrows:
                break
        return _table(source, chunks, lambda _: iter(chunks)).frame(nrows)
    finally:
        if source.keep is not None:
            source.keep.remove()


#: The name for the reader of every format.
read_table = read_csv


def open_table(path: str | Path, *, notes: list[str] | None = None, stdin: Any = None) -> Table:
    """A table checked whole and then streamed in chunks (see :class:`Table`).

    Everything that can be wrong with the file is found here, before any
    work (one pass over it, two for a CSV); reading the chunks afterwards
    cannot fail on the data. ``-`` reads stdin (see :func:`locate`).
    """
    from limecli.inputs.table_csv import note_delimiter, reading, scan

    source = locate(path, stdin)
    header = None
    if source.fmt == "csv":
        with reading(source.path, source.compression, source.name) as handle:
            sep, header, _, count = scan(handle, source.name, None)
        note_delimiter(sep, source.name, notes)
        if count == 0:
            raise InputDataError(f"{source.name} has a header but no data rows")
        reader = _reader(source, sep, header)
    else:
        reader = _reader(source)
    return _table(source, reader(()), reader, header)


def _reader(source: TableSource, sep: str = ",", header: list[str] | None = None) -> ChunkReader:
    """The chunk reader of ``source`` (a CSV's separator and header already known)."""
    from limecli.inputs.table_arrow import arrow_chunks
    from limecli.inputs.table_csv import csv_chunks
    from limecli.inputs.table_jsonl import jsonl_chunks

    path, name, compression = source.path, source.name, source.compression

    def read(as_text: Collection[str]) -> Iterator[pd.DataFrame]:
        if source.fmt == "csv":
            assert header is not None
            return csv_chunks(
                path,
                name,
                compression=compression,
                sep=sep,
                header=header,
                size=CHUNK_ROWS,
                as_text=as_text,
            )
        if source.fmt == "jsonl":
            return jsonl_chunks(path, name, compression=compression, size=CHUNK_ROWS)
        return arrow_chunks(path, name, fmt=source.fmt, size=CHUNK_ROWS)

    return read


def _table(
    source: TableSource,
    chunks: Iterable[pd.DataFrame],
    reader: ChunkReader,
    header: list[str] | None = None,
) -> Table:
    """A table read by ``reader``, its dtypes planned over ``chunks`` (one whole pass)."""
    from limecli.inputs.table_stream import plan

    columns, n_rows, casts = plan(chunks, header, text_reread=source.fmt == "csv")
    if n_rows == 0:
        raise InputDataError(f"{source.name} has no data rows")
    if not columns:
        raise InputDataError(f"{source.name} has no columns")
    return Table(source.name, columns, n_rows, reader, casts, source.keep)


def check_numeric_columns(
    frame: pd.DataFrame, source: str, *, exempt: Collection[str] = ()
) -> None:
    """A text column whose cells are mostly numbers has a typo: name its first text cell.

    Meant for training data, where such a column would silently turn
    categorical; columns in ``exempt`` (``--categorical``) are left alone.
    """
    import pandas as pd

    for column in frame.columns:
        if column in exempt or pd.api.types.is_numeric_dtype(frame[column]):
            continue
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            continue  # categories by the file's own say (Parquet, Feather)
        values = frame[column]
        present = values.notna()
        parsed = pd.to_numeric(values.where(present), errors="coerce")
        numbers = int(parsed.notna().sum())
        bad = present & parsed.isna()
        n_bad = int(bad.sum())
        if numbers == 0 or n_bad == 0 or numbers <= n_bad:
            continue  # a genuine text column
        row = int(bad.to_numpy().nonzero()[0][0])
        raise InputDataError(
            f"{source} column '{column}' holds numbers except {n_bad} cell(s), first at row "
            f"{row}: {values.iloc[row]!r}; fix the value(s), or name the column with "
            f"'categorical' if it is categorical",
            parameters=("categorical",),
        )


def select_row(frame: pd.DataFrame, row: int, source: str = "data") -> pd.Series:
    """Row ``row`` (0-based, header excluded) of ``frame``."""
    n = frame.shape[0]
    if row < 0 or row >= n:
        raise InputDataError(f"row {row} is out of range: {source} has {n} rows (0 to {n - 1})")
    return frame.iloc[row]


def text_columns(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """Which of ``columns`` hold text (strings, or categories that are strings) in ``frame``."""
    import pandas as pd
    from pandas.api import types

    out = []
    for column in columns:
        dtype = frame[column].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            dtype = dtype.categories.dtype
        if not (types.is_numeric_dtype(dtype) or types.is_datetime64_any_dtype(dtype)):
            out.append(str(column))
    return out


#: What a model says when it is handed text it cannot turn into numbers.
_STRING_FAILURES = (
    "could not convert string",
    "string to float",
    "invalid literal for int",
    "unable to parse string",
)


def text_column_hint(error: BaseException, text_columns: Sequence[str]) -> BaseException:
    """``error`` with a hint at 'target' and 'drop' when the model choked on text columns.

    A predict script that converts its input to floats fails on an ID or
    target column left in the data; the message then names the text columns
    the model was given and the two parameters that leave columns out.
    Other errors come back unchanged.
    """
    if not text_columns or type(error) is not PredictorCallError:
        return error
    cause = f"{error} {error.__cause__ or ''}".lower()
    if not any(words in cause for words in _STRING_FAILURES):
        return error
    shown = ", ".join(f"'{c}'" for c in text_columns[:5]) + (
        ", ..." if len(text_columns) > 5 else ""
    )
    hinted = type(error)(
        f"{error}; the model was given text column(s) {shown}: leave out ID and other "
        "non-feature columns with 'drop' and the target with 'target'",
        parameters=tuple(dict.fromkeys([*error.parameters, "target", "drop"])),
    )
    hinted.__cause__ = error.__cause__
    return hinted
