"""How far to trust one explanation: stability under resampling, and held-out fidelity.

LIME's weights come from one random draw of perturbed samples; another seed
gives another draw. The samples are independent, so splitting them into
blocks and resampling the blocks (a block bootstrap) imitates fresh draws
without asking the model again. For each replicate the surrogate is refitted
(same feature selection, same penalty) from per-block weighted moments, which
costs a handful of d x d additions instead of a pass over the samples.

Reported per label:

* ``top_k_change_probability``: the share of replicates whose selected
  feature set differs from the explanation's (0 means settled);
* ``top_k_mean_jaccard``: the mean Jaccard similarity of those sets with it;
* ``top_m_same`` and ``settled_top``: per rank m, the share of replicates whose
  top-m set is the explanation's; the ranks down to the last m reaching 95% are
  settled, those below could swap (noise features never settle, strong ones do);
* per feature, ``std_error`` (and the 95% interval from it): not from the
  replicates, whose 20 draws cannot place a 2.5% percentile, but in closed form
  (:func:`limecli.uncertainty.sandwich_std_errors`);
* ``held_out_score``: the surrogate fitted on 80% of the blocks, scored
  (kernel-weighted R²) on the other 20%: a fit that only looks good on its own
  samples shows up here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from limecli.block_moments import BLOCKS, BlockMoments, FeatureMoments
from limecli.surrogate import (
    SURROGATE_ALPHA,
    GramStack,
    SurrogateFit,
    WeightedGram,
    fit_on_features,
    resolve_selection,
    select_features,
    select_features_stacked,
)
from limecli.uncertainty import (
    AUTO_FEATURES_CAP,
    Z95,
    distinguishable,
    rank_agreement,
    sandwich_std_errors,
    settled_top,
    zero_bar,
)

REPLICATES = 20
HELD_OUT_BLOCKS = 4
#: A fixed generator: the same samples always get the same assessment.
_SEED = 20160216


@dataclass(frozen=True)
class Assessment:
    top_k_change_probability: float
    top_k_mean_jaccard: float
    std_error: np.ndarray  # (k,), in the order of fit.features
    ci95: np.ndarray  # (k, 2): weight -/+ Z95 std errors
    top_m_same: np.ndarray  # (k,): share of replicates with the same top-m set, m = 1..k
    held_out_score: float | None
    candidates: int  # how many features the selection chose from

    @property
    def settled_top(self) -> int:
        return settled_top(self.top_m_same, self.candidates)

    @property
    def zero_bar(self) -> float:
        return zero_bar(self.candidates, len(self.std_error))

    def distinguishable(self, weights: np.ndarray) -> np.ndarray:
        """(k,) bool: which weights are told apart from zero (see :func:`zero_bar`)."""
        return np.abs(weights) > self.zero_bar * self.std_error

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "block bootstrap",
            "replicates": REPLICATES,
            "top_k_change_probability": self.top_k_change_probability,
            "top_k_mean_jaccard": self.top_k_mean_jaccard,
            "settled_top": self.settled_top,
            "top_m_same": [float(v) for v in self.top_m_same],
            "intervals": "sandwich",
            "candidates": self.candidates,
            "zero_bar": self.zero_bar,
        }


def replicate_counts() -> np.ndarray:
    """(REPLICATES, BLOCKS): how often each replicate counts each block (a fixed draw)."""
    return _fixed_counts().copy()


@functools.cache  # drawn once: a generator costs more than the rest of the replicates' setup
def _fixed_counts() -> np.ndarray:
    rng = np.random.default_rng(_SEED)
    return rng.multinomial(BLOCKS, np.full(BLOCKS, 1 / BLOCKS), REPLICATES).astype(float)


def assess(
    data: np.ndarray,
    target: np.ndarray,
    weights: np.ndarray,
    fit: SurrogateFit,
    num_features: int,
    feature_selection: str,
    alpha: float = SURROGATE_ALPHA,
) -> Assessment | None:
    """Stability and held-out fidelity of ``fit`` (None with too few samples to split)."""
    if data.shape[0] < 5 * BLOCKS or len(fit.features) == 0:
        return None
    moments = BlockMoments.of(data, target, weights)
    counts = replicate_counts()
    stack = moments.grams(counts)
    if feature_selection == "lasso_path":
        selections = [
            select_features(data[rows], target[rows], weights[rows], num_features, "lasso_path")
            for rows in (
                np.isin(np.arange(len(target)) % BLOCKS, np.flatnonzero(c)) for c in counts
            )
        ]
    else:
        selections = list(select_features_stacked(stack, data[0], num_features, feature_selection))
    errors = sandwich_std_errors(data, target, weights, fit, alpha)
    return _assessment(moments, stack, selections, fit, alpha, errors)


def fit_and_assess(
    data: np.ndarray,
    target: np.ndarray,
    weights: np.ndarray,
    num_features: int | str,
    feature_selection: str,
    alpha: float = SURROGATE_ALPHA,
    features: FeatureMoments | None = None,
) -> tuple[SurrogateFit, Assessment | None]:
    """:func:`fit_surrogate` and :func:`assess` in one batched pass.

    The explanation's own fit is problem 0 of the same stack as the
    replicates (every block counted once), so one feature selection serves
    all of them, and ``features`` (the label-independent moments) can be
    shared by every label of one explanation. ``num_features="auto"`` selects
    up to :data:`AUTO_FEATURES_CAP` features, then keeps those distinguishable
    from zero (:func:`limecli.uncertainty.distinguishable`).
    """
    auto = num_features == "auto"
    count = AUTO_FEATURES_CAP if auto else int(num_features)
    method = resolve_selection(feature_selection, min(count, data.shape[1]))
    if data.shape[0] < 5 * BLOCKS or method == "lasso_path":
        gram = WeightedGram(data, target, weights)
        used = select_features(data, target, weights, count, method, gram)
        fit = fit_on_features(gram, used, data[0], alpha)
        if auto:
            fit = distinguishable(gram, data, target, weights, fit, alpha)
        return fit, assess(data, target, weights, fit, len(fit.features), method, alpha)
    if features is None:
        features = FeatureMoments(data, weights)
    moments = features.with_target(target)
    stack = moments.grams(np.vstack([np.ones(BLOCKS), replicate_counts()]))
    if auto:
        own = stack.problem(0)
        used = select_features_stacked(stack[:1], data[0], count, method)[0]
        fit = distinguishable(
            own, data, target, weights, fit_on_features(own, used, data[0], alpha), alpha
        )
        count = len(fit.features)
        selections: Any = (
            select_features_stacked(stack[1:], data[0], count, method) if count else []
        )
    else:
        chosen = select_features_stacked(stack, data[0], count, method)
        fit = fit_on_features(stack.problem(0), chosen[0], data[0], alpha)
        selections = chosen[1:]
    if len(fit.features) == 0:
        return fit, None
    errors = sandwich_std_errors(data, target, weights, fit, alpha)
    return fit, _assessment(moments, stack[1:], list(selections), fit, alpha, errors)


def _assessment(
    moments: BlockMoments,
    replicates: GramStack,
    selections: list[np.ndarray],
    fit: SurrogateFit,
    alpha: float,
    errors: np.ndarray,
) -> Assessment:
    k = len(fit.features)
    own_coef = _own_weights(replicates, selections, alpha)
    # Every replicate's selection in one flat array: where each of its features sits in
    # ours (-1: not among them), so overlaps and weights need no loop per feature.
    sizes = np.array([len(sel) for sel in selections], dtype=np.intp)
    flat = np.concatenate([*selections, np.zeros(0, dtype=np.intp)]).astype(np.intp)
    place = np.full(max(int(flat.max(initial=0)), int(fit.features.max())) + 1, -1)
    place[fit.features] = np.arange(k)
    where = place[flat]
    rows = np.repeat(np.arange(len(selections)), sizes)
    hit = where >= 0
    shared = np.bincount(rows[hit], minlength=len(selections))
    changed = int(np.count_nonzero((shared != k) | (sizes != k)))
    jaccards = shared / (sizes + k - shared)
    # Each replicate's own ranking (as fit_on_features ranks), and its weights for our
    # features: on its own selection (NaN where it left the feature out) and on ours; the
    # difference is what changing selections add.
    orders = [
        sel[np.lexsort((sel, -np.abs(c)))] for sel, c in zip(selections, own_coef, strict=True)
    ]
    own = np.full((len(selections), k), np.nan)
    own[rows[hit], where[hit]] = np.concatenate([*own_coef, np.zeros(0)])[hit]
    same = rank_agreement(fit.features, orders)
    if changed:
        errors = np.sqrt(errors**2 + selection_variance(own, replicates.ridge(fit.features, alpha)))
    return Assessment(
        top_k_change_probability=changed / REPLICATES,
        top_k_mean_jaccard=float(np.mean(jaccards)),
        std_error=errors,
        ci95=np.column_stack([fit.weights - Z95 * errors, fit.weights + Z95 * errors]),
        top_m_same=same,
        held_out_score=_held_out_score(moments, fit.features, alpha),
        candidates=int(moments.sx.shape[1]),
    )


def _own_weights(
    replicates: GramStack, selections: list[np.ndarray], alpha: float
) -> list[np.ndarray]:
    """Each replicate's ridge weights on its own selection (one batched solve when the
    selections are the same size, as every method but lasso_path makes them)."""
    sizes = {len(sel) for sel in selections}
    if len(sizes) == 1 and sizes != {0}:
        picked = np.asarray(selections)
        rows = np.arange(len(selections))
        gram = replicates.gram[rows[:, None, None], picked[:, :, None], picked[:, None, :]]
        rhs = replicates.xy[rows[:, None], picked]
        eye = alpha * np.eye(picked.shape[1])
        return list(np.linalg.solve(gram + eye, rhs[..., None])[..., 0])
    return [
        replicates.problem(r).solve(sel, alpha) if len(sel) else np.zeros(0)
        for r, sel in enumerate(selections)
    ]


def selection_variance(own: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """(k,) the variance a weight gains from other draws selecting other features.

    ``own``: replicate weights on each replicate's own selection (NaN where the
    feature was not selected: such a draw would not report it); ``fixed``: on
    the explanation's selection. Paired over the same replicates, the excess
    of the first spread over the second (never below 0); the sandwich error is
    for a fixed selection and misses it (measured on texts whose many similar
    words change places: 67% coverage where it is 95% with every word kept).
    """
    kept = ~np.isnan(own)
    count = kept.sum(axis=0)

    def spread(values: np.ndarray) -> np.ndarray:
        # Variance over the replicates where the feature was kept (ddof 1), all at once.
        filled = np.where(kept, values, 0.0)
        mean = filled.sum(axis=0) / np.maximum(count, 1)
        return (np.where(kept, values - mean, 0.0) ** 2).sum(axis=0) / np.maximum(count - 1, 1)

    extra = np.clip(spread(own) - spread(fixed), 0.0, None)
    extra[count < 5] = 0.0
    return extra


def _held_out_score(moments: BlockMoments, features: np.ndarray, alpha: float) -> float | None:
    train = np.ones(BLOCKS)
    train[-HELD_OUT_BLOCKS:] = 0.0
    test = 1.0 - train
    fitted = moments.gram(train)
    coef = fitted.solve(features, alpha)
    # In the shifted units of the moments below.
    intercept = fitted.y_mean - moments.shift - float(fitted.x_mean[features] @ coef)
    # Kernel-weighted squared error of that fit on the held-out blocks, from their moments.
    sw, sy, syy = float(test @ moments.sw), float(test @ moments.sy), float(test @ moments.syy)
    sx = (test @ moments.sx)[features]
    sxx = np.tensordot(test, moments.sxx, axes=1)[np.ix_(features, features)]
    sxy = (test @ moments.sxy)[features]
    sse = (
        syy
        - 2 * intercept * sy
        - 2 * coef @ sxy
        + intercept**2 * sw
        + 2 * intercept * coef @ sx
        + coef @ sxx @ coef
    )
    sst = syy - sy**2 / sw if sw > 0 else 0.0
    if sst <= 1e-12 * max(syy, 1.0):
        return None  # the model is flat on the held-out samples: R² says nothing
    return float(1.0 - sse / sst)
