"""Image memory is one batch: a batch is let go before the next is built, and its buffer is
reused only while the model keeps no reference to it (what a model keeps never changes)."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest
from test_image_api import region_texture, textured_image

from limecli import explain_image
from limecli.sampling.image import ImageSampler, segment
from limecli.sampling.image_batches import predict_batches


def address(batch: np.ndarray) -> int:
    return int(batch.__array_interface__["data"][0])


def sampler_and_masks(n: int = 53) -> tuple[ImageSampler, np.ndarray]:
    img = textured_image()
    sampler = ImageSampler(img, segment(img.astype(np.float32), "slic", n_segments=12))
    return sampler, sampler.draw(n, np.random.default_rng(4))


def test_building_into_a_buffer_writes_every_value_and_equals_a_new_array() -> None:
    sampler, masks = sampler_and_masks()
    buffer = np.full((len(masks), sampler.image.size), np.nan, dtype=np.float32)
    got = sampler.images(masks, out=buffer)
    assert np.shares_memory(got, buffer) and got.flags.c_contiguous
    np.testing.assert_array_equal(got, sampler.images(masks))
    with pytest.raises(ValueError, match="float32"):
        sampler.images(masks, out=np.empty((len(masks), sampler.image.size)))


def test_a_model_keeping_nothing_gets_one_buffer_and_the_same_images() -> None:
    sampler, masks = sampler_and_masks()
    addresses, copies = [], []

    def model(batch: np.ndarray) -> np.ndarray:
        assert batch.flags.c_contiguous and batch.dtype == np.float32
        addresses.append(address(batch))
        copies.append(np.array(batch))
        return batch[:, 0, 0, :2].astype(np.float64)  # a new array: no reference kept

    answers = predict_batches(sampler, masks, 10, model)
    assert [len(c) for c in copies] == [10, 10, 10, 10, 10, 3]
    assert len(set(addresses)) == 1  # one batch's memory, reused
    expected = sampler.images(masks)
    np.testing.assert_array_equal(np.concatenate(copies), expected)
    np.testing.assert_array_equal(answers, expected[:, 0, 0, :2])


@pytest.mark.parametrize("keep", ["batch", "view", "memoryview", "answer view"])
def test_what_a_model_keeps_is_never_overwritten(keep: str) -> None:
    sampler, masks = sampler_and_masks()
    kept: list[object] = []
    addresses = []

    def model(batch: np.ndarray) -> np.ndarray:
        addresses.append(address(batch))
        if keep == "batch":
            kept.append(batch)
        elif keep == "view":
            kept.append(batch.reshape(len(batch), -1)[:, 5:])
        elif keep == "memoryview":
            kept.append(memoryview(batch))
        else:
            answer = batch[:, 0, 0, :2]
            kept.append(answer)
            return answer
        return np.zeros((len(batch), 2))

    predict_batches(sampler, masks, 10, model)
    assert len(set(addresses)) == len(addresses) == 6  # each kept batch stayed the model's
    expected = sampler.images(masks)
    for i, item in enumerate(kept):
        want = expected[10 * i : 10 * i + 10]
        if keep == "view":
            want = want.reshape(len(want), -1)[:, 5:]
        elif keep == "answer view":
            want = want[:, 0, 0, :2]
        np.testing.assert_array_equal(np.asarray(item), want)


def test_keeping_only_some_batches_switches_to_a_new_buffer_then_reuses_it() -> None:
    sampler, masks = sampler_and_masks()
    kept, addresses = [], []

    def model(batch: np.ndarray) -> np.ndarray:
        addresses.append(address(batch))
        if len(addresses) == 2:
            kept.append(batch)
        return np.zeros((len(batch), 2))

    predict_batches(sampler, masks, 10, model)
    first, second, third, *rest = addresses
    assert first == second != third and set(rest) == {third}
    np.testing.assert_array_equal(kept[0], sampler.images(masks[10:20]))


def test_the_explanation_is_the_same_whether_the_buffer_is_reused_or_not() -> None:
    """A model that keeps its batches gets new arrays; one that does not, one buffer."""
    kept: list[np.ndarray] = []

    def keeping(batch: np.ndarray) -> np.ndarray:
        kept.append(batch)
        return region_texture(batch)

    options = {"num_samples": 150, "seed": 2, "labels": [1], "segmenter": "slic"}
    options.update(batch_size=40, mode="classification")
    reused = explain_image(region_texture, textured_image(), **options)
    fresh = explain_image(keeping, textured_image(), **options)
    assert len({address(b) for b in kept}) == 4
    assert json.dumps(reused.to_dict(), sort_keys=True) == json.dumps(
        fresh.to_dict(), sort_keys=True
    )


def test_peak_memory_is_one_batch() -> None:
    """300 samples in batches of 100 at 256 px: the traced peak stays under 1.5 batches
    (two batches alive, as before, would be 2)."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (256, 256, 3)).astype(np.uint8)
    segments = np.arange(256 * 256).reshape(256, 256) // 2048  # 32 bands
    batch_bytes = 100 * img.size * 4

    def model(batch: np.ndarray) -> np.ndarray:
        p = batch[:, :16, :16, 0].mean(axis=(1, 2)).astype(np.float64)
        return np.column_stack([p, 1 - p])

    options = {"num_samples": 300, "seed": 0, "labels": [1], "batch_size": 100}
    explain_image(model, img, segments=segments, mode="classification", **options)  # warm-up
    tracemalloc.start()
    try:
        explain_image(model, img, segments=segments, mode="classification", **options)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert batch_bytes <= peak < 1.5 * batch_bytes


@pytest.mark.parametrize("block", [1, 7, 100, 1 << 20])
@pytest.mark.parametrize("step", [1, 4])
def test_how_the_batch_is_tiled_changes_no_value(monkeypatch, block: int, step: int) -> None:
    """Blocks of pixels by steps of samples: any tiling gives the one-tile images."""
    import limecli.sampling.image as sampling_image

    img = np.random.default_rng(3).uniform(0, 255, (13, 21, 3)).astype(np.float32)
    segments = sampling_image.relabel(np.random.default_rng(4).integers(0, 7, (13, 21)),
                                      (13, 21), "test")  # fmt: skip
    whole = ImageSampler(img, segments, (4.0, 50.0, 250.0))
    masks = whole.draw(11, np.random.default_rng(5))
    assert whole._blocks == [(0, 13 * 21)]
    monkeypatch.setattr(sampling_image, "_BLOCK_PIXELS", block)
    tiled = ImageSampler(img, segments, (4.0, 50.0, 250.0))
    tiled._step = step
    assert len(tiled._blocks) == -(-13 * 21 // block)
    np.testing.assert_array_equal(tiled.images(masks), whole.images(masks))
