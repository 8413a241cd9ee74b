"""Matplotlib pictures of an explanation, for notebooks (the ``plot`` extra).

:func:`plot_weights` draws the HTML report's bar chart: one horizontal bar per
feature, strongest at the top, blue for support and orange for opposition
(Okabe-Ito, colour-blind safe), a whisker over each weight's 95% interval, a
faint bar and the words "could be 0" for a weight the interval does not tell
apart from zero. :func:`plot_picture` shows an image explanation's overlay or
heatmap (drawn by :func:`limecli.render.overlay.picture`).

matplotlib is imported only when a function is called; without it they raise
:class:`MissingExtraError` with the command that installs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from limecli.errors import MissingExtraError
from limecli.render.html_chart import interval, settled_ranks
from limecli.render.html_css import FOREGROUND, MUTED, OPPOSE, SUPPORT
from limecli.render.terminal import COULD_BE_ZERO, could_be_zero, settled_summary

if TYPE_CHECKING:
    from limecli.explanation import Explanation, ImageExplanation

INSTALL_HINT = "pip install 'limecli[plot]'"
#: The pictures plot_picture can show.
PICTURES = ("overlay", "heatmap", "segments")
#: Opacity of a bar whose weight could be 0 (the HTML report's faint bars).
FAINT = 0.35


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ModuleNotFoundError as e:
        raise MissingExtraError(
            f"plotting needs matplotlib, which is not installed: {INSTALL_HINT}"
        ) from e
    return plt


def _axes(ax: Any, size: tuple[float, float]) -> Any:
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=size)
    return ax


def plot_weights(explanation: Explanation, label: str | None = None, ax: Any = None) -> Any:
    """The label's weights as horizontal bars on ``ax`` (a new figure if None); the Axes.

    Bar ``i`` (from the top) is the i-th ranked feature; its patch carries the
    feature's condition as its label (``ax.patches[i].get_label()``).
    """
    _pyplot()
    lab = explanation.label(label)
    features = lab.features
    ax = _axes(ax, (7.0, 0.45 * max(len(features), 1) + 1.4))
    what = "the value" if explanation.mode == "regression" else f"label {lab.label!r}"
    ax.set_title(f"Why {what}", loc="left", color=FOREGROUND)
    if not features:
        ax.set_axis_off()
        said = "nothing to explain: flat output" if lab.flat else "no feature to show"
        ax.text(0.0, 0.5, said, transform=ax.transAxes, color=MUTED)
        return ax
    for rank, feat in enumerate(features):
        colour = SUPPORT if feat.weight >= 0 else OPPOSE
        faint = could_be_zero(feat)
        (bar,) = ax.barh(rank, feat.weight, height=0.6, color=colour, alpha=FAINT if faint else 1.0)
        bar.set_label(str(feat.name))
        bounds = interval(feat)
        if bounds is not None:
            low, high = bounds
            ax.errorbar(
                feat.weight,
                rank,
                xerr=[[feat.weight - low], [high - feat.weight]],
                fmt="none",
                ecolor=FOREGROUND,
                elinewidth=1.2,
                capsize=4,
            )
    names = [
        f"{feat.name} ({COULD_BE_ZERO})" if could_be_zero(feat) else str(feat.name)
        for feat in features
    ]
    ax.set_yticks(range(len(features)), names)
    ax.set_ylim(len(features) - 0.5, -0.5)  # rank 1 at the top, as in the report
    ax.axvline(0.0, color=MUTED, linewidth=0.8)
    ax.set_xlabel("weight (+ supports, − opposes)")
    cut = settled_ranks(lab)
    if cut is not None:  # the ranks above the dashed line are settled, as in the report
        ax.axhline(cut - 0.5, color=MUTED, linestyle="--", linewidth=0.8)
    settled = settled_summary(lab)
    if settled:
        ax.text(0.0, -0.1, settled, transform=ax.transAxes, va="top", color=MUTED, fontsize=8)
    ax.figure.tight_layout()
    return ax


def plot_picture(
    explanation: ImageExplanation,
    label: str | None = None,
    kind: str = "overlay",
    ax: Any = None,
    *,
    positive_only: bool = False,
    hide_rest: bool = False,
) -> Any:
    """The label's ``overlay``, ``heatmap`` or ``segments`` (numbered superpixels) picture on ``ax`` (a new figure if None); the Axes."""
    from limecli.render.overlay import picture
    from limecli.validation import check_choice

    check_choice("kind", kind, PICTURES)
    _pyplot()
    lab = explanation.label(label)
    pixels, segments = explanation._parts()
    image = picture(kind, pixels, segments, lab, positive_only=positive_only, hide_rest=hide_rest)
    ax = _axes(ax, (5.0, 5.0 * image.shape[0] / max(image.shape[1], 1)))
    ax.imshow(image, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(f"{kind.capitalize()} for {lab.label}", loc="left", color=FOREGROUND)
    return ax
