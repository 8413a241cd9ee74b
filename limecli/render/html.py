"""Self-contained HTML: no script, no network, charts as inline SVG.

:func:`render_html` writes a whole page (``-o report.html``);
:func:`render_fragment` the same sections as one ``<div>`` for a notebook
(:meth:`Explanation._repr_html_`). Both use the one scoped stylesheet of
:mod:`limecli.render.html_css`; the chart is :mod:`limecli.render.html_chart`.

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
from limecli.render.html_chart import interval, legend, weights_svg
from limecli.render.html_css import (
    CSP,
    OPPOSE_RGB,
    PAGE_CLASS,
    ROOT_CLASS,
    STYLE,
    SUPPORT_RGB,
    rgb_list,
)
from limecli.render.terminal import (
    COULD_BE_ZERO,
    could_be_zero,
    flat_summary,
    no_features_summary,
    trust_summary,
)

if TYPE_CHECKING:
    from limecli.explanation import Explanation, LabelExplanation

__all__ = ["CSP", "STYLE", "page_document", "render_fragment", "render_html", "section"]

INTRO = (
    "LIME explanation: a weighted linear model fitted to the model's answers on perturbed "
    "copies of the input. Positive weights push towards the label, negative weights away "
    "from it."
)


def page_document(title: str, body: str) -> str:
    """A whole HTML page around ``body``, inside the stylesheet's root element."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="limecli">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        # The one page-level style: no margin, so the root's own background fills the window.
        f'<body style="margin:0">\n<div class="{ROOT_CLASS} {PAGE_CLASS}"><main>\n'
        f"{body}\n</main></div>\n</body>\n</html>\n"
    )


def render_html(explanations: Sequence[Explanation], *, title: str | None = None) -> str:
    """A complete HTML document for one or more explanations."""
    heading = title or (
        _title(explanations[0]) if len(explanations) == 1 else f"{len(explanations)} explanations"
    )
    body = "\n".join(section(e, i) for i, e in enumerate(explanations, start=1))
    header = f'<header><h1>{escape(heading)}</h1><p class="muted">{escape(INTRO)}</p></header>'
    return page_document(heading, f"{header}\n{body}")


def render_fragment(explanations: Sequence[Explanation]) -> str:
    """The explanations as one ``<div>`` for a notebook cell: its stylesheet touches only it."""
    body = "\n".join(section(e, i) for i, e in enumerate(explanations, start=1))
    return f'<div class="{ROOT_CLASS}"><style>{STYLE}</style>\n{body}\n</div>'


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
        parts.append(_original_picture(e))
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
    out += [legend(label), weights_svg(label)]
    if e.kind == "tabular":
        out.append(_instance_table(label))
    elif e.kind == "text":
        out.append(highlighted_text(str(e.data.get("text", "")), label))
    elif e.kind == "image":
        out.append(_label_pictures(e, label))
    return "\n".join(out)


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


def _instance_table(label: LabelExplanation) -> str:
    scale = max((abs(f.weight) for f in label.features), default=0.0) or 1.0
    with_ci = any(interval(f) for f in label.features)
    rows = []
    for feat in label.features:
        faint = could_be_zero(feat)
        alpha = 0.08 + (0.1 if faint else 0.5) * abs(feat.weight) / scale
        rgb = rgb_list(SUPPORT_RGB if feat.weight >= 0 else OPPOSE_RGB)
        note = f' <span class="zero">{COULD_BE_ZERO}</span>' if faint else ""
        bounds = interval(feat)
        ci = ""
        if with_ci:
            shown = "" if bounds is None else f"{bounds[0]:+.3f} … {bounds[1]:+.3f}"
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


def _image_parts(e: Explanation) -> tuple[np.ndarray, np.ndarray] | None:
    """The pixels and superpixel map, when the explanation carries them (not read from JSON)."""
    pixels, segments = getattr(e, "pixels", None), getattr(e, "segments", None)
    return None if pixels is None or segments is None else (pixels, segments)


def _figures(figures: list[tuple[str, np.ndarray]]) -> str:
    items = "".join(
        f'<figure><img alt="{escape(cap)}" src="{png_data_uri(img)}">'
        f'<figcaption class="muted" dir="auto">{escape(cap)}</figcaption></figure>'
        for cap, img in figures
    )
    return f'<div class="pictures">{items}</div>'


def _original_picture(e: Explanation) -> str:
    parts = _image_parts(e)
    if parts is None:
        return '<p class="muted">(the image itself is not part of this explanation record)</p>'
    return _figures([("Original", np.clip(np.asarray(parts[0]), 0, 255).astype(np.uint8))])


def _label_pictures(e: Explanation, label: LabelExplanation) -> str:
    """The label's superpixels on the image and its weight heatmap (render.overlay draws both)."""
    from limecli.render.overlay import picture

    parts = _image_parts(e)
    if parts is None:
        return ""
    pixels, segments = parts
    return _figures(
        [
            (
                f"Superpixels for {label.label}",
                picture("overlay", pixels, segments, label, positive_only=False),
            ),
            (f"Weight heatmap for {label.label}", picture("heatmap", pixels, segments, label)),
        ]
    )


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
