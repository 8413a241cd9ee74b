"""``limecli audit``: judge a model's explanations against a policy's rules (a CI gate)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from limecli.cli.types import force_option

STDOUT = "-"


@click.command(name="audit")
@click.argument("policy", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--json",
    "json_out",
    default=None,
    metavar="FILE",
    help="Write the report as JSON (- for stdout).",
)
@click.option(
    "--junit",
    "junit_out",
    default=None,
    metavar="FILE",
    help="Write a JUnit XML report, one test case per rule (- for stdout).",
)
@click.option(
    "--markdown",
    "markdown_out",
    default=None,
    metavar="FILE",
    help="Write a Markdown report, e.g. to $GITHUB_STEP_SUMMARY (- for stdout).",
)
@click.option(
    "--markdown-append",
    is_flag=True,
    help="Add the Markdown report to the end of FILE instead of replacing it "
    "(always so when FILE is $GITHUB_STEP_SUMMARY).",
)
@click.option(
    "--annotations/--no-annotations",
    default=None,
    help="Print a GitHub Actions ::error/::warning line per failed rule on stderr "
    "(default: when GITHUB_ACTIONS=true).",
)
@click.option(
    "--baseline-out",
    default=None,
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write this run's explanations (JSONL) as the baseline for a later drift rule.",
)
@click.option(
    "--jobs",
    "-j",
    type=int,
    default=None,
    help="Parallel processes (-1: all cores; default: explainer.jobs of the policy, else 1). "
    "The verdict is the same for any N.",
)
@click.option(
    "--show",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Offending inputs listed per rule in the table and the Markdown report.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress or notes on stderr.")
@force_option
@click.pass_context
def audit(
    ctx: click.Context,
    policy: Path,
    json_out: str | None,
    junit_out: str | None,
    markdown_out: str | None,
    markdown_append: bool,
    annotations: bool | None,
    baseline_out: Path | None,
    jobs: int | None,
    show: int,
    quiet: bool,
) -> None:
    """Explain the inputs a POLICY file names and check the explanations against its rules.

    POLICY is a TOML file naming the model, the data, explainer settings and
    rules (forbidden or required features, weight bounds, minimum local
    fidelity, drift against a baseline); its paths are relative to its folder.
    A summary table goes to stdout; --json, --junit and --markdown also write
    reports. The seed is fixed, so the same model and data give the same verdict.
    Like -o elsewhere, a report or baseline replaces an existing file only if
    limecli wrote it (or with --force), and never the policy file; a Markdown
    report appended (--markdown-append, or to $GITHUB_STEP_SUMMARY) keeps what
    the file holds.

    Exit codes: 0 every rule passed (failed warning rules allowed), 1 a rule
    of severity error failed, 2 bad policy or option, 3 bad data or baseline,
    4 model cannot be loaded, 5 the model failed when called, 7 a report
    cannot be written.

    \b
    Example:
      limecli audit examples/audit/text_leak.toml --junit audit.xml \\
          --markdown "$GITHUB_STEP_SUMMARY"
    """
    from limecli.audit import check_outputs, load_policy, run_audit
    from limecli.audit.annotations import on_github_actions, render_annotations
    from limecli.audit.outputs import markdown_appends, write_report
    from limecli.audit.reports import render_json, render_junit, render_markdown, render_table
    from limecli.cli.progress import progress_bar
    from limecli.errors import ParameterError

    force = bool(ctx.meta.get("limecli.force"))
    outputs = {"--json": json_out, "--junit": junit_out, "--markdown": markdown_out}
    to_stdout = [name for name, value in outputs.items() if value == STDOUT]
    if len(to_stdout) > 1:
        raise ParameterError(f"only one report can go to stdout (-): {' and '.join(to_stdout)}")
    targets = [Path(v) for v in outputs.values() if v not in (None, STDOUT)]
    if baseline_out is not None:
        targets.append(baseline_out)
    if markdown_append and markdown_out in (None, STDOUT):
        raise ParameterError(
            "--markdown-append needs --markdown FILE: the file to add the report to"
        )
    appended = markdown_out not in (None, STDOUT) and markdown_appends(
        str(markdown_out), asked=markdown_append
    )
    # The same checks as -o, before any work: nothing is lost if the audit cannot write.
    check_outputs(policy, targets, force=force, append=[str(markdown_out)] if appended else [])
    if jobs == 0:
        raise ParameterError("--jobs must be a positive number of processes, or -1 for all cores")

    loaded = load_policy(policy)
    progress = progress_bar(None, "audit", enabled=not quiet)
    with progress:
        bar = progress.add_task("audit", total=None)
        result = run_audit(
            loaded,
            jobs=jobs,
            baseline_out=baseline_out,
            force=force,
            on_total=lambda n: progress.update(bar, total=n),
            on_record=lambda n: progress.advance(bar, n),
        )

    if baseline_out is not None and not quiet:
        click.echo(
            f"Note: wrote the baseline ({len(result.items)} explanations) to {baseline_out}",
            err=True,
        )
    renderers = {
        "--json": render_json,
        "--junit": render_junit,
        "--markdown": lambda r: render_markdown(r, show=show),
    }
    for name, value in outputs.items():
        if value is not None and value != STDOUT:
            write_report(value, renderers[name](result), append=appended and name == "--markdown")
    if to_stdout:
        click.echo(renderers[to_stdout[0]](result), nl=False)
    else:
        from limecli.cli.color import stdout_table_style

        color, width = stdout_table_style()
        click.echo(render_table(result, color=color, width=width, show=show), nl=False, color=color)
    if annotations if annotations is not None else on_github_actions():
        # stderr: stdout carries the results (a report sent to -, piped on), and the Actions
        # runner reads workflow commands from both streams of a step (actions/runner's
        # ScriptHandler hands stdout and stderr alike to its command manager).
        workspace = os.environ.get("GITHUB_WORKSPACE")
        click.echo(render_annotations(result, workspace=workspace), err=True, nl=False)
    if not result.passed:
        raise click.exceptions.Exit(result.exit_code)
