"""The pictures read at a glance: outlines visible on any colour, tint in proportion to |weight|,
faint superpixels left alone, segment numbers where their segments are, a heatmap with its
scale, pictures for every label; checked on the shapes sample and on built images."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SAMPLE_DATA, SAMPLE_MODELS
from PIL import Image

from limecli.explanation import FeatureWeight, LabelExplanation
from limecli.render.bitmap_font import text_mask
from limecli.render.heatmap import HEAT, colour_scale, greyed, heatmap_image, weight_text
from limecli.render.overlay import TINT, overlay_image, picture
from limecli.render.palette import (
    DARK,
    LIGHT,
    OPPOSE,
    SUPPORT,
    contrast_ratio,
    readable_on,
)
from limecli.render.segment_labels import number_boxes, segments_image
from limecli.render.superpixels import edge_depth, shown_segments

SHAPES = SAMPLE_DATA / "images" / "shapes.png"
MODEL = f"{SAMPLE_MODELS / 'predict_shapes.py'}:predict"


def label_of(weights: dict[int, float], extra: dict[int, dict] | None = None) -> LabelExplanation:
    """A label whose features are ``segment id -> weight``, strongest first; ``extra``: the
    fields beside a segment's weight (e.g. ``distinguishable_from_zero``)."""
    extra = extra or {}
    ranked = sorted(weights.items(), key=lambda item: -abs(item[1]))
    features = [FeatureWeight(f"segment {s}", s, 1, w, dict(extra.get(s, {}))) for s, w in ranked]
    return LabelExplanation("x", 0, 0.0, 1.0, 0.5, 0.5, features)


def stripes(colours: list[tuple[int, int, int]], height: int = 40, width: int = 30):
    """An image of vertical stripes ``width`` wide, one per colour, and its segment map."""
    segments = np.repeat(np.arange(len(colours)), width)[None, :].repeat(height, axis=0)
    pixels = np.asarray(colours, dtype=np.float32)[segments]
    return pixels, segments


@pytest.fixture(scope="module")
def shapes_explanation():
    from limecli import explain_image, load_model

    return explain_image(
        load_model(MODEL), str(SHAPES), labels=["circle"], hide_color=0, num_samples=300, seed=0
    )


def assert_outline_stands_out(out, pixels, segments, segment):
    """Black on the edge, the sign's colour, white inside, all around ``segment``; one of black
    and white contrasts with the segment's mean colour by a ratio of at least 3."""
    depth = edge_depth(segments, 4)
    inside = segments == segment
    for level, colour in ((1, DARK), (3, LIGHT)):
        ring = inside & (depth == level)
        assert ring.any()
        assert np.all(out[ring] == colour), f"stroke {level} is not {colour} all around"
    mean = tuple(pixels[inside].mean(axis=0))
    assert max(contrast_ratio(DARK, mean), contrast_ratio(LIGHT, mean)) >= 3


def test_the_strongest_supporting_segment_of_the_shapes_sample_has_a_visible_outline(
    shapes_explanation,
):
    exp = shapes_explanation
    label = exp.label("circle")
    top = max(label.features, key=lambda f: f.weight)
    inside = exp.segments == top.feature
    assert inside[32, 22]  # the circle (centre x 22, y 32) is the strongest support
    out = overlay_image(exp.pixels, exp.segments, label)
    assert_outline_stands_out(out, exp.pixels, exp.segments, top.feature)
    # The old yellow outline had a contrast ratio near 1 against the yellow circle.
    circle_mean = tuple(exp.pixels[inside].mean(axis=0))
    assert contrast_ratio((255, 255, 0), circle_mean) < 2


@pytest.mark.parametrize(
    "colour", [(255, 255, 0), (255, 255, 255), (0, 0, 0), SUPPORT, OPPOSE, (128, 128, 128)]
)
@pytest.mark.parametrize("positive_only", [True, False])
def test_outline_stands_out_on_any_colour(colour, positive_only):
    pixels, segments = stripes([(90, 60, 30), colour, (20, 120, 200)])
    label = label_of({1: 0.8, 2: -0.6} if not positive_only else {1: 0.8})
    out = overlay_image(pixels, segments, label, positive_only=positive_only)
    assert_outline_stands_out(out, pixels, segments, 1)
    band = (segments == 1) & (edge_depth(segments, 4) == 2)
    assert np.all(out[band] == SUPPORT)
    if not positive_only:
        opposing_band = (segments == 2) & (edge_depth(segments, 4) == 2)
        assert np.all(out[opposing_band] == OPPOSE)


def test_tint_is_in_proportion_to_weight():
    # On grey, the tint moves each pixel towards the colour by TINT x |w| / max |w| exactly.
    grey = (128, 128, 128)
    pixels, segments = stripes([grey] * 5)
    weights = {0: 0.8, 1: 0.4, 2: -0.2, 3: 0.008}
    out = overlay_image(pixels, segments, label_of(weights), positive_only=False)
    interior = edge_depth(segments, 4) > 3
    for segment, weight in weights.items():
        colour = np.asarray(SUPPORT if weight > 0 else OPPOSE, dtype=float)
        share = TINT * abs(weight) / 0.8
        expected = (1 - share) * 128 + share * colour
        got = out[interior & (segments == segment)].astype(float)
        assert np.all(np.abs(got - expected) <= 0.5), segment
    untouched = interior & (segments == 4)
    assert np.all(out[untouched] == grey)
    barely = np.abs(out[interior & (segments == 3)].astype(float) - 128).max()
    assert barely <= 2  # a negligible weight is barely tinted


@pytest.mark.parametrize("base", [(220, 20, 20), (20, 40, 220)], ids=["red", "blue"])
@pytest.mark.parametrize("sign", [1, -1], ids=["supports", "opposes"])
def test_full_tint_shows_on_red_and_blue_images(base, sign):
    pixels, segments = stripes([base, base])
    out = overlay_image(pixels, segments, label_of({0: 0.9 * sign, 1: 0.1}), positive_only=False)
    inner = (edge_depth(segments, 4) > 3) & (segments == 0)
    tinted = out[inner].astype(float)
    distance = np.linalg.norm(tinted - np.asarray(base), axis=1)
    assert distance.min() >= 40  # clearly changed, whatever the image's own hue
    target = np.asarray(SUPPORT if sign > 0 else OPPOSE, dtype=float)
    assert np.all(np.linalg.norm(tinted - target, axis=1) < np.linalg.norm(base - target))


def test_faint_and_could_be_zero_segments_are_not_outlined():
    pixels, segments = stripes([(100, 100, 100)] * 5)
    label = label_of(
        {0: 0.5, 1: 0.11, 2: 0.09, 3: 0.4, 4: -0.45},
        {3: {"distinguishable_from_zero": False}},
    )
    support, oppose = shown_segments(label, 5, positive_only=False)
    assert support.tolist() == [True, True, False, False, False]  # 0.09 < 0.5 / 5
    assert oppose.tolist() == [False, False, False, False, True]
    out = overlay_image(pixels, segments, label)
    changed = np.any(out != pixels, axis=2)
    assert set(np.unique(segments[changed]).tolist()) == {0, 1}


def test_shapes_sample_outlines_the_circle_and_not_the_faint_background(shapes_explanation):
    exp = shapes_explanation
    label = exp.label("circle")
    out = overlay_image(exp.pixels, exp.segments, label)
    changed = np.any(out != exp.pixels.round(), axis=2)
    top = max(label.features, key=lambda f: f.weight).feature
    assert set(np.unique(exp.segments[changed]).tolist()) == {top}
    faint = [f for f in label.features if 0 < f.weight < 0.2 * abs(label.features[0].weight)]
    assert faint, "the sample has faint supporting superpixels"


def test_segment_numbers_are_drawn_inside_their_segments(shapes_explanation):
    exp = shapes_explanation
    label = exp.label("circle")
    drawn = segments_image(exp.pixels, exp.segments, label)
    plain = segments_image(exp.pixels, exp.segments[:, :], None)
    height, width = exp.segments.shape
    boxes = number_boxes(exp.segments)
    ids = np.unique(exp.segments).tolist()
    assert [b.segment for b in boxes] == ids
    weights = {f.feature: f.weight for f in label.features}
    covered = np.zeros(exp.segments.shape, dtype=bool)
    for box in boxes:
        assert box.x >= 0 and box.x + box.width <= width
        assert box.y >= 0 and box.y + box.height <= height
        assert exp.segments[box.row, box.col] == box.segment  # centred on a point inside
        assert box.x <= box.col < box.x + box.width and box.y <= box.row < box.y + box.height
        assert not covered[box.y : box.y + box.height, box.x : box.x + box.width].any()
        region = drawn[box.y : box.y + box.height, box.x : box.x + box.width]
        fill = SUPPORT if weights.get(box.segment, 0) > 0 else OPPOSE
        fill = fill if box.segment in weights else LIGHT
        # Read the number back: the text colour's pixels spell the id in the picture's font.
        text = np.all(
            region[1 + box.scale : -1 - box.scale, 1 + box.scale :] == readable_on(fill), axis=2
        )
        expected = text_mask(box.text, box.scale)
        assert np.array_equal(text[: expected.shape[0], : expected.shape[1]], expected)
        covered[box.y : box.y + box.height, box.x : box.x + box.width] = True
    # Outside the boxes, the picture is the outlines alone (the same without a label).
    assert np.array_equal(drawn[~covered], plain[~covered])
    assert picture("segments", exp.pixels, exp.segments, label).shape == (height, width, 3)


def test_heatmap_is_over_the_greyed_image_with_a_labelled_scale():
    pixels, segments = stripes([(200, 30, 30), (30, 200, 30), (30, 30, 200)], width=60)
    label = label_of({0: 0.5, 1: -0.25})
    heat = heatmap_image(segments, label, pixels=pixels)
    height, width = segments.shape
    body, strip = heat[:height].astype(float), heat[height:]
    grey = greyed(pixels)
    assert np.all(np.abs(body[segments == 2] - grey[segments == 2]) <= 0.5)  # weight 0: grey
    assert np.ptp(body[segments == 2][:, 0] - body[segments == 2][:, 2]) == 0  # no colour
    top = (1 - HEAT) * grey[0, 0] + HEAT * np.asarray(SUPPORT)
    assert np.all(np.abs(body[segments == 0] - top) <= 0.5)
    assert np.array_equal(strip, colour_scale(width, -0.25, 0.5, 0.5))
    # The ends are labelled: "-0.25" at the left, "+0.50" at the right.
    for value, side in ((-0.25, "left"), (0.5, "right")):
        mask = text_mask(weight_text(value))
        rows = np.all(strip == DARK, axis=2)
        found = any(
            np.array_equal(rows[y : y + mask.shape[0], x : x + mask.shape[1]], mask)
            for y in range(strip.shape[0] - mask.shape[0] + 1)
            for x in (
                range(0, 10)
                if side == "left"
                else range(width - mask.shape[1] - 10, width - mask.shape[1] + 1)
            )
        )
        assert found, f"{weight_text(value)} is not written at the {side}"


def test_weight_text():
    assert [weight_text(v) for v in (0.0, 0.4712, -0.5, 0.0012, -1234.5)] == [
        "0",
        "+0.47",
        "-0.50",
        "+1.2e-03",
        "-1.2e+03",
    ]


# --- from the command line ---------------------------------------------------------------


def shapes_cli(run_cli, *args):
    return run_cli(
        "image", MODEL, SHAPES, "--hide-color", "0", "--num-samples", "150", "--format", "json",
        *args,
    )  # fmt: skip


def test_segments_out_writes_the_numbered_picture(run_cli, tmp_path):
    out = tmp_path / "numbers.png"
    result = shapes_cli(run_cli, "--label", "circle", "--segments-out", out)
    assert result.exit_code == 0, result.stderr
    assert f"wrote segments for label 'circle' to {out}" in result.stderr
    with Image.open(out) as im:
        assert im.size == (96, 64) and im.text.get("Software") == "limecli"
        drawn = np.asarray(im)
    with Image.open(SHAPES) as im:
        orig = np.asarray(im.convert("RGB"))
    assert np.any(np.all(drawn == SUPPORT, axis=2)) and np.any(np.all(drawn == OPPOSE, axis=2))
    assert 0.05 < np.mean(np.any(drawn != orig, axis=2)) < 0.6


def test_every_label_writes_one_picture_per_label(run_cli, tmp_path):
    result = shapes_cli(
        run_cli, "--label", "circle", "--label", "rectangle", "--every-label",
        "--out", tmp_path / "o.png", "--heatmap-out", tmp_path / "h_{label}.png",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["h_circle.png", "h_rectangle.png", "o.circle.png", "o.rectangle.png"]
    assert "the pictures show label" not in result.stderr


def test_without_every_label_a_note_says_only_the_first_label_is_drawn(run_cli, tmp_path):
    result = shapes_cli(
        run_cli, "--label", "circle", "--label", "rectangle", "--out", tmp_path / "o.png"
    )
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.png"]
    assert "the pictures show label 'circle' only; --every-label draws one per label" in (
        result.stderr
    )
    single = shapes_cli(run_cli, "--label", "circle", "--out", tmp_path / "s.png")
    assert "the pictures show label" not in single.stderr


def test_batch_every_label_and_segment_numbers(run_cli, tmp_path):
    pictures = tmp_path / "pics"
    result = run_cli(
        "image", MODEL, SHAPES, SAMPLE_DATA / "images" / "coffee.jpg", "--num-samples", "60",
        "--label", "circle", "--label", "rectangle", "--out-dir", pictures, "--segment-numbers",
        "--every-label", "--format", "jsonl", "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in pictures.iterdir())
    assert names == sorted(
        f"{stem}.{kind}.{label}.png"
        for stem in ("coffee.jpg", "shapes.png")
        for kind in ("overlay", "segments")
        for label in ("circle", "rectangle")
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--every-label",), "--every-label goes with a picture"),
        (("--segment-numbers",), "--segment-numbers goes with --out-dir DIR"),
    ],
)
def test_picture_options_that_need_another(run_cli, args, fragment):
    result = shapes_cli(run_cli, *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("Error: ") and fragment in result.stderr


@pytest.mark.parametrize("shape", [(1, 1), (2, 1), (2, 2), (5, 3)])
def test_every_picture_of_a_tiny_image_and_a_flat_label(shape):
    segments = np.arange(shape[0] * shape[1]).reshape(shape)
    pixels = np.full((*shape, 3), 100, dtype=np.float32)
    flat = LabelExplanation("x", 0, 0.0, None, 0.0, 0.0, [], flat=True)
    weighted = label_of({int(segments.max()): -0.5})
    for label in (flat, weighted):
        for kind in ("overlay", "mask", "heatmap", "segments"):
            for positive_only in (True, False):
                drawn = picture(kind, pixels, segments, label, positive_only=positive_only)
                assert drawn.dtype == np.uint8 and drawn.shape[1] == shape[1]
                assert drawn.shape[0] == shape[0] or kind == "heatmap"


def test_an_unknown_picture_kind_is_a_parameter_error():
    from limecli.errors import ParameterError

    pixels, segments = stripes([(0, 0, 0)])
    with pytest.raises(ParameterError, match="The 'kind' parameter must be one of"):
        picture("sketch", pixels, segments, label_of({0: 1.0}))


def test_batch_task_draws_numbered_segments_for_every_label(tmp_path):
    from limecli import ImageExplainer, load_model
    from limecli.batch.runner import BatchInput
    from limecli.batch.tasks_image import ImageBatchTask, picture_name
    from limecli.inputs.ref import InputRef

    explainer = ImageExplainer(load_model(MODEL), num_samples=60, hide_color=0)
    task = ImageBatchTask(
        explainer,
        labels=["circle", "rectangle"],
        out_dir=tmp_path,
        pictures=("segments",),
        every_label=True,
    )
    task(BatchInput(InputRef.file("shapes.png"), (str(SHAPES), "shapes"), seed=0))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["shapes.segments.circle.png", "shapes.segments.rectangle.png"]
    assert picture_name("shapes", "segments", "a/b c") == "shapes.segments.a_b_c.png"


def test_a_note_says_when_the_overlay_outlines_nothing(tmp_path):
    from types import SimpleNamespace

    from limecli.config.image import Pictures
    from limecli.pipelines.image import write_pictures

    pixels, segments = stripes([(10, 10, 10), (200, 200, 200)])
    opposed = label_of({0: -0.5, 1: 0.01})  # the only support is faint
    explanation = SimpleNamespace(pixels=pixels, segments=segments, labels=[opposed])
    said: list[str] = []
    write_pictures(explanation, Pictures(out=tmp_path / "o.png"), lambda m, *p: said.append(m))
    assert said[-1].startswith("the overlay for label 'x' outlines no superpixel")
    said.clear()
    write_pictures(
        explanation,
        Pictures(out=tmp_path / "o.png", positive_only=False),
        lambda m, *p: said.append(m),
    )
    assert said == [f"wrote overlay for label 'x' to {tmp_path / 'o.png'}"]
