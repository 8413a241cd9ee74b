"""What every model loader shares: the model-file check, one-line error reasons, the
install hint for a missing framework, and the batch as the named table a model takes."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from limecli.errors import ModelLoadError

#: The extra that installs each optional framework: ``pip install 'limecli[<extra>]'``.
EXTRAS = {
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "catboost": "catboost",
    "torch": "torch",
    "keras": "keras",
    "mlflow": "mlflow",
    "skops": "skops",
    "onnxruntime": "onnx",
}


def check_file(path: Path) -> None:
    """Refuse a model path that is missing or a directory, before any loader opens it."""
    if not path.exists():
        raise ModelLoadError(f"model file not found: {path}")
    if path.is_dir():
        raise ModelLoadError(f"model path is a directory, not a file: {path}")


def first_line(e: BaseException) -> str:
    """The first line of an exception's message: enough to say why, short enough for one line."""
    text = str(e).strip()
    return text.splitlines()[0] if text else "(no message)"


def install_hint(module: str) -> str:
    """`` (pip install 'limecli[x]')`` when ``module`` comes with an extra, else nothing."""
    extra = EXTRAS.get(module.partition(".")[0])
    return f" (pip install 'limecli[{extra}]')" if extra else ""


def import_framework(module: str, path: Path, what: str) -> Any:
    """Import the framework a model file needs, or say which extra installs it.

    ``what`` names the models in the message, e.g. ``"XGBoost .json"``.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        top = module.partition(".")[0]
        if e.name is not None and e.name.partition(".")[0] != top:
            # the framework is there but one of its own dependencies is not
            raise ModelLoadError(
                f"cannot load {path}: {module} needs the Python module '{e.name}', "
                "which is not installed"
            ) from e
        raise ModelLoadError(
            f"cannot load {path}: {what} models need the '{top}' package{install_hint(top)}"
        ) from e
    except Exception as e:  # a framework that is installed but broken (a missing C library)
        raise ModelLoadError(
            f"cannot load {path}: importing {module} failed ({type(e).__name__}: {first_line(e)})"
        ) from e


def load_error(path: Path, what: str | None, e: BaseException) -> ModelLoadError:
    """The one-line error for a file its framework (``what``, when known) could not read."""
    as_what = "" if what is None else f" as {what}"
    return ModelLoadError(f"cannot load model {path}{as_what}: {type(e).__name__}: {first_line(e)}")


def named_table(batch: Any, names: Sequence[str]) -> Any:
    """``batch`` as a DataFrame with the model's columns, in the model's order.

    A DataFrame gives those columns (by name); an array or nested list is taken to
    hold them in that order.
    """
    import pandas as pd

    if isinstance(batch, pd.DataFrame):
        return batch[list(names)]
    return pd.DataFrame(batch, columns=list(names))


def plain_values(batch: Any, dtype: Any = float) -> Any:
    """``batch`` as a 2-D numpy array of ``dtype`` (a DataFrame's values, or the array)."""
    import numpy as np

    values = batch.to_numpy(dtype=dtype) if hasattr(batch, "to_numpy") else batch
    return np.asarray(values, dtype=dtype)


def is_default_names(names: Sequence[str], pattern: str) -> bool:
    """True when ``names`` are a framework's made-up names (``pattern`` with ``{i}``):
    the model was fitted on an array, so it takes one in column order."""
    return list(names) == [pattern.format(i=i) for i in range(len(names))]


class FileModel:
    """A model that pickles as its file path and reopens it on the other side.

    For frameworks whose loaded objects do not pickle (TorchScript, Keras,
    MLflow pyfunc): the Predictor travels to joblib or Dask workers this way.
    Subclasses define :meth:`open`.
    """

    def __init__(self, path: Path) -> None:
        #: absolute, so a worker in another folder finds the file; ``shown`` is for messages
        self.path = path.absolute()
        self.shown = str(path)
        self._model: Any = None

    def open(self) -> Any:
        raise NotImplementedError

    @property
    def model(self) -> Any:
        if self._model is None:
            self._model = self.open()
        return self._model

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_model": None}
