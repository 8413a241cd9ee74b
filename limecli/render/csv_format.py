"""CSV in long form: one row per (input, label, feature), the shape R's lime returns.

The first columns are the explanation's (:data:`COLUMNS`); the trust figures the
JSON carries follow them (:data:`TRUST_COLUMNS`), so a reader by position of the
older columns is unaffected. A figure that does not exist for a row is an empty
cell: a flat label, a label explained without stability (too few samples), or
a label with no features.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from limecli.inputs.ref import InputRef

if TYPE_CHECKING:
    from limecli.explanation import Explanation, FeatureWeight, LabelExplanation

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

#: The feature's 95% interval, standard error and whether it is told apart from zero
#: (the JSON feature's ``ci95``, ``std_error``, ``distinguishable_from_zero``).
INTERVAL_COLUMNS = ["ci95_low", "ci95_high", "std_error", "distinguishable_from_zero"]

#: The label's stability under resampling (the JSON label's ``held_out_score`` and
#: ``stability``): ``stability_resamples`` is how many resamples were drawn;
#: ``top_m_same`` is, for this row's rank m, the share of resamples whose top-m
#: features are this explanation's; ``rank_settled`` whether that share makes the rank
#: settled (rank <= ``settled_top``); ``zero_bar`` the |weight| / std error a weight
#: must exceed to be told apart from zero, chosen among ``candidates`` features.
STABILITY_COLUMNS = [
    "held_out_score",
    "stability_resamples",
    "top_k_change_probability",
    "top_k_mean_jaccard",
    "settled_top",
    "top_m_same",
    "rank_settled",
    "zero_bar",
    "candidates",
]

#: Every column after :data:`COLUMNS`, in order.
TRUST_COLUMNS = [*INTERVAL_COLUMNS, *STABILITY_COLUMNS]

#: The header of a single explanation's CSV.
ALL_COLUMNS = [*COLUMNS, *TRUST_COLUMNS]


def render_csv(explanations: Sequence[Explanation]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ALL_COLUMNS)
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
                writer.writerow(
                    [*head, "", "", _EMPTY[lab.flat], "", "", *_trust_cells(lab, None, None)]
                )
            for rank, feat in enumerate(lab.features, start=1):
                writer.writerow(
                    [
                        *head,
                        rank,
                        _cell(feat.feature),
                        feat.name,
                        _value_cell(explanation.kind, feat.value),
                        repr(feat.weight),
                        *_trust_cells(lab, feat, rank),
                    ]
                )
    return buffer.getvalue()


def _trust_cells(
    label: LabelExplanation, feature: FeatureWeight | None, rank: int | None
) -> list[str]:
    """The :data:`TRUST_COLUMNS` cells of one row (``feature`` None: a label without any)."""
    extra = feature.extra if feature is not None else {}
    ci95 = extra.get("ci95")
    low, high = (
        (ci95[0], ci95[1]) if isinstance(ci95, (list, tuple)) and len(ci95) == 2 else ("", "")
    )
    stability = label.stability or {}
    same = stability.get("top_m_same") or []
    settled = stability.get("settled_top")
    at_rank = rank is not None and rank <= len(same)
    return [
        _cell(low),
        _cell(high),
        _cell(extra.get("std_error")),
        _flag(extra.get("distinguishable_from_zero")),
        _cell(label.held_out_score),
        _cell(stability.get("replicates")),
        _cell(stability.get("top_k_change_probability")),
        _cell(stability.get("top_k_mean_jaccard")),
        _cell(settled),
        _cell(same[rank - 1]) if at_rank and rank is not None else "",
        _flag(rank <= settled) if at_rank and rank is not None and settled is not None else "",
        _cell(stability.get("zero_bar")),
        _cell(stability.get("candidates")),
    ]


#: The name cell of a label without features: flat, or no weight told apart from zero.
_EMPTY = {
    True: "(flat output: nothing to explain)",
    False: "(no feature distinguishable from zero)",
}


def _value_cell(kind: str, value: Any) -> str:
    # A tabular value of None is a missing cell; other kinds leave the cell empty.
    return "missing" if kind == "tabular" and value is None else _cell(value)


def _flag(value: Any) -> str:
    # Spelled as JSON spells it; pandas and R read true/false as booleans.
    return "" if value is None else ("true" if value else "false")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
