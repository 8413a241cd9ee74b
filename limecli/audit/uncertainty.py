"""Rules on how far an explanation can be trusted: settled ranks and flat outputs.

* ``stability``: an input offends when its explanation's top ``top_k`` set is
  not settled, i.e. the same set in fewer than 95% of the stability resamples
  (``stability.top_m_same[top_k - 1]``, see :mod:`limecli.stability`). An
  explanation holding fewer than ``top_k`` features is judged on all of them,
  except under ``num_features = "auto"``: there the missing ranks were dropped
  as indistinguishable from zero, so they are not settled and the input
  offends. A flat output, or an explanation without stability figures, offends
  too (with its own reason): no figure is no evidence of a settled top.
* ``flat_outputs``: an input offends when the model's output for the judged
  label does not change over the perturbation sample (the label's ``flat``
  flag): there is nothing to explain.

Both fail when more than ``max_fraction`` of the inputs offend (default 0).
"""

from __future__ import annotations

from collections.abc import Sequence

from limecli.audit.items import (
    FAILED,
    PASSED,
    AuditItem,
    Offender,
    RuleResult,
    offender,
    percent,
    where_label,
)
from limecli.audit.policy import Rule
from limecli.explanation import LabelExplanation
from limecli.uncertainty import SETTLED_SHARE

#: The reason every rule gives for a flat label.
FLAT_REASON = "flat output: nothing to explain"


def is_settled(share: float) -> bool:
    """Whether a ``top_m_same`` share makes its ranks settled (as limecli.uncertainty counts)."""
    return share >= SETTLED_SHARE - 1e-12


def _unsettled(label: LabelExplanation, k: int, auto: bool) -> str | None:
    """Why the top ``k`` of ``label`` is not settled, or None when it is."""
    if label.flat:
        return FLAT_REASON
    stability = label.stability
    if stability is None:
        if not label.features and auto:
            return f"no feature is distinguishable from zero: no top {k} to settle"
        if not label.features:
            return f"no features in the explanation: no top {k} to settle"
        return "no stability figures in the explanation: nothing shows its top is settled"
    same = [float(v) for v in stability.get("top_m_same") or []]
    settled = int(stability.get("settled_top", 0))
    if auto and len(same) < k:
        return (
            f"only {len(same)} feature{'s' * (len(same) != 1)} distinguishable from zero "
            f'(num_features = "auto"): ranks {len(same) + 1}-{k} are not settled'
        )
    m = min(k, len(same))
    if m == 0:
        return "no stability figures in the explanation: nothing shows its top is settled"
    if is_settled(same[m - 1]):
        return None
    replicates = stability.get("replicates")
    over = f" of {replicates} resamples" if replicates else " of the resamples"
    which = f"top {m}" if m == k else f"top {m} (all its features)"
    if settled > m:  # a larger set is settled: its ranks from m on trade places
        where = f"ranks {m}-{settled} swap among themselves (the top {settled} is settled)"
    else:
        where = "settled: " + (f"top {settled}" if settled else "none")
    return (
        f"{which} not settled: the same set in {percent(same[m - 1])}{over} "
        f"(needs {percent(SETTLED_SHARE)}); {where}"
    )


def evaluate_stability(rule: Rule, items: Sequence[AuditItem]) -> RuleResult:
    k = rule.options["top_k"]
    allowed = rule.options["max_fraction"]
    offenders: list[Offender] = []
    settled_counts: list[int] = []
    flat = 0
    for item in items:
        label = where_label(rule, item.explanation)
        auto = item.explanation.params.get("num_features") == "auto"
        flat += label.flat
        if label.stability is not None:
            settled_counts.append(int(label.stability.get("settled_top", 0)))
        why = _unsettled(label, k, auto)
        if why is not None:
            offenders.append(offender(item, label, why, k))
    fraction = len(offenders) / len(items)
    failed = fraction > allowed
    settled_counts.sort()
    message = (
        f"{len(offenders)} of {len(items)} inputs ({percent(fraction)}) have a top {k} that is "
        f"not settled (the same set in under {percent(SETTLED_SHARE)} of resamples; allowed: "
        f"{percent(allowed)})"
    )
    if settled_counts:
        message += (
            f"; settled ranks: fewest {settled_counts[0]}, "
            f"median {settled_counts[len(settled_counts) // 2]}"
        )
    message += flat_note(flat)
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
            "settled_share": SETTLED_SHARE,
            "fewest_settled": settled_counts[0] if settled_counts else None,
            "median_settled": settled_counts[len(settled_counts) // 2] if settled_counts else None,
            "flat": flat,
        },
    )


def evaluate_flat(rule: Rule, items: Sequence[AuditItem]) -> RuleResult:
    allowed = rule.options["max_fraction"]
    offenders = []
    for item in items:
        label = where_label(rule, item.explanation)
        if label.flat:
            value = label.model_prediction
            about = f" (about {value:.4g} everywhere)" if isinstance(value, (int, float)) else ""
            reason = (
                f"flat output: the model's output for {label.label!r} does not change around "
                f"this input{about}: nothing to explain"
            )
            offenders.append(offender(item, label, reason, 0))
    fraction = len(offenders) / len(items)
    failed = fraction > allowed
    message = (
        f"{len(offenders)} of {len(items)} inputs ({percent(fraction)}) have a flat output: "
        f"the model's output does not change around them (allowed: {percent(allowed)})"
    )
    return RuleResult(
        rule,
        FAILED if failed else PASSED,
        len(items),
        message,
        offenders,
        {"fraction": fraction, "max_fraction": allowed, "flat": len(offenders)},
    )


def flat_note(count: int) -> str:
    """A message's tail for flat outputs among the inputs (empty when there are none)."""
    return f"; {count} flat output{'s' * (count != 1)} (nothing to explain)" if count else ""
