"""Many rows against one shared pool of samples: the batch side of TabularExplainer.

With discretised sampling (or continuous sampling around the training mean)
the perturbed rows do not depend on the instance: only row 0 does. So a batch
draws one pool, asks the model about it once, and explains every row against
it; each result equals ``explain(row, seed=seed)`` (up to the model's rounding,
which may depend on its batch size). :class:`SharedPoolMixin` gives
:class:`~limecli.explainers.tabular.TabularExplainer` these methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from limecli.errors import InputDataError, LimeCliError, ParameterError
from limecli.explainers.tabular_auto import AUTO, AUTO_MAX
from limecli.explanation import Explanation
from limecli.inputs.frames import as_rows
from limecli.inputs.ref import derive_seed
from limecli.sampling.tabular_rows import EncodedInstance, SamplePool
from limecli.validation import check_random_state, check_sample_memory

if TYPE_CHECKING:
    import pandas as pd

    from limecli.explainers.base import Request
    from limecli.explainers.tabular import TabularInstance
    from limecli.inputs.frames import Layout
    from limecli.model.predictor import Predictor
    from limecli.sampling.tabular import TabularSampler


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


class SharedPoolMixin:
    """Shared pools for :class:`~limecli.explainers.tabular.TabularExplainer` (mixed into it)."""

    if TYPE_CHECKING:  # what the mixin uses of the explainer it is mixed into
        predictor: Predictor
        sampler: TabularSampler
        layout: Layout
        feature_columns: list[str]
        num_samples: int | str
        batch_size: int | None
        discretizer: str | None
        sample_around_instance: bool

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

        def request(
            self,
            *,
            seed: int | None = None,
            labels: Sequence[str | int] | None = None,
            top_labels: int | None = None,
            num_samples: Any = None,
            num_features: int | str | None = None,
        ) -> Request: ...

        def _count(self, num_samples: Any) -> Any: ...

        def _prepare(self, instance: Any, input_info: dict[str, Any] | None) -> TabularInstance: ...

        def _explain_growing(
            self,
            subject: TabularInstance,
            data: np.ndarray,
            outputs: np.ndarray,
            more: Callable[[int], tuple[np.ndarray, np.ndarray]] | None,
            request: Request,
        ) -> Explanation: ...

        def model_input(self, frame: pd.DataFrame) -> Any: ...

        def pool_input(self, pool: SamplePool) -> Any: ...

        def check_missing(self, instance: EncodedInstance) -> None: ...

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
        request = self.request(seed=seed, num_samples=num_samples)
        auto = request.num_samples == AUTO
        count = int(self._count(request.num_samples))
        # The same draws as explain(seed=seed): the pool never depends on the instance.
        rng = check_random_state(seed)
        width = len(self.feature_columns)
        check_sample_memory(count, width, per_sample=16 * width)
        pool = self.sampler.draw(count, rng)
        shared = SharedPool(
            pool=pool,
            outputs=self._pool_outputs(pool),
            seed=seed,
            num_samples=count,
            auto=auto,
        )
        size = count
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
        num_features: int | str | None = None,
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
        request = self.request(
            seed=shared.seed,
            labels=labels,
            top_labels=top_labels,
            num_samples=shared.num_samples,
            num_features=num_features,
        )
        infos = list(input_infos) if input_infos is not None else [None] * len(instances)
        results: list[Explanation | LimeCliError | None] = [None] * len(instances)
        subjects: dict[int, TabularInstance] = {}
        for i, instance in enumerate(instances):
            try:
                subjects[i] = self._prepare(instance, infos[i])
            except LimeCliError as e:
                results[i] = e
        encoded = {i: subject.encoded for i, subject in subjects.items()}
        if first_outputs is None:
            for i in list(encoded):  # a row the model cannot take as it is: one clear error
                try:
                    self.check_missing(encoded[i])
                except LimeCliError as e:
                    results[i] = e
                    del encoded[i]
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
            data = self.sampler.shared_interpretable(shared.pool, enc)
            outputs = np.vstack([first[None, :], shared.outputs])

            def more(size: int, enc: EncodedInstance = enc) -> tuple[np.ndarray, np.ndarray]:
                level = (size // shared.num_samples).bit_length() - 1
                extension, extension_outputs = shared.extensions[level]
                return self.sampler.shared_interpretable(extension, enc)[1:], extension_outputs

            try:
                results[i] = self._explain_growing(
                    subjects[i], data, outputs, more if shared.auto else None, request
                )
            except LimeCliError as e:
                results[i] = e
        return [r for r in results if r is not None]

    def instance_outputs(
        self, instances: Sequence[pd.Series | dict[str, Any]]
    ) -> list[np.ndarray | LimeCliError]:
        """The model's answer for each instance (one call), or the instance's error.

        A batch calls this on blocks of rows fixed by their position in the
        batch, so that a record never depends on the number of jobs or on
        resuming, even for a model whose rounding depends on its batch size.
        """
        results: list[Explanation | LimeCliError | None] = [None] * len(instances)
        encoded: dict[int, EncodedInstance] = {}
        for i, instance in enumerate(instances):
            try:
                encoded[i] = self.sampler.encode(self.layout.row(instance, self.feature_columns))
                self.check_missing(encoded[i])
            except LimeCliError as e:
                encoded.pop(i, None)
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
        instances: pd.DataFrame | np.ndarray | Iterable[Any],
        *,
        seed: int | None = None,
        labels: Sequence[str | int] | None = None,
        top_labels: int | None = None,
        num_samples: int | str | None = None,
        num_features: int | str | None = None,
        input_infos: Sequence[dict[str, Any]] | None = None,
        independent_samples: bool = False,
    ) -> list[Explanation]:
        """Explain many rows (a DataFrame, a 2-D array or sparse matrix, or a list of
        rows as :meth:`explain` takes them); raises the first row's error, if any.

        By default (where :attr:`shares_samples`) all rows share one pool drawn
        with ``seed``: row i's explanation is ``explain(row_i, seed=seed)``.
        With ``independent_samples`` (or when samples are drawn around each
        instance) each row gets its own pool, seeded by
        :func:`limecli.inputs.ref.derive_seed` from ``seed`` and the row's
        ``input_infos`` entry (by default ``{"index": position}``).
        """
        rows = as_rows(instances)
        # The default identity names a position only: no source, as records have always had.
        infos = (
            [dict(x) for x in input_infos]
            if input_infos is not None
            else [{"index": i} for i in range(len(rows))]
        )
        if len(infos) != len(rows):
            raise ParameterError(f"{len(infos)} input_infos for {len(rows)} instances")
        if independent_samples or not self.shares_samples:
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


def _pool_rows(pool: SamplePool, rows: slice) -> SamplePool:
    return SamplePool(
        numeric=pool.numeric[rows],
        bins=None if pool.bins is None else pool.bins[rows],
        codes=pool.codes[rows],
        noise=None if pool.noise is None else pool.noise[rows],
        missing=None if pool.missing is None else pool.missing[rows],
    )
