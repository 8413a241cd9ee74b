"""Kernel, weighted ridge surrogate and feature selection: the part of LIME every kind shares.

Everything works from the weighted Gram matrix of the interpretable data, so
each candidate fit during feature selection is a tiny d x d solve instead of
a pass over all samples (the reference implementation refits scikit-learn's
Ridge on the full sample matrix for every candidate, which is where its
forward selection spends its time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

FEATURE_SELECTION_METHODS = ("auto", "forward", "highest_weights", "lasso_path", "none")

#: Ridge penalty of the final surrogate (the reference default, Ridge(alpha=1)).
SURROGATE_ALPHA = 1.0
#: Penalty used to rank features in "highest_weights" (the reference uses 0.01).
HIGHEST_WEIGHTS_ALPHA = 0.01
#: "auto" uses forward selection up to this many features, highest weights above.
AUTO_FORWARD_MAX = 6


def exponential_kernel(distances: np.ndarray, kernel_width: float) -> np.ndarray:
    """LIME's kernel: sqrt(exp(-d^2 / width^2))."""
    return np.sqrt(np.exp(-(distances**2) / kernel_width**2))


def cosine_distances_to_first(data: np.ndarray) -> np.ndarray:
    """Cosine distance of every row of ``data`` to row 0 (0 for identical, 1 for orthogonal)."""
    data = np.asarray(data, dtype=float)
    norms = np.linalg.norm(data, axis=1)
    ref = data[0]
    dots = data @ ref
    denom = norms * norms[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = np.where(denom > 0, dots / np.where(denom > 0, denom, 1.0), 0.0)
    return 1.0 - np.clip(sim, -1.0, 1.0)


@dataclass(frozen=True)
class SurrogateFit:
    """A weighted linear model fitted around one instance, for one output column."""

    features: np.ndarray  # indices of the selected interpretable features, ranked by |weight|
    weights: np.ndarray  # their coefficients, same order
    intercept: float
    score: float  # weighted R^2 of the surrogate on the samples
    local_prediction: float  # surrogate's prediction at the instance (row 0)


class WeightedGram:
    """Sufficient statistics of a weighted least-squares problem, centred on weighted means."""

    @classmethod
    def from_moments(
        cls, sw: float, sx: np.ndarray, sy: float, sxx: np.ndarray, sxy: np.ndarray, syy: float
    ) -> WeightedGram:
        """The same statistics from raw weighted sums (Σw, Σwx, Σwy, Σwxxᵀ, Σwxy, Σwy²)."""
        gram = cls.__new__(cls)
        total = sw if sw > 0 else 1.0
        gram.x_mean = sx / total
        gram.y_mean = sy / total
        gram.gram = sxx - total * np.outer(gram.x_mean, gram.x_mean)
        gram.xy = sxy - total * gram.x_mean * gram.y_mean
        gram.yy = float(syy - total * gram.y_mean**2)
        return gram

    def __init__(self, data: np.ndarray, target: np.ndarray, sample_weight: np.ndarray) -> None:
        w = np.asarray(sample_weight, dtype=float)
        total = w.sum()
        if total <= 0:
            # All samples weightless (a degenerate kernel width): fall back to equal weights.
            w = np.ones_like(w)
            total = w.sum()
        self.x_mean = (w @ data) / total
        self.y_mean = float(w @ target) / total
        xc = data - self.x_mean
        yc = target - self.y_mean
        wx = xc * w[:, None]
        self.gram = xc.T @ wx
        self.xy = wx.T @ yc
        self.yy = float(yc @ (yc * w))

    def solve(self, subset: np.ndarray, alpha: float) -> np.ndarray:
        g = self.gram[np.ix_(subset, subset)]
        rhs = self.xy[subset]
        if alpha > 0:
            return np.linalg.solve(g + alpha * np.eye(len(subset)), rhs)
        # Unpenalised fits (forward selection) may be singular: least-norm solution.
        return np.linalg.lstsq(g, rhs, rcond=None)[0]

    def r2(self, subset: np.ndarray, coef: np.ndarray) -> float:
        if self.yy <= 0:
            return 1.0 if len(subset) == 0 or np.allclose(coef, 0) else 0.0
        g = self.gram[np.ix_(subset, subset)]
        sse = self.yy - 2.0 * coef @ self.xy[subset] + coef @ g @ coef
        return float(1.0 - sse / self.yy)


def select_features(
    data: np.ndarray,
    target: np.ndarray,
    sample_weight: np.ndarray,
    num_features: int,
    method: str,
    gram: WeightedGram | None = None,
) -> np.ndarray:
    """Indices of the interpretable features the surrogate will use."""
    n_total = data.shape[1]
    num_features = min(num_features, n_total)
    gram = gram or WeightedGram(data, target, sample_weight)
    if method == "auto":
        method = "forward" if num_features <= AUTO_FORWARD_MAX else "highest_weights"
    if method == "none" or num_features >= n_total:
        return np.arange(n_total)
    if method == "forward":
        return _forward_selection(gram, num_features)
    if method == "highest_weights":
        coef = gram.solve(np.arange(n_total), HIGHEST_WEIGHTS_ALPHA)
        # Rank by contribution at the instance (coefficient times the instance's value).
        contribution = np.abs(coef * data[0])
        order = np.lexsort((np.arange(n_total), -contribution))
        return np.sort(order[:num_features])
    if method == "lasso_path":
        return _lasso_path_selection(data, target, sample_weight, num_features)
    raise ValueError(f"unknown feature selection method {method!r}")


def _forward_selection(gram: WeightedGram, num_features: int) -> np.ndarray:
    """Greedy forward selection by weighted R² of unpenalised fits (as the reference).

    Every candidate of a step is solved at once as a stack of small systems; a
    jitter of 1e-10 of the Gram diagonal's scale keeps collinear subsets solvable
    without changing any non-degenerate fit.
    """
    n_total = gram.gram.shape[0]
    scale = max(float(np.trace(gram.gram)) / max(n_total, 1), 1e-300)
    chosen: list[int] = []
    remaining = np.arange(n_total)
    for _ in range(num_features):
        k = len(chosen) + 1
        subsets = np.column_stack([np.tile(chosen, (len(remaining), 1)), remaining]).astype(int)
        g = gram.gram[subsets[:, :, None], subsets[:, None, :]]
        rhs = gram.xy[subsets]
        coef = np.linalg.solve(g + 1e-10 * scale * np.eye(k), rhs[..., None])[..., 0]
        sse = gram.yy - 2.0 * np.sum(coef * rhs, axis=1) + np.einsum("mi,mij,mj->m", coef, g, coef)
        best = int(np.argmin(sse))  # smallest error = highest R²; ties go to the lower index
        chosen.append(int(remaining[best]))
        remaining = np.delete(remaining, best)
    return np.sort(np.array(chosen))


def _lasso_path_selection(
    data: np.ndarray, target: np.ndarray, sample_weight: np.ndarray, num_features: int
) -> np.ndarray:
    from sklearn.linear_model import lars_path

    w = sample_weight / sample_weight.sum()
    sw = np.sqrt(sample_weight)
    xw = (data - w @ data) * sw[:, None]
    yw = (target - w @ target) * sw
    _, _, coefs = lars_path(xw, yw, method="lasso")
    for i in range(coefs.shape[1] - 1, -1, -1):
        nonzero = np.flatnonzero(coefs[:, i])
        if len(nonzero) <= num_features:
            return nonzero
    return np.array([], dtype=int)


def fit_surrogate(
    data: np.ndarray,
    target: np.ndarray,
    sample_weight: np.ndarray,
    num_features: int,
    feature_selection: str = "auto",
    alpha: float = SURROGATE_ALPHA,
) -> SurrogateFit:
    """Select features, then fit a weighted ridge on them (LIME's explain_instance_with_data).

    ``data`` is the interpretable representation of the samples, row 0 the
    instance itself; ``target`` the model's output for one label.
    """
    data = np.asarray(data, dtype=float)
    target = np.asarray(target, dtype=float)
    gram = WeightedGram(data, target, sample_weight)
    used = select_features(data, target, sample_weight, num_features, feature_selection, gram)
    coef = gram.solve(used, alpha) if len(used) else np.zeros(0)
    intercept = gram.y_mean - float(gram.x_mean[used] @ coef)
    score = gram.r2(used, coef)
    local = intercept + float(data[0, used] @ coef)
    order = np.lexsort((used, -np.abs(coef)))
    return SurrogateFit(
        features=used[order],
        weights=coef[order],
        intercept=float(intercept),
        score=score,
        local_prediction=float(local),
    )


_BLAS: Any = None


def single_threaded_blas() -> Any:
    """A context in which BLAS runs on one thread.

    The surrogate's matrices are small (features x features); on a busy
    machine, BLAS threads waiting on each other cost more than they save
    (measured here: 0.027 s against 0.22 s for one explanation).
    """
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")
