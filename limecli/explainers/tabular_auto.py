"""``num_samples="auto"`` for tabular explanations: start, ceiling, and when to stop growing.

The reference's 5000 samples, doubled to 10000 unless the selected features
are settled: unless at most 5% of the stability replicates would pick another
set (see :mod:`limecli.stability`).
"""

from __future__ import annotations

from typing import Any

from limecli.explanation import Explanation

#: One doubling at most: on the breast-cancer benchmark, larger ceilings bought no
#: more stability across seeds (features truly tied never settle) and cost more
#: model calls; 10000 keeps the average cost within the reference's default budget.
AUTO = "auto"
AUTO_START = 5000
AUTO_MAX = 10000
AUTO_TOLERANCE = 0.05


def settled(explanation: Explanation) -> bool:
    """Whether every label's top features are stable enough to stop doubling."""
    return all(
        (lab.stability or {}).get("top_k_change_probability", 0.0) <= AUTO_TOLERANCE
        for lab in explanation.labels
    )


def auto_params() -> dict[str, Any]:
    """What ``params["num_samples_auto"]`` records of the policy."""
    return {"start": AUTO_START, "max": AUTO_MAX, "tolerance": AUTO_TOLERANCE}
