"""The sample CNN (issue 15): a real network explained with no input options.

``sample_models/digits_cnn.onnx`` (built by ``sample_models/build_digits_cnn.py``
from scikit-learn's digits) takes NCHW float32 64x64 normalised by a mean and
std stored in its metadata_props. limecli reads all of that from the model, so
the bare command works; the ground truth is the network itself, run here with
onnxruntime alone (no torch): hiding the superpixels LIME ranks highest must
lower the predicted digit's probability more than hiding as many of the lowest.

The check hides superpixels in gray (``--hide-color 128``) on slic superpixels:
the default fill, each superpixel's own mean colour, leaves these flat-coloured
pictures almost unchanged (a slic superpixel is nearly one colour), so the
network's answer would not move whatever is hidden.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLE_DATA, SAMPLE_MODELS

ort = pytest.importorskip("onnxruntime")

MODEL = SAMPLE_MODELS / "digits_cnn.onnx"
DIGITS = sorted((SAMPLE_DATA / "digits").glob("digit_*.png"))
#: Superpixels hidden on each side of the ground-truth check.
HIDDEN = 5


def digit_of(path: Path) -> str:
    match = re.fullmatch(r"digit_(\d)\.png", path.name)
    assert match, path
    return match.group(1)


@pytest.fixture(scope="module")
def session():
    return ort.InferenceSession(str(MODEL), providers=["CPUExecutionProvider"])


def probabilities(session, images: np.ndarray) -> np.ndarray:
    """The network's answer for (n, 64, 64, 3) images in 0-255, normalised as its metadata says."""
    meta = session.get_modelmeta().custom_metadata_map
    mean = np.array([float(v) for v in meta["input_mean"].split(",")], dtype=np.float32)
    std = np.array([float(v) for v in meta["input_std"].split(",")], dtype=np.float32)
    x = ((images.astype(np.float32) / 255 - mean) / std).transpose(0, 3, 1, 2)
    return session.run(None, {"image": np.ascontiguousarray(x, dtype=np.float32)})[0]


def test_the_shipped_model_is_small_and_says_its_input(session):
    from limecli.model.onnx import OnnxModel
    from limecli.model.tensor_spec import TensorSpec

    assert MODEL.stat().st_size < 1_000_000
    assert len(DIGITS) >= 3
    [image] = session.get_inputs()
    assert (image.name, image.shape, image.type) == ("image", ["N", 3, 64, 64], "tensor(float)")
    spec = OnnxModel(str(MODEL)).input_spec
    assert (spec.layout, spec.size, spec.scale, spec.dtype) == ("NCHW", (64, 64), "0-1", "float32")
    assert spec.mean is not None and spec.std is not None and len(spec.mean) == 3
    assert spec.over(TensorSpec()).resolved().channels == 3


@pytest.mark.parametrize("path", DIGITS, ids=lambda p: p.stem)
def test_bare_command_reads_the_digit(run_cli, path):
    result = run_cli(
        "image", MODEL, path, "--num-samples", "300", "--seed", "0", "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["prediction"]["label"] == digit_of(path)
    assert record["prediction"]["probabilities"][digit_of(path)] > 0.5
    assert (record["data"]["width"], record["data"]["height"]) == (64, 64)
    assert record["input"]["original_size"] == [128, 128]  # resized to the model's size
    assert record["params"]["layout"] == "NCHW"
    assert "Note: the model receives NCHW float32 (n, 3, 64, 64), values 0-1, mean " in (
        result.stderr
    )


@pytest.mark.parametrize("path", DIGITS, ids=lambda p: p.stem)
def test_top_superpixels_matter_more_than_the_bottom_ones(run_cli, session, path):
    from limecli.inputs.image import read_image
    from limecli.sampling.image import ImageSampler, segment

    args = ("image", MODEL, path, "--segmenter", "slic", "--hide-color", "128")
    args += ("--num-features", "200")
    result = run_cli(*args, "--seed", "0", "--label", digit_of(path), "--format", "json", "-q")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    [label] = record["labels"]
    ranked = [f["feature"] for f in sorted(label["features"], key=lambda f: -f["weight"])]
    assert len(ranked) == record["data"]["num_segments"] > 2 * HIDDEN
    # The same superpixels and fill as limecli's (slic is deterministic).
    pixels = read_image(path, resize=(64, 64)).pixels
    sampler = ImageSampler(pixels, segment(pixels, "slic"), (128.0, 128.0, 128.0), 1.0)
    assert sampler.n_segments == len(ranked)
    masks = np.ones((3, len(ranked)), dtype=np.uint8)
    masks[1, ranked[:HIDDEN]] = 0
    masks[2, ranked[-HIDDEN:]] = 0
    p = probabilities(session, sampler.images(masks))[:, int(digit_of(path))]
    drop_top, drop_bottom = p[0] - p[1], p[0] - p[2]
    print(f"{path.name}: p={p[0]:.3f} hide top {HIDDEN}: {p[1]:.3f}, bottom {HIDDEN}: {p[2]:.3f}")
    assert drop_top > drop_bottom + 0.1
