"""LightGBM model files (``.txt`` from ``Booster.save_model``; extra ``limecli[lightgbm]``).

The file is loaded as a ``lightgbm.Booster`` and wrapped as
:class:`LightGBMModel`, which speaks like a scikit-learn estimator; the
objective recorded in the file decides what it answers:

* ``multiclass``: the class probabilities ``Booster.predict`` returns;
  ``multiclassova``: its one-vs-all probabilities, as they are (they need not
  sum to 1, as with ``LGBMClassifier``);
* ``binary``: the two columns ``[1 - p, p]``;
* anything else (``regression``, ``poisson``, ``cross_entropy``, ranking, a
  custom objective): a value per row, explained as a regression.

Feature names come from the file (a model fitted on an array, whose names are
LightGBM's ``Column_0 ...``, gets an array); columns fitted as pandas categories
are handed back as categories with the categories the file records
(``pandas_categorical``), so text read from a CSV reaches the model as it was
fitted. Classes are ``0 .. k-1`` (a ``Booster`` does not record labels; a pickled
``LGBMClassifier`` keeps its own ``classes_``). Loading runs no code from the
file. A pickled ``Booster`` (from :mod:`limecli.model.pickled`) is wrapped the same way.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from limecli.model.files import import_framework, is_default_names, load_error, named_table

LIGHTGBM_SUFFIXES = (".txt",)


def open_lightgbm(path: Path) -> LightGBMModel:
    """The Booster a LightGBM model file holds, wrapped (see the module docstring)."""
    lightgbm = import_framework("lightgbm", path, "LightGBM .txt")
    try:
        booster = lightgbm.Booster(model_file=str(path))
    except Exception as e:
        raise load_error(path, "a LightGBM model", e) from e
    return wrap_booster(booster)


def wrap_booster(booster: Any) -> LightGBMModel:
    """A classifier or a regressor over ``booster``, as its objective says."""
    # The header of one iteration holds the objective and the categorical columns,
    # in LightGBM's own spelling (a trained Booster's params may use aliases).
    header = booster.model_to_string(num_iteration=1)
    found = re.search(r"^objective=(\S+)", header, re.MULTILINE)
    objective = found.group(1) if found else "regression"
    if objective in ("multiclass", "multiclassova", "binary"):
        return LightGBMClassifierModel(booster, objective, header)
    return LightGBMModel(booster, objective, header)


class LightGBMModel:
    """A Booster as a scikit-learn-like regressor: ``predict`` over a DataFrame or an array."""

    #: scikit-learn\'s convention: what the model is, so its mode is never guessed
    _estimator_type = "regressor"

    def __init__(self, booster: Any, objective: str, header: str) -> None:
        self.booster_ = booster
        self.objective = objective
        names = [str(n) for n in booster.feature_name()]
        self.n_features_in_ = len(names)
        default = is_default_names(names, "Column_{i}")
        self.feature_names_in_ = None if default else np.array(names, dtype=object)
        #: column -> the categories it was fitted with (pandas category columns only)
        self.categories_ = {} if default else _categories(booster, names, header)

    def _input(self, batch: Any) -> Any:
        if self.feature_names_in_ is None:
            return np.asarray(batch.to_numpy() if hasattr(batch, "to_numpy") else batch)
        frame = named_table(batch, list(self.feature_names_in_))
        import pandas as pd

        text = {
            c: pd.CategoricalDtype(cats)
            for c, cats in self.categories_.items()
            if frame[c].dtype.name != "category"
        }
        return frame.astype(text) if text else frame

    def predict(self, batch: Any) -> np.ndarray:
        return np.asarray(self.booster_.predict(self._input(batch)))


class LightGBMClassifierModel(LightGBMModel):
    """A classification Booster: ``predict_proba`` gives one column per class."""

    _estimator_type = "classifier"

    def __init__(self, booster: Any, objective: str, header: str) -> None:
        super().__init__(booster, objective, header)
        self.classes_ = np.arange(max(int(booster.num_model_per_iteration()), 2))

    def predict_proba(self, batch: Any) -> np.ndarray:
        out = np.asarray(self.booster_.predict(self._input(batch)), dtype=float)
        if self.objective == "binary":
            p = out.reshape(-1)
            return np.column_stack([1.0 - p, p])
        return out

    def predict(self, batch: Any) -> np.ndarray:
        return np.argmax(self.predict_proba(batch), axis=1)


def _categories(booster: Any, names: list[str], header: str) -> dict[str, list[Any]]:
    """Column -> categories: ``pandas_categorical`` lists them for the category columns in
    order, which are the categorical columns when every one of them was a category."""
    recorded = getattr(booster, "pandas_categorical", None) or []
    found = re.search(r"\[categorical_feature: ([0-9,]*)\]", header)
    indices = [int(i) for i in found.group(1).split(",") if i] if found else []
    if not recorded or len(indices) != len(recorded):
        return {}  # integer-coded categorical columns mixed in: the pairing is unknown
    return {names[i]: list(c) for i, c in zip(indices, recorded, strict=True)}
