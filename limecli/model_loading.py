"""Turn what the user names on the command line into a Predictor.

Two kinds of model spec:

* a pickled model file (``.joblib``, ``.pkl``, ``.pickle``) holding any object
  with ``predict_proba`` (classification) or ``predict`` (regression);
* a predict-script entrypoint ``path/to/script.py:function`` or
  ``package.module:function``: a function taking a batch and returning
  probabilities or values. The script may define ``CLASS_NAMES`` and ``MODE``.

Unpickling runs code from the file: only load models you trust.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from limecli.errors import ModelLoadError, ModelVersionWarning, ParameterError
from limecli.predictor import MODES, Predictor

PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")


def is_entrypoint(spec: str) -> bool:
    """True when ``spec`` looks like ``script.py:function`` or ``package.module:function``."""
    if ":" not in spec or Path(spec).suffix.lower() in PICKLE_SUFFIXES:
        return False
    left, _, right = spec.rpartition(":")
    return bool(left) and right.isidentifier()


def load_model(
    spec: str | Path,
    *,
    mode: str | None = None,
    class_names: Sequence[str] | None = None,
) -> Predictor:
    """Load a model file or predict-script entrypoint as a :class:`Predictor`.

    ``mode`` forces "classification" or "regression"; by default it is inferred
    (``predict_proba`` means classification). ``class_names`` overrides the names
    the model or script carries.
    """
    if mode is not None and mode not in MODES:
        raise ParameterError(
            f"The 'mode' parameter must be one of {MODES!r}. Got {mode!r} instead."
        )
    text = str(spec)
    if is_entrypoint(text):
        predictor = _load_entrypoint(text, mode)
    else:
        predictor = _load_pickle(Path(text), mode)
    if class_names is not None:
        predictor.class_names = list(class_names)
    return predictor


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
                "explained in classification mode (use --mode regression to explain predict)"
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


def _load_pickle(path: Path, mode: str | None) -> Predictor:
    if not path.exists():
        raise ModelLoadError(f"model file not found: {path}")
    if path.is_dir():
        raise ModelLoadError(f"model path is a directory, not a file: {path}")
    if path.suffix.lower() not in PICKLE_SUFFIXES:
        raise ModelLoadError(
            f"cannot load model {path}: expected a {'/'.join(PICKLE_SUFFIXES)} file "
            "or a script entrypoint like predict.py:predict"
        )
    import joblib

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = joblib.load(path)
        except ModuleNotFoundError as e:
            raise ModelLoadError(
                f"cannot load model {path}: it needs the Python module '{e.name}', "
                "which is not installed"
            ) from e
        except Exception as e:
            raise ModelLoadError(
                f"cannot load model {path}: {type(e).__name__}: {_first_line(e)}"
            ) from e
    _reemit_load_warnings(caught, path)
    return wrap_model(model, mode=mode, source=path.name)


def _reemit_load_warnings(caught: list[warnings.WarningMessage], path: Path) -> None:
    """Fold scikit-learn's per-estimator version warnings into one clear warning."""
    versions: set[str] = set()
    estimators: list[str] = []
    for w in caught:
        if type(w.message).__name__ == "InconsistentVersionWarning":
            msg: Any = w.message
            versions.add(str(getattr(msg, "original_sklearn_version", "?")))
            name = str(getattr(msg, "estimator_name", "?"))
            if name not in estimators:
                estimators.append(name)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if estimators:
        import sklearn

        shown = ", ".join(estimators[:3]) + (", ..." if len(estimators) > 3 else "")
        warnings.warn(
            f"{path.name} was pickled with scikit-learn {', '.join(sorted(versions))} but "
            f"{sklearn.__version__} is installed ({shown}); predictions may differ. "
            "Re-save the model with this version to be sure.",
            ModelVersionWarning,
            stacklevel=3,
        )


def _load_entrypoint(spec: str, mode: str | None) -> Predictor:
    fn, module = import_entrypoint(spec)
    script_mode = getattr(module, "MODE", None)
    if mode is None and script_mode is not None:
        if script_mode not in MODES:
            raise ModelLoadError(f"{spec}: MODE must be one of {MODES!r}, got {script_mode!r}")
        mode = script_mode
    class_names = getattr(module, "CLASS_NAMES", None)
    if class_names is not None:
        class_names = [str(c) for c in class_names]
    # Workers (joblib, Dask) may run in another folder: re-import by absolute path.
    target, _, func_name = spec.rpartition(":")
    reload_spec = f"{Path(target).resolve()}:{func_name}" if _is_script_path(target) else spec
    return Predictor(fn, mode=mode, class_names=class_names, source=spec, reload_spec=reload_spec)


def import_entrypoint(spec: str) -> tuple[Callable[[Any], Any], ModuleType]:
    """Import ``file.py:function`` or ``package.module:function``; return (function, module)."""
    target, _, func_name = spec.rpartition(":")
    if _is_script_path(target):
        module = _import_file(Path(target), spec)
    else:
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as e:
            raise ModelLoadError(f"cannot import {spec}: no module named '{e.name}'") from e
        except Exception as e:
            raise ModelLoadError(
                f"cannot import {spec}: {type(e).__name__}: {_first_line(e)}"
            ) from e
    fn = getattr(module, func_name, None)
    if fn is None:
        raise ModelLoadError(f"{target} has no function '{func_name}'")
    if not callable(fn):
        raise ModelLoadError(f"{target}: '{func_name}' is not callable")
    return fn, module


def _is_script_path(target: str) -> bool:
    return target.endswith(".py") or "/" in target or "\\" in target


def _import_file(path: Path, spec: str) -> ModuleType:
    if not path.is_file():
        raise ModelLoadError(f"predict script not found: {path}")
    resolved = path.resolve()
    # A stable, unique module name per script file, so two scripts called
    # predict.py do not collide and re-imports in workers find the same name.
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:10]
    name = f"limecli_script_{resolved.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, resolved)
    if module_spec is None or module_spec.loader is None:
        raise ModelLoadError(f"cannot import {path} as a Python script")
    module = importlib.util.module_from_spec(module_spec)
    # Let the script import its sibling modules and find files next to it.
    script_dir = str(resolved.parent)
    if script_dir not in sys.path:
        sys.path.insert(0, script_dir)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except ModuleNotFoundError as e:
        del sys.modules[name]
        raise ModelLoadError(
            f"cannot import {spec}: it needs the Python module '{e.name}', which is not installed"
        ) from e
    except Exception as e:
        del sys.modules[name]
        raise ModelLoadError(f"cannot import {spec}: {type(e).__name__}: {_first_line(e)}") from e
    return module


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else "(no message)"
