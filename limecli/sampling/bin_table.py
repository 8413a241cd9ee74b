"""The numeric columns' bins stacked in one table, from which a pool is drawn.

A pool's values are drawn bin by bin as :mod:`limecli.sampling.discretize`
describes (a bin by the training frequencies, then a value from the bin's
truncated normal), with whole-matrix operations, or with one compiled loop
(``_draw.c``) where the install could build it: the same bits either way
(``tests/test_compiled_draw.py``).
"""

from __future__ import annotations

import sys
import weakref
from types import ModuleType

import numpy as np
from scipy.special import ndtri

from limecli.sampling.discretize import (
    COMPARE_MAX_WIDTH,
    BinnedColumn,
    cumulative,
    draw_categories,
    truncated_normal_table,
)

_compiled: ModuleType | None
try:  # the draw's inner loop, compiled where the install could build it (see _draw.c)
    from limecli.sampling import _draw as _compiled
except ImportError:  # pragma: no cover - exercised where no compiler was available
    _compiled = None


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
        # Each cell's rise, laid out as the quantiles (the same differences a draw would take).
        rises = np.zeros_like(quantiles)
        rises[..., :-1] = np.diff(quantiles, axis=-1)
        self._quantiles: np.ndarray | None = quantiles.reshape(-1)
        self._rises: np.ndarray | None = rises.reshape(-1)
        # For the compiled loop, both side by side (one cache line for both, not two); the
        # numpy path's two arrays are then made from them only if it runs (tables of wide
        # data are megabytes).
        self.cells: np.ndarray | None = None
        if _compiled is not None:
            self.cells = np.column_stack([self._quantiles, self._rises]).reshape(-1)
            self._quantiles = self._rises = None
        # The cumulative frequencies a uniform is compared with, one contiguous row per bin edge.
        # (Row b: bin b's top edge per column; the compiled loop reads them as one array.)
        self.edge_rows = np.ascontiguousarray(self.cdf[:, :-1].T).reshape(-1)
        self.edges = list(self.edge_rows.reshape(self.width - 1, self.n_columns))
        sign, self.low, self.span = truncated_normal_table(
            self.means, self.stds, self.mins, self.maxs
        )
        self.signed_stds = sign * self.stds
        self.offsets = np.arange(self.n_columns) * self.width

    @property
    def quantiles(self) -> np.ndarray:
        """Each bin's quantile function at its ``points + 1`` points, bin after bin."""
        return self._numpy_tables()[0]

    @property
    def rises(self) -> np.ndarray:
        """Each cell's rise (the next point's quantile less its own; 0 at a bin's top)."""
        return self._numpy_tables()[1]

    def _numpy_tables(self) -> tuple[np.ndarray, np.ndarray]:
        if self._quantiles is None or self._rises is None:  # made from the side-by-side array
            assert self.cells is not None
            pairs = self.cells.reshape(-1, 2)
            self._quantiles, self._rises = (np.ascontiguousarray(pairs[:, k]) for k in (0, 1))
        return self._quantiles, self._rises

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
        tails: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        if self._compiled_runs(bins):
            tails.append(self._fill_compiled(rng, bins, values))
        else:
            rows = max(1, CHUNK_VALUES // self.n_columns)
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

    def _compiled_runs(self, bins: np.ndarray) -> bool:
        """Whether :meth:`_fill_compiled` draws (the bins in bytes, compared edge by edge)."""
        return (
            _compiled is not None
            and self.cells is not None
            and bins.dtype == np.int8
            and self.width <= COMPARE_MAX_WIDTH
        )

    def _fill_compiled(
        self, rng: np.random.Generator, bins: np.ndarray, values: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What the chunks of :meth:`_inverse_cdf` do, in one compiled pass over ``values``
        (holding the uniforms first: the same stream as the chunks' draws): the same bits.
        Returns the tails as :meth:`_inverse_cdf` does."""
        assert _compiled is not None and self.cells is not None
        rng.random(out=values)
        # As long as every value (its untouched pages cost nothing): only the tails are written.
        at = np.empty(values.size, dtype=np.intp)
        count = _compiled.fill_bins_and_values(
            values.reshape(-1),
            bins.reshape(-1),
            self.edge_rows,
            self.lower.reshape(-1),
            self.stretch.reshape(-1),
            self.cells,
            self.n_columns,
            self.width,
            self.points,
            at,
        )
        at = at[:count].copy()
        where = bins.reshape(-1).take(at) + self.offsets.take(at % self.n_columns)
        return at, where, values.reshape(-1).take(at)

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
