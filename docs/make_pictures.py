"""Regenerate the pictures of docs/pictures.md (docs/images/after/*.png) and the pictures the
image guide and the README show (docs/images/shapes_*.png, coffee_*.png, digit_7.png).

    python docs/make_pictures.py
    python docs/make_pictures.py --root /tmp/before --out docs/images/before

Runs ``limecli image`` (``python -m limecli``, through its command line only) on the
shipped shapes and coffee samples in a temporary folder, then copies each picture into
``--out``, enlarged pixel for pixel (3x the 96x64 shapes, 2x the 224x224 coffee) so a
reader can see single pixels. ``--root`` runs the limecli of another checkout (a git
worktree of an older commit): the "before" pictures, made by commit 4d2fbd4 with
``git worktree add /tmp/before 4d2fbd4``; pictures that checkout cannot draw are skipped.
Without ``--root``, the guide's pictures are written too, as limecli writes them (not
enlarged), by the guide's commands (:data:`GUIDE`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
MODEL = "sample_models/predict_shapes.py:predict"
SHAPES = ("sample_data/images/shapes.png", "--hide-color", "0", "--label", "circle")
COFFEE = ("sample_data/images/coffee.jpg", "--label", "circle")

#: name -> (limecli image arguments after MODEL, the picture's flag, enlargement, new flag).
PICTURES: dict[str, tuple[tuple[str, ...], str, int, bool]] = {
    "shapes_overlay": (SHAPES, "--out", 3, False),
    "shapes_both": ((*SHAPES, "--both"), "--out", 3, False),
    "shapes_heatmap": (SHAPES, "--heatmap-out", 3, False),
    "shapes_segments": (SHAPES, "--segments-out", 3, True),
    "coffee_both": ((*COFFEE, "--both"), "--out", 2, False),
    "coffee_heatmap": (COFFEE, "--heatmap-out", 2, False),
    "coffee_segments": (COFFEE, "--segments-out", 2, True),
}


#: The image guide's commands (docs/image.md), each writing its pictures into docs/images.
GUIDE: tuple[tuple[str, ...], ...] = (
    (
        "sample_models/digits_cnn.onnx", "sample_data/digits/digit_7.png", "--segmenter", "slic",
        "--hide-color", "128", "--top-labels", "1", "--num-features", "5",
        "--out", "digit_7.png",
    ),
    (
        MODEL, "sample_data/images/shapes.png", "--hide-color", "0", "--both", "--label",
        "circle", "--label", "rectangle", "--out", "shapes_{label}.png",
    ),
    (
        MODEL, "sample_data/images/coffee.jpg", "--label", "circle", "--num-features", "3",
        "--out", "coffee_circle.png", "--heatmap-out", "coffee_circle_heatmap.png",
    ),
)  # fmt: skip


#: The pictures the guide's commands write.
GUIDE_PICTURES = (
    "digit_7.png",
    "shapes_circle.png",
    "shapes_rectangle.png",
    "coffee_circle.png",
    "coffee_circle_heatmap.png",
)


def make_guide_pictures(folder: Path, env: dict[str, str]) -> None:
    """Run the guide's commands in ``folder`` and copy their pictures into docs/images."""
    for image_args in GUIDE:
        command = [sys.executable, "-m", "limecli", "image", *image_args, "-q"]
        subprocess.run([*command, "-o", "guide.json"], cwd=folder, env=env, check=True)
    for name in GUIDE_PICTURES:
        shutil.copyfile(folder / name, ROOT / "docs" / "images" / name)
        print(f"wrote {ROOT / 'docs' / 'images' / name}")


def limecli_env(root: Path) -> dict[str, str]:
    """The environment that makes ``python -m limecli`` import the limecli under ``root``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIMECLI_")}
    env["PYTHONPATH"] = str(root)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def check_import(root: Path, folder: Path, env: dict[str, str]) -> None:
    """Stop unless ``python -m limecli`` in ``folder`` imports the limecli under ``root``."""
    found = subprocess.run(
        [sys.executable, "-c", "import limecli; print(limecli.__file__)"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(found).resolve().is_relative_to(root.resolve()):
        sys.exit(f"limecli imports from {found}, not from {root}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the limecli checkout to run")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "after")
    args = parser.parse_args()
    root = args.root.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    env = limecli_env(root)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in ("sample_data", "sample_models"):
            shutil.copytree(ROOT / name, folder / name)
        check_import(root, folder, env)
        for name, (image_args, flag, factor, new) in PICTURES.items():
            if new and root != ROOT.resolve():
                print(f"skipped {name}: {flag} is newer than {root}")
                continue
            written = folder / f"{name}.png"
            command = [sys.executable, "-m", "limecli", "image", MODEL, *image_args]
            subprocess.run(
                [*command, flag, str(written), "-q", "-o", str(folder / f"{name}.json")],
                cwd=folder,
                env=env,
                check=True,
            )
            with Image.open(written) as picture:
                size = (picture.width * factor, picture.height * factor)
                picture.convert("RGB").resize(size, Image.Resampling.NEAREST).save(
                    args.out / f"{name}.png", optimize=True
                )
            print(f"wrote {args.out / name}.png")
        if root == ROOT.resolve():
            make_guide_pictures(folder, env)


if __name__ == "__main__":
    main()
