"""Reading texts to explain: plain text files, stdin, or a column of a CSV/TSV/JSONL file.

Decoding is strict (a wrong encoding is an error, never silently garbled
text). A byte-order mark decides the encoding by itself (UTF-8, UTF-16 or
UTF-32) and is not part of the text; otherwise the text is UTF-8 unless
``encoding`` names another codec. A file with NUL bytes (and no UTF-16/32
encoding) is rejected as binary.

A long text is cut before it is explained, at a word boundary, after
:data:`MAX_CHARS` characters (``--max-chars``) or where its
:data:`MAX_WORDS`-th distinct word would start (``--max-words``), whichever
comes first: every perturbed sample is a copy of the text and every distinct
word a feature (the surrogate's cost grows with the cube of their number), so
a 50 MB text would need gigabytes and hours. The command says so in a note,
and the explanation's ``data.text`` is the text that was explained.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from limecli.errors import InputDataError, ParameterError
from limecli.validation import format_size

STDIN = "-"
STDIN_NAME = "<stdin>"

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_WIDE_CODECS = ("utf-16", "utf-32")
_JSONL_SUFFIXES = (".jsonl", ".ndjson")
_TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t"}

#: Longest text explained as a whole (characters); longer ones are cut (see module docs).
MAX_CHARS = 100_000
#: Most distinct words (features) a text keeps; the text is cut before the next new one.
MAX_WORDS = 2_000
#: Most bytes read for one text (a file, stdin), 100 times what MAX_CHARS keeps: past it, a
#: text is refused rather than read into memory whole (an endless stream never ends).
MAX_TEXT_BYTES = 10 * 1024**2
#: Most bytes read for a table of texts (with a column), read whole.
MAX_TABLE_BYTES = 256 * 1024**2
_WORD = re.compile(r"\w+")


def cap_text(
    text: str, max_chars: int | None = MAX_CHARS, max_words: int | None = MAX_WORDS
) -> tuple[str, bool]:
    """``text`` cut to at most ``max_chars`` characters and ``max_words`` distinct words
    (runs of word characters); and whether it was cut."""
    cut = text
    if max_chars is not None and len(cut) > max_chars:
        cut = cut[:max_chars]
        space = max(cut.rfind(" "), cut.rfind("\n"), cut.rfind("\t"))
        if space > 0 and space >= max_chars - max_chars // 10:
            cut = cut[:space]
    if max_words is not None:
        seen: set[str] = set()
        for match in _WORD.finditer(cut):
            seen.add(match.group())
            if len(seen) > max_words:
                cut = cut[: match.start()].rstrip()
                break
    return cut, len(cut) < len(text)


@dataclass
class TextInput:
    """One text to explain and where it came from (``index``: the row, for --column)."""

    text: str
    source: str | None = None
    index: int | None = None

    def input_info(self) -> dict[str, Any]:
        return {"source": self.source, "index": self.index}


def check_encoding(encoding: str | None) -> str | None:
    """The codec's canonical name, or ParameterError for an unknown encoding."""
    if encoding is None:
        return None
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ParameterError(
            f"unknown encoding {encoding!r} (examples of known ones: utf-8, utf-16, latin-1, "
            "cp1252, cp949, euc-kr, shift_jis, gb18030)"
        ) from None


def _codec(raw: bytes, source: str, encoding: str | None) -> str:
    """The codec of ``raw``: its byte-order mark's, else ``encoding`` (UTF-8 by default);
    InputDataError for NUL bytes in a codec that has none (a binary file)."""
    codec = check_encoding(encoding)
    for bom, bom_codec in _BOMS:
        if raw.startswith(bom):
            return bom_codec
    if codec in (None, "utf-8"):
        codec = "utf-8"
    if not codec.startswith(_WIDE_CODECS) and b"\x00" in raw:
        raise InputDataError(f"{source} looks like a binary file, not text (it contains NUL bytes)")
    return codec


def decode_bytes(raw: bytes, source: str, encoding: str | None = None) -> str:
    """Decode a file's bytes strictly; InputDataError for binary data or a wrong encoding."""
    codec = _codec(raw, source, encoding)
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as e:
        bad = raw[e.start : e.start + 1].hex()
        hint = (
            "; if it is text, name its encoding with 'encoding' (e.g. cp1252, cp949, shift_jis)"
            if encoding is None
            else ""
        )
        raise InputDataError(
            f"{source} is not valid {codec} text (byte 0x{bad} at offset {e.start}){hint}",
            parameters=("encoding",) if hint else (),
        ) from None


def read_source_bytes(
    source: str,
    stdin: Any = None,
    *,
    limit: int | None = MAX_TEXT_BYTES,
    encoding: str | None = None,
    what: str = "one text",
) -> bytes:
    """The bytes of a file or of stdin (``-``), at most ``limit`` of them (None: no limit).

    Past the limit, InputDataError (after a look at the first bytes, so that
    a binary stream is called binary); a device (``/dev/zero``) is refused
    before any read.
    """
    import stat

    if source == STDIN:
        if stdin is None:
            import sys

            stdin = sys.stdin.buffer
        return _read_capped(stdin, STDIN_NAME, limit, encoding, what)
    path = Path(source)
    if not path.exists():
        raise InputDataError(f"text file not found: {path}")
    if path.is_dir():
        raise InputDataError(f"{path} is a directory, not a text file")
    try:
        mode = path.stat().st_mode
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            raise InputDataError(f"{path} is a device, not a text file")
        with open(path, "rb") as handle:
            return _read_capped(handle, str(path), limit, encoding, what)
    except OSError as e:
        raise InputDataError(f"cannot read {path}: {e.strerror or e}") from e


def _read_capped(
    handle: Any, label: str, limit: int | None, encoding: str | None, what: str
) -> bytes:
    data = handle.read() if limit is None else handle.read(limit + 1)
    data = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if limit is not None and len(data) > limit:
        _codec(data[: 1 << 16], label, encoding)  # a binary stream is said to be binary
        raise InputDataError(
            f"{label} is over {format_size(limit)}, the most limecli reads for {what}: "
            "explain a part of it"
        )
    return data


def read_texts(
    sources: Sequence[str | Path],
    *,
    encoding: str | None = None,
    column: str | None = None,
    rows: Sequence[int] | None = None,
    stdin: Any = None,
) -> list[TextInput]:
    """Every text to explain, in order: one per file, or one per selected row with ``column``.

    ``-`` reads stdin (once). With ``column``, files ending in .jsonl/.ndjson
    are JSON lines, .csv/.tsv tables; anything else (stdin included) is
    JSON lines when it starts with ``{``, else CSV.
    """
    check_encoding(encoding)
    names = [str(s) for s in sources]
    if not names:
        raise ParameterError("no input given: name one or more text files, or - for stdin")
    if names.count(STDIN) > 1:
        raise ParameterError("stdin (-) can be read only once")
    if rows is not None and column is None:
        raise ParameterError(
            "rows can be chosen only together with a column ('column')", parameters=("column",)
        )
    out: list[TextInput] = []
    for name in names:
        label = STDIN_NAME if name == STDIN else name
        limit, what = (
            (MAX_TEXT_BYTES, "one text")
            if column is None
            else (MAX_TABLE_BYTES, "a table of texts")
        )
        raw = read_source_bytes(name, stdin, limit=limit, encoding=encoding, what=what)
        text = decode_bytes(raw, label, encoding)
        if column is None:
            out.append(TextInput(text, label, None))
        else:
            out.extend(_column_texts(text, label, name, column, rows))
    return out


def _column_texts(
    text: str, label: str, name: str, column: str, rows: Sequence[int] | None
) -> list[TextInput]:
    suffix = Path(name).suffix.lower() if name != STDIN else ""
    if suffix in _JSONL_SUFFIXES or (
        suffix not in _TABLE_SUFFIXES and text.lstrip().startswith("{")
    ):
        values = _jsonl_column(text, label, column)
    else:
        values = _table_column(text, label, column, _TABLE_SUFFIXES.get(suffix, ","))
    n = len(values)
    if n == 0:
        raise InputDataError(f"{label} has no rows")
    chosen = range(n) if rows is None else rows
    out = []
    for i in chosen:
        if not 0 <= i < n:
            raise InputDataError(f"row {i} is out of range: {label} has {n} rows (0 to {n - 1})")
        out.append(TextInput(values[i], label, int(i)))
    return out


def _table_column(text: str, label: str, column: str, sep: str) -> list[str]:
    import pandas as pd

    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError as e:
        raise InputDataError(f"{label} is empty: expected a table with a header row") from e
    except (pd.errors.ParserError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputDataError(f"{label} is not a readable table: {first}") from e
    if column not in frame.columns:
        shown = ", ".join(str(c) for c in list(frame.columns)[:10])
        raise InputDataError(f"{label} has no column '{column}'; its columns are: {shown}")
    return [str(v) for v in frame[column].tolist()]


def _jsonl_column(text: str, label: str, column: str) -> list[str]:
    values = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputDataError(f"{label} line {lineno} is not valid JSON: {e.msg}") from e
        if not isinstance(record, dict) or column not in record:
            raise InputDataError(f"{label} line {lineno} has no field '{column}'")
        value = record[column]
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise InputDataError(
                f"{label} line {lineno}: field '{column}' is {type(value).__name__}, not a string"
            )
        values.append(value)
    return values
