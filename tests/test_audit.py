"""``limecli audit``: every rule type passing and failing, exit codes, reports, drift, samples."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from limecli.audit import AuditResult, load_policy, run_audit, write_baseline
from limecli.audit.reports import render_junit, render_markdown
from limecli.audit.rules import AuditItem, evaluate_rules
from limecli.errors import InputDataError, ParameterError
from limecli.explanation import Explanation, FeatureWeight, LabelExplanation
from tests.conftest import ROOT, SAMPLE_DATA, SAMPLE_MODELS

EXAMPLES = ROOT / "examples" / "audit"
Run = Callable[..., Result]


def loans_policy(
    tmp_path: Path,
    rules: str,
    *,
    model: str | Path = SAMPLE_MODELS / "loans_pipeline.joblib",
    rows: str = "0:20",
    name: str = "audit.toml",
    explainer: str = "",
) -> Path:
    """A loans policy with absolute paths, 500 samples, 6 features and the given rules."""
    path = tmp_path / name
    path.write_text(
        f"""
[model]
path = '{model}'

[data]
kind = "tabular"
path = '{SAMPLE_DATA / "loans_test.csv"}'
train = '{SAMPLE_DATA / "loans_train.csv"}'
rows = "{rows}"

[explainer]
num_samples = 500
num_features = 6
{explainer}

{rules}
""",
        encoding="utf-8",
    )
    return path


def statuses(result: AuditResult) -> dict[str, str]:
    return {r.rule.id: r.status for r in result.rules}


# -- each rule type, passing and failing (Python API) ---------------------------------------------
def test_forbidden_features_pass_and_fail(tmp_path: Path) -> None:
    result = run_audit(
        loans_policy(
            tmp_path,
            """
[[rules]]
id = "irrelevant-out-of-top-2"
type = "forbidden_features"
features = ["age", "region", "noise"]
top_k = 2

[[rules]]
id = "income-forbidden"
type = "forbidden_features"
patterns = ["^inc"]
top_k = 3
""",
        )
    )
    assert statuses(result) == {"irrelevant-out-of-top-2": "passed", "income-forbidden": "failed"}
    failed = result.rules[1]
    assert failed.checked == 20 and 0 < len(failed.offenders) <= 20
    first = failed.offenders[0]
    assert "income #" in first.reason
    assert any(f["feature"] == "income" for f in first.features)
    assert not result.passed and result.exit_code == 1


def test_forbidden_max_fraction_tolerates_a_share(tmp_path: Path) -> None:
    rule = """
[[rules]]
id = "income-rarely"
type = "forbidden_features"
features = ["income"]
top_k = 1
max_fraction = {fraction}
"""
    strict = run_audit(loans_policy(tmp_path, rule.format(fraction=0.0), name="a.toml"))
    share = strict.rules[0].metrics["fraction"]
    assert 0 < share < 1
    loose = run_audit(loans_policy(tmp_path, rule.format(fraction=share), name="b.toml"))
    assert strict.rules[0].status == "failed" and loose.rules[0].status == "passed"


def test_required_features_pass_and_fail(tmp_path: Path) -> None:
    result = run_audit(
        loans_policy(
            tmp_path,
            """
[[rules]]
id = "drivers"
type = "required_features"
features = ["income", "debt_ratio", "employment"]
top_k = 2

[[rules]]
id = "noise-required"
type = "required_features"
severity = "warning"
features = ["noise"]
top_k = 1
""",
        )
    )
    assert statuses(result) == {"drivers": "passed", "noise-required": "failed"}
    assert result.passed  # only a warning failed
    assert result.exit_code == 0 and len(result.warnings) == 1
    assert "none of 'noise' in the top 1" in result.rules[1].offenders[0].reason


def test_weight_bounds_sign_per_label_and_filter(tmp_path: Path) -> None:
    result = run_audit(
        loans_policy(
            tmp_path,
            """
[[rules]]
id = "high-debt-rejects"
type = "weight_bounds"
label = "rejected"
feature = "debt_ratio"
sign = "positive"
where = { values = { debt_ratio = { min = 0.6 } } }

[[rules]]
id = "high-debt-approves"
type = "weight_bounds"
label = "approved"
feature = "debt_ratio"
sign = "positive"
where = { values = { debt_ratio = { min = 0.6 } } }

[[rules]]
id = "tiny-weights"
type = "weight_bounds"
pattern = "^(income|employment)$"
min = -0.01
max = 0.01
""",
        )
    )
    assert statuses(result) == {
        "high-debt-rejects": "passed",
        "high-debt-approves": "failed",
        "tiny-weights": "failed",
    }
    judged = result.rules[0].checked
    assert judged >= 1
    # The filter kept only rows with debt_ratio >= 0.6.
    assert all(item.values is not None for item in result.items)
    offender = result.rules[1].offenders[0]
    assert offender.label == "approved" and "not positive" in offender.reason


def test_min_fidelity_pass_and_fail(tmp_path: Path) -> None:
    result = run_audit(
        loans_policy(
            tmp_path,
            """
[[rules]]
id = "loose"
type = "min_fidelity"
min_r2 = -1.0

[[rules]]
id = "strict"
type = "min_fidelity"
min_r2 = 0.99
""",
        )
    )
    assert statuses(result) == {"loose": "passed", "strict": "failed"}
    assert len(result.rules[1].offenders) == 20
    assert "local fit R²" in result.rules[1].offenders[0].reason


def test_row_filters(tmp_path: Path) -> None:
    result = run_audit(
        loans_policy(
            tmp_path,
            """
[[rules]]
id = "approved-only"
type = "min_fidelity"
min_r2 = -1.0
where = { predicted = "approved" }

[[rules]]
id = "rows"
type = "min_fidelity"
min_r2 = -1.0
where = { rows = [1, 3], source = "loans_*.csv" }

[[rules]]
id = "typo"
type = "min_fidelity"
min_r2 = -1.0
where = { predicted = "aproved" }
""",
        )
    )
    approved = sum(i.explanation.prediction["label"] == "approved" for i in result.items)
    assert 0 < approved < 20
    assert result.rules[0].checked == approved
    assert result.rules[1].checked == 2
    # A filter that keeps nothing checks nothing: that fails, it does not pass silently.
    assert result.rules[2].status == "failed" and "kept none of the 20" in result.rules[2].message


def test_rows_as_limecli_tabular_takes_them(tmp_path: Path, run_cli: Run) -> None:
    """``rows = "195:"`` (to the end) as ``--rows 195:``; ``where.rows`` takes the same specs."""
    rule = (
        '[[rules]]\nid = "tail"\ntype = "min_fidelity"\nmin_r2 = -1.0\nwhere = { rows = "198:" }\n'
    )
    path = loans_policy(tmp_path, rule, rows="195:")
    result = run_cli("audit", path, "-q", "--json", "-")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["inputs"] == 5 and report["rules"][0]["checked"] == 2
    explained = run_audit(path)
    assert [i.identity["row"] for i in explained.items] == [195, 196, 197, 198, 199]


def test_text_table_rows_to_the_end(tmp_path: Path) -> None:
    table = tmp_path / "posts.csv"
    table.write_text("body\nrocket launch\norbit\nflu shot\nvaccine\n", encoding="utf-8")
    path = tmp_path / "text.toml"
    path.write_text(
        f"[model]\npath = '{SAMPLE_MODELS / 'text_newsgroups.joblib'}'\n"
        '[data]\nkind = "text"\npath = "posts.csv"\ncolumn = "body"\nrows = "2:"\n'
        "[explainer]\nnum_samples = 50\n" + PASSING,
        encoding="utf-8",
    )
    result = run_audit(path)
    assert [i.identity for i in result.items] == [
        {"source": "posts.csv", "index": 2},
        {"source": "posts.csv", "index": 3},
    ]
    path.write_text(path.read_text().replace('rows = "2:"', 'rows = "1:9"'), encoding="utf-8")
    with pytest.raises(
        InputDataError, match=r"data\.rows: rows 1:9 reach past the end: posts\.csv"
    ):
        run_audit(path)


def test_unknown_feature_name_is_a_policy_error(tmp_path: Path) -> None:
    path = loans_policy(
        tmp_path, '[[rules]]\nid = "r"\ntype = "forbidden_features"\nfeatures = ["incme"]\n'
    )
    with pytest.raises(ParameterError, match=r"rules\[0\]\.features: 'incme' is not a feature"):
        run_audit(path)


def test_reproducible_for_any_jobs(tmp_path: Path) -> None:
    path = loans_policy(
        tmp_path,
        '[[rules]]\nid = "r"\ntype = "forbidden_features"\nfeatures = ["income"]\ntop_k = 3\n',
        rows="0:40",
    )
    first = run_audit(path).to_dict()
    assert run_audit(path).to_dict() == first
    assert run_audit(path, jobs=2).to_dict() == first


# -- drift -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def age_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second loans model that leans on age (an irrelevant column) instead of the drivers."""
    import joblib
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    train = pd.read_csv(SAMPLE_DATA / "loans_train.csv")
    features = train.drop(columns=["decision"])
    target = np.where(features["age"] > 45, "rejected", "approved")
    numeric = ["income", "debt_ratio", "age", "noise"]
    model = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        ("cat", OneHotEncoder(handle_unknown="ignore"), ["employment", "region"]),
                        ("num", StandardScaler(), numeric),
                    ]
                ),
            ),
            ("clf", LogisticRegression(max_iter=1000)),
        ]
    ).fit(features, target)
    path = tmp_path_factory.mktemp("models") / "loans_age.joblib"
    joblib.dump(model, path)
    return path


DRIFT_RULE = """
[[rules]]
id = "stable-explanations"
type = "drift"
baseline = "baseline.jsonl"
top_k = 3
min_jaccard = 0.6
"""


def test_drift_across_two_models(tmp_path: Path, run_cli: Run, age_model: Path) -> None:
    first = loans_policy(
        tmp_path, '[[rules]]\nid = "fit"\ntype = "min_fidelity"\nmin_r2 = -1.0\n', name="a.toml"
    )
    made = run_cli("audit", first, "-q", "--baseline-out", tmp_path / "baseline.jsonl")
    assert made.exit_code == 0, made.stderr
    lines = (tmp_path / "baseline.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 20
    assert Explanation.from_json(lines[0]).input == {
        "source": str(SAMPLE_DATA / "loans_test.csv"),
        "row": 0,
    }

    same = run_audit(loans_policy(tmp_path, DRIFT_RULE, name="same.toml"))
    assert same.rules[0].status == "passed"
    assert same.rules[0].metrics["mean_jaccard"] == 1.0 and same.rules[0].checked == 20

    other = loans_policy(tmp_path, DRIFT_RULE, name="other.toml", model=age_model)
    moved = run_audit(other)
    rule = moved.rules[0]
    assert rule.status == "failed"
    assert rule.metrics["mean_jaccard"] < 0.6
    assert rule.offenders and "age" in rule.offenders[0].reason  # age joined the top 3
    flipped = {f["feature"] for f in rule.metrics["sign_flips"]}
    assert flipped  # the age model's mean weights turn around
    result = run_cli("audit", other, "-q")
    assert result.exit_code == 1
    assert "FAIL" in result.stdout and "stable-explanations" in result.stdout


def test_drift_sign_flip_alone(tmp_path: Path) -> None:
    def item(weight: float, row: int) -> AuditItem:
        label = LabelExplanation(
            "yes",
            1,
            0.0,
            0.9,
            0.5,
            0.5,
            [FeatureWeight("a > 1", "a", 2, weight), FeatureWeight("b", "b", 1, 0.1)],
        )
        exp = Explanation(
            "tabular",
            "classification",
            {"source": "d.csv", "row": row},
            {"label": "yes", "probabilities": {"no": 0.4, "yes": 0.6}},
            [label],
            {},
        )
        return AuditItem(exp.input, exp)

    path = tmp_path / "p.toml"
    path.write_text(
        '[model]\npath = "m"\n[data]\nkind = "tabular"\npath = "d.csv"\n'
        '[[rules]]\nid = "d"\ntype = "drift"\nbaseline = "b.jsonl"\nsign_flips = true\n',
        encoding="utf-8",
    )
    policy = load_policy(path)
    baseline = [item(0.3, 0).explanation.to_dict(), item(0.2, 1).explanation.to_dict()]
    flipped = evaluate_rules(policy, [item(-0.3, 0), item(-0.2, 1)], baselines={"d": baseline})
    kept = evaluate_rules(policy, [item(0.25, 0), item(0.2, 1)], baselines={"d": baseline})
    assert flipped[0].status == "failed" and flipped[0].metrics["sign_flips"][0]["feature"] == "a"
    assert "a +0.2500 -> -0.2500" in flipped[0].message
    assert kept[0].status == "passed"


def test_drift_missing_baseline(tmp_path: Path, run_cli: Run) -> None:
    path = loans_policy(tmp_path, DRIFT_RULE)
    result = run_cli("audit", path, "-q")
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: ") and "baseline file" in result.stderr
    assert "--baseline-out" in result.stderr
    skip = loans_policy(tmp_path, DRIFT_RULE + 'missing_baseline = "skip"\n', name="skip.toml")
    skipped = run_cli("audit", skip, "-q", "--junit", tmp_path / "r.xml")
    assert skipped.exit_code == 0
    suite = ET.parse(tmp_path / "r.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("skipped") == "1"


def test_baseline_that_is_not_explanations(tmp_path: Path) -> None:
    (tmp_path / "baseline.jsonl").write_text('{"x": 1}\n', encoding="utf-8")
    with pytest.raises(InputDataError, match="not a limecli explanation"):
        run_audit(loans_policy(tmp_path, DRIFT_RULE))


# -- exit codes through the command line ------------------------------------------------------
PASSING = '[[rules]]\nid = "fit"\ntype = "min_fidelity"\nmin_r2 = -1.0\n'
FAILING = '[[rules]]\nid = "fit"\ntype = "min_fidelity"\nmin_r2 = 0.99\n'


def test_exit_0_pass_and_1_rule_failed(tmp_path: Path, run_cli: Run) -> None:
    ok = run_cli("audit", loans_policy(tmp_path, PASSING, name="ok.toml"), "-q")
    assert ok.exit_code == 0 and ok.stderr == ""
    assert "PASS" in ok.stdout and "audit PASSED: 1 passed (1 rules, 20 inputs)" in ok.stdout
    bad = run_cli("audit", loans_policy(tmp_path, FAILING, name="bad.toml"), "-q")
    assert bad.exit_code == 1 and bad.stderr == ""
    assert "audit FAILED: 0 passed, 1 failed" in bad.stdout
    assert "loans_test.csv row 0" in bad.stdout  # an offending input, with its explanation
    assert "top for '" in bad.stdout


def test_exit_2_bad_option(tmp_path: Path, run_cli: Run) -> None:
    path = loans_policy(tmp_path, PASSING)
    result = run_cli("audit", path, "--json", "-", "--junit", "-")
    assert result.exit_code == 2 and "only one report can go to stdout" in result.stderr
    result = run_cli("audit", path, "--json", tmp_path / "missing" / "r.json")
    assert result.exit_code == 2 and result.stderr.startswith("Error: folder")


def test_exit_3_bad_data(tmp_path: Path, run_cli: Run) -> None:
    path = loans_policy(tmp_path, PASSING, rows="0:999")
    result = run_cli("audit", path, "-q")
    assert result.exit_code == 3
    # The message of `limecli tabular --rows 0:999`, placed in the policy.
    assert "data.rows: rows 0:999 reach past the end: " in result.stderr
    assert "loans_test.csv has 200 rows (0 to 199)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""
    one = run_cli("audit", loans_policy(tmp_path, PASSING, rows="3,200", name="b.toml"), "-q")
    assert one.exit_code == 3 and "data.rows: row 200 is out of range" in one.stderr


def test_exit_4_model_cannot_load(tmp_path: Path, run_cli: Run) -> None:
    path = loans_policy(tmp_path, PASSING, model=tmp_path / "nope.joblib")
    result = run_cli("audit", path, "-q")
    assert result.exit_code == 4 and result.stderr.startswith("Error: ")
    assert "Traceback" not in result.stderr


def test_exit_5_model_call_fails(tmp_path: Path, run_cli: Run) -> None:
    script = tmp_path / "broken.py"
    script.write_text(
        "CLASS_NAMES = ['approved', 'rejected']\n"
        "def predict(batch):\n    raise RuntimeError('the scoring service is down')\n",
        encoding="utf-8",
    )
    policy = tmp_path / "audit.toml"
    policy.write_text(
        f"""
[model]
path = "broken.py:predict"
[data]
kind = "text"
path = '{SAMPLE_DATA / "text" / "leak_post.txt"}'
[explainer]
num_samples = 50
[[rules]]
id = "fit"
type = "min_fidelity"
min_r2 = 0.0
""",
        encoding="utf-8",
    )
    result = run_cli("audit", policy, "-q")
    assert result.exit_code == 5, result.stderr
    assert "the scoring service is down" in result.stderr
    assert "cannot judge them" in result.stderr


# -- reports -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def leak_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    """The shipped text-leak sample, run once through the command line with every report."""
    from click.testing import CliRunner

    from limecli.cli import cli

    out = tmp_path_factory.mktemp("leak")
    result = CliRunner().invoke(
        cli,
        [
            "audit",
            str(EXAMPLES / "text_leak.toml"),
            "-q",
            "--json",
            str(out / "report.json"),
            "--junit",
            str(out / "report.xml"),
            "--markdown",
            str(out / "summary.md"),
            "--show",
            "3",
        ],
        catch_exceptions=False,
    )
    return result, out


def test_text_leak_sample_fails_on_the_header_token(leak_run: tuple[Result, Path]) -> None:
    result, _ = leak_run
    assert result.exit_code == 1
    assert result.stderr == ""
    assert re.search(r"^FAIL +no-mail-header-tokens ", result.stdout, re.MULTILINE)
    assert "Posting #1" in result.stdout
    assert "... and" in result.stdout  # --show 3 cut the list


def test_json_report(leak_run: tuple[Result, Path]) -> None:
    _, out = leak_run
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["passed"] is False and report["exit_code"] == 1
    assert report["inputs"] == 40 and report["seed"] == 0
    rules = {r["id"]: r for r in report["rules"]}
    leak = rules["no-mail-header-tokens"]
    assert leak["status"] == "failed" and leak["severity"] == "error"
    assert len(leak["offenders"]) == round(leak["metrics"]["fraction"] * 40)
    offender = leak["offenders"][0]
    assert offender["input"]["index"] == 0
    assert offender["input"]["source"] == "../../sample_data/text/newsgroups_test.csv"
    assert {"Posting", "Host"} <= {f["feature"] for f in offender["features"]}
    assert report["summary"] == {"rules": 2, "passed": 1, "failed": 1, "warnings": 0, "skipped": 0}


def test_junit_report_parses_with_right_counts(leak_run: tuple[Result, Path]) -> None:
    _, out = leak_run
    root = ET.parse(out / "report.xml").getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("2", "1", "0")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["no-mail-header-tokens", "faithful-surrogate"]
    failure = cases[0].find("failure")
    assert failure is not None and failure.text is not None
    assert "have a forbidden feature" in (failure.get("message") or "")
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    offenders = report["rules"][0]["offenders"]
    assert failure.text.count("newsgroups_test.csv row ") == len(offenders)  # all listed
    assert "Posting" in failure.text
    assert cases[1].find("failure") is None


def test_markdown_report_lists_offending_inputs(leak_run: tuple[Result, Path]) -> None:
    _, out = leak_run
    text = (out / "summary.md").read_text(encoding="utf-8")
    assert text.startswith("## limecli audit ❌ failed")
    assert "| ❌ FAIL | `no-mail-header-tokens` |" in text
    assert "### ❌ `no-mail-header-tokens`: offending inputs" in text
    assert "| ../../sample_data/text/newsgroups_test.csv row 0 | space 0.83 |" in text
    assert "Posting #1" in text and "Posting +0." in text
    assert "… and " in text  # --show 3


def test_warning_rules_do_not_fail_junit_and_markdown(tmp_path: Path) -> None:
    result = run_audit(
        loans_policy(
            tmp_path,
            '[[rules]]\nid = "w"\ntype = "min_fidelity"\nseverity = "warning"\nmin_r2 = 0.99\n',
        )
    )
    assert result.passed and len(result.warnings) == 1
    suite = ET.fromstring(render_junit(result)).find("testsuite")
    assert suite is not None and suite.get("failures") == "0" and suite.get("tests") == "1"
    case = suite.find("testcase")
    assert case is not None and case.find("failure") is None
    system_out = case.find("system-out")
    assert system_out is not None and "WARNING" in (system_out.text or "")
    markdown = render_markdown(result)
    assert "⚠️ WARN" in markdown and "loans_test.csv row 0" in markdown


def test_report_to_stdout_replaces_the_table(tmp_path: Path, run_cli: Run) -> None:
    path = loans_policy(tmp_path, FAILING)
    result = run_cli("audit", path, "-q", "--junit", "-")
    assert result.exit_code == 1
    root = ET.fromstring(result.stdout)
    assert root.get("failures") == "1"


# -- the shipped samples -----------------------------------------------------------------------
def test_tabular_pass_sample(run_cli: Run) -> None:
    result = run_cli("audit", EXAMPLES / "tabular_pass.toml", "-q")
    assert result.exit_code == 0, result.stdout
    assert "audit PASSED: 5 passed (5 rules, 50 inputs)" in result.stdout


def test_policy_paths_are_relative_to_the_policy(
    tmp_path: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "ci"
    folder.mkdir()
    shutil.copy(SAMPLE_MODELS / "loans_pipeline.joblib", folder / "model.joblib")
    shutil.copy(SAMPLE_DATA / "loans_test.csv", folder / "rows.csv")
    (folder / "audit.toml").write_text(
        '[model]\npath = "model.joblib"\n[data]\nkind = "tabular"\npath = "rows.csv"\n'
        'rows = "0:5"\n[explainer]\nnum_samples = 300\n' + PASSING,
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    here = run_audit("ci/audit.toml")
    assert here.items[0].identity == {"source": "rows.csv", "row": 0}
    monkeypatch.chdir(folder)
    there = run_audit("audit.toml")
    # Identities name the data as the policy does: the same seeds, the same explanations.
    assert [i.explanation.to_dict() for i in here.items] == [
        i.explanation.to_dict() for i in there.items
    ]


def test_write_baseline_api(tmp_path: Path) -> None:
    result = run_audit(loans_policy(tmp_path, PASSING, rows="0:3"))
    write_baseline(result, tmp_path / "b.jsonl")
    lines = (tmp_path / "b.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["input"]["row"] for line in lines] == [0, 1, 2]
