"""--debug and -q/--quiet on every command, before or after it (limecli.cli.global_flags).

Each command is run with an error it cannot get past (a file that does not exist): without
--debug one ``Error:`` line and the error's exit code; with --debug before or after the
command, the library's exception itself. -q before or after silences the notes and
progress lines a run writes without it.
"""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from conftest import SAMPLE_DATA, SAMPLE_MODELS

import limecli.cli.output
from limecli.cli import cli
from limecli.errors import InputDataError, LimeCliError, ModelLoadError, ParameterError

SHAPES = f"{SAMPLE_MODELS}/predict_shapes.py:predict"
PICTURE = SAMPLE_DATA / "images" / "shapes.png"
LEAK = SAMPLE_DATA / "text" / "leak_post.txt"
CANCER = SAMPLE_MODELS / "breast_cancer_rf.joblib"
CANCER_TEST = SAMPLE_DATA / "breast_cancer_test.csv"
CANCER_TRAIN = SAMPLE_DATA / "breast_cancer_train.csv"

#: command -> (arguments that fail, the exception, the exit code without --debug)
FAILING = {
    "tabular": (["/no/model.joblib", str(CANCER_TEST), "--row", "0"], ModelLoadError, 4),
    "text": (["/no/model.joblib", str(LEAK)], ModelLoadError, 4),
    "image": (["/no/model.onnx", str(PICTURE)], ModelLoadError, 4),
    "summary": (["/no/explanations.jsonl"], InputDataError, 3),
    "audit": (["/no/policy.toml"], ParameterError, 2),
}


def invoke(*args: object, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


@pytest.mark.parametrize("command", sorted(FAILING))
def test_without_debug_one_error_line(command: str) -> None:
    args, _, code = FAILING[command]
    result = invoke(command, *args)
    assert result.exit_code == code
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("position", ["before", "after"])
@pytest.mark.parametrize("command", sorted(FAILING))
def test_debug_before_or_after_the_command_raises(command: str, position: str) -> None:
    args, error, _ = FAILING[command]
    argv = ["--debug", command, *args] if position == "before" else [command, *args, "--debug"]
    result = invoke(*argv)
    # CliRunner keeps what escaped the command: the library's own exception, not an exit.
    assert isinstance(result.exception, error), (result.exception, result.stderr)
    assert isinstance(result.exception, LimeCliError)
    assert "Error:" not in result.stderr


@pytest.mark.parametrize("position", ["before", "after"])
def test_the_unexpected_error_hint_works_in_both_positions(
    position: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("renderer fell over")

    monkeypatch.setattr(limecli.cli.output, "emit", broken)
    args = ["tabular", CANCER, CANCER_TEST, "--row", 0, "--num-samples", 50, "-q"]
    plain = invoke(*args)
    assert plain.exit_code == 1
    assert plain.stderr == (
        "Error: unexpected RuntimeError: renderer fell over (run with --debug for the traceback)\n"
    )
    debug = invoke("--debug", *args) if position == "before" else invoke(*args, "--debug")
    assert isinstance(debug.exception, RuntimeError)


def small_policy(tmp_path: Path) -> Path:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        f"""
[model]
path = "{SAMPLE_MODELS / "loans_pipeline.joblib"}"
[data]
kind = "tabular"
path = "{SAMPLE_DATA / "loans_test.csv"}"
train = "{SAMPLE_DATA / "loans_train.csv"}"
rows = "0:4"
[explainer]
num_samples = 300
num_features = 4
[[rules]]
id = "noise-not-first"
type = "forbidden_features"
features = ["noise"]
top_k = 1
max_fraction = 1.0
""",
        encoding="utf-8",
    )
    return policy


def loud_runs(tmp_path: Path) -> dict[str, list[object]]:
    """Per command, a run that writes notes or progress lines on stderr without -q."""
    return {
        "tabular": [
            CANCER,
            CANCER_TEST,
            "--rows",
            "0:3",
            "--train",
            CANCER_TRAIN,
            "--num-samples",
            100,
            "--format",
            "jsonl",
        ],
        "text": [
            SAMPLE_MODELS / "text_newsgroups.joblib",
            LEAK,
            LEAK,
            "--num-samples",
            100,
            "--format",
            "jsonl",
        ],
        "image": [SHAPES, PICTURE, PICTURE, "--num-samples", 50, "--format", "jsonl"],
        "audit": [small_policy(tmp_path)],
    }


@pytest.mark.parametrize("command", ["tabular", "text", "image", "audit"])
def test_quiet_before_or_after_the_command(command: str, tmp_path: Path) -> None:
    args = loud_runs(tmp_path)[command]
    loud = invoke(command, *args)
    assert loud.exit_code == 0, loud.stderr
    assert loud.stderr != ""  # progress lines (and notes) when not quiet
    for argv in (["-q", command, *args], [command, *args, "-q"], ["--quiet", command, *args]):
        quiet = invoke(*argv)
        assert quiet.exit_code == 0, (argv, quiet.stderr)
        assert quiet.stderr == "", argv
        assert quiet.stdout == loud.stdout  # the same results, only stderr is silenced


def test_summary_takes_quiet_in_both_positions(tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    made = invoke("tabular", *loud_runs(tmp_path)["tabular"], "-o", batch, "-q")
    assert made.exit_code == 0, made.stderr
    expected = invoke("summary", batch, "--format", "csv")
    for argv in (["-q", "summary", batch], ["summary", batch, "-q"]):
        result = invoke(*argv, "--format", "csv")
        assert result.exit_code == 0 and result.stderr == ""
        assert result.stdout == expected.stdout


def test_every_command_lists_the_global_options() -> None:
    group_ctx = click.Context(cli)
    for name in cli.list_commands(group_ctx):
        command = cli.get_command(group_ctx, name)
        assert command is not None
        flags = {opt for p in command.params for opt in p.opts}
        assert {"--debug", "-q", "--quiet", "--color"} <= flags, name
        # Added once, however often the command is looked up.
        again = cli.get_command(group_ctx, name)
        assert again is not None and len(again.params) == len(command.params)
