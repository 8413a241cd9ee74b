"""Hostile image input: every case a one-line error with its exit code, or a documented note."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hostile import Case, check, params
from PIL import Image

FAST = ("--num-samples", "40", "--segmenter", "slic", "--segments", "8")

MODEL_PY = """
import numpy as np

def brightness(batch):
    m = np.asarray(batch).mean(axis=(1, 2, 3))
    return np.column_stack([1 - m, m])
"""


@pytest.fixture
def model(tmp_path: Path) -> str:
    path = tmp_path / "image_model.py"
    path.write_text(MODEL_PY)
    return f"{path}:brightness"


def _png(size: tuple[int, int] = (24, 24)) -> bytes:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(
        buffer, format="PNG"
    )
    return buffer.getvalue()


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((64, 64, 3), 120, dtype=np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _gif() -> bytes:
    frames = [Image.new("RGB", (24, 24), (i * 80, 40, 40)) for i in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=50)
    return buffer.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a size: signature and IHDR, no pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def _huge_png() -> bytes:
    """A real 10000x10000 PNG that compresses to a few KB (1-bit, all black)."""
    buffer = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buffer, format="PNG")
    return buffer.getvalue()


def image(content: bytes | Any, name: str = "input.png") -> Any:
    def make(tmp: Path) -> tuple[Any, ...]:
        path = tmp / name
        path.write_bytes(content() if callable(content) else content)
        return (path,)

    return make


CASES = [
    Case("zero bytes", image(b""), 3, "is empty (0 bytes)"),
    Case("truncated PNG", image(lambda: _png()[:200]), 3, "corrupt or truncated"),
    Case("truncated JPEG", image(lambda: _jpeg()[:300], "cut.jpg"), 3, "corrupt or truncated"),
    Case("text named .png", image(b"these are not pixels\n"), 3, "not an image Pillow can read"),
    Case("PNG named .jpg", image(_png, "really_a_png.jpg"), 0, "24x24 image"),
    Case("animated GIF", image(_gif, "anim.gif"), 0, "has 3 frames: explaining the first"),
    Case(
        "decompression bomb",
        image(_png_header_only(100_000, 100_000)),
        3,
        "10,000,000,000 pixels, which is over the limit",
    ),
    Case("10000x10000 image", image(_huge_png), 3, "100,000,000 pixels, which is over the limit"),
    Case("1x1 image", image(lambda: _png((1, 1))), 0, "1x1 image cut into 1 superpixels"),
    Case("missing file", lambda tmp: (tmp / "nope.png",), 3, "image file not found"),
]


@pytest.mark.parametrize("case", params(CASES))
def test_hostile_image(run_cli, model: str, tmp_path: Path, case: Case) -> None:
    output = tmp_path / "out.json"
    overlay = tmp_path / "overlay.png"
    result = run_cli("image", model, *case.make(tmp_path), *FAST, "-o", output, "--out", overlay)
    check(result, case, output)
    assert overlay.exists() == (case.code == 0)
