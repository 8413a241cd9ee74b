"""What a fitted model says about its categorical columns, so samples reach it as it was fitted.

A model fitted on pandas ``category`` columns wants them back as ``category``
with the same categories (LightGBM refuses anything else: "train and valid
dataset categorical_feature do not match"; XGBoost refuses text columns).
From a DataFrame the training dtypes say it; from a CSV there are none, so the
model is asked: LightGBM's ``pandas_categorical`` with its categorical column
indices, XGBoost's stored categories. What a model does not say is left as read.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from typing import Any

from limecli.model.predictor import Predictor


def declared_categories(predictor: Predictor, columns: Sequence[str]) -> dict[str, list[Any]]:
    """Column -> the categories the model was fitted with, for the columns it declares categorical."""
    estimator = getattr(predictor.fn, "__self__", None)
    if estimator is None:
        return {}
    found: dict[str, list[Any]] = {}
    with contextlib.suppress(Exception):  # a model's self-description is a bonus, never a failure
        found = _lightgbm(estimator) or _xgboost(estimator)
    return {c: cats for c, cats in found.items() if c in set(columns)}


def _lightgbm(estimator: Any) -> dict[str, list[Any]]:
    booster = getattr(estimator, "booster_", None)
    if booster is None and hasattr(estimator, "pandas_categorical"):
        booster = estimator  # a bare lightgbm.Booster
    categories = getattr(booster, "pandas_categorical", None)
    if booster is None or not categories:
        return {}
    names = list(booster.feature_name())
    indices = (getattr(booster, "params", None) or {}).get("categorical_column")
    if indices is None:
        match = re.search(r"\[categorical_feature: ([0-9,]*)\]", booster.model_to_string())
        indices = [int(i) for i in match.group(1).split(",") if i] if match else []
    # pandas_categorical lists the category columns in order; with other (integer)
    # categorical columns mixed in, the pairing is unknown: say nothing then.
    if len(indices) != len(categories):
        return {}
    return {names[int(i)]: list(c) for i, c in zip(indices, categories, strict=True)}


def _xgboost(estimator: Any) -> dict[str, list[Any]]:
    get_booster = getattr(estimator, "get_booster", None)
    if get_booster is None:
        return {}
    stored = get_booster().get_categories(export_to_arrow=True).to_arrow()
    return {name: array.to_pylist() for name, array in stored if array is not None}
