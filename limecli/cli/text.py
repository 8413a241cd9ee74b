"""``limecli text``: explain a text model's predictions word by word."""

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


@click.command(name="text")
@model_argument
@click.argument(
    "inputs",
    nargs=-1,
    required=True,
    metavar="TEXT_FILE...",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=str),
)
@click.option(
    "--column",
    default=None,
    metavar="COL",
    help="Inputs are CSV/TSV/JSONL tables: explain the texts in this column, one per row.",
)
@click.option(
    "--row",
    "rows",
    multiple=True,
    type=click.IntRange(min=0),
    help="With --column: only this row, 0-based, not counting a header (repeatable).",
)
@click.option(
    "--encoding",
    default=None,
    metavar="CODEC",
    help="Encoding of the inputs (default UTF-8; a byte-order mark always wins).",
)
@click.option(
    "--split-expression",
    default=None,
    metavar="REGEX",
    help="Regex matching the separators between words "
    "(default: words are runs of Unicode word characters).",
)
@click.option(
    "--char-level",
    is_flag=True,
    help="Every character is a feature (for Chinese, Japanese and other unsegmented scripts).",
)
@click.option(
    "--bow/--no-bow",
    default=True,
    show_default=True,
    help="Bag of words (all occurrences of a word are one feature) or one feature per position.",
)
@click.option(
    "--mask-token",
    default="UNKWORDZ",
    show_default=True,
    help="With --no-bow: what replaces a switched-off word.",
)
@click.option(
    "--kernel-width",
    type=click.FloatRange(min=0, min_open=True),
    default=25.0,
    show_default=True,
    help="Kernel width on cosine distance x 100.",
)
@explain_options(num_samples=5000)
@output_options
def text(
    model: str,
    inputs: tuple[str, ...],
    column: str | None,
    rows: tuple[int, ...],
    encoding: str | None,
    split_expression: str | None,
    char_level: bool,
    bow: bool,
    mask_token: str,
    kernel_width: float,
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
    """Explain which words made MODEL predict what it did for each TEXT_FILE (- for stdin).

    MODEL is a pickled text pipeline (.joblib/.pkl) whose predict_proba or
    predict takes a list of strings, e.g. TfidfVectorizer + LogisticRegression,
    or a predict-script entrypoint such as predict.py:predict taking a list of
    strings. Unpickling runs code: only load models you trust.

    Each input gives one explanation. A feature is a word (or a character with
    --char-level); the JSON lists its character positions in the text.

    \b
    Example:
      limecli text sample_models/text_newsgroups.joblib \\
          sample_data/text/leak_post.txt
    """
    from limecli.errors import ParameterError
    from limecli.explainers.text import TextExplainer
    from limecli.model_loading import load_model
    from limecli.readers.text import check_encoding, read_texts

    if rows and column is None:
        raise click.BadParameter("--row needs --column", param_hint="'--row'")
    if char_level and split_expression is not None:
        raise click.BadParameter(
            "use either --char-level or --split-expression, not both", param_hint="'--char-level'"
        )
    try:
        check_encoding(encoding)
    except ParameterError as e:
        raise click.BadParameter(str(e), param_hint="'--encoding'") from None
    predictor = load_model(model, mode=mode, class_names=parse_class_names(class_names))
    explainer = TextExplainer(
        predictor,
        bow=bow,
        split_expression=split_expression,
        char_level=char_level,
        mask_token=mask_token,
        kernel_width=kernel_width,
        feature_selection=feature_selection,
        num_samples=num_samples,
        num_features=num_features,
        batch_size=batch_size,
    )
    items = read_texts(
        inputs,
        encoding=encoding,
        column=column,
        rows=list(rows) or None,
        stdin=click.get_binary_stream("stdin"),
    )
    if len(items) > 1:
        note(quiet, f"explaining {len(items)} texts")
    explanations = []
    for item in items:
        explanation = explainer.explain(
            item.text,
            seed=seed,
            labels=labels,
            top_labels=top_labels,
            input_info=item.input_info(),
        )
        n_features = explanation.data["num_interpretable_features"]
        if n_features == 1:
            where = item.source if item.index is None else f"{item.source} row {item.index}"
            note(
                quiet,
                f"{where} has a single word: its weight contrasts the text with the empty text",
            )
        explanations.append(explanation)
    emit(explanations, fmt, output)
