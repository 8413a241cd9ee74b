"""Text LIME through the Python API, on models whose true words are known."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from limecli import (
    Explanation,
    InputDataError,
    ParameterError,
    PredictorOutputError,
    TextExplainer,
    explain_text,
    wrap_model,
)

SCHEMA = json.loads(
    (Path(__file__).resolve().parent.parent / "limecli/schema/explanation.schema.json").read_text()
)

PLANTED = {"alpha": 0.3, "beta": 0.25, "gamma": -0.2}
DOCUMENT = (
    "the quick alpha fox jumps over a lazy beta dog while seven gamma birds sing "
    "loudly near the old river bank under grey autumn skies"
)


def planted_model(texts: list[str]) -> np.ndarray:
    """Probability of class 1 moves only with the words alpha, beta and gamma."""
    p = np.array([0.4 + sum(w for word, w in PLANTED.items() if word in t.split()) for t in texts])
    return np.c_[1 - p, p]


def test_planted_words_are_exactly_the_top_features() -> None:
    exp = explain_text(
        planted_model, DOCUMENT, num_features=3, num_samples=1000, seed=0, mode="classification"
    )
    label = exp.label()
    assert label.label == "1"
    assert {f.feature for f in label.features} == set(PLANTED)
    for feat in label.features:
        assert feat.weight == pytest.approx(PLANTED[feat.feature], abs=0.02)
    assert label.score > 0.99
    jsonschema.validate(json.loads(exp.to_json()), SCHEMA)


@pytest.mark.parametrize("selection", ["auto", "forward", "highest_weights", "lasso_path", "none"])
def test_planted_words_lead_with_every_feature_selection(selection: str) -> None:
    exp = explain_text(
        planted_model,
        DOCUMENT,
        num_features=6,
        num_samples=600,
        seed=1,
        mode="classification",
        feature_selection=selection,
    )
    top3 = [f.feature for f in exp.label().features[:3]]
    assert set(top3) == set(PLANTED)


def test_the_original_text_is_the_first_sample_and_batches_are_bounded() -> None:
    calls: list[list[str]] = []

    def model(texts: list[str]) -> np.ndarray:
        assert isinstance(texts, list) and all(isinstance(t, str) for t in texts)
        calls.append(texts)
        return planted_model(texts)

    explainer = TextExplainer(model, num_samples=250, batch_size=64, mode="classification")
    exp = explainer.explain(DOCUMENT, seed=3)
    assert calls[0][0] == DOCUMENT
    assert [len(c) for c in calls] == [64, 64, 64, 58]
    # The batch size changes nothing in the result.
    again = TextExplainer(planted_model, num_samples=250, mode="classification").explain(
        DOCUMENT, seed=3
    )
    assert [lab.to_dict() for lab in exp.labels] == [lab.to_dict() for lab in again.labels]
    assert exp.params["batch_size"] == 64 and again.params["batch_size"] == 1000


def test_same_seed_same_explanation_other_seed_other_samples() -> None:
    kw = {"num_samples": 300, "mode": "classification"}
    a = explain_text(planted_model, DOCUMENT, seed=7, **kw)
    b = explain_text(planted_model, DOCUMENT, seed=7, **kw)
    c = explain_text(planted_model, DOCUMENT, seed=8, **kw)
    assert a.to_json() == b.to_json()
    assert a.to_json() != c.to_json()


def test_no_bow_explains_positions_separately() -> None:
    text = "good plot but not good acting"

    def second_good(texts: list[str]) -> np.ndarray:
        # Masking keeps the number of tokens, so the 5th token is always the second "good".
        tokens = [t.split() for t in texts]
        p = np.array([0.2 + 0.6 * (len(w) > 4 and w[4] == "good") for w in tokens])
        return np.c_[1 - p, p]

    exp = explain_text(second_good, text, bow=False, num_samples=500, seed=0, mode="classification")
    top = exp.label().features[0]
    assert top.feature == "good"
    assert top.name == "good@18"
    assert top.extra["positions"] == [[18, 22]]
    assert top.value == 1
    assert text[18:22] == "good"
    assert top.weight == pytest.approx(0.6, abs=0.03)
    others = [f for f in exp.label().features[1:]]
    assert all(abs(f.weight) < 0.05 for f in others)
    assert exp.params["mask_token"] == "UNKWORDZ"

    bow = explain_text(second_good, text, num_samples=500, seed=0, mode="classification")
    good = next(f for f in bow.label().features if f.feature == "good")
    assert good.extra["positions"] == [[0, 4], [18, 22]]
    assert good.value == 2


def test_text_regression() -> None:
    def rainfall(texts: list[str]) -> np.ndarray:
        return np.array([2.0 * t.split().count("rain") - 1.0 * t.count("sun") for t in texts])

    text = "rain in the morning , sun at noon , rain again tonight"
    exp = explain_text(rainfall, text, mode="regression", num_samples=800, seed=0, num_features=3)
    assert exp.mode == "regression"
    assert exp.prediction == {"value": pytest.approx(3.0)}
    label = exp.label()
    assert label.label == "prediction"
    weights = {f.feature: f.weight for f in label.features}
    assert weights["rain"] == pytest.approx(4.0, abs=0.3)  # both occurrences go together
    assert weights["sun"] == pytest.approx(-1.0, abs=0.3)
    assert next(f for f in label.features if f.feature == "rain").value == 2
    jsonschema.validate(json.loads(exp.to_json()), SCHEMA)


def test_korean_words_come_back_whole_with_offsets() -> None:
    text = "이 영화 정말 재미있어요! 하지만 결말은 지루해요."

    def sentiment(texts: list[str]) -> np.ndarray:
        p = np.array([0.5 + 0.4 * ("재미있어요" in t) - 0.3 * ("지루해요" in t) for t in texts])
        return np.c_[1 - p, p]

    exp = explain_text(sentiment, text, num_samples=600, seed=0, num_features=2)
    top = {f.feature: f for f in exp.label().features}
    assert set(top) == {"재미있어요", "지루해요"}
    assert top["재미있어요"].weight > 0 > top["지루해요"].weight
    for word, feat in top.items():
        ((start, end),) = feat.extra["positions"]
        assert exp.data["text"][start:end] == word


def test_one_word_text_is_a_sensible_result() -> None:
    def model(texts: list[str]) -> np.ndarray:
        p = np.array([0.9 if "excellent" in t else 0.3 for t in texts])
        return np.c_[1 - p, p]

    exp = explain_text(model, "Excellent!".lower(), num_samples=50, seed=0)
    (feat,) = exp.label().features
    assert feat.feature == "excellent" and feat.weight > 0
    assert exp.data["num_interpretable_features"] == 1


@pytest.mark.parametrize("text", ["", "   \n", "?!... ---"])
def test_text_without_words_is_an_input_error(text: str) -> None:
    with pytest.raises(InputDataError, match="has no words to explain"):
        explain_text(planted_model, text, mode="classification")


def test_parameters_are_checked() -> None:
    with pytest.raises(ParameterError, match="kernel_width"):
        TextExplainer(planted_model, kernel_width=0)
    with pytest.raises(ParameterError, match="num_samples"):
        TextExplainer(planted_model, num_samples=1)
    with pytest.raises(ParameterError, match="not a valid regular expression"):
        TextExplainer(planted_model, split_expression="[")
    with pytest.raises(InputDataError, match="must be a str"):
        TextExplainer(planted_model).explain(b"bytes")


def test_a_model_returning_the_wrong_shape_is_a_predictor_error() -> None:
    with pytest.raises(PredictorOutputError, match="returned shape"):
        explain_text(lambda texts: np.zeros(3), DOCUMENT, mode="classification", num_samples=10)


def test_a_fitted_pipeline_and_a_path(tmp_path: Path) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts = ["great film", "awful film", "great acting", "awful plot"] * 5
    labels = ["pos", "neg", "pos", "neg"] * 5
    model = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, labels)
    path = tmp_path / "review.txt"
    path.write_text("\ufeffa great film with awful music", encoding="utf-8")
    exp = explain_text(wrap_model(model), path, num_samples=300, seed=0)
    assert exp.input == {"source": str(path), "index": None}
    assert exp.data["text"] == "a great film with awful music"  # BOM dropped
    assert exp.prediction["label"] in {"pos", "neg"}
    weights = (
        {f.feature: f.weight for f in exp.label("pos").features}
        if exp.prediction["label"] == "pos"
        else {f.feature: -f.weight for f in exp.label().features}
    )
    assert weights["great"] > 0 > weights["awful"]
    round_trip = Explanation.from_json(exp.to_json())
    assert (
        round_trip.label().features[0].extra["positions"]
        == exp.label().features[0].extra["positions"]
    )


def test_perturbed_texts_are_written_per_batch_not_all_at_once() -> None:
    import tracemalloc

    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]
    doc = " ".join(np.random.default_rng(0).choice(words, 400))
    written = 0

    def model(texts: list[str]) -> np.ndarray:
        nonlocal written
        written += sum(len(t) for t in texts)
        p = np.array([0.2 + 0.6 * ("alpha" in t) for t in texts])
        return np.c_[1 - p, p]

    explainer = TextExplainer(model, num_samples=20000, batch_size=500, mode="classification")
    # Once before measuring: the modules a first explanation imports (scipy.stats, pyarrow
    # through pandas, ...) would count their import-time allocations (~70 MB) in the peak.
    explainer.explain("alpha beta", seed=0, num_samples=200)
    written = 0
    tracemalloc.start()
    try:
        explainer.explain(doc, seed=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    sample_matrix = 20000 * 10 * 8
    assert written > 20_000_000  # every sample's text, ~1 byte per character, all told
    assert peak < 0.5 * written
    assert peak < 4 * sample_matrix + 4_000_000


def test_colour_view_styles_words_by_sign_and_strength() -> None:
    from limecli.render.terminal import render_table

    exp = explain_text(
        planted_model, DOCUMENT, num_features=3, num_samples=500, seed=0, mode="classification"
    )
    coloured = render_table([exp], color=True).split("Text (")[1]
    assert "\x1b[1;37;44malpha\x1b[0m" in coloured  # the strongest: solid blue
    # orange opposes: bright red on the 16 standard colours
    assert "\x1b[1;37;101mgamma\x1b[0m" in coloured or "\x1b[1;4;91mgamma\x1b[0m" in coloured
    assert "[+alpha]" not in coloured
    plain = render_table([exp], color=False).split("Text (")[1]
    assert "\x1b" not in plain and "[+alpha]" in plain and "[-gamma]" in plain
