"""Tabular LIME (Ribeiro et al. 2016) with the reference implementation's defaults.

Defaults: quartile discretisation, exponential kernel of width
0.75 * sqrt(n_features), weighted Ridge(alpha=1) surrogate, "auto" feature
selection, explaining the predicted class. One departure: the sample size is
"auto", the reference's 5000 samples, doubled to 10000 when that is expected
to settle a rank the 5000 leave unsettled (see :mod:`limecli.explainers.tabular_auto`).

Explaining many rows against one shared pool of samples is
:mod:`limecli.explainers.tabular_pool` (mixed into :class:`TabularExplainer`);
missing cells (a state of their own, see :mod:`limecli.sampling.tabular`) and
the one-row probe of whether the model takes them are
:mod:`limecli.explainers.tabular_missing`; the dtypes the model was fitted on
are restored on every frame it gets (:mod:`limecli.explainers.tabular_dtypes`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from limecli.errors import InputDataError, LimeCliError, ParameterError
from limecli.explainers.base import Explainer, Request
from limecli.explainers.beside import Beside, T
from limecli.explainers.common import Prepared, prepare_labels
from limecli.explainers.tabular_auto import AUTO, AUTO_MAX, AUTO_START, auto_params, next_step
from limecli.explainers.tabular_columns import as_frame, entropy_labels, resolve_feature_columns
from limecli.explainers.tabular_missing import MissingValuesMixin
from limecli.explainers.tabular_pool import SharedPool, SharedPoolMixin
from limecli.explanation import Explanation, FeatureWeight
from limecli.inputs.frames import as_table, check_table, pick_row
from limecli.inputs.ref import InputRef
from limecli.sampling.columns import missing_columns
from limecli.sampling.discretize import DISCRETIZERS
from limecli.sampling.tabular_rows import EncodedInstance, SamplePool
from limecli.validation import check_choice, check_int, check_random_state, check_sample_memory

if TYPE_CHECKING:
    import pandas as pd

    from limecli.block_moments import MomentsCache


__all__ = [
    "AUTO",
    "AUTO_MAX",
    "AUTO_START",
    "SharedPool",
    "TabularExplainer",
    "TabularInstance",
    "explain_tabular",
    "resolve_feature_columns",
]


@dataclass
class TabularInstance:
    """A row to explain: encoded for the sampler, with its identity for the record."""

    encoded: EncodedInstance
    input: dict[str, Any]


class TabularExplainer(SharedPoolMixin, MissingValuesMixin, Explainer[TabularInstance]):
    """Explains rows of a table, using training-data statistics to perturb them.

    ``training`` is a DataFrame (any column labels), a 2-D array, nested lists,
    a scipy sparse matrix or a CSV path, holding the feature columns and
    possibly the target; ``feature_names`` names an array's columns (see
    :mod:`limecli.inputs.frames`). The columns the model needs are taken from the
    model's ``feature_names_in_`` when it has them, otherwise every column but
    ``target``. :meth:`explain` takes a row (a Series, a one-row DataFrame, a
    mapping, or a 1-D array or list in column order); ``class_names`` names the
    model's outputs. ``num_samples="auto"`` (the default) takes 5000
    samples and doubles them to 10000 when that is expected to settle a rank
    the 5000 leave unsettled (see :mod:`limecli.explainers.tabular_auto`).
    """

    kind = "tabular"
    distance = "euclidean"
    kernel_width_from_data = True
    kernel_width: float

    def __init__(
        self,
        model: Any,
        training: pd.DataFrame | np.ndarray | Any,
        *,
        target: str | int | None = None,
        feature_names: Sequence[str] | None = None,
        categorical: Sequence[str | int] = (),
        discretizer: str | None = "quartile",
        sample_around_instance: bool = False,
        kernel_width: float | None = None,
        feature_selection: str = "auto",
        num_samples: int | str = AUTO,
        num_features: int | str = 10,
        batch_size: int | None = None,
        mode: str | None = None,
        class_names: Sequence[str] | None = None,
    ) -> None:
        super().__init__(
            model,
            mode=mode,
            num_samples=num_samples,
            num_features=num_features,
            feature_selection=feature_selection,
            kernel_width=kernel_width,
            batch_size=batch_size,
            class_names=class_names,
        )
        if discretizer is not None:
            check_choice("discretizer", discretizer, DISCRETIZERS)
        table = as_table(
            as_frame(training),
            feature_names=feature_names,
            model_names=self.predictor.feature_names,
        )
        frame, self.layout = table.frame, table.layout
        target = None if target is None else self.layout.name(target, "target")
        categorical = self.layout.names(categorical, "categorical")
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
            labels = entropy_labels(self, frame, categorical)
        self.sampler = self.build_sampler(
            frame[self.feature_columns], categorical, discretizer, labels
        )
        self.discretizer = discretizer
        self.sample_around_instance = sample_around_instance
        n = len(self.feature_columns)
        self.kernel_width = float(kernel_width) if kernel_width else 0.75 * float(np.sqrt(n))

    def model_input(self, frame: pd.DataFrame) -> Any:
        """Rows in the form the model takes: a DataFrame in its column order, or an array."""
        if self.predictor.wants_dataframe:
            return frame[self.predictor.feature_names]
        if self.sampler.is_categorical.any():
            return self.layout.restore(frame)
        return frame.to_numpy(dtype=float, na_value=np.nan)

    def pool_input(
        self,
        pool: SamplePool,
        *,
        private: bool = False,
        instance: EncodedInstance | None = None,
    ) -> Any:
        """A pool in the form the model takes; a plain array needs no DataFrame at all.

        ``private``: the pool is this call's own, so the model may have it as is
        (otherwise it gets a copy it may modify). ``instance``: the one in row 0.
        """
        if not self.predictor.wants_dataframe and not self.sampler.is_categorical.any():
            return self.sampler.model_numeric(pool.numeric, private=private)
        unseen = [(0, instance.unseen)] if instance is not None and instance.unseen else []
        return self.model_input(self.sampler.to_frame(pool, unseen))

    def _count(self, num_samples: Any) -> Any:
        return AUTO_START if num_samples == AUTO else num_samples

    def _prepare(self, instance: Any, input_info: dict[str, Any] | None) -> TabularInstance:
        row = self.layout.row(instance, self.feature_columns)
        missing = missing_columns(row, self.feature_columns)
        if missing:
            raise InputDataError(f"the row lacks column(s) the model needs: {', '.join(missing)}")
        return TabularInstance(self.sampler.encode(row), dict(input_info or {}))

    def _explain(self, subject: TabularInstance, request: Request) -> Explanation:
        from limecli.block_moments import MomentsCache
        from limecli.explainers.wide import use_wide

        self.check_missing(subject.encoded)  # before any sampling
        rng = check_random_state(request.seed)
        cache = MomentsCache() if request.num_samples == AUTO else None
        count = int(self._count(request.num_samples))
        shape = (count, len(self.feature_columns))

        def prepare(data: np.ndarray) -> Prepared:  # beside the model's call: narrow only
            weights = self._weights(data)
            return prepare_labels(
                data, weights, request.num_features, self.feature_selection, cache
            )

        wide = use_wide(shape, request.num_features, self.feature_selection)
        data, outputs, prepared = self._sample_beside(
            subject, count, rng, None if wide else prepare
        )

        def more(size: int) -> tuple[np.ndarray, np.ndarray]:
            # More samples from the same generator: the first ones stay as they were.
            more_data, more_outputs = self._sample(subject, size + 1, rng)
            return more_data[1:], more_outputs[1:]

        grow = more if request.num_samples == AUTO else None
        explanation = self._explain_growing(
            subject, data, outputs, grow, request, cache=cache, prepared=prepared
        )
        self.sampler.recycle(data)  # the next draw's values, in pages already mapped
        return explanation

    def _explain_growing(
        self,
        subject: TabularInstance,
        data: np.ndarray,
        outputs: np.ndarray,
        more: Callable[[int], tuple[np.ndarray, np.ndarray]] | None,
        request: Request,
        cache: MomentsCache | None = None,
        prepared: Prepared | None = None,
    ) -> Explanation:
        """The explanation of these samples; with ``more`` ("auto"), doubled while that
        is expected to settle more ranks (see :func:`tabular_auto.next_step`).

        ``more(n)`` gives n further samples (interpretable data, outputs);
        ``cache`` and ``prepared`` (of the first samples) as
        :func:`~limecli.explainers.common.explain_labels` takes them.
        """
        from limecli.block_moments import MomentsCache

        n = data.shape[0]
        doubled_for: list[dict[str, Any]] = []
        # A doubled pass extends the last one's moments (the first n samples stay).
        if cache is None and more is not None:
            cache = MomentsCache()
        while True:
            explanation = self._finish(subject, data, outputs, request, n, cache, prepared)
            prepared = None  # of the first samples only
            if more is None:
                return explanation
            stopped, wanted = next_step(explanation, n)
            if stopped is not None:
                explanation.params["num_samples_auto"] = auto_params(stopped, doubled_for)
                return explanation
            doubled_for += wanted
            more_data, more_outputs = more(n)
            data = np.vstack([data, more_data])
            outputs = np.vstack([outputs, more_outputs])
            n *= 2

    def _sample(
        self, subject: TabularInstance, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        data, outputs, _ = self._sample_beside(subject, n, rng, None)
        return data, outputs

    def _sample_beside(
        self,
        subject: TabularInstance,
        n: int,
        rng: np.random.Generator,
        beside: Callable[[np.ndarray], T] | None,
    ) -> tuple[np.ndarray, np.ndarray, T | None]:
        """n samples (interpretable data, the model's answers) and ``beside(data)``, computed
        while the model runs (see :mod:`limecli.explainers.beside`)."""
        encoded = subject.encoded
        check_sample_memory(n, len(self.feature_columns), per_sample=16 * len(self.feature_columns))
        pool = self.sampler.draw_missing(self.sampler.draw(n, rng), encoded, rng)
        pool = self.sampler.place(pool, encoded, around_instance=self.sample_around_instance)
        # Binned data read no values (the model may change those): made after its call, in
        # the memory it gave back (fresh pages cost more than the arithmetic), unless
        # something runs on them beside the call.
        early = beside is not None or not self.sampler.binned
        data = self.sampler.interpretable(pool, encoded) if early else None
        work = Beside.start(beside, data) if data is not None else None
        # The sample matrix is already in memory: one model call unless told otherwise.
        outputs = self.predictor.predict(
            self.pool_input(pool, private=True, instance=encoded), self.batch_size or len(pool)
        )
        if data is None:
            data = self.sampler.interpretable(pool, encoded)
        return data, outputs, Beside.finish(work)

    def explain_with_pool(
        self, instances: Sequence[Any], shared: SharedPool, **options: Any
    ) -> list[Explanation | LimeCliError]:
        """As :meth:`SharedPoolMixin.explain_with_pool`, but see :meth:`explain_apart`."""
        return self.explain_apart(instances, shared, super().explain_with_pool, **options)

    def _distances(self, data: np.ndarray) -> np.ndarray:
        if self.sampler.binned and np.all(data[0] == 1.0):
            # 0/1 features, row 0 all 1: the count of 0s, exact (the same floats as below).
            return np.sqrt(data.shape[1] - np.einsum("ij->i", data))
        return np.sqrt(((data - data[0]) ** 2).sum(axis=1))

    def _describer(self, subject: TabularInstance) -> Callable[[int], FeatureWeight]:
        def describe(j: int) -> FeatureWeight:
            name, column, value = self.sampler.describe(subject.encoded, j)
            return FeatureWeight(name=name, feature=column, value=value, weight=0.0)

        return describe

    def _params(self, subject: TabularInstance) -> dict[str, Any]:
        categorical = zip(self.feature_columns, self.sampler.is_categorical, strict=True)
        return {
            "discretizer": self.discretizer,
            "sample_around_instance": self.sample_around_instance,
            **self._surrogate_params(),
            "categorical_features": [c for c, cat in categorical if cat],
            "training": self.training_source,
            "target": self.target,
            "dropped_columns": self.dropped_columns,
        }

    def _input(self, subject: TabularInstance) -> dict[str, Any]:
        return dict(subject.input)

    def _data(self, subject: TabularInstance) -> dict[str, Any]:
        return {"feature_columns": self.feature_columns}


def explain_tabular(
    model: Any,
    data: pd.DataFrame | np.ndarray | Any,
    row: int,
    *,
    training: pd.DataFrame | np.ndarray | Any = None,
    target: str | int | None = None,
    feature_names: Sequence[str] | None = None,
    categorical: Sequence[str | int] = (),
    num_samples: int | str = AUTO,
    num_features: int | str = 10,
    seed: int | None = None,
    labels: Sequence[str | int] | None = None,
    top_labels: int | None = None,
    discretizer: str | None = "quartile",
    sample_around_instance: bool = False,
    kernel_width: float | None = None,
    feature_selection: str = "auto",
    batch_size: int | None = None,
    mode: str | None = None,
    class_names: Sequence[str] | None = None,
) -> Explanation:
    """Explain row ``row`` (0-based) of ``data``; training statistics from ``training`` or ``data``.

    ``model`` is a :class:`Predictor` (see :func:`limecli.load_model`), a fitted
    estimator, or a callable returning probabilities/values for a batch. ``data``
    and ``training`` are tables as :class:`TabularExplainer` takes them.
    """
    check_int("row", row, min_value=0)
    frame = as_frame(data)
    check_table(frame, "data")
    train_frame = frame if training is None else as_frame(training)
    explainer = TabularExplainer(
        model,
        train_frame,
        target=target,
        feature_names=feature_names,
        categorical=categorical,
        discretizer=discretizer,
        sample_around_instance=sample_around_instance,
        kernel_width=kernel_width,
        feature_selection=feature_selection,
        num_samples=num_samples,
        num_features=num_features,
        batch_size=batch_size,
        mode=mode,
        class_names=class_names,
    )
    explainer.training_source = (
        str(training)
        if isinstance(training, (str, Path))
        else (str(data) if training is None and isinstance(data, (str, Path)) else None)
    )
    source = str(data) if isinstance(data, (str, Path)) else None
    instance = pick_row(frame, row, source or "data")
    return explainer.explain(
        instance,
        seed=seed,
        labels=labels,
        top_labels=top_labels,
        input_info=InputRef.row(source, row).to_dict(),
    )
