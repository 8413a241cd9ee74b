"""Whether the model takes missing values: one small probe before any sampling.

Missing cells reach the model as NaN (None in object columns). Many models
take them (imputing pipelines, HistGradientBoosting, LightGBM, XGBoost); many
do not (a plain LogisticRegression raises "Input X contains NaN"). Rather than
let the first call on thousands of samples fail with the model's own words,
the model is asked once about one row holding the missing cells:

* training data with missing cells: one typical row (training means, most
  frequent categories) missing in those columns. If the model refuses it but
  takes the same row complete, the missing cells are not sampled (training
  statistics ignore them, as for infinite cells) and a warning says so: the
  model is never shown a missing value it cannot take.
* a row to explain with missing cells (in columns not yet known to be taken):
  the row itself. If the model refuses it but takes it with those cells
  filled (training mean or most frequent category), the row cannot be
  explained: an :class:`~limecli.errors.InputDataError` says the model does
  not accept missing values and names the columns. If the model refuses the
  filled row too, its own error is raised, as any call would.

The columns the model took are remembered, so a batch probes once per new set.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from limecli.errors import InputDataError, LimeCliError
from limecli.explainers.tabular_auto import AUTO
from limecli.explainers.tabular_dtypes import declared_categories
from limecli.sampling.columns import is_missing
from limecli.sampling.tabular_rows import EncodedInstance, SamplePool

if TYPE_CHECKING:
    import pandas as pd

    from limecli.explainers.tabular import TabularInstance
    from limecli.explainers.tabular_pool import SharedPool
    from limecli.explanation import Explanation
    from limecli.model.predictor import Predictor
    from limecli.sampling.tabular import TabularSampler


class MissingValuesWarning(UserWarning):
    """The training data has missing cells that the model cannot take: they are not sampled."""


class MissingValuesMixin:
    """The missing-value probes of :class:`~limecli.explainers.tabular.TabularExplainer`."""

    if TYPE_CHECKING:  # what the mixin uses of the explainer it is mixed into
        predictor: Predictor
        sampler: TabularSampler
        feature_columns: list[str]

        def _prepare(self, instance: Any, input_info: dict[str, Any] | None) -> TabularInstance: ...

        def explain(
            self,
            instance: Any,
            *,
            seed: int | None = None,
            labels: Sequence[str | int] | None = None,
            top_labels: int | None = None,
            num_samples: Any = None,
            num_features: int | str | None = None,
            input_info: dict[str, Any] | None = None,
        ) -> Explanation: ...

        def pool_input(
            self,
            pool: SamplePool,
            *,
            private: bool = False,
            instance: EncodedInstance | None = None,
        ) -> Any: ...

    def build_sampler(
        self,
        training: pd.DataFrame,
        categorical: Sequence[str],
        discretizer: str | None,
        labels: np.ndarray | None = None,
    ) -> TabularSampler:
        """The sampler (also set as ``self.sampler``), with the columns the model declares
        categorical cast to its categories, and missing cells sampled if the model takes them
        (see :mod:`limecli.explainers.tabular_missing`)."""
        import pandas as pd

        from limecli.sampling.tabular import TabularSampler

        declared = declared_categories(self.predictor, self.feature_columns)
        settings: dict[str, Any] = {
            "categorical": [*categorical, *(c for c in declared if c not in categorical)],
            "discretizer": discretizer,
            "training_labels": labels,
            "dtypes": {c: pd.CategoricalDtype(cats) for c, cats in declared.items()},
        }
        self.sampler = TabularSampler(training, **settings)
        if not self.training_takes_missing():
            self.sampler = TabularSampler(training, missing=False, **settings)
        return self.sampler

    def _accepted_missing(self) -> set[str]:
        if "_missing_ok" not in self.__dict__:
            self._missing_ok: set[str] = set()
        return self._missing_ok

    def _answers(self, pool: SamplePool, instance: EncodedInstance | None = None) -> bool:
        try:
            self.predictor(self.pool_input(pool, private=True, instance=instance))
        except LimeCliError:
            return False
        return True

    def training_takes_missing(self) -> bool:
        """Probe with the training data's missing columns; False: sample without them (warned)."""
        columns = missing_in_training(self.sampler)
        if not columns or set(columns) <= self._accepted_missing():
            return True
        if self._answers(typical_row(self.sampler, columns)):
            self._accepted_missing().update(columns)
            return True
        if not self._answers(typical_row(self.sampler)):
            return True  # the model fails whatever it is given: its own error will say why
        warnings.warn(
            f"the model does not accept missing values, and the training data has some in "
            f"column(s) {', '.join(columns)}: those cells are left out of the sampling",
            MissingValuesWarning,
            stacklevel=4,
        )
        return False

    def check_missing(self, instance: EncodedInstance) -> None:
        """Raise InputDataError if ``instance`` has missing cells the model cannot take."""
        columns = instance.missing_columns(self.sampler)
        if not columns or set(columns) <= self._accepted_missing():
            return
        row = _one_row(instance)
        try:
            self.predictor(self.pool_input(row, private=True, instance=instance))
        except LimeCliError as e:
            if not self._answers(*self._filled(instance)):
                raise
            raise InputDataError(
                "the model does not accept missing values, and the row to explain has "
                f"missing value(s) in column(s): {', '.join(columns)}"
            ) from e
        self._accepted_missing().update(columns)

    def explain_apart(
        self,
        instances: Sequence[Any],
        shared: SharedPool,
        explain_shared: Callable[..., list[Explanation | LimeCliError]],
        **options: Any,
    ) -> list[Explanation | LimeCliError]:
        """``explain_shared`` (the shared pool's explain) for most rows; a row missing a cell
        that training never misses gets its own samples, ``explain(row, seed=shared.seed)``.

        Such a row's samples are missing in that column too (see
        :meth:`~limecli.sampling.tabular.TabularSampler.draw_missing`), so the
        shared pool and the model's answers on it do not fit it.
        """
        apart: list[int] = []
        for i, row in enumerate(instances):
            try:
                encoded = self._prepare(row, None).encoded
            except LimeCliError:
                continue  # the shared path gives the error
            if any(self.sampler.unsampled_missing(encoded)):
                apart.append(i)
        if not apart:
            return explain_shared(instances, shared, **options)
        infos = options.get("input_infos") or [None] * len(instances)
        firsts = options.get("first_outputs")
        rest = [i for i in range(len(instances)) if i not in apart]
        picked = dict(options)
        for key in ("input_infos", "first_outputs"):
            if options.get(key) is not None:
                picked[key] = [options[key][i] for i in rest]
        results: dict[int, Explanation | LimeCliError] = {}
        if rest:
            shared_rows = explain_shared([instances[i] for i in rest], shared, **picked)
            results.update(zip(rest, shared_rows, strict=True))
        for i in apart:
            if firsts is not None and isinstance(firsts[i], LimeCliError):
                results[i] = firsts[i]  # the model cannot take the row: its probe said so
                continue
            try:
                results[i] = self.explain(
                    instances[i],
                    seed=shared.seed,
                    labels=options.get("labels"),
                    top_labels=options.get("top_labels"),
                    num_samples=AUTO if shared.auto else shared.num_samples,
                    num_features=options.get("num_features"),
                    input_info=infos[i],
                )
            except LimeCliError as e:
                results[i] = e
        return [results[i] for i in range(len(instances))]

    def _filled(self, instance: EncodedInstance) -> tuple[SamplePool, EncodedInstance]:
        """``instance`` as one row with its missing cells filled with typical values."""
        typical = typical_row(self.sampler)
        row = _one_row(instance)
        gaps = np.isnan(row.numeric)
        row.numeric[gaps] = typical.numeric[gaps]
        for k, j in enumerate(self.sampler.categorical_idx):
            if is_missing(instance.raw[j]):
                row.codes[0, k] = typical.codes[0, k]
        unseen = {k: v for k, v in instance.unseen.items() if v is not None}
        return row, replace(instance, unseen=unseen)


def _one_row(instance: EncodedInstance) -> SamplePool:
    return SamplePool(
        numeric=instance.numeric[None, :].copy(),
        bins=None,
        codes=instance.codes[None, :].copy(),
        noise=None,
    )


def typical_row(sampler: TabularSampler, missing: Sequence[str] = ()) -> SamplePool:
    """One row of typical values (means, most frequent categories), missing in ``missing``."""
    numeric = sampler.means[None, :].copy()
    codes = np.array([[int(np.argmax(f)) for f in sampler.category_freqs]], dtype=int)
    for name in missing:
        j = sampler.columns.index(name)
        if sampler.is_categorical[j]:
            k = int(np.flatnonzero(sampler.categorical_idx == j)[0])
            hits = np.flatnonzero(sampler.categories[k] == None)  # noqa: E711 (elementwise)
            codes[0, k] = hits[0] if hits.size else len(sampler.categories[k])
        else:
            numeric[0, int(np.flatnonzero(sampler.numeric_idx == j)[0])] = np.nan
    return SamplePool(numeric=numeric, bins=None, codes=codes.reshape(1, -1), noise=None)


def missing_in_training(sampler: TabularSampler) -> list[str]:
    """The columns with missing cells in training that are sampled as missing."""
    gappy = {int(sampler.numeric_idx[k]) for k in np.flatnonzero(sampler.missing_rate > 0)}
    gappy |= {
        int(j)
        for k, j in enumerate(sampler.categorical_idx)
        if any(v is None for v in sampler.categories[k])
    }
    return [sampler.columns[j] for j in sorted(gappy)]
