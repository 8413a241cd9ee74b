"""``limecli audit`` writes its reports and baseline as -o writes: overwrite guard first, then atomically."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from limecli.atomic import is_limecli_output
from limecli.audit import run_audit, write_baseline
from limecli.errors import ParameterError
from tests.conftest import SAMPLE_MODELS, quick_loans_policy

Run = Callable[..., Result]
REPORTS = ["--json", "--junit", "--markdown", "--baseline-out"]
USER_TEXT = "my notes, not limecli's\n"


def policy_file(tmp_path: Path, *, model: Path = SAMPLE_MODELS / "loans_pipeline.joblib") -> Path:
    """Three loans rows, 200 samples: a quick passing audit."""
    path = tmp_path / "audit.toml"
    path.write_text(
        quick_loans_policy(
            """[[rules]]
id = "fit"
type = "min_fidelity"
min_r2 = -1.0
""",
            model=model,
        ),
        encoding="utf-8",
    )
    return path


def one_error_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert result.stdout == ""
    return lines[0]


@pytest.mark.parametrize("flag", REPORTS)
def test_a_users_file_is_kept(tmp_path: Path, run_cli: Run, flag: str) -> None:
    target = tmp_path / "notes.md"
    target.write_text(USER_TEXT, encoding="utf-8")
    result = run_cli("audit", policy_file(tmp_path), "-q", flag, target)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "is not a limecli output: not overwriting it" in line and "--force" in line
    assert target.read_text(encoding="utf-8") == USER_TEXT


def test_the_refusal_comes_before_any_work(tmp_path: Path, run_cli: Run) -> None:
    target = tmp_path / "summary.md"
    target.write_text(USER_TEXT, encoding="utf-8")
    # The model does not exist: loading it would be exit 4; the output check comes first.
    policy = policy_file(tmp_path, model=tmp_path / "missing.joblib")
    result = run_cli("audit", policy, "-q", "--markdown", target)
    assert result.exit_code == 2
    assert "not a limecli output" in one_error_line(result)


@pytest.mark.parametrize("flag", REPORTS)
def test_the_policy_file_is_never_written_even_with_force(
    tmp_path: Path, run_cli: Run, flag: str
) -> None:
    policy = policy_file(tmp_path)
    before = policy.read_bytes()
    for extra in ((), ("--force",)):
        result = run_cli("audit", policy, "-q", *extra, flag, policy)
        assert result.exit_code == 2
        assert "is the policy file" in one_error_line(result)
        assert policy.read_bytes() == before


def test_the_policy_file_by_another_name(
    tmp_path: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = policy_file(tmp_path)
    before = policy.read_bytes()
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    result = run_cli("audit", policy, "-q", "--force", "--json", "../audit.toml")
    assert result.exit_code == 2 and "is the policy file" in one_error_line(result)
    assert policy.read_bytes() == before


def test_force_replaces_a_users_file(tmp_path: Path, run_cli: Run) -> None:
    target = tmp_path / "report.json"
    target.write_text(USER_TEXT, encoding="utf-8")
    result = run_cli("audit", policy_file(tmp_path), "-q", "--force", "--json", target)
    assert result.exit_code == 0, result.stderr
    assert json.loads(target.read_text(encoding="utf-8"))["passed"] is True


def test_a_rerun_replaces_its_own_reports(tmp_path: Path, run_cli: Run) -> None:
    policy = policy_file(tmp_path)
    files = {flag: tmp_path / f"out{i}" for i, flag in enumerate(REPORTS)}
    args = [a for flag, path in files.items() for a in (flag, path)]
    first = run_cli("audit", policy, "-q", *args)
    assert first.exit_code == 0, first.stderr
    for path in files.values():
        assert is_limecli_output(path), path.read_text(encoding="utf-8")[:200]
    contents = {flag: path.read_text(encoding="utf-8") for flag, path in files.items()}
    inodes = {flag: path.stat().st_ino for flag, path in files.items()}
    again = run_cli("audit", policy, "-q", *args)
    assert again.exit_code == 0 and again.stderr == ""
    # Each file was replaced (an atomic write is a new file) with the same report: same seed.
    assert all(path.stat().st_ino != inodes[flag] for flag, path in files.items())
    assert {flag: path.read_text(encoding="utf-8") for flag, path in files.items()} == contents


def test_a_failing_audits_reports_are_recognised_too(tmp_path: Path, run_cli: Run) -> None:
    policy = policy_file(tmp_path)
    policy.write_text(
        policy.read_text(encoding="utf-8").replace("min_r2 = -1.0", "min_r2 = 0.999"),
        encoding="utf-8",
    )
    md, xml = tmp_path / "s.md", tmp_path / "r.xml"
    for _ in range(2):
        result = run_cli("audit", policy, "-q", "--markdown", md, "--junit", xml)
        assert result.exit_code == 1, result.stderr
    assert md.read_text(encoding="utf-8").startswith("## limecli audit ❌ failed")
    assert is_limecli_output(md) and is_limecli_output(xml)


def test_two_reports_to_one_file(tmp_path: Path, run_cli: Run) -> None:
    target = tmp_path / "r.txt"
    result = run_cli("audit", policy_file(tmp_path), "-q", "--json", target, "--junit", target)
    assert result.exit_code == 2
    assert "is named for two outputs" in one_error_line(result)
    assert not target.exists()


def test_baseline_note_and_quiet(tmp_path: Path, run_cli: Run) -> None:
    baseline = tmp_path / "b.jsonl"
    loud = run_cli("audit", policy_file(tmp_path), "--baseline-out", baseline)
    assert loud.exit_code == 0
    notes = [line for line in loud.stderr.splitlines() if line.startswith("Note: ")]
    assert notes == [f"Note: wrote the baseline (3 explanations) to {baseline}"]
    quiet = run_cli("audit", policy_file(tmp_path), "-q", "--baseline-out", baseline)
    assert quiet.exit_code == 0 and quiet.stderr == ""


# -- the library takes the same path ---------------------------------------------------------
def test_run_audit_baseline_out_checks_before_the_work(tmp_path: Path) -> None:
    target = tmp_path / "b.jsonl"
    target.write_text(USER_TEXT, encoding="utf-8")
    policy = policy_file(tmp_path, model=tmp_path / "missing.joblib")
    with pytest.raises(ParameterError, match="not a limecli output"):
        run_audit(policy, baseline_out=target)  # before the model is loaded
    with pytest.raises(ParameterError, match="is the policy file"):
        run_audit(policy, baseline_out=policy, force=True)
    assert target.read_text(encoding="utf-8") == USER_TEXT


def test_run_audit_writes_the_baseline_and_write_baseline_guards(tmp_path: Path) -> None:
    policy = policy_file(tmp_path)
    target = tmp_path / "b.jsonl"
    result = run_audit(policy, baseline_out=target)
    rows = [json.loads(line)["input"]["row"] for line in target.read_text().splitlines()]
    assert rows == [0, 1, 2]
    user = tmp_path / "mine.jsonl"
    user.write_text(USER_TEXT, encoding="utf-8")
    with pytest.raises(ParameterError, match="not a limecli output"):
        write_baseline(result, user)
    write_baseline(result, user, force=True)
    assert user.read_text(encoding="utf-8") == target.read_text(encoding="utf-8")
    with pytest.raises(ParameterError, match="is the policy file"):
        write_baseline(result, policy, force=True)


def test_missing_baseline_names_the_parameter(tmp_path: Path) -> None:
    from limecli.errors import InputDataError

    policy = policy_file(tmp_path)
    policy.write_text(
        policy.read_text(encoding="utf-8")
        + '[[rules]]\nid = "d"\ntype = "drift"\nbaseline = "none.jsonl"\nmin_jaccard = 0.5\n',
        encoding="utf-8",
    )
    with pytest.raises(InputDataError) as info:
        run_audit(policy)
    assert "write one with 'baseline_out'" in str(info.value)  # run_audit's parameter
    assert info.value.parameters == ("baseline_out",)


# -- Markdown appended: --markdown-append and $GITHUB_STEP_SUMMARY ------------------------------
EARLIER = "## Tests\n\n42 passed"  # an earlier step's summary, without a final line end


def test_markdown_append_keeps_a_users_file_and_needs_no_force(
    tmp_path: Path, run_cli: Run
) -> None:
    target = tmp_path / "notes.md"
    target.write_text(USER_TEXT, encoding="utf-8")
    inode = target.stat().st_ino
    result = run_cli(
        "audit", policy_file(tmp_path), "-q", "--markdown", target, "--markdown-append"
    )
    assert result.exit_code == 0, result.stderr
    text = target.read_text(encoding="utf-8")
    # The user's text, a blank line, then the report: a Markdown block of its own.
    assert text.startswith(USER_TEXT + "\n## limecli audit ✅ passed\n")
    assert target.stat().st_ino == inode  # added to, not replaced


def test_the_step_summary_is_always_appended(
    tmp_path: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text(EARLIER, encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.chdir(tmp_path)
    # Named another way (relative, through a symlinked folder): still the same file.
    (tmp_path / "link").symlink_to(tmp_path, target_is_directory=True)
    for name in ("step_summary.md", "link/step_summary.md"):
        result = run_cli("audit", policy_file(tmp_path), "-q", "--markdown", name)
        assert result.exit_code == 0, result.stderr
    text = summary.read_text(encoding="utf-8")
    assert text.startswith(EARLIER + "\n\n## limecli audit ✅ passed\n")
    # Two steps, two whole reports, one after the other, each starting a block.
    first, second = text[len(EARLIER) :].split("\n\n## limecli audit ✅ passed\n")[1:]
    assert first + "\n" == second  # the same report (same seed), the second one last


def test_another_file_is_still_replaced_on_github(
    tmp_path: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text(EARLIER, encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    report = tmp_path / "report.md"
    for _ in range(2):
        result = run_cli("audit", policy_file(tmp_path), "-q", "--markdown", report)
        assert result.exit_code == 0, result.stderr
    assert report.read_text(encoding="utf-8").count("## limecli audit") == 1
    assert summary.read_text(encoding="utf-8") == EARLIER


def test_an_append_that_cannot_be_written_is_exit_7(tmp_path: Path, run_cli: Run) -> None:
    # /dev/full takes the open and refuses the write (no space left): found after the work.
    result = run_cli(
        "audit", policy_file(tmp_path), "-q", "--markdown", "/dev/full", "--markdown-append"
    )
    assert result.exit_code == 7
    assert "cannot write /dev/full: no space left on the disk" in one_error_line(result)


def test_an_append_into_a_folder_that_takes_no_files_is_exit_7_before_work(
    tmp_path: Path, run_cli: Run
) -> None:
    policy = policy_file(tmp_path, model=tmp_path / "missing.joblib")  # loading it: exit 4
    result = run_cli("audit", policy, "-q", "--markdown", "/proc/limecli.md", "--markdown-append")
    assert result.exit_code == 7
    assert one_error_line(result).startswith("Error: cannot write /proc/limecli.md")


def test_append_once_is_one_write_and_a_short_one_is_cut_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from limecli import atomic
    from limecli.errors import OutputWriteError

    target = tmp_path / "summary.md"
    target.write_text("before\n", encoding="utf-8")
    calls: list[int] = []
    real_write = os.write

    def counted(fd: int, data: bytes) -> int:
        calls.append(len(data))
        return real_write(fd, data)

    monkeypatch.setattr(atomic.os, "write", counted)
    atomic.append_once(target, "## report\nline\n")
    assert calls == [len("\n## report\nline\n")]  # the blank line and the text, one write
    assert target.read_text(encoding="utf-8") == "before\n\n## report\nline\n"

    def short(fd: int, data: bytes) -> int:
        return real_write(fd, data[:5])  # a disk that filled up after 5 bytes

    monkeypatch.setattr(atomic.os, "write", short)
    with pytest.raises(OutputWriteError, match="no space left on the disk"):
        atomic.append_once(target, "## second report\n")
    assert target.read_text(encoding="utf-8") == "before\n\n## report\nline\n"  # nothing half


@pytest.mark.parametrize("markdown", [[], ["--markdown", "-"]])
def test_markdown_append_needs_a_markdown_file(
    tmp_path: Path, run_cli: Run, markdown: list[str]
) -> None:
    result = run_cli("audit", policy_file(tmp_path), "-q", *markdown, "--markdown-append")
    assert result.exit_code == 2
    assert "--markdown-append needs --markdown FILE" in one_error_line(result)
