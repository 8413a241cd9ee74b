"""The terminal view: prediction, then a ranked table of weights with bars, per label."""

from __future__ import annotations

import importlib
import io
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from limecli.inputs.ref import InputRef
from limecli.render.terminal_layout import Widths, default_width, fit

if TYPE_CHECKING:
    from limecli.explanation import Explanation, FeatureWeight, LabelExplanation

_TRAILING_SPACES = re.compile(r" +((?:\x1b\[[0-9;]*m)*)$", re.MULTILINE)
SUPPORT = "blue"  # the pictures' and report's colour code: blue supports, orange opposes
OPPOSE = "dark_orange"  # bright red on a 16-colour terminal
#: Written next to a weight whose 95% interval contains 0 (not colour alone).
COULD_BE_ZERO = "could be 0"

#: What a name from the data (a column, a class, a file name) must not bring to a terminal:
#: C0 and C1 control characters but newline and tab (ESC starts the sequences that recolour,
#: move the cursor or retitle the window), DEL, the bidirectional overrides that reorder
#: what is shown, lone surrogates (undecodable file names) and the two non-characters that
#: XML forbids.
UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)


def printable(text: Any) -> str:
    """``text`` with the characters of :data:`UNPRINTABLE` written as escapes (``\\x1b``)."""
    value = str(text)
    if not UNPRINTABLE.search(value):
        return value
    return UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), value)


def json_printable(dumped: str) -> str:
    """JSON text (``json.dumps(..., ensure_ascii=False)``) with the characters of
    :data:`UNPRINTABLE` it leaves raw (C1 controls, DEL, bidirectional overrides, lone
    surrogates) written as ``\\uXXXX`` escapes: the same JSON values, safe on a terminal."""
    if not UNPRINTABLE.search(dumped):
        return dumped
    return UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)


#: Extra views per kind, drawn under each label's table: "module:function",
#: function(explanation, label) -> list of rich renderables.
KIND_EXTRAS: dict[str, str] = {
    "text": "limecli.render.terminal_text:text_view",
}


def render_table(
    explanations: Sequence[Explanation], *, color: bool = False, width: int | None = None
) -> str:
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        width=width or default_width(),
        highlight=False,
        emoji=False,
    )
    for i, explanation in enumerate(explanations):
        if i:
            console.print()
        for renderable in explanation_renderables(explanation, console.width):
            console.print(renderable)
    # rich pads cells and leaves a space where it wraps a long line: no line ends in spaces
    # (a colour's reset code may follow them).
    return _TRAILING_SPACES.sub(r"\1", buffer.getvalue())


def explanation_renderables(explanation: Explanation, width: int | None = None) -> list[Any]:
    """The renderables of one explanation for a console ``width`` columns wide (None:
    :func:`~limecli.render.terminal_layout.default_width`)."""
    from rich.text import Text

    out: list[Any] = [Text(_title(explanation), style="bold"), _prediction_line(explanation)]
    extras = _extras_for(explanation.kind)
    for label in explanation.labels:
        out.append(_label_line(explanation, label))
        if label.flat:
            continue  # the label line said there is nothing to explain
        if not label.features:
            out.append(Text(no_features_summary(explanation), style="bold"))
            continue
        out.append(_weights_table(explanation, label, width or default_width()))
        if any(could_be_zero(f) for f in label.features):
            out.append(Text(f"{COULD_BE_ZERO}: {could_be_zero_means(label)}", style="dim"))
        if extras is not None:
            out.extend(extras(explanation, label))
    return out


def _title(explanation: Explanation) -> str:
    source = explanation.input.get("source") or "<data>"
    where = InputRef.from_dict(explanation.input).position
    at = f" row {where}" if where is not None else ""
    model = explanation.meta.get("model")
    by = f"  ·  model {model}" if model else ""
    return printable(f"{explanation.kind} explanation of {source}{at}{by}")


def _prediction_line(explanation: Explanation) -> Any:
    from rich.text import Text

    prediction = explanation.prediction
    if "value" in prediction:
        return Text.assemble("Prediction: ", (_num(prediction["value"]), "bold"))
    probs = sorted(prediction["probabilities"].items(), key=lambda kv: -kv[1])
    head, *rest = probs
    text = Text.assemble("Prediction: ", (f"{printable(head[0])} {head[1]:.2f}", "bold"))
    if rest:
        shown = ", ".join(f"{printable(name)} {p:.2f}" for name, p in rest[:4])
        more = ", ..." if len(rest) > 4 else ""
        text.append(f"  ({shown}{more})", style="dim")
    return text


def _label_line(explanation: Explanation, label: LabelExplanation) -> Any:
    from rich.text import Text

    what = "value" if explanation.mode == "regression" else f"label {label.label!r}"
    if label.flat:
        # No R², no stability: a fit to a constant output would look perfect and mean nothing.
        return Text.assemble("\nWhy ", (what, "bold"), f": {flat_summary(explanation, label)}")
    text = Text.assemble(
        "\nWhy ",
        (what, "bold"),
        f": local fit R² {_score(label.score)}, intercept {_num(label.intercept)}, "
        f"local prediction {_num(label.local_prediction)} (model {_num(label.model_prediction)})",
    )
    count = explanation.params.get("num_samples")
    # How many samples were drawn: with --num-samples auto it depends on the input.
    drawn = f"{count} samples" if isinstance(count, int) else ""
    if drawn and "num_samples_auto" in explanation.params:
        drawn += " (auto)"
    trust = "; ".join(part for part in (drawn, trust_summary(label)) if part)
    if trust:
        text.append(f"\n{trust}", style="dim")
    return text


#: What the could-be-0 marker means, said once under a table that uses it.
COULD_BE_ZERO_MEANS = "the 95% interval includes 0; this weight may be noise"


def could_be_zero_means(label: LabelExplanation) -> str:
    """The marker's meaning for this label: chosen among more features, the bar is higher."""
    stability = label.stability or {}
    candidates, bar = stability.get("candidates"), stability.get("zero_bar")
    if not candidates or bar is None or candidates <= len(label.features):
        return COULD_BE_ZERO_MEANS
    return f"|weight| < {bar:.2f} std errors, the bar for {candidates} candidates; may be noise"


def could_be_zero(feature: FeatureWeight) -> bool:
    """Whether the explanation marks this weight as not distinguishable from zero."""
    return feature.extra.get("distinguishable_from_zero") is False


def flat_summary(explanation: Explanation, label: LabelExplanation) -> str:
    """The sentence that replaces a flat label's figures: its output never moved."""
    count = explanation.params.get("num_samples")
    samples = (
        f"the {count} perturbed samples" if isinstance(count, int) else "the perturbed samples"
    )
    return (
        f"the model's output does not change over {samples} "
        f"({_num(label.model_prediction)} everywhere): nothing to explain."
    )


def no_features_summary(explanation: Explanation) -> str:
    """The sentence that replaces an empty table (num_features='auto' kept nothing)."""
    if explanation.params.get("num_features") == "auto":
        return "Nothing to show: no feature is distinguishable from zero."
    return "Nothing to show: no feature was selected."


def settled_summary(label: LabelExplanation) -> str:
    """How many of the top ranks keep the same features under resampling ('' if unknown)."""
    stability = label.stability
    if not stability:
        return ""
    replicates = stability.get("replicates", "?")
    settled = stability.get("settled_top")
    if settled is None:  # a record written before per-rank stability (schema < 1.2)
        kept = 1.0 - float(stability["top_k_change_probability"])
        return f"same features in {kept:.0%} of {replicates} resamples"
    k, m = len(label.features), int(settled)
    over = f"over {replicates} resamples"
    if k == 0:
        return ""
    if m >= k:
        return f"all {k} settled {over}" if k > 1 else f"its one feature settled {over}"
    if m <= 0:
        return f"no rank settled {over}"
    swap = f"rank {k}" if m + 1 == k else f"ranks {m + 1}-{k}"
    return f"top {m} of {k} settled {over} ({swap} could swap)"


def trust_summary(label: LabelExplanation) -> str:
    """One line on how far to trust the label's explanation (settled ranks, held-out fit)."""
    parts = [settled_summary(label)]
    if label.held_out_score is not None:
        parts.append(f"held-out R² {label.held_out_score:.2f}")
    return "; ".join(part for part in parts if part)


def _weights_table(explanation: Explanation, label: LabelExplanation, width: int) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    tabular = explanation.kind == "tabular"
    names = [printable(f.name) for f in label.features]
    values = [_value_cell(f) for f in label.features] if tabular else []
    weights = [f"{f.weight:+.4f}" for f in label.features]
    intervals = [_interval(f) for f in label.features]
    with_ci = any(i is not None for i in intervals)
    layout = fit(_widths(label, names, values, weights, intervals), width)

    # Collapsed padding: two columns between cells; every cell one line, cut with "…" if
    # the layout says so (feature names and category values only: numbers fit by design).
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    table.add_column("#", justify="right", style="dim", no_wrap=True)
    table.add_column("Feature", no_wrap=True, overflow="ellipsis", max_width=layout.feature)
    if tabular:
        table.add_column(
            "Value", justify="right", no_wrap=True, overflow="ellipsis", max_width=layout.value
        )
    table.add_column("Weight", justify="right", no_wrap=True)
    if with_ci:
        header = SHORT_INTERVAL_HEADER if layout.short_interval else "95% interval"
        table.add_column(header, justify="right", style="dim", no_wrap=True)
    marked = any(could_be_zero(f) for f in label.features)
    if layout.bar or marked:
        table.add_column("Effect" if layout.bar else "", no_wrap=True)
    scale = max((abs(f.weight) for f in label.features), default=0.0) or 1.0
    for rank, feat in enumerate(label.features, start=1):
        style = SUPPORT if feat.weight >= 0 else OPPOSE
        faint = could_be_zero(feat)
        if faint:
            style = f"dim {style}"
        row: list[Any] = [str(rank), Text(names[rank - 1])]
        if tabular:
            row.append(Text(values[rank - 1]))
        row.append(Text(weights[rank - 1], style=style))
        if with_ci:
            row.append(Text(_interval_text(intervals[rank - 1], short=layout.short_interval)))
        if layout.bar:
            cells = max(1, round(abs(feat.weight) / scale * layout.bar)) if feat.weight else 0
            # Direction is spelled out, not shown by colour alone.
            effect = Text("█" * cells + (" +" if feat.weight >= 0 else " -"), style=style)
            if faint:
                # The words are the marker (the dimming only repeats them); a weak weight has
                # a short bar, so they rarely widen the column.
                effect.append(f" {COULD_BE_ZERO}", style="bold")
            row.append(effect)
        elif marked:
            row.append(Text(COULD_BE_ZERO if faint else "", style="bold"))
        table.add_row(*row)
    return table


#: The short interval's header: ``±0.033`` is half the 95% interval's width.
SHORT_INTERVAL_HEADER = "±95%"


def _widths(
    label: LabelExplanation,
    names: list[str],
    values: list[str],
    weights: list[str],
    intervals: list[tuple[float, float] | None],
) -> Widths:
    from rich.cells import cell_len

    def widest(header: str, cells: list[str]) -> int:
        return max([cell_len(header), *(cell_len(c) for c in cells)])

    numbers = [v for v, f in zip(values, label.features, strict=False) if _is_number(f.value)]
    known = [i for i in intervals if i is not None]
    return Widths(
        rank=len(str(len(label.features))),
        feature=widest("Feature", names),
        value=widest("Value", values) if values else 0,
        value_floor=max((cell_len(v) for v in numbers), default=0),
        weight=widest("Weight", weights),
        interval=widest("95% interval", [_interval_text(i) for i in known]) if known else 0,
        short_interval=(
            widest(SHORT_INTERVAL_HEADER, [_interval_text(i, short=True) for i in known])
            if known
            else 0
        ),
        marker=len(COULD_BE_ZERO) if any(could_be_zero(f) for f in label.features) else 0,
    )


def _interval(feat: FeatureWeight) -> tuple[float, float] | None:
    ci = feat.extra.get("ci95")
    return (float(ci[0]), float(ci[1])) if ci is not None else None


def _interval_text(interval: tuple[float, float] | None, *, short: bool = False) -> str:
    if interval is None:
        return ""
    low, high = interval
    # The interval is the weight -/+ 1.96 std errors: its half-width says it all.
    return f"±{(high - low) / 2:.3f}" if short else f"{low:+.3f} … {high:+.3f}"


def _value_cell(feat: FeatureWeight) -> str:
    # A tabular value of None is a missing cell.
    return "missing" if feat.value is None else printable(_value(feat.value))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _extras_for(kind: str) -> Callable[[Explanation, LabelExplanation], list[Any]] | None:
    spec = KIND_EXTRAS.get(kind)
    if spec is None:
        return None
    module, _, name = spec.partition(":")
    fn: Callable[[Explanation, LabelExplanation], list[Any]] = getattr(
        importlib.import_module(module), name
    )
    return fn


def _num(x: float) -> str:
    return f"{x:.4g}"


def _score(score: float | None) -> str:
    return "n/a" if score is None else f"{score:.2f}"


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
