"""Keras 3 models (``.keras``, saved by ``model.save``; extra ``limecli[keras]``).

Loaded with ``keras.saving.load_model(path, compile=False)`` in Keras's safe
mode, which refuses to deserialise Python lambdas: loading runs no code from the
file. Keras needs a backend: ``KERAS_BACKEND`` (or ``~/.keras/keras.json``)
names it; when neither does and TensorFlow, Keras's default, is not installed,
JAX or PyTorch is used if one is. The model is called with
``predict_on_batch`` on a float32 array (a table's rows as
``(n_rows, n_features)``; images as the batch the explainer builds). As for
TorchScript, the meaning of the output is read from its first answer: a
softmax layer's rows are class probabilities, one column is a regression.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np

from limecli.errors import ModelLoadError
from limecli.model.files import FileModel, first_line, import_framework, plain_values

KERAS_SUFFIXES = (".keras",)


def open_keras(path: Path) -> KerasModel:
    """A ``.keras`` file as :class:`KerasModel` (loaded now, so errors come at once)."""
    choose_backend()
    try:
        import_framework("keras", path, "Keras .keras")
    except ModelLoadError as e:
        if "'keras'" in str(e):
            raise
        raise ModelLoadError(
            f"{e}; Keras needs a backend: install tensorflow, jax or torch "
            "(and name it in KERAS_BACKEND)"
        ) from e
    model = KerasModel(path)
    model.model  # noqa: B018 -- open it now: a bad file fails here, not on the first call
    return model


def choose_backend() -> None:
    """Name an installed backend when nothing names one and TensorFlow is missing."""
    config = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
    if "KERAS_BACKEND" in os.environ or config.exists():
        return
    if importlib.util.find_spec("tensorflow") is not None:
        return
    for backend, module in (("jax", "jax"), ("torch", "torch")):
        if importlib.util.find_spec(module) is not None:
            os.environ["KERAS_BACKEND"] = backend
            return


class KerasModel(FileModel):
    """A Keras model called as ``batch -> numpy array``; pickles as its path."""

    def open(self) -> Any:
        choose_backend()  # a worker process starts with its own environment
        import keras

        try:
            model = keras.saving.load_model(str(self.path), compile=False)
        except Exception as e:
            raise ModelLoadError(
                f"cannot load model {self.shown} as a Keras model: "
                f"{type(e).__name__}: {first_line(e)}"
            ) from e
        self.n_features_in_ = _n_features(model)
        return model

    def __call__(self, batch: Any) -> np.ndarray:
        out = self.model.predict_on_batch(plain_values(batch, np.float32))
        if isinstance(out, (tuple, list)):
            out = out[0]
        return np.asarray(out)


def _n_features(model: Any) -> int | None:
    """The width of a model's one 2-D input, if it has exactly that."""
    inputs = getattr(model, "inputs", None) or []
    shape = tuple(inputs[0].shape) if len(inputs) == 1 else ()
    return int(shape[1]) if len(shape) == 2 and shape[1] is not None else None
