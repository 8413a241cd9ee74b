"""Kernel, weighted ridge surrogate and feature selection: the part of LIME every kind shares.

Everything works from the weighted Gram matrix of the interpretable data, so
each candidate fit during feature selection is a tiny d x d solve instead of
a pass over all samples (the reference implementation refits scikit-learn's
Ridge on the full sample matrix for every candidate, which is where its
forward selection spends its time).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

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
    # einsum, not a BLAS product: waking idle BLAS threads costs more than this whole sum.
    dots = np.einsum("ij,j->i", data, ref)
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


def usable_weights(sample_weight: np.ndarray) -> np.ndarray:
    """The kernel weights as floats; all samples weightless (a degenerate kernel width)
    falls back to equal weights."""
    w = np.asarray(sample_weight, dtype=float)
    return w if w.sum() > 0 else np.ones_like(w)


@dataclass(frozen=True)
class GramStack:
    """R weighted least-squares problems over the same d features, stacked for batched solves.

    ``gram`` is (R, d, d), ``xy`` (R, d) and ``yy`` (R,): the centred statistics
    of :class:`WeightedGram`, one problem per leading index.
    """

    gram: np.ndarray
    xy: np.ndarray
    yy: np.ndarray
    x_mean: np.ndarray  # (R, d) weighted means the statistics are centred on
    y_mean: np.ndarray  # (R,)

    @classmethod
    def from_moments(
        cls,
        sw: np.ndarray,
        sx: np.ndarray,
        sy: np.ndarray,
        sxx: np.ndarray,
        sxy: np.ndarray,
        syy: np.ndarray,
        shift: float = 0.0,
    ) -> GramStack:
        """Centred statistics from raw weighted sums, one problem per row of ``sw``.

        The sums are those of the target less ``shift`` (see
        :meth:`limecli.stability.FeatureMoments.with_target`); the means come back
        in the target's own units. A target flat up to rounding gets exact zeros.
        """
        total = np.where(sw > 0, sw, 1.0)
        x_mean = sx / total[:, None]
        y_mean = sy / total
        yy = syy - total * y_mean**2
        xy = sxy - (total * y_mean)[:, None] * x_mean
        flat = yy <= total * (1e-10 * max(abs(shift), 1e-150)) ** 2
        return cls(
            gram=sxx - total[:, None, None] * x_mean[:, :, None] * x_mean[:, None, :],
            xy=np.where(flat[:, None], 0.0, xy),
            yy=np.where(flat, 0.0, yy),
            x_mean=x_mean,
            y_mean=y_mean + shift,
        )

    def __getitem__(self, rows: slice) -> GramStack:
        return GramStack(
            self.gram[rows], self.xy[rows], self.yy[rows], self.x_mean[rows], self.y_mean[rows]
        )

    def problem(self, i: int) -> WeightedGram:
        """Problem ``i`` on its own."""
        gram = WeightedGram.__new__(WeightedGram)
        gram.gram, gram.xy, gram.yy = self.gram[i], self.xy[i], float(self.yy[i])
        gram.x_mean, gram.y_mean = self.x_mean[i], float(self.y_mean[i])
        return gram

    def ridge(self, subset: np.ndarray, alpha: float) -> np.ndarray:
        """(R, len(subset)) ridge coefficients on the same feature subset for every problem."""
        every = np.array_equal(subset, np.arange(self.gram.shape[-1]))  # no copy to select
        g = self.gram if every else self.gram[:, subset[:, None], subset[None, :]]
        rhs = self.xy if every else self.xy[:, subset]
        return np.linalg.solve(g + alpha * np.eye(len(subset)), rhs[..., None])[..., 0]


class WeightedGram:
    """Sufficient statistics of a weighted least-squares problem, centred on weighted means."""

    def __init__(self, data: np.ndarray, target: np.ndarray, sample_weight: np.ndarray) -> None:
        w = usable_weights(sample_weight)
        total = w.sum()
        self.x_mean = (w @ data) / total
        self.y_mean = float(w @ target) / total
        xc = data - self.x_mean
        yc = target - self.y_mean
        wx = xc * w[:, None]
        self.gram = xc.T @ wx
        self.xy = wx.T @ yc
        self.yy = float(yc @ (yc * w))

    def stack(self) -> GramStack:
        """This problem as a stack of one."""
        return GramStack(
            self.gram[None],
            self.xy[None],
            np.array([self.yy]),
            self.x_mean[None],
            np.array([self.y_mean]),
        )

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
    gram = gram or WeightedGram(data, target, sample_weight)
    if method == "lasso_path" and num_features < data.shape[1]:
        return _lasso_path_selection(data, target, sample_weight, num_features)
    return select_features_stacked(gram.stack(), data[0], num_features, method)[0]


def select_features_stacked(
    stack: GramStack, instance: np.ndarray, num_features: int, method: str
) -> np.ndarray:
    """(R, k) sorted feature indices, one row per problem of ``stack``, selected in one pass.

    ``instance`` is the interpretable row of the instance (row 0 of the data),
    which "highest_weights" needs. Every method but "lasso_path" (which needs
    the samples themselves).
    """
    n_problems, n_total = stack.xy.shape
    num_features = min(num_features, n_total)
    method = resolve_selection(method, num_features)
    if method == "none" or num_features >= n_total:
        return np.tile(np.arange(n_total), (n_problems, 1))
    if method == "forward":
        return _forward_selection(stack, num_features)
    if method == "highest_weights":
        coef = stack.ridge(np.arange(n_total), HIGHEST_WEIGHTS_ALPHA)
        # Rank by contribution at the instance (coefficient times the instance's value);
        # the stable sort breaks ties by the lower index.
        contribution = np.abs(coef * instance)
        order = np.argsort(-contribution, axis=1, kind="stable")
        return np.sort(order[:, :num_features], axis=1)
    raise ValueError(f"unknown feature selection method {method!r}")


def resolve_selection(method: str, num_features: int) -> str:
    """The method "auto" stands for at this feature count (any other method as is)."""
    if method == "auto":
        return "forward" if num_features <= AUTO_FORWARD_MAX else "highest_weights"
    return method


def _forward_selection(stack: GramStack, num_features: int) -> np.ndarray:
    """Greedy forward selection by weighted R² of unpenalised fits (as the reference).

    Adding feature j to the chosen set S lowers the squared error by
    r_j² / G_jj, where G and r are the Gram matrix and cross products with S
    already regressed out (the sweep operator). So each step is one rank-one
    update of every problem's Gram matrix, instead of a least-squares fit per
    candidate. A candidate that adds nothing new (collinear with S, its
    residual variance under 1e-10 of the Gram diagonal's scale) lowers the
    error by 0. Ties go to the lower index.
    """
    n_problems, n_total = stack.xy.shape
    gram = stack.gram
    xy = stack.xy.copy()
    tol = 1e-10 * np.maximum(np.trace(gram, axis1=1, axis2=2) / max(n_total, 1), 1e-300)
    rows = np.arange(n_problems)
    diagonal = np.arange(n_total)
    # Only the residual variances (the diagonal) and the chosen features' rows are ever
    # read: each row is swept when it is chosen, by the earlier pivots in their order
    # (the same operations, in the same order, as sweeping the whole matrix every step).
    residual = gram[:, diagonal, diagonal]
    pivots: list[tuple[np.ndarray, np.ndarray]] = []
    available = np.ones((n_problems, n_total), dtype=bool)
    chosen = np.empty((n_problems, num_features), dtype=np.intp)
    for step in range(num_features):
        usable = residual > tol[:, None]
        gain = np.where(usable, xy**2 / np.where(usable, residual, 1.0), 0.0)
        gain[~available] = -np.inf
        best = np.argmax(gain, axis=1)  # the first maximum: ties go to the lower index
        chosen[:, step] = best
        available[rows, best] = False
        if step == num_features - 1:
            break  # nothing reads the sweep of the last one
        pivot = gram[rows, best]  # (R, d), then swept by the earlier pivots
        for scale, earlier in pivots:
            pivot = pivot - (scale * earlier[rows, best])[:, None] * earlier
        pivot_var = pivot[rows, best]
        factor = np.where(pivot_var > tol, 1.0 / np.where(pivot_var > tol, pivot_var, 1.0), 0.0)
        # Regress the chosen feature out of every other (skipped where it adds nothing).
        xy -= (factor * xy[rows, best])[:, None] * pivot
        residual = residual - (factor[:, None] * pivot) * pivot
        pivots.append((factor, pivot))
    return np.sort(chosen, axis=1)


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
    return fit_on_features(gram, used, data[0], alpha)


def fit_on_features(
    gram: WeightedGram, used: np.ndarray, instance: np.ndarray, alpha: float = SURROGATE_ALPHA
) -> SurrogateFit:
    """The weighted ridge on the selected features; ``instance`` is row 0 of the data."""
    coef = gram.solve(used, alpha) if len(used) else np.zeros(0)
    intercept = gram.y_mean - float(gram.x_mean[used] @ coef)
    score = gram.r2(used, coef)
    local = intercept + float(instance[used] @ coef)
    order = np.lexsort((used, -np.abs(coef)))
    return SurrogateFit(
        features=used[order],
        weights=coef[order],
        intercept=float(intercept),
        score=score,
        local_prediction=float(local),
    )


_BLAS: Any = None
_BLAS_MODULES = -1  # len(sys.modules) when _BLAS was made


def single_threaded_blas() -> Any:
    """A context in which BLAS runs on one thread.

    The surrogate's matrices are small (features x features); on a busy
    machine, BLAS threads waiting on each other cost more than they save
    (measured here: 0.027 s against 0.22 s for one explanation). The
    controller is kept (making one reads every loaded library: 4.6 ms, a
    batch chunk's 4% at 32 rows), and made again once modules have been
    imported since: one may have loaded another BLAS (a model's framework).
    """
    global _BLAS, _BLAS_MODULES
    if _BLAS is None or len(sys.modules) != _BLAS_MODULES:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
        _BLAS_MODULES = len(sys.modules)
    return _BLAS.limit(limits=1, user_api="blas")
