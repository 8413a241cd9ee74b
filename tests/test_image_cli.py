"""``limecli image`` end to end: image modes, bad files, pictures, JSON, determinism."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SAMPLE_DATA, SAMPLE_MODELS
from PIL import Image

from limecli.inputs.image import read_image

SCHEMA = json.loads((ROOT / "limecli" / "schema" / "explanation.schema.json").read_text())

MODELS_PY = """
import numpy as np

CLASS_NAMES = ["plain", "textured"]
REGION = (slice(16, 32), slice(32, 48))


def texture(batch):
    patch = np.asarray(batch)[:, REGION[0], REGION[1], :]
    energy = np.minimum(np.abs(np.diff(patch, axis=2)), 0.25).mean(axis=(1, 2, 3))
    p = np.clip(energy / 0.1, 0.0, 1.0)
    return np.column_stack([1 - p, p])


def brightness(batch):
    m = np.asarray(batch).mean(axis=(1, 2, 3))
    return np.column_stack([1 - m, m])


def wrong_shape(batch):
    return np.zeros((len(batch) + 1, 2))


def crash(batch):
    raise RuntimeError("the GPU caught fire")
"""


@pytest.fixture
def models(tmp_path: Path) -> Path:
    path = tmp_path / "image_models.py"
    path.write_text(MODELS_PY)
    return path


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    """The 64x64 tile image of the API tests, as a PNG."""
    from test_image_api import textured_image

    path = tmp_path / "tiles.png"
    Image.fromarray(textured_image()).save(path)
    return path


FAST = ("--num-samples", "200", "--segmenter", "slic", "-q")


def test_explains_the_textured_tile_and_writes_all_pictures(run_cli, models, picture, tmp_path):
    out, mask, heat = tmp_path / "o.png", tmp_path / "m.png", tmp_path / "h.png"
    result = run_cli(
        "image", f"{models}:texture", picture, *FAST, "--label", "textured",
        "--out", out, "--mask-out", mask, "--heatmap-out", heat, "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    data = json.loads(result.stdout)
    import jsonschema

    jsonschema.validate(data, SCHEMA)
    assert data["kind"] == "image"
    assert data["labels"][0]["label"] == "textured"
    top = data["labels"][0]["features"][0]
    assert top["weight"] > 0 and isinstance(top["feature"], int)
    x0, y0, x1, y1 = top["bbox"]
    assert x0 <= 47 and x1 >= 32 and y0 <= 31 and y1 >= 16  # the bbox meets the tile
    for path in (out, mask):
        with Image.open(path) as im:
            assert im.size == (64, 64)
    with Image.open(heat) as im:
        assert im.width == 64 and im.height > 64  # the colour scale below the image
    with Image.open(mask) as im:
        m = np.asarray(im)
    assert m[16:32, 32:48].mean() > 200  # the textured tile is in the mask
    assert (m == 255).mean() < 0.5


def test_table_shows_prediction_and_ranked_superpixels(run_cli, models, picture):
    result = run_cli("image", f"{models}:texture", picture, *FAST, "--format", "table")
    assert result.exit_code == 0, result.stderr
    assert "Prediction: textured" in result.stdout
    assert "segment " in result.stdout
    # Both classes are explained (top labels, default 5, capped by the 2 classes).
    assert "Why label 'textured'" in result.stdout and "Why label 'plain'" in result.stdout


def test_notes_go_to_stderr_and_quiet_silences_them(run_cli, models, picture, tmp_path):
    out = tmp_path / "o.png"
    args = ("image", f"{models}:texture", picture, "--num-samples", "50", "--segmenter", "slic")
    result = run_cli(*args, "--out", out)
    assert "superpixels" in result.stderr and "wrote overlay" in result.stderr
    json.loads(result.stdout)
    quiet = run_cli(*args, "--out", out, "-q")
    assert quiet.stderr == ""
    assert quiet.stdout == result.stdout


@pytest.mark.parametrize("mode", ["positive", "both", "hide-rest"])
def test_overlay_modes_change_the_written_png_as_documented(
    run_cli, models, picture, tmp_path, mode
):
    out, mask = tmp_path / "o.png", tmp_path / "m.png"
    extra = {"positive": (), "both": ("--both",), "hide-rest": ("--hide-rest",)}[mode]
    result = run_cli(
        "image", f"{models}:texture", picture, *FAST, "--label", "textured", "--out", out,
        "--mask-out", mask, *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    with Image.open(out) as im:
        assert im.mode == "RGB" and im.size == (64, 64)
        drawn = np.asarray(im).astype(int)
    with Image.open(picture) as im:
        orig = np.asarray(im).astype(int)
    tile = (slice(19, 29), slice(35, 45))  # inside the textured tile, off its outline
    if mode == "positive":
        dark = np.all(drawn == (0, 0, 0), axis=2)
        blue = np.all(drawn == (0, 114, 178), axis=2)
        light = np.all(drawn == (255, 255, 255), axis=2)
        assert dark.sum() > 20 and blue.sum() > 20 and light.sum() > 20
        assert np.mean(drawn == orig) > 0.8  # an outline, not a fill
        assert blue[16:32, 32:48].any()  # the textured tile is outlined
    elif mode == "both":
        gain = (drawn[..., 2] - drawn[..., 0]) - (orig[..., 2] - orig[..., 0])
        assert gain[tile].mean() > 30  # the supporting tile is tinted blue
        assert np.any(gain < -30)  # some superpixel is tinted orange
    else:
        black = np.all(drawn == 0, axis=2)
        with Image.open(mask) as im:
            explained = np.asarray(im) == 255
        assert 0.3 < black.mean() < 0.99
        # Black outside the outlined superpixels: a subset of those the mask leaves out, plus
        # faint supporting ones; never the textured tile.
        assert np.all(black[~explained])
        assert black[tile].mean() < 0.5


def test_per_label_paths(run_cli, models, picture, tmp_path):
    result = run_cli(
        "image", f"{models}:texture", picture, *FAST, "--out", tmp_path / "x_{label}.png",
        "--mask-out", tmp_path / "mask.png",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in tmp_path.glob("x_*.png")) == ["x_plain.png", "x_textured.png"]
    assert (tmp_path / "mask.png").exists()


def test_heatmap_npy_holds_raw_weights(run_cli, models, picture, tmp_path):
    heat = tmp_path / "w.npy"
    result = run_cli(
        "image", f"{models}:texture", picture, *FAST, "--label", "textured",
        "--heatmap-out", heat, "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    weights = np.load(heat)
    assert weights.shape == (64, 64) and weights.dtype == np.float32
    top = json.loads(result.stdout)["labels"][0]["features"][0]
    assert np.isclose(weights.max(), top["weight"], rtol=1e-5)


def test_same_seed_gives_identical_bytes(run_cli, models, picture, tmp_path):
    def once(name: str, seed: str) -> tuple[str, bytes]:
        out = tmp_path / name
        result = run_cli(
            "image", f"{models}:texture", picture, "--num-samples", "100", "--seed", seed,
            "--out", out, "--both", "-q", "--format", "table",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        return result.stdout, out.read_bytes()

    a, b, c = once("a.png", "7"), once("b.png", "7"), once("c.png", "8")
    assert a == b
    assert a[0] != c[0]


@pytest.mark.parametrize("segmenter", ["quickshift", "slic", "felzenszwalb"])
def test_every_segmenter_from_the_cli(run_cli, models, picture, segmenter):
    result = run_cli(
        "image", f"{models}:texture", picture, "--segmenter", segmenter,
        "--num-samples", "100", "--label", "textured", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["params"]["segmenter"] == segmenter
    assert f"({segmenter})" in result.stderr


def test_segmenter_options_are_checked(run_cli, models, picture):
    ok = run_cli(
        "image", f"{models}:texture", picture, "--segmenter", "slic", "--segments", "4",
        "--num-samples", "20", "--format", "json", "-q",
    )  # fmt: skip
    assert ok.exit_code == 0, ok.stderr
    assert json.loads(ok.stdout)["data"]["num_segments"] <= 8
    bad = run_cli(
        "image", f"{models}:texture", picture, "--segmenter", "slic", "--kernel-size", "3"
    )
    assert bad.exit_code == 2
    assert bad.stderr.strip().splitlines()[-1] == (
        "Error: --kernel-size do(es) not apply to --segmenter slic"
    )


def test_segments_file(run_cli, models, picture, tmp_path):
    labels = np.zeros((64, 64), dtype=np.uint8)
    labels[16:32, 32:48] = 7  # the textured tile as one superpixel
    labels[:, :8] = 200
    seg_png = tmp_path / "seg.png"
    Image.fromarray(labels).save(seg_png)
    result = run_cli(
        "image", f"{models}:texture", picture, "--segments-file", seg_png, "--num-samples", "100",
        "--label", "textured", "--format", "json", "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["data"]["num_segments"] == 3
    top = data["labels"][0]["features"][0]
    assert top["feature"] == 1 and top["bbox"] == [32, 16, 47, 31] and top["area"] == 256
    small = tmp_path / "small.npy"
    np.save(small, np.zeros((8, 8), dtype=int))
    bad = run_cli("image", f"{models}:texture", picture, "--segments-file", small)
    assert bad.exit_code == 3
    assert "8x8 but the image is 64x64" in bad.stderr


def test_hide_color_forms(run_cli, models, picture):
    for value in ("mean", "0", "128", "255,0,0"):
        result = run_cli(
            "image", f"{models}:texture", picture, *FAST, "--hide-color", value, "--format", "json"
        )
        assert result.exit_code == 0, result.stderr
    bad = run_cli("image", f"{models}:texture", picture, "--hide-color", "red")
    assert bad.exit_code == 2
    assert "hide_color" in bad.stderr and "Traceback" not in bad.stderr


def test_resize_sets_the_size_of_everything(run_cli, models, picture, tmp_path):
    out = tmp_path / "o.png"
    result = run_cli(
        "image", f"{models}:brightness", picture, "--resize", "40x24", "--num-samples", "20",
        "--out", out, "--format", "json", "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["data"]["width"], data["data"]["height"]) == (40, 24)
    assert data["input"]["original_size"] == [64, 64]
    with Image.open(out) as im:
        assert im.size == (40, 24)


def test_scale_option_reaches_the_model(run_cli, models, picture):
    def prob(scale: str) -> float:
        result = run_cli(
            "image", f"{models}:brightness", picture, "--num-samples", "10", "--scale", scale,
            "--segmenter", "slic", "--format", "json", "-q", "--mode", "classification",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)["prediction"]["probabilities"]["textured"]

    assert 0 < prob("0-1") < 1
    assert prob("0-255") > 1  # the brightness model's output in 0-255 units


# --- image files of every kind -------------------------------------------------------------


def _rgb_gradient(w: int = 32, h: int = 24) -> np.ndarray:
    x = np.linspace(0, 255, w)
    y = np.linspace(0, 255, h)
    return np.stack(np.broadcast_arrays(x[None, :], y[:, None], 128 + 0 * x[None, :]), 2).round()


def test_grayscale_is_repeated_on_three_channels(tmp_path):
    path = tmp_path / "g.png"
    gray = _rgb_gradient()[:, :, 0].astype(np.uint8)
    Image.fromarray(gray, mode="L").save(path)
    img = read_image(path)
    assert img.pixels.shape == (24, 32, 3) and img.pixels.dtype == np.float32
    for c in range(3):
        np.testing.assert_array_equal(img.pixels[:, :, c], gray)
    assert img.original_mode == "L"


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0] = 200
    rgba[:2, :, 3] = 255  # top half opaque red, bottom half fully transparent
    path = tmp_path / "a.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    px = read_image(path).pixels
    np.testing.assert_array_equal(px[0, 0], [200, 0, 0])
    np.testing.assert_array_equal(px[3, 3], [255, 255, 255])


def test_palette_image(tmp_path):
    path = tmp_path / "p.png"
    Image.fromarray(_rgb_gradient().astype(np.uint8)).convert(
        "P", palette=Image.Palette.ADAPTIVE, colors=16
    ).save(path)
    with Image.open(path) as im:
        assert im.mode == "P"
        expected = np.asarray(im.convert("RGB"))
    img = read_image(path)
    np.testing.assert_array_equal(img.pixels, expected)
    assert img.original_mode == "P"


def test_sixteen_bit_keeps_its_precision(tmp_path):
    values = np.array([[0, 257, 65535, 300]], dtype=np.uint16)
    path = tmp_path / "i16.png"
    Image.fromarray(values).save(path)
    img = read_image(path)
    np.testing.assert_allclose(img.pixels[0, :, 0], [0, 1, 255, 300 / 257], rtol=1e-6)
    assert img.original_mode.startswith("I")


def test_jpeg_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((20, 40, 3), dtype=np.uint8)  # 40 wide, 20 high
    pixels[:, :20] = (255, 0, 0)  # left half red
    pixels[:, 20:] = (0, 0, 255)
    im = Image.fromarray(pixels)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / "phone.jpg"
    im.save(path, exif=exif.tobytes(), quality=95)
    img = read_image(path)
    assert img.size == (20, 40)  # now 20 wide, 40 high
    assert img.pixels[:15, :, 0].mean() > 200  # the red half is on top
    assert img.pixels[25:, :, 2].mean() > 200


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "WEBP"])
def test_other_formats(tmp_path, fmt):
    path = tmp_path / f"x.{fmt.lower()}"
    Image.fromarray(_rgb_gradient().astype(np.uint8)).save(path, format=fmt, lossless=True)
    assert read_image(path).pixels.shape == (24, 32, 3)


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "I;16"])
def test_every_mode_explains_from_the_cli(run_cli, models, tmp_path, mode):
    path = tmp_path / "m.png"
    rgb = Image.fromarray(_rgb_gradient(32, 32).astype(np.uint8))
    if mode == "I;16":
        im = Image.fromarray(np.asarray(rgb.convert("L")).astype(np.uint16) * 257)
    else:
        im = rgb.convert(mode)
    im.save(path)
    out = tmp_path / "o.png"
    result = run_cli(
        "image", f"{models}:brightness", path, "--num-samples", "20", "--out", out,
        "--format", "json", "-q", "--segmenter", "slic",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["input"]["image_mode"] == mode
    with Image.open(out) as o:
        assert o.size == (32, 32) and o.mode == "RGB"


# --- failures: one line, the right exit code, no traceback ----------------------------------


def _one_line_error(result, code: int, fragment: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ") and fragment in lines[0], lines[0]
    assert "Traceback" not in result.stderr


def test_zero_byte_file(run_cli, models, tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    _one_line_error(run_cli("image", f"{models}:texture", path), 3, "empty (0 bytes)")


def test_non_image_file(run_cli, models, tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("these are not pixels\n")
    _one_line_error(run_cli("image", f"{models}:texture", path), 3, "not an image")


def test_corrupt_file(run_cli, models, picture, tmp_path):
    data = picture.read_bytes()
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    _one_line_error(run_cli("image", f"{models}:texture", path), 3, "corrupt or truncated")


def test_missing_file(run_cli, models, tmp_path):
    _one_line_error(run_cli("image", f"{models}:texture", tmp_path / "nope.png"), 3, "not found")


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a huge size: signature and IHDR, no pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_clearly(run_cli, models, tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(100_000, 100_000))
    result = run_cli("image", f"{models}:texture", path)
    _one_line_error(result, 3, "decompression-bomb")
    assert "10,000,000,000 pixels" in result.stderr
    assert "--max-pixels" in result.stderr


@pytest.mark.parametrize("limit", ["3000", "1000"])  # Pillow warns below 2x the limit, errors above
def test_max_pixels_lowers_the_guard(run_cli, models, picture, limit):
    _one_line_error(
        run_cli("image", f"{models}:texture", picture, "--max-pixels", limit),
        3,
        f"over the limit of {int(limit):,} pixels",
    )


def test_predict_returning_the_wrong_shape(run_cli, models, picture):
    _one_line_error(
        run_cli("image", f"{models}:wrong_shape", picture, *FAST), 5, "returned shape (101, 2)"
    )


def test_predict_raising(run_cli, models, picture):
    _one_line_error(run_cli("image", f"{models}:crash", picture, *FAST), 5, "the GPU caught fire")


def test_unknown_label(run_cli, models, picture):
    _one_line_error(
        run_cli("image", f"{models}:texture", picture, *FAST, "--label", "dog"), 2, "unknown label"
    )


def test_bad_resize(run_cli, models, picture):
    _one_line_error(
        run_cli("image", f"{models}:texture", picture, "--resize", "huge"), 2, "WIDTHxHEIGHT"
    )


def test_output_folder_must_exist(run_cli, models, picture, tmp_path):
    result = run_cli("image", f"{models}:texture", picture, "--out", tmp_path / "no" / "o.png")
    assert result.exit_code == 7  # OutputWriteError: the output cannot be written
    assert "does not exist" in result.stderr


# --- the shipped sample ---------------------------------------------------------------------


def test_sample_shapes_model_explains_circle_on_the_circle(run_cli, tmp_path):
    out = tmp_path / "shapes.png"
    result = run_cli(
        "image", f"{SAMPLE_MODELS / 'predict_shapes.py'}:predict", SAMPLE_DATA / "images" / "shapes.png",
        "--hide-color", "0", "--label", "circle", "--label", "rectangle", "--num-samples", "300",
        "--format", "json", "--out", out, "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    # The circle is centred at (x 22, y 32) with radius 13, the rectangle spans x 60-83.
    circle_top = data["labels"][0]["features"][0]
    x0, y0, x1, y1 = circle_top["bbox"]
    assert circle_top["weight"] > 0 and x0 <= 22 <= x1 and y0 <= 32 <= y1 and x1 < 60
    # For "rectangle", the circle weighs against; the top supporting superpixel is the rectangle.
    rect = data["labels"][1]["features"]
    x0, y0, x1, y1 = rect[0]["bbox"]
    assert rect[0]["weight"] < 0 and x0 <= 22 <= x1 and x1 < 60
    rect_top = max(rect, key=lambda f: f["weight"])
    x0, y0, x1, y1 = rect_top["bbox"]
    assert rect_top["weight"] > 0 and x0 <= 72 <= x1 and y0 <= 30 <= y1 and x0 > 35


def test_pictures_get_the_usual_file_mode(run_cli, models, picture, tmp_path):
    import os

    out = tmp_path / "o.png"
    result = run_cli("image", f"{models}:texture", picture, *FAST, "--out", out)
    assert result.exit_code == 0, result.stderr
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
    assert not list(tmp_path.glob(".o.png*"))  # no temporary file left behind
