"""The global view of a batch: per-feature importance across explanations, and SP-LIME.

Each explanation contributes one label's feature weights: the label named
with ``label=`` (explanations that did not explain it are left out), or by
default its first explained label (the predicted class unless the batch
asked for others). Features are what the explanations call ``feature``: the
column for tabular data (all of a column's bins together), the word for
text, the segment id for images.

Per label and feature, over the ``n`` explanations of that label:

* ``mean_abs_weight``: sum of |weight| / n, a feature absent from an
  explanation counting as 0, so rarely used features rank low;
* ``mean_weight``: the signed mean, the same way;
* ``top_k``: share of explanations in which it has a non-zero weight among
  the ``top_k`` largest |weight|;
* ``appearances``: in how many explanations it has a non-zero weight;
* ``sign_consistency``: share of those appearances whose weight has the
  majority sign (1.0: always pushes the same way; 0.5: either way).

A weight of exactly 0 says the feature did nothing there: it counts in
none of these (so ``top_k`` is never above ``appearances / n``).

Submodular pick (Ribeiro et al. 2016, section 4, Algorithm 2): with W the
explanations x features matrix of |weights| and I_j = sqrt(sum_i W_ij) the
global importance of feature j, greedily add the explanation that most
increases the coverage c(V) = sum_j I_j [some explanation in V uses j],
until ``pick`` are chosen (the budget B), or every explanation is. Once
nothing adds coverage the greedy step still picks, as the paper's does: ties
in added coverage go to the explanation with the larger coverage of its own,
c({i}), then to the earlier record, so the pick is deterministic. Fewer than
``pick`` explanations: all are picked and :attr:`Summary.notes` says so.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from limecli.errors import InputDataError, ParameterError


@dataclass
class FeatureSummary:
    feature: str
    mean_abs_weight: float
    mean_weight: float
    top_k: float
    appearances: int
    sign_consistency: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "mean_abs_weight": self.mean_abs_weight,
            "mean_weight": self.mean_weight,
            "top_k": self.top_k,
            "appearances": self.appearances,
            "sign_consistency": self.sign_consistency,
        }


@dataclass
class LabelSummary:
    label: str
    explanations: int
    features: list[FeatureSummary]

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "explanations": self.explanations,
            "features": [f.to_dict() for f in self.features],
        }


@dataclass
class Pick:
    """One explanation chosen by submodular pick."""

    rank: int
    input: dict[str, Any]
    label: str
    gain: float  # coverage it added, as a share of the total importance
    coverage: float  # cumulative coverage after it, same scale

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "input": self.input,
            "label": self.label,
            "gain": self.gain,
            "coverage": self.coverage,
        }


@dataclass
class Summary:
    records: int  # explanations used
    errors: int  # error records skipped
    skipped: int  # explanations without the requested label
    top_k: int
    labels: list[LabelSummary]
    picks: list[Pick] | None = None
    sources: list[str] = field(default_factory=list)
    #: What a user should know about the result (not part of its JSON): e.g. a short pick.
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sources": self.sources,
            "explanations": self.records,
            "error_records": self.errors,
            "without_label": self.skipped,
            "top_k": self.top_k,
            "labels": [lab.to_dict() for lab in self.labels],
        }
        if self.picks is not None:
            out["pick"] = [p.to_dict() for p in self.picks]
        return out


def read_records(paths: Iterable[str | Path]) -> Iterator[dict[str, Any]]:
    """Records from JSONL files (one per line) or JSON files (one object or an array)."""
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise InputDataError(f"explanations file not found: {path}")
        with open(path, encoding="utf-8") as handle:
            first = handle.read(1)
            while first.isspace():
                first = handle.read(1)
            handle.seek(0)
            if first == "[":
                try:
                    items = json.load(handle)
                except ValueError as e:
                    raise InputDataError(f"{path} is not valid JSON: {e}") from e
                for k, item in enumerate(items):
                    yield _checked(item, path, f"item {k}")
                continue
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                if not line.endswith("\n") and number > 1:
                    break  # a trailing partial line from an interrupted batch
                try:
                    record = json.loads(line)
                except ValueError as e:
                    raise InputDataError(
                        f"{path} line {number} is not JSON (expected limecli JSONL output)"
                    ) from e
                yield _checked(record, path, f"line {number}")


def _checked(record: Any, path: Path, where: str) -> dict[str, Any]:
    if not isinstance(record, dict) or not ("labels" in record or "error" in record):
        raise InputDataError(f"{path} {where} is not a limecli explanation record")
    return record


def summarize(
    records: Iterable[dict[str, Any]],
    *,
    label: str | None = None,
    top_k: int = 5,
    pick: int | None = None,
    sources: list[str] | None = None,
) -> Summary:
    """Aggregate explanation records (dicts of the JSON contract); see the module docstring."""
    if top_k < 1:
        raise ParameterError("top_k must be at least 1")
    if pick is not None and pick < 1:
        raise ParameterError("pick must be at least 1")
    rows: list[tuple[dict[str, Any], str, dict[str, float]]] = []
    errors = skipped = 0
    for record in records:
        if "labels" not in record:
            errors += 1
            continue
        chosen = _choose_label(record, label)
        if chosen is None:
            skipped += 1
            continue
        weights: dict[str, float] = {}
        for feat in chosen.get("features", []):
            key = _feature_key(feat.get("feature"))
            weight = feat.get("weight")
            if weight is None or not math.isfinite(float(weight)):
                continue
            weights[key] = weights.get(key, 0.0) + float(weight)
        rows.append((record.get("input") or {}, str(chosen["label"]), weights))
    if not rows:
        what = f" explaining label {label!r}" if label is not None else ""
        raise InputDataError(f"no explanation records{what} to summarise")

    by_label: dict[str, list[dict[str, float]]] = {}
    for _, name, weights in rows:
        by_label.setdefault(name, []).append(weights)
    summaries = [
        LabelSummary(name, len(group), _aggregate(group, top_k))
        for name, group in sorted(by_label.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]
    picks = submodular_pick([(inp, name, w) for inp, name, w in rows], pick) if pick else None
    notes = []
    if picks and pick is not None and pick > len(rows):
        notes.append(
            f"The 'pick' parameter asks for {pick} explanations, but there are only "
            f"{len(rows)}: all {len(rows)} are picked."
        )
    return Summary(
        records=len(rows),
        errors=errors,
        skipped=skipped,
        top_k=top_k,
        labels=summaries,
        picks=picks,
        sources=sources or [],
        notes=notes,
    )


def _choose_label(record: dict[str, Any], label: str | None) -> dict[str, Any] | None:
    labels = record.get("labels") or []
    if label is None:
        return labels[0] if labels else None
    for lab in labels:
        if str(lab.get("label")) == label:
            return dict(lab)
    return None


def _feature_key(feature: Any) -> str:
    return feature if isinstance(feature, str) else json.dumps(feature)


def _aggregate(group: list[dict[str, float]], top_k: int) -> list[FeatureSummary]:
    n = len(group)
    abs_sum: dict[str, float] = {}
    signed_sum: dict[str, float] = {}
    in_top: dict[str, int] = {}
    positive: dict[str, int] = {}
    negative: dict[str, int] = {}
    for weights in group:
        ranked = sorted(weights.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
        top = {k for k, w in ranked[:top_k] if w != 0}  # a zero weight is in no top
        for key, w in weights.items():
            abs_sum[key] = abs_sum.get(key, 0.0) + abs(w)
            signed_sum[key] = signed_sum.get(key, 0.0) + w
            in_top[key] = in_top.get(key, 0) + (key in top)
            positive[key] = positive.get(key, 0) + (w > 0)
            negative[key] = negative.get(key, 0) + (w < 0)
    out = []
    for key in abs_sum:
        appearances = positive[key] + negative[key]
        consistency = max(positive[key], negative[key]) / appearances if appearances else 1.0
        out.append(
            FeatureSummary(
                feature=key,
                mean_abs_weight=abs_sum[key] / n,
                mean_weight=signed_sum[key] / n,
                top_k=in_top[key] / n,
                appearances=appearances,
                sign_consistency=consistency,
            )
        )
    out.sort(key=lambda f: (-f.mean_abs_weight, f.feature))
    return out


def submodular_pick(
    rows: list[tuple[dict[str, Any], str, dict[str, float]]], budget: int
) -> list[Pick]:
    """SP-LIME: greedy maximum coverage of global feature importance (see module docstring)."""
    features = sorted({key for _, _, w in rows for key in w})
    importance = {key: math.sqrt(sum(abs(w.get(key, 0.0)) for _, _, w in rows)) for key in features}
    total = sum(importance.values())
    if total == 0:  # no explanation has a feature weight: none is worth showing
        return []
    used = [{k for k, w in weights.items() if w != 0} for _, _, weights in rows]
    own = [sum(importance[k] for k in keys) for keys in used]  # c({i})
    covered: set[str] = set()
    left = list(range(len(rows)))
    picks: list[Pick] = []
    coverage = 0.0
    while left and len(picks) < budget:
        best, best_gain = left[0], -1.0
        for i in left:
            gain = sum(importance[k] for k in used[i] - covered)
            # Strict comparisons with a tolerance: on a tie the earlier record keeps its place.
            if gain > best_gain + 1e-15 or (
                abs(gain - best_gain) <= 1e-15 and own[i] > own[best] + 1e-15
            ):
                best, best_gain = i, gain
        left.remove(best)
        covered |= used[best]
        coverage += best_gain
        picks.append(
            Pick(
                rank=len(picks) + 1,
                input=rows[best][0],
                label=rows[best][1],
                gain=best_gain / total if total else 0.0,
                coverage=coverage / total if total else 0.0,
            )
        )
    return picks
