"""Which columns of a table are the model's features, tables given by path, and the class
labels the entropy discretizer bins the training rows by."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from limecli.errors import InputDataError, ParameterError
from limecli.model.predictor import Predictor
from limecli.sampling.columns import cast_values

if TYPE_CHECKING:
    import pandas as pd

    from limecli.explainers.tabular import TabularExplainer


def resolve_feature_columns(
    predictor: Predictor, frame: pd.DataFrame, target: str | None
) -> list[str]:
    """The model's feature columns, checked against the data."""
    columns = [str(c) for c in frame.columns]
    if predictor.feature_names is not None:
        missing = [c for c in predictor.feature_names if c not in columns]
        if missing:
            shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
            raise InputDataError(
                f"the data lacks {len(missing)} column(s) the model was fitted on: {shown}"
            )
        if target is not None and target in predictor.feature_names:
            raise ParameterError(f"'{target}' is a feature of the model, not a target column")
        return list(predictor.feature_names)
    features = [c for c in columns if c != target]
    expected = predictor.n_features_in
    if expected is not None and expected != len(features):
        hint = "" if target else "; name the target column with 'target' if the data has one"
        raise InputDataError(
            f"the data has {len(features)} feature column(s) but the model expects {expected}{hint}",
            parameters=() if target else ("target",),
        )
    return features


def as_frame(data: pd.DataFrame | str | Path) -> pd.DataFrame:
    if isinstance(data, (str, Path)):
        from limecli.inputs.tabular import read_csv

        return read_csv(data)
    return data


def entropy_labels(
    explainer: TabularExplainer, frame: pd.DataFrame, categorical: Sequence[str]
) -> np.ndarray:
    """Class labels of the training rows for the entropy discretizer: the target column's,
    or the model's own predictions."""
    if explainer.target is not None:
        return frame[explainer.target].to_numpy()
    if explainer.predictor.mode == "regression":
        raise ParameterError(
            "the entropy discretizer needs class labels: name the target column "
            "('target') of a classification dataset",
            parameters=("target",),
        )
    # No target given: bin by the model's own predicted classes on the training data.
    # The form the model takes depends on which columns are categorical: a sampler
    # without bins says so before the binned one can be fitted.
    sampler = explainer.build_sampler(frame[explainer.feature_columns], categorical, None)
    training = frame[explainer.feature_columns].copy()
    for name, dtype in sampler.dtypes.items():  # as the model was fitted
        training[name] = cast_values(training[name].to_numpy(dtype=object), dtype)
    if not sampler.missing:  # the model takes no gaps: label those rows at the means
        numeric = [sampler.columns[j] for j in sampler.numeric_idx]
        means = sampler.means * sampler.scales
        training = training.fillna(dict(zip(numeric, means, strict=True)))
    outputs = explainer.predictor.predict(explainer.model_input(training), explainer.batch_size)
    return np.argmax(outputs, axis=1)
