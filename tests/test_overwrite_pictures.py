"""An image's --out never replaces a picture limecli did not write (unless --force)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import SAMPLE_DATA, SAMPLE_MODELS
from PIL import Image

SHAPES = SAMPLE_DATA / "images" / "shapes.png"
MODEL = f"{SAMPLE_MODELS / 'predict_shapes.py'}:predict"


def explain(run_cli, out: Path, *extra: object):
    return run_cli(
        "image",
        MODEL,
        SHAPES,
        "--num-samples",
        50,
        "--segmenter",
        "slic",
        "--segments",
        8,
        "--out",
        out,
        "-q",
        "--format",
        "json",
        *extra,
    )


def test_a_users_png_is_not_replaced(run_cli, tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    Image.fromarray(np.full((8, 8, 3), 200, dtype=np.uint8)).save(photo)
    before = photo.read_bytes()
    result = explain(run_cli, photo)
    assert result.exit_code == 2
    assert "not a limecli output" in result.stderr and "--force" in result.stderr
    assert photo.read_bytes() == before
    forced = explain(run_cli, photo, "--force")
    assert forced.exit_code == 0 and photo.read_bytes() != before


def test_limecli_replaces_its_own_overlay(run_cli, tmp_path: Path) -> None:
    overlay = tmp_path / "overlay.png"
    assert explain(run_cli, overlay).exit_code == 0
    assert Image.open(overlay).text.get("Software") == "limecli"
    assert explain(run_cli, overlay, "--seed", 1).exit_code == 0  # its own: no --force needed


def test_new_pictures_are_marked_and_replaced_on_a_rerun(run_cli, tmp_path: Path) -> None:
    numbers, overlay = tmp_path / "numbers.png", tmp_path / "o.png"
    args = ("--segments-out", numbers, "--every-label", "--label", "circle")
    assert explain(run_cli, overlay, *args).exit_code == 0
    written = [numbers.with_name("numbers.circle.png"), overlay.with_name("o.circle.png")]
    for path in written:
        assert Image.open(path).text.get("Software") == "limecli"
    assert explain(run_cli, overlay, *args, "--seed", 1).exit_code == 0  # no --force needed


def test_a_batch_per_label_picture_does_not_replace_a_users_file(run_cli, tmp_path: Path) -> None:
    pictures = tmp_path / "pics"
    pictures.mkdir()
    users = pictures / "shapes.png.overlay.circle.png"
    Image.fromarray(np.full((8, 8, 3), 200, dtype=np.uint8)).save(users)
    before = users.read_bytes()
    args = ("image", MODEL, SHAPES, "--num-samples", 50, "--segmenter", "slic", "--segments", 8)
    args += ("--out-dir", pictures, "--every-label", "--label", "circle", "-q")
    result = run_cli(*args)
    assert result.exit_code == 2, result.stderr
    assert "not a limecli output" in result.stderr and users.read_bytes() == before
    forced = run_cli(*args, "--force")
    assert forced.exit_code == 0, forced.stderr
    assert users.read_bytes() != before
