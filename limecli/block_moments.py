"""Weighted moments of the samples per block of rows: what the stability replicates add up.

Row i of the samples is in block i % :data:`BLOCKS` (interleaved, so every
block holds rows from the whole draw). A replicate that counts block b c_b
times has the moments Σ c_b m_b: a handful of d x d additions instead of a
pass over the samples (see :mod:`limecli.stability`).
"""

from __future__ import annotations

import numpy as np

from limecli.surrogate import GramStack, WeightedGram

BLOCKS = 20


class FeatureMoments:
    """The label-independent moments per block (Σw, Σwx, Σwxxᵀ), shared by every label.

    ``prefix``: the moments of the first rows
    of these same samples (same weights), as "auto"'s first pass kept them:
    the sums are additive, so only the rows after them are multiplied out.
    """

    def __init__(
        self, data: np.ndarray, weights: np.ndarray, prefix: FeatureMoments | None = None
    ) -> None:
        n, d = data.shape
        self.rows = n
        self.per_block = -(-n // BLOCKS)
        self.pad = self.per_block * BLOCKS - n
        if self.pad:  # weightless rows complete the last round; they add nothing to any sum
            data = np.vstack([data, np.zeros((self.pad, d))])
            weights = np.concatenate([weights, np.zeros(self.pad)])
        # Reshaped (rounds, block, ...): row i sits at [i // BLOCKS, i % BLOCKS].
        self.x = x = data.reshape(self.per_block, BLOCKS, d)
        self.w = weights.reshape(self.per_block, BLOCKS)
        if prefix is None:
            x_new, w_new = x, self.w
        else:  # from the round holding the first new row, the prefix's rows weightless
            first = prefix.rows // BLOCKS
            x_new, w_new = x[first:], self.w[first:].copy()
            w_new[0, : prefix.rows % BLOCKS] = 0.0
        wx = x_new * w_new[:, :, None]
        self.sw = w_new.sum(axis=0)
        self.sx = wx.sum(axis=0)
        self.sxx = np.matmul(x_new.transpose(1, 2, 0), wx.transpose(1, 0, 2))
        if prefix is not None:
            self.sw += prefix.sw
            self.sx += prefix.sx
            self.sxx += prefix.sxx
        # Kept for the first label only, then rebuilt (the same products): a (samples,
        # features) array less while that label's fit and errors run.
        self._wx: np.ndarray | None = wx if prefix is None else None
        self._extended = prefix is not None

    def extends(self, data: np.ndarray, weights: np.ndarray) -> bool:
        """Whether ``data`` and ``weights`` begin with the rows and weights these moments
        hold, and go on past them (so they can be this object's ``prefix``)."""
        n, d = self.rows, self.x.shape[2]
        return (
            data.shape[0] > n
            and data.shape[1] == d
            and np.array_equal(self.w.reshape(-1)[:n], weights[:n])
            and np.array_equal(self.x.reshape(-1, d)[:n], data[:n])
        )

    def with_target(self, target: np.ndarray) -> BlockMoments:
        """All the moments, for one label's model outputs."""
        # Moments of the target less its mean: raw sums of a target with a large mean
        # and a small spread would lose the spread to rounding when centred later.
        shift = float(np.mean(target)) if len(target) else 0.0
        y = target - shift
        if self.pad:
            y = np.concatenate([y, np.zeros(self.pad)])
        y = y.reshape(self.per_block, BLOCKS)
        wy = self.w * y
        if self._extended:  # no (samples, features) product kept: x times wy, for every label
            sxy = np.einsum("rbj,rb->bj", self.x, wy)
        else:
            wx = self._wx if self._wx is not None else self.x * self.w[:, :, None]
            self._wx = None
            sxy = np.einsum("rbj,rb->bj", wx, y)
        return BlockMoments(
            self,
            sy=wy.sum(axis=0),
            sxy=sxy,
            syy=(wy * y).sum(axis=0),
            shift=shift,
        )


class BlockMoments:
    """Weighted raw moments of the samples, per block of rows (the target less ``shift``)."""

    def __init__(
        self,
        features: FeatureMoments,
        sy: np.ndarray,
        sxy: np.ndarray,
        syy: np.ndarray,
        shift: float = 0.0,
    ) -> None:
        self.sw, self.sx, self.sxx = features.sw, features.sx, features.sxx
        self.sy, self.sxy, self.syy = sy, sxy, syy
        self.shift = shift

    @classmethod
    def of(cls, data: np.ndarray, target: np.ndarray, weights: np.ndarray) -> BlockMoments:
        return FeatureMoments(data, weights).with_target(target)

    def gram(self, counts: np.ndarray) -> WeightedGram:
        """The weighted Gram statistics of the samples with block b counted counts[b] times."""
        return self.grams(counts[None, :]).problem(0)

    def grams(self, counts: np.ndarray) -> GramStack:
        """:meth:`gram` for every row of ``counts`` (R, BLOCKS) at once."""
        return GramStack.from_moments(
            counts @ self.sw,
            counts @ self.sx,
            counts @ self.sy,
            np.tensordot(counts, self.sxx, axes=1),
            counts @ self.sxy,
            counts @ self.syy,
            shift=self.shift,
        )


class MomentsCache:
    """The label-independent moments of one explanation's last pass, for the next pass
    of "auto" (twice the samples, the first ones unchanged) to extend."""

    def __init__(self) -> None:
        self.last: FeatureMoments | None = None

    def moments(self, data: np.ndarray, weights: np.ndarray) -> FeatureMoments:
        """The moments of ``data``, extending the last ones where it extends their rows."""
        last = self.last
        prefix = last if last is not None and last.extends(data, weights) else None
        self.last = FeatureMoments(data, weights, prefix)
        return self.last
