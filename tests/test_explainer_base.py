"""The explainer base class: one skeleton, the same checks and record for every kind."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from limecli import ImageExplainer, ParameterError, TabularExplainer, TextExplainer
from limecli.explainers.base import Explainer, Request
from limecli.explainers.tabular import TabularInstance
from limecli.explanation import Explanation, ImageExplanation
from limecli.inputs.ref import InputRef, derive_seed
from limecli.render import render

COLUMNS = ["a", "b", "c"]


def table_model(x: Any) -> np.ndarray:
    values = np.asarray(x, dtype=float)
    p = 1.0 / (1.0 + np.exp(-(2 * values[:, 0] - values[:, 1])))
    return np.column_stack([1 - p, p])


def text_model(texts: list[str]) -> np.ndarray:
    p = np.array([0.9 if "good" in t else 0.2 for t in texts])
    return np.column_stack([1 - p, p])


def image_model(batch: np.ndarray) -> np.ndarray:
    # Squared: the mean itself is unchanged when segments are hidden by their mean colour.
    p = np.clip((np.asarray(batch, dtype=float)[:, :8, :8, :] ** 2).mean(axis=(1, 2, 3)), 0, 1)
    return np.column_stack([1 - p, p])


def training() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=(200, 3)), columns=COLUMNS)


def image() -> np.ndarray:
    rng = np.random.default_rng(1)
    return (rng.uniform(0, 255, (16, 16, 3))).astype(np.uint8)


SEGMENTS = np.repeat(np.repeat(np.arange(16).reshape(4, 4), 4, axis=0), 4, axis=1)

MAKERS: dict[str, Callable[..., Explainer[Any]]] = {
    "tabular": lambda **kw: TabularExplainer(table_model, training(), **kw),
    "text": lambda **kw: TextExplainer(text_model, **kw),
    "image": lambda **kw: ImageExplainer(image_model, **kw),
}


def explain(kind: str, explainer: Explainer[Any], **kw: Any) -> Explanation:
    if kind == "tabular":
        return explainer.explain(training().iloc[0], **kw)
    if kind == "text":
        return explainer.explain("a good day for a good walk", **kw)
    assert isinstance(explainer, ImageExplainer)
    return explainer.explain(image(), segments=SEGMENTS, **kw)


def error_of(action: Callable[[], object]) -> tuple[str, tuple[str, ...]]:
    with pytest.raises(ParameterError) as caught:
        action()
    return str(caught.value), caught.value.parameters


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_each_kind_is_an_explainer_subclass(kind: str) -> None:
    explainer = MAKERS[kind](num_samples=50)
    assert isinstance(explainer, Explainer)
    assert type(explainer).kind == kind


BAD_SETTINGS = [
    {"num_features": 0},
    {"num_samples": 1},
    {"num_samples": "many"},
    {"feature_selection": "best"},
    {"batch_size": 0},
    {"kernel_width": -1.0},
]


@pytest.mark.parametrize("bad", BAD_SETTINGS, ids=lambda bad: "-".join(map(str, bad.items())))
def test_constructors_refuse_bad_settings_with_one_message(bad: dict[str, Any]) -> None:
    errors = {kind: error_of(lambda make=make: make(**bad)) for kind, make in MAKERS.items()}
    assert len(set(errors.values())) == 1, errors
    message, parameters = errors["text"]
    (name,) = bad
    assert parameters == (name,)
    assert message.startswith(f"The '{name}' parameter must be")


@pytest.mark.parametrize(
    "bad", [{"num_features": 0}, {"top_labels": 0}, {"num_samples": 1}, {"seed": "x"}]
)
def test_explain_refuses_bad_requests_with_one_message(bad: dict[str, Any]) -> None:
    errors = {
        kind: error_of(lambda kind=kind, make=make: explain(kind, make(num_samples=50), **bad))
        for kind, make in MAKERS.items()
    }
    assert len(set(errors.values())) == 1, errors
    assert errors["tabular"][1] == tuple(bad)


def test_an_unknown_label_gives_the_same_message_for_every_kind() -> None:
    messages = {
        kind: error_of(lambda kind=kind, make=make: explain(kind, make(num_samples=50), labels=[7]))
        for kind, make in MAKERS.items()
    }
    assert len(set(messages.values())) == 1, messages


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_the_shared_record(kind: str) -> None:
    explainer = MAKERS[kind](num_samples=60, num_features=2)
    exp = explain(kind, explainer, seed=3)
    assert exp.kind == kind and exp.mode == "classification"
    assert list(exp.params)[:6] == [
        "num_samples",
        "num_features",
        "seed",
        "kernel",
        "kernel_width",
        "distance",
    ]
    assert exp.params["num_samples"] == 60 and exp.params["seed"] == 3
    assert exp.params["kernel"] == "exponential"
    assert exp.params["kernel_width"] == explainer.kernel_width
    assert exp.params["distance"] == type(explainer).distance
    assert exp.params["feature_selection"] == "auto"
    assert exp.params["surrogate"] == "ridge(alpha=1)"
    assert list(exp.meta) == ["method", "model", "versions"]
    assert set(exp.prediction) == {"label", "probabilities"}
    assert all(len(lab.features) <= 2 for lab in exp.labels)
    # The same seed gives the same record, byte for byte.
    assert explain(kind, explainer, seed=3).to_json() == exp.to_json()


def test_only_the_image_explains_several_labels_by_default() -> None:
    counts = {
        kind: len(explain(kind, make(num_samples=50), seed=0).labels)
        for kind, make in MAKERS.items()
    }
    assert counts == {"tabular": 1, "text": 1, "image": 2}  # image: the top 5 of 2 classes


def test_the_request_fills_defaults_from_the_explainer() -> None:
    explainer = TextExplainer(text_model, num_samples=70, num_features=3)
    assert explainer.request(seed=1) == Request(1, None, None, 70, 3)
    assert explainer.request(num_samples=90, num_features=4, top_labels=2).num_samples == 90


def test_input_identities_come_from_input_refs() -> None:
    text = TextExplainer(text_model, num_samples=40).explain("good", seed=0)
    assert text.input == InputRef.text(None).to_dict()
    shown = TextExplainer(text_model, num_samples=40).explain(
        "good", seed=0, input_info=InputRef.text("t.csv", 4).to_dict()
    )
    assert shown.input == {"source": "t.csv", "index": 4}
    pictured = ImageExplainer(image_model, num_samples=40).explain(
        image(), seed=0, segments=SEGMENTS, input_info=InputRef.file("x.png").to_dict()
    )
    assert isinstance(pictured, ImageExplanation)
    assert pictured.input == {"source": "x.png", "image_mode": "RGB", "original_size": [16, 16]}


def test_independent_rows_are_seeded_by_the_input_ref_seed() -> None:
    explainer = TabularExplainer(table_model, training(), num_samples=60)
    rows = [training().iloc[i] for i in range(2)]
    many = explainer.explain_many(rows, seed=5, independent_samples=True)
    for i, (row, exp) in enumerate(zip(rows, many, strict=True)):
        one = explainer.explain(row, seed=derive_seed(5, {"index": i}), input_info={"index": i})
        assert one.to_json() == exp.to_json()


def test_the_shared_pool_and_one_row_agree() -> None:
    explainer = TabularExplainer(table_model, training(), num_samples=80)
    rows = [training().iloc[i] for i in range(3)]
    many = explainer.explain_many(rows, seed=2)
    assert (
        many[1].to_json() == explainer.explain(rows[1], seed=2, input_info={"index": 1}).to_json()
    )
    subject = explainer._prepare(rows[0], {"source": None, "row": 0})
    assert isinstance(subject, TabularInstance)


def test_tabular_num_samples_is_checked_alike_everywhere() -> None:
    explainer = TabularExplainer(table_model, training(), num_samples=60)
    row = training().iloc[0]
    for call in (
        lambda: explainer.explain(row, num_samples=2.5),
        lambda: explainer.explain(row, num_samples="many"),
        lambda: explainer.shared_pool(num_samples="12"),
    ):
        assert error_of(call)[1] == ("num_samples",)


def test_the_entropy_discretizer_bins_by_predicted_classes_without_a_target() -> None:
    explainer = TabularExplainer(table_model, training(), discretizer="entropy", num_samples=60)
    assert explainer.explain(training().iloc[0], seed=0).params["discretizer"] == "entropy"


def test_messages_name_parameters_not_flags() -> None:
    from sklearn.linear_model import LogisticRegression

    from limecli import InputDataError, wrap_model

    frame = training()
    fitted = LogisticRegression().fit(frame.to_numpy(), frame["a"] > 0)  # 3 unnamed features
    with pytest.raises(InputDataError) as caught:
        TabularExplainer(wrap_model(fitted), frame.assign(extra=1.0))
    assert "with 'target' if" in str(caught.value) and "--" not in str(caught.value)
    assert caught.value.parameters == ("target",)
    regression = wrap_model(lambda x: np.asarray(x, dtype=float)[:, :1], mode="regression")
    message, parameters = error_of(
        lambda: TabularExplainer(regression, frame, discretizer="entropy")
    )
    assert "('target')" in message and parameters == ("target",)
    flat = ImageExplainer(wrap_model(fitted), num_samples=20)
    with pytest.raises(InputDataError) as caught:
        flat.explain(image(), segments=SEGMENTS)
    assert str(caught.value).endswith("resize the image with 'resize'")
    assert caught.value.parameters == ("resize",)


def test_renderers_name_rows_and_indices_alike() -> None:
    exp = TextExplainer(text_model, num_samples=40).explain(
        "good", seed=0, input_info={"source": "t.csv", "index": 3}
    )
    assert "t.csv row 3" in render([exp], "table", width=100)
    assert "\ntext,t.csv,3," in render([exp], "csv")
    assert "t.csv</span>, row 3</h2>" in render([exp], "html")


def test_renderers_and_the_explanation_form_no_import_cycle() -> None:
    code = (
        "import sys, limecli.render, limecli.render.html, limecli.render.terminal, "
        "limecli.render.csv_format, limecli.render.overlay, limecli.render.json_format\n"
        "assert 'limecli.explanation' not in sys.modules, 'a renderer imports the explanation'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    code = (
        "import sys, limecli.explainers.tabular, limecli.explainers.text, limecli.explainers.image\n"
        "bad = [m for m in sys.modules if m.startswith(('limecli.batch', 'limecli.cli'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_renderers_show_a_foreign_records_position_as_written() -> None:
    exp = TextExplainer(text_model, num_samples=40).explain("good", seed=0)
    exp.input = {"source": "x.csv", "row": "abc"}
    assert "x.csv row abc" in render([exp], "table", width=100)
