"""Tabular LIME (Ribeiro et al. 2016) with the reference implementation's defaults.

Defaults: quartile discretisation, 5000 samples, exponential kernel of width
0.75 * sqrt(n_features), weighted Ridge(alpha=1) surrogate, "auto" feature
selection, explaining the predicted class.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from limecli.errors import InputDataError, ParameterError
from limecli.explainers.common import (
    as_predictor,
    choose_labels,
    explain_labels,
    prediction_record,
    validate_common,
)
from limecli.explanation import Explanation, FeatureWeight, library_versions
from limecli.predictor import Predictor
from limecli.sampling.discretize import DISCRETIZERS
from limecli.sampling.tabular import EncodedInstance, TabularSampler
from limecli.surrogate import exponential_kernel
from limecli.validation import check_choice, check_float, check_int, check_random_state

if TYPE_CHECKING:
    import pandas as pd


class TabularExplainer:
    """Explains rows of a table, using training-data statistics to perturb them.

    ``training`` is a DataFrame (or CSV path) holding the feature columns and
    possibly the target; the columns the model needs are taken from the
    model's ``feature_names_in_`` when it has them, otherwise every column but
    ``target``.
    """

    def __init__(
        self,
        model: Any,
        training: pd.DataFrame | str | Path,
        *,
        target: str | None = None,
        categorical: Sequence[str] = (),
        discretizer: str | None = "quartile",
        sample_around_instance: bool = False,
        kernel_width: float | None = None,
        feature_selection: str = "auto",
        num_samples: int = 5000,
        num_features: int = 10,
        batch_size: int | None = None,
        mode: str | None = None,
    ) -> None:
        validate_common(num_samples, num_features, None, feature_selection)
        if discretizer is not None:
            check_choice("discretizer", discretizer, DISCRETIZERS)
        if kernel_width is not None:
            check_float("kernel_width", kernel_width, min_value=0)
        if batch_size is not None:
            check_int("batch_size", batch_size, min_value=1)
        self.predictor = as_predictor(model, mode)
        frame = _as_frame(training)
        self.training_source = str(training) if isinstance(training, (str, Path)) else None
        if target is not None and target not in frame.columns:
            raise InputDataError(f"target column '{target}' is not in the training data")
        self.target = target
        self.feature_columns = resolve_feature_columns(self.predictor, frame, target)
        self.dropped_columns = [str(c) for c in frame.columns if c not in self.feature_columns]
        unknown = [c for c in categorical if c not in self.feature_columns]
        if unknown:
            raise ParameterError(
                f"categorical column(s) not among the features: {', '.join(unknown)}"
            )
        labels = None
        if discretizer == "entropy":
            labels = self._entropy_labels(frame)
        self.sampler = TabularSampler(
            frame[self.feature_columns],
            categorical=categorical,
            discretizer=discretizer,
            training_labels=labels,
        )
        self.discretizer = discretizer
        self.sample_around_instance = sample_around_instance
        n = len(self.feature_columns)
        self.kernel_width = float(kernel_width) if kernel_width else 0.75 * float(np.sqrt(n))
        self.feature_selection = feature_selection
        self.num_samples = num_samples
        self.num_features = num_features
        self.batch_size = batch_size

    def _entropy_labels(self, frame: pd.DataFrame) -> np.ndarray:
        if self.target is not None:
            return frame[self.target].to_numpy()
        if self.predictor.mode == "regression":
            raise ParameterError(
                "the entropy discretizer needs class labels: name the target column "
                "(--target) of a classification dataset"
            )
        # No target given: bin by the model's own predicted classes on the training data.
        outputs = self.predictor.predict(
            self.model_input(frame[self.feature_columns]), self.batch_size
        )
        return np.argmax(outputs, axis=1)

    def model_input(self, frame: pd.DataFrame) -> Any:
        """Rows in the form the model takes: a DataFrame in its column order, or an array."""
        if self.predictor.wants_dataframe:
            return frame[self.predictor.feature_names]
        if self.sampler.is_categorical.any():
            return frame
        return frame.to_numpy(dtype=float)

    def explain(
        self,
        instance: pd.Series | dict[str, Any],
        *,
        seed: int | None = None,
        labels: Sequence[str | int] | None = None,
        top_labels: int | None = None,
        num_samples: int | None = None,
        num_features: int | None = None,
        input_info: dict[str, Any] | None = None,
    ) -> Explanation:
        """Explain one row (a Series or mapping holding at least the feature columns)."""
        import pandas as pd

        num_samples = self.num_samples if num_samples is None else num_samples
        num_features = self.num_features if num_features is None else num_features
        validate_common(num_samples, num_features, top_labels, self.feature_selection)
        row = pd.Series(instance) if isinstance(instance, dict) else instance
        missing = [c for c in self.feature_columns if c not in row.index]
        if missing:
            raise InputDataError(f"the row lacks column(s) the model needs: {', '.join(missing)}")
        rng = check_random_state(seed)
        encoded = self.sampler.encode(row)
        pool = self.sampler.draw(num_samples, rng)
        pool, data = self.sampler.represent(
            pool, encoded, around_instance=self.sample_around_instance
        )
        frame = self.sampler.to_frame(pool)
        # The sample matrix is already in memory: one model call unless told otherwise.
        outputs = self.predictor.predict(self.model_input(frame), self.batch_size or len(frame))
        return self._finish(
            encoded, data, outputs, seed, labels, top_labels, num_samples, num_features, input_info
        )

    def _finish(
        self,
        encoded: EncodedInstance,
        data: np.ndarray,
        outputs: np.ndarray,
        seed: int | None,
        labels: Sequence[str | int] | None,
        top_labels: int | None,
        num_samples: int,
        num_features: int,
        input_info: dict[str, Any] | None,
    ) -> Explanation:
        distances = np.sqrt(((data - data[0]) ** 2).sum(axis=1))
        weights = exponential_kernel(distances, self.kernel_width)
        label_idx = choose_labels(self.predictor, outputs[0], labels, top_labels)
        described = self.sampler.describe(encoded)

        def describe(j: int) -> FeatureWeight:
            name, column, value = described[j]
            return FeatureWeight(name=name, feature=column, value=value, weight=0.0)

        label_explanations = explain_labels(
            self.predictor,
            data,
            outputs,
            weights,
            label_idx,
            num_features,
            self.feature_selection,
            describe,
        )
        params = {
            "num_samples": num_samples,
            "num_features": num_features,
            "seed": seed,
            "kernel": "exponential",
            "kernel_width": self.kernel_width,
            "distance": "euclidean",
            "discretizer": self.discretizer,
            "sample_around_instance": self.sample_around_instance,
            "feature_selection": self.feature_selection,
            "surrogate": "ridge(alpha=1)",
            "categorical_features": [
                c
                for c, cat in zip(self.feature_columns, self.sampler.is_categorical, strict=True)
                if cat
            ],
            "training": self.training_source,
            "target": self.target,
            "dropped_columns": self.dropped_columns,
        }
        return Explanation(
            kind="tabular",
            mode=str(self.predictor.mode),
            input=dict(input_info or {}),
            prediction=prediction_record(self.predictor, outputs[0]),
            labels=label_explanations,
            params=params,
            meta={"method": "lime", "model": self.predictor.source, "versions": library_versions()},
            data={"feature_columns": self.feature_columns},
        )


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
    expected = _expected_feature_count(predictor)
    if expected is not None and expected != len(features):
        hint = "" if target else "; name the target column with --target if the data has one"
        raise InputDataError(
            f"the data has {len(features)} feature column(s) but the model expects {expected}{hint}"
        )
    return features


def _expected_feature_count(predictor: Predictor) -> int | None:
    owner = getattr(predictor.fn, "__self__", None)
    n = getattr(owner, "n_features_in_", None)
    return int(n) if n is not None else None


def _as_frame(data: pd.DataFrame | str | Path) -> pd.DataFrame:
    if isinstance(data, (str, Path)):
        from limecli.readers.tabular import read_csv

        return read_csv(data)
    return data


def explain_tabular(
    model: Any,
    data: pd.DataFrame | str | Path,
    row: int,
    *,
    training: pd.DataFrame | str | Path | None = None,
    target: str | None = None,
    categorical: Sequence[str] = (),
    num_samples: int = 5000,
    num_features: int = 10,
    seed: int | None = None,
    labels: Sequence[str | int] | None = None,
    top_labels: int | None = None,
    discretizer: str | None = "quartile",
    sample_around_instance: bool = False,
    kernel_width: float | None = None,
    feature_selection: str = "auto",
    batch_size: int | None = None,
    mode: str | None = None,
) -> Explanation:
    """Explain row ``row`` (0-based) of ``data``; training statistics from ``training`` or ``data``.

    ``model`` is a :class:`Predictor` (see :func:`limecli.load_model`), a fitted
    estimator, or a callable returning probabilities/values for a batch.
    """
    from limecli.readers.tabular import select_row

    check_int("row", row, min_value=0)
    frame = _as_frame(data)
    train_frame = frame if training is None else _as_frame(training)
    explainer = TabularExplainer(
        model,
        train_frame,
        target=target,
        categorical=categorical,
        discretizer=discretizer,
        sample_around_instance=sample_around_instance,
        kernel_width=kernel_width,
        feature_selection=feature_selection,
        num_samples=num_samples,
        num_features=num_features,
        batch_size=batch_size,
        mode=mode,
    )
    explainer.training_source = (
        str(training)
        if isinstance(training, (str, Path))
        else (str(data) if training is None and isinstance(data, (str, Path)) else None)
    )
    source = str(data) if isinstance(data, (str, Path)) else None
    instance = select_row(frame, row, source or "data")
    return explainer.explain(
        instance,
        seed=seed,
        labels=labels,
        top_labels=top_labels,
        input_info={"source": source, "row": row},
    )
