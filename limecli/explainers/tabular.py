"""Tabular LIME (Ribeiro et al. 2016) with the reference implementation's defaults.

Defaults: quartile discretisation, exponential kernel of width
0.75 * sqrt(n_features), weighted Ridge(alpha=1) surrogate, "auto" feature
selection, explaining the predicted class. One departure: the sample size is
"auto", the reference's 5000 samples, doubled to 10000 when the selected
features are not yet settled (see :data:`AUTO_MAX`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from limecli.errors import InputDataError, LimeCliError, ParameterError
from limecli.explainers.common import (
    as_predictor,
    choose_labels,
    explain_labels,
    prediction_record,
    validate_common,
)
from limecli.explanation import Explanation, FeatureWeight, library_versions
from limecli.model.predictor import Predictor
from limecli.sampling.discretize import DISCRETIZERS
from limecli.sampling.tabular import EncodedInstance, SamplePool, TabularSampler
from limecli.surrogate import exponential_kernel
from limecli.validation import check_choice, check_float, check_int, check_random_state

if TYPE_CHECKING:
    import pandas as pd


#: ``num_samples="auto"``: start, ceiling, and the top-k change probability deemed settled.
#: One doubling at most: on the breast-cancer benchmark, larger ceilings bought no
#: more stability across seeds (features truly tied never settle) and cost more
#: model calls; 10000 keeps the average cost within the reference's default budget.
AUTO = "auto"
AUTO_START = 5000
AUTO_MAX = 10000
AUTO_TOLERANCE = 0.05


def _settled(explanation: Explanation) -> bool:
    return all(
        (lab.stability or {}).get("top_k_change_probability", 0.0) <= AUTO_TOLERANCE
        for lab in explanation.labels
    )


@dataclass
class SharedPool:
    """One pool of perturbed rows and the model's answers on it, shared by many instances.

    Row 0 of ``pool`` is a placeholder (each instance takes its place), so
    ``outputs`` holds the model's answers for rows 1.. only. With ``auto``,
    ``extensions`` hold the further draws that double the sample (again row 0
    a placeholder), in the order ``explain(..., num_samples="auto")`` draws
    them, for the instances that need them.
    """

    pool: SamplePool
    outputs: np.ndarray
    seed: int | None
    num_samples: int
    auto: bool = False
    extensions: list[tuple[SamplePool, np.ndarray]] = field(default_factory=list)


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
        num_samples: int | str = AUTO,
        num_features: int = 10,
        batch_size: int | None = None,
        mode: str | None = None,
    ) -> None:
        validate_common(
            AUTO_START if num_samples == AUTO else num_samples,
            num_features,
            None,
            feature_selection,
        )
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
            return pool.numeric if private else pool.numeric.copy()
        unseen = [(0, instance.unseen)] if instance is not None and instance.unseen else []
        return self.model_input(self.sampler.to_frame(pool, unseen))

    def explain(
        self,
        instance: pd.Series | dict[str, Any],
        *,
        seed: int | None = None,
        labels: Sequence[str | int] | None = None,
        top_labels: int | None = None,
        num_samples: int | str | None = None,
        num_features: int | None = None,
        input_info: dict[str, Any] | None = None,
    ) -> Explanation:
        """Explain one row (a Series or mapping holding at least the feature columns).

        ``num_samples="auto"`` (the default) takes 5000 samples and doubles
        them to 10000 unless the selected features are already settled: unless
        at most 5% of the stability replicates would pick another set (see
        :mod:`limecli.stability`).
        """
        import pandas as pd

        num_samples = self.num_samples if num_samples is None else num_samples
        num_features = self.num_features if num_features is None else num_features
        auto = num_samples == AUTO
        n = AUTO_START if auto else int(num_samples)
        validate_common(n, num_features, top_labels, self.feature_selection)
        row = pd.Series(instance) if isinstance(instance, dict) else instance
        missing = [c for c in self.feature_columns if c not in row.index]
        if missing:
            raise InputDataError(f"the row lacks column(s) the model needs: {', '.join(missing)}")
        rng = check_random_state(seed)
        encoded = self.sampler.encode(row)
        data, outputs = self._sample(encoded, n, rng)

        def more(size: int) -> tuple[np.ndarray, np.ndarray]:
            # More samples from the same generator: the first ones stay as they were.
            more_data, more_outputs = self._sample(encoded, size + 1, rng)
            return more_data[1:], more_outputs[1:]

        return self._explain_growing(
            encoded,
            data,
            outputs,
            more if auto else None,
            seed,
            labels,
            top_labels,
            num_features,
            input_info,
        )

    def _explain_growing(
        self,
        encoded: EncodedInstance,
        data: np.ndarray,
        outputs: np.ndarray,
        more: Callable[[int], tuple[np.ndarray, np.ndarray]] | None,
        seed: int | None,
        labels: Sequence[str | int] | None,
        top_labels: int | None,
        num_features: int,
        input_info: dict[str, Any] | None,
    ) -> Explanation:
        """The explanation of these samples; with ``more`` ("auto"), doubled until settled.

        ``more(n)`` gives n further samples (interpretable data, outputs).
        """
        n = data.shape[0]
        while True:
            explanation = self._finish(
                encoded, data, outputs, seed, labels, top_labels, n, num_features, input_info
            )
            if more is None:
                return explanation
            if n >= AUTO_MAX or _settled(explanation):
                explanation.params["num_samples_auto"] = {
                    "start": AUTO_START,
                    "max": AUTO_MAX,
                    "tolerance": AUTO_TOLERANCE,
                }
                return explanation
            more_data, more_outputs = more(n)
            data = np.vstack([data, more_data])
            outputs = np.vstack([outputs, more_outputs])
            n *= 2

    def _sample(
        self, encoded: EncodedInstance, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """``n`` samples around the instance (row 0 is the instance): (interpretable data, outputs)."""
        pool = self.sampler.draw(n, rng)
        pool, data = self.sampler.represent(
            pool, encoded, around_instance=self.sample_around_instance, in_place=True
        )
        # The sample matrix is already in memory: one model call unless told otherwise.
        outputs = self.predictor.predict(
            self.pool_input(pool, private=True, instance=encoded), self.batch_size or len(pool)
        )
        return data, outputs

    @property
    def shares_samples(self) -> bool:
        """Whether the perturbed rows are independent of the instance, so a batch can share them.

        True for discretised sampling and for continuous sampling around the
        training mean; False with ``sample_around_instance`` and no discretizer.
        """
        return self.discretizer is not None or not self.sample_around_instance

    def shared_pool(
        self, *, seed: int | None = None, num_samples: int | str | None = None
    ) -> SharedPool:
        """Draw a pool with ``seed`` and call the model on it once (for :meth:`explain_with_pool`)."""
        if not self.shares_samples:
            raise ParameterError(
                "samples drawn around each instance cannot be shared: use independent samples"
            )
        count = self.num_samples if num_samples is None else num_samples
        auto = count == AUTO
        num_samples = AUTO_START if auto else int(count)
        validate_common(num_samples, self.num_features, None, self.feature_selection)
        # The same draws as explain(seed=seed): the pool never depends on the instance.
        rng = check_random_state(seed)
        pool = self.sampler.draw(num_samples, rng)
        shared = SharedPool(
            pool=pool,
            outputs=self._pool_outputs(pool),
            seed=seed,
            num_samples=num_samples,
            auto=auto,
        )
        size = num_samples
        while auto and size < AUTO_MAX:
            # Drawn up front: in a batch, some instance almost always needs them.
            extension = self.sampler.draw(size + 1, rng)
            shared.extensions.append((extension, self._pool_outputs(extension)))
            size *= 2
        return shared

    def _pool_outputs(self, pool: SamplePool) -> np.ndarray:
        """The model's answers on rows 1.. of a pool (row 0 is each instance's place)."""
        rest = _pool_rows(pool, slice(1, None))
        return self.predictor.predict(self.pool_input(rest), self.batch_size or len(rest))

    def explain_with_pool(
        self,
        instances: Sequence[pd.Series | dict[str, Any]],
        shared: SharedPool,
        *,
        labels: Sequence[str | int] | None = None,
        top_labels: int | None = None,
        num_features: int | None = None,
        input_infos: Sequence[dict[str, Any] | None] | None = None,
        first_outputs: Sequence[np.ndarray | LimeCliError] | None = None,
    ) -> list[Explanation | LimeCliError]:
        """Explain each instance against one shared pool; a failing instance gives its error.

        ``first_outputs``: the model's answers for the instances, from
        :meth:`instance_outputs` (by default computed here, in one call).

        Each result equals ``explain(instance, seed=shared.seed)`` (up to the
        model's floating-point rounding, which may depend on its batch size):
        only row 0 of the interpretable data and of the model's answers depends
        on the instance, so the model is called once on the pool and once on
        all the instances.
        """
        import pandas as pd

        num_features = self.num_features if num_features is None else num_features
        validate_common(shared.num_samples, num_features, top_labels, self.feature_selection)
        infos = list(input_infos) if input_infos is not None else [None] * len(instances)
        results: list[Explanation | LimeCliError | None] = [None] * len(instances)
        encoded: dict[int, EncodedInstance] = {}
        for i, instance in enumerate(instances):
            row = pd.Series(instance) if isinstance(instance, dict) else instance
            missing = [c for c in self.feature_columns if c not in row.index]
            try:
                if missing:
                    raise InputDataError(
                        f"the row lacks column(s) the model needs: {', '.join(missing)}"
                    )
                encoded[i] = self.sampler.encode(row)
            except LimeCliError as e:
                results[i] = e
        if first_outputs is None:
            firsts = self._instance_outputs(encoded, results)
        else:
            firsts = {}
            for i in encoded:
                given = first_outputs[i]
                if isinstance(given, LimeCliError):
                    results[i] = given
                else:
                    firsts[i] = np.asarray(given, dtype=float)
        for i, first in firsts.items():
            enc = encoded[i]
            _, data = self.sampler.represent(shared.pool, enc, around_instance=False)
            outputs = np.vstack([first[None, :], shared.outputs])

            def more(size: int, enc: EncodedInstance = enc) -> tuple[np.ndarray, np.ndarray]:
                level = (size // shared.num_samples).bit_length() - 1
                extension, extension_outputs = shared.extensions[level]
                _, more_data = self.sampler.represent(extension, enc, around_instance=False)
                return more_data[1:], extension_outputs

            try:
                results[i] = self._explain_growing(
                    enc,
                    data,
                    outputs,
                    more if shared.auto else None,
                    shared.seed,
                    labels,
                    top_labels,
                    num_features,
                    infos[i],
                )
            except LimeCliError as e:
                results[i] = e
        return [r for r in results if r is not None]

    def instance_outputs(
        self, instances: Sequence[pd.Series | dict[str, Any]]
    ) -> list[np.ndarray | LimeCliError]:
        """The model's answer for each instance (one call), or the instance's error.

        A batch calls this on blocks of rows fixed by their position in the
        batch, so that a record never depends on --jobs or --resume even for a
        model whose rounding depends on its batch size.
        """
        import pandas as pd

        results: list[Explanation | LimeCliError | None] = [None] * len(instances)
        encoded: dict[int, EncodedInstance] = {}
        for i, instance in enumerate(instances):
            row = pd.Series(instance) if isinstance(instance, dict) else instance
            try:
                encoded[i] = self.sampler.encode(row)
            except LimeCliError as e:
                results[i] = e
            except KeyError as e:
                results[i] = InputDataError(f"the row lacks column {e} the model needs")
        firsts = self._instance_outputs(encoded, results)
        out: list[np.ndarray | LimeCliError] = []
        for i in range(len(instances)):
            result = results[i]
            out.append(firsts[i] if i in firsts else cast(LimeCliError, result))
        return out

    def _instance_outputs(
        self,
        encoded: dict[int, EncodedInstance],
        results: list[Explanation | LimeCliError | None],
    ) -> dict[int, np.ndarray]:
        """The model's answer for each encoded instance: one call, or one per row if it fails."""
        if not encoded:
            return {}
        order = sorted(encoded)
        try:
            outputs = self.predictor.predict(
                self.model_input(self._instances_frame([encoded[i] for i in order])),
                self.batch_size,
            )
            return {i: outputs[k] for k, i in enumerate(order)}
        except LimeCliError as e:
            if len(order) == 1:
                results[order[0]] = e
                return {}
        firsts: dict[int, np.ndarray] = {}
        for i in order:  # find the row(s) the model cannot take
            try:
                firsts[i] = self.predictor(self.model_input(self._instances_frame([encoded[i]])))[0]
            except LimeCliError as e:
                results[i] = e
        return firsts

    def _instances_frame(self, encoded: Sequence[EncodedInstance]) -> pd.DataFrame:
        pool = SamplePool(
            numeric=np.array([e.numeric for e in encoded], dtype=float).reshape(
                len(encoded), len(self.sampler.numeric_idx)
            ),
            bins=None,
            codes=np.array([e.codes for e in encoded], dtype=int).reshape(
                len(encoded), len(self.sampler.categorical_idx)
            ),
            noise=None,
        )
        unseen = [(i, e.unseen) for i, e in enumerate(encoded) if e.unseen]
        return self.sampler.to_frame(pool, unseen)

    def explain_many(
        self,
        instances: Iterable[pd.Series | dict[str, Any]],
        *,
        seed: int | None = None,
        labels: Sequence[str | int] | None = None,
        top_labels: int | None = None,
        num_samples: int | str | None = None,
        num_features: int | None = None,
        input_infos: Sequence[dict[str, Any]] | None = None,
        independent_samples: bool = False,
    ) -> list[Explanation]:
        """Explain many rows; raises the first row's error, if any.

        By default (where :attr:`shares_samples`) all rows share one pool drawn
        with ``seed``: row i's explanation is ``explain(row_i, seed=seed)``.
        With ``independent_samples`` (or when samples are drawn around each
        instance) each row gets its own pool, seeded by
        :func:`limecli.batch.derive_seed` from ``seed`` and the row's
        ``input_infos`` entry (by default ``{"index": position}``).
        """
        rows = list(instances)
        infos = (
            [dict(x) for x in input_infos]
            if input_infos is not None
            else [{"index": i} for i in range(len(rows))]
        )
        if len(infos) != len(rows):
            raise ParameterError(f"{len(infos)} input_infos for {len(rows)} instances")
        if independent_samples or not self.shares_samples:
            from limecli.batch import derive_seed

            return [
                self.explain(
                    row,
                    seed=derive_seed(seed, info),
                    labels=labels,
                    top_labels=top_labels,
                    num_samples=num_samples,
                    num_features=num_features,
                    input_info=info,
                )
                for row, info in zip(rows, infos, strict=True)
            ]
        shared = self.shared_pool(seed=seed, num_samples=num_samples)
        results = self.explain_with_pool(
            rows,
            shared,
            labels=labels,
            top_labels=top_labels,
            num_features=num_features,
            input_infos=infos,
        )
        for result in results:
            if isinstance(result, LimeCliError):
                raise result
        return [r for r in results if isinstance(r, Explanation)]

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


def _pool_rows(pool: SamplePool, rows: slice) -> SamplePool:
    return SamplePool(
        numeric=pool.numeric[rows],
        bins=None if pool.bins is None else pool.bins[rows],
        codes=pool.codes[rows],
        noise=None if pool.noise is None else pool.noise[rows],
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
    expected = predictor.n_features_in
    if expected is not None and expected != len(features):
        hint = "" if target else "; name the target column with --target if the data has one"
        raise InputDataError(
            f"the data has {len(features)} feature column(s) but the model expects {expected}{hint}"
        )
    return features


def _as_frame(data: pd.DataFrame | str | Path) -> pd.DataFrame:
    if isinstance(data, (str, Path)):
        from limecli.inputs.tabular import read_csv

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
    num_samples: int | str = AUTO,
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
    from limecli.inputs.tabular import select_row

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
