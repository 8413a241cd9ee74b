"""How uncertain each weight is, which ranks are settled, and when there is nothing to explain.

Three questions every explanation answers about itself:

* How far would a weight move with a fresh seed? :func:`sandwich_std_errors`
  (a closed form, checked against fresh seeds by ``bench/calibration.py``).
* Which features can be told apart from zero? Those whose 95% interval
  excludes it; ``num_features="auto"`` keeps only those, with the threshold
  raised for the number of candidates (:func:`distinguishable`).
* Does the model's output move at all? A flat output (:func:`is_flat`) has no
  explanation: a fit of zeros to a constant would show an R² of 1.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from limecli.surrogate import SurrogateFit, WeightedGram, fit_on_features

#: The normal quantile of a two-sided 95% interval.
Z95 = NormalDist().inv_cdf(0.975)
#: ``num_features="auto"`` keeps at most this many features (the default count).
AUTO_FEATURES_CAP = 10
#: ``num_features="auto"`` also drops weights under this share of the largest: the ridge
#: penalty alone leaves unread features a tiny, consistent weight when the model is exactly
#: linear in the features (measured: 0.0003 beside 0.6), which no one means by "matters".
AUTO_FEATURES_FLOOR = 0.01
#: A rank is settled when the top features down to it form the same set in at least
#: this share of the stability replicates.
SETTLED_SHARE = 0.95
#: Outputs spread less than this, relative to their size (at least 1), are flat: well
#: above float32 rounding (~1e-7), far below any change a model means.
FLAT_TOLERANCE = 1e-6


def is_flat(target: np.ndarray) -> bool:
    """Whether the model's outputs for one label do not vary (beyond numerical noise)."""
    target = np.asarray(target, dtype=float)
    low, high = (float(target.min()), float(target.max())) if target.size else (0.0, 0.0)
    if np.isfinite(low) and np.isfinite(high):  # every value finite: no copy of them needed
        return high - low <= FLAT_TOLERANCE * max(1.0, abs(low), abs(high))
    finite = target[np.isfinite(target)]
    if finite.size == 0:
        return True
    scale = max(1.0, float(np.max(np.abs(finite))))
    return float(np.ptp(finite)) <= FLAT_TOLERANCE * scale


def sandwich_std_errors(
    data: np.ndarray, target: np.ndarray, weights: np.ndarray, fit: SurrogateFit, alpha: float
) -> np.ndarray:
    """Standard errors of ``fit.weights`` across fresh draws of the samples.

    The robust ("sandwich") variance of a weighted ridge fit: the samples are
    independent draws, so a coefficient's spread across draws is that of the
    sum of each sample's pull on it, A⁻¹ Σ wᵢ zᵢ eᵢ (A the penalised weighted
    Gram matrix, z the sample with a leading 1, e its residual). It holds
    whether or not the surrogate is the right model of the outputs, which a
    local linear fit of a non-linear model never is. Row 0 is the input
    itself, the same in every draw, so it adds no spread. The block bootstrap
    used before gave intervals about 1.2x too narrow: 20 replicates cannot
    place a 2.5% percentile.
    """
    if len(fit.features) == 0:
        return np.zeros(0)
    # z = column_stack([1, data[:, features]]), filled in place: the same layout (the
    # columns contiguous from two on, as that selection returns them), so the same BLAS
    # calls and bits, without the selection's own (samples, k) copy.
    k = len(fit.features)
    z = np.empty((data.shape[0], k + 1), order="F" if k > 1 else "C")
    z[:, 0] = 1.0
    for i, j in enumerate(fit.features.tolist(), start=1):
        z[:, i] = data[:, j]
    resid = target - z @ np.concatenate([[fit.intercept], fit.weights])
    penalty = np.full(z.shape[1], alpha)
    penalty[0] = 0.0  # the intercept is not penalised
    scaled = z * weights[:, None]
    bread = scaled.T @ z + np.diag(penalty)
    try:
        inverse = np.linalg.inv(bread)
    except np.linalg.LinAlgError:  # a feature without spread in the samples
        inverse = np.linalg.pinv(bread)
    # Into the array above, free by now: one fresh (samples, k + 1) array fewer.
    pull = np.multiply(z[1:], (weights[1:] * resid[1:])[:, None], out=scaled[1:])
    variance = np.einsum("ij,ji->i", inverse @ (pull.T @ pull), inverse)
    return np.sqrt(np.clip(variance[1:], 0.0, None))


def bonferroni_quantile(candidates: int) -> float:
    """The |weight| / std error a feature must reach when ``candidates`` features were tried."""
    return NormalDist().inv_cdf(1.0 - (1.0 - 0.95) / 2.0 / max(candidates, 1))


def distinguishable(
    gram: WeightedGram,
    data: np.ndarray,
    target: np.ndarray,
    weights: np.ndarray,
    fit: SurrogateFit,
    alpha: float,
) -> SurrogateFit:
    """``fit`` down to the features whose weights are distinguishable from zero.

    Selection looked at every feature of ``data``, so the bar is Bonferroni's
    over all of them: a model's noise features pass it in about 5% of
    explanations in all, not 5% each. Weights under :data:`AUTO_FEATURES_FLOOR`
    of the largest go too. Dropping a feature changes the others' weights, so
    the fit is redone on the survivors until all of them pass.
    """
    bar = zero_bar(data.shape[1], 0)
    while len(fit.features):
        errors = sandwich_std_errors(data, target, weights, fit, alpha)
        size = np.abs(fit.weights)
        keep = (size > bar * errors) & (size >= AUTO_FEATURES_FLOOR * size.max())
        if keep.all():
            break
        fit = fit_on_features(gram, np.sort(fit.features[keep]), data[0], alpha)
    return fit


def auto_features_params() -> dict[str, object]:
    """What ``params["num_features_auto"]`` records of the policy."""
    return {
        "cap": AUTO_FEATURES_CAP,
        "level": 0.95,
        "correction": "bonferroni",
        "floor": AUTO_FEATURES_FLOOR,
    }


def rank_agreement(chosen: np.ndarray, replicate_orders: list[np.ndarray]) -> np.ndarray:
    """For m = 1..k, the share of replicates whose top-m set is ``chosen[:m]``'s.

    ``chosen`` and each replicate order list features by decreasing |weight|.
    """
    k = len(chosen)
    orders = [order for order in replicate_orders if len(order) >= k]
    same = np.zeros(k)
    if orders and k:
        ranked = np.asarray([order[:k] for order in orders])  # (R, k)
        # A replicate's top m (distinct features) is chosen[:m] exactly when each of them
        # sits in chosen's first m places: all m at once from each one's place in chosen.
        place = np.full(max(int(ranked.max()), int(chosen.max())) + 1, k)
        place[chosen] = np.arange(k)
        reached = np.maximum.accumulate(place[ranked], axis=1)  # (R, k)
        same += (reached < np.arange(1, k + 1)).sum(axis=0)
    # A replicate that selected fewer than m features never has our top-m set.
    for order in replicate_orders:
        if len(order) < k:
            for m in range(1, len(order) + 1):
                same[m - 1] += set(order[:m].tolist()) == set(chosen[:m].tolist())
    return same / max(len(replicate_orders), 1)


def settled_top(top_m_same: np.ndarray, candidates: int | None = None) -> int:
    """The largest m whose top-m set is settled (0: not even the first feature is).

    The set of every candidate feature is the same in every replicate by
    definition, so it settles nothing: m = ``candidates`` does not count.
    """
    same = np.asarray(top_m_same, dtype=float)
    if candidates is not None and len(same) >= candidates:
        same = same[: candidates - 1]
    settled = np.flatnonzero(same >= SETTLED_SHARE - 1e-12)
    return int(settled[-1]) + 1 if settled.size else 0


def zero_bar(candidates: int, kept: int) -> float:
    """The |weight| / std error above which a weight is told apart from zero.

    A weight's own 95% interval is the bar when every candidate feature is in
    the explanation. When the explanation kept the strongest ``kept`` of
    ``candidates``, the kept noise features are the most extreme of many, and
    their intervals exclude 0 far more often than 5% (measured: half the time
    for the strongest of 20 noise columns), so the bar is Bonferroni's over the
    candidates, the one ``num_features="auto"`` uses.
    """
    return bonferroni_quantile(candidates) if kept < candidates else Z95


#: How many standard errors a gap between two weights must span for the ranks either side to
#: keep their order in :data:`SETTLED_SHARE` of fresh draws (the one-sided normal quantile).
SETTLE_Z = NormalDist().inv_cdf(SETTLED_SHARE)


def boundary_z(weights: np.ndarray, std_errors: np.ndarray) -> np.ndarray:
    """(k-1,): for m = 1..k-1, how many standard errors keep the top m above the rest.

    The smallest over pairs a <= m < b (ranks by decreasing |weight|) of
    (|w_a| - |w_b|) / sd(|w_a| - |w_b|). The weights' errors are taken as
    independent: tabular samples draw each column apart from the others, so
    their sampling correlations are near 0 (measured on the breast-cancer
    forest: |rho| at most 0.08, median 0.02), and the reported errors already
    hold what changing selections add.
    """
    size = np.abs(np.asarray(weights, dtype=float))
    var = np.asarray(std_errors, dtype=float) ** 2
    k = len(size)
    gaps = size[:, None] - size[None, :]  # [a, b]: |w_a| - |w_b|
    spread = np.sqrt(var[:, None] + var[None, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(spread > 0, gaps / np.where(spread > 0, spread, 1.0), np.inf * np.sign(gaps))
    z = np.nan_to_num(z, nan=0.0)
    return np.array([z[:m, m:].min() for m in range(1, k)])
