"""Image samples: a synthetic-shapes classifier and a few photographs from scikit-image.

* ``shapes_lr.joblib``: logistic regression over an edge-orientation histogram
  (``shapes_features.py``), trained on 64x64 images of one random circle,
  rectangle or triangle on a dark noisy background; wrapped by
  ``predict_shapes.py:predict``.
* ``sample_data/images/shapes.png``: a circle and a rectangle side by side, so
  an explanation of "circle" lands on the circle and "rectangle" on the
  rectangle (use ``--hide-color 0``: hiding a superpixel with its own mean
  colour leaves a flat-coloured shape where it was).
* ``sample_data/images/{astronaut,coffee,cat}.jpg``: scikit-image's photographs,
  centre-cropped and resized to 224x224.
"""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
from PIL import Image
from shapes_features import features
from skimage import data, draw
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

MODELS = Path(__file__).resolve().parent
IMAGES = MODELS.parent / "sample_data" / "images"
CLASSES = ["circle", "rectangle", "triangle"]
SIZE = 64


def background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    img = rng.normal(40, 12, (height, width, 3)) + rng.uniform(-15, 15, 3)
    return img


def paint(
    rng: np.random.Generator,
    img: np.ndarray,
    kind: str,
    center: tuple[int, int],
    radius: int,
    colour: np.ndarray,
) -> None:
    """Draw one noisy shape of ``kind`` into ``img`` (in place)."""
    shape = img.shape[:2]
    cy, cx = center
    if kind == "circle":
        rr, cc = draw.disk((cy, cx), radius, shape=shape)
    elif kind == "rectangle":
        h, w = rng.integers(int(radius * 1.2), 2 * radius, 2)
        rr, cc = draw.rectangle((cy - h // 2, cx - w // 2), extent=(h, w), shape=shape)
    else:
        angles = (
            rng.uniform(0, 2 * np.pi)
            + np.array([0, 2 * np.pi / 3, 4 * np.pi / 3])
            + rng.uniform(-0.3, 0.3, 3)
        )
        reach = radius * 1.3
        rr, cc = draw.polygon(cy + reach * np.sin(angles), cx + reach * np.cos(angles), shape)
    rr, cc = np.ravel(rr), np.ravel(cc)
    img[rr, cc] = colour + rng.normal(0, 12, (len(rr), 3))


def random_shape(rng: np.random.Generator, kind: str) -> np.ndarray:
    img = background(rng, SIZE, SIZE)
    radius = int(rng.integers(9, 16))
    cy, cx = (int(v) for v in rng.integers(radius + 2, SIZE - radius - 2, 2))
    paint(rng, img, kind, (cy, cx), radius, rng.uniform(140, 255, 3))
    return np.clip(img, 0, 255)


def build_shapes_model() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, len(CLASSES), 3000)
    x = np.stack([random_shape(rng, CLASSES[k]) for k in y]) / 255.0
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    model.fit(features(x[:2400]), y[:2400])
    accuracy = model.score(features(x[2400:]), y[2400:])
    print(f"shapes classifier: held-out accuracy {accuracy:.3f}")
    joblib.dump(model, MODELS / "shapes_lr.joblib", compress=3)


def build_shapes_image() -> None:
    """96x64: a yellow circle on the left, a blue rectangle on the right."""
    rng = np.random.default_rng(5)
    img = background(rng, 64, 96)
    rr, cc = draw.disk((32, 22), 13)
    img[rr, cc] = np.array([230, 200, 60]) + rng.normal(0, 12, (len(rr), 3))
    rr, cc = (np.ravel(a) for a in draw.rectangle((18, 60), extent=(26, 24)))
    img[rr, cc] = np.array([80, 160, 240]) + rng.normal(0, 12, (len(rr), 3))
    Image.fromarray(np.clip(img, 0, 255).round().astype(np.uint8)).save(IMAGES / "shapes.png")


def _square_224(pixels: np.ndarray) -> Image.Image:
    h, w = pixels.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = Image.fromarray(pixels[top : top + side, left : left + side])
    return crop.resize((224, 224), Image.Resampling.LANCZOS)


def build_photos() -> None:
    for name, loader in (
        ("astronaut", data.astronaut),
        ("coffee", data.coffee),
        ("cat", data.chelsea),
    ):
        _square_224(loader()).save(IMAGES / f"{name}.jpg", quality=90)


def build_all() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    build_shapes_model()
    build_shapes_image()
    build_photos()


if __name__ == "__main__":
    build_all()
