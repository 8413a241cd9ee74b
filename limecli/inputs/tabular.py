"""Reading CSV files into DataFrames, with errors that name the file, the row and the column.

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
Empty, ``NaN`` and ``inf`` cells are read as missing/infinite numbers:
training statistics ignore them, and the row to explain must not have them
in a numeric column (the explainer says which).

With ``nrows``, only the header and the first ``nrows`` records are read
(the rest of the file is never opened past them), so one row of a huge file
costs what its position costs.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from limecli.errors import InputDataError

if TYPE_CHECKING:
    import pandas as pd

#: Separators the header is sniffed for, in order of preference on a tie.
DELIMITERS = (",", ";", "\t")
_NAMES = {",": "','", ";": "';'", "\t": "tab"}
_BARE_CR = re.compile(r"(?<=\r)(?!\n)")


def read_csv(
    path: str | Path,
    *,
    nrows: int | None = None,
    notes: list[str] | None = None,
) -> pd.DataFrame:
    """Read a CSV with a header row; raise InputDataError on anything unreadable.

    ``nrows`` reads only the first ``nrows`` data records. Notes for the user
    (a sniffed delimiter) are appended to ``notes`` when given.
    """
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise InputDataError(f"data file not found: {path}")
    if path.is_dir():
        raise InputDataError(f"data path is a directory, not a CSV file: {path}")
    try:
        with open(path, "rb") as handle:
            sep, header, text = _scan(handle, path, nrows)
    except OSError as e:
        raise InputDataError(f"cannot read {path}: {e.strerror or e}") from e
    if sep != "," and notes is not None:
        notes.append(f"{path} is separated by {_NAMES[sep]}, not commas: read it that way")
    try:
        source: str | Path | IO[str] = path if text is None else io.StringIO(text)
        frame = pd.read_csv(source, sep=sep, encoding="utf-8-sig")
    except pd.errors.EmptyDataError as e:
        raise InputDataError(f"{path} is empty: expected a CSV with a header row") from e
    except pd.errors.ParserError as e:
        raise InputDataError(f"{path} is not a readable CSV: {_first_line(e)}") from e
    except UnicodeDecodeError as e:
        raise InputDataError(f"{path} is not UTF-8 text (is it a CSV?): {e.reason}") from e
    except (OSError, ValueError) as e:
        raise InputDataError(f"cannot read {path}: {_first_line(e)}") from e
    if frame.shape[0] == 0:
        raise InputDataError(f"{path} has a header but no data rows")
    if list(frame.columns) != header:  # pandas renamed something (e.g. an empty name)
        frame.columns = pd.Index(
            [h if h else str(c) for h, c in zip(header, frame.columns, strict=True)]
        )
    return frame


def _lines(handle: IO[bytes], path: Path) -> Iterator[str]:
    """The file's lines decoded strictly, one at a time (a BOM is dropped)."""
    for number, raw in enumerate(handle, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputDataError(
                f"{path} is not UTF-8 text (is it a CSV?): line {number} has byte "
                f"0x{raw[e.start : e.start + 1].hex()}"
            ) from None
        if number == 1 and line.startswith("\ufeff"):
            line = line[1:]
        if "\r" in line.rstrip("\r\n"):
            # A bare CR ends a line too (old Mac files), as for pandas and the csv module.
            yield from _BARE_CR.split(line)
        else:
            yield line


def _scan(handle: IO[bytes], path: Path, nrows: int | None) -> tuple[str, list[str], str | None]:
    """Check the file record by record; return (separator, header, text read if ``nrows``)."""
    lines = _lines(handle, path)
    kept: list[str] = []
    first = ""
    for line in lines:
        if line.strip():
            first = line
            break
    if not first:
        raise InputDataError(f"{path} is empty: expected a CSV with a header row")
    sep = sniff_delimiter(first)
    # The header may itself hold quoted newlines: parse it as records, from its first line on.

    def source() -> Iterator[str]:
        for line in _chain(first, lines):
            if nrows is not None:
                kept.append(line)
            yield line

    reader = csv.reader(source(), delimiter=sep)
    try:
        header = next(reader)
        _check_header(header, path)
        width = len(header)
        count = 0
        for record in reader:
            if not record or (len(record) == 1 and record[0] and not record[0].strip()):
                continue  # a blank line (spaces only), which pandas skips too
            if len(record) != width:
                raise InputDataError(
                    f"{path} row {count} (line {reader.line_num}) has {len(record)} field(s) "
                    f"but the header has {width}: is a delimiter or quote missing or extra?"
                )
            count += 1
            if nrows is not None and count >= nrows:
                break
    except csv.Error as e:
        raise InputDataError(f"{path} is not a readable CSV: line {reader.line_num}: {e}") from e
    return sep, header, ("".join(kept) if nrows is not None else None)


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


def _check_header(header: list[str], path: Path) -> None:
    counts = Counter(header)
    repeated = [name for name, n in counts.items() if n > 1]
    if repeated:
        where = "; ".join(
            f"{name!r} (columns {', '.join(str(i) for i, h in enumerate(header) if h == name)})"
            for name in repeated
        )
        raise InputDataError(f"{path} has duplicate column name(s): {where}")


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


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
