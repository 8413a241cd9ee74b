"""Renderers of a batch summary (:mod:`limecli.summary`): table, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Literal

from limecli.inputs.ref import InputRef
from limecli.jsonable import jsonable
from limecli.render.terminal import json_printable, printable
from limecli.render.terminal_layout import columns_env
from limecli.summary import FeatureSummary, Pick, Summary

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
    """``limit`` (table only): show at most that many features per label (0: all);
    ``width`` (table only): the console's columns (default ``$COLUMNS``, else 100)."""
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


#: Columns between two table columns (collapsed padding plus the blank divider).
GAP = 2
#: A feature name or input cut shorter than this would no longer say which it is.
MIN_NAME_WIDTH = 10
#: Narrower still only when nothing else can give way.
LAST_RESORT_NAME_WIDTH = 4
#: Width of a table that goes to a file or a pipe without COLUMNS.
DEFAULT_WIDTH = 100


def legend(top_k: int) -> str:
    """What each column of the summary table means (printed under the tables)."""
    return (
        "Mean |w|: mean |weight| over the label's explanations (0 where a feature has none); "
        "Mean w: the signed mean; "
        f"Top {top_k}: share of explanations where its weight is among the {top_k} largest "
        "and not 0; Same sign: share of its non-zero weights with the usual sign; "
        "Seen: explanations where its weight is not 0."
    )


def render_summary_table(
    summary: Summary, *, color: bool = False, width: int | None = None, limit: int = 0
) -> str:
    """The summary as tables that fit ``width`` columns (default ``$COLUMNS``, else 100): one
    line per row, numbers whole; long names are cut with an ellipsis, and on a very narrow
    console the Same sign, then Seen, then Top K columns are left out."""
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        width=width or columns_env() or DEFAULT_WIDTH,
        highlight=False,
        emoji=False,
    )
    head = f"Summary of {summary.records} explanation(s)"
    if summary.errors:
        head += f", {summary.errors} error record(s) left out"
    if summary.skipped:
        head += f", {summary.skipped} without the label left out"
    console.print(Text(head, style="bold"))
    any_table = False
    for lab in summary.labels:
        console.print(Text(f"\nLabel {lab.label!r}: {lab.explanations} explanation(s)"))
        if not lab.features:
            console.print(Text(NO_FEATURES, style="bold"))
            continue
        shown = lab.features[:limit] if limit else lab.features
        console.print(_feature_table(shown, summary.top_k, console.width))
        any_table = True
        if limit and len(lab.features) > limit:
            console.print(Text(f"... {len(lab.features) - limit} more feature(s)", style="dim"))
    if any_table:
        console.print(Text(legend(summary.top_k), style="dim"))
    if summary.picks is not None:
        console.print(Text(f"\nSubmodular pick: {len(summary.picks)} explanation(s)", style="bold"))
        if not summary.picks:
            console.print(Text(NOTHING_TO_PICK))
            return buffer.getvalue()
        console.print(_pick_table(summary.picks, console.width))
    return buffer.getvalue()


Column = tuple[str, Literal["left", "right"], list[Any]]  # header, justify, cells (str or Text)


def _feature_table(features: list[FeatureSummary], top_k: int, width: int) -> Any:
    from rich.text import Text

    columns: list[Column] = [
        ("#", "right", [str(rank) for rank in range(1, len(features) + 1)]),
        ("Feature", "left", [Text(printable(f.feature)) for f in features]),
        ("Mean |w|", "right", [f"{f.mean_abs_weight:.4f}" for f in features]),
        (
            "Mean w",
            "right",
            [
                Text(f"{f.mean_weight:+.4f}", style="blue" if f.mean_weight >= 0 else "dark_orange")
                for f in features
            ],
        ),
        (f"Top {top_k}", "right", [f"{f.top_k:.0%}" for f in features]),
        ("Same sign", "right", [f"{f.sign_consistency:.0%}" for f in features]),
        ("Seen", "right", [str(f.appearances) for f in features]),
    ]
    return _fitted_table(columns, width, names=(1,), droppable=(5, 6, 4))


def _pick_table(picks: list[Pick], width: int) -> Any:
    from rich.text import Text

    positions = [InputRef.from_dict(p.input).position for p in picks]
    columns: list[Column] = [
        ("#", "right", [str(p.rank) for p in picks]),
        # Text: no [markup] in a name is parsed
        ("Source", "left", [Text(printable(p.input.get("source") or "<data>")) for p in picks]),
        ("Row", "right", ["" if i is None else str(i) for i in positions]),
        ("Label", "left", [Text(printable(p.label)) for p in picks]),
        ("Adds", "right", [f"{p.gain:.1%}" for p in picks]),
        ("Coverage", "right", [f"{p.coverage:.1%}" for p in picks]),
    ]
    if all(i is None for i in positions):  # texts and images: the source says it all
        del columns[2]
    # A path's end (the file name) says more than its start: cut on the left.
    label, adds = len(columns) - 3, len(columns) - 2
    return _fitted_table(columns, width, names=(1, label), droppable=(adds,), left=(1,))


def _fitted_table(
    columns: list[Column],
    width: int,
    *,
    names: tuple[int, ...],
    droppable: tuple[int, ...],
    left: tuple[int, ...] = (),
) -> Any:
    """A table of ``columns`` no wider than ``width``: the ``names`` columns (text) are cut
    with an ellipsis, the first of them last; if they would be cut below MIN_NAME_WIDTH,
    the ``droppable`` columns go first, in that order. Numbers keep their whole width.
    The ``left`` columns lose their start instead of their end (``…/runs/b.jsonl``)."""
    from rich import box
    from rich.cells import cell_len
    from rich.table import Table

    natural = [max(cell_len(str(c)) for c in [header, *cells]) for header, _, cells in columns]
    kept = list(range(len(columns)))

    def fixed() -> int:
        return sum(natural[i] for i in kept if i not in names) + GAP * (len(kept) - 1)

    def room() -> int:
        return width - fixed()

    for i in droppable:
        if room() >= sum(min(natural[j], MIN_NAME_WIDTH) for j in names):
            break
        kept.remove(i)
    cut = {j: natural[j] for j in names}
    # The later name columns give way first (a pick's label before its input), down to the
    # minimum; then the first; the last resort cuts below the minimum.
    for floor in (MIN_NAME_WIDTH, LAST_RESORT_NAME_WIDTH):
        for j in reversed(names):
            excess = sum(cut.values()) - room()
            if excess > 0:
                cut[j] = max(min(floor, natural[j]), cut[j] - excess)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    for i in kept:
        header, justify, _ = columns[i]
        if i in names:
            table.add_column(
                header, width=cut[i], no_wrap=True, overflow="ellipsis", justify=justify
            )
        else:
            table.add_column(header, justify=justify, no_wrap=True, min_width=natural[i])
    cells = [
        [_cut_left(c, cut[i]) for c in columns[i][2]] if i in left else columns[i][2] for i in kept
    ]
    for row in zip(*cells, strict=True):
        table.add_row(*row)
    return table


def _cut_left(cell: Any, width: int) -> Any:
    """``cell`` (a rich Text) without as many leading characters as it takes to fit ``width``
    terminal cells, an ellipsis in their place."""
    from rich.cells import cell_len
    from rich.text import Text

    text = str(cell)
    if cell_len(text) <= width:
        return cell
    kept, used = len(text), 1  # the ellipsis takes one cell
    while kept > 0 and used + cell_len(text[kept - 1]) <= width:
        kept -= 1
        used += cell_len(text[kept])
    return Text("…" + text[kept:])


def _where(identity: dict[str, Any]) -> str:
    source = identity.get("source") or "<data>"
    index = InputRef.from_dict(identity).position
    return f"{source} row {index}" if index is not None else str(source)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)
