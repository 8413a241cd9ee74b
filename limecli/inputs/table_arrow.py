"""Parquet and Feather/Arrow IPC tables, read with pyarrow (optional: ``limecli[parquet]``).

Columns keep the dtypes the file stores (a pandas ``category`` written to
Parquet comes back as a category, integers stay integers). Reading is by
record batches: a Parquet file batch by batch within its row groups, an Arrow
IPC file (Feather v2) batch by batch, each sliced to the chunk size, so a
large file is never held whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from limecli.errors import InputDataError
from limecli.inputs.table_csv import first_line

if TYPE_CHECKING:
    import pandas as pd

INSTALL_HINT = "pip install 'limecli[parquet]'"
#: What a message calls each format.
LABELS = {"parquet": "Parquet", "feather": "Feather/Arrow"}


def need_pyarrow(name: str, fmt: str) -> None:
    """InputDataError with the install hint unless pyarrow can be imported."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise InputDataError(
            f"cannot read {name}: {LABELS[fmt]} files need the 'pyarrow' package ({INSTALL_HINT})"
        ) from None


@contextmanager
def _arrow_errors(name: str, fmt: str) -> Iterator[None]:
    import pyarrow as pa

    try:
        yield
    except InputDataError:
        raise
    except (pa.ArrowException, OSError, ValueError) as e:
        raise InputDataError(f"{name} is not a readable {LABELS[fmt]} file: {first_line(e)}") from e


def arrow_chunks(path: Path, name: str, *, fmt: str, size: int) -> Iterator[pd.DataFrame]:
    """The file's rows in frames of at most ``size`` rows, in order."""
    need_pyarrow(name, fmt)
    with _arrow_errors(name, fmt):
        batches = _parquet_batches(path, size) if fmt == "parquet" else _ipc_batches(path)
        first = True
        for batch in batches:
            if first:
                _check_schema(batch.schema, name)
                first = False
            for offset in range(0, batch.num_rows, size):
                yield batch.slice(offset, size).to_pandas()


def _parquet_batches(path: Path, size: int) -> Iterator[Any]:
    import pyarrow.parquet as pq

    # Buffered page reads, no pre-buffering and no decoding threads: memory stays about a
    # batch plus what one row group's column chunks need (Parquet's unit of encoding).
    with pq.ParquetFile(path, buffer_size=1 << 20, pre_buffer=False) as file:
        yield from file.iter_batches(batch_size=size, use_threads=False)


def _ipc_batches(path: Path) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.feather as feather

    with pa.OSFile(str(path)) as source:
        try:
            reader = pa.ipc.open_file(source)
        except pa.ArrowInvalid:
            reader = None
        if reader is not None:
            for i in range(reader.num_record_batches):
                yield reader.get_batch(i)
            return
    try:
        with pa.OSFile(str(path)) as source:
            yield from pa.ipc.open_stream(source)
        return
    except pa.ArrowInvalid:
        pass
    # Feather version 1 has no batches: read it whole (such files predate large tables).
    yield from feather.read_table(str(path)).to_batches()


def _check_schema(schema: Any, name: str) -> None:
    """Refuse duplicate column names and cells that are lists or structs."""
    import pyarrow.types as pat

    names = [n for n in schema.names if not n.startswith("__index_level_")]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputDataError(f"{name} has duplicate column name(s): {', '.join(repeated)}")
    for column in schema:
        kind = column.type
        if pat.is_dictionary(kind):
            kind = kind.value_type
        if pat.is_nested(kind):
            raise InputDataError(
                f"{name} column '{column.name}' holds {kind} values; a table cell is a "
                "number, a string, a boolean, a date or missing"
            )
