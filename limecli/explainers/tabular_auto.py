"""``num_samples="auto"`` for tabular explanations: start, ceiling, and when to double.

The reference's 5000 samples, doubled once to 10000 only when that is expected
to settle more ranks (see :mod:`limecli.stability`): a boundary m (the top m
features against the rest) is settled when the top-m set is the same in 95%
of the stability replicates, and ``settled_top`` counts the settled top ranks.
Doubling shrinks every standard error by sqrt(2). A boundary past the settled
top is worth the samples when, at twice the samples, its gap is expected to
span :data:`~limecli.uncertainty.SETTLE_Z` standard errors (settled in at
least half of the draws): both the gap between the weights either side (the
smallest over pairs, a weight not told apart from zero shrinking with its
error, as noise does) and the gap its replicate share stands for. Truly tied
or noise features, which never settle, do not double; nor does an explanation
whose ranks are all settled. ``params["num_samples_auto"]`` records why it
stopped.

Measured (``auto`` against the same rows forced to 10000, pool seeds 0-2): on
the shipped breast-cancer forest it doubles 16-44 of the 114 test rows; the
boundaries it doubles for settle at 10000 in 55-74% of cases, the others in
8-17%, and the settled top grows by 3.4-3.7 ranks on the rows it doubles
against 0.8-1.8 on those it keeps. On a planted-driver model (5 drivers, 7
noise columns) it doubles 11-28 of 200 rows (+1.4-1.9 ranks against
+0.2-0.8). More samples keep settling a few ranks that no 5000-sample figure
predicts (a noise weight shrinking away from a driver's): declining saves a
doubling's cost, it does not prove nothing would change.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Any

import numpy as np

from limecli.explanation import Explanation, LabelExplanation
from limecli.uncertainty import SETTLE_Z, boundary_z

#: One doubling at most: on the breast-cancer benchmark, larger ceilings bought no
#: more stability across seeds (features truly tied never settle) and cost more
#: model calls.
AUTO = "auto"
AUTO_START = 5000
AUTO_MAX = 10000
#: What doubling the samples does to every standard error.
SHRINK = float(np.sqrt(2.0))


def resolvable(label: LabelExplanation) -> list[int]:
    """The boundaries m past the settled top that doubling is expected to settle."""
    stability = label.stability
    if label.flat or not stability or not label.features:
        return []
    same = np.asarray(stability.get("top_m_same") or [], dtype=float)
    k = min(len(same), len(label.features))
    if k == 0:
        return []
    features = label.features[:k]
    # At twice the samples: every error shrinks by sqrt(2), and so does a weight not told
    # apart from zero (read as noise, whose size is its error's); a real one stays.
    size = np.array([abs(f.weight) for f in features])
    noise = np.array([not f.extra.get("distinguishable_from_zero", True) for f in features])
    errors = np.array([f.extra.get("std_error", 0.0) for f in features]) / SHRINK
    gaps = np.append(boundary_z(np.where(noise, size / SHRINK, size), errors), np.inf)
    # The replicate shares, read as gaps (a share s keeping the top-m set is inv_cdf(s)
    # errors; 0 or 1 is beyond what the replicates place: half a replicate from the edge
    # stands for it), see competitors the pairs cannot: features left out, several at once.
    replicates = int(stability.get("replicates") or 20)
    shares = np.clip(same[:k], 0.5 / replicates, 1 - 0.5 / replicates)
    z = np.minimum(gaps, [NormalDist().inv_cdf(float(v)) * SHRINK for v in shares])
    candidates = int(stability.get("candidates") or k + 1)
    top = int(stability.get("settled_top") or 0)
    # Past the settled top only: settling a boundary inside it would not change how many
    # ranks are settled. The set of every candidate is the same in any draw: not a boundary.
    return [m for m in range(top + 1, min(k, candidates - 1) + 1) if z[m - 1] >= SETTLE_Z]


def unsettled(label: LabelExplanation) -> bool:
    """Whether some boundary of ``label`` past its settled top is not settled."""
    stability = label.stability
    if label.flat or not stability:
        return False
    k = len(stability.get("top_m_same") or [])
    candidates = int(stability.get("candidates") or k + 1)
    return int(stability.get("settled_top") or 0) < min(k, candidates - 1)


def next_step(explanation: Explanation, n: int) -> tuple[str | None, list[dict[str, Any]]]:
    """Why to stop at ``n`` samples (None: double) and the boundaries doubling would settle.

    Stops: "settled" (every boundary is), "ties" (the unsettled ones are too
    close for twice the samples to tell apart), "max" (the ceiling).
    """
    wanted = [
        {"label": lab.label, "boundary": m} for lab in explanation.labels for m in resolvable(lab)
    ]
    if not any(unsettled(lab) for lab in explanation.labels):
        return "settled", wanted
    if not wanted:
        return "ties", wanted
    if n >= AUTO_MAX:
        return "max", wanted
    return None, wanted


def auto_params(stopped: str, doubled_for: list[dict[str, Any]]) -> dict[str, Any]:
    """What ``params["num_samples_auto"]`` records of the policy and of this decision.

    ``doubled_for``: the boundaries that made it double (empty if it did not).
    """
    return {
        "start": AUTO_START,
        "max": AUTO_MAX,
        "settle_z": SETTLE_Z,
        "stopped": stopped,
        "doubled_for": doubled_for,
    }
