"""Renderers turn finished Explanations into text; they never compute anything new."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # renderers read explanations, never import them: no cycle with to_html
    from limecli.explanation import Explanation

from limecli.config import FORMATS as FORMATS  # the one list of formats

#: Output file suffix -> format, when -o is given without --format.
SUFFIX_FORMATS = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".csv": "csv",
    ".txt": "table",
    ".html": "html",
    ".htm": "html",
}


def render(
    explanations: Sequence[Explanation], fmt: str, *, color: bool = False, width: int | None = None
) -> str:
    """Render explanations in ``fmt``; the returned text ends with a newline."""
    if fmt == "json":
        from limecli.render.json_format import render_json

        return render_json(explanations)
    if fmt == "jsonl":
        from limecli.render.json_format import render_jsonl

        return render_jsonl(explanations)
    if fmt == "csv":
        from limecli.render.csv_format import render_csv

        return render_csv(explanations)
    if fmt == "html":
        from limecli.render.html import render_html

        return render_html(explanations)
    if fmt == "table":
        from limecli.render.terminal import render_table

        return render_table(explanations, color=color, width=width)
    raise ValueError(f"unknown format {fmt!r}")
