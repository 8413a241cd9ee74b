"""Evaluating an audit policy's rules on explained inputs.

Each rule looks at the explanations of the inputs its ``where`` filter keeps,
for one label: the rule's ``label`` if it names one, else each input's
predicted class (regression: the value). Features are matched on their
``feature`` (the column, the word, the segment id), never on the bin's wording.

* ``forbidden_features``: a forbidden feature in an input's top ``top_k``
  (by |weight|) makes the input an offender; the rule fails when more than
  ``max_fraction`` of the inputs are offenders (default 0: any one).
* ``required_features``: an input with none of the features in its top
  ``top_k`` is an offender; fails when fewer than ``min_fraction`` (default 1)
  of the inputs have one.
* ``weight_bounds``: each weight of the feature must be within ``min``/``max``
  and have ``sign``; inputs whose explanation leaves the feature out are not
  judged. Fails when more than ``max_fraction`` of the judged inputs break it.
* ``min_fidelity``: the surrogate's R² (``score``) must be at least
  ``min_r2``; fails when more than ``max_fraction`` fall below.
* ``drift``: inputs are matched with the baseline's by ``input`` (source and
  row); fails when the mean Jaccard index of their top-``top_k`` feature sets
  is below ``min_jaccard``, or (``sign_flips``) when a feature's mean weight
  over the matched inputs (absent: 0) changed sign, both means being at least
  ``min_abs_weight`` in size.

A filter that keeps no input fails its rule: a rule that checks nothing is
no evidence (and usually a typo).
"""

from __future__ import annotations

import fnmatch
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from limecli.audit.policy import FeatureSet, Policy, RowFilter, Rule
from limecli.errors import InputDataError, ParameterError
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
    """The label a rule judges for this explanation (see the module docstring)."""
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
    source = identity.get("source") or "<data>"
    index = identity.get("row", identity.get("index"))
    return f"{source} row {index}" if index is not None else str(source)


def _feature_dicts(features: Iterable[FeatureWeight]) -> list[dict[str, Any]]:
    return [{"name": f.name, "feature": f.feature, "weight": f.weight} for f in features]


def _offender(item: AuditItem, label: LabelExplanation, reason: str, k: int) -> Offender:
    return Offender(
        input=item.identity,
        label=label.label,
        prediction=prediction_text(item.explanation),
        reason=reason,
        features=_feature_dicts(top_features(label, k)),
    )


def matches_filter(where: RowFilter, item: AuditItem) -> bool:
    predicted = str(item.explanation.prediction.get("label"))
    if where.predicted is not None and predicted not in where.predicted:
        return False
    if where.rows is not None:
        index = item.identity.get("row", item.identity.get("index"))
        if index is None or int(index) not in where.rows:
            return False
    if where.source is not None:
        source = str(item.identity.get("source") or "")
        if not (
            fnmatch.fnmatchcase(source, where.source)
            or fnmatch.fnmatchcase(os.path.basename(source), where.source)
        ):
            return False
    for column, condition in where.values.items():
        values = item.values or {}
        if column not in values:
            return False
        if not _value_matches(values[column], condition):
            return False
    return True


def _value_matches(value: Any, condition: Any) -> bool:
    if isinstance(condition, dict):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return False
        if condition.get("min") is not None and number < condition["min"]:
            return False
        return not (condition.get("max") is not None and number > condition["max"])
    options = condition if isinstance(condition, list) else [condition]
    for option in options:
        if isinstance(option, str):
            if str(value) == option:
                return True
        else:
            try:
                if float(value) == float(option):
                    return True
            except (TypeError, ValueError):
                continue
    return False


def _percent(x: float) -> str:
    return f"{100 * x:.1f}%".replace(".0%", "%")


def _signed(x: float) -> str:
    return f"{x:+.4f}"


# -- evaluation ----------------------------------------------------------------------------------
def evaluate_rules(
    policy: Policy, items: Sequence[AuditItem], *, baselines: dict[str, Any] | None = None
) -> list[RuleResult]:
    """Every rule's result, in the policy's order.

    ``baselines``: drift rules' baseline records by rule id (read by
    :func:`load_baseline`); a rule whose baseline is ``None`` is skipped.
    """
    results = []
    for rule in policy.rules:
        chosen = [item for item in items if matches_filter(rule.where, item)]
        if not chosen:
            results.append(
                RuleResult(
                    rule,
                    FAILED,
                    0,
                    f"no input to check: the where filter kept none of the {len(items)} inputs",
                )
            )
            continue
        if rule.type == "forbidden_features":
            results.append(_forbidden(rule, chosen))
        elif rule.type == "required_features":
            results.append(_required(rule, chosen))
        elif rule.type == "weight_bounds":
            results.append(_weight_bounds(rule, chosen))
        elif rule.type == "min_fidelity":
            results.append(_min_fidelity(rule, chosen))
        else:
            baseline = (baselines or {}).get(rule.id)
            if baseline is None:
                results.append(
                    RuleResult(rule, SKIPPED, 0, f"no baseline file {rule.options['baseline']}")
                )
            else:
                results.append(_drift(rule, chosen, baseline))
    return results


def _forbidden(rule: Rule, items: Sequence[AuditItem]) -> RuleResult:
    features: FeatureSet = rule.options["features"]
    k = rule.options["top_k"]
    allowed = rule.options["max_fraction"]
    offenders = []
    counts: dict[str, int] = {}
    for item in items:
        label = where_label(rule, item.explanation)
        top = top_features(label, k)
        hits = [(rank, f) for rank, f in enumerate(top, start=1) if features.matches(f.feature)]
        if hits:
            for _, f in hits:
                counts[str(f.feature)] = counts.get(str(f.feature), 0) + 1
            reason = ", ".join(f"{f.feature!s} #{rank} ({_signed(f.weight)})" for rank, f in hits)
            offenders.append(_offender(item, label, f"forbidden in top {k}: {reason}", k))
    fraction = len(offenders) / len(items)
    failed = fraction > allowed
    message = (
        f"{len(offenders)} of {len(items)} inputs ({_percent(fraction)}) have a forbidden feature "
        f"in their top {k} (allowed: {_percent(allowed)})"
    )
    return RuleResult(
        rule,
        FAILED if failed else PASSED,
        len(items),
        message,
        offenders,
        {
            "fraction": fraction,
            "max_fraction": allowed,
            "top_k": k,
            "hits": counts,
            "features": features.describe(),
        },
    )


def _required(rule: Rule, items: Sequence[AuditItem]) -> RuleResult:
    features: FeatureSet = rule.options["features"]
    k = rule.options["top_k"]
    needed = rule.options["min_fraction"]
    offenders = []
    for item in items:
        label = where_label(rule, item.explanation)
        if not any(features.matches(f.feature) for f in top_features(label, k)):
            offenders.append(
                _offender(item, label, f"none of {features.describe()} in the top {k}", k)
            )
    fraction = (len(items) - len(offenders)) / len(items)
    failed = fraction < needed
    message = (
        f"{len(items) - len(offenders)} of {len(items)} inputs ({_percent(fraction)}) have a "
        f"required feature in their top {k} (needed: {_percent(needed)})"
    )
    return RuleResult(
        rule,
        FAILED if failed else PASSED,
        len(items),
        message,
        offenders,
        {"fraction": fraction, "min_fraction": needed, "top_k": k, "features": features.describe()},
    )


def _breaks_bounds(weight: float, options: dict[str, Any]) -> str | None:
    low, high, sign = options["min"], options["max"], options["sign"]
    if low is not None and weight < low:
        return f"below min {low:g}"
    if high is not None and weight > high:
        return f"above max {high:g}"
    if sign == "positive" and not weight > 0:
        return "not positive"
    if sign == "negative" and not weight < 0:
        return "not negative"
    if sign == "nonnegative" and weight < 0:
        return "negative"
    if sign == "nonpositive" and weight > 0:
        return "positive"
    return None


def _bounds_text(options: dict[str, Any]) -> str:
    parts = []
    if options["sign"] is not None:
        parts.append(options["sign"])
    if options["min"] is not None:
        parts.append(f">= {options['min']:g}")
    if options["max"] is not None:
        parts.append(f"<= {options['max']:g}")
    return " and ".join(parts)


def _weight_bounds(rule: Rule, items: Sequence[AuditItem]) -> RuleResult:
    features: FeatureSet = rule.options["features"]
    allowed = rule.options["max_fraction"]
    judged = 0
    offenders = []
    for item in items:
        label = where_label(rule, item.explanation)
        entries = [f for f in label.features if features.matches(f.feature)]
        if not entries:
            continue
        judged += 1
        broken = [(f, why) for f in entries if (why := _breaks_bounds(f.weight, rule.options))]
        if broken:
            reason = "; ".join(
                f"{f.name} {_signed(f.weight)} for {label.label!r}: {why}" for f, why in broken
            )
            offenders.append(_offender(item, label, reason, len(label.features)))
    if judged == 0:
        return RuleResult(
            rule,
            PASSED,
            0,
            f"{features.describe()} is in none of the {len(items)} explanations: nothing to judge",
            metrics={"judged": 0},
        )
    fraction = len(offenders) / judged
    failed = fraction > allowed
    message = (
        f"weight must be {_bounds_text(rule.options)}: {len(offenders)} of {judged} explanations "
        f"using {features.describe()} ({_percent(fraction)}) break it (allowed: {_percent(allowed)})"
    )
    return RuleResult(
        rule,
        FAILED if failed else PASSED,
        judged,
        message,
        offenders,
        {
            "fraction": fraction,
            "max_fraction": allowed,
            "judged": judged,
            "not_in_explanation": len(items) - judged,
        },
    )


def _min_fidelity(rule: Rule, items: Sequence[AuditItem]) -> RuleResult:
    threshold = rule.options["min_r2"]
    allowed = rule.options["max_fraction"]
    scores = []
    offenders = []
    for item in items:
        label = where_label(rule, item.explanation)
        score = label.score
        scores.append(score)
        if not (isinstance(score, (int, float)) and math.isfinite(score) and score >= threshold):
            k = min(5, len(label.features))
            offenders.append(_offender(item, label, f"local fit R² {score:.3f} < {threshold:g}", k))
    fraction = len(offenders) / len(items)
    failed = fraction > allowed
    finite = sorted(s for s in scores if isinstance(s, (int, float)) and math.isfinite(s))
    lowest = finite[0] if finite else float("nan")
    median = finite[len(finite) // 2] if finite else float("nan")
    message = (
        f"{len(offenders)} of {len(items)} inputs ({_percent(fraction)}) have a local fit "
        f"R² below {threshold:g} (allowed: {_percent(allowed)}); lowest {lowest:.3f}, "
        f"median {median:.3f}"
    )
    return RuleResult(
        rule,
        FAILED if failed else PASSED,
        len(items),
        message,
        offenders,
        {
            "fraction": fraction,
            "max_fraction": allowed,
            "min_r2": threshold,
            "lowest_r2": lowest,
            "median_r2": median,
        },
    )


# -- drift ---------------------------------------------------------------------------------------
def _input_key(identity: dict[str, Any], short: bool = False) -> tuple[str, str]:
    source = str(identity.get("source") or "")
    index = identity.get("row", identity.get("index"))
    if short:
        source = os.path.basename(source)
    return source, "" if index is None else str(index)


def load_baseline(path: str | Path) -> list[dict[str, Any]]:
    """The explanation records of a baseline file (JSONL or JSON; error records left out)."""
    from limecli.summary import read_records

    try:
        records = [r for r in read_records([path]) if "labels" in r]
    except InputDataError as e:
        raise InputDataError(f"baseline: {e}") from e
    for number, record in enumerate(records, start=1):
        try:
            Explanation.from_dict(record)
        except (KeyError, TypeError, ValueError) as e:
            raise InputDataError(
                f"baseline {path}: record {number} is not a limecli explanation ({e})"
            ) from e
    if not records:
        raise InputDataError(f"baseline {path} holds no explanations")
    return records


def _drift(rule: Rule, items: Sequence[AuditItem], records: list[dict[str, Any]]) -> RuleResult:
    k = rule.options["top_k"]
    threshold = rule.options["min_jaccard"]
    min_abs = rule.options["min_abs_weight"]
    only = rule.options["features"]
    baseline = [Explanation.from_dict(r) for r in records]
    exact = {_input_key(e.input): e for e in baseline}
    short = {_input_key(e.input, short=True): e for e in baseline}
    pairs: list[tuple[AuditItem, Explanation]] = []
    for item in items:
        found = exact.get(_input_key(item.identity)) or short.get(
            _input_key(item.identity, short=True)
        )
        if found is not None:
            pairs.append((item, found))
    if not pairs:
        raise InputDataError(
            f"baseline {rule.options['baseline']} ({rule.where_path}) shares no input with this "
            "audit (inputs are matched by source and row): was it written for other data?"
        )
    jaccards = []
    offenders: list[tuple[float, Offender]] = []
    current_sum: dict[str, float] = {}
    base_sum: dict[str, float] = {}
    weighed = 0
    for item, old in pairs:
        label = where_label(rule, item.explanation)
        try:
            old_label = old.label(label.label)
            same_label = True
        except KeyError:
            old_label = old.labels[0]
            same_label = False
        new_top = {str(f.feature) for f in top_features(label, k)}
        old_top = {str(f.feature) for f in top_features(old_label, k)}
        union = new_top | old_top
        jaccard = len(new_top & old_top) / len(union) if union else 1.0
        jaccards.append(jaccard)
        if threshold is not None and jaccard < threshold:
            gone = ", ".join(sorted(old_top - new_top)) or "-"
            new = ", ".join(sorted(new_top - old_top)) or "-"
            reason = f"top-{k} Jaccard {jaccard:.2f}: left the top {k}: {gone}; joined: {new}"
            offenders.append((jaccard, _offender(item, label, reason, k)))
        if same_label:
            weighed += 1
            for f in label.features:
                key = str(f.feature)
                current_sum[key] = current_sum.get(key, 0.0) + f.weight
            for f in old_label.features:
                key = str(f.feature)
                base_sum[key] = base_sum.get(key, 0.0) + f.weight
    mean_jaccard = sum(jaccards) / len(jaccards)
    flips: list[dict[str, Any]] = []
    if rule.options["sign_flips"] and weighed:
        for key in sorted(set(current_sum) | set(base_sum)):
            if only is not None and key not in only:
                continue
            new_mean = current_sum.get(key, 0.0) / weighed
            old_mean = base_sum.get(key, 0.0) / weighed
            if abs(new_mean) >= min_abs and abs(old_mean) >= min_abs and new_mean * old_mean < 0:
                flips.append({"feature": key, "baseline_mean": old_mean, "mean": new_mean})
    jaccard_failed = threshold is not None and mean_jaccard < threshold
    failed = jaccard_failed or bool(flips)
    parts = [
        f"mean top-{k} Jaccard {mean_jaccard:.3f} over {len(pairs)} inputs"
        + (f" (needed: {threshold:g})" if threshold is not None else "")
    ]
    if rule.options["sign_flips"]:
        if flips:
            shown = ", ".join(
                f"{f['feature']} {_signed(f['baseline_mean'])} -> {_signed(f['mean'])}"
                for f in flips
            )
            parts.append(f"mean weight changed sign: {shown}")
        else:
            parts.append("no mean weight changed sign")
    offenders.sort(key=lambda pair: pair[0])  # stable: worst first, then input order
    return RuleResult(
        rule,
        FAILED if failed else PASSED,
        len(pairs),
        "; ".join(parts),
        [o for _, o in offenders],
        {
            "mean_jaccard": mean_jaccard,
            "min_jaccard": threshold,
            "top_k": k,
            "matched": len(pairs),
            "unmatched": len(items) - len(pairs),
            "sign_flips": flips,
        },
    )


def check_feature_names(
    policy: Policy, columns: Sequence[str], data_columns: Sequence[str]
) -> None:
    """Tabular: every feature a rule names exactly must be a column of the model.

    ``where.values`` may name any column of the data (the target too).
    """
    known = set(columns)
    shown = ", ".join(columns[:12]) + (", ..." if len(columns) > 12 else "")
    for rule in policy.rules:
        names: list[str] = []
        key = "features"
        features = rule.options.get("features")
        if isinstance(features, FeatureSet):
            names = features.names
            if rule.type == "weight_bounds":
                key = "feature"
            if features.ignore_case:
                folded = {c.casefold() for c in columns}
                names = [n for n in names if n.casefold() not in folded]
        elif isinstance(features, list):
            names = features
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ParameterError(
                f"{policy.path}: {rule.where_path}.{key}: {unknown[0]!r} is not a feature of the "
                f"model; its features are: {shown}"
            )
        for column in rule.where.values:
            if column not in data_columns:
                raise ParameterError(
                    f"{policy.path}: {rule.where_path}.where.values.{column}: not a column of "
                    f"{policy.data}"
                )
