"""Binning of numeric columns for LIME's default tabular representation.

A discretised feature is "the instance's value falls in this bin". Sampling
draws a bin per column from the training frequencies, then a value inside the
bin from a normal truncated to the bin's observed [min, max].
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

DISCRETIZERS = ("quartile", "decile", "entropy")


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
    """Short, readable threshold: 1031.5, 0.1274, 12."""
    if x == 0:
        return "0"
    if abs(x) >= 1:
        return f"{x:.2f}".rstrip("0").rstrip(".")
    return f"{x:.4g}"


class BinnedColumn:
    """One numeric column's bins with the training statistics needed to sample from them."""

    def __init__(self, boundaries: np.ndarray, training: np.ndarray) -> None:
        self.boundaries = np.asarray(boundaries, dtype=float)
        n_bins = len(self.boundaries) + 1
        bins = self.digitize(training)
        self.freqs = np.bincount(bins, minlength=n_bins) / len(training)
        self.means = np.empty(n_bins)
        self.stds = np.empty(n_bins)
        self.mins = np.empty(n_bins)
        self.maxs = np.empty(n_bins)
        for b in range(n_bins):
            values = training[bins == b]
            if values.size == 0:
                # Never drawn (frequency 0); only the instance itself can sit here.
                edge = self.boundaries[min(b, len(self.boundaries) - 1)]
                self.means[b] = self.mins[b] = self.maxs[b] = edge
                self.stds[b] = 0.0
            else:
                self.means[b] = values.mean()
                self.stds[b] = values.std()
                self.mins[b] = values.min()
                self.maxs[b] = values.max()

    def digitize(self, values: np.ndarray) -> np.ndarray:
        # side="left": a value equal to a boundary belongs to the bin below ("x <= q").
        return np.searchsorted(self.boundaries, values, side="left")

    def bin_name(self, b: int, feature: str) -> str:
        q = [format_number(v) for v in self.boundaries]
        if b == 0:
            return f"{feature} <= {q[0]}"
        if b == len(q):
            return f"{feature} > {q[-1]}"
        return f"{q[b - 1]} < {feature} <= {q[b]}"

    def sample_values(self, bins: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Values inside each given bin: a normal(mean, std) truncated to the bin's [min, max].

        A bin whose min equals its max gives back that value exactly (the
        reference implementation returns a z-score there, a silent defect).
        """
        mean = self.means[bins]
        std = self.stds[bins]
        lo = self.mins[bins]
        hi = self.maxs[bins]
        u = rng.random(len(bins))
        spread = std > 0
        safe_std = np.where(spread, std, 1.0)
        a = (lo - mean) / safe_std
        b = (hi - mean) / safe_std
        # Inverse-CDF sampling, mirrored into the lower tail where ndtr keeps precision.
        flip = a > 0
        a2 = np.where(flip, -b, a)
        b2 = np.where(flip, -a, b)
        pa, pb = ndtr(a2), ndtr(b2)
        z = ndtri(np.clip(pa + u * (pb - pa), 1e-300, 1 - 1e-16))
        z = np.where(flip, -z, z)
        values = np.clip(mean + safe_std * z, lo, hi)
        return np.where(spread, values, lo)
