"""Explanations as one tidy pandas DataFrame, in the long form R's lime returns.

One row per explanation x label x feature, with the column names R's ``lime``
users know (``case``, ``label``, ``label_prob``, ``model_r2``,
``model_intercept``, ``model_prediction``, ``feature``, ``feature_value``,
``feature_weight``, ``feature_desc``) and then limecli's trust figures: each
weight's 95% interval, standard error and whether it is told apart from 0, and
the label's stability under resampling.

What the columns hold, as R's lime has them:

* ``label_prob``: the model's output for the label at the explained input (the
  class probability; for a regression, the predicted value).
* ``model_prediction``: the surrogate's local prediction at the input (not the
  model's: that is ``label_prob``).
* ``model_r2``: the surrogate's weighted R² on its samples (NaN when the label is
  flat); ``model_held_out_r2`` the same on samples it was not fitted on.
* ``case``: the input's row (tabular) or index (texts of a table or list), else its
  source (a file name). ``source`` is there too, to tell rows of different files apart.
* ``feature``: what the feature is about (column, word, superpixel id);
  ``feature_desc``: its condition as written in the explanation
  ("worst area > 1031.5"); ``feature_rank``: 1 for the strongest.

A label with no feature (its output was flat, or no weight was told apart from 0)
keeps one row, with the feature columns empty (NaN), so no input vanishes from
the table; ``flat`` says which case it is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from limecli.inputs.ref import InputRef

if TYPE_CHECKING:
    import pandas as pd

    from limecli.explanation import Explanation, FeatureWeight, LabelExplanation

#: The columns, in order: R's lime first, then limecli's trust figures.
COLUMNS = (
    "model_type",
    "case",
    "source",
    "label",
    "label_prob",
    "model_r2",
    "model_held_out_r2",
    "model_intercept",
    "model_prediction",
    "feature_rank",
    "feature",
    "feature_value",
    "feature_weight",
    "feature_desc",
    "ci95_low",
    "ci95_high",
    "std_error",
    "distinguishable_from_zero",
    "settled_top",
    "top_k_change_probability",
    "top_k_mean_jaccard",
    "replicates",
    "flat",
    "kind",
)

_FLOATS = (
    "label_prob",
    "model_r2",
    "model_held_out_r2",
    "model_intercept",
    "model_prediction",
    "feature_weight",
    "ci95_low",
    "ci95_high",
    "std_error",
    "top_k_change_probability",
    "top_k_mean_jaccard",
)
_COUNTS = ("feature_rank", "settled_top", "replicates")
_TEXTS = ("model_type", "label", "feature_desc", "kind")


def explanations_to_frame(explanations: Iterable[Explanation]) -> pd.DataFrame:
    """A tidy long DataFrame: one row per explanation x label x feature (see the module doc).

    >>> frame = explanations_to_frame([exp1, exp2])
    >>> frame[frame.label == "malignant"].groupby("feature").feature_weight.mean()
    """
    import pandas as pd

    rows = [row for e in explanations for row in explanation_rows(e)]
    # Built as objects, so a column of ints with an empty cell (a flat label's feature) keeps
    # its ints, and mixed values (a row's numbers and categories) stay as the JSON has them.
    frame = pd.DataFrame(rows, columns=list(COLUMNS), dtype=object)
    for name in _TEXTS:
        frame[name] = frame[name].infer_objects()
    for name in _FLOATS:
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    for name in _COUNTS:
        frame[name] = frame[name].astype("Int64")
    frame["distinguishable_from_zero"] = frame["distinguishable_from_zero"].astype("boolean")
    frame["flat"] = frame["flat"].astype(bool)
    return frame


def explanation_rows(e: Explanation) -> list[dict[str, Any]]:
    """The rows of one explanation, as dicts keyed by :data:`COLUMNS`."""
    ref = InputRef.from_dict(e.input)
    case = ref.position if ref.position is not None else ref.source
    rows = []
    for lab in e.labels:
        head = {
            "model_type": e.mode,
            "case": case,
            "source": ref.source,
            "label": lab.label,
            "label_prob": lab.model_prediction,
            "model_r2": lab.score,
            "model_held_out_r2": lab.held_out_score,
            "model_intercept": lab.intercept,
            "model_prediction": lab.local_prediction,
            **_stability(lab),
            "flat": lab.flat,
            "kind": e.kind,
        }
        if not lab.features:
            rows.append(head)
        for rank, feat in enumerate(lab.features, start=1):
            rows.append({**head, **_feature(feat, rank)})
    return rows


def _feature(feat: FeatureWeight, rank: int) -> dict[str, Any]:
    low, high = _bounds(feat.extra.get("ci95"))
    return {
        "feature_rank": rank,
        "feature": feat.feature,
        "feature_value": feat.value,
        "feature_weight": feat.weight,
        "feature_desc": feat.name,
        "ci95_low": low,
        "ci95_high": high,
        "std_error": feat.extra.get("std_error"),
        "distinguishable_from_zero": feat.extra.get("distinguishable_from_zero"),
    }


def _bounds(ci: Any) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in ci)
    except (TypeError, ValueError):
        return math.nan, math.nan
    return low, high


def _stability(lab: LabelExplanation) -> dict[str, Any]:
    stability = lab.stability or {}
    return {
        name: stability.get(name)
        for name in ("settled_top", "top_k_change_probability", "top_k_mean_jaccard", "replicates")
    }
