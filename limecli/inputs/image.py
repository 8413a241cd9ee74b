"""Reading image files with Pillow into one RGB float array, with errors that say what is wrong.

Every image, whatever its mode, becomes an ``(H, W, 3)`` float32 array with
values in 0-255:

* EXIF orientation (phones, cameras) is applied first, so the array is the
  picture as it is meant to be seen;
* grayscale (``1``, ``L``, ``I;16``, ``I``, ``F``) is repeated over three
  channels; 16-bit values are scaled to 0-255 without rounding to 8 bits;
* transparency (``RGBA``, ``LA``, ``PA``, palette images with a transparent
  colour) is composited onto white;
* palette, CMYK, YCbCr, ... are converted to RGB by Pillow.

Animated images (GIF, APNG, WebP) give their first frame; ``frames`` says how
many there are, and the command notes it. A 1x1 image reads fine (it is one
superpixel: its explanation contrasts the image with the hidden image).

Pillow's decompression-bomb guard stays on: an image with more pixels than
``max_pixels`` (Pillow's default limit, about 89 million) is refused with an
:class:`~limecli.errors.InputDataError` before its pixels are decoded.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from limecli.errors import InputDataError, ParameterError

#: Pillow's own default limit; above it an image is treated as a decompression bomb.
DEFAULT_MAX_PIXELS = 89_478_485

_RESIZE = re.compile(r"^\s*(\d+)\s*[xX×,]\s*(\d+)\s*$")


@dataclass
class LoadedImage:
    """An image ready to explain: ``pixels`` is (H, W, 3) float32 in 0-255."""

    pixels: np.ndarray
    source: str | None
    original_mode: str
    original_size: tuple[int, int]  # (width, height) after EXIF orientation, before --resize
    frames: int = 1  # an animated GIF/PNG/WebP has several; the first is explained

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the pixels the model sees."""
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])


def parse_resize(value: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """``"224x224"`` (width x height) or a (width, height) pair."""
    if value is None:
        return None
    if isinstance(value, str):
        match = _RESIZE.match(value)
        if not match:
            raise ParameterError(
                f"The 'resize' parameter must look like WIDTHxHEIGHT, e.g. 224x224. Got {value!r} instead.",
                parameters=("resize",),
            )
        width, height = int(match.group(1)), int(match.group(2))
    else:
        try:
            width, height = (int(v) for v in value)
        except (TypeError, ValueError) as e:
            raise ParameterError(
                f"The 'resize' parameter must be a (width, height) pair. Got {value!r} instead.",
                parameters=("resize",),
            ) from e
    if width < 1 or height < 1:
        raise ParameterError(
            f"The 'resize' parameter must be positive. Got {value!r} instead.",
            parameters=("resize",),
        )
    return width, height


def check_resize(size: tuple[int, int] | None, max_pixels: int | None) -> None:
    """ParameterError unless the resize target stays within ``max_pixels``.

    The decompression-bomb guard looks at the file; a resize target is allocated
    as well (three float32 channels), so it answers to the same limit.
    """
    if size is None or max_pixels is None:
        return
    width, height = size
    if width * height > max_pixels:
        raise ParameterError(
            f"The 'resize' parameter asks for {width}x{height} = {width * height:,} pixels, over "
            f"the limit of {max_pixels:,} pixels: resize to fewer pixels, or raise 'max_pixels'",
            parameters=("resize", "max_pixels"),
        )


def read_image(
    path: str | Path,
    *,
    resize: str | tuple[int, int] | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> LoadedImage:
    """Read any image Pillow can decode as an (H, W, 3) float32 RGB array in 0-255."""
    from PIL import Image

    size = parse_resize(resize)
    check_resize(size, max_pixels)
    path = Path(path)
    if not path.exists():
        raise InputDataError(f"image file not found: {path}")
    if path.is_dir():
        raise InputDataError(f"image path is a directory, not a file: {path}")
    if not path.is_file():  # a device (/dev/zero) or a pipe: Pillow would read it endlessly
        raise InputDataError(
            f"{path} is not a regular file (a device or a pipe?): expected an image file"
        )
    if path.stat().st_size == 0:
        raise InputDataError(f"{path} is empty (0 bytes): expected an image file")
    with _bomb_guard(path, max_pixels):
        try:
            with Image.open(path) as im:
                im.load()
                mode = im.mode
                frames = int(getattr(im, "n_frames", 1) or 1)
                loaded = from_pil(im, source=str(path), resize=size, original_mode=mode)
                loaded.frames = frames
                return loaded
        except Image.UnidentifiedImageError as e:
            raise InputDataError(
                f"{path} is not an image Pillow can read (PNG, JPEG, BMP, TIFF, WebP, ...)"
            ) from e
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            raise InputDataError(f"{path} is corrupt or truncated: {_first_line(e)}") from e


def from_array(
    array: Any, *, resize: str | tuple[int, int] | None = None, source: str | None = None
) -> LoadedImage:
    """An in-memory image: (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) array or a PIL image.

    Integer arrays are taken as 0-255 (uint8) or 0-65535 (uint16); float arrays
    as 0-1 when their maximum is at most 1, else 0-255.
    """
    from PIL import Image

    size = parse_resize(resize)
    if isinstance(array, Image.Image):
        return from_pil(array, source=source, resize=size, original_mode=array.mode)
    arr = np.asarray(array)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise InputDataError(
            f"an image array must be (H, W), (H, W, 3) or (H, W, 4); got shape {arr.shape}"
        )
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InputDataError(f"the image is empty: shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise InputDataError(f"an image array must hold numbers; got dtype {arr.dtype}")
    values = arr.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise InputDataError("the image array holds NaN or infinite values")
    if arr.dtype == np.uint16:
        values = values / 257.0
    elif np.issubdtype(arr.dtype, np.floating) and values.max(initial=0.0) <= 1.0:
        values = values * 255.0
    values = np.clip(values, 0.0, 255.0)
    mode = "L" if values.ndim == 2 else ("RGBA" if values.shape[2] == 4 else "RGB")
    original = (int(arr.shape[1]), int(arr.shape[0]))
    if values.ndim == 2:
        values = np.repeat(values[:, :, None], 3, axis=2)
    elif values.shape[2] == 4:
        alpha = values[:, :, 3:4] / 255.0
        values = values[:, :, :3] * alpha + 255.0 * (1.0 - alpha)
    pixels = values.astype(np.float32)
    if size is not None:
        pixels = _resize(pixels, size)
    return LoadedImage(pixels=pixels, source=source, original_mode=mode, original_size=original)


def from_pil(
    im: Any,
    *,
    source: str | None = None,
    resize: tuple[int, int] | None = None,
    original_mode: str | None = None,
) -> LoadedImage:
    """Convert a decoded PIL image (any mode) to a LoadedImage."""
    from PIL import ImageOps

    mode = original_mode or im.mode
    im = ImageOps.exif_transpose(im) or im
    pixels = _to_rgb_float(im)
    original = (int(pixels.shape[1]), int(pixels.shape[0]))
    if resize is not None:
        pixels = _resize(pixels, resize)
    return LoadedImage(pixels=pixels, source=source, original_mode=mode, original_size=original)


def _to_rgb_float(im: Any) -> np.ndarray:
    from PIL import Image

    mode = im.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        values = np.asarray(im, dtype=np.float64)
        if mode.startswith("I;16"):
            values = values / 257.0
        else:
            top = float(values.max(initial=0.0))
            if top > 255.0:
                # 32-bit integer / float grayscale: 16-bit data, or else stretched to fit.
                values = values / (257.0 if top <= 65535.0 else top / 255.0)
            values = np.clip(values, 0.0, 255.0)
        gray = values.astype(np.float32)
        return np.repeat(gray[:, :, None], 3, axis=2)
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode == "P" and "transparency" in im.info
    )
    if has_alpha:
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, rgba)
    rgb = im.convert("RGB")
    return np.asarray(rgb, dtype=np.float32).copy()


def _resize(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize each channel as a float image (bilinear, antialiased when shrinking)."""
    from PIL import Image

    if (pixels.shape[1], pixels.shape[0]) == size:
        return pixels
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(pixels[:, :, c]), mode="F").resize(
                size, Image.Resampling.BILINEAR
            ),
            dtype=np.float32,
        )
        for c in range(pixels.shape[2])
    ]
    return np.clip(np.stack(channels, axis=2), 0.0, 255.0)


class _bomb_guard:
    """Pillow's decompression-bomb check at ``max_pixels``, raised as InputDataError."""

    def __init__(self, path: Path, max_pixels: int | None) -> None:
        self.path = path
        self.max_pixels = max_pixels
        self._saved: int | None = None
        self._warnings: Any = None

    def __enter__(self) -> None:
        from PIL import Image

        self._saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = self.max_pixels
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        # Pillow warns between the limit and twice the limit: refuse those too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        from PIL import Image

        self._warnings.__exit__(None, None, None)
        Image.MAX_IMAGE_PIXELS = self._saved
        if exc_type is not None and issubclass(
            exc_type, (Image.DecompressionBombError, Image.DecompressionBombWarning)
        ):
            pixels = _pixels_in_message(str(exc))
            what = f" has {pixels:,} pixels, which is" if pixels else " is"
            raise InputDataError(
                f"{self.path}{what} over the limit of {self.max_pixels:,} pixels "
                "(Pillow's decompression-bomb guard); pass 'max_pixels' N to allow a larger image",
                parameters=("max_pixels",),
            ) from exc


def _pixels_in_message(message: str) -> int | None:
    match = re.search(r"\((\d+) pixels\)", message)
    return int(match.group(1)) if match else None


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
