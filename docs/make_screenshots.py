"""Regenerate the report screenshots shown in the README (docs/screenshots/*.png).

    python docs/make_screenshots.py

Runs limecli on the shipped samples with --format html, loads each report in
headless Chromium (Debian's chromium package) and saves a screenshot.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser import load_page  # noqa: E402

SHOTS = ROOT / "docs" / "screenshots"

REPORTS = {
    "tabular": [
        "tabular",
        "sample_models/breast_cancer_rf.joblib",
        "sample_data/breast_cancer_test.csv",
        "--row",
        "12",
        "--train",
        "sample_data/breast_cancer_train.csv",
        "--num-features",
        "6",
    ],
    "text": [
        "text",
        "sample_models/text_newsgroups.joblib",
        "sample_data/text/leak_post.txt",
        "--num-features",
        "6",
    ],
    "image": [
        "image",
        "sample_models/predict_shapes.py:predict",
        "sample_data/images/shapes.png",
        "--label",
        "circle",
        "--hide-color",
        "0",
        "--num-features",
        "3",
    ],
}


def limecli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "limecli", *args], cwd=ROOT, check=True)


def main() -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pages = {}
        for name, args in REPORTS.items():
            pages[name] = Path(tmp) / f"{name}.html"
            limecli(*args, "--format", "html", "-o", str(pages[name]), "-q")
        # A batch summary: every test row, then the global view with two SP-LIME picks.
        batch = Path(tmp) / "batch.jsonl"
        limecli(
            *REPORTS["tabular"][:3],
            "--all",
            "--train",
            "sample_data/breast_cancer_train.csv",
            "--num-features",
            "4",
            "-o",
            str(batch),
            "-q",
        )
        pages["summary"] = Path(tmp) / "summary.html"
        limecli("summary", str(batch), "--pick", "2", "-o", str(pages["summary"]))
        for name, page in pages.items():
            load = load_page(page.as_uri(), width=1000, height=1100)
            if load.errors or any(not u.startswith(("file:", "data:")) for u in load.requests):
                raise SystemExit(f"{name}: the report made requests or errors: {load}")
            (SHOTS / f"report_{name}.png").write_bytes(load.screenshot)
            print(f"docs/screenshots/report_{name}.png")


if __name__ == "__main__":
    main()
