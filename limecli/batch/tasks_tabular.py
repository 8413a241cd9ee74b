"""Tabular rows in a batch: the chunk task and the lazy inputs for :func:`~limecli.batch.run_batch`.

With a shared pool (see :meth:`TabularExplainer.shared_pool`), every chunk is
explained against one draw; without, each row draws its own pool with the
seed the batch runner derived from the row's identity.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from limecli.batch.runner import BatchInput
from limecli.errors import PredictorCallError
from limecli.explainers.tabular import SharedPool, TabularExplainer
from limecli.inputs.ref import InputRef
from limecli.inputs.tabular import text_column_hint
from limecli.sampling.columns import same_labels

if TYPE_CHECKING:
    import pandas as pd


class TabularBatchTask:
    """The tabular chunk task for :func:`limecli.batch.run_batch` (picklable).

    ``payload`` of each input is the row (a Series, or the :class:`PackedRow`
    the inputs of :func:`stream_batch_inputs` carry); with ``shared``, the pair
    (row, ``instance_outputs`` entry for it), and every chunk is explained
    against that one pool. Without, each row draws its own pool with its
    derived seed.
    """

    def __init__(
        self,
        explainer: TabularExplainer,
        shared: SharedPool | None,
        *,
        labels: Sequence[str | int] | None = None,
        top_labels: int | None = None,
        num_samples: int | str | None = None,
        num_features: int | str | None = None,
        text_columns: Sequence[str] = (),
    ) -> None:
        self.explainer = explainer
        #: Text feature columns: a model's failure to convert them gets a hint (see text_column_hint).
        self.text_columns = list(text_columns)
        self.shared = shared
        self.labels = list(labels) if labels else None
        self.top_labels = top_labels
        self.num_samples = num_samples
        self.num_features = num_features

    def __call__(self, chunk: list[BatchInput]) -> list[Any]:
        try:
            results = self._explain(chunk)
        except PredictorCallError as e:
            raise text_column_hint(e, self.text_columns) from e.__cause__
        return [
            text_column_hint(r, self.text_columns) if isinstance(r, BaseException) else r
            for r in results
        ]

    def _explain(self, chunk: list[BatchInput]) -> list[Any]:
        if self.shared is not None:
            # Payloads are (row, the model's answer for it or its error): see instance_outputs.
            return list(
                self.explainer.explain_with_pool(
                    [_unpacked(item.payload[0]) for item in chunk],
                    self.shared,
                    labels=self.labels,
                    top_labels=self.top_labels,
                    num_features=self.num_features,
                    input_infos=[item.identity for item in chunk],
                    first_outputs=[item.payload[1] for item in chunk],
                )
            )
        out: list[Any] = []
        for item in chunk:
            try:
                out.append(
                    self.explainer.explain(
                        _unpacked(item.payload),
                        seed=item.seed,
                        labels=self.labels,
                        top_labels=self.top_labels,
                        num_samples=self.num_samples,
                        num_features=self.num_features,
                        input_info=item.identity,
                    )
                )
            except Exception as e:  # recorded by the runner, the batch goes on
                out.append(e)
        return out


#: Rows per model call on the explained rows themselves (shared pool).
OUTPUT_BLOCK = 256


class PackedRow:
    """A row on its way to a batch worker: its cells, its name, and its labels, one Index
    object for the rows of a table, so that a chunk pickles the labels once.

    Pickling a chunk of 32 Series whole cost 3.0 ms (their labels' arrow strings each
    time), paid by the batch's process for every chunk, and unpickling them 1.1 ms in the
    worker; packed, 1.4 and 0.7 ms (timeit). :meth:`series` gives the same Series back."""

    __slots__ = ("labels", "name", "values")

    def __init__(self, values: Any, labels: Any, name: Any) -> None:
        self.values = values
        self.labels = labels
        self.name = name

    def __getstate__(self) -> tuple[Any, Any, Any]:
        return self.values, self.labels, self.name

    def __setstate__(self, state: tuple[Any, Any, Any]) -> None:
        self.values, self.labels, self.name = state

    def series(self) -> pd.Series:
        import pandas as pd

        return pd.Series(self.values, index=self.labels, name=self.name, copy=False)


class _Packer:
    """Rows packed (:class:`PackedRow`) when their cells are plain numpy values; rows with
    the labels of the row before share its Index object. Other rows are left as they are."""

    def __init__(self) -> None:
        self.labels: Any = None

    def __call__(self, row: Any) -> Any:
        import numpy as np
        import pandas as pd

        if type(row) is not pd.Series or not isinstance(row.dtype, np.dtype) or row.attrs:
            return row
        if self.labels is None or not same_labels(row.index, self.labels):
            self.labels = row.index
        return PackedRow(row.to_numpy(), self.labels, row.name)


def _unpacked(row: Any) -> Any:
    return row.series() if isinstance(row, PackedRow) else row


def tabular_batch_inputs(
    explainer: TabularExplainer,
    frame: pd.DataFrame,
    rows: Sequence[int],
    *,
    source: str | None,
    shared: bool,
) -> Iterator[BatchInput]:
    """The batch inputs for rows of ``frame``, read lazily (see :func:`stream_batch_inputs`)."""
    return stream_batch_inputs(
        explainer, ((i, frame.iloc[i]) for i in rows), source=source, shared=shared
    )


def stream_batch_inputs(
    explainer: TabularExplainer,
    rows: Iterable[tuple[int, pd.Series]],
    *,
    source: str | None,
    shared: bool,
) -> Iterator[BatchInput]:
    """The batch inputs for ``(position, row)`` pairs, read lazily, for :class:`TabularBatchTask`.

    ``rows`` may come from a frame or from a table streamed in chunks: each
    pair is read only when the runner asks for it. Each input is named
    ``InputRef.row(source, position)``. With ``shared``, each carries the
    model's answer for its row, asked in blocks of ``OUTPUT_BLOCK`` rows fixed
    by position in ``rows`` (never by --jobs, the reader's chunks, or what a
    resumed file already holds), so a record cannot depend on any of them.
    """
    pack = _Packer()
    if not shared:
        for i, value in rows:
            yield BatchInput(InputRef.row(source, i), pack(value))
        return
    pairs = iter(rows)
    while block := list(itertools.islice(pairs, OUTPUT_BLOCK)):
        values = [value for _, value in block]
        outputs = explainer.instance_outputs(values)
        for (i, value), output in zip(block, outputs, strict=True):
            yield BatchInput(InputRef.row(source, i), (pack(value), output))
