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
import sys
import weakref

import numpy as np
from scipy.special import ndtr, ndtri

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


#: Per table, the array of its last explanation given back (see BinTable.recycle); not
#: an attribute, so that a table sent to a worker does not carry it.
_spares: weakref.WeakKeyDictionary[BinTable, np.ndarray] = weakref.WeakKeyDictionary()


class BinTable:
    """Every numeric column's bins stacked, so a pool is drawn with whole-matrix operations.

    A value inside a bin comes from the bin's truncated normal through its
    quantile function, tabulated once (at :data:`QUANTILE_POINTS` points per
    bin, fewer only for very wide tables) and interpolated linearly, except in
    the two end cells, where it is computed exactly: the inverse normal CDF is
    paid per bin at construction, not per sample. Measured against the exact
    quantile function, the largest error is about 0.3% of the bin's width.
    One uniform picks both the bin (by the training frequencies) and the
    position inside it.
    """

    def __init__(self, columns: list[BinnedColumn]) -> None:
        self.width = max(len(c.freqs) for c in columns)
        self.n_columns = len(columns)
        # Per column, the bin that means "missing" (-1: never missing in training).
        self.missing_bins = np.array([c.missing_bin if c.has_missing else -1 for c in columns])
        self.has_missing = bool(np.any(self.missing_bins >= 0))

        def stack(attr: str) -> np.ndarray:
            out = np.zeros((len(columns), self.width))
            for k, c in enumerate(columns):
                values = getattr(c, attr)
                out[k, : len(values)] = values
            return out

        self.cdf = cumulative([c.freqs for c in columns])
        self.means, self.stds = stack("means"), stack("stds")
        self.mins, self.maxs = stack("mins"), stack("maxs")
        # Where each bin starts on the uniform's [0, 1) and how to stretch it to [0, points].
        self.lower = np.column_stack([np.zeros(self.n_columns), self.cdf[:, :-1]])
        freqs = self.cdf - self.lower
        # Sized by the real bins, so that a missing state leaves the other columns' values as they were.
        cells = self.n_columns * max(c.missing_bin for c in columns)
        self.points = int(min(QUANTILE_POINTS, max(64, QUANTILE_TABLE_MAX // cells)))
        self.stretch = np.where(freqs > 0, self.points / np.where(freqs > 0, freqs, 1.0), 0.0)
        quantiles = bin_quantiles(self.means, self.stds, self.mins, self.maxs, self.points)
        self.quantiles = quantiles.reshape(-1)
        # Each cell's rise, laid out as the quantiles (the same differences a draw would take).
        rises = np.zeros_like(quantiles)
        rises[..., :-1] = np.diff(quantiles, axis=-1)
        self.rises = rises.reshape(-1)
        # The cumulative frequencies a uniform is compared with, one contiguous row per bin edge.
        self.edges = [np.ascontiguousarray(self.cdf[:, b]) for b in range(self.width - 1)]
        sign, self.low, self.span = truncated_normal_table(
            self.means, self.stds, self.mins, self.maxs
        )
        self.signed_stds = sign * self.stds
        self.offsets = np.arange(self.n_columns) * self.width

    def recycle(self, array: np.ndarray) -> None:
        """Keep a float array no one reads any more for the next draw's values, if it has
        their shape: writing into pages already mapped costs a fraction of fresh ones
        (about 2 us a page here, a third of the draw)."""
        _spares[self] = array

    def _spare(self, n: int) -> np.ndarray | None:
        spare = _spares.pop(self, None)
        if spare is None or spare.shape != (n, self.n_columns) or spare.dtype != np.float64:
            return None
        if not (spare.flags.writeable and spare.flags.c_contiguous):
            return None
        # Two references, this one and getrefcount's: no one kept the array or a view of it.
        return spare if sys.getrefcount(spare) == 2 else None

    def draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(bins, values), each (n, columns): bins by training frequency, values inside them."""
        # Bin indices fit a byte (a decile's ten bins and "missing" at most): an eighth of
        # the memory to fill, copy and compare.
        bins = np.empty((n, self.n_columns), dtype=np.int8 if self.width < 128 else np.intp)
        values = self._spare(n)
        if values is None:
            values = np.empty((n, self.n_columns))
        # A few hundred rows at a time: the temporaries stay small enough for the CPU
        # cache and for malloc to recycle (whole-pool temporaries cost more in page
        # faults than in arithmetic). The uniforms too: drawn a chunk at a time, they are
        # the same stream as one (n, columns) draw. The result does not depend on the chunking.
        rows = max(1, CHUNK_VALUES // self.n_columns)
        tails: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for start in range(0, n, rows):
            stop = min(start + rows, n)
            u = rng.random((stop - start, self.n_columns))
            tail = self._inverse_cdf(u, bins[start:stop], values[start:stop])
            if tail is not None:
                tails.append((tail[0] + start * self.n_columns, tail[1], tail[2]))
        if tails:
            # The tails' exact inverse CDF, for every chunk at once.
            at, where, p = (np.concatenate(part) for part in zip(*tails, strict=True))
            z = ndtri(self.low.take(where) + p * self.span.take(where))
            exact = self.means.take(where) + self.signed_stds.take(where) * z
            np.put(values, at, np.clip(exact, self.mins.take(where), self.maxs.take(where)))
        if self.has_missing:
            values[bins == self.missing_bins] = np.nan
        return bins, values

    def _inverse_cdf(
        self, u: np.ndarray, bins: np.ndarray, values: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The bin and the value inside it for each uniform of ``u`` (rows, columns), into
        ``bins`` and ``values``; the values in the two end cells are left to the caller:
        (their flat positions, their bins in :attr:`means`' flat order, where in the bin)."""
        if self.width > COMPARE_MAX_WIDTH:
            bins[...] = draw_categories(self.cdf, u)
        else:  # as draw_categories counts, straight into the bins
            bins[...] = 0
            for edge in self.edges:
                bins += u >= edge
        flat = bins + self.offsets
        position = self.lower.take(flat)
        np.subtract(u, position, out=position)  # >= 0: u is at or past its bin's start
        position *= self.stretch.take(flat)
        cell = position.astype(np.intp)
        last = self.points - 1
        np.minimum(cell, last, out=cell)
        # The first and last cells hold the tails, where the quantile function is too
        # steep to interpolate: values there (2 in `points`) get the exact inverse CDF.
        # (cell - 1 as unsigned is at least last - 1 for cell 0 and cell last only.)
        tails = np.flatnonzero((cell - 1).view(np.uintp) >= last - 1)
        position -= cell
        np.minimum(position, 1.0, out=position)  # rounding at the bin's top end
        where = flat.take(tails)
        flat *= self.points + 1
        cell += flat
        self.quantiles.take(cell, out=values, mode="clip")  # in range: clip is not buffered
        step = self.rises.take(cell)
        step *= position
        values += step
        if not tails.size:
            return None
        p = (cell.take(tails) % (self.points + 1) + position.take(tails)) / self.points
        return tails, where, p


#: Values per chunk of :meth:`BinTable.draw` (120 kB of floats: under malloc's default
#: threshold of 128 kB for its own mapping, which would be fresh pages every time).
CHUNK_VALUES = 15360
#: Points (cells) at which :class:`BinTable` tabulates each bin's quantile function...
QUANTILE_POINTS = 512
#: ...unless the table would pass this many entries; then fewer, but at least 64.
QUANTILE_TABLE_MAX = 2_000_000


def bin_quantiles(
    mean: np.ndarray, std: np.ndarray, lo: np.ndarray, hi: np.ndarray, points: int
) -> np.ndarray:
    """(..., points + 1): each bin's truncated-normal quantiles at 0, 1/points, ..., 1.

    Mirrored bins (see :func:`truncated_normal_table`) run from the top down,
    which describes the same distribution.
    """
    sign, low, span = truncated_normal_table(mean, std, lo, hi)
    p = np.linspace(0.0, 1.0, points + 1)
    z = ndtri(low[..., None] + p * span[..., None])
    q = mean[..., None] + (sign * std)[..., None] * z
    return np.clip(q, lo[..., None], hi[..., None])
