"""Audit rules on how far explanations can be trusted: settled top ranks and flat outputs.

Ground truth comes from two predict scripts on a table of 4 planted drivers and 20 noise
columns: ``drivers.py`` reads only the drivers (so exactly 4 ranks can be settled), and
``flat.py`` ignores its input (so there is nothing to explain).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import Result

from limecli.audit import AuditResult, PolicyError, load_policy, run_audit
from limecli.audit.items import AuditItem, RuleResult
from limecli.audit.reports import render_junit, render_markdown, render_table
from limecli.audit.rules import evaluate_rules
from limecli.audit.uncertainty import FLAT_REASON
from limecli.explanation import Explanation, FeatureWeight, LabelExplanation
from tests.conftest import ROOT

Run = Callable[..., Result]
DRIVERS = ["d1", "d2", "d3", "d4"]
NOISE = [f"n{i}" for i in range(1, 21)]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """data.csv (4 drivers, 20 noise columns) and the two predict scripts."""
    out = tmp_path_factory.mktemp("uncertainty")
    rng = np.random.default_rng(7)
    values = rng.normal(size=(200, len(DRIVERS) + len(NOISE)))
    lines = [",".join(DRIVERS + NOISE)] + [",".join(f"{v:.5f}" for v in row) for row in values]
    (out / "data.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "drivers.py").write_text(
        "import numpy as np\n"
        'MODE = "regression"\n'
        "def predict(batch):\n"
        "    x = np.asarray(batch, dtype=float)\n"
        "    return 4 * x[:, 0] + 3 * x[:, 1] + 2.5 * x[:, 2] + 2 * x[:, 3]\n",
        encoding="utf-8",
    )
    (out / "flat.py").write_text(
        "import numpy as np\n"
        'CLASS_NAMES = ["no", "yes"]\n'
        "def predict(batch):\n"
        "    return np.tile([0.25, 0.75], (len(batch), 1))\n",
        encoding="utf-8",
    )
    return out


def policy(
    folder: Path,
    name: str,
    rules: str,
    *,
    model: str = "drivers.py:predict",
    num_features: str = "10",
    num_samples: int = 1000,
) -> Path:
    """A policy in ``folder`` on rows 0-9 of data.csv, continuous features (no bins)."""
    path = folder / name
    path.write_text(
        f"""
[model]
path = "{model}"

[data]
kind = "tabular"
path = "data.csv"
rows = "0:10"

[explainer]
num_samples = {num_samples}
num_features = {num_features}
discretizer = "none"

{rules}
""",
        encoding="utf-8",
    )
    return path


def rule(rule_id: str, rule_type: str, extra: str = "") -> str:
    return f'[[rules]]\nid = "{rule_id}"\ntype = "{rule_type}"\n{extra}\n'


def by_id(result: AuditResult) -> dict[str, RuleResult]:
    return {r.rule.id: r for r in result.rules}


# -- flat outputs --------------------------------------------------------------------------------
def test_flat_model_fails_a_policy_forbidding_flat_outputs(folder: Path, run_cli: Run) -> None:
    path = policy(
        folder, "flat_forbidden.toml", rule("no-flat", "flat_outputs"), model="flat.py:predict"
    )
    result = run_cli("audit", path, "-q", "--json", folder / "flat.json")
    assert result.exit_code == 1, result.stderr
    # The rules judge flat outputs: no per-input warning floods the log.
    assert result.stderr == ""
    assert re.search(r"FAIL +no-flat +flat_outputs", result.stdout)
    assert "10 of 10 inputs (100%) have a flat output" in result.stdout
    assert (
        "flat output: the model's output for 'yes' does not change around this input "
        "(about 0.75 everywhere): nothing to explain" in result.stdout
    )
    assert "top for 'yes': (no features)" in result.stdout
    report = json.loads((folder / "flat.json").read_text(encoding="utf-8"))
    (checked,) = report["rules"]
    assert checked["type"] == "flat_outputs" and checked["status"] == "failed"
    assert checked["metrics"]["flat"] == 10 and len(checked["offenders"]) == 10
    assert all(o["features"] == [] and o["label"] == "yes" for o in checked["offenders"])


def test_flat_model_passes_a_policy_that_does_not_ask(folder: Path, run_cli: Run) -> None:
    rules = rule("no-noise", "forbidden_features", 'patterns = ["^n"]') + rule(
        "d1-up", "weight_bounds", 'feature = "d1"\nsign = "positive"'
    )
    path = policy(folder, "flat_not_asked.toml", rules, model="flat.py:predict")
    result = run_cli("audit", path, "-q")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stderr == ""
    # Passing, but the messages say what was (not) there to judge.
    assert "0 of 10 inputs (0%) have a forbidden feature in their top 10 (allowed: 0%); " in (
        result.stdout
    )
    assert "10 flat outputs (nothing to explain)" in result.stdout
    assert "'d1' is in none of the 10 explanations: nothing to judge" in result.stdout
    tolerant = policy(
        folder,
        "flat_tolerated.toml",
        rule("flat-ok", "flat_outputs", "max_fraction = 1.0"),
        model="flat.py:predict",
    )
    assert run_cli("audit", tolerant, "-q").exit_code == 0


def test_every_rule_copes_with_flat_labels(folder: Path) -> None:
    """Python API (pytest turns warnings into errors: the audit must not warn per input)."""
    rules = (
        rule("fit", "min_fidelity", "min_r2 = 0.5")
        + rule("needs-d1", "required_features", 'features = ["d1"]')
        + rule("top4", "stability", "top_k = 4")
        + rule("no-noise", "forbidden_features", 'patterns = ["^n"]\ntop_k = 3')
        + rule("d1-up", "weight_bounds", 'feature = "d1"\nsign = "positive"')
        + rule("other-label", "flat_outputs", 'label = "no"')
    )
    result = run_audit(policy(folder, "flat_all.toml", rules, model="flat.py:predict"))
    assert all(lab.flat for item in result.items for lab in item.explanation.labels)
    got = by_id(result)
    for rule_id in ("fit", "needs-d1", "top4"):
        judged = got[rule_id]
        assert judged.status == "failed", rule_id  # no R² / feature / settled top: not a pass
        assert {o.reason for o in judged.offenders} == {FLAT_REASON}
        assert len(judged.offenders) == 10 and judged.metrics["flat"] == 10
    assert "no input has an R²" in got["fit"].message
    assert got["no-noise"].status == "passed" and got["no-noise"].metrics["flat"] == 10
    assert got["d1-up"].status == "passed" and got["d1-up"].checked == 0
    other = got["other-label"]
    assert other.status == "failed" and "for 'no'" in other.offenders[0].reason
    assert "(about 0.25 everywhere)" in other.offenders[0].reason
    # Every report shows them like any other offender.
    table = render_table(result)
    assert "flat output: nothing to explain" in table and "(no features)" in table
    markdown = render_markdown(result)
    assert "| flat output: nothing to explain | (no features) |" in markdown
    suite = ET.fromstring(render_junit(result)).find("testsuite")
    assert suite is not None and suite.get("failures") == "4"
    case = suite.find("testcase[@name='top4']")
    assert case is not None and case.get("classname") == "audit.stability"
    failure = case.find("failure")
    assert failure is not None and failure.text and FLAT_REASON in failure.text


def test_drift_names_a_model_gone_flat(folder: Path, run_cli: Run) -> None:
    drift = rule(
        "drift", "drift", 'baseline = "drivers_baseline.jsonl"\ntop_k = 3\nmin_jaccard = 0.5'
    )
    made = run_cli(
        "audit",
        policy(folder, "base.toml", rule("fit", "min_fidelity", "min_r2 = 0.9")),
        "-q",
        "--baseline-out",
        folder / "drivers_baseline.jsonl",
    )
    assert made.exit_code == 0, made.stdout + made.stderr
    result = run_audit(policy(folder, "gone_flat.toml", drift, model="flat.py:predict"))
    (judged,) = result.rules
    assert judged.status == "failed" and judged.metrics["mean_jaccard"] == 0.0
    assert judged.metrics["flat"] == 10 and "10 flat outputs" in judged.message
    assert judged.offenders[0].reason == (
        "flat output now: nothing to explain (the baseline's top 3: d1, d2, d3)"
    )


# -- settled top ranks ---------------------------------------------------------------------------
def test_four_planted_drivers_settle_the_top_4_not_the_top_10(folder: Path, run_cli: Run) -> None:
    rules = rule("top4", "stability", "top_k = 4") + rule("top10", "stability")
    path = policy(folder, "settled.toml", rules)
    result = run_cli("audit", path, "-q", "--json", folder / "settled.json", "--show", "1")
    assert result.exit_code == 1, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert "PASS top4: 0 of 10 inputs (0%) have a top 4 that is not settled" in out
    assert "FAIL top10: 10 of 10 inputs (100%) have a top 10 that is not settled" in out
    assert "settled ranks: fewest 4, median 4" in out
    report = json.loads((folder / "settled.json").read_text(encoding="utf-8"))
    top4, top10 = report["rules"]
    assert top4["status"] == "passed" and top4["metrics"]["top_k"] == 4
    assert top10["status"] == "failed" and len(top10["offenders"]) == 10
    for offender in top10["offenders"]:
        # Why: the top 10 holds 6 noise columns, which swap; the 4 drivers lead and settle.
        assert offender["reason"].startswith("top 10 not settled: the same set in ")
        assert offender["reason"].endswith("of 20 resamples (needs 95%); settled: top 4")
        assert sorted(f["feature"] for f in offender["features"][:4]) == DRIVERS
        assert all(f["feature"] in NOISE for f in offender["features"][4:])


def test_settled_is_read_at_rank_k_and_missing_figures_never_pass(folder: Path) -> None:
    """The rule reads top_m_same[k-1] (at 95%, as the library counts), not settled_top."""
    path = policy(
        folder,
        "unit.toml",
        rule("top2", "stability", "top_k = 2")
        + rule("top3", "stability", "top_k = 3")
        + rule("top4", "stability", "top_k = 4"),
    )
    loaded = load_policy(path)

    def item(
        row: int, same: list[float] | None, features: int = 4, auto: bool = False
    ) -> AuditItem:
        weights = [FeatureWeight(f"d{j}", f"d{j}", 0.0, 4.0 - j) for j in range(features)]
        stability = None
        if same is not None:
            settled = next((m for m in range(len(same), 0, -1) if same[m - 1] >= 0.95), 0)
            stability = {"replicates": 20, "top_m_same": same, "settled_top": settled}
        label = LabelExplanation("prediction", 0, 0.0, 0.9, 1.0, 1.0, weights, stability=stability)
        params = {"num_features": "auto" if auto else 10}
        exp = Explanation(
            "tabular",
            "regression",
            {"source": "d.csv", "row": row},
            {"value": 1.0},
            [label],
            params,
        )
        return AuditItem(exp.input, exp)

    # Rank 2 settled at exactly 19/20, rank 3 not: ranks 3 and 4 trade places, so the top-3
    # set changes while the top-4 set does not (settled_top is 4 and would call it settled).
    same = [1.0, 19 / 20, 18 / 20, 1.0]
    results = {r.rule.id: r for r in evaluate_rules(loaded, [item(0, same)])}
    assert results["top2"].status == "passed"
    assert results["top3"].status == "failed"
    assert results["top3"].offenders[0].reason == (
        "top 3 not settled: the same set in 90% of 20 resamples (needs 95%); ranks 3-4 swap "
        "among themselves (the top 4 is settled)"
    )
    assert results["top4"].status == "passed"

    # No stability figures: an offender with its reason, never a silent pass.
    (none,) = [r for r in evaluate_rules(loaded, [item(1, None)]) if r.rule.id == "top2"]
    assert none.status == "failed"
    assert none.offenders[0].reason.startswith("no stability figures in the explanation")
    # Fewer features than top_k: with a fixed num_features the top k is all of them ...
    fewer = {r.rule.id: r for r in evaluate_rules(loaded, [item(2, [1.0, 1.0], features=2)])}
    assert fewer["top4"].status == "passed"
    # ... but under "auto" the missing ranks were dropped as indistinguishable from zero.
    auto = {r.rule.id: r for r in evaluate_rules(loaded, [item(3, [1.0, 1.0], 2, auto=True)])}
    assert auto["top4"].status == "failed"
    assert auto["top4"].offenders[0].reason == (
        'only 2 features distinguishable from zero (num_features = "auto"): ranks 3-4 are '
        "not settled"
    )
    empty = {r.rule.id: r for r in evaluate_rules(loaded, [item(4, None, 0, auto=True)])}
    assert empty["top2"].offenders[0].reason == (
        "no feature is distinguishable from zero: no top 2 to settle"
    )


# -- num_features = "auto" -----------------------------------------------------------------------
def test_auto_policy_runs_and_keeps_the_drivers(folder: Path, run_cli: Run) -> None:
    rules = (
        rule("no-noise", "forbidden_features", 'patterns = ["^n"]')
        + rule("all-drivers", "required_features", 'features = ["d4"]')
        + rule("top4", "stability", "top_k = 4")
        + rule("top10", "stability", "top_k = 10")
    )
    path = policy(folder, "auto.toml", rules, num_features='"auto"')
    loaded = load_policy(path)
    assert loaded.explainer["num_features"] == "auto"
    assert loaded.rules[0].options["top_k"] == 10  # the cap
    result = run_cli("audit", path, "-q", "--json", folder / "auto.json")
    assert result.exit_code == 1, result.stderr
    report = json.loads((folder / "auto.json").read_text(encoding="utf-8"))
    status = {r["id"]: r["status"] for r in report["rules"]}
    assert status == {
        "no-noise": "passed",
        "all-drivers": "passed",
        "top4": "passed",
        "top10": "failed",
    }
    top10 = report["rules"][3]
    assert {o["reason"] for o in top10["offenders"]} == {
        'only 4 features distinguishable from zero (num_features = "auto"): ranks 5-10 are '
        "not settled"
    }
    assert all(sorted(f["feature"] for f in o["features"]) == DRIVERS for o in top10["offenders"])


@pytest.mark.parametrize(
    ("explainer", "rules", "problem"),
    [
        (
            'num_features = "many"',
            rule("r", "flat_outputs"),
            'explainer.num_features: expected an integer of at least 1 or "auto", got a string',
        ),
        (
            "num_features = 0",
            rule("r", "flat_outputs"),
            'explainer.num_features: expected an integer of at least 1 or "auto", got an integer',
        ),
        (
            'num_features = "auto"',
            rule("r", "forbidden_features", 'features = ["d1"]\ntop_k = 11'),
            'rules[0].top_k: top_k is 11 but with explainer.num_features = "auto" explanations '
            "hold at most 10 features",
        ),
        (
            'num_features = "auto"',
            rule("r", "stability"),
            'with num_features = "auto" a stability rule names top_k',
        ),
        (
            "num_features = 4\nnum_samples = 99",
            rule("r", "stability"),
            "rules[0].type: a stability rule needs explainer.num_samples >= 100 (got 99)",
        ),
        (
            "num_features = 4",
            rule("r", "stability", "top_k = 5"),
            "rules[0].top_k: top_k is 5 but explanations hold explainer.num_features = 4",
        ),
        (
            "num_features = 4",
            rule("r", "flat_outputs", "top_k = 2"),
            "rules[0].top_k: unknown key",
        ),
    ],
)
def test_policy_errors(
    tmp_path: Path, run_cli: Run, explainer: str, rules: str, problem: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        f'[model]\npath = "m.joblib"\n[data]\nkind = "tabular"\npath = "d.csv"\n'
        f"[explainer]\n{explainer}\n{rules}",
        encoding="utf-8",
    )
    with pytest.raises(PolicyError, match=r"bad\.toml line"):
        load_policy(path)
    result = run_cli("audit", path)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("Error: ") and problem in result.stderr, result.stderr


def test_trust_sample_passes_with_a_warning(run_cli: Run) -> None:
    result = run_cli("audit", ROOT / "examples" / "audit" / "tabular_trust.toml", "-q")
    assert result.exit_code == 0, result.stdout
    assert "audit PASSED: 3 passed, 1 warning (4 rules, 50 inputs)" in result.stdout
    assert "WARN third-reason-settled: " in result.stdout
