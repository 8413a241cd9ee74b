"""One explanation of each kind, computed once per test process, for the output tests.

Tabular (two labels, with intervals and stability), text (two labels), image (two
labels, with pixels), a regression, and a hand-made record with a flat label.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from conftest import SAMPLE_DATA, SAMPLE_MODELS

from limecli import explain_image, explain_tabular, explain_text, load_model
from limecli.explanation import Explanation, FeatureWeight, ImageExplanation, LabelExplanation


@cache
def tabular() -> Explanation:
    return explain_tabular(
        load_model(SAMPLE_MODELS / "breast_cancer_rf.joblib"),
        SAMPLE_DATA / "breast_cancer_test.csv",
        12,
        training=SAMPLE_DATA / "breast_cancer_train.csv",
        seed=0,
        num_samples=1000,
        top_labels=2,
    )


@cache
def text() -> Explanation:
    return explain_text(
        load_model(SAMPLE_MODELS / "text_newsgroups.joblib"),
        (SAMPLE_DATA / "text" / "leak_post.txt").read_text(encoding="utf-8"),
        seed=0,
        num_samples=600,
        num_features=4,
        top_labels=2,
    )


def red_square_model(batch: np.ndarray) -> np.ndarray:
    """'red' as likely as the 24x24 centre of a 48x48 picture is red; 'other' the rest."""
    red = np.asarray(batch, dtype=float)[:, 12:36, 12:36, 0].mean(axis=(1, 2))
    p = np.clip(red, 0, 1)
    return np.column_stack([1 - p, p])


@cache
def image() -> ImageExplanation:
    yy, xx = np.mgrid[:48, :48]
    picture = np.full((48, 48, 3), 90, dtype=np.uint8)
    picture[12:36, 12:36] = [200, 40, 40]
    segments = (yy // 12) * 4 + xx // 12
    return explain_image(
        red_square_model,
        picture,
        segments=segments,
        hide_color=0,
        num_samples=400,
        seed=0,
        top_labels=2,
        class_names=["other", "red"],
    )


@cache
def regression() -> Explanation:
    return explain_tabular(
        load_model(SAMPLE_MODELS / "diabetes_rf.joblib"),
        SAMPLE_DATA / "diabetes_test.csv",
        3,
        training=SAMPLE_DATA / "diabetes_train.csv",
        seed=0,
        num_samples=800,
        num_features=5,
    )


def with_flat_label() -> Explanation:
    """A hand-made record: one label explained by two features, one flat label."""
    features = [
        FeatureWeight(
            "income > 5",
            "income",
            7.5,
            0.3,
            {"ci95": [0.2, 0.4], "std_error": 0.05, "distinguishable_from_zero": True},
        ),
        FeatureWeight(
            "debt <= 1",
            "debt",
            0.5,
            -0.05,
            {"ci95": [-0.12, 0.02], "std_error": 0.035, "distinguishable_from_zero": False},
        ),
    ]
    stability = {
        "replicates": 20,
        "settled_top": 1,
        "top_k_change_probability": 0.4,
        "top_k_mean_jaccard": 0.8,
    }
    live = LabelExplanation("yes", 1, 0.1, 0.6, 0.7, 0.72, features, 0.5, stability)
    flat = LabelExplanation("maybe", 2, 0.0, None, 0.0, 0.0, [], flat=True)
    return Explanation(
        kind="tabular",
        mode="classification",
        input={"source": "loans.csv", "row": 4},
        prediction={"label": "yes", "probabilities": {"no": 0.28, "yes": 0.72, "maybe": 0.0}},
        labels=[live, flat],
        params={"num_samples": 100, "num_features": 2, "seed": 0},
        meta={"model": "m.joblib", "versions": {}},
    )


ALL = {
    "tabular": tabular,
    "text": text,
    "image": image,
    "regression": regression,
    "flat": with_flat_label,
}
