"""SP-LIME's pick: K explanations whenever K exist, by greedy coverage, in closed form.

The paper's Algorithm 2 adds the explanation with the largest coverage gain
until the budget B is spent, even once nothing adds coverage; ``summary
--pick 3`` used to stop there and return 1 explanation when all of them used
the same features.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from limecli.summary import submodular_pick, summarize


def _record(source: str, weights: dict[str, float], label: str = "a") -> dict:
    return {
        "input": {"source": source},
        "labels": [
            {"label": label, "features": [{"feature": k, "weight": w} for k, w in weights.items()]}
        ],
    }


def _sources(summary) -> list[str]:
    return [p.input["source"] for p in summary.picks]


def test_gains_and_coverage_in_closed_form_then_the_budget_is_spent() -> None:
    records = [
        _record("A", {"f1": 1.0, "f2": 0.5}),
        _record("B", {"f1": 1.0, "f2": 0.6}),  # A's features: adds nothing after A
        _record("C", {"f3": 0.7}),
        _record("D", {"f4": 0.01}),
    ]
    # I_j = sqrt(sum_i |W_ij|)
    i1, i2, i3, i4 = math.sqrt(2.0), math.sqrt(1.1), math.sqrt(0.7), math.sqrt(0.01)
    total = i1 + i2 + i3 + i4
    summary = summarize(records, pick=4)
    assert _sources(summary) == ["A", "C", "D", "B"]  # B ties A on gain: the earlier first
    assert [p.gain for p in summary.picks] == pytest.approx(
        [(i1 + i2) / total, i3 / total, i4 / total, 0.0]
    )
    assert [p.coverage for p in summary.picks] == pytest.approx(
        [(i1 + i2) / total, (i1 + i2 + i3) / total, 1.0, 1.0]
    )
    assert summary.notes == []


def test_the_same_features_everywhere_still_give_k_picks() -> None:
    """The reported case: every explanation uses the same features; K asked, K given."""
    records = [_record(f"r{i}", {"x0": 1.0 + i, "x1": -0.5}) for i in range(5)]
    summary = summarize(records, pick=3)
    assert _sources(summary) == ["r0", "r1", "r2"]
    assert summary.picks[0].coverage == pytest.approx(1.0)
    assert [p.gain for p in summary.picks[1:]] == [0.0, 0.0]


def test_without_gain_the_larger_own_coverage_goes_first() -> None:
    # After P, neither Q nor R adds coverage; R alone covers a and b, Q only a.
    rows = [
        ({"source": "P"}, "a", {"a": 1.0, "b": 1.0}),
        ({"source": "Q"}, "a", {"a": 1.0, "b": 0.0}),  # a zero weight uses nothing
        ({"source": "R"}, "a", {"a": 1.0, "b": 1.0}),
    ]
    assert [p.input["source"] for p in submodular_pick(rows, 3)] == ["P", "R", "Q"]


def test_fewer_explanations_than_k_picks_all_and_says_so() -> None:
    records = [_record("A", {"f": 1.0}), _record("B", {}), _record("C", {"g": 2.0})]
    summary = summarize(records, pick=5)
    assert _sources(summary) == ["C", "A", "B"]  # B has no weight at all: last
    assert summary.notes == [
        "The 'pick' parameter asks for 5 explanations, but there are only 3: all 3 are picked."
    ]
    assert "notes" not in summary.to_dict()


def test_pick_through_the_cli(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    records = [_record(f"r{i}", {"x0": 1.0 + i, "x1": -0.5}) for i in range(5)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    three = run_cli("summary", path, "--pick", "3", "--format", "json")
    assert three.exit_code == 0, three.stderr
    assert [p["rank"] for p in json.loads(three.stdout)["pick"]] == [1, 2, 3]
    assert three.stderr == ""
    many = run_cli("summary", path, "--pick", "9", "--format", "csv")
    assert many.exit_code == 0
    assert len(many.stdout.splitlines()) == 1 + 5
    assert many.stderr == (
        "Note: --pick asks for 9 explanations, but there are only 5: all 5 are picked.\n"
    )
    quiet = run_cli("summary", path, "--pick", "9", "--format", "csv", "-q")
    assert quiet.stderr == "" and quiet.stdout == many.stdout
