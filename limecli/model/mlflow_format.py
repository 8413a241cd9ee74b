"""MLflow model folders (a directory holding an ``MLmodel`` file; extra ``limecli[mlflow]``).

Loaded locally and offline, never through a tracking server (a ``models:/`` or
``runs:/`` URI is refused by :func:`limecli.model.loading.load_model`). The
``MLmodel`` file lists the folder's flavours; the richest one limecli can use wins:

1. ``sklearn``: the estimator itself (``mlflow.sklearn.load_model``), so a
   classifier is explained through ``predict_proba`` with its ``classes_`` and
   ``feature_names_in_`` (the ``python_function`` flavour of a classifier
   returns only class labels);
2. ``xgboost``, ``lightgbm`` (a ``Booster``) and ``catboost`` (``.cbm``): the
   model file inside, read by limecli's own loader for that format, which reads
   the objective, so classifiers give probabilities;
3. ``python_function``: ``mlflow.pyfunc.load_model``, called on a DataFrame
   with the columns (and, cast to them, the types) of the model's input
   signature. Its output's meaning is read from its first answer, as for a
   predict script.

Loading may run code: a ``pickle``/``cloudpickle`` sklearn flavour or a custom
pyfunc unpickles, and a pyfunc imports its loader module (a ``skops`` sklearn
flavour, MLflow's default from 3.x, runs none). Only load models you trust.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from limecli.errors import ModelLoadError
from limecli.model.files import FileModel, first_line, import_framework, named_table

#: The file that makes a folder an MLflow model.
MLFLOW_MARKER = "MLmodel"


@contextmanager
def _quiet() -> Iterator[None]:
    # MLflow warns about its own type hints on import: noise, not about the model.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def open_mlflow(path: Path) -> Any:
    """The model an MLflow folder holds: an estimator, a native wrapper or a pyfunc."""
    with _quiet():
        import_framework("mlflow.models", path, "MLflow")
        from mlflow.models import Model

    try:
        flavors = Model.load(str(path / MLFLOW_MARKER)).flavors
    except Exception as e:
        raise _error(path, e) from e
    if "sklearn" in flavors:
        with _quiet():
            import mlflow.sklearn
        try:
            return mlflow.sklearn.load_model(str(path))
        except ModuleNotFoundError as e:
            raise ModelLoadError(
                f"cannot load model {path}: it needs the Python module '{e.name}', "
                "which is not installed"
            ) from e
        except Exception as e:
            raise _error(path, e) from e
    native = _native(path, flavors)
    if native is not None:
        return native
    if "python_function" not in flavors:
        raise ModelLoadError(
            f"cannot load model {path}: the MLflow model has no python_function flavour "
            f"(flavours: {', '.join(flavors) or 'none'})"
        )
    model = PyfuncModel(path)
    model.model  # noqa: B018 -- open it now: a bad folder fails here, not on the first call
    return model


def _native(path: Path, flavors: dict[str, Any]) -> Any:
    """The model file of an xgboost/lightgbm/catboost flavour, through limecli's loader."""
    if "xgboost" in flavors and flavors["xgboost"].get("data"):
        from limecli.model.xgboost_format import open_xgboost

        return open_xgboost(path / flavors["xgboost"]["data"])
    lgb = flavors.get("lightgbm") or {}
    if lgb.get("data") and str(lgb.get("model_class", "")).endswith(".Booster"):
        from limecli.model.lightgbm_format import open_lightgbm

        return open_lightgbm(path / lgb["data"])
    cat = flavors.get("catboost") or {}
    if cat.get("data") and cat.get("save_format", "cbm") == "cbm":
        from limecli.model.catboost_format import open_catboost

        return open_catboost(path / cat["data"])
    return None


def _error(path: Path, e: BaseException) -> ModelLoadError:
    return ModelLoadError(
        f"cannot load model {path} as an MLflow model: {type(e).__name__}: {first_line(e)}"
    )


class PyfuncModel(FileModel):
    """An MLflow pyfunc model called as ``batch -> output``; pickles as its folder.

    With a column signature, the batch is given as a DataFrame of those columns,
    each cast to the signature's type (MLflow refuses even int64 for a double).
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.feature_names: list[str] | None = None
        self.dtypes: list[Any] = []

    def open(self) -> Any:
        with _quiet():
            import mlflow.pyfunc
        try:
            with _quiet():
                model = mlflow.pyfunc.load_model(str(self.path))
        except Exception as e:
            raise _error(Path(self.shown), e) from e
        schema = model.metadata.get_input_schema()
        if schema is not None and schema.has_input_names() and not schema.is_tensor_spec():
            self.feature_names = [str(n) for n in schema.input_names()]
            self.dtypes = list(schema.numpy_types())
            self.n_features_in_ = len(self.feature_names)
        return model

    def __call__(self, batch: Any) -> Any:
        import numpy as np

        model = self.model
        data = batch
        if self.feature_names is not None:
            data = named_table(batch, self.feature_names).copy()
            for name, dtype in zip(self.feature_names, self.dtypes, strict=True):
                column = data[name]
                if np.dtype(dtype).kind in "iu" and column.dtype.kind == "f":
                    column = column.round()
                if np.dtype(dtype).kind != "O":
                    data[name] = column.astype(dtype)
        out = model.predict(data)
        return out.to_numpy() if hasattr(out, "to_numpy") else out
