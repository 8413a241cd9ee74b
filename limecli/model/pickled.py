"""Python-serialised estimators: pickle/joblib files, and skops files (loaded without running code).

Both hold an object with ``predict_proba`` (classification) or ``predict``
(regression), usually a scikit-learn estimator, wrapped by
:func:`~limecli.model.wrap.wrap_model`. A bare XGBoost or LightGBM ``Booster``
and any CatBoost model are first given the wrapper of their format module
(:func:`~limecli.model.native.adapt_native`: objective, feature names and
categorical columns read from the model). **Unpickling runs code from the file:
only load pickles you trust.** skops refuses types it does not trust by
default unless they are listed in ``trust``.
"""

from __future__ import annotations

import pickle
import struct
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from limecli.errors import ModelLoadError, ModelVersionWarning
from limecli.model.files import check_file, first_line, install_hint, load_error
from limecli.model.native import adapt_native, declared_mode
from limecli.model.predictor import Predictor
from limecli.model.wrap import wrap_model

PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")
SKOPS_SUFFIXES = (".skops",)


def load_pickle(path: Path, *, mode: str | None, trust: Sequence[str] = ()) -> Predictor:
    """A pickle or joblib file (``trust`` is for skops; the dispatcher refuses it here)."""
    check_file(path)
    import joblib

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = joblib.load(path)
        except ModuleNotFoundError as e:
            raise _missing_module(path, e) from e
        except (pickle.UnpicklingError, KeyError, EOFError, IndexError, struct.error) as e:
            # What the unpickler raises on bytes that are not a pickle (an unknown opcode is
            # a KeyError): say so, instead of the opcode.
            truncated = isinstance(e, EOFError | struct.error)
            detail = "it ends too early" if truncated else f"{type(e).__name__}: {e}"
            raise ModelLoadError(
                f"cannot load model {path}: it is not a pickle or joblib file, or it is "
                f"damaged ({detail})"
            ) from e
        except Exception as e:
            raise load_error(path, None, e) from e
    _reemit_load_warnings(caught, path)
    try:
        model = adapt_native(model)
    except Exception as e:  # e.g. an unfitted CatBoost model has no feature names
        raise load_error(path, None, e) from e
    return wrap_model(model, mode=declared_mode(model, mode), source=path.name)


def load_skops(path: Path, *, mode: str | None, trust: Sequence[str] = ()) -> Predictor:
    """A scikit-learn model saved by skops: no code from the file runs while loading."""
    check_file(path)
    try:
        import skops.io as sio
    except ImportError as e:
        raise ModelLoadError(
            f"cannot load {path}: .skops models need the 'skops' package "
            "(pip install 'limecli[skops]')"
        ) from e
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as e:
        raise ModelLoadError(
            f"cannot load model {path}: not a skops file ({type(e).__name__}: {first_line(e)})"
        ) from e
    refused = [t for t in untrusted if t not in set(trust)]
    if refused:
        listed = ", ".join(refused)
        # One "'trust' TYPE" per type: the CLI turns each into a "--trust TYPE" to copy.
        advice = " ".join(f"'trust' {t}" for t in refused)
        raise ModelLoadError(
            f"{path} holds type(s) skops does not trust by default: {listed}; "
            f"if you trust them, pass {advice}",
            parameters=("trust",),
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = sio.load(path, trusted=list(untrusted) or None)
        except ModuleNotFoundError as e:
            raise _missing_module(path, e) from e
        except Exception as e:
            raise load_error(path, None, e) from e
    _reemit_load_warnings(caught, path)
    return wrap_model(model, mode=mode, source=path.name)


def _missing_module(path: Path, e: ModuleNotFoundError) -> ModelLoadError:
    return ModelLoadError(
        f"cannot load model {path}: it needs the Python module '{e.name}', which is not "
        f"installed{install_hint(e.name or '')}"
    )


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
