"""CSV in long form: one row per (input, label, feature), the shape R's lime returns."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from limecli.inputs.ref import InputRef

if TYPE_CHECKING:
    from limecli.explanation import Explanation

COLUMNS = [
    "kind",
    "source",
    "index",
    "mode",
    "label",
    "model_prediction",
    "local_prediction",
    "intercept",
    "score",
    "rank",
    "feature",
    "name",
    "value",
    "weight",
]


def render_csv(explanations: Sequence[Explanation]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for explanation in explanations:
        source = explanation.input.get("source")
        index = InputRef.from_dict(explanation.input).position
        for lab in explanation.labels:
            head = [
                explanation.kind,
                _cell(source),
                _cell(index),
                explanation.mode,
                lab.label,
                repr(lab.model_prediction),
                repr(lab.local_prediction),
                repr(lab.intercept),
                _cell(lab.score),  # empty: a flat label has no R²
            ]
            if not lab.features:
                # One row all the same: an input never vanishes from the table (and --resume
                # finds it done). The name cell says why it has no features.
                writer.writerow([*head, "", "", _EMPTY[lab.flat], "", ""])
            for rank, feat in enumerate(lab.features, start=1):
                writer.writerow(
                    [
                        *head,
                        rank,
                        _cell(feat.feature),
                        feat.name,
                        _value_cell(explanation.kind, feat.value),
                        repr(feat.weight),
                    ]
                )
    return buffer.getvalue()


#: The name cell of a label without features: flat, or no weight told apart from zero.
_EMPTY = {
    True: "(flat output: nothing to explain)",
    False: "(no feature distinguishable from zero)",
}


def _value_cell(kind: str, value: Any) -> str:
    # A tabular value of None is a missing cell; other kinds leave the cell empty.
    return "missing" if kind == "tabular" and value is None else _cell(value)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
