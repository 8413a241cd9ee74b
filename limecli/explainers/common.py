"""Pieces every explainer shares: label choice, the prediction record, surrogate fits per label."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from limecli.errors import FlatOutputWarning, ParameterError
from limecli.explanation import FeatureWeight, LabelExplanation
from limecli.model.predictor import Predictor

if TYPE_CHECKING:
    from limecli.block_moments import FeatureMoments, MomentsCache
    from limecli.explainers.wide import WideFeatures


def choose_labels(
    predictor: Predictor,
    first_output: np.ndarray,
    labels: Sequence[str | int] | None,
    top_labels: int | None,
) -> list[int]:
    """Indices of the output columns to explain.

    Classification: the named ``labels`` (class name or index), then the
    ``top_labels`` most probable; by default the predicted class.
    Regression: the single output.
    """
    n_out = first_output.shape[0]
    if predictor.mode == "regression":
        return [0]
    names = predictor.output_names(n_out)
    chosen: list[int] = []
    for label in labels or ():
        idx = resolve_label(label, names)
        if idx not in chosen:
            chosen.append(idx)
    if top_labels:
        order = np.lexsort((np.arange(n_out), -first_output))
        for idx in order[:top_labels]:
            if int(idx) not in chosen:
                chosen.append(int(idx))
    if not chosen:
        chosen.append(int(np.argmax(first_output)))
    return chosen


def resolve_label(label: str | int, names: Sequence[str]) -> int:
    text = str(label)
    if text in names:
        return list(names).index(text)
    if text.lstrip("-").isdigit():
        idx = int(text)
        if 0 <= idx < len(names):
            return idx
    shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
    raise ParameterError(f"unknown label {text!r}: the model's labels are {shown}")


def prediction_record(predictor: Predictor, first_output: np.ndarray) -> dict[str, Any]:
    names = predictor.output_names(first_output.shape[0])
    if predictor.mode == "regression":
        return {"value": float(first_output[0])}
    best = int(np.argmax(first_output))
    return {
        "label": names[best],
        "probabilities": {name: float(p) for name, p in zip(names, first_output, strict=True)},
    }


@dataclass(frozen=True)
class Prepared:
    """What the fits need of the samples alone (not of the model's answers): their kernel
    weights and the label-independent moments. Computable while the model runs."""

    weights: np.ndarray
    moments: FeatureMoments | WideFeatures | None


def prepare_labels(
    data: np.ndarray,
    weights: np.ndarray,
    num_features: int | str,
    feature_selection: str,
    cache: MomentsCache | None = None,
) -> Prepared:
    """The label-independent half of :func:`explain_labels`, computed once for every label
    (wide data: one Gram matrix instead of 20 per-block ones, see explainers.wide)."""
    from limecli.block_moments import BLOCKS, FeatureMoments
    from limecli.explainers.wide import WideFeatures, use_wide
    from limecli.surrogate import usable_weights

    weights = usable_weights(weights)
    moments: FeatureMoments | WideFeatures | None = None
    if use_wide(data.shape, num_features, feature_selection):
        moments = WideFeatures(data, weights)
    elif data.shape[0] >= 5 * BLOCKS:
        moments = FeatureMoments(data, weights) if cache is None else cache.moments(data, weights)
    return Prepared(weights, moments)


def explain_labels(
    predictor: Predictor,
    data: np.ndarray,
    outputs: np.ndarray,
    weights: np.ndarray,
    label_indices: Sequence[int],
    num_features: int | str,
    feature_selection: str,
    describe: Callable[[int], FeatureWeight],
    cache: MomentsCache | None = None,
    prepared: Prepared | None = None,
) -> list[LabelExplanation]:
    """Fit one surrogate per label; ``describe(j)`` builds feature j's record (weight 0).

    Each label also gets its stability under resampling and a held-out fidelity
    (see :mod:`limecli.stability`); each feature its weight's 95% interval.
    ``cache``: kept across the passes of "auto", whose later samples extend
    the earlier ones (their moments are extended, not recomputed).
    ``prepared``: :func:`prepare_labels` of these data and weights, if already made.
    """
    from limecli.surrogate import single_threaded_blas

    names = predictor.output_names(outputs.shape[1])
    with single_threaded_blas():
        if prepared is None:
            prepared = prepare_labels(data, weights, num_features, feature_selection, cache)
        return [
            _explain_label(
                data,
                outputs,
                prepared.weights,
                idx,
                names,
                num_features,
                feature_selection,
                describe,
                prepared.moments,
            )
            for idx in label_indices
        ]


def _explain_label(
    data: np.ndarray,
    outputs: np.ndarray,
    weights: np.ndarray,
    idx: int,
    names: list[str],
    num_features: int | str,
    feature_selection: str,
    describe: Callable[[int], FeatureWeight],
    shared: FeatureMoments | WideFeatures | None,
) -> LabelExplanation:
    from limecli.explainers.wide import WideFeatures, fit_and_assess_wide
    from limecli.stability import fit_and_assess
    from limecli.uncertainty import is_flat

    target = outputs[:, idx]
    if is_flat(target):
        return _flat_label(names[idx], idx, target, len(data))
    if isinstance(shared, WideFeatures):
        fit, check = fit_and_assess_wide(
            data, target, weights, num_features, feature_selection, shared
        )
    else:
        fit, check = fit_and_assess(
            data, target, weights, num_features, feature_selection, features=shared
        )
    features = []
    told_apart = np.zeros(0, dtype=bool) if check is None else check.distinguishable(fit.weights)
    for rank, (j, w) in enumerate(zip(fit.features, fit.weights, strict=True)):
        record = describe(int(j))
        record.weight = float(w)
        if check is not None:
            record.extra["ci95"] = [float(v) for v in check.ci95[rank]]
            record.extra["std_error"] = float(check.std_error[rank])
            record.extra["distinguishable_from_zero"] = bool(told_apart[rank])
        features.append(record)
    return LabelExplanation(
        label=names[idx],
        label_index=int(idx),
        intercept=fit.intercept,
        score=fit.score,
        local_prediction=fit.local_prediction,
        model_prediction=float(outputs[0, idx]),
        features=features,
        held_out_score=None if check is None else check.held_out_score,
        stability=None if check is None else check.to_dict(),
    )


def _flat_label(label: str, idx: int, target: np.ndarray, count: int) -> LabelExplanation:
    """A label whose output never moves: nothing to explain, and said so."""
    import warnings

    value = float(target[0])
    warnings.warn(
        FlatOutputWarning(
            f"the model's output for {label!r} does not change over the {count} perturbed "
            f"samples (about {value:.4g} everywhere): there is nothing to explain"
        ),
        stacklevel=4,
    )
    return LabelExplanation(
        label=label,
        label_index=int(idx),
        intercept=value,
        score=None,
        local_prediction=value,
        model_prediction=value,
        features=[],
        flat=True,
    )


def validate_common(
    num_samples: Any, num_features: Any, top_labels: Any, feature_selection: Any
) -> None:
    from limecli.config import FEATURE_SELECTIONS
    from limecli.validation import check_choice, check_int, check_sample_memory

    check_int("num_samples", num_samples, min_value=2)
    # A bound for any input (one feature): a count no machine holds is refused before the
    # model or the data are touched; each kind checks again once it knows its features.
    check_sample_memory(num_samples, 1)
    if num_features != "auto":
        ok = isinstance(num_features, (int, np.integer)) and not isinstance(num_features, bool)
        if not ok or num_features < 1:
            raise ParameterError(
                "The 'num_features' parameter must be an int >= 1 or 'auto'. "
                f"Got {num_features!r} instead.",
                parameters=("num_features",),
            )
    if top_labels is not None:
        check_int("top_labels", top_labels, min_value=1)
    check_choice("feature_selection", feature_selection, FEATURE_SELECTIONS)
