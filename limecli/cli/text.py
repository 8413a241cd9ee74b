"""``limecli text``: explain a text model's predictions word by word, for one text or a batch."""

from __future__ import annotations

import sys

import click

from limecli.cli.options import SectionedCommand, option_group
from limecli.config.common import Batch, Discovery, Labels, ModelSpec, Output, Sampling
from limecli.config.text import TextSettings

DISCOVERY_HELP = {
    "files_from": {
        "help": "Also explain the files listed in FILE, one path per line "
        "(- reads the list from stdin)."
    },
    "recursive": {"help": "Look for text files in the folders' subfolders too."},
    "extensions": {
        "help": "Extensions of the files taken from folders, e.g. .txt,.md,.eml "
        "[.txt,.md; with --column: .csv,.tsv,.tab,.jsonl,.ndjson]."
    },
}


@click.command(name="text", cls=SectionedCommand)
@click.argument("model", metavar="MODEL")
@click.argument("inputs", nargs=-1, required=False, metavar="TEXT_FILE|FOLDER|GLOB...")
@option_group(Discovery, section="Input", overrides=DISCOVERY_HELP)
@option_group(TextSettings, section="Text")
@option_group(
    Sampling,
    section="Sampling",
    num_samples={"kind": "int", "min": 2},
    kernel_width={
        "default": 25.0,
        "show_default": True,
        "help": "Kernel width on cosine distance x 100.",
    },
)
@option_group(Labels, section="Labels")
@option_group(ModelSpec, section="Model", arguments=("model",))
@option_group(Output, section="Output")
@option_group(Batch, section="Batch")
def text(
    inputs: tuple[str, ...],
    discovery: Discovery,
    text_settings: TextSettings,
    sampling: Sampling,
    labels: Labels,
    model_spec: ModelSpec,
    output: Output,
    batch: Batch,
) -> None:
    """Explain which words made MODEL predict what it did for each TEXT_FILE (- for stdin).

    MODEL is a pickled text pipeline (.joblib/.pkl) whose predict_proba or
    predict takes a list of strings, e.g. TfidfVectorizer + LogisticRegression,
    or a predict-script entrypoint such as predict.py:predict taking a list of
    strings; or a .skops or .onnx model. Unpickling runs code: only load pickles
    you trust; .skops and .onnx files load without running code.

    Each input gives one explanation. A feature is a word, an emoji or an
    emoticon (or a character with --char-level); the JSON lists its character
    positions in the text.

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
    from limecli.cli.batch_run import check_batch, run_job
    from limecli.cli.output import emit, make_notes
    from limecli.errors import ParameterError
    from limecli.inputs.text import check_encoding
    from limecli.pipelines import load_predictor
    from limecli.pipelines.text import TextPipeline, check_text_request, is_text_batch

    settings = text_settings
    is_batch = is_text_batch(inputs, discovery, settings, batch)
    check_text_request(inputs, discovery, settings, is_batch)
    if settings.rows and settings.column is None:
        raise click.BadParameter("--row needs --column", param_hint="'--row'")
    if settings.char_level and settings.split_expression is not None:
        raise click.BadParameter(
            "use either --char-level or --split-expression, not both", param_hint="'--char-level'"
        )
    try:
        check_encoding(settings.encoding)
    except ParameterError as e:
        raise click.BadParameter(str(e), param_hint="'--encoding'") from None
    check_executor_options(batch.jobs, batch.backend, batch.scheduler)
    if is_batch:
        check_batch(output, batch)
    notes = make_notes(output.quiet)
    pipeline = TextPipeline(load_predictor(model_spec), settings, sampling, labels, notes=notes)
    stdin = sys.stdin.buffer
    if not is_batch:
        emit(pipeline.explain_sources(inputs, stdin), output.fmt, output.output)
        return
    exclude = [output.output] if output.output is not None else []
    files = pipeline.find_files(inputs, discovery, exclude=exclude, stdin=stdin)
    run_job(pipeline.batch_job(files, stdin), output, batch, seed=sampling.seed)
