"""Reading CSV files into DataFrames, with errors that name the file and the problem."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from limecli.errors import InputDataError

if TYPE_CHECKING:
    import pandas as pd


def read_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV with a header row; raise InputDataError on anything unreadable."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise InputDataError(f"data file not found: {path}")
    if path.is_dir():
        raise InputDataError(f"data path is a directory, not a CSV file: {path}")
    try:
        frame = pd.read_csv(path)
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
    return frame


def select_row(frame: pd.DataFrame, row: int, source: str = "data") -> pd.Series:
    """Row ``row`` (0-based, header excluded) of ``frame``."""
    n = frame.shape[0]
    if row < 0 or row >= n:
        raise InputDataError(f"row {row} is out of range: {source} has {n} rows (0 to {n - 1})")
    return frame.iloc[row]


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
