"""JSON and JSON Lines output of the explanation contract."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from limecli.explanation import Explanation


def render_json(explanations: Sequence[Explanation]) -> str:
    """One explanation: the object itself; several: a JSON array of them."""
    if len(explanations) == 1:
        return explanations[0].to_json(indent=2) + "\n"
    body = ",\n".join(e.to_json(indent=2) for e in explanations)
    return f"[\n{body}\n]\n"


def render_jsonl(explanations: Sequence[Explanation]) -> str:
    return "".join(e.to_json(indent=None) + "\n" for e in explanations)
