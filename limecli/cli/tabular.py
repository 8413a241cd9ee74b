"""``limecli tabular``: explain one row of a CSV."""

from __future__ import annotations

from pathlib import Path

import click

from limecli.cli.common import (
    emit,
    explain_options,
    model_argument,
    note,
    output_options,
    parse_class_names,
)


@click.command(name="tabular")
@model_argument
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--row",
    type=click.IntRange(min=0),
    required=True,
    help="Row to explain, 0-based, not counting the header.",
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
@explain_options(num_samples=5000)
@output_options
def tabular(
    model: str,
    data: Path,
    row: int,
    train: Path | None,
    target: str | None,
    categorical: tuple[str, ...],
    discretizer: str,
    discretize: bool,
    sample_around_instance: bool,
    kernel_width: float | None,
    num_samples: int,
    num_features: int,
    seed: int,
    labels: tuple[str, ...],
    top_labels: int | None,
    mode: str | None,
    class_names: str | None,
    feature_selection: str,
    batch_size: int | None,
    fmt: str | None,
    output: Path | None,
    quiet: bool,
) -> None:
    """Explain why MODEL predicted what it did for one row of DATA (a CSV).

    MODEL is a pickled model (.joblib/.pkl/.pickle) with predict_proba or
    predict, or a predict-script entrypoint such as predict.py:predict or
    package.module:predict. Unpickling runs code: only load models you trust.

    \b
    Example:
      limecli tabular sample_models/breast_cancer_rf.joblib \\
          sample_data/breast_cancer_test.csv --row 12 \\
          --train sample_data/breast_cancer_train.csv
    """
    from limecli.explainers.tabular import explain_tabular
    from limecli.model_loading import load_model

    predictor = load_model(model, mode=mode, class_names=parse_class_names(class_names))
    if train is None:
        note(quiet, f"no --train given: sampling statistics come from {data} itself")
    explanation = explain_tabular(
        predictor,
        data,
        row,
        training=train,
        target=target,
        categorical=categorical,
        num_samples=num_samples,
        num_features=num_features,
        seed=seed,
        labels=labels,
        top_labels=top_labels,
        discretizer=discretizer if discretize else None,
        sample_around_instance=sample_around_instance,
        kernel_width=kernel_width,
        feature_selection=feature_selection,
        batch_size=batch_size,
    )
    dropped = explanation.params.get("dropped_columns") or []
    if dropped:
        note(quiet, f"column(s) the model does not use were left out: {', '.join(dropped)}")
    emit([explanation], fmt, output)
