"""XGBoost models saved with ``save_model`` (``.json``, ``.ubj``; extra ``limecli[xgboost]``).

The file is loaded as an ``xgboost.Booster`` (whether a ``Booster`` or the
scikit-learn wrapper saved it) and wrapped as :class:`XGBoostModel`, which
speaks like a scikit-learn estimator: the learning objective recorded in the
file decides what it answers.

* ``multi:softprob``: the class probabilities; ``multi:softmax``: the softmax
  of the class margins (its ``predict`` gives only the winning class);
* ``binary:logistic`` (and ``binary:logitraw``, through the sigmoid): the two
  columns ``[1 - p, p]``; ``binary:hinge``: its 0/1 answer as two columns;
* anything else (``reg:*``, ``count:poisson``, ``survival:*``, ``rank:*``): a
  value per row, explained as a regression.

Feature names and categorical features come from the file: a model fitted on a
DataFrame is given one in its column order (text in a categorical column becomes
a pandas category), a model fitted on an array gets an array. Classes are
``0 .. k-1`` (XGBoost learns those labels). Loading runs no code from the file.
A pickled ``Booster`` (from :mod:`limecli.model.pickled`) is wrapped the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from limecli.model.files import import_framework, load_error, named_table

XGBOOST_SUFFIXES = (".json", ".ubj")

_TWO_COLUMNS = ("binary:logistic", "binary:logitraw", "binary:hinge")


def open_xgboost(path: Path) -> XGBoostModel:
    """The Booster a ``save_model`` file holds, wrapped (see the module docstring)."""
    xgboost = import_framework("xgboost", path, "XGBoost " + path.suffix)
    try:
        booster = xgboost.Booster(model_file=str(path))
    except Exception as e:
        raise load_error(path, "an XGBoost model", e) from e
    return wrap_booster(booster)


def wrap_booster(booster: Any) -> XGBoostModel:
    """A classifier or a regressor over ``booster``, as its objective says."""
    learner = json.loads(booster.save_config())["learner"]
    objective = str(learner["objective"]["name"])
    if objective.startswith("multi:") or objective in _TWO_COLUMNS:
        n_classes = max(int(learner["learner_model_param"].get("num_class", 0)), 2)
        return XGBoostClassifierModel(booster, objective, n_classes)
    return XGBoostModel(booster, objective)


class XGBoostModel:
    """A Booster as a scikit-learn-like regressor: ``predict`` over a DataFrame or an array."""

    #: scikit-learn\'s convention: what the model is, so its mode is never guessed
    _estimator_type = "regressor"

    def __init__(self, booster: Any, objective: str) -> None:
        self.booster = booster
        self.objective = objective
        self.n_features_in_ = int(booster.num_features())
        names = booster.feature_names
        self.feature_names_in_ = np.array(names, dtype=object) if names else None
        types = booster.feature_types or []
        self.categorical_ = [n for n, t in zip(names or [], types, strict=False) if t == "c"]

    def get_booster(self) -> Any:
        """The Booster, as the scikit-learn wrapper answers (its categories are read from it)."""
        return self.booster

    def _input(self, batch: Any) -> Any:
        if self.feature_names_in_ is None:
            return np.asarray(batch.to_numpy() if hasattr(batch, "to_numpy") else batch)
        frame = named_table(batch, list(self.feature_names_in_))
        # Text in a categorical column: XGBoost takes pandas categories, and maps
        # them onto the categories it stored by value.
        text = [c for c in self.categorical_ if frame[c].dtype.name != "category"]
        return frame.astype(dict.fromkeys(text, "category")) if text else frame

    def _raw(self, batch: Any, margin: bool = False) -> np.ndarray:
        kind = "margin" if margin else "value"
        return np.asarray(self.booster.inplace_predict(self._input(batch), predict_type=kind))

    def predict(self, batch: Any) -> np.ndarray:
        return self._raw(batch)


class XGBoostClassifierModel(XGBoostModel):
    """A classification Booster: ``predict_proba`` gives one column per class."""

    _estimator_type = "classifier"

    def __init__(self, booster: Any, objective: str, n_classes: int) -> None:
        super().__init__(booster, objective)
        self.classes_ = np.arange(n_classes)

    def predict_proba(self, batch: Any) -> np.ndarray:
        if self.objective == "multi:softmax":
            margins = self._raw(batch, margin=True)
            shifted = np.exp(margins - margins.max(axis=1, keepdims=True))
            return shifted / shifted.sum(axis=1, keepdims=True)
        if self.objective.startswith("multi:"):
            return self._raw(batch)
        p = self._raw(batch).reshape(-1).astype(float)
        if self.objective == "binary:logitraw":
            p = 1.0 / (1.0 + np.exp(-p))
        return np.column_stack([1.0 - p, p])

    def predict(self, batch: Any) -> np.ndarray:
        return np.argmax(self.predict_proba(batch), axis=1)
