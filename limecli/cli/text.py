"""``limecli text``: explain a text model's predictions word by word, for one text or a batch."""

from __future__ import annotations

import sys
from pathlib import Path

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


@click.command(name="text")
@model_argument
@click.argument("inputs", nargs=-1, required=False, metavar="TEXT_FILE|FOLDER|GLOB...")
@click.option(
    "--files-from",
    default=None,
    metavar="FILE",
    help="Also explain the files listed in FILE, one path per line (- reads the list from stdin).",
)
@click.option(
    "--recursive", "-r", is_flag=True, help="Look for text files in the folders' subfolders too."
)
@click.option(
    "--ext",
    "extensions",
    multiple=True,
    metavar="LIST",
    help="Extensions of the files taken from folders, e.g. .txt,.md,.eml "
    "[.txt,.md; with --column: .csv,.tsv,.tab,.jsonl,.ndjson].",
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
@click.option(
    "--max-chars",
    type=click.IntRange(min=1),
    default=100_000,
    show_default=True,
    help="Explain at most this many characters of a text (longer texts are cut, with a note).",
)
@click.option(
    "--max-words",
    type=click.IntRange(min=1),
    default=2_000,
    show_default=True,
    help="Explain at most this many distinct words: the text is cut before the next new one.",
)
@explain_options(num_samples=5000)
@model_options
@output_options
@batch_options
def text(
    model: str,
    inputs: tuple[str, ...],
    files_from: str | None,
    recursive: bool,
    extensions: tuple[str, ...],
    column: str | None,
    rows: tuple[int, ...],
    encoding: str | None,
    split_expression: str | None,
    char_level: bool,
    bow: bool,
    mask_token: str,
    kernel_width: float,
    max_chars: int,
    max_words: int,
    num_samples: int,
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
    """Explain which words made MODEL predict what it did for each TEXT_FILE (- for stdin).

    MODEL is a pickled text pipeline (.joblib/.pkl) whose predict_proba or
    predict takes a list of strings, e.g. TfidfVectorizer + LogisticRegression,
    or a predict-script entrypoint such as predict.py:predict taking a list of
    strings; or a .skops or .onnx model. Unpickling runs code: only load pickles
    you trust; .skops and .onnx files load without running code.

    Each input gives one explanation. A feature is a word (or a character with
    --char-level); the JSON lists its character positions in the text.

    One text is explained on its own. Several paths, a FOLDER (its .txt and
    .md files; --recursive, --ext), a quoted GLOB ('tickets/**/*.txt'),
    --files-from, a --column of tables, or a batch option run a batch: one
    record per text, in input order, streamed (JSONL, CSV) with a progress bar;
    a text that cannot be read or explained gets an error record and exit code 6.

    \b
    Example:
      limecli text sample_models/text_newsgroups.joblib \\
          sample_data/text/leak_post.txt
      limecli text sample_models/text_newsgroups.joblib tickets/ -r \\
          --format jsonl -o tickets.jsonl --jobs 2
    """
    from limecli.batch import check_executor_options
    from limecli.errors import ParameterError
    from limecli.explainers.text import TextExplainer
    from limecli.inputs.text import cap_text, check_encoding, read_texts
    from limecli.model.loading import load_model

    batch = _is_batch(inputs, files_from, column, rows, jobs, resume, backend)
    if not inputs and files_from is None:
        raise ParameterError("no input given: name text files, a folder, or - for stdin")
    if not batch and (extensions or recursive):
        raise ParameterError("--ext and --recursive go with folders")
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
    check_executor_options(jobs, backend, scheduler)
    predictor = load_model(
        model,
        mode=mode,
        class_names=parse_class_names(class_names),
        timeout=timeout,
        trust=trust,
    )
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
    if batch:
        _batch(
            explainer,
            inputs,
            files_from=files_from,
            recursive=recursive,
            extensions=extensions,
            column=column,
            rows=list(rows) or None,
            encoding=encoding,
            max_chars=max_chars,
            max_words=max_words,
            labels=labels,
            top_labels=top_labels,
            seed=seed,
            fmt=resolve_format(fmt, output),
            output=output,
            quiet=quiet,
            jobs=jobs,
            resume=resume,
            backend=backend,
            scheduler=scheduler,
        )
        return
    items = read_texts(
        inputs,
        encoding=encoding,
        column=column,
        rows=list(rows) or None,
        stdin=sys.stdin.buffer,
    )
    if len(items) > 1:
        note(quiet, f"explaining {len(items)} texts")
    explanations = []
    for item in items:
        text, cut = cap_text(item.text, max_chars, max_words)
        if cut:
            where = item.source if item.index is None else f"{item.source} row {item.index}"
            note(
                quiet,
                f"{where} has {len(item.text):,} characters: only the first {len(text):,} are "
                f"explained (at most {max_chars:,} characters and {max_words:,} distinct words: "
                "--max-chars, --max-words)",
            )
        explanation = explainer.explain(
            text,
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


def _is_batch(
    inputs: tuple[str, ...],
    files_from: str | None,
    column: str | None,
    rows: tuple[int, ...],
    jobs: int,
    resume: bool,
    backend: str,
) -> bool:
    """Whether the command is a batch: it names, or may name, more than one text.

    One file or ``-`` (or one ``--row`` of one table) is explained on its own,
    as always; anything else, or any batch option, is a batch.
    """
    from limecli.inputs.discover import names_many

    if files_from is not None or len(inputs) != 1 or names_many(inputs):
        return True
    if column is not None and len(rows) != 1:
        return True
    return jobs != 1 or resume or backend != "local"


def _batch(
    explainer: object,
    inputs: tuple[str, ...],
    *,
    files_from: str | None,
    recursive: bool,
    extensions: tuple[str, ...],
    column: str | None,
    rows: list[int] | None,
    encoding: str | None,
    max_chars: int,
    max_words: int,
    labels: tuple[str, ...],
    top_labels: int | None,
    seed: int,
    fmt: str,
    output: Path | None,
    quiet: bool,
    jobs: int,
    resume: bool,
    backend: str,
    scheduler: str | None,
) -> None:
    from limecli.batch import per_input
    from limecli.batch.tasks_text import TextBatchTask, text_batch_inputs
    from limecli.cli.batch_run import run_cli_batch
    from limecli.errors import ParameterError
    from limecli.inputs.discover import (
        TABLE_EXTENSIONS,
        TEXT_EXTENSIONS,
        expand_paths,
        parse_extensions,
        read_path_list,
    )
    from limecli.inputs.text import STDIN

    if fmt == "html":
        raise ParameterError("a batch writes jsonl, csv, json or table, not html")
    stdin = sys.stdin.buffer
    if inputs.count(STDIN) > 1:
        raise ParameterError("stdin (-) can be read only once")
    if files_from == STDIN and STDIN in inputs:
        raise ParameterError(
            "stdin (-) can be read only once: it cannot hold both a text and the --files-from list"
        )
    listed = read_path_list(files_from, stdin) if files_from is not None else []
    default = TABLE_EXTENSIONS if column is not None else TEXT_EXTENSIONS
    files = expand_paths(
        inputs,
        extensions=parse_extensions(extensions) if extensions else default,
        recursive=recursive,
        listed=listed,
        exclude=[output] if output is not None else [],
        what="table" if column is not None else "text file",
        keep_dash=True,
    )
    items = text_batch_inputs(
        [f.path for f in files], encoding=encoding, column=column, rows=rows, stdin=stdin
    )
    note(quiet, f"explaining {len(items)} texts")
    run_cli_batch(
        kind="text",
        inputs=items,
        total=len(items),
        task=per_input(
            TextBatchTask(
                explainer,
                labels=labels,
                top_labels=top_labels,
                encoding=encoding,
                max_chars=max_chars,
                max_words=max_words,
            )
        ),
        fmt=fmt,
        output=output,
        resume=resume,
        jobs=jobs,
        backend=backend,
        scheduler=scheduler,
        seed=seed,
        quiet=quiet,
        chunk_size=4,
    )
