"""The GitHub Action (action.yml) run here: its shell steps, as the Actions runner would run them.

A workflow cannot run on this machine, but a composite action's ``run:`` steps are bash
scripts. Each is run the runner's way (``bash --noprofile --norc -eo pipefail``, ``inputs``
passed through the step's ``env:``, ``if:`` conditions judged) in a temporary workspace
with the variables a runner sets: ``GITHUB_ACTIONS``, ``GITHUB_WORKSPACE``,
``GITHUB_STEP_SUMMARY`` (holding an earlier step's text), ``GITHUB_OUTPUT``,
``GITHUB_ACTION_PATH`` (this repository) and ``RUNNER_TEMP``. ``uses:`` steps
(actions/setup-python) are skipped: ``python`` on the PATH is a shim that logs
``pip install`` calls instead of installing, and runs anything else with the Python these
tests run on, where limecli is installed.

The example workflow and the GitLab CI file are checked against the action and the CLI.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from tests.conftest import ROOT, quick_loans_policy

yaml = pytest.importorskip("yaml")

ACTION = ROOT / "action.yml"
EARLIER = "## Unit tests\n\n118 passed\n"
#: The inputs of a step's ``if:`` this test can judge: inputs.NAME == / != 'literal'.
CONDITION = re.compile(r"^inputs\.([\w-]+) (==|!=) '([^']*)'$")
EXPRESSION = re.compile(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}")
#: A workflow command line as the runner parses it.
COMMAND = re.compile(r"^::(?P<name>[a-z-]+)(?: (?P<props>[^:]*))?::(?P<message>.*)$")


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@dataclass
class Run:
    code: int  # the exit code of the last step run (the job stops at the first failure)
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    pip: list[str]  # the `python -m pip ...` command lines the install step ran
    skipped: list[str]  # steps whose `if:` was false
    actions: list[str]  # `uses:` steps that would run on GitHub (not here)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A checkout-like workspace: the shipped example policies and the samples they name."""
    space = tmp_path / "workspace"
    (space / "examples").mkdir(parents=True)
    shutil.copytree(ROOT / "examples" / "audit", space / "examples" / "audit")
    for name in ("sample_models", "sample_data"):
        (space / name).symlink_to(ROOT / name, target_is_directory=True)
    return space


def python_shim(folder: Path, log: Path) -> Path:
    """A ``python`` that logs ``-m pip`` calls (no network, nothing installed) and hands
    everything else to the interpreter running these tests."""
    folder.mkdir()
    shim = folder / "python"
    shim.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then\n'
        f'  echo "$*" >> "{log}"\n'
        "  exit 0\n"
        "fi\n"
        f'exec "{sys.executable}" "$@"\n',
        encoding="utf-8",
    )
    shim.chmod(0o755)
    return folder


def run_action(space: Path, **inputs: str) -> Run:
    """Run action.yml's steps with ``inputs`` (hyphens as underscores), defaults for the rest."""
    action = load(ACTION)
    given = {name.replace("_", "-"): value for name, value in inputs.items()}
    unknown = set(given) - set(action["inputs"])
    assert not unknown, f"not inputs of the action: {unknown}"
    values = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    values.update(given)
    missing = [n for n, spec in action["inputs"].items() if spec.get("required") and not values[n]]
    assert not missing, missing

    temp = space.parent / "runner_temp"
    temp.mkdir(exist_ok=True)
    summary, output, pip_log = temp / "step_summary.md", temp / "github_output", temp / "pip.log"
    summary.write_text(EARLIER, encoding="utf-8")
    output.write_text("", encoding="utf-8")
    shims = python_shim(temp / "bin", pip_log)
    env = {
        "PATH": f"{shims}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", str(temp)),
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_WORKSPACE": str(space),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_ACTION_PATH": str(ROOT),
        "RUNNER_TEMP": str(temp),
        "COLUMNS": "100",
    }
    code, stdout, stderr, skipped, actions = 0, "", "", [], []
    for number, step in enumerate(action["runs"]["steps"]):
        name = step.get("name", f"step {number}")
        if not condition_holds(step.get("if"), values):
            skipped.append(name)
            continue
        if "uses" in step:
            actions.append(step["uses"])
            continue
        assert step["shell"] == "bash"
        script = step["run"]
        # Inputs come in through env, never pasted into the script (script injection).
        assert "${{" not in script, f"{name}: an expression inside run:"
        step_env = {
            k: EXPRESSION.sub(lambda m: values[m[1]], str(v))
            for k, v in step.get("env", {}).items()
        }
        script_file = temp / f"step{number}.sh"
        script_file.write_text(script, encoding="utf-8")
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)],
            cwd=space,
            env={**env, **step_env},
            capture_output=True,
            text=True,
            timeout=300,
        )
        code, stdout, stderr = done.returncode, stdout + done.stdout, stderr + done.stderr
        if code != 0:
            break
    outputs = dict(
        line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines() if line
    )
    pip = pip_log.read_text(encoding="utf-8").splitlines() if pip_log.exists() else []
    text = summary.read_text(encoding="utf-8")
    return Run(code, stdout, stderr, outputs, text, pip, skipped, actions)


def condition_holds(condition: str | None, values: dict[str, str]) -> bool:
    if condition is None:
        return True
    match = CONDITION.match(condition.strip())
    assert match, f"a condition this test cannot judge: {condition!r}"
    name, operator, literal = match.groups()
    return (values[name] == literal) is (operator == "==")


def annotations(text: str) -> list[tuple[str, str, str]]:
    """(name, properties, message) of each error/warning workflow command in ``text``."""
    found = []
    for line in text.splitlines():
        match = COMMAND.match(line)
        if match and match["name"] in ("error", "warning"):
            found.append((match["name"], match["props"] or "", match["message"]))
    return found


# -- the action file -----------------------------------------------------------------------------
def test_the_action_declares_what_its_steps_use() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    text = ACTION.read_text(encoding="utf-8")
    used = set(EXPRESSION.findall(text))
    for step in steps:
        if "if" in step:
            match = CONDITION.match(step["if"])
            assert match, step["if"]
            used.add(match[1])
    assert used == set(action["inputs"]), "every input used, every used input declared"
    assert action["inputs"]["policy"]["required"] is True
    (setup,) = [s for s in steps if "uses" in s]
    assert setup["uses"].startswith("actions/setup-python@")
    audit = next(s for s in steps if s.get("id") == "audit")
    for name, spec in action["outputs"].items():
        assert spec["value"] == f"${{{{ steps.audit.outputs.{name} }}}}"
        assert f'echo "{name}=' in audit["run"], f"the audit step never writes {name}"
    assert '"$py" -m limecli "${args[@]}"' in audit["run"]


# -- the action's steps, run ---------------------------------------------------------------------
def test_a_failing_policy_fails_the_step_with_annotations_summary_and_junit(
    workspace: Path,
) -> None:
    """The shipped text_leak.toml fails (mail header words drive the topic)."""
    run = run_action(
        workspace, policy="examples/audit/text_leak.toml", extra_packages="onnxruntime  xgboost"
    )
    assert run.code == 1
    # Installed from the action's own checkout, extras split on whitespace.
    assert run.pip == [
        f"-m pip install --disable-pip-version-check --progress-bar off {ROOT} onnxruntime xgboost"
    ]
    assert run.skipped == [] and run.actions == ["actions/setup-python@v5"]
    # The earlier step's summary is kept; the audit's Markdown follows it as its own block.
    assert run.summary.startswith(EARLIER + "\n## limecli audit ❌ failed\n")
    assert "`no-mail-header-tokens`" in run.summary
    # One annotation, for the failed error rule, at its [[rules]] line, the file named
    # as in the repository.
    lines = (workspace / "examples/audit/text_leak.toml").read_text(encoding="utf-8").splitlines()
    rule_line = lines.index('id = "no-mail-header-tokens"')  # 0-based: the header line above
    ((name, props, message),) = annotations(run.stderr)
    assert name == "error"
    assert props == (
        f"file=examples/audit/text_leak.toml,line={rule_line},"
        "title=limecli audit rule no-mail-header-tokens failed"
    )
    assert message.startswith("21 of 40 inputs (52.5%25) have a forbidden feature in their top 5")
    assert "%0A- ../../sample_data/text/newsgroups_test.csv row 0 (predicted space 0.83)" in message
    assert annotations(run.stdout) == []  # stdout: the results table
    assert (
        "no-mail-header-tokens" in run.stdout and "audit FAILED: 1 passed, 1 failed" in run.stdout
    )
    # The JUnit report, one test case per rule, the failed one failing.
    suite = ET.parse(workspace / "limecli-audit.xml").getroot()
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {"no-mail-header-tokens", "faithful-surrogate"}
    failed = [name for name, case in cases.items() if case.find("failure") is not None]
    assert failed == ["no-mail-header-tokens"]
    assert run.outputs == {
        "exit-code": "1",
        "passed": "false",
        "warnings": "0",
        "junit": "limecli-audit.xml",
    }
    assert not list((workspace.parent / "runner_temp").glob("limecli-audit-*.json"))


def warning_policy(space: Path, *, error_rule_fails: bool) -> str:
    """A quick policy (3 loans rows) whose warning rule fails, and its error rule if asked."""
    path = space / "quick.toml"
    path.write_text(
        quick_loans_policy(
            f"""
[[rules]]
id = "fit"
type = "min_fidelity"
min_r2 = {0.999 if error_rule_fails else -1.0}

[[rules]]
id = "income-tiny"
type = "weight_bounds"
severity = "warning"
feature = "income"
min = -0.00001
max = 0.00001
"""
        ),
        encoding="utf-8",
    )
    return path.name


@pytest.mark.parametrize(("fail_on", "code"), [("error", 0), ("warning", 1), ("never", 0)])
def test_fail_on_a_warning(workspace: Path, fail_on: str, code: int) -> None:
    policy = warning_policy(workspace, error_rule_fails=False)
    run = run_action(workspace, policy=policy, fail_on=fail_on, install="false", junit="")
    assert run.code == code
    assert run.pip == [] and run.skipped == ["Install limecli"]
    assert run.outputs == {"exit-code": "0", "passed": "true", "warnings": "1", "junit": ""}
    ((name, props, _),) = annotations(run.stderr)
    assert name == "warning" and "title=limecli audit rule income-tiny warns" in props
    assert not (workspace / "limecli-audit.xml").exists()
    assert run.summary.startswith(EARLIER + "\n## limecli audit ✅ passed")


def test_fail_on_never_lets_a_failed_rule_pass_and_keeps_the_reports(workspace: Path) -> None:
    policy = warning_policy(workspace, error_rule_fails=True)
    run = run_action(
        workspace,
        policy=policy,
        fail_on="never",
        install="false",
        python_version="",
        annotations="false",
        json="audit.json",
        args="--show 1",
    )
    assert run.code == 0
    # No python-version: the runner's own Python, no setup-python.
    assert run.skipped == ["Set up Python", "Install limecli"] and run.actions == []
    assert run.outputs["exit-code"] == "1" and run.outputs["passed"] == "false"
    assert annotations(run.stderr) == []
    assert (workspace / "audit.json").is_file()  # the JSON asked for stays
    assert "and 2 more" in run.stdout  # --show 1 reached limecli


def test_a_policy_that_cannot_be_read_fails_whatever_fail_on_says(workspace: Path) -> None:
    (workspace / "broken.toml").write_text("[model\n", encoding="utf-8")
    run = run_action(workspace, policy="broken.toml", fail_on="never", install="false")
    assert run.code == 2
    assert run.stderr.strip().splitlines()[-1].startswith("Error: ")
    assert run.outputs["exit-code"] == "2" and run.outputs["junit"] == ""
    assert run.summary == EARLIER  # nothing appended for an audit that did not run


def test_a_bad_fail_on_is_refused_with_an_annotation(workspace: Path) -> None:
    run = run_action(workspace, policy="quick.toml", fail_on="sometimes", install="false")
    assert run.code == 2
    ((name, props, message),) = annotations(run.stdout)
    assert name == "error" and props == "title=limecli audit"
    assert message == "fail-on must be error, warning or never; got 'sometimes'"


# -- the examples --------------------------------------------------------------------------------
def test_the_example_workflow_uses_the_action_with_its_inputs() -> None:
    workflow = load(ROOT / "examples" / "ci" / "github-audit.yml")
    inputs = set(load(ACTION)["inputs"])
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    uses = [step for step in steps if step.get("uses") in ("./", "./.")]
    assert uses, "the example runs the action of this repository"
    for step in uses:
        assert set(step.get("with", {})) <= inputs
        assert "policy" in step["with"]
        assert (ROOT / step["with"]["policy"]).is_file()
    assert any(str(step.get("uses", "")).startswith("actions/checkout@") for step in steps)
    # The JUnit file the action writes is the one uploaded.
    junit = next(step["with"].get("junit", "limecli-audit.xml") for step in uses)
    assert any(junit in str(step.get("with", {}).get("path", "")) for step in steps)


def test_the_gitlab_example_reports_its_junit_file() -> None:
    pipeline = load(ROOT / "examples" / "ci" / "gitlab-ci.yml")
    jobs = {
        name: job for name, job in pipeline.items() if isinstance(job, dict) and "script" in job
    }
    assert jobs
    for job in jobs.values():
        script = "\n".join(job["script"])
        match = re.search(r"limecli audit (\S+) .*--junit (\S+)", script)
        assert match, script
        policy, junit = match.groups()
        assert (ROOT / policy).is_file()
        assert job["artifacts"]["reports"]["junit"] == junit
        assert job["artifacts"]["when"] == "always"  # a failed audit's report is the useful one
