"""Columns that are not features: ``--drop`` (repeatable, ``data.drop`` in a policy), one
``--target`` at most, and a hint at both when a predict script chokes on a text column."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import pytest
from click.testing import Result
from palmerpenguins import load_penguins
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from limecli.config.tabular import TabularSettings
from limecli.errors import ParameterError

Run = Callable[..., Result]
NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
FAST = ("--num-samples", "200", "--seed", "0")
NON_FEATURES = ("--drop", "id", "--drop", "island", "--drop", "sex", "--drop", "year")

SCRIPT = '''
import numpy as np

def predict(rows):
    """Gentoo or not from the flipper length; the columns must be the four measurements."""
    values = np.asarray(rows, dtype=float)
    if values.shape[1] != 4:
        raise ValueError(f"expected 4 columns, got {values.shape[1]}")
    p = 1 / (1 + np.exp(-(values[:, 2] - 205.0) / 5.0))
    return np.column_stack([1 - p, p])
'''


@pytest.fixture(scope="session")
def penguins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Penguins with an ID column first, as CSV and Parquet, a predict script and a joblib model."""
    folder = tmp_path_factory.mktemp("penguins_ids")
    frame = load_penguins().dropna().reset_index(drop=True)
    frame.insert(0, "id", [f"P-{i:04d}" for i in range(len(frame))])
    train, test = frame.iloc[:250], frame.iloc[250:].reset_index(drop=True)
    train.to_csv(folder / "train.csv", index=False)
    test.to_csv(folder / "test.csv", index=False)
    test.to_parquet(folder / "test.parquet", index=False)
    (folder / "predict.py").write_text(SCRIPT, encoding="utf-8")
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        train[NUMERIC], train["species"]
    )
    joblib.dump(model, folder / "model.joblib")
    return {
        "folder": folder,
        "script": folder / "predict.py",
        "model": folder / "model.joblib",
        "train": folder / "train.csv",
        "test": folder / "test.csv",
        "parquet": folder / "test.parquet",
    }


def _error(result: Result, code: int) -> str:
    """The one ``Error:`` line of a refused command (nothing on stdout, no traceback)."""
    assert result.exit_code == code, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_drop_leaves_out_an_id_column_for_a_predict_script(
    run_cli: Run, penguins: dict[str, Path]
) -> None:
    script = f"{penguins['script']}:predict"
    common = (script, penguins["test"], "--train", penguins["train"], "--target", "species")
    result = run_cli("tabular", *common, *NON_FEATURES, "--row", 3, *FAST, "--format", "json")
    assert result.exit_code == 0, result.stderr
    explanation = json.loads(result.stdout)
    assert explanation["data"]["feature_columns"] == NUMERIC
    assert explanation["params"]["dropped_columns"] == ["species"]  # the target, not the drops
    # The dropped columns are not "left out" silently: the user named them.
    assert "left out: " not in result.stderr or "id" not in result.stderr.split("left out: ")[1]

    # A streamed batch from Parquet drops the same columns and gives the same record.
    batch = run_cli(
        "tabular",
        script,
        penguins["parquet"],
        "--train",
        penguins["train"],
        "--target",
        "species",
        *NON_FEATURES,
        "--rows",
        "3",
        *FAST,
        "--format",
        "jsonl",
    )
    assert batch.exit_code == 0, batch.stderr
    record = json.loads(batch.stdout)
    assert record["data"] == explanation["data"]


def test_a_script_failing_on_text_columns_hints_at_target_and_drop(
    run_cli: Run, penguins: dict[str, Path]
) -> None:
    script = f"{penguins['script']}:predict"
    result = run_cli(
        "tabular", script, penguins["test"], "--train", penguins["train"], "--row", 0, *FAST
    )
    message = _error(result, 5)
    assert "could not convert string to float" in message
    assert "text column(s) 'id', 'species', 'island', 'sex'" in message
    assert "with --drop" in message and "with --target" in message
    assert "'drop'" not in message and "'target'" not in message  # spelled as the flags

    # In a batch each failing row's error record carries the same hint.
    batch = run_cli(
        "tabular",
        script,
        penguins["test"],
        "--train",
        penguins["train"],
        "--rows",
        "0:2",
        "--independent-samples",
        *FAST,
        "--format",
        "jsonl",
    )
    assert batch.exit_code == 6, batch.stderr
    for line in batch.stdout.splitlines():
        error = json.loads(line)["error"]
        assert "--drop" in error["message"] and "--target" in error["message"]


def test_target_given_twice_is_refused(run_cli: Run, penguins: dict[str, Path]) -> None:
    result = run_cli(
        "tabular",
        penguins["model"],
        penguins["test"],
        "--target",
        "species",
        "--target",
        "island",
        "--row",
        0,
    )
    message = _error(result, 2)
    assert message == (
        "Error: --target names one column, not 2 (species, island): "
        "leave out other columns with --drop"
    )


def test_target_in_python_is_one_column() -> None:
    # A plain string (what a Python caller writes for one column) becomes a 1-tuple.
    assert TabularSettings(target="species").target == ("species",)  # type: ignore[arg-type]
    assert TabularSettings(target=("species",)).target_column == "species"
    assert TabularSettings().target_column is None
    assert TabularSettings(drop="id").drop == ("id",)  # type: ignore[arg-type]
    with pytest.raises(ParameterError) as caught:
        TabularSettings(target=("a", "b"))
    assert caught.value.parameters == ("target", "drop")
    assert "'target' names one column" in str(caught.value)


@pytest.mark.parametrize("train", [True, False])
def test_drop_of_an_unknown_column_is_refused(
    run_cli: Run, penguins: dict[str, Path], train: bool
) -> None:
    extra: tuple[Any, ...] = ("--train", penguins["train"], "--rows", "0:3") if train else ()
    row = () if train else ("--row", 0)
    result = run_cli(
        "tabular", penguins["model"], penguins["test"], *extra, *row, "--drop", "idd", *FAST
    )
    message = _error(result, 3)
    assert message == "Error: --drop names column(s) the data does not have: idd"


def test_drop_of_a_feature_the_model_needs_is_refused(
    run_cli: Run, penguins: dict[str, Path]
) -> None:
    result = run_cli(
        "tabular", penguins["model"], penguins["test"], "--row", 0, "--drop", "body_mass_g"
    )
    message = _error(result, 2)
    assert message == "Error: --drop names column(s) the model was fitted on: body_mass_g"


def test_drop_without_train_reads_data_whole(run_cli: Run, penguins: dict[str, Path]) -> None:
    script = f"{penguins['script']}:predict"
    result = run_cli(
        "tabular",
        script,
        penguins["test"],
        "--target",
        "species",
        *NON_FEATURES,
        "--all",
        *FAST,
        "--format",
        "jsonl",
    )
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == len(pd.read_csv(penguins["test"]))
    assert all(r["data"]["feature_columns"] == NUMERIC for r in records)


def test_a_policy_drops_columns(run_cli: Run, penguins: dict[str, Path], tmp_path: Path) -> None:
    policy = tmp_path / "audit.toml"
    policy.write_text(
        f"""
[model]
path = '{penguins["script"]}:predict'

[data]
kind = "tabular"
path = '{penguins["test"]}'
train = '{penguins["train"]}'
target = "species"
drop = ["id", "island", "sex", "year"]
rows = "0:5"

[explainer]
num_samples = 200
num_features = 4

[[rules]]
id = "flipper-matters"
type = "required_features"
features = ["flipper_length_mm"]
top_k = 2
""",
        encoding="utf-8",
    )
    result = run_cli("audit", policy)
    assert result.exit_code == 0, result.stdout + result.stderr
    one = policy.read_text(encoding="utf-8").replace(
        'drop = ["id", "island", "sex", "year"]', 'drop = "id"'
    )
    policy.write_text(one, encoding="utf-8")
    refused = run_cli("audit", policy)
    assert refused.exit_code == 5
    # A policy's keys are the parameters' names: the hint names data.drop and data.target.
    assert "text column(s) 'island', 'sex'" in refused.stderr
    assert "columns with 'drop' and the target with 'target'" in refused.stderr
