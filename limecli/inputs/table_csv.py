"""CSV tables (plain or compressed), checked record by record before pandas parses them.

Before pandas parses a file, one streaming pass with the :mod:`csv` module
checks what pandas would accept silently or report badly:

* **encoding**: UTF-8 (a byte-order mark is dropped), decoded line by line so
  an error names its line;
* **delimiter**: the header line is sniffed; a header separated by ``;`` or
  tabs (and holding no comma) is read with that separator, and a note says so;
* **duplicate column names** (pandas would rename the second ``x`` to ``x.1``);
* **ragged rows**: every record must have as many fields as the header
  (pandas fills short rows with NaN without a word).

Quoted fields may hold the delimiter and newlines. Blank lines are skipped.
The same pass runs over the decompressed text of a ``.gz``, ``.bz2``, ``.xz``
or ``.zst`` file.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

from limecli.errors import InputDataError
from limecli.validation import format_size

if TYPE_CHECKING:
    import pandas as pd

#: Separators the header is sniffed for, in order of preference on a tie.
DELIMITERS = (",", ";", "\t")
_NAMES = {",": "','", ";": "';'", "\t": "tab"}
_BARE_CR = re.compile(r"(?<=\r)(?!\n)")
#: Compressions by name: (what a message calls it, the module that reads it).
COMPRESSIONS = {"gz": "gzip", "bz2": "bzip2", "xz": "xz", "zst": "zstd"}
#: Longest line read (bytes). A longer one is no table row (the csv module refuses a field
#: over 128 KiB anyway): a stream without newlines would otherwise be read into memory whole.
MAX_LINE_BYTES = 16 * 1024**2


def capped_lines(handle: IO[bytes], name: str, what: str = "a CSV table") -> Iterator[bytes]:
    """The handle's lines, each read with a bounded buffer (InputDataError past
    :data:`MAX_LINE_BYTES`)."""
    number = 0
    while raw := handle.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            raise InputDataError(
                f"{name} line {number} is longer than {format_size(MAX_LINE_BYTES)}: is it {what}?"
            )
        yield raw


def open_bytes(path: Path, compression: str | None, name: str) -> IO[bytes]:
    """The file's (decompressed) bytes, opened for reading."""
    if compression is None:
        return open(path, "rb")
    if compression == "gz":
        import gzip

        return gzip.open(path, "rb")  # type: ignore[return-value]
    if compression == "bz2":
        import bz2

        return bz2.open(path, "rb")
    if compression == "xz":
        import lzma

        return lzma.open(path, "rb")
    try:
        import zstandard
    except ImportError:
        raise InputDataError(
            f"cannot read {name}: .zst files need the 'zstandard' package "
            "(pip install 'limecli[zstd]')"
        ) from None
    # The decompressor reads in blocks but cannot split lines: buffer it.
    return io.BufferedReader(zstandard.open(path, "rb"))


def _decompression_errors() -> tuple[type[BaseException], ...]:
    import lzma
    import zlib

    errors: list[type[BaseException]] = [OSError, EOFError, lzma.LZMAError, zlib.error]
    try:
        import zstandard

        errors.append(zstandard.ZstdError)
    except ImportError:
        pass
    return tuple(errors)


@contextmanager
def reading(path: Path, compression: str | None, name: str) -> Iterator[IO[bytes]]:
    """Open the file; unreadable or corrupt (compressed) bytes become one InputDataError."""
    try:
        with open_bytes(path, compression, name) as handle:
            yield handle
    except InputDataError:
        raise
    except _decompression_errors() as e:
        if compression is None and isinstance(e, OSError):
            raise InputDataError(f"cannot read {name}: {e.strerror or e}") from e
        what = COMPRESSIONS.get(compression or "", "compressed")
        raise InputDataError(f"{name} is not readable {what} data: {first_line(e)}") from e


def read_csv_file(
    path: Path,
    name: str,
    *,
    compression: str | None = None,
    nrows: int | None = None,
    notes: list[str] | None = None,
) -> pd.DataFrame:
    """The whole CSV (or its first ``nrows`` records), checked; InputDataError naming ``name``."""
    import pandas as pd

    with reading(path, compression, name) as handle:
        sep, header, text, _ = scan(handle, name, nrows)
    note_delimiter(sep, name, notes)
    with _parsing(name):
        if text is not None:
            frame = pd.read_csv(io.StringIO(text), sep=sep, encoding="utf-8-sig")
        elif compression is None:
            frame = pd.read_csv(path, sep=sep, encoding="utf-8-sig")
        else:
            with reading(path, compression, name) as handle:
                frame = pd.read_csv(handle, sep=sep, encoding="utf-8-sig")
    if frame.shape[0] == 0:
        raise InputDataError(f"{name} has a header but no data rows")
    return fix_header(frame, header)


def csv_chunks(
    path: Path,
    name: str,
    *,
    compression: str | None,
    sep: str,
    header: list[str],
    size: int,
    as_text: Collection[str] = (),
) -> Iterator[pd.DataFrame]:
    """The file's records in frames of ``size`` rows (columns in ``as_text`` read as text)."""
    import pandas as pd

    dtype = {c: str for c in as_text} or None
    with _parsing(name), reading(path, compression, name) as handle:
        reader = pd.read_csv(handle, sep=sep, encoding="utf-8-sig", chunksize=size, dtype=dtype)
        with reader:
            for chunk in reader:
                yield fix_header(chunk, header)


def note_delimiter(sep: str, name: str, notes: list[str] | None) -> None:
    if sep != "," and notes is not None:
        notes.append(f"{name} is separated by {_NAMES[sep]}, not commas: read it that way")


def fix_header(frame: pd.DataFrame, header: list[str]) -> pd.DataFrame:
    """The header as written where pandas renamed something (e.g. an empty name)."""
    import pandas as pd

    if list(frame.columns) != header:
        frame.columns = pd.Index(
            [h if h else str(c) for h, c in zip(header, frame.columns, strict=True)]
        )
    return frame


@contextmanager
def _parsing(name: str) -> Iterator[None]:
    """pandas' parse errors as InputDataError naming the file."""
    import pandas as pd

    try:
        yield
    except pd.errors.EmptyDataError as e:
        raise InputDataError(f"{name} is empty: expected a CSV with a header row") from e
    except pd.errors.ParserError as e:
        raise InputDataError(f"{name} is not a readable CSV: {first_line(e)}") from e
    except UnicodeDecodeError as e:
        raise InputDataError(f"{name} is not UTF-8 text (is it a CSV?): {e.reason}") from e
    except InputDataError:
        raise
    except (OSError, ValueError) as e:
        raise InputDataError(f"cannot read {name}: {first_line(e)}") from e


def _lines(handle: IO[bytes], name: str) -> Iterator[str]:
    """The file's lines decoded strictly, one at a time (a BOM is dropped)."""
    for number, raw in enumerate(capped_lines(handle, name), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputDataError(
                f"{name} is not UTF-8 text (is it a CSV?): line {number} has byte "
                f"0x{raw[e.start : e.start + 1].hex()}"
            ) from None
        if number == 1 and "\x00" in line:  # a cell may hold one; a header line, never
            raise InputDataError(f"{name} looks like a binary file, not a CSV (it holds NUL bytes)")
        if number == 1 and line.startswith("\ufeff"):
            line = line[1:]
        if "\r" in line.rstrip("\r\n"):
            # A bare CR ends a line too (old Mac files), as for pandas and the csv module.
            yield from _BARE_CR.split(line)
        else:
            yield line


def scan(handle: IO[bytes], name: str, nrows: int | None) -> tuple[str, list[str], str | None, int]:
    """Check the file record by record.

    Returns (separator, header, the text read if ``nrows``, records counted);
    with ``nrows``, reading stops after that many records.
    """
    lines = _lines(handle, name)
    kept: list[str] = []
    first = ""
    for line in lines:
        if line.strip():
            first = line
            break
    if not first:
        raise InputDataError(f"{name} is empty: expected a CSV with a header row")
    sep = sniff_delimiter(first)
    # The header may itself hold quoted newlines: parse it as records, from its first line on.

    def source() -> Iterator[str]:
        for line in _chain(first, lines):
            if nrows is not None:
                kept.append(line)
            yield line

    reader = csv.reader(source(), delimiter=sep)
    count = 0
    try:
        header = next(reader)
        _check_header(header, name)
        width = len(header)
        for record in reader:
            if not record or (len(record) == 1 and record[0] and not record[0].strip()):
                continue  # a blank line (spaces only), which pandas skips too
            if len(record) != width:
                raise InputDataError(
                    f"{name} row {count} (line {reader.line_num}) has {len(record)} field(s) "
                    f"but the header has {width}: is a delimiter or quote missing or extra?"
                )
            count += 1
            if nrows is not None and count >= nrows:
                break
    except csv.Error as e:
        raise InputDataError(f"{name} is not a readable CSV: line {reader.line_num}: {e}") from e
    return sep, header, ("".join(kept) if nrows is not None else None), count


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def sniff_delimiter(header_line: str) -> str:
    """The separator that splits the header line into the most fields (comma on a tie)."""
    best, best_fields = ",", 0
    for sep in DELIMITERS:
        try:
            fields = len(next(csv.reader([header_line], delimiter=sep)))
        except (csv.Error, StopIteration):
            continue
        if fields > best_fields:
            best, best_fields = sep, fields
    return best


def _check_header(header: list[str], name: str) -> None:
    counts = Counter(header)
    repeated = [column for column, n in counts.items() if n > 1]
    if repeated:
        where = "; ".join(
            f"{column!r} (columns {', '.join(str(i) for i, h in enumerate(header) if h == column)})"
            for column in repeated
        )
        raise InputDataError(f"{name} has duplicate column name(s): {where}")


def first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
