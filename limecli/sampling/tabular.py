"""Tabular perturbation: training statistics, sample pools and the interpretable representation.

Sampling is split in two so that a batch can share one pool:

* :meth:`TabularSampler.draw` makes a pool of perturbed rows from training
  statistics alone (bins/categories by training frequency, values inside bins,
  or normal noise around the training mean);
* :meth:`TabularSampler.represent` turns a pool into one instance's
  interpretable data ("same bin/category as the instance", or scaled values)
  and puts the instance itself in row 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from limecli.errors import InputDataError
from limecli.sampling.discretize import (
    BinnedColumn,
    BinTable,
    cumulative,
    draw_categories,
    fit_boundaries,
)

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class SamplePool:
    """Perturbed rows: numeric values, bin indices (discretised mode) and category codes."""

    numeric: np.ndarray  # (n, n_numeric) float
    bins: np.ndarray | None  # (n, n_numeric) int, discretised mode only
    codes: np.ndarray  # (n, n_categorical) int
    noise: np.ndarray | None  # (n, n_numeric) standard normal draws, continuous mode only

    def __len__(self) -> int:
        return int(self.codes.shape[0] if self.codes.size else self.numeric.shape[0])


@dataclass
class EncodedInstance:
    numeric: np.ndarray
    bins: np.ndarray | None
    codes: np.ndarray
    raw: list[Any]  # the instance's values per column, as read
    #: Categories the training data never showed, by categorical position: their code
    #: is one past the training categories, so no sample ever shares it.
    unseen: dict[int, Any] = field(default_factory=dict)


class TabularSampler:
    """Training-data statistics for one table of features (numeric and categorical)."""

    def __init__(
        self,
        training: pd.DataFrame,
        *,
        categorical: Sequence[str] = (),
        discretizer: str | None = "quartile",
        training_labels: np.ndarray | None = None,
        seed: int = 0,
    ) -> None:
        import pandas as pd

        self.columns = [str(c) for c in training.columns]
        forced = set(categorical)
        self.is_categorical = np.array(
            [
                c in forced
                or not pd.api.types.is_numeric_dtype(training[c])
                or pd.api.types.is_bool_dtype(training[c])
                for c in self.columns
            ]
        )
        self.numeric_idx = np.flatnonzero(~self.is_categorical)
        self.categorical_idx = np.flatnonzero(self.is_categorical)
        self.discretizer = discretizer

        numeric = training.iloc[:, self.numeric_idx].to_numpy(dtype=float)
        if numeric.size and not np.all(np.isfinite(numeric)):
            numeric = _fill_nonfinite(numeric)
        self.means = numeric.mean(axis=0) if numeric.size else np.zeros(0)
        stds = numeric.std(axis=0) if numeric.size else np.zeros(0)
        self.stds = np.where(stds > 0, stds, 1.0)

        self.categories: list[np.ndarray] = []
        self.category_freqs: list[np.ndarray] = []
        for j in self.categorical_idx:
            values = training.iloc[:, j].astype(object).where(training.iloc[:, j].notna(), None)
            uniques, counts = _value_counts(values.tolist())
            self.categories.append(uniques)
            self.category_freqs.append(counts / counts.sum())

        self.category_cdf = cumulative(self.category_freqs) if self.category_freqs else None

        self.binned: list[BinnedColumn] = []
        if discretizer is not None:
            for k in range(numeric.shape[1]):
                bounds = fit_boundaries(discretizer, numeric[:, k], training_labels, seed)
                self.binned.append(BinnedColumn(bounds, numeric[:, k]))
        self.bin_table = BinTable(self.binned) if self.binned else None

    @property
    def n_features(self) -> int:
        return len(self.columns)

    # -- instance ---------------------------------------------------------
    def encode(self, row: pd.Series) -> EncodedInstance:
        raw = [row[c] for c in self.columns]
        numeric = np.empty(len(self.numeric_idx))
        for k, j in enumerate(self.numeric_idx):
            try:
                numeric[k] = float(raw[j])
            except (TypeError, ValueError) as e:
                raise InputDataError(
                    f"column '{self.columns[j]}' has non-numeric value {raw[j]!r} in the row"
                ) from e
            if not np.isfinite(numeric[k]):
                raise InputDataError(
                    f"column '{self.columns[j]}' is empty or not finite in the row to explain"
                )
        codes = np.empty(len(self.categorical_idx), dtype=int)
        unseen: dict[int, Any] = {}
        for k, j in enumerate(self.categorical_idx):
            value = None if _is_missing(raw[j]) else raw[j]
            hits = np.flatnonzero(self.categories[k] == value)
            if hits.size == 0:
                # Never sampled, only the instance has it; the training statistics stay as they are.
                unseen[k] = value
                codes[k] = len(self.categories[k])
            else:
                codes[k] = hits[0]
        bins = None
        if self.binned:
            bins = np.array(
                [
                    col.digitize(np.array([v]))[0]
                    for col, v in zip(self.binned, numeric, strict=True)
                ]
            )
        return EncodedInstance(numeric=numeric, bins=bins, codes=codes, raw=raw, unseen=unseen)

    # -- sampling ---------------------------------------------------------
    def draw(self, n: int, rng: np.random.Generator) -> SamplePool:
        """``n`` perturbed rows drawn from training statistics alone (row 0 included)."""
        codes = np.zeros((n, len(self.categorical_idx)), dtype=int)
        if self.category_cdf is not None:
            codes = draw_categories(self.category_cdf, rng.random((n, len(self.category_freqs))))
        if self.bin_table is not None:
            bins, numeric = self.bin_table.draw(n, rng)
            return SamplePool(numeric=numeric, bins=bins, codes=codes, noise=None)
        noise = rng.standard_normal((n, len(self.numeric_idx)))
        return SamplePool(
            numeric=noise * self.stds + self.means, bins=None, codes=codes, noise=noise
        )

    def represent(
        self,
        pool: SamplePool,
        instance: EncodedInstance,
        *,
        around_instance: bool = False,
        in_place: bool = False,
    ) -> tuple[SamplePool, np.ndarray]:
        """Row 0 set to the instance; return (pool for the model, interpretable data).

        Interpretable columns follow ``self.columns``: 1/0 for "same bin or
        category as the instance", or (continuous mode) the scaled value.
        ``in_place``: the pool is the caller's own to change (no copies).
        """
        copy = (lambda a: a) if in_place else np.copy
        numeric = copy(pool.numeric)
        if around_instance and pool.noise is not None:
            numeric = pool.noise * self.stds + instance.numeric
        numeric[0] = instance.numeric
        codes = copy(pool.codes)
        codes[0] = instance.codes
        bins = None
        if pool.bins is not None and instance.bins is not None:
            bins = copy(pool.bins)
            bins[0] = instance.bins
        n = numeric.shape[0]
        if bins is not None and instance.bins is not None:
            same_bin = np.equal(bins, instance.bins)
        if not len(self.categorical_idx):  # numeric only: the columns are already in order
            if bins is not None:
                data = same_bin.astype(float)
            else:
                data = (numeric - self.means) / self.stds
        else:
            data = np.empty((n, self.n_features))
            if bins is not None:
                data[:, self.numeric_idx] = same_bin
            else:
                data[:, self.numeric_idx] = (numeric - self.means) / self.stds
            data[:, self.categorical_idx] = codes == instance.codes
        return SamplePool(numeric=numeric, bins=bins, codes=codes, noise=None), data

    def to_frame(
        self, pool: SamplePool, unseen: Sequence[tuple[int, dict[int, Any]]] = ()
    ) -> pd.DataFrame:
        """The pool as a DataFrame with the original columns and value types.

        ``unseen``: (row, :attr:`EncodedInstance.unseen`) for the rows that hold
        an instance with categories the training data never showed.
        """
        import pandas as pd

        if not len(self.categorical_idx):  # one float block: no per-column assembly
            return pd.DataFrame(pool.numeric, columns=self.columns, copy=True)
        columns: dict[str, Any] = {}
        for k, j in enumerate(self.numeric_idx):
            columns[self.columns[j]] = pool.numeric[:, k]
        for k, j in enumerate(self.categorical_idx):
            # The code one past the training categories is an instance's unseen one.
            values = np.append(self.categories[k], np.array([None], dtype=object))[pool.codes[:, k]]
            for row, categories in unseen:
                if k in categories:
                    values[row] = categories[k]
            columns[self.columns[j]] = values
        return pd.DataFrame(columns)[self.columns]

    def describe(self, instance: EncodedInstance) -> list[tuple[str, str, Any]]:
        """(condition name, column, instance value) per interpretable feature."""
        out: list[tuple[str, str, Any]] = []
        num_pos = {int(j): k for k, j in enumerate(self.numeric_idx)}
        cat_pos = {int(j): k for k, j in enumerate(self.categorical_idx)}
        for j, col in enumerate(self.columns):
            if j in num_pos:
                k = num_pos[j]
                value: Any = float(instance.numeric[k])
                if self.binned and instance.bins is not None:
                    name = self.binned[k].bin_name(int(instance.bins[k]), col)
                else:
                    name = col
            else:
                k = cat_pos[j]
                value = (
                    instance.unseen[k]
                    if k in instance.unseen
                    else self.categories[k][instance.codes[k]]
                )
                value = None if value is None else _plain(value)
                name = f"{col}={value}"
            out.append((name, col, value))
        return out


def _value_counts(values: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    counts: dict[Any, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    # Sort for determinism (None last, mixed types by their string form).
    keys = sorted(counts, key=lambda v: (v is None, str(v)))
    uniques = np.empty(len(keys), dtype=object)
    uniques[:] = keys
    return uniques, np.array([counts[k] for k in keys], dtype=float)


def _fill_nonfinite(numeric: np.ndarray) -> np.ndarray:
    """Training statistics ignore empty/NaN/inf cells: fill them with the column median."""
    out = numeric.copy()
    for k in range(out.shape[1]):
        bad = ~np.isfinite(out[:, k])
        if bad.all():
            out[:, k] = 0.0
        elif bad.any():
            out[bad, k] = np.median(out[~bad, k])
    return out


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
