"""The tabular pipeline: read DATA (and the training CSV), build the explainer, explain rows."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from limecli.config.common import Batch, Labels, Sampling
from limecli.config.tabular import RowSelection, TabularSettings
from limecli.errors import InputDataError, ParameterError
from limecli.pipelines import BatchJob, Notes, no_notes

if TYPE_CHECKING:
    import pandas as pd

    from limecli.explainers.tabular import TabularExplainer
    from limecli.explanation import Explanation
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
    """Rows of a CSV (or a DataFrame) explained with the training data's statistics.

    :meth:`prepare` reads the data and builds the explainer; then
    :meth:`explain_row` explains one row and :meth:`batch_job` many.
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

    def prepare(
        self,
        data: Path,
        *,
        nrows: int | None = None,
        frame: pd.DataFrame | None = None,
        training_source: str | None = None,
    ) -> pd.DataFrame:
        """Read DATA (its first ``nrows`` rows when a training CSV is given) and the
        training data, build the explainer, and note what was assumed or left out.

        ``frame``: DATA already read; ``training_source``: how the training data
        is named in the explanation's meta (default: its path).
        """
        from limecli.explainers.tabular import TabularExplainer
        from limecli.inputs.tabular import check_numeric_columns, read_csv

        train = self.settings.train
        messages: list[str] = []
        if frame is None:
            frame = read_csv(data, nrows=None if train is None else nrows, notes=messages)
        train_frame = frame if train is None else read_csv(train, notes=messages)
        check_numeric_columns(train_frame, str(train or data), exempt=self.settings.categorical)
        for message in messages:
            self.notes(message)
        if train is None:
            self.notes(f"no 'train' given: sampling statistics come from {data} itself", "train")
        sampling = self.sampling
        explainer = TabularExplainer(
            self.predictor,
            train_frame,
            target=self.settings.target,
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
        dropped += [str(c) for c in frame.columns if c not in explainer.feature_columns]
        dropped = list(dict.fromkeys(dropped))
        if dropped:
            self.notes(f"column(s) the model does not use were left out: {', '.join(dropped)}")
        self.explainer = explainer
        return frame

    def _ready(self) -> TabularExplainer:
        if self.explainer is None:
            raise RuntimeError("TabularPipeline.prepare() must run first")
        return self.explainer

    def explain_row(self, frame: pd.DataFrame, row: int, source: str) -> Explanation:
        """The explanation of one row of ``frame`` (read from ``source``)."""
        from limecli.inputs.ref import InputRef
        from limecli.inputs.tabular import select_row

        instance = select_row(frame, row, source)
        try:
            return self._ready().explain(
                instance,
                seed=self.sampling.seed,
                labels=self.labels.labels,
                top_labels=self.labels.top_labels,
                input_info=InputRef.row(source, row).to_dict(),
            )
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
        """A batch of rows: one shared sample pool (exact: see README, Batch) unless
        ``independent_samples`` or the explainer samples around each row.

        ``keep_values``: record each row's values in the job (the audit's row filters).
        """
        from limecli.batch.tasks_tabular import TabularBatchTask, tabular_batch_inputs
        from limecli.inputs.ref import InputRef

        explainer = self._ready()
        shared = None
        if not independent_samples:
            if explainer.shares_samples:
                shared = explainer.shared_pool(
                    seed=self.sampling.seed, num_samples=self.sampling.num_samples
                )
            else:
                self.notes("samples are drawn around each row: every row gets its own sample pool")
        task = TabularBatchTask(
            explainer,
            shared,
            labels=self.labels.labels,
            top_labels=self.labels.top_labels,
            num_samples=self.sampling.num_samples,
            num_features=self.sampling.num_features,
        )
        inputs = tabular_batch_inputs(
            explainer, frame, rows, source=source, shared=shared is not None
        )
        values: dict[str, dict[str, Any]] = {}
        if keep_values:
            for i in rows:
                values[InputRef.row(source, i).key()] = frame.iloc[i].to_dict()
        return BatchJob(
            kind=self.kind,
            inputs=inputs,
            total=len(rows),
            task=task,
            chunk_size=SHARED_CHUNK if shared is not None else OWN_CHUNK,
            values=values,
        )
