"""JSON Lines tables (``.jsonl``/``.ndjson``, plain or compressed): one JSON object per row.

Each non-blank line must be a JSON object whose values are numbers, strings,
``true``/``false`` or ``null`` (a missing value); a key absent from a line is
missing there too. Columns are the keys in order of first appearance. Lines
are read in chunks (see :mod:`limecli.inputs.table_stream`), and an error
names the line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from limecli.errors import InputDataError
from limecli.inputs.table_csv import capped_lines, reading

if TYPE_CHECKING:
    import pandas as pd

_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "true/false"}


def jsonl_chunks(
    path: Path, name: str, *, compression: str | None, size: int
) -> Iterator[pd.DataFrame]:
    """The file's rows in frames of ``size`` rows; InputDataError naming the bad line."""
    import pandas as pd

    records: list[dict[str, Any]] = []
    empty = True
    with reading(path, compression, name) as handle:
        for number, raw in enumerate(capped_lines(handle, name, "JSON Lines"), start=1):
            record = _record(raw, number, name)
            if record is None:
                continue
            empty = False
            records.append(record)
            if len(records) >= size:
                yield pd.DataFrame(records)
                records = []
    if empty:
        raise InputDataError(f"{name} is empty: expected one JSON object per line")
    if records:
        yield pd.DataFrame(records)


def _record(raw: bytes, number: int, name: str) -> dict[str, Any] | None:
    """Line ``number`` as a row, or None for a blank line."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputDataError(
            f"{name} is not UTF-8 text (is it JSON Lines?): line {number} has byte "
            f"0x{raw[e.start : e.start + 1].hex()}"
        ) from None
    if number == 1 and line.startswith("\ufeff"):
        line = line[1:]
    if not line.strip():
        return None
    try:
        value = json.loads(line)
    except json.JSONDecodeError as e:
        raise InputDataError(
            f"{name} line {number} is not valid JSON: {e.msg} (column {e.colno})"
        ) from None
    if not isinstance(value, dict):
        kind = _JSON_TYPES.get(type(value), "a number" if value is not None else "null")
        raise InputDataError(
            f"{name} line {number} holds {kind}, not an object: JSON Lines tables have one "
            '{"column": value, ...} object per line'
        )
    for key, cell in value.items():
        if isinstance(cell, (dict, list)):
            raise InputDataError(
                f"{name} line {number}: {key!r} holds {_JSON_TYPES[type(cell)]}; a table "
                "cell is a number, a string, true/false or null"
            )
    return value
