"""``limecli summary``: the global view of a batch of explanations."""

from __future__ import annotations

from pathlib import Path

import click

from limecli.cli.types import check_output_path, force_option


@click.command(name="summary")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--label",
    default=None,
    metavar="NAME",
    help="Summarise this label's explanations only (default: each record's first label).",
)
@click.option(
    "--top-k",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Count how often each feature is among an explanation's K largest weights.",
)
@click.option(
    "--pick",
    type=click.IntRange(min=1),
    default=None,
    metavar="K",
    help="Also pick K representative explanations with submodular pick (SP-LIME): K of "
    "them whenever there are K (a note says when there are fewer).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=15,
    show_default=True,
    help="Table only: features shown per label (0: all).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv", "html"]),
    default=None,
    help="Default: table on a terminal, else from -o's suffix, else json. "
    "CSV lists features, or the picked explanations with --pick. HTML adds the "
    "picked explanations (or the first 50) as sections.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    callback=check_output_path,
    help="Write to this file instead of stdout (written atomically); an existing file "
    "limecli did not write is kept unless --force.",
)
# As on every command (the group's flag too): silences the note of a pick short of K.
@click.option("-q", "--quiet", is_flag=True, expose_value=False, help="No notes on stderr.")
@force_option
def summary(
    files: tuple[Path, ...],
    label: str | None,
    top_k: int,
    pick: int | None,
    limit: int,
    fmt: str | None,
    output: Path | None,
) -> None:
    """Aggregate feature importance across the explanations in FILES (JSONL or JSON).

    Per feature: Mean |w| (mean |weight| over the label's explanations, 0
    where it has none), Mean w (signed), Top K (share of explanations where
    its weight is among the K largest and not 0), Same sign (share of its
    non-zero weights with the usual sign) and Seen (explanations where its
    weight is not 0). The table fits the terminal (or $COLUMNS).

    \b
    Example:
      limecli tabular sample_models/breast_cancer_rf.joblib \\
          sample_data/breast_cancer_test.csv --all -o explanations.jsonl
      limecli summary explanations.jsonl --pick 5
    """
    from limecli.cli.color import stdout_table_style
    from limecli.cli.global_flags import is_quiet
    from limecli.cli.output import make_notes, resolve_format, write_atomic
    from limecli.render.summary import render_summary
    from limecli.summary import read_records, summarize

    records = list(read_records(files))
    result = summarize(
        records, label=label, top_k=top_k, pick=pick, sources=[str(f) for f in files]
    )
    notes = make_notes(is_quiet())
    for message in result.notes:
        notes(message, "pick")
    fmt = resolve_format(fmt, output)
    if fmt == "jsonl":  # a summary is one document
        fmt = "json"
    color, width = stdout_table_style() if output is None else (False, None)
    if fmt == "html":
        from limecli.explanation import Explanation
        from limecli.render.html_summary import render_summary_html

        explained = [Explanation.from_dict(r) for r in records if "error" not in r]
        text = render_summary_html(result, explained)
    else:
        color = color and fmt == "table"
        text = render_summary(result, fmt, color=color, width=width, limit=limit)
    if output is None:
        # click strips escapes on a pipe unless told otherwise: --color always means them.
        click.echo(text, nl=False, color=color)
    else:
        write_atomic(output, text)
