"""What an audit's rules judge and what they give back, and the helpers every rule shares.

An :class:`AuditItem` is one explained input; a :class:`RuleResult` is one
rule's verdict with its :class:`Offender` inputs. The helpers pick the label a
rule judges, rank features, and word inputs and numbers the same way in every
rule and report.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from limecli.inputs.ref import position_of

if TYPE_CHECKING:
    from limecli.audit.policy import Rule
    from limecli.explanation import Explanation, FeatureWeight, LabelExplanation

#: Rule outcomes.
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@dataclass
class AuditItem:
    """One explained input: its identity, its explanation and (tabular) its row's values."""

    identity: dict[str, Any]
    explanation: Explanation
    values: dict[str, Any] | None = None


@dataclass
class Offender:
    """An input that breaks a rule, why, and the explanation that shows it."""

    input: dict[str, Any]
    label: str
    prediction: str
    reason: str
    features: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "label": self.label,
            "prediction": self.prediction,
            "reason": self.reason,
            "features": self.features,
        }


@dataclass
class RuleResult:
    rule: Rule
    status: str
    checked: int
    message: str
    offenders: list[Offender] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == FAILED

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.rule.id,
            "type": self.rule.type,
            "severity": self.rule.severity,
            "description": self.rule.description,
            "label": self.rule.label,
            "status": self.status,
            "checked": self.checked,
            "message": self.message,
            "metrics": self.metrics,
            "offenders": [o.to_dict() for o in self.offenders],
        }


# -- shared helpers ------------------------------------------------------------------------------
def where_label(rule: Rule, explanation: Explanation) -> LabelExplanation:
    """The label a rule judges: the rule's ``label``, else the predicted class (else the first)."""
    if rule.label is not None:
        return explanation.label(rule.label)
    predicted = explanation.prediction.get("label")
    if predicted is not None:
        for lab in explanation.labels:
            if lab.label == str(predicted):
                return lab
    return explanation.labels[0]


def top_features(label: LabelExplanation, k: int) -> list[FeatureWeight]:
    """The ``k`` largest |weights|, ties in the explanation's order."""
    ranked = sorted(enumerate(label.features), key=lambda p: (-abs(p[1].weight), p[0]))
    return [f for _, f in ranked[:k]]


def prediction_text(explanation: Explanation) -> str:
    prediction = explanation.prediction
    if "label" in prediction:
        p = (prediction.get("probabilities") or {}).get(prediction["label"])
        return (
            f"{prediction['label']} {p:.2f}"
            if isinstance(p, (int, float))
            else str(prediction["label"])
        )
    value = prediction.get("value")
    return f"{value:.4g}" if isinstance(value, (int, float)) else str(value)


def describe_input(identity: dict[str, Any]) -> str:
    """How reports name an input: ``data.csv row 7`` (a text's index too), ``cat.png``."""
    source = identity.get("source") or "<data>"
    index = position_of(identity)
    return f"{source} row {index}" if index is not None else str(source)


def _feature_dicts(features: Iterable[FeatureWeight]) -> list[dict[str, Any]]:
    return [{"name": f.name, "feature": f.feature, "weight": f.weight} for f in features]


def offender(item: AuditItem, label: LabelExplanation, reason: str, k: int) -> Offender:
    """``item`` breaks the rule for ``reason``; its top ``k`` features show why."""
    return Offender(
        input=item.identity,
        label=label.label,
        prediction=prediction_text(item.explanation),
        reason=reason,
        features=_feature_dicts(top_features(label, k)),
    )


def percent(x: float) -> str:
    return f"{100 * x:.1f}%".replace(".0%", "%")


def signed(x: float) -> str:
    return f"{x:+.4f}"
