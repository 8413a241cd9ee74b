"""The HTML report carries the trust figures: a whisker on every bar with an interval, the
settled ranks per label (in the terminal's words), and pictures for every explained label.

The whiskers are checked three ways: in the SVG source (coordinates from the
weights' own scale), in the DOM geometry Chromium lays out, and in the pixels
of its screenshot.
"""

from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path

import kinds
import numpy as np
import pytest
from browser import find_chromium, load_page
from conftest import ROOT
from PIL import Image

from limecli.explanation import Explanation, FeatureWeight, LabelExplanation
from limecli.render import html
from limecli.render.html_chart import ROW_HEIGHT
from limecli.render.html_css import FOREGROUND, OPPOSE, SUPPORT
from limecli.render.overlay import picture
from limecli.render.terminal import settled_summary

SVG = re.compile(r'<svg class="weights".*?</svg>', re.S)
ROW = re.compile(
    r'<rect class="(?P<cls>[a-z ]+)" fill="(?P<fill>#[0-9A-Fa-f]{6})"[^>]*? x="(?P<x>[-\d.]+)" '
    r'y="(?P<y>[-\d.]+)" width="(?P<w>[\d.]+)"[^>]*></rect>(?P<whisker><path [^>]*></path>)?'
)
WHISKER = re.compile(
    r'data-low="(?P<low>[^"]+)" data-high="(?P<high>[^"]+)" d="M(?P<x1>[-\d.]+) (?P<yc>[-\d.]+)'
    r"H(?P<x2>[-\d.]+)"
)


def charts(document: str) -> list[str]:
    return SVG.findall(document)


def check_chart(svg: str, label: LabelExplanation) -> None:
    """Bars and whiskers of one chart drawn on one scale from the weights and intervals."""
    mid = float(re.search(r'<line class="axis"[^>]* x1="([\d.]+)"', svg).group(1))
    rows = list(ROW.finditer(svg))
    assert len(rows) == len(label.features)
    reach = max(
        [abs(f.weight) for f in label.features]
        + [abs(v) for f in label.features for v in f.extra.get("ci95", ())]
    )
    lengths = [float(r["w"]) for r in rows]
    pixels_per_unit = max(lengths) / max(abs(f.weight) for f in label.features)
    for rank, (row, feat) in enumerate(zip(rows, label.features, strict=True)):
        assert row["fill"].upper() == (SUPPORT if feat.weight >= 0 else OPPOSE)
        assert float(row["y"]) == 4 + rank * ROW_HEIGHT + 3  # rank order, top down
        if abs(feat.weight) / reach > 0.01:  # (a bar is at least 1 px long)
            assert float(row["w"]) == pytest.approx(abs(feat.weight) * pixels_per_unit, abs=0.11)
        left = float(row["x"]) if feat.weight < 0 else mid
        assert left == pytest.approx(
            mid - (abs(feat.weight) * pixels_per_unit if feat.weight < 0 else 0), abs=0.11
        )
        low, high = feat.extra["ci95"]
        assert row["whisker"], f"no whisker on {feat.name}"  # every bar with an interval
        whisker = WHISKER.search(row["whisker"])
        assert float(whisker["low"]) == low and float(whisker["high"]) == high
        assert float(whisker["x1"]) == pytest.approx(mid + low * pixels_per_unit, abs=0.11)
        assert float(whisker["x2"]) == pytest.approx(mid + high * pixels_per_unit, abs=0.11)
        assert float(whisker["yc"]) == 4 + rank * ROW_HEIGHT + ROW_HEIGHT / 2


@pytest.mark.parametrize("kind", ["tabular", "text", "image", "regression", "flat"])
def test_every_bar_with_an_interval_has_its_whisker(kind: str) -> None:
    exp = kinds.ALL[kind]()
    document = exp.to_html()
    explained = [lab for lab in exp.labels if lab.features]
    found = charts(document)
    assert len(found) == len(explained)
    for svg, label in zip(found, explained, strict=True):
        check_chart(svg, label)
    assert document.count('<path class="ci"') == sum(len(lab.features) for lab in explained)


@pytest.mark.parametrize("kind", ["tabular", "text", "image", "regression", "flat"])
def test_settled_ranks_per_label_in_the_terminals_words(kind: str) -> None:
    exp = kinds.ALL[kind]()
    document = exp.to_html()
    blocks = document.split('<h3 dir="auto">Why ')[1:]
    assert len(blocks) == len(exp.labels)
    for block, label in zip(blocks, exp.labels, strict=True):
        said = settled_summary(label)
        if label.flat:
            assert said == "" and "settled" not in block.split("“Top m of k settled”")[0]
            continue
        assert said and said in block  # the terminal's sentence, for this label
        k, m = len(label.features), label.stability["settled_top"]
        cuts = re.findall(r'<line class="rank-cut"[^>]* y1="(\d+)"', block.split("</svg>")[0])
        # A dashed line under the settled ranks when only some of them are.
        assert cuts == ([str(4 + m * ROW_HEIGHT)] if 0 < m < k else [])


def test_planted_settled_cut_sits_between_the_ranks() -> None:
    exp = kinds.with_flat_label()
    svg = charts(exp.to_html())[0]
    assert '<line class="rank-cut"' in svg and f'y1="{4 + ROW_HEIGHT}"' in svg
    assert "top 1 of 2 settled over 20 resamples (rank 2 could swap)" in svg


def _images(document: str) -> list[tuple[str, np.ndarray]]:
    found = re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([^"]+)"', document)
    return [
        (alt, np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")))
        for alt, data in found
    ]


def test_pictures_for_every_label_drawn_by_overlay_picture() -> None:
    exp = kinds.image()
    assert len(exp.labels) == 2
    images = _images(exp.to_html())
    assert [alt for alt, _ in images] == [
        "Original",
        "Superpixels for red",
        "Weight heatmap for red",
        "Superpixels for other",
        "Weight heatmap for other",
    ]
    for lab in exp.labels:
        overlay = dict(images)[f"Superpixels for {lab.label}"]
        heatmap = dict(images)[f"Weight heatmap for {lab.label}"]
        assert (
            overlay == picture("overlay", exp.pixels, exp.segments, lab, positive_only=False)
        ).all()
        assert (heatmap == picture("heatmap", exp.pixels, exp.segments, lab)).all()
    assert not hasattr(html, "_heatmap_rgb")  # one heatmap drawing, in render.overlay


def test_a_record_without_pixels_shows_charts_and_says_so() -> None:
    exp = Explanation.from_json(kinds.image().to_json())
    document = exp.to_html()
    assert "<img" not in document and "the image itself is not part" in document
    assert len(charts(document)) == 2


# --- in Chromium -------------------------------------------------------------------------

GEOMETRY = """(() => {
  const box = e => { const r = e.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  const svg = document.querySelector('svg.weights');
  return {
    scale: window.devicePixelRatio,
    axis: box(svg.querySelector('line.axis')),
    bars: [...svg.querySelectorAll('rect')].map(box),
    whiskers: [...svg.querySelectorAll('path.ci')].map(p =>
      ({...box(p), low: +p.dataset.low, high: +p.dataset.high})),
  };
})()"""


def wide_intervals() -> Explanation:
    """Five weights, two of them with intervals across 0, on one label."""
    specs = [
        (0.8, 0.5, 1.1),
        (-0.6, -0.9, -0.3),
        (0.4, -0.1, 0.9),
        (-0.25, -0.7, 0.2),
        (0.2, 0.1, 0.3),
    ]
    features = [
        FeatureWeight(
            f"f{i} > {i}",
            f"f{i}",
            float(i),
            w,
            {
                "ci95": [lo, hi],
                "std_error": (hi - lo) / 3.92,
                "distinguishable_from_zero": lo * hi > 0,
            },
        )
        for i, (w, lo, hi) in enumerate(specs)
    ]
    stability = {"replicates": 20, "settled_top": 2, "top_k_change_probability": 0.5}
    label = LabelExplanation("yes", 1, 0.1, 0.7, 0.65, 0.7, features, 0.6, stability)
    return Explanation(
        kind="tabular",
        mode="classification",
        input={"source": "intervals.csv", "row": 0},
        prediction={"label": "yes", "probabilities": {"no": 0.3, "yes": 0.7}},
        labels=[label],
        params={"num_samples": 1000, "num_features": 5, "seed": 0},
        meta={"model": "m.joblib", "versions": {}},
    )


def test_whiskers_in_chromium_geometry_and_pixels(tmp_path: Path) -> None:
    if find_chromium() is None:
        if os.environ.get("LIMECLI_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required (LIMECLI_REQUIRE_BROWSER is set) but not installed")
        pytest.skip("Chromium is not installed (CI installs it: see .ci/run)")
    exp = wide_intervals()
    page = tmp_path / "intervals.html"
    page.write_text(exp.to_html(), encoding="utf-8")
    load = load_page(page.as_uri(), evaluate=GEOMETRY, width=1000, height=900)
    assert load.errors == []
    shot = np.asarray(Image.open(io.BytesIO(load.screenshot)).convert("RGB"), dtype=int)
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    (ROOT / "test-artifacts" / "report-intervals.png").write_bytes(load.screenshot)
    geometry = load.value
    scale = geometry["scale"]
    mid = (geometry["axis"]["left"] + geometry["axis"]["right"]) / 2
    features = exp.labels[0].features
    bars, whiskers = geometry["bars"], geometry["whiskers"]
    assert len(bars) == len(whiskers) == len(features)
    # Laid-out pixels per unit of weight, from the bars (their lengths are the weights).
    per_unit = [
        (b["right"] - b["left"]) / abs(f.weight) for b, f in zip(bars, features, strict=True)
    ]
    assert max(per_unit) - min(per_unit) < 0.5
    unit = float(np.mean(per_unit))
    fg = np.array([int(FOREGROUND[i : i + 2], 16) for i in (1, 3, 5)])
    for bar, whisker, feat in zip(bars, whiskers, features, strict=True):
        low, high = feat.extra["ci95"]
        assert (whisker["low"], whisker["high"]) == (low, high)
        # The whisker spans the interval on the bars' scale (its box adds half a stroke).
        assert whisker["left"] == pytest.approx(mid + low * unit, abs=1.5)
        assert whisker["right"] == pytest.approx(mid + high * unit, abs=1.5)
        # It sits on its own bar's row.
        centre = (whisker["top"] + whisker["bottom"]) / 2
        assert bar["top"] < centre < bar["bottom"]
        # In the screenshot: both caps are drawn in the text colour ...
        row = round((centre - 2.5) * scale)
        for x in (mid + low * unit, mid + high * unit):
            window = shot[row, round((x - 1.5) * scale) : round((x + 1.5) * scale) + 1]
            darkest = window[np.argmin(window.sum(axis=1))]
            assert np.abs(darkest - fg).max() < 60, (feat.name, x, window)
        # ... and half-way between the bar's end and a cap off the bar, the page is blank
        # (the whisker is a line, not a wider bar).
        end = mid + feat.weight * unit
        beyond = high if feat.weight >= 0 else low
        if abs(beyond - feat.weight) * unit > 8:
            x = round(((end + mid + beyond * unit) / 2) * scale)
            assert shot[round((centre - 4.5) * scale), x].min() > 230
