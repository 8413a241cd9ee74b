"""The drift rule: today's explanations against a baseline run's, input by input.

Inputs are matched with the baseline's by ``input`` (source and row; then by
file name and row). The rule fails when the mean Jaccard index of their
top-``top_k`` feature sets is below ``min_jaccard``, or (``sign_flips``) when a
feature's mean weight over the matched inputs (absent: 0) changed sign, both
means being at least ``min_abs_weight`` in size. A baseline is any file of
limecli explanations: an audit's ``baseline_out`` or a batch's JSONL.

A flat label (no features: the model's output did not change) has an empty
top set: against a baseline that had features its Jaccard is 0, and the
reason says which side was flat; two flat labels agree (Jaccard 1). Its
weights count as 0 in the means.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from limecli.audit.items import (
    FAILED,
    PASSED,
    AuditItem,
    Offender,
    RuleResult,
    offender,
    signed,
    top_features,
    where_label,
)
from limecli.audit.policy import Policy, Rule
from limecli.errors import InputDataError
from limecli.explanation import Explanation
from limecli.inputs.ref import InputRef, position_of


def _input_key(identity: dict[str, Any], short: bool = False) -> tuple[str, str]:
    source = str(identity.get("source") or "")
    index = position_of(identity)
    if short:
        source = os.path.basename(source)
    return source, "" if index is None else str(index)


def load_baseline(path: str | Path) -> list[dict[str, Any]]:
    """The explanation records of a baseline file (JSONL or JSON; error records left out)."""
    from limecli.summary import read_records

    _check_json_file(Path(path))
    try:
        records = [r for r in read_records([path]) if "labels" in r]
    except InputDataError as e:
        raise InputDataError(f"baseline: {e}") from e
    except UnicodeDecodeError as e:
        raise InputDataError(
            f"baseline {path} is not JSON: it is not UTF-8 text (byte {e.start})"
        ) from e
    for number, record in enumerate(records, start=1):
        try:
            Explanation.from_dict(record)
            InputRef.from_dict(record["input"])  # inputs are matched by it
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise InputDataError(
                f"baseline {path}: record {number} is not a limecli explanation ({e})"
            ) from e
    if not records:
        raise InputDataError(f"baseline {path} holds no explanations")
    return records


#: First bytes of the compressed files a baseline is sometimes stored as.
_COMPRESSED = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
}


def _check_json_file(path: Path) -> None:
    """InputDataError for a baseline that is compressed or binary, named as such."""
    if not path.is_file():
        return  # read_records names what is missing
    with open(path, "rb") as handle:
        head = handle.read(1 << 12)
    for magic, what in _COMPRESSED.items():
        if head.startswith(magic):
            raise InputDataError(
                f"baseline {path} is not JSON: it is {what}-compressed; decompress it first"
            )
    if b"\x00" in head:
        raise InputDataError(f"baseline {path} is not JSON: it is a binary file")


def read_baselines(policy: Policy) -> dict[str, Any]:
    """The baseline records of each drift rule, by rule id (``None``: missing and skipped)."""
    out: dict[str, Any] = {}
    for rule in policy.rules:
        if rule.type != "drift":
            continue
        path = policy.resolve(rule.options["baseline"])
        if not path.exists():
            if rule.options["missing_baseline"] == "skip":
                out[rule.id] = None
                continue
            # 'baseline_out' is run_audit's parameter (the CLI spells it --baseline-out).
            raise InputDataError(
                f"{policy.path}: {rule.where_path}.baseline: baseline file {path} not found "
                "(write one with 'baseline_out', or set missing_baseline = \"skip\")",
                parameters=("baseline_out",),
            )
        out[rule.id] = load_baseline(path)
    return out


def evaluate_drift(
    rule: Rule, items: Sequence[AuditItem], records: list[dict[str, Any]]
) -> RuleResult:
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
    flat = 0
    for item, old in pairs:
        label = where_label(rule, item.explanation)
        flat += label.flat
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
            if label.flat:
                reason = f"flat output now: nothing to explain (the baseline's top {k}: {gone})"
            elif old_label.flat:
                reason = f"the baseline's output was flat; now the top {k} is: {new}"
            else:
                reason = f"top-{k} Jaccard {jaccard:.2f}: left the top {k}: {gone}; joined: {new}"
            offenders.append((jaccard, offender(item, label, reason, k)))
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
                f"{f['feature']} {signed(f['baseline_mean'])} -> {signed(f['mean'])}" for f in flips
            )
            parts.append(f"mean weight changed sign: {shown}")
        else:
            parts.append("no mean weight changed sign")
    if flat:
        parts.append(f"{flat} flat output{'s' * (flat != 1)} (nothing to explain)")
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
            "flat": flat,
        },
    )
