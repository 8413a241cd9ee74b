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
    """Wrap an in-memory estimator (anything with predict_proba/predict) as a Predictor.

    ``predict_proba`` is explained unless ``mode`` is regression. A model with
    ``predict`` only is a classifier of hard labels when it is one (``classes_``,
    or scikit-learn says so) or ``mode`` is classification, a regression when it
    is a regressor or ``mode`` says so, and otherwise what its first answer
    shows (see :mod:`limecli.model.answers`): a LightGBM ``Booster``'s class
    probabilities are classification, its values a regression.
    """
    if callable(model) and not hasattr(model, "predict") and not hasattr(model, "predict_proba"):
        return Predictor(model, mode=mode, source=source)
    from limecli.model.native import adapt_native, declared_mode

    # A bare XGBoost/LightGBM Booster or a CatBoost model from Python: as if loaded from a file.
    model = adapt_native(model)
    mode = declared_mode(model, mode)
    name = type(model).__name__
    has_proba = hasattr(model, "predict_proba")
    has_predict = hasattr(model, "predict")
    if not has_proba and not has_predict:
        raise ModelLoadError(f"{source}: {name} has no predict_proba or predict method")
    classes = _classes(model)
    feature_names = getattr(model, "feature_names_in_", None)
    if feature_names is not None:
        feature_names = [str(f) for f in feature_names]
    if mode == "regression" and not has_predict:
        raise ModelLoadError(
            f"{source}: {name} has predict_proba but no predict, so it cannot be explained "
            "in regression mode ('mode'); 'mode' classification explains its probabilities",
            parameters=("mode",),
        )
    if has_proba and mode != "regression":
        return Predictor(
            model.predict_proba,
            mode="classification",
            class_names=None if classes is None else [str(c) for c in classes],
            feature_names=feature_names,
            source=source,
        )
    if mode is None and (classes is not None or _sklearn_type(model) == "classifier"):
        mode = "classification"  # its predict returns class labels
    elif mode is None and _sklearn_type(model) == "regressor":
        mode = "regression"
    if mode == "classification" and classes is None and _sklearn_type(model) == "regressor":
        # A regressor's predict gives values, not class labels: nothing to classify.
        raise ModelLoadError(
            f"{source}: {name} has no predict_proba, so it cannot be explained in "
            "classification mode (use 'mode' regression to explain predict)",
            parameters=("mode",),
        )
    return Predictor(
        model.predict,
        mode=mode,
        class_names=None if classes is None or mode == "regression" else [str(c) for c in classes],
        classes=None if mode == "regression" else classes,
        feature_names=feature_names,
        source=source,
    )


def _classes(model: Any) -> list[Any] | None:
    """The class labels a fitted classifier records (``classes_``), if any."""
    try:
        classes = getattr(model, "classes_", None)
    except Exception:  # a property that fails (e.g. a Pipeline whose last step has none)
        return None
    if classes is None:
        return None
    try:
        return list(classes)
    except TypeError:
        return None


def _sklearn_type(model: Any) -> str | None:
    """'classifier' or 'regressor' when scikit-learn knows the estimator, else None."""
    try:
        from sklearn.base import BaseEstimator, is_classifier, is_regressor
    except ImportError:
        return None
    if not isinstance(model, BaseEstimator):
        return None
    try:
        if is_classifier(model):
            return "classifier"
        if is_regressor(model):
            return "regressor"
    except Exception:  # an estimator whose tags cannot be read: say nothing
        return None
    return None
