"""A table read in chunks: one dtype per column whatever the chunk, rows picked from the stream.

pandas infers a column's dtype from the rows it sees, so two chunks of one
file may disagree: integers in one chunk and a gap (float) in the next, a
category's values spread over chunks, numbers in one chunk and text in
another. A :class:`Table` first reads every chunk once to plan one dtype per
column, the dtype the column has when the whole file is read at once, then
casts every chunk to it. A row taken from a chunk is therefore the row the
whole frame would give (same values, same dtypes), and an explanation never
depends on the chunk size.

Memory: one chunk at a time (plus pandas' reading buffers), whatever the
number of rows.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from limecli.errors import InputDataError

if TYPE_CHECKING:
    import pandas as pd

    from limecli.inputs.rows import RowSpec

#: Rows per chunk: small enough that a chunk of a wide table stays a few MB.
CHUNK_ROWS = 8192

#: A reader: ``read(as_text)`` yields the file's chunks in order (columns named in
#: ``as_text`` read as text, for formats that parse text: CSV).
ChunkReader = Callable[[Collection[str]], Iterator["pd.DataFrame"]]

#: The plan's marker for "read this column as text" (CSV: numbers in one chunk, text in another).
AS_TEXT = "text"


@dataclass
class Table:
    """A table streamed in chunks with one dtype per column (see the module docstring)."""

    name: str
    columns: list[str]
    n_rows: int
    read: ChunkReader
    #: Column -> the dtype every chunk is cast to (or AS_TEXT: read as text).
    casts: dict[str, Any] = field(default_factory=dict)
    #: Whatever must live as long as the table (stdin's temporary copy).
    keep: Any = None

    def chunks(self) -> Iterator[pd.DataFrame]:
        """The chunks, cast to the planned dtypes, indexed by row position."""
        import pandas as pd

        as_text = [c for c, cast in self.casts.items() if cast is AS_TEXT]
        casts = {c: cast for c, cast in self.casts.items() if cast is not AS_TEXT}
        start = 0
        for chunk in self.read(as_text):
            chunk = conform(chunk, self.columns)
            if casts:
                chunk = chunk.astype(casts)
            chunk.index = pd.RangeIndex(start, start + len(chunk))
            start += len(chunk)
            yield chunk

    def frame(self, nrows: int | None = None) -> pd.DataFrame:
        """The whole table (or its first ``nrows`` rows) as one DataFrame."""
        import pandas as pd

        parts: list[pd.DataFrame] = []
        count = 0
        for chunk in self.chunks():
            parts.append(chunk)
            count += len(chunk)
            if nrows is not None and count >= nrows:
                break
        if not parts:
            raise InputDataError(f"{self.name} has no data rows")
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        return frame if nrows is None else frame.iloc[:nrows]

    def rows(self, positions: Iterable[int]) -> Iterator[tuple[int, pd.Series]]:
        """``(position, row)`` for each position, in the order given, read from the stream.

        Positions in increasing order cost one pass; a position before the
        current chunk starts a new pass from the top.
        """
        chunks: Iterator[pd.DataFrame] | None = None
        chunk: pd.DataFrame | None = None
        start = 0
        for position in positions:
            if chunks is None or position < start:
                chunks, chunk, start = self.chunks(), None, 0
            while chunk is None or position >= start + len(chunk):
                if chunk is not None:
                    start += len(chunk)
                chunk = next(chunks, None)
                if chunk is None:
                    raise InputDataError(
                        f"row {position} is out of range: {self.name} has {start} rows"
                    )
            # A copy: the row must not keep its whole chunk alive while it waits in a batch.
            yield position, chunk.iloc[position - start].copy()


def conform(chunk: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The chunk with exactly ``columns``, in order (a JSON line may lack keys)."""
    if list(chunk.columns) == columns:
        return chunk
    return chunk.reindex(columns=columns)


def plan(
    chunks: Iterable[pd.DataFrame], columns: list[str] | None = None, *, text_reread: bool = False
) -> tuple[list[str], int, dict[str, Any]]:
    """Read every chunk once: (columns, rows, column -> the cast that makes chunks agree).

    ``columns``: the table's columns when known up front (else the union of
    the chunks' columns, in order of appearance). ``text_reread``: a column
    holding numbers in one chunk and text in another is marked AS_TEXT (CSV:
    read again as text, as pandas reads such a column whole); otherwise it
    becomes ``object`` with every value as it was.
    """
    seen: dict[str, list[ColumnKind]] = {}
    order: dict[str, None] = dict.fromkeys(columns or [])
    n_rows = 0
    for chunk in chunks:
        n_rows += len(chunk)
        for column in chunk.columns:
            order.setdefault(str(column), None)
        for column in order:
            if column in chunk.columns:
                seen.setdefault(column, []).append(column_kind(chunk[column]))
            elif len(chunk):
                seen.setdefault(column, []).append(ColumnKind("empty", None))
    names = list(order)
    casts = {}
    for column in names:
        cast = unify(seen.get(column, []), text_reread)
        if cast is not None:
            casts[column] = cast
    return names, n_rows, casts


@dataclass(frozen=True)
class ColumnKind:
    """What one chunk holds in a column: a kind and its dtype (categories for a category)."""

    kind: str  # empty, int, float, bool, boolish, text, category, other
    dtype: Any


def column_kind(values: pd.Series) -> ColumnKind:
    import numpy as np
    import pandas as pd
    from pandas.api import types

    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return ColumnKind("category", dtype)
    if types.is_bool_dtype(dtype):
        return ColumnKind("bool", dtype)
    present = values.dropna()
    plain_object = isinstance(dtype, np.dtype) and dtype.kind == "O"
    if len(present) == 0 and (types.is_float_dtype(dtype) or plain_object):
        return ColumnKind("empty", dtype)
    if types.is_integer_dtype(dtype):
        return ColumnKind("int", dtype)
    if types.is_float_dtype(dtype):
        return ColumnKind("float", dtype)
    if plain_object and all(isinstance(v, bool) for v in present):
        return ColumnKind("boolish", dtype)  # booleans with gaps
    if types.is_string_dtype(dtype):
        return ColumnKind("text", dtype)
    return ColumnKind("other", dtype)


def unify(kinds: list[ColumnKind], text_reread: bool) -> Any:
    """The dtype every chunk of a column is cast to; None when they already agree."""
    import numpy as np
    import pandas as pd

    dtypes = {str(k.dtype) for k in kinds}
    found = {k.kind for k in kinds if k.kind != "empty"}
    empty = len(found) < len({k.kind for k in kinds})
    if found == {"category"}:
        if not empty and all(k.dtype == kinds[0].dtype for k in kinds):
            return None
        categories: dict[Any, None] = {}
        for k in kinds:
            if k.kind == "category":
                categories.update(dict.fromkeys(k.dtype.categories))
        first = next(k.dtype for k in kinds if k.kind == "category")
        return pd.CategoricalDtype(list(categories), ordered=first.ordered)
    if len(dtypes) <= 1:
        return None
    if not found:
        return "float64"
    if found <= {"int", "float"}:
        if "float" in found or empty:
            return "float64"
        return np.result_type(*[k.dtype for k in kinds])
    if found <= {"bool", "boolish"}:
        return object
    same = {str(k.dtype) for k in kinds if k.kind != "empty"}
    if len(found) == 1 and len(same) == 1:
        # One kind with gaps in some chunks (text, dates): the gaps take the column's dtype.
        return next(k.dtype for k in kinds if k.kind != "empty")
    # Numbers in one chunk, text in another: read whole, the column is text (CSV) or
    # holds each value as it is.
    return AS_TEXT if text_reread else object


def spec_positions(spec: RowSpec, n_rows: int) -> tuple[int, Iterator[int]]:
    """The rows ``spec`` names in a table of ``n_rows`` rows: (how many, the rows in order).

    As :meth:`RowSpec.resolve` (same checks, same messages, each row once at
    its first place) without building the list: ``5:`` over a million rows
    costs nothing until it is read.
    """
    data = "the data"
    intervals: list[tuple[int, int]] = []
    for part in spec.parts:
        if part.single:
            if part.start >= n_rows:
                raise InputDataError(
                    f"row {part.start} is out of range: {data} has {n_rows} rows "
                    f"(0 to {n_rows - 1})"
                )
            intervals.append((part.start, part.start + 1))
            continue
        stop = n_rows if part.stop is None else part.stop
        if stop > n_rows or part.start > stop:
            raise InputDataError(
                f"rows {part.text} reach past the end: {data} has {n_rows} rows (0 to {n_rows - 1})"
            )
        intervals.append((part.start, stop))
    total = sum(stop - start for start, stop in _merge(intervals))
    return total, _new_rows(intervals)


def _new_rows(intervals: list[tuple[int, int]]) -> Iterator[int]:
    """The rows of each interval not covered by an earlier one, in order."""
    covered: list[tuple[int, int]] = []  # sorted, disjoint
    for start, stop in intervals:
        at = bisect.bisect_right(covered, (start, start)) - 1
        position = start
        for begin, end in covered[max(at, 0) :]:
            if begin >= stop:
                break
            if end <= position:
                continue
            yield from range(position, max(begin, position))
            position = max(position, end)
        yield from range(position, stop)
        covered = _merge([*covered, (start, stop)])


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged
