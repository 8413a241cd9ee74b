"""The rows the tabular sampler passes around: a pool of perturbed rows, an encoded instance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from limecli.sampling.columns import is_missing

if TYPE_CHECKING:
    from limecli.sampling.tabular import TabularSampler


@dataclass
class SamplePool:
    """Perturbed rows: numeric values, bin indices (discretised mode) and category codes.

    Numeric values are in the sampler's units (see :attr:`TabularSampler.scales`),
    NaN where a sample is missing.
    """

    numeric: np.ndarray  # (n, n_numeric) float
    bins: np.ndarray | None  # (n, n_numeric) int, discretised mode only
    codes: np.ndarray  # (n, n_categorical) int
    noise: np.ndarray | None  # (n, n_numeric) standard normal draws, continuous mode only
    #: (n, n_numeric) bool: missing in the sample (continuous mode, only if a column can be).
    missing: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.codes.shape[0] if self.codes.size else self.numeric.shape[0])


@dataclass
class EncodedInstance:
    numeric: np.ndarray  # in the sampler's units, NaN where missing
    bins: np.ndarray | None
    codes: np.ndarray
    raw: list[Any]  # the instance's values per column, as read
    #: Categories the training data never showed, by categorical position: their code
    #: is one past the training categories, so no sample ever shares it.
    unseen: dict[int, Any] = field(default_factory=dict)

    def missing_columns(self, sampler: TabularSampler) -> list[str]:
        """The columns this instance is missing, in column order."""
        return [c for c, v in zip(sampler.columns, self.raw, strict=True) if is_missing(v)]
