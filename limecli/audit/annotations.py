"""An audit's failed rules as GitHub Actions annotations (``::error`` / ``::warning`` lines).

A workflow command is one line, ``::error file=F,line=N,title=T::message``; GitHub
shows it on the run's summary and, when ``file`` is in the repository, beside that
line of the file in a pull request's diff. Each failed rule gives one: ``::error``
for severity error, ``::warning`` for severity warning, pointing at the rule's
``[[rules]]`` entry in the policy; its message is the rule's verdict and the first
offending inputs. Passed and skipped rules give none.

Values are escaped as the runner decodes them: ``%``, CR and LF in the message
(``%25``, ``%0D``, ``%0A``: a message spans lines this way), and also ``:`` and
``,`` in properties (``%3A``, ``%2C``), which would otherwise end a property.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from limecli.audit.items import RuleResult, describe_input

if TYPE_CHECKING:
    from limecli.audit import AuditResult

#: Offending inputs named in an annotation's message (the reports list them all).
ANNOTATION_OFFENDERS = 3
#: The environment variable GitHub Actions sets to "true" on its runners.
GITHUB_ACTIONS = "GITHUB_ACTIONS"


def on_github_actions(environ: dict[str, str] | None = None) -> bool:
    """Whether this process runs in a GitHub Actions job (``GITHUB_ACTIONS=true``)."""
    env = os.environ if environ is None else environ
    return env.get(GITHUB_ACTIONS, "").lower() == "true"


def escape_data(text: str) -> str:
    """A workflow command's message: ``%``, CR and LF percent-encoded (``%`` first)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: as :func:`escape_data`, and ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, message: str, **properties: str | int | None) -> str:
    """One workflow command line (no line end); properties that are None are left out."""
    given = [
        f"{name}={escape_property(str(value))}"
        for name, value in properties.items()
        if value is not None
    ]
    head = f"::{command} {','.join(given)}" if given else f"::{command}"
    return f"{head}::{escape_data(message)}"


def render_annotations(
    result: AuditResult,
    *,
    workspace: str | Path | None = None,
    offenders: int = ANNOTATION_OFFENDERS,
) -> str:
    """One annotation line per failed rule, in policy order ('' when none failed).

    ``workspace``: the repository's root (``GITHUB_WORKSPACE``); a policy inside it is
    named relative to it, as GitHub matches annotation files to the repository's.
    """
    policy = result.policy
    file = _repository_path(policy.path, workspace)
    lines = _rule_lines(policy.path)
    out = []
    for rule_result in result.rules:
        if not rule_result.failed:
            continue
        rule = rule_result.rule
        command = "error" if rule.severity == "error" else "warning"
        title = f"limecli audit rule {rule.id} {'failed' if command == 'error' else 'warns'}"
        out.append(
            workflow_command(
                command,
                _message(rule_result, offenders),
                file=file,
                line=lines.get(rule.index),
                title=title,
            )
        )
    return "".join(line + "\n" for line in out)


def _message(rule_result: RuleResult, offenders: int) -> str:
    parts = [rule_result.message]
    if rule_result.rule.description:
        parts.append(rule_result.rule.description)
    shown = rule_result.offenders[:offenders]
    for offender in shown:
        parts.append(
            f"- {describe_input(offender.input)} (predicted {offender.prediction}): "
            f"{offender.reason}"
        )
    more = len(rule_result.offenders) - len(shown)
    if more > 0:
        parts.append(f"... and {more} more (all in the JUnit and JSON reports)")
    return "\n".join(parts)


def _repository_path(path: Path, workspace: str | Path | None) -> str:
    # Outside the workspace (or on another drive), the path as given: no file of the
    # repository to point at, but the name still says which policy.
    if workspace:
        try:
            inside = os.path.relpath(path.resolve(), Path(workspace).resolve())
        except ValueError:
            return path.as_posix()
        if not inside.startswith(".."):
            return Path(inside).as_posix()
    return path.as_posix()


def _rule_lines(path: Path) -> dict[int, int]:
    """Rule index -> the line of its ``[[rules]]`` header (best effort; unreadable: none)."""
    from limecli.audit.toml_schema import Checker

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    checker = Checker(path, text)
    found: dict[int, int] = {}
    index = 0
    while (line := checker.locate(f"rules[{index}]")) is not None:
        found[index] = line
        index += 1
    return found
