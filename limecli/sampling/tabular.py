"""Tabular perturbation: training statistics, sample pools and the interpretable representation.

Sampling is split in two so that a batch can share one pool:

* :meth:`TabularSampler.draw` makes a pool of perturbed rows from training
  statistics alone (bins/categories by training frequency, values inside bins,
  or normal noise around the training mean);
* :meth:`TabularSampler.represent` turns a pool into one instance's
  interpretable data ("same bin/category as the instance", or scaled values)
  and puts the instance itself in row 0.

Missing cells are a state of their own. A numeric column missing in training
is "missing" at its observed rate: beside the bins in discretised mode (see
:mod:`limecli.sampling.discretize`); in continuous mode an extra uniform per
such column (drawn after everything else, so tables without missing cells
draw exactly as before) decides it. Categorical columns have missing (None)
among their categories. A column the row to explain misses but training never
does is missing at :func:`~limecli.sampling.columns.unseen_missing_rate` (the
share of one bin or category; 0.2 in continuous mode), drawn after the pool
for that row only (:meth:`TabularSampler.draw_missing`): otherwise "missing"
would hold in row 0 alone and get a weight measured on nothing. A missing
cell reaches the model as NaN (numeric and ``category`` columns) or None
(object columns). Interpretable features: in discretised mode, a missing
instance's feature is "<col> is missing" (sample missing too); in continuous
mode every numeric column that can be missing (in training or in the
instance) adds an indicator feature "<col> is missing" after the columns, and
a missing value counts as the training mean in the column's own scaled feature.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from limecli.sampling.bin_table import BinTable
from limecli.sampling.columns import (
    NumericStats,
    as_floats,
    cast_values,
    cell_number,
    check_informative,
    column_scales,
    is_missing,
    plain,
    restorable_dtype,
    row_cells,
    unscale,
    unseen_missing_rate,
    value_counts,
    warn_empty,
)
from limecli.sampling.discretize import (
    BinnedColumn,
    cumulative,
    draw_categories,
    fit_boundaries,
)
from limecli.sampling.tabular_rows import EncodedInstance, SamplePool

if TYPE_CHECKING:
    import pandas as pd


class TabularSampler:
    """Training-data statistics for one table of features (numeric and categorical).

    ``dtypes``: per column, the dtype the model takes (by default the
    training frame's own ``category``/bool/nullable-integer/datetime dtypes);
    ``missing``: whether missing cells are sampled as a state (False: training
    statistics ignore them, for a model that cannot take them).
    """

    def __init__(
        self,
        training: pd.DataFrame,
        *,
        categorical: Sequence[str] = (),
        discretizer: str | None = "quartile",
        training_labels: np.ndarray | None = None,
        seed: int = 0,
        dtypes: Mapping[str, Any] | None = None,
        missing: bool = True,
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
        self.missing = missing
        given = dict(dtypes or {})
        self.dtypes = {
            c: given[c] if c in given else restorable_dtype(training[c].dtype) for c in self.columns
        }
        self.dtypes = {c: d for c, d in self.dtypes.items() if d is not None}

        numeric = as_floats(training.iloc[:, self.numeric_idx])
        self.scales = column_scales(numeric)
        self.scaled = bool(np.any(self.scales != 1.0))
        if self.scaled:
            numeric = numeric / self.scales  # exact: powers of two (1 elsewhere)
        stats = NumericStats(numeric, missing=missing)
        gaps, filled = stats.gaps, stats.filled
        self.missing_rate, self.means = stats.missing_rate, stats.means
        self.stds = np.where(stats.stds > 0, stats.stds, 1.0)
        #: Numeric positions sampled as missing.
        self.gappy = np.flatnonzero(self.missing_rate > 0)

        self.categories: list[np.ndarray] = []
        self.category_freqs: list[np.ndarray] = []
        for j in self.categorical_idx:
            values = training.iloc[:, j].astype(object).where(training.iloc[:, j].notna(), None)
            present = [v for v in values.tolist() if v is not None]
            uniques, counts = value_counts(values.tolist() if missing or not present else present)
            self.categories.append(uniques)
            self.category_freqs.append(counts / counts.sum())

        self.category_cdf = cumulative(self.category_freqs) if self.category_freqs else None
        check_informative(len(training), numeric, self.categories, self.columns)
        warn_empty(
            [self.columns[j] for k, j in enumerate(self.numeric_idx) if gaps[:, k].all()]
            + [
                self.columns[j]
                for k, j in enumerate(self.categorical_idx)
                if list(self.categories[k]) == [None]
            ]
        )

        self.binned: list[BinnedColumn] = []
        if discretizer is not None:
            for k in range(numeric.shape[1]):
                column, labels = filled[:, k], training_labels
                if self.missing_rate[k] > 0:
                    column = column[~gaps[:, k]]
                    labels = None if labels is None else labels[~gaps[:, k]]
                rate, scale = float(self.missing_rate[k]), float(self.scales[k])
                bounds = np.zeros(0)
                if column.size:
                    bounds = fit_boundaries(discretizer, column, labels, seed)
                self.binned.append(BinnedColumn(bounds, column, missing_rate=rate, scale=scale))
        self.bin_table = BinTable(self.binned) if self.binned else None

    @property
    def n_features(self) -> int:
        return len(self.columns)

    # -- instance ---------------------------------------------------------
    def encode(self, row: pd.Series) -> EncodedInstance:
        raw = row_cells(row, self.columns)
        numbers = [cell_number(raw[j], self.columns[j]) for j in self.numeric_idx]
        numeric = np.array(numbers, dtype=float)
        if self.scaled:
            numeric = numeric / self.scales
        codes = np.empty(len(self.categorical_idx), dtype=int)
        unseen: dict[int, Any] = {}
        for k, j in enumerate(self.categorical_idx):
            value = None if is_missing(raw[j]) else raw[j]
            hits = np.flatnonzero(self.categories[k] == value)
            if hits.size == 0:
                # Never sampled, only the instance has it; the training statistics stay as they are.
                unseen[k] = value
                codes[k] = len(self.categories[k])
            else:
                codes[k] = hits[0]
        bins = None
        if self.binned:
            values = numeric.tolist()
            bins = np.array([col.bin_of(v) for col, v in zip(self.binned, values, strict=True)])
        return EncodedInstance(numeric=numeric, bins=bins, codes=codes, raw=raw, unseen=unseen)

    def indicators(self, instance: EncodedInstance) -> np.ndarray:
        """Continuous mode: numeric positions with a "<col> is missing" feature for ``instance``."""
        if self.binned:
            return np.zeros(0, dtype=int)
        return np.union1d(self.gappy, np.flatnonzero(np.isnan(instance.numeric)))

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
        numeric = noise * self.stds + self.means
        missing = None
        if self.gappy.size:  # drawn last: the draws before stay those of a table without gaps
            missing = np.zeros(numeric.shape, dtype=bool)
            missing[:, self.gappy] = (
                rng.random((n, self.gappy.size)) < self.missing_rate[self.gappy]
            )
            numeric[missing] = np.nan
        return SamplePool(numeric=numeric, bins=None, codes=codes, noise=noise, missing=missing)

    def recycle(self, array: np.ndarray) -> None:
        """Give back a (samples, columns) float array no one reads any more: the next
        discretised draw of as many rows may write its values there (BinTable.recycle)."""
        if self.bin_table is not None:
            self.bin_table.recycle(array)

    def unsampled_missing(self, instance: EncodedInstance) -> tuple[list[int], list[int]]:
        """(numeric, categorical) positions ``instance`` misses that training never does."""
        numeric = np.flatnonzero(np.isnan(instance.numeric) & (self.missing_rate == 0))
        return [int(k) for k in numeric], sorted(k for k, v in instance.unseen.items() if v is None)

    def draw_missing(
        self, pool: SamplePool, instance: EncodedInstance, rng: np.random.Generator
    ) -> SamplePool:
        """``pool`` missing, at :func:`unseen_missing_rate`, where ``instance`` misses a
        cell that training never does (changed in place); no draw for any other instance."""
        numeric, categorical = self.unsampled_missing(instance)
        if not numeric and not categorical:
            return pool
        rates = [
            unseen_missing_rate(self.binned[k].freqs if self.binned else None) for k in numeric
        ]
        rates += [unseen_missing_rate(self.category_freqs[k]) for k in categorical]
        gone = rng.random((len(pool), len(rates))) < np.array(rates)  # drawn after the pool
        if pool.bins is None and pool.missing is None:
            pool.missing = np.zeros(pool.numeric.shape, dtype=bool)
        for i, k in enumerate(numeric):
            pool.numeric[gone[:, i], k] = np.nan
            if pool.bins is not None:
                pool.bins[gone[:, i], k] = self.binned[k].missing_bin
            elif pool.missing is not None:
                pool.missing[:, k] |= gone[:, i]
        for i, k in enumerate(categorical, start=len(numeric)):
            pool.codes[gone[:, i], k] = len(self.categories[k])  # the code that means None
        return pool

    def represent(
        self,
        pool: SamplePool,
        instance: EncodedInstance,
        *,
        around_instance: bool = False,
        in_place: bool = False,
    ) -> tuple[SamplePool, np.ndarray]:
        """(:meth:`place`, :meth:`interpretable`); ``in_place``: the pool is the caller's own
        to change (otherwise a copy is placed)."""
        if not in_place:
            copy = None if pool.bins is None else pool.bins.copy()
            pool = SamplePool(
                pool.numeric.copy(), copy, pool.codes.copy(), pool.noise, pool.missing
            )
        placed = self.place(pool, instance, around_instance=around_instance)
        return placed, self.interpretable(placed, instance)

    def shared_interpretable(self, pool: SamplePool, instance: EncodedInstance) -> np.ndarray:
        """:meth:`represent`'s interpretable data for a pool that many instances share, read
        where it is: a row's data depends on that row's values only, so only row 0 (the
        instance's place) is placed, from a copy of that one row."""
        data = self.interpretable(pool, instance)
        head = SamplePool(
            pool.numeric[:1],
            None if pool.bins is None else pool.bins[:1],
            pool.codes[:1],
            None if pool.noise is None else pool.noise[:1],
            None if pool.missing is None else pool.missing[:1],
        )
        data[0] = self.represent(head, instance)[1][0]
        return data

    def place(
        self, pool: SamplePool, instance: EncodedInstance, *, around_instance: bool = False
    ) -> SamplePool:
        """The pool the model is asked about, changed in place: row 0 set to the instance
        (and, ``around_instance`` in continuous mode, the values centred on it)."""
        numeric = pool.numeric
        if around_instance and pool.noise is not None:
            center = np.where(np.isnan(instance.numeric), self.means, instance.numeric)
            numeric = pool.noise * self.stds + center
            if pool.missing is not None:
                numeric[pool.missing] = np.nan
        numeric[0] = instance.numeric
        pool.codes[0] = instance.codes
        bins = None
        if pool.bins is not None and instance.bins is not None:
            bins = pool.bins
            bins[0] = instance.bins
        return SamplePool(numeric=numeric, bins=bins, codes=pool.codes, noise=None)

    def interpretable(self, placed: SamplePool, instance: EncodedInstance) -> np.ndarray:
        """The interpretable data of a placed pool: per column of ``self.columns``, 1/0 for
        "same bin or category as the instance", or (continuous mode) the scaled value,
        then (continuous mode) the instance's :meth:`indicators`."""
        numeric, codes = placed.numeric, placed.codes
        extra = None
        if placed.bins is not None and instance.bins is not None:
            bins, same = placed.bins, instance.bins.astype(placed.bins.dtype)  # one type: no casts
            if not len(self.categorical_idx):  # straight into floats
                return np.equal(bins, same, out=np.empty(bins.shape))
            numeric_data = np.equal(bins, same)
        else:
            numeric_data = (numeric - self.means) / self.stds
            indicators = self.indicators(instance)
            if indicators.size:
                gaps = np.isnan(numeric)
                numeric_data[gaps] = 0.0  # a missing value sits at the mean
                extra = gaps[:, indicators]
            if not len(self.categorical_idx) and extra is None:
                return numeric_data
        width = self.n_features + (0 if extra is None else extra.shape[1])
        data = np.empty((numeric.shape[0], width))
        data[:, self.numeric_idx] = numeric_data
        data[:, self.categorical_idx] = codes == instance.codes
        if extra is not None:
            data[:, self.n_features :] = extra
        return data

    def model_numeric(self, numeric: np.ndarray, *, private: bool = False) -> np.ndarray:
        """Numeric values in the data's units (``private``: ``numeric`` may be handed over)."""
        if self.scaled:
            return unscale(numeric, self.scales)
        return numeric if private else numeric.copy()

    def to_frame(
        self, pool: SamplePool, unseen: Sequence[tuple[int, dict[int, Any]]] = ()
    ) -> pd.DataFrame:
        """The pool as a DataFrame with the original columns and value types.

        ``unseen``: (row, :attr:`EncodedInstance.unseen`) for the rows that hold
        an instance with categories the training data never showed.
        """
        import pandas as pd

        numeric = self.model_numeric(pool.numeric, private=True)
        if not len(self.categorical_idx) and not self.dtypes:  # one float block
            return pd.DataFrame(numeric, columns=self.columns, copy=not self.scaled)
        columns: dict[str, Any] = {}
        for k, j in enumerate(self.numeric_idx):
            columns[self.columns[j]] = numeric[:, k]
        for k, j in enumerate(self.categorical_idx):
            # The code one past the training categories is an instance's unseen one.
            values = np.append(self.categories[k], np.array([None], dtype=object))[pool.codes[:, k]]
            for row, categories in unseen:
                if k in categories:
                    values[row] = categories[k]
            columns[self.columns[j]] = values
        for name, dtype in self.dtypes.items():
            columns[name] = cast_values(columns[name], dtype)
        return pd.DataFrame(columns)[self.columns]

    def describe(self, instance: EncodedInstance, j: int) -> tuple[str, str, Any]:
        """(condition name, column, instance value) of interpretable feature ``j`` (each
        explanation names only the features it reports)."""
        if j >= self.n_features:  # continuous mode: a "<col> is missing" indicator
            column = int(self.numeric_idx[self.indicators(instance)[j - self.n_features]])
            col = self.columns[column]
            return f"{col} is missing", col, self.describe(instance, column)[2]
        col = self.columns[j]
        if not self.is_categorical[j]:
            k = int(np.searchsorted(self.numeric_idx, j))
            value: Any = float(instance.numeric[k] * self.scales[k])
            if np.isnan(value):
                value = None
            if self.binned and instance.bins is not None:
                return self.binned[k].bin_name(int(instance.bins[k]), col), col, value
            return col, col, value
        k = int(np.searchsorted(self.categorical_idx, j))
        value = (
            instance.unseen[k] if k in instance.unseen else self.categories[k][instance.codes[k]]
        )
        value = None if value is None else plain(value)
        return (f"{col} is missing" if value is None else f"{col}={value}"), col, value
