"""Gradient-boosting objects that do not speak scikit-learn, made to.

A bare ``xgboost.Booster`` (its ``predict`` wants a DMatrix), a bare
``lightgbm.Booster`` (its ``predict`` gives probabilities, or values, with no
``predict_proba``) and any CatBoost model (it reports no ``n_features_in_``
after loading) become the wrappers of their format modules, which read the
objective, feature names and categorical columns from the model. Anything else
is returned as it is. No framework is imported here: an object of one is
recognised by its class's module.
"""

from __future__ import annotations

from typing import Any


def adapt_native(model: Any) -> Any:
    """``model``, or the scikit-learn-like wrapper its framework needs (see the module)."""
    cls = type(model)
    framework = cls.__module__.partition(".")[0]
    if framework == "xgboost" and cls.__name__ == "Booster":
        from limecli.model.xgboost_format import wrap_booster

        return wrap_booster(model)
    if framework == "lightgbm" and cls.__name__ == "Booster":
        from limecli.model.lightgbm_format import wrap_booster as wrap_lightgbm

        return wrap_lightgbm(model)
    if framework == "catboost" and hasattr(model, "get_cat_feature_indices"):
        from limecli.model.catboost_format import wrap_catboost

        return wrap_catboost(model)
    return model


def declared_mode(model: Any, mode: str | None) -> str | None:
    """``mode``, else "regression" for a wrapper that says it is a regressor.

    A regressor's values are never read as class labels, whatever they look like
    (a count model's whole numbers); a classifier has ``predict_proba``.
    """
    if mode is None and getattr(model, "_estimator_type", None) == "regressor":
        return "regression"
    return mode
