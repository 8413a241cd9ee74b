"""A self-contained HTML report: no script, no network, charts as inline SVG.

Everything that comes from data (feature names, text, file names, labels)
goes through :func:`html.escape`; a Content-Security-Policy forbids any
request but inline styles and ``data:`` images, so even a crafted feature
name cannot make the page fetch or run anything.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np

from limecli.inputs.ref import InputRef
from limecli.render.terminal import (
    COULD_BE_ZERO,
    could_be_zero,
    could_be_zero_means,
    flat_summary,
    no_features_summary,
    trust_summary,
)

if TYPE_CHECKING:
    from limecli.explanation import Explanation, FeatureWeight, LabelExplanation

# Okabe-Ito colours, distinguishable with every common colour-vision deficiency;
# the sign is also written out next to every bar.
SUPPORT = "#0072B2"
OPPOSE = "#D55E00"

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

STYLE = """
:root { color-scheme: light dark; --fg: #1b1b1b; --bg: #ffffff; --muted: #5f6368;
  --rule: #d0d4d9; --support: #0072B2; --oppose: #D55E00; --bar: #8c96a0; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e8eaed; --bg: #16181b; --muted: #a0a6ad; --rule: #3a3f45;
    --support: #56B4E9; --oppose: #E69F00; --bar: #7d8791; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "Noto Sans",
  "Noto Sans CJK KR", "Noto Sans CJK SC", "Apple SD Gothic Neo", sans-serif;
  color: var(--fg); background: var(--bg); }
main { max-width: 980px; margin: 0 auto; padding: 24px; }
h1 { font-size: 1.5rem; margin: 0 0 4px; } h2 { font-size: 1.2rem; margin: 0 0 8px; }
h3 { font-size: 1.05rem; margin: 20px 0 4px; }
.muted { color: var(--muted); } .mono { font-family: ui-monospace, monospace; }
section.explanation { border-top: 2px solid var(--rule); padding-top: 16px; margin-top: 24px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { text-align: left; padding: 3px 10px; border-bottom: 1px solid var(--rule); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.prob { display: grid; grid-template-columns: minmax(90px, max-content) 1fr 4em; gap: 4px 10px;
  align-items: center; max-width: 560px; }
.prob .track { background: var(--rule); height: 14px; border-radius: 2px; }
.prob .fill { background: var(--bar); height: 14px; border-radius: 2px; }
.prob .top .fill { background: var(--support); }
svg.weights text { fill: var(--fg); font-size: 13px; }
svg.weights .axis { stroke: var(--muted); }
svg.weights .support { fill: var(--support); } svg.weights .oppose { fill: var(--oppose); }
svg.weights .faint { fill-opacity: 0.35; } svg.weights .ci { stroke: var(--fg); stroke-width: 1.5; }
svg.weights text.zero { fill: var(--muted); font-style: italic; }
.zero { color: var(--muted); font-style: italic; white-space: nowrap; }
.nothing { border-left: 4px solid var(--rule); padding: 4px 10px; }
.legend span { display: inline-block; margin-right: 16px; }
.swatch { display: inline-block; width: 12px; height: 12px; vertical-align: -1px; margin-right: 4px; }
.text-view { white-space: pre-wrap; border: 1px solid var(--rule); padding: 12px; border-radius: 4px;
  unicode-bidi: plaintext; }
mark { color: inherit; border-radius: 2px; padding: 0 1px; }
mark.support { background: rgba(0, 114, 178, var(--a)); box-shadow: inset 0 -2px var(--support); }
mark.oppose { background: rgba(213, 94, 0, var(--a)); box-shadow: inset 0 2px var(--oppose); }
.pictures { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 16px; }
.pictures figure { margin: 0; } .pictures img { width: 280px; max-width: 100%; height: auto;
  image-rendering: pixelated; border: 1px solid var(--rule); }
details { margin: 12px 0; }
@media print { body { font-size: 11pt; } main { max-width: none; padding: 0; }
  section.explanation { break-inside: avoid-page; } details { display: block; }
  details > :not(summary) { display: block; } }
"""


def render_html(explanations: Sequence[Explanation], *, title: str | None = None) -> str:
    """A complete HTML document for one or more explanations."""
    heading = title or (
        _title(explanations[0]) if len(explanations) == 1 else f"{len(explanations)} explanations"
    )
    body = "\n".join(section(e, i) for i, e in enumerate(explanations, start=1))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="limecli">\n'
        f"<title>{escape(heading)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
        f"<header><h1>{escape(heading)}</h1>"
        '<p class="muted">LIME explanation: a weighted linear model fitted to the model\'s '
        "answers on perturbed copies of the input. Positive weights push towards the label, "
        "negative weights away from it.</p></header>\n"
        f"{body}\n</main>\n</body>\n</html>\n"
    )


def _title(e: Explanation) -> str:
    source = e.input.get("source") or "input"
    where = InputRef.from_dict(e.input).position
    at = f" row {where}" if where is not None else ""
    return f"Why the model said that: {e.kind} {source}{at}"


def section(e: Explanation, number: int) -> str:
    source = e.input.get("source") or "input"
    where = InputRef.from_dict(e.input).position
    at = f", row {where}" if where is not None else ""
    parts = [
        f'<section class="explanation" id="explanation-{number}">',
        f'<h2>{escape(e.kind)}: <span class="mono" dir="auto">{escape(str(source))}</span>'
        f"{escape(at)}</h2>",
        f'<p class="muted">model <span class="mono">{escape(str(e.meta.get("model", "")))}</span>'
        f" · {escape(e.mode)}</p>",
        _prediction(e),
    ]
    if e.kind == "image":
        parts.append(_pictures(e))
    for label in e.labels:
        parts.append(_label_block(e, label))
    parts += [_settled_note(e), _params(e), "</section>"]
    return "\n".join(parts)


def _prediction(e: Explanation) -> str:
    if "value" in e.prediction:
        return f"<p>Prediction: <strong>{_num(e.prediction['value'])}</strong></p>"
    probs = sorted(e.prediction["probabilities"].items(), key=lambda kv: -kv[1])[:10]
    rows = []
    for i, (name, p) in enumerate(probs):
        cls = " top" if i == 0 else ""
        pct = max(0.0, min(100.0, 100.0 * float(p)))
        rows.append(
            f'<div dir="auto">{escape(str(name))}</div>'
            f'<div class="track{cls}"><div class="fill" style="width:{pct:.1f}%"></div></div>'
            f'<div class="num">{float(p):.3f}</div>'
        )
    return '<h3>Prediction probabilities</h3><div class="prob">' + "".join(rows) + "</div>"


def _label_block(e: Explanation, label: LabelExplanation) -> str:
    what = "the value" if e.mode == "regression" else f"label “{label.label}”"
    head = f'<h3 dir="auto">Why {escape(what)}</h3>'
    if label.flat:  # no chart, R² or stability: a fit to a constant would look perfect
        said = flat_summary(e, label)
        return (
            f'{head}\n<p class="nothing flat">{escape(said[:1].upper() + said[1:])} '
            "A linear fit to a constant output would show a perfect R² and mean nothing, so "
            "no weights are shown.</p>"
        )
    trust = trust_summary(label)
    score = "n/a" if label.score is None else f"{label.score:.3f}"
    out = [
        head,
        f'<p class="muted">local fit R² {score} · intercept {_num(label.intercept)}'
        f" · local prediction {_num(label.local_prediction)} (model {_num(label.model_prediction)})"
        f"{'<br>' + escape(trust) if trust else ''}</p>",
    ]
    if not label.features:
        out.append(f'<p class="nothing">{escape(no_features_summary(e))}</p>')
        return "\n".join(out)
    out += [_legend(label), weights_svg(label)]
    if e.kind == "tabular":
        out.append(_instance_table(label))
    elif e.kind == "text":
        out.append(highlighted_text(str(e.data.get("text", "")), label))
    return "\n".join(out)


def _legend(label: LabelExplanation) -> str:
    parts = [
        '<span><i class="swatch" style="background:var(--support)"></i>supports (+)</span>'
        '<span><i class="swatch" style="background:var(--oppose)"></i>opposes (−)</span>'
    ]
    if any(_interval(f) for f in label.features):
        parts.append("<span>│─│ 95% interval</span>")
    if any(could_be_zero(f) for f in label.features):
        parts.append(
            f'<span><i class="swatch" style="background:var(--support);opacity:0.35"></i>'
            f'<em class="zero">{COULD_BE_ZERO}</em>: {escape(could_be_zero_means(label))}</span>'
        )
    return f'<p class="legend">{"".join(parts)}</p>'


def _settled_note(e: Explanation) -> str:
    """What 'settled' means, once per explanation that says it."""
    stability = next((lab.stability for lab in e.labels if lab.stability), None)
    if not stability or "settled_top" not in stability:
        return ""
    from limecli.uncertainty import SETTLED_SHARE

    replicates = escape(str(stability.get("replicates", "?")))
    return (
        '<p class="muted">“Top m of k settled”: in at least '
        f"{SETTLED_SHARE:.0%} of {replicates} resamples of the perturbed samples, the m "
        "strongest features are the same ones; the ranks below could swap with each other or "
        "with features not shown.</p>"
    )


def _interval(feat: FeatureWeight) -> tuple[float, float] | None:
    """The weight's 95% interval, if the explanation gives a finite one."""
    ci = feat.extra.get("ci95")
    try:
        low, high = (float(v) for v in ci)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    return (low, high) if math.isfinite(low) and math.isfinite(high) else None


def weights_svg(label: LabelExplanation, width: int = 760) -> str:
    """A diverging bar chart: one row per feature, bars right for support, left against.

    A whisker spans each weight's 95% interval; a weight that could be 0 is drawn faint
    and says so in words.
    """
    marked = any(could_be_zero(f) for f in label.features)
    row_h, label_w, value_w = 24, 300, 150 if marked else 70
    chart_w = width - label_w - value_w
    mid = label_w + chart_w / 2
    reach = [abs(f.weight) for f in label.features]
    reach += [abs(v) for f in label.features for v in (_interval(f) or ())]
    scale = max(reach, default=0.0) or 1.0
    half = chart_w / 2 - 4
    height = row_h * max(len(label.features), 1) + 8
    items = [
        f'<svg class="weights" role="img" xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>Feature weights for {escape(label.label)}</title>",
    ]
    for i, feat in enumerate(label.features):
        y = 4 + i * row_h
        length = abs(feat.weight) / scale * half
        x = mid if feat.weight >= 0 else mid - length
        faint = could_be_zero(feat)
        cls = ("support" if feat.weight >= 0 else "oppose") + (" faint" if faint else "")
        name = str(feat.name)
        shown = name if len(name) <= 42 else name[:41] + "…"
        sign = "+" if feat.weight >= 0 else "−"
        tip = f"{feat.weight:+.4g}"
        interval = _interval(feat)
        whisker = ""
        if interval is not None:
            low, high = interval
            tip += f", 95% interval {low:+.4g} … {high:+.4g}"
            x1, x2, yc = mid + low / scale * half, mid + high / scale * half, y + row_h / 2
            whisker = (
                f'<path class="ci" d="M{x1:.1f} {yc:.1f}H{x2:.1f}M{x1:.1f} {yc - 4:.1f}'
                f'V{yc + 4:.1f}M{x2:.1f} {yc - 4:.1f}V{yc + 4:.1f}"></path>'
            )
        if faint:
            tip += f" ({COULD_BE_ZERO})"
        note = f' <tspan class="zero">{COULD_BE_ZERO}</tspan>' if faint else ""
        items.append(
            f"<g><title>{escape(name)}: {escape(tip)}</title>"
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{escape(shown)}</text>'
            f'<rect class="{cls}" x="{x:.1f}" y="{y + 3}" width="{max(length, 1):.1f}" '
            f'height="{row_h - 8}"></rect>{whisker}'
            f'<text x="{width - value_w + 6}" y="{y + 16}">{sign}{abs(feat.weight):.4g}{note}'
            "</text></g>"
        )
    items.append(
        f'<line class="axis" x1="{mid}" y1="0" x2="{mid}" y2="{height}" stroke-width="1"></line>'
    )
    items.append("</svg>")
    return "".join(items)


def _instance_table(label: LabelExplanation) -> str:
    scale = max((abs(f.weight) for f in label.features), default=0.0) or 1.0
    with_ci = any(_interval(f) for f in label.features)
    rows = []
    for feat in label.features:
        faint = could_be_zero(feat)
        alpha = 0.08 + (0.1 if faint else 0.5) * abs(feat.weight) / scale
        rgb = "0, 114, 178" if feat.weight >= 0 else "213, 94, 0"
        note = f' <span class="zero">{COULD_BE_ZERO}</span>' if faint else ""
        interval = _interval(feat)
        ci = ""
        if with_ci:
            shown = "" if interval is None else f"{interval[0]:+.3f} … {interval[1]:+.3f}"
            ci = f'<td class="num">{shown}</td>'
        rows.append(
            f'<tr style="background: rgba({rgb}, {alpha:.2f})">'
            f'<td dir="auto">{escape(str(feat.feature))}</td>'
            f'<td class="num" dir="auto">{escape(_cell_value(feat.value))}</td>'
            f'<td dir="auto">{escape(str(feat.name))}</td>'
            f'<td class="num">{feat.weight:+.4f}{note}</td>{ci}</tr>'
        )
    ci_head = "<th>95% interval</th>" if with_ci else ""
    return (
        "<table><thead><tr><th>Feature</th><th>Value</th><th>Condition</th><th>Weight</th>"
        f"{ci_head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def highlighted_text(text: str, label: LabelExplanation) -> str:
    """The text with every occurrence of each explained feature marked by sign and strength."""
    scale = max((abs(f.weight) for f in label.features), default=0.0) or 1.0
    spans: list[tuple[int, int, float, str]] = []
    for feat in label.features:
        for start, end in feat.extra.get("positions", []) or []:
            word = str(feat.feature) + (f" ({COULD_BE_ZERO})" if could_be_zero(feat) else "")
            spans.append((int(start), int(end), feat.weight, word))
    spans.sort()
    out, cursor = [], 0
    for start, end, weight, word in spans:
        if start < cursor or end > len(text):
            continue  # overlapping or stale positions: leave the text as it is
        out.append(escape(text[cursor:start]))
        cls = "support" if weight >= 0 else "oppose"
        alpha = 0.15 + 0.6 * abs(weight) / scale
        out.append(
            f'<mark class="{cls}" style="--a:{alpha:.2f}" title="{escape(word)} {weight:+.4g}">'
            f"{escape(text[start:end])}</mark>"
        )
        cursor = end
    out.append(escape(text[cursor:]))
    return f'<div class="text-view" dir="auto" lang="">{"".join(out)}</div>'


def _pictures(e: Explanation) -> str:
    pixels = getattr(e, "pixels", None)
    if pixels is None or getattr(e, "segments", None) is None:
        return '<p class="muted">(the image itself is not part of this explanation record)</p>'
    label = e.labels[0].label
    figures = [
        ("Original", np.clip(np.asarray(pixels), 0, 255).astype(np.uint8)),
        (f"Superpixels for {label}", e.overlay(label, positive_only=False)),  # type: ignore[attr-defined]
        (f"Weight heatmap for {label}", _heatmap_rgb(e.heatmap(label))),  # type: ignore[attr-defined]
    ]
    items = "".join(
        f'<figure><img alt="{escape(cap)}" src="{png_data_uri(img)}">'
        f'<figcaption class="muted">{escape(cap)}</figcaption></figure>'
        for cap, img in figures
    )
    return f'<div class="pictures">{items}</div>'


def _heatmap_rgb(weights: np.ndarray) -> np.ndarray:
    scale = float(np.max(np.abs(weights))) or 1.0
    t = np.clip(weights / scale, -1.0, 1.0)[..., None]
    white = np.array([255.0, 255.0, 255.0])
    support = np.array([0.0, 114.0, 178.0])
    oppose = np.array([213.0, 94.0, 0.0])
    rgb = np.where(t >= 0, white + (support - white) * t, white + (oppose - white) * (-t))
    return rgb.astype(np.uint8)


def png_data_uri(array: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _params(e: Explanation) -> str:
    rows = "".join(
        f'<tr><th class="mono">{escape(str(k))}</th><td class="mono" dir="auto">'
        f"{escape(_value(v))}</td></tr>"
        for k, v in e.params.items()
    )
    versions = ", ".join(f"{k} {v}" for k, v in e.meta.get("versions", {}).items())
    return (
        f"<details><summary>Parameters</summary><table>{rows}</table>"
        f'<p class="muted">{escape(versions)}</p></details>'
    )


def _num(x: Any) -> str:
    x = float(x)
    return f"{x:.4g}" if math.isfinite(x) else str(x)


def _cell_value(value: Any) -> str:
    """A tabular cell: None is a missing cell."""
    return "missing" if value is None else _value(value)


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_value(v) for v in value)
    return str(value)
