"""Explanation.to_frame() and limecli.explanations_to_frame(): R lime's long table, from the JSON.

Every cell is checked against the explanation's own JSON (``to_json``), read back
independently of limecli.render.frame, for each kind of explanation.
"""

from __future__ import annotations

import json
import math
from typing import Any

import kinds
import pandas as pd
import pytest

import limecli
from limecli import explanations_to_frame
from limecli.explanation import Explanation

#: R lime's columns, in R's order.
R_COLUMNS = [
    "model_type",
    "case",
    "label",
    "label_prob",
    "model_r2",
    "model_intercept",
    "model_prediction",
    "feature",
    "feature_value",
    "feature_weight",
    "feature_desc",
]
OBJECT_COLUMNS = ("case", "source", "feature", "feature_value")
TRUST_COLUMNS = [
    "ci95_low",
    "ci95_high",
    "std_error",
    "distinguishable_from_zero",
    "settled_top",
    "top_k_change_probability",
    "top_k_mean_jaccard",
    "replicates",
]


def expected_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows the JSON record says the table must hold (written from the JSON contract)."""
    identity = doc["input"]
    position = identity.get("row", identity.get("index"))
    case = position if position is not None else identity["source"]
    probabilities = doc["prediction"].get("probabilities")
    rows = []
    for lab in doc["labels"]:
        stability = lab["stability"] or {}
        head = {
            "model_type": doc["mode"],
            "case": case,
            "source": identity["source"],
            "label": lab["label"],
            # R's label_prob: the model's own output for the label.
            "label_prob": (
                probabilities[lab["label"]] if probabilities else doc["prediction"]["value"]
            ),
            "model_r2": lab["score"],
            "model_held_out_r2": lab["held_out_score"],
            "model_intercept": lab["intercept"],
            # R's model_prediction: the surrogate's prediction at the input.
            "model_prediction": lab["local_prediction"],
            "settled_top": stability.get("settled_top"),
            "top_k_change_probability": stability.get("top_k_change_probability"),
            "top_k_mean_jaccard": stability.get("top_k_mean_jaccard"),
            "replicates": stability.get("replicates"),
            "flat": lab["flat"],
            "kind": doc["kind"],
        }
        empty = dict.fromkeys(
            [
                "feature_rank",
                "feature",
                "feature_value",
                "feature_weight",
                "feature_desc",
                "ci95_low",
                "ci95_high",
                "std_error",
                "distinguishable_from_zero",
            ]
        )
        if not lab["features"]:
            rows.append({**head, **empty})
        for rank, feat in enumerate(lab["features"], start=1):
            low, high = feat.get("ci95") or (None, None)
            rows.append(
                {
                    **head,
                    "feature_rank": rank,
                    "feature": feat["feature"],
                    "feature_value": feat["value"],
                    "feature_weight": feat["weight"],
                    "feature_desc": feat["name"],
                    "ci95_low": low,
                    "ci95_high": high,
                    "std_error": feat.get("std_error"),
                    "distinguishable_from_zero": feat.get("distinguishable_from_zero"),
                }
            )
    return rows


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def assert_matches_json(frame: pd.DataFrame, explanations: list[Explanation]) -> None:
    expected = [r for e in explanations for r in expected_rows(json.loads(e.to_json()))]
    assert len(frame) == len(expected)
    for i, want in enumerate(expected):
        got = frame.iloc[i]
        for column, value in want.items():
            cell = got[column]
            if _missing(value):
                assert _missing(cell), (i, column, cell)
            else:
                assert not _missing(cell), (i, column)
                assert cell == value, (i, column, cell, value)
                if column in OBJECT_COLUMNS:  # kept as the JSON has them: an id stays an int
                    assert type(cell) is type(value), (i, column, cell, value)


@pytest.mark.parametrize("kind", sorted(kinds.ALL))
def test_to_frame_matches_the_json(kind: str) -> None:
    exp = kinds.ALL[kind]()
    frame = exp.to_frame()
    assert list(frame.columns[:9]) == [
        "model_type",
        "case",
        "source",
        "label",
        "label_prob",
        "model_r2",
        "model_held_out_r2",
        "model_intercept",
        "model_prediction",
    ]
    assert [c for c in frame.columns if c in R_COLUMNS] == R_COLUMNS  # R's order
    assert set(TRUST_COLUMNS) <= set(frame.columns)
    assert_matches_json(frame, [exp])


@pytest.mark.parametrize("kind", ["tabular", "text", "image", "regression"])
def test_the_surrogate_prediction_is_its_intercept_plus_the_weights(kind: str) -> None:
    """At the input every interpretable feature is present (1): R's model_prediction is the
    intercept plus the sum of the weights; label_prob is the model's own output."""
    exp = kinds.ALL[kind]()
    frame = exp.to_frame()
    for label, rows in frame.groupby("label", sort=False):
        total = rows.model_intercept.iloc[0] + rows.feature_weight.sum()
        assert rows.model_prediction.iloc[0] == pytest.approx(total, rel=1e-9, abs=1e-12)
        model = exp.label(str(label)).model_prediction
        assert (rows.label_prob == model).all()
    if kind == "regression":
        assert (frame.label_prob == exp.prediction["value"]).all()
    else:
        probabilities = exp.prediction["probabilities"]
        assert (frame.label_prob == frame.label.map(probabilities)).all()


def test_ints_stay_ints_beside_a_flat_label() -> None:
    """Image features are superpixel ids: an empty cell in the column must not make them floats."""
    exp = kinds.image()
    flat = kinds.with_flat_label().labels[1]
    both = Explanation.from_dict(exp.to_dict())
    both.labels.append(flat)
    frame = both.to_frame()
    ids = frame.feature[frame.label != "maybe"].tolist()
    assert ids and all(type(v) is int for v in ids)
    row = frame[frame.label == "maybe"]
    assert len(row) == 1 and row.flat.item() and _missing(row.feature.item())
    assert _missing(row.model_r2.item()) and _missing(row.feature_weight.item())


def test_many_explanations_in_one_frame() -> None:
    explanations = [kinds.ALL[k]() for k in ("tabular", "text", "image", "regression", "flat")]
    frame = explanations_to_frame(explanations)
    assert_matches_json(frame, explanations)
    sizes = [sum(max(len(lab.features), 1) for lab in e.labels) for e in explanations]
    assert frame.groupby("kind", sort=False).size().sum() == sum(sizes) == len(frame)
    assert str(frame.feature_weight.dtype) == "float64"
    assert str(frame.settled_top.dtype) == "Int64"
    assert str(frame.distinguishable_from_zero.dtype) == "boolean"
    # A generator works too, and nothing gives an empty table with the same columns.
    assert explanations_to_frame(iter(explanations)).equals(frame)
    empty = explanations_to_frame([])
    assert len(empty) == 0 and list(empty.columns) == list(frame.columns)


def test_the_function_is_public() -> None:
    assert "explanations_to_frame" in limecli.__all__
    assert limecli.explanations_to_frame is explanations_to_frame
