"""In-memory models as a :class:`Predictor`: a fitted estimator, a callable, or a Predictor."""

from __future__ import annotations

from typing import Any

from limecli.errors import ModelLoadError
from limecli.model.predictor import Predictor


def as_predictor(model: Any, mode: str | None = None) -> Predictor:
    """Accept a Predictor, a fitted estimator or a plain callable.

    A Predictor is returned as it is; ``mode`` only fills in a mode it does not
    know yet (a script's Predictor learns it from its first answer otherwise).
    """
    if isinstance(model, Predictor):
        if mode is not None and model.mode is None:
            model.mode = mode
        return model
    return wrap_model(model, mode=mode, source=type(model).__name__)


def wrap_model(model: Any, *, mode: str | None = None, source: str = "<model>") -> Predictor:
    """Wrap an in-memory estimator (anything with predict_proba/predict) as a Predictor."""
    if callable(model) and not hasattr(model, "predict") and not hasattr(model, "predict_proba"):
        return Predictor(model, mode=mode, source=source)
    has_proba = hasattr(model, "predict_proba")
    has_predict = hasattr(model, "predict")
    if mode is None:
        if has_proba:
            mode = "classification"
        elif has_predict:
            mode = "regression"
    if mode == "classification" and not has_proba:
        if has_predict:
            raise ModelLoadError(
                f"{source}: {type(model).__name__} has no predict_proba, so it cannot be "
                "explained in classification mode (use 'mode' regression to explain predict)",
                parameters=("mode",),
            )
        raise ModelLoadError(f"{source}: {type(model).__name__} has no predict_proba or predict")
    if mode is None or (mode == "regression" and not has_predict):
        raise ModelLoadError(
            f"{source}: {type(model).__name__} has no predict_proba or predict method"
        )
    fn = model.predict_proba if mode == "classification" else model.predict
    class_names = None
    if mode == "classification" and hasattr(model, "classes_"):
        class_names = [str(c) for c in model.classes_]
    feature_names = getattr(model, "feature_names_in_", None)
    return Predictor(
        fn,
        mode=mode,
        class_names=class_names,
        feature_names=[str(f) for f in feature_names] if feature_names is not None else None,
        source=source,
    )
