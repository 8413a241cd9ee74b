"""Renderers of a batch summary (:mod:`limecli.summary`): table, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from limecli.inputs.ref import InputRef
from limecli.jsonable import jsonable
from limecli.render.terminal import json_printable, printable
from limecli.summary import Summary

FEATURE_COLUMNS = [
    "label",
    "explanations",
    "rank",
    "feature",
    "mean_abs_weight",
    "mean_weight",
    "top_k",
    "appearances",
    "sign_consistency",
]
PICK_COLUMNS = ["rank", "source", "index", "label", "gain", "coverage"]
#: Said instead of an empty table: flat outputs, or num_features="auto" kept nothing.
NO_FEATURES = (
    "No feature has a weight in any of them (the model's output did not change, "
    "or no weight was distinguishable from zero): nothing to summarise."
)
NOTHING_TO_PICK = "Nothing to pick: no explanation has a feature weight."


def render_summary(
    summary: Summary, fmt: str, *, color: bool = False, width: int | None = None, limit: int = 0
) -> str:
    """``limit`` (table only): show at most that many features per label (0: all)."""
    if fmt == "json":
        dumped = json.dumps(jsonable(summary.to_dict()), indent=2, ensure_ascii=False)
        return json_printable(dumped) + "\n"  # C1 controls as \u escapes: the same JSON
    if fmt == "csv":
        return render_summary_csv(summary)
    if fmt == "table":
        return render_summary_table(summary, color=color, width=width, limit=limit)
    raise ValueError(f"unknown summary format {fmt!r}")


def render_summary_csv(summary: Summary) -> str:
    """One row per (label, feature); with a pick, one row per picked explanation instead."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if summary.picks is not None:
        writer.writerow(PICK_COLUMNS)
        for p in summary.picks:
            index = InputRef.from_dict(p.input).position
            writer.writerow(
                [
                    p.rank,
                    _cell(p.input.get("source")),
                    _cell(index),
                    p.label,
                    repr(p.gain),
                    repr(p.coverage),
                ]
            )
        return buffer.getvalue()
    writer.writerow(FEATURE_COLUMNS)
    for lab in summary.labels:
        for rank, f in enumerate(lab.features, start=1):
            writer.writerow(
                [
                    lab.label,
                    lab.explanations,
                    rank,
                    f.feature,
                    repr(f.mean_abs_weight),
                    repr(f.mean_weight),
                    repr(f.top_k),
                    f.appearances,
                    repr(f.sign_consistency),
                ]
            )
    return buffer.getvalue()


def render_summary_table(
    summary: Summary, *, color: bool = False, width: int | None = None, limit: int = 0
) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        width=width or 100,
        highlight=False,
        emoji=False,
    )
    head = f"Summary of {summary.records} explanation(s)"
    if summary.errors:
        head += f", {summary.errors} error record(s) left out"
    if summary.skipped:
        head += f", {summary.skipped} without the label left out"
    console.print(Text(head, style="bold"))
    for lab in summary.labels:
        console.print(Text(f"\nLabel {lab.label!r}: {lab.explanations} explanation(s)"))
        if not lab.features:
            console.print(Text(NO_FEATURES, style="bold"))
            continue
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        table.add_column("#", justify="right", style="dim")
        table.add_column("Feature")
        table.add_column("Mean |w|", justify="right")
        table.add_column("Mean w", justify="right")
        table.add_column(f"In top {summary.top_k}", justify="right")
        table.add_column("Sign consistency", justify="right")
        table.add_column("Seen", justify="right")
        shown = lab.features[:limit] if limit else lab.features
        for rank, f in enumerate(shown, start=1):
            style = "green" if f.mean_weight >= 0 else "red"
            table.add_row(
                str(rank),
                Text(printable(f.feature)),
                f"{f.mean_abs_weight:.4f}",
                Text(f"{f.mean_weight:+.4f}", style=style),
                f"{f.top_k:.0%}",
                f"{f.sign_consistency:.0%}",
                str(f.appearances),
            )
        console.print(table)
        if limit and len(lab.features) > limit:
            console.print(Text(f"... {len(lab.features) - limit} more feature(s)", style="dim"))
    if summary.picks is not None:
        console.print(Text(f"\nSubmodular pick: {len(summary.picks)} explanation(s)", style="bold"))
        if not summary.picks:
            console.print(Text(NOTHING_TO_PICK))
            return buffer.getvalue()
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        table.add_column("#", justify="right", style="dim")
        table.add_column("Input")
        table.add_column("Label")
        table.add_column("Adds", justify="right")
        table.add_column("Coverage", justify="right")
        for p in summary.picks:
            table.add_row(
                str(p.rank),
                Text(printable(_where(p.input))),  # Text: no [markup] in a name is parsed
                Text(printable(p.label)),
                f"{p.gain:.1%}",
                f"{p.coverage:.1%}",
            )
        console.print(table)
    return buffer.getvalue()


def _where(identity: dict[str, Any]) -> str:
    source = identity.get("source") or "<data>"
    index = InputRef.from_dict(identity).position
    return f"{source} row {index}" if index is not None else str(source)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)
