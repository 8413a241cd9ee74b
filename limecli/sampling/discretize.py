"""Binning of numeric columns for LIME's default tabular representation.

A discretised feature is "the instance's value falls in this bin". Sampling
draws a bin per column from the training frequencies, then a value inside the
bin from a normal truncated to the bin's observed [min, max].

A column with missing cells in training has one more state beside its bins,
"missing", drawn at the observed missing rate with the same uniform that picks
the bin (so columns without missing cells draw exactly as before); its value
is NaN. A column whose values are huge (see
:data:`limecli.sampling.columns.SCALE_ABOVE`) is binned and sampled in units
of a power of two (``scale``), so no statistic overflows; only the names of
its thresholds are written in the original units.
"""

from __future__ import annotations

import bisect
import math

import numpy as np
from scipy.special import ndtr

DISCRETIZERS = ("quartile", "decile", "entropy")
#: Up to this many categories, :func:`draw_categories` compares instead of searching.
COMPARE_MAX_WIDTH = 16


def fit_boundaries(
    name: str, column: np.ndarray, labels: np.ndarray | None = None, seed: int = 0
) -> np.ndarray:
    """Sorted unique bin boundaries for one numeric column."""
    if name == "quartile":
        return np.unique(np.percentile(column, [25, 50, 75]))
    if name == "decile":
        return np.unique(np.percentile(column, np.arange(10, 100, 10)))
    if name == "entropy":
        if labels is None:
            raise ValueError("the entropy discretizer needs training labels")
        from sklearn.tree import DecisionTreeClassifier

        tree = DecisionTreeClassifier(criterion="entropy", max_depth=3, random_state=seed)
        tree.fit(column.reshape(-1, 1), labels)
        thresholds = tree.tree_.threshold[tree.tree_.feature >= 0]
        if thresholds.size == 0:
            return np.unique(np.percentile(column, [50]))
        return np.unique(thresholds)
    raise ValueError(f"unknown discretizer {name!r}")


def format_number(x: float) -> str:
    """Short, readable threshold: 1031.5, 0.1274, 12 (and 1.235e+307 for huge ones)."""
    if x == 0:
        return "0"
    if abs(x) >= 1e15:  # "%.2f" would write every digit
        return f"{x:.4g}"
    if abs(x) >= 1:
        return f"{x:.2f}".rstrip("0").rstrip(".")
    return f"{x:.4g}"


class BinnedColumn:
    """One numeric column's bins with the training statistics needed to sample from them.

    ``training``: the column's observed (non-missing) values, in units of
    ``scale``; ``missing_rate``: the share of training cells that are missing.
    Bin :attr:`missing_bin` (one past the last bin) is "missing": it is drawn
    at ``missing_rate`` when that is above 0, and is where a missing instance sits.
    """

    def __init__(
        self,
        boundaries: np.ndarray,
        training: np.ndarray,
        *,
        missing_rate: float = 0.0,
        scale: float = 1.0,
    ) -> None:
        self.boundaries = np.asarray(boundaries, dtype=float)
        self._edges = self.boundaries.tolist()  # for one value at a time (bin_of)
        self.scale = scale
        self._formatted: list[str] | None = None
        n_bins = len(self.boundaries) + 1
        self.missing_bin = n_bins
        self.has_missing = missing_rate > 0
        bins = self.digitize(training)
        if len(training):
            self.freqs = np.bincount(bins, minlength=n_bins) / len(training)
        else:  # every cell missing
            self.freqs = np.zeros(n_bins)
        self.means = np.empty(n_bins)
        self.stds = np.empty(n_bins)
        self.mins = np.empty(n_bins)
        self.maxs = np.empty(n_bins)
        for b in range(n_bins):
            values = training[bins == b]
            if values.size == 0:
                # Never drawn (frequency 0); only the instance itself can sit here.
                edges = self.boundaries if len(self.boundaries) else np.zeros(1)
                self.means[b] = self.mins[b] = self.maxs[b] = edges[min(b, len(edges) - 1)]
                self.stds[b] = 0.0
            else:
                self.means[b] = values.mean()
                self.stds[b] = values.std()
                self.mins[b] = values.min()
                self.maxs[b] = values.max()
        if self.has_missing:
            # The missing state's statistics are placeholders: its values become NaN.
            self.freqs = np.append(self.freqs * (1.0 - missing_rate), missing_rate)
            for attr in ("means", "stds", "mins", "maxs"):
                setattr(self, attr, np.append(getattr(self, attr), 0.0))

    def _thresholds(self) -> list[str]:
        # Formatted once per column: every explanation names its bins from them.
        if self._formatted is None:
            self._formatted = [format_number(v * self.scale) for v in self.boundaries]
        return self._formatted

    def digitize(self, values: np.ndarray) -> np.ndarray:
        # side="left": a value equal to a boundary belongs to the bin below ("x <= q").
        return np.searchsorted(self.boundaries, values, side="left")

    def bin_of(self, value: float) -> int:
        """:meth:`digitize` of one value (NaN: the missing bin), without arrays."""
        return self.missing_bin if math.isnan(value) else bisect.bisect_left(self._edges, value)

    def bin_name(self, b: int, feature: str) -> str:
        if b == self.missing_bin:
            return f"{feature} is missing"
        q = self._thresholds()
        if not q:  # no observed values in training, so no thresholds
            return f"{feature} is present"
        if b == 0:
            return f"{feature} <= {q[0]}"
        if b == len(q):
            return f"{feature} > {q[-1]}"
        return f"{q[b - 1]} < {feature} <= {q[b]}"


def truncated_normal_table(
    mean: np.ndarray, std: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bin, what inverse-CDF sampling of normal(mean, std) truncated to [lo, hi] needs.

    A value is then ``mean + std * sign * ndtri(low + u * span)`` for a uniform u.
    Bins entirely above the mean are mirrored into the lower tail, where ndtr
    keeps its precision. A bin whose min equals its max (std 0) gives back that
    value exactly (the reference implementation returns a z-score there, a
    silent defect).
    """
    spread = std > 0
    safe_std = np.where(spread, std, 1.0)
    a = (lo - mean) / safe_std
    b = (hi - mean) / safe_std
    flip = a > 0
    pa = ndtr(np.where(flip, -b, a))
    pb = ndtr(np.where(flip, -a, b))
    low = np.where(spread, np.clip(pa, 1e-300, 1.0), 0.5)
    span = np.where(spread, np.clip(pb - pa, 0.0, 1.0 - 1e-16 - low), 0.0)
    return np.where(flip, -1.0, 1.0), low, span


def cumulative(freqs: list[np.ndarray]) -> np.ndarray:
    """Per-row cumulative frequencies, padded with 1.0 to a rectangle."""
    width = max((len(f) for f in freqs), default=1)
    cdf = np.ones((len(freqs), width))
    for k, f in enumerate(freqs):
        cdf[k, : len(f)] = np.cumsum(f / f.sum())
        cdf[k, len(f) - 1 :] = 1.0  # exact 1.0 at the end, whatever the rounding
    return cdf


def draw_categories(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Category index per (sample, column) for uniforms ``u`` of shape (n, columns).

    The index is the number of cumulative frequencies at or below u (inverse
    CDF sampling). With few categories, that count is a handful of whole-matrix
    comparisons; with many, one searchsorted over all columns at once (row k of
    ``cdf`` shifted by k, so the columns sit in one sorted array). Both give
    the same indices.
    """
    n_cols, width = cdf.shape
    if width <= COMPARE_MAX_WIDTH:
        found = np.zeros(u.shape, dtype=np.intp)
        for b in range(width - 1):  # the last cumulative frequency is 1.0 > u
            found += u >= cdf[:, b]
        return found
    offsets = np.arange(n_cols)
    shifted = (cdf + offsets[:, None]).ravel()
    found = np.searchsorted(shifted, u + offsets[None, :], side="right")
    return found - offsets[None, :] * width
