"""Wide inputs: the stability replicates without 20 x d x d block moments.

Up to :data:`WIDE_FEATURES` interpretable features, :mod:`limecli.stability`
keeps per-block moments of every pair of features (20 x d x d) and solves
every replicate's d x d system: memory grows with d², time with d³. Above it,
for "highest_weights" and "forward" selection of fewer than a quarter of the
features:

* the explanation's own fit comes from one weighted Gram matrix of all the
  features (one d x d, built in row chunks): the same features, the same
  weights up to rounding (the same sums in another order);
* "highest_weights": each replicate's ridge on all d features is solved by
  conjugate gradients (:func:`replicate_ridges`), its Gram matrix applied
  from the samples, the full one's inverse as preconditioner; it ranks as
  the exact solve does once converged (relative residual 1e-5; measured:
  every stability figure equal to the narrow path's at 300 features and at
  1,000 features x 5,000 samples; with samples under about 3x the features
  the 30 iterations may stop short, and a replicate can rank a marginal
  feature differently: at 1,000 x 2,000, settled ranks off by one in 4 of 12
  rows, standard errors within 11%);
* "forward": the replicates select among candidates (the fit's features and
  the next best by a feature's own gain, at least :data:`MIN_CANDIDATES`),
  which picks exactly what all features would whenever every pick is among
  them (a step's gain depends only on the chosen features and the one tried);
* every other figure comes from per-block moments of the features some
  replicate or the fit selected (20 x k x k).

The report counts all d features as candidates, as the narrow path does.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from limecli.stability import (
    BLOCKS,
    Assessment,
    FeatureMoments,
    _assessment,
    replicate_counts,
)
from limecli.surrogate import (
    HIGHEST_WEIGHTS_ALPHA,
    SURROGATE_ALPHA,
    SurrogateFit,
    WeightedGram,
    fit_on_features,
    resolve_selection,
    select_features_stacked,
)
from limecli.uncertainty import AUTO_FEATURES_CAP, distinguishable, sandwich_std_errors

#: Above this many interpretable features the replicates work on candidates.
WIDE_FEATURES = 200
#: The replicates choose from at least this many features (or ten times the count kept).
MIN_CANDIDATES = 200
#: Rows per chunk are this many values over the feature count (about 4 MB of floats).
_CHUNK_VALUES = 500_000
_MAX_ITERATIONS = 30
_TOLERANCE = 1e-5


def use_wide(shape: tuple[int, int], num_features: int | str, feature_selection: str) -> bool:
    """Whether an explanation of ``shape`` (samples, features) takes the wide path."""
    n, d = shape
    count = AUTO_FEATURES_CAP if num_features == "auto" else int(num_features)
    method = resolve_selection(feature_selection, min(count, d))
    return (
        d > WIDE_FEATURES
        and n >= 5 * BLOCKS
        and 4 * count < d
        and method in ("highest_weights", "forward")
    )


class WideFeatures:
    """The label-independent half of a wide explanation: the weighted, centred Gram matrix."""

    def __init__(self, data: np.ndarray, weights: np.ndarray) -> None:
        n, d = data.shape
        self.weights = weights
        self.total = float(weights.sum())
        self.x_mean = (weights @ data) / self.total
        self.gram = np.zeros((d, d))
        step = max(1, _CHUNK_VALUES // max(d, 1))
        root = np.sqrt(weights)
        for start in range(0, n, step):
            # Scaled by √w on both sides, the product is one matrix by its own transpose,
            # which numpy hands to BLAS's symmetric rank-k update (half the work).
            scaled = (data[start : start + step] - self.x_mean) * root[start : start + step, None]
            self.gram += scaled.T @ scaled

    def problem(self, data: np.ndarray, target: np.ndarray) -> WeightedGram:
        """The weighted least-squares statistics of one label's outputs."""
        y_mean = float(self.weights @ target) / self.total
        pulled = self.weights * (target - y_mean)
        gram = WeightedGram.__new__(WeightedGram)
        gram.gram, gram.x_mean, gram.y_mean = self.gram, self.x_mean, y_mean
        # Σ w (x - x̄)(y - ȳ) = Σ w x (y - ȳ): the weighted residuals sum to zero.
        gram.xy = pulled @ data - self.x_mean * float(pulled.sum())
        gram.yy = float((target - y_mean) @ pulled)
        return gram


def ranking(own: WeightedGram, instance: np.ndarray, method: str) -> np.ndarray:
    """Every feature, best first, as ``method`` ranks them on the full problem."""
    if method == "highest_weights":
        coef = own.stack().ridge(np.arange(len(own.xy)), HIGHEST_WEIGHTS_ALPHA)[0]
        return np.argsort(-np.abs(coef * instance), kind="stable")
    # forward: the first step's gain, each feature on its own.
    diagonal = np.diag(own.gram)
    usable = diagonal > 0
    gain = np.where(usable, own.xy**2 / np.where(usable, diagonal, 1.0), 0.0)
    return np.argsort(-gain, kind="stable")


def replicate_ridges(
    data: np.ndarray, target: np.ndarray, features: WideFeatures, alpha: float
) -> np.ndarray:
    """(d, REPLICATES) each replicate's ridge on every feature, by preconditioned conjugate
    gradients: the replicate's Gram matrix is applied from the samples (no d x d per
    replicate), the full Gram's inverse preconditions (the replicates are resamplings of
    it). Stops at a relative residual of 1e-10 or after :data:`_MAX_ITERATIONS`."""
    counts = replicate_counts()
    v = features.weights[:, None] * counts.T[np.arange(len(target)) % BLOCKS]  # (n, R)
    mean = features.x_mean
    total = v.sum(axis=0)
    y = target - float(features.weights @ target) / features.total

    def centred_t(u: np.ndarray) -> np.ndarray:  # (x - x̄)ᵀ u
        return data.T @ u - np.outer(mean, u.sum(axis=0))

    shift = centred_t(v) / total  # (d, R): each replicate's mean less the full one's
    y_shift = (v.T @ y) / total
    rhs = centred_t(v * y[:, None]) - shift * (total * y_shift)

    def apply(p: np.ndarray) -> np.ndarray:
        xp = data @ p - mean @ p
        return centred_t(v * xp) - shift * (total * (shift * p).sum(axis=0)) + alpha * p

    inverse = np.linalg.inv(features.gram + alpha * np.eye(len(mean)))
    coef = inverse @ rhs
    residual = rhs - apply(coef)
    scale = np.maximum(np.linalg.norm(rhs, axis=0), 1e-300)
    z = inverse @ residual
    direction = z.copy()
    rz = (residual * z).sum(axis=0)
    for _ in range(_MAX_ITERATIONS):
        if (np.linalg.norm(residual, axis=0) / scale).max() < _TOLERANCE:
            break
        step_vec = apply(direction)
        curvature = (direction * step_vec).sum(axis=0)
        step = np.where(curvature > 0, rz / np.where(curvature > 0, curvature, 1.0), 0.0)
        coef += step * direction
        residual -= step * step_vec
        z = inverse @ residual
        rz_next = (residual * z).sum(axis=0)
        direction = z + np.where(rz > 0, rz_next / np.where(rz > 0, rz, 1.0), 0.0) * direction
        rz = rz_next
    return coef


def candidates(order: np.ndarray, chosen: np.ndarray, count: int) -> np.ndarray:
    """Sorted indices: ``chosen`` and the best of ``order``, at least :data:`MIN_CANDIDATES`."""
    size = min(len(order), max(MIN_CANDIDATES, 10 * count))
    return np.union1d(order[:size], chosen)


def fit_and_assess_wide(
    data: np.ndarray,
    target: np.ndarray,
    weights: np.ndarray,
    num_features: int | str,
    feature_selection: str,
    features: WideFeatures,
    alpha: float = SURROGATE_ALPHA,
) -> tuple[SurrogateFit, Assessment | None]:
    """:func:`limecli.stability.fit_and_assess` for wide data (see the module's notes)."""
    auto = num_features == "auto"
    count = AUTO_FEATURES_CAP if auto else int(num_features)
    d = data.shape[1]
    method = resolve_selection(feature_selection, min(count, d))
    own = features.problem(data, target)
    order = ranking(own, data[0], method)
    if method == "highest_weights":
        used = np.sort(order[:count])  # as select_features_stacked picks them
    else:
        used = select_features_stacked(own.stack(), data[0], count, method)[0]
    fit = fit_on_features(own, used, data[0], alpha)
    if auto:
        fit = distinguishable(own, data, target, weights, fit, alpha)
        count = len(fit.features)
    if len(fit.features) == 0:
        return fit, None
    if method == "highest_weights":
        coef = replicate_ridges(data, target, features, HIGHEST_WEIGHTS_ALPHA)
        ranked = np.argsort(-np.abs(coef.T * data[0]), axis=1, kind="stable")
        picked = np.sort(ranked[:, :count], axis=1)
        pool = np.union1d(picked, fit.features)
        subset = data[:, pool]
        moments = FeatureMoments(subset, weights).with_target(target)
        stack = moments.grams(replicate_counts())
        selections = list(np.searchsorted(pool, picked))
    else:
        pool = candidates(order, fit.features, count)
        subset = data[:, pool]
        moments = FeatureMoments(subset, weights).with_target(target)
        stack = moments.grams(replicate_counts())
        selections = list(select_features_stacked(stack, subset[0], count, method))
    # The fit in the candidates' numbering, for the replicates' comparisons.
    local = dataclasses.replace(fit, features=np.searchsorted(pool, fit.features))
    errors = sandwich_std_errors(data, target, weights, fit, alpha)
    check = _assessment(moments, stack, selections, local, alpha, errors)
    return fit, dataclasses.replace(check, candidates=d)
