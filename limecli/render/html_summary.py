"""The HTML report of a batch summary: global importance per label, then explanation sections."""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from limecli.render.html import page_document, section
from limecli.render.summary import NO_FEATURES, NOTHING_TO_PICK

if TYPE_CHECKING:
    from limecli.explanation import Explanation


#: A summary report shows at most this many explanation sections (all of them with --pick).
SUMMARY_SECTIONS = 50


def render_summary_html(summary: Any, explanations: Sequence[Explanation]) -> str:
    """The global view of a batch: importance per label, then the picked explanations.

    ``summary`` is a :class:`limecli.summary.Summary`; ``explanations`` the
    records it was computed from. With a pick, the sections are the picked
    explanations in pick order; without, the first ``SUMMARY_SECTIONS``.
    """
    if summary.picks is not None:
        by_input = {_identity(e.input): e for e in explanations}
        chosen = [by_input[k] for k in (_identity(p.input) for p in summary.picks) if k in by_input]
        intro = (
            f"<h2>{len(chosen)} representative explanations (submodular pick, SP-LIME)</h2>"
            '<p class="muted">Chosen greedily so that together they cover the features that '
            "matter most across the batch.</p>"
            if chosen
            else f"<h2>No representative explanations</h2><p>{escape(NOTHING_TO_PICK)}</p>"
        )
    else:
        chosen = list(explanations[:SUMMARY_SECTIONS])
        more = len(explanations) - len(chosen)
        note = f" (the first {len(chosen)}; {more} more in the file)" if more > 0 else ""
        intro = f"<h2>Explanations{escape(note)}</h2>"
    title = f"Summary of {summary.records} explanations"
    counts = (
        f"{summary.records} explanations from {escape(', '.join(summary.sources))}"
        f" · {summary.errors} error records skipped · top-k = {summary.top_k}"
    )
    globals_ = "\n".join(_global_block(lab, summary.top_k) for lab in summary.labels)
    sections = "\n".join(section(e, i) for i, e in enumerate(chosen, start=1))
    # The report's page: the stylesheet is scoped to its root element (html_css).
    return page_document(
        title,
        f'<header><h1>{escape(title)}</h1><p class="muted">{counts}</p></header>\n'
        f'<section class="global">{globals_}</section>\n'
        f'<section class="explanation">{intro}</section>\n{sections}',
    )


def _global_block(label: Any, top_k: int, limit: int = 20) -> str:
    """Mean |weight| per feature for one label, bars coloured by the sign of the mean."""
    head = (
        f'<h2 dir="auto">Global importance: {escape(label.label)} '
        f'<span class="muted">({label.explanations} explanations)</span></h2>'
    )
    if not label.features:
        return f'{head}<p class="nothing">{escape(NO_FEATURES)}</p>'
    features = label.features[:limit]
    width, row_h, label_w, value_w = 800, 24, 250, 330
    chart_w = width - label_w - value_w
    scale = max((f.mean_abs_weight for f in features), default=0.0) or 1.0
    height = row_h * max(len(features), 1) + 8
    rows = [
        f'<svg class="weights" role="img" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">'
        f"<title>Global importance for {escape(label.label)}</title>"
    ]
    for i, f in enumerate(features):
        y = 4 + i * row_h
        length = max(f.mean_abs_weight / scale * (chart_w - 4), 1)
        cls = "support" if f.mean_weight >= 0 else "oppose"
        name = str(f.feature)
        shown = name if len(name) <= 36 else name[:35] + "…"
        detail = (
            f"{f.mean_abs_weight:.3g} · top-{top_k} {100 * f.top_k:.0f}% · "
            f"same sign {100 * f.sign_consistency:.0f}% · seen {f.appearances}"
        )
        rows.append(
            f"<g><title>{escape(name)}: {escape(detail)}</title>"
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{escape(shown)}</text>'
            f'<rect class="{cls}" x="{label_w}" y="{y + 3}" width="{length:.1f}" '
            f'height="{row_h - 8}"></rect>'
            f'<text x="{label_w + chart_w + 6}" y="{y + 16}">{escape(detail)}</text></g>'
        )
    rows.append("</svg>")
    return (
        f"{head}"
        '<p class="legend muted">Bar: mean |weight| across explanations (0 where a feature '
        "has none); colour: the sign of the mean weight (blue pushes towards the label, "
        f"orange away); top-{top_k}: share of explanations where its weight is among the "
        f"{top_k} largest and not 0; same sign: share of its non-zero weights with the "
        "usual sign; seen: explanations where its weight is not 0.</p>" + "".join(rows)
    )


def _identity(info: dict[str, Any]) -> str:
    return json.dumps(info, sort_keys=True, default=str)
