"""The weight chart of the HTML report: diverging bars, 95% whiskers, the settled ranks.

Words shared with the terminal view (``could be 0``, the settled-ranks sentence)
come from :mod:`limecli.render.terminal`, so both say the same thing.
"""

from __future__ import annotations

import math
from html import escape
from typing import TYPE_CHECKING

from limecli.render.html_css import FOREGROUND, MUTED, OPPOSE, SUPPORT
from limecli.render.terminal import (
    COULD_BE_ZERO,
    could_be_zero,
    could_be_zero_means,
    settled_summary,
)

if TYPE_CHECKING:
    from limecli.explanation import FeatureWeight, LabelExplanation

#: Chart geometry (pixels): one row per feature.
ROW_HEIGHT = 24
NAME_WIDTH = 300


def interval(feat: FeatureWeight) -> tuple[float, float] | None:
    """The weight's 95% interval, if the explanation gives a finite one."""
    ci = feat.extra.get("ci95")
    try:
        low, high = (float(v) for v in ci)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    return (low, high) if math.isfinite(low) and math.isfinite(high) else None


def settled_ranks(label: LabelExplanation) -> int | None:
    """How many top ranks are settled, when that is known and splits the chart (0 < m < k)."""
    settled = (label.stability or {}).get("settled_top")
    if settled is None:
        return None
    m = int(settled)
    return m if 0 < m < len(label.features) else None


def legend(label: LabelExplanation) -> str:
    parts = [
        '<span><i class="swatch support"></i>supports (+)</span>'
        '<span><i class="swatch oppose"></i>opposes (−)</span>'
    ]
    if any(interval(f) for f in label.features):
        parts.append("<span>│─│ 95% interval</span>")
    if settled_ranks(label) is not None:
        parts.append("<span>┄ the ranks above the line are settled</span>")
    if any(could_be_zero(f) for f in label.features):
        parts.append(
            '<span><i class="swatch support faint"></i>'
            f'<em class="zero">{COULD_BE_ZERO}</em>: {escape(could_be_zero_means(label))}</span>'
        )
    return f'<p class="legend">{"".join(parts)}</p>'


def weights_svg(label: LabelExplanation, width: int = 760) -> str:
    """A diverging bar chart: one row per feature, bars right for support, left against.

    A whisker spans each weight's 95% interval; a weight that could be 0 is drawn faint
    and says so in words; a dashed line closes the ranks that stay the same under
    resampling (when only some of them do).
    """
    marked = any(could_be_zero(f) for f in label.features)
    row_h, label_w, value_w = ROW_HEIGHT, NAME_WIDTH, 150 if marked else 70
    chart_w = width - label_w - value_w
    mid = label_w + chart_w / 2
    reach = [abs(f.weight) for f in label.features]
    reach += [abs(v) for f in label.features for v in (interval(f) or ())]
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
        side = "support" if feat.weight >= 0 else "oppose"
        cls = side + (" faint" if faint else "")
        colour = SUPPORT if feat.weight >= 0 else OPPOSE
        opacity = ' fill-opacity="0.35"' if faint else ""
        name = str(feat.name)
        shown = name if len(name) <= 42 else name[:41] + "…"
        sign = "+" if feat.weight >= 0 else "−"
        tip = f"{feat.weight:+.4g}"
        bounds = interval(feat)
        whisker = ""
        if bounds is not None:
            low, high = bounds
            tip += f", 95% interval {low:+.4g} … {high:+.4g}"
            x1, x2, yc = mid + low / scale * half, mid + high / scale * half, y + row_h / 2
            whisker = (
                f'<path class="ci" stroke="{FOREGROUND}" data-low="{low!r}" data-high="{high!r}" '
                f'd="M{x1:.1f} {yc:.1f}H{x2:.1f}M{x1:.1f} {yc - 4:.1f}'
                f'V{yc + 4:.1f}M{x2:.1f} {yc - 4:.1f}V{yc + 4:.1f}"></path>'
            )
        if faint:
            tip += f" ({COULD_BE_ZERO})"
        note = f' <tspan class="zero">{COULD_BE_ZERO}</tspan>' if faint else ""
        items.append(
            f"<g><title>{escape(name)}: {escape(tip)}</title>"
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" fill="{FOREGROUND}">'
            f"{escape(shown)}</text>"
            f'<rect class="{cls}" fill="{colour}"{opacity} '
            f'x="{x:.1f}" y="{y + 3}" '
            f'width="{max(length, 1):.1f}" height="{row_h - 8}"></rect>{whisker}'
            f'<text x="{width - value_w + 6}" y="{y + 16}" fill="{FOREGROUND}">'
            f"{sign}{abs(feat.weight):.4g}{note}</text></g>"
        )
    settled = settled_ranks(label)
    if settled is not None:
        y = 4 + settled * row_h
        items.append(
            f"<g><title>{escape(settled_summary(label))}</title>"
            f'<line class="rank-cut" stroke="{MUTED}" x1="8" y1="{y}" x2="{width - 8}" '
            f'y2="{y}" stroke-width="1"></line></g>'
        )
    items.append(
        f'<line class="axis" stroke="{MUTED}" x1="{mid}" y1="0" x2="{mid}" y2="{height}" '
        'stroke-width="1"></line>'
    )
    items.append("</svg>")
    return "".join(items)
