"""The JSON writer round-trips: whatever an explanation holds, from_json(to_json(e)) gives it back."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from limecli.explanation import KINDS, Explanation, FeatureWeight, LabelExplanation

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None)

texts = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12)
finite = st.floats(allow_nan=False, allow_infinity=False)
any_float = st.floats(allow_nan=True, allow_infinity=True)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), any_float, texts)

features = st.builds(
    FeatureWeight,
    name=texts,
    feature=st.one_of(texts, st.integers(0, 1000)),
    value=scalars,
    weight=finite,
    extra=st.fixed_dictionaries(
        {},
        optional={
            "positions": st.lists(st.lists(st.integers(0, 10**6), min_size=2, max_size=2)),
            "area": st.integers(0, 10**6),
        },
    ),
)
labels = st.builds(
    LabelExplanation,
    label=texts,
    label_index=st.integers(0, 100),
    intercept=finite,
    score=finite,
    local_prediction=finite,
    model_prediction=finite,
    features=st.lists(features, max_size=4),
    held_out_score=st.one_of(st.none(), finite),
)
explanations = st.builds(
    Explanation,
    kind=st.sampled_from(KINDS),
    mode=st.sampled_from(["classification", "regression"]),
    input=st.dictionaries(texts, scalars, max_size=3),
    prediction=st.fixed_dictionaries(
        {"label": texts, "probabilities": st.dictionaries(texts, finite, max_size=3)}
    ),
    labels=st.lists(labels, min_size=1, max_size=3),
    params=st.dictionaries(texts, scalars, max_size=4),
    meta=st.dictionaries(texts, texts, max_size=2),
    data=st.dictionaries(texts, st.one_of(scalars, st.lists(scalars, max_size=3)), max_size=3),
)


def _refuse(constant: str) -> None:
    raise AssertionError(f"{constant} is not JSON")


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


@FUZZ
@given(explanation=explanations)
def test_fuzz_json_round_trip(explanation: Explanation) -> None:
    text = explanation.to_json()
    json.loads(text, parse_constant=_refuse)  # strict JSON: NaN and inf are written as null
    back = Explanation.from_json(text)
    assert back.to_json() == text  # the same bytes again
    if _finite(explanation.to_dict()):
        assert back == explanation
