"""HTML reports: structure, escaping, size, and a real load in headless Chromium."""

from __future__ import annotations

import io
import os
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from browser import find_chromium, load_page
from conftest import ROOT, SAMPLE_DATA, SAMPLE_MODELS
from PIL import Image

from limecli import explain_tabular, load_model
from limecli.explanation import Explanation, FeatureWeight, LabelExplanation
from limecli.render.html import render_html

ARTIFACTS = ROOT / "test-artifacts"
EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(document: str) -> Collector:
    collector = Collector()
    collector.feed(document)
    return collector


@pytest.fixture(scope="module")
def tabular_report() -> tuple[Explanation, str]:
    exp = explain_tabular(
        load_model(SAMPLE_MODELS / "breast_cancer_rf.joblib"),
        SAMPLE_DATA / "breast_cancer_test.csv",
        12,
        training=SAMPLE_DATA / "breast_cancer_train.csv",
        seed=0,
        num_samples=1000,
        top_labels=2,
    )
    return exp, exp.to_html()


def text_explanation(text: str, words: list[tuple[str, float]]) -> Explanation:
    features = []
    for word, weight in words:
        positions = [[i, i + len(word)] for i in _find_all(text, word)]
        features.append(FeatureWeight(word, word, len(positions), weight, {"positions": positions}))
    label = LabelExplanation("pos", 1, 0.5, 0.8, 0.9, 0.92, features)
    return Explanation(
        kind="text",
        mode="classification",
        input={"source": "review.txt", "index": None},
        prediction={"label": "pos", "probabilities": {"neg": 0.08, "pos": 0.92}},
        labels=[label],
        params={"num_samples": 10, "num_features": 2, "seed": 0},
        meta={"method": "lime", "versions": {}},
        data={"text": text},
    )


def _find_all(text: str, word: str) -> list[int]:
    found, start = [], text.find(word)
    while start >= 0:
        found.append(start)
        start = text.find(word, start + 1)
    return found


def test_tabular_report_structure(tabular_report) -> None:
    exp, document = tabular_report
    assert document.startswith("<!DOCTYPE html>")
    parsed = parse(document)
    assert "script" not in parsed.tags
    assert ("charset", "utf-8") in parsed.attrs
    assert any(k == "http-equiv" and v == "Content-Security-Policy" for k, v in parsed.attrs)
    assert parsed.tags.count("svg") == 2  # one weight chart per explained label
    text = "".join(parsed.text)
    for label in exp.labels:
        for feat in label.features:
            assert feat.name in text
        assert f"{label.score:.3f}" in text
    assert "malignant" in text and "0.940" in text
    assert len(document.encode()) < 100_000  # target: a tabular report under 100 KB


def test_cli_writes_html(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "why.html"
    result = run_cli(
        "tabular",
        SAMPLE_MODELS / "breast_cancer_rf.joblib",
        SAMPLE_DATA / "breast_cancer_test.csv",
        "--row",
        12,
        "--num-samples",
        500,
        "-o",
        out,
        "-q",
    )
    assert result.exit_code == 0 and result.stdout == ""
    assert "worst" in out.read_text(encoding="utf-8")
    stdout = run_cli(
        "tabular",
        SAMPLE_MODELS / "breast_cancer_rf.joblib",
        SAMPLE_DATA / "breast_cancer_test.csv",
        "--row",
        12,
        "--num-samples",
        500,
        "--format",
        "html",
        "-q",
    )
    assert stdout.stdout.startswith("<!DOCTYPE html>")


def test_malicious_feature_name_is_escaped() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 2)), columns=[EVIL, "plain"])

    def model(batch: pd.DataFrame | np.ndarray) -> np.ndarray:
        x = np.asarray(batch, dtype=float)[:, 0]
        p = 1 / (1 + np.exp(-3 * x))
        return np.column_stack([1 - p, p])

    exp = explain_tabular(model, frame, 0, seed=0, num_samples=300)
    document = exp.to_html()
    parsed = parse(document)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert not any(k.startswith("on") for k, _ in parsed.attrs)
    assert "&lt;script&gt;" in document
    assert EVIL in "".join(parsed.text)  # shown, as text


def test_malicious_text_is_escaped_and_words_highlighted() -> None:
    text = f"great film {EVIL} great cast, dull plot"
    exp = text_explanation(text, [("great", 0.4), ("dull", -0.2)])
    document = render_html([exp])
    parsed = parse(document)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert parsed.tags.count("mark") == 3  # every occurrence of each word
    assert "".join(parsed.text).count(EVIL) == 1


def test_repr_html_for_notebooks(tabular_report) -> None:
    """A notebook gets the page's sections in one element (tests/test_notebook.py: its CSS)."""
    exp, document = tabular_report
    fragment = exp._repr_html_()
    assert fragment.startswith('<div class="limecli-report">') and fragment.endswith("</div>")
    assert "<!DOCTYPE" not in fragment and "<body" not in fragment
    sections = fragment.split("</style>", 1)[1].rsplit("</div>", 1)[0].strip()
    assert sections.startswith('<section class="explanation"') and sections in document


def _check_in_browser(document: str, name: str, tmp_path: Path, dark: bool = False) -> np.ndarray:
    if find_chromium() is None:
        if os.environ.get("LIMECLI_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required (LIMECLI_REQUIRE_BROWSER is set) but not installed")
        pytest.skip("Chromium is not installed (CI installs it: see .ci/run)")
    page = tmp_path / f"{name}.html"
    page.write_text(document, encoding="utf-8")
    load = load_page(page.as_uri(), dark=dark)
    assert load.errors == []
    external = [u for u in load.requests if not u.startswith(("file:", "data:"))]
    assert external == []
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}.png").write_bytes(load.screenshot)
    pixels = np.asarray(Image.open(io.BytesIO(load.screenshot)).convert("L"), dtype=float)
    assert pixels.shape[0] > 100 and pixels.std() > 10  # rendered something, not a blank page
    return pixels


def test_tabular_report_in_chromium(tabular_report, tmp_path: Path) -> None:
    light = _check_in_browser(tabular_report[1], "report-tabular", tmp_path)
    dark = _check_in_browser(tabular_report[1], "report-tabular-dark", tmp_path, dark=True)
    # The page follows the reader's colour scheme: a light page, then a dark one.
    assert np.median(light) > 200 and np.median(dark) < 60


def test_text_report_in_chromium(tmp_path: Path) -> None:
    text = "이 영화 정말 재미있어요. 배우들의 연기가 정말 훌륭했어요! שלום עולם"
    exp = text_explanation(text, [("재미있어요", 0.5), ("정말", 0.2), ("훌륭했어요", 0.3)])
    document = render_html([exp])
    assert "재미있어요" in document and '<meta charset="utf-8">' in document
    _check_in_browser(document, "report-text", tmp_path)


def test_image_report_in_chromium(tmp_path: Path) -> None:
    from limecli import explain_image

    yy, xx = np.mgrid[:48, :48]
    picture = np.zeros((48, 48, 3), dtype=np.uint8)
    picture[12:36, 12:36] = [200, 40, 40]
    segments = (yy // 12) * 4 + xx // 12

    def model(batch: np.ndarray) -> np.ndarray:
        red = np.asarray(batch, dtype=float)[:, 12:36, 12:36, 0].mean(axis=(1, 2))
        p = np.clip(red, 0, 1)
        return np.column_stack([1 - p, p])

    exp = explain_image(
        model, picture, segments=segments, hide_color=0, num_samples=300, seed=0, top_labels=1
    )
    assert {int(f.feature) for f in exp.label().features[:4]} == {5, 6, 9, 10}  # the red square
    document = exp.to_html()
    parsed = parse(document)
    images = [v for k, v in parsed.attrs if k == "src"]
    assert len(images) == 3 and all(v and v.startswith("data:image/png;base64,") for v in images)
    _check_in_browser(document, "report-image", tmp_path)


def test_summary_report_shows_global_importance_and_the_picks(run_cli, tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    loans = [SAMPLE_MODELS / "loans_pipeline.joblib", SAMPLE_DATA / "loans_test.csv"]
    options = ["--rows", "0:12", "--train", SAMPLE_DATA / "loans_train.csv"]
    options += ["--num-samples", 500, "--num-features", 2, "-o", batch, "-q"]
    result = run_cli("tabular", *loans, *options)
    assert result.exit_code == 0, result.stderr
    report = tmp_path / "summary.html"
    result = run_cli("summary", batch, "--pick", 2, "-o", report)
    assert result.exit_code == 0, result.stderr
    document = report.read_text(encoding="utf-8")
    parsed = parse(document)
    assert "script" not in parsed.tags
    text = "".join(parsed.text)
    assert "Summary of 12 explanations" in text
    assert "Global importance: approved" in text or "Global importance: rejected" in text
    # Two features per explanation: two picks are needed to cover the drivers.
    assert document.count('<section class="explanation" id="explanation-') == 2
    # Only the true drivers make it into any explanation, so into the global charts.
    for chart in document.split("Global importance: ")[1:]:
        svg = chart.split("</svg>")[0]
        names = [n.split("<")[0] for n in svg.split('text-anchor="end">')[1:]]
        assert names and set(names) <= {"income", "debt_ratio", "employment"}, names
    _check_in_browser(document, "report-summary", tmp_path)


def test_text_cli_report_highlights_the_leak_words(run_cli, tmp_path: Path) -> None:
    report = tmp_path / "leak.html"
    result = run_cli(
        "text",
        SAMPLE_MODELS / "text_newsgroups.joblib",
        SAMPLE_DATA / "text" / "leak_post.txt",
        "--num-samples",
        1000,
        "--num-features",
        3,
        "-o",
        report,
        "-q",
    )
    assert result.exit_code == 0, result.stderr
    document = report.read_text(encoding="utf-8")
    marks = [m.split(">", 1)[1].split("<")[0] for m in document.split("<mark ")[1:]]
    assert sorted(marks) == ["Host", "NNTP", "Posting"]  # the header leak, highlighted
    assert 'class="support"' in document
