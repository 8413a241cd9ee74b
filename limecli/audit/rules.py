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
* ``drift``: against a baseline run's explanations (:mod:`limecli.audit.drift`).
* ``stability`` (the top ``top_k`` must be settled) and ``flat_outputs`` (the
  model's output must change around the input): :mod:`limecli.audit.uncertainty`.

A flat label (the model's output does not change around the input: no
features, no R²) has nothing to explain: ``required_features``, ``min_fidelity``
and ``stability`` count it as an offender ("flat output: nothing to explain");
``forbidden_features`` and ``weight_bounds`` find nothing to object to or to
judge in it, and their messages say how many were flat.

A filter that keeps no input fails its rule: a rule that checks nothing is
no evidence (and usually a typo).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from limecli.audit.drift import evaluate_drift
from limecli.audit.items import (
    FAILED,
    PASSED,
    SKIPPED,
    AuditItem,
    RuleResult,
    offender,
    percent,
    signed,
    top_features,
    where_label,
)
from limecli.audit.patterns import FeatureSet, PatternTimeout
from limecli.audit.policy import Policy, Rule
from limecli.audit.uncertainty import FLAT_REASON, evaluate_flat, evaluate_stability, flat_note
from limecli.errors import ParameterError


# -- evaluation ----------------------------------------------------------------------------------
def evaluate_rules(
    policy: Policy, items: Sequence[AuditItem], *, baselines: dict[str, Any] | None = None
) -> list[RuleResult]:
    """Every rule's result, in the policy's order.

    ``baselines``: drift rules' baseline records by rule id (read by
    :func:`limecli.audit.drift.read_baselines`); a rule whose baseline is ``None`` is skipped.
    """
    results = []
    for rule in policy.rules:
        chosen = [item for item in items if rule.where.matches(item)]
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
        try:
            results.append(_evaluate(rule, chosen, baselines))
        except PatternTimeout as e:  # say which rule's pattern it was
            raise PatternTimeout(f"{policy.path}: {rule.where_path}: {e}") from None
    return results


def _evaluate(
    rule: Rule, chosen: Sequence[AuditItem], baselines: dict[str, Any] | None
) -> RuleResult:
    if rule.type == "forbidden_features":
        return _forbidden(rule, chosen)
    if rule.type == "required_features":
        return _required(rule, chosen)
    if rule.type == "weight_bounds":
        return _weight_bounds(rule, chosen)
    if rule.type == "min_fidelity":
        return _min_fidelity(rule, chosen)
    if rule.type == "stability":
        return evaluate_stability(rule, chosen)
    if rule.type == "flat_outputs":
        return evaluate_flat(rule, chosen)
    baseline = (baselines or {}).get(rule.id)
    if baseline is None:
        return RuleResult(rule, SKIPPED, 0, f"no baseline file {rule.options['baseline']}")
    return evaluate_drift(rule, chosen, baseline)


def _forbidden(rule: Rule, items: Sequence[AuditItem]) -> RuleResult:
    features: FeatureSet = rule.options["features"]
    k = rule.options["top_k"]
    allowed = rule.options["max_fraction"]
    offenders = []
    counts: dict[str, int] = {}
    flat = 0
    for item in items:
        label = where_label(rule, item.explanation)
        flat += label.flat
        top = top_features(label, k)
        hits = [(rank, f) for rank, f in enumerate(top, start=1) if features.matches(f.feature)]
        if hits:
            for _, f in hits:
                counts[str(f.feature)] = counts.get(str(f.feature), 0) + 1
            reason = ", ".join(f"{f.feature!s} #{rank} ({signed(f.weight)})" for rank, f in hits)
            offenders.append(offender(item, label, f"forbidden in top {k}: {reason}", k))
    fraction = len(offenders) / len(items)
    failed = fraction > allowed
    message = (
        f"{len(offenders)} of {len(items)} inputs ({percent(fraction)}) have a forbidden feature "
        f"in their top {k} (allowed: {percent(allowed)})" + flat_note(flat)
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
            "flat": flat,
        },
    )


def _required(rule: Rule, items: Sequence[AuditItem]) -> RuleResult:
    features: FeatureSet = rule.options["features"]
    k = rule.options["top_k"]
    needed = rule.options["min_fraction"]
    offenders = []
    flat = 0
    for item in items:
        label = where_label(rule, item.explanation)
        if label.flat:
            flat += 1
            offenders.append(offender(item, label, FLAT_REASON, k))
        elif not any(features.matches(f.feature) for f in top_features(label, k)):
            offenders.append(
                offender(item, label, f"none of {features.describe()} in the top {k}", k)
            )
    fraction = (len(items) - len(offenders)) / len(items)
    failed = fraction < needed
    message = (
        f"{len(items) - len(offenders)} of {len(items)} inputs ({percent(fraction)}) have a "
        f"required feature in their top {k} (needed: {percent(needed)})" + flat_note(flat)
    )
    return RuleResult(
        rule,
        FAILED if failed else PASSED,
        len(items),
        message,
        offenders,
        {
            "fraction": fraction,
            "min_fraction": needed,
            "top_k": k,
            "features": features.describe(),
            "flat": flat,
        },
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
    flat = 0
    for item in items:
        label = where_label(rule, item.explanation)
        flat += label.flat
        entries = [f for f in label.features if features.matches(f.feature)]
        if not entries:
            continue
        judged += 1
        broken = [(f, why) for f in entries if (why := _breaks_bounds(f.weight, rule.options))]
        if broken:
            reason = "; ".join(
                f"{f.name} {signed(f.weight)} for {label.label!r}: {why}" for f, why in broken
            )
            offenders.append(offender(item, label, reason, len(label.features)))
    if judged == 0:
        return RuleResult(
            rule,
            PASSED,
            0,
            f"{features.describe()} is in none of the {len(items)} explanations: nothing to judge"
            + flat_note(flat),
            metrics={"judged": 0, "flat": flat},
        )
    fraction = len(offenders) / judged
    failed = fraction > allowed
    message = (
        f"weight must be {_bounds_text(rule.options)}: {len(offenders)} of {judged} explanations "
        f"using {features.describe()} ({percent(fraction)}) break it (allowed: {percent(allowed)})"
        + flat_note(flat)
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
            "flat": flat,
        },
    )


def _min_fidelity(rule: Rule, items: Sequence[AuditItem]) -> RuleResult:
    threshold = rule.options["min_r2"]
    allowed = rule.options["max_fraction"]
    scores = []
    offenders = []
    flat = 0
    for item in items:
        label = where_label(rule, item.explanation)
        score = label.score
        k = min(5, len(label.features))
        if label.flat or score is None:
            # No R² at all: a flat output has none, and no figure is no evidence of a fit.
            flat += label.flat
            why = FLAT_REASON if label.flat else "no local fit R² in the explanation"
            offenders.append(offender(item, label, why, k))
            continue
        scores.append(score)
        if not (math.isfinite(score) and score >= threshold):
            offenders.append(offender(item, label, f"local fit R² {score:.3f} < {threshold:g}", k))
    fraction = len(offenders) / len(items)
    failed = fraction > allowed
    finite = sorted(s for s in scores if isinstance(s, (int, float)) and math.isfinite(s))
    lowest = finite[0] if finite else float("nan")
    median = finite[len(finite) // 2] if finite else float("nan")
    spread = f"lowest {lowest:.3f}, median {median:.3f}" if finite else "no input has an R²"
    message = (
        f"{len(offenders)} of {len(items)} inputs ({percent(fraction)}) have a local fit "
        f"R² below {threshold:g}{' or none' if len(scores) < len(items) else ''} (allowed: "
        f"{percent(allowed)}); {spread}" + flat_note(flat)
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
            "flat": flat,
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
