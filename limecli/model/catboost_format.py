"""CatBoost models (``.cbm`` from ``save_model``; extra ``limecli[catboost]``) and pickles.

The file is loaded as a ``catboost.CatBoost`` and wrapped as
:class:`CatBoostModel`, which speaks like a scikit-learn estimator. The loss
function recorded in the file decides what it answers: ``Logloss``,
``CrossEntropy``, ``MultiClass`` and ``MultiClassOneVsAll`` give class
probabilities (``prediction_type="Probability"``) named by the class names the
model records; any other loss gives a value per row (the exponent for
``Poisson``/``Tweedie``, as ``CatBoostRegressor.predict`` does), explained as a
regression.

The feature names and categorical features are read from the model: an
unpickled or loaded CatBoost model reports no ``n_features_in_`` (0), so without
this limecli would not know its columns. A model fitted on a DataFrame is given
one in its column order; its categorical columns are handed over as text (a
whole number read as ``1.0`` becomes ``"1"``), which is what CatBoost takes. A
model fitted on an array (names ``"0"``, ``"1"`` ...) takes the columns in order.
Loading a ``.cbm`` runs no code from the file; a pickled model
(:mod:`limecli.model.pickled`) is wrapped the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from limecli.model.files import import_framework, is_default_names, load_error, named_table

CATBOOST_SUFFIXES = (".cbm",)

_CLASSIFICATION_LOSSES = ("Logloss", "CrossEntropy", "MultiClass", "MultiClassOneVsAll")


def open_catboost(path: Path) -> CatBoostModel:
    """The model a ``.cbm`` file holds, wrapped (see the module docstring)."""
    catboost = import_framework("catboost", path, "CatBoost .cbm")
    model = catboost.CatBoost()
    try:
        model.load_model(str(path))
    except Exception as e:
        raise load_error(path, "a CatBoost model", e) from e
    return wrap_catboost(model)


def wrap_catboost(model: Any) -> CatBoostModel:
    """A classifier or a regressor over a fitted CatBoost model, as its loss says."""
    loss = str(model.get_all_params().get("loss_function", "RMSE")).split(":")[0]
    if loss in _CLASSIFICATION_LOSSES:
        return CatBoostClassifierModel(model, loss)
    return CatBoostModel(model, loss)


class CatBoostModel:
    """A CatBoost model as a scikit-learn-like regressor with its real feature columns."""

    #: scikit-learn\'s convention: what the model is, so its mode is never guessed
    _estimator_type = "regressor"

    def __init__(self, model: Any, loss: str) -> None:
        self.model = model
        self.loss = loss
        self.names = [str(n) for n in model.feature_names_]
        self.n_features_in_ = len(self.names)
        default = is_default_names(self.names, "{i}")
        self.feature_names_in_ = None if default else np.array(self.names, dtype=object)
        #: the categorical columns, by name
        self.categorical_ = [self.names[i] for i in model.get_cat_feature_indices()]

    def _input(self, batch: Any) -> Any:
        frame = named_table(batch, self.names).copy()
        for column in self.categorical_:
            frame[column] = [_category_text(v) for v in frame[column]]
        return frame

    def predict(self, batch: Any) -> np.ndarray:
        kind = "Exponent" if self.loss in ("Poisson", "Tweedie") else "RawFormulaVal"
        return np.asarray(self.model.predict(self._input(batch), prediction_type=kind))


class CatBoostClassifierModel(CatBoostModel):
    """A classification model: ``predict_proba`` gives one column per class."""

    _estimator_type = "classifier"

    def __init__(self, model: Any, loss: str) -> None:
        super().__init__(model, loss)
        classes = getattr(model, "classes_", None)
        if classes is None or len(classes) == 0:
            classes = model.get_all_params().get("class_names") or [0, 1]
        self.classes_ = np.asarray(classes)

    def predict_proba(self, batch: Any) -> np.ndarray:
        return np.asarray(self.model.predict(self._input(batch), prediction_type="Probability"))

    def predict(self, batch: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(batch), axis=1)]


def _category_text(value: Any) -> Any:
    """A categorical cell as CatBoost takes it: text, or a whole number as an integer's text."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)
