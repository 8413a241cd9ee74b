"""Row specs: which rows of a table to explain, written ``0:500``, ``5:``, ``3,7,9`` or a mix.

One parser for every place that takes a row spec (the ``rows`` parameter of a
tabular batch, an audit policy's ``data.rows`` and ``where.rows``), so they
accept the same strings with the same messages. Rows are 0-based; a range's
STOP is excluded and may be left out (``5:``: to the end of the data); a
row listed twice is taken once, at its first place.

Checking is in two steps: :func:`parse_row_spec` (or :func:`check_rows_syntax`)
needs no data, so a bad spec is refused before any work; :meth:`RowSpec.resolve`
(or :func:`parse_rows`) checks the rows against the data's length.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from limecli.errors import InputDataError, ParameterError

_PART = re.compile(r"^\s*(\d+|\d*\s*:\s*\d*)\s*$")


class RowSpecError(ParameterError):
    """A row spec that is not well formed; ``problem`` is the message without the spec."""

    def __init__(self, spec: str, problem: str) -> None:
        super().__init__(f"'rows' {spec!r}: {problem}", parameters=("rows",))
        self.spec = spec
        self.problem = problem

    def __reduce__(self) -> tuple:  # rebuilt from its own arguments, not the message
        return (type(self), (self.spec, self.problem))


@dataclass(frozen=True)
class RowPart:
    """One comma-separated part: a single row (``stop`` unused) or a START:STOP range."""

    text: str  # as written, without surrounding blanks
    start: int
    stop: int | None  # None: to the end of the data (a range) or unused (a single row)
    single: bool


@dataclass(frozen=True)
class RowSpec:
    """A checked row spec; :meth:`resolve` gives the row numbers for data of a given length."""

    parts: tuple[RowPart, ...]

    @classmethod
    def of_rows(cls, rows: Iterable[int]) -> RowSpec:
        """A spec naming these rows (non-negative ints, checked by the caller), in this order."""
        return cls(tuple(RowPart(str(r), int(r), None, True) for r in rows))

    def resolve(self, n_rows: int, *, source: str | None = None) -> list[int]:
        """The row numbers, in order and each once; InputDataError for a row past the end.

        ``source`` names the data in messages (default: "the data").
        """
        data = source if source is not None else "the data"
        rows: list[int] = []
        for part in self.parts:
            if part.single:
                if part.start >= n_rows:
                    raise InputDataError(
                        f"row {part.start} is out of range: {data} has {n_rows} rows "
                        f"(0 to {n_rows - 1})"
                    )
                rows.append(part.start)
                continue
            stop = n_rows if part.stop is None else part.stop
            if stop > n_rows or part.start > stop:
                raise InputDataError(
                    f"rows {part.text} reach past the end: {data} has {n_rows} rows "
                    f"(0 to {n_rows - 1})"
                )
            rows.extend(range(part.start, stop))
        return list(dict.fromkeys(rows))

    def __contains__(self, row: object) -> bool:
        """Whether ``row`` is one of the spec's rows, whatever the data's length."""
        if not isinstance(row, int):
            return False
        for part in self.parts:
            if part.single:
                if row == part.start:
                    return True
            elif part.start <= row and (part.stop is None or row < part.stop):
                return True
        return False


def parse_row_spec(spec: str) -> RowSpec:
    """Check a row spec without the data; RowSpecError (a ParameterError) if malformed."""
    parts = []
    for written in spec.split(","):
        part = written.strip()
        if not _PART.match(written):
            raise RowSpecError(spec, _not_a_part(written.strip()))
        if ":" not in part:
            parts.append(RowPart(part, int(part), None, True))
            continue
        start_text, _, stop_text = part.partition(":")
        start = int(start_text) if start_text.strip() else 0
        stop = int(stop_text) if stop_text.strip() else None
        if stop is not None and stop < start:
            raise RowSpecError(spec, _not_a_part(part))
        parts.append(RowPart(part, start, stop, False))
    return RowSpec(tuple(parts))


def _not_a_part(part: str) -> str:
    return f"{part!r} is not a row number or START:STOP range (0-based, e.g. 0:500 or 3,7,9)"


def check_rows_syntax(spec: str) -> None:
    """ParameterError (naming ``'rows'``) unless every part of ``spec`` is a row or a range.

    Needs no data, so a caller runs it before any work; the rows are checked
    against the data by :func:`parse_rows`.
    """
    parse_row_spec(spec)


def parse_rows(spec: str, n_rows: int) -> list[int]:
    """Row numbers from ``0:500`` (end excluded; ``5:`` to the end), ``3,7,9`` or a mix.

    Repeated rows are taken once, at their first position. ParameterError for
    a malformed spec; InputDataError for a row the data (``n_rows`` rows) does not have.
    """
    return parse_row_spec(spec).resolve(n_rows)
