"""Wide inputs: the stability replicates on candidate features, not on all of them.

Up to :data:`WIDE_FEATURES` interpretable features, :mod:`limecli.stability`
keeps per-block moments of every pair of features (20 x d x d) and refits
every replicate on all d: memory and time grow with d², d³ for the solves.
Above it, for "highest_weights" and "forward" selection of fewer than a
quarter of the features:

* the explanation's own fit comes from one weighted Gram matrix of all the
  features (one d x d, built in row chunks): the same features, the same
  weights up to rounding (a different order of the same sums) as the
  narrow path;
* the replicates select from the candidates only: the fit's features and
  the next best by the full fit's own ranking, at least
  :data:`MIN_CANDIDATES` (:func:`candidates`), with per-block moments of
  those (20 x k x k). Forward selection on the candidates picks exactly what
  it would on all features whenever every pick is among them (a step's gain
  depends only on the features chosen so far and the one tried).
  "highest_weights" ranks a replicate's ridge on the candidates instead of on
  all features: an approximation of the stability figures and of the
  selection part of the intervals (tests/test_wide_features.py bounds it
  against the narrow path on 300 columns).

The report counts all d features as candidates (the zero bar and the
settled ranks are about what selection looked at: every feature).
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
        for start in range(0, n, step):
            centred = data[start : start + step] - self.x_mean
            self.gram += centred.T @ (centred * weights[start : start + step, None])

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
