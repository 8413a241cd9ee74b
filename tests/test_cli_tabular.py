"""``limecli tabular`` through the CLI: output formats, options, determinism, the contract."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import joblib
import jsonschema
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, SAMPLE_DATA, SAMPLE_MODELS
from sklearn.linear_model import LogisticRegression

MODEL = SAMPLE_MODELS / "breast_cancer_rf.joblib"
TEST = SAMPLE_DATA / "breast_cancer_test.csv"
TRAIN = SAMPLE_DATA / "breast_cancer_train.csv"
SCHEMA = json.loads((ROOT / "limecli" / "schema" / "explanation.schema.json").read_text())


def seed_args(*extra: object) -> list[object]:
    return [MODEL, TEST, "--row", 12, "--train", TRAIN, "--num-samples", 1000, *extra]


def test_seed_example_as_json(run_cli) -> None:
    result = run_cli("tabular", *seed_args("--format", "json"))
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)  # stdout holds the result and nothing else
    jsonschema.validate(doc, SCHEMA)
    assert doc["schema_version"] == "1.2"
    assert doc["kind"] == "tabular" and doc["mode"] == "classification"
    assert doc["input"] == {"source": str(TEST), "row": 12}
    assert doc["prediction"]["label"] == "malignant"
    assert doc["prediction"]["probabilities"]["malignant"] == pytest.approx(0.94)
    label = doc["labels"][0]
    assert label["label"] == "malignant"
    names = [f["name"] for f in label["features"]]
    assert any(n.startswith("worst area > ") for n in names)
    weights = [abs(f["weight"]) for f in label["features"]]
    assert weights == sorted(weights, reverse=True)
    assert doc["params"]["num_samples"] == 1000
    assert doc["params"]["kernel_width"] == pytest.approx(0.75 * np.sqrt(30))
    assert doc["params"]["discretizer"] == "quartile"
    assert doc["meta"]["method"] == "lime"
    assert "diagnosis" in result.stderr  # the dropped target column is mentioned on stderr


def test_table_format_shows_prediction_weights_and_fit(run_cli) -> None:
    result = run_cli("tabular", *seed_args("--format", "table"))
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "Prediction: malignant 0.94" in out
    assert "worst area > " in out
    assert "R²" in out
    assert "\x1b[" not in out  # no colour codes when not on a terminal


def test_default_format_off_a_terminal_is_json(run_cli) -> None:
    result = run_cli("tabular", *seed_args())
    assert json.loads(result.stdout)["kind"] == "tabular"


def test_csv_format_is_long_form(run_cli) -> None:
    result = run_cli(
        "tabular", *seed_args("--format", "csv", "--top-labels", 2, "--num-features", 4)
    )
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 8  # 2 labels x 4 features
    assert {r["label"] for r in rows} == {"malignant", "benign"}
    assert [r["rank"] for r in rows[:4]] == ["1", "2", "3", "4"]
    assert rows[0]["source"] == str(TEST) and rows[0]["index"] == "12"


def test_output_file_leaves_stdout_empty(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "why.json"
    result = run_cli("tabular", *seed_args("-o", out))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert json.loads(out.read_text())["kind"] == "tabular"
    assert not list(tmp_path.glob("*.tmp"))
    out_csv = tmp_path / "why.csv"
    run_cli("tabular", *seed_args("-o", out_csv))
    assert out_csv.read_text().startswith("kind,source,index")


def test_same_seed_same_bytes_other_seed_other_bytes(run_cli) -> None:
    first = run_cli("tabular", *seed_args("--seed", 3)).stdout
    second = run_cli("tabular", *seed_args("--seed", 3)).stdout
    other = run_cli("tabular", *seed_args("--seed", 4)).stdout
    assert first == second
    assert first != other


def test_labels_by_name_and_index(run_cli) -> None:
    by_name = json.loads(run_cli("tabular", *seed_args("--label", "benign")).stdout)
    by_index = json.loads(run_cli("tabular", *seed_args("--label", "0")).stdout)
    assert [x["label"] for x in by_name["labels"]] == ["benign"]
    assert by_name["labels"] == by_index["labels"]  # classes_ is ['benign', 'malignant']


def test_class_names_override(run_cli) -> None:
    result = run_cli("tabular", *seed_args("--class-names", "B,M"))
    assert json.loads(result.stdout)["prediction"]["label"] == "M"


def test_no_train_uses_data_and_says_so(run_cli) -> None:
    result = run_cli("tabular", MODEL, TEST, "--row", 0, "--num-samples", 300)
    assert result.exit_code == 0
    assert "no --train given" in result.stderr
    quiet = run_cli("tabular", MODEL, TEST, "--row", 0, "--num-samples", 300, "--quiet")
    assert quiet.stderr == ""
    assert quiet.stdout == result.stdout


def test_regression_model(run_cli) -> None:
    result = run_cli(
        "tabular",
        SAMPLE_MODELS / "diabetes_rf.joblib",
        SAMPLE_DATA / "diabetes_test.csv",
        "--row",
        0,
        "--train",
        SAMPLE_DATA / "diabetes_train.csv",
        "--num-samples",
        1000,
    )
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert doc["mode"] == "regression"
    assert set(doc["prediction"]) == {"value"}
    table = run_cli(
        "tabular",
        SAMPLE_MODELS / "diabetes_rf.joblib",
        SAMPLE_DATA / "diabetes_test.csv",
        "--row",
        0,
        "--num-samples",
        500,
        "--format",
        "table",
        "-q",
    )
    assert "Why value" in table.stdout


def test_categorical_pipeline_from_csv_with_string_columns(run_cli) -> None:
    result = run_cli(
        "tabular",
        SAMPLE_MODELS / "loans_pipeline.joblib",
        SAMPLE_DATA / "loans_test.csv",
        "--row",
        0,
        "--train",
        SAMPLE_DATA / "loans_train.csv",
        "--num-samples",
        1500,
    )
    doc = json.loads(result.stdout)
    top = [f["feature"] for f in doc["labels"][0]["features"][:3]]
    assert set(top) == {"income", "debt_ratio", "employment"}
    assert doc["params"]["categorical_features"] == ["employment", "region"]


@pytest.mark.parametrize(
    "extra",
    [
        ["--discretizer", "decile"],
        ["--discretizer", "entropy", "--target", "diagnosis"],
        ["--no-discretize"],
        ["--no-discretize", "--sample-around-instance"],
        ["--feature-selection", "lasso_path"],
        ["--feature-selection", "none", "--num-features", "3"],
        ["--kernel-width", "2.5"],
    ],
)
def test_sampling_and_selection_options(run_cli, extra: list[str]) -> None:
    result = run_cli("tabular", *seed_args(*extra))
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, SCHEMA)
    top = doc["labels"][0]["features"][0]["feature"]
    assert top.startswith("worst") or top in {"area error", "mean concave points"}
    if "--feature-selection" in extra and "none" in extra:
        assert len(doc["labels"][0]["features"]) == 30  # "none" keeps every feature


def test_predict_script_entrypoints(run_cli, tmp_path: Path, monkeypatch) -> None:
    script = SAMPLE_MODELS / "predict_breast_cancer.py"
    # A script takes every column but the target, so the target must be named.
    by_file = run_cli("tabular", f"{script}:predict", *seed_args()[1:], "--target", "diagnosis")
    assert by_file.exit_code == 0, by_file.stderr
    doc = json.loads(by_file.stdout)
    assert doc["prediction"]["label"] == "malignant"  # CLASS_NAMES from the script
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "scoring.py").write_text(
        "import numpy as np\n"
        "def predict(batch):\n"
        "    x = np.asarray(batch, dtype=float)\n"
        "    p = 1 / (1 + np.exp(-(x[:, 22] - 100) / 10))\n"
        "    return np.column_stack([1 - p, p])\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    by_module = run_cli(
        "tabular", "mypkg.scoring:predict", *seed_args()[1:], "--target", "diagnosis"
    )
    assert by_module.exit_code == 0, by_module.stderr
    top = json.loads(by_module.stdout)["labels"][0]["features"][0]
    assert top["feature"] == "worst perimeter"  # column 22 is the only input it reads


def test_version_mismatch_warning_is_shown_once(run_cli, tmp_path: Path) -> None:
    import sklearn

    frame = pd.read_csv(TRAIN)
    model = LogisticRegression(max_iter=50).fit(frame.iloc[:, :3], frame.diagnosis)
    raw = tmp_path / "m.pkl"
    joblib.dump(model, raw)
    old = sklearn.__version__.encode()
    fake = b"0.0.0"[: len(old)].ljust(len(old), b"0")
    raw.write_bytes(raw.read_bytes().replace(old, fake))
    result = run_cli("tabular", raw, TRAIN, "--row", 0, "--num-samples", 200, "-q")
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1
    assert "pickled with scikit-learn" in warnings[0] and sklearn.__version__ in warnings[0]
    json.loads(result.stdout)


def test_shipped_pickles_load_without_version_warnings() -> None:
    import warnings

    from limecli import load_model

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for path in sorted(SAMPLE_MODELS.glob("*.joblib")):
            load_model(path)


def test_help_is_light_and_python_m_works() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from limecli.cli import cli\n"
        "for args in (['--help'], ['tabular', '--help']):\n"
        "    assert CliRunner().invoke(cli, args).exit_code == 0\n"
        "heavy = [m for m in ('numpy', 'pandas', 'sklearn', 'scipy') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"  # help never pays for the scientific stack
    module = subprocess.run(
        [sys.executable, "-m", "limecli", "--help"], capture_output=True, text=True, check=True
    )
    assert "tabular" in module.stdout


def test_mode_is_inferred_and_can_be_forced(run_cli, tmp_path: Path) -> None:
    script = tmp_path / "scores.py"
    script.write_text(
        "import numpy as np\n"
        "def value(batch):\n"
        "    return np.asarray(batch, dtype=float)[:, 0] * 2.0\n"
        "def probs(batch):\n"
        "    p = 1 / (1 + np.exp(-np.asarray(batch, dtype=float)[:, 0] + 15))\n"
        "    return np.column_stack([1 - p, p])\n"
    )
    common = [TEST, "--row", 0, "--target", "diagnosis", "--num-samples", 300]
    regression = json.loads(run_cli("tabular", f"{script}:value", *common).stdout)
    assert regression["mode"] == "regression"  # a 1-D answer means values
    classification = json.loads(run_cli("tabular", f"{script}:probs", *common).stdout)
    assert classification["mode"] == "classification"
    assert set(classification["prediction"]["probabilities"]) == {"0", "1"}
    forced = run_cli("tabular", f"{script}:probs", *common, "--mode", "regression")
    assert forced.exit_code == 5 and "2 columns in regression mode" in forced.stderr
    no_proba = run_cli(
        "tabular",
        SAMPLE_MODELS / "diabetes_rf.joblib",
        SAMPLE_DATA / "diabetes_test.csv",
        "--row",
        0,
        "--mode",
        "classification",
    )
    assert no_proba.exit_code == 4 and "has no predict_proba" in no_proba.stderr
