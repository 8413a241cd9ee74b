"""``limecli tabular``: explain one row of a CSV, or many (``--rows``/``--all``) as a batch."""

from __future__ import annotations

from pathlib import Path

import click

from limecli.cli.options import SectionedCommand, option_group
from limecli.config.common import Batch, Labels, ModelSpec, Output, Sampling
from limecli.config.tabular import RowSelection, TabularSettings

AUTO_HELP = (
    "Perturbed samples to draw around the input. 'auto': 5000, doubled to 10000 only when "
    "twice the samples are expected to settle more of the explanation's ranks."
)


@click.command(name="tabular", cls=SectionedCommand)
@click.argument("model", metavar="MODEL")
@click.argument(
    "data", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path)
)
@option_group(RowSelection, section="Rows")
@option_group(TabularSettings, section="Tabular")
@option_group(Sampling, section="Sampling", num_samples={"default": "auto", "help": AUTO_HELP})
@option_group(Labels, section="Labels")
@option_group(ModelSpec, section="Model", arguments=("model",))
@option_group(Output, section="Output")
@option_group(Batch, section="Batch")
def tabular(
    data: Path,
    row_selection: RowSelection,
    tabular_settings: TabularSettings,
    sampling: Sampling,
    labels: Labels,
    model_spec: ModelSpec,
    output: Output,
    batch: Batch,
) -> None:
    """Explain why MODEL predicted what it did for one row of DATA, or for many.

    DATA is a CSV (also .gz/.bz2/.xz/.zst), Parquet, Feather/Arrow or JSON
    Lines table, or - for stdin.

    MODEL is a pickled model (.joblib/.pkl/.pickle) with predict_proba or
    predict, a scikit-learn model saved with skops (.skops), an ONNX model
    (.onnx), an XGBoost (.json/.ubj), LightGBM (.txt) or CatBoost (.cbm) model
    file, a TorchScript (.pt) or Keras (.keras) network, an MLflow model
    folder, or a predict-script entrypoint such as
    predict.py:predict or package.module:predict. Unpickling runs code: only
    load pickles you trust; .skops and .onnx files, and the boosting libraries'
    own files, load without running code.

    \b
    Example:
      limecli tabular sample_models/breast_cancer_rf.joblib \\
          sample_data/breast_cancer_test.csv --row 12 \\
          --train sample_data/breast_cancer_train.csv
      limecli tabular sample_models/breast_cancer_rf.joblib \\
          sample_data/breast_cancer_test.csv --all --jobs 2 -o explanations.jsonl

    A batch (--rows/--all) streams one record per row, in row order, with a
    progress bar on stderr; a failing row gets an error record and exit code 6.
    """
    from limecli.batch import check_executor_options
    from limecli.cli.batch_run import check_batch, run_job
    from limecli.cli.output import emit, make_notes
    from limecli.pipelines import load_predictor
    from limecli.pipelines.tabular import TabularPipeline, check_row_selection

    check_row_selection(row_selection, batch)
    check_executor_options(batch.jobs, batch.backend, batch.scheduler)
    if row_selection.row is None:
        check_batch(output, batch)
    notes = make_notes(output.quiet)
    pipeline = TabularPipeline(
        load_predictor(model_spec), tabular_settings, sampling, labels, notes=notes
    )
    row = row_selection.row
    if row is not None:
        # One row asked for: DATA is read only up to it (a huge file is never read whole).
        frame = pipeline.prepare(data, nrows=row + 1)
        emit([pipeline.explain_row(frame, row, str(data))], output.fmt, output.output)
        return
    # A batch streams DATA in chunks when --train is given (else DATA is the training data).
    run_job(pipeline.batch(data, row_selection), output, batch, seed=sampling.seed)
