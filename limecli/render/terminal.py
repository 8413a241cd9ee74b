"""The terminal view: prediction, then a ranked table of weights with bars, per label."""

from __future__ import annotations

import importlib
import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from limecli.inputs.ref import InputRef

if TYPE_CHECKING:
    from limecli.explanation import Explanation, LabelExplanation

SUPPORT = "green"
OPPOSE = "red"
BAR_WIDTH = 24

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
        width=width or 120,  # not a terminal: wide enough for long conditions
        highlight=False,
        emoji=False,
    )
    for i, explanation in enumerate(explanations):
        if i:
            console.print()
        for renderable in explanation_renderables(explanation):
            console.print(renderable)
    return buffer.getvalue()


def explanation_renderables(explanation: Explanation) -> list[Any]:
    from rich.text import Text

    out: list[Any] = [Text(_title(explanation), style="bold"), _prediction_line(explanation)]
    extras = _extras_for(explanation.kind)
    for label in explanation.labels:
        out.append(_label_line(explanation, label))
        out.append(_weights_table(explanation, label))
        if extras is not None:
            out.extend(extras(explanation, label))
    return out


def _title(explanation: Explanation) -> str:
    source = explanation.input.get("source") or "<data>"
    where = InputRef.from_dict(explanation.input).position
    at = f" row {where}" if where is not None else ""
    model = explanation.meta.get("model")
    by = f"  ·  model {model}" if model else ""
    return f"{explanation.kind} explanation of {source}{at}{by}"


def _prediction_line(explanation: Explanation) -> Any:
    from rich.text import Text

    prediction = explanation.prediction
    if "value" in prediction:
        return Text.assemble("Prediction: ", (_num(prediction["value"]), "bold"))
    probs = sorted(prediction["probabilities"].items(), key=lambda kv: -kv[1])
    head, *rest = probs
    text = Text.assemble("Prediction: ", (f"{head[0]} {head[1]:.2f}", "bold"))
    if rest:
        shown = ", ".join(f"{name} {p:.2f}" for name, p in rest[:4])
        more = ", ..." if len(rest) > 4 else ""
        text.append(f"  ({shown}{more})", style="dim")
    return text


def _label_line(explanation: Explanation, label: LabelExplanation) -> Any:
    from rich.text import Text

    what = "value" if explanation.mode == "regression" else f"label {label.label!r}"
    text = Text.assemble(
        "\nWhy ",
        (what, "bold"),
        f": local fit R² {label.score:.2f}, intercept {_num(label.intercept)}, "
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


def trust_summary(label: LabelExplanation) -> str:
    """One line on how far to trust the label's explanation (stability, held-out fit)."""
    parts = []
    if label.stability:
        kept = 1.0 - float(label.stability["top_k_change_probability"])
        replicates = label.stability.get("replicates", "?")
        parts.append(f"same features in {kept:.0%} of {replicates} resamples")
    if label.held_out_score is not None:
        parts.append(f"held-out R² {label.held_out_score:.2f}")
    return "; ".join(parts)


def _weights_table(explanation: Explanation, label: LabelExplanation) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("Feature")
    if explanation.kind == "tabular":
        table.add_column("Value", justify="right")
    table.add_column("Weight", justify="right")
    with_ci = any("ci95" in f.extra for f in label.features)
    if with_ci:
        table.add_column("95% interval", justify="right", style="dim")
    table.add_column("Effect", no_wrap=True)
    scale = max((abs(f.weight) for f in label.features), default=0.0) or 1.0
    for rank, feat in enumerate(label.features, start=1):
        style = SUPPORT if feat.weight >= 0 else OPPOSE
        cells = max(1, round(abs(feat.weight) / scale * BAR_WIDTH)) if feat.weight else 0
        # Direction is spelled out, not shown by colour alone.
        bar = Text("█" * cells + (" +" if feat.weight >= 0 else " -"), style=style)
        row: list[Any] = [str(rank), Text(str(feat.name))]
        if explanation.kind == "tabular":
            # A tabular value of None is a missing cell.
            row.append(Text("missing" if feat.value is None else _value(feat.value)))
        row.append(Text(f"{feat.weight:+.4f}", style=style))
        if with_ci:
            low, high = feat.extra.get("ci95", (float("nan"), float("nan")))
            row.append(Text(f"{low:+.3f} … {high:+.3f}"))
        row.append(bar)
        table.add_row(*row)
    return table


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


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
