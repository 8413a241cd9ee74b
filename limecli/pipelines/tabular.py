"""The tabular pipeline: read DATA (and the training table), build the explainer, explain rows.

A batch with a training table streams DATA: :meth:`TabularPipeline.batch` checks
the file whole, then reads it in chunks while the rows are explained, so memory
does not grow with the number of rows (see :mod:`limecli.inputs.table_stream`).
Without one, the training statistics are DATA's own, and DATA is read whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from limecli.config.common import Batch, Labels, Sampling
from limecli.config.tabular import RowSelection, TabularSettings
from limecli.errors import InputDataError, ParameterError, PredictorCallError
from limecli.pipelines import BatchJob, Notes, no_notes

if TYPE_CHECKING:
    import pandas as pd

    from limecli.explainers.tabular import TabularExplainer
    from limecli.explanation import Explanation
    from limecli.inputs.tabular import Table
    from limecli.model.predictor import Predictor

#: Rows per batch task: shared-pool rows are cheap, so their chunks are larger
#: (fewer tasks to ship); a record never depends on its chunk.
SHARED_CHUNK, OWN_CHUNK = 32, 4


def check_row_selection(selection: RowSelection, batch: Batch) -> None:
    """Exactly one of row / rows / all_rows, and batch-only settings only with a batch."""
    from limecli.inputs.rows import check_rows_syntax

    chosen = sum([selection.row is not None, selection.rows is not None, selection.all_rows])
    if chosen != 1:
        raise ParameterError(
            "give exactly one of 'row' N, 'rows' SPEC or 'all_rows'",
            parameters=("row", "rows", "all_rows"),
        )
    if selection.row is not None and (batch.resume or selection.independent_samples):
        raise ParameterError(
            "'resume' and 'independent_samples' go with 'rows' or 'all_rows'",
            parameters=("resume", "independent_samples", "rows", "all_rows"),
        )
    if selection.rows is not None:
        check_rows_syntax(selection.rows)  # before any work; the range is checked once DATA is read


class TabularPipeline:
    """Rows of a table (or a DataFrame) explained with the training data's statistics.

    :meth:`prepare` reads the data and builds the explainer; then
    :meth:`explain_row` explains one row and :meth:`batch_job` many.
    :meth:`batch` does both for a batch, streaming DATA when a training table is given.
    """

    kind = "tabular"

    def __init__(
        self,
        predictor: Predictor,
        settings: TabularSettings,
        sampling: Sampling,
        labels: Labels,
        *,
        notes: Notes = no_notes,
    ) -> None:
        self.predictor = predictor
        self.settings = settings
        self.sampling = sampling
        self.labels = labels
        self.notes = notes
        self.explainer: TabularExplainer | None = None
        #: Feature columns holding text in the training data (named when a model chokes on text).
        self.text_columns: list[str] = []

    def prepare(
        self,
        data: Path,
        *,
        nrows: int | None = None,
        frame: pd.DataFrame | None = None,
        training_source: str | None = None,
    ) -> pd.DataFrame:
        """Read DATA (its first ``nrows`` rows when a training table is given) and the
        training data, build the explainer, and note what was assumed or left out.

        ``frame``: DATA already read; ``training_source``: how the training data
        is named in the explanation's meta (default: its path). Returns DATA
        without the columns ``drop`` names. ``-`` reads DATA from stdin.
        """
        from limecli.inputs.tabular import read_csv

        train = self.settings.train
        messages: list[str] = []
        if frame is None:
            frame = read_csv(data, nrows=None if train is None else nrows, notes=messages)
        train_frame = frame if train is None else read_csv(train, notes=messages)
        frame, train_frame = self._drop(frame, train_frame)
        self._build(train_frame, [str(c) for c in frame.columns], data, messages, training_source)
        return frame

    def batch(self, data: Path, selection: RowSelection) -> BatchJob:
        """The batch ``selection`` asks for (``rows`` or ``all_rows``) over DATA.

        With a training table, DATA is checked whole and then streamed in
        chunks, one chunk in memory at a time; the rows are taken from the
        stream in the order asked (rows out of order cost another pass).
        Without, DATA is its own training data and is read whole.
        """
        from limecli.inputs.tabular import open_table, read_csv

        independent = selection.independent_samples
        train = self.settings.train
        if train is None:
            frame = self.prepare(data)
            rows = self.select_rows(selection, len(frame))
            return self.batch_job(frame, rows, str(data), independent_samples=independent)
        messages: list[str] = []
        table = open_table(data, notes=messages)
        train_frame = read_csv(train, notes=messages)
        self._check_drop(table.columns, [str(c) for c in train_frame.columns])
        columns = [c for c in table.columns if c not in self.settings.drop]
        self._build(self._without_drop(train_frame), columns, data, messages, None)
        total, positions = stream_positions(selection, table)
        return self._job(table.rows(positions), total, str(data), independent_samples=independent)

    def _drop(
        self, frame: pd.DataFrame, train_frame: pd.DataFrame
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """DATA and the training data without the columns ``drop`` names."""
        same = train_frame is frame
        self._check_drop([str(c) for c in frame.columns], [str(c) for c in train_frame.columns])
        frame = self._without_drop(frame)
        return frame, frame if same else self._without_drop(train_frame)

    def _without_drop(self, frame: pd.DataFrame) -> pd.DataFrame:
        gone = [c for c in frame.columns if str(c) in self.settings.drop]
        return frame.drop(columns=gone) if gone else frame

    def _check_drop(self, data_columns: list[str], train_columns: list[str]) -> None:
        drop = self.settings.drop
        unknown = [c for c in drop if c not in data_columns and c not in train_columns]
        if unknown:
            raise InputDataError(
                f"'drop' names column(s) the data does not have: {', '.join(unknown)}",
                parameters=("drop",),
            )
        needed = [c for c in drop if c in (self.predictor.feature_names or ())]
        if needed:
            raise ParameterError(
                f"'drop' names column(s) the model was fitted on: {', '.join(needed)}",
                parameters=("drop",),
            )

    def _build(
        self,
        train_frame: pd.DataFrame,
        data_columns: list[str],
        data: Path,
        messages: list[str],
        training_source: str | None,
    ) -> None:
        """The explainer over ``train_frame``; notes what was read, assumed and left out."""
        from limecli.explainers.tabular import TabularExplainer
        from limecli.inputs.tabular import STDIN, STDIN_NAME, check_numeric_columns, text_columns

        train = self.settings.train
        shown = STDIN_NAME if str(data) == STDIN else str(data)
        check_numeric_columns(train_frame, str(train or shown), exempt=self.settings.categorical)
        for message in messages:
            self.notes(message)
        if train is None:
            self.notes(f"no 'train' given: sampling statistics come from {shown} itself", "train")
        sampling = self.sampling
        explainer = TabularExplainer(
            self.predictor,
            train_frame,
            target=self.settings.target_column,
            categorical=self.settings.categorical,
            discretizer=self.settings.discretizer_or_none,
            sample_around_instance=self.settings.sample_around_instance,
            kernel_width=sampling.kernel_width,
            feature_selection=sampling.feature_selection,
            num_samples=sampling.num_samples,
            num_features=sampling.num_features,
            batch_size=sampling.batch_size,
        )
        explainer.training_source = training_source or str(train if train is not None else data)
        # Left out: what the training data has beyond the model's columns, and DATA's extras.
        dropped = [*explainer.dropped_columns]
        dropped += [c for c in data_columns if c not in explainer.feature_columns]
        dropped = list(dict.fromkeys(dropped))
        if dropped:
            self.notes(f"column(s) the model does not use were left out: {', '.join(dropped)}")
        self.text_columns = text_columns(train_frame, explainer.feature_columns)
        self.explainer = explainer

    def _ready(self) -> TabularExplainer:
        if self.explainer is None:
            raise RuntimeError("TabularPipeline.prepare() must run first")
        return self.explainer

    def explain_row(self, frame: pd.DataFrame, row: int, source: str) -> Explanation:
        """The explanation of one row of ``frame`` (read from ``source``)."""
        from limecli.inputs.ref import InputRef
        from limecli.inputs.tabular import select_row, text_column_hint

        instance = select_row(frame, row, source)
        try:
            return self._ready().explain(
                instance,
                seed=self.sampling.seed,
                labels=self.labels.labels,
                top_labels=self.labels.top_labels,
                input_info=InputRef.row(source, row).to_dict(),
            )
        except PredictorCallError as e:
            raise text_column_hint(e, self.text_columns) from e.__cause__
        except InputDataError as e:
            if "the row" not in str(e):
                raise
            raise InputDataError(f"{source} row {row}: {e}", parameters=e.parameters) from e

    def select_rows(self, selection: RowSelection, n_rows: int) -> list[int]:
        """The rows a batch explains: ``rows`` parsed against the data, or all of them."""
        from limecli.inputs.rows import parse_rows

        if selection.rows is None:
            return list(range(n_rows))
        return parse_rows(selection.rows, n_rows)

    def batch_job(
        self,
        frame: pd.DataFrame,
        rows: list[int],
        source: str,
        *,
        independent_samples: bool = False,
        keep_values: bool = False,
    ) -> BatchJob:
        """A batch of rows of ``frame``: one shared sample pool (exact: see docs/batch.md)
        unless ``independent_samples`` or the explainer samples around each row.

        ``keep_values``: record each row's values in the job (the audit's row filters).
        """
        from limecli.inputs.ref import InputRef

        values: dict[str, dict[str, Any]] = {}
        if keep_values:
            for i in rows:
                values[InputRef.row(source, i).key()] = frame.iloc[i].to_dict()
        pairs = ((i, frame.iloc[i]) for i in rows)
        return self._job(
            pairs, len(rows), source, independent_samples=independent_samples, values=values
        )

    def _job(
        self,
        pairs: Iterable[tuple[int, pd.Series]],
        total: int,
        source: str,
        *,
        independent_samples: bool,
        values: dict[str, dict[str, Any]] | None = None,
    ) -> BatchJob:
        """The job over ``(position, row)`` pairs, read lazily."""
        from limecli.batch.tasks_tabular import TabularBatchTask, stream_batch_inputs
        from limecli.inputs.tabular import text_column_hint

        explainer = self._ready()
        shared = None
        if not independent_samples:
            if explainer.shares_samples:
                try:
                    shared = explainer.shared_pool(
                        seed=self.sampling.seed, num_samples=self.sampling.num_samples
                    )
                except PredictorCallError as e:
                    raise text_column_hint(e, self.text_columns) from e.__cause__
            else:
                self.notes("samples are drawn around each row: every row gets its own sample pool")
        task = TabularBatchTask(
            explainer,
            shared,
            labels=self.labels.labels,
            top_labels=self.labels.top_labels,
            num_samples=self.sampling.num_samples,
            num_features=self.sampling.num_features,
            text_columns=self.text_columns,
        )
        inputs = stream_batch_inputs(explainer, pairs, source=source, shared=shared is not None)
        return BatchJob(
            kind=self.kind,
            inputs=inputs,
            total=total,
            task=task,
            chunk_size=SHARED_CHUNK if shared is not None else OWN_CHUNK,
            values=values or {},
        )


def stream_positions(selection: RowSelection, table: Table) -> tuple[int, Iterator[int]]:
    """(how many, which) rows of a streamed table a batch explains, checked against its length."""
    from limecli.inputs.rows import parse_row_spec
    from limecli.inputs.table_stream import spec_positions

    if selection.rows is None:
        return table.n_rows, iter(range(table.n_rows))
    return spec_positions(parse_row_spec(selection.rows), table.n_rows)
