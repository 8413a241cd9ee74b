"""Image explanations through the Python API: ground truth, segmenters, hide colours, pictures."""

from __future__ import annotations

import numpy as np
import pytest

from limecli import ImageExplainer, explain_image
from limecli.errors import FlatOutputWarning, InputDataError, ParameterError, PredictorOutputError
from limecli.render.overlay import (
    heatmap_image,
    mask_image,
    overlay_image,
    weight_map,
)
from limecli.render.palette import DARK, LIGHT, OPPOSE, SUPPORT
from limecli.render.superpixels import shown_segments
from limecli.sampling.image import ImageSampler, relabel, segment, segment_stats

# The region the ground-truth model looks at: the tile at rows 16..31, columns 32..47.
REGION = (slice(16, 32), slice(32, 48))


def textured_image(seed: int = 0) -> np.ndarray:
    """64x64 uint8: 4x4 flat colour tiles, the REGION tile yellow with noisy texture."""
    rng = np.random.default_rng(seed)
    img = np.kron(rng.uniform(20, 160, (4, 4, 3)), np.ones((16, 16, 1)))
    img[REGION] = np.array([240, 200, 40]) + rng.normal(0, 20, (16, 16, 3))
    return np.clip(img, 0, 255).round().astype(np.uint8)


def region_texture(batch: np.ndarray) -> np.ndarray:
    """Ground truth: P(class 1) is the texture inside REGION, and nothing else matters.

    Texture is the mean horizontal step between neighbours, each step capped
    so that the edge of a hidden superpixel counts little.
    """
    patch = np.asarray(batch)[:, REGION[0], REGION[1], :]
    energy = np.minimum(np.abs(np.diff(patch, axis=2)), 0.25).mean(axis=(1, 2, 3))
    p = np.clip(energy / 0.1, 0.0, 1.0)
    return np.column_stack([1 - p, p])


def region_mask() -> np.ndarray:
    mask = np.zeros((64, 64), dtype=bool)
    mask[REGION] = True
    return mask


def inside_share(segments: np.ndarray, seg_id: int) -> float:
    """Share of the superpixel inside REGION."""
    return float(region_mask()[segments == seg_id].mean())


def overlap(segments: np.ndarray, seg_id: int) -> float:
    """Pixels shared by the superpixel and REGION, over the smaller of the two."""
    mine = segments == seg_id
    return float((mine & region_mask()).sum() / min(mine.sum(), region_mask().sum()))


@pytest.mark.parametrize("segmenter", ["quickshift", "slic", "felzenszwalb"])
@pytest.mark.parametrize("hide_color", ["mean", 0])
def test_top_segments_lie_in_the_region_the_model_looks_at(segmenter, hide_color):
    exp = explain_image(
        region_texture,
        textured_image(),
        num_samples=300,
        num_features=3,
        seed=1,
        labels=[1],
        segmenter=segmenter,
        hide_color=hide_color,
        mode="classification",
    )
    label = exp.label("1")
    top = label.features[0]
    assert top.weight > 0
    assert overlap(exp.segments, top.feature) > 0.5
    # Every superpixel with real positive weight touches the region.
    for feat in label.features:
        if feat.weight > 0.1 * top.weight:
            assert inside_share(exp.segments, feat.feature) > 0
    # Superpixels entirely outside the region do not matter.
    outside = [j for j in range(exp.data["num_segments"]) if inside_share(exp.segments, j) == 0]
    weights = {f.feature: f.weight for f in label.features}
    assert all(abs(weights.get(j, 0.0)) < 0.05 * top.weight for j in outside)


@pytest.mark.parametrize("segmenter", ["quickshift", "slic", "felzenszwalb"])
def test_segments_are_numbered_from_zero_without_gaps(segmenter):
    seg = segment(textured_image().astype(np.float32), segmenter)
    assert seg.shape == (64, 64)
    assert seg.min() == 0
    assert np.array_equal(np.unique(seg), np.arange(seg.max() + 1))


def test_relabel_renumbers_any_labels():
    labels = np.array([[5, 5, 9], [1, 9, 9]])
    out = relabel(labels, (2, 3), "test")
    assert out.tolist() == [[1, 1, 2], [0, 2, 2]]


def test_every_segment_is_perturbed_including_a_one_based_first_label():
    # slic's 1-based labels made the reference never switch off one superpixel.
    img = textured_image()
    seg = segment(img.astype(np.float32), "slic", n_segments=9)
    sampler = ImageSampler(img, seg, "mean")
    masks = sampler.draw(200, np.random.default_rng(0))
    assert masks.shape == (200, seg.max() + 1)
    assert np.all(masks[0] == 1)
    assert np.all(masks[1:].min(axis=0) == 0)  # each superpixel switched off somewhere
    assert np.all(masks[1:].max(axis=0) == 1)


def test_perturbed_images_fill_hidden_superpixels():
    img = textured_image().astype(np.float32)
    seg = np.zeros((64, 64), dtype=int)
    seg[:, 32:] = 1
    masks = np.array([[1, 1], [0, 1], [1, 0]], dtype=np.uint8)
    mean_batch = ImageSampler(img, seg, "mean", 1.0).images(masks)
    assert mean_batch.shape == (3, 64, 64, 3)
    assert mean_batch.dtype == np.float32
    np.testing.assert_array_equal(mean_batch[0], img)
    left_mean = img[:, :32].reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(
        mean_batch[1, :, :32], np.broadcast_to(left_mean, (64, 32, 3)), rtol=1e-5
    )
    np.testing.assert_array_equal(mean_batch[1, :, 32:], img[:, 32:])
    const = ImageSampler(img, seg, (10, 20, 30), 1 / 255).images(masks)
    np.testing.assert_allclose(
        const[2, :, 32:], np.broadcast_to(np.array([10, 20, 30]) / 255, (64, 32, 3)), rtol=1e-6
    )
    np.testing.assert_allclose(const[2, :, :32], img[:, :32] / 255, rtol=1e-6)


def test_batches_keep_memory_bounded_and_cover_every_sample():
    img = textured_image()
    seg = segment(img.astype(np.float32), "slic", n_segments=9)
    sampler = ImageSampler(img, seg)
    masks = sampler.draw(25, np.random.default_rng(0))
    sizes = [b.shape[0] for b in sampler.batches(masks, 10)]
    assert sizes == [10, 10, 5]


def test_model_receives_float32_nhwc_in_the_chosen_scale():
    seen: list[np.ndarray] = []

    def model(batch):
        seen.append(batch)
        return np.tile([0.3, 0.7], (len(batch), 1))

    img = textured_image()
    with pytest.warns(FlatOutputWarning):  # a constant model: nothing to explain, said so
        explain_image(model, img, num_samples=20, seed=0, segmenter="slic", batch_size=8)
    assert [b.shape for b in seen] == [(8, 64, 64, 3), (8, 64, 64, 3), (4, 64, 64, 3)]
    assert seen[0].dtype == np.float32
    np.testing.assert_allclose(seen[0][0], img / 255.0, rtol=1e-6)
    seen.clear()
    with pytest.warns(FlatOutputWarning):
        explain_image(model, img, num_samples=5, seed=0, segmenter="slic", scale="0-255")
    np.testing.assert_allclose(seen[0][0], img.astype(np.float32))


def test_sklearn_estimator_over_flattened_pixels():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (400, 16, 16, 3)).astype(np.float32)
    y = (x[:, :8, :8, :].mean(axis=(1, 2, 3)) > 0.5).astype(int)
    model = LogisticRegression(max_iter=1000).fit(x.reshape(400, -1), y)
    img = np.full((16, 16, 3), 0.2, dtype=np.float32)
    img[:8, :8] = 0.9
    quadrants = np.zeros((16, 16), dtype=int)
    quadrants[:8, 8:] = 1
    quadrants[8:, :8] = 2
    quadrants[8:, 8:] = 3
    exp = explain_image(
        model, img, segments=quadrants, hide_color=0, num_samples=200, seed=0, labels=[1]
    )
    assert exp.prediction["label"] == "1"
    assert exp.label("1").features[0].feature == 0
    assert exp.label("1").features[0].weight > 0


def test_sklearn_estimator_of_the_wrong_size_is_an_input_error():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    model = LogisticRegression().fit(rng.uniform(size=(20, 10)), np.arange(20) % 2)
    with pytest.raises(InputDataError, match="expects 10 features"):
        explain_image(model, textured_image(), num_samples=10, segmenter="slic")


def test_features_carry_segment_id_area_and_bbox():
    exp = explain_image(
        region_texture, textured_image(), num_samples=100, seed=0, segmenter="slic", labels=[1]
    )
    area, bbox = segment_stats(exp.segments)
    assert area.sum() == 64 * 64
    for feat in exp.label("1").features:
        j = feat.feature
        assert isinstance(j, int)
        assert feat.name == f"segment {j}"
        assert feat.value == 1
        ys, xs = np.nonzero(exp.segments == j)
        assert feat.extra["area"] == len(ys)
        assert feat.extra["bbox"] == [xs.min(), ys.min(), xs.max(), ys.max()] == bbox[j].tolist()
    assert exp.data == {"width": 64, "height": 64, "num_segments": exp.segments.max() + 1}
    assert exp.kind == "image"


def test_default_top_labels_is_five_unless_a_label_is_named():
    def ten_classes(batch):
        logits = np.arange(10, dtype=float)[None, :] * np.ones((len(batch), 1))
        return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)

    with pytest.warns(FlatOutputWarning):  # constant outputs
        exp = explain_image(ten_classes, textured_image(), num_samples=20, seed=0, segmenter="slic")
    assert [lab.label for lab in exp.labels] == ["9", "8", "7", "6", "5"]
    assert all(lab.flat and lab.features == [] for lab in exp.labels)
    with pytest.warns(FlatOutputWarning):
        exp = explain_image(
            ten_classes, textured_image(), num_samples=20, seed=0, segmenter="slic", labels=[2]
        )
    assert [lab.label for lab in exp.labels] == ["2"]


def test_same_seed_same_explanation_other_seed_other_samples():
    kwargs = dict(num_samples=100, segmenter="quickshift", labels=[1])
    a = explain_image(region_texture, textured_image(), seed=3, **kwargs)
    b = explain_image(region_texture, textured_image(), seed=3, **kwargs)
    c = explain_image(region_texture, textured_image(), seed=4, **kwargs)
    assert a.to_json() == b.to_json()
    assert a.label().as_list() != c.label().as_list()


def test_wrong_output_shape_is_a_predictor_error():
    with pytest.raises(PredictorOutputError, match="shape"):
        explain_image(lambda b: np.zeros((len(b), 2, 2)), textured_image(), num_samples=10)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"hide_color": "purple"}, "hide_color"),
        ({"hide_color": "1,2"}, "hide_color"),
        ({"hide_color": 300}, "hide_color"),
        ({"scale": "0-100"}, "scale"),
        ({"segmenter": "watershed"}, "segmenter"),
        ({"segmenter": "slic", "segmenter_params": {"kernel_size": 3}}, "kernel_size"),
        ({"num_samples": 1}, "num_samples"),
        ({"resize": "big"}, "resize"),
    ],
)
def test_bad_parameters_are_refused(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        explain_image(region_texture, textured_image(), **kwargs)


def _explained():
    return explain_image(
        region_texture,
        textured_image(),
        num_samples=300,
        num_features=6,
        seed=1,
        segmenter="slic",
        labels=[1],
    )


def _outlined(label, segments, *, positive_only=True):
    support, oppose = shown_segments(label, int(segments.max()) + 1, positive_only=positive_only)
    return support[segments], oppose[segments]


def test_positive_only_overlay_outlines_the_strong_supporting_superpixels():
    exp = _explained()
    label = exp.label("1")
    out = overlay_image(exp.pixels, exp.segments, label)
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    shown, _ = _outlined(label, exp.segments)
    assert shown[REGION].mean() > 0.5  # the textured tile is outlined
    changed = np.any(out != exp.pixels.round().astype(np.uint8), axis=2)
    stroke = np.zeros(changed.shape, dtype=bool)
    for colour in (DARK, SUPPORT, LIGHT):
        stroke |= np.all(out == colour, axis=2)
    assert stroke[changed].all()  # only the three strokes are drawn (no tint)
    assert not np.any(changed & ~shown)  # and only inside outlined superpixels
    assert not np.all(out == OPPOSE, axis=2).any()  # no opposing colour in positive-only


def test_both_overlay_tints_support_blue_and_opposition_orange():
    exp = _explained()
    label = exp.label("1")
    assert any(f.weight < 0 for f in label.features), "test needs an opposing superpixel"
    out = overlay_image(exp.pixels, exp.segments, label, positive_only=False).astype(float)
    orig = exp.pixels
    pos = np.isin(exp.segments, [f.feature for f in label.features if f.weight > 0])
    neg = np.isin(exp.segments, [f.feature for f in label.features if f.weight < 0])
    blue_gain = (out[..., 2] - out[..., 0]) - (orig[..., 2] - orig[..., 0])
    top = max(label.features, key=lambda f: abs(f.weight))
    assert top.weight > 0
    assert blue_gain[exp.segments == top.feature].mean() > 40
    strongest_against = min(label.features, key=lambda f: f.weight)
    assert blue_gain[exp.segments == strongest_against.feature].mean() < -5
    rest = ~(pos | neg)
    np.testing.assert_array_equal(out[rest], orig[rest].round())


def test_hide_rest_blacks_out_everything_else():
    exp = _explained()
    label = exp.label("1")
    out = overlay_image(exp.pixels, exp.segments, label, hide_rest=True)
    shown, _ = _outlined(label, exp.segments)
    assert np.all(out[~shown] == 0)
    assert out[shown].mean() > 50


def test_mask_and_heatmap_values():
    exp = _explained()
    label = exp.label("1")
    pos = np.isin(exp.segments, [f.feature for f in label.features if f.weight > 0])
    neg = np.isin(exp.segments, [f.feature for f in label.features if f.weight < 0])
    m = mask_image(exp.segments, label)
    assert set(np.unique(m)) <= {0, 255}
    assert np.array_equal(m == 255, pos)
    both = mask_image(exp.segments, label, positive_only=False)
    assert np.array_equal(both == 128, neg)
    np.testing.assert_array_equal(exp.mask(positive_only=False), pos.astype(int) - neg.astype(int))
    heat = heatmap_image(exp.segments, label, scale=False)  # over white, no colour scale
    assert heat.shape == (64, 64, 3)
    weights = weight_map(exp.segments, label)
    assert np.all(heat[weights == 0] == 255)
    top = label.features[0]
    top_pixels = heat[exp.segments == top.feature]
    assert np.all(top_pixels == top_pixels[0])
    assert (
        np.abs(heat.astype(int) - 255).sum(axis=2).max()
        == np.abs(top_pixels[0].astype(int) - 255).sum()
    )
    with_scale = heatmap_image(exp.segments, label)
    assert with_scale.shape[0] > 64 and np.array_equal(with_scale[:64], heat)


def test_explainer_object_is_reusable_with_overrides():
    explainer = ImageExplainer(region_texture, segmenter="slic", num_samples=50)
    a = explainer.explain(textured_image(), seed=0, labels=[1])
    b = explainer.explain(textured_image(), seed=0, labels=[1], num_samples=80, num_features=2)
    assert a.params["num_samples"] == 50 and b.params["num_samples"] == 80
    assert len(b.label().features) == 2
