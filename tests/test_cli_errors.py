"""Every failure is one ``Error: ...`` line on stderr with a documented exit code, no traceback."""

from __future__ import annotations

import pickle
from pathlib import Path

import joblib
import pytest
from conftest import SAMPLE_DATA, SAMPLE_MODELS
from sklearn.linear_model import LogisticRegression

from limecli.errors import EXIT_CODES

MODEL = SAMPLE_MODELS / "breast_cancer_rf.joblib"
TEST = SAMPLE_DATA / "breast_cancer_test.csv"


def assert_clean_error(result, code: int, *fragments: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stderr)
    assert code in EXIT_CODES
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) >= 1 and lines[-1].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[-1], lines[-1]


@pytest.fixture
def scripts(tmp_path: Path) -> Path:
    (tmp_path / "bad.py").write_text(
        "import numpy as np\n"
        "def raises(batch):\n"
        "    raise RuntimeError('GPU on fire')\n"
        "def wrong_rows(batch):\n"
        "    return np.zeros((3, 2))\n"
        "def strings(batch):\n"
        "    return [{'yes': 1}] * len(batch)\n"
        "def nans(batch):\n"
        "    return np.full((len(batch), 2), np.nan)\n"
        "NOT_A_FUNCTION = 3\n"
    )
    return tmp_path / "bad.py"


def test_missing_data_file(run_cli, tmp_path: Path) -> None:
    result = run_cli("tabular", MODEL, tmp_path / "nope.csv", "--row", 0)
    assert_clean_error(result, 2, "nope.csv", "does not exist")


def test_missing_model_file(run_cli, tmp_path: Path) -> None:
    result = run_cli("tabular", tmp_path / "model.joblib", TEST, "--row", 0)
    assert_clean_error(result, 4, "model file not found")


def test_unreadable_csv(run_cli, tmp_path: Path) -> None:
    data = tmp_path / "garbage.csv"
    data.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe binary")
    assert_clean_error(run_cli("tabular", MODEL, data, "--row", 0), 3, "garbage.csv")


def test_empty_csv(run_cli, tmp_path: Path) -> None:
    data = tmp_path / "empty.csv"
    data.write_text("")
    assert_clean_error(run_cli("tabular", MODEL, data, "--row", 0), 3, "empty")


def test_row_out_of_range(run_cli) -> None:
    result = run_cli("tabular", MODEL, TEST, "--row", 500)
    assert_clean_error(result, 3, "row 500 is out of range", "114 rows")


def test_negative_row_is_a_usage_error(run_cli) -> None:
    assert_clean_error(run_cli("tabular", MODEL, TEST, "--row", -1), 2, "--row")


def test_column_count_does_not_match_model(run_cli, tmp_path: Path) -> None:
    model = LogisticRegression().fit([[0, 1, 2], [1, 0, 3], [2, 2, 1], [3, 1, 0]], [0, 1, 0, 1])
    path = tmp_path / "array_model.joblib"
    joblib.dump(model, path)
    result = run_cli("tabular", path, TEST, "--row", 0)
    assert_clean_error(result, 3, "31 feature column(s)", "model expects 3", "--target")


def test_data_lacks_model_columns(run_cli, tmp_path: Path) -> None:
    data = tmp_path / "few.csv"
    data.write_text("mean radius,mean texture\n1,2\n3,4\n")
    assert_clean_error(run_cli("tabular", MODEL, data, "--row", 0), 3, "lacks 28 column(s)")


def test_model_without_predict(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "not_a_model.pkl"
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    assert_clean_error(run_cli("tabular", path, TEST, "--row", 0), 4, "no predict_proba or predict")


def test_model_pickle_needs_missing_module(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "needs_module.pkl"
    # A pickle referring to a class in a module that is not installed.
    path.write_bytes(
        b"\x80\x04\x95\x1d\x00\x00\x00\x00\x00\x00\x00\x8c\x0cxgboost_fake\x94\x8c\x03Boo\x94\x93\x94."
    )
    assert_clean_error(
        run_cli("tabular", path, TEST, "--row", 0), 4, "'xgboost_fake'", "not installed"
    )


def test_corrupt_model_file(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "broken.joblib"
    path.write_bytes(b"this is not a pickle")
    assert_clean_error(run_cli("tabular", path, TEST, "--row", 0), 4, "cannot load model")


def test_script_has_no_such_function(run_cli, scripts: Path) -> None:
    assert_clean_error(
        run_cli("tabular", f"{scripts}:nope", TEST, "--row", 0), 4, "no function 'nope'"
    )
    assert_clean_error(
        run_cli("tabular", f"{scripts}:NOT_A_FUNCTION", TEST, "--row", 0), 4, "not callable"
    )


def test_script_file_missing(run_cli, tmp_path: Path) -> None:
    result = run_cli("tabular", f"{tmp_path}/missing.py:predict", TEST, "--row", 0)
    assert_clean_error(result, 4, "predict script not found")


def test_module_entrypoint_missing(run_cli) -> None:
    result = run_cli("tabular", "no_such_pkg.models:predict", TEST, "--row", 0)
    assert_clean_error(result, 4, "no module named 'no_such_pkg'")


@pytest.mark.parametrize(
    ("function", "fragment"),
    [
        ("raises", "raised RuntimeError: GPU on fire"),
        ("wrong_rows", "returned shape (3, 2)"),
        ("strings", "not an array of numbers"),
        ("nans", "NaN or infinite"),
    ],
)
def test_predict_function_failures(run_cli, scripts: Path, function: str, fragment: str) -> None:
    result = run_cli("tabular", f"{scripts}:{function}", TEST, "--row", 0, "--target", "diagnosis")
    assert_clean_error(result, 5, fragment)


def test_unknown_label(run_cli) -> None:
    result = run_cli("tabular", MODEL, TEST, "--row", 0, "--label", "cat", "--num-samples", 100)
    assert_clean_error(result, 2, "unknown label 'cat'", "benign, malignant")


def test_option_out_of_range_fails_before_work(run_cli) -> None:
    assert_clean_error(
        run_cli("tabular", MODEL, TEST, "--row", 0, "--num-samples", 0), 2, "--num-samples"
    )
    assert_clean_error(
        run_cli("tabular", MODEL, TEST, "--row", 0, "--format", "xml"), 2, "--format"
    )


def test_debug_shows_the_traceback(run_cli, scripts: Path) -> None:
    from limecli.errors import PredictorCallError

    with pytest.raises(PredictorCallError):
        run_cli(
            "--debug", "tabular", f"{scripts}:raises", TEST, "--row", 0, "--target", "diagnosis"
        )


def test_failed_run_leaves_no_output_file(run_cli, scripts: Path, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    out.write_text('{"previous": true}')
    result = run_cli(
        "tabular",
        f"{scripts}:raises",
        TEST,
        "--row",
        0,
        "--target",
        "diagnosis",
        "-o",
        out,
        "--force",  # not a limecli output: without --force the run stops before any work
    )
    assert result.exit_code == 5
    assert out.read_text() == '{"previous": true}'  # nothing already written is lost
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.py", "result.json"]


def test_reader_closing_stdout_early_stops_quietly() -> None:
    import subprocess
    import sys

    command = [sys.executable, "-m", "limecli", "tabular", MODEL, TEST, "--all"]
    command += ["--format", "jsonl", "--num-samples", "300", "-q"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()
        process.stdout.close()  # like `| head -1`
        stderr = process.stderr.read().decode()
        assert process.wait() == 141
    assert first.startswith(b'{"schema_version"')
    assert stderr == ""  # no traceback, no "Error:"
