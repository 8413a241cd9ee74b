"""``limecli summary``: the global view of a batch of explanations."""

from __future__ import annotations

import shutil
import sys
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
    help="Also pick K representative explanations with submodular pick (SP-LIME).",
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
# As on every command, so scripts can pass it everywhere; summary writes no notes today.
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

    Per feature: mean |weight|, signed mean, how often it is in an
    explanation's top K, and how consistently it pushes the same way.

    \b
    Example:
      limecli tabular sample_models/breast_cancer_rf.joblib \\
          sample_data/breast_cancer_test.csv --all -o explanations.jsonl
      limecli summary explanations.jsonl --pick 5
    """
    from limecli.cli.output import resolve_format, write_atomic
    from limecli.render.summary import render_summary
    from limecli.summary import read_records, summarize

    records = list(read_records(files))
    result = summarize(
        records, label=label, top_k=top_k, pick=pick, sources=[str(f) for f in files]
    )
    fmt = resolve_format(fmt, output)
    if fmt == "jsonl":  # a summary is one document
        fmt = "json"
    to_terminal = output is None and sys.stdout.isatty()
    width = shutil.get_terminal_size().columns if to_terminal else None
    if fmt == "html":
        from limecli.explanation import Explanation
        from limecli.render.html_summary import render_summary_html

        explained = [Explanation.from_dict(r) for r in records if "error" not in r]
        text = render_summary_html(result, explained)
    else:
        text = render_summary(
            result, fmt, color=to_terminal and fmt == "table", width=width, limit=limit
        )
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomic(output, text)
