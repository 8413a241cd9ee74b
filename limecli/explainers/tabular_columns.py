"""Which columns of a table are the model's features, and tables given by path."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from limecli.errors import InputDataError, ParameterError
from limecli.model.predictor import Predictor

if TYPE_CHECKING:
    import pandas as pd


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
