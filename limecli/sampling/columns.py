"""Per-column facts of tabular training data: missing cells, huge values, spread, dtypes.

* **missing**: a cell is missing when pandas says so (NaN, None, ``pd.NA``,
  ``NaT``); infinite numbers are not missing (training statistics ignore them).
* **scale**: a numeric column whose largest finite magnitude passes
  :data:`SCALE_ABOVE` is sampled in units of a power of two, so that means,
  variances and sampled values never overflow; dividing and multiplying by a
  power of two is exact, and every other column keeps scale 1.
* **spread**: training data where no column the model uses takes two states
  (values, categories, or missing beside present) cannot be explained.
* **dtypes**: the pandas dtypes a model was fitted on (``category`` with its
  categories, ``bool``/``boolean``, nullable integers, datetimes), restored on
  every frame the model receives.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from limecli.errors import InputDataError

#: Numeric columns with a finite value above this magnitude are sampled in scaled units
#: (squares of values below it, summed over 1e8 rows, stay far from overflowing).
SCALE_ABOVE = 1e100


class EmptyColumnWarning(UserWarning):
    """A training column has no observed value (every cell is missing)."""


def is_missing(value: Any) -> bool:
    """Whether one cell is missing: None, NaN, ``pd.NA`` or ``NaT``."""
    if value is None:
        return True
    if isinstance(value, float):  # np.float64 too: without a numpy call
        return math.isnan(value)
    if isinstance(value, np.floating):
        return bool(np.isnan(value))
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # not a scalar: a value, not a gap
        return False


#: (row labels, columns, their places) of the last :func:`row_cells` lookup: the rows of
#: one table share their labels, and finding the columns among them costs more than the rest.
_last_lookup: tuple[Any, tuple[str, ...], list[int]] | None = None


def row_cells(row: Any, columns: Sequence[str]) -> list[Any]:
    """``[row[c] for c in columns]`` for a Series ``row``: the same values, found at once when
    the row holds plain numpy values (numbers or objects) under unique labels."""
    global _last_lookup
    if not isinstance(row.dtype, np.dtype) or row.dtype.kind not in "fiubO":
        return [row[c] for c in columns]
    key = tuple(columns)
    at = _known_places(row, key)
    if at is None:
        found = row.index.get_indexer(columns) if row.index.is_unique else None
        if found is None or (found < 0).any():
            return [row[c] for c in columns]
        at = found.tolist()
        _last_lookup = (row.index, key, at)
    values = row.to_numpy()
    return [values[i] for i in at]


def missing_columns(row: Any, columns: Sequence[str]) -> list[str]:
    """The ``columns`` the Series ``row`` lacks (none, at once, when its labels are those of
    the last :func:`row_cells` lookup for the same columns)."""
    if _known_places(row, tuple(columns)) is not None:
        return []
    return [c for c in columns if c not in row.index]


def _known_places(row: Any, key: tuple[str, ...]) -> list[int] | None:
    last = _last_lookup
    if last is None or last[1] != key:
        return None
    return last[2] if same_labels(row.index, last[0]) else None


def same_labels(index: Any, other: Any) -> bool:
    """Whether two row indexes hold the same labels in the same order: the same index or a
    view of it (rows of one frame share it through views), or an equal one (rows unpickled
    in a batch worker each have their own), 5 us where finding the columns again cost 160."""
    return bool(index.is_(other) or index.equals(other))


def cell_number(value: Any, column: str) -> float:
    """One numeric cell of a row to explain as a float (NaN when missing); InputDataError
    for text or an infinite number."""
    if is_missing(value):
        return math.nan
    try:
        number = float(value)
    except (TypeError, ValueError) as e:
        raise InputDataError(f"column '{column}' has non-numeric value {value!r} in the row") from e
    if not math.isfinite(number):
        raise InputDataError(
            f"column '{column}' is infinite in the row to explain: a cell "
            "must hold a finite number or be empty (missing)"
        )
    return number


def as_floats(frame: Any) -> np.ndarray:
    """A frame's numeric columns as one float array, missing cells NaN."""
    try:
        return np.asarray(frame.to_numpy(dtype=float))
    except (TypeError, ValueError):  # nullable columns: <NA> cannot become a float by itself
        return np.asarray(frame.to_numpy(dtype=float, na_value=np.nan))


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds; a date or time as ISO 8601 text (for JSON)."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value


def column_scales(numeric: np.ndarray) -> np.ndarray:
    """Per column, 1.0, or a power of two near its largest finite magnitude when that is huge."""
    scales = np.ones(numeric.shape[1])
    if not numeric.size:
        return scales
    peak = np.where(np.isfinite(numeric), np.abs(numeric), 0.0).max(axis=0)
    big = peak > SCALE_ABOVE
    # floor, not ceil: 2**1024 is not a float; scaled values then lie within [-2, 2].
    scales[big] = np.exp2(np.floor(np.log2(peak[big])))
    return scales


def unscale(numeric: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Scaled values back in the data's units, clipped to the largest finite float."""
    big = np.flatnonzero(scales != 1.0)
    out = numeric.copy()
    if big.size:
        limit = np.finfo(float).max / scales[big]
        out[:, big] = np.clip(numeric[:, big], -limit, limit) * scales[big]
    return out


def fill_nonfinite(numeric: np.ndarray, *, keep_nan: bool = False) -> np.ndarray:
    """Empty/NaN/inf cells filled with the column median of its finite cells (0 if none).

    ``keep_nan``: only infinite cells are filled; NaN (missing) stays.
    """
    out = numeric.copy()
    for k in range(out.shape[1]):
        bad = ~np.isfinite(out[:, k])
        if keep_nan:
            bad &= ~np.isnan(out[:, k])
        finite = np.isfinite(out[:, k])
        if not bad.any():
            continue
        out[bad, k] = np.median(out[finite, k]) if finite.any() else 0.0
    return out


#: Continuous mode: the rate at which a sample is missing in a column that the row to
#: explain misses and training never does, the share one state gets among the default
#: discretisation's four quartile bins and "missing".
CONTINUOUS_MISSING_RATE = 0.2


def unseen_missing_rate(freqs: np.ndarray | None) -> float:
    """How often a sample is missing in a column the row misses and training never does.

    ``freqs``: the column's bin or category frequencies (None in continuous mode).
    Missing gets the share one state has on average: 1 / (states + 1), states
    being the bins or categories training fills; :data:`CONTINUOUS_MISSING_RATE`
    for a continuous column. Training never shows such a sample, but without
    them "missing" would hold in the row alone and the surrogate would give it
    a weight measured on nothing.
    """
    if freqs is None:
        return CONTINUOUS_MISSING_RATE
    return 1.0 / (int(np.count_nonzero(freqs)) + 1)


class NumericStats:
    """A numeric training matrix's per-column statistics, missing cells apart.

    ``missing``: NaN cells are a state of their own (their rate is kept and the
    means, standard deviations and bins come from the observed cells); else
    they are filled with the column median (as infinite cells always are).
    """

    def __init__(self, numeric: np.ndarray, *, missing: bool) -> None:
        self.gaps = np.isnan(numeric)
        n_columns = numeric.shape[1]
        self.missing_rate = self.gaps.mean(axis=0) if missing and numeric.size else np.zeros(0)
        if not self.missing_rate.size:
            self.missing_rate = np.zeros(n_columns)
        if numeric.size and not np.all(np.isfinite(numeric)):
            self.filled = fill_nonfinite(numeric, keep_nan=missing)
        else:
            self.filled = numeric
        # Whole-matrix reductions, as before missing cells were a state: the same sums.
        self.means = self.filled.mean(axis=0) if numeric.size else np.zeros(n_columns)
        self.stds = self.filled.std(axis=0) if numeric.size else np.zeros(n_columns)
        for k in np.flatnonzero(self.missing_rate > 0):
            observed = self.filled[~self.gaps[:, k], k]
            self.means[k] = observed.mean() if observed.size else 0.0
            self.stds[k] = observed.std() if observed.size else 0.0


def warn_empty(columns: Sequence[str]) -> None:
    """Say which training columns hold no value at all."""
    if columns:
        warnings.warn(
            f"training column(s) with no values (every cell missing): {', '.join(columns)}; "
            "they are sampled as missing only and explain nothing about their values",
            EmptyColumnWarning,
            stacklevel=4,
        )


def check_informative(
    n_rows: int, numeric: np.ndarray, categories: Sequence[np.ndarray], columns: Sequence[str]
) -> None:
    """Refuse training data from which no sample can differ from the row explained."""
    if n_rows < 2:
        raise InputDataError(
            f"the training data has {n_rows} row(s): sampling needs at least 2, otherwise "
            "every sample equals the row and the explanation would carry no information"
        )
    for k in range(numeric.shape[1]):
        column = numeric[:, k]
        present = column[~np.isnan(column)]
        states = np.unique(present).size + int(present.size < column.size)
        if states > 1:
            return
    if any(len(c) > 1 for c in categories):
        return
    shown = ", ".join(columns[:5]) + (", ..." if len(columns) > 5 else "")
    raise InputDataError(
        f"every column the model uses holds a single value in the {n_rows} training rows "
        f"({shown}): every sample would equal the row and the explanation would carry "
        "no information"
    )


def value_counts(values: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values and their counts, sorted (None last, mixed types by their string form)."""
    counts: dict[Any, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    keys = sorted(counts, key=lambda v: (v is None, str(v)))
    uniques = np.empty(len(keys), dtype=object)
    uniques[:] = keys
    return uniques, np.array([counts[k] for k in keys], dtype=float)


def restorable_dtype(dtype: Any) -> Any | None:
    """The dtype to give back to the model, or None for plain float/int/object/str columns.

    Plain numpy integers stay as floats (as sampled): only nullable integers, whose
    model was fitted on a pandas extension type, get whole numbers back.
    """
    import pandas as pd

    types = pd.api.types
    if isinstance(dtype, pd.CategoricalDtype) or types.is_bool_dtype(dtype):
        return dtype
    if types.is_datetime64_any_dtype(dtype):
        return dtype
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and types.is_integer_dtype(dtype):
        return dtype
    return None


def cast_values(values: np.ndarray, dtype: Any) -> Any:
    """One sampled column (floats with NaN, or objects with None) as ``dtype``.

    Values outside a ``category`` dtype's categories become missing, as the
    model's own library would make them; a value that does not fit another
    dtype leaves the column as it was sampled.
    """
    import pandas as pd

    try:
        if isinstance(dtype, pd.CategoricalDtype):
            codes = dtype.categories.get_indexer(pd.Index(values, dtype=object))
            return pd.Categorical.from_codes(codes, dtype=dtype)
        if pd.api.types.is_integer_dtype(dtype):
            return pd.array(np.round(values.astype(float)), dtype=dtype)
        if dtype == np.dtype(bool):
            if not any(v is None for v in values):
                return values.astype(bool)
            return pd.array(values, dtype="boolean")  # a missing cell needs the nullable type
        return pd.Series(values, dtype=object).astype(dtype).array
    except (TypeError, ValueError):
        return values
