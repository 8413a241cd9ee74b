"""Regenerate the pictures of docs/notebook.md (docs/images/notebook_*.png, plot_*.png).

    python docs/make_notebook_images.py

The notebook view: an explanation's ``_repr_html_()`` shown in a page that styles
its outputs as a light and a dark notebook do (tests/browser.py: notebook_page),
screenshotted in headless Chromium (Debian's chromium package). The plots:
``Explanation.plot()`` and ``ImageExplanation.plot_image()`` drawn with Agg.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser import load_page, notebook_page  # noqa: E402

from limecli import explain_image, explain_tabular, load_model  # noqa: E402

IMAGES = ROOT / "docs" / "images"
#: Where the fragment ends on the page, to crop the screenshot under it.
BOTTOM = "document.querySelector('.limecli-report').getBoundingClientRect().bottom"


def tabular():
    return explain_tabular(
        load_model("sample_models/breast_cancer_rf.joblib"),
        "sample_data/breast_cancer_test.csv",
        12,
        training="sample_data/breast_cancer_train.csv",
        num_features=6,
        seed=0,
    )


def shapes():
    return explain_image(
        load_model("sample_models/predict_shapes.py:predict"),
        "sample_data/images/shapes.png",
        labels=["circle"],
        hide_color=0,
        num_samples=300,
        seed=0,
    )


def notebook_views(exp) -> None:
    fragment = exp._repr_html_()
    with tempfile.TemporaryDirectory() as folder:
        for theme, dark in (("light", False), ("dark", True)):
            page = Path(folder) / f"{theme}.html"
            page.write_text(notebook_page(fragment, dark=dark), encoding="utf-8")
            load = load_page(page.as_uri(), width=1000, height=1600, dark=dark, evaluate=BOTTOM)
            shot = Image.open(io.BytesIO(load.screenshot)).convert("RGB")
            bottom = min(shot.height, int(load.value) + 16)
            shot.crop((0, 0, shot.width, bottom)).save(
                IMAGES / f"notebook_{theme}.png", optimize=True
            )


def plots(exp, image_exp) -> None:
    ax = exp.plot()
    ax.figure.savefig(IMAGES / "plot_tabular.png", dpi=90)
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    image_exp.plot_image(kind="overlay", ax=axes[0])
    image_exp.plot_image(kind="heatmap", ax=axes[1])
    fig.tight_layout()
    fig.savefig(IMAGES / "plot_image.png", dpi=90)
    plt.close("all")


def main() -> None:
    os.chdir(ROOT)  # the pictures show the samples' paths as a user in the repository types them
    IMAGES.mkdir(parents=True, exist_ok=True)
    exp = tabular()
    notebook_views(exp)
    plots(exp, shapes())
    for name in ("notebook_light", "notebook_dark", "plot_tabular", "plot_image"):
        size = np.asarray(Image.open(IMAGES / f"{name}.png")).shape
        print(f"docs/images/{name}.png {size[1]}x{size[0]}")


if __name__ == "__main__":
    main()
