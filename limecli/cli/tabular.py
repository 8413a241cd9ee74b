"""``limecli tabular``: explain one row of a CSV, or many (``--rows``/``--all``) as a batch."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import click

from limecli.cli.common import (
    batch_options,
    emit,
    explain_options,
    model_argument,
    model_options,
    note,
    output_options,
    parse_class_names,
    resolve_format,
)

if TYPE_CHECKING:
    import pandas as pd

    from limecli.explainers.tabular import TabularExplainer
    from limecli.model.predictor import Predictor


@click.command(name="tabular")
@model_argument
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--row",
    type=click.IntRange(min=0),
    default=None,
    help="Row to explain, 0-based, not counting the header.",
)
@click.option(
    "--rows",
    "rows_spec",
    default=None,
    metavar="SPEC",
    help="Explain several rows as a batch: 0:500 (end excluded), 3,7,9, or both: 0:10,42.",
)
@click.option("--all", "all_rows", is_flag=True, help="Explain every row of DATA as a batch.")
@click.option(
    "--independent-samples",
    is_flag=True,
    help="Batch: draw a fresh sample pool per row instead of sharing one (see README, Batch).",
)
@click.option(
    "--train",
    "train",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Training CSV for sampling statistics (default: DATA itself).",
)
@click.option(
    "--target",
    default=None,
    metavar="COL",
    help="Target column to leave out (columns the model does not use are left out anyway).",
)
@click.option(
    "--categorical",
    multiple=True,
    metavar="COL",
    help="Treat a numeric column as categorical (repeatable). Text columns always are.",
)
@click.option(
    "--discretizer",
    type=click.Choice(["quartile", "decile", "entropy"]),
    default="quartile",
    show_default=True,
    help="How numeric columns are binned.",
)
@click.option(
    "--discretize/--no-discretize",
    default=True,
    show_default=True,
    help="Explain with bins ('x > 3.2') or with continuous, standardised values.",
)
@click.option(
    "--sample-around-instance",
    is_flag=True,
    help="With --no-discretize, sample around the row instead of the training mean.",
)
@click.option(
    "--kernel-width",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Kernel width (default 0.75 * sqrt(number of features)).",
)
@explain_options(num_samples="auto", allow_auto=True)
@model_options
@output_options
@batch_options
def tabular(
    model: str,
    data: Path,
    row: int | None,
    rows_spec: str | None,
    all_rows: bool,
    independent_samples: bool,
    train: Path | None,
    target: str | None,
    categorical: tuple[str, ...],
    discretizer: str,
    discretize: bool,
    sample_around_instance: bool,
    kernel_width: float | None,
    num_samples: int | str,
    num_features: int,
    seed: int,
    labels: tuple[str, ...],
    top_labels: int | None,
    mode: str | None,
    class_names: str | None,
    feature_selection: str,
    batch_size: int | None,
    timeout: float | None,
    trust: tuple[str, ...],
    fmt: str | None,
    output: Path | None,
    quiet: bool,
    jobs: int,
    resume: bool,
    backend: str,
    scheduler: str | None,
) -> None:
    """Explain why MODEL predicted what it did for one row of DATA (a CSV), or for many.

    MODEL is a pickled model (.joblib/.pkl/.pickle) with predict_proba or
    predict, a scikit-learn model saved with skops (.skops), an ONNX model
    (.onnx), or a predict-script entrypoint such as predict.py:predict or
    package.module:predict. Unpickling runs code: only load pickles you trust;
    .skops and .onnx files load without running code.

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
    from limecli.errors import ParameterError
    from limecli.model.loading import load_model

    chosen = sum([row is not None, rows_spec is not None, all_rows])
    if chosen != 1:
        raise ParameterError("give exactly one of --row N, --rows SPEC or --all")
    if row is not None and (resume or independent_samples):
        raise ParameterError("--resume and --independent-samples go with --rows or --all")
    if rows_spec is not None:
        check_rows_syntax(rows_spec)  # before any work; the range is checked once DATA is read
    check_executor_options(jobs, backend, scheduler)
    predictor = load_model(
        model,
        mode=mode,
        class_names=parse_class_names(class_names),
        timeout=timeout,
        trust=trust,
    )
    frame, explainer = _explainer(
        predictor,
        data,
        train,
        # One row asked for: DATA is read only up to it (a huge file is never read whole).
        nrows=None if row is None else row + 1,
        target=target,
        categorical=categorical,
        discretizer=discretizer if discretize else None,
        sample_around_instance=sample_around_instance,
        kernel_width=kernel_width,
        feature_selection=feature_selection,
        num_samples=num_samples,
        num_features=num_features,
        batch_size=batch_size,
        quiet=quiet,
    )
    if row is None:
        _batch(
            explainer,
            frame,
            data,
            rows_spec,
            num_samples=num_samples,
            num_features=num_features,
            seed=seed,
            labels=labels,
            top_labels=top_labels,
            independent_samples=independent_samples,
            fmt=resolve_format(fmt, output),
            output=output,
            quiet=quiet,
            jobs=jobs,
            resume=resume,
            backend=backend,
            scheduler=scheduler,
        )
        return
    from limecli.errors import InputDataError
    from limecli.inputs.tabular import select_row

    instance = select_row(frame, row, str(data))
    try:
        explanation = explainer.explain(
            instance,
            seed=seed,
            labels=labels,
            top_labels=top_labels,
            input_info={"source": str(data), "row": row},
        )
    except InputDataError as e:
        if "the row" not in str(e):
            raise
        raise InputDataError(f"{data} row {row}: {e}") from e
    emit([explanation], fmt, output)


def _explainer(
    predictor: Predictor,
    data: Path,
    train: Path | None,
    *,
    nrows: int | None,
    target: str | None,
    categorical: tuple[str, ...],
    discretizer: str | None,
    sample_around_instance: bool,
    kernel_width: float | None,
    feature_selection: str,
    num_samples: int | str,
    num_features: int,
    batch_size: int | None,
    quiet: bool,
) -> tuple[pd.DataFrame, TabularExplainer]:
    """Read DATA (its first ``nrows`` rows when --train is given) and the training data,
    build the explainer, and say on stderr what was assumed or left out."""
    from limecli.explainers.tabular import TabularExplainer
    from limecli.inputs.tabular import check_numeric_columns, read_csv

    notes: list[str] = []
    if train is None:
        frame = train_frame = read_csv(data, notes=notes)
    else:
        train_frame = read_csv(train, notes=notes)
        frame = read_csv(data, nrows=nrows, notes=notes)
    check_numeric_columns(train_frame, str(train or data), exempt=categorical)
    for message in notes:
        note(quiet, message)
    if train is None:
        note(quiet, f"no --train given: sampling statistics come from {data} itself")
    explainer = TabularExplainer(
        predictor,
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
    )
    explainer.training_source = str(train if train is not None else data)
    # Left out: what the training data has beyond the model's columns, and DATA's extras.
    dropped = [*explainer.dropped_columns]
    dropped += [str(c) for c in frame.columns if c not in explainer.feature_columns]
    dropped = list(dict.fromkeys(dropped))
    if dropped:
        note(quiet, f"column(s) the model does not use were left out: {', '.join(dropped)}")
    return frame, explainer


_ROWS_PART = re.compile(r"^\s*(\d+|\d*\s*:\s*\d*)\s*$")


def check_rows_syntax(spec: str) -> None:
    """ParameterError unless every part of ``spec`` is a row number or a START:STOP range."""
    from limecli.errors import ParameterError

    for part in spec.split(","):
        if not _ROWS_PART.match(part):
            raise ParameterError(
                f"--rows {spec!r}: {part.strip()!r} is not a row number or START:STOP range "
                "(0-based, e.g. 0:500 or 3,7,9)"
            )


def parse_rows(spec: str, n_rows: int) -> list[int]:
    """Row numbers from ``0:500`` (end excluded; ``5:`` to the end), ``3,7,9`` or a mix.

    Repeated rows are explained once, at their first position.
    """
    from limecli.errors import InputDataError, ParameterError

    rows: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        try:
            if ":" in part:
                start_text, _, stop_text = part.partition(":")
                start = int(start_text) if start_text.strip() else 0
                stop = int(stop_text) if stop_text.strip() else n_rows
                if start < 0 or stop < start:
                    raise ValueError
                if stop > n_rows:
                    raise InputDataError(
                        f"rows {part} reach past the end: the data has {n_rows} rows "
                        f"(0 to {n_rows - 1})"
                    )
                rows.extend(range(start, stop))
            else:
                value = int(part)
                if value < 0:
                    raise ValueError
                if value >= n_rows:
                    raise InputDataError(
                        f"row {value} is out of range: the data has {n_rows} rows "
                        f"(0 to {n_rows - 1})"
                    )
                rows.append(value)
        except ValueError as e:
            raise ParameterError(
                f"--rows {spec!r}: {part!r} is not a row number or START:STOP range "
                "(0-based, e.g. 0:500 or 3,7,9)"
            ) from e
    return list(dict.fromkeys(rows))


def _batch(
    explainer: TabularExplainer,
    frame: pd.DataFrame,
    data: Path,
    rows_spec: str | None,
    *,
    num_samples: int | str,
    num_features: int,
    seed: int,
    labels: tuple[str, ...],
    top_labels: int | None,
    independent_samples: bool,
    fmt: str,
    output: Path | None,
    quiet: bool,
    jobs: int,
    resume: bool,
    backend: str,
    scheduler: str | None,
) -> None:
    from limecli.batch.tasks_tabular import TabularBatchTask, tabular_batch_inputs
    from limecli.cli.batch_run import run_cli_batch

    rows = list(range(len(frame))) if rows_spec is None else parse_rows(rows_spec, len(frame))
    shared = None
    if not independent_samples:
        if explainer.shares_samples:
            # One pool, one model call on it, for every row (exact: see README, Batch).
            shared = explainer.shared_pool(seed=seed, num_samples=num_samples)
        else:
            note(quiet, "samples are drawn around each row: every row gets its own sample pool")
    task = TabularBatchTask(
        explainer,
        shared,
        labels=labels,
        top_labels=top_labels,
        num_samples=num_samples,
        num_features=num_features,
    )
    inputs = tabular_batch_inputs(
        explainer, frame, rows, source=str(data), shared=shared is not None
    )
    run_cli_batch(
        kind="tabular",
        inputs=inputs,
        total=len(rows),
        task=task,
        fmt=fmt,
        output=output,
        resume=resume,
        jobs=jobs,
        backend=backend,
        scheduler=scheduler,
        seed=seed,
        quiet=quiet,
        # Shared-pool rows are cheap, so chunks are larger (fewer tasks to ship);
        # a record never depends on its chunk (see _with_outputs).
        chunk_size=32 if shared is not None else 4,
    )
