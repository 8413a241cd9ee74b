"""The orchestration layer: options generated from the settings, one pipeline for the CLI and the
audit, library messages that name parameters and a CLI that spells them as flags."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import click
import pytest
from conftest import ROOT, SAMPLE_DATA, SAMPLE_MODELS

from limecli.cli import cli
from limecli.cli.global_flags import GLOBAL_NAMES
from limecli.config.common import Batch, Discovery, Labels, ModelSpec, Output, Sampling
from limecli.config.image import ImageSettings, Pictures, Segmentation
from limecli.config.tabular import RowSelection, TabularSettings
from limecli.config.text import TextSettings
from limecli.errors import InputDataError, ParameterError

SETTINGS = {
    "tabular": (RowSelection, TabularSettings, Sampling, Labels, ModelSpec, Output, Batch),
    "text": (Discovery, TextSettings, Sampling, Labels, ModelSpec, Output, Batch),
    "image": (
        Discovery,
        Pictures,
        Segmentation,
        ImageSettings,
        Sampling,
        Labels,
        ModelSpec,
        Output,
        Batch,
    ),
}
SHAPES = "sample_models/predict_shapes.py:predict"


@pytest.mark.parametrize("kind", sorted(SETTINGS))
def test_every_option_is_a_settings_field(kind: str) -> None:
    """No option is listed by hand: each is one field of one settings class, and every
    field of those classes is an option (MODEL is the argument of ModelSpec)."""
    command = cli.get_command(click.Context(cli), kind)
    assert command is not None
    # --debug and --color are every command's (limecli.cli.global_flags), not settings.
    options = {p.name for p in command.params if isinstance(p, click.Option)} - {
        "help",
        *GLOBAL_NAMES,
    }
    fields = {f.name for cls in SETTINGS[kind] for f in dataclasses.fields(cls)} - {"model"}
    assert options == fields


@pytest.mark.parametrize("kind", sorted(SETTINGS))
def test_help_is_in_sections(run_cli, kind: str) -> None:
    result = run_cli(kind, "--help")
    assert result.exit_code == 0
    for section in ("Sampling:", "Labels:", "Model:", "Output:", "Batch:"):
        assert f"\n{section}\n" in result.stdout, section
    # Per-kind defaults come from the command's overrides, not from patching params.
    defaults = {"tabular": "auto", "text": "5000", "image": "1000"}
    text = " ".join(result.stdout.split())
    assert f"[default: {defaults[kind]}" in text


def test_library_names_the_parameter_the_cli_names_the_flag(run_cli, tmp_path: Path) -> None:
    from limecli.inputs.image import read_image

    photo = SAMPLE_DATA / "images" / "shapes.png"
    with pytest.raises(InputDataError) as caught:
        read_image(photo, max_pixels=100)
    assert caught.value.parameters == ("max_pixels",)
    assert "pass 'max_pixels' N" in str(caught.value)
    assert "--" not in str(caught.value)

    result = run_cli("image", ROOT / SHAPES, photo, "--max-pixels", "100")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: ")
    assert "pass --max-pixels N to allow a larger image" in result.stderr


def test_batch_error_records_spell_flags_and_keep_their_schema(run_cli, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("a.png", "b.png"):
        shutil.copy(SAMPLE_DATA / "images" / "shapes.png", photos / name)
    out = tmp_path / "run.jsonl"
    result = run_cli("image", ROOT / SHAPES, photos, "--max-pixels", "100", "-q", "-o", out)
    assert result.exit_code == 6
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["input"]["source"].rsplit("/", 1)[-1] for r in records] == ["a.png", "b.png"]
    for record in records:
        assert set(record) == {"schema_version", "kind", "input", "error"}
        assert "pass --max-pixels N" in record["error"]["message"]
        assert record["error"]["exit_code"] == 3


def test_a_parameter_error_through_the_python_api_names_no_flag() -> None:
    from limecli.batch import run_batch

    with pytest.raises(ParameterError) as caught:
        run_batch([], lambda chunk: [], None, kind="tabular", seed=0, jobs=0)  # type: ignore[arg-type]
    assert caught.value.parameters == ("jobs",)
    assert "'jobs'" in str(caught.value) and "--jobs" not in str(caught.value)


def test_a_quoted_column_name_is_not_taken_for_a_parameter() -> None:
    from limecli.cli.options import spell_flags

    message = "column 'jobs' and The 'jobs' parameter"
    assert spell_flags(message, (), {"jobs": "--jobs"}) == message
    assert (
        spell_flags("'seed' must be >= 0", ("seed",), {"seed": "--seed"}) == "--seed must be >= 0"
    )


def test_the_audit_and_the_cli_explain_rows_through_the_same_pipeline(
    run_cli, tmp_path: Path
) -> None:
    """Same model, data and settings: the audit's explanations (its baseline) equal the
    CLI's batch record for record, weights and intervals included."""
    policy = tmp_path / "policy.toml"
    policy.write_text(
        f"""
[model]
path = "{SAMPLE_MODELS / "loans_pipeline.joblib"}"
[data]
kind = "tabular"
path = "{SAMPLE_DATA / "loans_test.csv"}"
train = "{SAMPLE_DATA / "loans_train.csv"}"
rows = "3:9"
[explainer]
num_samples = 600
num_features = 4
seed = 7
[[rules]]
id = "fidelity"
type = "min_fidelity"
min_r2 = 0.0
""",
        encoding="utf-8",
    )
    baseline = tmp_path / "baseline.jsonl"
    audited = run_cli("audit", policy, "-q", "--baseline-out", baseline)
    assert audited.exit_code in (0, 1), audited.stderr
    cli_out = tmp_path / "cli.jsonl"
    explained = run_cli(
        "tabular",
        SAMPLE_MODELS / "loans_pipeline.joblib",
        SAMPLE_DATA / "loans_test.csv",
        "--train",
        SAMPLE_DATA / "loans_train.csv",
        "--rows",
        "3:9",
        "--num-samples",
        "600",
        "--num-features",
        "4",
        "--seed",
        "7",
        "-q",
        "-o",
        cli_out,
    )
    assert explained.exit_code == 0, explained.stderr
    ours = [json.loads(line) for line in baseline.read_text().splitlines()]
    theirs = [json.loads(line) for line in cli_out.read_text().splitlines()]
    assert [r["input"]["row"] for r in ours] == [3, 4, 5, 6, 7, 8]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert a["labels"] == b["labels"]
        assert a["prediction"] == b["prediction"]


def test_allowed_values_are_declared_once() -> None:
    """The CLI's choices (limecli.config) are the lists the library checks against."""
    from limecli import config
    from limecli.audit import policy
    from limecli.batch import executors
    from limecli.explainers.image import SCALES
    from limecli.sampling import discretize, image

    assert image.SEGMENTERS is config.SEGMENTERS
    assert executors.BACKENDS is config.BACKENDS
    assert tuple(discretize.DISCRETIZERS) == config.DISCRETIZERS
    assert tuple(SCALES) == config.SCALES
    assert (*config.DISCRETIZERS, "none") == policy.DISCRETIZERS
    assert policy.FEATURE_SELECTIONS is config.FEATURE_SELECTIONS
