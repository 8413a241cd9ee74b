"""Explanation.plot() and ImageExplanation.plot_image(): drawn headless (Agg), checked artist
by artist against the weights and intervals, and pixel by pixel on the rendered canvas."""

from __future__ import annotations

import sys

import kinds
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt
from matplotlib.colors import to_hex, to_rgb
from matplotlib.container import BarContainer, ErrorbarContainer

from limecli.errors import LimeCliError, MissingExtraError, ParameterError
from limecli.render.html_css import OPPOSE, SUPPORT
from limecli.render.overlay import picture


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def bars(ax) -> list:
    return [p for c in ax.containers if isinstance(c, BarContainer) for p in c.patches]


def whiskers(ax) -> list[tuple[float, float, float]]:
    """(low, high, y) of every error bar on ``ax``."""
    found = []
    for container in ax.containers:
        if isinstance(container, ErrorbarContainer):
            (segment,) = container.lines[2][0].get_segments()
            (x1, y1), (x2, y2) = segment
            assert y1 == y2
            found.append((float(x1), float(x2), float(y1)))
    return found


@pytest.mark.parametrize("kind", ["tabular", "text", "image", "regression", "flat"])
def test_bars_are_the_weights_in_rank_order(kind: str) -> None:
    exp = kinds.ALL[kind]()
    for lab in exp.labels:
        if not lab.features:
            continue
        ax = exp.plot(label=lab.label)
        drawn = bars(ax)
        assert len(drawn) == len(lab.features)
        for rank, (patch, feat) in enumerate(zip(drawn, lab.features, strict=True)):
            # Length and direction: the weight; row: the rank; colour: the sign.
            assert patch.get_width() == pytest.approx(feat.weight, rel=1e-12)
            assert patch.get_x() == 0.0
            assert patch.get_y() + patch.get_height() / 2 == pytest.approx(rank)
            assert to_hex(patch.get_facecolor()).upper() == (
                SUPPORT if feat.weight >= 0 else OPPOSE
            )
            faint = feat.extra.get("distinguishable_from_zero") is False
            assert patch.get_alpha() == (0.35 if faint else 1.0)
            assert patch.get_label() == feat.name
        # Rank 1 at the top, as in the report; the tick labels are the conditions.
        bottom, top = ax.get_ylim()
        assert bottom > top
        ticks = [t.get_text() for t in ax.get_yticklabels()]
        assert [t.removesuffix(" (could be 0)") for t in ticks] == [f.name for f in lab.features]
        # One whisker per weight with an interval, spanning exactly that interval.
        expected = [
            (*f.extra["ci95"], float(rank))
            for rank, f in enumerate(lab.features)
            if "ci95" in f.extra
        ]
        drawn_whiskers = whiskers(ax)
        assert len(drawn_whiskers) == len(expected)
        for got, want in zip(drawn_whiskers, expected, strict=True):
            assert got == pytest.approx(want, rel=1e-12)
        assert len(expected) == len(lab.features)  # every explanation here has intervals


def test_faint_opposing_bar_settled_line_and_words() -> None:
    exp = kinds.with_flat_label()
    ax = exp.plot()
    support, oppose = bars(ax)
    assert to_hex(oppose.get_facecolor()).upper() == OPPOSE and oppose.get_width() == -0.05
    assert oppose.get_alpha() == 0.35 and support.get_alpha() == 1.0
    assert [t.get_text() for t in ax.get_yticklabels()] == ["income > 5", "debt <= 1 (could be 0)"]
    # One settled rank: the dashed line sits between rank 1 and rank 2.
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert [tuple(line.get_ydata()) for line in dashed] == [(0.5, 0.5)]
    texts = [t.get_text() for t in ax.texts]
    assert "top 1 of 2 settled over 20 resamples (rank 2 could swap)" in texts
    # A flat label draws no bar and says why.
    ax = exp.plot(label="maybe")
    assert bars(ax) == [] and any("flat" in t.get_text() for t in ax.texts)


def test_the_canvas_shows_the_bars_in_their_colours() -> None:
    """Rendered with Agg: the pixel at each bar's middle is the bar's colour."""
    exp = kinds.with_flat_label()
    fig, ax = plt.subplots(figsize=(6, 3), dpi=100)
    assert exp.plot(ax=ax) is ax
    fig.canvas.draw()
    canvas = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(float) / 255
    height = canvas.shape[0]
    white = np.ones(3)
    for patch, alpha in zip(bars(ax), (1.0, 0.35), strict=True):
        x = patch.get_x() + patch.get_width() / 2
        y = patch.get_y() + patch.get_height() / 4  # off the whisker, drawn across the middle
        px, py = ax.transData.transform((x, y))
        shown = canvas[int(height - py), int(px)]
        colour = np.array(to_rgb(patch.get_facecolor()[:3]))
        assert shown == pytest.approx(alpha * colour + (1 - alpha) * white, abs=2 / 255)


def test_plot_image_shows_overlay_heatmap_and_segments_of_each_label() -> None:
    exp = kinds.image()
    for lab in exp.labels:
        for kind in ("overlay", "heatmap", "segments"):
            ax = exp.plot_image(label=lab.label, kind=kind)
            shown = np.asarray(ax.images[0].get_array())
            want = picture(kind, exp.pixels, exp.segments, lab, positive_only=False)
            assert shown.shape == want.shape and (shown == want).all()
            assert lab.label in ax.get_title(loc="left")
    ax = exp.plot_image(kind="overlay", positive_only=True, hide_rest=True)
    want = picture("overlay", exp.pixels, exp.segments, exp.labels[0], hide_rest=True)
    assert (np.asarray(ax.images[0].get_array()) == want).all()
    with pytest.raises(ParameterError, match="'kind' parameter must be one of"):
        exp.plot_image(kind="mosaic")


def test_without_matplotlib_the_error_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'limecli\[plot\]'") as caught:
        kinds.with_flat_label().plot()
    assert isinstance(caught.value, LimeCliError) and isinstance(caught.value, ImportError)
    with pytest.raises(MissingExtraError):
        kinds.image().plot_image()
